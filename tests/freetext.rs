//! The free-text recogniser through the binary: a synthetic CT whose descriptions hold the
//! examples of issue 15, run under `ml-dataset` (which cleans descriptors), and SR content
//! items whose concept names are a local code naming a physician and a standard code.

mod common;

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;

use common::{Sandbox, files_under, str_value};

const SOP: &str = "1.2.826.0.1.3680043.10.9999.15.1";

fn el(tag: Tag, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(v))
}

fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::new(items, Length::UNDEFINED))
}

/// A content item whose concept name is the code `value` of `scheme`, meaning `meaning`.
fn content_item(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    let code = InMemDicomObject::from_element_iter([
        el(tags::CODE_VALUE, VR::SH, value),
        el(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        el(tags::CODE_MEANING, VR::LO, meaning),
    ]);
    InMemDicomObject::from_element_iter([
        el(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
        seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![code]),
    ])
}

/// The CodeMeaning of the concept name of content item `i`.
fn meaning(object: &InMemDicomObject, i: usize) -> String {
    let items = object.get(tags::CONTENT_SEQUENCE).unwrap().items().unwrap();
    let code = &items[i]
        .get(tags::CONCEPT_NAME_CODE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    str_value(code, tags::CODE_MEANING).unwrap()
}

fn ct_file() -> Vec<u8> {
    let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    let object = InMemDicomObject::from_element_iter([
        el(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.2"),
        el(tags::SOP_INSTANCE_UID, VR::UI, SOP),
        el(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.10.9999.15.2",
        ),
        el(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.10.9999.15.3",
        ),
        el(tags::MODALITY, VR::CS, "CT"),
        el(tags::PATIENT_NAME, VR::PN, "O'BRIEN^PATRICK"),
        el(tags::PATIENT_ID, VR::LO, "PID-15"),
        el(tags::REFERRING_PHYSICIAN_NAME, VR::PN, "MÜLLER^HANS"),
        el(tags::PERFORMING_PHYSICIAN_NAME, VR::PN, "DELACROIX^MARIE"),
        seq(
            tags::CONTENT_SEQUENCE,
            vec![
                content_item(
                    "R-2",
                    "99MERIDIAN",
                    "Meridian reading room 2 - Dr. DELACROIX",
                ),
                content_item("88518009", "SCT", "Wilson disease"),
            ],
        ),
        el(tags::BRANCH_OF_SERVICE, VR::LO, "ABDOMEN"),
        el(tags::STUDY_DESCRIPTION, VR::LO, "US ABDOMEN COMPLETE"),
        el(tags::SERIES_DESCRIPTION, VR::LO, "AX DWI b1000 MULLER"),
        el(tags::PROTOCOL_NAME, VR::LO, "ARTERIAL_PHASE_OBRIEN"),
        el(
            tags::IMAGE_COMMENTS,
            VR::LT,
            "known lymphoma restaging, tech ABERCROMBIE present",
        ),
        el(
            tags::ADDITIONAL_PATIENT_HISTORY,
            VR::LT,
            "Hypertension, diabetes type 2. husband EZEKIEL to call (563) 555-0525",
        ),
        el(tags::OCCUPATION, VR::SH, "accountant at PEMBERTON AND SONS"),
        el(tags::STUDY_DATE, VR::DA, "20210320"),
        el(
            tags::PATIENT_COMMENTS,
            VR::LT,
            "prior CT 2021-03-14, then 03/04/2021",
        ),
        us(tags::SAMPLES_PER_PIXEL, 1),
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        us(tags::ROWS, 4),
        us(tags::COLUMNS, 4),
        us(tags::BITS_ALLOCATED, 16),
        us(tags::BITS_STORED, 12),
        us(tags::HIGH_BIT, 11),
        us(tags::PIXEL_REPRESENTATION, 0),
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::from(vec![0u8; 32]),
        ),
    ]);
    let file = object
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax("1.2.840.10008.1.2.1")
                .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
                .media_storage_sop_instance_uid(SOP),
        )
        .unwrap();
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).unwrap();
    bytes
}

#[test]
fn ml_dataset_cleans_the_issue_examples() {
    let sandbox = Sandbox::new();
    let input = sandbox.path("in");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(input.join("ct.dcm"), ct_file()).unwrap();
    let output = sandbox.path("out");
    let out = sandbox.run(&input, &output, &["--profile", "ml-dataset", "--quiet"]);
    assert_eq!(common::code(&out), 0, "{}", common::stderr(&out));
    let written: Vec<_> = files_under(&output)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    let object = dicom_object::open_file(&written[0]).unwrap().into_inner();
    let value = |tag| str_value(&object, tag).unwrap_or_default();
    assert_eq!(value(tags::STUDY_DESCRIPTION), "US ABDOMEN COMPLETE");
    assert_eq!(value(tags::SERIES_DESCRIPTION), "AX DWI b1000 ***");
    assert_eq!(value(tags::PROTOCOL_NAME), "ARTERIAL_PHASE_***");
    assert_eq!(
        value(tags::IMAGE_COMMENTS),
        "known lymphoma restaging, tech *** present"
    );
    assert_eq!(
        value(tags::ADDITIONAL_PATIENT_HISTORY),
        "Hypertension, diabetes type 2. husband *** to call ***"
    );
    assert_eq!(value(tags::OCCUPATION), "accountant at ***");
    assert_eq!(meaning(&object, 0), "Meridian reading room 2 - Dr. ***");
    assert_eq!(meaning(&object, 1), "Wilson disease");
    // The date whose order is certain moves with StudyDate; the other is masked.
    let day = |s: &str| chrono::NaiveDate::parse_from_str(s, "%Y%m%d").unwrap();
    let offset = day(&value(tags::STUDY_DATE)) - day("20210320");
    let prior = (day("20210314") + offset).format("%Y-%m-%d");
    assert_eq!(
        value(tags::PATIENT_COMMENTS),
        format!("prior CT {prior}, then ***")
    );
}
