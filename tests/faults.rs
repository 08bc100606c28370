//! Faults around a run: a full disk, a read-only OUTPUT, unreadable inputs, a file deleted
//! between the walk and its read, symlink loops in INPUT, symbolic links in OUTPUT that point
//! outside it, and an input tree that must come out bit-identical (mtimes included).
//!
//! Tests that need root (mounting a tmpfs, a read-only bind mount, dropping to another user
//! so that file modes bite) skip with a message when not root or when mounting is refused.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use dicom_deid::deid::Deidentifier;
use dicom_deid::key::Key;
use dicom_deid::profile::Profile;
use dicom_deid::run::manifest::{self, Record, Status};
use dicom_deid::run::{self, Reporter, RunConfig};

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A mount made by a test, unmounted (lazily, so a busy one still goes) when dropped.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// `mount ARGS... DIR` as root, or `None` with a message saying why the test is skipped.
fn mount(test: &str, args: &[&str], dir: &Path) -> Option<Mount> {
    if !is_root() {
        eprintln!("{test}: skipped: needs root to mount");
        return None;
    }
    fs::create_dir_all(dir).unwrap();
    let status = Command::new("mount").args(args).arg(dir).status();
    if status.is_ok_and(|s| s.success()) {
        Some(Mount(dir.to_owned()))
    } else {
        eprintln!("{test}: skipped: mount {args:?} was refused");
        None
    }
}

/// Temp files a run may leave (`.dicom-deid-*.tmp`).
fn temp_files(dir: &Path) -> Vec<String> {
    regular_files(dir)
        .into_iter()
        .filter(|rel| {
            let name = rel.rsplit('/').next().unwrap();
            name.starts_with(".dicom-deid-") && name.ends_with(".tmp")
        })
        .collect()
}

fn dcm_bytes(dir: &Path) -> u64 {
    regular_files(dir)
        .iter()
        .filter(|rel| rel.ends_with(".dcm"))
        .map(|rel| fs::metadata(dir.join(rel)).unwrap().len())
        .sum()
}

/// The corpus and the test data side by side: real files, planted PHI, a few broken inputs.
fn mixed_input(sb: &Sandbox, test: &str) -> Option<PathBuf> {
    let corpus = corpus_or_skip(test)?;
    let data = testdata_or_skip(test)?;
    let input = sb.path("in");
    copy_tree(&corpus, &input.join("corpus"));
    copy_tree(&data, &input.join("pacs"));
    Some(input)
}

#[test]
fn a_full_disk_stops_the_run_and_resume_completes_it_identically() {
    const TEST: &str = "a_full_disk_stops_the_run_and_resume_completes_it_identically";
    let sb = Sandbox::new();
    let Some(input) = mixed_input(&sb, TEST) else {
        return;
    };
    let Some(planted) = planted_phi_or_skip(TEST) else {
        return;
    };
    let reference = sb.path("reference");
    assert_code(
        &sb.run(&input, &reference, &["--quiet"]),
        1,
        "reference run",
    );
    let needed = dcm_bytes(&reference);

    // A tmpfs with room for the state and about half of the outputs once a filler is in.
    let disk = sb.path("disk");
    let size = 2 * needed + (1 << 20);
    let Some(_mount) = mount(
        TEST,
        &["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"],
        &disk,
    ) else {
        return;
    };
    let filler = disk.join("filler");
    fs::write(
        &filler,
        vec![0u8; (size - needed / 2 - (256 << 10)) as usize],
    )
    .unwrap();
    let output = disk.join("out");
    let out = sb.run(&input, &output, &["--jobs", "2"]);
    assert_code(&out, 2, "a run onto a full disk");
    let err = stderr(&out);
    assert!(
        err.contains("No space left") || err.contains("storage full"),
        "the message names the cause: {err}"
    );
    let written = regular_files(&output)
        .into_iter()
        .filter(|rel| rel.ends_with(".dcm"))
        .collect::<Vec<_>>();
    assert!(
        !written.is_empty(),
        "the run wrote nothing before the disk filled"
    );
    let reference_files = tree_bytes(&reference, |rel| !rel.ends_with(".dcm"));
    for rel in &written {
        assert!(
            reference_files.get(rel) == Some(&fs::read(output.join(rel)).unwrap()),
            "{rel} is partial or wrong under its final name"
        );
    }
    let leftover = temp_files(&output);
    let mut problems = Vec::new();
    for (channel, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
        let found = planted_in(bytes, &planted);
        if !found.is_empty() {
            problems.push(format!("{channel}: {found:?}"));
        }
    }
    for (rel, bytes) in tree_bytes(&output, |rel| rel.ends_with(".dcm")) {
        let found = planted_in(&bytes, &planted);
        if !found.is_empty() {
            problems.push(format!("{rel}: {found:?}"));
        }
    }
    assert!(problems.is_empty(), "planted PHI leaked: {problems:?}");

    fs::remove_file(&filler).unwrap();
    let out = sb.run(&input, &output, &["--quiet", "--resume"]);
    assert_code(&out, 1, "the resumed run");
    assert_eq!(
        temp_files(&output),
        Vec::<String>::new(),
        "temp files remain"
    );
    let skip = |rel: &str| rel.ends_with("summary.json") || rel.ends_with("catalogue.sqlite");
    assert_eq!(
        tree_hashes(&output, skip),
        tree_hashes(&reference, skip),
        "resumed tree == uninterrupted tree"
    );
    let summary = read_json(&output.join("summary.json"));
    eprintln!(
        "full disk: {} of {} outputs landed before the stop, {} temp files left by the stopped run, {} resumed",
        written.len(),
        regular_files(&reference)
            .iter()
            .filter(|r| r.ends_with(".dcm"))
            .count(),
        leftover.len(),
        summary["resumed"]
    );
}

