//! The header engine on what real archives hold (issue 14): files without PatientID, standard
//! attributes stored as UN, identifiers in code meanings, the pixel options of PS3.15, and the
//! MIDI-B mapping tables. Each test writes small synthetic files for its point and runs the
//! binary on them.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use dicom_core::{DataElement, PrimitiveValue as P, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::mem::{InMemDicomObject, InMemElement};

const ROOT: &str = "1.2.826.0.1.3680043.10.9999.14";

fn text(tag: Tag, vr: VR, s: &str) -> InMemElement {
    DataElement::new(tag, vr, P::from(s))
}

/// Write `elements` (plus SOP class and instance) as a Part 10 file in `ts`.
fn write_file(path: &Path, sop_class: &str, sop: &str, ts: &str, elements: Vec<InMemElement>) {
    let mut object = InMemDicomObject::from_element_iter(elements);
    object.put(text(tags::SOP_CLASS_UID, VR::UI, sop_class));
    object.put(text(tags::SOP_INSTANCE_UID, VR::UI, sop));
    let meta = dicom_object::FileMetaTableBuilder::new()
        .transfer_syntax(ts)
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(sop);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    object.with_meta(meta).unwrap().write_to_file(path).unwrap();
}

/// A small secondary-capture-free header-only file (an RT Structure Set needs no pixels):
/// patient attributes as given, one study per `study`.
fn patient_file(path: &Path, n: u32, study: u32, patient: &[(Tag, VR, &str)]) {
    let mut elements = vec![
        text(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            &format!("{ROOT}.1.{study}"),
        ),
        text(tags::SERIES_INSTANCE_UID, VR::UI, &format!("{ROOT}.2.{n}")),
        text(tags::STUDY_DATE, VR::DA, "20200102"),
        text(tags::MODALITY, VR::CS, "RTSTRUCT"),
    ];
    elements.extend(patient.iter().map(|&(t, vr, v)| text(t, vr, v)));
    write_file(
        path,
        uids::RT_STRUCTURE_SET_STORAGE,
        &format!("{ROOT}.3.{n}"),
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
        elements,
    );
}

/// The output files, by their path under OUTPUT.
fn outputs(dir: &Path) -> Vec<(String, InMemDicomObject)> {
    files_under(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .map(|p| {
            let rel = rel_string(p.strip_prefix(dir).unwrap());
            let object = dicom_object::open_file(&p).unwrap().into_inner();
            (rel, object)
        })
        .collect()
}

#[test]
fn patients_without_patient_id_stay_distinct() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    let name = |v| (tags::PATIENT_NAME, VR::PN, v);
    let birth = |v| (tags::PATIENT_BIRTH_DATE, VR::DA, v);
    // Two files of one patient (two studies), one of another, none with a PatientID; one
    // more with an empty PatientID and the first patient's name.
    patient_file(
        &input.join("a1"),
        1,
        1,
        &[name("ALPHA^ANN"), birth("19600101")],
    );
    patient_file(
        &input.join("a2"),
        2,
        2,
        &[name("ALPHA^ANN"), birth("19600101")],
    );
    patient_file(
        &input.join("b1"),
        3,
        3,
        &[name("BETA^BOB"), birth("19700202")],
    );
    patient_file(
        &input.join("a3"),
        4,
        4,
        &[
            name("ALPHA^ANN"),
            birth("19600101"),
            (tags::PATIENT_ID, VR::LO, ""),
        ],
    );
    let out = sb.path("out");
    let run = sb.run(&input, &out, &["--quiet", "--linkage", "link"]);
    assert_code(&run, 0, "run");
    let files = outputs(&out);
    assert_eq!(files.len(), 4);
    let folder = |rel: &str| rel.split('/').next().unwrap().to_owned();
    let mut folders: Vec<(String, String, String)> = files
        .iter()
        .map(|(rel, o)| {
            (
                folder(rel),
                str_value(o, tags::PATIENT_ID).unwrap_or_default(),
                str_value(o, tags::PATIENT_NAME).unwrap_or_default(),
            )
        })
        .collect();
    folders.sort();
    for (folder, id, name) in &folders {
        assert!(id.starts_with("PAT-"), "{id}");
        assert_eq!(folder, id, "the folder is the new PatientID");
        assert!(
            name.contains(id.as_str()),
            "{name} is the template over {id}"
        );
    }
    let distinct: std::collections::BTreeSet<&String> = folders.iter().map(|f| &f.0).collect();
    assert_eq!(distinct.len(), 2, "two patients, two folders: {folders:?}");
    // Three files of ALPHA (one with an empty PatientID) in one folder, BETA alone.
    let counts: Vec<usize> = distinct
        .iter()
        .map(|d| folders.iter().filter(|f| &f.0 == *d).count())
        .collect();
    assert!(counts.contains(&3) && counts.contains(&1), "{counts:?}");
    assert!(!out.join("no-patient-id").exists());
    // One patient's files share a day offset; the same dates of another patient's move by
    // another one (or, rarely, the same: so only the first is asserted).
    let dates: std::collections::BTreeSet<String> = files
        .iter()
        .filter(|(rel, _)| folders.iter().filter(|f| f.0 == folder(rel)).count() == 3)
        .map(|(_, o)| str_value(o, tags::STUDY_DATE).unwrap())
        .collect();
    assert_eq!(dates.len(), 1, "{dates:?}");
}

