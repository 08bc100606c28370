//! Integration tests of `dicom-deid verify`: a clean run verifies, a planted identifier written
//! back into an output is found and named by file and attribute (never by value), the profile's
//! own checks and the manifest's catch what they should, and nothing verify prints holds PHI.

mod common;
#[allow(dead_code)]
#[path = "common/plant.rs"]
mod plant;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use serde_json::Value as Json;

/// `verify OUTPUT ARGS...` with the sandbox's key.
fn verify(sb: &Sandbox, output: &Path, args: &[&str]) -> std::process::Output {
    let mut cmd = sb.cmd();
    cmd.arg("verify")
        .arg(output)
        .arg("--key-file")
        .arg(&sb.key)
        .args(args);
    cmd.output().expect("the binary runs")
}

/// A run of `profile` over a copy of the test data: (input copy, output).
fn run_testdata(sb: &Sandbox, data: &Path, profile: &str) -> (PathBuf, PathBuf) {
    let input = sb.copy_in(data, "in");
    let output = sb.path(&format!("out-{}", profile.replace(['/', '.'], "_")));
    let out = sb.run(&input, &output, &["--quiet", "--profile", profile]);
    assert_code(&out, 1, "run (the test data holds one truncated file)");
    (input, output)
}

fn assert_no_planted_in(out: &std::process::Output, planted: &[String]) {
    for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let found = planted_in(bytes, planted);
        assert!(
            found.is_empty(),
            "verify's {name} names planted values {found:?}"
        );
    }
}

/// Rewrite one output file with `edit` applied to its data set (file meta kept).
fn rewrite(path: &Path, edit: impl FnOnce(&mut dicom_object::mem::InMemDicomObject)) {
    let mut file = dicom_object::open_file(path).expect("an output reads back");
    edit(&mut file);
    file.write_to_file(path).expect("write the edited output");
}

/// The first written output of the run (by manifest order), relative to OUTPUT.
fn first_output(output: &Path, wanted: impl Fn(&Dicom) -> bool) -> String {
    read_jsonl(&output.join("manifest.jsonl"))
        .iter()
        .filter(|r| field(r, "status") == Some("written"))
        .map(|r| field(r, "output").unwrap().to_owned())
        .find(|rel| open_dicom(&output.join(rel), None).is_ok_and(|d| wanted(&d)))
        .expect("an output of the wanted kind")
}

/// The test data plants fake identifiers in every place the engine handles: nested sequences
/// (four deep), private blocks (explicit and implicit VR, safe and unsafe elements), the file
/// meta (source AE title), free text (descriptions, comments, SR text), overlays and curves,
/// UIDs and references, in three character sets. After `run`, `verify --against` finds none
/// of them under every shipped profile; a planted name written back into one output's
/// description is then found and named by file and attribute, and never shown.
#[test]
fn planted_identifiers_are_gone_and_a_planted_name_written_back_is_found() {
    let test = "planted_identifiers_are_gone_and_a_planted_name_written_back_is_found";
    let (Some(data), Some(planted)) = (testdata_or_skip(test), planted_phi_or_skip(test)) else {
        return;
    };
    for profile in ["basic", "ml-dataset", "safe-harbor"] {
        let sb = Sandbox::new();
        let (input, output) = run_testdata(&sb, &data, profile);
        let against = input.to_str().unwrap();
        let clean = verify(&sb, &output, &["--against", against]);
        assert_code(
            &clean,
            0,
            &format!("verify --against after run ({profile})"),
        );
        assert!(stderr(&clean).contains("no problems"), "{}", stderr(&clean));
        assert_no_planted_in(&clean, &planted);

        // Write a planted name back into a description of one output.
        let rel = first_output(&output, |d| {
            str_value(&d.object, tags::MODALITY).as_deref() == Some("CT")
        });
        rewrite(&output.join(&rel), |obj| {
            obj.put(DataElement::new(
                tags::SERIES_DESCRIPTION,
                VR::LO,
                PrimitiveValue::from("CHEST follow-up DOE^JOHN"),
            ));
        });
        let leaked = verify(&sb, &output, &["--against", against]);
        assert_code(
            &leaked,
            1,
            &format!("verify after the corruption ({profile})"),
        );
        let report = stdout(&leaked);
        let line = report
            .lines()
            .find(|l| l.starts_with("leak:") && l.contains("SeriesDescription"))
            .unwrap_or_else(|| panic!("no leak named SeriesDescription ({profile}):\n{report}"));
        assert!(line.contains(&rel), "the leak names its file: {line}");
        assert!(
            line.contains("patient name"),
            "the leak names the kind: {line}"
        );
        assert_no_planted_in(&leaked, &planted);
        // The edit also changed the file after the run: the manifest check says so.
        assert!(
            report
                .lines()
                .any(|l| l.starts_with("manifest:") && l.contains(&rel) && l.contains("SHA-256")),
            "{report}"
        );
        // The same in JSON: one finding per problem, with file, attribute, check and detail.
        let json = verify(&sb, &output, &["--against", against, "--json"]);
        assert_code(&json, 1, "verify --json");
        let parsed: Json = serde_json::from_slice(&json.stdout).expect("JSON on stdout");
        let findings = parsed["findings"].as_array().unwrap();
        assert!(findings.iter().any(|f| f["check"] == "leak"
            && f["file"] == rel.as_str()
            && f["attribute"] == "SeriesDescription"));
        assert!(parsed["identifying_values"].as_u64().unwrap() > 100);
        assert_no_planted_in(&json, &planted);
    }
}

