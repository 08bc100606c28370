//! Conformance of the output: de-identification must not break the files. Every output of
//! `testdata/` and of the shared corpus is checked with `dciodvfy` (Debian's `dicom3tools`,
//! installed by `scripts/test.sh`), and no output may have an IOD error that its input did not
//! have.
//!
//! Error lines are compared after normalising away values (UIDs, quoted values), which
//! de-identification changes on purpose. An output error about an attribute the input did not
//! hold at all (or held empty) is the input's own defect, even where `dciodvfy` could not name it
//! for the input: some inputs lack SOPClassUID in the data set, so `dciodvfy` cannot tell their
//! IOD, while the output takes it from the file meta and is checked in full.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::*;
use dicom_core::Tag;
use dicom_core::dictionary::{DataDictionary as _, DataDictionaryEntry as _};
use dicom_core::header::Header as _;
use dicom_core::value::Value;
use dicom_object::StandardDataDictionary;
use dicom_object::mem::InMemDicomObject;
use regex::Regex;

/// `dciodvfy`, or `None` with a message saying the test is skipped.
fn dciodvfy_or_skip(test: &str) -> Option<()> {
    let found = Command::new("dciodvfy")
        .arg("-")
        .output()
        .is_ok_and(|o| o.status.code().is_some());
    if found {
        Some(())
    } else {
        eprintln!("{test}: skipped: dciodvfy is absent (apt-get install dicom3tools)");
        None
    }
}

/// The normalised error lines `dciodvfy` reports for a file.
fn iod_errors(path: &Path) -> BTreeSet<String> {
    let out = Command::new("dciodvfy")
        .arg(path)
        .output()
        .expect("dciodvfy runs");
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let quoted = Regex::new(r"<([^<>]*)>").unwrap();
    // UIDs, including invalid one-component ones such as "0".
    let uid = Regex::new(r"\b\d+(?:\.\d+)+\b").unwrap();
    let bare_uid = Regex::new(r"UID \d+\b").unwrap();
    let keyword = Regex::new(r"^[A-Za-z][A-Za-z0-9]*$").unwrap();
    text.lines()
        .filter(|l| l.starts_with("Error"))
        .map(|l| {
            let l = quoted.replace_all(l, |c: &regex::Captures| {
                if keyword.is_match(&c[1]) {
                    c[0].to_owned()
                } else {
                    "<…>".to_owned()
                }
            });
            let l = uid.replace_all(&l, "#");
            bare_uid.replace_all(&l, "UID #").into_owned()
        })
        .collect()
}

/// Every occurrence of `tag` at every depth, each as its value's text (sequences as their
/// item count).
fn occurrences(object: &InMemDicomObject, tag: Tag, out: &mut Vec<String>) {
    for e in object {
        if e.tag() == tag {
            out.push(match e.value() {
                Value::Primitive(p) => p.to_str().trim_end_matches(['\0', ' ']).to_owned(),
                Value::Sequence(s) => format!("<{} items>", s.items().len()),
                Value::PixelSequence(_) => "<fragments>".to_owned(),
            });
        }
        for item in e.items().into_iter().flatten() {
            occurrences(item, tag, out);
        }
    }
}

/// An output error the input had in substance, though `dciodvfy` may not have named it for
/// the input: a missing attribute no occurrence of which was removed, an empty one no value of
/// which was emptied, or any other error about an attribute whose values are all unchanged.
fn input_defect(error: &str, input: &InMemDicomObject, output: &InMemDicomObject) -> bool {
    let named = Regex::new(r"(?:Element=|attribute )<([A-Za-z0-9]+)>").unwrap();
    let Some(tag) = named
        .captures(error)
        .and_then(|c| StandardDataDictionary.by_name(&c[1]).map(|e| e.tag()))
    else {
        return false;
    };
    let (mut before, mut after) = (Vec::new(), Vec::new());
    occurrences(input, tag, &mut before);
    occurrences(output, tag, &mut after);
    let valued = |v: &[String]| {
        v.iter()
            .filter(|s| !s.is_empty() && *s != "<0 items>")
            .count()
    };
    if error.contains("Missing attribute") {
        after.len() >= before.len()
    } else if error.contains("Empty attribute") {
        valued(&after) >= valued(&before)
    } else {
        before.sort();
        after.sort();
        before == after
    }
}

