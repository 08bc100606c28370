//! `rules suggest` with the real binary: a run quarantines ultrasound and screen captures of
//! two devices that carry burned-in text; the suggested rules parse as a profile, find the
//! text, and, adopted, release the quarantined files on an `--add` rerun with the text masked.
//! Nothing identifying reaches stdout or stderr, and the review page (input pixels) is refused
//! inside DATASET.

mod common;

use std::path::Path;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use common::*;
use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;

const US_CLASS: &str = "1.2.840.10008.5.1.4.1.1.6.1";
const SC_CLASS: &str = "1.2.840.10008.5.1.4.1.1.7";
/// The names burned in and written in the headers: none may leave but in the review page.
const NAMES: [&str; 5] = ["HALVORSEN", "OKONKWO", "VASQUEZ", "LINDQVIST", "BRENNAN"];

/// One image to generate: its device, size, samples and where its text goes.
struct Spec {
    manufacturer: &'static str,
    model: &'static str,
    class: &'static str,
    columns: u32,
    rows: u32,
    rgb: bool,
    /// Text origin: top-left for the ultrasound, bottom-left for the captures.
    text_at: (f32, f32),
}

const US: Spec = Spec {
    manufacturer: "ACME Medical",
    model: "Sono 1",
    class: US_CLASS,
    columns: 320,
    rows: 240,
    rgb: false,
    text_at: (10.0, 6.0),
};

const SC: Spec = Spec {
    manufacturer: "Screens Inc",
    model: "Grab*2",
    class: SC_CLASS,
    columns: 256,
    rows: 200,
    rgb: true,
    text_at: (8.0, 172.0),
};

/// A device whose images carry no text.
const QUIET: Spec = Spec {
    manufacturer: "Quiet Co",
    model: "Q1",
    class: US_CLASS,
    columns: 160,
    rows: 120,
    rgb: false,
    text_at: (0.0, 0.0),
};

/// A frame with speckle (a flat disc when there is no text) and `text` burned in (white, or
/// yellow in colour), as stored samples.
fn frame(spec: &Spec, text: &str, seed: u64) -> Vec<u8> {
    let font = FontRef::try_from_slice(include_bytes!("../testdata/fonts/DejaVuSansMono-Bold.ttf"))
        .expect("bundled font");
    let (w, h) = (spec.columns as usize, spec.rows as usize);
    let mut state = seed | 1;
    let mut luma: Vec<u8> = (0..w * h)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let (x, y) = (
                (i % w) as i64 - w as i64 / 2,
                (i / w) as i64 - h as i64 / 2 - 20,
            );
            if x * x + y * y < (h as i64 / 3).pow(2) {
                30 + (state % 60) as u8 * u8::from(!text.is_empty())
            } else {
                0
            }
        })
        .collect();
    let mut ink = vec![false; w * h];
    let scaled = font.as_scaled(PxScale::from(20.0));
    let mut x = spec.text_at.0;
    for c in text.chars() {
        let mut glyph = scaled.scaled_glyph(c);
        glyph.position = point(x, spec.text_at.1 + scaled.ascent());
        x += scaled.h_advance(glyph.id);
        if let Some(outline) = font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                let (px, py) = (
                    b.min.x as usize + gx as usize,
                    b.min.y as usize + gy as usize,
                );
                if coverage > 0.5 && px < w && py < h {
                    ink[py * w + px] = true;
                }
            });
        }
    }
    for (v, &on) in luma.iter_mut().zip(&ink) {
        if on {
            *v = 250;
        }
    }
    if !spec.rgb {
        return luma;
    }
    luma.iter()
        .zip(&ink)
        .flat_map(|(&v, &on)| if on { [250, 230, 0] } else { [v, v, v] })
        .collect()
}

