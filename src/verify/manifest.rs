//! The manifest checks: every file of OUTPUT is a `written` record's output with the SHA-256
//! it has now, every such record's file exists, and (with the run's key and the inputs) every
//! input has a record. A dataset's records are read from its catalogue ([`Listing`]). Also the notes when the profile or key checked against are not the run's.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::run;
use crate::run::manifest::{self, Status, Summary};
use crate::verify::needles::Matcher;
use crate::verify::{Check, Finding, Report, VerifyConfig, files_under, shown_path};

pub(super) fn is_manifest(rel: &str) -> bool {
    rel == "manifest.jsonl" || (rel.starts_with("manifest-") && rel.ends_with(".jsonl"))
}

pub(super) fn is_summary(rel: &str) -> bool {
    rel == "summary.json" || (rel.starts_with("summary-") && rel.ends_with(".json"))
}

/// What the records of OUTPUT say: its written files (output path → keyed id of the record
/// that wrote it, and SHA-256) and the keyed ids of every input recorded. Read from a
/// dataset's catalogue when it lists every finished run (the catalogue is checked against the
/// runs' manifests by the audit check, with the key); otherwise from the manifests in OUTPUT
/// (`manifest.jsonl`, or the shards' `manifest-K-of-N.jsonl`).
#[derive(Default)]
pub(super) struct Listing {
    written: BTreeMap<String, (String, String)>,
    inputs: BTreeSet<String>,
    /// Whether any record was found (a catalogue, or a manifest).
    found: bool,
}

impl Listing {
    pub(super) fn read(output: &Path, files: &[(String, PathBuf)], report: &mut Report) -> Self {
        if let Ok(Some(found)) = run::catalogue::written(output) {
            return Listing {
                written: found.outputs,
                inputs: found.inputs,
                found: true,
            };
        }
        let mut listing = Listing::default();
        for (rel, path) in files.iter().filter(|(rel, _)| is_manifest(rel)) {
            listing.found = true;
            let Ok(records) = manifest::records(path) else {
                report.findings.push(Finding {
                    file: rel.clone(),
                    record: None,
                    attribute: "file".to_owned(),
                    check: Check::Manifest,
                    detail: "cannot be read".to_owned(),
                });
                continue;
            };
            for r in records {
                if let (Status::Written, Some(output)) = (r.status, r.output) {
                    let sha = r.sha256.unwrap_or_default();
                    listing.written.insert(output, (r.id.clone(), sha));
                }
                listing.inputs.insert(r.id);
            }
        }
        listing
    }

    /// Whether any record was found.
    pub(super) fn found(&self) -> bool {
        self.found
    }

    /// Output path → keyed id of the `written` record that wrote it.
    pub(super) fn record_ids(&self) -> BTreeMap<String, String> {
        let written = self.written.iter();
        written
            .map(|(out, (id, _))| (out.clone(), id.clone()))
            .collect()
    }
}

pub(super) fn read_summary(output: &Path) -> Option<Summary> {
    let bytes = std::fs::read(output.join("summary.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Notes when the profile or key given are not the run's.
pub(super) fn compare_with_summary(
    config: &VerifyConfig,
    summary: Option<&Summary>,
    report: &mut Report,
) {
    let Some(summary) = summary else {
        report
            .notes
            .push("OUTPUT holds no summary.json: the run's profile and key are unknown".to_owned());
        return;
    };
    if summary.profile.sha256 != config.profile.table_sha256() {
        report.notes.push(format!(
            "the run used profile {:?}, not the one checked against ({:?})",
            summary.profile.name, config.profile.name
        ));
    }
    if let Some(key) = &config.key
        && key.fingerprint() != summary.key_fingerprint
    {
        report.notes.push(
            "the key given is not the run's key (fingerprints differ): inputs cannot be matched to manifest records".to_owned(),
        );
    }
}

/// What the file checks saw of OUTPUT: its files, the record id of each output, the
/// SHA-256 of each file they read, and what the records list.
pub(super) struct Seen<'a> {
    pub files: &'a [(String, PathBuf)],
    pub records: &'a BTreeMap<String, String>,
    pub hashes: &'a BTreeMap<String, String>,
    pub listing: &'a Listing,
    /// The key given, when it is the run's.
    pub runs_key: Option<&'a crate::key::Key>,
}

/// The manifest checks (see the module doc).
pub(super) fn check_manifests(
    config: &VerifyConfig,
    matcher: Option<&Matcher>,
    seen: &Seen<'_>,
    report: &mut Report,
) {
    let (ids, files, listing) = (seen.records, seen.files, seen.listing);
    let finding = |file: &str, attribute: &str, detail: &str| Finding {
        file: shown_path(matcher, ids, file),
        record: ids.get(file).cloned(),
        attribute: attribute.to_owned(),
        check: Check::Manifest,
        detail: detail.to_owned(),
    };
    if !listing.found {
        report.findings.push(finding(
            "manifest.jsonl",
            "file",
            "missing: OUTPUT holds no manifest (is it the OUTPUT of `dicom-deid run`?)",
        ));
        return;
    }
    let listed: BTreeMap<&str, &str> = listing
        .written
        .iter()
        .map(|(out, (_, sha))| (out.as_str(), sha.as_str()))
        .collect();
    let present: BTreeSet<&str> = files.iter().map(|(rel, _)| rel.as_str()).collect();
    for (rel, path) in files {
        if is_manifest(rel) || is_summary(rel) {
            continue;
        }
        match listed.get(rel.as_str()) {
            None => report.findings.push(finding(
                rel,
                "file",
                "not listed as written in the manifest",
            )),
            Some(sha) => {
                // Hashed as the file was checked; a file too large to check is read here.
                let now = seen.hashes.get(rel).cloned().unwrap_or_else(|| {
                    std::fs::read(path)
                        .map(|b| hex::encode(Sha256::digest(&b)))
                        .unwrap_or_default()
                });
                if now != *sha {
                    report.findings.push(finding(
                        rel,
                        "file",
                        "SHA-256 differs from the manifest's (changed after the run)",
                    ));
                }
            }
        }
    }
    for rel in listed.keys() {
        if !present.contains(rel) {
            report.findings.push(finding(
                rel,
                "file",
                "listed as written in the manifest, but missing",
            ));
        }
    }
    match (&config.key, seen.runs_key, &config.against) {
        (Some(_), None, Some(_)) => report.notes.push(
            "the key given is not the run's: whether every input has a manifest record was not checked"
                .to_owned(),
        ),
        (_, Some(key), Some(input)) => {
            for (rel, _) in files_under(input) {
                let id = run::path_id(key, Path::new(&rel));
                if !listing.inputs.contains(&id) {
                    report.findings.push(finding(
                        "manifest.jsonl",
                        &format!("input {id}"),
                        "an input file has no manifest record",
                    ));
                }
            }
        }
        (None, _, Some(_)) => report.notes.push(
            "no key given: whether every input has a manifest record was not checked".to_owned(),
        ),
        _ => {}
    }
}