/// `verify OUTPUT --against INPUT` with the sandbox's key.
fn verify(sb: &Sandbox, output: &Path, input: &Path) -> std::process::Output {
    sb.cmd()
        .arg("verify")
        .arg(output)
        .arg("--key-file")
        .arg(&sb.key)
        .arg("--against")
        .arg(input)
        .output()
        .unwrap()
}

/// An RT Structure Set whose ContourData (DS in the dictionary) is stored as UN, longer than
/// the 2-byte length an explicit VR DS can have.
fn long_un_contour(path: &Path) -> usize {
    let points: Vec<String> = (0..12_000).map(|i| format!("{}.25", i % 500)).collect();
    let mut bytes = points.join("\\").into_bytes();
    if bytes.len() % 2 == 1 {
        bytes.push(b' ');
    }
    let len = bytes.len();
    let contour = InMemDicomObject::from_element_iter([
        text(tags::CONTOUR_GEOMETRIC_TYPE, VR::CS, "CLOSED_PLANAR"),
        text(tags::NUMBER_OF_CONTOUR_POINTS, VR::IS, "4000"),
        DataElement::new(tags::CONTOUR_DATA, VR::UN, P::from(bytes)),
    ]);
    let roi = InMemDicomObject::from_element_iter([
        text(tags::REFERENCED_ROI_NUMBER, VR::IS, "1"),
        DataElement::new(
            tags::CONTOUR_SEQUENCE,
            VR::SQ,
            dicom_core::value::DataSetSequence::from(vec![contour]),
        ),
    ]);
    patient_file(
        path,
        10,
        10,
        &[
            (tags::PATIENT_ID, VR::LO, "RT-0001"),
            (tags::PATIENT_NAME, VR::PN, "RT^ONE"),
        ],
    );
    let mut object = dicom_object::open_file(path).unwrap();
    object.put(DataElement::new(
        tags::ROI_CONTOUR_SEQUENCE,
        VR::SQ,
        dicom_core::value::DataSetSequence::from(vec![roi]),
    ));
    object.write_to_file(path).unwrap();
    len
}

#[test]
fn a_long_contour_stored_as_un_is_written_as_un_and_verifies() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    let len = long_un_contour(&input.join("rtstruct"));
    assert!(len > 65_535);
    let out = sb.path("out");
    let run = sb.run(&input, &out, &["--quiet"]);
    assert_code(&run, 0, "run");
    let files = outputs(&out);
    assert_eq!(files.len(), 1, "the structure set is written");
    let roi = &files[0]
        .1
        .get(tags::ROI_CONTOUR_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    let contour = &roi.get(tags::CONTOUR_SEQUENCE).unwrap().items().unwrap()[0];
    let data = contour.get(tags::CONTOUR_DATA).unwrap();
    assert_eq!(data.vr(), VR::UN);
    assert_eq!(data.to_bytes().unwrap().len(), len, "every point kept");
    let check = verify(&sb, &out, &input);
    assert_code(&check, 0, "verify");
}