fn write_image(path: &Path, spec: &Spec, n: usize) {
    let name = NAMES[n % NAMES.len()];
    let uid = |k: u32| format!("1.2.826.0.1.3680043.10.9999.88.{n}.{k}");
    let text_of = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    let samples: u16 = if spec.rgb { 3 } else { 1 };
    let mut object = InMemDicomObject::from_element_iter([
        text_of(tags::SOP_CLASS_UID, VR::UI, spec.class),
        text_of(tags::SOP_INSTANCE_UID, VR::UI, &uid(1)),
        text_of(tags::STUDY_INSTANCE_UID, VR::UI, &uid(2)),
        text_of(tags::SERIES_INSTANCE_UID, VR::UI, &uid(3)),
        text_of(tags::PATIENT_NAME, VR::PN, &format!("{name}^ANNA")),
        text_of(tags::PATIENT_ID, VR::LO, &format!("MRN-{n}")),
        text_of(tags::MODALITY, VR::CS, if spec.rgb { "OT" } else { "US" }),
        text_of(tags::MANUFACTURER, VR::LO, spec.manufacturer),
        text_of(tags::MANUFACTURER_MODEL_NAME, VR::LO, spec.model),
        us(tags::SAMPLES_PER_PIXEL, samples),
        text_of(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            if spec.rgb { "RGB" } else { "MONOCHROME2" },
        ),
        us(tags::ROWS, spec.rows as u16),
        us(tags::COLUMNS, spec.columns as u16),
        us(tags::BITS_ALLOCATED, 8),
        us(tags::BITS_STORED, 8),
        us(tags::HIGH_BIT, 7),
        us(tags::PIXEL_REPRESENTATION, 0),
    ]);
    if spec.rgb {
        object.put(us(tags::PLANAR_CONFIGURATION, 0));
    }
    let text = if spec.manufacturer == QUIET.manufacturer {
        String::new()
    } else {
        format!("{name} ANNA 1961")
    };
    let pixels = frame(spec, &text, n as u64 * 7919);
    object.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(pixels),
    ));
    let file = object
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax("1.2.840.10008.1.2.1")
                .media_storage_sop_class_uid(spec.class)
                .media_storage_sop_instance_uid(uid(1)),
        )
        .unwrap();
    file.write_to_file(path).unwrap();
}

/// Three ultrasound images of one device and two screen captures of another with text, and
/// two text-free ultrasound images of a third, under a folder named after a patient (input
/// paths often are).
fn input(sb: &Sandbox) -> std::path::PathBuf {
    let dir = sb.path("in/HALVORSEN_ANNA");
    std::fs::create_dir_all(&dir).unwrap();
    for n in 0..3 {
        write_image(&dir.join(format!("US{n}.dcm")), &US, n);
    }
    for n in 3..5 {
        write_image(&dir.join(format!("SC{n}.dcm")), &SC, n);
    }
    for n in 5..7 {
        write_image(&dir.join(format!("Q{n}.dcm")), &QUIET, n);
    }
    sb.path("in")
}

fn suggest(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    let mut cmd = sb.cmd();
    cmd.args(["rules", "suggest"])
        .args(args)
        .arg("--key-file")
        .arg(&sb.key);
    cmd.output().unwrap()
}

fn assert_no_names(text: &str, what: &str) {
    for name in NAMES {
        assert!(
            !text.to_uppercase().contains(name),
            "{what} names a patient"
        );
    }
}

#[test]
fn suggested_rules_release_the_quarantine_on_an_add_rerun() {
    let sb = Sandbox::new();
    let input = input(&sb);
    let output = sb.path("out");
    let out = sb.run(&input, &output, &["-q"]);
    assert_code(&out, 3, "first run: everything quarantined");
    let rules = sb.path("rules.yaml");
    let review = sb.path("review.html");
    let out = suggest(
        &sb,
        &[
            output.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "-o",
            rules.to_str().unwrap(),
            "--review",
            review.to_str().unwrap(),
        ],
    );
    assert_code(&out, 0, "rules suggest");
    assert!(stdout(&out).is_empty(), "the rules went to -o");
    let err = stderr(&out);
    assert!(
        err.contains("7 image(s) quarantined as burned_in_no_rule, 3 group(s)"),
        "{err}"
    );
    assert!(
        err.contains(
            "Quiet Co Q1 160x120 Ultrasound Image Storage: 2 image(s), 2 examined, no text found"
        ),
        "{err}"
    );
    assert_no_names(&err, "stderr");
    let yaml = std::fs::read_to_string(&rules).unwrap();
    assert_no_names(&yaml, "the rules");
    assert!(yaml.contains("extends: \"basic\""), "{yaml}");
    assert!(
        yaml.contains("Grab[*]2"),
        "a glob character in a model name is literal: {yaml}"
    );
    assert_eq!(
        yaml.matches("\n    - name:").count(),
        2,
        "two active rules:\n{yaml}"
    );
    assert!(
        yaml.contains("\n    # - name: \"suggested 2: Quiet Co"),
        "the text-free group is left commented out: {yaml}"
    );
    let check = sb
        .cmd()
        .args(["profile", "check", rules.to_str().unwrap()])
        .output()
        .unwrap();
    assert_code(&check, 0, "profile check of the suggested rules");
    // The review page shows every examined image's frame, and says it holds input pixels.
    let page = std::fs::read_to_string(&review).unwrap();
    assert_eq!(page.matches("<img ").count(), 7, "one frame of each image");
    assert!(page.contains("INPUT pixels"));

    let out = sb.run(
        &input,
        &output,
        &["--add", "--profile", rules.to_str().unwrap(), "-q"],
    );
    assert_code(
        &out,
        3,
        "the --add rerun: the text-free group stays quarantined",
    );
    let records = read_jsonl(&output.join("manifest.jsonl"));
    let latest = by_id(&records);
    assert_eq!(latest.len(), 7);
    let (quarantined, written): (Vec<&serde_json::Value>, Vec<&serde_json::Value>) = latest
        .values()
        .partition(|r| field(r, "status") == Some("quarantined"));
    assert_eq!((quarantined.len(), written.len()), (2, 5));
    for record in written {
        assert_eq!(field(record, "status"), Some("written"), "{record}");
        let masked_by = record["pixel_masked_by"].as_array().unwrap();
        assert!(
            masked_by
                .iter()
                .any(|m| m.as_str().unwrap().starts_with("suggested ")),
            "{record}"
        );
        // No burned-in glyph survives: every pixel as bright as the ink is gone.
        let dicom = open_dicom(&output.join(field(record, "output").unwrap()), None).unwrap();
        let pixels = dicom
            .object
            .get(tags::PIXEL_DATA)
            .unwrap()
            .to_bytes()
            .unwrap();
        assert!(pixels.iter().all(|&v| v < 200), "text left in {record}");
    }
}

