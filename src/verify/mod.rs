//! `verify`: check that an OUTPUT tree is de-identified, and say exactly where it is not.
//!
//! # Against the profile (always)
//! Every DICOM file of OUTPUT (the state folder `.dicom-deid/` aside) is read and walked at
//! every depth by the engine's own walk, with the decisions the engine makes
//! ([`Deidentifier::walk`]; the checks are in `decisions.rs`):
//! - no attribute is present that the profile removes, and none the profile empties holds a
//!   value;
//! - no private attribute is present unless the profile keeps it (safe list, named rule or
//!   `private: keep`);
//! - every UID that the profile remaps, outside `1.2.840.10008.`, lies under the profile's UID
//!   root;
//! - PatientID, PatientName and hashed attributes have the shapes of the profile's
//!   pseudonyms (prefix and base32, the name template, 16 base32 characters);
//! - PatientIdentityRemoved is `YES` and DeidentificationMethodCodeSequence holds the CID 7050
//!   code of the profile and of each option;
//! - the file meta agrees with the data set (Media Storage SOP Class and Instance UIDs) and
//!   holds no AE titles nor private information.
//!
//! # Against the inputs (`--against INPUT`)
//! Every identifying value of every input data set is gathered and searched in every file of
//! OUTPUT, each output in the scope of its own inputs (linked by the run's key; see [`needles`]
//! for what is gathered, the scopes and the rules for short values): the output
//! paths, every text element, the raw bytes of each file, and the paths the manifests record
//! (input paths appear there with `--manifest-paths`, and often hold names). A hit is a leak
//! or, when uncertain, a `review` item (see [`needles`]; input paths the user asked for with
//! `--manifest-paths` are review items too), reported by output path, the keyed id of the
//! manifest record that wrote the file, attribute and kind of value, never the value. Review
//! items fail the check only with `strict`.
//!
//! # The manifest (`manifest.rs`)
//! Every file of OUTPUT is listed as the output of a `written` record of a manifest
//! (`manifest.jsonl`, or the shards' `manifest-K-of-N.jsonl`) with the SHA-256 it has now, and
//! every written record's file exists. With the run's key and `--against`, every input file
//! has a record (matched by its keyed path id, so no input path is ever shown). A dataset's
//! records are read from its catalogue; with the key, the runs' chained manifests and sealed
//! summaries are checked, and the catalogue against them (`run::audit`); without it, a note
//! says that they were not.
//!
//! Pixel data is never read: masking pixels is the pixel stage's business, and samples match
//! short strings by chance.

mod check;
mod decisions;
pub mod layout;
mod manifest;
pub mod needles;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dicom_core::VR;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::deid::Deidentifier;
use crate::deid::engine::DUMMY_TEXT;
use crate::dicom::file::{self, Parsed};
use crate::key::Key;
use crate::profile::{Action, Profile};
use crate::run::STATE_DIR;
use check::Checker;
use needles::{Matcher, Needles};

/// What `verify` needs; the CLI builds it from arguments.
pub struct VerifyConfig {
    pub output: PathBuf,
    pub profile: Profile,
    /// The run's key: with it and `against`, every input must have a manifest record.
    pub key: Option<Key>,
    pub against: Option<PathBuf>,
    /// Files larger than this (and deflated data sets inflating beyond it) are not read.
    pub max_file_size: u64,
    /// Review findings fail the check too.
    pub strict: bool,
}

/// The kind of check a finding failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// An identifying value of an input is in an output.
    Leak,
    /// A value that may identify someone, for a person to judge: a 2-character value, one
    /// word of a longer name outside a person-name attribute, or a value some input also holds
    /// as vocabulary. Fails the check only with `strict`.
    Review,
    /// An attribute the profile removes is present.
    Removed,
    /// An attribute the profile empties holds a value.
    Emptied,
    /// A private attribute the profile does not keep is present.
    Private,
    /// A remapped UID lies outside the profile's UID root.
    Uid,
    /// A pseudonym or hash does not have the profile's shape.
    Pseudonym,
    /// PatientIdentityRemoved or the method codes are missing or wrong.
    Marks,
    /// The file meta disagrees with the data set or holds identifying fields.
    FileMeta,
    /// The manifest does not account for a file, or a hash differs.
    Manifest,
    /// A file of OUTPUT cannot be read as DICOM.
    Unreadable,
}

