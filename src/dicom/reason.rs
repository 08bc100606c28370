//! Why a file was not written: a stable [`Code`] that schedulers count and match, beside the
//! text people read. Codes are part of the manifest's format (README, "Reason codes"): a code
//! is never renamed or given another meaning; new ones may be added. The texts may change
//! between versions and may carry structural detail (a byte offset), never a value from a file.
//!
//! The codes live here, in the lowest layer that makes reasons (a file that does not parse is
//! `malformed` whichever layer notices), so every layer above names the same ones.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::dicom::file::FileError;

/// A stable reason code, written in snake_case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// A 0-byte file (often a truncated export).
    EmptyFile,
    /// Not a DICOM file (no preamble and no data set it could be).
    NotDicom,
    /// A DICOMDIR: holds PHI and the old paths.
    Dicomdir,
    /// A symbolic link, not followed.
    Symlink,
    /// Not a regular file (a FIFO, a device), or no longer one.
    NotRegularFile,
    /// The walk could not read a folder or file, or met a symbolic-link loop.
    WalkError,
    /// Larger than the size limit.
    TooLarge,
    /// The input could not be opened or read.
    Unreadable,
    /// The bytes are not a well-formed data set.
    Malformed,
    /// The transfer syntax is not supported.
    UnsupportedTransferSyntax,
    /// SOP Class, SOP Instance, Study or Series Instance UID missing or invalid.
    MissingUid,
    /// The de-identified data set could not be encoded.
    CannotEncode,
    /// Burned-in text is likely and no pixel rule matches (policy: quarantine).
    BurnedInNoRule,
    /// The header says BurnedInAnnotation YES but no rule masked and the detector found no
    /// text (policy: quarantine).
    BurnedInClaimedNotFound,
    /// A photograph, surface scan or rendering of the patient that the tool cannot make
    /// unrecognisable (option clean-recognizable-visual-features).
    RecognizableFeatures,
    /// Pixel data must be masked but cannot be decoded by this build.
    CannotDecode,
    /// Pixel data must be masked but its geometry does not allow it.
    CannotMask,
    /// The output could not be written.
    CannotWrite,
    /// This run already wrote the same bytes under the same name (another input).
    Duplicate,
    /// An earlier run of the dataset wrote the same bytes under the same name (`--add`).
    AlreadyPresent,
    /// A crash inside the tool on this file (a bug).
    Crashed,
}

impl Code {
    /// The code as the manifest writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::EmptyFile => "empty_file",
            Code::NotDicom => "not_dicom",
            Code::Dicomdir => "dicomdir",
            Code::Symlink => "symlink",
            Code::NotRegularFile => "not_regular_file",
            Code::WalkError => "walk_error",
            Code::TooLarge => "too_large",
            Code::Unreadable => "unreadable",
            Code::Malformed => "malformed",
            Code::UnsupportedTransferSyntax => "unsupported_transfer_syntax",
            Code::MissingUid => "missing_uid",
            Code::CannotEncode => "cannot_encode",
            Code::BurnedInNoRule => "burned_in_no_rule",
            Code::BurnedInClaimedNotFound => "burned_in_claimed_not_found",
            Code::RecognizableFeatures => "recognizable_features",
            Code::CannotDecode => "cannot_decode",
            Code::CannotMask => "cannot_mask",
            Code::CannotWrite => "cannot_write",
            Code::Duplicate => "duplicate",
            Code::AlreadyPresent => "already_present",
            Code::Crashed => "crashed",
        }
    }

    /// Whether a file skipped with this code may be a sign of a broken export: an empty file,
    /// or one that is not DICOM.
    pub fn suggests_truncated_export(self) -> bool {
        matches!(self, Code::EmptyFile | Code::NotDicom)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A reason: its code and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason {
    pub code: Code,
    pub text: String,
}

impl Reason {
    pub fn new(code: Code, text: impl Into<String>) -> Self {
        Reason {
            code,
            text: text.into(),
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::ops::Deref for Reason {
    type Target = str;

    fn deref(&self) -> &str {
        &self.text
    }
}

impl FileError {
    /// The reason code of a file that failed with this error.
    pub fn code(&self) -> Code {
        match self {
            FileError::Structure(_)
            | FileError::Inflate(_)
            | FileError::Parse(_)
            | FileError::UndefinedLengthUn => Code::Malformed,
            FileError::UnsupportedTransferSyntax(_) => Code::UnsupportedTransferSyntax,
            FileError::Panic => Code::Crashed,
            FileError::MissingUid(_) => Code::MissingUid,
            FileError::Encode(_) => Code::CannotEncode,
        }
    }
}

impl From<FileError> for Reason {
    fn from(e: FileError) -> Reason {
        Reason::new(e.code(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_names() {
        for code in [Code::EmptyFile, Code::BurnedInNoRule, Code::AlreadyPresent] {
            assert_eq!(
                serde_json::to_string(&code).unwrap(),
                format!("\"{}\"", code.as_str())
            );
        }
    }
}
