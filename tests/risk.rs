//! `risk` on a generated dataset with a known answer: 200 patients in which exactly five
//! planted patients are unique, each for a known reason; then the suggested generalisations,
//! applied through a profile, leave every patient in a class of at least k.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use common::{Sandbox, assert_code, stdout};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use serde_json::Value as Json;

const UID_ROOT: &str = "1.2.826.0.1.3680043.10.9999.19";

/// One generated patient's quasi-identifiers.
struct Patient {
    id: String,
    sex: &'static str,
    age: &'static str,
    body_part: &'static str,
    model: &'static str,
    weight: &'static str,
    files: u32,
}

impl Patient {
    fn base(id: String, sex: &'static str, age: &'static str, body_part: &'static str) -> Self {
        Patient {
            id,
            sex,
            age,
            body_part,
            model: "Scan 1",
            weight: "70",
            files: 1,
        }
    }
}

/// The planted patients, what is rare about each, and which attributes would each alone,
/// removed, put it in a class of at least 5.
fn planted() -> Vec<(Patient, &'static [&'static str], &'static [&'static str])> {
    let p = |id: &str, sex, age, part| Patient::base(id.to_owned(), sex, age, part);
    vec![
        (
            p("RARE-BODY", "M", "050Y", "FOOT"),
            &["BodyPartExamined"],
            &["BodyPartExamined"],
        ),
        (
            Patient {
                model: "Prototype X",
                ..p("RARE-MODEL", "F", "060Y", "CHEST")
            },
            &["ManufacturerModelName"],
            &["ManufacturerModelName"],
        ),
        // The 45-year-old woman with a rare body part and device: nothing alone saves her.
        (
            Patient {
                model: "Prototype Y",
                ..p("WOMAN-45", "F", "045Y", "KNEE")
            },
            &["PatientAge", "BodyPartExamined", "ManufacturerModelName"],
            &[],
        ),
        (
            Patient {
                weight: "140",
                files: 3,
                ..p("RARE-WEIGHT", "M", "070Y", "ABDOMEN")
            },
            &["PatientWeight"],
            &["PatientWeight"],
        ),
        // Every value common, the combination unique: no woman of 80 has an abdomen study.
        (
            p("COMBINATION", "F", "080Y", "ABDOMEN"),
            &[],
            &["PatientAge", "PatientSex", "BodyPartExamined"],
        ),
    ]
}

/// 195 patients spread over 19 classes of (sex, age, body part), at least 10 in each (the
/// class of women of 80 with an abdomen study left empty), then the five planted ones.
fn patients() -> Vec<Patient> {
    let mut cells = Vec::new();
    for sex in ["M", "F"] {
        for age in ["040Y", "050Y", "060Y", "070Y", "080Y"] {
            for part in ["CHEST", "ABDOMEN"] {
                if (sex, age, part) != ("F", "080Y", "ABDOMEN") {
                    cells.push((sex, age, part));
                }
            }
        }
    }
    let mut out: Vec<Patient> = (0..195)
        .map(|i| {
            let (sex, age, part) = cells[i % cells.len()];
            Patient {
                files: if i % 10 == 0 { 2 } else { 1 },
                ..Patient::base(format!("BASE{i:03}"), sex, age, part)
            }
        })
        .collect();
    out.extend(planted().into_iter().map(|(p, _, _)| p));
    out
}

