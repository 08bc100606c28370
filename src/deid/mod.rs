//! Actions on attributes, and the engine that applies a compiled profile to a whole data set,
//! at every sequence depth.
//!
//! # Action semantics
//! - `X` remove; `Z` empty (zero length; a sequence with no items); `K` keep (a kept sequence is
//!   still processed inside); `U` remap every UID with the keyed mapper.
//! - `D` a non-empty value valid for the VR: text `DEIDENTIFIED`, dates `19000101`, times
//!   `000000`, numbers 0, ages `000Y`, UIDs remapped; a sequence keeps its items, processed inside.
//! - `C` clean: free text loses every identifying value of the file (see [`crate::deid::clean`]);
//!   dates and times shift (the Modified Dates column writes C for that); ages are capped at
//!   `090Y`; sequences are processed inside; binary values that cannot be cleaned are emptied.
//! - Combined codes resolve by the element's requirement in the file's IOD, at the top level of
//!   the data set: `Z/D` gives D where the attribute is Type 1, else Z; `X/Z` gives Z where it is
//!   Type 1 or 2, else X; `X/D` gives D where it is Type 1 or 2, else X; `X/Z/D` gives D for
//!   Type 1, Z for Type 2, else X. Inside sequences nothing counts as required, so the X branch is
//!   taken. The requirements come from a short table of the common IODs in [`requirement`]
//!   (enhanced multi-frame images and every data set with functional groups, SR, waveforms, RT
//!   objects, presentation states); everything else counts as optional (Type 3), which removes
//!   rather than keeps.
//! - Conformance fixes, each found by comparing `dciodvfy` reports of inputs and outputs
//!   (`tests/conformance.rs`): OperatorsName is Type 2 in the RT Series module and
//!   ReferencedPerformedProcedureStepSequence in the SR Document Series module, so their X/Z/D
//!   empties them there; a data set with functional groups needs its Type 1 ContentDate,
//!   ContentTime and DeviceSerialNumber (dummied) whatever its SOP class says; free text inside a
//!   dummied sequence is dummied, not removed, since a TEXT content item requires its
//!   TextValue; and an overlay group whose OverlayData is removed goes whole (an overlay plane
//!   without data is not a valid Overlay Plane module, and the module is optional).
//! - `X/Z/U*` (Referenced/Source Image Sequence) keeps the sequence and remaps the UIDs inside:
//!   it is always conformant, and references between images survive de-identification.
//! - Profile actions beyond the table: `hash` (a keyed pseudonym of each value), `shift`,
//!   `replace: V`, the generalisations `band`, `round` and `precision` (in `generalise`),
//!   and the patient's pseudonym and name template.
//!
//! Public attributes no layer names follow their VR before `unlisted`: UI values are remapped
//! (kept under Retain UIDs), DA/DT follow the date option (shift, keep, or remove), PN is
//! removed; only then does `unlisted: keep | remove` decide. `unlisted: remove` never removes the
//! attributes an image needs to stay an image (see [`is_structural`]). Group lengths are dropped.
//!
//! Standard attributes stored as UN (seen in real files) are re-read with the dictionary's VR
//! when it is a text VR, so their rules apply; other UN values are kept only under `keep`.

pub mod clean;
mod generalise;
pub mod one_file;
pub mod trace;
pub mod uid;

use std::collections::BTreeMap;

use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::{InMemDicomObject, InMemElement};

use crate::deid::clean::{Cleaned, Identifiers};
use crate::deid::uid::UidMapper;
use crate::dicom::dates;
use crate::dicom::values::{
    is_free_text_vr, is_overlay_group, is_text_vr, private_creators, reinterpret_un, strings,
    text_element, top_text,
};
use crate::key::{Key, Purpose};
use crate::profile::Action;
use crate::profile::standard::{self, AnnexOption};
use crate::profile::{PatientIdMode, PrivatePolicy, PrivateRule, Profile, ShiftMode, Unlisted};

/// How many times each kind of change was made in one file, by name; no values.
pub type ActionCounts = BTreeMap<&'static str, u64>;

/// The identifying keys of one file before and after, for the opt-in linkage table only.
#[derive(Debug, Clone, Default)]
pub struct Linkage {
    pub patient_id: (String, String),
    pub study_uid: (String, String),
    pub series_uid: (String, String),
    pub sop_uid: (String, String),
}

/// What de-identifying one data set did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub counts: ActionCounts,
    pub linkage: Linkage,
}

/// The dummy text for D on text VRs: short enough for every VR (SH, CS and AE hold 16).
pub const DUMMY_TEXT: &str = "DEIDENTIFIED";

/// Applies one compiled profile with one key to data sets.
#[derive(Debug, Clone)]
pub struct Deidentifier {
    profile: Profile,
    key: Key,
    uids: UidMapper,
    /// Whether the profile cleans anything, so identifiers must be gathered per file.
    cleans: bool,
}

/// What the sequences around an element asked for. A sequence the table dummies (D, such as
/// an SR ContentSequence) or cleans (C) holds free text the table does not list (TextValue):
/// inside it, unlisted free text is dummied (under D) or cleaned (under C) instead of kept.
/// Dummied rather than removed, because content items require their value (TextValue is
/// Type 1C). Code items (CodeValue, CodeMeaning, ...) stay, so the structure remains valid.
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
}

