//! Scheduled jobs: stable reason codes, exit codes a scheduler can act on, JSON on every exit,
//! a dataset that grows with `--add`, tamper-evident records and the run history.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use serde_json::Value as Json;

/// The sample export: written, skipped (empty, non-DICOM, DICOMDIR), failed and quarantined
/// files.
fn sample(sb: &Sandbox, test: &str) -> Option<PathBuf> {
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
    let mut codes = BTreeMap::<String, u64>::new();
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
    let want: BTreeMap<String, u64> = [
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
    let counted: BTreeMap<String, u64> = serde_json::from_value(summary["codes"].clone()).unwrap();
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
        (vec!["--json"], "output_holds_dataset"),
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

/// Copy the files of the sample export whose paths start with one of `prefixes` into
/// `name`, keeping their paths.
fn night(sb: &Sandbox, data: &Path, name: &str, prefixes: &[&str]) -> PathBuf {
    let dir = sb.path(name);
    for path in files_under(data) {
        let rel = rel_string(path.strip_prefix(data).unwrap());
        if prefixes.iter().any(|p| rel.starts_with(p)) {
            let to = dir.join(&rel);
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::copy(&path, &to).unwrap();
        }
    }
    dir
}

fn ids(records: &[Json]) -> BTreeSet<String> {
    records
        .iter()
        .map(|r| field(r, "id").unwrap().to_owned())
        .collect()
}

fn run_records(output: &Path, n: u32) -> Vec<Json> {
    read_jsonl(&output.join(format!(".dicom-deid/runs/{n:04}/manifest.jsonl")))
}

#[test]
fn three_nights_added_make_the_dataset_one_run_over_their_union_makes() {
    let Some(data) = testdata_or_skip("three_nights_added") else {
        return;
    };
    let sb = Sandbox::new();
    let union = sb.copy_in(&data, "union");
    let nights = [
        // A patient's first series, another's first image, the DICOMDIR.
        night(
            &sb,
            &data,
            "n1",
            &[
                "DOE_JOHN_12345/CT_20190312/SER001",
                "MULLER_ZOE_67890/MR_20200105/S1/MR000001",
                "DICOMDIR",
            ],
        ),
        // The same patient again (a new series), a re-sent study, a new patient, the broken file.
        night(
            &sb,
            &data,
            "n2",
            &[
                "DOE_JOHN_12345/CT_20190312",
                "MULLER_ZOE_67890/MR_20200105",
                "YAMADA_T_24680/CT",
            ],
        ),
        // The rest.
        night(
            &sb,
            &data,
            "n3",
            &[
                "DOE_JOHN_12345/US",
                "MULLER_ZOE_67890/SC",
                "YAMADA_T_24680/US",
                "README.TXT",
            ],
        ),
    ];
    let reference = sb.path("reference");
    sb.run(&union, &reference, &["--quiet"]);
    let dataset = sb.path("dataset");
    let mut before: BTreeMap<String, String> = BTreeMap::new();
    for (i, input) in nights.iter().enumerate() {
        let out = sb.run(input, &dataset, &["--quiet", "--add", "--json"]);
        assert_ne!(code(&out), 2, "night {}: {}", i + 1, stderr(&out));
        let summary: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(summary["run"].as_u64(), Some(i as u64 + 1));
        // Nothing an earlier night wrote changed or went.
        let now = dcm_tree(&dataset);
        for (rel, sha) in &before {
            assert_eq!(now.get(rel), Some(sha), "night {}: {rel} changed", i + 1);
        }
        before = now;
        // Every input of the night has exactly one record in its run's manifest.
        let records = run_records(&dataset, i as u32 + 1);
        assert_eq!(records.len(), files_under(input).len(), "night {}", i + 1);
        assert_eq!(
            ids(&records).len(),
            records.len(),
            "night {}: an input twice",
            i + 1
        );
    }
    // Every input of the union is accounted for, and the re-sent files are already present.
    let union_records = read_jsonl(&reference.join("manifest.jsonl"));
    let all: Vec<Json> = (1..=3).flat_map(|n| run_records(&dataset, n)).collect();
    assert_eq!(ids(&all), ids(&union_records), "inputs accounted for");
    let resent = run_records(&dataset, 2)
        .into_iter()
        .filter(|r| field(r, "code") == Some("already_present"))
        .count();
    assert_eq!(
        resent, 3,
        "the three images of night 1 that night 2 sent again"
    );
    assert!(
        run_records(&dataset, 2)
            .iter()
            .any(|r| field(r, "status") == Some("failed")),
        "night 2 holds the broken file"
    );
    // The same outputs, under the same pseudonyms and UIDs, as one run over the union.
    assert_eq!(
        dcm_tree(&dataset),
        dcm_tree(&reference),
        "dataset == one run over the union"
    );
    // manifest.jsonl is every run's manifest, run after run.
    let mut joined = Vec::new();
    for n in 1..=3 {
        joined.extend(
            fs::read(dataset.join(format!(".dicom-deid/runs/{n:04}/manifest.jsonl"))).unwrap(),
        );
    }
    assert_eq!(fs::read(dataset.join("manifest.jsonl")).unwrap(), joined);
    let verify = sb
        .cmd()
        .arg("verify")
        .arg(&dataset)
        .arg("--key-file")
        .arg(&sb.key)
        .output()
        .unwrap();
    assert_code(&verify, 0, "verify of the grown dataset");
}

#[test]
fn a_rule_added_later_releases_exactly_the_quarantined_files_it_covers() {
    let sb = Sandbox::new();
    let Some(input) = sample(&sb, "a_rule_added_later_releases") else {
        return;
    };
    let rules = testdata_dir().parent().unwrap().join("pixel-rules.yaml");
    let dataset = sb.path("dataset");
    assert_code(&sb.run(&input, &dataset, &["--quiet"]), 1, "night 1, basic");
    let first = dcm_tree(&dataset);
    let quarantined: BTreeSet<String> = run_records(&dataset, 1)
        .iter()
        .filter(|r| field(r, "code") == Some("burned_in_no_rule"))
        .map(|r| field(r, "id").unwrap().to_owned())
        .collect();
    assert_eq!(quarantined.len(), 3);
    let out = sb.run(
        &input,
        &dataset,
        &["--quiet", "--add", "--profile", rules.to_str().unwrap()],
    );
    assert_code(
        &out,
        1,
        "night 2, with the rules (the broken file still fails)",
    );
    let second = run_records(&dataset, 2);
    let written: BTreeSet<String> = second
        .iter()
        .filter(|r| field(r, "status") == Some("written"))
        .map(|r| field(r, "id").unwrap().to_owned())
        .collect();
    assert_eq!(
        written, quarantined,
        "exactly the covered quarantined files"
    );
    let present = second
        .iter()
        .filter(|r| field(r, "code") == Some("already_present"))
        .count();
    assert_eq!(present, first.len(), "every earlier output stands");
    let now = dcm_tree(&dataset);
    for (rel, sha) in &first {
        assert_eq!(now.get(rel), Some(sha), "{rel} changed");
    }
    assert_eq!(now.len(), first.len() + 3);
    let summary = read_json(&dataset.join(".dicom-deid/runs/0002/summary.json"));
    assert_eq!(
        summary["profile"]["name"].as_str(),
        Some("pacs-export-pixels")
    );
    let summary = read_json(&dataset.join(".dicom-deid/runs/0001/summary.json"));
    assert_eq!(summary["profile"]["name"].as_str(), Some("basic"));
}

#[test]
fn refusals_name_the_case_and_the_flag() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    write_synthetic_export(&input, 4);
    let other = sb.path("other");
    write_synthetic_export(&other, 2);
    let dataset = sb.path("dataset");
    assert_code(&sb.run(&input, &dataset, &["--quiet"]), 0, "first run");
    let refused = |input: &Path, args: &[&str], words: &str, what: &str| {
        let before = snapshot(&dataset);
        let out = sb.run(input, &dataset, args);
        assert_code(&out, 2, what);
        assert!(stderr(&out).contains(words), "{what}: {}", stderr(&out));
        assert_eq!(snapshot(&dataset), before, "{what}: OUTPUT changed");
    };
    refused(
        &input,
        &["--quiet"],
        "finished dataset: add this run to it with --add",
        "plain run",
    );
    refused(
        &other,
        &["--quiet", "--resume"],
        "another INPUT",
        "--resume, other INPUT",
    );
    let mut sb_b = Sandbox::new();
    let key_b = sb_b.path("key-b.hex");
    fs::write(&key_b, format!("{KEY_B}\n")).unwrap();
    sb_b.key = key_b;
    let out = sb_b.run(&other, &dataset, &["--quiet", "--add"]);
    assert_code(&out, 2, "--add with another key");
    assert!(stderr(&out).contains("another key"), "{}", stderr(&out));

    // An unfinished run: plain and --add are pointed at --resume.
    fs::write(dataset.join(".dicom-deid/journal.jsonl"), b"").unwrap();
    refused(
        &other,
        &["--quiet"],
        "did not finish: finish it with --resume",
        "plain, unfinished",
    );
    refused(
        &other,
        &["--quiet", "--add"],
        "--resume",
        "--add, unfinished",
    );
    refused(
        &other,
        &["--quiet", "--resume"],
        "another INPUT",
        "--resume, unfinished, other INPUT",
    );
}

/// A change made to a manifest's lines.
type Change = Box<dyn Fn(&mut Vec<String>)>;

/// `verify DATASET --key-file KEY --json`: its exit code and findings' details.
fn verify(sb: &Sandbox, dataset: &Path) -> (i32, Vec<String>) {
    let out = sb
        .cmd()
        .arg("verify")
        .arg(dataset)
        .arg("--key-file")
        .arg(&sb.key)
        .arg("--json")
        .output()
        .unwrap();
    let report: Json = serde_json::from_str(stdout(&out).trim())
        .unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let details = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{}: {}",
                f["file"].as_str().unwrap(),
                f["detail"].as_str().unwrap()
            )
        })
        .collect();
    (code(&out), details)
}

