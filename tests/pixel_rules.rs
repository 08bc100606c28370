//! Pixel rules as a user writes them, through the real binary: a `detect: true` rule limited by
//! `when:` runs the detector on the images it matches and on no other; regions `full` wide or
//! anchored to an edge land where they say on images of any size; `inspect` shows the pixel
//! plan (rules, regions, detector) beside the header actions.

mod common;

use std::path::Path;

use common::*;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;

const SC: &str = "1.2.840.10008.5.1.4.1.1.7";
const US: &str = "1.2.840.10008.5.1.4.1.1.6.1";

/// A 200×120 8-bit frame: a grey field, and bright block glyphs (bars 3 pixels wide, 14 high,
/// in two words) near the top left, the way a label is burned in.
fn frame_with_label(columns: usize, rows: usize) -> Vec<u8> {
    let mut frame = vec![0u8; columns * rows];
    for y in 60..rows - 10 {
        for x in 20..columns - 20 {
            frame[y * columns + x] = 70 + ((x * 7 + y * 13) % 23) as u8;
        }
    }
    for dx in [0, 8, 16, 34, 42, 50] {
        for y in 12..26 {
            for x in 20 + dx..23 + dx {
                frame[y * columns + x] = 230;
            }
        }
    }
    frame
}

/// One image file of `sop_class` and `modality`, `columns` × `rows`, instance number `n`.
fn image(sop_class: &str, modality: &str, n: u32, columns: u16, rows: u16) -> Vec<u8> {
    let el = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    let sop = format!("1.2.826.0.1.3680043.10.9999.78.{n}");
    let object = InMemDicomObject::from_element_iter([
        el(tags::SOP_CLASS_UID, VR::UI, sop_class),
        el(tags::SOP_INSTANCE_UID, VR::UI, &sop),
        el(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.10.9999.78.100",
        ),
        el(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            &format!("1.2.826.0.1.3680043.10.9999.78.10{n}"),
        ),
        el(tags::PATIENT_ID, VR::LO, "PID-78"),
        el(tags::MODALITY, VR::CS, modality),
        us(tags::SAMPLES_PER_PIXEL, 1),
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        us(tags::ROWS, rows),
        us(tags::COLUMNS, columns),
        us(tags::BITS_ALLOCATED, 8),
        us(tags::BITS_STORED, 8),
        us(tags::HIGH_BIT, 7),
        us(tags::PIXEL_REPRESENTATION, 0),
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(frame_with_label(columns.into(), rows.into())),
        ),
    ]);
    let file = object
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax("1.2.840.10008.1.2.1")
                .media_storage_sop_class_uid(sop_class)
                .media_storage_sop_instance_uid(&sop),
        )
        .unwrap();
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).unwrap();
    bytes
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// Runs `profile` over `files` and returns the manifest records by input path.
fn run(
    sb: &Sandbox,
    profile: &str,
    files: &[(&str, Vec<u8>)],
) -> std::collections::BTreeMap<String, serde_json::Value> {
    let input = sb.path("in");
    for (name, bytes) in files {
        write(&input, name, bytes);
    }
    let profile_path = sb.path("p.yaml");
    std::fs::write(&profile_path, profile).unwrap();
    let output = sb.path("out");
    let out = sb.run(
        &input,
        &output,
        &[
            "--profile",
            profile_path.to_str().unwrap(),
            "--manifest-paths",
            "-q",
        ],
    );
    assert!(matches!(code(&out), 0 | 1), "run failed: {}", stderr(&out));
    by_input(&read_jsonl(&output.join("manifest.jsonl")))
}

#[test]
fn a_detect_rule_with_when_runs_the_detector_on_what_it_matches_only() {
    let sb = Sandbox::new();
    let profile = format!(
        "extends: basic\npixel:\n  burned_in_without_rule: keep\n  rules:\n    - name: captures\n      when: {{SOPClassUID: '{SC}'}}\n      detect: true\n"
    );
    let records = run(
        &sb,
        &profile,
        &[
            ("sc.dcm", image(SC, "OT", 1, 200, 120)),
            ("us.dcm", image(US, "US", 2, 200, 120)),
        ],
    );
    let sc = &records["sc.dcm"];
    assert_eq!(field(sc, "status"), Some("written"), "{sc}");
    assert_eq!(
        sc["pixel_masked_by"],
        serde_json::json!(["captures", "detector"]),
        "{sc}"
    );
    let regions = sc["pixel_regions"].as_array().expect("regions");
    assert!(
        regions
            .iter()
            .any(|r| r["y"].as_u64().unwrap() <= 12 && r["x"].as_u64().unwrap() <= 20),
        "the label is masked: {sc}"
    );
    // The ultrasound image matches no rule: kept unmasked as the profile says, never examined.
    let us = &records["us.dcm"];
    assert_eq!(field(us, "status"), Some("written"), "{us}");
    assert!(
        us.get("pixel_masked_by").is_none_or(|v| v.is_null()),
        "{us}"
    );
}