/// Planted values in private blocks, nested sequences, binary values and the file meta are
/// found too, each named by where it is.
#[test]
fn leaks_are_found_in_private_binary_nested_and_meta_places() {
    let test = "leaks_are_found_in_private_binary_nested_and_meta_places";
    let Some(data) = testdata_or_skip(test) else {
        return;
    };
    let sb = Sandbox::new();
    let (input, output) = run_testdata(&sb, &data, "basic");
    let rel = first_output(&output, |d| {
        str_value(&d.object, tags::MODALITY).as_deref() == Some("CT")
    });
    let path = output.join(&rel);
    let mut file = dicom_object::open_file(&path).unwrap();
    let item = dicom_object::mem::InMemDicomObject::from_element_iter([DataElement::new(
        tags::REQUESTED_PROCEDURE_DESCRIPTION,
        VR::LO,
        PrimitiveValue::from("for accession ACCN190312001"),
    )]);
    file.put(DataElement::new(
        tags::REQUEST_ATTRIBUTES_SEQUENCE,
        VR::SQ,
        dicom_core::value::DataSetSequence::new(vec![item], dicom_core::Length::UNDEFINED),
    ));
    file.put(DataElement::new(
        dicom_core::Tag(0x0029, 0x0010),
        VR::LO,
        PrimitiveValue::from("SOME VENDOR"),
    ));
    file.put(DataElement::new(
        dicom_core::Tag(0x0029, 0x1001),
        VR::OB,
        PrimitiveValue::from(b"\x00\x01SPRINGFIELD GENERAL HOSPITAL\x00".to_vec()),
    ));
    file.update_meta(|meta| meta.source_application_entity_title = Some("SPRGH_PACS".into()));
    file.write_to_file(&path).unwrap();
    let out = verify(&sb, &output, &["--against", input.to_str().unwrap()]);
    assert_code(&out, 1, "verify");
    let report = stdout(&out);
    for (attribute, kind) in [
        (
            "RequestAttributesSequence[1] > RequestedProcedureDescription",
            "accession number",
        ),
        ("(0029,1001)", "institution name"),
        ("file meta > SourceApplicationEntityTitle", "present"),
    ] {
        assert!(
            report
                .lines()
                .any(|l| l.contains(&rel) && l.contains(attribute) && l.contains(kind)),
            "nothing names {attribute} ({kind}):\n{report}"
        );
    }
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("private:") && l.contains("(0029,xx01)@SOME VENDOR")),
        "{report}"
    );
    let planted = planted_phi_or_skip(test).unwrap_or_default();
    assert_no_planted_in(&out, &planted);
}

