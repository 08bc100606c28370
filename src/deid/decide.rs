//! What the profile decides for each element: the layer's action, combined codes resolved by the
//! file's IOD, and the rules for public attributes no layer names.
//!
//! - Combined codes resolve by the element's requirement in the file's IOD, at the top level of
//!   the data set: `Z/D` gives D where the attribute is Type 1, else Z; `X/Z` gives Z where it is
//!   Type 1 or 2, else X; `X/D` gives D where it is Type 1 or 2, else X; `X/Z/D` gives D for
//!   Type 1, Z for Type 2, else X. Inside sequences nothing counts as required, so the X branch is
//!   taken. The requirements come from a short table of the common IODs in
//!   [`crate::deid::iod`] (enhanced multi-frame images and every data set with functional
//!   groups, SR, waveforms, RT objects, presentation states); everything else counts as
//!   optional (Type 3), which removes rather than keeps.
//! - Conformance fixes, each found by comparing `dciodvfy` reports of inputs and outputs
//!   (`tests/conformance.rs`): OperatorsName is Type 2 in the RT Series module and
//!   ReferencedPerformedProcedureStepSequence in the SR Document Series module, so their X/Z/D
//!   empties them there; a data set with functional groups needs its Type 1 ContentDate,
//!   ContentTime and DeviceSerialNumber (dummied) whatever its SOP class says; free text inside a
//!   dummied sequence is dummied, not removed, since a TEXT content item requires its
//!   TextValue; and an overlay group whose OverlayData is removed goes whole (an overlay plane
//!   without data is not a valid Overlay Plane module, and the module is optional).
//!
//! Public attributes no layer names follow their VR before `unlisted`: UI values are remapped
//! (kept under Retain UIDs), DA/DT follow the date option (shift, keep, or remove), PN is
//! removed; only then does `unlisted: keep | remove` decide. `unlisted: remove` never removes the
//! attributes an image needs to stay an image (see [`is_structural`]). Group lengths are dropped.
//!
//! Standard attributes stored as UN (seen in real files) are re-read with the dictionary's VR
//! when it is a text VR, so their rules apply; other UN values are kept only under `keep`.

use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;

use crate::deid::Deidentifier;
use crate::deid::iod::{Iod, Requirement, item_requirement, requirement};
use crate::dicom::scan::MAX_DEPTH;
use crate::dicom::values::is_free_text_vr;
use crate::profile::Action;
use crate::profile::standard::AnnexOption;
use crate::profile::{PrivatePolicy, PrivateRule, Unlisted};

/// What the sequences around an element asked for. A sequence the table dummies (D, such as
/// an SR ContentSequence) or cleans (C) holds free text the table does not list (TextValue):
/// inside it, unlisted free text is dummied (under D) or cleaned (under C) instead of kept.
/// Dummied rather than removed, because content items require their value (TextValue is
/// Type 1C). Under D code items (CodeValue, CodeMeaning, ...) stay, so the structure remains
/// valid; under C every free text value, CodeMeaning and text a layer keeps included, goes
/// through the cleaner (so a local CodeMeaning naming the patient is cleaned, and a standard
/// one, which holds none of the file's identifiers, is left as it is). The values that
/// identify a code (CodeValue, CodingSchemeDesignator, ...) stay: they are codes, not words,
/// and the cleaner's generic rules (six digits or more) would mask an SCT code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subtree {
    Plain,
    Dummied,
    Cleaned,
}

impl Subtree {
    /// The subtree inside a sequence that `action` keeps (keep, dummy or clean).
    pub fn inside(self, action: &Action) -> Subtree {
        match action {
            Action::Dummy => Subtree::Dummied,
            Action::Clean if self != Subtree::Dummied => Subtree::Cleaned,
            _ => self,
        }
    }
}

/// Where an element sits: how deep, in which sequence, inside what kind of subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub depth: usize,
    /// The sequence whose item holds the element (`None` at the top level).
    pub parent: Option<Tag>,
    pub subtree: Subtree,
}

impl Place {
    pub const TOP: Place = Place {
        depth: 0,
        parent: None,
        subtree: Subtree::Plain,
    };

    /// The place of the elements inside an item of `sequence`, which `action` keeps.
    pub fn inside(self, sequence: Tag, action: &Action) -> Place {
        Place {
            depth: self.depth + 1,
            parent: Some(sequence),
            subtree: self.subtree.inside(action),
        }
    }