/// One problem. `detail` is a fixed text or a kind of value: never a value from a file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Finding {
    /// Relative to OUTPUT (withheld when the path itself holds an identifying value).
    pub file: String,
    /// The keyed id of the manifest record that wrote the file: the same id as the input's
    /// (`run::path_id`), so it leads to the input with the key or `--manifest-paths`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    /// The attribute (`StudyDescription`, `ContentSequence[1] > TextValue`,
    /// `(0009,xx10)@CREATOR`), or the part of the file.
    pub attribute: String,
    pub check: Check,
    pub detail: String,
}

/// What `verify` found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub profile: String,
    /// DICOM files checked.
    pub files: u64,
    /// Input data sets read for `--against`.
    pub inputs: u64,
    /// Identifying values gathered from them.
    pub identifying_values: u64,
    /// The same, by kind of value.
    pub values_by_kind: BTreeMap<String, u64>,
    pub findings: Vec<Finding>,
    /// What could not be checked, and why.
    pub notes: Vec<String>,
    /// Whether review findings fail the check.
    pub strict: bool,
}

impl Report {
    /// 0 when nothing was found (review findings aside unless strict), 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(
            self.findings
                .iter()
                .any(|f| self.strict || f.check != Check::Review),
        )
    }
}

/// `verify` could not run at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("OUTPUT {0}: not a readable folder")]
    Output(PathBuf),
    /// The inputs to search for are not a readable folder.
    #[error("INPUT {0}: not a readable folder")]
    Against(PathBuf),
}

/// The note of a check made without the key.
const NO_KEY_NOTE: &str = "records not checked for tampering (no key given): each run's manifest \
     chain and summary MAC need the run's key; the files were checked against \
     the records as they are";

/// The note on an OUTPUT whose records carry no chain.
const NO_HISTORY_NOTE: &str = "records not checked for tampering: OUTPUT keeps no run history \
     (made by an earlier version, or `summary` merged shards whose own records are gone), so \
     its manifest carries no chain; the files were checked against it as it is";

/// Every regular file under `dir`, relative with `/`, sorted; the state folder left out.
fn files_under(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .flatten()
    {
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/");
        if rel.split('/').next() == Some(STATE_DIR) {
            continue;
        }
        out.push((rel, entry.path().to_path_buf()));
    }
    out
}

/// The values the profile writes itself, which are never leaks.
fn written_by_profile(profile: &Profile) -> Vec<String> {
    let mut out = vec![DUMMY_TEXT.to_owned()];
    out.extend(profile.effective_rules().into_iter().filter_map(
        |(_, _, rule)| match &rule.action {
            Action::Replace(v) => Some(v.clone()),
            _ => None,
        },
    ));
    out
}

