//! Generates the synthetic PACS export that the dicom-deid tests de-identify.
//!
//! Usage: `cargo run --example generate-testdata [OUT_DIR]` (default `testdata/pacs-export`).
//! OUT_DIR is recreated from scratch, and the list of planted identifying values is written
//! next to it as `planted-phi.txt`, one value per line. Every identifying value is fake and the
//! output is deterministic: the same bytes on every run.

use std::error::Error;
use std::fs;
use std::path::Path;

use dicom_core::value::{C, DataSetSequence, PixelFragmentSequence};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::mem::InMemElement;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::entries;

type Result<T> = std::result::Result<T, Box<dyn Error>>;
type Element = InMemElement;

const DEFAULT_OUT_DIR: &str = "testdata/pacs-export";
const PLANTED_FILE_NAME: &str = "planted-phi.txt";

/// Fake UID root of the input data; every UID is this root plus counters.
const UID_ROOT: &str = "1.2.826.0.1.3680043.10.9999";
const IMPLEMENTATION_VERSION_NAME: &str = "DEID_TESTGEN";
const SOURCE_AE_TITLE: &str = "SPRGH_PACS";
const FILE_SET_ID: &str = "PACS_EXPORT";

/// Retired, so the dictionary constants for these are deprecated.
const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";
const OTHER_PATIENT_IDS: Tag = Tag(0x0010, 0x1000);

const ACME_CREATOR: &str = "ACME_PRIVATE_1";
const OTHER_VENDOR_CREATOR: &str = "FAKEVENDOR_2";
/// Listed in the PS3.15 safe private attributes table: (00E1,xx21) DLP and (00E1,xx50)
/// Acquisition Duration are safe, (00E1,xx42) is not.
const ELSCINT_CREATOR: &str = "ELSCINT1";
const ACME_GROUP: u16 = 0x0009;
const ELSCINT_GROUP: u16 = 0x00E1;
const OVERLAY_GROUP: u16 = 0x6000;
const CURVE_GROUP: u16 = 0x5000;

/// A 1x1 grey PNG, written under a `.dcm` name.
const FAKE_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3A, 0x7E, 0x9B,
    0x55, 0x00, 0x00, 0x00, 0x0A, 0x49, 0x44, 0x41, 0x54, 0x78, 0xDA, 0x63, 0x68, 0x00, 0x00, 0x00,
    0x82, 0x00, 0x81, 0xDA, 0x45, 0x08, 0x3B, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE,
    0x42, 0x60, 0x82,
];

struct Patient {
    number: u32,
    name: &'static str,
    /// How free text (descriptions, comments, folder names) spells the name.
    spelled: &'static str,
    folder: &'static str,
    other_names: &'static str,
    id: &'static str,
    issuer: &'static str,
    other_id: &'static str,
    /// Specific Character Set; empty for the default repertoire.
    charset: &'static str,
    birth_date: &'static str,
    /// The birth date as a person would type it into a comment.
    birth_date_spelled: &'static str,
    sex: &'static str,
    address: &'static str,
    /// Backslash-separated values.
    phones: &'static str,
}

struct Site {
    institution: &'static str,
    address: &'static str,
    department: &'static str,
    station: &'static str,
    serial: &'static str,
    manufacturer: &'static str,
    model: &'static str,
}

struct Study {
    patient: &'static Patient,
    site: &'static Site,
    number: u32,
    folder: &'static str,
    procedure: &'static str,
    body_part: &'static str,
    date: &'static str,
    time: &'static str,
    age: &'static str,
    accession: &'static str,
    study_id: &'static str,
    requested_procedure_id: &'static str,
    step_id: &'static str,
    referring: &'static str,
    performing: &'static str,
    /// Backslash-separated values.
    operators: &'static str,
}

struct Series {
    study: &'static Study,
    number: u32,
    modality: &'static str,
    description: &'static str,
}

const DOE: Patient = Patient {
    number: 1,
    name: "DOE^JOHN",
    spelled: "DOE JOHN",
    folder: "DOE_JOHN_12345",
    other_names: "DOE^JOHNATHAN",
    id: "PID-12345",
    issuer: "SPRGH",
    other_id: "MRN-00998877",
    charset: "",
    birth_date: "19650412",
    birth_date_spelled: "04/12/1965",
    sex: "M",
    address: "42 NOWHERE LANE, SPRINGFIELD ZZ 00042",
    phones: "+1-555-0142\\+1-555-0199",
};

const MUELLER: Patient = Patient {
    number: 2,
    name: "MÜLLER^ZOË",
    spelled: "MÜLLER ZOË",
    folder: "MULLER_ZOE_67890",
    other_names: "SCHMIDT^ZOË",
    id: "PID-67890",
    issuer: "KLMU",
    other_id: "KLMU-4455667",
    charset: "ISO_IR 100",
    birth_date: "19880229",
    birth_date_spelled: "29.02.1988",
    sex: "F",
    address: "Erfundene Straße 7, 99999 Musterstadt",
    phones: "+49 9999 123456",
};

const YAMADA: Patient = Patient {
    number: 3,
    name: "YAMADA^TARO=山田^太郎=やまだ^たろう",
    spelled: "YAMADA TARO 山田太郎",
    folder: "YAMADA_T_24680",
    other_names: "YAMADA^TAROU=山田^太郎",
    id: "PID-24680",
    issuer: "SAKURA",
    other_id: "SAKURA-778899",
    charset: "ISO_IR 192",
    birth_date: "19751120",
    birth_date_spelled: "1975-11-20",
    sex: "M",
    address: "東京都架空区山田町4-5-6",
    phones: "+81-3-5555-0123\\+81-90-5555-0456",
};

const SPRINGFIELD: Site = Site {
    institution: "SPRINGFIELD GENERAL HOSPITAL",
    address: "1 HOSPITAL DRIVE, SPRINGFIELD ZZ 00001",
    department: "RADIOLOGY",
    station: "SPRGH-CT01",
    serial: "SN-CT-0098765",
    manufacturer: "ELSCINT",
    model: "FAKESCAN CT 64",
};

const SPRINGFIELD_US: Site = Site {
    institution: "SPRINGFIELD GENERAL HOSPITAL",
    address: "1 HOSPITAL DRIVE, SPRINGFIELD ZZ 00001",
    department: "ULTRASOUND",
    station: "SPRGH-US02",
    serial: "SN-US-0011223",
    manufacturer: "ACME",
    model: "FAKESOUND 3",
};

const KLINIKUM: Site = Site {
    institution: "Klinikum Musterstadt",
    address: "Klinikstraße 5, 99999 Musterstadt",
    department: "Neuroradiologie",
    station: "KLMU-MR03",
    serial: "SN-MR-0055443",
    manufacturer: "ACME",
    model: "FAKEMAG 1.5T",
};

const SAKURA: Site = Site {
    institution: "さくら総合病院 SAKURA HOSPITAL",
    address: "東京都架空区桜1-2-3",
    department: "放射線科",
    station: "SAKURA-CT05",
    serial: "SN-CT-0077889",
    manufacturer: "ACME",
    model: "FAKESCAN CT 16",
};

const DOE_CT: Study = Study {
    patient: &DOE,
    site: &SPRINGFIELD,
    number: 1,
    folder: "CT_20190312",
    procedure: "CT CHEST",
    body_part: "CHEST",
    date: "20190312",
    time: "093000",
    age: "053Y",
    accession: "ACCN190312001",
    study_id: "STU-7701",
    requested_procedure_id: "RP-5501",
    step_id: "SPS-3301",
    referring: "KOVACS^ANNA^^DR",
    performing: "OKAFOR^CHIDI",
    operators: "LINDQVIST^ERIK\\BRANDT^HELGA",
};