fn text(tag: dicom_core::Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

/// Write every patient's files under `dir`.
fn generate(dir: &Path) {
    for (p_index, p) in patients().iter().enumerate() {
        let study = format!("{UID_ROOT}.{}", p_index + 1);
        for f in 0..p.files {
            let sop = format!("{study}.1.{}", f + 1);
            let object = InMemDicomObject::from_element_iter([
                text(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
                text(tags::SOP_INSTANCE_UID, VR::UI, &sop),
                text(tags::STUDY_DATE, VR::DA, "20200615"),
                text(tags::MODALITY, VR::CS, "CT"),
                text(tags::MANUFACTURER, VR::LO, "ACME"),
                text(tags::INSTITUTION_NAME, VR::LO, "General Hospital"),
                text(tags::MANUFACTURER_MODEL_NAME, VR::LO, p.model),
                text(tags::PATIENT_NAME, VR::PN, &format!("Doe^{}", p.id)),
                text(tags::PATIENT_ID, VR::LO, &p.id),
                text(tags::PATIENT_SEX, VR::CS, p.sex),
                text(tags::PATIENT_AGE, VR::AS, p.age),
                text(tags::PATIENT_SIZE, VR::DS, "1.7"),
                text(tags::PATIENT_WEIGHT, VR::DS, p.weight),
                text(tags::BODY_PART_EXAMINED, VR::CS, p.body_part),
                text(tags::STUDY_INSTANCE_UID, VR::UI, &study),
                text(tags::SERIES_INSTANCE_UID, VR::UI, &format!("{study}.1")),
                text(tags::SERIES_NUMBER, VR::IS, "1"),
                text(tags::INSTANCE_NUMBER, VR::IS, &(f + 1).to_string()),
                DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16)),
                text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
                DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(4u16)),
                DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(4u16)),
                DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16)),
                DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(12u16)),
                DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(11u16)),
                DataElement::new(
                    tags::PIXEL_REPRESENTATION,
                    VR::US,
                    PrimitiveValue::from(0u16),
                ),
                DataElement::new(
                    tags::PIXEL_DATA,
                    VR::OW,
                    PrimitiveValue::U8(vec![0; 32].into()),
                ),
            ]);
            let meta = FileMetaTableBuilder::new()
                .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
                .media_storage_sop_class_uid(uids::CT_IMAGE_STORAGE)
                .media_storage_sop_instance_uid(&sop)
                .implementation_class_uid(format!("{UID_ROOT}.0"));
            let path = dir.join(&p.id).join(format!("IM{f}.dcm"));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            object
                .with_meta(meta)
                .unwrap()
                .write_to_file(&path)
                .unwrap();
        }
    }
    fs::write(dir.join("README.TXT"), "not DICOM\n").unwrap();
}

/// The research profile with one fixed date shift, so that every study falls in the same
/// season, plus `extra` attribute lines.
fn profile(sb: &Sandbox, name: &str, extra: &[String]) -> PathBuf {
    let mut text = String::from("extends: ml-dataset\ndates:\n  shift: fixed\n  days: -100\n");
    if !extra.is_empty() {
        text.push_str("attributes:\n");
        for line in extra {
            text.push_str(&format!("  {line}\n"));
        }
    }
    let path = sb.path(name);
    fs::write(&path, text).unwrap();
    path
}

/// Run INPUT into OUTPUT with `profile`, the linkage beside; original → pseudonym.
fn deidentify(
    sb: &Sandbox,
    input: &Path,
    output: &str,
    profile: &Path,
) -> BTreeMap<String, String> {
    let linkage = sb.path(&format!("{output}-linkage"));
    let out = sb.run(
        input,
        &sb.path(output),
        &[
            "--profile",
            profile.to_str().unwrap(),
            "--linkage",
            linkage.to_str().unwrap(),
            "-q",
        ],
    );
    assert_code(&out, 0, "run");
    let mut reader = csv::Reader::from_path(linkage.join("patient_id.csv")).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[1].to_owned())
        })
        .collect()
}

fn risk_json(sb: &Sandbox, dataset: &Path, args: &[&str]) -> (i32, Json) {
    let out = sb
        .cmd()
        .arg("risk")
        .arg(dataset)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("risk --json: {e}\n{}", common::stderr(&out)));
    (out.status.code().unwrap(), json)
}

