//! One file, start to end: bytes in, a de-identified Part 10 file (or the reason there is
//! none) out. No shared state, so the pipeline, tests, benches and fuzz targets all call the
//! same function: [`process_bytes`] for a file in memory, [`process_loaded`] for one that
//! [`file::load_file`] read as far as needed, whose pixel data the caller copies.

use std::io::{self, Write};
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};

use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;
use sha2::{Digest, Sha256};

use crate::deid::{ActionCounts, Deidentifier, Linkage};
use crate::dicom::file::{self, Loaded, Parsed};
use crate::dicom::reason::{Code, Reason};
use crate::dicom::values::top_text as text;
use crate::pixel::{self, FrameMask, PixelReport, Plan};

/// The action count of a file option clean-recognizable-visual-features applied to (113102
/// written): the run's summary lists that method when any file has it.
pub const VISUAL_FEATURES_CLEARED: &str = "visual_features_cleared";

/// A de-identified file, ready to be written.
pub struct Output {
    /// The file; or, with a `passage`, the file but for the bytes it names.
    pub bytes: Vec<u8>,
    /// The encoded pixel data, unchanged: to be copied from the input into `bytes`.
    pub passage: Option<Passage>,
    /// `<PatientID>/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`.
    pub rel_path: String,
    pub transfer_syntax: String,
    pub counts: ActionCounts,
    pub linkage: Linkage,
    /// What pixel masking did, when it ran.
    pub pixel: Option<PixelReport>,
}

/// Input bytes that belong in the output: the top-level pixel data element, as it is or
/// with its native frames masked on the way.
#[derive(Debug, Clone)]
pub struct Passage {
    /// Where they go: an offset into [`Output::bytes`].
    pub at: usize,
    /// Where they are in the input file.
    pub range: Range<u64>,
    /// Where the frames start in the input, and how to mask each.
    pub mask: Option<(u64, FrameMask)>,
}

impl Output {
    /// Write the whole file to `to`, the passage copied from `input` (the file this output
    /// was made from); returns its SHA-256 (hex) and length.
    ///
    /// # Errors
    /// A read error of the input or a write error of `to`.
    pub fn write_to(&self, input: &Loaded<'_>, to: &mut dyn Write) -> io::Result<(String, u64)> {
        let mut to = Hashing {
            inner: to,
            hasher: Sha256::new(),
            len: 0,
        };
        self.write_unhashed(input, &mut to)?;
        Ok((hex::encode(to.hasher.finalize()), to.len))
    }

    fn write_unhashed(&self, input: &Loaded<'_>, to: &mut dyn Write) -> io::Result<()> {
        let Some(passage) = &self.passage else {
            return to.write_all(&self.bytes);
        };
        to.write_all(&self.bytes[..passage.at])?;
        match &passage.mask {
            None => input.copy_range(passage.range.clone(), to)?,
            Some((frames_at, mask)) => input.copy_range_editing(
                passage.range.clone(),
                *frames_at,
                (mask.geometry.frame_len(), mask.geometry.frames),
                to,
                &mut |frame| mask.apply(frame),
            )?,
        }
        to.write_all(&self.bytes[passage.at..])
    }
}

/// A writer that hashes what passes through it.
struct Hashing<'a> {
    inner: &'a mut dyn Write,
    hasher: Sha256,
    len: u64,
}

impl Write for Hashing<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// How one file ended. Reasons are fixed or structural texts: never a value from the file.
pub enum FileOutcome {
    Written(Box<Output>),
    /// Deliberately not written: not DICOM, a DICOMDIR, an empty file.
    Skipped(Reason),
    /// Could not be read or written.
    Failed(Reason),
    /// Read, but the profile's policy refuses to write it.
    Quarantined(Reason),
}

/// Parse, de-identify and encode one file's bytes. `max_inflated` caps a deflated data set.
pub fn process_bytes(deidentifier: &Deidentifier, bytes: &[u8], max_inflated: u64) -> FileOutcome {
    let loaded = file::load_bytes(bytes);
    let mut outcome = process_loaded(deidentifier, &loaded, max_inflated);
    if let FileOutcome::Written(output) = &mut outcome
        && output.passage.is_some()
    {
        let mut whole = Vec::with_capacity(output.bytes.len() + bytes.len());
        if output.write_unhashed(&loaded, &mut whole).is_err() {
            return FileOutcome::Failed(Reason::new(
                Code::Unreadable,
                "cannot read input (UnexpectedEof)",
            ));
        }
        output.bytes = whole;
        output.passage = None;
    }
    outcome
}