const DOE_US: Study = Study {
    patient: &DOE,
    site: &SPRINGFIELD_US,
    number: 2,
    folder: "US_20190415",
    procedure: "US ABDOMEN",
    body_part: "ABDOMEN",
    date: "20190415",
    time: "141500",
    age: "054Y",
    accession: "ACCN190415002",
    study_id: "STU-7702",
    requested_procedure_id: "RP-5502",
    step_id: "SPS-3302",
    referring: "KOVACS^ANNA^^DR",
    performing: "OKAFOR^CHIDI",
    operators: "BRANDT^HELGA",
};

const MUELLER_MR: Study = Study {
    patient: &MUELLER,
    site: &KLINIKUM,
    number: 1,
    folder: "MR_20200105",
    procedure: "MR SCHÄDEL",
    body_part: "HEAD",
    date: "20200105",
    time: "081500",
    age: "031Y",
    accession: "ACCN200105003",
    study_id: "STU-7703",
    requested_procedure_id: "RP-5503",
    step_id: "SPS-3303",
    referring: "WEBER^KLAUS^^DR.",
    performing: "SCHÄFER^JÜRGEN",
    operators: "LEHMANN^PETRA",
};

const MUELLER_SC: Study = Study {
    patient: &MUELLER,
    site: &KLINIKUM,
    number: 2,
    folder: "SC_20200220",
    procedure: "SC BEFUND",
    body_part: "HEAD",
    date: "20200220",
    time: "160000",
    age: "031Y",
    accession: "ACCN200220004",
    study_id: "STU-7704",
    requested_procedure_id: "RP-5504",
    step_id: "SPS-3304",
    referring: "WEBER^KLAUS^^DR.",
    performing: "SCHÄFER^JÜRGEN",
    operators: "LEHMANN^PETRA",
};

const YAMADA_CT: Study = Study {
    patient: &YAMADA,
    site: &SAKURA,
    number: 1,
    folder: "CT_20210707",
    procedure: "CT ABDOMEN",
    body_part: "ABDOMEN",
    date: "20210707",
    time: "103000",
    age: "045Y",
    accession: "ACCN210707005",
    study_id: "STU-7705",
    requested_procedure_id: "RP-5505",
    step_id: "SPS-3305",
    referring: "SATO^HANAKO=佐藤^花子",
    performing: "TANAKA^KENJI=田中^健二",
    operators: "SUZUKI^YUKI=鈴木^由紀",
};

const YAMADA_US: Study = Study {
    patient: &YAMADA,
    site: &SAKURA,
    number: 2,
    folder: "US_20210808",
    procedure: "US THYROID",
    body_part: "THYROID",
    date: "20210808",
    time: "111100",
    age: "045Y",
    accession: "ACCN210808006",
    study_id: "STU-7706",
    requested_procedure_id: "RP-5506",
    step_id: "SPS-3306",
    referring: "SATO^HANAKO=佐藤^花子",
    performing: "TANAKA^KENJI=田中^健二",
    operators: "SUZUKI^YUKI=鈴木^由紀",
};

const DOE_CT_AXIAL: Series = Series {
    study: &DOE_CT,
    number: 1,
    modality: "CT",
    description: "AXIAL 5MM",
};
const DOE_CT_SCOUT: Series = Series {
    study: &DOE_CT,
    number: 2,
    modality: "CT",
    description: "SCOUT",
};
const DOE_SR: Series = Series {
    study: &DOE_CT,
    number: 900,
    modality: "SR",
    description: "REPORT",
};
const DOE_US_CINE: Series = Series {
    study: &DOE_US,
    number: 1,
    modality: "US",
    description: "LIVER CINE",
};
const MUELLER_MR_T1: Series = Series {
    study: &MUELLER_MR,
    number: 1,
    modality: "MR",
    description: "T1 SE TRA",
};
const MUELLER_SCREEN: Series = Series {
    study: &MUELLER_SC,
    number: 1,
    modality: "OT",
    description: "BEFUND SCREENSHOT",
};
const YAMADA_CT_AXIAL: Series = Series {
    study: &YAMADA_CT,
    number: 1,
    modality: "CT",
    description: "AXIAL 3MM",
};
const YAMADA_US_THYROID: Series = Series {
    study: &YAMADA_US,
    number: 1,
    modality: "US",
    description: "THYROID",
};

const PATIENTS: [&Patient; 3] = [&DOE, &MUELLER, &YAMADA];
const STUDIES: [&Study; 6] = [
    &DOE_CT,
    &DOE_US,
    &MUELLER_MR,
    &MUELLER_SC,
    &YAMADA_CT,
    &YAMADA_US,
];
const SITES: [&Site; 4] = [&SPRINGFIELD, &SPRINGFIELD_US, &KLINIKUM, &SAKURA];

impl Study {
    fn uid(&self) -> String {
        format!("{UID_ROOT}.1.{}.{}", self.patient.number, self.number)
    }

    fn description(&self) -> String {
        format!(
            "{} for {} {}",
            self.procedure, self.patient.spelled, self.patient.id
        )
    }
}

impl Series {
    fn path(&self) -> String {
        format!(
            "{}.{}.{}",
            self.study.patient.number, self.study.number, self.number
        )
    }

    fn uid(&self) -> String {
        format!("{UID_ROOT}.2.{}", self.path())
    }

    fn frame_of_reference_uid(&self) -> String {
        format!("{UID_ROOT}.3.{}", self.path())
    }

    fn sop_uid(&self, instance: u32) -> String {
        format!("{UID_ROOT}.4.{}.{instance}", self.path())
    }
}