fn names(value: &Json) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn risk_names_exactly_the_planted_patients_and_why() {
    let sb = Sandbox::new();
    let input = sb.path("input");
    generate(&input);
    let research = profile(&sb, "research.yaml", &[]);
    let pseudonyms = deidentify(&sb, &input, "out", &research);
    let (code, report) = risk_json(&sb, &sb.path("out"), &["--population", "20000"]);
    assert_eq!(code, 1, "some patients are below k");
    assert_eq!(report["patients"], 200);
    assert_eq!(report["k"], 5);
    assert_eq!(report["patients_below_k"], 5);
    assert_eq!(report["unique_patients"], 5);
    assert_eq!(report["files"]["dicom"], 195 + 20 + 3 + 4);
    // manifest.jsonl and summary.json (the state folder is not read).
    assert_eq!(report["files"]["not_dicom"], 2);

    let at_risk: BTreeMap<String, &Json> = report["at_risk"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["pseudonym"].as_str().unwrap().to_owned(), r))
        .collect();
    let expected: BTreeSet<String> = planted()
        .iter()
        .map(|(p, _, _)| pseudonyms[&p.id].clone())
        .collect();
    assert_eq!(at_risk.keys().cloned().collect::<BTreeSet<_>>(), expected);
    for (p, rare, alone) in planted() {
        let r = at_risk[&pseudonyms[&p.id]];
        assert_eq!(r["group_size"], 1, "{}", p.id);
        assert_eq!(names(&r["rare"]), rare, "{}: rare values", p.id);
        assert_eq!(names(&r["removal_reaches_k"]), alone, "{}: removal", p.id);
    }

    // Classes: 14 of 10 and 5 of 11 from the base (195 over 19), 5 of 1.
    let sizes: Vec<(u64, u64)> = report["group_sizes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["size"].as_u64().unwrap(), s["groups"].as_u64().unwrap()))
        .collect();
    assert_eq!(sizes, [(1, 5), (10, 14), (11, 5)]);
    assert_eq!(report["groups"], 24);
    // Prosecutor: highest 1; average = classes / patients. Journalist: F = f · 20000/200.
    assert_eq!(report["prosecutor"]["max"], 1.0);
    assert!((report["prosecutor"]["average"].as_f64().unwrap() - 24.0 / 200.0).abs() < 1e-12);
    assert!((report["journalist"]["max"].as_f64().unwrap() - 0.01).abs() < 1e-12);
    assert!((report["journalist"]["average"].as_f64().unwrap() - 24.0 / 20000.0).abs() < 1e-12);

    let attr = |name: &str| {
        report["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["name"] == name)
            .unwrap()
            .clone()
    };
    // Without BodyPartExamined, RARE-BODY and COMBINATION join classes of 10 or more.
    assert_eq!(attr("BodyPartExamined")["unique_added"], 2);
    let parts = attr("BodyPartExamined");
    let rare_parts: Vec<&str> = parts["rare_values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["value"].as_str().unwrap())
        .collect();
    assert_eq!(rare_parts, ["FOOT", "KNEE"]);
    // Free text: counted, never shown.
    let model = attr("ManufacturerModelName");
    assert_eq!(model["withheld"], true);
    assert_eq!(model["rare_values"].as_array().unwrap().len(), 2);
    assert!(model["rare_values"][0]["value"].is_null());
    assert_eq!(attr("PatientWeight")["rare_values"][0]["value"], "140");
    assert_eq!(
        names(&report["absent"]),
        ["EthnicGroup", "ProcedureCodeSequence"]
    );

    // The text report never prints a free-text value; it names the at-risk pseudonyms.
    let out = sb.cmd().arg("risk").arg(sb.path("out")).output().unwrap();
    assert_code(&out, 1, "risk");
    let text = stdout(&out);
    assert!(!text.contains("Prototype"), "{text}");
    for p in &expected {
        assert!(text.contains(p.as_str()), "{p} missing:\n{text}");
    }

    // Over sex and age alone, only the 45-year-old woman is below 5.
    let (code, narrow) = risk_json(&sb, &sb.path("out"), &["--qi", "PatientSex,PatientAge"]);
    assert_eq!(code, 1);
    assert_eq!(
        names(&narrow["quasi_identifiers"]),
        ["PatientSex", "PatientAge"]
    );
    assert_eq!(narrow["patients_below_k"], 1);
    assert_eq!(
        narrow["at_risk"][0]["pseudonym"],
        pseudonyms["WOMAN-45"].as_str()
    );
    // The same report at any thread count.
    let (_, one) = risk_json(&sb, &sb.path("out"), &["--population", "20000", "-j", "1"]);
    let (_, three) = risk_json(&sb, &sb.path("out"), &["--population", "20000", "-j", "3"]);
    assert_eq!(one, report);
    assert_eq!(three, report);
    // At k = 1 nobody is at risk.
    let (code, _) = risk_json(&sb, &sb.path("out"), &["--k", "1"]);
    assert_eq!(code, 0);
}

#[test]
fn risk_refuses_what_it_cannot_measure() {
    let sb = Sandbox::new();
    fs::create_dir_all(sb.path("empty")).unwrap();
    for (args, says) in [
        (vec!["risk", "missing"], "not a readable folder"),
        (vec!["risk", "empty"], "no DICOM file with a PatientID"),
        (vec!["risk", "empty", "--qi", "ShoeSize"], "--qi"),
        (vec!["risk", "empty", "--k", "0"], "--k"),
        (vec!["risk", "empty", "--html", "empty/page.html"], "--html"),
    ] {
        let out = sb.cmd().args(&args).output().unwrap();
        assert_code(&out, 2, &args.join(" "));
        assert!(
            common::stderr(&out).contains(says),
            "{args:?}: {}",
            common::stderr(&out)
        );
    }
}

/// The first program of these names on PATH.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|p| p.is_file())
}

#[test]
fn the_html_page_renders_in_a_headless_browser() {
    let Some(browser) = chromium() else {
        eprintln!("the_html_page_renders_in_a_headless_browser: skipped: no chromium on PATH");
        return;
    };
    let sb = Sandbox::new();
    let input = sb.path("input");
    generate(&input);
    let research = profile(&sb, "research.yaml", &[]);
    deidentify(&sb, &input, "out", &research);
    let page = sb.path("risk.html");
    let out = sb
        .cmd()
        .arg("risk")
        .arg(sb.path("out"))
        .args(["--population", "20000", "--html"])
        .arg(&page)
        .output()
        .unwrap();
    assert_code(&out, 1, "risk --html");
    let html = fs::read_to_string(&page).unwrap();
    assert!(!html.contains("Prototype"), "free text on the page");
    assert!(!html.contains("src=\"http") && !html.contains("<script"));
    let shot = sb.path("shot.png");
    let status = std::process::Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1100,1600",
        ])
        .arg(format!(
            "--user-data-dir={}",
            sb.path("chromium-profile").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        shot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    if let Some(keep) = std::env::var_os("RISK_SCREENSHOT") {
        fs::copy(&shot, keep).unwrap();
    }
    let image = image::open(&shot).unwrap().to_rgb8();
    let count = |rgb: [u8; 3]| image.pixels().filter(|p| p.0 == rgb).count();
    // The bars below k (red) and the others (blue) were drawn, and the verdict's red border.
    assert!(
        count([0xc6, 0x28, 0x28]) > 500,
        "no red bar in the screenshot"
    );
    assert!(
        count([0x5c, 0x7f, 0xa3]) > 2000,
        "no blue bar in the screenshot"
    );
}

#[test]
fn the_suggested_generalisations_bring_every_patient_to_k() {
    let sb = Sandbox::new();
    let input = sb.path("input");
    generate(&input);
    let research = profile(&sb, "research.yaml", &[]);
    deidentify(&sb, &input, "out", &research);
    let (_, before) = risk_json(&sb, &sb.path("out"), &[]);
    let suggestion = &before["suggestion"];
    let lines: Vec<String> = suggestion["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            format!(
                "{}: {}",
                l["attribute"].as_str().unwrap(),
                l["action"].as_str().unwrap()
            )
        })
        .collect();
    assert!(!lines.is_empty());
    assert_eq!(suggestion["patients_below_k"], 0);
    // The 45-year-old goes into the band of 40; the rest of what singles patients out goes.
    assert!(
        lines.contains(&"PatientAge: {band: 10}".to_owned()),
        "{lines:?}"
    );

    let generalised = profile(&sb, "generalised.yaml", &lines);
    let check = sb
        .cmd()
        .args(["profile", "check"])
        .arg(&generalised)
        .output()
        .unwrap();
    assert_code(&check, 0, "profile check");
    deidentify(&sb, &input, "out2", &generalised);
    let (code, after) = risk_json(&sb, &sb.path("out2"), &[]);
    assert_eq!(code, 0, "{after:#}");
    assert_eq!(after["patients"], 200);
    assert_eq!(after["patients_below_k"], 0);
    // The k the suggestion promised is the one the rerun measures.
    let smallest = after["group_sizes"][0]["size"].clone();
    assert_eq!(smallest, suggestion["reached_k"]);
}