#[test]
fn a_read_only_output_is_refused_before_anything_is_done() {
    const TEST: &str = "a_read_only_output_is_refused_before_anything_is_done";
    let Some(data) = testdata_or_skip(TEST) else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    let output = sb.path("out");
    // As root modes do not bite: a read-only tmpfs does. Otherwise a folder without write bits.
    let _mount = if is_root() {
        let Some(m) = mount(TEST, &["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"], &output) else {
            return;
        };
        Some(m)
    } else {
        fs::create_dir(&output).unwrap();
        fs::set_permissions(&output, fs::Permissions::from_mode(0o555)).unwrap();
        None
    };
    let out = sb.run(&input, &output, &[]);
    assert_code(&out, 2, "a run into a read-only OUTPUT");
    assert!(stderr(&out).contains("OUTPUT"), "{}", stderr(&out));
    assert_eq!(
        fs::read_dir(&output).unwrap().count(),
        0,
        "OUTPUT stays empty"
    );
}

#[test]
fn unreadable_inputs_fail_alone() {
    const TEST: &str = "unreadable_inputs_fail_alone";
    let Some(data) = testdata_or_skip(TEST) else {
        return;
    };
    let root = is_root();
    if root && Command::new("setpriv").arg("--version").output().is_err() {
        eprintln!("{TEST}: skipped: as root, needs setpriv to drop to another user");
        return;
    }
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    let reference = sb.path("reference");
    assert_code(
        &sb.run(&input, &reference, &["--quiet", "--manifest-paths"]),
        1,
        "reference",
    );

    let file = "DOE_JOHN_12345/CT_20190312/SER001/IM0002";
    let folder = "MULLER_ZOE_67890/MR_20200105/S1";
    fs::set_permissions(input.join(file), fs::Permissions::from_mode(0o000)).unwrap();
    fs::set_permissions(input.join(folder), fs::Permissions::from_mode(0o000)).unwrap();
    // The sandbox must be reachable by the user the run drops to.
    let out_parent = sb.path("w");
    fs::create_dir(&out_parent).unwrap();
    for (path, mode) in [
        (sb.dir.path(), 0o755),
        (out_parent.as_path(), 0o777),
        (sb.key.as_path(), 0o644),
    ] {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }
    let bin = sb.path("dicom-deid");
    fs::copy(assert_cmd::cargo::cargo_bin("dicom-deid"), &bin).unwrap();
    let output = out_parent.join("out");
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    let out = cmd
        .arg("run")
        .arg(&input)
        .arg(&output)
        .arg("--key-file")
        .arg(&sb.key)
        .args(["--quiet", "--manifest-paths"])
        .env_remove("DICOM_DEID_KEY_FILE")
        .env("HOME", &out_parent)
        .output()
        .unwrap();
    // Let the sandbox clean itself up.
    fs::set_permissions(input.join(folder), fs::Permissions::from_mode(0o755)).unwrap();
    assert_code(&out, 1, "a run with unreadable inputs");
    let records = by_input(&read_jsonl(&output.join("manifest.jsonl")));
    let r = &records[file];
    assert_eq!(field(r, "status"), Some("failed"), "{r}");
    assert_eq!(
        field(r, "reason"),
        Some("cannot read input (permission denied)"),
        "{r}"
    );
    let r = &records[folder];
    assert_eq!(field(r, "status"), Some("failed"), "{r}");
    assert!(
        field(r, "reason").unwrap().contains("cannot read folder"),
        "{r}"
    );
    // Everything else ends as in a run that could read it all.
    let expected = by_input(&read_jsonl(&reference.join("manifest.jsonl")));
    for (rel, want) in &expected {
        if rel == file || rel.starts_with(folder) {
            continue;
        }
        assert_eq!(
            field(&records[rel.as_str()], "status"),
            field(want, "status"),
            "{rel}"
        );
    }
}