/// How a DICOM object is stored on disk.
enum Encoding {
    /// A Part 10 file: preamble, meta group, data set in this transfer syntax.
    Part10(&'static str),
    /// A bare implicit VR little endian data set without preamble or meta group.
    NoMeta,
    /// A Part 10 explicit VR little endian file cut in the middle of this value.
    TruncatedIn(String),
}

struct DicomFile {
    path: String,
    object: InMemDicomObject,
    encoding: Encoding,
}

enum Pixels {
    U8(Vec<u8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
}

impl Pixels {
    fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            Pixels::U8(values) => values.clone(),
            Pixels::U16(values) => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Pixels::I16(values) => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
}

fn main() -> Result<()> {
    let out_dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_OUT_DIR.to_owned());
    let out_dir = Path::new(&out_dir);
    let files = export_files()?;
    recreate_dir(out_dir)?;
    let mut total = 0;
    for (path, bytes) in &files {
        let target = out_dir.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(&target, bytes)?;
        total += bytes.len();
    }
    let planted = out_dir
        .parent()
        .unwrap_or_else(|| Path::new("."))
        .join(PLANTED_FILE_NAME);
    fs::write(&planted, planted_values().join("\n") + "\n")?;
    println!(
        "wrote {} files ({total} bytes) to {} and the planted values to {}",
        files.len(),
        out_dir.display(),
        planted.display()
    );
    Ok(())
}

/// Removes a previous export (recognised by its DICOMDIR) and creates an empty directory.
fn recreate_dir(dir: &Path) -> Result<()> {
    if dir.exists() {
        let is_empty = fs::read_dir(dir)?.next().is_none();
        if !is_empty && !dir.join("DICOMDIR").is_file() {
            return Err(format!(
                "{} exists and is not a previous export (no DICOMDIR): not deleting it",
                dir.display()
            )
            .into());
        }
        fs::remove_dir_all(dir)?;
    }
    fs::create_dir_all(dir)?;
    Ok(())
}

/// Every file of the export as (relative path, content).
fn export_files() -> Result<Vec<(String, Vec<u8>)>> {
    let dicom_files = dicom_files();
    let mut files = vec![("DICOMDIR".to_owned(), dicomdir(&dicom_files)?)];
    for file in dicom_files {
        files.push((file.path, encode(&file.object, &file.encoding)?));
    }
    files.push(("README.TXT".to_owned(), export_readme().into_bytes()));
    files.push((
        format!("{}/{}/preview.dcm", MUELLER.folder, MUELLER_SC.folder),
        FAKE_PNG.to_vec(),
    ));
    files.push((
        format!("{}/{}/IM0002", YAMADA.folder, YAMADA_US.folder),
        Vec::new(),
    ));
    Ok(files)
}

fn dicom_files() -> Vec<DicomFile> {
    let file = |series: &Series, name: &str, object, encoding| DicomFile {
        path: format!(
            "{}/{}/{name}",
            series.study.patient.folder, series.study.folder
        ),
        object,
        encoding,
    };
    vec![
        file(
            &DOE_CT_AXIAL,
            "SER001/IM0001",
            doe_ct_first(),
            Encoding::Part10(uids::EXPLICIT_VR_LITTLE_ENDIAN),
        ),
        file(
            &DOE_CT_AXIAL,
            "SER001/IM0002",
            doe_ct_second(),
            Encoding::Part10(uids::IMPLICIT_VR_LITTLE_ENDIAN),
        ),
        file(
            &DOE_CT_AXIAL,
            "SER001/IM0003",
            ct_image(&DOE_CT_AXIAL, 3, true),
            Encoding::TruncatedIn(DOE_CT.description()),
        ),
        file(
            &DOE_CT_SCOUT,
            "SER002/00000001",
            ct_image(&DOE_CT_SCOUT, 1, true),
            Encoding::NoMeta,
        ),
        file(
            &DOE_SR,
            "DOE_JOHN_report.dcm",
            doe_report(),
            Encoding::Part10(uids::EXPLICIT_VR_LITTLE_ENDIAN),
        ),
        file(
            &DOE_US_CINE,
            "us_cine_001.dcm",
            doe_us_cine(),
            Encoding::Part10(uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN),
        ),
        file(
            &MUELLER_MR_T1,
            "S1/MR000001",
            mueller_mr(1),
            Encoding::Part10(uids::EXPLICIT_VR_LITTLE_ENDIAN),
        ),
        file(
            &MUELLER_MR_T1,
            "S1/MR000002.dcm",
            with(
                mueller_mr(2),
                [referenced_images(
                    tags::REFERENCED_IMAGE_SEQUENCE,
                    uids::MR_IMAGE_STORAGE,
                    &MUELLER_MR_T1.sop_uid(1),
                )],
            ),
            Encoding::Part10(EXPLICIT_VR_BIG_ENDIAN),
        ),
        file(
            &MUELLER_SCREEN,
            "SC000001",
            mueller_screenshot(),
            Encoding::Part10(uids::RLE_LOSSLESS),
        ),
        file(
            &YAMADA_CT_AXIAL,
            "IM000001",
            with(
                ct_image(&YAMADA_CT_AXIAL, 1, false),
                acme_private(0x10, &YAMADA_CT),
            ),
            Encoding::Part10(uids::IMPLICIT_VR_LITTLE_ENDIAN),
        ),
        file(
            &YAMADA_CT_AXIAL,
            "IM000002",
            yamada_ct_encapsulated(),
            Encoding::Part10(uids::ENCAPSULATED_UNCOMPRESSED_EXPLICIT_VR_LITTLE_ENDIAN),
        ),
        file(
            &YAMADA_US_THYROID,
            "山田太郎_US.dcm",
            yamada_us(),
            Encoding::Part10(uids::EXPLICIT_VR_LITTLE_ENDIAN),
        ),
    ]
}

fn doe_ct_first() -> InMemDicomObject {
    let mut elements = vec![
        request_attributes(&DOE_CT_AXIAL),
        seq(
            tags::REFERENCED_STUDY_SEQUENCE,
            vec![item(vec![
                text(
                    tags::REFERENCED_SOP_CLASS_UID,
                    VR::UI,
                    "1.2.840.10008.3.1.2.3.1",
                ),
                text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, &DOE_CT.uid()),
            ])],
        ),
        text(
            tags::ADDITIONAL_PATIENT_HISTORY,
            VR::LT,
            &format!(
                "Referred by {} for {} ({})",
                spelled_name(DOE_CT.referring),
                DOE.spelled,
                DOE.id
            ),
        ),
    ];
    elements.extend(acme_private(0x10, &DOE_CT));
    elements.extend(elscint_private(&DOE));
    elements.extend(overlay(32, &format!("Patient {}", DOE.spelled)));
    with(ct_image(&DOE_CT_AXIAL, 1, true), elements)
}

fn doe_ct_second() -> InMemDicomObject {
    let mut elements = vec![referenced_images(
        tags::REFERENCED_IMAGE_SEQUENCE,
        uids::CT_IMAGE_STORAGE,
        &DOE_CT_AXIAL.sop_uid(1),
    )];
    elements.extend(acme_private(0x10, &DOE_CT));
    elements.extend(elscint_private(&DOE));
    with(ct_image(&DOE_CT_AXIAL, 2, true), elements)
}

fn yamada_ct_encapsulated() -> InMemDicomObject {
    let frame = ct_pixels(32, 2, false).to_le_bytes();
    with(
        ct_header(&YAMADA_CT_AXIAL, 2, false),
        [
            referenced_images(
                tags::REFERENCED_IMAGE_SEQUENCE,
                uids::CT_IMAGE_STORAGE,
                &YAMADA_CT_AXIAL.sop_uid(1),
            ),
            encapsulated_pixel_data(vec![frame]),
        ],
    )
}

/// A 32x32 MONOCHROME2 CT image: 16 bits stored and signed, or 12 bits stored and unsigned.
fn ct_image(series: &Series, instance: u32, signed: bool) -> InMemDicomObject {
    let pixels = ct_pixels(32, instance, signed);
    with(
        ct_header(series, instance, signed),
        [native_pixel_data(pixels)],
    )
}

fn ct_header(series: &Series, instance: u32, signed: bool) -> InMemDicomObject {
    let (bits_stored, intercept) = if signed { (16, "0") } else { (12, "-1024") };
    let mut elements = vec![
        text(tags::KVP, VR::DS, "120"),
        text(tags::SLICE_THICKNESS, VR::DS, "5"),
        text(tags::ACQUISITION_NUMBER, VR::IS, "1"),
        text(tags::RESCALE_INTERCEPT, VR::DS, intercept),
        text(tags::RESCALE_SLOPE, VR::DS, "1"),
        text(tags::RESCALE_TYPE, VR::LO, "HU"),
        text(tags::WINDOW_CENTER, VR::DS, "40"),
        text(tags::WINDOW_WIDTH, VR::DS, "400"),
    ];
    elements.extend(image_plane(series, instance));
    elements.extend(image_pixel("MONOCHROME2", 32, 1, 16, bits_stored, signed));
    with(
        image(
            series,
            uids::CT_IMAGE_STORAGE,
            instance,
            "ORIGINAL\\PRIMARY\\AXIAL",
        ),
        elements,
    )
}