/// The facts about a file's IOD that the combined codes (Z/D, X/Z, X/D, X/Z/D) depend on,
/// read from the top level of the data set.
#[derive(Debug, Clone, Default)]
pub struct Iod {
    pub sop_class: String,
    /// The data set uses the Multi-frame Functional Groups module (as every enhanced image,
    /// segmentation or parametric map does), whatever its SOP class.
    pub functional_groups: bool,
}

impl Iod {
    pub fn of(object: &InMemDicomObject) -> Self {
        Iod {
            sop_class: top_text(object, tags::SOP_CLASS_UID),
            functional_groups: object
                .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
                .is_some()
                || object
                    .get(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
                    .is_some(),
        }
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
    fn new(action: Action, layer: &'a str) -> Self {
        Decision {
            action,
            layer,
            combined: None,
        }
    }
}

/// One element as `inspect` shows it: where it is, what was decided, and its value before and
/// after. Holds original values, so it has no `Debug` and must only reach a terminal.
pub struct TraceRow {
    /// The enclosing sequences and item indices (0-based), outermost first.
    pub path: Vec<(Tag, usize)>,
    pub tag: Tag,
    pub vr: VR,
    /// The creator of a private element's block.
    pub creator: Option<String>,
    pub action: String,
    pub layer: String,
    pub before: String,
    pub after: String,
}

/// Per-file state while one data set is processed.
struct FileState<'a> {
    engine: &'a Deidentifier,
    ids: Identifiers,
    day_offset: i64,
    iod: Iod,
    patient_pseudonym: String,
    counts: Tally,
    /// Rows for `inspect`, only when asked for.
    trace: Option<Vec<TraceRow>>,
    /// The sequence items being processed, for trace rows.
    path: Vec<(Tag, usize)>,
}

impl Deidentifier {
    pub fn new(profile: Profile, key: Key) -> Self {
        let uids = UidMapper::new(key.clone(), &profile.uid_root);
        let cleans = profile.cleans();
        Deidentifier {
            profile,
            key,
            uids,
            cleans,
        }
    }

    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    pub fn uids(&self) -> &UidMapper {
        &self.uids
    }

    /// The CID 7050 codes of the profile and options applied, basic first.
    pub fn method_codes(&self) -> Vec<&'static standard::MethodCode> {
        let mut codes = vec![standard::method_code_for_column("basic")];
        codes.extend(
            self.profile
                .options
                .iter()
                .map(|o| standard::method_code_for_column(o.column())),
        );
        codes
    }

    /// The keyed pseudonym of a PatientID (empty stays empty).
    pub fn patient_pseudonym(&self, original: &str) -> (String, bool) {
        let original = original.trim();
        let p = &self.profile.patient;
        match p.id {
            PatientIdMode::Keep => (original.to_owned(), false),
            PatientIdMode::Lookup => match p.lookup.get(original) {
                Some(new) => (new.clone(), false),
                None => (self.hashed_id(original), true),
            },
            PatientIdMode::Hash | PatientIdMode::Empty => (self.hashed_id(original), false),
        }
    }

    fn hashed_id(&self, original: &str) -> String {
        let mac = self.key.mac(Purpose::PatientId, original.as_bytes());
        let text = data_encoding::BASE32_NOPAD.encode(&mac[..8]);
        let room = 16usize
            .saturating_sub(self.profile.patient.prefix.len())
            .max(8);
        format!(
            "{}{}",
            self.profile.patient.prefix,
            &text[..room.min(text.len())]
        )
    }

    /// A keyed pseudonym of any value for the `hash` action: 16 base32 characters, which fit
    /// every text VR.
    pub fn hash_value(&self, value: &str) -> String {
        let mac = self.key.mac(Purpose::Hash, value.trim().as_bytes());
        data_encoding::BASE32_NOPAD.encode(&mac[..10])
    }

    /// The shift in days of the patient identified by `patient_key`.
    pub fn day_offset(&self, patient_key: &str) -> i64 {
        let d = &self.profile.dates;
        match d.shift {
            ShiftMode::None => 0,
            ShiftMode::Fixed => d.fixed_days,
            ShiftMode::PerPatient => dates::offset_in_range(
                self.key.mac_u64(Purpose::Day, patient_key.as_bytes()),
                d.range_days.0,
                d.range_days.1,
            ),
        }
    }

    /// De-identify one data set (the file meta is the pipeline's): every element at every
    /// depth, then the de-identification marks.
    pub fn deidentify(&self, object: InMemDicomObject) -> (InMemDicomObject, Outcome) {
        let (out, outcome, _) = self.run(object, false);
        (out, outcome)
    }

    /// [`Deidentifier::deidentify`], also returning one [`TraceRow`] per element at every
    /// depth (removed ones and the added marks included), in data set order.
    pub fn deidentify_traced(
        &self,
        object: InMemDicomObject,
    ) -> (InMemDicomObject, Outcome, Vec<TraceRow>) {
        let (out, outcome, trace) = self.run(object, true);
        (out, outcome, trace.unwrap_or_default())
    }

