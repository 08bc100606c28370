//! `verify`: check that an OUTPUT tree is de-identified, and say exactly where it is not.
//!
//! # Against the profile (always)
//! Every DICOM file of OUTPUT (the state folder `.dicom-deid/` aside) is read and walked at
//! every depth with the same decisions the engine makes ([`Deidentifier::decide_public`],
//! [`Deidentifier::decide_private`]):
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
//! OUTPUT (see [`needles`] for what is gathered and the rules for short values): the output
//! paths, every text element, the raw bytes of each file, and the paths the manifests record
//! (input paths appear there with `--manifest-paths`, and often hold names). A hit is a leak,
//! reported by output path, attribute and kind of value, never the value.
//!
//! # The manifest
//! Every file of OUTPUT is listed as the output of a `written` record of a manifest
//! (`manifest.jsonl`, or the shards' `manifest-K-of-N.jsonl`) with the SHA-256 it has now, and
//! every written record's file exists. With the run's key and `--against`, every input file
//! has a record (matched by its keyed path id, so no input path is ever shown).
//!
//! Pixel data is never read: masking pixels is the pixel stage's business, and samples match
//! short strings by chance.

pub mod layout;
pub mod needles;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use dicom_core::VR;
use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::mem::{InMemDicomObject, InMemElement};
use dicom_object::meta::FileMetaTable;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::deid::{DUMMY_TEXT, Deidentifier, Iod, Place, is_code_item};
use crate::dicom::file::{self, Parsed};
use crate::dicom::scan::{self, Encoding};
use crate::dicom::uid;
use crate::dicom::values::keyword;
use crate::dicom::values::{dictionary_vr, is_free_text_vr, private_creators, top_text};
use crate::key::Key;
use crate::profile::Action;
use crate::profile::{PatientIdMode, Profile};
use crate::run::manifest::{self, Status, Summary};
use crate::run::{self, STATE_DIR};
use layout::Class;
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
}

/// The kind of check a finding failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// An identifying value of an input is in an output.
    Leak,
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
    /// Relative to OUTPUT.
    pub file: String,
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
}

impl Report {
    /// 0 when nothing was found, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.findings.is_empty())
    }
}

/// `verify` could not run at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("OUTPUT {0}: not a readable folder")]
    Output(PathBuf),
    #[error("--against {0}: not a readable folder")]
    Against(PathBuf),
}

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

fn is_manifest(rel: &str) -> bool {
    rel == "manifest.jsonl" || (rel.starts_with("manifest-") && rel.ends_with(".jsonl"))
}

fn is_summary(rel: &str) -> bool {
    rel == "summary.json" || (rel.starts_with("summary-") && rel.ends_with(".json"))
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
        ..Report::default()
    };
    let files = files_under(&config.output);
    let summary = read_summary(&config.output);
    compare_with_summary(config, summary.as_ref(), &mut report);

    let matcher = match &config.against {
        Some(input) => {
            if !input.is_dir() {
                return Err(VerifyError::Against(input.clone()));
            }
            let (needles, inputs) = gather(&deidentifier, input, config.max_file_size);
            report.inputs = inputs;
            report.identifying_values = needles.len() as u64;
            report.values_by_kind = needles.counts();
            Some(needles.into_matcher(&written_by_profile(&config.profile)))
        }
        None => None,
    };

    let checker = Checker {
        deidentifier: &deidentifier,
        matcher: matcher.as_ref(),
        max_file_size: config.max_file_size,
    };
    let results: Vec<(bool, Vec<Finding>)> = files
        .par_iter()
        .map(|(rel, path)| checker.check_file(rel, path))
        .collect();
    for (dicom, findings) in results {
        report.files += u64::from(dicom);
        report.findings.extend(findings);
    }
    check_manifests(config, matcher.as_ref(), &files, &mut report);
    // The runs' hash-chained manifests and sealed summaries (needs the run's key).
    let problems = config
        .key
        .iter()
        .flat_map(|k| run::audit::check(&config.output, k));
    report.findings.extend(problems.map(|p| Finding {
        file: p.file(),
        attribute: "record".to_owned(),
        check: Check::Manifest,
        detail: p.to_string(),
    }));
    report.findings.sort();
    report.findings.dedup();
    Ok(report)
}

