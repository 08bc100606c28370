//! No PHI and no key in any output channel: stdout, stderr (also on a terminal, with the
//! progress bar), the manifest, the summary, the state folder, the written files and their
//! paths, at every verbosity and with failures forced by broken inputs named after patients.
//! And the key file's rules: loose modes warn, short or malformed keys are errors whose
//! messages quote nothing of the file.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::*;

/// Copy the test data and add broken copies of its files under names that hold planted PHI:
/// truncated twice, a VR flipped to lower case, a declared length past the end.
fn input_with_failures(sb: &Sandbox, data: &Path) -> std::path::PathBuf {
    let input = sb.copy_in(data, "in");
    let good = fs::read(input.join("DOE_JOHN_12345/CT_20190312/SER001/IM0001")).unwrap();
    let dir = input.join("DOE_JOHN_12345/BROKEN DOE^JOHN 19650412");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("DOE_JOHN_12345 truncated.dcm"),
        &good[..good.len() * 2 / 3],
    )
    .unwrap();
    let mut bad_vr = good.clone();
    bad_vr[132 + 4] ^= 0x20;
    fs::write(dir.join("PID-12345 bad VR.dcm"), bad_vr).unwrap();
    // A trailing element whose declared length runs far past the end of the file.
    let mut lying = good.clone();
    lying.extend([
        0xE1, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0, 0xF0, 0xFF, 0xFF, 0xFF,
    ]);
    lying.extend(b"MRN-00998877");
    fs::write(dir.join("MRN-00998877.dcm"), lying).unwrap();
    let mut no_pixels = good;
    no_pixels.truncate(700);
    fs::write(dir.join("SPRINGFIELD GENERAL HOSPITAL.dcm"), no_pixels).unwrap();
    input
}

/// Every channel of one finished run, by name.
fn channels(out: &Output, output: &Path) -> Vec<(String, Vec<u8>)> {
    let mut all = vec![
        ("stdout".to_owned(), out.stdout.clone()),
        ("stderr".to_owned(), out.stderr.clone()),
    ];
    if output.exists() {
        for rel in regular_files(output) {
            let path = output.join(&rel);
            let bytes = if rel.ends_with(".dcm") {
                searchable_bytes(&path)
            } else {
                fs::read(&path).unwrap()
            };
            all.push((format!("path {rel}"), rel.clone().into_bytes()));
            all.push((rel, bytes));
        }
    }
    all
}

/// The run's command line, under `script` so that stderr is a terminal (progress bar on).
fn on_a_terminal(sb: &Sandbox, input: &Path, output: &Path) -> Option<Output> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("terminal variant skipped: `script` (util-linux) is not installed");
        return None;
    }
    let quote = |p: &Path| format!("'{}'", p.display().to_string().replace('\'', r"'\''"));
    let line = format!(
        "{} run {} {} --key-file {}",
        quote(&assert_cmd::cargo::cargo_bin("dicom-deid")),
        quote(input),
        quote(output),
        quote(&sb.key)
    );
    Some(
        Command::new("script")
            .args(["-qefc", &line, "/dev/null"])
            .env_remove("DICOM_DEID_KEY_FILE")
            .env("HOME", &sb.home)
            .output()
            .unwrap(),
    )
}

#[test]
fn no_planted_phi_in_any_channel_with_failures_forced() {
    const TEST: &str = "no_planted_phi_in_any_channel_with_failures_forced";
    let Some(data) = testdata_or_skip(TEST) else {
        return;
    };
    let Some(planted) = planted_phi_or_skip(TEST) else {
        return;
    };
    let sb = Sandbox::new();
    let input = input_with_failures(&sb, &data);
    let mut problems = Vec::new();
    let mut scanned = 0;
    let variants: [(&str, &[&str]); 6] = [
        ("default", &[]),
        ("quiet", &["--quiet"]),
        ("json", &["--json"]),
        ("one job", &["--jobs", "1"]),
        ("dry-run", &["--dry-run"]),
        ("dry-run json", &["--dry-run", "--json"]),
    ];
    let mut runs = Vec::new();
    for (i, (name, args)) in variants.iter().enumerate() {
        let output = sb.path(&format!("out{i}"));
        let out = sb.run(&input, &output, args);
        assert_code(&out, 1, name);
        runs.push((name.to_string(), out, output));
    }
    let output = sb.path("out-tty");
    if let Some(out) = on_a_terminal(&sb, &input, &output) {
        assert_code(&out, 1, "terminal");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("failed:"), "per-file messages shown: {text}");
        runs.push(("terminal".to_owned(), out, output));
    }
    let mut failed_lines = 0;
    for (name, out, output) in &runs {
        failed_lines += stderr(out)
            .lines()
            .filter(|l| l.starts_with("failed:"))
            .count();
        for (channel, bytes) in channels(out, output) {
            scanned += 1;
            let found = planted_in(&bytes, &planted);
            if !found.is_empty() {
                problems.push(format!("{name}: {channel}: {found:?}"));
            }
        }
    }
    eprintln!(
        "{TEST}: {} runs, {scanned} channels and files scanned for {} planted values, {failed_lines} failure lines on stderr",
        runs.len(),
        planted.len()
    );
    assert!(failed_lines >= 5, "failures were forced and reported");
    assert!(
        problems.is_empty(),
        "planted values leaked:\n{}",
        problems.join("\n")
    );
}

