//! Generates a synthetic PACS export of any size, for shard runs and throughput figures.
//!
//! Usage: `cargo run --release --example generate-archive -- OUT_DIR FILES [SIDE]`
//!
//! Writes FILES CT images of SIDE x SIDE 16-bit pixels (default 256, so 128 KiB of pixel data
//! each; a real CT slice is 512) as `OUT_DIR/SYNTH_Pnnnn/CT_yyyymmdd/SERnn/IMnnnnn.dcm`: 100
//! images a patient, in two series of 50, every image with its own UIDs, so no two inputs map
//! to one output. Like a real export it also holds one truncated file and one that is not
//! DICOM. Every identifying value is fake, UIDs use the fake root of `testdata/`, and the
//! output is the same bytes on every run. OUT_DIR must not exist or be empty.

use std::error::Error;
use std::fs;
use std::path::Path;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The fake UID root of the test data, with a branch of its own.
const UID_ROOT: &str = "1.2.826.0.1.3680043.10.9999.88";
const IMAGES_PER_SERIES: u32 = 50;
const SERIES_PER_PATIENT: u32 = 2;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(out_dir), Some(files)) = (args.first(), args.get(1)) else {
        return Err("usage: generate-archive OUT_DIR FILES [SIDE]".into());
    };
    let files: u32 = files.parse()?;
    let side: u16 = args.get(2).map_or(Ok(256), |s| s.parse())?;
    let out_dir = Path::new(out_dir);
    if fs::read_dir(out_dir).is_ok_and(|mut d| d.next().is_some()) {
        return Err(format!("{} is not empty", out_dir.display()).into());
    }
    let mut total = 0;
    let mut first = Vec::new();
    for index in 0..files {
        let (rel, bytes) = image(index, side)?;
        let path = out_dir.join(rel);
        fs::create_dir_all(path.parent().expect("images live in folders"))?;
        fs::write(&path, &bytes)?;
        total += bytes.len();
        if index == 0 {
            first = bytes;
        }
    }
    let broken = out_dir.join("SYNTH_BROKEN");
    fs::create_dir_all(&broken)?;
    fs::write(broken.join("IM00001.dcm"), &first[..first.len() / 2])?;
    fs::write(broken.join("EXPORT.TXT"), "export log: not a DICOM file\n")?;
    println!(
        "wrote {files} images ({total} bytes) and 2 broken files to {}",
        out_dir.display()
    );
    Ok(())
}

/// Image `index`: its path in the export and its bytes.
fn image(index: u32, side: u16) -> Result<(String, Vec<u8>)> {
    let per_patient = IMAGES_PER_SERIES * SERIES_PER_PATIENT;
    let patient = index / per_patient + 1;
    let series = index % per_patient / IMAGES_PER_SERIES + 1;
    let instance = index % IMAGES_PER_SERIES + 1;
    let study_date = format!("2020{:02}{:02}", patient % 12 + 1, patient % 28 + 1);
    let study_uid = format!("{UID_ROOT}.1.{patient}");
    let series_uid = format!("{study_uid}.{series}");
    let sop_uid = format!("{series_uid}.{instance}");
    let text = |tag, vr, value: &str| DataElement::new(tag, vr, PrimitiveValue::from(value));
    let short = |tag, value: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(value));
    let object = InMemDicomObject::from_element_iter([
        text(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
        text(tags::SOP_INSTANCE_UID, VR::UI, &sop_uid),
        text(tags::STUDY_DATE, VR::DA, &study_date),
        text(tags::STUDY_TIME, VR::TM, "101500"),
        text(tags::ACCESSION_NUMBER, VR::SH, &format!("ACC{patient:06}")),
        text(tags::MODALITY, VR::CS, "CT"),
        text(tags::INSTITUTION_NAME, VR::LO, "SYNTHETIC GENERAL HOSPITAL"),
        text(tags::REFERRING_PHYSICIAN_NAME, VR::PN, "REFERRER^SYNTH"),
        text(
            tags::STUDY_DESCRIPTION,
            VR::LO,
            &format!("CT SYNTH P{patient:04}"),
        ),
        text(
            tags::PATIENT_NAME,
            VR::PN,
            &format!("SYNTH^PATIENT{patient:04}"),
        ),
        text(tags::PATIENT_ID, VR::LO, &format!("SYN{patient:06}")),
        text(tags::PATIENT_BIRTH_DATE, VR::DA, "19600101"),
        text(
            tags::PATIENT_SEX,
            VR::CS,
            if patient.is_multiple_of(2) { "F" } else { "M" },
        ),
        text(tags::STUDY_INSTANCE_UID, VR::UI, &study_uid),
        text(tags::SERIES_INSTANCE_UID, VR::UI, &series_uid),
        text(tags::SERIES_NUMBER, VR::IS, &series.to_string()),
        text(tags::INSTANCE_NUMBER, VR::IS, &instance.to_string()),
        text(
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            &format!("{study_uid}.0"),
        ),
        short(tags::SAMPLES_PER_PIXEL, 1),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        short(tags::ROWS, side),
        short(tags::COLUMNS, side),
        short(tags::BITS_ALLOCATED, 16),
        short(tags::BITS_STORED, 12),
        short(tags::HIGH_BIT, 11),
        short(tags::PIXEL_REPRESENTATION, 0),
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U8(pixels(index, side).into()),
        ),
    ]);
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .media_storage_sop_class_uid(uids::CT_IMAGE_STORAGE)
        .media_storage_sop_instance_uid(&sop_uid)
        .implementation_class_uid(format!("{UID_ROOT}.0.1"));
    let mut bytes = Vec::new();
    object.with_meta(meta)?.write_all(&mut bytes)?;
    let rel = format!("SYNTH_P{patient:04}/CT_{study_date}/SER{series:02}/IM{instance:05}.dcm");
    Ok((rel, bytes))
}

/// 12-bit noise, the same for the same image on every run (xorshift seeded by the index).
fn pixels(index: u32, side: u16) -> Vec<u8> {
    let mut state = u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let count = usize::from(side) * usize::from(side);
    let mut out = Vec::with_capacity(count * 2);
    for _ in 0..count {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&((state >> 52) as u16).to_le_bytes());
    }
    out
}
