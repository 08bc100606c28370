//! The value functions on arbitrary text and day counts: date/time shifting, age capping,
//! offset picking, UID validation and remapping. None may panic; results keep their promises.
#![no_main]

use std::sync::OnceLock;

use dicom_deid::dicom::dates;
use dicom_deid::key::Key;
use dicom_deid::deid::uid::UidMapper;
use dicom_deid::dicom::uid;
use libfuzzer_sys::fuzz_target;

fn mappers() -> &'static [UidMapper; 2] {
    static MAPPERS: OnceLock<[UidMapper; 2]> = OnceLock::new();
    MAPPERS.get_or_init(|| {
        let key = Key::from_bytes([9; 32]);
        [
            UidMapper::new(key.clone(), uid::UUID_ROOT),
            UidMapper::new(key, "1.2.826.0.1.3680043.10.999.12345678901"),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let (head, rest) = data.split_at(data.len().min(16));
    let mut numbers = [0u8; 16];
    numbers[..head.len()].copy_from_slice(head);
    let days = i64::from_le_bytes(numbers[..8].try_into().unwrap());
    let hash = u64::from_le_bytes(numbers[8..].try_into().unwrap());
    let text = String::from_utf8_lossy(rest);

    for days in [days, days % 100_000] {
        if let Ok(shifted) = dates::shift_da(&text, days) {
            assert!(shifted.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b'\\'));
        }
        let _ = dates::shift_dt(&text, days);
    }
    let _ = dates::check_tm(&text);
    if let Ok(age) = dates::cap_age(&text) {
        assert!(age.len() <= 5);
    }
    let (lo, hi) = (days % 100_000, days);
    let picked = dates::offset_in_range(hash, lo, hi);
    assert!(hi <= lo || (lo..=hi).contains(&picked));

    let valid = uid::is_valid(&text);
    let _ = uid::check_root(&text);
    for mapper in mappers() {
        let new = mapper.remap(&text);
        let original = text.trim_end_matches(['\0', ' ']).trim_start();
        if valid && !uid::is_well_known(original) {
            assert!(uid::is_valid(&new), "a valid UID remapped to an invalid one");
        }
    }
});