#[test]
fn the_review_page_is_refused_inside_the_dataset_and_a_wrong_key_is_named() {
    let sb = Sandbox::new();
    let input = input(&sb);
    let output = sb.path("out");
    assert_code(&sb.run(&input, &output, &["-q"]), 3, "run");
    let inside = output.join("review.html");
    let out = suggest(
        &sb,
        &[
            output.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--review",
            inside.to_str().unwrap(),
        ],
    );
    assert_code(&out, 2, "review inside DATASET");
    assert!(stderr(&out).contains("--review must be outside DATASET and INPUT"));
    assert!(!inside.exists());

    let other = sb.path("other.key");
    std::fs::write(&other, format!("{KEY_B}\n")).unwrap();
    std::fs::set_permissions(&other, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let mut cmd = sb.cmd();
    cmd.args(["rules", "suggest"])
        .arg(&output)
        .arg("--input")
        .arg(&input)
        .arg("--key-file")
        .arg(&other);
    let out = cmd.output().unwrap();
    assert_code(&out, 2, "another key");
    assert!(
        stderr(&out).contains("is not the dataset's"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn json_summary_gives_groups_and_regions_on_stdout_and_nothing_of_a_patient() {
    let sb = Sandbox::new();
    let input = input(&sb);
    let output = sb.path("out");
    assert_code(&sb.run(&input, &output, &["-q"]), 3, "run");
    let rules = sb.path("rules.yaml");
    let args = [
        output.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--json",
    ];
    let out = suggest(&sb, &args);
    assert_code(&out, 2, "--json without -o");
    let mut with_rules = args.to_vec();
    with_rules.extend(["-o", rules.to_str().unwrap()]);
    let out = suggest(&sb, &with_rules);
    assert_code(&out, 0, "rules suggest --json");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    assert_no_names(&stdout(&out), "the JSON summary");
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    assert_eq!(json["quarantined"], 7);
    assert_eq!(json["extends"], "basic");
    let groups = json["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3);
    let group = |manufacturer: &str| {
        groups
            .iter()
            .find(|g| g["manufacturer"] == manufacturer)
            .unwrap_or_else(|| panic!("no group of {manufacturer}: {json}"))
    };
    let us = group("ACME Medical");
    assert_eq!(
        (&us["rows"], &us["columns"], &us["images"], &us["examined"]),
        (&240.into(), &320.into(), &3.into(), &3.into())
    );
    assert_eq!(us["sop_class_name"], "Ultrasound Image Storage");
    assert_eq!(us["ids"].as_array().unwrap().len(), 3);
    // The ultrasound text lies at the top left: a proposed region covers it.
    let regions = us["regions"].as_array().unwrap();
    assert!(
        regions
            .iter()
            .any(|r| r["x"].as_u64() < Some(20) && r["y"].as_u64() < Some(20)),
        "{regions:?}"
    );
    assert!(
        !group("Screens Inc")["regions"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(group("Quiet Co")["regions"].as_array().unwrap().is_empty());
    // The rules went to -o, as without --json.
    let yaml = std::fs::read_to_string(&rules).unwrap();
    assert_eq!(yaml.matches("\n    - name:").count(), 2, "{yaml}");
}
