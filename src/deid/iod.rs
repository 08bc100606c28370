//! The facts about a file's IOD that combined codes depend on, and a short table of the
//! requirement types (Type 1, 2 or optional) of the attributes with combined codes in the common
//! IODs.

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

use crate::dicom::values::top_text;

/// The facts about a file's IOD that the combined codes (Z/D, X/Z, X/D, X/Z/D) depend on,
/// read from the top level of the data set.
#[derive(Debug, Clone, Default)]
pub struct Iod {
    pub sop_class: String,
    /// The data set uses the Multi-frame Functional Groups module (as every enhanced image,
    /// segmentation or parametric map does), whatever its SOP class.
    pub functional_groups: bool,
}

impl Iod {
    pub fn of(object: &InMemDicomObject) -> Self {
        Iod {
            sop_class: top_text(object, tags::SOP_CLASS_UID),
            functional_groups: object
                .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
                .is_some()
                || object
                    .get(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
                    .is_some(),
        }
    }
}

/// Whether the file's IOD requires an attribute at the top level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Requirement {
    Type1,
    Type2,
    Optional,
}

const ENHANCED_IMAGE_CLASSES: &[&str] = &[
    "1.2.840.10008.5.1.4.1.1.2.1",
    "1.2.840.10008.5.1.4.1.1.2.2",
    "1.2.840.10008.5.1.4.1.1.4.1",
    "1.2.840.10008.5.1.4.1.1.4.3",
    "1.2.840.10008.5.1.4.1.1.4.4",
    "1.2.840.10008.5.1.4.1.1.6.2",
    "1.2.840.10008.5.1.4.1.1.12.1.1",
    "1.2.840.10008.5.1.4.1.1.12.2.1",
    "1.2.840.10008.5.1.4.1.1.13.1.3",
    "1.2.840.10008.5.1.4.1.1.128.1",
    "1.2.840.10008.5.1.4.1.1.130",
];

/// The requirement type of the attributes with combined codes, in the common IODs.
pub(crate) fn requirement(tag: Tag, iod: &Iod) -> Requirement {
    let sop_class = iod.sop_class.as_str();
    let enhanced = ENHANCED_IMAGE_CLASSES.contains(&sop_class) || iod.functional_groups;
    let sr = sop_class.starts_with("1.2.840.10008.5.1.4.1.1.88.");
    let waveform = sop_class.starts_with("1.2.840.10008.5.1.4.1.1.9.");
    let rt_plan = matches!(
        sop_class,
        "1.2.840.10008.5.1.4.1.1.481.5" | "1.2.840.10008.5.1.4.1.1.481.8"
    );
    let rt = sop_class.starts_with("1.2.840.10008.5.1.4.1.1.481.");
    match tag {
        tags::PATIENT_ID | tags::CONTRAST_BOLUS_AGENT | tags::CONTENT_CREATOR_NAME => {
            Requirement::Type2
        }
        tags::CONTENT_DATE | tags::CONTENT_TIME => {
            if enhanced || sr || waveform {
                Requirement::Type1
            } else {
                Requirement::Type2
            }
        }
        tags::ACQUISITION_DATE_TIME if enhanced || waveform => Requirement::Type1,
        tags::DEVICE_SERIAL_NUMBER if enhanced => Requirement::Type1,
        tags::ACQUISITION_CONTEXT_SEQUENCE if enhanced || waveform => Requirement::Type2,
        tags::RT_PLAN_DATE | tags::RT_PLAN_TIME if rt_plan => Requirement::Type2,
        tags::REVIEWER_NAME | tags::OPERATORS_NAME if rt => Requirement::Type2,
        tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE if sr => Requirement::Type2,
        _ => Requirement::Optional,
    }
}

/// The requirement type of attributes with combined codes inside the items of a sequence.
pub(crate) fn item_requirement(tag: Tag, sequence: Tag) -> Requirement {
    match (tag, sequence) {
        (tags::TREATMENT_MACHINE_NAME, tags::BEAM_SEQUENCE | tags::ION_BEAM_SEQUENCE) => {
            Requirement::Type2
        }
        _ => Requirement::Optional,
    }
}
