//! The engine: one data set processed level by level, at every sequence depth, each element's
//! step ([`Level::step`]: its decision, or the rule for group lengths, creators and overlays)
//! applied to its value.
//!
//! # Action semantics
//! - `X` remove; `Z` empty (zero length; a sequence with no items); `K` keep (a kept sequence is
//!   still processed inside); `U` remap every UID with the keyed mapper.
//! - `D` a non-empty value valid for the VR: text `DEIDENTIFIED`, dates `19000101`, times
//!   `000000`, numbers 0, ages `000Y`, UIDs remapped; a sequence keeps its items, processed inside.
//! - `C` clean: free text loses every identifying value of the file and what the free-text
//!   recogniser finds (see [`crate::deid::clean`]), its dates shifted where StudyDate is;
//!   dates and times shift (the Modified Dates column writes C for that); ages are capped at
//!   `090Y`; sequences are processed inside; binary values that cannot be cleaned are emptied.
//! - Combined codes (`Z/D`, `X/Z`, `X/D`, `X/Z/D`) are resolved to one of these first, by the
//!   attribute's requirement in the file's IOD (see [`crate::deid::decide`]).
//! - `X/Z/U*` (Referenced/Source Image Sequence) keeps the sequence and remaps the UIDs inside:
//!   it is always conformant, and references between images survive de-identification.
//! - Profile actions beyond the table: `hash` (a keyed pseudonym of each value), `shift`,
//!   `replace: V`, the generalisations `band`, `round` and `precision` (in `generalise`),
//!   and the patient's pseudonym and name template.

use std::collections::BTreeSet;

use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::{InMemDicomObject, InMemElement};

use crate::deid::clean::{self, Cleaned, Identifiers};
use crate::deid::decide::{Decision, Place};
use crate::deid::identifiers::gather_identifiers;
use crate::deid::iod::Iod;
use crate::deid::trace::{REMOVED, TraceRow, describe};
use crate::deid::walk::{Level, Step};
use crate::deid::{ActionCounts, Deidentifier};
use crate::dicom::dates;
use crate::dicom::values::{is_text_vr, reinterpret_un, strings, text_element, top_text};
use crate::profile::Action;

/// The dummy text for D on text VRs: short enough for every VR (SH, CS and AE hold 16).
pub const DUMMY_TEXT: &str = "DEIDENTIFIED";

/// Per-file state while one data set is processed.
pub(super) struct FileState<'a> {
    engine: &'a Deidentifier,
    ids: Identifiers,
    day_offset: i64,
    iod: &'a Iod,
    patient_pseudonym: String,
    /// The file has no PatientID: the top level gets one, the patient's pseudonym.
    without_id: bool,
    pub(super) counts: Tally,
    /// Every UID changed, old and new, for the linkage tables.
    uids: BTreeSet<(String, String)>,
    /// Rows for `inspect`, only when asked for.
    trace: Option<Vec<TraceRow>>,
    /// The sequence items being processed, for trace rows.
    path: Vec<(Tag, usize)>,
}

impl<'a> FileState<'a> {
    /// The state for `object`, a data set of `iod`: its identifiers (when the profile cleans),
    /// and its patient's day offset and pseudonym.
    pub(super) fn new(
        engine: &'a Deidentifier,
        object: &InMemDicomObject,
        iod: &'a Iod,
        traced: bool,
    ) -> Self {
        let patient = engine.patient_of(object);
        let mut state = FileState {
            engine,
            ids: if engine.cleans {
                let mut ids = gather_identifiers(object);
                // Dates in free text move with the file's dates where the profile shifts them.
                if engine
                    .profile
                    .rule(tags::STUDY_DATE)
                    .is_some_and(|rule| rule.action == Action::Shift)
                {
                    ids.shift_dates(patient.day_offset);
                }
                ids
            } else {
                Identifiers::new()
            },
            day_offset: patient.day_offset,
            iod,
            patient_pseudonym: patient.pseudonym,
            without_id: patient.without_id,
            counts: Tally::default(),
            uids: BTreeSet::new(),
            trace: traced.then(Vec::new),
            path: Vec::new(),
        };
        if patient.lookup_missing {
            bump(&mut state.counts, "patient_lookup_missing");
        }
        state
    }

