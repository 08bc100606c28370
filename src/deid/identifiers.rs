//! The attributes that identify someone, in one table for both of their readers: the cleaner
//! (which masks a file's identifying values wherever its free text repeats them, see
//! [`crate::deid::clean`]) and `verify --against` (which searches outputs for the identifying
//! values of the inputs, and names each hit by its [`Kind`]).
//!
//! Each row says what each reader takes from the attribute; `None` where it takes nothing.
//! Person names are the cleaner's by VR (every PN element, at every depth, private ones too),
//! so its column is empty for the rows of names: the table gives them their kinds for `verify`.
//! Where the columns disagree otherwise, the empty cell is the reader's gap: the cleaner does
//! not take the referring physician's address and telephone numbers nor a person's telephone
//! numbers, and `verify` does not search for the region or country of residence, the military
//! rank or the branch of service (which it treats as any free text).

use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

use crate::deid::clean::Identifiers;

/// What kind of identifying value a value is: reported instead of the value itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    PatientName,
    PhysicianName,
    OperatorName,
    /// A name in any other PN attribute.
    PersonName,
    PatientId,
    AccessionNumber,
    Identifier,
    Device,
    BirthDate,
    Address,
    PhoneNumber,
    Institution,
    /// Any UID outside `1.2.840.10008.`.
    Uid,
    /// An e-mail address, telephone number or long number in free text.
    FreeTextIdentifier,
}

impl Kind {
    /// The kinds of person names, which are split into components and words.
    pub fn is_name(self) -> bool {
        matches!(
            self,
            Kind::PatientName | Kind::PhysicianName | Kind::OperatorName | Kind::PersonName
        )
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::PatientName => "patient name",
            Kind::PhysicianName => "physician name",
            Kind::OperatorName => "operator name",
            Kind::PersonName => "person name",
            Kind::PatientId => "patient ID",
            Kind::AccessionNumber => "accession number",
            Kind::Identifier => "identifier",
            Kind::Device => "device name or serial number",
            Kind::BirthDate => "birth date",
            Kind::Address => "address",
            Kind::PhoneNumber => "telephone number",
            Kind::Institution => "institution name",
            Kind::Uid => "UID",
            Kind::FreeTextIdentifier => "identifier from free text",
        })
    }
}

/// How the cleaner takes a value into [`Identifiers`]: whole (an ID), as a date in its
/// spellings, or as a phrase and its significant words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    Id,
    Date,
    Phrase,
}

/// One identifying attribute and what each reader takes from it.
#[derive(Debug, Clone, Copy)]
pub struct Identifying {
    pub tag: Tag,
    /// The kind `verify` searches outputs for (`None`: it treats the value by its VR).
    pub kind: Option<Kind>,
    /// How the cleaner takes the value (`None`: not at all, or as a name by its VR).
    pub token: Option<Token>,
}

const fn row(tag: Tag, kind: Option<Kind>, token: Option<Token>) -> Identifying {
    Identifying { tag, kind, token }
}