fn mueller_mr(instance: u32) -> InMemDicomObject {
    let mut elements = vec![
        text(tags::SCANNING_SEQUENCE, VR::CS, "SE"),
        text(tags::SEQUENCE_VARIANT, VR::CS, "NONE"),
        text(tags::SCAN_OPTIONS, VR::CS, ""),
        text(tags::MR_ACQUISITION_TYPE, VR::CS, "2D"),
        text(tags::SLICE_THICKNESS, VR::DS, "4"),
        text(tags::REPETITION_TIME, VR::DS, "500"),
        text(tags::ECHO_TIME, VR::DS, "15"),
        text(tags::ECHO_TRAIN_LENGTH, VR::IS, "1"),
        text(tags::MAGNETIC_FIELD_STRENGTH, VR::DS, "1.5"),
        text(
            tags::ACQUISITION_DATE_TIME,
            VR::DT,
            &format!("{}081733.250000+0100", MUELLER_MR.date),
        ),
        native_pixel_data(mr_pixels(32, instance)),
    ];
    elements.extend(image_plane(&MUELLER_MR_T1, instance));
    elements.extend(image_pixel("MONOCHROME2", 32, 1, 16, 12, false));
    elements.extend(other_vendor_then_acme_private(&MUELLER_MR));
    with(
        image(
            &MUELLER_MR_T1,
            uids::MR_IMAGE_STORAGE,
            instance,
            "ORIGINAL\\PRIMARY\\OTHER",
        ),
        elements,
    )
}

fn mueller_screenshot() -> InMemDicomObject {
    let size = 32;
    let mut elements = vec![
        text(tags::CONVERSION_TYPE, VR::CS, "WSD"),
        text(tags::PATIENT_ORIENTATION, VR::CS, ""),
        text(tags::BURNED_IN_ANNOTATION, VR::CS, "NO"),
        referenced_images(
            tags::SOURCE_IMAGE_SEQUENCE,
            uids::MR_IMAGE_STORAGE,
            &MUELLER_MR_T1.sop_uid(1),
        ),
        rle_pixel_data(&banded_gray(size), size),
    ];
    elements.extend(image_pixel("MONOCHROME1", size, 1, 8, 8, false));
    with(
        image(
            &MUELLER_SCREEN,
            uids::SECONDARY_CAPTURE_IMAGE_STORAGE,
            1,
            "DERIVED\\SECONDARY",
        ),
        elements,
    )
}