    /// The place of the elements inside an item of `sequence` when the engine processes them:
    /// when `action` keeps, dummies or cleans the sequence and it is not nested deeper than
    /// the reader allows (a deeper one is removed).
    pub fn processed_inside(self, sequence: Tag, action: &Action) -> Option<Place> {
        let kept = matches!(action, Action::Keep | Action::Dummy | Action::Clean);
        (kept && self.depth < MAX_DEPTH).then(|| self.inside(sequence, action))
    }
}

/// What the profile decides for one element, and the layer that decided it (for `inspect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'a> {
    pub action: Action,
    /// The profile layer (`E.1-1 basic`, `option …`, `profile …`), or why no layer named it.
    pub layer: &'a str,
    /// The combined code (X/Z/D …) that `action` was resolved from, if any.
    pub combined: Option<&'a Action>,
}

impl<'a> Decision<'a> {
    pub(crate) fn new(action: Action, layer: &'a str) -> Self {
        Decision {
            action,
            layer,
            combined: None,
        }
    }

    /// The action as `inspect` shows it: with the combined code it was resolved from.
    pub fn shown(&self) -> String {
        match self.combined {
            Some(code) => format!("{} ({code})", self.action),
            None => self.action.to_string(),
        }
    }
}

/// The layer named for the elements of an overlay group removed with its OverlayData.
pub const OVERLAY_LAYER: &str = "overlay plane removed with its OverlayData";

/// The layer named for free text a layer keeps inside a cleaned sequence, which is cleaned.
pub const KEPT_TEXT_CLEANED_LAYER: &str = "kept free text in a cleaned sequence";

/// The layer named for the CodeMeaning of a local coding scheme, which is cleaned.
pub const LOCAL_CODE_LAYER: &str = "meaning of a local code is cleaned";

/// The layer named for the CodeMeaning of a standard coding scheme, which is kept.
pub const STANDARD_CODE_LAYER: &str = "meaning of a standard code is kept";

/// The coding schemes of PS3.16 Table 8-1 whose meanings are the standard's words, not a
/// site's: every other designator ("99…", "L", "LOCAL", a vendor's) is local.
const STANDARD_SCHEMES: &[&str] = &[
    "DCM",
    "SCT",
    "SRT",
    "SNM3",
    "LN",
    "UCUM",
    "FMA",
    "RADLEX",
    "NCIt",
    "NCIT",
    "RXNORM",
    "UMLS",
    "MSH",
    "I10",
    "I10P",
    "I9C",
    "I9",
    "ICD10",
    "ICDO3",
    "HPC",
    "ACR",
    "ASTM-sigpurpose",
    "BARI",
    "MDC",
    "NEU",
    "ITIS_TSN",
    "PUBCHEM_CID",
    "NDC",
    "CD2",
    "HL7",
    "IEC61217",
    "ISO3166_1",
    "ISO639_1",
    "ISO639_2",
    "DCMUID",
    "IBSI",
    "MGI",
    "NCBI",
    "RFC5646",
    "IETF4646",
    "C4",
    "C5",
    "SNM",
    "SNMI",
];

/// Whether a CodingSchemeDesignator names a standard scheme.
pub fn is_standard_scheme(designator: &str) -> bool {
    let designator = designator.trim_end_matches(['\0', ' ']).trim();
    STANDARD_SCHEMES.contains(&designator)
}

/// The layer named for group lengths, which are removed.
pub const GROUP_LENGTH_LAYER: &str = "group lengths are recomputed";

/// The layer named for a private element whose block has no creator, which is removed.
pub const NO_CREATOR_LAYER: &str = "private element without a creator";

