//! Integration tests of `dicom-deid run`: completeness of the manifest, the de-identification
//! marks, pixel pass-through, UID consistency, PHI in every output channel, determinism,
//! sharding, resume, refusals, linkage, dry runs and the JSON summary.
//!
//! The corpus (`../shared/corpus/pydicom-3.0.2`) and the synthetic export
//! (`testdata/pacs-export`) are copied into a temp folder before use; tests that need one skip
//! with a message when it is absent.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use dicom_dictionary_std::tags;
use serde_json::Value as Json;

/// Run over a copy of `src` with `--manifest-paths` (plus `args`), returning the input copy,
/// the output folder and the manifest records.
fn run_copy(
    sb: &Sandbox,
    src: &Path,
    args: &[&str],
    expected_code: i32,
) -> (PathBuf, PathBuf, Vec<Json>) {
    let input = sb.copy_in(src, "in");
    let output = sb.path("out");
    let profile = sb.header_only_profile();
    let mut all = vec!["--manifest-paths", "--quiet"];
    if !args.contains(&"--profile") {
        all.extend(["--profile", profile.to_str().unwrap()]);
    }
    all.extend_from_slice(args);
    let out = sb.run(&input, &output, &all);
    assert_code(&out, expected_code, "run");
    let records = read_jsonl(&output.join("manifest.jsonl"));
    (input, output, records)
}

fn status(r: &Json) -> &str {
    field(r, "status").expect("records have a status")
}

fn written(records: &[Json]) -> Vec<&Json> {
    records.iter().filter(|r| status(r) == "written").collect()
}

/// The manifest names every walked file once, by id and (with --manifest-paths) by path.
fn assert_one_record_per_input(input: &Path, output: &Path, records: &[Json]) {
    let files = regular_files(input);
    assert_eq!(records.len(), files.len(), "one record per input file");
    let ids: BTreeSet<&str> = records.iter().map(|r| field(r, "id").unwrap()).collect();
    assert_eq!(ids.len(), records.len(), "ids are unique");
    let inputs: Vec<&str> = records.iter().map(|r| field(r, "input").unwrap()).collect();
    let input_set: BTreeSet<String> = inputs.iter().map(|s| s.to_string()).collect();
    assert_eq!(input_set.len(), inputs.len(), "no input listed twice");
    assert_eq!(
        input_set, files,
        "the manifest's inputs are exactly the walked files"
    );
    for r in records {
        let s = status(r);
        assert!(
            ["written", "skipped", "failed", "quarantined"].contains(&s),
            "unknown status in {r}"
        );
        if s == "written" {
            let rel = field(r, "output").expect("written records name their output");
            let sha = field(r, "sha256").expect("written records carry a hash");
            let bytes =
                fs::read(output.join(rel)).unwrap_or_else(|e| panic!("output {rel} of {r}: {e}"));
            assert_eq!(sha256_hex(&bytes), sha, "sha256 of {rel}");
            assert_eq!(r["bytes_out"].as_u64(), Some(bytes.len() as u64));
        } else {
            assert!(field(r, "reason").is_some(), "{r} has no reason");
        }
    }
}

fn record_of<'a>(records: &'a BTreeMap<String, Json>, input: &str) -> &'a Json {
    records
        .get(input)
        .unwrap_or_else(|| panic!("no record for {input}"))
}

// ---------------------------------------------------------------------------------------------
// 1. Every input exactly once; known statuses; exit codes.

#[test]
fn corpus_every_input_once_with_known_statuses() {
    let Some(corpus) = corpus_or_skip("corpus_every_input_once_with_known_statuses") else {
        return;
    };
    let sb = Sandbox::new();
    // The corpus holds truncated and broken files: the run finishes with exit code 1.
    let (input, output, records) = run_copy(&sb, &corpus, &[], 1);
    assert_one_record_per_input(&input, &output, &records);

    let map = by_input(&records);
    let readme = record_of(&map, "README.txt");
    assert_eq!(status(readme), "skipped");
    assert_eq!(field(readme, "reason"), Some("not DICOM"));
    let dicomdir = record_of(&map, "dicomdirtests/DICOMDIR");
    assert_eq!(status(dicomdir), "skipped");
    assert!(
        field(dicomdir, "reason").unwrap().contains("DICOMDIR"),
        "{dicomdir}"
    );
    assert_eq!(status(record_of(&map, "MR_truncated.dcm")), "failed");
    assert_eq!(status(record_of(&map, "rtplan_truncated.dcm")), "failed");
    for ok in [
        "CT_small.dcm",
        "MR_small.dcm",
        "MR_small_bigendian.dcm",
        "JPEG2000.dcm",
        "rtplan.dcm",
    ] {
        assert_eq!(status(record_of(&map, ok)), "written", "{ok}");
    }
    // Every failure was reported, so the exit code 1 is explained by the manifest.
    assert!(records.iter().any(|r| status(r) == "failed"));

    // The summary counts agree with the manifest.
    let summary = read_json(&output.join("summary.json"));
    assert_eq!(summary["files"].as_u64(), Some(records.len() as u64));
    for s in ["written", "skipped", "failed", "quarantined"] {
        let n = records.iter().filter(|r| status(r) == s).count() as u64;
        assert_eq!(
            summary["status"][s].as_u64().unwrap_or(0),
            n,
            "summary count of {s}"
        );
    }
}

#[test]
fn corpus_manifest_without_paths_names_inputs_by_id_only() {
    let Some(corpus) = corpus_or_skip("corpus_manifest_without_paths_names_inputs_by_id_only")
    else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&corpus, "in");
    let output = sb.path("out");
    let out = sb.run(&input, &output, &["--quiet"]);
    assert_code(&out, 1, "run");
    let records = read_jsonl(&output.join("manifest.jsonl"));
    assert_eq!(records.len(), regular_files(&input).len());
    let ids: BTreeSet<&str> = records.iter().map(|r| field(r, "id").unwrap()).collect();
    assert_eq!(ids.len(), records.len(), "ids are unique");
    for r in &records {
        assert!(
            r.get("input").is_none(),
            "input path without --manifest-paths: {r}"
        );
    }
}

