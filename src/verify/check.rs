//! The checks of one file of OUTPUT: readable DICOM, the marks, the file meta, every element
//! against the profile ([`crate::verify::decisions`]) and, with `--against`, the inputs'
//! identifying values searched in its text values and its bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use dicom_core::VR;
use dicom_dictionary_std::tags;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::mem::InMemDicomObject;
use dicom_object::meta::FileMetaTable;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use sha2::{Digest, Sha256};

use crate::deid::Deidentifier;
use crate::dicom::file::{self, Parsed};
use crate::dicom::scan::{self, Encoding};
use crate::dicom::values::top_text;
use crate::verify::layout::{self, Class};
use crate::verify::manifest::{is_manifest, is_summary};
use crate::verify::needles::{Hit, Matcher, Scope};
use crate::verify::{Check, Finding, in_path, shown_path};

/// What checking one file gave.
pub(super) struct Checked {
    /// The file was DICOM.
    pub(super) dicom: bool,
    pub(super) findings: Vec<Finding>,
    /// The SHA-256 of the bytes read (none when the file could not be read), for the manifest
    /// check: each file is read once.
    pub(super) sha256: Option<String>,
}

/// The per-file checks, shared by the worker threads.
pub(super) struct Checker<'a> {
    pub(super) deidentifier: &'a Deidentifier,
    pub(super) matcher: Option<&'a Matcher>,
    /// Output path → keyed id of the manifest record that wrote it.
    records: &'a BTreeMap<String, String>,
    max_file_size: u64,
}

/// Findings of one file, and the state its walk needs.
pub(super) struct FileCheck<'a> {
    pub(super) checker: &'a Checker<'a>,
    file: &'a str,
    record: Option<&'a String>,
    /// The file's PatientID, which its PatientName's template holds.
    pub(super) patient_id: String,
    /// The inputs the file is linked to, whose values are its own.
    scope: Scope,
    findings: Vec<Finding>,
}

impl FileCheck<'_> {
    pub(super) fn push(&mut self, attribute: String, check: Check, detail: impl Into<String>) {
        self.findings.push(Finding {
            file: self.file.to_owned(),
            record: self.record.cloned(),
            attribute,
            check,
            detail: detail.into(),
        });
    }

    pub(super) fn leaks_in_text(&mut self, attribute: &str, value: &str, vr: VR) {
        let Some(matcher) = self.checker.matcher else {
            return;
        };
        for hit in matcher.in_text(value, vr) {
            self.push_hit(attribute.to_owned(), hit, vr);
        }
    }

    /// A needle found in a value of `vr`: a leak, for review, or (another patient's value
    /// that identifies no one by itself) nothing.
    pub(super) fn push_hit(&mut self, attribute: String, hit: Hit, vr: VR) {
        let Some(review) = self
            .checker
            .matcher
            .and_then(|m| m.judge(&hit, vr, &self.scope))
        else {
            return;
        };
        let check = if review { Check::Review } else { Check::Leak };
        self.push(attribute, check, hit.to_string());
    }

    /// Link the file to its inputs: by its manifest record and, for a data set, its
    /// PatientID and StudyInstanceUID.
    fn link(&mut self, object: Option<&InMemDicomObject>) {
        let Some(matcher) = self.checker.matcher else {
            return;
        };
        let study = object
            .map(|o| top_text(o, tags::STUDY_INSTANCE_UID))
            .unwrap_or_default();
        self.scope = matcher.scope(self.record.map(String::as_str), &self.patient_id, &study);
    }
}

impl<'a> Checker<'a> {
    pub(super) fn new(
        deidentifier: &'a Deidentifier,
        matcher: Option<&'a Matcher>,
        records: &'a BTreeMap<String, String>,
        max_file_size: u64,
    ) -> Self {
        Checker {
            deidentifier,
            matcher,
            records,
            max_file_size,
        }
    }

    /// Check one file of OUTPUT, and hash the bytes read.
    pub(super) fn check_file(&self, rel: &str, path: &Path) -> Checked {
        let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        let bytes = if size > self.max_file_size {
            None
        } else {
            std::fs::read(path).ok()
        };
        let sha256 = bytes.as_ref().map(|b| hex::encode(Sha256::digest(b)));
        let (dicom, findings) = self.check_bytes(rel, bytes);
        Checked {
            dicom,
            findings,
            sha256,
        }
    }

    /// The checks of one file's bytes (`None`: unreadable); the flag says whether it was DICOM.
    fn check_bytes(&self, rel: &str, bytes: Option<Vec<u8>>) -> (bool, Vec<Finding>) {
        let path_hits = self.matcher.map(|m| in_path(m, rel)).unwrap_or_default();
        let shown = shown_path(self.matcher, self.records, rel);
        let mut check = FileCheck {
            checker: self,
            file: &shown,
            record: self.records.get(rel),
            patient_id: String::new(),
            scope: Scope::Linked(Vec::new()),
            findings: Vec::new(),
        };
        let Some(bytes) = bytes else {
            check.push(
                "file".to_owned(),
                Check::Unreadable,
                "cannot be read (or larger than --max-file-size)",
            );
            return (false, check.findings);
        };
        let parsed = if is_manifest(rel) || is_summary(rel) {
            None
        } else {
            Some(file::parse(&bytes, self.max_file_size))
        };
        let object = match &parsed {
            Some(Ok(Parsed::Dataset { object, .. })) => Some(object),
            _ => None,
        };
        if let Some(object) = object {
            check.patient_id = top_text(object, tags::PATIENT_ID);
        }
        check.link(object);
        for hit in path_hits {
            check.push_hit("output path".to_owned(), hit, VR::LO);
        }
        let Some(parsed) = parsed else {
            // Of the run's records only the paths derive from the data (`input` appears with
            // --manifest-paths, and paths often hold names); every other field is the tool's
            // own vocabulary: fixed reasons, hex ids, hashes, counts.
            let text = String::from_utf8_lossy(&bytes);
            for (i, line) in text.lines().enumerate() {
                let Ok(json) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                for key in ["input", "output"] {
                    // An output path is linked to its input by the record's id. An input
                    // path (only for review) is searched for every input's values: its input
                    // may have given none (a file that failed or was skipped).
                    if let Some(matcher) = self.matcher {
                        let id = json.get("id").and_then(|v| v.as_str());
                        check.scope = match key {
                            "input" => Scope::Unlinked,
                            _ => matcher.scope(id, "", ""),
                        };
                    }
                    let value = json.get(key).and_then(|v| v.as_str());
                    // Searched as paths (`DOE_JOHN_12345/` holds the whole name).
                    let hits = value.zip(self.matcher).map(|(v, m)| in_path(m, v));
                    for hit in hits.unwrap_or_default() {
                        check.push_hit(format!("record {} > {key}", i + 1), hit, VR::LT);
                    }
                }
                // Input paths are there because the user asked (--manifest-paths), so
                // what they hold is for review; an output path must hold nothing.
                let input = format!("record {} > input", i + 1);
                for f in check.findings.iter_mut().filter(|f| f.attribute == input) {
                    f.check = Check::Review;
                }
            }
            return (false, check.findings);
        };
        match parsed {
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
        self.check_marks(check, object);
        self.deidentifier.walk(object, String::new(), check);
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
            if let Some(hit) = self.matcher.and_then(|m| m.uid(&in_meta)) {
                check.push_hit(format!("file meta > {name}"), hit, VR::UI);
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
            check.push_hit(place.to_owned(), hit, VR::OB);
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
            check.push_hit(place, hit, VR::OB);
        }
    }
}
