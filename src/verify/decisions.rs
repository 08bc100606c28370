//! Every element of an output checked against the engine's decision for it, taken from the
//! engine's own walk ([`crate::deid::Deidentifier::walk`]): what the profile removes is absent,
//! what it empties is empty, private elements are kept only where the profile keeps them,
//! remapped UIDs lie under the UID root, pseudonyms and hashes have the profile's shapes; and
//! every text value the profile did not write itself is searched for the inputs' identifying
//! values.

use dicom_core::VR;
use dicom_core::header::Header;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemElement;

use crate::deid::decide::{Decision, Place, is_code_item};
use crate::deid::freetext::{self, Phi};
use crate::deid::walk::{Step, Visitor};
use crate::dicom::uid;
use crate::dicom::values::{dictionary_vr, is_free_text_vr, keyword};
use crate::profile::{Action, PatientIdMode};
use crate::verify::Check;
use crate::verify::check::{Checker, FileCheck};
use crate::verify::needles;

impl Visitor for FileCheck<'_> {
    /// The attribute path so far: `ContentSequence[1] > `.
    type Within = String;

    /// The profile's checks and the leak search of one element.
    fn element(
        &mut self,
        prefix: &String,
        place: Place,
        elem: &InMemElement,
        step: &Step<'_>,
    ) -> Option<String> {
        let tag = elem.tag();
        let decision = match step {
            // Group lengths are recomputed; creators are checked through their blocks' elements.
            Step::GroupLength(_) | Step::Creator => return None,
            _ => step.decision()?,
        };
        if place.depth == 0
            && matches!(
                tag,
                tags::PATIENT_IDENTITY_REMOVED
                    | tags::DEIDENTIFICATION_METHOD
                    | tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE
            )
        {
            return None;
        }
        let private = tag.0 % 2 == 1;
        if !private && is_code_item(tag) {
            // Code items name concepts, not people (as the engine treats them).
            return None;
        }
        let attribute = format!("{prefix}{}", self.name(elem, step));
        if let Step::NoCreator(_) = step {
            self.push(
                attribute,
                Check::Private,
                "private element without a creator",
            );
            return None;
        }
        let vr = if elem.vr() == VR::UN && !private {
            dictionary_vr(tag).unwrap_or(VR::UN)
        } else {
            elem.vr()
        };
        let generated = self.check_decision(&attribute, elem, vr, decision, private);
        match elem.value() {
            Value::Sequence(_) => return Some(attribute),
            Value::Primitive(value) if !generated => {
                for v in text_values(elem.vr(), vr, value) {
                    if vr == VR::UI {
                        if let Some(hit) = self.checker.matcher.and_then(|m| m.uid(&v)) {
                            self.push_hit(attribute.clone(), hit, vr);
                        }
                    } else if vr == VR::PN || is_free_text_vr(vr) {
                        self.leaks_in_text(&attribute, &v, vr);
                        if decision.action == Action::Clean {
                            self.recognised(&attribute, &v);
                        }
                    }
                }
            }
            _ => {}
        }
        None
    }

    fn item(&mut self, attribute: &String, index: usize) -> String {
        format!("{attribute}[{}] > ", index + 1)
    }
}