/// One implicit VR little endian element.
fn implicit(tag: Tag, value: &str) -> Vec<u8> {
    let mut v = value.as_bytes().to_vec();
    if v.len() % 2 == 1 {
        v.push(0);
    }
    let mut out = Vec::new();
    out.extend(tag.0.to_le_bytes());
    out.extend(tag.1.to_le_bytes());
    out.extend((v.len() as u32).to_le_bytes());
    out.extend(v);
    out
}

#[test]
fn a_sequence_stored_as_un_is_remapped_and_written_as_sq() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    let plan_uid = format!("{ROOT}.9.77");
    // One defined-length item: ReferencedSOPClassUID and ReferencedSOPInstanceUID.
    let mut body = implicit(
        tags::REFERENCED_SOP_CLASS_UID,
        "1.2.840.10008.5.1.4.1.1.481.5",
    );
    body.extend(implicit(tags::REFERENCED_SOP_INSTANCE_UID, &plan_uid));
    let mut item = vec![0xFE, 0xFF, 0x00, 0xE0];
    item.extend((body.len() as u32).to_le_bytes());
    item.extend(body);
    let path = input.join("rtdose");
    patient_file(
        &path,
        20,
        20,
        &[
            (tags::PATIENT_ID, VR::LO, "RT-0002"),
            (tags::PATIENT_NAME, VR::PN, "RT^TWO"),
        ],
    );
    let mut object = dicom_object::open_file(&path).unwrap();
    object.put(DataElement::new(
        tags::REFERENCED_RT_PLAN_SEQUENCE,
        VR::UN,
        P::from(item),
    ));
    object.write_to_file(&path).unwrap();
    assert!(
        searchable_bytes(&path)
            .windows(plan_uid.len())
            .any(|w| w == plan_uid.as_bytes())
    );

    let out = sb.path("out");
    assert_code(&sb.run(&input, &out, &["--quiet"]), 0, "run");
    let files = outputs(&out);
    let (rel, object) = &files[0];
    let sequence = object.get(tags::REFERENCED_RT_PLAN_SEQUENCE).unwrap();
    assert_eq!(sequence.vr(), VR::SQ);
    let item = &sequence.items().unwrap()[0];
    let new = str_value(item, tags::REFERENCED_SOP_INSTANCE_UID).unwrap();
    assert!(new.starts_with("2.25.") && new != plan_uid, "{new}");
    assert_eq!(
        str_value(item, tags::REFERENCED_SOP_CLASS_UID).as_deref(),
        Some("1.2.840.10008.5.1.4.1.1.481.5"),
        "a standard class UID is kept"
    );
    let bytes = fs::read(out.join(rel)).unwrap();
    assert!(
        !bytes
            .windows(plan_uid.len())
            .any(|w| w == plan_uid.as_bytes())
    );
    assert_code(&verify(&sb, &out, &input), 0, "verify");
}

/// A code item of `scheme`.
fn code_item(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        text(tags::CODE_VALUE, VR::SH, value),
        text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme),
        text(tags::CODE_MEANING, VR::LO, meaning),
    ])
}

fn sequence(tag: Tag, items: Vec<InMemDicomObject>) -> InMemElement {
    DataElement::new(tag, VR::SQ, dicom_core::value::DataSetSequence::from(items))
}