#[test]
fn verify_names_every_kind_of_change_to_the_records() {
    let sb = Sandbox::new();
    let night1 = sb.path("n1");
    write_synthetic_export(&night1, 6);
    let night2 = sb.path("n2");
    write_synthetic_export(&night2, 9);
    let dataset = sb.path("dataset");
    assert_code(
        &sb.run(&night1, &dataset, &["--quiet", "--add"]),
        0,
        "night 1",
    );
    assert_code(
        &sb.run(&night2, &dataset, &["--quiet", "--add"]),
        0,
        "night 2",
    );
    assert_eq!(verify(&sb, &dataset), (0, Vec::new()), "untouched");

    let run1 = ".dicom-deid/runs/0001/manifest.jsonl";
    let run2 = ".dicom-deid/runs/0002/manifest.jsonl";
    let lines = |rel: &str| -> Vec<String> {
        fs::read_to_string(dataset.join(rel))
            .unwrap()
            .lines()
            .map(|l| format!("{l}\n"))
            .collect()
    };
    let cases: Vec<(&str, &str, Change, &str)> = vec![
        (
            "edited",
            run2,
            Box::new(|l| l[2] = l[2].replace("\"bytes_in\":", "\"bytes_in\":1")),
            "run 0002, line 3: edited",
        ),
        (
            "removed",
            run1,
            Box::new(|l| {
                l.remove(1);
            }),
            "run 0001, line 2: record(s) 2 removed",
        ),
        (
            "reordered",
            run2,
            Box::new(|l| l.swap(3, 4)),
            "run 0002, line 5: record 4 out of its place",
        ),
        (
            "appended",
            run1,
            Box::new(|l| {
                let first = l[0].clone();
                l.push(first);
            }),
            "run 0001, line 8: appended",
        ),
        (
            "dataset manifest",
            "manifest.jsonl",
            Box::new(|l| {
                l.remove(0);
            }),
            "manifest.jsonl, line 1: not the runs' manifests",
        ),
    ];
    for (what, rel, change, want) in cases {
        let copy = sb.path(&format!("tampered-{}", what.replace(' ', "-")));
        copy_tree(&dataset, &copy);
        let mut l = lines(rel);
        change(&mut l);
        fs::write(copy.join(rel), l.concat()).unwrap();
        let (code, details) = verify(&sb, &copy);
        assert_eq!(code, 1, "{what}: {details:?}");
        assert!(
            details.iter().any(|d| d.contains(want)),
            "{what}: want {want:?} in {details:?}"
        );
    }
    // An edited summary, the run's own and the dataset's copy of it.
    for rel in [".dicom-deid/runs/0001/summary.json", "summary.json"] {
        let copy = sb.path("tampered-summary");
        let _ = fs::remove_dir_all(&copy);
        copy_tree(&dataset, &copy);
        let text = fs::read_to_string(copy.join(rel)).unwrap();
        fs::write(
            copy.join(rel),
            text.replacen("\"files\": ", "\"files\": 1", 1),
        )
        .unwrap();
        let (code, details) = verify(&sb, &copy);
        assert_eq!(code, 1, "{rel}: {details:?}");
        let want = if rel == "summary.json" {
            "summary.json: not the latest run's summary"
        } else {
            "run 0001: the summary was edited"
        };
        assert!(
            details.iter().any(|d| d.contains(want)),
            "{rel}: {details:?}"
        );
    }
}

