//! Integration tests of the commands beside `run` and `verify`: `inspect`, `profile diff`,
//! `profile schema`, `completions`, and the command-line polish (help with examples,
//! `--version`, `-v`/`-q`, NO_COLOR, messages that say what to do next).

mod common;

use std::fs;
use std::path::Path;

use common::*;

fn first_ct_input(data: &Path) -> std::path::PathBuf {
    data.join("DOE_JOHN_12345/CT_20190312/SER001/IM0001")
}

#[test]
fn inspect_refuses_a_pipe_without_force() {
    let Some(data) = testdata_or_skip("inspect_refuses_a_pipe_without_force") else {
        return;
    };
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .arg("inspect")
        .arg(first_ct_input(&data))
        .output()
        .unwrap();
    assert_code(&out, 2, "inspect into a pipe");
    assert!(out.stdout.is_empty(), "nothing is written to the pipe");
    let err = stderr(&out);
    assert!(err.contains("terminal") && err.contains("--force"), "{err}");
    let planted = planted_phi_or_skip("inspect").unwrap_or_default();
    assert!(planted_in(&out.stderr, &planted).is_empty());
}

#[test]
fn inspect_shows_every_element_its_action_layer_and_values() {
    let Some(data) = testdata_or_skip("inspect_shows_every_element_its_action_layer_and_values")
    else {
        return;
    };
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .arg("inspect")
        .arg(first_ct_input(&data))
        .args(["--profile", "ml-dataset", "--force", "--key-file"])
        .arg(&sb.key)
        .output()
        .unwrap();
    assert_code(&out, 0, "inspect --force");
    let table = stdout(&out);
    let line = |needle: &str| {
        table
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?}:\n{table}"))
            .to_owned()
    };
    assert!(table.starts_with("# "), "{table}");
    assert!(line("TAG").contains("LAYER") && line("TAG").contains("BEFORE -> AFTER"));
    // The original value and the new one, with the layer that chose the action.
    let accession = line("AccessionNumber");
    assert!(
        accession.contains("hash") && accession.contains("profile ml-dataset"),
        "{accession}"
    );
    assert!(accession.contains("ACCN190312001 -> "), "{accession}");
    let name = line("(0010,0010)");
    assert!(
        name.contains("patient-name") && name.contains("DOE^JOHN -> PAT-"),
        "{name}"
    );
    let study_date = line("StudyDate");
    assert!(
        study_date.contains("option retain-longitudinal-modified-dates"),
        "{study_date}"
    );
    // Nested elements, with their depth and item number.
    assert!(
        table
            .lines()
            .any(|l| l.starts_with(">>") && l.contains("[1]")),
        "{table}"
    );
    // Private elements and their creators, the overlay and the marks.
    assert!(line("private creator").contains("(0009,0010)") || table.contains("private creator"));
    assert!(line("OverlayComments").contains("overlay plane removed with its OverlayData"));
    assert!(line("PatientIdentityRemoved").contains("-> YES"));
}

/// On a terminal (a pseudo-terminal made by `script`), inspect writes without --force.
#[test]
fn inspect_writes_to_a_terminal() {
    let Some(data) = testdata_or_skip("inspect_writes_to_a_terminal") else {
        return;
    };
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("inspect_writes_to_a_terminal: skipped: `script` (util-linux) is absent");
        return;
    }
    let sb = Sandbox::new();
    let bin = assert_cmd::cargo::cargo_bin("dicom-deid");
    let command = format!(
        "{} inspect {} --key-file {}",
        bin.display(),
        first_ct_input(&data).display(),
        sb.key.display()
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("HOME", &sb.home)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_code(&out, 0, "inspect on a terminal");
    let text = stdout(&out);
    assert!(text.contains("AccessionNumber"), "{text}");
    assert!(!text.contains('\u{1b}'), "NO_COLOR: no escape codes");
}

#[test]
fn profile_diff_lists_the_rules_that_differ() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .args(["profile", "diff", "basic", "ml-dataset"])
        .output()
        .unwrap();
    assert_code(&out, 0, "profile diff");
    let text = stdout(&out);
    assert!(
        text.contains("- (0008,0050)\tAccessionNumber\tempty"),
        "{text}"
    );
    assert!(
        text.contains("+ (0008,0050)\tAccessionNumber\thash"),
        "{text}"
    );
    assert!(text.contains("# private: safe"), "{text}");
    let same = sb
        .cmd()
        .args(["profile", "diff", "basic", "basic"])
        .output()
        .unwrap();
    assert!(stdout(&same).contains("no differences"));
}

#[test]
fn profile_schema_prints_the_shipped_schema() {
    let sb = Sandbox::new();
    let out = sb.cmd().args(["profile", "schema"]).output().unwrap();
    assert_code(&out, 0, "profile schema");
    let shipped =
        fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/profile.schema.json"))
            .unwrap();
    assert_eq!(out.stdout, shipped);
}

