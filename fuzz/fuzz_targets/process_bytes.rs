//! Parse, de-identify and encode arbitrary bytes under the `basic` and the `ml-dataset`
//! profile: every input must end as written, skipped, failed or quarantined, never a panic,
//! an abort or an allocation beyond the input's size.
#![no_main]

use std::sync::OnceLock;

use dicom_deid::deid::Deidentifier;
use dicom_deid::key::Key;
use dicom_deid::deid::one_file::{FileOutcome, process_bytes};
use dicom_deid::profile::Profile;
use libfuzzer_sys::fuzz_target;

/// The cap on an inflated data set: small, so deflate bombs are cut off fast.
const MAX_INFLATED: u64 = 16 << 20;

fn engines() -> &'static [Deidentifier; 2] {
    static ENGINES: OnceLock<[Deidentifier; 2]> = OnceLock::new();
    ENGINES.get_or_init(|| {
        let engine = |name| {
            let profile = Profile::load(name).expect("a built-in profile");
            Deidentifier::new(profile, Key::from_bytes([7; 32]))
        };
        [engine("basic"), engine("ml-dataset")]
    })
}

fuzz_target!(|data: &[u8]| {
    for engine in engines() {
        if let FileOutcome::Written(output) = process_bytes(engine, data, MAX_INFLATED) {
            assert!(!output.rel_path.contains(".."), "output path escapes");
            assert!(output.bytes.len() > 132, "written file without preamble");
        }
    }
});
