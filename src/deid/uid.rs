//! Keyed, consistent UID remapping.
//!
//! `new = root + "." + decimal(first 128 bits of HMAC-SHA256(key, "uid" ‖ original))`. Under the
//! default root `2.25` the 128 bits carry the UUID version 8 / variant 10 bits (PS3.5 B.2, RFC
//! 9562 "custom" UUIDs). Under an organisation's longer root the number is reduced modulo a power
//! of ten so that the UID stays within 64 characters. The same original UID gives the same new
//! UID in every file, run and shard; well-known UIDs (`1.2.840.10008.*`: transfer syntaxes, SOP
//! classes, coding schemes) are never remapped.

use crate::dicom::uid::{MAX_UID_LEN, UUID_ROOT, is_well_known};
use crate::key::{Key, Purpose};

/// Remaps UIDs under one root with one key.
#[derive(Debug, Clone)]
pub struct UidMapper {
    key: Key,
    root: String,
}

impl UidMapper {
    /// `root` must already be validated with [`crate::dicom::uid::check_root`].
    pub fn new(key: Key, root: &str) -> Self {
        UidMapper {
            key,
            root: root.to_owned(),
        }
    }

    /// The new UID for `original` (trailing padding ignored); well-known UIDs and empty values
    /// come back unchanged.
    pub fn remap(&self, original: &str) -> String {
        let original = original.trim_end_matches(['\0', ' ']).trim_start();
        if original.is_empty() || is_well_known(original) {
            return original.to_owned();
        }
        let mac = self.key.mac(Purpose::Uid, original.as_bytes());
        let mut bits = u128::from_be_bytes(mac[..16].try_into().expect("16 bytes"));
        if self.root == UUID_ROOT {
            bits = (bits & !(0xF << 76)) | (0x8 << 76);
            bits = (bits & !(0x3 << 62)) | (0x2 << 62);
        }
        let room = MAX_UID_LEN - self.root.len() - 1;
        if room < 39 {
            bits %= 10u128.pow(room as u32);
        }
        format!("{}.{bits}", self.root)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicom::uid::is_valid;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn mapper(root: &str) -> UidMapper {
        UidMapper::new(Key::from_bytes([42; 32]), root)
    }

    #[test]
    fn well_known_and_empty_pass_through() {
        let m = mapper(UUID_ROOT);
        assert_eq!(m.remap("1.2.840.10008.1.2.1"), "1.2.840.10008.1.2.1");
        assert_eq!(m.remap(""), "");
        assert_eq!(m.remap("1.2.3.4\0"), m.remap("1.2.3.4"));
    }

    #[test]
    fn uuid_root_sets_version_and_variant() {
        let uid = mapper(UUID_ROOT).remap("1.2.3.4.5");
        let n: u128 = uid.strip_prefix("2.25.").unwrap().parse().unwrap();
        assert_eq!((n >> 76) & 0xF, 8);
        assert_eq!((n >> 62) & 0x3, 2);
    }

    #[test]
    fn other_key_other_uid() {
        let a = mapper(UUID_ROOT).remap("1.2.3");
        let b = UidMapper::new(Key::from_bytes([43; 32]), UUID_ROOT).remap("1.2.3");
        assert_ne!(a, b);
    }

    #[test]
    fn injective_on_a_large_sample() {
        let m = mapper(UUID_ROOT);
        let out: HashSet<String> = (0..100_000)
            .map(|i| m.remap(&format!("1.2.3.{i}")))
            .collect();
        assert_eq!(out.len(), 100_000);
    }

    proptest! {
        #[test]
        fn always_valid_and_deterministic(original in "[0-9.]{1,64}", root_len in 0usize..5) {
            let roots = ["2.25", "1.2.3", "1.2.826.0.1.3680043.10.543", "1.2.840.113619.2.55.3.1234567", "9.8.7.6.5.4.3.2.1.11.12.13.14.15.16.1718"];
            let m = mapper(roots[root_len]);
            let a = m.remap(&original);
            prop_assert_eq!(&a, &m.remap(&original));
            if !is_well_known(original.trim()) && !original.trim().is_empty() {
                prop_assert!(is_valid(&a), "{}", a);
                prop_assert!(a.len() <= MAX_UID_LEN);
            }
        }
    }
}
