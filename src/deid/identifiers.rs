//! The identifying values of one data set, gathered for the cleaner.

use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

use crate::deid::clean::Identifiers;

/// Attributes holding identifiers that free text may repeat, gathered at every depth.
const ID_TAGS: &[Tag] = &[
    tags::PATIENT_ID,
    // OtherPatientIDs and MedicalRecordLocator: retired, still seen in old exports.
    Tag(0x0010, 0x1000),
    tags::ACCESSION_NUMBER,
    tags::STUDY_ID,
    tags::ISSUER_OF_PATIENT_ID,
    Tag(0x0010, 0x1090),
    tags::PATIENT_TELEPHONE_NUMBERS,
    tags::DEVICE_SERIAL_NUMBER,
    tags::REQUESTED_PROCEDURE_ID,
    tags::SCHEDULED_PROCEDURE_STEP_ID,
    tags::PERFORMED_PROCEDURE_STEP_ID,
    tags::ADMISSION_ID,
    tags::FILLER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST,
    tags::PLACER_ORDER_NUMBER_IMAGING_SERVICE_REQUEST,
];

const DATE_TAGS: &[Tag] = &[tags::PATIENT_BIRTH_DATE];

const PHRASE_TAGS: &[Tag] = &[
    tags::INSTITUTION_NAME,
    tags::INSTITUTION_ADDRESS,
    tags::INSTITUTIONAL_DEPARTMENT_NAME,
    tags::STATION_NAME,
    tags::PATIENT_ADDRESS,
    tags::REGION_OF_RESIDENCE,
    tags::COUNTRY_OF_RESIDENCE,
    tags::MILITARY_RANK,
    tags::BRANCH_OF_SERVICE,
    tags::PERSON_ADDRESS,
];

/// Every identifying value of a data set, for cleaning descriptors.
pub(super) fn gather_identifiers(object: &InMemDicomObject) -> Identifiers {
    let mut ids = Identifiers::new();
    gather_into(object, &mut ids, 0);
    ids
}

fn gather_into(object: &InMemDicomObject, ids: &mut Identifiers, depth: usize) {
    for elem in object {
        let tag = elem.tag();
        match elem.value() {
            Value::Sequence(seq) if depth < crate::dicom::scan::MAX_DEPTH => {
                for item in seq.items() {
                    gather_into(item, ids, depth + 1);
                }
            }
            Value::Primitive(p) => {
                for v in p.to_multi_str().iter() {
                    let v = v.trim_end_matches(['\0', ' ']);
                    if elem.vr() == VR::PN {
                        ids.add_person_name(v);
                    } else if ID_TAGS.contains(&tag) {
                        ids.add_id(v);
                    } else if DATE_TAGS.contains(&tag) {
                        ids.add_date(v);
                    } else if PHRASE_TAGS.contains(&tag) {
                        ids.add_phrase(v);
                    }
                }
            }
            _ => {}
        }
    }
}