fn doe_us_cine() -> InMemDicomObject {
    let (size, frames) = (16, 3);
    let mut elements = vec![
        text(tags::PATIENT_ORIENTATION, VR::CS, ""),
        text(tags::BURNED_IN_ANNOTATION, VR::CS, "YES"),
        DataElement::new(
            tags::FRAME_INCREMENT_POINTER,
            VR::AT,
            PrimitiveValue::Tags(C::from_elem(tags::FRAME_TIME, 1)),
        ),
        text(tags::FRAME_TIME, VR::DS, "33.3"),
        us(tags::PLANAR_CONFIGURATION, &[0]),
        text(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"),
        native_pixel_data(Pixels::U8(us_rgb_frames(size, frames))),
    ];
    elements.extend(image_pixel("RGB", size, frames, 8, 8, false));
    elements.extend(curve(&format!("CURVE {}", DOE.spelled)));
    with(
        image(
            &DOE_US_CINE,
            uids::ULTRASOUND_MULTI_FRAME_IMAGE_STORAGE,
            1,
            "ORIGINAL\\PRIMARY\\ABDOMINAL",
        ),
        elements,
    )
}

fn yamada_us() -> InMemDicomObject {
    let size = 16;
    let mut elements = vec![
        text(tags::PATIENT_ORIENTATION, VR::CS, ""),
        text(tags::BURNED_IN_ANNOTATION, VR::CS, "NO"),
        text(tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00"),
        native_pixel_data(Pixels::U8(banded_gray(size))),
    ];
    elements.extend(image_pixel("MONOCHROME2", size, 1, 8, 8, false));
    with(
        image(
            &YAMADA_US_THYROID,
            uids::ULTRASOUND_IMAGE_STORAGE,
            1,
            "ORIGINAL\\PRIMARY\\SMALL PARTS",
        ),
        elements,
    )
}

/// A Basic Text SR report on the first CT series, with nested content and references.
fn doe_report() -> InMemDicomObject {
    let series = &DOE_SR;
    let (first, second) = (DOE_CT_AXIAL.sop_uid(1), DOE_CT_AXIAL.sop_uid(2));
    let referenced_sop = |uid: &str| {
        item(vec![
            text(
                tags::REFERENCED_SOP_CLASS_UID,
                VR::UI,
                uids::CT_IMAGE_STORAGE,
            ),
            text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, uid),
        ])
    };
    let evidence = item(vec![
        text(tags::STUDY_INSTANCE_UID, VR::UI, &DOE_CT.uid()),
        seq(
            tags::REFERENCED_SERIES_SEQUENCE,
            vec![item(vec![
                text(tags::SERIES_INSTANCE_UID, VR::UI, &DOE_CT_AXIAL.uid()),
                seq(
                    tags::REFERENCED_SOP_SEQUENCE,
                    vec![referenced_sop(&first), referenced_sop(&second)],
                ),
            ])],
        ),
    ]);
    let finding = format!(
        "No acute findings. {} ({}), DOB {}, seen by {}.",
        DOE.spelled,
        DOE.id,
        DOE.birth_date_spelled,
        spelled_name(DOE_CT.referring)
    );
    let impression = content_item(
        "CONTAINS",
        "CONTAINER",
        code("121073", "DCM", "Impression"),
        vec![
            text(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
            seq(
                tags::CONTENT_SEQUENCE,
                vec![
                    content_item(
                        "CONTAINS",
                        "TEXT",
                        code("121071", "DCM", "Finding"),
                        vec![text(tags::TEXT_VALUE, VR::UT, &finding)],
                    ),
                    content_item(
                        "CONTAINS",
                        "PNAME",
                        code("121008", "DCM", "Person Observer Name"),
                        vec![text(tags::PERSON_NAME, VR::PN, DOE_CT.referring)],
                    ),
                    content_item(
                        "CONTAINS",
                        "UIDREF",
                        code("110180", "DCM", "Study Instance UID"),
                        vec![text(tags::UID, VR::UI, &DOE_CT.uid())],
                    ),
                ],
            ),
        ],
    );
    let findings = content_item(
        "CONTAINS",
        "CONTAINER",
        code("121070", "DCM", "Findings"),
        vec![
            text(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
            seq(
                tags::CONTENT_SEQUENCE,
                vec![
                    impression,
                    content_item(
                        "CONTAINS",
                        "IMAGE",
                        code("121080", "DCM", "Best illustration of finding"),
                        vec![seq(
                            tags::REFERENCED_SOP_SEQUENCE,
                            vec![referenced_sop(&first)],
                        )],
                    ),
                ],
            ),
        ],
    );
    let observer = content_item(
        "HAS OBS CONTEXT",
        "PNAME",
        code("121008", "DCM", "Person Observer Name"),
        vec![text(tags::PERSON_NAME, VR::PN, DOE_CT.performing)],
    );
    with(
        composite(series, uids::BASIC_TEXT_SR_STORAGE, 1),
        [
            text(tags::VALUE_TYPE, VR::CS, "CONTAINER"),
            seq(
                tags::CONCEPT_NAME_CODE_SEQUENCE,
                vec![code("18748-4", "LN", "Diagnostic Imaging Report")],
            ),
            text(tags::CONTINUITY_OF_CONTENT, VR::CS, "SEPARATE"),
            text(tags::COMPLETION_FLAG, VR::CS, "COMPLETE"),
            text(tags::VERIFICATION_FLAG, VR::CS, "VERIFIED"),
            seq(
                tags::VERIFYING_OBSERVER_SEQUENCE,
                vec![item(vec![
                    text(tags::VERIFYING_OBSERVER_NAME, VR::PN, DOE_CT.referring),
                    seq(
                        tags::VERIFYING_OBSERVER_IDENTIFICATION_CODE_SEQUENCE,
                        vec![],
                    ),
                    text(
                        tags::VERIFYING_ORGANIZATION,
                        VR::LO,
                        SPRINGFIELD.institution,
                    ),
                    text(
                        tags::VERIFICATION_DATE_TIME,
                        VR::DT,
                        &format!("{}170000", DOE_CT.date),
                    ),
                ])],
            ),
            seq(tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE, vec![]),
            seq(tags::PERFORMED_PROCEDURE_CODE_SEQUENCE, vec![]),
            seq(
                tags::CURRENT_REQUESTED_PROCEDURE_EVIDENCE_SEQUENCE,
                vec![evidence],
            ),
            seq(tags::CONTENT_SEQUENCE, vec![observer, findings]),
        ],
    )
}

/// Patient, study, series, equipment and SOP common attributes shared by every object.
fn composite(series: &Series, sop_class: &str, instance: u32) -> InMemDicomObject {
    let study = series.study;
    let patient = study.patient;
    let site = study.site;
    let mut elements = vec![
        text(tags::SOP_CLASS_UID, VR::UI, sop_class),
        text(tags::SOP_INSTANCE_UID, VR::UI, &series.sop_uid(instance)),
        text(tags::STUDY_DATE, VR::DA, study.date),
        text(tags::SERIES_DATE, VR::DA, study.date),
        text(tags::CONTENT_DATE, VR::DA, study.date),
        text(tags::STUDY_TIME, VR::TM, study.time),
        text(tags::SERIES_TIME, VR::TM, study.time),
        text(tags::CONTENT_TIME, VR::TM, study.time),
        text(tags::ACCESSION_NUMBER, VR::SH, study.accession),
        text(tags::MODALITY, VR::CS, series.modality),
        text(tags::BODY_PART_EXAMINED, VR::CS, study.body_part),
        text(tags::MANUFACTURER, VR::LO, site.manufacturer),
        text(tags::INSTITUTION_NAME, VR::LO, site.institution),
        text(tags::INSTITUTION_ADDRESS, VR::ST, site.address),
        text(tags::REFERRING_PHYSICIAN_NAME, VR::PN, study.referring),
        text(tags::STATION_NAME, VR::SH, site.station),
        text(tags::STUDY_DESCRIPTION, VR::LO, &study.description()),
        text(
            tags::SERIES_DESCRIPTION,
            VR::LO,
            &format!("{} {}", series.description, patient.spelled),
        ),
        text(tags::INSTITUTIONAL_DEPARTMENT_NAME, VR::LO, site.department),
        text(tags::PERFORMING_PHYSICIAN_NAME, VR::PN, study.performing),
        text(tags::OPERATORS_NAME, VR::PN, study.operators),
        text(tags::MANUFACTURER_MODEL_NAME, VR::LO, site.model),
        text(tags::PATIENT_NAME, VR::PN, patient.name),
        text(tags::PATIENT_ID, VR::LO, patient.id),
        text(tags::ISSUER_OF_PATIENT_ID, VR::LO, patient.issuer),
        text(tags::PATIENT_BIRTH_DATE, VR::DA, patient.birth_date),
        text(tags::PATIENT_SEX, VR::CS, patient.sex),
        text(OTHER_PATIENT_IDS, VR::LO, patient.other_id),
        text(tags::OTHER_PATIENT_NAMES, VR::PN, patient.other_names),
        seq(
            tags::OTHER_PATIENT_I_DS_SEQUENCE,
            vec![item(vec![
                text(tags::PATIENT_ID, VR::LO, patient.other_id),
                text(tags::ISSUER_OF_PATIENT_ID, VR::LO, patient.issuer),
                text(tags::TYPE_OF_PATIENT_ID, VR::CS, "TEXT"),
            ])],
        ),
        text(tags::PATIENT_AGE, VR::AS, study.age),
        text(tags::PATIENT_ADDRESS, VR::LO, patient.address),
        text(tags::PATIENT_TELEPHONE_NUMBERS, VR::SH, patient.phones),
        text(tags::DEVICE_SERIAL_NUMBER, VR::LO, site.serial),
        text(tags::SOFTWARE_VERSIONS, VR::LO, "FAKE 1.0"),
        text(tags::STUDY_INSTANCE_UID, VR::UI, &study.uid()),
        text(tags::SERIES_INSTANCE_UID, VR::UI, &series.uid()),
        text(tags::STUDY_ID, VR::SH, study.study_id),
        text(tags::SERIES_NUMBER, VR::IS, &series.number.to_string()),
        text(tags::INSTANCE_NUMBER, VR::IS, &instance.to_string()),
    ];
    if !patient.charset.is_empty() {
        elements.push(text(tags::SPECIFIC_CHARACTER_SET, VR::CS, patient.charset));
    }
    InMemDicomObject::from_element_iter(elements)
}

/// [`composite`] plus the general image and acquisition attributes.
fn image(series: &Series, sop_class: &str, instance: u32, image_type: &str) -> InMemDicomObject {
    let study = series.study;
    let patient = study.patient;
    with(
        composite(series, sop_class, instance),
        [
            text(tags::IMAGE_TYPE, VR::CS, image_type),
            text(tags::ACQUISITION_DATE, VR::DA, study.date),
            text(tags::ACQUISITION_TIME, VR::TM, study.time),
            text(
                tags::IMAGE_COMMENTS,
                VR::LT,
                &format!("{} DOB {}", patient.spelled, patient.birth_date_spelled),
            ),
        ],
    )
}

/// Frame of reference and image plane attributes; the frame of reference is shared per series.
fn image_plane(series: &Series, instance: u32) -> Vec<Element> {
    let z = format!("{:.1}", f64::from(instance) * 5.0);
    vec![
        text(
            tags::FRAME_OF_REFERENCE_UID,
            VR::UI,
            &series.frame_of_reference_uid(),
        ),
        text(tags::POSITION_REFERENCE_INDICATOR, VR::LO, ""),
        text(tags::PATIENT_POSITION, VR::CS, "HFS"),
        text(
            tags::IMAGE_POSITION_PATIENT,
            VR::DS,
            &format!("-12.8\\-12.8\\{z}"),
        ),
        text(tags::IMAGE_ORIENTATION_PATIENT, VR::DS, "1\\0\\0\\0\\1\\0"),
        text(tags::SLICE_LOCATION, VR::DS, &z),
        text(tags::PIXEL_SPACING, VR::DS, "0.8\\0.8"),
    ]
}

/// Image pixel module attributes, except the pixel data itself.
fn image_pixel(
    photometric: &str,
    size: u16,
    frames: u16,
    bits_allocated: u16,
    bits_stored: u16,
    signed: bool,
) -> Vec<Element> {
    let samples = if photometric == "RGB" { 3 } else { 1 };
    let mut elements = vec![
        us(tags::SAMPLES_PER_PIXEL, &[samples]),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, photometric),
        us(tags::ROWS, &[size]),
        us(tags::COLUMNS, &[size]),
        us(tags::BITS_ALLOCATED, &[bits_allocated]),
        us(tags::BITS_STORED, &[bits_stored]),
        us(tags::HIGH_BIT, &[bits_stored - 1]),
        us(tags::PIXEL_REPRESENTATION, &[u16::from(signed)]),
    ];
    if frames > 1 {
        elements.push(text(tags::NUMBER_OF_FRAMES, VR::IS, &frames.to_string()));
    }
    elements
}

/// Request attributes with identifiers nested four sequences deep:
/// RequestAttributesSequence > ScheduledProtocolCodeSequence > ProtocolContextSequence >
/// ConceptNameCodeSequence, with a person name, free text and a UID at depth three.
fn request_attributes(series: &Series) -> Element {
    let study = series.study;
    let patient = study.patient;
    let context = |value_type: &str, concept: InMemDicomObject, value: Element| {
        item(vec![
            text(tags::VALUE_TYPE, VR::CS, value_type),
            seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![concept]),
            value,
        ])
    };
    let protocol = with(
        code("FAKE-PROT-1", "99FAKE", "Chest routine"),
        [seq(
            tags::PROTOCOL_CONTEXT_SEQUENCE,
            vec![
                context(
                    "PNAME",
                    code("121008", "DCM", "Person Observer Name"),
                    text(tags::PERSON_NAME, VR::PN, study.performing),
                ),
                context(
                    "TEXT",
                    code("121106", "DCM", "Comment"),
                    text(
                        tags::TEXT_VALUE,
                        VR::UT,
                        &format!("Scheduled for {} {}", patient.spelled, patient.id),
                    ),
                ),
                context(
                    "UIDREF",
                    code("110180", "DCM", "Study Instance UID"),
                    text(tags::UID, VR::UI, &study.uid()),
                ),
            ],
        )],
    );
    seq(
        tags::REQUEST_ATTRIBUTES_SEQUENCE,
        vec![item(vec![
            text(tags::ACCESSION_NUMBER, VR::SH, study.accession),
            text(tags::STUDY_INSTANCE_UID, VR::UI, &study.uid()),
            text(
                tags::REQUESTED_PROCEDURE_ID,
                VR::SH,
                study.requested_procedure_id,
            ),
            text(tags::SCHEDULED_PROCEDURE_STEP_ID, VR::SH, study.step_id),
            text(
                tags::SCHEDULED_PROCEDURE_STEP_DESCRIPTION,
                VR::LO,
                &study.description(),
            ),
            seq(tags::SCHEDULED_PROTOCOL_CODE_SEQUENCE, vec![protocol]),
        ])],
    )
}

fn referenced_images(tag: Tag, sop_class: &str, sop_instance: &str) -> Element {
    seq(
        tag,
        vec![item(vec![
            text(tags::REFERENCED_SOP_CLASS_UID, VR::UI, sop_class),
            text(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, sop_instance),
        ])],
    )
}

/// The ACME private block in reservation slot `slot`: patient name, patient ID and a private
/// sequence holding the name and accession number again.
fn acme_private(slot: u16, study: &Study) -> Vec<Element> {
    let patient = study.patient;
    let tag = |element: u16| Tag(ACME_GROUP, slot << 8 | element);
    vec![
        text(Tag(ACME_GROUP, slot), VR::LO, ACME_CREATOR),
        text(tag(0x01), VR::LO, patient.name),
        text(tag(0x02), VR::LO, patient.id),
        seq(
            tag(0x03),
            vec![item(vec![
                text(Tag(ACME_GROUP, slot), VR::LO, ACME_CREATOR),
                text(tag(0x10), VR::PN, patient.name),
                text(tag(0x11), VR::LO, study.accession),
            ])],
        ),
    ]
}

/// Another vendor's block at (0009,0010) pushes the ACME block to slot 0x11.
fn other_vendor_then_acme_private(study: &Study) -> Vec<Element> {
    let mut elements = vec![
        text(Tag(ACME_GROUP, 0x0010), VR::LO, OTHER_VENDOR_CREATOR),
        text(Tag(ACME_GROUP, 0x1001), VR::LO, study.site.station),
    ];
    elements.extend(acme_private(0x11, study));
    elements
}

fn elscint_private(patient: &Patient) -> Vec<Element> {
    vec![
        text(Tag(ELSCINT_GROUP, 0x0010), VR::LO, ELSCINT_CREATOR),
        text(Tag(ELSCINT_GROUP, 0x1021), VR::DS, "312.5"),
        text(Tag(ELSCINT_GROUP, 0x1042), VR::LO, patient.name),
        text(Tag(ELSCINT_GROUP, 0x1050), VR::DS, "4.2"),
    ]
}

/// Overlay plane in group 6000: a rectangle outline on a `size` x `size` image.
fn overlay(size: u16, comments: &str) -> Vec<Element> {
    let side = usize::from(size);
    let mut bits = vec![0u8; side * side / 8];
    for y in 0..side {
        for x in 0..side {
            if x == 2 || y == 2 || x == side - 3 || y == side - 3 {
                let bit = y * side + x;
                bits[bit / 8] |= 1 << (bit % 8);
            }
        }
    }
    let tag = |element| Tag(OVERLAY_GROUP, element);
    vec![
        us(tag(0x0010), &[size]),
        us(tag(0x0011), &[size]),
        text(tag(0x0040), VR::CS, "G"),
        DataElement::new(
            tag(0x0050),
            VR::SS,
            PrimitiveValue::I16(C::from_slice(&[1, 1])),
        ),
        us(tag(0x0100), &[1]),
        us(tag(0x0102), &[0]),
        DataElement::new(tag(0x3000), VR::OW, PrimitiveValue::U8(bits.into())),
        text(tag(0x4000), VR::LT, comments),
    ]
}

/// A retired curve in group 5000 with a label.
fn curve(label: &str) -> Vec<Element> {
    let tag = |element| Tag(CURVE_GROUP, element);
    vec![
        us(tag(0x0005), &[1]),
        us(tag(0x0010), &[4]),
        text(tag(0x0020), VR::CS, "TAC"),
        us(tag(0x0103), &[0]),
        text(tag(0x2500), VR::LO, label),
        DataElement::new(
            tag(0x3000),
            VR::OW,
            PrimitiveValue::U16(C::from_slice(&[10, 20, 15, 5])),
        ),
    ]
}

fn code(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    item(vec![
        text(tags::CODE_VALUE, VR::SH, value),
        text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        text(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

fn content_item(
    relationship: &str,
    value_type: &str,
    concept: InMemDicomObject,
    content: Vec<Element>,
) -> InMemDicomObject {
    with(
        item(vec![
            text(tags::RELATIONSHIP_TYPE, VR::CS, relationship),
            text(tags::VALUE_TYPE, VR::CS, value_type),
            seq(tags::CONCEPT_NAME_CODE_SEQUENCE, vec![concept]),
        ]),
        content,
    )
}

fn native_pixel_data(pixels: Pixels) -> Element {
    let (vr, value) = match pixels {
        Pixels::U8(values) => (VR::OB, PrimitiveValue::U8(values.into())),
        Pixels::U16(values) => (VR::OW, PrimitiveValue::U16(values.into())),
        Pixels::I16(values) => (VR::OW, PrimitiveValue::I16(values.into())),
    };
    DataElement::new(tags::PIXEL_DATA, vr, value)
}

/// Encapsulated pixel data with an empty basic offset table and one fragment per frame.
fn encapsulated_pixel_data(frames: Vec<Vec<u8>>) -> Element {
    DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PixelFragmentSequence::new(Vec::<u32>::new(), frames),
    )
}

/// RLE Lossless pixel data for one frame of 8-bit single-sample pixels (PS3.5 Annex G):
/// a 64-byte header and one segment, each row packed separately.
fn rle_pixel_data(pixels: &[u8], columns: u16) -> Element {
    let mut segment = Vec::new();
    for row in pixels.chunks(usize::from(columns)) {
        pack_bits(row, &mut segment);
    }
    if segment.len() % 2 == 1 {
        segment.push(0);
    }
    let mut frame = Vec::with_capacity(64 + segment.len());
    frame.extend(1u32.to_le_bytes());
    frame.extend(64u32.to_le_bytes());
    frame.resize(64, 0);
    frame.extend(segment);
    encapsulated_pixel_data(vec![frame])
}

/// PackBits: runs of 2..=128 equal bytes as (257 - n, byte), others as literals (n - 1, bytes).
fn pack_bits(row: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < row.len() {
        let run = row[i..]
            .iter()
            .take(128)
            .take_while(|&&b| b == row[i])
            .count();
        if run >= 2 {
            out.extend([(257 - run) as u8, row[i]]);
            i += run;
        } else {
            let start = i;
            while i < row.len() && i - start < 128 && !(i + 1 < row.len() && row[i] == row[i + 1]) {
                i += 1;
            }
            out.push((i - start - 1) as u8);
            out.extend_from_slice(&row[start..i]);
        }
    }
}

fn inside_disc(size: u16, x: u16, y: u16) -> bool {
    let centre = f64::from(size) / 2.0 - 0.5;
    let (dx, dy) = (f64::from(x) - centre, f64::from(y) - centre);
    dx * dx + dy * dy <= (centre - 2.0) * (centre - 2.0)
}

fn pixel_grid(size: u16) -> impl Iterator<Item = (u16, u16)> {
    (0..size).flat_map(move |y| (0..size).map(move |x| (x, y)))
}

/// A body-like disc of soft tissue in air, varying with the slice.
fn ct_pixels(size: u16, slice: u32, signed: bool) -> Pixels {
    let tissue = |x: u16, y: u16| 40 + (u32::from(x) * 7 + u32::from(y) * 3 + slice * 11) % 60;
    let values = pixel_grid(size).map(|(x, y)| {
        if inside_disc(size, x, y) {
            tissue(x, y) as i32
        } else {
            -1000
        }
    });
    if signed {
        Pixels::I16(values.map(|v| v as i16).collect())
    } else {
        Pixels::U16(values.map(|v| (v + 1024) as u16).collect())
    }
}

fn mr_pixels(size: u16, slice: u32) -> Pixels {
    Pixels::U16(
        pixel_grid(size)
            .map(|(x, y)| {
                if inside_disc(size, x, y) {
                    600 + ((u32::from(x) * u32::from(y) + slice * 37) % 400) as u16
                } else {
                    0
                }
            })
            .collect(),
    )
}

/// Horizontal grey bands (long runs, so RLE has something to do).
fn banded_gray(size: u16) -> Vec<u8> {
    pixel_grid(size)
        .map(|(x, y)| {
            if x < size / 2 {
                (y / 4 * 32) as u8
            } else {
                (x * 8) as u8
            }
        })
        .collect()
}

/// Interleaved RGB frames: a grey sector that moves per frame, with yellow "text" burned into
/// the top rows.
fn us_rgb_frames(size: u16, frames: u16) -> Vec<u8> {
    (0..frames)
        .flat_map(|frame| {
            pixel_grid(size).flat_map(move |(x, y)| {
                if y < 3 && x % 3 != 2 {
                    [255, 255, 0]
                } else if inside_disc(size, x, y) {
                    let grey = ((x * 13 + y * 7 + frame * 29) % 200 + 30) as u8;
                    [grey, grey, grey]
                } else {
                    [0, 0, 0]
                }
            })
        })
        .collect()
}

fn text(tag: Tag, vr: VR, value: &str) -> Element {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

fn us(tag: Tag, values: &[u16]) -> Element {
    DataElement::new(tag, VR::US, PrimitiveValue::U16(C::from_slice(values)))
}

fn ul(tag: Tag, value: u32) -> Element {
    DataElement::new(tag, VR::UL, PrimitiveValue::U32(C::from_elem(value, 1)))
}

fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> Element {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

fn item(elements: Vec<Element>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elements)
}

fn with(
    mut object: InMemDicomObject,
    elements: impl IntoIterator<Item = Element>,
) -> InMemDicomObject {
    for element in elements {
        object.put(element);
    }
    object
}

fn file_meta(transfer_syntax: &str) -> FileMetaTableBuilder {
    FileMetaTableBuilder::new()
        .transfer_syntax(transfer_syntax)
        .implementation_class_uid(format!("{UID_ROOT}.0.1"))
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME)
        .source_application_entity_title(SOURCE_AE_TITLE)
}

fn encode(object: &InMemDicomObject, encoding: &Encoding) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    match encoding {
        Encoding::Part10(transfer_syntax) => {
            object
                .clone()
                .with_meta(file_meta(transfer_syntax))?
                .write_all(&mut bytes)?;
        }
        Encoding::NoMeta => {
            object
                .write_dataset_with_ts(&mut bytes, &entries::IMPLICIT_VR_LITTLE_ENDIAN.erased())?;
        }
        Encoding::TruncatedIn(value) => {
            bytes = encode(object, &Encoding::Part10(uids::EXPLICIT_VR_LITTLE_ENDIAN))?;
            let start = find(&bytes, value.as_bytes())
                .ok_or_else(|| format!("value {value:?} not found in the encoded file"))?;
            bytes.truncate(start + value.len() / 2);
        }
    }
    Ok(bytes)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// One level of the DICOMDIR hierarchy: a record and its lower-level records.
struct DirNode {
    key: String,
    elements: Vec<Element>,
    children: Vec<DirNode>,
}

/// A directory record in sequence order, with the indices of the records it links to.
struct DirRecord {
    elements: Vec<Element>,
    next: Option<usize>,
    lower: Option<usize>,
}

/// A DICOMDIR with PATIENT/STUDY/SERIES/IMAGE records for the Part 10 files whose path only
/// uses File ID characters (upper-case letters, digits, underscores; components may be longer
/// than the 8 characters PS3.10 allows); the other files are left out, as sloppy exporters do.
fn dicomdir(files: &[DicomFile]) -> Result<Vec<u8>> {
    let mut patients: Vec<DirNode> = Vec::new();
    for file in files {
        let Encoding::Part10(transfer_syntax) = file.encoding else {
            continue;
        };
        let listable = file
            .path
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '/');
        if !listable {
            continue;
        }
        let object = &file.object;
        let value =
            |tag: Tag| -> Result<String> { Ok(object.element(tag)?.to_str()?.into_owned()) };
        let record = |record_type: &str, copied: &[Tag]| {
            let mut elements = vec![
                text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192"),
                text(tags::DIRECTORY_RECORD_TYPE, VR::CS, record_type),
            ];
            elements.extend(copied.iter().filter_map(|&tag| object.get(tag).cloned()));
            elements
        };
        let patient = child(&mut patients, value(tags::PATIENT_ID)?, || {
            record(
                "PATIENT",
                &[
                    tags::PATIENT_NAME,
                    tags::PATIENT_ID,
                    tags::PATIENT_BIRTH_DATE,
                ],
            )
        });
        let study = child(
            &mut patient.children,
            value(tags::STUDY_INSTANCE_UID)?,
            || {
                record(
                    "STUDY",
                    &[
                        tags::STUDY_DATE,
                        tags::STUDY_TIME,
                        tags::ACCESSION_NUMBER,
                        tags::STUDY_DESCRIPTION,
                        tags::REFERRING_PHYSICIAN_NAME,
                        tags::STUDY_INSTANCE_UID,
                        tags::STUDY_ID,
                    ],
                )
            },
        );
        let series = child(
            &mut study.children,
            value(tags::SERIES_INSTANCE_UID)?,
            || {
                record(
                    "SERIES",
                    &[
                        tags::MODALITY,
                        tags::INSTITUTION_NAME,
                        tags::SERIES_INSTANCE_UID,
                        tags::SERIES_NUMBER,
                    ],
                )
            },
        );
        let mut elements = record("IMAGE", &[tags::INSTANCE_NUMBER]);
        elements.extend([
            text(
                tags::REFERENCED_FILE_ID,
                VR::CS,
                &file.path.replace('/', "\\"),
            ),
            text(
                tags::REFERENCED_SOP_CLASS_UID_IN_FILE,
                VR::UI,
                &value(tags::SOP_CLASS_UID)?,
            ),
            text(
                tags::REFERENCED_SOP_INSTANCE_UID_IN_FILE,
                VR::UI,
                &value(tags::SOP_INSTANCE_UID)?,
            ),
            text(
                tags::REFERENCED_TRANSFER_SYNTAX_UID_IN_FILE,
                VR::UI,
                transfer_syntax,
            ),
        ]);
        series.children.push(DirNode {
            key: file.path.clone(),
            elements,
            children: Vec::new(),
        });
    }

    let mut records = Vec::new();
    let roots = flatten(patients, &mut records);
    // Offsets are UL, so the encoded size does not depend on their values: lay the file out
    // with zero offsets, measure where each record starts, then fill the offsets in.
    let no_offsets = vec![0; records.len()];
    let draft = encode_dicomdir(&records, &roots, &no_offsets)?;
    let explicit = entries::EXPLICIT_VR_LITTLE_ENDIAN.erased();
    let sequence_header = [
        0x04, 0x00, 0x20, 0x12, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
    ];
    let mut offset = find(&draft, &sequence_header)
        .ok_or("DirectoryRecordSequence not found in the draft DICOMDIR")?
        + sequence_header.len();
    let mut offsets = Vec::with_capacity(records.len());
    for record in &records {
        offsets.push(u32::try_from(offset)?);
        let mut item_bytes = Vec::new();
        directory_record(record, &no_offsets).write_dataset_with_ts(&mut item_bytes, &explicit)?;
        // Item and item delimitation headers, as written for undefined-length items.
        offset += 8 + item_bytes.len() + 8;
    }
    let bytes = encode_dicomdir(&records, &roots, &offsets)?;
    if bytes.len() != draft.len() {
        return Err("DICOMDIR size changed when the offsets were filled in".into());
    }
    Ok(bytes)
}

fn child(
    nodes: &mut Vec<DirNode>,
    key: String,
    elements: impl FnOnce() -> Vec<Element>,
) -> &mut DirNode {
    let index = match nodes.iter().position(|node| node.key == key) {
        Some(index) => index,
        None => {
            nodes.push(DirNode {
                key,
                elements: elements(),
                children: Vec::new(),
            });
            nodes.len() - 1
        }
    };
    &mut nodes[index]
}

/// Appends `nodes` and their descendants in depth-first order, linking each record to its next
/// sibling and first child; returns the indices of `nodes`.
fn flatten(nodes: Vec<DirNode>, records: &mut Vec<DirRecord>) -> Vec<usize> {
    let mut level: Vec<usize> = Vec::new();
    for node in nodes {
        let index = records.len();
        records.push(DirRecord {
            elements: node.elements,
            next: None,
            lower: None,
        });
        if let Some(&previous) = level.last() {
            records[previous].next = Some(index);
        }
        records[index].lower = flatten(node.children, records).first().copied();
        level.push(index);
    }
    level
}

fn directory_record(record: &DirRecord, offsets: &[u32]) -> InMemDicomObject {
    let offset_of = |link: Option<usize>| link.map_or(0, |index| offsets[index]);
    with(
        item(record.elements.clone()),
        [
            ul(
                tags::OFFSET_OF_THE_NEXT_DIRECTORY_RECORD,
                offset_of(record.next),
            ),
            us(tags::RECORD_IN_USE_FLAG, &[0xFFFF]),
            ul(
                tags::OFFSET_OF_REFERENCED_LOWER_LEVEL_DIRECTORY_ENTITY,
                offset_of(record.lower),
            ),
        ],
    )
}

fn encode_dicomdir(records: &[DirRecord], roots: &[usize], offsets: &[u32]) -> Result<Vec<u8>> {
    let root_offset = |index: Option<&usize>| index.map_or(0, |&index| offsets[index]);
    let object = InMemDicomObject::from_element_iter([
        text(tags::FILE_SET_ID, VR::CS, FILE_SET_ID),
        ul(
            tags::OFFSET_OF_THE_FIRST_DIRECTORY_RECORD_OF_THE_ROOT_DIRECTORY_ENTITY,
            root_offset(roots.first()),
        ),
        ul(
            tags::OFFSET_OF_THE_LAST_DIRECTORY_RECORD_OF_THE_ROOT_DIRECTORY_ENTITY,
            root_offset(roots.last()),
        ),
        us(tags::FILE_SET_CONSISTENCY_FLAG, &[0]),
        seq(
            tags::DIRECTORY_RECORD_SEQUENCE,
            records
                .iter()
                .map(|record| directory_record(record, offsets))
                .collect(),
        ),
    ]);
    // A DICOMDIR names its SOP class and instance in the meta group only.
    let meta = file_meta(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .media_storage_sop_class_uid(uids::MEDIA_STORAGE_DIRECTORY_STORAGE)
        .media_storage_sop_instance_uid(format!("{UID_ROOT}.5.1"));
    let mut bytes = Vec::new();
    object.with_meta(meta)?.write_all(&mut bytes)?;
    Ok(bytes)
}

/// A plain-text note an exporter left at the root of the export.
fn export_readme() -> String {
    let mut readme = format!(
        "PACS export from {} ({})\r\nRequested by {}\r\n\r\n",
        SPRINGFIELD.institution, SOURCE_AE_TITLE, DOE_CT.referring
    );
    for patient in PATIENTS {
        readme += &format!(
            "{}  {}  born {}  -> {}\r\n",
            patient.name, patient.id, patient.birth_date, patient.folder
        );
    }
    readme
}

/// "KOVACS^ANNA^^DR" as free text spells it: "KOVACS ANNA".
fn spelled_name(name: &str) -> String {
    let first_group = name.split('=').next().unwrap_or_default();
    let parts: Vec<&str> = first_group
        .split('^')
        .filter(|part| !part.is_empty())
        .take(2)
        .collect();
    parts.join(" ")
}

/// Every planted identifying value, once: the full values, the spellings of names used in free
/// text and folder names, and each name component that is at least four characters long or
/// non-ASCII (shorter ASCII components such as "DOE" would match ordinary words).
fn planted_values() -> Vec<String> {
    let mut values: Vec<String> = Vec::new();
    let mut add = |value: &str| {
        if !value.is_empty() && !values.iter().any(|known| known == value) {
            values.push(value.to_owned());
        }
    };
    let mut names: Vec<&str> = Vec::new();
    let mut spellings: Vec<&str> = Vec::new();
    for patient in PATIENTS {
        let folder_name = patient.folder.rsplit_once('_').map_or("", |(name, _)| name);
        names.extend([patient.name, patient.other_names]);
        spellings.extend([patient.spelled, folder_name]);
        for value in [
            patient.folder,
            patient.id,
            patient.issuer,
            patient.other_id,
            patient.birth_date,
            patient.birth_date_spelled,
            patient.address,
        ] {
            add(value);
        }
        patient.phones.split('\\').for_each(&mut add);
    }
    for study in STUDIES {
        names.extend([study.referring, study.performing]);
        names.extend(study.operators.split('\\'));
        for value in [
            study.accession,
            study.study_id,
            study.requested_procedure_id,
            study.step_id,
        ] {
            add(value);
        }
    }
    for site in SITES {
        for value in [site.institution, site.address, site.station, site.serial] {
            add(value);
        }
    }
    add(SOURCE_AE_TITLE);
    for &name in &names {
        add(name);
        add(&spelled_name(name));
    }
    for &spelling in &spellings {
        add(spelling);
    }
    let components = names.iter().flat_map(|name| name.split(['=', '^'])).chain(
        spellings
            .iter()
            .flat_map(|spelling| spelling.split([' ', '_'])),
    );
    for component in components {
        if component.chars().count() >= 4 || !component.is_ascii() {
            add(component);
        }
    }
    values
}