/// A reporter that deletes an input once the walk has listed it (the input with this keyed
/// id), before it is read.
struct DeleteAfterWalk {
    id: String,
    path: PathBuf,
}

impl Reporter for DeleteAfterWalk {
    fn found(&self, id: &str) {
        if id == self.id {
            fs::remove_file(&self.path).unwrap();
        }
    }

    fn file_done(&self, _record: &Record) {}
}

#[test]
fn a_file_deleted_between_walk_and_read_fails_alone() {
    let Some(data) = testdata_or_skip("a_file_deleted_between_walk_and_read_fails_alone") else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    let victim = "DOE_JOHN_12345/CT_20190312/SER001/IM0001";
    let config_for = |output| RunConfig {
        input: input.clone(),
        output,
        deidentifier: Deidentifier::new(Profile::load("basic").unwrap(), Key::from_bytes([5; 32])),
        key: Key::from_bytes([5; 32]),
        jobs: 2,
        resume: false,
        add: false,
        dry_run: false,
        shard: None,
        linkage: None,
        linkage_recipients: Vec::new(),
        triage: None,
        manifest_paths: true,
        follow_links: false,
        max_file_size: 1 << 30,
        fsync: Default::default(),
    };
    struct Quiet;
    impl Reporter for Quiet {
        fn found(&self, _id: &str) {}
        fn file_done(&self, _record: &Record) {}
    }
    run::run(&config_for(sb.path("reference")), &Quiet).unwrap();
    let reporter = DeleteAfterWalk {
        id: run::path_id(&Key::from_bytes([5; 32]), Path::new(victim)),
        path: input.join(victim),
    };
    run::run(&config_for(sb.path("out")), &reporter).unwrap();
    let read = |run: &str| manifest::read_jsonl(&sb.path(run).join("manifest.jsonl")).unwrap();
    let (outcome, reference) = (read("out"), read("reference"));
    let records: BTreeMap<_, _> = outcome
        .iter()
        .map(|r| (r.input.clone().unwrap(), r))
        .collect();
    let r = records[victim];
    assert_eq!(r.status, Status::Failed);
    assert_eq!(
        r.reason.as_deref(),
        Some("cannot read input (entity not found)")
    );
    assert_eq!(outcome.len(), reference.len());
    for (got, want) in outcome.iter().zip(&reference) {
        if got.input.as_deref() != Some(victim) {
            assert_eq!(got.status, want.status, "{:?}", got.input);
        }
    }
}

