//! The JSON Schema of the profile format (`profiles/profile.schema.json`) stays in step with the
//! Rust types that read profiles:
//! - every object the schema closes (`additionalProperties: false`) names exactly the fields
//!   serde accepts there, read from serde's own "unknown field, expected one of …" answer to a
//!   probe, so adding a field to `ProfileSpec` (or any nested section) without the schema fails;
//! - every closed list of names (enums) is exactly the variants serde accepts;
//! - the action names are exactly those the action parser lists;
//! - every shipped profile names the schema for editors and validates against it, and sample
//!   profiles are accepted or rejected alike by the schema and by `dicom-deid profile check`.

use std::collections::BTreeSet;
use std::path::Path;

use dicom_deid::profile::parse_spec;
use regex::Regex;
use serde_json::{Value as Json, json};

fn schema() -> Json {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/profile.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("the schema is JSON")
}

/// Resolve a local `$ref`.
fn resolve<'a>(root: &'a Json, node: &'a Json) -> &'a Json {
    match node.get("$ref").and_then(Json::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').expect("local references only");
            root.pointer(pointer).expect("the reference resolves")
        }
        None => node,
    }
}

/// A YAML document (as JSON, which YAML reads) with `leaf` at `path`.
fn at(path: &[Step], leaf: Json) -> String {
    let mut doc = leaf;
    for step in path.iter().rev() {
        doc = match step {
            Step::Key(k) => json!({ k.as_str(): doc }),
            Step::Item => json!([doc]),
        };
    }
    doc.to_string()
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Item,
}

/// The names serde lists after "expected" in the error for a probe at `path`.
fn serde_names(path: &[Step], leaf: Json) -> Option<BTreeSet<String>> {
    let text = at(path, leaf);
    let err = parse_spec("probe", &text).err()?.to_string();
    let list = err.split("expected ").nth(1)?;
    let names = Regex::new(r"`([^`]+)`").unwrap();
    Some(names.captures_iter(list).map(|c| c[1].to_owned()).collect())
}

/// Every closed object and every enum of the schema, with its path.
fn walk(
    root: &Json,
    node: &Json,
    path: Vec<Step>,
    objects: &mut Vec<(Vec<Step>, BTreeSet<String>)>,
    enums: &mut Vec<(Vec<Step>, BTreeSet<String>)>,
) {
    let node = resolve(root, node);
    if let Some(values) = node.get("enum").and_then(Json::as_array) {
        let names = values
            .iter()
            .filter_map(Json::as_str)
            .map(str::to_owned)
            .collect();
        enums.push((path.clone(), names));
    }
    if node.get("additionalProperties") == Some(&Json::Bool(false))
        && let Some(props) = node.get("properties").and_then(Json::as_object)
    {
        objects.push((path.clone(), props.keys().cloned().collect()));
        for (k, v) in props {
            let mut p = path.clone();
            p.push(Step::Key(k.clone()));
            walk(root, v, p, objects, enums);
        }
    }
    if let Some(items) = node.get("items")
        && items.is_object()
    {
        let mut p = path.clone();
        p.push(Step::Item);
        walk(root, items, p, objects, enums);
    }
}

fn describe(path: &[Step]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|s| match s {
            Step::Key(k) => k.clone(),
            Step::Item => "[]".to_owned(),
        })
        .collect();
    if parts.is_empty() {
        "(top level)".to_owned()
    } else {
        parts.join(".")
    }
}

/// Where the schema and the Rust types disagree, one message per difference.
fn mismatches(root: &Json) -> Vec<String> {
    let (mut objects, mut enums) = (Vec::new(), Vec::new());
    walk(root, root, Vec::new(), &mut objects, &mut enums);
    let mut problems = Vec::new();
    let top: BTreeSet<String> = serde_names(&[], json!({"zz_probe": 1})).unwrap();
    for (path, names) in objects.iter().skip(1) {
        match serde_names(path, json!({"zz_probe": 1})) {
            Some(serde) if &serde == names => {}
            Some(serde) => problems.push(format!(
                "fields at {}: serde {serde:?}, schema {names:?}",
                describe(path)
            )),
            None => problems.push(format!("no field list from serde at {}", describe(path))),
        }
    }
    if top != objects[0].1 {
        problems.push(format!(
            "top-level fields: serde {top:?}, schema {:?}",
            objects[0].1
        ));
    }
    for (path, names) in &enums {
        match serde_names(path, json!("zz_probe")) {
            Some(serde) if &serde == names => {}
            Some(serde) => problems.push(format!(
                "names at {}: serde {serde:?}, schema {names:?}",
                describe(path)
            )),
            None => problems.push(format!("no variant list from serde at {}", describe(path))),
        }
    }
    problems
}