/// Parse, de-identify and encode a loaded file. Its pixel data, when no rule changes it, is
/// left out of the output's bytes, for the caller to copy from the input ([`Output::passage`]).
pub fn process_loaded(
    deidentifier: &Deidentifier,
    loaded: &Loaded<'_>,
    max_inflated: u64,
) -> FileOutcome {
    if loaded.is_empty() {
        return FileOutcome::Skipped(Reason::new(Code::EmptyFile, "empty file"));
    }
    let (mut object, mut transfer_syntax) = match parsed(file::parse_loaded(loaded, max_inflated)) {
        Ok(parsed) => parsed,
        Err(outcome) => return outcome,
    };
    let pixel_config = &deidentifier.profile().pixel;
    let mut plan = pixel::plan(&object, &transfer_syntax, pixel_config);
    if let Plan::Quarantine(reason) = plan {
        return FileOutcome::Quarantined(reason);
    }
    let mut splice = loaded.is_split();
    // Native frames are masked as they are copied, when their bytes allow it.
    let stream_mask = match (&plan, loaded.native_pixel_value_at(), loaded.pixel_range()) {
        (Plan::Mask(mask), Some(at), Some(range)) if splice => {
            pixel::streamable(mask, &object, range.end - at).then_some(at)
        }
        _ => None,
    };
    if splice && stream_mask.is_none() && matches!(plan, Plan::Mask(_)) {
        // Masking needs the pixels: read and parse the whole file.
        let whole = match loaded.whole_file() {
            Ok(whole) => whole,
            Err(e) => {
                let text = format!("cannot read input ({})", e.kind());
                return FileOutcome::Failed(Reason::new(Code::Unreadable, text));
            }
        };
        (object, transfer_syntax) = match parsed(file::parse(&whole, max_inflated)) {
            Ok(parsed) => parsed,
            Err(outcome) => return outcome,
        };
        plan = pixel::plan(&object, &transfer_syntax, pixel_config);
        splice = false;
    }
    // Decided on the original header, as the plan is.
    let visual_cleared = pixel_config.clean_visual_features && pixel::visual::cleared(&object);
    let Ok((object, mut outcome)) =
        catch_unwind(AssertUnwindSafe(|| deidentifier.deidentify(object)))
    else {
        let text = "de-identification crashed on this file";
        return FileOutcome::Failed(Reason::new(Code::Crashed, text));
    };
    let mut frame_mask = None;
    let (mut object, transfer_syntax, pixel) = match plan {
        Plan::Mask(mask) if let Some(frames_at) = stream_mask => {
            let mut object = object;
            let (mask, report) = pixel::apply_streamed(&mut object, &mask, pixel_config.fill);
            frame_mask = Some((frames_at, mask));
            (object, transfer_syntax, Some(report))
        }
        Plan::Mask(mask) => {
            match pixel::apply(object, &transfer_syntax, &mask, pixel_config.fill) {
                Ok((object, ts, report)) => (object, ts, Some(report)),
                Err(reason) => return FileOutcome::Quarantined(reason.into()),
            }
        }
        Plan::KeptUnmasked => {
            *outcome.counts.entry("pixel_kept_unmasked").or_default() += 1;
            (object, transfer_syntax, Some(PixelReport::passed()))
        }
        Plan::Untouched | Plan::Quarantine(_) => (object, transfer_syntax, None),
    };
    if visual_cleared {
        *outcome.counts.entry(VISUAL_FEATURES_CLEARED).or_default() += 1;
        pixel::add_method_code(
            &mut object,
            crate::profile::standard::CLEAN_RECOGNIZABLE_VISUAL_FEATURES_CODE,
        );
    }
    let rel_path = output_rel_path(&object);
    match file::encode_spliced(object, &transfer_syntax, splice) {
        Ok((bytes, gap)) => FileOutcome::Written(Box::new(Output {
            bytes,
            passage: gap.zip(loaded.pixel_range()).map(|(at, range)| Passage {
                at,
                range,
                mask: frame_mask,
            }),
            rel_path,
            transfer_syntax,
            counts: outcome.counts,
            linkage: outcome.linkage,
            pixel,
        })),
        Err(e) => FileOutcome::Failed(e.into()),
    }
}

/// The data set of a parse, or how the file ends when there is none.
fn parsed(
    result: Result<Parsed, file::FileError>,
) -> Result<(InMemDicomObject, String), FileOutcome> {
    match result {
        Ok(Parsed::NotDicom) => Err(FileOutcome::Skipped(Reason::new(
            Code::NotDicom,
            "not DICOM",
        ))),
        Ok(Parsed::Dicomdir) => Err(FileOutcome::Skipped(Reason::new(
            Code::Dicomdir,
            "DICOMDIR (holds PHI and old paths)",
        ))),
        Ok(Parsed::Dataset {
            object,
            transfer_syntax,
        }) => Ok((object, transfer_syntax)),
        Err(e) => Err(FileOutcome::Failed(e.into())),
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