#[test]
fn history_lists_every_run_from_the_catalogue() {
    let Some(data) = testdata_or_skip("history_lists_every_run") else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    let rules = data.parent().unwrap().join("pixel-rules.yaml");
    let dataset = sb.path("dataset");
    sb.run(&input, &dataset, &["--quiet", "--add"]);
    sb.run(
        &input,
        &dataset,
        &["--quiet", "--add", "--profile", rules.to_str().unwrap()],
    );
    let history = |args: &[&str]| {
        sb.cmd()
            .arg("history")
            .arg(&dataset)
            .args(args)
            .output()
            .unwrap()
    };
    let out = history(&["--json"]);
    assert_code(&out, 0, "history --json");
    let json: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for (i, run) in runs.iter().enumerate() {
        let summary =
            read_json(&dataset.join(format!(".dicom-deid/runs/{:04}/summary.json", i + 1)));
        assert_eq!(run["run"].as_u64(), Some(i as u64 + 1));
        for (field, in_summary) in [
            ("started", &summary["started"]),
            ("finished", &summary["finished"]),
            ("tool_version", &summary["version"]),
            ("input_id", &summary["input_id"]),
            ("profile_name", &summary["profile"]["name"]),
            ("profile_sha256", &summary["profile"]["sha256"]),
            ("key_fingerprint", &summary["key_fingerprint"]),
            ("files", &summary["files"]),
            ("written", &summary["status"]["written"]),
        ] {
            assert_eq!(&run[field], in_summary, "run {}: {field}", i + 1);
        }
        assert!(
            run.get("input").is_none(),
            "INPUT's path without --manifest-paths"
        );
    }
    assert_eq!(runs[1]["profile_name"].as_str(), Some("pacs-export-pixels"));
    let out = history(&[]);
    assert_code(&out, 0, "history");
    assert_eq!(stdout(&out).lines().count(), 3, "{}", stdout(&out));
    // `summary` of a dataset: its totals over every run, from the catalogue.
    let out = sb
        .cmd()
        .arg("summary")
        .arg(&dataset)
        .arg("--json")
        .output()
        .unwrap();
    assert_code(&out, 0, "summary of a dataset");
    let totals: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
    let files: u64 = runs.iter().map(|r| r["files"].as_u64().unwrap()).sum();
    let written: u64 = runs.iter().map(|r| r["written"].as_u64().unwrap()).sum();
    assert_eq!(totals["dataset"]["runs"].as_u64(), Some(2), "{totals}");
    assert_eq!(
        totals["dataset"]["records"].as_u64(),
        Some(files),
        "{totals}"
    );
    assert_eq!(
        totals["dataset"]["status"]["written"].as_u64(),
        Some(written),
        "{totals}"
    );
    // No identifying value in the catalogue.
    let planted = planted_phi_or_skip("history_lists_every_run").unwrap_or_default();
    let catalogue = fs::read(dataset.join(".dicom-deid/catalogue.sqlite")).unwrap();
    assert!(
        planted_in(&catalogue, &planted).is_empty(),
        "{:?}",
        planted_in(&catalogue, &planted)
    );
    // A lost catalogue is rebuilt from the runs' records by the next run.
    fs::remove_file(dataset.join(".dicom-deid/catalogue.sqlite")).unwrap();
    assert_code(&history(&["--json"]), 2, "no catalogue");
    sb.run(&input, &dataset, &["--quiet", "--add"]);
    let out = history(&["--json"]);
    let json: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 3, "rebuilt");
}

