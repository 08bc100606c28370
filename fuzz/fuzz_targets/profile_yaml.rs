//! Load arbitrary text as a profile: a profile is either compiled or refused with an error,
//! never a panic; a compiled one can always print its effective table.
#![no_main]

use dicom_deid::profile::Profile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(profile) = Profile::from_yaml("fuzz.yaml", text) {
        assert!(!profile.effective_table().is_empty());
    }
});
