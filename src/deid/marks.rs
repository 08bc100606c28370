//! The de-identification marks of PS3.15 E.1.1 that every output carries, and the CID 7050
//! codes naming the profile and options applied.

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

use crate::deid::Deidentifier;
use crate::profile::ShiftMode;
use crate::profile::standard::{self, AnnexOption};

/// The attributes the engine sets on every de-identified data set (PS3.15 E.1.1).
pub const MARKS: [Tag; 4] = [
    tags::PATIENT_IDENTITY_REMOVED,
    tags::DEIDENTIFICATION_METHOD,
    tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
    tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
];

impl Deidentifier {
    /// The CID 7050 codes of the profile and the options applied to every file, basic first
    /// (the pixel options' codes are added to the files they applied to, by [`crate::pixel`]).
    pub fn method_codes(&self) -> Vec<&'static standard::MethodCode> {
        let mut codes = vec![standard::method_code_for_column("basic")];
        codes.extend(
            self.profile
                .options
                .iter()
                .filter(|o| !o.is_pixel())
                .map(|o| o.method_code()),
        );
        codes
    }

    /// PatientIdentityRemoved, DeidentificationMethod(CodeSequence) and
    /// LongitudinalTemporalInformationModified, per PS3.15 E.1.1.
    pub(super) fn mark(&self, out: &mut InMemDicomObject) {
        out.put(DataElement::new(
            tags::PATIENT_IDENTITY_REMOVED,
            VR::CS,
            PrimitiveValue::from("YES"),
        ));
        let method = format!(
            "dicom-deid {}; PS3.15 E.1-1; profile {}",
            env!("CARGO_PKG_VERSION"),
            self.profile.name
        );
        let method: String = method.chars().take(64).collect();
        out.put(DataElement::new(
            tags::DEIDENTIFICATION_METHOD,
            VR::LO,
            PrimitiveValue::from(method),
        ));
        let items: Vec<InMemDicomObject> = self
            .method_codes()
            .into_iter()
            .map(|code| code.item())
            .collect();
        out.put(DataElement::new(
            tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
            VR::SQ,
            DataSetSequence::new(items, Length::UNDEFINED),
        ));
        let options = &self.profile.options;
        let temporal = if options.contains(&AnnexOption::RetainLongitudinalFullDates) {
            "UNMODIFIED"
        } else if options.contains(&AnnexOption::RetainLongitudinalModifiedDates) {
            if self.profile.dates.shift == ShiftMode::None {
                "UNMODIFIED"
            } else {
                "MODIFIED"
            }
        } else {
            "REMOVED"
        };
        out.put(DataElement::new(
            tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED,
            VR::CS,
            PrimitiveValue::from(temporal),
        ));
    }
}
