//! The keyed pseudonyms of one run: the patient's ID, the `hash` action's values, and each
//! patient's day offset. Each uses its own [`Purpose`], so no two can coincide.
//!
//! A file without a PatientID (absent or empty) is given the patient its other Patient module
//! attributes name: PatientName, PatientBirthDate and PatientSex together, which tell two
//! people apart and keep one person's studies together; when the file has neither a name nor
//! a birth date, its StudyInstanceUID, which at least keeps one study together. That patient's
//! pseudonym (a keyed hash under its own [`Purpose`], so it never equals a real PatientID's),
//! folder and day offset all follow from the same key.

use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

use crate::deid::Deidentifier;
use crate::dicom::dates;
use crate::dicom::values::top_text;
use crate::key::Purpose;
use crate::profile::{PatientIdMode, ShiftMode};

/// The patient a file belongs to, as the engine writes them.
pub(crate) struct Patient {
    /// The new PatientID, which PatientName's template and the output folder use.
    pub pseudonym: String,
    /// A `lookup` profile had no row for the file's PatientID.
    pub lookup_missing: bool,
    pub day_offset: i64,
    /// The file had no PatientID: the pseudonym is written as a new one.
    pub without_id: bool,
}

impl Deidentifier {
    /// The patient of a data set: by its PatientID, or (without one) by the other attributes
    /// that name the patient, as the module docs say.
    pub(crate) fn patient_of(&self, object: &InMemDicomObject) -> Patient {
        let text = |tag| top_text(object, tag);
        let id = text(tags::PATIENT_ID);
        if !id.is_empty() {
            let (pseudonym, lookup_missing) = self.patient_pseudonym(&id);
            return Patient {
                pseudonym,
                lookup_missing,
                day_offset: self.day_offset(&id),
                without_id: false,
            };
        }
        let (name, birth) = (text(tags::PATIENT_NAME), text(tags::PATIENT_BIRTH_DATE));
        let key = if name.is_empty() && birth.is_empty() {
            text(tags::STUDY_INSTANCE_UID)
        } else {
            // NUL cannot occur in a PatientID or a UID, so this key is no other patient's.
            format!("\0{name}\0{birth}\0{}", text(tags::PATIENT_SEX))
        };
        let pseudonym = match self.profile.patient.id {
            PatientIdMode::Keep | PatientIdMode::Empty => String::new(),
            PatientIdMode::Hash | PatientIdMode::Lookup => {
                self.keyed_id(Purpose::PatientWithoutId, &key)
            }
        };
        Patient {
            without_id: !pseudonym.is_empty(),
            pseudonym,
            lookup_missing: false,
            day_offset: self.day_offset(&key),
        }
    }

    /// The keyed pseudonym of a PatientID; a file without one has [`Deidentifier::patient_of`].
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
        self.keyed_id(Purpose::PatientId, original)
    }

    /// A pseudonymous PatientID: the profile's prefix and base32 of a keyed hash, 16
    /// characters at most.
    fn keyed_id(&self, purpose: Purpose, original: &str) -> String {
        let mac = self.key.mac(purpose, original.as_bytes());
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