/// Without --against, verify still checks the profile: an output made with a laxer profile
/// fails the basic profile's checks, by attribute.
#[test]
fn outputs_of_a_laxer_profile_fail_the_stricter_profile() {
    let test = "outputs_of_a_laxer_profile_fail_the_stricter_profile";
    let Some(data) = testdata_or_skip(test) else {
        return;
    };
    let sb = Sandbox::new();
    let lax = sb.path("lax.yaml");
    fs::write(
        &lax,
        "extends: basic\nprivate: keep\nuids: {root: \"1.2.3\"}\nattributes:\n  StudyDescription: keep\n  InstitutionName: {replace: \"X\"}\n",
    )
    .unwrap();
    let (_, output) = run_testdata(&sb, &data, lax.to_str().unwrap());
    // Against its own profile (from summary.json) it verifies.
    let own = verify(&sb, &output, &[]);
    assert_code(&own, 0, "verify against the run's own profile");
    let strict = verify(&sb, &output, &["--profile", "basic"]);
    assert_code(&strict, 1, "verify against basic");
    let report = stdout(&strict);
    for expected in [
        "removed: ",
        "StudyDescription: present, but the profile removes it",
        "private: ",
        "uid: ",
        "a UID outside the UID root 2.25",
    ] {
        assert!(
            report.contains(expected),
            "{expected:?} missing from:\n{report}"
        );
    }
    assert!(
        stderr(&strict).contains("note: the run used profile"),
        "{}",
        stderr(&strict)
    );
}

#[test]
fn the_manifest_must_account_for_every_file() {
    let test = "the_manifest_must_account_for_every_file";
    let Some(data) = testdata_or_skip(test) else {
        return;
    };
    let sb = Sandbox::new();
    let (input, output) = run_testdata(&sb, &data, "basic");
    let records = read_jsonl(&output.join("manifest.jsonl"));
    let written: Vec<&str> = records
        .iter()
        .filter(|r| field(r, "status") == Some("written"))
        .map(|r| field(r, "output").unwrap())
        .collect();
    fs::remove_file(output.join(written[0])).unwrap();
    fs::copy(output.join(written[1]), output.join("stray.dcm")).unwrap();
    let out = verify(&sb, &output, &["--against", input.to_str().unwrap()]);
    assert_code(&out, 1, "verify");
    let report = stdout(&out);
    assert!(
        report.contains(&format!(
            "manifest: {}: file: listed as written in the manifest, but missing",
            written[0]
        )),
        "{report}"
    );
    assert!(
        report.contains("manifest: stray.dcm: file: not listed as written in the manifest"),
        "{report}"
    );

    // Every input needs a record: drop one line from the dataset's manifest, which the audit
    // check (with the key) tells from the runs' own manifests.
    let text = fs::read_to_string(output.join("manifest.jsonl")).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.contains("\"skipped\""))
        .collect();
    fs::write(output.join("manifest.jsonl"), kept.join("\n") + "\n").unwrap();
    let out = verify(&sb, &output, &["--against", input.to_str().unwrap()]);
    assert_code(&out, 1, "verify");
    assert!(
        stdout(&out).contains("not the runs' manifests one after the other"),
        "{}",
        stdout(&out)
    );
    fs::write(output.join("manifest.jsonl"), &text).unwrap();

    // The records verify lists files from are the dataset's catalogue: a record dropped there
    // leaves an input without one, and the catalogue no longer matches the run's manifest.
    let db = rusqlite::Connection::open(output.join(".dicom-deid/catalogue.sqlite")).unwrap();
    db.execute("DELETE FROM records WHERE status = 'skipped'", [])
        .unwrap();
    drop(db);
    let out = verify(&sb, &output, &["--against", input.to_str().unwrap()]);
    let report = stdout(&out);
    assert!(
        report.contains("an input file has no manifest record"),
        "{report}"
    );
    assert!(
        report.contains("the catalogue's record differs from the manifest's"),
        "{report}"
    );
}