#[test]
fn generalisations_write_coarser_values() {
    let sb = Sandbox::new();
    let input = sb.path("input");
    generate(&input);
    let lines = [
        "PatientAge: {band: 10}".to_owned(),
        "PatientWeight: {round: 20}".to_owned(),
        "PatientSize: {round: 0.5}".to_owned(),
        "StudyDate: {precision: year}".to_owned(),
    ];
    let generalised = profile(&sb, "generalised.yaml", &lines);
    let shown = sb
        .cmd()
        .args(["profile", "show"])
        .arg(&generalised)
        .output()
        .unwrap();
    assert_code(&shown, 0, "profile show");
    assert!(stdout(&shown).contains("{band: 10}"), "{}", stdout(&shown));
    let pseudonyms = deidentify(&sb, &input, "out", &generalised);
    let dir = sb.path("out").join(&pseudonyms["WOMAN-45"]);
    let file = common::files_under(&dir)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "dcm"))
        .unwrap();
    let dicom = common::open_dicom(&file, None).unwrap();
    let value = |tag| common::str_value(&dicom.object, tag).unwrap_or_default();
    assert_eq!(value(tags::PATIENT_AGE), "040Y");
    assert_eq!(value(tags::PATIENT_WEIGHT), "80");
    assert_eq!(value(tags::PATIENT_SIZE), "1.5");
    // 2020-06-15 shifted by -100 days is 2020-03-07: kept to the year.
    assert_eq!(value(tags::STUDY_DATE), "20200101");
}