/// Run every check.
pub fn verify(config: &VerifyConfig) -> Result<Report, VerifyError> {
    if !config.output.is_dir() {
        return Err(VerifyError::Output(config.output.clone()));
    }
    let deidentifier = Deidentifier::new(
        config.profile.clone(),
        config.key.clone().unwrap_or(Key::from_bytes([0; 32])),
    );
    let mut report = Report {
        profile: config.profile.name.clone(),
        strict: config.strict,
        ..Report::default()
    };
    let files = files_under(&config.output);
    let listing = manifest::Listing::read(&config.output, &files, &mut report);
    let records = listing.record_ids();
    let summary = manifest::read_summary(&config.output);
    manifest::compare_with_summary(config, summary.as_ref(), &mut report);
    // The key the run was made with, when the one given is it: outputs are linked to their
    // inputs (keyed record ids, pseudonyms, remapped UIDs) and records checked only with it.
    let runs_key = config.key.as_ref().filter(|k| {
        summary
            .as_ref()
            .is_none_or(|s| s.key_fingerprint == k.fingerprint())
    });

    let matcher = match &config.against {
        Some(input) => {
            if !input.is_dir() {
                return Err(VerifyError::Against(input.clone()));
            }
            let key = runs_key;
            let (needles, inputs) = gather(&deidentifier, input, key, config.max_file_size);
            report.inputs = inputs;
            report.identifying_values = needles.len() as u64;
            report.values_by_kind = needles.counts();
            if key.is_none() {
                report.notes.push(
                    "without the run's key outputs cannot be linked to their inputs: each was searched for every input's values".to_owned(),
                );
            }
            let written = written_by_profile(&config.profile);
            Some(needles.into_matcher(&written, key.is_some()))
        }
        None => None,
    };

    let checker = Checker::new(
        &deidentifier,
        matcher.as_ref(),
        &records,
        config.max_file_size,
    );
    let results: Vec<check::Checked> = files
        .par_iter()
        .map(|(rel, path)| checker.check_file(rel, path))
        .collect();
    let mut hashes = BTreeMap::new();
    for ((rel, _), checked) in files.iter().zip(results) {
        report.files += u64::from(checked.dicom);
        report.findings.extend(checked.findings);
        hashes.extend(checked.sha256.map(|h| (rel.clone(), h)));
    }
    let seen = manifest::Seen {
        files: &files,
        records: &records,
        hashes: &hashes,
        listing: &listing,
        runs_key,
    };
    manifest::check_manifests(config, matcher.as_ref(), &seen, &mut report);
    // The runs' hash-chained manifests and sealed summaries need the run's key: without it,
    // say so rather than pass them.
    let problems = match &config.key {
        _ if !crate::run::audit::has_records(&config.output) => {
            if listing.found() {
                report.notes.push(NO_HISTORY_NOTE.to_owned());
            }
            Vec::new()
        }
        // Another key would call every line edited: one finding says why nothing was checked
        // (a gate given the wrong key fails rather than passes unchecked records).
        Some(_) if runs_key.is_none() => {
            report.findings.push(Finding {
                file: "summary.json".to_owned(),
                record: None,
                attribute: "record".to_owned(),
                check: Check::Manifest,
                detail: "not checked for tampering: the key given is not the run's key (fingerprints differ)".to_owned(),
            });
            Vec::new()
        }
        Some(key) => crate::run::audit::check(&config.output, key),
        None => {
            report.notes.push(NO_KEY_NOTE.to_owned());
            Vec::new()
        }
    };
    report
        .findings
        .extend(problems.into_iter().map(|p| Finding {
            file: p.file(),
            record: None,
            attribute: "record".to_owned(),
            check: Check::Manifest,
            detail: p.to_string(),
        }));
    report.findings.sort();
    report.findings.dedup();
    Ok(report)
}

/// Gather the identifying values of every input data set, in input order; with the run's key,
/// each linked to its manifest record's id.
fn gather(
    deidentifier: &Deidentifier,
    input: &Path,
    key: Option<&Key>,
    max: u64,
) -> (Needles, u64) {
    let files = files_under(input);
    let per_file: Vec<Option<Needles>> = files
        .par_iter()
        .map(|(rel, path)| {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            if size > max {
                return None;
            }
            let bytes = std::fs::read(path).ok()?;
            match file::parse(&bytes, max) {
                Ok(Parsed::Dataset { object, .. }) => {
                    let record = key.map(|k| crate::run::path_id(k, Path::new(rel)));
                    Some(Needles::gather(deidentifier, &object, record.as_deref()))
                }
                _ => None,
            }
        })
        .collect();
    let mut needles = Needles::default();
    let mut read = 0;
    for n in per_file.into_iter().flatten() {
        needles.merge(n);
        read += 1;
    }
    (needles, read)
}

/// How a file is named in findings: its path relative to OUTPUT, unless the path itself holds
/// an identifying value (a folder written by another tool), when its manifest record's id (or,
/// for a file no record lists, a hash of the path) stands in.
fn shown_path(matcher: Option<&Matcher>, records: &BTreeMap<String, String>, rel: &str) -> String {
    if matcher.is_some_and(|m| !in_path(m, rel).is_empty()) {
        match records.get(rel) {
            Some(id) => format!("(path withheld, record {id})"),
            None => format!(
                "(path withheld, sha256 {}, not in the manifest)",
                &hex::encode(Sha256::digest(rel.as_bytes()))[..16]
            ),
        }
    } else {
        rel.to_owned()
    }
}

/// The needles a path holds: file and folder names separate words with `_` and `-` where a
/// person writes spaces (`DOE_JOHN_12345`), and are searched as written too (IDs keep theirs: `PID-12345`).
fn in_path(matcher: &Matcher, rel: &str) -> Vec<needles::Hit> {
    let mut hits = matcher.in_text(rel, VR::LO);
    hits.extend(matcher.in_text(&rel.replace(['_', '-'], " "), VR::LO));
    hits.sort();
    hits.dedup();
    hits
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let check = serde_json::to_value(self.check)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        write!(
            f,
            "{check}: {}: {}: {}",
            self.file, self.attribute, self.detail
        )
    }
}
