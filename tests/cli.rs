//! Integration tests of `dicom-deid profile list | show | check` and `dicom-deid keygen`, and
//! of a run with a custom profile.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use dicom_core::{Tag, VR};

// ---------------------------------------------------------------------------------------------
// Built-in profiles.

#[test]
fn profile_list_names_the_builtin_profiles() {
    let sb = Sandbox::new();
    let out = sb.cmd().args(["profile", "list"]).output().unwrap();
    assert_code(&out, 0, "profile list");
    let names: Vec<String> = stdout(&out)
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    for name in ["basic", "ml-dataset", "safe-harbor"] {
        assert!(
            names.iter().any(|n| n == name),
            "{name} not listed: {names:?}"
        );
    }
}

#[test]
fn profile_show_basic_prints_the_whole_table() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .args(["profile", "show", "basic"])
        .output()
        .unwrap();
    assert_code(&out, 0, "profile show basic");
    let text = stdout(&out);
    assert!(
        text.lines().count() >= 600,
        "only {} lines",
        text.lines().count()
    );
    for keyword in [
        "PatientName",
        "PatientID",
        "StudyInstanceUID",
        "AccessionNumber",
    ] {
        assert!(text.contains(keyword), "{keyword} missing from the table");
    }
}

#[test]
fn builtin_profiles_check_and_show() {
    let sb = Sandbox::new();
    for name in ["basic", "ml-dataset", "safe-harbor"] {
        let out = sb.cmd().args(["profile", "check", name]).output().unwrap();
        assert_code(&out, 0, &format!("profile check {name}"));
        let out = sb.cmd().args(["profile", "show", name]).output().unwrap();
        assert_code(&out, 0, &format!("profile show {name}"));
    }
    let out = sb
        .cmd()
        .args(["profile", "show", "no-such-profile"])
        .output()
        .unwrap();
    assert_code(&out, 2, "profile show of an unknown name");
}

// ---------------------------------------------------------------------------------------------
// `profile check` errors carry FILE:LINE:COLUMN.

/// The 1-based columns where a token starts on `line`.
fn token_starts(line: &str) -> Vec<usize> {
    let chars: Vec<char> = line.chars().collect();
    (0..chars.len())
        .filter(|&i| !chars[i].is_whitespace() && (i == 0 || chars[i - 1].is_whitespace()))
        .map(|i| i + 1)
        .collect()
}

/// Write `yaml` to a temp file, check it, and expect exit 2 with `FILE:LINE:COLUMN` of the
/// line holding `marker` (the column at the key or at the value).
fn assert_check_points_at(yaml: &str, marker: &str, what: &str) {
    let sb = Sandbox::new();
    let path = sb.path("custom-profile.yaml");
    fs::write(&path, yaml).unwrap();
    let (index, line) = yaml
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(marker))
        .unwrap_or_else(|| panic!("marker {marker:?} not in the YAML"));
    let line_no = index + 1;
    let out = sb
        .cmd()
        .arg("profile")
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    assert_code(&out, 2, what);
    let err = stderr(&out);
    let prefix = format!("{}:{line_no}:", path.display());
    let at = err
        .find(&prefix)
        .unwrap_or_else(|| panic!("{what}: stderr lacks {prefix:?}COLUMN:\n{err}"));
    let column: usize = err[at + prefix.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("{what}: no column after {prefix:?}:\n{err}"));
    assert!(
        token_starts(line).contains(&column),
        "{what}: column {column} does not point at the key or value of line {line_no} {line:?}\n{err}"
    );

    // A run with the same profile is refused too, before OUTPUT is created.
    let input = sb.path("in");
    fs::create_dir_all(&input).unwrap();
    fs::write(input.join("a.txt"), b"x").unwrap();
    let output = sb.path("out");
    let out = sb.run(&input, &output, &["--profile", path.to_str().unwrap()]);
    assert_code(&out, 2, &format!("run with a bad profile ({what})"));
    assert!(!output.exists(), "{what}: OUTPUT created by a refused run");
}