impl Deidentifier {
    /// The profile's decision for a public element of VR `vr` (after UN is re-read with the
    /// dictionary's VR) at `place`, in a file of `iod`.
    pub fn decide_public(&self, tag: Tag, vr: VR, iod: &Iod, place: Place) -> Decision<'_> {
        match self.profile.rule(tag) {
            Some(rule) => {
                let action = resolve(&rule.action, tag, iod, place);
                if action == Action::Keep
                    && place.subtree == Subtree::Cleaned
                    && is_free_text_vr(vr)
                    && !is_code_identifier(tag)
                {
                    return Decision::new(Action::Clean, KEPT_TEXT_CLEANED_LAYER);
                }
                let combined = (action != rule.action).then_some(&rule.action);
                Decision {
                    action,
                    layer: &rule.layer,
                    combined,
                }
            }
            None => self.unlisted(tag, vr, place.subtree),
        }
    }

    /// The profile's decision for an element of `creator`'s private block at `offset`.
    pub fn decide_private(&self, group: u16, offset: u8, creator: &str) -> Decision<'_> {
        match self.profile.private_rule(group, offset, creator) {
            PrivateRule::Named(rule) => Decision::new(rule.action.clone(), &rule.layer),
            PrivateRule::Safe => Decision::new(Action::Keep, "safe private (Table E.3.10-1)"),
            PrivateRule::Policy(PrivatePolicy::Keep) => {
                Decision::new(Action::Keep, "private: keep")
            }
            PrivateRule::Policy(PrivatePolicy::Safe) => {
                Decision::new(Action::Remove, "private: safe (not in Table E.3.10-1)")
            }
            PrivateRule::Policy(PrivatePolicy::Remove) => {
                Decision::new(Action::Remove, "private: remove")
            }
        }
    }

    /// The action for a public attribute no layer names (see the module doc).
    fn unlisted(&self, tag: Tag, vr: VR, subtree: Subtree) -> Decision<'_> {
        let options = &self.profile.options;
        let free_text = is_free_text_vr(vr);
        let (action, why) = match vr {
            _ if free_text && !is_code_item(tag) && subtree == Subtree::Dummied => {
                (Action::Dummy, "unlisted free text in a dummied sequence")
            }
            _ if free_text && !is_code_identifier(tag) && subtree == Subtree::Cleaned => {
                (Action::Clean, "unlisted free text in a cleaned sequence")
            }
            VR::UI if options.contains(&AnnexOption::RetainUids) => {
                (Action::Keep, "unlisted UID, option retain-uids")
            }
            VR::UI => (Action::Uid, "unlisted UID"),
            VR::DA | VR::DT if options.contains(&AnnexOption::RetainLongitudinalFullDates) => (
                Action::Keep,
                "unlisted date, option retain-longitudinal-full-dates",
            ),
            VR::DA | VR::DT if options.contains(&AnnexOption::RetainLongitudinalModifiedDates) => (
                Action::Shift,
                "unlisted date, option retain-longitudinal-modified-dates",
            ),
            VR::DA | VR::DT => (Action::Remove, "unlisted date"),
            VR::PN => (Action::Remove, "unlisted person name"),
            _ if self.profile.unlisted == Unlisted::Keep => (Action::Keep, "unlisted: keep"),
            _ if is_structural(tag) => (Action::Keep, "structural, kept under unlisted: remove"),
            _ => (Action::Remove, "unlisted: remove"),
        };
        Decision::new(action, why)
    }
}

/// What a combined code becomes for one element.
fn resolve(action: &Action, tag: Tag, iod: &Iod, place: Place) -> Action {
    let req = match place.parent {
        None => requirement(tag, iod),
        Some(sequence) => item_requirement(tag, sequence),
    };
    match (action, req) {
        (Action::EmptyOrDummy, Requirement::Type1) => Action::Dummy,
        (Action::EmptyOrDummy, _) => Action::Empty,
        (Action::RemoveOrEmpty, Requirement::Optional) => Action::Remove,
        (Action::RemoveOrEmpty, _) => Action::Empty,
        (Action::RemoveOrDummy, Requirement::Optional) => Action::Remove,
        (Action::RemoveOrDummy, _) => Action::Dummy,
        (Action::RemoveOrEmptyOrDummy, Requirement::Type1) => Action::Dummy,
        (Action::RemoveOrEmptyOrDummy, Requirement::Type2) => Action::Empty,
        (Action::RemoveOrEmptyOrDummy, Requirement::Optional) => Action::Remove,
        (Action::RemoveOrEmptyOrUids, _) => Action::Keep,
        (other, _) => other.clone(),
    }
}

/// Attributes that `unlisted: remove` keeps, so that an image stays a valid image.
pub fn is_structural(tag: Tag) -> bool {
    matches!(tag.0, 0x0028 | 0x7FE0)
        || matches!(
            tag,
            tags::SPECIFIC_CHARACTER_SET
                | tags::SOP_CLASS_UID
                | tags::MODALITY
                | tags::IMAGE_TYPE
                | tags::INSTANCE_NUMBER
                | tags::SERIES_NUMBER
                | tags::PATIENT_ORIENTATION
                | tags::IMAGE_POSITION_PATIENT
                | tags::IMAGE_ORIENTATION_PATIENT
                | tags::SLICE_THICKNESS
                | tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE
                | tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE
                | tags::PATIENT_IDENTITY_REMOVED
                | tags::DEIDENTIFICATION_METHOD
                | tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE
        )
}