fn read_summary(output: &Path) -> Option<Summary> {
    let bytes = std::fs::read(output.join("summary.json")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Notes when the profile or key given are not the run's.
fn compare_with_summary(config: &VerifyConfig, summary: Option<&Summary>, report: &mut Report) {
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

/// Gather the identifying values of every input data set, in input order.
fn gather(deidentifier: &Deidentifier, input: &Path, max: u64) -> (Needles, u64) {
    let files = files_under(input);
    let per_file: Vec<Option<Needles>> = files
        .par_iter()
        .map(|(_, path)| {
            let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
            if size > max {
                return None;
            }
            let bytes = std::fs::read(path).ok()?;
            match file::parse(&bytes, max) {
                Ok(Parsed::Dataset { object, .. }) => Some(Needles::gather(deidentifier, &object)),
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
/// an identifying value (a folder written by another tool), when a hash of it stands in.
fn shown_path(matcher: Option<&Matcher>, rel: &str) -> String {
    if matcher.is_some_and(|m| !m.in_text(rel, VR::LO).is_empty()) {
        format!(
            "(path withheld, sha256 {})",
            &hex::encode(Sha256::digest(rel.as_bytes()))[..16]
        )
    } else {
        rel.to_owned()
    }
}

/// The manifest checks (see the module doc).
fn check_manifests(
    config: &VerifyConfig,
    matcher: Option<&Matcher>,
    files: &[(String, PathBuf)],
    report: &mut Report,
) {
    let finding = |file: &str, attribute: &str, detail: &str| Finding {
        file: shown_path(matcher, file),
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
                let now = std::fs::read(path)
                    .map(|b| hex::encode(Sha256::digest(&b)))
                    .unwrap_or_default();
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

/// The per-file checks, shared by the worker threads.
struct Checker<'a> {
    deidentifier: &'a Deidentifier,
    matcher: Option<&'a Matcher>,
    max_file_size: u64,
}

/// Findings of one file, and the state its walk needs.
struct FileCheck<'a> {
    checker: &'a Checker<'a>,
    file: &'a str,
    iod: Iod,
    patient_id: String,
    findings: Vec<Finding>,
}

impl FileCheck<'_> {
    fn push(&mut self, attribute: String, check: Check, detail: impl Into<String>) {
        self.findings.push(Finding {
            file: self.file.to_owned(),
            attribute,
            check,
            detail: detail.into(),
        });
    }

    fn leaks_in_text(&mut self, attribute: &str, value: &str, vr: VR) {
        let Some(matcher) = self.checker.matcher else {
            return;
        };
        for hit in matcher.in_text(value, vr) {
            self.push(attribute.to_owned(), Check::Leak, hit.to_string());
        }
    }
}

impl Checker<'_> {
    /// Check one file of OUTPUT; the flag says whether it was DICOM.
    fn check_file(&self, rel: &str, path: &Path) -> (bool, Vec<Finding>) {
        let path_hits = self
            .matcher
            .map(|m| m.in_text(rel, VR::LO))
            .unwrap_or_default();
        let shown = shown_path(self.matcher, rel);
        let mut check = FileCheck {
            checker: self,
            file: &shown,
            iod: Iod::default(),
            patient_id: String::new(),
            findings: Vec::new(),
        };
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let bytes = if size > self.max_file_size {
            None
        } else {
            std::fs::read(path).ok()
        };
        let Some(bytes) = bytes else {
            check.push(
                "file".to_owned(),
                Check::Unreadable,
                "cannot be read (or larger than --max-file-size)",
            );
            return (false, check.findings);
        };
        for hit in path_hits {
            check.push("output path".to_owned(), Check::Leak, hit.to_string());
        }
        if is_manifest(rel) || is_summary(rel) {
            // Of the run's records only the paths derive from the data (`input` appears with
            // --manifest-paths, and paths often hold names); every other field is the tool's
            // own vocabulary: fixed reasons, hex ids, hashes, counts.
            let text = String::from_utf8_lossy(&bytes);
            for (i, line) in text.lines().enumerate() {
                let Ok(json) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                for key in ["input", "output"] {
                    if let Some(value) = json.get(key).and_then(|v| v.as_str()) {
                        check.leaks_in_text(&format!("record {} > {key}", i + 1), value, VR::LT);
                    }
                }
            }
            return (false, check.findings);
        }
        match file::parse(&bytes, self.max_file_size) {
            Ok(Parsed::Dataset { object, .. }) => {
                self.check_dicom(&mut check, &bytes, &object);
                (true, check.findings)
            }
            Ok(Parsed::Dicomdir) => {
                check.push(
                    "file".to_owned(),
                    Check::Unreadable,
                    "a DICOMDIR (holds identifiers and old paths)",
                );
                self.bytes_leaks(&mut check, &bytes, &[], "not DICOM");
                (false, check.findings)
            }
            Ok(Parsed::NotDicom) => {
                self.bytes_leaks(&mut check, &bytes, &[], "not DICOM");
                (false, check.findings)
            }
            Err(e) => {
                check.push("file".to_owned(), Check::Unreadable, e.to_string());
                self.bytes_leaks(&mut check, &bytes, &[], "unparsed bytes");
                (false, check.findings)
            }
        }
    }

    fn check_dicom(&self, check: &mut FileCheck<'_>, bytes: &[u8], object: &InMemDicomObject) {
        check.iod = Iod::of(object);
        check.patient_id = top_text(object, tags::PATIENT_ID);
        self.check_marks(check, object);
        self.walk(check, object, Place::TOP, "");
        let charsets: Vec<String> = object
            .get(tags::SPECIFIC_CHARACTER_SET)
            .and_then(|e| e.to_multi_str().ok())
            .map(|v| v.iter().map(|s| s.trim().to_owned()).collect())
            .unwrap_or_default();
        let Ok(layout) = scan::scan(bytes) else {
            self.bytes_leaks(check, bytes, &charsets, "unparsed bytes");
            return;
        };
        let meta_start = if layout.has_preamble { 128 } else { 0 };
        let dataset_offset = layout.dataset_offset as usize;
        if layout.transfer_syntax.is_some() {
            self.check_meta(check, &bytes[meta_start..], object);
        } else {
            check.push(
                "file meta".to_owned(),
                Check::FileMeta,
                "missing: the file has no file meta group",
            );
        }
        // The bytes as a search sees them: a deflated data set inflated.
        let mut searchable = bytes[..dataset_offset].to_vec();
        let inflated = layout.encoding == Encoding::DeflatedExplicitLE;
        if inflated {
            match file::inflate(&bytes[dataset_offset..], self.max_file_size) {
                Ok(data) => searchable.extend(data),
                Err(_) => searchable.extend_from_slice(&bytes[dataset_offset..]),
            }
        } else {
            searchable.extend_from_slice(&bytes[dataset_offset..]);
        }
        let explicit_le =
            TransferSyntaxRegistry.get(dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN);
        let ts_uid = match (layout.encoding, layout.transfer_syntax.as_deref()) {
            (Encoding::DeflatedExplicitLE, _) => {
                dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN
            }
            (_, Some(ts)) => ts,
            (Encoding::ImplicitLE, None) => dicom_dictionary_std::uids::IMPLICIT_VR_LITTLE_ENDIAN,
            (Encoding::ExplicitBE, None) => "1.2.840.10008.1.2.2",
            (_, None) => dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN,
        };
        let mut spans = Vec::new();
        let meta_elements = if layout.has_preamble { 132 } else { 0 };
        if let Some(ts) = explicit_le
            && layout.transfer_syntax.is_some()
            && let Some(meta) = layout::spans(
                &searchable[meta_elements..dataset_offset],
                ts,
                meta_elements,
            )
        {
            spans.extend(meta.into_iter().map(|mut s| {
                s.path = format!("file meta > {}", s.path);
                s
            }));
        }
        let data_spans = TransferSyntaxRegistry
            .get(ts_uid)
            .and_then(|ts| layout::spans(&searchable[dataset_offset..], ts, dataset_offset));
        let walked = data_spans.is_some();
        spans.extend(data_spans.unwrap_or_default());
        if !walked {
            check.push(
                "data set".to_owned(),
                Check::Unreadable,
                "its value layout cannot be walked: every byte was searched",
            );
        }
        let regions = [
            (0, meta_start.min(dataset_offset), "preamble"),
            (meta_start, dataset_offset, "file meta"),
        ];
        self.bytes_leaks_mapped(check, &mut searchable, &spans, &regions, &charsets);
    }

    /// PatientIdentityRemoved and the CID 7050 codes of the profile and its options.
    fn check_marks(&self, check: &mut FileCheck<'_>, object: &InMemDicomObject) {
        if top_text(object, tags::PATIENT_IDENTITY_REMOVED) != "YES" {
            check.push("PatientIdentityRemoved".to_owned(), Check::Marks, "not YES");
        }
        let codes: BTreeSet<String> = object
            .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
            .and_then(|e| e.items())
            .map(|items| {
                items
                    .iter()
                    .filter(|i| top_text(i, tags::CODING_SCHEME_DESIGNATOR) == "DCM")
                    .map(|i| top_text(i, tags::CODE_VALUE))
                    .collect()
            })
            .unwrap_or_default();
        for code in self.deidentifier.method_codes() {
            if !codes.contains(code.value.as_str()) {
                check.push(
                    "DeidentificationMethodCodeSequence".to_owned(),
                    Check::Marks,
                    format!("lacks code {} ({})", code.value, code.meaning),
                );
            }
        }
    }

    /// The file meta agrees with the data set and holds no AE titles or private information.
    fn check_meta(&self, check: &mut FileCheck<'_>, meta_bytes: &[u8], object: &InMemDicomObject) {
        let meta = std::panic::catch_unwind(|| FileMetaTable::from_reader(meta_bytes));
        let Ok(Ok(meta)) = meta else {
            check.push("file meta".to_owned(), Check::FileMeta, "cannot be read");
            return;
        };
        let trim = |s: &str| s.trim_end_matches(['\0', ' ']).to_owned();
        let pairs = [
            (
                "MediaStorageSOPClassUID",
                trim(meta.media_storage_sop_class_uid()),
                top_text(object, tags::SOP_CLASS_UID),
            ),
            (
                "MediaStorageSOPInstanceUID",
                trim(meta.media_storage_sop_instance_uid()),
                top_text(object, tags::SOP_INSTANCE_UID),
            ),
        ];
        for (name, in_meta, in_data) in pairs {
            if in_meta != in_data {
                check.push(
                    format!("file meta > {name}"),
                    Check::FileMeta,
                    "differs from the data set",
                );
            }
            if let Some(matcher) = self.matcher
                && matcher.uid(&in_meta).is_some()
            {
                check.push(
                    format!("file meta > {name}"),
                    Check::Leak,
                    "UID of an input".to_owned(),
                );
            }
        }
        let identifying = [
            (
                "SourceApplicationEntityTitle",
                &meta.source_application_entity_title,
            ),
            (
                "SendingApplicationEntityTitle",
                &meta.sending_application_entity_title,
            ),
            (
                "ReceivingApplicationEntityTitle",
                &meta.receiving_application_entity_title,
            ),
            (
                "PrivateInformationCreatorUID",
                &meta.private_information_creator_uid,
            ),
        ];
        for (name, value) in identifying {
            if let Some(v) = value {
                check.push(
                    format!("file meta > {name}"),
                    Check::FileMeta,
                    "present: the rebuilt file meta holds no AE titles or private information",
                );
                check.leaks_in_text(&format!("file meta > {name}"), v, VR::AE);
            }
        }
        if let Some(v) = &meta.implementation_version_name {
            check.leaks_in_text("file meta > ImplementationVersionName", v, VR::SH);
        }
    }

    /// Walk one data set level: the profile's checks and the leak search of each element.
    fn walk(
        &self,
        check: &mut FileCheck<'_>,
        object: &InMemDicomObject,
        place: Place,
        prefix: &str,
    ) {
        let creators = private_creators(object);
        let iod = check.iod.clone();
        for elem in object {
            let tag = elem.tag();
            if tag.1 == 0x0000 {
                continue;
            }
            if place.depth == 0
                && matches!(
                    tag,
                    tags::PATIENT_IDENTITY_REMOVED
                        | tags::DEIDENTIFICATION_METHOD
                        | tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE
                )
            {
                continue;
            }
            let private = tag.0 % 2 == 1;
            if !private && is_code_item(tag) {
                // Code items name concepts, not people (as the engine treats them).
                continue;
            }
            if private && tag.1 < 0x1000 {
                // Creators are checked through their blocks' elements.
                continue;
            }
            let creator = private
                .then(|| creators.get(&(tag.0, (tag.1 >> 8) as u8)).cloned())
                .flatten();
            let name = match &creator {
                // A creator is a vendor's name, unless the file put an identifier there.
                Some(c)
                    if self
                        .matcher
                        .is_some_and(|m| !m.in_text(c, VR::LO).is_empty()) =>
                {
                    format!("({:04X},xx{:02X})@(creator withheld)", tag.0, tag.1 & 0xFF)
                }
                Some(c) => format!("({:04X},xx{:02X})@{c}", tag.0, tag.1 & 0xFF),
                None => keyword(tag),
            };
            let attribute = format!("{prefix}{name}");
            let vr = if elem.vr() == VR::UN && !private {
                dictionary_vr(tag).unwrap_or(VR::UN)
            } else {
                elem.vr()
            };
            let decision = if private {
                match &creator {
                    Some(c) => self
                        .deidentifier
                        .decide_private(tag.0, (tag.1 & 0xFF) as u8, c),
                    None => {
                        check.push(
                            attribute.clone(),
                            Check::Private,
                            "private element without a creator",
                        );
                        continue;
                    }
                }
            } else {
                self.deidentifier.decide_public(tag, vr, &iod, place)
            };
            let generated = self.check_decision(
                check,
                &attribute,
                elem,
                vr,
                &decision.action,
                decision.layer,
                private,
            );
            match elem.value() {
                Value::Sequence(seq) => {
                    let inner = place.inside(tag, &decision.action);
                    for (i, item) in seq.items().iter().enumerate() {
                        let prefix = format!("{attribute}[{}] > ", i + 1);
                        self.walk(check, item, inner, &prefix);
                    }
                }
                Value::Primitive(value) if !generated => {
                    for v in needles::values(value) {
                        if vr == VR::UI {
                            if let Some(hit) = self.matcher.and_then(|m| m.uid(&v)) {
                                check.push(attribute.clone(), Check::Leak, hit.to_string());
                            }
                        } else if vr == VR::PN || is_free_text_vr(vr) {
                            check.leaks_in_text(&attribute, &v, vr);
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The profile's checks of one element; true when its value is one the profile wrote
    /// (a pseudonym, a hash, a replacement, a remapped UID), which is then not searched.
    #[allow(clippy::too_many_arguments)]
    fn check_decision(
        &self,
        check: &mut FileCheck<'_>,
        attribute: &str,
        elem: &InMemElement,
        vr: VR,
        action: &Action,
        layer: &str,
        private: bool,
    ) -> bool {
        let profile = self.deidentifier.profile();
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
                check.push(
                    attribute.to_owned(),
                    Check::Private,
                    format!("present, but the profile does not keep it ({layer})"),
                );
                false
            }
            Action::Remove => {
                check.push(
                    attribute.to_owned(),
                    Check::Removed,
                    format!("present, but the profile removes it ({layer})"),
                );
                false
            }
            Action::Empty if !empty => {
                check.push(
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
                    check.push(
                        attribute.to_owned(),
                        Check::Uid,
                        format!("a UID outside the UID root {}", profile.uid_root),
                    );
                }
                !outside
            }
            Action::Pseudonym => {
                let ok = texts.iter().all(|v| self.is_pseudonym(v));
                if !ok {
                    check.push(
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
                    .all(|v| self.is_patient_name(v, &check.patient_id));
                if !ok {
                    check.push(
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
                    check.push(
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

    /// Search bytes that could not be walked; hits are named by `place`.
    fn bytes_leaks(
        &self,
        check: &mut FileCheck<'_>,
        bytes: &[u8],
        charsets: &[String],
        place: &str,
    ) {
        let Some(matcher) = self.matcher else {
            return;
        };
        for (_, hit) in matcher.in_bytes(bytes, charsets) {
            check.push(place.to_owned(), Check::Leak, hit.to_string());
        }
    }

    /// Search a file's bytes with text values and samples blanked out; hits are named by the
    /// value they fall in, or by the region (`preamble`, `file meta`).
    fn bytes_leaks_mapped(
        &self,
        check: &mut FileCheck<'_>,
        searchable: &mut [u8],
        spans: &[layout::Span],
        regions: &[(usize, usize, &str)],
        charsets: &[String],
    ) {
        let Some(matcher) = self.matcher else {
            return;
        };
        for span in spans.iter().filter(|s| s.class != Class::Binary) {
            let end = span.end.min(searchable.len());
            let start = span.start.min(end);
            searchable[start..end].fill(0);
        }
        for (offset, hit) in matcher.in_bytes(searchable, charsets) {
            let place = spans
                .iter()
                .find(|s| s.class == Class::Binary && (s.start..s.end).contains(&offset))
                .map(|s| s.path.clone())
                .or_else(|| {
                    regions
                        .iter()
                        .find(|(a, b, _)| (*a..*b).contains(&offset))
                        .map(|(_, _, name)| (*name).to_owned())
                })
                .unwrap_or_else(|| "bytes between elements".to_owned());
            check.push(place, Check::Leak, hit.to_string());
        }
    }
}

fn is_base32(b: u8) -> bool {
    b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)
}

fn is_hash(value: &str) -> bool {
    value.len() == 16 && value.bytes().all(is_base32)
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
