//! Reading a DICOM file from bytes and writing a de-identified one, with every fault turned
//! into a [`FileError`] that names no value.
//!
//! Bytes are validated by [`crate::scan`] before dicom-rs sees them, because dicom-rs trusts
//! declared lengths (a hostile 5 KB file can make it allocate gigabytes, which aborts the
//! process). Deflated data sets are inflated here under a size cap, then scanned like the rest.
//! Panics inside dicom-rs are caught and reported as a failure of that one file.

use std::io::{Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::mem::InMemDicomObject;
use dicom_object::meta::{FileMetaTable, FileMetaTableBuilder};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::scan::{self, Encoding, ScanError};
use crate::uid;

/// Explicit VR Big Endian: retired from the standard, still found in archives.
const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";

/// This tool's Implementation Class UID (a fixed UUID-derived UID).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.194609115299206594393816769362030208796";

/// This tool's Implementation Version Name (at most 16 characters).
pub const IMPLEMENTATION_VERSION_NAME: &str = concat!("DICOMDEID_", env!("CARGO_PKG_VERSION"));

/// Why a file could not be read or written. The texts are fixed or structural (offsets, tag
/// numbers, kinds of error): never a value from the file.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FileError {
    #[error("malformed DICOM: {0}")]
    Structure(ScanError),
    #[error("transfer syntax {0} is not supported")]
    UnsupportedTransferSyntax(String),
    #[error("deflated data set is corrupt or inflates beyond {0} bytes")]
    Inflate(u64),
    #[error("data set cannot be parsed ({0})")]
    Parse(String),
    #[error("UN element of undefined length (CP-246) is not supported")]
    UndefinedLengthUn,
    #[error("the parser crashed on this file")]
    Panic,
    #[error("{0} is missing or not a valid UID after de-identification")]
    MissingUid(&'static str),
    #[error("cannot encode the de-identified data set ({0})")]
    Encode(String),
}

/// What a file turned out to be.
pub enum Parsed {
    /// Not DICOM at all: skipped.
    NotDicom,
    /// A DICOMDIR: skipped, since it holds PHI and would point at the old paths.
    Dicomdir,
    /// A data set, with the transfer syntax to write it back in.
    Dataset {
        object: InMemDicomObject,
        transfer_syntax: String,
    },
}

/// The variant name of a dicom-rs error: enough to tell faults apart, and free of values.
/// Formatting stops at the end of the name: the rest of the Debug text can hold a captured
/// backtrace (with `RUST_BACKTRACE` set), and symbolising one costs ~100 MB and a tenth of a
/// second per failed file.
fn error_kind<E: std::fmt::Debug>(e: &E) -> String {
    use std::fmt::Write as _;

    /// Keeps the first identifier written to it, then refuses further text.
    struct FirstName(String);

    impl std::fmt::Write for FirstName {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            for c in s.chars() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    self.0.push(c);
                } else if !self.0.is_empty() {
                    return Err(std::fmt::Error);
                }
            }
            Ok(())
        }
    }

    let mut name = FirstName(String::new());
    let _ = write!(name, "{e:?}");
    if name.0.is_empty() {
        "unknown".to_owned()
    } else {
        name.0
    }
}

/// Classify and parse one file's bytes. `max_inflated` caps a deflated data set.
pub fn parse(bytes: &[u8], max_inflated: u64) -> Result<Parsed, FileError> {
    if !scan::looks_like_dicom(bytes) {
        return Ok(Parsed::NotDicom);
    }
    let layout = match scan::scan(bytes) {
        Ok(layout) => layout,
        Err(ScanError::NotDicom) => return Ok(Parsed::NotDicom),
        Err(e) => return Err(FileError::Structure(e)),
    };
    if layout.is_dicomdir {
        return Ok(Parsed::Dicomdir);
    }
    if layout.undefined_length_un {
        return Err(FileError::UndefinedLengthUn);
    }
    let ts_uid = match (&layout.transfer_syntax, layout.encoding) {
        (Some(ts), _) => ts.clone(),
        (None, Encoding::ImplicitLE) => uids::IMPLICIT_VR_LITTLE_ENDIAN.to_owned(),
        (None, Encoding::ExplicitBE) => EXPLICIT_VR_BIG_ENDIAN.to_owned(),
        (None, _) => uids::EXPLICIT_VR_LITTLE_ENDIAN.to_owned(),
    };
    let data = &bytes[layout.dataset_offset as usize..];
    let inflated;
    let (data, read_ts) = if layout.encoding == Encoding::DeflatedExplicitLE {
        inflated = inflate(data, max_inflated)?;
        let inner =
            scan::scan_dataset(&inflated, Encoding::ExplicitLE).map_err(FileError::Structure)?;
        if inner.undefined_length_un {
            return Err(FileError::UndefinedLengthUn);
        }
        (&inflated[..], uids::EXPLICIT_VR_LITTLE_ENDIAN)
    } else {
        (data, ts_uid.as_str())
    };
    let ts = TransferSyntaxRegistry
        .get(read_ts)
        .ok_or_else(|| FileError::UnsupportedTransferSyntax(ts_uid.clone()))?;
    let mut object = catch_unwind(AssertUnwindSafe(|| {
        InMemDicomObject::read_dataset_with_ts(data, ts)
    }))
    .map_err(|_| FileError::Panic)?
    .map_err(|e| FileError::Parse(error_kind(&e)))?;
    if layout.transfer_syntax.is_some() {
        let meta_start = if layout.has_preamble { 128 } else { 0 };
        fill_sop_from_meta(&mut object, &bytes[meta_start..]);
    }
    Ok(Parsed::Dataset {
        object,
        transfer_syntax: ts_uid,
    })
}

