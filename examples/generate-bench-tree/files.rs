//! The synthetic files of the benchmark trees, shared by the generator and the criterion
//! benches (`benches/deid.rs` includes this file): every identifying value is fake, UIDs use
//! the fake root of `testdata/`, and each file is the same bytes on every run.

use std::error::Error;
use std::io::Write;

use dicom_core::header::Header;
use dicom_core::value::{DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

pub type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The fake UID root of the test data, with a branch of its own.
const UID_ROOT: &str = "1.2.826.0.1.3680043.10.9999.77";
const FILES_PER_PATIENT: u32 = 50;
const ENHANCED_MR: &str = "1.2.840.10008.5.1.4.1.1.4.1";

const GIVEN: [&str; 8] = [
    "JOHN", "MARIA", "KENJI", "ANNA", "PETER", "SOFIA", "LUKAS", "EMMA",
];
const FAMILY: [&str; 8] = [
    "DOE", "MUELLER", "YAMADA", "SMITH", "ROSSI", "NOVAK", "LARSEN", "COSTA",
];

/// One file of a tree: where it goes, its data set, its transfer syntax.
pub struct GeneratedFile {
    pub rel: String,
    pub object: InMemDicomObject,
    pub ts: &'static str,
}

fn text(tag: Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

fn us(tag: Tag, value: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(value))
}

fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(
        tag,
        VR::SQ,
        Value::from(DataSetSequence::new(items, Length::UNDEFINED)),
    )
}

fn item(elements: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elements)
}