    fn run(
        &self,
        object: InMemDicomObject,
        traced: bool,
    ) -> (InMemDicomObject, Outcome, Option<Vec<TraceRow>>) {
        let text = |tag| top_text(&object, tag);
        let patient_id = text(tags::PATIENT_ID);
        let study_uid = text(tags::STUDY_INSTANCE_UID);
        let patient_key = if patient_id.is_empty() {
            &study_uid
        } else {
            &patient_id
        };
        let (patient_pseudonym, lookup_miss) = self.patient_pseudonym(&patient_id);
        let mut state = FileState {
            engine: self,
            ids: if self.cleans {
                gather_identifiers(&object)
            } else {
                Identifiers::new()
            },
            day_offset: self.day_offset(patient_key),
            iod: Iod::of(&object),
            patient_pseudonym,
            counts: Tally::default(),
            trace: traced.then(Vec::new),
            path: Vec::new(),
        };
        let marks_before: Vec<Option<String>> = MARKS
            .iter()
            .map(|&tag| traced.then(|| object.get(tag).map(describe)).flatten())
            .collect();
        if lookup_miss {
            bump(&mut state.counts, "patient_lookup_missing");
        }
        let before = (
            patient_id,
            study_uid,
            text(tags::SERIES_INSTANCE_UID),
            text(tags::SOP_INSTANCE_UID),
        );
        let mut out = state.dataset(object, Place::TOP);
        self.mark(&mut out);
        if let Some(trace) = state.trace.as_mut() {
            trace.retain(|row| !(row.path.is_empty() && MARKS.contains(&row.tag)));
            for (&tag, before) in MARKS.iter().zip(marks_before) {
                let after = out.get(tag).expect("marks were just put");
                trace.push(TraceRow {
                    path: Vec::new(),
                    tag,
                    vr: after.vr(),
                    creator: None,
                    action: "set".to_owned(),
                    layer: "de-identification marks (PS3.15 E.1.1)".to_owned(),
                    before: before.unwrap_or_else(|| ABSENT.to_owned()),
                    after: describe(after),
                });
            }
        }
        let after = |tag| top_text(&out, tag);
        let linkage = Linkage {
            patient_id: (before.0, after(tags::PATIENT_ID)),
            study_uid: (before.1, after(tags::STUDY_INSTANCE_UID)),
            series_uid: (before.2, after(tags::SERIES_INSTANCE_UID)),
            sop_uid: (before.3, after(tags::SOP_INSTANCE_UID)),
        };
        (
            out,
            Outcome {
                counts: state.counts.into_counts(),
                linkage,
            },
            state.trace,
        )
    }