#[test]
fn completions_are_generated_for_each_shell() {
    let sb = Sandbox::new();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = sb.cmd().args(["completions", shell]).output().unwrap();
        assert_code(&out, 0, shell);
        let script = stdout(&out);
        for word in ["verify", "inspect", "against", "max-file-size"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    let out = sb.cmd().args(["completions", "tcsh"]).output().unwrap();
    assert_code(&out, 2, "an unknown shell");
}

#[test]
fn every_command_has_help_with_an_example_and_a_version() {
    let sb = Sandbox::new();
    let commands: [&[&str]; 12] = [
        &[],
        &["run"],
        &["summary"],
        &["verify"],
        &["inspect"],
        &["keygen"],
        &["completions"],
        &["profile", "list"],
        &["profile", "show"],
        &["profile", "check"],
        &["profile", "diff"],
        &["profile", "schema"],
    ];
    for command in commands {
        let out = sb.cmd().args(command).arg("--help").output().unwrap();
        assert_code(&out, 0, &format!("{command:?} --help"));
        let text = stdout(&out);
        assert!(
            text.contains("Example") && text.contains("dicom-deid "),
            "{command:?} --help has no example:\n{text}"
        );
    }
    let out = sb.cmd().arg("--version").output().unwrap();
    assert_code(&out, 0, "--version");
    assert_eq!(
        stdout(&out).trim(),
        format!("dicom-deid {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn verbose_and_quiet_runs() {
    let Some(data) = testdata_or_skip("verbose_and_quiet_runs") else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    let quiet = sb.run(&input, &sb.path("q"), &["-q"]);
    assert_code(&quiet, 1, "run -q");
    assert!(quiet.stderr.is_empty(), "{}", stderr(&quiet));
    let normal = sb.run(&input, &sb.path("n"), &[]);
    let verbose = sb.run(&input, &sb.path("v"), &["-v"]);
    assert_code(&verbose, 1, "run -v");
    let lines = |o: &std::process::Output, statuses: &[&str]| {
        stderr(o)
            .lines()
            .filter(|l| statuses.iter().any(|s| l.starts_with(&format!("{s}: "))))
            .count()
    };
    let all = ["written", "skipped", "failed", "quarantined"];
    let records = read_jsonl(&sb.path("v").join("manifest.jsonl"));
    assert_eq!(lines(&verbose, &all), records.len(), "{}", stderr(&verbose));
    assert_eq!(lines(&normal, &["written", "skipped"]), 0);
    let problems = records
        .iter()
        .filter(|r| matches!(field(r, "status"), Some("failed" | "quarantined")))
        .count();
    assert_eq!(lines(&normal, &all), problems, "{}", stderr(&normal));
    // The failure message says where to look and what to do next.
    assert!(
        stderr(&normal).contains("manifest.jsonl"),
        "{}",
        stderr(&normal)
    );
    assert!(stderr(&normal).contains("--add"), "{}", stderr(&normal));
    let planted = planted_phi_or_skip("verbose_and_quiet_runs").unwrap_or_default();
    assert!(planted_in(&verbose.stderr, &planted).is_empty());
    // -v and -q exclude each other.
    let both = sb.run(&input, &sb.path("b"), &["-v", "-q"]);
    assert_code(&both, 2, "-v -q");
}

/// Colour only when asked for by a terminal (forced here with CLICOLOR_FORCE), never with
/// NO_COLOR.
#[test]
fn no_color_is_respected() {
    let Some(data) = testdata_or_skip("no_color_is_respected") else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    let output = sb.path("out");
    assert_code(&sb.run(&input, &output, &["-q"]), 1, "run");
    let leaked = output.join("stray-note.txt");
    fs::write(&leaked, "patient DOE^JOHN").unwrap();
    let run_verify = |env: &[(&str, &str)]| {
        let mut cmd = sb.cmd();
        cmd.arg("verify")
            .arg(&output)
            .arg("--against")
            .arg(&input)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let forced = run_verify(&[("CLICOLOR_FORCE", "1")]);
    assert_code(&forced, 1, "verify finds the stray note");
    assert!(
        stdout(&forced).contains("\u{1b}[31m"),
        "{}",
        stdout(&forced)
    );
    let plain = run_verify(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]);
    assert!(!stdout(&plain).contains('\u{1b}'), "{}", stdout(&plain));
    let piped = run_verify(&[]);
    assert!(!stdout(&piped).contains('\u{1b}'));
}

#[test]
fn errors_say_what_to_do_next() {
    let sb = Sandbox::new();
    let input = sb.path("in");
    fs::create_dir_all(&input).unwrap();
    let out = sb.run(&input, &input.join("out"), &[]);
    assert_code(&out, 2, "OUTPUT inside INPUT");
    assert!(stderr(&out).contains("choose"), "{}", stderr(&out));
    let out = sb
        .cmd()
        .args(["run", "in", "out", "--profile", "no-such-profile"])
        .output()
        .unwrap();
    assert_code(&out, 2, "unknown profile");
    assert!(stderr(&out).contains("profile list"), "{}", stderr(&out));
    let out = sb
        .cmd()
        .args(["run", "in", "out", "--key-file", "missing.key"])
        .output()
        .unwrap();
    assert_code(&out, 2, "missing key");
    assert!(stderr(&out).contains("keygen"), "{}", stderr(&out));
}
