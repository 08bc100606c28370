//! dicom-deid: de-identify DICOM archives with the PS3.15 Annex E confidentiality profile.
//!
//! A run flows walk → read → decide → mask → write → record, and the modules follow it, each
//! using only those listed after it:
//! - [`verify`]: an OUTPUT tree checked against the profile, the inputs and the manifest,
//!   walking each file through the engine's own decisions.
//! - [`risk`]: how re-identifiable the patients of a de-identified dataset still are
//!   (k-anonymity over quasi-identifiers, prosecutor and journalist risk), and the profile
//!   generalisations that would lower it. It stands beside `verify`: nothing imports it.
//! - [`run`]: many files and the on-disk contract: the walk, shards, the ordered workers,
//!   output names, resume, a dataset grown run by run (`--add`), the manifest and its keyed
//!   chain, the catalogue, the merge of shards, linkage and triage, the QA report, and pixel
//!   rules suggested from the quarantine.
//! - [`deid`]: one data set and one file: the engine applying a profile at every depth,
//!   pseudonyms, keyed UIDs, date offsets, cleaned descriptors, marks, `inspect`'s trace.
//! - [`pixel`]: burned-in text: which images need masking, the detector, every frame masked,
//!   frames drawn for people to look at.
//! - [`profile`]: what to do, as data: the YAML format, actions, pixel rules, the Annex E
//!   tables, compilation into one rule table.
//! - [`dicom`]: bytes ⇄ data set, with no profile: the structural scan, reading, encoding,
//!   value helpers, UID and date syntax, and the stable reason codes of files not written.
//! - [`key`]: the run's secret and the purposes it hashes for.
//!
//! The `dicom-deid` binary is a thin command line over this library, which never sees its
//! argument parser.

pub mod deid;
pub mod dicom;
pub mod key;
pub mod pixel;
pub mod profile;
pub mod risk;
pub mod run;
pub mod verify;
