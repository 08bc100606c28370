//! Integration tests of `dicom-deid summary` (merging the shards of a run) and of the run
//! options made for schedulers: `--shard-env VAR/N` and `--exit-zero-on-file-failures`.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::*;
use serde_json::Value as Json;

fn synthetic_export(sb: &Sandbox, files: usize) -> PathBuf {
    let input = sb.path("in");
    write_synthetic_export(&input, files);
    input
}

/// Shard `k` of `n` through `--shard-env`, as a Kubernetes pod with index k-1 runs it.
fn run_shard(sb: &Sandbox, input: &Path, output: &Path, k: u32, n: u32) -> Output {
    let mut cmd = sb.cmd();
    cmd.env("JOB_COMPLETION_INDEX", (k - 1).to_string())
        .arg("run")
        .arg(input)
        .arg(output)
        .arg("--key-file")
        .arg(&sb.key)
        .args([
            "--quiet",
            "--shard-env",
            &format!("JOB_COMPLETION_INDEX/{n}"),
        ]);
    cmd.output().unwrap()
}

fn run_shards(sb: &Sandbox, input: &Path, output: &Path, shards: &[u32], n: u32) {
    for &k in shards {
        let out = run_shard(sb, input, output, k, n);
        assert_code(&out, 0, &format!("shard {k}/{n}"));
        assert!(output.join(format!("manifest-{k}-of-{n}.jsonl")).is_file());
    }
}

/// `summary OUTPUT --json`: the exit code and the parsed report.
fn summary(sb: &Sandbox, output: &Path) -> (Output, Json) {
    let out = sb
        .cmd()
        .arg("summary")
        .arg(output)
        .arg("--json")
        .output()
        .unwrap();
    let report = serde_json::from_str(stdout(&out).trim())
        .unwrap_or_else(|e| panic!("--json printed no JSON ({e}): {}", stderr(&out)));
    (out, report)
}

fn problem_kinds(report: &Json) -> BTreeSet<String> {
    report["problems"]
        .as_array()
        .expect("a problems list")
        .iter()
        .map(|p| p["kind"].as_str().expect("problems have a kind").to_owned())
        .collect()
}

fn assert_nothing_merged(output: &Path) {
    assert!(
        !output.join("manifest.jsonl").exists(),
        "merged with problems"
    );
    assert!(
        !output.join("summary.json").exists(),
        "merged with problems"
    );
}

/// A manifest's lines, sorted, without the place and chain a run's own manifest gives each
/// (the merged manifest is in another order, and not chained).
fn sorted_lines(path: &Path) -> Vec<String> {
    let mut lines: Vec<String> = fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| match l.rfind(",\"seq\":") {
            Some(at) => format!("{}}}", &l[..at]),
            None => l.to_owned(),
        })
        .collect();
    lines.sort();
    lines
}

/// The first written record of a shard's manifest.
fn first_written(output: &Path, manifest: &str) -> Json {
    read_jsonl(&output.join(manifest))
        .into_iter()
        .find(|r| field(r, "status") == Some("written"))
        .expect("a written record")
}