/// The key in every spelling it could leak in.
fn key_spellings() -> Vec<Vec<u8>> {
    let raw = hex::decode(KEY_A).unwrap();
    vec![
        KEY_A.as_bytes().to_vec(),
        KEY_A.to_uppercase().into_bytes(),
        KEY_A.as_bytes()[..32].to_vec(),
        KEY_A.as_bytes()[32..].to_vec(),
        raw[..16].to_vec(),
        raw[16..].to_vec(),
    ]
}

fn holds_key(bytes: &[u8]) -> bool {
    key_spellings()
        .iter()
        .any(|k| bytes.windows(k.len()).any(|w| w == k.as_slice()))
}

#[test]
fn the_key_never_leaves_its_file() {
    let Some(data) = testdata_or_skip("the_key_never_leaves_its_file") else {
        return;
    };
    let sb = Sandbox::new();
    let input = input_with_failures(&sb, &data);
    let linkage = sb.path("linkage");
    let mut leaks = Vec::new();
    let mut fingerprint = None;
    let variants: [(&str, &[&str]); 4] = [
        ("default", &[]),
        ("json", &["--json"]),
        ("dry-run", &["--dry-run"]),
        ("linkage", &["--linkage", linkage.to_str().unwrap()]),
    ];
    for (i, (name, args)) in variants.iter().enumerate() {
        let output = sb.path(&format!("out{i}"));
        let out = sb.run(&input, &output, args);
        assert_code(&out, 1, name);
        for (channel, bytes) in channels(&out, &output) {
            if holds_key(&bytes) {
                leaks.push(format!("{name}: {channel}"));
            }
        }
        if output.join("summary.json").exists() {
            let summary = read_json(&output.join("summary.json"));
            fingerprint = summary["key_fingerprint"].as_str().map(str::to_owned);
        }
    }
    for rel in regular_files(&linkage) {
        if holds_key(&fs::read(linkage.join(&rel)).unwrap()) {
            leaks.push(format!("linkage {rel}"));
        }
    }
    // keygen names the fingerprint, never the key.
    let new_key = sb.path("new.key");
    let out = sb.cmd().arg("keygen").arg(&new_key).output().unwrap();
    assert_code(&out, 0, "keygen");
    let written = fs::read_to_string(&new_key).unwrap();
    let printed = [out.stdout, out.stderr].concat();
    assert!(
        !String::from_utf8_lossy(&printed).contains(written.trim()),
        "keygen printed the key"
    );
    assert!(leaks.is_empty(), "the key leaked into: {leaks:?}");
    let fingerprint = fingerprint.expect("a summary names the key");
    assert_eq!(fingerprint.len(), 16);
    assert!(!KEY_A.contains(&fingerprint));
}

#[test]
fn a_key_file_readable_by_others_gets_a_warning() {
    let Some(data) = testdata_or_skip("a_key_file_readable_by_others_gets_a_warning") else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    for (i, (mode, warned)) in [(0o600, false), (0o400, false), (0o640, true), (0o644, true)]
        .into_iter()
        .enumerate()
    {
        fs::set_permissions(&sb.key, fs::Permissions::from_mode(mode)).unwrap();
        let out = sb.run(&input, &sb.path(&format!("out{i}")), &["--quiet"]);
        assert_code(&out, 1, &format!("key mode {mode:o}"));
        let err = stderr(&out);
        assert_eq!(
            err.contains("warning: key file") && err.contains("readable by other users"),
            warned,
            "mode {mode:o}: {err}"
        );
    }
}

#[test]
fn short_or_malformed_keys_are_errors_that_quote_nothing() {
    let Some(data) = testdata_or_skip("short_or_malformed_keys_are_errors_that_quote_nothing")
    else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    let cases: [(&str, Vec<u8>); 7] = [
        ("short", KEY_A.as_bytes()[..40].to_vec()),
        ("one short", KEY_A.as_bytes()[..63].to_vec()),
        ("long", format!("{KEY_A}00").into_bytes()),
        ("not hex", KEY_A.replace('a', "z").into_bytes()),
        ("spaces", format!(" {KEY_A}").into_bytes()),
        ("binary", hex::decode(KEY_A).unwrap()),
        ("empty", Vec::new()),
    ];
    for (i, (name, bytes)) in cases.iter().enumerate() {
        let key = sb.path(&format!("bad{i}.key"));
        fs::write(&key, bytes).unwrap();
        let output = sb.path(&format!("out{i}"));
        let out = sb
            .cmd()
            .arg("run")
            .arg(&input)
            .arg(&output)
            .arg("--key-file")
            .arg(&key)
            .output()
            .unwrap();
        assert_code(&out, 2, name);
        let err = stderr(&out);
        assert!(err.contains("key file"), "{name}: {err}");
        assert!(!output.exists(), "{name}: OUTPUT created");
        assert!(
            !holds_key(&out.stderr) && !holds_key(&out.stdout),
            "{name}: the message quotes the key file"
        );
    }
}