/// The attributes of a code item (PS3.3 Table 8.8-1), which name concepts, not people.
pub fn is_code_item(tag: Tag) -> bool {
    tag.0 == 0x0008 && matches!(tag.1, 0x0100 | 0x0102 | 0x0103 | 0x0104 | 0x0119 | 0x0120)
}

/// The attributes of a code item that identify the code (all but CodeMeaning).
fn is_code_identifier(tag: Tag) -> bool {
    is_code_item(tag) && tag != tags::CODE_MEANING
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_codes_resolve_by_requirement() {
        let ct = "1.2.840.10008.5.1.4.1.1.2";
        let enhanced_ct = "1.2.840.10008.5.1.4.1.1.2.1";
        let sr = "1.2.840.10008.5.1.4.1.1.88.22";
        let r = |a: Action, t: Tag, c: &str, d: usize| {
            let iod = Iod {
                sop_class: c.to_owned(),
                functional_groups: false,
            };
            let place = if d == 0 {
                Place::TOP
            } else {
                Place {
                    depth: d,
                    parent: Some(tags::REQUEST_ATTRIBUTES_SEQUENCE),
                    subtree: Subtree::Plain,
                }
            };
            resolve(&a, t, &iod, place)
        };
        assert_eq!(
            r(Action::EmptyOrDummy, tags::CONTENT_DATE, ct, 0),
            Action::Empty
        );
        assert_eq!(
            r(Action::EmptyOrDummy, tags::CONTENT_DATE, sr, 0),
            Action::Dummy
        );
        assert_eq!(
            r(
                Action::RemoveOrEmptyOrDummy,
                tags::DEVICE_SERIAL_NUMBER,
                ct,
                0
            ),
            Action::Remove
        );
        assert_eq!(
            r(
                Action::RemoveOrEmptyOrDummy,
                tags::DEVICE_SERIAL_NUMBER,
                enhanced_ct,
                0
            ),
            Action::Dummy
        );
        assert_eq!(
            r(
                Action::RemoveOrEmptyOrDummy,
                tags::DEVICE_SERIAL_NUMBER,
                enhanced_ct,
                1
            ),
            Action::Remove
        );
        assert_eq!(
            r(
                Action::RemoveOrDummy,
                tags::RT_PLAN_DATE,
                "1.2.840.10008.5.1.4.1.1.481.5",
                0
            ),
            Action::Dummy
        );
        assert_eq!(
            r(Action::RemoveOrEmpty, tags::ACQUISITION_DATE, ct, 0),
            Action::Remove
        );
        assert_eq!(
            r(
                Action::RemoveOrEmptyOrUids,
                tags::REFERENCED_IMAGE_SEQUENCE,
                ct,
                2
            ),
            Action::Keep
        );
    }

    #[test]
    fn conformance_rules_keep_required_attributes() {
        let rt_plan = Iod {
            sop_class: "1.2.840.10008.5.1.4.1.1.481.5".to_owned(),
            functional_groups: false,
        };
        let in_beam = Place::TOP.inside(tags::BEAM_SEQUENCE, &Action::Keep);
        assert_eq!(
            resolve(
                &Action::RemoveOrEmpty,
                tags::TREATMENT_MACHINE_NAME,
                &rt_plan,
                in_beam
            ),
            Action::Empty
        );
        assert_eq!(
            resolve(
                &Action::RemoveOrEmptyOrDummy,
                tags::OPERATORS_NAME,
                &rt_plan,
                Place::TOP
            ),
            Action::Empty
        );
        let segmentation = Iod {
            sop_class: "1.2.840.10008.5.1.4.1.1.66.4".to_owned(),
            functional_groups: true,
        };
        assert_eq!(
            resolve(
                &Action::EmptyOrDummy,
                tags::CONTENT_DATE,
                &segmentation,
                Place::TOP
            ),
            Action::Dummy
        );
        let sr = Iod {
            sop_class: "1.2.840.10008.5.1.4.1.1.88.11".to_owned(),
            functional_groups: false,
        };
        assert_eq!(
            resolve(
                &Action::RemoveOrEmptyOrDummy,
                tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
                &sr,
                Place::TOP
            ),
            Action::Empty
        );
    }
}