const HEADER: &str = "# A team profile.\n\
name: team\n\
description: test profile\n\
\n\
extends: ml-dataset\n";

#[test]
fn profile_check_reports_an_unknown_keyword_with_its_position() {
    let yaml = format!(
        "{HEADER}attributes:\n  StudyDescription: clean\n  # a comment\n  PatientNme: keep\n  SeriesDescription: remove\n"
    );
    assert_check_points_at(&yaml, "PatientNme", "unknown keyword");
}

#[test]
fn profile_check_reports_an_unknown_option_with_its_position() {
    let yaml =
        format!("{HEADER}options:\n  - retain-device-identity\n  - retain-everything-please\n");
    assert_check_points_at(&yaml, "retain-everything-please", "unknown option");
}

#[test]
fn profile_check_reports_an_unknown_action_with_its_position() {
    let yaml = format!("{HEADER}attributes:\n  AccessionNumber: hash\n  PatientName: scramble\n");
    assert_check_points_at(&yaml, "scramble", "unknown action");
}

#[test]
fn profile_check_reports_a_bad_tag_with_its_position() {
    let yaml = format!("{HEADER}attributes:\n  \"(0010,0010)\": keep\n  \"(0010,00ZG)\": remove\n");
    assert_check_points_at(&yaml, "00ZG", "bad tag");
}

#[test]
fn profile_check_reports_an_unknown_top_level_key_with_its_position() {
    let yaml = format!("{HEADER}unlisted: keep\n\nfrobnicate: true\nprivate: remove\n");
    assert_check_points_at(&yaml, "frobnicate", "unknown top-level key");
}

const PIXEL: &str = "pixel:\n  rules:\n    - name: US band\n";

#[test]
fn profile_check_reports_a_bad_pixel_keyword_with_its_position() {
    let yaml = format!(
        "{HEADER}{PIXEL}      when: {{Modality: US, Manufactrer: ACME}}\n      regions: [[0, 0, 10, 10]]\n"
    );
    assert_check_points_at(&yaml, "Manufactrer", "unknown keyword in when");
}

#[test]
fn profile_check_reports_an_empty_region_with_its_position() {
    let yaml = format!(
        "{HEADER}{PIXEL}      when: {{Modality: US}}\n      regions:\n        - [0, 0, 800, 0]\n"
    );
    assert_check_points_at(&yaml, "800", "region without height");
}

#[test]
fn profile_check_reports_an_unknown_burned_in_policy_with_its_position() {
    let yaml = format!("{HEADER}pixel:\n  detect: false\n  burned_in_without_rule: ignore\n");
    assert_check_points_at(&yaml, "ignore", "unknown policy");
}