#[test]
fn verify_refuses_what_it_cannot_check_and_says_what_to_do() {
    let sb = Sandbox::new();
    let empty = sb.path("empty");
    fs::create_dir_all(&empty).unwrap();
    let out = verify(&sb, &empty, &[]);
    assert_code(&out, 2, "verify without a summary or --profile");
    assert!(stderr(&out).contains("--profile"), "{}", stderr(&out));
    let out = verify(&sb, &sb.path("missing"), &["--profile", "basic"]);
    assert_code(&out, 2, "verify of a missing folder");
    let out = verify(&sb, &empty, &["--profile", "basic"]);
    assert_code(&out, 1, "an empty folder has no manifest");
    assert!(stdout(&out).contains("manifest.jsonl"), "{}", stdout(&out));
}

/// With --manifest-paths the manifest names the input paths, which hold patient names here:
/// verify says so, by record, without the name, as review items (the user asked for the
/// paths), which fail the gate with --strict.
#[test]
fn input_paths_in_the_manifest_are_review_items() {
    let test = "input_paths_in_the_manifest_are_review_items";
    let (Some(data), Some(planted)) = (testdata_or_skip(test), planted_phi_or_skip(test)) else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    let output = sb.path("out");
    let out = sb.run(&input, &output, &["--quiet", "--manifest-paths"]);
    assert_code(&out, 1, "run --manifest-paths");
    let out = verify(&sb, &output, &["--against", input.to_str().unwrap()]);
    assert_code(&out, 0, "verify: review items only");
    let strict = ["--against", input.to_str().unwrap(), "--strict"];
    assert_code(&verify(&sb, &output, &strict), 1, "verify --strict");
    let report = stdout(&out);
    assert!(
        report
            .lines()
            .any(|l| l.starts_with("review: manifest.jsonl: record ")
                && l.contains("> input: patient name")),
        "{report}"
    );
    assert_no_planted_in(&out, &planted);
}

/// A folder written by another tool, with names in its paths and a private creator: verify
/// reports the leaks without printing the path or the creator.
#[test]
fn identifying_paths_and_creators_are_never_printed() {
    let test = "identifying_paths_and_creators_are_never_printed";
    let (Some(data), Some(planted)) = (testdata_or_skip(test), planted_phi_or_skip(test)) else {
        return;
    };
    let sb = Sandbox::new();
    let (input, output) = run_testdata(&sb, &data, "basic");
    let rel = first_output(&output, |_| true);
    let named = output.join("DOE_JOHN_12345.dcm");
    fs::rename(output.join(&rel), &named).unwrap();
    rewrite(&named, |obj| {
        obj.put(DataElement::new(
            dicom_core::Tag(0x0029, 0x0010),
            VR::LO,
            PrimitiveValue::from("DOE^JOHN"),
        ));
        obj.put(DataElement::new(
            dicom_core::Tag(0x0029, 0x1001),
            VR::LO,
            PrimitiveValue::from("x"),
        ));
    });
    let out = verify(&sb, &output, &["--against", input.to_str().unwrap()]);
    assert_code(&out, 1, "verify");
    let report = stdout(&out);
    assert!(report.contains("(path withheld, sha256 "), "{report}");
    assert!(report.contains("output path: patient name"), "{report}");
    assert!(
        report.contains("not listed as written in the manifest"),
        "{report}"
    );
    assert!(report.contains("@(creator withheld)"), "{report}");
    assert_no_planted_in(&out, &planted);
}

