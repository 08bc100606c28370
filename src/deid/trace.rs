//! `inspect`: one file's elements at every depth with the action the profile takes on each,
//! the layer that chose it, and the value before and after. This is the one view of original
//! values; the CLI shows it only on a terminal unless forced. The engine writes the rows
//! ([`TraceRow`]) as it decides; this module renders values and parses the file.

use dicom_core::header::Header;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{Tag, VR};
use dicom_object::mem::{InMemDicomObject, InMemElement};

use crate::deid::Deidentifier;
use crate::deid::decide::Decision;
use crate::deid::marks::MARKS;
use crate::dicom::file::{self, FileError, Parsed};
use crate::dicom::values::{is_text_vr, strings};
use crate::pixel::explain::{PlanView, explain};

/// One element as `inspect` shows it: where it is, what was decided, and its value before and
/// after. Holds original values, so it has no `Debug` and must only reach a terminal.
pub struct TraceRow {
    /// The enclosing sequences and item indices (0-based), outermost first.
    pub path: Vec<(Tag, usize)>,
    pub tag: Tag,
    pub vr: VR,
    /// The creator of a private element's block.
    pub creator: Option<String>,
    pub action: String,
    pub layer: String,
    pub before: String,
    pub after: String,
}

impl TraceRow {
    /// The row of `elem` at `path` as decided; `after` is filled in once it is applied.
    pub(super) fn decided(
        path: &[(Tag, usize)],
        elem: &InMemElement,
        decision: &Decision<'_>,
    ) -> Self {
        TraceRow {
            path: path.to_vec(),
            tag: elem.tag(),
            vr: elem.vr(),
            creator: None,
            action: decision.shown(),
            layer: decision.layer.to_owned(),
            before: describe(elem),
            after: String::new(),
        }
    }
}

pub(super) const REMOVED: &str = "(removed)";
const ABSENT: &str = "(absent)";

/// A short, single-line rendering of an element's value for `inspect`: text values as they
/// are (cut at 64 characters), binary values and sequences by size.
pub fn describe(elem: &InMemElement) -> String {
    match elem.value() {
        Value::Sequence(seq) => format!("<{} items>", seq.items().len()),
        Value::PixelSequence(seq) => format!("<{} fragments>", seq.fragments().len()),
        Value::Primitive(PrimitiveValue::Empty) => "(empty)".to_owned(),
        Value::Primitive(p) if is_text_vr(elem.vr()) => {
            let text = strings(p).join("\\");
            let text: String = text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            if text.chars().count() > 64 {
                format!("{}…", text.chars().take(63).collect::<String>())
            } else {
                text
            }
        }
        Value::Primitive(p)
            if p.to_bytes().len() <= 16 && !matches!(elem.vr(), VR::OB | VR::UN) =>
        {
            p.to_str().into_owned()
        }
        Value::Primitive(p) => format!("<{} bytes>", p.to_bytes().len()),
    }
}

/// The values the marks had before, when tracing: their rows are replaced by
/// [`mark_rows`] after the marks are set.
pub(super) fn marks_before(object: &InMemDicomObject) -> Vec<Option<String>> {
    MARKS
        .iter()
        .map(|&tag| object.get(tag).map(describe))
        .collect()
}

/// Replace the rows of the top-level marks by one row each for the value now set.
pub(super) fn mark_rows(
    trace: &mut Vec<TraceRow>,
    marks_before: Vec<Option<String>>,
    out: &InMemDicomObject,
) {
    trace.retain(|row| !(row.path.is_empty() && MARKS.contains(&row.tag)));
    for (&tag, before) in MARKS.iter().zip(marks_before) {
        let after = out.get(tag).expect("marks were just put");
        trace.push(TraceRow {
            path: Vec::new(),
            tag,
            vr: after.vr(),
            creator: None,
            action: "set".to_owned(),
            layer: "de-identification marks (PS3.15 E.1.1)".to_owned(),
            before: before.unwrap_or_else(|| ABSENT.to_owned()),
            after: describe(after),
        });
    }
}

/// Why a file cannot be traced. Fixed texts that name no value.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("not a DICOM file")]
    NotDicom,
    #[error("a DICOMDIR: `run` skips these (they hold identifiers and old paths)")]
    Dicomdir,
}

/// One file, traced.
pub struct Inspection {
    pub transfer_syntax: String,
    pub rows: Vec<TraceRow>,
    /// What happens to the pixels, decided on the original header as a run decides it.
    pub pixel: PlanView,
}

/// Parse and trace one file's bytes. Errors are fixed texts that name no value.
pub fn inspect(
    deidentifier: &Deidentifier,
    bytes: &[u8],
    max_inflated: u64,
) -> Result<Inspection, InspectError> {
    match file::parse(bytes, max_inflated)? {
        Parsed::Dataset {
            object,
            transfer_syntax,
        } => {
            let pixel = explain(&object, &transfer_syntax, &deidentifier.profile().pixel);
            let (_, _, rows) = deidentifier.deidentify_traced(object);
            Ok(Inspection {
                transfer_syntax,
                rows,
                pixel,
            })
        }
        Parsed::NotDicom => Err(InspectError::NotDicom),
        Parsed::Dicomdir => Err(InspectError::Dicomdir),
    }
}

#[cfg(test)]
mod tests {
    use dicom_core::DataElement;
    use dicom_dictionary_std::tags;

    use super::*;
    use crate::key::Key;

    #[test]
    fn traces_name_the_layer_and_both_values() {
        let deid = Deidentifier::new(
            crate::profile::Profile::load("ml-dataset").unwrap(),
            Key::from_bytes([3; 32]),
        );
        let object = InMemDicomObject::from_element_iter([
            DataElement::new(tags::ACCESSION_NUMBER, VR::SH, PrimitiveValue::from("A1")),
            DataElement::new(tags::OPERATORS_NAME, VR::PN, PrimitiveValue::from("X^Y")),
        ]);
        let (_, _, trace) = deid.deidentify_traced(object);
        let row = trace
            .iter()
            .find(|r| r.tag == tags::ACCESSION_NUMBER)
            .unwrap();
        assert_eq!(
            (row.action.as_str(), row.layer.as_str()),
            ("hash", "profile ml-dataset")
        );
        assert_eq!(row.before, "A1");
        assert_eq!(row.after.len(), 16);
        let row = trace
            .iter()
            .find(|r| r.tag == tags::OPERATORS_NAME)
            .unwrap();
        assert_eq!(row.action, "remove (X/Z/D)");
        assert_eq!(row.after, REMOVED);
        assert!(
            trace
                .iter()
                .any(|r| r.tag == tags::PATIENT_IDENTITY_REMOVED && r.after == "YES")
        );
    }
}