#[test]
fn triage_lists_every_file_not_written_outside_input_and_output() {
    let sb = Sandbox::new();
    let Some(input) = sample(&sb, "triage_lists_every_file_not_written") else {
        return;
    };
    let dataset = sb.path("dataset");
    let triage = sb.path("triage");
    let out = sb.run(
        &input,
        &dataset,
        &["--quiet", "--triage", triage.to_str().unwrap()],
    );
    assert_code(&out, 1, "run with --triage");
    let records = read_jsonl(&dataset.join("manifest.jsonl"));
    let mut reader = csv::Reader::from_path(triage.join("triage-0001.csv")).unwrap();
    assert_eq!(
        reader.headers().unwrap(),
        vec!["input", "id", "status", "code"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let not_written: Vec<&Json> = records
        .iter()
        .filter(|r| field(r, "status") != Some("written"))
        .collect();
    assert_eq!(rows.len(), not_written.len());
    for (row, record) in rows.iter().zip(&not_written) {
        assert!(input.join(&row[0]).is_file(), "{row:?} names an input");
        assert_eq!(&row[1], field(record, "id").unwrap());
        assert_eq!(&row[2], field(record, "status").unwrap());
        assert_eq!(&row[3], field(record, "code").unwrap());
    }
    // The paths are not in OUTPUT (those in folders: "DICOMDIR" is also a reason's word).
    for (rel, bytes) in tree_bytes(&dataset, |_| false) {
        for row in rows.iter().filter(|r| r[0].contains('/')) {
            assert!(
                !contains_ignore_ascii_case(&bytes, row[0].as_bytes()),
                "{rel} holds {}",
                &row[0]
            );
        }
    }
    // Inside INPUT or OUTPUT: refused.
    for inside in [input.join("t"), sb.path("other-out/t")] {
        let out = sb.run(
            &input,
            &sb.path("other-out"),
            &["--quiet", "--triage", inside.to_str().unwrap()],
        );
        assert_code(&out, 2, "--triage inside");
        assert!(stderr(&out).contains("--triage"), "{}", stderr(&out));
    }
}

/// `verify DATASET` without a key: its exit code and notes.
fn verify_without_key(sb: &Sandbox, dataset: &Path) -> (i32, Vec<String>) {
    let out = sb
        .cmd()
        .arg("verify")
        .arg(dataset)
        .arg("--json")
        .env_remove("DICOM_DEID_KEY_FILE")
        .output()
        .unwrap();
    let report: Json = serde_json::from_str(stdout(&out).trim())
        .unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let notes = report["notes"].as_array().unwrap();
    let notes = notes.iter().map(|n| n.as_str().unwrap().to_owned());
    (code(&out), notes.collect())
}

#[test]
fn verify_says_what_it_did_not_check_and_covers_shards() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    write_synthetic_export(&input, 6);
    let dataset = sb.path("dataset");
    assert_code(&sb.run(&input, &dataset, &["--quiet", "--add"]), 0, "run");
    // Without the key the chain is not checked, and verify says so instead of passing quietly.
    let (code, notes) = verify_without_key(&sb, &dataset);
    assert_eq!(code, 0, "{notes:?}");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("not checked for tampering (no key given)")),
        "{notes:?}"
    );

    // The shards of a run chain and seal their own records: verify checks them too.
    let sharded = sb.path("sharded");
    for k in ["1/2", "2/2"] {
        assert_code(&sb.run(&input, &sharded, &["--quiet", "--shard", k]), 0, k);
    }
    let merged = sb.cmd().arg("summary").arg(&sharded).output().unwrap();
    assert_code(&merged, 0, "summary");
    assert_eq!(verify(&sb, &sharded), (0, Vec::new()), "untouched shards");
    let rel = "manifest-1-of-2.jsonl";
    let mut lines: Vec<String> = fs::read_to_string(sharded.join(rel))
        .unwrap()
        .lines()
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(lines.len() >= 2, "{lines:?}");
    lines.swap(0, 1);
    fs::write(sharded.join(rel), lines.concat()).unwrap();
    let (code, details) = verify(&sb, &sharded);
    assert_eq!(code, 1, "{details:?}");
    assert!(
        details.iter().any(|d| d
            .starts_with("manifest-1-of-2.jsonl: shard 1/2, line 2: record 1 out of its place")),
        "{details:?}"
    );
}