/// The labelled measurement in small (the full one is `examples/verify-eval.rs`): clean runs of
/// three profiles give no leak finding, and every value planted back from each output's own
/// input, in every kind of place, is found as a leak where it was put.
#[test]
fn clean_runs_have_no_false_leaks_and_every_planted_leak_is_found() {
    let Some(data) = testdata_or_skip("verify planted leaks") else {
        return;
    };
    let sb = Sandbox::new();
    for profile in ["basic", "ml-dataset", "safe-harbor"] {
        let input = sb.copy_in(&data, &format!("in-{profile}"));
        let output = sb.path(&format!("planted-{profile}"));
        let run = sb.run(
            &input,
            &output,
            &["--quiet", "--manifest-paths", "--profile", profile],
        );
        assert_code(&run, 1, "run (the test data holds one truncated file)");
        let against = ["--json", "--against", input.to_str().unwrap()];
        let clean = verify(&sb, &output, &against);
        let report: Json = serde_json::from_slice(&clean.stdout).unwrap();
        let findings = report["findings"].as_array().unwrap();
        assert!(
            !findings.iter().any(|f| f["check"] == "leak"),
            "{profile}: a clean run has no leak"
        );
        assert!(
            findings
                .iter()
                .all(|f| f["check"] != "review"
                    || f["attribute"].as_str().unwrap().ends_with("> input")),
            "{profile}: the only review items are the opted-in input paths"
        );
        assert_code(&clean, 0, "review findings do not fail the gate");
        let mut strict = against.to_vec();
        strict.push("--strict");
        assert_code(
            &verify(&sb, &output, &strict),
            1,
            "--strict fails on review",
        );

        let plants = plant::plant(&output, &input);
        let places: std::collections::BTreeSet<&str> = plants.iter().map(|p| p.place).collect();
        assert_eq!(
            places.len(),
            plant::PLACES.len(),
            "every kind of place planted"
        );
        let out = verify(&sb, &output, &against);
        assert_code(&out, 1, "planted leaks fail the gate");
        let report: Json = serde_json::from_slice(&out.stdout).unwrap();
        let findings = report["findings"].as_array().unwrap();
        for p in &plants {
            assert!(
                findings.iter().any(|f| plant::finds(p, f)),
                "{profile}: planted {} in {} not found",
                p.place,
                p.file
            );
        }
        for f in findings.iter().filter(|f| f["check"] == "leak") {
            assert!(
                plants.iter().any(|p| plant::finds(p, f)),
                "{profile}: a leak that was not planted: {f}"
            );
            assert!(
                f["record"].is_string()
                    || f["file"] == "manifest.jsonl"
                    || f["file"].as_str().unwrap().contains("path withheld"),
                "{profile}: a leak names its manifest record: {f}"
            );
        }
    }
}

/// One small CT data set of a patient, written as `dir/NAME.dcm`.
fn write_patient(dir: &Path, name: &str, id: &str, person: &str, manufacturer: &str, n: u32) {
    use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
    let root = "1.2.826.0.1.3680043.10.9999.61";
    let sop = format!("{root}.3.{n}");
    let object = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(dicom_dictionary_std::uids::CT_IMAGE_STORAGE),
        ),
        DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(sop.as_str()),
        ),
        DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from("CT")),
        DataElement::new(
            tags::MANUFACTURER,
            VR::LO,
            PrimitiveValue::from(manufacturer),
        ),
        DataElement::new(tags::PATIENT_NAME, VR::PN, PrimitiveValue::from(person)),
        DataElement::new(tags::PATIENT_ID, VR::LO, PrimitiveValue::from(id)),
        DataElement::new(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(format!("{root}.1.{n}")),
        ),
        DataElement::new(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(format!("{root}.2.{n}")),
        ),
    ]);
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .media_storage_sop_class_uid(dicom_dictionary_std::uids::CT_IMAGE_STORAGE)
        .media_storage_sop_instance_uid(&sop)
        .implementation_class_uid(format!("{root}.0"));
    fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("{name}.dcm"));
    object.with_meta(meta).unwrap().write_to_file(path).unwrap();
}