#[test]
fn shards_merge_into_the_single_runs_records_and_counts() {
    let sb = Sandbox::new();
    let input = synthetic_export(&sb, 12);
    let single = sb.path("single");
    assert_code(&sb.run(&input, &single, &["--quiet"]), 0, "single run");
    let sharded = sb.path("sharded");
    run_shards(&sb, &input, &sharded, &[1, 2, 3], 3);

    let (out, report) = summary(&sb, &sharded);
    assert_code(&out, 0, "summary");
    assert_eq!(report["problems"], Json::Array(Vec::new()));
    assert_eq!(report["written"], Json::Bool(true));
    assert_eq!(report["shards"].as_array().unwrap().len(), 3);
    assert_eq!(
        sorted_lines(&sharded.join("manifest.jsonl")),
        sorted_lines(&single.join("manifest.jsonl")),
        "the merged manifest holds the single run's records"
    );
    let merged = read_json(&sharded.join("summary.json"));
    let alone = read_json(&single.join("summary.json"));
    for key in [
        "files",
        "status",
        "reasons",
        "bytes_in",
        "bytes_out",
        "profile",
        "key_fingerprint",
        "methods",
        "version",
    ] {
        assert_eq!(merged[key], alone[key], "summary field {key}");
    }
    assert!(
        merged.get("shard").is_none(),
        "the merged summary is no shard's"
    );
    assert_eq!(dcm_tree(&sharded), dcm_tree(&single), "the same files");

    // Merging again finds the same run and does not mistake its own files for strays.
    let before = fs::read(sharded.join("manifest.jsonl")).unwrap();
    let (again, _) = summary(&sb, &sharded);
    assert_code(&again, 0, "summary again");
    assert_eq!(fs::read(sharded.join("manifest.jsonl")).unwrap(), before);
}

#[test]
fn a_missing_or_unfinished_shard_is_reported_and_nothing_merged() {
    let sb = Sandbox::new();
    let input = synthetic_export(&sb, 9);
    let output = sb.path("out");
    run_shards(&sb, &input, &output, &[1, 3], 3);
    fs::write(output.join(".dicom-deid/journal-3-of-3.jsonl"), "").unwrap();
    let (out, report) = summary(&sb, &output);
    assert_code(&out, 1, "summary");
    assert_eq!(
        problem_kinds(&report),
        BTreeSet::from(["missing-shard".to_owned(), "unfinished-shard".to_owned()])
    );
    let missing = &report["problems"][0];
    assert_eq!(missing["shard"], "2/3");
    assert_eq!(
        missing["missing"],
        serde_json::json!(["manifest", "summary"])
    );
    assert_nothing_merged(&output);
    // The human report says the same on stderr.
    let human = sb.cmd().arg("summary").arg(&output).output().unwrap();
    assert_code(&human, 1, "summary without --json");
    assert!(
        stderr(&human).contains("shard 2/3: no manifest"),
        "{}",
        stderr(&human)
    );
}

#[test]
fn changed_missing_and_stray_outputs_are_reported() {
    let sb = Sandbox::new();
    let input = synthetic_export(&sb, 9);
    let output = sb.path("out");
    run_shards(&sb, &input, &output, &[1, 2], 2);
    let changed = first_written(&output, "manifest-1-of-2.jsonl");
    let changed = field(&changed, "output").unwrap().to_owned();
    let mut bytes = fs::read(output.join(&changed)).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    fs::write(output.join(&changed), bytes).unwrap();
    let removed = first_written(&output, "manifest-2-of-2.jsonl");
    let removed = field(&removed, "output").unwrap().to_owned();
    fs::remove_file(output.join(&removed)).unwrap();
    fs::write(output.join("stray.dcm"), b"left behind").unwrap();

    let (out, report) = summary(&sb, &output);
    assert_code(&out, 1, "summary");
    let problems = report["problems"].as_array().unwrap();
    let has = |kind: &str, key: &str, value: &str| {
        problems
            .iter()
            .any(|p| p["kind"] == kind && p[key].as_str() == Some(value))
    };
    assert!(has("output-changed", "output", &changed), "{problems:?}");
    assert!(has("output-missing", "output", &removed), "{problems:?}");
    assert!(has("unlisted", "path", "stray.dcm"), "{problems:?}");
    assert_eq!(report["problems_total"], 3, "{problems:?}");
    assert_nothing_merged(&output);
}