#[test]
fn testdata_every_input_once_with_known_statuses() {
    let Some(data) = testdata_or_skip("testdata_every_input_once_with_known_statuses") else {
        return;
    };
    let sb = Sandbox::new();
    // IM0003 is truncated: exit code 1.
    let (input, output, records) = run_copy(&sb, &data, &[], 1);
    assert_one_record_per_input(&input, &output, &records);
    let map = by_input(&records);
    let readme = record_of(&map, "README.TXT");
    assert_eq!(status(readme), "skipped");
    assert_eq!(field(readme, "reason"), Some("not DICOM"));
    let dicomdir = record_of(&map, "DICOMDIR");
    assert_eq!(status(dicomdir), "skipped");
    assert!(field(dicomdir, "reason").unwrap().contains("DICOMDIR"));
    assert_eq!(
        status(record_of(&map, "DOE_JOHN_12345/CT_20190312/SER001/IM0003")),
        "failed"
    );
    let png = record_of(&map, "MULLER_ZOE_67890/SC_20200220/preview.dcm");
    assert_eq!(status(png), "skipped");
    assert_eq!(field(png, "reason"), Some("not DICOM"));
    let empty = record_of(&map, "YAMADA_T_24680/US_20210808/IM0002");
    assert_eq!(status(empty), "skipped", "{empty}");
    assert_eq!(field(empty, "reason"), Some("empty file"), "{empty}");
    for ok in [
        "DOE_JOHN_12345/CT_20190312/SER001/IM0001",
        "DOE_JOHN_12345/CT_20190312/SER001/IM0002",
        "DOE_JOHN_12345/CT_20190312/DOE_JOHN_report.dcm",
        "MULLER_ZOE_67890/MR_20200105/S1/MR000001",
        "MULLER_ZOE_67890/MR_20200105/S1/MR000002.dcm",
        "MULLER_ZOE_67890/SC_20200220/SC000001",
        "YAMADA_T_24680/CT_20210707/IM000001",
        "YAMADA_T_24680/CT_20210707/IM000002",
        "YAMADA_T_24680/US_20210808/山田太郎_US.dcm",
    ] {
        assert_eq!(
            status(record_of(&map, ok)),
            "written",
            "{ok}: {}",
            record_of(&map, ok)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. De-identification marks.

fn assert_deid_marks(path: &Path) {
    let obj = dicom_object::open_file(path)
        .unwrap_or_else(|e| panic!("output {} does not re-parse: {e}", path.display()));
    let meta = obj.meta().clone();
    let ds = obj.into_inner();
    assert_eq!(
        str_value(&ds, tags::PATIENT_IDENTITY_REMOVED).as_deref(),
        Some("YES"),
        "{}",
        path.display()
    );
    let seq = ds
        .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .unwrap_or_else(|| panic!("{}: no DeidentificationMethodCodeSequence", path.display()));
    let codes: Vec<String> = seq
        .items()
        .expect("a sequence")
        .iter()
        .filter_map(|item| str_value(item, tags::CODE_VALUE))
        .collect();
    assert!(
        codes.iter().any(|c| c == "113100"),
        "{}: codes {codes:?}",
        path.display()
    );
    let sop = str_value(&ds, tags::SOP_INSTANCE_UID).expect("SOPInstanceUID");
    assert_eq!(
        trim_uid(&meta.media_storage_sop_instance_uid),
        sop,
        "{}",
        path.display()
    );
    for (name, value) in [
        (
            "SendingApplicationEntityTitle",
            &meta.sending_application_entity_title,
        ),
        (
            "ReceivingApplicationEntityTitle",
            &meta.receiving_application_entity_title,
        ),
        (
            "PrivateInformationCreatorUID",
            &meta.private_information_creator_uid,
        ),
    ] {
        assert!(
            value.is_none(),
            "{}: meta keeps {name} {value:?}",
            path.display()
        );
    }
    assert!(
        meta.private_information.is_none(),
        "{}: meta keeps PrivateInformation",
        path.display()
    );
    assert!(
        meta.source_application_entity_title.is_none(),
        "{}: meta keeps SourceApplicationEntityTitle {:?}",
        path.display(),
        meta.source_application_entity_title
    );
}

#[test]
fn corpus_outputs_reparse_with_deidentification_marks() {
    let Some(corpus) = corpus_or_skip("corpus_outputs_reparse_with_deidentification_marks") else {
        return;
    };
    let sb = Sandbox::new();
    let (_input, output, records) = run_copy(&sb, &corpus, &[], 1);
    let written = written(&records);
    assert!(written.len() > 100, "most of the corpus is written");
    for r in written {
        assert_deid_marks(&output.join(field(r, "output").unwrap()));
    }
    // Every .dcm in the tree belongs to a written record.
    let outputs: BTreeSet<String> = records
        .iter()
        .filter(|r| status(r) == "written")
        .map(|r| field(r, "output").unwrap().to_owned())
        .collect();
    let tree: BTreeSet<String> = dcm_tree(&output).into_keys().collect();
    assert_eq!(tree, outputs, "the tree holds exactly the written outputs");
}

#[test]
fn testdata_outputs_reparse_with_deidentification_marks() {
    let Some(data) = testdata_or_skip("testdata_outputs_reparse_with_deidentification_marks")
    else {
        return;
    };
    let sb = Sandbox::new();
    let (_input, output, records) = run_copy(&sb, &data, &[], 1);
    for r in written(&records) {
        assert_deid_marks(&output.join(field(r, "output").unwrap()));
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Pixel data and transfer syntax pass through.

fn assert_pixels_pass_through(input: &Path, output: &Path, records: &[Json]) -> usize {
    let mut compared = 0;
    for r in written(records) {
        let rel_in = field(r, "input").unwrap();
        let rel_out = field(r, "output").unwrap();
        let ts = field(r, "transfer_syntax").expect("written records name their transfer syntax");
        let src = open_dicom(&input.join(rel_in), Some(ts))
            .unwrap_or_else(|e| panic!("input {rel_in} does not open: {e}"));
        let dst = open_dicom(&output.join(rel_out), None)
            .unwrap_or_else(|e| panic!("output of {rel_in} does not open: {e}"));
        assert!(
            dst.meta.is_some(),
            "output of {rel_in} has a file meta group"
        );
        assert_eq!(
            dst.transfer_syntax, ts,
            "{rel_in}: manifest vs output transfer syntax"
        );
        if src.meta.is_some() {
            assert_eq!(
                dst.transfer_syntax, src.transfer_syntax,
                "{rel_in}: transfer syntax changed"
            );
        }
        if r["pixel_regions_masked"].as_u64().unwrap_or(0) > 0 {
            continue;
        }
        let before = pixel_parts(&src.object);
        let after = pixel_parts(&dst.object);
        assert_eq!(
            before.is_some(),
            after.is_some(),
            "{rel_in}: PixelData presence changed"
        );
        if let (Some(before), Some(after)) = (before, after) {
            assert_eq!(
                before.len(),
                after.len(),
                "{rel_in}: fragment count changed"
            );
            for (i, (a, b)) in before.iter().zip(&after).enumerate() {
                assert!(
                    a == b,
                    "{rel_in}: pixel data part {i} differs ({} vs {} bytes)",
                    a.len(),
                    b.len()
                );
            }
            compared += 1;
        }
    }
    compared
}

#[test]
fn corpus_pixel_data_and_transfer_syntax_pass_through() {
    let Some(corpus) = corpus_or_skip("corpus_pixel_data_and_transfer_syntax_pass_through") else {
        return;
    };
    let sb = Sandbox::new();
    let (input, output, records) = run_copy(&sb, &corpus, &[], 1);
    let compared = assert_pixels_pass_through(&input, &output, &records);
    assert!(
        compared >= 90,
        "pixel data compared in {compared} files only"
    );
}

#[test]
fn testdata_pixel_data_and_transfer_syntax_pass_through() {
    let Some(data) = testdata_or_skip("testdata_pixel_data_and_transfer_syntax_pass_through")
    else {
        return;
    };
    let sb = Sandbox::new();
    let (input, output, records) = run_copy(&sb, &data, &[], 1);
    let compared = assert_pixels_pass_through(&input, &output, &records);
    assert!(
        compared >= 8,
        "pixel data compared in {compared} files only"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. UIDs stay consistent across files.

fn assert_uids_consistent(input: &Path, output: &Path, records: &[Json]) {
    let shared = [
        ("StudyInstanceUID", tags::STUDY_INSTANCE_UID),
        ("SeriesInstanceUID", tags::SERIES_INSTANCE_UID),
        ("FrameOfReferenceUID", tags::FRAME_OF_REFERENCE_UID),
        ("SOPInstanceUID", tags::SOP_INSTANCE_UID),
    ];
    // attribute -> input uid -> output uids, and the reverse.
    let mut forward: BTreeMap<&str, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut backward: BTreeMap<&str, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut uses: BTreeMap<(&str, String), usize> = BTreeMap::new();
    let mut input_uids = BTreeSet::new();
    let mut output_uids: Vec<(String, dicom_core::Tag, String)> = Vec::new();
    for r in written(records) {
        let rel_in = field(r, "input").unwrap();
        let ts = field(r, "transfer_syntax").unwrap();
        let src = open_dicom(&input.join(rel_in), Some(ts)).unwrap();
        let dst = open_dicom(&output.join(field(r, "output").unwrap()), None).unwrap();
        for (name, tag) in shared {
            let old = str_value(&src.object, tag).filter(|s| !s.is_empty());
            let new = str_value(&dst.object, tag).filter(|s| !s.is_empty());
            if let (Some(old), Some(new)) = (old, new) {
                *uses.entry((name, old.clone())).or_default() += 1;
                forward
                    .entry(name)
                    .or_default()
                    .entry(old.clone())
                    .or_default()
                    .insert(new.clone());
                backward
                    .entry(name)
                    .or_default()
                    .entry(new)
                    .or_default()
                    .insert(old);
            }
        }
        let mut uids = Vec::new();
        all_uids(&src.object, &mut uids);
        if let Some(meta) = &src.meta {
            input_uids.insert(trim_uid(&meta.media_storage_sop_instance_uid).to_owned());
        }
        input_uids.extend(uids.into_iter().map(|(_, u)| u));
        let mut uids = Vec::new();
        all_uids(&dst.object, &mut uids);
        let meta = dst.meta.as_ref().unwrap();
        uids.push((
            tags::MEDIA_STORAGE_SOP_INSTANCE_UID,
            trim_uid(&meta.media_storage_sop_instance_uid).to_owned(),
        ));
        output_uids.extend(uids.into_iter().map(|(t, u)| (rel_in.to_owned(), t, u)));
    }
    for (name, map) in &forward {
        for (old, news) in map {
            assert_eq!(news.len(), 1, "{name} {old} became several UIDs: {news:?}");
        }
        for (new, olds) in &backward[name] {
            assert_eq!(
                olds.len(),
                1,
                "{name} {new} stands for several input UIDs: {olds:?}"
            );
        }
    }
    // The check means something: some study, series or frame of reference spans files.
    let shared_count = uses.values().filter(|&&n| n > 1).count();
    assert!(shared_count > 0, "no UID is shared by several inputs");
    let mut problems = Vec::new();
    for (file, tag, uid) in &output_uids {
        if uid.starts_with("1.2.840.10008.") {
            continue;
        }
        if input_uids.contains(uid) {
            problems.push(format!("{file}: {tag} keeps input UID {uid}"));
        } else if !uid.starts_with("2.25.") {
            problems.push(format!("{file}: {tag} = {uid} is not under 2.25"));
        } else if uid.len() > 64 {
            problems.push(format!(
                "{file}: {tag} = {uid} is longer than 64 characters"
            ));
        } else if !is_uuid_v8_decimal(&uid["2.25.".len()..]) {
            problems.push(format!(
                "{file}: {tag} = {uid} lacks the UUID version 8 / variant bits"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{} UID problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A `2.25` suffix: the decimal of a 128-bit UUID with version 8 and the RFC 4122 variant.
fn is_uuid_v8_decimal(digits: &str) -> bool {
    let Ok(value) = digits.parse::<u128>() else {
        return false;
    };
    let canonical = value.to_string() == digits;
    canonical && (value >> 76) & 0xF == 8 && (value >> 62) & 0b11 == 0b10
}

#[test]
fn corpus_uids_remapped_consistently() {
    let Some(corpus) = corpus_or_skip("corpus_uids_remapped_consistently") else {
        return;
    };
    let sb = Sandbox::new();
    let (input, output, records) = run_copy(&sb, &corpus, &[], 1);
    assert_uids_consistent(&input, &output, &records);
}

#[test]
fn testdata_uids_remapped_consistently() {
    let Some(data) = testdata_or_skip("testdata_uids_remapped_consistently") else {
        return;
    };
    let sb = Sandbox::new();
    let (input, output, records) = run_copy(&sb, &data, &[], 1);
    assert_uids_consistent(&input, &output, &records);
    // The files of a series share their FrameOfReferenceUID in the input: still so.
    let mut for_by_series: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in written(&records) {
        let dst = open_dicom(&output.join(field(r, "output").unwrap()), None).unwrap();
        if let (Some(series), Some(f)) = (
            str_value(&dst.object, tags::SERIES_INSTANCE_UID),
            str_value(&dst.object, tags::FRAME_OF_REFERENCE_UID),
        ) {
            for_by_series.entry(series).or_default().insert(f);
        }
    }
    for (series, fors) in for_by_series {
        assert_eq!(
            fors.len(),
            1,
            "series {series} has frames of reference {fors:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 5. No planted PHI in any channel.

fn assert_no_planted(channel: &str, bytes: &[u8], planted: &[String], problems: &mut Vec<String>) {
    let found = planted_in(bytes, planted);
    if !found.is_empty() {
        problems.push(format!("{channel}: {found:?}"));
    }
}

#[test]
fn no_planted_phi_in_messages_manifest_or_summary() {
    let Some(data) = testdata_or_skip("no_planted_phi_in_messages_manifest_or_summary") else {
        return;
    };
    let Some(planted) = planted_phi_or_skip("no_planted_phi_in_messages_manifest_or_summary")
    else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    let mut problems = Vec::new();
    let variants: [(&str, &[&str]); 5] = [
        ("default", &[]),
        ("quiet", &["--quiet"]),
        ("json", &["--json"]),
        ("dry-run", &["--dry-run"]),
        ("dry-run-json", &["--dry-run", "--json"]),
    ];
    for (name, args) in variants {
        let output = sb.path(&format!("out-{name}"));
        let out = sb.run(&input, &output, args);
        assert_code(&out, 1, name);
        assert_no_planted(
            &format!("{name}: stdout"),
            &out.stdout,
            &planted,
            &mut problems,
        );
        assert_no_planted(
            &format!("{name}: stderr"),
            &out.stderr,
            &planted,
            &mut problems,
        );
        if args.contains(&"--dry-run") {
            assert!(!output.exists(), "{name}: a dry run created OUTPUT");
            continue;
        }
        // Everything in OUTPUT but the de-identified files: manifest, summary, state folder.
        for (rel, bytes) in tree_bytes(&output, |rel| rel.ends_with(".dcm")) {
            assert_no_planted(&format!("{name}: {rel}"), &bytes, &planted, &mut problems);
        }
        // The output paths themselves.
        for rel in regular_files(&output) {
            assert_no_planted(
                &format!("{name}: path {rel}"),
                rel.as_bytes(),
                &planted,
                &mut problems,
            );
        }
    }
    assert!(
        problems.is_empty(),
        "planted values leaked:\n{}",
        problems.join("\n")
    );

    // The check has teeth: with --manifest-paths the manifest names the input paths, which
    // hold patient names.
    let output = sb.path("out-paths");
    assert_code(
        &sb.run(&input, &output, &["--quiet", "--manifest-paths"]),
        1,
        "--manifest-paths",
    );
    let manifest = fs::read(output.join("manifest.jsonl")).unwrap();
    assert!(
        !planted_in(&manifest, &planted).is_empty(),
        "the search finds nothing at all"
    );
}

#[test]
fn no_planted_phi_in_written_files() {
    let Some(data) = testdata_or_skip("no_planted_phi_in_written_files") else {
        return;
    };
    let Some(planted) = planted_phi_or_skip("no_planted_phi_in_written_files") else {
        return;
    };
    let sb = Sandbox::new();
    let (input, output, records) = run_copy(&sb, &data, &[], 1);
    // The search has teeth: it finds most planted values in the inputs.
    let mut in_inputs = BTreeSet::new();
    for rel in regular_files(&input) {
        in_inputs.extend(planted_in(&searchable_bytes(&input.join(&rel)), &planted));
        in_inputs.extend(planted_in(rel.as_bytes(), &planted));
    }
    assert!(
        in_inputs.len() * 4 >= planted.len() * 3,
        "only {} of {} planted values found in the inputs",
        in_inputs.len(),
        planted.len()
    );
    let mut problems = Vec::new();
    for r in written(&records) {
        let rel = field(r, "output").unwrap();
        let bytes = searchable_bytes(&output.join(rel));
        let found = planted_in(&bytes, &planted);
        if !found.is_empty() {
            problems.push(format!(
                "{} -> {rel}: {found:?}",
                field(r, "input").unwrap()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "planted values survive in outputs:\n{}",
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Determinism: thread count and sharding.

#[test]
fn jobs_1_and_4_give_identical_trees() {
    let Some(corpus) = corpus_or_skip("jobs_1_and_4_give_identical_trees") else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&corpus, "in");
    let mut trees = Vec::new();
    for jobs in ["1", "4"] {
        let output = sb.path(&format!("out-{jobs}"));
        let out = sb.run(&input, &output, &["--quiet", "--jobs", jobs]);
        assert_code(&out, 1, &format!("--jobs {jobs}"));
        trees.push(tree_bytes(&output, |rel| {
            rel.ends_with("summary.json") || rel.ends_with("catalogue.sqlite")
        }));
    }
    assert!(trees[0].contains_key("manifest.jsonl"));
    let names: Vec<BTreeSet<&String>> = trees.iter().map(|t| t.keys().collect()).collect();
    assert_eq!(names[0], names[1], "the same files");
    for (rel, bytes) in &trees[0] {
        assert!(
            bytes == &trees[1][rel],
            "{rel} differs between --jobs 1 and --jobs 4"
        );
    }
}

/// Three shards run one after another into one OUTPUT give the single run's files, and their
/// manifests together give the single run's records.
/// A duplicate is only recognised within one run: across shards both copies are written.
fn dup_across_shards_status(single: &Json, shard: &Json) -> bool {
    field(single, "reason") == Some("duplicate") && status(shard) == "written"
}

fn assert_shards_match_single_run(src: &Path, expected_code: i32) {
    let sb = Sandbox::new();
    let input = sb.copy_in(src, "in");
    let single = sb.path("single");
    let out = sb.run(&input, &single, &["--quiet"]);
    assert_code(&out, expected_code, "single run");
    let single_records = by_id(&read_jsonl(&single.join("manifest.jsonl")));

    let sharded = sb.path("sharded");
    let mut shard_records: BTreeMap<String, Json> = BTreeMap::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let out = sb.run(&input, &sharded, &["--quiet", "--shard", &shard]);
        assert_ne!(
            code(&out),
            2,
            "shard {shard} into a folder holding other shards was refused: {}",
            stderr(&out)
        );
        assert!(
            !sharded.join("manifest.jsonl").exists(),
            "a shard wrote the unsharded manifest"
        );
        let records = read_jsonl(&sharded.join(format!("manifest-{k}-of-3.jsonl")));
        let summary = read_json(&sharded.join(format!("summary-{k}-of-3.json")));
        assert_eq!(summary["shard"].as_str(), Some(shard.as_str()));
        assert_eq!(summary["files"].as_u64(), Some(records.len() as u64));
        let has = |s: &str| records.iter().any(|r| status(r) == s);
        let want = if has("failed") {
            1
        } else if has("quarantined") {
            3
        } else {
            0
        };
        assert_eq!(code(&out), want, "shard {shard} exit code");
        for r in records {
            let id = field(&r, "id").unwrap().to_owned();
            assert!(
                shard_records.insert(id.clone(), r).is_none(),
                "{id} in two shards"
            );
        }
    }
    assert_eq!(
        shard_records.keys().collect::<BTreeSet<_>>(),
        single_records.keys().collect::<BTreeSet<_>>(),
        "the shards together hold every input once"
    );
    // Every written record of every shard still describes the file on disk.
    for r in shard_records.values().filter(|r| status(r) == "written") {
        let rel = field(r, "output").unwrap();
        let on_disk = fs::read(sharded.join(rel)).map(|b| sha256_hex(&b)).ok();
        assert_eq!(
            on_disk.as_deref(),
            field(r, "sha256"),
            "{rel} was overwritten by another shard"
        );
    }
    for (id, single) in &single_records {
        let shard = &shard_records[id];
        if shard == single {
            continue;
        }
        // A duplicate can only be recognised within one run: when the two copies fall in
        // different shards, both shards write the same bytes to the same path.
        let dup_across_shards = field(single, "reason") == Some("duplicate")
            && status(shard) == "written"
            && field(shard, "output") == field(single, "output")
            && field(shard, "sha256") == field(single, "sha256");
        // Colliding inputs of different content in different shards may trade the plain and
        // the alternate name: the same bytes under the other of the two names.
        let strip = |r: &Json| {
            let out = field(r, "output").unwrap_or("");
            let base = out.strip_suffix(".dcm").unwrap_or(out);
            base.rsplit_once('_').map_or(base, |(b, _)| b).to_owned()
        };
        let names_traded = (status(shard) == status(single)
            || dup_across_shards_status(single, shard))
            && field(shard, "sha256") == field(single, "sha256")
            && strip(shard) == strip(single);
        assert!(
            dup_across_shards || names_traded,
            "record {id} differs:\nsingle: {single}\nshard:  {shard}"
        );
    }
    // Colliding inputs with different content may trade the plain and the alternate name
    // between shards (which writes first decides); the files themselves are the same.
    let contents = |dir: &Path| {
        let mut hashes: Vec<String> = dcm_tree(dir).into_values().collect();
        hashes.sort();
        hashes
    };
    assert_eq!(
        contents(&sharded),
        contents(&single),
        "the shards' files are the single run's files"
    );
}

#[test]
fn corpus_shards_together_give_the_single_run() {
    let Some(corpus) = corpus_or_skip("corpus_shards_together_give_the_single_run") else {
        return;
    };
    assert_shards_match_single_run(&corpus, 1);
}

#[test]
fn testdata_shards_together_give_the_single_run() {
    let Some(data) = testdata_or_skip("testdata_shards_together_give_the_single_run") else {
        return;
    };
    assert_shards_match_single_run(&data, 1);
}

// ---------------------------------------------------------------------------------------------
// 7. Resume.

fn no_temp_files(dir: &Path) -> Vec<String> {
    regular_files(dir)
        .into_iter()
        .filter(|rel| rel.ends_with(".tmp"))
        .collect()
}

#[test]
fn resume_after_a_simulated_crash_gives_the_reference_tree() {
    let Some(corpus) = corpus_or_skip("resume_after_a_simulated_crash_gives_the_reference_tree")
    else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&corpus, "in");
    let reference = sb.path("reference");
    assert_code(
        &sb.run(&input, &reference, &["--quiet"]),
        1,
        "reference run",
    );
    let ref_manifest = fs::read_to_string(reference.join("manifest.jsonl")).unwrap();
    let ref_records = parse_jsonl(&ref_manifest);

    let output = sb.path("out");
    assert_code(&sb.run(&input, &output, &["--quiet"]), 1, "first run");
    // Make it look killed: some outputs gone, no manifest or summary, a stale temp file, and a
    // journal holding the first half of the records and a torn line.
    let mut deleted = BTreeSet::new();
    for (i, r) in ref_records.iter().enumerate() {
        if status(r) == "written" && i % 3 == 0 {
            let rel = field(r, "output").unwrap();
            if deleted.insert(rel.to_owned()) {
                fs::remove_file(output.join(rel)).unwrap();
            }
        }
    }
    fs::remove_file(output.join("manifest.jsonl")).unwrap();
    fs::remove_file(output.join("summary.json")).unwrap();
    assert!(
        output.join(".dicom-deid").is_dir(),
        "the state folder exists after a run"
    );
    let some_output = ref_records
        .iter()
        .filter(|r| status(r) == "written")
        .map(|r| field(r, "output").unwrap())
        .find(|rel| !deleted.contains(*rel))
        .unwrap();
    let series_dir = output.join(some_output).parent().unwrap().to_path_buf();
    fs::write(series_dir.join(".dicom-deid-stale0001.tmp"), b"half a file").unwrap();
    let lines: Vec<&str> = ref_manifest.lines().collect();
    let half = lines.len() / 2;
    let mut journal = lines[..half].join("\n");
    journal.push('\n');
    journal.push_str(&lines[half][..lines[half].len() / 2]);
    fs::write(output.join(".dicom-deid/journal.jsonl"), journal).unwrap();

    let out = sb.run(&input, &output, &["--quiet", "--resume", "--json"]);
    assert_code(&out, 1, "resumed run");
    assert_eq!(
        no_temp_files(&output),
        Vec::<String>::new(),
        "temp files remain"
    );
    let expected_resumed = ref_records[..half]
        .iter()
        .filter(|r| status(r) == "written" && !deleted.contains(field(r, "output").unwrap()))
        .count() as u64;
    assert!(expected_resumed > 0);
    let summary = read_json(&output.join("summary.json"));
    assert_eq!(
        summary["resumed"].as_u64(),
        Some(expected_resumed),
        "summary.json resumed"
    );
    let stdout_summary: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(stdout_summary["resumed"].as_u64(), Some(expected_resumed));
    let skip = |rel: &str| rel.ends_with("summary.json") || rel.ends_with("catalogue.sqlite");
    assert_eq!(
        tree_hashes(&output, skip),
        tree_hashes(&reference, skip),
        "resumed tree == reference"
    );
}

/// Poll until `dir` holds at least `n` `.dcm` files, or the child exits, or a long deadline.
fn wait_for_outputs(child: &mut std::process::Child, dir: &Path, n: usize) -> bool {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        let count = walkdir::WalkDir::new(dir)
            .into_iter()
            .flatten()
            .filter(|e| {
                e.file_type().is_file() && e.file_name().to_string_lossy().ends_with(".dcm")
            })
            .count();
        if count >= n {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    false
}

#[test]
fn resume_after_a_real_kill_gives_the_reference_tree() {
    let Some(corpus) = corpus_or_skip("resume_after_a_real_kill_gives_the_reference_tree") else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.path("in");
    for i in 0..5 {
        copy_tree(&corpus, &input.join(format!("copy{i:02}")));
    }
    let reference = sb.path("reference");
    assert_code(
        &sb.run(&input, &reference, &["--quiet"]),
        1,
        "reference run",
    );

    let output = sb.path("out");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("dicom-deid"))
        .arg("run")
        .arg(&input)
        .arg(&output)
        .arg("--key-file")
        .arg(&sb.key)
        .args(["--quiet", "--jobs", "1"])
        .env_remove("DICOM_DEID_KEY_FILE")
        .env("HOME", &sb.home)
        .env("XDG_CONFIG_HOME", sb.home.join(".config"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let interrupted = wait_for_outputs(&mut child, &output, 20);
    child.kill().unwrap();
    let _ = child.wait();
    if !interrupted {
        eprintln!("note: the run finished before it could be killed; resuming a finished run");
    }

    let out = sb.run(&input, &output, &["--quiet", "--resume"]);
    assert_code(&out, 1, "resumed run");
    assert_eq!(
        no_temp_files(&output),
        Vec::<String>::new(),
        "temp files remain"
    );
    let summary = read_json(&output.join("summary.json"));
    if interrupted {
        assert!(
            summary["resumed"].as_u64().unwrap() > 0,
            "nothing resumed: {summary}"
        );
    }
    let skip = |rel: &str| rel.ends_with("summary.json") || rel.ends_with("catalogue.sqlite");
    let got = tree_hashes(&output, skip);
    let want = tree_hashes(&reference, skip);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    assert_eq!(got, want, "resumed tree == reference");
}

// ---------------------------------------------------------------------------------------------
// 8. Refusals: exit 2, OUTPUT neither created nor changed.

/// A small INPUT that needs no corpus: a text file and a sub-folder.
fn small_input(sb: &Sandbox) -> PathBuf {
    let input = sb.path("in");
    fs::create_dir_all(input.join("sub")).unwrap();
    fs::write(input.join("notes.txt"), b"not a DICOM file\n").unwrap();
    fs::write(input.join("sub/other.bin"), [0u8; 300]).unwrap();
    input
}

fn assert_refused(sb: &Sandbox, input: &Path, output: &Path, args: &[&str], what: &str) {
    let before_out = snapshot(output);
    let before_in = snapshot(input);
    let out = sb.run(input, output, args);
    assert_code(&out, 2, what);
    assert!(!stderr(&out).trim().is_empty(), "{what}: no message");
    assert_eq!(
        snapshot(output),
        before_out,
        "{what}: OUTPUT was created or changed"
    );
    assert_eq!(snapshot(input), before_in, "{what}: INPUT changed");
    // Never falls back to a per-user key.
    assert!(
        regular_files(&sb.home).is_empty(),
        "{what}: files appeared in HOME"
    );
}

#[test]
fn refuses_output_inside_input() {
    let sb = Sandbox::new();
    let input = small_input(&sb);
    assert_refused(&sb, &input, &input.join("out"), &[], "OUTPUT inside INPUT");
    assert_refused(
        &sb,
        &input,
        &input.join("sub/deeper/out"),
        &[],
        "OUTPUT deep inside INPUT",
    );
}

#[test]
fn refuses_output_equal_to_input() {
    let sb = Sandbox::new();
    let input = small_input(&sb);
    assert_refused(&sb, &input, &input, &[], "OUTPUT == INPUT");
    assert_refused(
        &sb,
        &input,
        &input.join("sub/.."),
        &[],
        "OUTPUT == INPUT spelled differently",
    );
}

#[test]
fn refuses_input_inside_output() {
    let sb = Sandbox::new();
    let parent = sb.path("parent");
    fs::create_dir_all(&parent).unwrap();
    let input = parent.join("in");
    fs::create_dir_all(&input).unwrap();
    fs::write(input.join("notes.txt"), b"text").unwrap();
    assert_refused(&sb, &input, &parent, &[], "INPUT inside OUTPUT");
}

#[test]
fn refuses_linkage_inside_output_or_input() {
    let sb = Sandbox::new();
    let input = small_input(&sb);
    let output = sb.path("out");
    let linkage = output.join("links");
    let linkage = linkage.to_str().unwrap();
    assert_refused(
        &sb,
        &input,
        &output,
        &["--linkage", linkage],
        "--linkage inside OUTPUT",
    );
    let inside_input = input.join("links");
    let inside_input = inside_input.to_str().unwrap().to_owned();
    assert_refused(
        &sb,
        &input,
        &output,
        &["--linkage", &inside_input],
        "--linkage inside INPUT",
    );
    assert!(!input.join("links").exists());
}

#[test]
fn refuses_a_malformed_or_missing_key() {
    let mut sb = Sandbox::new();
    let input = small_input(&sb);
    let output = sb.path("out");
    for (name, text) in [
        ("short", format!("{}\n", &KEY_A[..63])),
        ("not-hex", format!("{}\n", "zz".repeat(32))),
        ("two-lines", format!("{KEY_A}\n{KEY_A}\n")),
        ("empty", String::new()),
    ] {
        let path = sb.path(&format!("bad-key-{name}"));
        fs::write(&path, text).unwrap();
        sb.key = path;
        assert_refused(
            &sb,
            &input,
            &output,
            &[],
            &format!("malformed key ({name})"),
        );
    }
    sb.key = sb.path("no-such-key");
    assert_refused(&sb, &input, &output, &[], "missing key file");
    assert!(!sb.key.exists(), "a missing --key-file is not created");
}

#[test]
fn refuses_an_unknown_profile() {
    let sb = Sandbox::new();
    let input = small_input(&sb);
    let output = sb.path("out");
    assert_refused(
        &sb,
        &input,
        &output,
        &["--profile", "no-such-profile"],
        "unknown profile",
    );
}

#[test]
fn refuses_a_non_empty_output_without_resume() {
    let sb = Sandbox::new();
    let input = small_input(&sb);
    let stray = sb.path("stray");
    fs::create_dir_all(&stray).unwrap();
    fs::write(stray.join("someone-elses.txt"), b"keep me").unwrap();
    assert_refused(&sb, &input, &stray, &[], "foreign non-empty OUTPUT");
    assert_refused(
        &sb,
        &input,
        &stray,
        &["--resume"],
        "foreign non-empty OUTPUT with --resume",
    );

    let output = sb.path("out");
    assert_code(&sb.run(&input, &output, &["--quiet"]), 0, "first run");
    assert_refused(&sb, &input, &output, &[], "earlier run without --resume");
}

#[test]
fn refuses_resume_with_another_key() {
    let mut sb = Sandbox::new();
    let input = small_input(&sb);
    let output = sb.path("out");
    assert_code(&sb.run(&input, &output, &["--quiet"]), 0, "first run");
    let other = sb.path("key-b.hex");
    fs::write(&other, format!("{KEY_B}\n")).unwrap();
    sb.key = other;
    assert_refused(
        &sb,
        &input,
        &output,
        &["--resume"],
        "--resume with another key",
    );
}

// ---------------------------------------------------------------------------------------------
// 9. Linkage tables.

fn read_linkage(path: &Path) -> BTreeSet<(String, String)> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        text.lines().next(),
        Some("id_old,id_new"),
        "{} header",
        path.display()
    );
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (r[0].to_owned(), r[1].to_owned())
        })
        .collect()
}

#[test]
fn linkage_tables_match_the_outputs() {
    let Some(corpus) = corpus_or_skip("linkage_tables_match_the_outputs") else {
        return;
    };
    let sb = Sandbox::new();
    let links = sb.path("links");
    let (input, output, records) =
        run_copy(&sb, &corpus, &["--linkage", links.to_str().unwrap()], 1);
    let kinds = [
        ("patient_id.csv", tags::PATIENT_ID),
        ("study_instance_uid.csv", tags::STUDY_INSTANCE_UID),
        ("series_instance_uid.csv", tags::SERIES_INSTANCE_UID),
        ("sop_instance_uid.csv", tags::SOP_INSTANCE_UID),
    ];
    let tables: Vec<BTreeSet<(String, String)>> = kinds
        .iter()
        .map(|(name, _)| read_linkage(&links.join(name)))
        .collect();
    let mut new_values: Vec<BTreeSet<String>> = vec![BTreeSet::new(); kinds.len()];
    for r in written(&records) {
        let rel_in = field(r, "input").unwrap();
        let src = open_dicom(&input.join(rel_in), field(r, "transfer_syntax")).unwrap();
        let dst = open_dicom(&output.join(field(r, "output").unwrap()), None).unwrap();
        for (i, (name, tag)) in kinds.iter().enumerate() {
            let mut old = str_value(&src.object, *tag).unwrap_or_default();
            if *tag == tags::SOP_INSTANCE_UID && old.is_empty() {
                old =
                    trim_uid(&src.meta.as_ref().unwrap().media_storage_sop_instance_uid).to_owned();
            }
            let new = str_value(&dst.object, *tag).unwrap_or_default();
            if *tag != tags::PATIENT_ID || !old.is_empty() {
                assert!(
                    tables[i].contains(&(old.clone(), new.clone())),
                    "{name}: no row ({old}, {new}) for {rel_in}"
                );
            }
            new_values[i].insert(new);
        }
    }
    for (i, (name, _)) in kinds.iter().enumerate() {
        let listed: BTreeSet<String> = tables[i].iter().map(|(_, new)| new.clone()).collect();
        let stray: Vec<&String> = listed.difference(&new_values[i]).collect();
        assert!(
            stray.is_empty(),
            "{name}: new ids no output holds: {stray:?}"
        );
    }
}

#[test]
fn a_resumed_run_writes_the_linkage_of_reused_files_too() {
    let Some(data) = testdata_or_skip("a_resumed_run_writes_the_linkage_of_reused_files_too")
    else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    let run = |output: &Path, links: &Path, extra: &[&str]| {
        let mut args = vec!["--quiet", "--linkage", links.to_str().unwrap()];
        args.extend_from_slice(extra);
        sb.run(&input, output, &args)
    };
    let (reference, reference_links) = (sb.path("reference"), sb.path("reference-links"));
    assert_code(&run(&reference, &reference_links, &[]), 1, "reference run");

    // A run killed after half its files: their records in the journal, no manifest.
    let (output, links) = (sb.path("out"), sb.path("links"));
    assert_code(&run(&output, &links, &[]), 1, "first run");
    let manifest = fs::read_to_string(output.join("manifest.jsonl")).unwrap();
    let lines: Vec<&str> = manifest.lines().collect();
    let mut journal = lines[..lines.len() / 2].join("\n");
    journal.push('\n');
    fs::write(output.join(".dicom-deid/journal.jsonl"), journal).unwrap();
    fs::remove_file(output.join("manifest.jsonl")).unwrap();
    fs::remove_file(output.join("summary.json")).unwrap();
    fs::remove_dir_all(&links).unwrap();

    let out = run(&output, &links, &["--resume", "--json"]);
    assert_code(&out, 1, "resumed run");
    let summary: Json = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert!(
        summary["resumed"].as_u64().unwrap() > 0,
        "some files reused"
    );
    for name in [
        "patient_id.csv",
        "study_instance_uid.csv",
        "series_instance_uid.csv",
        "sop_instance_uid.csv",
    ] {
        assert_eq!(
            read_linkage(&links.join(name)),
            read_linkage(&reference_links.join(name)),
            "{name}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 10. Dry run.

#[test]
fn dry_run_writes_nothing_and_prints_one_record_per_input() {
    let Some(corpus) = corpus_or_skip("dry_run_writes_nothing_and_prints_one_record_per_input")
    else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&corpus, "in");
    let output = sb.path("out");
    let out = sb.run(&input, &output, &["--dry-run"]);
    assert_code(&out, 1, "dry run");
    assert!(!output.exists(), "a dry run created OUTPUT");
    let dry = parse_jsonl(&stdout(&out));
    assert_eq!(
        dry.len(),
        regular_files(&input).len(),
        "one record per input on stdout"
    );

    // The records are the ones a real run writes.
    let real_out = sb.path("real");
    assert_code(&sb.run(&input, &real_out, &["--quiet"]), 1, "real run");
    // The manifest's lines also carry their place and chain (tamper evidence).
    let mut real = read_jsonl(&real_out.join("manifest.jsonl"));
    for r in &mut real {
        let o = r.as_object_mut().unwrap();
        assert!(
            o.remove("seq").is_some() && o.remove("chain").is_some(),
            "{o:?}"
        );
    }
    assert_eq!(
        by_id(&dry),
        by_id(&real),
        "dry-run records == real manifest"
    );
    // In the same order too: both come out in input-path order as files are placed.
    let ids = |records: &[Json]| -> Vec<String> {
        records
            .iter()
            .map(|r| field(r, "id").unwrap().to_owned())
            .collect()
    };
    assert_eq!(ids(&dry), ids(&real), "dry-run order == manifest order");
}

// ---------------------------------------------------------------------------------------------
// 11. --json summary.

#[test]
fn json_prints_the_summary_on_stdout() {
    let Some(corpus) = corpus_or_skip("json_prints_the_summary_on_stdout") else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&corpus, "in");
    let output = sb.path("out");
    let out = sb.run(&input, &output, &["--json"]);
    assert_code(&out, 1, "--json run");
    let text = stdout(&out);
    assert_eq!(
        text.trim().lines().count(),
        1,
        "one JSON object on one line:\n{text}"
    );
    let summary: Json = serde_json::from_str(text.trim()).expect("stdout is JSON");
    let files = regular_files(&input).len() as u64;
    assert_eq!(summary["files"].as_u64(), Some(files));
    let counted: u64 = summary["status"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(counted, files, "status counts add up");
    assert!(summary["status"]["failed"].as_u64().unwrap() > 0);
    let sha = summary["profile"]["sha256"].as_str().unwrap();
    assert!(
        sha.len() == 64 && sha.chars().all(|c| c.is_ascii_hexdigit()),
        "{sha}"
    );
    assert_eq!(summary["profile"]["name"].as_str(), Some("basic"));
    let fp = summary["key_fingerprint"].as_str().unwrap();
    assert!(
        !fp.is_empty() && !KEY_A.contains(fp),
        "the fingerprint is not the key: {fp}"
    );
    let methods = summary["methods"].as_array().unwrap();
    assert!(methods.iter().any(|m| m["code"] == "113100"), "{methods:?}");
    // The same summary as summary.json, apart from timings and the file's seal.
    let mut file = read_json(&output.join("summary.json"));
    assert_eq!(
        file["mac"].as_str().map(str::len),
        Some(64),
        "summary.json is sealed"
    );
    let mut printed = summary.clone();
    for s in [&mut file, &mut printed] {
        let o = s.as_object_mut().unwrap();
        for k in ["seconds", "files_per_second", "mb_per_second", "mac"] {
            o.remove(k);
        }
    }
    assert_eq!(printed, file, "--json output == summary.json");
    // The key itself never reaches OUTPUT.
    for (rel, bytes) in tree_bytes(&output, |_| false) {
        assert!(
            !contains_ignore_ascii_case(&bytes, KEY_A.as_bytes()),
            "{rel} holds the key"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Burned-in annotation.

#[test]
fn burned_in_kinds_without_a_rule_are_quarantined_by_basic() {
    let Some(data) = testdata_or_skip("burned_in_kinds_without_a_rule_are_quarantined_by_basic")
    else {
        return;
    };
    let sb = Sandbox::new();
    let (_input, output, records) = run_copy(&sb, &data, &["--profile", "basic"], 1);
    let map = by_input(&records);
    for (input, why) in [
        (
            "DOE_JOHN_12345/US_20190415/us_cine_001.dcm",
            "BurnedInAnnotation is YES",
        ),
        // BurnedInAnnotation NO does not exempt a secondary capture or an ultrasound image.
        (
            "MULLER_ZOE_67890/SC_20200220/SC000001",
            "ultrasound or secondary capture",
        ),
        (
            "YAMADA_T_24680/US_20210808/山田太郎_US.dcm",
            "ultrasound or secondary capture",
        ),
    ] {
        let r = record_of(&map, input);
        assert_eq!(status(r), "quarantined", "{r}");
        assert!(field(r, "reason").unwrap().contains(why), "{r}");
        assert!(r.get("output").is_none(), "{r}");
    }
    let written = dcm_tree(&output);
    assert_eq!(
        written.len(),
        records.iter().filter(|r| status(r) == "written").count()
    );
}
