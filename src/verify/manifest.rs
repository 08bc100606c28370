//! The manifest checks: every file of OUTPUT is a `written` record's output with the SHA-256
//! it has now, every such record's file exists, and (with the run's key and the inputs) every
//! input has a record. Also the notes when the profile or key checked against are not the run's.

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

/// Output path → keyed id of the `written` record that wrote it, from every manifest in
/// OUTPUT (unreadable manifests are reported by [`check_manifests`]).
pub(super) fn record_ids(files: &[(String, PathBuf)]) -> BTreeMap<String, String> {
    files
        .iter()
        .filter(|(rel, _)| is_manifest(rel))
        .filter_map(|(_, path)| manifest::read_jsonl(path).ok())
        .flatten()
        .filter(|r| r.status == Status::Written)
        .filter_map(|r| Some((r.output?, r.id)))
        .collect()
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

/// What the file checks saw of OUTPUT: its files, the record id of each output and the
/// SHA-256 of each file they read.
pub(super) struct Seen<'a> {
    pub files: &'a [(String, PathBuf)],
    pub records: &'a BTreeMap<String, String>,
    pub hashes: &'a BTreeMap<String, String>,
}

/// The manifest checks (see the module doc).
pub(super) fn check_manifests(
    config: &VerifyConfig,
    matcher: Option<&Matcher>,
    seen: &Seen<'_>,
    report: &mut Report,
) {
    let (ids, files) = (seen.records, seen.files);
    let finding = |file: &str, attribute: &str, detail: &str| Finding {
        file: shown_path(matcher, ids, file),
        record: ids.get(file).cloned(),
        attribute: attribute.to_owned(),
        check: Check::Manifest,
        detail: detail.to_owned(),
    };
    let manifests: Vec<&(String, PathBuf)> =
        files.iter().filter(|(rel, _)| is_manifest(rel)).collect();
    if manifests.is_empty() {
        report.findings.push(finding(
            "manifest.jsonl",
            "file",
            "missing: OUTPUT holds no manifest (is it the OUTPUT of `dicom-deid run`?)",
        ));
        return;
    }
    let mut records = Vec::new();
    for (rel, path) in manifests {
        match manifest::read_jsonl(path) {
            Ok(r) => records.extend(r),
            Err(_) => report.findings.push(finding(rel, "file", "cannot be read")),
        }
    }
    let listed: BTreeMap<&str, &str> = records
        .iter()
        .filter(|r| r.status == Status::Written)
        .filter_map(|r| Some((r.output.as_deref()?, r.sha256.as_deref()?)))
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
    match (&config.key, &config.against) {
        (Some(key), Some(input)) => {
            let ids: BTreeSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
            for (rel, _) in files_under(input) {
                let id = run::path_id(key, Path::new(&rel));
                if !ids.contains(id.as_str()) {
                    report.findings.push(finding(
                        "manifest.jsonl",
                        &format!("input {id}"),
                        "an input file has no manifest record",
                    ));
                }
            }
        }
        (None, Some(_)) => report.notes.push(
            "no key given: whether every input has a manifest record was not checked".to_owned(),
        ),
        _ => {}
    }
}