/// A data set without SOPClassUID or SOPInstanceUID takes them from the file meta, where
/// some writers leave them only; the profile then remaps the instance UID like any other.
fn fill_sop_from_meta(object: &mut InMemDicomObject, meta_bytes: &[u8]) {
    if object.get(tags::SOP_CLASS_UID).is_some() && object.get(tags::SOP_INSTANCE_UID).is_some() {
        return;
    }
    let Ok(meta) = catch_unwind(AssertUnwindSafe(|| FileMetaTable::from_reader(meta_bytes))) else {
        return;
    };
    let Ok(meta) = meta else {
        return;
    };
    for (tag, value) in [
        (tags::SOP_CLASS_UID, meta.media_storage_sop_class_uid()),
        (
            tags::SOP_INSTANCE_UID,
            meta.media_storage_sop_instance_uid(),
        ),
    ] {
        if object.get(tag).is_none() && uid::is_valid(value) {
            object.put(DataElement::new(tag, VR::UI, PrimitiveValue::from(value)));
        }
    }
}

/// Inflate a deflated data set, refusing to grow past `max` bytes (deflate bombs). The buffer
/// grows by doubling but never beyond `max + 1` bytes of capacity (`read_to_end` would double
/// past the cap, so a bomb would hold twice the cap), and a failed allocation is this file's
/// error, not an abort of the run.
pub(crate) fn inflate(data: &[u8], max: u64) -> Result<Vec<u8>, FileError> {
    let cap = usize::try_from(max.saturating_add(1)).unwrap_or(usize::MAX);
    let mut decoder = flate2::read::DeflateDecoder::new(data);
    let mut out = Vec::new();
    let mut filled = 0;
    loop {
        if filled == out.len() {
            if filled >= cap {
                return Err(FileError::Inflate(max));
            }
            let grown = filled.saturating_mul(2).clamp(64 << 10, cap);
            out.try_reserve_exact(grown - filled)
                .map_err(|_| FileError::Inflate(max))?;
            out.resize(grown, 0);
        }
        match decoder.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err(FileError::Inflate(max)),
        }
    }
    out.truncate(filled);
    Ok(out)
}

fn required_uid(
    object: &InMemDicomObject,
    tag: Tag,
    name: &'static str,
) -> Result<String, FileError> {
    let value = object
        .get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
        .unwrap_or_default();
    if uid::is_valid(&value) {
        Ok(value)
    } else {
        Err(FileError::MissingUid(name))
    }
}

/// Encode a de-identified data set as a Part 10 file: preamble, a file meta group rebuilt
/// from the data set (no source/sending AE titles, no private information; this tool's
/// implementation UID), and the data set in `transfer_syntax`.
pub fn encode(object: &InMemDicomObject, transfer_syntax: &str) -> Result<Vec<u8>, FileError> {
    let sop_class = required_uid(object, tags::SOP_CLASS_UID, "SOPClassUID")?;
    let sop_instance = required_uid(object, tags::SOP_INSTANCE_UID, "SOPInstanceUID")?;
    let ts = TransferSyntaxRegistry
        .get(transfer_syntax)
        .ok_or_else(|| FileError::UnsupportedTransferSyntax(transfer_syntax.to_owned()))?;
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(sop_instance)
        .transfer_syntax(transfer_syntax)
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME)
        .build()
        .map_err(|e| FileError::Encode(error_kind(&e)))?;
    let mut out = Vec::with_capacity(4096);
    out.write_all(&[0u8; 128]).expect("writing to memory");
    out.write_all(b"DICM").expect("writing to memory");
    meta.write(&mut out)
        .map_err(|e| FileError::Encode(error_kind(&e)))?;
    catch_unwind(AssertUnwindSafe(|| {
        object
            .write_dataset_with_ts(&mut out, ts)
            .map_err(|e| FileError::Encode(error_kind(&e)))
    }))
    .map_err(|_| FileError::Panic)??;
    Ok(out)
}