#[test]
fn code_meanings_inside_a_cleaned_sequence_are_cleaned_and_standard_codes_kept() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    let path = input.join("ct");
    patient_file(
        &path,
        30,
        30,
        &[
            (tags::PATIENT_ID, VR::LO, "CODE-0001"),
            (tags::PATIENT_NAME, VR::PN, "QUIMBLEY^JANE"),
        ],
    );
    let request = InMemDicomObject::from_element_iter([
        text(tags::REQUESTED_PROCEDURE_ID, VR::SH, "RP1"),
        sequence(
            tags::SCHEDULED_PROTOCOL_CODE_SEQUENCE,
            vec![
                code_item("X1", "99LOCAL", "Quimbley procedure"),
                code_item("12738006", "SCT", "Brain"),
            ],
        ),
    ]);
    let mut object = dicom_object::open_file(&path).unwrap();
    object.put(sequence(tags::REQUEST_ATTRIBUTES_SEQUENCE, vec![request]));
    object.write_to_file(&path).unwrap();
    let profile = sb.path("clean.yaml");
    fs::write(&profile, "extends: basic\noptions: [clean-descriptors]\n").unwrap();
    let out = sb.path("out");
    let run = sb.run(
        &input,
        &out,
        &["--quiet", "--profile", profile.to_str().unwrap()],
    );
    assert_code(&run, 0, "run");
    let files = outputs(&out);
    let request = &files[0]
        .1
        .get(tags::REQUEST_ATTRIBUTES_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()[0];
    let codes = request
        .get(tags::SCHEDULED_PROTOCOL_CODE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap();
    let local = str_value(&codes[0], tags::CODE_MEANING).unwrap_or_default();
    assert!(!local.to_uppercase().contains("QUIMBLEY"), "{local:?}");
    assert!(
        local.contains("procedure"),
        "only the name is cleaned: {local:?}"
    );
    assert_eq!(
        str_value(&codes[0], tags::CODE_VALUE).as_deref(),
        Some("X1")
    );
    assert_eq!(
        str_value(&codes[1], tags::CODE_MEANING).as_deref(),
        Some("Brain")
    );
    assert_eq!(
        str_value(&codes[1], tags::CODE_VALUE).as_deref(),
        Some("12738006")
    );
    assert_eq!(
        str_value(&codes[1], tags::CODING_SCHEME_DESIGNATOR).as_deref(),
        Some("SCT")
    );
    let bytes = fs::read(out.join(&files[0].0)).unwrap();
    assert!(!contains_ignore_ascii_case(&bytes, b"QUIMBLEY"));
}

/// A small 8-bit monochrome image of `sop_class` and `modality` with `extra` attributes.
fn image(path: &Path, n: u32, sop_class: &str, modality: &str, extra: &[(Tag, VR, &str)]) {
    let mut elements = vec![
        text(tags::STUDY_INSTANCE_UID, VR::UI, &format!("{ROOT}.1.{n}")),
        text(tags::SERIES_INSTANCE_UID, VR::UI, &format!("{ROOT}.2.{n}")),
        text(tags::PATIENT_ID, VR::LO, "IMG-0001"),
        text(tags::PATIENT_NAME, VR::PN, "IMAGE^IDA"),
        text(tags::MODALITY, VR::CS, modality),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, P::from(1_u16)),
        DataElement::new(tags::ROWS, VR::US, P::from(32_u16)),
        DataElement::new(tags::COLUMNS, VR::US, P::from(32_u16)),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, P::from(8_u16)),
        DataElement::new(tags::BITS_STORED, VR::US, P::from(8_u16)),
        DataElement::new(tags::HIGH_BIT, VR::US, P::from(7_u16)),
        DataElement::new(tags::PIXEL_REPRESENTATION, VR::US, P::from(0_u16)),
        DataElement::new(tags::PIXEL_DATA, VR::OB, P::U8(vec![40; 32 * 32].into())),
    ];
    elements.extend(extra.iter().map(|&(t, vr, v)| text(t, vr, v)));
    write_file(
        path,
        sop_class,
        &format!("{ROOT}.3.{n}"),
        uids::EXPLICIT_VR_LITTLE_ENDIAN,
        elements,
    );
}

/// The CID 7050 code values in DeidentificationMethodCodeSequence.
fn method_codes(object: &InMemDicomObject) -> Vec<String> {
    object
        .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .and_then(|e| e.items())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| str_value(i, tags::CODE_VALUE))
                .collect()
        })
        .unwrap_or_default()
}

