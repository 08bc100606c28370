//! Planted leaks for measuring `verify --against`: identifying values of each output's own
//! input written back into the output, in every kind of place a leak can hide, with a label
//! saying where each went. Used by tests/verify.rs and by `examples/verify-eval.rs` (the
//! measurement whose figures are in the README).
//!
//! The run must have been made with `--manifest-paths`, which links each output to its input.

use std::path::Path;

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;
use serde_json::Value as Json;

/// Where a planted value went: the output (relative to OUTPUT, as verify names it), the kind
/// of place, and the text the finding's attribute must start with.
#[derive(Debug, Clone)]
pub struct Plant {
    pub file: String,
    pub place: &'static str,
    pub attribute: String,
}

/// Every kind of place, in the order they are planted.
pub const PLACES: &[&str] = &[
    "standard attribute",
    "nested attribute (depth 2)",
    "private block",
    "private sequence",
    "UN value",
    "UN sequence with UIDs",
    "OriginalAttributesSequence",
    "free text",
    "file meta",
    "overlay text",
    "curve text",
    "vendor block UID",
    "output path",
    "manifest",
];

/// The identifying values of one input that verify treats as certain: the whole patient name
/// (family and given name), IDs of 3+ characters, the birth date, original UIDs.
struct Values {
    name: Option<String>,
    id: Option<String>,
    birth: Option<String>,
    uid: String,
}

/// A top-level value as text (a standard attribute stored as UN read as its own VR).
fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let v = dicom_deid::dicom::values::top_text(obj, tag)
        .trim()
        .to_owned();
    (!v.is_empty()).then_some(v)
}

/// Read as verify reads inputs: a file whose data set is read with UN elements (rtdose_rle of
/// the corpus) would otherwise give its bytes as numbers (`49\46\57…`), which identify no one,
/// as the "value" to plant.
fn values_of(input: &Path) -> Option<Values> {
    let bytes = std::fs::read(input).ok()?;
    let dicom_deid::dicom::file::Parsed::Dataset { object: obj, .. } =
        dicom_deid::dicom::file::parse(&bytes, u64::MAX).ok()?
    else {
        return None;
    };
    let uid = text(&obj, tags::SOP_INSTANCE_UID)?;
    let name = text(&obj, tags::PATIENT_NAME)
        .filter(|n| !dicom_deid::verify::needles::is_placeholder(n))
        .filter(|n| n.chars().filter(|c| c.is_alphabetic()).count() >= 3);
    let id = [tags::PATIENT_ID, tags::ACCESSION_NUMBER, tags::STUDY_ID]
        .into_iter()
        .filter_map(|t| text(&obj, t))
        .find(|v| v.len() >= 6 && v.chars().any(|c| c.is_ascii_digit()) && !v.contains('\\'));
    let birth = text(&obj, tags::PATIENT_BIRTH_DATE).filter(|d| d.len() == 8);
    Some(Values {
        name,
        id,
        birth,
        uid,
    })
}