/// Each output is searched in the scope of its own inputs. A patient ID of letters with few
/// digits that another patient's input holds as a word of a kept attribute (its Manufacturer)
/// is a leak in its own patient's output, and only for review in the other patient's output,
/// which holds it through its kept Manufacturer. Without the run's key outputs cannot be
/// linked to inputs, and such a value is for review everywhere.
#[test]
fn own_values_are_leaks_where_other_patients_keep_them_as_words() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    write_patient(&input, "a", "KESTREL7", "ROE^ANN", "ACME", 1);
    write_patient(&input, "b", "PB-20001", "POE^BEA", "Kestrel7 Imaging", 2);
    let output = sb.path("out");
    assert_code(&sb.run(&input, &output, &["--quiet"]), 0, "run");
    let against = ["--against", input.to_str().unwrap()];
    let clean = verify(&sb, &output, &against);
    assert_code(
        &clean,
        0,
        "a clean run: the other patient's kept word is for review",
    );
    assert!(
        stdout(&clean)
            .lines()
            .any(|l| l.starts_with("review:") && l.contains("Manufacturer: patient ID")),
        "{}",
        stdout(&clean)
    );

    // Patient A's ID written into A's output.
    let rel = first_output(&output, |d| {
        str_value(&d.object, tags::MANUFACTURER).as_deref() == Some("ACME")
    });
    rewrite(&output.join(&rel), |obj| {
        obj.put(DataElement::new(
            tags::STUDY_DESCRIPTION,
            VR::LO,
            PrimitiveValue::from("follow-up KESTREL7"),
        ));
    });
    let leaked = verify(&sb, &output, &against);
    assert_code(&leaked, 1, "own patient's ID");
    let line = format!("leak: {rel}: StudyDescription: patient ID");
    assert!(stdout(&leaked).contains(&line), "{}", stdout(&leaked));

    // Without the key: no link, so the same value is only for review.
    let mut cmd = sb.cmd();
    cmd.args(["verify", "--profile", "basic"])
        .args(against)
        .arg(&output);
    let unlinked = cmd.output().unwrap();
    let review = format!("review: {rel}: StudyDescription: patient ID");
    assert!(stdout(&unlinked).contains(&review), "{}", stdout(&unlinked));
}

/// A name no input holds, written into a description the profile cleans, is found by the
/// free-text recogniser (the one the cleaner runs) as a review item that names its kind; a
/// clean run has none.
#[test]
fn names_the_recogniser_finds_in_cleaned_text_are_review_items() {
    let test = "names_the_recogniser_finds_in_cleaned_text_are_review_items";
    let Some(data) = testdata_or_skip(test) else {
        return;
    };
    let sb = Sandbox::new();
    let (input, output) = run_testdata(&sb, &data, "ml-dataset");
    let against = input.to_str().unwrap();
    let clean = verify(
        &sb,
        &output,
        &["--against", against, "--profile", "ml-dataset"],
    );
    assert_code(&clean, 0, "verify of a clean run");
    let rel = first_output(&output, |d| {
        str_value(&d.object, tags::MODALITY).as_deref() == Some("CT")
    });
    rewrite(&output.join(&rel), |obj| {
        obj.put(DataElement::new(
            tags::IMAGE_COMMENTS,
            VR::LT,
            PrimitiveValue::from("known lymphoma restaging, tech ABERCROMBIE present"),
        ));
    });
    let out = verify(
        &sb,
        &output,
        &["--against", against, "--profile", "ml-dataset", "--json"],
    );
    let parsed: Json = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let findings = parsed["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["check"] == "review"
            && f["file"] == rel.as_str()
            && f["attribute"] == "ImageComments"
            && f["detail"].as_str().unwrap().contains("person's name")),
        "{findings:?}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("ABERCROMBIE"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("ABERCROMBIE"));
}

/// Verified with a key that is not the run's, a dataset gets one finding that says its records
/// could not be checked (exit 1: a gate given the wrong key fails), not one per manifest line
/// or per input.
#[test]
fn another_key_fails_once_with_the_reason() {
    let test = "another_key_fails_once_with_the_reason";
    let Some(data) = testdata_or_skip(test) else {
        return;
    };
    let sb = Sandbox::new();
    let (input, output) = run_testdata(&sb, &data, "basic");
    let other = sb.path("other.key");
    let keygen = sb.cmd().arg("keygen").arg(&other).output().unwrap();
    assert_code(&keygen, 0, "keygen");
    let out = sb
        .cmd()
        .arg("verify")
        .arg(&output)
        .arg("--against")
        .arg(&input)
        .arg("--key-file")
        .arg(&other)
        .arg("--json")
        .output()
        .unwrap();
    assert_code(&out, 1, "verify with another key");
    let parsed: Json = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    let findings = parsed["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0]["detail"]
            .as_str()
            .unwrap()
            .contains("not the run's key"),
        "{findings:?}"
    );
}