/// Run over `input` with a profile of `yaml`; the manifest's records by status.
fn run_profile(
    sb: &Sandbox,
    input: &Path,
    name: &str,
    yaml: &str,
) -> (std::path::PathBuf, Vec<serde_json::Value>) {
    let profile = sb.path(&format!("{name}.yaml"));
    fs::write(&profile, yaml).unwrap();
    let out = sb.path(name);
    let run = sb.run(
        input,
        &out,
        &["--quiet", "--profile", profile.to_str().unwrap()],
    );
    assert!(matches!(code(&run), 0 | 1 | 3), "{}", stderr(&run));
    let records = read_jsonl(&out.join("manifest.jsonl"));
    (out, records)
}

#[test]
fn clean_pixel_data_never_writes_a_likely_burned_in_image_unmasked() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    image(
        &input.join("us"),
        40,
        "1.2.840.10008.5.1.4.1.1.6.1",
        "US",
        &[],
    );
    let keep = "extends: basic\npixel:\n  burned_in_without_rule: keep\n";
    let (out, records) = run_profile(&sb, &input, "keep", keep);
    assert_eq!(field(&records[0], "status"), Some("written"));
    let files = outputs(&out);
    assert!(!method_codes(&files[0].1).contains(&"113101".to_owned()));

    let option = format!("{keep}options: [clean-pixel-data]\n");
    let (out, records) = run_profile(&sb, &input, "option", &option);
    assert_eq!(field(&records[0], "status"), Some("written"), "{records:?}");
    // The detector examined the text-free image and found nothing: written as it came,
    // without the Clean Pixel Data code (113101 says pixels were cleaned).
    assert_eq!(
        field(&records[0], "pixel_check"),
        Some("examined"),
        "the detector ran: {}",
        records[0]
    );
    let files = outputs(&out);
    assert!(!method_codes(&files[0].1).contains(&"113101".to_owned()));

    // Under quarantine the option changes nothing: still not written.
    let (_, records) = run_profile(
        &sb,
        &input,
        "quarantine",
        "extends: basic\noptions: [clean-pixel-data]\n",
    );
    assert_eq!(field(&records[0], "status"), Some("quarantined"));
}

#[test]
fn clean_recognizable_visual_features_quarantines_photos_and_head_renderings() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    let ct = "1.2.840.10008.5.1.4.1.1.2";
    image(
        &input.join("photo"),
        50,
        "1.2.840.10008.5.1.4.1.1.77.1.4",
        "XC",
        &[],
    );
    image(
        &input.join("render"),
        51,
        ct,
        "CT",
        &[
            (
                tags::IMAGE_TYPE,
                VR::CS,
                "DERIVED\\SECONDARY\\VOLUME_RENDER",
            ),
            (tags::BODY_PART_EXAMINED, VR::CS, "HEAD"),
        ],
    );
    image(
        &input.join("knee-render"),
        52,
        ct,
        "CT",
        &[
            (
                tags::IMAGE_TYPE,
                VR::CS,
                "DERIVED\\SECONDARY\\VOLUME_RENDER",
            ),
            (tags::BODY_PART_EXAMINED, VR::CS, "KNEE"),
        ],
    );
    image(
        &input.join("head-ct"),
        53,
        ct,
        "CT",
        &[(tags::BODY_PART_EXAMINED, VR::CS, "HEAD")],
    );
    let yaml = "extends: basic\noptions: [clean-recognizable-visual-features]\n";
    let (out, records) = run_profile(&sb, &input, "visual", yaml);
    let quarantined: Vec<&str> = records
        .iter()
        .filter(|r| field(r, "status") == Some("quarantined"))
        .filter_map(|r| field(r, "reason"))
        .collect();
    assert_eq!(quarantined.len(), 2, "{records:?}");
    assert!(
        quarantined
            .iter()
            .any(|r| r.contains("visible-light photograph"))
    );
    assert!(
        quarantined
            .iter()
            .any(|r| r.contains("rendering of the head"))
    );
    assert!(
        quarantined
            .iter()
            .all(|r| r.contains("clean-recognizable-visual-features"))
    );
    let files = outputs(&out);
    assert_eq!(files.len(), 2);
    // The knee rendering carries 113102; the head CT, which could be rendered into a face,
    // does not.
    let with_code: Vec<bool> = files
        .iter()
        .map(|(_, o)| method_codes(o).contains(&"113102".to_owned()))
        .collect();
    assert_eq!(with_code.iter().filter(|&&c| c).count(), 1, "{with_code:?}");
    // The run's summary lists the method because it applied to a file.
    assert!(summary_methods(&out).contains(&"113102".to_owned()));

    // Without the option all four are written and none carries 113102.
    let (out, _) = run_profile(&sb, &input, "plain", "extends: basic\n");
    let files = outputs(&out);
    assert_eq!(files.len(), 4);
    assert!(
        files
            .iter()
            .all(|(_, o)| !method_codes(o).contains(&"113102".to_owned()))
    );
    assert!(!summary_methods(&out).contains(&"113102".to_owned()));
}