impl Values {
    /// A value for a text place: the name spaced as a person writes it, else an ID, else the
    /// UID.
    fn text(&self) -> String {
        self.name
            .as_ref()
            .map(|n| {
                n.split('^')
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .or_else(|| self.id.clone())
            .unwrap_or_else(|| self.uid.clone())
    }

    /// A value for a binary place: an ID with digits, else the UID.
    fn long(&self) -> String {
        self.id.clone().unwrap_or_else(|| self.uid.clone())
    }
}

fn lo(tag: Tag, v: &str) -> InMemElement {
    DataElement::new(tag, VR::LO, PrimitiveValue::from(v))
}

type InMemElement = dicom_object::mem::InMemElement;

fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> InMemElement {
    DataElement::new(tag, VR::SQ, DataSetSequence::new(items, Length::UNDEFINED))
}

fn un(tag: Tag, bytes: Vec<u8>) -> InMemElement {
    let mut bytes = bytes;
    if bytes.len() % 2 == 1 {
        bytes.push(b' ');
    }
    DataElement::new(tag, VR::UN, PrimitiveValue::from(bytes))
}

/// One implicit VR little endian item holding one UI element: the bytes of a sequence stored
/// as UN.
fn un_sequence_bytes(uid: &str) -> Vec<u8> {
    let mut value = uid.as_bytes().to_vec();
    if value.len() % 2 == 1 {
        value.push(0);
    }
    let mut element = Vec::new();
    element.extend(0x0008u16.to_le_bytes());
    element.extend(0x1155u16.to_le_bytes());
    element.extend((value.len() as u32).to_le_bytes());
    element.extend(value);
    let mut item = Vec::new();
    item.extend(0xFFFEu16.to_le_bytes());
    item.extend(0xE000u16.to_le_bytes());
    item.extend((element.len() as u32).to_le_bytes());
    item.extend(element);
    item
}

/// Plant the data-set places into one output, returning their labels.
fn plant_dataset(
    obj: &mut InMemDicomObject,
    v: &Values,
    file: &str,
    big_endian: bool,
) -> Vec<Plant> {
    let text = v.text();
    let label = |place: &'static str, attribute: &str| Plant {
        file: file.to_owned(),
        place,
        attribute: attribute.to_owned(),
    };
    let mut out = Vec::new();
    obj.put(lo(tags::STUDY_DESCRIPTION, &text));
    out.push(label("standard attribute", "StudyDescription"));

    let mut inner = InMemDicomObject::new_empty();
    inner.put(DataElement::new(
        tags::TEXT_VALUE,
        VR::UT,
        PrimitiveValue::from(format!("reported for {text}")),
    ));
    let mut outer = InMemDicomObject::new_empty();
    outer.put(seq(tags::CONTENT_SEQUENCE, vec![inner]));
    obj.put(seq(tags::CONTENT_SEQUENCE, vec![outer]));
    out.push(label(
        "nested attribute (depth 2)",
        "ContentSequence[1] > ContentSequence[1] > TextValue",
    ));

    obj.put(lo(Tag(0x0009, 0x0010), "EVAL PLANT"));
    obj.put(lo(Tag(0x0009, 0x1010), &text));
    out.push(label("private block", "(0009,1010)"));

    let mut item = InMemDicomObject::new_empty();
    item.put(lo(Tag(0x0011, 0x0010), "EVAL PLANT"));
    item.put(lo(Tag(0x0011, 0x1012), &v.long()));
    obj.put(lo(Tag(0x0011, 0x0010), "EVAL PLANT"));
    obj.put(seq(Tag(0x0011, 0x1011), vec![item]));
    out.push(label("private sequence", "(0011,1011)"));

    obj.put(un(tags::REQUESTING_PHYSICIAN, v.long().into_bytes()));
    out.push(label("UN value", "RequestingPhysician"));

    // The item is written little endian, as a UN value is read (PS3.5 6.2.2).
    if !big_endian {
        obj.put(un(
            tags::REFERENCED_IMAGE_SEQUENCE,
            un_sequence_bytes(&v.uid),
        ));
        out.push(label("UN sequence with UIDs", "ReferencedImageSequence"));
    }

    let mut modified = InMemDicomObject::new_empty();
    modified.put(lo(tags::PATIENT_ID, &v.long()));
    let mut original = InMemDicomObject::new_empty();
    original.put(seq(tags::MODIFIED_ATTRIBUTES_SEQUENCE, vec![modified]));
    obj.put(seq(tags::ORIGINAL_ATTRIBUTES_SEQUENCE, vec![original]));
    out.push(label(
        "OriginalAttributesSequence",
        "OriginalAttributesSequence[1] > ModifiedAttributesSequence[1] > PatientID",
    ));

    let comment = match &v.birth {
        Some(d) => format!("Follow-up, DOB {}.{}.{}", &d[6..8], &d[4..6], &d[0..4]),
        None => format!("Follow-up of {text} as requested"),
    };
    obj.put(DataElement::new(
        tags::IMAGE_COMMENTS,
        VR::LT,
        PrimitiveValue::from(comment),
    ));
    out.push(label("free text", "ImageComments"));

    obj.put(lo(Tag(0x6000, 0x0022), &text));
    out.push(label("overlay text", "OverlayDescription"));

    obj.put(lo(Tag(0x5000, 0x2500), &text));
    out.push(label("curve text", "CurveLabel"));

    let mut csa = b"SV10\x04\x03\x02\x01StudyInstanceUID\0".to_vec();
    csa.extend(v.uid.as_bytes());
    csa.extend(b"\0\0\0\0");
    obj.put(lo(Tag(0x0029, 0x0010), "SIEMENS CSA HEADER"));
    obj.put(DataElement::new(
        Tag(0x0029, 0x1010),
        VR::OB,
        PrimitiveValue::from(csa),
    ));
    out.push(label("vendor block UID", "(0029,1010)"));
    out
}

/// Plant values of each output's own input into OUTPUT (a run with `--manifest-paths` of
/// INPUT). Outputs whose input cannot be read back are left alone.
pub fn plant(output: &Path, input: &Path) -> Vec<Plant> {
    let manifest = output.join("manifest.jsonl");
    let text = std::fs::read_to_string(&manifest).expect("the run's manifest");
    let mut records: Vec<Json> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a manifest record"))
        .collect();
    let mut plants = Vec::new();
    let mut first_name: Option<String> = None;
    for record in records.iter() {
        if record["status"] != "written" {
            continue;
        }
        let (Some(rel), Some(src)) = (record["output"].as_str(), record["input"].as_str()) else {
            continue;
        };
        let Some(values) = values_of(&input.join(src)) else {
            continue;
        };
        let path = output.join(rel);
        let Ok(mut obj) = dicom_object::open_file(&path) else {
            continue;
        };
        if plants.is_empty() {
            // A copy whose file name is the input's ID or name: found in the output path.
            let leaked = values.long().replace(['/', '\\', ' '], "_");
            let copy = Path::new(rel).with_file_name(format!("{leaked}.dcm"));
            std::fs::copy(&path, output.join(&copy)).expect("copy an output");
            plants.push(Plant {
                file: copy.to_string_lossy().replace('\\', "/"),
                place: "output path",
                attribute: "output path".to_owned(),
            });
        }
        first_name.get_or_insert_with(|| values.text());
        let big_endian =
            obj.meta().transfer_syntax().trim_end_matches('\0') == "1.2.840.10008.1.2.2";
        plants.extend(plant_dataset(&mut obj, &values, rel, big_endian));
        obj.update_meta(|meta| meta.media_storage_sop_instance_uid = values.uid.clone());
        obj.write_to_file(&path).expect("write a planted output");
        plants.push(Plant {
            file: rel.to_owned(),
            place: "file meta",
            attribute: "file meta > MediaStorageSOPInstanceUID".to_owned(),
        });
    }
    // The manifest: an output path that holds a name.
    if let Some(name) = first_name
        && let Some(record) = records.iter().find(|r| r["output"].is_string())
    {
        let mut record = record.clone();
        record["id"] = Json::from("0000000000000000");
        record["output"] = Json::from(format!("{name}/CT/IM0001.dcm"));
        records.push(record);
        plants.push(Plant {
            file: "manifest.jsonl".to_owned(),
            place: "manifest",
            attribute: format!("record {} > output", records.len()),
        });
        let lines: Vec<String> = records.iter().map(|r| r.to_string()).collect();
        std::fs::write(&manifest, lines.join("\n") + "\n").expect("rewrite the manifest");
    }
    plants
}

/// Whether a finding (`check`, `file`, `attribute` of verify's JSON) is the finding of a plant.
pub fn finds(plant: &Plant, finding: &Json) -> bool {
    // Private elements are named `(0009,xx10)` by the walk and `(0009,1010)` by the byte
    // search; every plant's block is 10.
    let attribute = finding["attribute"]
        .as_str()
        .unwrap_or_default()
        .replace(",xx", ",10");
    let file = finding["file"].as_str().unwrap_or_default();
    finding["check"] == "leak"
        && attribute.starts_with(&plant.attribute)
        && (file == plant.file || plant.place == "output path" && file.contains("path withheld"))
}