impl FileCheck<'_> {
    /// Identifiers the free-text recogniser finds in a value the profile cleans: the cleaner
    /// runs the same recogniser, so any is text it did not clean (an output edited, or written
    /// by another tool). For review: the recogniser judges by shape and word lists, not by a
    /// value of an input. Dates are not reported, since the cleaner shifts them in place.
    fn recognised(&mut self, attribute: &str, value: &str) {
        let mut kinds: Vec<Phi> = freetext::find(value)
            .into_iter()
            .map(|(_, kind)| kind)
            .filter(|kind| *kind != Phi::Date)
            .collect();
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            self.push(
                attribute.to_owned(),
                Check::Review,
                format!("{} in free text the profile cleans", kind.describe()),
            );
        }
    }

    /// How an element is named in findings: its keyword, or a private element by its block's
    /// creator.
    fn name(&self, elem: &InMemElement, step: &Step<'_>) -> String {
        let tag = elem.tag();
        match step {
            // A creator is a vendor's name, unless the file put an identifier there.
            Step::Private { creator, .. }
                if self
                    .checker
                    .matcher
                    .is_some_and(|m| !m.in_text(creator, VR::LO).is_empty()) =>
            {
                format!("({:04X},xx{:02X})@(creator withheld)", tag.0, tag.1 & 0xFF)
            }
            Step::Private { creator, .. } => {
                format!("({:04X},xx{:02X})@{creator}", tag.0, tag.1 & 0xFF)
            }
            _ => keyword(tag),
        }
    }

    /// The profile's checks of one element; true when its value is one the profile wrote
    /// (a pseudonym, a hash, a replacement, a remapped UID), which is then not searched.
    fn check_decision(
        &mut self,
        attribute: &str,
        elem: &InMemElement,
        vr: VR,
        decision: &Decision<'_>,
        private: bool,
    ) -> bool {
        let checker = self.checker;
        let profile = checker.deidentifier.profile();
        let (action, layer) = (&decision.action, decision.layer);
        let empty = match elem.value() {
            Value::Primitive(p) => needles::values(p).is_empty(),
            Value::Sequence(s) => s.items().is_empty(),
            Value::PixelSequence(_) => false,
        };
        let texts = match elem.value() {
            Value::Primitive(p) => needles::values(p),
            _ => Vec::new(),
        };
        match action {
            Action::Remove if private => {
                self.push(
                    attribute.to_owned(),
                    Check::Private,
                    format!("present, but the profile does not keep it ({layer})"),
                );
                false
            }
            Action::Remove => {
                self.push(
                    attribute.to_owned(),
                    Check::Removed,
                    format!("present, but the profile removes it ({layer})"),
                );
                false
            }
            Action::Empty if !empty => {
                self.push(
                    attribute.to_owned(),
                    Check::Emptied,
                    format!("holds a value, but the profile empties it ({layer})"),
                );
                false
            }
            Action::Uid | Action::Dummy | Action::Clean if vr == VR::UI => {
                let root = format!("{}.", profile.uid_root);
                let outside = texts
                    .iter()
                    .any(|u| !uid::is_well_known(u) && !u.starts_with(&root));
                if outside {
                    self.push(
                        attribute.to_owned(),
                        Check::Uid,
                        format!("a UID outside the UID root {}", profile.uid_root),
                    );
                }
                !outside
            }
            Action::Pseudonym => {
                let ok = texts.iter().all(|v| checker.is_pseudonym(v));
                if !ok {
                    self.push(
                        attribute.to_owned(),
                        Check::Pseudonym,
                        "not a patient pseudonym of the profile",
                    );
                }
                ok && profile.patient.id != PatientIdMode::Keep
            }
            Action::PatientName => {
                let ok = texts
                    .iter()
                    .all(|v| checker.is_patient_name(v, &self.patient_id));
                if !ok {
                    self.push(
                        attribute.to_owned(),
                        Check::Pseudonym,
                        "not the profile's name template over the new PatientID",
                    );
                }
                ok
            }
            Action::Hash => {
                let ok = texts.iter().all(|v| is_hash(v));
                if !ok {
                    self.push(
                        attribute.to_owned(),
                        Check::Pseudonym,
                        "not a keyed hash (16 base32 characters)",
                    );
                }
                ok
            }
            Action::Replace(new) => texts.iter().all(|v| v == new),
            _ => false,
        }
    }
}

impl Checker<'_> {
    /// The name template over the new PatientID (over some pseudonym when the file has none).
    fn is_patient_name(&self, value: &str, patient_id: &str) -> bool {
        let template = &self.deidentifier.profile().patient.name_template;
        let Some((before, after)) = template.split_once("{id}") else {
            return value == template;
        };
        let Some(id) = value
            .strip_prefix(before)
            .and_then(|rest| rest.strip_suffix(after))
        else {
            return false;
        };
        if patient_id.is_empty() {
            self.is_pseudonym(id)
        } else {
            value == template.replace("{id}", patient_id)
        }
    }

    fn is_pseudonym(&self, value: &str) -> bool {
        let patient = &self.deidentifier.profile().patient;
        match patient.id {
            PatientIdMode::Keep => true,
            PatientIdMode::Lookup if patient.lookup.values().any(|v| v == value) => true,
            _ => value
                .strip_prefix(patient.prefix.as_str())
                .is_some_and(|rest| rest.len() >= 8 && rest.bytes().all(is_base32)),
        }
    }
}

/// The string values of an element; a text attribute stored as UN is read as the text its
/// bytes spell (a name in a UN value is still a name).
fn text_values(stored: VR, vr: VR, value: &PrimitiveValue) -> Vec<String> {
    match value {
        PrimitiveValue::U8(bytes) if stored == VR::UN && (vr == VR::PN || is_free_text_vr(vr)) => {
            String::from_utf8_lossy(bytes)
                .split('\\')
                .map(|v| v.trim_end_matches(['\0', ' ']).to_owned())
                .filter(|v| !v.is_empty())
                .collect()
        }
        _ => needles::values(value),
    }
}

fn is_base32(b: u8) -> bool {
    b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)
}

fn is_hash(value: &str) -> bool {
    value.len() == 16 && value.bytes().all(is_base32)
}