#[test]
fn an_output_of_an_earlier_version_or_of_shards_is_refused_in_its_own_words() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    write_synthetic_export(&input, 4);
    // What an earlier version left: a manifest and a summary in OUTPUT, a header without a run
    // number, no run history and no catalogue.
    let earlier = sb.path("earlier");
    assert_code(&sb.run(&input, &earlier, &["--quiet"]), 0, "run");
    fs::remove_dir_all(earlier.join(".dicom-deid/runs")).unwrap();
    fs::remove_file(earlier.join(".dicom-deid/catalogue.sqlite")).unwrap();
    let header = earlier.join(".dicom-deid/run.json");
    let mut json = read_json(&header);
    json.as_object_mut().unwrap().remove("run");
    fs::write(&header, json.to_string()).unwrap();
    for args in [
        &["--quiet"][..],
        &["--quiet", "--add"],
        &["--quiet", "--resume"],
    ] {
        let before = snapshot(&earlier);
        let out = sb.run(&input, &earlier, &[args, &["--json"]].concat());
        assert_code(&out, 2, &format!("{args:?}"));
        assert!(
            stderr(&out).contains("earlier version of dicom-deid, which kept no run history"),
            "{args:?}: {}",
            stderr(&out)
        );
        let error: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(error["error"]["code"], "output_from_earlier_version");
        assert_eq!(snapshot(&earlier), before, "{args:?}: OUTPUT changed");
    }
    let (code, notes) = verify_without_key(&sb, &earlier);
    assert_eq!(code, 0, "{notes:?}");
    assert!(
        notes.iter().any(|n| n.contains("keeps no run history")),
        "{notes:?}"
    );

    let sharded = sb.path("sharded");
    assert_code(
        &sb.run(&input, &sharded, &["--quiet", "--shard", "1/2"]),
        0,
        "shard",
    );
    for args in [
        &["--quiet"][..],
        &["--quiet", "--add"],
        &["--quiet", "--resume"],
    ] {
        let out = sb.run(&input, &sharded, args);
        assert_code(&out, 2, &format!("{args:?}"));
        assert!(
            stderr(&out).contains("holds a sharded run"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn a_killed_add_run_resumed_gives_the_dataset_an_uninterrupted_one_gives() {
    let sb = Sandbox::new();
    let night1 = sb.path("n1");
    write_synthetic_export(&night1, 6);
    let night2 = sb.path("n2");
    write_synthetic_export(&night2, 600);
    let reference = sb.path("reference");
    let dataset = sb.path("dataset");
    for output in [&reference, &dataset] {
        assert_code(
            &sb.run(&night1, output, &["--quiet", "--add"]),
            0,
            "night 1",
        );
    }
    assert_code(
        &sb.run(&night2, &reference, &["--quiet", "--add"]),
        0,
        "night 2, uninterrupted",
    );
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dicom-deid"))
        .arg("run")
        .arg(&night2)
        .arg(&dataset)
        .arg("--add")
        .arg("--key-file")
        .arg(&sb.key)
        .args(["--quiet", "--jobs", "1"])
        .env_remove("DICOM_DEID_KEY_FILE")
        .env("HOME", &sb.home)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once it has placed some of night 2's files (6 are night 1's).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut interrupted = false;
    while std::time::Instant::now() < deadline && child.try_wait().unwrap().is_none() {
        if dcm_tree(&dataset).len() >= 40 {
            interrupted = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    let _ = child.wait();
    if !interrupted {
        eprintln!("note: night 2 finished before it could be killed; resuming a finished run");
    }
    let out = sb.run(&night2, &dataset, &["--quiet", "--resume"]);
    assert_code(&out, 0, "resumed");
    // Everything but the summaries (timings) and the catalogue (which holds them) is the same,
    // byte for byte: outputs, every run's manifest, the dataset's manifest.
    let skip = |rel: &str| rel.ends_with("summary.json") || rel.ends_with("catalogue.sqlite");
    assert_eq!(tree_hashes(&dataset, skip), tree_hashes(&reference, skip));
    let history = |dataset: &Path| -> Vec<(u64, u64)> {
        let out = sb
            .cmd()
            .arg("history")
            .arg(dataset)
            .arg("--json")
            .output()
            .unwrap();
        let json: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
        let runs = json["runs"].as_array().unwrap().iter();
        runs.map(|r| (r["files"].as_u64().unwrap(), r["written"].as_u64().unwrap()))
            .collect()
    };
    assert_eq!(history(&dataset), history(&reference));
    assert_eq!(
        verify(&sb, &dataset),
        (0, Vec::new()),
        "verify of the resumed dataset"
    );
}

#[test]
fn the_linkage_encrypted_to_a_recipient_is_read_only_with_its_identity() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    write_synthetic_export(&input, 4);
    let identity = sb.path("broker.key");
    let out = sb
        .cmd()
        .args(["linkage", "keygen"])
        .arg(&identity)
        .output()
        .unwrap();
    assert_code(&out, 0, "linkage keygen");
    let recipient = stdout(&out).trim().to_owned();
    assert!(recipient.starts_with("age1"), "{recipient}");
    assert_code(
        &sb.cmd()
            .args(["linkage", "keygen"])
            .arg(&identity)
            .output()
            .unwrap(),
        2,
        "keygen over an existing identity",
    );

    let linkage = sb.path("linkage");
    let dataset = sb.path("dataset");
    let link = linkage.to_str().unwrap();
    let out = sb.run(
        &input,
        &dataset,
        &[
            "--quiet",
            "--add",
            "--linkage",
            link,
            "--linkage-recipient",
            &recipient,
        ],
    );
    assert_code(&out, 0, "run with an encrypted linkage");
    // The second night's linkage is its own file: the first stays.
    let night2 = sb.path("n2");
    write_synthetic_export(&night2, 7);
    let out = sb.run(
        &night2,
        &dataset,
        &[
            "--quiet",
            "--add",
            "--linkage",
            link,
            "--linkage-recipient",
            &recipient,
        ],
    );
    assert_code(&out, 0, "night 2");
    assert_eq!(
        regular_files(&linkage),
        ["linkage-0001.csv.age", "linkage-0002.csv.age"]
            .map(str::to_owned)
            .into(),
        "only encrypted tables"
    );
    for rel in regular_files(&linkage) {
        let bytes = fs::read(linkage.join(rel)).unwrap();
        assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
        assert!(planted_in(&bytes, &["SYNTH-0001".to_owned()]).is_empty());
    }

    let lookup = |value: &str, args: &[&str]| {
        sb.cmd()
            .args(["linkage", "lookup"])
            .arg(&linkage)
            .arg(value)
            .args(args)
            .output()
            .unwrap()
    };
    let key_file = identity.to_str().unwrap();
    let out = lookup("SYNTH-0001", &["--identity", key_file, "--json"]);
    assert_code(&out, 0, "lookup by MRN");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let json: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
    let matches = json["matches"].as_array().unwrap();
    assert_eq!(matches.len(), 1, "{json}");
    assert_eq!(matches[0]["kind"], "patient_id");
    let pseudonym = matches[0]["pseudonym"].as_str().unwrap().to_owned();
    // The pseudonym is the PatientID the outputs carry, and leads back to the MRN.
    let some_output = dcm_tree(&dataset).into_keys().next().unwrap();
    assert!(
        some_output.starts_with(&pseudonym),
        "{some_output} vs {pseudonym}"
    );
    let out = lookup(&pseudonym, &["--identity", key_file]);
    assert_code(&out, 0, "lookup by pseudonym");
    assert_eq!(
        stdout(&out),
        format!("patient_id\tSYNTH-0001\t{pseudonym}\n")
    );

    // Nothing matches: exit 1, and the value is not echoed.
    let out = lookup("NOBODY-42", &["--identity", key_file]);
    assert_code(&out, 1, "no match");
    assert!(!stderr(&out).contains("NOBODY-42") && stdout(&out).is_empty());
    // Without the identity, or with another: exit 2, no value shown.
    let out = lookup("SYNTH-0001", &["--json"]);
    assert_code(&out, 2, "no identity");
    assert!(stderr(&out).contains("--identity"), "{}", stderr(&out));
    let error: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(error["error"]["code"], "linkage");
    let other = sb.path("other.key");
    sb.cmd()
        .args(["linkage", "keygen"])
        .arg(&other)
        .output()
        .unwrap();
    let out = lookup("SYNTH-0001", &["--identity", other.to_str().unwrap()]);
    assert_code(&out, 2, "another identity");
    assert!(!stderr(&out).contains("SYNTH-0001") && stdout(&out).is_empty());
    // A recipient that is not one is refused before anything is done.
    let out = sb.run(
        &input,
        &sb.path("fresh"),
        &[
            "--quiet",
            "--linkage",
            link,
            "--linkage-recipient",
            "age1nope",
        ],
    );
    assert_code(&out, 2, "a bad recipient");
    assert!(stderr(&out).contains("linkage keygen"), "{}", stderr(&out));
    assert!(!sb.path("fresh").exists());
}