#[test]
fn two_shards_recording_different_bytes_under_one_path_conflict() {
    let sb = Sandbox::new();
    let input = synthetic_export(&sb, 9);
    let output = sb.path("out");
    run_shards(&sb, &input, &output, &[1, 2], 2);
    // Make shard 2 claim shard 1's output path for its own (different) bytes, as a shard
    // overwriting another's file would have recorded it.
    let taken = first_written(&output, "manifest-1-of-2.jsonl");
    let taken = field(&taken, "output").unwrap().to_owned();
    let path = output.join("manifest-2-of-2.jsonl");
    let mut records = read_jsonl(&path);
    let victim = records
        .iter_mut()
        .find(|r| field(r, "status") == Some("written"))
        .unwrap();
    victim["output"] = Json::String(taken.clone());
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    fs::write(&path, text).unwrap();

    let (out, report) = summary(&sb, &output);
    assert_code(&out, 1, "summary");
    let conflict = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "output-conflict")
        .unwrap_or_else(|| panic!("no conflict in {report}"));
    assert_eq!(conflict["output"].as_str(), Some(taken.as_str()));
    assert_eq!(conflict["shards"], serde_json::json!(["1/2", "2/2"]));
    assert_nothing_merged(&output);
}

#[test]
fn shards_run_with_another_key_or_n_do_not_merge() {
    let sb = Sandbox::new();
    let input = synthetic_export(&sb, 6);
    let output = sb.path("keys");
    run_shards(&sb, &input, &output, &[1], 2);
    let other_key = sb.path("other.key");
    fs::write(&other_key, format!("{KEY_B}\n")).unwrap();
    let out = sb
        .cmd()
        .arg("run")
        .arg(&input)
        .arg(&output)
        .arg("--key-file")
        .arg(&other_key)
        .args(["--quiet", "--shard", "2/2"])
        .output()
        .unwrap();
    assert_code(&out, 0, "shard 2/2 with another key");
    let (out, report) = summary(&sb, &output);
    assert_code(&out, 1, "summary");
    let mismatch = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "mismatch")
        .unwrap_or_else(|| panic!("no mismatch in {report}"));
    assert_eq!(mismatch["field"], "key_fingerprint");
    assert_eq!(mismatch["shards"], serde_json::json!(["1/2", "2/2"]));

    let mixed = sb.path("mixed");
    run_shards(&sb, &input, &mixed, &[1], 2);
    run_shards(&sb, &input, &mixed, &[2], 3);
    let (out, report) = summary(&sb, &mixed);
    assert_code(&out, 1, "summary of mixed N");
    assert_eq!(report["problems"][0]["kind"], "mixed-shard-counts");
    assert_eq!(report["problems"][0]["counts"], serde_json::json!([2, 3]));
    assert_nothing_merged(&mixed);
}

#[test]
fn summary_without_shards_does_nothing() {
    let sb = Sandbox::new();
    let input = synthetic_export(&sb, 3);
    let single = sb.path("single");
    assert_code(&sb.run(&input, &single, &["--quiet"]), 0, "single run");
    let before = snapshot(&single);
    // An unsharded run is run 1 of a dataset: `summary` gives its totals and writes nothing.
    let out = sb.cmd().arg("summary").arg(&single).output().unwrap();
    assert_code(&out, 0, "summary of a dataset");
    assert!(
        stderr(&out)
            .contains("a dataset of 1 run(s) (the last: 0001), 4 records: 1 skipped, 3 written"),
        "{}",
        stderr(&out)
    );
    let empty = sb.path("empty");
    fs::create_dir_all(&empty).unwrap();
    for (dir, says) in [
        (empty, "holds no shard manifests"),
        (sb.path("absent"), "not a readable folder"),
    ] {
        let out = sb.cmd().arg("summary").arg(&dir).output().unwrap();
        assert_code(&out, 2, "summary without shards");
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
    }
    assert_eq!(snapshot(&single), before, "OUTPUT was changed");
}

