//! One data set de-identified: a compiled profile applied with one key to every element at
//! every sequence depth, and the de-identification marks added.
//!
//! [`Deidentifier`] holds the profile and the key; each data set gets its own state in
//! [`engine`], so one deidentifier serves every worker thread. The jobs, by module:
//! - [`walk`]: one traversal of a data set as the engine sees it, every element with its place
//!   and its [`walk::Step`]; the engine applies the steps, `verify` checks outputs by them.
//! - [`decide`]: what the profile decides for each element (the layer's action, combined codes
//!   resolved by [`iod`], unlisted attributes by VR).
//! - [`engine`]: the decisions applied to the values: removed, emptied, dummied, cleaned,
//!   shifted, remapped, hashed.
//! - [`pseudonym`]: the keyed PatientID, `hash` values and per-patient day offsets; [`uid`]:
//!   the keyed UID map.
//! - [`identifiers`]: the attributes that identify someone, one table for the cleaner and for
//!   `verify`; [`clean`]: free text cleaned of a file's identifying values and of what
//!   [`freetext`] recognises (names from word lists and roles, addresses, dates, IDs…).
//! - [`marks`]: PatientIdentityRemoved and the method codes of PS3.15 E.1.1.
//! - [`trace`]: `inspect`'s rows; [`one_file`]: a file's bytes in, a de-identified file out.

pub mod clean;
pub mod decide;
pub mod engine;
pub mod freetext;
mod generalise;
pub mod identifiers;
pub mod iod;
pub mod marks;
pub mod one_file;
pub mod pseudonym;
pub mod trace;
pub mod uid;
pub mod walk;

use std::collections::BTreeMap;

use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

use crate::deid::decide::Place;
use crate::deid::engine::FileState;
use crate::deid::iod::Iod;
use crate::deid::uid::UidMapper;
use crate::dicom::values::top_text;
use crate::key::Key;
use crate::profile::Profile;

pub use trace::TraceRow;

/// How many times each kind of change was made in one file, by name; no values.
pub type ActionCounts = BTreeMap<&'static str, u64>;

/// The identifying keys of one file before and after, for the opt-in linkage table only.
#[derive(Debug, Clone, Default)]
pub struct Linkage {
    pub patient_id: (String, String),
    pub study_uid: (String, String),
    pub series_uid: (String, String),
    pub sop_uid: (String, String),
    /// Every UID the file had changed, at any depth (old, new), sorted.
    pub uids: Vec<(String, String)>,
}

/// What de-identifying one data set did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub counts: ActionCounts,
    pub linkage: Linkage,
}

/// Applies one compiled profile with one key to data sets.
#[derive(Debug, Clone)]
pub struct Deidentifier {
    profile: Profile,
    key: Key,
    uids: UidMapper,
    /// Whether the profile cleans anything, so identifiers must be gathered per file.
    cleans: bool,
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
        let before = (
            text(tags::PATIENT_ID),
            text(tags::STUDY_INSTANCE_UID),
            text(tags::SERIES_INSTANCE_UID),
            text(tags::SOP_INSTANCE_UID),
        );
        let marks_before = traced.then(|| trace::marks_before(&object));
        let iod = Iod::of(&object);
        let mut state = FileState::new(self, &object, &iod, traced);
        let mut out = state.dataset(object, Place::TOP);
        state.add_patient_id(&mut out);
        self.mark(&mut out);
        let (counts, uids, mut trace) = state.finish();
        if let (Some(trace), Some(marks_before)) = (trace.as_mut(), marks_before) {
            trace::mark_rows(trace, marks_before, &out);
        }
        let after = |tag| top_text(&out, tag);
        let linkage = Linkage {
            patient_id: (before.0, after(tags::PATIENT_ID)),
            study_uid: (before.1, after(tags::STUDY_INSTANCE_UID)),
            series_uid: (before.2, after(tags::SERIES_INSTANCE_UID)),
            sop_uid: (before.3, after(tags::SOP_INSTANCE_UID)),
            uids: uids.into_iter().collect(),
        };
        (out, Outcome { counts, linkage }, trace)
    }
}