fn code(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    item(vec![
        text(tags::CODE_VALUE, VR::SH, value),
        text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        text(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

/// Deterministic bytes that do not compress to nothing: xorshift, seeded per file.
fn noise(len: usize, seed: u64, bits: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    let mask: u16 = if bits >= 16 {
        u16::MAX
    } else {
        (1 << bits) - 1
    };
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        for chunk in state.to_le_bytes().chunks(2) {
            let v = u16::from_le_bytes([chunk[0], chunk[1]]) & mask;
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out.truncate(len);
    out
}

/// Where file `index` sits, and the identity of its patient and study.
struct Place {
    patient: u32,
    series: u32,
    instance: u32,
}

impl Place {
    fn of(index: u32, series: u32) -> Place {
        Place {
            patient: index / FILES_PER_PATIENT + 1,
            series,
            instance: index % FILES_PER_PATIENT + 1,
        }
    }

    fn rel(&self) -> String {
        format!(
            "PAT{:04}/STUDY1/SER{:03}/IM{:05}.dcm",
            self.patient, self.series, self.instance
        )
    }

    fn study_uid(&self) -> String {
        format!("{UID_ROOT}.1.{}", self.patient)
    }

    fn series_uid(&self) -> String {
        format!("{}.{}", self.study_uid(), self.series)
    }

    fn sop_uid(&self) -> String {
        format!("{}.{}", self.series_uid(), self.instance)
    }

    fn name(&self) -> String {
        let p = self.patient as usize;
        format!("{}^{}", FAMILY[p % 8], GIVEN[(p / 8) % 8])
    }

    fn date(&self) -> String {
        format!(
            "20{:02}{:02}{:02}",
            10 + self.patient % 14,
            self.patient % 12 + 1,
            self.patient % 28 + 1
        )
    }

    /// Patient, study, series, equipment and SOP common attributes.
    fn composite(&self, sop_class: &str, modality: &str) -> Vec<DataElement<InMemDicomObject>> {
        let date = self.date();
        let p = self.patient;
        vec![
            text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"),
            text(tags::IMAGE_TYPE, VR::CS, "ORIGINAL\\PRIMARY\\AXIAL"),
            text(tags::INSTANCE_CREATION_DATE, VR::DA, &date),
            text(tags::INSTANCE_CREATION_TIME, VR::TM, "101502.123"),
            text(tags::SOP_CLASS_UID, VR::UI, sop_class),
            text(tags::SOP_INSTANCE_UID, VR::UI, &self.sop_uid()),
            text(tags::STUDY_DATE, VR::DA, &date),
            text(tags::SERIES_DATE, VR::DA, &date),
            text(tags::ACQUISITION_DATE, VR::DA, &date),
            text(tags::CONTENT_DATE, VR::DA, &date),
            text(tags::STUDY_TIME, VR::TM, "101500"),
            text(tags::SERIES_TIME, VR::TM, "101700"),
            text(tags::ACQUISITION_TIME, VR::TM, "101712.250"),
            text(tags::CONTENT_TIME, VR::TM, "101712.250"),
            text(tags::ACCESSION_NUMBER, VR::SH, &format!("ACC{p:07}")),
            text(tags::MODALITY, VR::CS, modality),
            text(tags::MANUFACTURER, VR::LO, "ACME MEDICAL"),
            text(
                tags::INSTITUTION_NAME,
                VR::LO,
                "SPRINGFIELD GENERAL HOSPITAL",
            ),
            text(
                tags::INSTITUTION_ADDRESS,
                VR::ST,
                "742 EVERGREEN TERRACE, SPRINGFIELD",
            ),
            text(tags::REFERRING_PHYSICIAN_NAME, VR::PN, "HIBBERT^JULIUS^^DR"),
            text(tags::STATION_NAME, VR::SH, "CT01SPRGH"),
            text(tags::STUDY_DESCRIPTION, VR::LO, "CHEST ABDOMEN PELVIS"),
            text(
                tags::SERIES_DESCRIPTION,
                VR::LO,
                &format!("SERIES {} {}", self.series, self.name()),
            ),
            text(tags::INSTITUTIONAL_DEPARTMENT_NAME, VR::LO, "RADIOLOGY"),
            text(tags::PERFORMING_PHYSICIAN_NAME, VR::PN, "RIVIERA^NICK"),
            text(tags::OPERATORS_NAME, VR::PN, "NAHASAPEEMAPETILON^A"),
            text(tags::MANUFACTURER_MODEL_NAME, VR::LO, "ACME SCAN 9000"),
            text(tags::PATIENT_NAME, VR::PN, &self.name()),
            text(
                tags::PATIENT_ID,
                VR::LO,
                &format!("MRN{:07}", 4_000_000 + p),
            ),
            text(
                tags::PATIENT_BIRTH_DATE,
                VR::DA,
                &format!("19{:02}0315", 30 + p % 60),
            ),
            text(
                tags::PATIENT_SEX,
                VR::CS,
                if p.is_multiple_of(2) { "F" } else { "M" },
            ),
            text(tags::PATIENT_AGE, VR::AS, &format!("{:03}Y", 20 + p % 70)),
            text(tags::PATIENT_WEIGHT, VR::DS, "72.5"),
            text(tags::PATIENT_ADDRESS, VR::LO, "12 ELM STREET, SPRINGFIELD"),
            text(tags::DEVICE_SERIAL_NUMBER, VR::LO, "SN-0042-7781"),
            text(tags::SOFTWARE_VERSIONS, VR::LO, "VA10B"),
            text(tags::PROTOCOL_NAME, VR::LO, "ROUTINE"),
            text(tags::STUDY_INSTANCE_UID, VR::UI, &self.study_uid()),
            text(tags::SERIES_INSTANCE_UID, VR::UI, &self.series_uid()),
            text(tags::STUDY_ID, VR::SH, &format!("S{p:05}")),
            text(tags::SERIES_NUMBER, VR::IS, &self.series.to_string()),
            text(tags::INSTANCE_NUMBER, VR::IS, &self.instance.to_string()),
            text(
                tags::FRAME_OF_REFERENCE_UID,
                VR::UI,
                &format!("{}.9", self.series_uid()),
            ),
        ]
    }
}

/// Image attributes of a native single-sample or RGB image.
fn image_module(
    rows: u16,
    columns: u16,
    samples: u16,
    bits: u16,
    frames: u32,
    seed: u64,
) -> Vec<DataElement<InMemDicomObject>> {
    let len =
        rows as usize * columns as usize * samples as usize * (bits as usize / 8) * frames as usize;
    let photometric = if samples == 3 { "RGB" } else { "MONOCHROME2" };
    let pixels = noise(len, seed, if bits == 16 { 12 } else { 8 });
    let mut elements = vec![
        us(tags::SAMPLES_PER_PIXEL, samples),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, photometric),
        us(tags::ROWS, rows),
        us(tags::COLUMNS, columns),
        us(tags::BITS_ALLOCATED, bits),
        us(tags::BITS_STORED, if bits == 16 { 12 } else { 8 }),
        us(tags::HIGH_BIT, if bits == 16 { 11 } else { 7 }),
        us(tags::PIXEL_REPRESENTATION, 0),
    ];
    if samples == 3 {
        elements.push(us(tags::PLANAR_CONFIGURATION, 0));
    }
    if frames > 1 {
        elements.push(text(tags::NUMBER_OF_FRAMES, VR::IS, &frames.to_string()));
    }
    let vr = if bits == 16 { VR::OW } else { VR::OB };
    elements.push(DataElement::new(
        tags::PIXEL_DATA,
        vr,
        PrimitiveValue::from(pixels),
    ));
    elements
}

/// Three vendor private blocks, `count` elements each, one holding a nested sequence.
fn vendor_blocks(count: u16, seed: u32) -> Vec<DataElement<InMemDicomObject>> {
    let mut elements = Vec::new();
    for (group, creator) in [
        (0x0009, "ACME_IDEN_01"),
        (0x0019, "ACME_ACQU_01"),
        (0x0043, "ACME_PARM_01"),
    ] {
        elements.push(text(Tag(group, 0x0010), VR::LO, creator));
        for e in 0..count {
            let tag = Tag(group, 0x1000 + e);
            elements.push(match e % 4 {
                0 => text(tag, VR::LO, &format!("ACME PARAM {e} {seed} SPRINGFIELD")),
                1 => text(tag, VR::DS, &format!("{}.{}", e, seed % 97)),
                2 => DataElement::new(tag, VR::SL, PrimitiveValue::from(i32::from(e) * 7)),
                _ => text(tag, VR::SH, &format!("V{e:04}")),
            });
        }
        elements.push(seq(
            Tag(group, 0x10F0),
            vec![item(vec![
                text(Tag(group, 0x0010), VR::LO, creator),
                text(Tag(group, 0x1001), VR::LO, "NESTED VENDOR VALUE"),
                text(Tag(group, 0x1002), VR::DA, "20200101"),
            ])],
        ));
    }
    elements
}

fn with(
    mut elements: Vec<DataElement<InMemDicomObject>>,
    more: impl IntoIterator<Item = DataElement<InMemDicomObject>>,
) -> InMemDicomObject {
    elements.extend(more);
    InMemDicomObject::from_element_iter(elements)
}

/// File `index` of the image-heavy tree.
pub fn image_heavy(index: u32) -> GeneratedFile {
    let slot = index % 20;
    let seed = u64::from(index) + 1;
    let (series, sop_class, modality, image, ts) = match slot {
        0..=8 => (
            1,
            uids::CT_IMAGE_STORAGE,
            "CT",
            [
                image_module(512, 512, 1, 16, 1, seed),
                vendor_blocks(40, index),
            ]
            .concat(),
            uids::IMPLICIT_VR_LITTLE_ENDIAN,
        ),
        9..=15 => (
            2,
            uids::MR_IMAGE_STORAGE,
            "MR",
            image_module(256, 256, 1, 16, 1, seed),
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
        ),
        16 => (
            3,
            uids::ULTRASOUND_IMAGE_STORAGE,
            "US",
            image_module(480, 640, 3, 8, 1, seed),
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
        ),
        17 => (
            4,
            uids::ULTRASOUND_MULTI_FRAME_IMAGE_STORAGE,
            "US",
            image_module(480, 640, 1, 8, 4, seed),
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
        ),
        _ => (
            5,
            uids::SECONDARY_CAPTURE_IMAGE_STORAGE,
            "OT",
            image_module(480, 640, 1, 8, 1, seed),
            uids::EXPLICIT_VR_LITTLE_ENDIAN,
        ),
    };
    let place = Place::of(index, series);
    GeneratedFile {
        rel: place.rel(),
        object: with(place.composite(sop_class, modality), image),
        ts,
    }
}

/// File `index` of the header-heavy tree.
pub fn header_heavy(index: u32) -> GeneratedFile {
    let seed = u64::from(index) + 1;
    match index % 3 {
        0 => {
            let place = Place::of(index, 1);
            let references = (1..=20)
                .map(|i| {
                    item(vec![
                        text(
                            tags::REFERENCED_SOP_CLASS_UID,
                            VR::UI,
                            uids::CT_IMAGE_STORAGE,
                        ),
                        text(
                            tags::REFERENCED_SOP_INSTANCE_UID,
                            VR::UI,
                            &format!("{}.{i}", place.series_uid()),
                        ),
                    ])
                })
                .collect();
            let request = item(vec![
                text(tags::REQUESTED_PROCEDURE_ID, VR::SH, "RP0001"),
                text(tags::SCHEDULED_PROCEDURE_STEP_ID, VR::SH, "SPS0001"),
                seq(
                    tags::SCHEDULED_PROTOCOL_CODE_SEQUENCE,
                    vec![item(vec![
                        text(tags::CODE_VALUE, VR::SH, "P1"),
                        text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "99ACME"),
                        text(tags::CODE_MEANING, VR::LO, "ROUTINE CHEST"),
                        seq(
                            tags::PROTOCOL_CONTEXT_SEQUENCE,
                            vec![item(vec![
                                text(tags::VALUE_TYPE, VR::CS, "TEXT"),
                                text(tags::TEXT_VALUE, VR::UT, &place.name()),
                            ])],
                        ),
                    ])],
                ),
            ]);
            let mut elements = place.composite(uids::CT_IMAGE_STORAGE, "CT");
            elements.extend(image_module(64, 64, 1, 16, 1, seed));
            elements.extend(vendor_blocks(200, index));
            elements.push(seq(tags::REFERENCED_IMAGE_SEQUENCE, references));
            elements.push(seq(tags::REQUEST_ATTRIBUTES_SEQUENCE, vec![request]));
            elements.push(text(
                tags::ADDITIONAL_PATIENT_HISTORY,
                VR::LT,
                &format!("Seen by Dr Hibbert. {} called on 555-0134.", place.name()),
            ));
            GeneratedFile {
                rel: place.rel(),
                object: InMemDicomObject::from_element_iter(elements),
                ts: uids::EXPLICIT_VR_LITTLE_ENDIAN,
            }
        }
        1 => {
            let place = Place::of(index, 2);
            let mut elements = place.composite(uids::COMPREHENSIVE_SR_STORAGE, "SR");
            elements.extend([
                text(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
                seq(
                    tags::CONCEPT_NAME_CODE_SEQUENCE,
                    vec![code("18748-4", "LN", "Diagnostic Imaging Report")],
                ),
                text(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
                text(tags::COMPLETION_FLAG, VR::CS, "COMPLETE"),
                text(tags::VERIFICATION_FLAG, VR::CS, "UNVERIFIED"),
                seq(tags::CONTENT_SEQUENCE, sr_content(&place, 100)),
            ]);
            GeneratedFile {
                rel: place.rel(),
                object: InMemDicomObject::from_element_iter(elements),
                ts: uids::EXPLICIT_VR_LITTLE_ENDIAN,
            }
        }
        _ => {
            let place = Place::of(index, 3);
            let mut elements = place.composite(ENHANCED_MR, "MR");
            elements.extend(image_module(16, 16, 1, 16, 32, seed));
            elements.push(seq(
                tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
                vec![item(vec![
                    seq(
                        tags::PIXEL_MEASURES_SEQUENCE,
                        vec![item(vec![
                            text(tags::PIXEL_SPACING, VR::DS, "0.5\\0.5"),
                            text(tags::SLICE_THICKNESS, VR::DS, "3"),
                        ])],
                    ),
                    seq(
                        tags::PLANE_ORIENTATION_SEQUENCE,
                        vec![item(vec![text(
                            tags::IMAGE_ORIENTATION_PATIENT,
                            VR::DS,
                            "1\\0\\0\\0\\1\\0",
                        )])],
                    ),
                ])],
            ));
            let frames = (1..=32)
                .map(|f| {
                    item(vec![
                        seq(
                            tags::FRAME_CONTENT_SEQUENCE,
                            vec![item(vec![
                                text(
                                    tags::FRAME_ACQUISITION_DATE_TIME,
                                    VR::DT,
                                    &format!("{}101712.{f:03}", place.date()),
                                ),
                                text(
                                    tags::FRAME_REFERENCE_DATE_TIME,
                                    VR::DT,
                                    &format!("{}101712.{f:03}", place.date()),
                                ),
                                DataElement::new(
                                    tags::DIMENSION_INDEX_VALUES,
                                    VR::UL,
                                    PrimitiveValue::from([1u32, f]),
                                ),
                            ])],
                        ),
                        seq(
                            tags::PLANE_POSITION_SEQUENCE,
                            vec![item(vec![text(
                                tags::IMAGE_POSITION_PATIENT,
                                VR::DS,
                                &format!("-120\\-120\\{}", f * 3),
                            )])],
                        ),
                        seq(
                            tags::DERIVATION_IMAGE_SEQUENCE,
                            vec![item(vec![seq(
                                tags::SOURCE_IMAGE_SEQUENCE,
                                vec![item(vec![
                                    text(
                                        tags::REFERENCED_SOP_CLASS_UID,
                                        VR::UI,
                                        uids::MR_IMAGE_STORAGE,
                                    ),
                                    text(
                                        tags::REFERENCED_SOP_INSTANCE_UID,
                                        VR::UI,
                                        &format!("{}.8.{f}", place.series_uid()),
                                    ),
                                ])],
                            )])],
                        ),
                    ])
                })
                .collect();
            elements.push(seq(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, frames));
            GeneratedFile {
                rel: place.rel(),
                object: InMemDicomObject::from_element_iter(elements),
                ts: uids::EXPLICIT_VR_LITTLE_ENDIAN,
            }
        }
    }
}

/// `count` SR content items: containers of findings, each nested four deep, with free text
/// that repeats the patient's name, IDs and a date.
fn sr_content(place: &Place, count: usize) -> Vec<InMemDicomObject> {
    (0..count)
        .map(|i| {
            let leaf = item(vec![
                text(tags::RELATIONSHIP_TYPE, VR::CS, "HAS PROPERTIES"),
                text(tags::VALUE_TYPE, VR::CS, "TEXT"),
                seq(
                    tags::CONCEPT_NAME_CODE_SEQUENCE,
                    vec![code("121071", "DCM", "Finding")],
                ),
                text(
                    tags::TEXT_VALUE,
                    VR::UT,
                    &format!(
                        "Finding {i}: nodule unchanged since {}, patient {} (MRN{:07}).",
                        place.date(),
                        place.name(),
                        4_000_000 + place.patient
                    ),
                ),
            ]);
            let measurement = item(vec![
                text(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
                text(tags::VALUE_TYPE, VR::CS, "NUM"),
                seq(
                    tags::CONCEPT_NAME_CODE_SEQUENCE,
                    vec![code("410668003", "SCT", "Length")],
                ),
                seq(
                    tags::MEASURED_VALUE_SEQUENCE,
                    vec![item(vec![
                        text(tags::NUMERIC_VALUE, VR::DS, &format!("{}.5", i % 40)),
                        seq(
                            tags::MEASUREMENT_UNITS_CODE_SEQUENCE,
                            vec![code("mm", "UCUM", "millimeter")],
                        ),
                    ])],
                ),
                seq(tags::CONTENT_SEQUENCE, vec![leaf]),
            ]);
            item(vec![
                text(tags::RELATIONSHIP_TYPE, VR::CS, "CONTAINS"),
                text(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
                seq(
                    tags::CONCEPT_NAME_CODE_SEQUENCE,
                    vec![code("121070", "DCM", "Findings")],
                ),
                text(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
                seq(tags::CONTENT_SEQUENCE, vec![measurement]),
            ])
        })
        .collect()
}

/// The Part 10 bytes of a data set: preamble, meta group, data set, then `tail` (raw bytes
/// after the data set: the multi-frame file streams its pixel data that way).
pub fn to_part10(object: &InMemDicomObject, ts: &str, tail: &[u8]) -> Result<Vec<u8>> {
    let uid = |tag| -> Result<String> {
        Ok(object
            .element(tag)?
            .to_str()?
            .trim_end_matches('\0')
            .to_owned())
    };
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(uid(tags::SOP_CLASS_UID)?)
        .media_storage_sop_instance_uid(uid(tags::SOP_INSTANCE_UID)?)
        .transfer_syntax(ts)
        .implementation_class_uid(format!("{UID_ROOT}.0"))
        .implementation_version_name("DEID_BENCHGEN")
        .build()?;
    let mut out = Vec::new();
    out.write_all(&[0u8; 128])?;
    out.write_all(b"DICM")?;
    meta.write(&mut out)?;
    let ts = TransferSyntaxRegistry
        .get(ts)
        .ok_or("unknown transfer syntax")?;
    object.write_dataset_with_ts(&mut out, ts)?;
    out.write_all(tail)?;
    Ok(out)
}

/// The frame size of the multi-frame file: 512×512 16-bit.
pub const FRAME_LEN: u32 = 512 * 512 * 2;

/// The start of an enhanced-MR-like file of `frames` frames, up to and including the pixel
/// data element's header: its value (`frames` × [`FRAME_LEN`] bytes) is the caller's to
/// write, frame by frame.
pub fn multiframe_head(frames: u32) -> Result<Vec<u8>> {
    let place = Place::of(0, 1);
    let mut elements = place.composite(ENHANCED_MR, "MR");
    let mut image = image_module(1, 1, 1, 16, frames, 1);
    image.pop(); // the pixel data: only its header is written here
    elements.extend(image);
    elements.retain(|e| e.tag() != tags::ROWS && e.tag() != tags::COLUMNS);
    elements.extend([us(tags::ROWS, 512), us(tags::COLUMNS, 512)]);
    let object = InMemDicomObject::from_element_iter(elements);
    let total = u32::try_from(u64::from(FRAME_LEN) * u64::from(frames))
        .map_err(|_| "pixel data over 4 GB")?;
    let mut header = Vec::new();
    header.extend_from_slice(&0x7FE0u16.to_le_bytes());
    header.extend_from_slice(&0x0010u16.to_le_bytes());
    header.extend_from_slice(b"OW\0\0");
    header.extend_from_slice(&total.to_le_bytes());
    to_part10(&object, uids::EXPLICIT_VR_LITTLE_ENDIAN, &header)
}

/// A frame of the multi-frame file.
pub fn multiframe_frame() -> Vec<u8> {
    noise(FRAME_LEN as usize, 99, 12)
}