#[test]
fn failed_files_make_summary_exit_1_and_are_counted() {
    let sb = Sandbox::new();
    let input = synthetic_export(&sb, 6);
    let good = fs::read(input.join("P0/S1/IM000")).unwrap();
    fs::write(input.join("P0/S1/truncated"), &good[..good.len() / 2]).unwrap();
    let output = sb.path("out");
    for k in 1..=2 {
        let out = sb.run(
            &input,
            &output,
            &[
                "--quiet",
                "--shard",
                &format!("{k}/2"),
                "--exit-zero-on-file-failures",
            ],
        );
        assert_code(&out, 0, "a shard with --exit-zero-on-file-failures");
    }
    let (out, report) = summary(&sb, &output);
    assert_code(&out, 1, "summary of a run with a failed file");
    assert_eq!(report["problems"], Json::Array(Vec::new()));
    assert_eq!(report["status"]["failed"], 1);
    assert_eq!(report["written"], Json::Bool(true), "a whole run is merged");
    let failed: Vec<Json> = read_jsonl(&output.join("manifest.jsonl"))
        .into_iter()
        .filter(|r| field(r, "status") == Some("failed"))
        .collect();
    assert_eq!(failed.len(), 1);
    // Without the option the shard holding the failed file exits 1, as a run does.
    let codes: Vec<i32> = (1..=2)
        .map(|k| {
            code(&sb.run(
                &input,
                &sb.path("plain"),
                &["--quiet", "--shard", &format!("{k}/2")],
            ))
        })
        .collect();
    assert_eq!(
        codes.iter().filter(|&&c| c == 1).count(),
        1,
        "exit codes {codes:?}"
    );
}

#[test]
fn shard_env_takes_a_0_based_index_and_refuses_bad_ones() {
    let sb = Sandbox::new();
    let input = synthetic_export(&sb, 6);
    // Index 1 of 3 is shard 2/3: the same records as --shard 2/3.
    let by_env = sb.path("env");
    let out = run_shard(&sb, &input, &by_env, 2, 3);
    assert_code(&out, 0, "--shard-env");
    let by_arg = sb.path("arg");
    assert_code(
        &sb.run(&input, &by_arg, &["--quiet", "--shard", "2/3"]),
        0,
        "--shard",
    );
    assert_eq!(
        fs::read(by_env.join("manifest-2-of-3.jsonl")).unwrap(),
        fs::read(by_arg.join("manifest-2-of-3.jsonl")).unwrap()
    );

    let refused = |env: Option<&str>, args: &[&str], says: &str| {
        let output = sb.path("refused");
        let mut cmd = sb.cmd();
        cmd.env_remove("DEID_INDEX");
        if let Some(value) = env {
            cmd.env("DEID_INDEX", value);
        }
        let out = cmd
            .arg("run")
            .arg(&input)
            .arg(&output)
            .arg("--key-file")
            .arg(&sb.key)
            .args(args)
            .output()
            .unwrap();
        assert_code(&out, 2, says);
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
        assert!(!output.exists(), "a refused run created OUTPUT");
    };
    refused(
        None,
        &["--shard-env", "DEID_INDEX/3"],
        "DEID_INDEX is not set",
    );
    refused(Some("3"), &["--shard-env", "DEID_INDEX/3"], "below 3");
    refused(Some("x"), &["--shard-env", "DEID_INDEX/3"], "not a 0-based");
    refused(Some("0"), &["--shard-env", "DEID_INDEX"], "expected VAR/N");
    refused(
        Some("0"),
        &["--shard-env", "DEID_INDEX/3", "--shard", "1/3"],
        "cannot be used with",
    );
}

