//! Scheduled jobs: stable reason codes, exit codes a scheduler can act on, JSON on every exit,
//! a dataset that grows with `--add`, tamper-evident records and the run history.

mod common;

use std::fs;

use common::*;
use serde_json::Value as Json;

/// The sample export: written, skipped (empty, non-DICOM, DICOMDIR), failed and quarantined
/// files.
fn sample(sb: &Sandbox, test: &str) -> Option<std::path::PathBuf> {
    Some(sb.copy_in(&testdata_or_skip(test)?, "in"))
}

#[test]
fn every_record_not_written_has_a_stable_code_and_the_summary_counts_them() {
    let sb = Sandbox::new();
    let Some(input) = sample(&sb, "every_record_not_written_has_a_stable_code") else {
        return;
    };
    let output = sb.path("out");
    let out = sb.run(&input, &output, &["--quiet"]);
    assert_code(&out, 1, "a run with a failed file");
    let records = read_jsonl(&output.join("manifest.jsonl"));
    let mut codes = std::collections::BTreeMap::<String, u64>::new();
    for r in &records {
        match status(r) {
            "written" => assert!(r.get("code").is_none(), "{r}"),
            _ => {
                let code = field(r, "code").unwrap_or_else(|| panic!("no code: {r}"));
                assert!(
                    code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "{code}"
                );
                *codes.entry(code.to_owned()).or_default() += 1;
            }
        }
    }
    let want: std::collections::BTreeMap<String, u64> = [
        ("burned_in_no_rule", 3),
        ("dicomdir", 1),
        ("empty_file", 1),
        ("malformed", 1),
        ("not_dicom", 2),
    ]
    .into_iter()
    .map(|(c, n)| (c.to_owned(), n))
    .collect();
    assert_eq!(codes, want, "codes in the manifest");
    let summary = read_json(&output.join("summary.json"));
    let counted: std::collections::BTreeMap<String, u64> =
        serde_json::from_value(summary["codes"].clone()).unwrap();
    assert_eq!(counted, want, "codes in the summary");
    for field in ["started", "finished"] {
        let t = summary[field].as_str().unwrap();
        assert!(
            t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
            "{field}: {t}"
        );
    }
    assert!(summary["started"].as_str() <= summary["finished"].as_str());
    let input_id = summary["input_id"].as_str().unwrap();
    assert_eq!(input_id.len(), 16, "{input_id}");
    assert!(
        summary.get("input").is_none(),
        "INPUT's path without --manifest-paths"
    );
}

fn status(r: &Json) -> &str {
    field(r, "status").unwrap()
}

#[test]
fn the_exit_code_tells_failed_from_quarantined_and_fail_on_chooses() {
    let sb = Sandbox::new();
    let Some(input) = sample(&sb, "the_exit_code_tells_failed_from_quarantined") else {
        return;
    };
    // The sample's one failed file is its truncated one: without it, only quarantines remain.
    let output = sb.path("out");
    assert_code(
        &sb.run(&input, &output, &["--quiet"]),
        1,
        "failed and quarantined",
    );
    let records = read_jsonl(&output.join("manifest.jsonl"));
    let malformed_id = records
        .iter()
        .find(|r| field(r, "code") == Some("malformed"))
        .map(|r| field(r, "id").unwrap().to_owned())
        .unwrap();
    // Find the malformed input by its path: --dry-run --manifest-paths names it.
    let dry = sb.run(
        &input,
        &sb.path("dry"),
        &["--dry-run", "--manifest-paths", "--quiet"],
    );
    let rel = parse_jsonl(&stdout(&dry))
        .into_iter()
        .find(|r| field(r, "id") == Some(malformed_id.as_str()))
        .map(|r| field(&r, "input").unwrap().to_owned())
        .unwrap();
    fs::remove_file(input.join(rel)).unwrap();

    let run = |name: &str, args: &[&str]| code(&sb.run(&input, &sb.path(name), args));
    assert_eq!(run("a", &["--quiet"]), 3, "quarantined only");
    assert_eq!(
        run("b", &["--quiet", "--fail-on", "failed"]),
        0,
        "--fail-on failed"
    );
    assert_eq!(
        run("c", &["--quiet", "--fail-on", "failed,not-dicom"]),
        4,
        "--fail-on not-dicom with empty and non-DICOM files"
    );
    assert_eq!(
        run("d", &["--quiet", "--fail-on", "none"]),
        0,
        "--fail-on none"
    );
    assert_eq!(
        run("e", &["--quiet", "--exit-zero-on-file-failures"]),
        0,
        "--exit-zero-on-file-failures"
    );
}

#[test]
fn the_closing_line_counts_and_names_empty_and_non_dicom_inputs() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    write_synthetic_export(&input, 3);
    fs::write(input.join("P0/S1/IM999"), b"").unwrap();
    let out = sb.run(&input, &sb.path("out"), &[]);
    assert_code(&out, 0, "empty and non-DICOM files are skipped");
    let records = read_jsonl(&sb.path("out/manifest.jsonl"));
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.contains("skipped as empty or not DICOM"))
        .unwrap_or_else(|| panic!("no closing line:\n{err}"));
    assert!(line.trim_start().starts_with("2 input(s)"), "{line}");
    for r in records.iter().filter(|r| status(r) == "skipped") {
        assert!(line.contains(field(r, "id").unwrap()), "{line} names {r}");
    }
    assert!(!line.contains("IM999") && !line.contains("notes"), "{line}");
}

#[test]
fn json_on_exit_2_is_one_parsable_object() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    write_synthetic_export(&input, 2);
    let output = sb.path("out");
    assert_code(&sb.run(&input, &output, &["--quiet"]), 0, "first run");
    for (args, want) in [
        (vec!["--json"], "output_not_empty"),
        (vec!["--json", "--no-such-flag"], "usage"),
        (vec!["--json", "--profile", "no-such-profile"], "profile"),
    ] {
        let out = sb.run(&input, &output, &args);
        assert_code(&out, 2, &format!("{args:?}"));
        let json: Json = serde_json::from_str(stdout(&out).trim())
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stdout(&out)));
        assert_eq!(json["error"]["code"].as_str(), Some(want), "{json}");
        assert!(!json["error"]["message"].as_str().unwrap().is_empty());
    }
}