    /// A file without PatientID gets its patient's pseudonym as one (PatientID is type 2 in
    /// the Patient module), so its folder and linkage row are that patient's.
    pub(super) fn add_patient_id(&mut self, out: &mut InMemDicomObject) {
        if self.without_id && top_text(out, tags::PATIENT_ID).is_empty() {
            bump(&mut self.counts, "pseudonymised");
            out.put(DataElement::new(
                tags::PATIENT_ID,
                VR::LO,
                PrimitiveValue::from(self.patient_pseudonym.as_str()),
            ));
        }
    }

    /// The counts made, the UIDs changed, and the trace rows when tracing.
    pub(super) fn finish(
        self,
    ) -> (
        ActionCounts,
        BTreeSet<(String, String)>,
        Option<Vec<TraceRow>>,
    ) {
        (self.counts.into_counts(), self.uids, self.trace)
    }
}

/// Counts by name while a file is processed, bumped for every element: a short list
/// searched by address first (the names are literals), an [`ActionCounts`] at the end.
#[derive(Default)]
pub(super) struct Tally(Vec<(&'static str, u64)>);

impl Tally {
    fn into_counts(self) -> ActionCounts {
        let mut counts = ActionCounts::new();
        for (what, n) in self.0 {
            *counts.entry(what).or_default() += n;
        }
        counts
    }
}

pub(super) fn bump(counts: &mut Tally, what: &'static str) {
    match counts
        .0
        .iter_mut()
        .find(|(name, _)| std::ptr::eq(*name, what) || *name == what)
    {
        Some((_, n)) => *n += 1,
        None => counts.0.push((what, 1)),
    }
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
    /// Process every element of one data set (or item), each by its [`Step`].
    pub(super) fn dataset(&mut self, object: InMemDicomObject, place: Place) -> InMemDicomObject {
        let level = Level::new(self.engine, self.iod, &object, place);
        let mut kept_blocks = BTreeSet::new();
        let mut creator_elements = Vec::new();
        // Built by inserting elements as they are decided, mostly in tag order: cheaper than
        // collecting them for `from_element_iter`, which sorts and bulk-builds.
        let mut out = InMemDicomObject::new_empty();
        for elem in object {
            let processed = match level.step(&elem) {
                Step::GroupLength(decision) => {
                    self.note(&elem, &decision, false);
                    None
                }
                Step::Creator => {
                    // Creators are restored below for kept blocks.
                    if self.trace.is_some() {
                        creator_elements.push(elem);
                    }
                    None
                }
                Step::NoCreator(decision) => {
                    self.note(&elem, &decision, false);
                    bump(&mut self.counts, "private_removed");
                    None
                }
                Step::Overlay(decision) => self.decided(decision, elem, place),
                Step::Public(decision) => self.decided(decision, reinterpret_un(elem), place),
                Step::Private { creator, decision } => {
                    let block = (elem.tag().0, (elem.tag().1 >> 8) as u8);
                    let kept = self.private(decision, elem, creator, place);
                    if kept.is_some() {
                        kept_blocks.insert(block);
                    }
                    kept
                }
            };
            if let Some(processed) = processed {
                out.put(processed);
            }
        }
        for elem in creator_elements {
            let kept = kept_blocks.contains(&(elem.tag().0, elem.tag().1 as u8));
            let layer = if kept {
                "creator of a kept private block"
            } else {
                "creator of a removed private block"
            };
            let action = if kept { Action::Keep } else { Action::Remove };
            self.note(&elem, &Decision::new(action, layer), kept);
        }
        for (group, block) in kept_blocks {
            let creator = level.creator(group, block).unwrap_or_default();
            out.put(DataElement::new(
                Tag(group, u16::from(block)),
                VR::LO,
                PrimitiveValue::from(creator),
            ));
        }
        out
    }

    /// Apply a private element's decision; its trace row names the block's creator.
    fn private(
        &mut self,
        decision: Decision<'_>,
        elem: InMemElement,
        creator: &str,
        place: Place,
    ) -> Option<InMemElement> {
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
        trace.push(TraceRow::decided(&self.path, &elem, &decision));
        let out = self.apply(&decision.action, elem, place);
        if let Some(trace) = self.trace.as_mut() {
            trace[row].after = out.as_ref().map_or_else(|| REMOVED.to_owned(), describe);
        }
        out
    }

    /// A trace row for an element the loop handles itself (group lengths, private creators).
    fn note(&mut self, elem: &InMemElement, decision: &Decision<'_>, kept: bool) {
        if let Some(trace) = self.trace.as_mut() {
            let mut row = TraceRow::decided(&self.path, elem, decision);
            row.after = if kept {
                row.before.clone()
            } else {
                REMOVED.to_owned()
            };
            trace.push(row);
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
                let Some(inner) = place.processed_inside(tag, action) else {
                    bump(&mut self.counts, "removed");
                    return None;
                };
                let items = self.items(tag, seq.into_items(), inner);
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
                let values = each_non_empty(&p, |v| self.engine.hash_value(v));
                text_element(tag, vr, values)
            }
            (Action::Replace(new), Value::Primitive(_)) if is_text_vr(vr) => {
                bump(&mut self.counts, "replaced");
                DataElement::new(tag, vr, PrimitiveValue::from(new.as_str()))
            }
            (Action::Pseudonym, Value::Primitive(p)) if is_text_vr(vr) => {
                bump(&mut self.counts, "pseudonymised");
                // An empty PatientID is no patient's: the top level gets the file's patient in
                // `add_patient_id`.
                let values = each_non_empty(&p, |v| self.engine.patient_pseudonym(v).0);
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

    /// Process the items of sequence `tag`, their elements at `inner`.
    fn items(
        &mut self,
        tag: Tag,
        items: impl IntoIterator<Item = InMemDicomObject>,
        inner: Place,
    ) -> Vec<InMemDicomObject> {
        items
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
            .collect()
    }

    fn remap_uids(&mut self, tag: Tag, value: &PrimitiveValue) -> InMemElement {
        let values = strings(value)
            .into_iter()
            .map(|v| {
                let new = self.engine.uids.remap(&v);
                if new != v && !v.trim().is_empty() {
                    self.uids.insert((v.trim().to_owned(), new.clone()));
                }
                new
            })
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

    pub(super) fn shift(&mut self, tag: Tag, vr: VR, value: &PrimitiveValue) -> InMemElement {
        let values = strings(value);
        let joined = values.join("\\");
        let days = self.day_offset;
        let result = match vr {
            VR::DA => dates::shift_da(&joined, days),
            VR::DT => dates::shift_dt(&joined, days),
            VR::TM => dates::check_tm(&joined).map(|()| joined.clone()),
            VR::AS => return self.cap_age(tag, value),
            // Kept, as every DT keeps its own offset: moving the day does not move the zone.
            VR::SH if tag == tags::TIMEZONE_OFFSET_FROM_UTC => {
                dates::check_utc_offset(&joined).map(|()| joined.clone())
            }
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

/// Each value of `p` replaced by `f` of it; blank values stay empty (they identify no one).
fn each_non_empty(p: &PrimitiveValue, mut f: impl FnMut(&str) -> String) -> Vec<String> {
    strings(p)
        .iter()
        .map(|v| {
            if v.trim().is_empty() {
                String::new()
            } else {
                f(v)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Key;

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