#[test]
fn full_and_anchored_regions_land_on_each_image_size() {
    let sb = Sandbox::new();
    let profile = "extends: basic\npixel:\n  rules:\n    - name: header band\n      when: {Modality: US}\n      regions: [[0, 0, full, 30], {right: 0, bottom: 0, width: 40, height: 20}]\n";
    let records = run(
        &sb,
        profile,
        &[
            ("small.dcm", image(US, "US", 3, 200, 120)),
            ("large.dcm", image(US, "US", 4, 320, 240)),
        ],
    );
    let region = |x: u32, y: u32, w: u32, h: u32| serde_json::json!({"x": x, "y": y, "width": w, "height": h});
    assert_eq!(
        records["small.dcm"]["pixel_regions"],
        serde_json::json!([region(0, 0, 200, 30), region(160, 100, 40, 20)])
    );
    assert_eq!(
        records["large.dcm"]["pixel_regions"],
        serde_json::json!([region(0, 0, 320, 30), region(280, 220, 40, 20)])
    );
}

fn inspect(sb: &Sandbox, file: &Path, profile: &str) -> String {
    let profile_path = sb.path("inspect.yaml");
    std::fs::write(&profile_path, profile).unwrap();
    let out = sb
        .cmd()
        .arg("inspect")
        .arg(file)
        .args([
            "--force",
            "--profile",
            profile_path.to_str().unwrap(),
            "--key-file",
        ])
        .arg(&sb.key)
        .output()
        .unwrap();
    assert_code(&out, 0, "inspect --force");
    stdout(&out)
}

#[test]
fn inspect_shows_the_pixel_plan_beside_the_header_actions() {
    let sb = Sandbox::new();
    let dir = sb.path("files");
    write(&dir, "sc.dcm", &image(SC, "OT", 5, 200, 120));
    write(&dir, "us.dcm", &image(US, "US", 6, 200, 120));
    let profile = format!(
        "extends: basic\npixel:\n  rules:\n    - name: captures\n      when: {{SOPClassUID: '{SC}'}}\n      detect: true\n    - name: band\n      when: {{SOPClassUID: '{SC}'}}\n      regions: [[0, 0, full, 8]]\n"
    );
    let table = inspect(&sb, &dir.join("sc.dcm"), &profile);
    let pixel_row = table
        .lines()
        .find(|l| l.contains("(7FE0,0010)"))
        .unwrap_or_else(|| panic!("no PixelData row:\n{table}"));
    assert!(
        pixel_row.contains("mask") && pixel_row.contains("pixel"),
        "{pixel_row}"
    );
    assert!(
        table.contains("# pixel plan: mask every frame (200 × 120 pixels, 1 frame)"),
        "{table}"
    );
    assert!(table.contains("#   rule \"captures\": detector"), "{table}");
    assert!(
        table.contains("#   rule \"band\": [0, 0, 200, 8]"),
        "{table}"
    );
    assert!(
        table.contains("#   detector: yes (a matching rule says detect: true)"),
        "{table}"
    );
    // The ultrasound image matches no rule and the profile quarantines such images.
    let table = inspect(&sb, &dir.join("us.dcm"), &profile);
    assert!(
        table.contains("# pixel plan: quarantine (burned_in_no_rule"),
        "{table}"
    );
    let pixel_row = table.lines().find(|l| l.contains("(7FE0,0010)")).unwrap();
    assert!(pixel_row.contains("quarantine"), "{pixel_row}");
}

#[test]
fn a_rule_that_masks_nothing_is_refused_naming_it() {
    let sb = Sandbox::new();
    let profile = sb.path("empty.yaml");
    std::fs::write(&profile, "extends: basic\npixel:\n  rules:\n    - name: forgot regions\n      when: {Modality: US}\n").unwrap();
    let out = sb
        .cmd()
        .args(["profile", "check"])
        .arg(&profile)
        .output()
        .unwrap();
    assert_code(&out, 2, "profile check of a rule without regions or detect");
    let err = stderr(&out);
    assert!(
        err.contains("forgot regions") && err.contains("detect"),
        "{err}"
    );
}