/// The CID 7050 codes a run's summary lists.
fn summary_methods(out: &Path) -> Vec<String> {
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    summary["methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["code"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn times_under_modified_dates_are_kept_and_shown_so() {
    let sb = Sandbox::new();
    let profile = sb.path("dates.yaml");
    fs::write(
        &profile,
        "extends: basic\noptions: [retain-longitudinal-modified-dates]\n",
    )
    .unwrap();
    let show = sb
        .cmd()
        .args(["profile", "show"])
        .arg(&profile)
        .output()
        .unwrap();
    assert_code(&show, 0, "profile show");
    let text = stdout(&show);
    let line = |keyword: &str| {
        text.lines()
            .find(|l| l.split('\t').nth(1) == Some(keyword))
            .unwrap_or_else(|| panic!("no line for {keyword}"))
            .to_owned()
    };
    assert!(
        line("StudyTime").contains("a time: kept, its day moves"),
        "{}",
        line("StudyTime")
    );
    assert!(line("AcquisitionDateTime").contains("time and UTC offset kept"));
    assert!(line("TimezoneOffsetFromUTC").contains("UTC offset: kept"));
    assert!(line("StudyDate").split('\t').nth(2) == Some("shift"));

    let input = sb.path("in");
    patient_file(
        &input.join("f"),
        60,
        60,
        &[
            (tags::PATIENT_ID, VR::LO, "TIME-0001"),
            (tags::STUDY_TIME, VR::TM, "101502"),
            (tags::TIMEZONE_OFFSET_FROM_UTC, VR::SH, "+0100"),
            (tags::ACQUISITION_DATE_TIME, VR::DT, "20200102101502+0100"),
        ],
    );
    let out = sb.path("out");
    let run = sb.run(
        &input,
        &out,
        &["--quiet", "--profile", profile.to_str().unwrap()],
    );
    assert_code(&run, 0, "run");
    let object = &outputs(&out)[0].1;
    assert_eq!(
        str_value(object, tags::STUDY_TIME).as_deref(),
        Some("101502")
    );
    assert_eq!(
        str_value(object, tags::TIMEZONE_OFFSET_FROM_UTC).as_deref(),
        Some("+0100")
    );
    let dt = str_value(object, tags::ACQUISITION_DATE_TIME).unwrap();
    assert!(
        dt.ends_with("101502+0100") && !dt.starts_with("20200102"),
        "{dt}"
    );
}

#[test]
fn a_whole_private_block_is_kept_by_its_creator() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    fs::create_dir_all(&input).unwrap();
    write_synthetic_ct(
        &input.join("ct"),
        "70",
        &[
            (Tag(0x0029, 0x0010), VR::LO, "SIEMENS CSA HEADER"),
            (Tag(0x0029, 0x0011), VR::LO, "OTHER VENDOR"),
            (Tag(0x0029, 0x1008), VR::CS, "IMAGE NUM 4"),
            (Tag(0x0029, 0x1009), VR::LO, "20200101"),
            (Tag(0x0029, 0x1108), VR::LO, "other block"),
        ],
    );
    let profile = sb.path("csa.yaml");
    fs::write(
        &profile,
        "extends: basic\nattributes:\n  \"(0029,xxxx)@SIEMENS CSA HEADER\": keep\n",
    )
    .unwrap();
    let out = sb.path("out");
    let run = sb.run(
        &input,
        &out,
        &["--quiet", "--profile", profile.to_str().unwrap()],
    );
    assert_code(&run, 0, "run");
    let object = &outputs(&out)[0].1;
    let slot = private_slot(object, 0x0029, "SIEMENS CSA HEADER").expect("the CSA block");
    for e in [0x08, 0x09] {
        assert!(
            object.get(Tag(0x0029, (slot << 8) | e)).is_some(),
            "element {e:02X} kept"
        );
    }
    assert!(private_slot(object, 0x0029, "OTHER VENDOR").is_none());

    let show = sb
        .cmd()
        .args(["profile", "show"])
        .arg(&profile)
        .output()
        .unwrap();
    assert!(
        stdout(&show).contains("(0029,xxxx)@SIEMENS CSA HEADER\t\tkeep"),
        "{}",
        stdout(&show)
    );
}

