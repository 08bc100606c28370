//! UID syntax (PS3.5 9.1): what a valid UID and a usable root look like, and which UIDs the
//! standard itself defines.

use dicom_core::dictionary::UidDictionary as _;
use dicom_dictionary_std::StandardSopClassDictionary;

/// The UUID-derived root of PS3.5 B.2.
pub const UUID_ROOT: &str = "2.25";

/// The longest root we accept: it leaves at least 23 digits (76 bits) for the hash.
pub const MAX_ROOT_LEN: usize = 40;

/// The prefix of UIDs defined by the DICOM standard itself.
const DICOM_ROOT: &str = "1.2.840.10008.";

/// The longest a UI value may be (PS3.5 9.1).
pub const MAX_UID_LEN: usize = 64;

/// True when `uid` is a syntactically valid UID: dot-separated decimal components without
/// leading zeros, at most 64 characters.
pub fn is_valid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= MAX_UID_LEN
        && uid.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c.len() == 1 || !c.starts_with('0'))
        })
}

/// True for UIDs the standard defines, which identify no one and must stay as they are.
pub fn is_well_known(uid: &str) -> bool {
    uid.starts_with(DICOM_ROOT)
}

/// The name the standard gives a SOP class ("Ultrasound Multi-frame Image Storage").
pub fn sop_class_name(uid: &str) -> Option<&'static str> {
    StandardSopClassDictionary
        .by_uid(uid.trim_end_matches(['\0', ' ']))
        .map(|e| e.name)
}

/// Why a configured UID root is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RootError {
    #[error("UID root {0:?} is not a valid UID prefix (digits and dots, no leading zeros)")]
    Invalid(String),
    #[error(
        "UID root {0:?} is longer than {MAX_ROOT_LEN} characters: too little room is left for the hash"
    )]
    TooLong(String),
}

/// Checks that `root` can prefix remapped UIDs.
pub fn check_root(root: &str) -> Result<(), RootError> {
    if !is_valid(root) {
        return Err(RootError::Invalid(root.to_owned()));
    }
    if root.len() > MAX_ROOT_LEN {
        return Err(RootError::TooLong(root.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roots_are_checked() {
        assert!(check_root("2.25").is_ok());
        assert!(check_root("1.2.826.0.1.3680043.10.543").is_ok());
        assert!(check_root("1.02").is_err());
        assert!(check_root("1..2").is_err());
        assert!(check_root(&"1.2".repeat(20)).is_err());
    }
}
