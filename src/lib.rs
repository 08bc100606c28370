//! dicom-deid: de-identify DICOM archives with the PS3.15 Annex E confidentiality profile.
//!
//! The library does the work; the `dicom-deid` binary ([`cli`]) is a thin layer over it.
//! - [`standard`]: the Annex E tables, embedded.
//! - [`profile`]: YAML profiles, `extends`, compilation into effective rules.
//! - [`actions`]: what happens to each attribute, applied at every depth.
//! - [`uid`], [`dates`], [`clean`]: keyed UIDs, date shifting, descriptor cleaning.
//! - [`scan`], [`dicom_file`], [`reader`]: validating and reading files, writing de-identified
//!   ones.
//! - [`pixel`]: burned-in text: pixel rules, the detector, masking every frame.
//! - [`process`]: one file's bytes in, a de-identified file (or why not) out.
//! - [`pipeline`], [`manifest`], [`qa`]: the `run` job, its audit trail, its masking report.
//! - [`summary`]: the shards of a run checked and merged into one manifest and summary.
//! - [`key`]: the run's secret and everything keyed on it.
//! - [`inspect`]: one file's elements, actions and values, for a person at a terminal.
//! - [`verify`]: checking an OUTPUT tree against the profile, the inputs and the manifest.

pub mod actions;
pub mod clean;
pub mod cli;
pub mod dates;
pub mod dicom_file;
pub mod inspect;
pub mod key;
pub mod manifest;
pub mod pipeline;
pub mod pixel;
pub mod process;
pub mod profile;
pub mod qa;
pub mod reader;
pub mod scan;
pub mod standard;
pub mod summary;
pub mod uid;
pub mod verify;
