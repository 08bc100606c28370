//! One file, start to end: bytes in, a de-identified Part 10 file (or the reason there is
//! none) out. No I/O and no shared state, so the pipeline, tests, benches and fuzz targets all
//! call the same function.

use std::panic::{AssertUnwindSafe, catch_unwind};

use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

use crate::actions::{ActionCounts, Deidentifier, Linkage, top_text as text};
use crate::dicom_file::{self, Parsed};
use crate::pixel::{self, PixelReport, Plan};

/// A de-identified file, ready to be written.
pub struct Output {
    pub bytes: Vec<u8>,
    /// `<PatientID>/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`.
    pub rel_path: String,
    pub transfer_syntax: String,
    pub counts: ActionCounts,
    pub linkage: Linkage,
    /// What pixel masking did, when it ran.
    pub pixel: Option<PixelReport>,
}

/// How one file ended. Reasons are fixed or structural texts: never a value from the file.
pub enum FileOutcome {
    Written(Box<Output>),
    /// Deliberately not written: not DICOM, a DICOMDIR, an empty file.
    Skipped(String),
    /// Could not be read or written.
    Failed(String),
    /// Read, but the profile's policy refuses to write it.
    Quarantined(String),
}

/// Parse, de-identify and encode one file's bytes. `max_inflated` caps a deflated data set.
pub fn process_bytes(deidentifier: &Deidentifier, bytes: &[u8], max_inflated: u64) -> FileOutcome {
    if bytes.is_empty() {
        return FileOutcome::Skipped("empty file".to_owned());
    }
    let (object, transfer_syntax) = match dicom_file::parse(bytes, max_inflated) {
        Ok(Parsed::NotDicom) => return FileOutcome::Skipped("not DICOM".to_owned()),
        Ok(Parsed::Dicomdir) => {
            return FileOutcome::Skipped("DICOMDIR (holds PHI and old paths)".to_owned());
        }
        Ok(Parsed::Dataset {
            object,
            transfer_syntax,
        }) => (object, transfer_syntax),
        Err(e) => return FileOutcome::Failed(e.to_string()),
    };
    let pixel_config = &deidentifier.profile().pixel;
    let plan = pixel::plan(&object, &transfer_syntax, pixel_config);
    if let Plan::Quarantine(reason) = plan {
        return FileOutcome::Quarantined(reason);
    }
    let Ok((object, mut outcome)) =
        catch_unwind(AssertUnwindSafe(|| deidentifier.deidentify(object)))
    else {
        return FileOutcome::Failed("de-identification crashed on this file".to_owned());
    };
    let (object, transfer_syntax, pixel) = match plan {
        Plan::Mask(mask) => {
            match pixel::apply(object, &transfer_syntax, &mask, pixel_config.fill) {
                Ok((object, ts, report)) => (object, ts, Some(report)),
                Err(reason) => return FileOutcome::Quarantined(reason),
            }
        }
        Plan::KeptUnmasked => {
            *outcome.counts.entry("pixel_kept_unmasked").or_default() += 1;
            (object, transfer_syntax, None)
        }
        Plan::Untouched | Plan::Quarantine(_) => (object, transfer_syntax, None),
    };
    match dicom_file::encode(&object, &transfer_syntax) {
        Ok(bytes) => FileOutcome::Written(Box::new(Output {
            bytes,
            rel_path: output_rel_path(&object),
            transfer_syntax,
            counts: outcome.counts,
            linkage: outcome.linkage,
            pixel,
        })),
        Err(e) => FileOutcome::Failed(e.to_string()),
    }
}

/// Restrict an output path component to `[A-Za-z0-9._-]`.
pub(crate) fn sanitize(part: &str, fallback: &str) -> String {
    let s: String = part
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        fallback.to_owned()
    } else {
        s
    }
}

/// The output path, from the de-identified values only.
fn output_rel_path(object: &InMemDicomObject) -> String {
    format!(
        "{}/{}/{}/{}.dcm",
        sanitize(&text(object, tags::PATIENT_ID), "no-patient-id"),
        sanitize(&text(object, tags::STUDY_INSTANCE_UID), "no-study"),
        sanitize(&text(object, tags::SERIES_INSTANCE_UID), "no-series"),
        sanitize(&text(object, tags::SOP_INSTANCE_UID), "no-sop-instance"),
    )
}
