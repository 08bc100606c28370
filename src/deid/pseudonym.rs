//! The keyed pseudonyms of one run: the patient's ID, the `hash` action's values, and each
//! patient's day offset. Each uses its own [`Purpose`], so no two can coincide.

use crate::deid::Deidentifier;
use crate::dicom::dates;
use crate::key::Purpose;
use crate::profile::{PatientIdMode, ShiftMode};

impl Deidentifier {
    /// The keyed pseudonym of a PatientID (empty stays empty).
    pub fn patient_pseudonym(&self, original: &str) -> (String, bool) {
        let original = original.trim();
        let p = &self.profile.patient;
        match p.id {
            PatientIdMode::Keep => (original.to_owned(), false),
            PatientIdMode::Lookup => match p.lookup.get(original) {
                Some(new) => (new.clone(), false),
                None => (self.hashed_id(original), true),
            },
            PatientIdMode::Hash | PatientIdMode::Empty => (self.hashed_id(original), false),
        }
    }

    fn hashed_id(&self, original: &str) -> String {
        let mac = self.key.mac(Purpose::PatientId, original.as_bytes());
        let text = data_encoding::BASE32_NOPAD.encode(&mac[..8]);
        let room = 16usize
            .saturating_sub(self.profile.patient.prefix.len())
            .max(8);
        format!(
            "{}{}",
            self.profile.patient.prefix,
            &text[..room.min(text.len())]
        )
    }

    /// A keyed pseudonym of any value for the `hash` action: 16 base32 characters, which fit
    /// every text VR.
    pub fn hash_value(&self, value: &str) -> String {
        let mac = self.key.mac(Purpose::Hash, value.trim().as_bytes());
        data_encoding::BASE32_NOPAD.encode(&mac[..10])
    }

    /// The shift in days of the patient identified by `patient_key`.
    pub fn day_offset(&self, patient_key: &str) -> i64 {
        let d = &self.profile.dates;
        match d.shift {
            ShiftMode::None => 0,
            ShiftMode::Fixed => d.fixed_days,
            ShiftMode::PerPatient => dates::offset_in_range(
                self.key.mac_u64(Purpose::Day, patient_key.as_bytes()),
                d.range_days.0,
                d.range_days.1,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Key;

    proptest::proptest! {
        #[test]
        fn pseudonyms_are_stable_short_and_distinct(a in "[ -~]{1,64}", b in "[ -~]{1,64}") {
            let deid = Deidentifier::new(
                crate::profile::Profile::load("basic").unwrap(),
                Key::from_bytes([3; 32]),
            );
            let (pa, _) = deid.patient_pseudonym(&a);
            proptest::prop_assert_eq!(&pa, &deid.patient_pseudonym(&a).0);
            proptest::prop_assert!(pa.starts_with("PAT-") && pa.len() == 16);
            proptest::prop_assert!(pa.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
            if a.trim() != b.trim() {
                proptest::prop_assert_ne!(pa, deid.patient_pseudonym(&b).0);
            }
            let h = deid.hash_value(&a);
            proptest::prop_assert_eq!(h.len(), 16);
            proptest::prop_assert_eq!(&h, &deid.hash_value(&a));
        }
    }
}