    /// The profile's decision for a public element of VR `vr` (after UN is re-read with the
    /// dictionary's VR) at `place`, in a file of `iod`.
    pub fn decide_public(&self, tag: Tag, vr: VR, iod: &Iod, place: Place) -> Decision<'_> {
        match self.profile.rule(tag) {
            Some(rule) => {
                let action = resolve(&rule.action, tag, iod, place);
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
        let free_text = is_free_text_vr(vr) && !is_code_item(tag);
        let (action, why) = match vr {
            _ if free_text && subtree == Subtree::Dummied => {
                (Action::Dummy, "unlisted free text in a dummied sequence")
            }
            _ if free_text && subtree == Subtree::Cleaned => {
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

    /// PatientIdentityRemoved, DeidentificationMethod(CodeSequence) and
    /// LongitudinalTemporalInformationModified, per PS3.15 E.1.1.
    fn mark(&self, out: &mut InMemDicomObject) {
        out.put(DataElement::new(
            tags::PATIENT_IDENTITY_REMOVED,
            VR::CS,
            PrimitiveValue::from("YES"),
        ));
        let method = format!(
            "dicom-deid {}; PS3.15 E.1-1; profile {}",
            env!("CARGO_PKG_VERSION"),
            self.profile.name
        );
        let method: String = method.chars().take(64).collect();
        out.put(DataElement::new(
            tags::DEIDENTIFICATION_METHOD,
            VR::LO,
            PrimitiveValue::from(method),
        ));
        let items: Vec<InMemDicomObject> = self
            .method_codes()
            .into_iter()
            .map(|code| code.item())
            .collect();
        out.put(DataElement::new(
            tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
            VR::SQ,
            DataSetSequence::new(items, Length::UNDEFINED),
        ));
        let options = &self.profile.options;
        let temporal = if options.contains(&AnnexOption::RetainLongitudinalFullDates) {
            "UNMODIFIED"
        } else if options.contains(&AnnexOption::RetainLongitudinalModifiedDates) {
            if self.profile.dates.shift == ShiftMode::None {
                "UNMODIFIED"
            } else {
                "MODIFIED"
            }
        } else {
            "REMOVED"
        };
        out.put(DataElement::new(
            tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
            VR::CS,
            PrimitiveValue::from(temporal),
        ));
    }
}

/// The attributes [`Deidentifier::mark`] sets.
const MARKS: [Tag; 4] = [
    tags::PATIENT_IDENTITY_REMOVED,
    tags::DEIDENTIFICATION_METHOD,
    tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
    tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
];

/// The layer named for the elements of an overlay group removed with its OverlayData.
pub const OVERLAY_LAYER: &str = "overlay plane removed with its OverlayData";

const REMOVED: &str = "(removed)";
const ABSENT: &str = "(absent)";

/// A short, single-line rendering of an element's value for `inspect`: text values as they
/// are (cut at 64 characters), binary values and sequences by size.
pub fn describe(elem: &InMemElement) -> String {
    match elem.value() {
        Value::Sequence(seq) => format!("<{} items>", seq.items().len()),
        Value::PixelSequence(seq) => format!("<{} fragments>", seq.fragments().len()),
        Value::Primitive(PrimitiveValue::Empty) => "(empty)".to_owned(),
        Value::Primitive(p) if is_text_vr(elem.vr()) => {
            let text = strings(p).join("\\");
            let text: String = text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            if text.chars().count() > 64 {
                format!("{}…", text.chars().take(63).collect::<String>())
            } else {
                text
            }
        }
        Value::Primitive(p)
            if p.to_bytes().len() <= 16 && !matches!(elem.vr(), VR::OB | VR::UN) =>
        {
            p.to_str().into_owned()
        }
        Value::Primitive(p) => format!("<{} bytes>", p.to_bytes().len()),
    }
}

/// Counts by name while a file is processed, bumped for every element: a short list
/// searched by address first (the names are literals), an [`ActionCounts`] at the end.
#[derive(Default)]
struct Tally(Vec<(&'static str, u64)>);

impl Tally {
    fn into_counts(self) -> ActionCounts {
        let mut counts = ActionCounts::new();
        for (what, n) in self.0 {
            *counts.entry(what).or_default() += n;
        }
        counts
    }
}

fn bump(counts: &mut Tally, what: &'static str) {
    match counts
        .0
        .iter_mut()
        .find(|(name, _)| std::ptr::eq(*name, what) || *name == what)
    {
        Some((_, n)) => *n += 1,
        None => counts.0.push((what, 1)),
    }
}

/// Attributes holding identifiers that free text may repeat, gathered at every depth.
const ID_TAGS: &[Tag] = &[
    tags::PATIENT_ID,
    // OtherPatientIDs and MedicalRecordLocator: retired, still seen in old exports.
    Tag(0x0010, 0x1000),
    tags::ACCESSION_NUMBER,
    tags::STUDY_ID,
    tags::ISSUER_OF_PATIENT_ID,
    Tag(0x0010, 0x1090),
    tags::PATIENT_TELEPHONE_NUMBERS,
    tags::DEVICE_SERIAL_NUMBER,
    tags::REQUESTED_PROCEDURE_ID,
    tags::SCHEDULED_PROCEDURE_STEP_ID,
    tags::PERFORMED_PROCEDURE_STEP_ID,
    tags::ADMISSION_ID,
    tags::FILLER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST,
    tags::PLACER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST,
];

const DATE_TAGS: &[Tag] = &[tags::PATIENT_BIRTH_DATE];

const PHRASE_TAGS: &[Tag] = &[
    tags::INSTITUTION_NAME,
    tags::INSTITUTION_ADDRESS,
    tags::INSTITUTIONAL_DEPARTMENT_NAME,
    tags::STATION_NAME,
    tags::PATIENT_ADDRESS,
    tags::REGION_OF_RESIDENCE,
    tags::COUNTRY_OF_RESIDENCE,
    tags::MILITARY_RANK,
    tags::BRANCH_OF_SERVICE,
    tags::PERSON_ADDRESS,
];

/// Every identifying value of a data set, for cleaning descriptors.
fn gather_identifiers(object: &InMemDicomObject) -> Identifiers {
    let mut ids = Identifiers::new();
    gather_into(object, &mut ids, 0);
    ids
}

fn gather_into(object: &InMemDicomObject, ids: &mut Identifiers, depth: usize) {
    for elem in object {
        let tag = elem.tag();
        match elem.value() {
            Value::Sequence(seq) if depth < crate::dicom::scan::MAX_DEPTH => {
                for item in seq.items() {
                    gather_into(item, ids, depth + 1);
                }
            }
            Value::Primitive(p) => {
                for v in p.to_multi_str().iter() {
                    let v = v.trim_end_matches(['\0', ' ']);
                    if elem.vr() == VR::PN {
                        ids.add_person_name(v);
                    } else if ID_TAGS.contains(&tag) {
                        ids.add_id(v);
                    } else if DATE_TAGS.contains(&tag) {
                        ids.add_date(v);
                    } else if PHRASE_TAGS.contains(&tag) {
                        ids.add_phrase(v);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Whether the file's IOD requires an attribute at the top level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Requirement {
    Type1,
    Type2,
    Optional,
}

const ENHANCED_IMAGE_CLASSES: &[&str] = &[
    "1.2.840.10008.5.1.4.1.1.2.1",
    "1.2.840.10008.5.1.4.1.1.2.2",
    "1.2.840.10008.5.1.4.1.1.4.1",
    "1.2.840.10008.5.1.4.1.1.4.3",
    "1.2.840.10008.5.1.4.1.1.4.4",
    "1.2.840.10008.5.1.4.1.1.6.2",
    "1.2.840.10008.5.1.4.1.1.12.1.1",
    "1.2.840.10008.5.1.4.1.1.12.2.1",
    "1.2.840.10008.5.1.4.1.1.13.1.3",
    "1.2.840.10008.5.1.4.1.1.128.1",
    "1.2.840.10008.5.1.4.1.1.130",
];

/// The requirement type of the attributes with combined codes, in the common IODs.
fn requirement(tag: Tag, iod: &Iod) -> Requirement {
    let sop_class = iod.sop_class.as_str();
    let enhanced = ENHANCED_IMAGE_CLASSES.contains(&sop_class) || iod.functional_groups;
    let sr = sop_class.starts_with("1.2.840.10008.5.1.4.1.1.88.");
    let waveform = sop_class.starts_with("1.2.840.10008.5.1.4.1.1.9.");
    let rt_plan = matches!(
        sop_class,
        "1.2.840.10008.5.1.4.1.1.481.5" | "1.2.840.10008.5.1.4.1.1.481.8"
    );
    let rt = sop_class.starts_with("1.2.840.10008.5.1.4.1.1.481.");
    match tag {
        tags::PATIENT_ID | tags::CONTRAST_BOLUS_AGENT | tags::CONTENT_CREATOR_NAME => {
            Requirement::Type2
        }
        tags::CONTENT_DATE | tags::CONTENT_TIME => {
            if enhanced || sr || waveform {
                Requirement::Type1
            } else {
                Requirement::Type2
            }
        }
        tags::ACQUISITION_DATE_TIME if enhanced || waveform => Requirement::Type1,
        tags::DEVICE_SERIAL_NUMBER if enhanced => Requirement::Type1,
        tags::ACQUISITION_CONTEXT_SEQUENCE if enhanced || waveform => Requirement::Type2,
        tags::RT_PLAN_DATE | tags::RT_PLAN_TIME if rt_plan => Requirement::Type2,
        tags::REVIEWER_NAME | tags::OPERATORS_NAME if rt => Requirement::Type2,
        tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE if sr => Requirement::Type2,
        _ => Requirement::Optional,
    }
}

/// The requirement type of attributes with combined codes inside the items of a sequence.
fn item_requirement(tag: Tag, sequence: Tag) -> Requirement {
    match (tag, sequence) {
        (tags::TREATMENT_MACHINE_NAME, tags::BEAM_SEQUENCE | tags::ION_BEAM_SEQUENCE) => {
            Requirement::Type2
        }
        _ => Requirement::Optional,
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

/// A valid non-empty value of the VR, or `None` where the VR has no meaningful dummy
/// (binary data), which is then emptied.
fn dummy_value(vr: VR) -> Option<PrimitiveValue> {
    Some(match vr {
        VR::DA => PrimitiveValue::from("19000101"),
        VR::TM => PrimitiveValue::from("000000"),
        VR::DT => PrimitiveValue::from("19000101000000"),
        VR::AS => PrimitiveValue::from("000Y"),
        VR::DS | VR::IS => PrimitiveValue::from("0"),
        VR::UR => PrimitiveValue::from("https://deidentified.invalid/"),
        VR::AE | VR::CS | VR::LO | VR::LT | VR::PN | VR::SH | VR::ST | VR::UC | VR::UT => {
            PrimitiveValue::from(DUMMY_TEXT)
        }
        VR::US => PrimitiveValue::from(0u16),
        VR::SS => PrimitiveValue::from(0i16),
        VR::UL => PrimitiveValue::from(0u32),
        VR::SL => PrimitiveValue::from(0i32),
        VR::UV => PrimitiveValue::from(0u64),
        VR::SV => PrimitiveValue::from(0i64),
        VR::FL => PrimitiveValue::from(0f32),
        VR::FD => PrimitiveValue::from(0f64),
        _ => return None,
    })
}

impl FileState<'_> {
    /// Process every element of one data set (or item).
    fn dataset(&mut self, object: InMemDicomObject, place: Place) -> InMemDicomObject {
        let creators = private_creators(&object);
        let dropped_overlays = self.dropped_overlays(&object, place);
        let mut kept_blocks = std::collections::BTreeSet::new();
        let mut creator_elements = Vec::new();
        // Built by inserting elements as they are decided, mostly in tag order: cheaper than
        // collecting them for `from_element_iter`, which sorts and bulk-builds.
        let mut out = InMemDicomObject::new_empty();
        for elem in object {
            let tag = elem.tag();
            if tag.1 == 0x0000 {
                self.note(&elem, "remove", "group lengths are recomputed", false);
                continue;
            }
            if tag.0 % 2 == 1 && tag.1 < 0x1000 {
                // Creators are restored below for kept blocks.
                if self.trace.is_some() {
                    creator_elements.push(elem);
                }
                continue;
            }
            let processed = if tag.0 % 2 == 1 {
                let block = (tag.0, (tag.1 >> 8) as u8);
                let offset = (tag.1 & 0xFF) as u8;
                let r = match creators.get(&block) {
                    Some(creator) => self.private(elem, creator, offset, place),
                    None => {
                        self.note(&elem, "remove", "private element without a creator", false);
                        bump(&mut self.counts, "private_removed");
                        None
                    }
                };
                if r.is_some() {
                    kept_blocks.insert(block);
                }
                r
            } else if dropped_overlays.contains(&tag.0) {
                let decision = Decision::new(Action::Remove, OVERLAY_LAYER);
                self.decided(decision, elem, place)
            } else {
                self.public(elem, place)
            };
            if let Some(processed) = processed {
                out.put(processed);
            }
        }
        for elem in creator_elements {
            let kept = kept_blocks.contains(&(elem.tag().0, elem.tag().1 as u8));
            let (action, layer) = if kept {
                ("keep", "creator of a kept private block")
            } else {
                ("remove", "creator of a removed private block")
            };
            self.note(&elem, action, layer, kept);
        }
        for (group, block) in kept_blocks {
            let creator = creators[&(group, block)].clone();
            out.put(DataElement::new(
                Tag(group, u16::from(block)),
                VR::LO,
                PrimitiveValue::from(creator),
            ));
        }
        out
    }

    /// The overlay groups (60xx) whose OverlayData the profile removes: an overlay plane
    /// without its data breaks the Overlay Plane module, so the whole group goes with it.
    fn dropped_overlays(&self, object: &InMemDicomObject, place: Place) -> Vec<u16> {
        object
            .iter()
            .filter(|e| is_overlay_group(e.tag().0) && e.tag().1 == 0x3000)
            .filter(|e| {
                let d = self.engine.decide_public(e.tag(), e.vr(), &self.iod, place);
                d.action == Action::Remove
            })
            .map(|e| e.tag().0)
            .collect()
    }

    fn private(
        &mut self,
        elem: InMemElement,
        creator: &str,
        offset: u8,
        place: Place,
    ) -> Option<InMemElement> {
        let engine = self.engine;
        let decision = engine.decide_private(elem.tag().0, offset, creator);
        let row = self.trace.as_ref().map(Vec::len);
        let out = self.decided(decision, elem, place);
        if let (Some(trace), Some(row)) = (self.trace.as_mut(), row) {
            trace[row].creator = Some(creator.to_owned());
        }
        bump(
            &mut self.counts,
            if out.is_some() {
                "private_kept"
            } else {
                "private_removed"
            },
        );
        out
    }

    fn public(&mut self, elem: InMemElement, place: Place) -> Option<InMemElement> {
        let elem = reinterpret_un(elem);
        let engine = self.engine;
        let decision = engine.decide_public(elem.tag(), elem.vr(), &self.iod, place);
        self.decided(decision, elem, place)
    }

    /// Apply a decision, with a trace row when tracing.
    fn decided(
        &mut self,
        decision: Decision<'_>,
        elem: InMemElement,
        place: Place,
    ) -> Option<InMemElement> {
        let Some(trace) = self.trace.as_mut() else {
            return self.apply(&decision.action, elem, place);
        };
        let row = trace.len();
        let action = match decision.combined {
            Some(code) => format!("{} ({code})", decision.action),
            None => decision.action.to_string(),
        };
        trace.push(TraceRow {
            path: self.path.clone(),
            tag: elem.tag(),
            vr: elem.vr(),
            creator: None,
            action,
            layer: decision.layer.to_owned(),
            before: describe(&elem),
            after: String::new(),
        });
        let out = self.apply(&decision.action, elem, place);
        if let Some(trace) = self.trace.as_mut() {
            trace[row].after = out.as_ref().map_or_else(|| REMOVED.to_owned(), describe);
        }
        out
    }

    /// A trace row for an element the loop handles itself (group lengths, private creators).
    fn note(&mut self, elem: &InMemElement, action: &str, layer: &str, kept: bool) {
        if let Some(trace) = self.trace.as_mut() {
            trace.push(TraceRow {
                path: self.path.clone(),
                tag: elem.tag(),
                vr: elem.vr(),
                creator: None,
                action: action.to_owned(),
                layer: layer.to_owned(),
                before: describe(elem),
                after: if kept {
                    describe(elem)
                } else {
                    REMOVED.to_owned()
                },
            });
        }
    }

    fn apply(&mut self, action: &Action, elem: InMemElement, place: Place) -> Option<InMemElement> {
        let (header, value) = elem.into_parts();
        let (tag, vr) = (header.tag, header.vr);
        let result = match (action, value) {
            (Action::Remove, _) => {
                bump(&mut self.counts, "removed");
                return None;
            }
            (Action::Empty, Value::Sequence(_)) => {
                bump(&mut self.counts, "emptied");
                DataElement::new(tag, vr, DataSetSequence::<InMemDicomObject>::empty())
            }
            (Action::Empty, _) => {
                bump(&mut self.counts, "emptied");
                DataElement::empty(tag, vr)
            }
            // Kept, dummied and cleaned sequences keep their items, processed inside.
            (Action::Keep | Action::Dummy | Action::Clean, Value::Sequence(seq)) => {
                if place.depth >= crate::dicom::scan::MAX_DEPTH {
                    bump(&mut self.counts, "removed");
                    return None;
                }
                let inner = place.inside(tag, action);
                let items: Vec<InMemDicomObject> = seq
                    .into_items()
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| {
                        if self.trace.is_some() {
                            self.path.push((tag, i));
                        }
                        let item = self.dataset(item, inner);
                        if self.trace.is_some() {
                            self.path.pop();
                        }
                        item
                    })
                    .collect();
                DataElement::new(tag, vr, DataSetSequence::new(items, Length::UNDEFINED))
            }
            (Action::Keep, value) => {
                bump(&mut self.counts, "kept");
                DataElement::new(tag, vr, value)
            }
            (_, Value::Sequence(_)) => {
                // uid, hash, shift, replace or a pseudonym on a sequence: nothing valid to
                // write, and its content is unvetted.
                bump(&mut self.counts, "removed");
                return None;
            }
            (_, Value::PixelSequence(_)) => {
                bump(&mut self.counts, "emptied");
                DataElement::empty(tag, vr)
            }
            (Action::Dummy, Value::Primitive(p)) => {
                bump(&mut self.counts, "dummied");
                if vr == VR::UI {
                    self.remap_uids(tag, &p)
                } else {
                    match dummy_value(vr) {
                        Some(v) => DataElement::new(tag, vr, v),
                        None => DataElement::empty(tag, vr),
                    }
                }
            }
            (Action::Uid, Value::Primitive(p)) if vr == VR::UI => {
                bump(&mut self.counts, "uid");
                self.remap_uids(tag, &p)
            }
            (Action::Clean, Value::Primitive(p)) => self.clean(tag, vr, &p),
            (Action::Shift, Value::Primitive(p)) => self.shift(tag, vr, &p),
            (Action::Generalise(g), Value::Primitive(p)) => self.generalise(tag, vr, g, &p),
            (Action::Hash, Value::Primitive(p)) if is_text_vr(vr) => {
                bump(&mut self.counts, "hashed");
                let values = strings(&p)
                    .iter()
                    .map(|v| {
                        if v.trim().is_empty() {
                            String::new()
                        } else {
                            self.engine.hash_value(v)
                        }
                    })
                    .collect();
                text_element(tag, vr, values)
            }
            (Action::Replace(new), Value::Primitive(_)) if is_text_vr(vr) => {
                bump(&mut self.counts, "replaced");
                DataElement::new(tag, vr, PrimitiveValue::from(new.as_str()))
            }
            (Action::Pseudonym, Value::Primitive(p)) if is_text_vr(vr) => {
                bump(&mut self.counts, "pseudonymised");
                let values = strings(&p)
                    .iter()
                    .map(|v| self.engine.patient_pseudonym(v).0)
                    .collect();
                text_element(tag, vr, values)
            }
            (Action::PatientName, Value::Primitive(_)) if vr == VR::PN => {
                bump(&mut self.counts, "pseudonymised");
                let name = self
                    .engine
                    .profile
                    .patient
                    .name_template
                    .replace("{id}", &self.patient_pseudonym);
                DataElement::new(tag, vr, PrimitiveValue::from(name))
            }
            // Any other pairing (a text action on a binary VR, say) cannot be carried out
            // faithfully: empty the value rather than keep it.
            (_, Value::Primitive(_)) => {
                bump(&mut self.counts, "emptied");
                DataElement::empty(tag, vr)
            }
        };
        Some(result)
    }

    fn remap_uids(&self, tag: Tag, value: &PrimitiveValue) -> InMemElement {
        let values = strings(value)
            .iter()
            .map(|v| self.engine.uids.remap(v))
            .collect();
        text_element(tag, VR::UI, values)
    }

    fn clean(&mut self, tag: Tag, vr: VR, value: &PrimitiveValue) -> InMemElement {
        match vr {
            VR::DA | VR::DT | VR::TM => return self.shift(tag, vr, value),
            VR::UI => {
                bump(&mut self.counts, "uid");
                return self.remap_uids(tag, value);
            }
            VR::AS => return self.cap_age(tag, value),
            _ if !is_text_vr(vr) => {
                bump(&mut self.counts, "emptied");
                return DataElement::empty(tag, vr);
            }
            _ => {}
        }
        let mut out = Vec::new();
        for v in strings(value) {
            match clean::clean_text(&v, &self.ids) {
                Cleaned::Unchanged => out.push(v),
                Cleaned::Masked(m) => {
                    bump(&mut self.counts, "descriptor_masked");
                    out.push(m);
                }
                Cleaned::Emptied => {
                    bump(&mut self.counts, "descriptor_emptied");
                    out.push(String::new());
                }
            }
        }
        bump(&mut self.counts, "cleaned");
        text_element(tag, vr, out)
    }

    fn cap_age(&mut self, tag: Tag, value: &PrimitiveValue) -> InMemElement {
        let values: Result<Vec<String>, _> = if self.engine.profile.patient.cap_age {
            strings(value).iter().map(|v| dates::cap_age(v)).collect()
        } else {
            Ok(strings(value))
        };
        match values {
            Ok(v) => {
                bump(&mut self.counts, "cleaned");
                text_element(tag, VR::AS, v)
            }
            Err(_) => {
                bump(&mut self.counts, "unparseable_emptied");
                DataElement::empty(tag, VR::AS)
            }
        }
    }

    fn shift(&mut self, tag: Tag, vr: VR, value: &PrimitiveValue) -> InMemElement {
        let values = strings(value);
        let joined = values.join("\\");
        let days = self.day_offset;
        let result = match vr {
            VR::DA => dates::shift_da(&joined, days),
            VR::DT => dates::shift_dt(&joined, days),
            VR::TM => dates::check_tm(&joined).map(|()| joined.clone()),
            VR::AS => return self.cap_age(tag, value),
            _ => {
                bump(&mut self.counts, "emptied");
                return DataElement::empty(tag, vr);
            }
        };
        match result {
            Ok(new) => {
                bump(&mut self.counts, "shifted");
                let parts = new.split('\\').map(str::to_owned).collect();
                text_element(tag, vr, parts)
            }
            Err(_) => {
                bump(&mut self.counts, "unparseable_emptied");
                DataElement::empty(tag, vr)
            }
        }
    }
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

    #[test]
    fn dummied_content_keeps_text_values_and_overlays_go_whole() {
        let deid = Deidentifier::new(
            crate::profile::Profile::load("basic").unwrap(),
            Key::from_bytes([3; 32]),
        );
        let text = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
        let item = InMemDicomObject::from_element_iter([
            text(tags::VALUE_TYPE, VR::CS, "TEXT"),
            text(tags::TEXT_VALUE, VR::UT, "seen by DOE^JOHN"),
        ]);
        let object = InMemDicomObject::from_element_iter([
            text(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.88.11"),
            DataElement::new(
                tags::CONTENT_SEQUENCE,
                VR::SQ,
                DataSetSequence::new(vec![item], Length::UNDEFINED),
            ),
            DataElement::new(Tag(0x6000, 0x0010), VR::US, PrimitiveValue::from(2u16)),
            DataElement::new(
                Tag(0x6000, 0x3000),
                VR::OW,
                PrimitiveValue::from(vec![0u8; 2]),
            ),
        ]);
        let (out, _) = deid.deidentify(object);
        let content = out.get(tags::CONTENT_SEQUENCE).unwrap();
        let item = &content.items().unwrap()[0];
        assert_eq!(top_text(item, tags::TEXT_VALUE), DUMMY_TEXT);
        assert!(out.get(Tag(0x6000, 0x0010)).is_none());
        assert!(out.get(Tag(0x6000, 0x3000)).is_none());
    }

    #[test]
    fn traces_name_the_layer_and_both_values() {
        let deid = Deidentifier::new(
            crate::profile::Profile::load("ml-dataset").unwrap(),
            Key::from_bytes([3; 32]),
        );
        let object = InMemDicomObject::from_element_iter([
            DataElement::new(tags::ACCESSION_NUMBER, VR::SH, PrimitiveValue::from("A1")),
            DataElement::new(tags::OPERATORS_NAME, VR::PN, PrimitiveValue::from("X^Y")),
        ]);
        let (_, _, trace) = deid.deidentify_traced(object);
        let row = trace
            .iter()
            .find(|r| r.tag == tags::ACCESSION_NUMBER)
            .unwrap();
        assert_eq!(
            (row.action.as_str(), row.layer.as_str()),
            ("hash", "profile ml-dataset")
        );
        assert_eq!(row.before, "A1");
        assert_eq!(row.after.len(), 16);
        let row = trace
            .iter()
            .find(|r| r.tag == tags::OPERATORS_NAME)
            .unwrap();
        assert_eq!(row.action, "remove (X/Z/D)");
        assert_eq!(row.after, REMOVED);
        assert!(
            trace
                .iter()
                .any(|r| r.tag == tags::PATIENT_IDENTITY_REMOVED && r.after == "YES")
        );
    }

    proptest::proptest! {
        #[test]
        fn pseudonyms_are_stable_short_and_distinct(a in "[ -~]{1,64}", b in "[ -~]{1,64}") {
            let deid = Deidentifier::new(
                crate::profile::Profile::load("basic").unwrap(),
                Key::from_bytes([3; 32]),
            );
            let (pa, _) = deid.patient_pseudonym(&a);
            proptest::prop_assert_eq!(&pa, &deid.patient_pseudonym(&a).0);
            proptest::prop_assert!(pa.starts_with("PAT-") && pa.len() == 16);
            proptest::prop_assert!(pa.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
            if a.trim() != b.trim() {
                proptest::prop_assert_ne!(pa, deid.patient_pseudonym(&b).0);
            }
            let h = deid.hash_value(&a);
            proptest::prop_assert_eq!(h.len(), 16);
            proptest::prop_assert_eq!(&h, &deid.hash_value(&a));
        }
    }

    #[test]
    fn every_dummy_is_valid_for_its_vr() {
        for vr in [
            VR::DA,
            VR::TM,
            VR::DT,
            VR::AS,
            VR::DS,
            VR::IS,
            VR::AE,
            VR::CS,
            VR::SH,
            VR::LO,
            VR::PN,
        ] {
            let v = dummy_value(vr).unwrap().to_str().into_owned();
            assert!(!v.is_empty());
            assert!(
                v.len() <= 16 || !matches!(vr, VR::AE | VR::CS | VR::SH),
                "{vr:?}"
            );
        }
        assert_eq!(dummy_value(VR::OB), None);
    }
}
