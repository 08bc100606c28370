//! Reading a DICOM file from bytes and writing a de-identified one, with every fault turned
//! into a [`FileError`] that names no value.
//!
//! Bytes are validated by [`crate::dicom::scan`] before dicom-rs sees them, because dicom-rs trusts
//! declared lengths (a hostile 5 KB file can make it allocate gigabytes, which aborts the
//! process). Deflated data sets are inflated here under a size cap, then scanned like the rest.
//! Panics inside dicom-rs are caught and reported as a failure of that one file.
//!
//! Pixel data that no rule changes never goes through the parser: [`load_file`] reads a file up to
//! its top-level Pixel Data element and the bytes after it, the data set is parsed without it
//! (a stand-in element takes its place, so the profile and the pixel plan see it), and
//! [`encode_spliced`] leaves a gap where the encoded pixel data is copied back verbatim from
//! the input ([`Loaded::copy_range`]). Memory per file is then bounded by the header,
//! not by the frames, and the bytes are those the parser would have written (the element is
//! only left out when they are: see [`crate::dicom::scan::PixelElement::verbatim`]).

mod encode;
mod load;
mod parse;

pub use encode::{IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, encode, encode_spliced};
pub use load::{Loaded, load_bytes, load_file, parse_loaded};
pub use parse::{inflate, parse};

use dicom_object::mem::InMemDicomObject;

use crate::dicom::scan::ScanError;

/// Explicit VR Big Endian: retired from the standard, still found in archives.
const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";

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
pub(super) fn error_kind<E: std::fmt::Debug>(e: &E) -> String {
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