#[test]
fn symlink_loops_are_not_followed_and_the_run_completes() {
    let Some(data) = testdata_or_skip("symlink_loops_are_not_followed_and_the_run_completes")
    else {
        return;
    };
    let sb = Sandbox::new();
    let reference = sb.path("reference");
    assert_code(
        &sb.run(&data, &reference, &["--quiet", "--manifest-paths"]),
        1,
        "a run without links",
    );
    let expected = written_count(&by_input(&read_jsonl(&reference.join("manifest.jsonl"))));
    let input = sb.copy_in(&data, "in");
    symlink("..", input.join("DOE_JOHN_12345/up")).unwrap();
    symlink(".", input.join("here")).unwrap();
    symlink("self", input.join("self")).unwrap();
    symlink("b", input.join("a")).unwrap();
    symlink("a", input.join("b")).unwrap();
    let links = ["DOE_JOHN_12345/up", "here", "self", "a", "b"];

    let output = sb.path("out");
    let out = sb.run(&input, &output, &["--quiet", "--manifest-paths"]);
    assert_code(&out, 1, "a run over symlink loops");
    let records = by_input(&read_jsonl(&output.join("manifest.jsonl")));
    for link in links {
        let r = &records[link];
        assert_eq!(field(r, "status"), Some("skipped"), "{r}");
        assert_eq!(field(r, "reason"), Some("symlink not followed"), "{r}");
    }
    assert_eq!(
        written_count(&records),
        expected,
        "every real file written once"
    );

    // Followed on request, a loop is named and the run still completes.
    let output = sb.path("out-follow");
    let out = sb.run(
        &input,
        &output,
        &["--quiet", "--manifest-paths", "--follow-links"],
    );
    assert_code(&out, 1, "a run following symlink loops");
    let records = by_input(&read_jsonl(&output.join("manifest.jsonl")));
    let loops = records
        .values()
        .filter(|r| field(r, "reason") == Some("symlink loop"))
        .count();
    assert!(loops >= 2, "loops named: {records:?}");
    for link in ["self", "a", "b"] {
        assert_eq!(field(&records[link], "status"), Some("failed"), "{link}");
    }
}

fn written_count(records: &BTreeMap<String, serde_json::Value>) -> usize {
    records
        .values()
        .filter(|r| field(r, "status") == Some("written"))
        .count()
}

#[test]
fn links_in_output_are_never_written_through() {
    let Some(data) = testdata_or_skip("links_in_output_are_never_written_through") else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    let output = sb.path("out");
    assert_code(&sb.run(&input, &output, &["--quiet"]), 1, "first run");
    let reference = tree_hashes(&output, |rel| {
        rel.ends_with("summary.json") || rel.ends_with("catalogue.sqlite")
    });
    let records = read_jsonl(&output.join("manifest.jsonl"));
    let outputs: Vec<&str> = records.iter().filter_map(|r| field(r, "output")).collect();

    // Outside OUTPUT: an empty folder and a file, which must stay as they are.
    let outside = sb.path("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("keep.txt"), b"not yours\n").unwrap();
    let before = snapshot(&outside);

    // A patient folder replaced by a link to the outside folder.
    let patient = outputs[0].split('/').next().unwrap().to_owned();
    fs::rename(output.join(&patient), sb.path("moved-away")).unwrap();
    symlink(&outside, output.join(&patient)).unwrap();
    // An output file, the manifest and the journal replaced by links to the outside file.
    let other = outputs
        .iter()
        .find(|o| !o.starts_with(&format!("{patient}/")))
        .unwrap();
    fs::remove_file(output.join(other)).unwrap();
    symlink(outside.join("keep.txt"), output.join(other)).unwrap();
    fs::remove_file(output.join("manifest.jsonl")).unwrap();
    symlink(outside.join("keep.txt"), output.join("manifest.jsonl")).unwrap();
    symlink(
        outside.join("keep.txt"),
        output.join(".dicom-deid/journal.jsonl"),
    )
    .unwrap();

    let out = sb.run(&input, &output, &["--quiet", "--resume"]);
    assert_code(&out, 1, "resume over links");
    assert_eq!(snapshot(&outside), before, "nothing written outside OUTPUT");
    assert!(
        fs::symlink_metadata(output.join(&patient))
            .unwrap()
            .is_symlink(),
        "the link is left alone"
    );
    let records = read_jsonl(&output.join("manifest.jsonl"));
    let mut refused = 0;
    for r in &records {
        if field(r, "reason")
            == Some(
                "OUTPUT holds a symbolic link or a file where a folder belongs; not writing through it",
            )
        {
            refused += 1;
        }
    }
    let under_patient = outputs
        .iter()
        .filter(|o| o.starts_with(&format!("{patient}/")))
        .count();
    assert_eq!(refused, under_patient, "each file under the link fails");
    assert!(fs::symlink_metadata(output.join(other)).unwrap().is_file());
    assert_eq!(
        tree_hashes(&output, |rel| (rel.ends_with("summary.json")
            || rel.ends_with("catalogue.sqlite"))
            || rel.starts_with(&format!("{patient}/"))),
        reference
            .into_iter()
            .filter(|(rel, _)| !rel.starts_with(&format!("{patient}/"))
                && !rel.ends_with("manifest.jsonl"))
            .chain(
                ["manifest.jsonl", ".dicom-deid/runs/0001/manifest.jsonl"].map(|rel| (
                    rel.to_owned(),
                    sha256_hex(&fs::read(output.join(rel)).unwrap())
                ))
            )
            .collect(),
        "every other file is as an uninterrupted run wrote it"
    );

    // The state folder itself a link: the run is refused before writing.
    let output2 = sb.path("out2");
    assert_code(&sb.run(&input, &output2, &["--quiet"]), 1, "second tree");
    fs::remove_dir_all(output2.join(".dicom-deid")).unwrap();
    symlink(&outside, output2.join(".dicom-deid")).unwrap();
    let out = sb.run(&input, &output2, &["--quiet", "--resume"]);
    assert_code(&out, 2, "resume with the state folder a link");
    assert_eq!(snapshot(&outside), before, "nothing written outside OUTPUT");
}

/// Everything observable about a tree: per entry its kind, mode, size, mtime, content hash or
/// link target.
fn stat_tree(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        let meta = fs::symlink_metadata(entry.path()).unwrap();
        let content = if meta.is_file() {
            sha256_hex(&fs::read(entry.path()).unwrap())
        } else if meta.is_symlink() {
            fs::read_link(entry.path()).unwrap().display().to_string()
        } else {
            String::new()
        };
        out.insert(
            rel_string(entry.path().strip_prefix(dir).unwrap()),
            format!(
                "mode {:o} size {} mtime {}.{:09} ino {} {content}",
                meta.mode(),
                meta.len(),
                meta.mtime(),
                meta.mtime_nsec(),
                meta.ino()
            ),
        );
    }
    out
}