#[test]
fn profile_check_warns_of_regions_beyond_the_image_their_rule_pins() {
    let sb = Sandbox::new();
    let path = sb.path("p.yaml");
    fs::write(
        &path,
        format!("{HEADER}{PIXEL}      when: {{Modality: US, Rows: 600, Columns: 800}}\n      regions: [[0, 0, 800, 56], [700, 550, 200, 10]]\n"),
    )
    .unwrap();
    let out = sb
        .cmd()
        .arg("profile")
        .arg("check")
        .arg(&path)
        .output()
        .unwrap();
    assert_code(&out, 0, "check");
    let err = stderr(&out);
    assert!(
        err.contains("warning:") && err.contains("[700, 550, 200, 10]") && err.contains("clipped"),
        "{err}"
    );
    assert!(!err.contains("[0, 0, 800, 56]"), "{err}");
    let show = sb
        .cmd()
        .arg("profile")
        .arg("show")
        .arg(&path)
        .output()
        .unwrap();
    assert_code(&show, 0, "show");
    assert!(
        stdout(&show).contains(r#"# pixel rule "US band": when Modality="US", Rows=600, Columns=800; regions [0, 0, 800, 56] [700, 550, 200, 10]"#),
        "{}",
        stdout(&show)
    );
}

#[test]
fn profile_check_rejects_an_extends_cycle() {
    let sb = Sandbox::new();
    let a = sb.path("a.yaml");
    let b = sb.path("b.yaml");
    fs::write(&a, "name: a\nextends: b.yaml\n").unwrap();
    fs::write(&b, "name: b\nextends: a.yaml\n").unwrap();
    for p in [&a, &b] {
        let out = sb
            .cmd()
            .arg("profile")
            .arg("check")
            .arg(p)
            .output()
            .unwrap();
        assert_code(&out, 2, "extends cycle");
        assert!(stderr(&out).contains("cycle"), "{}", stderr(&out));
    }
    let selfref = sb.path("self.yaml");
    fs::write(&selfref, "name: self\nextends: self.yaml\n").unwrap();
    let out = sb
        .cmd()
        .arg("profile")
        .arg("check")
        .arg(&selfref)
        .output()
        .unwrap();
    assert_code(&out, 2, "a profile extending itself");
}

// ---------------------------------------------------------------------------------------------
// A custom profile keeps a private element by creator.

const ACME: &str = "ACME_PRIVATE_1";
const CUSTOM_PROFILE: &str = "name: acme-keep\n\
extends: ml-dataset\n\
attributes:\n  \"(0009,xx01)@ACME_PRIVATE_1\": keep\n";

/// Run `input` with `profile` and return the written outputs, parsed.
fn run_with_profile(
    sb: &Sandbox,
    input: &Path,
    out_name: &str,
    profile: &str,
) -> Vec<(String, Dicom)> {
    let output = sb.path(out_name);
    let out = sb.run(
        input,
        &output,
        &["--quiet", "--manifest-paths", "--profile", profile],
    );
    assert_ne!(code(&out), 2, "run with {profile}: {}", stderr(&out));
    read_jsonl(&output.join("manifest.jsonl"))
        .into_iter()
        .filter(|r| field(r, "status") == Some("written"))
        .map(|r| {
            let dicom = open_dicom(&output.join(field(&r, "output").unwrap()), None).unwrap();
            (field(&r, "input").unwrap().to_owned(), dicom)
        })
        .collect()
}

/// The text of (0009, slot xx01) in the ACME block, wherever the block sits.
fn acme_element(object: &dicom_object::mem::InMemDicomObject, offset: u16) -> Option<String> {
    let slot = private_slot(object, 0x0009, ACME)?;
    let e = object.get(Tag(0x0009, (slot << 8) | offset))?;
    Some(
        element_strings(e)
            .join("\\")
            .trim_end_matches(['\0', ' '])
            .to_owned(),
    )
}

#[test]
fn a_custom_profile_keeps_a_private_element_by_creator() {
    let sb = Sandbox::new();
    let profile = sb.path("acme-keep.yaml");
    fs::write(&profile, CUSTOM_PROFILE).unwrap();
    let out = sb
        .cmd()
        .arg("profile")
        .arg("check")
        .arg(&profile)
        .output()
        .unwrap();
    assert_code(&out, 0, "profile check of a valid custom profile");

    // Two files: the ACME block in slot 0x10, and behind another vendor's block in slot 0x11.
    let input = sb.path("in");
    fs::create_dir_all(&input).unwrap();
    write_synthetic_ct(
        &input.join("slot10.dcm"),
        "1",
        &[
            (Tag(0x0009, 0x0010), VR::LO, ACME),
            (Tag(0x0009, 0x1001), VR::LO, "KEEP-THIS-VALUE"),
            (Tag(0x0009, 0x1002), VR::LO, "DROP-THIS-VALUE"),
        ],
    );
    write_synthetic_ct(
        &input.join("slot11.dcm"),
        "2",
        &[
            (Tag(0x0009, 0x0010), VR::LO, "OTHER_VENDOR"),
            (Tag(0x0009, 0x0011), VR::LO, ACME),
            (Tag(0x0009, 0x1001), VR::LO, "OTHER-VENDOR-VALUE"),
            (Tag(0x0009, 0x1101), VR::LO, "KEEP-THIS-TOO"),
            (Tag(0x0009, 0x1102), VR::LO, "DROP-THIS-TOO"),
        ],
    );

    let kept = run_with_profile(&sb, &input, "out-custom", profile.to_str().unwrap());
    assert_eq!(kept.len(), 2, "both files written");
    for (name, dicom) in &kept {
        let expected = if name == "slot10.dcm" {
            "KEEP-THIS-VALUE"
        } else {
            "KEEP-THIS-TOO"
        };
        assert_eq!(
            acme_element(&dicom.object, 0x01).as_deref(),
            Some(expected),
            "{name}"
        );
        assert_eq!(
            acme_element(&dicom.object, 0x02),
            None,
            "{name}: an unnamed private element kept"
        );
        assert_eq!(
            private_slot(&dicom.object, 0x0009, "OTHER_VENDOR"),
            None,
            "{name}: other vendor kept"
        );
    }

    // Without the rule, ml-dataset drops the element: the rule is what keeps it.
    let dropped = run_with_profile(&sb, &input, "out-ml", "ml-dataset");
    assert_eq!(dropped.len(), 2);
    for (name, dicom) in &dropped {
        assert_eq!(
            acme_element(&dicom.object, 0x01),
            None,
            "{name}: kept without a rule"
        );
    }
}

#[test]
fn a_custom_profile_keeps_acme_private_elements_in_the_testdata() {
    let Some(data) =
        testdata_or_skip("a_custom_profile_keeps_acme_private_elements_in_the_testdata")
    else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    let profile = sb.path("acme-keep.yaml");
    fs::write(&profile, CUSTOM_PROFILE).unwrap();
    let outputs = run_with_profile(&sb, &input, "out", profile.to_str().unwrap());
    let mut checked = 0;
    for (name, dicom) in &outputs {
        let src = open_dicom(&input.join(name), Some(&dicom.transfer_syntax)).unwrap();
        let Some(original) = acme_element(&src.object, 0x01) else {
            continue;
        };
        assert_eq!(
            acme_element(&dicom.object, 0x01),
            Some(original),
            "{name}: (0009,xx01) not kept"
        );
        assert_eq!(
            acme_element(&dicom.object, 0x02),
            None,
            "{name}: (0009,xx02) kept"
        );
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} files with an ACME block");
}

// ---------------------------------------------------------------------------------------------
// keygen.

#[test]
fn keygen_writes_a_private_hex_key_and_refuses_to_overwrite() {
    let sb = Sandbox::new();
    let path = sb.path("new.key");
    let out = sb.cmd().arg("keygen").arg(&path).output().unwrap();
    assert_code(&out, 0, "keygen");
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(text.len(), 65, "64 hex characters and a newline: {text:?}");
    assert!(text.ends_with('\n'));
    assert!(
        text[..64].chars().all(|c| c.is_ascii_hexdigit()),
        "{text:?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "key file mode {mode:o}");
    }
    // The key is not printed.
    assert!(!stdout(&out).contains(&text[..64]) && !stderr(&out).contains(&text[..64]));

    let out = sb.cmd().arg("keygen").arg(&path).output().unwrap();
    assert_code(&out, 2, "keygen over an existing file");
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        text,
        "the key was overwritten"
    );

    let other = sb.path("other.key");
    assert_code(
        &sb.cmd().arg("keygen").arg(&other).output().unwrap(),
        0,
        "second keygen",
    );
    assert_ne!(
        fs::read_to_string(&other).unwrap(),
        text,
        "two keygens gave the same key"
    );

    // The new key works for a run.
    let input = sb.path("in");
    fs::create_dir_all(&input).unwrap();
    write_synthetic_ct(&input.join("a.dcm"), "9", &[]);
    let mut cmd = sb.cmd();
    cmd.arg("run")
        .arg(&input)
        .arg(sb.path("out"))
        .arg("--key-file")
        .arg(&path)
        .arg("--quiet");
    assert_code(&cmd.output().unwrap(), 0, "run with a generated key");
}
