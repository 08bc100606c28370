//! Inputs that once crashed, hung or exhausted memory, replayed through the checks of the fuzz
//! target that found them (`fuzz/fuzz_targets/`). One folder per target under
//! `tests/fuzz-regressions/` (none for a target that never failed); a `NAME.reason` file beside
//! an input pins the exact outcome.

use std::fs;
use std::path::{Path, PathBuf};

use dicom_deid::deid::Deidentifier;
use dicom_deid::deid::one_file::{FileOutcome, process_bytes};
use dicom_deid::deid::uid::UidMapper;
use dicom_deid::dicom::dates;
use dicom_deid::dicom::uid;
use dicom_deid::key::Key;
use dicom_deid::profile::Profile;

/// The inputs of one target, each with its pinned reason if any.
fn inputs(target: &str) -> Vec<(PathBuf, Option<String>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-regressions")
        .join(target);
    // A target without a folder has had no failure to keep.
    let Ok(entries) = fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_none_or(|e| e != "reason"))
        .map(|p| {
            let reason = fs::read_to_string(p.with_extension("reason"))
                .ok()
                .map(|r| r.trim_end().to_owned());
            (p, reason)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn process_bytes_regressions() {
    let engines = ["basic", "ml-dataset"]
        .map(|name| Deidentifier::new(Profile::load(name).unwrap(), Key::from_bytes([7; 32])));
    for (path, reason) in inputs("process_bytes") {
        let bytes = fs::read(&path).unwrap();
        for engine in &engines {
            let (status, got) = match process_bytes(engine, &bytes, 16 << 20) {
                FileOutcome::Written(o) => {
                    assert!(!o.rel_path.contains(".."), "{}", path.display());
                    ("written", String::new())
                }
                FileOutcome::Skipped(r) => ("skipped", r.text),
                FileOutcome::Failed(r) => ("failed", r.text),
                FileOutcome::Quarantined(r) => ("quarantined", r.text),
            };
            if let Some(want) = &reason {
                assert_eq!(&got, want, "{}: {status}", path.display());
            }
        }
    }
}

#[test]
fn profile_yaml_regressions() {
    for (path, reason) in inputs("profile_yaml") {
        let text = fs::read_to_string(&path).unwrap();
        match Profile::from_yaml("fuzz.yaml", &text) {
            Ok(profile) => assert!(reason.is_none() && !profile.effective_table().is_empty()),
            Err(e) => {
                if let Some(want) = &reason {
                    assert_eq!(&e.to_string(), want, "{}", path.display());
                }
            }
        }
    }
}

#[test]
fn values_regressions() {
    let key = Key::from_bytes([9; 32]);
    let mapper = UidMapper::new(key, uid::UUID_ROOT);
    for (path, _) in inputs("values") {
        let data = fs::read(&path).unwrap();
        let (head, rest) = data.split_at(data.len().min(16));
        let mut numbers = [0u8; 16];
        numbers[..head.len()].copy_from_slice(head);
        let days = i64::from_le_bytes(numbers[..8].try_into().unwrap());
        let hash = u64::from_le_bytes(numbers[8..].try_into().unwrap());
        let text = String::from_utf8_lossy(rest);
        let _ = dates::shift_da(&text, days);
        let _ = dates::shift_dt(&text, days);
        let _ = dates::check_tm(&text);
        let _ = dates::cap_age(&text);
        let _ = dates::offset_in_range(hash, days % 100_000, days);
        let _ = mapper.remap(&text);
    }
}