#[test]
fn the_input_tree_is_bit_identical_after_runs_including_mtimes() {
    const TEST: &str = "the_input_tree_is_bit_identical_after_runs_including_mtimes";
    let sb = Sandbox::new();
    let Some(input) = mixed_input(&sb, TEST) else {
        return;
    };
    symlink("corpus", input.join("link")).unwrap();
    // Read-only by mode, and as root also through a read-only bind mount.
    for entry in walkdir::WalkDir::new(&input).contents_first(true) {
        let entry = entry.unwrap();
        if entry.file_type().is_symlink() {
            continue;
        }
        let mode = if entry.file_type().is_dir() {
            0o555
        } else {
            0o444
        };
        fs::set_permissions(entry.path(), fs::Permissions::from_mode(mode)).unwrap();
    }
    let before = stat_tree(&input);
    let view = sb.path("in-ro");
    let read_from = if is_root() {
        let input_arg = input.to_str().unwrap();
        mount(TEST, &["--bind", input_arg], &view).filter(|_| {
            // The read-only flag takes on a remount of the bind.
            let remounted = Command::new("mount")
                .args(["-o", "remount,bind,ro"])
                .arg(&view)
                .status()
                .is_ok_and(|s| s.success());
            remounted && fs::create_dir(view.join("probe")).is_err()
        })
    } else {
        None
    };
    let source = if read_from.is_some() { &view } else { &input };
    eprintln!(
        "{TEST}: reading {}",
        if read_from.is_some() {
            "through a read-only bind mount"
        } else {
            "a tree without write bits"
        }
    );

    let output = sb.path("out");
    assert_code(&sb.run(source, &output, &["--quiet"]), 1, "run");
    assert_code(
        &sb.run(source, &output, &["--quiet", "--resume"]),
        1,
        "resume",
    );
    assert_code(
        &sb.run(source, &sb.path("out-dry"), &["--dry-run", "--json"]),
        1,
        "dry run",
    );
    assert_code(
        &sb.run(
            source,
            &sb.path("out-follow"),
            &["--quiet", "--follow-links", "--jobs", "1"],
        ),
        1,
        "following links",
    );
    drop(read_from);
    assert_eq!(stat_tree(&input), before, "INPUT changed");
    // Let the sandbox clean itself up.
    for entry in walkdir::WalkDir::new(&input) {
        let entry = entry.unwrap();
        if entry.file_type().is_dir() {
            fs::set_permissions(entry.path(), fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
}