#[test]
fn schema_fields_and_names_match_the_rust_types() {
    let problems = mismatches(&schema());
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The comparison has teeth: a Rust field or variant the schema lacks is reported (as it is
/// when a field is added to the Rust types and not to the schema).
#[test]
fn a_field_missing_from_the_schema_is_reported() {
    let mut root = schema();
    let patient = root.pointer_mut("/properties/patient/properties").unwrap();
    patient.as_object_mut().unwrap().remove("cap_age");
    root.pointer_mut("/properties")
        .unwrap()
        .as_object_mut()
        .unwrap()
        .remove("unlisted");
    let shift = root
        .pointer_mut("/properties/dates/properties/shift/enum")
        .unwrap();
    shift.as_array_mut().unwrap().pop();
    let problems = mismatches(&root);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("patient") && p.contains("cap_age"))
    );
    assert!(problems.iter().any(|p| p.contains("\"unlisted\"")));
    assert!(problems.iter().any(|p| p.contains("dates.shift")));
}

#[test]
fn action_names_match_the_action_parser() {
    let root = schema();
    let listed: BTreeSet<String> = root
        .pointer("/definitions/action/oneOf/0/enum")
        .and_then(Json::as_array)
        .unwrap()
        .iter()
        .filter_map(Json::as_str)
        .map(str::to_owned)
        .collect();
    let err = parse_spec("probe", "attributes: {StudyDate: zz_probe}")
        .unwrap_err()
        .to_string();
    let message = err.split("expected ").nth(1).unwrap();
    let words: BTreeSet<String> = Regex::new(r"[A-Za-z/*]+")
        .unwrap()
        .find_iter(message)
        .map(|m| m.as_str().to_owned())
        .filter(|w| w.parse::<dicom_deid::profile::Action>().is_ok())
        .collect();
    for name in &listed {
        assert!(
            name.parse::<dicom_deid::profile::Action>().is_ok(),
            "the schema lists {name:?}, which the parser refuses"
        );
    }
    for word in &words {
        assert!(
            listed.contains(word),
            "the parser accepts {word:?}, the schema lacks it"
        );
    }
    assert!(words.len() >= 19, "{words:?}");
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&schema()).expect("the schema compiles")
}

fn as_json(yaml: &str) -> Json {
    serde_yaml::from_str(yaml).expect("YAML")
}

#[test]
fn shipped_profiles_name_the_schema_and_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
    let validator = validator();
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().next(),
            Some("# yaml-language-server: $schema=./profile.schema.json"),
            "{} does not name the schema on its first line",
            path.display()
        );
        let errors: Vec<String> = validator
            .iter_errors(&as_json(&text))
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
        seen += 1;
    }
    assert!(seen >= 3);
}

/// Profiles accepted by `profile check` are valid under the schema, and the ones it rejects
/// for their shape are invalid under it too. (The schema checks shapes: whether a keyword is a
/// real DICOM keyword, or a lookup CSV exists, only `profile check` can tell.)
#[test]
fn schema_and_parser_agree_on_samples() {
    let validator = validator();
    let samples = [
        "name: x\nextends: basic\n",
        "options: [retain-uids, clean-descriptors]\n",
        "uids: {root: \"1.2.826.0.1.3680043.10.543\"}\n",
        "dates: {shift: fixed, days: -100}\n",
        "dates: {range_days: [-10, -1]}\n",
        "patient: {id: hash, prefix: \"SUBJ_\", name: \"Subject {id}\", cap_age: false}\n",
        "attributes:\n  StudyDescription: clean\n  \"(0008,1030)\": keep\n  \"(60xx,4000)\": X\n  \"(0019,xx10)@GEMS_ACQU_01\": keep\n  InstitutionName: {replace: \"SITE\"}\n  ReferencedImageSequence: \"X/Z/U*\"\n",
        "unlisted: remove\nprivate: safe\n",
        "attributes:\n  PatientAge: {band: 5}\n  PatientWeight: {round: 10}\n  PatientSize: {round: 0.1}\n  StudyDate: {precision: year}\n",
        "attributes: {PatientAge: {band: 91}}\n",
        "attributes: {StudyDate: {precision: week}}\n",
        "attributes: {PatientAge: {band: 5, round: 1}}\n",
        "options: [retain-everything]\n",
        "unknown: 1\n",
        "uids: {root: \"1.02.3\"}\n",
        "uids: {root: 2.25}\n",
        "uids: {root: \"1..2\"}\n",
        "dates: {shift: weekly}\n",
        "dates: {range_days: [1, 2, 3]}\n",
        "patient: {id: scramble}\n",
        "patient: {prefix: \"TOO-LONG-PREFIX\"}\n",
        "patient: {name: \"{birthdate}\"}\n",
        "attributes: {StudyDate: obliterate}\n",
        "attributes: {\"(0019,1010)\": keep}\n",
        "attributes: {StudyDate: {replace: \"a\\\\b\"}}\n",
        "attributes: {StudyDate: {substitute: \"x\"}}\n",
        "unlisted: sometimes\n",
        "private: most\n",
    ];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sample.yaml");
    for yaml in samples {
        std::fs::write(&file, yaml).unwrap();
        let rust = dicom_deid::profile::Profile::load(file.to_str().unwrap()).is_ok();
        let schema = validator.is_valid(&as_json(yaml));
        assert_eq!(
            rust, schema,
            "parser says {rust}, schema says {schema} for:\n{yaml}"
        );
    }
}