#[test]
fn typos_get_a_suggestion() {
    let sb = Sandbox::new();
    let check = |name: &str, yaml: &str| {
        let path = sb.path(name);
        fs::write(&path, yaml).unwrap();
        let out = sb
            .cmd()
            .args(["profile", "check"])
            .arg(&path)
            .output()
            .unwrap();
        assert_ne!(code(&out), 0);
        stderr(&out)
    };
    let err = check(
        "kw.yaml",
        "extends: basic\nattributes:\n  Manufacterer: keep\n",
    );
    assert!(err.contains("did you mean \"Manufacturer\""), "{err}");
    let err = check("opt.yaml", "extends: basic\noptions: [clean-descriptor]\n");
    assert!(err.contains("did you mean \"clean-descriptors\""), "{err}");
    let err = check("px.yaml", "extends: basic\noptions: [clean-pixels]\n");
    assert!(err.contains("did you mean \"clean-pixel-data\""), "{err}");
    assert!(err.contains("`pixel:` section"), "{err}");
    // Right names are accepted.
    let path = sb.path("ok.yaml");
    fs::write(
        &path,
        "extends: basic\noptions: [clean-pixel-data, clean-recognizable-visual-features]\n",
    )
    .unwrap();
    let out = sb
        .cmd()
        .args(["profile", "check"])
        .arg(&path)
        .output()
        .unwrap();
    assert_code(&out, 0, "profile check");
}

#[test]
fn profile_show_and_diff_footers_are_yaml() {
    let sb = Sandbox::new();
    let show = sb
        .cmd()
        .args(["profile", "show", "ml-dataset"])
        .output()
        .unwrap();
    assert_code(&show, 0, "profile show");
    let text = stdout(&show);
    let footer: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("# ") && !l.starts_with("# profile ") && !l.starts_with("# sha256 ")
        })
        .collect();
    assert!(footer.len() >= 6, "{footer:?}");
    for line in &footer {
        let value: serde_yaml::Value = serde_yaml::from_str(&line[2..])
            .unwrap_or_else(|e| panic!("{line:?} is not YAML: {e}"));
        assert!(value.is_mapping(), "{line:?}");
        assert!(
            !line.contains("Config {") && !line.contains("PerPatient"),
            "{line:?}"
        );
    }
    assert!(footer.contains(&"# dates: {shift: per-patient, range_days: [-730, -30], days: 0}"));
    let diff = sb
        .cmd()
        .args(["profile", "diff", "basic", "ml-dataset"])
        .output()
        .unwrap();
    let text = stdout(&diff);
    assert!(
        text.contains("+ # private: safe") && text.contains("- # private: remove"),
        "{text}"
    );
    assert!(
        !text.contains("DateConfig") && !text.contains("Remove\n"),
        "{text}"
    );
}

