//! `inspect`: one file's elements at every depth with the action the profile takes on each,
//! the layer that chose it, and the value before and after. This is the one view of original
//! values; the CLI shows it only on a terminal unless forced.

use crate::deid::{Deidentifier, TraceRow};
use crate::dicom::file::{self, FileError, Parsed};

/// Why a file cannot be traced. Fixed texts that name no value.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("not a DICOM file")]
    NotDicom,
    #[error("a DICOMDIR: `run` skips these (they hold identifiers and old paths)")]
    Dicomdir,
}

/// One file, traced.
pub struct Inspection {
    pub transfer_syntax: String,
    pub rows: Vec<TraceRow>,
}

/// Parse and trace one file's bytes. Errors are fixed texts that name no value.
pub fn inspect(
    deidentifier: &Deidentifier,
    bytes: &[u8],
    max_inflated: u64,
) -> Result<Inspection, InspectError> {
    match file::parse(bytes, max_inflated)? {
        Parsed::Dataset {
            object,
            transfer_syntax,
        } => {
            let (_, _, rows) = deidentifier.deidentify_traced(object);
            Ok(Inspection {
                transfer_syntax,
                rows,
            })
        }
        Parsed::NotDicom => Err(InspectError::NotDicom),
        Parsed::Dicomdir => Err(InspectError::Dicomdir),
    }
}