fn parse(path: &Path) -> Option<InMemDicomObject> {
    let bytes = std::fs::read(path).ok()?;
    match dicom_deid::dicom::file::parse(&bytes, 1 << 30) {
        Ok(dicom_deid::dicom::file::Parsed::Dataset { object, .. }) => Some(object),
        _ => None,
    }
}

/// Run `profile` over a copy of `src` and compare every written output with its input: the
/// outputs with new errors, and how many outputs were checked.
fn new_iod_errors(src: &Path, profile: &str, expected_code: i32) -> (Vec<String>, usize) {
    let sb = Sandbox::new();
    let input = sb.copy_in(src, "in");
    let output = sb.path("out");
    let out = sb.run(
        &input,
        &output,
        &["--quiet", "--manifest-paths", "--profile", profile],
    );
    assert_code(&out, expected_code, "run");
    let mut problems = Vec::new();
    let mut checked = 0;
    for record in read_jsonl(&output.join("manifest.jsonl")) {
        if field(&record, "status") != Some("written") {
            continue;
        }
        let rel_in = field(&record, "input").unwrap();
        let rel_out = field(&record, "output").unwrap();
        let before = iod_errors(&input.join(rel_in));
        let (Some(object_in), Some(object_out)) =
            (parse(&input.join(rel_in)), parse(&output.join(rel_out)))
        else {
            problems.push(format!("{rel_in} or its output cannot be read back"));
            continue;
        };
        let new: Vec<String> = iod_errors(&output.join(rel_out))
            .into_iter()
            .filter(|e| !before.contains(e) && !input_defect(e, &object_in, &object_out))
            .collect();
        if !new.is_empty() {
            problems.push(format!("{rel_in} ({profile}):\n  {}", new.join("\n  ")));
        }
        checked += 1;
    }
    (problems, checked)
}

fn assert_no_new_iod_errors(src: &Path, profile: &str, expected_code: i32) -> usize {
    let (problems, checked) = new_iod_errors(src, profile, expected_code);
    assert!(
        problems.is_empty(),
        "outputs with IOD errors their inputs did not have:\n{}",
        problems.join("\n")
    );
    checked
}

#[test]
fn testdata_outputs_have_no_new_iod_errors() {
    let test = "testdata_outputs_have_no_new_iod_errors";
    let (Some(()), Some(data)) = (dciodvfy_or_skip(test), testdata_or_skip(test)) else {
        return;
    };
    // The pixel rules of the sample export mask (and transcode) the images the other
    // profiles quarantine, so their outputs are checked too.
    let pixel_rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pixel-rules.yaml");
    for profile in ["basic", "ml-dataset", pixel_rules.to_str().unwrap()] {
        let checked = assert_no_new_iod_errors(&data, profile, 1);
        assert!(checked >= 8, "only {checked} outputs checked");
    }
}

#[test]
fn corpus_outputs_have_no_new_iod_errors() {
    let test = "corpus_outputs_have_no_new_iod_errors";
    let (Some(()), Some(corpus)) = (dciodvfy_or_skip(test), corpus_or_skip(test)) else {
        return;
    };
    for profile in ["basic", "ml-dataset"] {
        let checked = assert_no_new_iod_errors(&corpus, profile, 1);
        assert!(checked >= 100, "only {checked} outputs checked");
    }
}

/// The comparison has teeth: removing a Type 1 attribute is caught.
#[test]
fn a_removed_required_attribute_is_caught() {
    let test = "a_removed_required_attribute_is_caught";
    let (Some(()), Some(data)) = (dciodvfy_or_skip(test), testdata_or_skip(test)) else {
        return;
    };
    let sb = Sandbox::new();
    let profile = sb.path("breaks.yaml");
    std::fs::write(
        &profile,
        "extends: basic\nattributes:\n  FrameOfReferenceUID: remove\n",
    )
    .unwrap();
    let (problems, _) = new_iod_errors(&data, profile.to_str().unwrap(), 1);
    assert!(
        problems.iter().any(|p| p.contains("FrameOfReferenceUID")),
        "removing FrameOfReferenceUID went unnoticed: {problems:?}"
    );
}