/// Every identifying attribute (see the module doc). OtherPatientIDs (0010,1000) and
/// MedicalRecordLocator (0010,1090) are retired, still seen in old exports.
pub const IDENTIFYING: &[Identifying] = {
    use Kind::*;
    use Token::{Date, Id, Phrase};
    &[
        row(tags::PATIENT_NAME, Some(PatientName), None),
        row(tags::OTHER_PATIENT_NAMES, Some(PatientName), None),
        row(tags::PATIENT_BIRTH_NAME, Some(PatientName), None),
        row(tags::PATIENT_MOTHER_BIRTH_NAME, Some(PatientName), None),
        row(tags::RESPONSIBLE_PERSON, Some(PatientName), None),
        row(tags::REFERRING_PHYSICIAN_NAME, Some(PhysicianName), None),
        row(tags::CONSULTING_PHYSICIAN_NAME, Some(PhysicianName), None),
        row(tags::PERFORMING_PHYSICIAN_NAME, Some(PhysicianName), None),
        row(
            tags::NAME_OF_PHYSICIANS_READING_STUDY,
            Some(PhysicianName),
            None,
        ),
        row(tags::PHYSICIANS_OF_RECORD, Some(PhysicianName), None),
        row(tags::REQUESTING_PHYSICIAN, Some(PhysicianName), None),
        row(
            tags::SCHEDULED_PERFORMING_PHYSICIAN_NAME,
            Some(PhysicianName),
            None,
        ),
        row(tags::OPERATORS_NAME, Some(OperatorName), None),
        row(tags::PATIENT_ID, Some(PatientId), Some(Id)),
        row(Tag(0x0010, 0x1000), Some(PatientId), Some(Id)),
        row(Tag(0x0010, 0x1090), Some(PatientId), Some(Id)),
        row(tags::ACCESSION_NUMBER, Some(AccessionNumber), Some(Id)),
        row(tags::ISSUER_OF_PATIENT_ID, Some(Identifier), Some(Id)),
        row(tags::STUDY_ID, Some(Identifier), Some(Id)),
        row(tags::REQUESTED_PROCEDURE_ID, Some(Identifier), Some(Id)),
        row(
            tags::SCHEDULED_PROCEDURE_STEP_ID,
            Some(Identifier),
            Some(Id),
        ),
        row(
            tags::PERFORMED_PROCEDURE_STEP_ID,
            Some(Identifier),
            Some(Id),
        ),
        row(tags::ADMISSION_ID, Some(Identifier), Some(Id)),
        row(
            tags::FILLER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST,
            Some(Identifier),
            Some(Id),
        ),
        row(
            tags::PLACER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST,
            Some(Identifier),
            Some(Id),
        ),
        row(tags::STATION_NAME, Some(Device), Some(Phrase)),
        row(tags::DEVICE_SERIAL_NUMBER, Some(Device), Some(Id)),
        row(tags::PATIENT_BIRTH_DATE, Some(BirthDate), Some(Date)),
        row(tags::PATIENT_ADDRESS, Some(Address), Some(Phrase)),
        row(tags::INSTITUTION_ADDRESS, Some(Address), Some(Phrase)),
        row(tags::REFERRING_PHYSICIAN_ADDRESS, Some(Address), None),
        row(tags::PERSON_ADDRESS, Some(Address), Some(Phrase)),
        row(tags::REGION_OF_RESIDENCE, None, Some(Phrase)),
        row(tags::COUNTRY_OF_RESIDENCE, None, Some(Phrase)),
        row(tags::PATIENT_TELEPHONE_NUMBERS, Some(PhoneNumber), Some(Id)),
        row(
            tags::REFERRING_PHYSICIAN_TELEPHONE_NUMBERS,
            Some(PhoneNumber),
            None,
        ),
        row(tags::PERSON_TELEPHONE_NUMBERS, Some(PhoneNumber), None),
        row(tags::INSTITUTION_NAME, Some(Institution), Some(Phrase)),
        row(
            tags::INSTITUTIONAL_DEPARTMENT_NAME,
            Some(Institution),
            Some(Phrase),
        ),
        row(tags::MILITARY_RANK, None, Some(Phrase)),
        row(tags::BRANCH_OF_SERVICE, None, Some(Phrase)),
    ]
};

/// The row of `tag`, if it identifies someone.
pub fn identifying(tag: Tag) -> Option<&'static Identifying> {
    IDENTIFYING.iter().find(|row| row.tag == tag)
}

/// Every identifying value of a data set, at every depth, for cleaning descriptors.
pub(super) fn gather_identifiers(object: &InMemDicomObject) -> Identifiers {
    let mut ids = Identifiers::new();
    gather_into(object, &mut ids, 0);
    ids
}

fn gather_into(object: &InMemDicomObject, ids: &mut Identifiers, depth: usize) {
    for elem in object {
        match elem.value() {
            Value::Sequence(seq) if depth < crate::dicom::scan::MAX_DEPTH => {
                for item in seq.items() {
                    gather_into(item, ids, depth + 1);
                }
            }
            Value::Primitive(p) => {
                let name = elem.vr() == VR::PN;
                let token = identifying(elem.tag()).and_then(|row| row.token);
                if !name && token.is_none() {
                    continue;
                }
                for v in p.to_multi_str().iter() {
                    let v = v.trim_end_matches(['\0', ' ']);
                    match token {
                        _ if name => ids.add_person_name(v),
                        Some(Token::Id) => ids.add_id(v),
                        Some(Token::Date) => ids.add_date(v),
                        Some(Token::Phrase) => ids.add_phrase(v),
                        None => {}
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_attribute_has_one_row() {
        for (i, row) in IDENTIFYING.iter().enumerate() {
            assert!(
                IDENTIFYING[..i].iter().all(|r| r.tag != row.tag),
                "{:?}",
                row.tag
            );
            assert!(row.kind.is_some() || row.token.is_some(), "{:?}", row.tag);
        }
    }
}