#[test]
fn concurrent_shards_keep_every_colliding_file() {
    // Inputs that map to one output path with different bytes (the same SOP Instance UID,
    // different pixels), spread over shards that run at the same time: each shard must find
    // the others' files, never replace them, and record what is on disk.
    let sb = Sandbox::new();
    let input = sb.path("in");
    let (groups, variants) = (30, 4);
    for group in 0..groups {
        for variant in 0..variants {
            let dir = input.join(format!("G{group:02}"));
            fs::create_dir_all(&dir).unwrap();
            let path = dir.join(format!("V{variant}"));
            write_synthetic_ct(&path, &format!("{}", group + 1), &[]);
            let mut bytes = fs::read(&path).unwrap();
            *bytes.last_mut().unwrap() = variant as u8;
            fs::write(&path, bytes).unwrap();
        }
    }
    let output = sb.path("out");
    let n = 4;
    let children: Vec<_> = (1..=n)
        .map(|k| {
            std::process::Command::new(env!("CARGO_BIN_EXE_dicom-deid"))
                .env("HOME", &sb.home)
                .arg("run")
                .arg(&input)
                .arg(&output)
                .arg("--key-file")
                .arg(&sb.key)
                .args(["--quiet", "--jobs", "2", "--shard", &format!("{k}/{n}")])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a shard failed");
    }
    let (out, report) = summary(&sb, &output);
    assert_code(&out, 0, "summary");
    assert_eq!(report["problems"], Json::Array(Vec::new()));
    assert_eq!(
        dcm_tree(&output).len(),
        groups * variants,
        "every distinct file is kept"
    );
}

#[test]
fn a_resumed_shard_removes_only_its_own_temp_files() {
    // Another shard may be running while one is resumed: its temp files must survive.
    let sb = Sandbox::new();
    let input = synthetic_export(&sb, 8);
    let output = sb.path("out");
    run_shards(&sb, &input, &output, &[1, 2], 2);
    let id_of = |k: u32| {
        let record = first_written(&output, &format!("manifest-{k}-of-2.jsonl"));
        field(&record, "id").unwrap().to_owned()
    };
    let folder = output.join("some-folder");
    fs::create_dir_all(&folder).unwrap();
    let temp = |dir: &Path, inner: String| {
        let path = dir.join(format!(".dicom-deid-{inner}.tmp"));
        fs::write(&path, b"partial").unwrap();
        path
    };
    let own = [
        temp(&folder, id_of(1)),
        temp(&output, "manifest-1-of-2.jsonl.4242".to_owned()),
    ];
    let others = [
        temp(&folder, id_of(2)),
        temp(&output, "manifest-2-of-2.jsonl.4242".to_owned()),
    ];
    let out = sb.run(&input, &output, &["--quiet", "--shard", "1/2", "--resume"]);
    assert_code(&out, 0, "resume shard 1/2");
    for path in &own {
        assert!(!path.exists(), "{} was left", path.display());
    }
    for path in &others {
        assert!(
            path.exists(),
            "{} of the other shard was removed",
            path.display()
        );
    }
}

#[test]
fn summary_of_the_sample_export_names_no_patient_value() {
    let test = "summary_of_the_sample_export_names_no_patient_value";
    let (Some(data), Some(planted)) = (testdata_or_skip(test), planted_phi_or_skip(test)) else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    let output = sb.path("out");
    for k in 1..=3 {
        let out = sb.run(&input, &output, &["--quiet", "--shard", &format!("{k}/3")]);
        assert_ne!(code(&out), 2, "shard {k}/3: {}", stderr(&out));
    }
    let human = sb.cmd().arg("summary").arg(&output).output().unwrap();
    let (json, report) = summary(&sb, &output);
    assert_code(
        &json,
        1,
        "summary of the sample export (it holds a truncated file)",
    );
    assert_eq!(report["problems"], Json::Array(Vec::new()), "{report}");
    // Problems are named too: a stray file makes one.
    fs::write(output.join("stray.dcm"), b"x").unwrap();
    let with_problem = sb.cmd().arg("summary").arg(&output).output().unwrap();
    assert_code(&with_problem, 1, "summary with a stray file");
    let mut channels: Vec<(String, Vec<u8>)> = vec![
        ("stdout".into(), json.stdout.clone()),
        ("stderr".into(), human.stderr.clone()),
        ("stderr with a problem".into(), with_problem.stderr.clone()),
    ];
    for name in ["manifest.jsonl", "summary.json"] {
        channels.push((name.into(), fs::read(output.join(name)).unwrap()));
    }
    for (channel, bytes) in channels {
        let found = planted_in(&bytes, &planted);
        assert!(found.is_empty(), "{channel} names {found:?}");
    }
}