#[test]
fn linkage_writes_the_midi_b_mappings() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    fs::create_dir_all(&input).unwrap();
    let sop = write_synthetic_ct(&input.join("ct"), "80", &[]);
    let out = sb.path("out");
    let link = sb.path("link");
    let run = sb.run(
        &input,
        &out,
        &["--quiet", "--linkage", link.to_str().unwrap()],
    );
    assert_code(&run, 0, "run");
    let object = &outputs(&out)[0].1;
    let table = |name: &str| -> Vec<(String, String)> {
        let text = fs::read_to_string(link.join(name)).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("id_old,id_new"));
        lines
            .map(|l| {
                let (a, b) = l.split_once(',').unwrap();
                (a.to_owned(), b.to_owned())
            })
            .collect()
    };
    let uids = table("uid_mapping.csv");
    let root = "1.2.826.0.1.3680043.10.9999.77";
    // SOP instance, study, series and frame of reference: every UID the file had changed.
    for (tag, old) in [
        (tags::SOP_INSTANCE_UID, sop.clone()),
        (tags::STUDY_INSTANCE_UID, format!("{root}.1")),
        (tags::SERIES_INSTANCE_UID, format!("{root}.2")),
        (tags::FRAME_OF_REFERENCE_UID, format!("{root}.4")),
    ] {
        let new = str_value(object, tag).unwrap();
        assert!(
            uids.contains(&(old.clone(), new.clone())),
            "{old} -> {new} in {uids:?}"
        );
    }
    assert_eq!(
        uids.len(),
        4,
        "the standard SOP class UID is not changed: {uids:?}"
    );
    let patients = table("patid_mapping.csv");
    assert_eq!(
        patients,
        vec![(
            "SYNTH-0001".to_owned(),
            str_value(object, tags::PATIENT_ID).unwrap()
        )]
    );
}

#[test]
fn a_sequence_stored_as_un_of_undefined_length_is_read_and_remapped() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    let plan_uid = format!("{ROOT}.9.78");
    let mut body = implicit(
        tags::REFERENCED_SOP_CLASS_UID,
        "1.2.840.10008.5.1.4.1.1.481.5",
    );
    body.extend(implicit(tags::REFERENCED_SOP_INSTANCE_UID, &plan_uid));
    // An item of undefined length, ended by its delimiter (CP-246 content).
    let mut item = vec![0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF];
    item.extend(&body);
    item.extend([0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0]);
    let path = input.join("rtdose");
    patient_file(&path, 21, 21, &[(tags::PATIENT_ID, VR::LO, "RT-0003")]);
    let mut object = dicom_object::open_file(&path).unwrap();
    object.put(DataElement::new(
        tags::REFERENCED_RT_PLAN_SEQUENCE,
        VR::UN,
        P::from(item.clone()),
    ));
    object.write_to_file(&path).unwrap();
    // Make the UN's length undefined and end it with a sequence delimiter.
    let mut bytes = fs::read(&path).unwrap();
    let mut header = vec![0x0C, 0x30, 0x02, 0x00, b'U', b'N', 0, 0];
    header.extend((item.len() as u32).to_le_bytes());
    let at = bytes
        .windows(header.len())
        .position(|w| w == header)
        .unwrap();
    bytes[at + 8..at + 12].copy_from_slice(&[0xFF; 4]);
    let end = at + 12 + item.len();
    bytes.splice(end..end, [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    fs::write(&path, &bytes).unwrap();

    let out = sb.path("out");
    assert_code(&sb.run(&input, &out, &["--quiet"]), 0, "run");
    let files = outputs(&out);
    let sequence = files[0].1.get(tags::REFERENCED_RT_PLAN_SEQUENCE).unwrap();
    assert_eq!(sequence.vr(), VR::SQ);
    let new = str_value(
        &sequence.items().unwrap()[0],
        tags::REFERENCED_SOP_INSTANCE_UID,
    )
    .unwrap();
    assert!(new.starts_with("2.25.") && new != plan_uid, "{new}");
    assert_code(&verify(&sb, &out, &input), 0, "verify");
}
