//! Pixel data that no rule changes is never parsed: the header is, and the encoded pixel data
//! element is copied from the input. These tests hold that path to the bytes the whole-file
//! parse writes, on every corpus and sample file, on large files streamed from disk, on
//! truncated ones, and under a memory limit far below the size of the file.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;

use common::*;
use dicom_deid::deid::Deidentifier;
use dicom_deid::deid::one_file::{FileOutcome, process_bytes, process_loaded};
use dicom_deid::dicom::file::{self, Parsed};
use dicom_deid::key::Key;
use dicom_deid::pixel::{self, Plan};
use dicom_deid::profile::Profile;

/// The generator's file builders; these tests use only some of them.
#[allow(dead_code)]
#[path = "../examples/generate-bench-tree/files.rs"]
mod files;

fn deidentifier(sandbox: &Sandbox) -> Deidentifier {
    let profile = sandbox.header_only_profile();
    Deidentifier::new(
        Profile::load(profile.to_str().unwrap()).unwrap(),
        Key::from_bytes([3; 32]),
    )
}

/// What the whole-file path writes: parse everything, de-identify, encode. `None` when the
/// file is not written unchanged-pixels (not DICOM, broken, quarantined, masked).
fn whole_file_output(deid: &Deidentifier, bytes: &[u8]) -> Option<Vec<u8>> {
    let Ok(Parsed::Dataset {
        object,
        transfer_syntax,
    }) = file::parse(bytes, 1 << 30)
    else {
        return None;
    };
    match pixel::plan(&object, &transfer_syntax, &deid.profile().pixel) {
        Plan::Untouched | Plan::KeptUnmasked => {}
        Plan::Mask(_) | Plan::Quarantine(_) => return None,
    }
    let (object, _) = deid.deidentify(object);
    file::encode(&object, &transfer_syntax).ok()
}

/// `basic` with one pixel rule, `band`, masking `region` ([x, y, width, height]).
fn masking_deidentifier(sandbox: &Sandbox, region: [u32; 4]) -> Deidentifier {
    let profile = sandbox.path("mask.yaml");
    let [x, y, width, height] = region;
    fs::write(
        &profile,
        format!(
            "extends: basic\npixel:\n  rules:\n    - name: band\n      regions: [[{x}, {y}, {width}, {height}]]\n"
        ),
    )
    .unwrap();
    Deidentifier::new(
        Profile::load(profile.to_str().unwrap()).unwrap(),
        Key::from_bytes([3; 32]),
    )
}

/// What the whole-file path writes for a file to be masked: parse everything, de-identify,
/// mask, encode with the parser's token writer. `None` when the file is not masked.
fn whole_masked_output(deid: &Deidentifier, bytes: &[u8]) -> Option<Vec<u8>> {
    let Ok(Parsed::Dataset {
        object,
        transfer_syntax,
    }) = file::parse(bytes, 1 << 30)
    else {
        return None;
    };
    let Plan::Mask(mask) = pixel::plan(&object, &transfer_syntax, &deid.profile().pixel) else {
        return None;
    };
    let (object, _) = deid.deidentify(object);
    let (object, ts, _) =
        pixel::apply(object, &transfer_syntax, &mask, deid.profile().pixel.fill).ok()?;
    Some(file::encode(&object, &ts).unwrap())
}

#[test]
fn passthrough_writes_the_bytes_of_the_whole_file_parse() {
    let sandbox = Sandbox::new();
    let deid = deidentifier(&sandbox);
    let mut dirs = vec![];
    dirs.extend(corpus_or_skip("passthrough corpus files"));
    dirs.extend(testdata_or_skip("passthrough sample files"));
    let mut files: Vec<(String, Vec<u8>)> = dirs
        .iter()
        .flat_map(|d| files_under(d))
        .map(|p| (rel_string(&p), fs::read(&p).unwrap()))
        .collect();
    for i in [0, 9, 16, 17, 18] {
        let f = files::image_heavy(i);
        files.push((
            f.rel.clone(),
            files::to_part10(&f.object, f.ts, &[]).unwrap(),
        ));
    }
    for i in 0..3 {
        let f = files::header_heavy(i);
        files.push((
            f.rel.clone(),
            files::to_part10(&f.object, f.ts, &[]).unwrap(),
        ));
    }
    let (mut compared, mut split) = (0, 0);
    for (name, bytes) in &files {
        let Some(expected) = whole_file_output(&deid, bytes) else {
            continue;
        };
        let FileOutcome::Written(out) = process_bytes(&deid, bytes, 1 << 30) else {
            panic!("{name}: written by the whole-file path, not by process_bytes");
        };
        assert!(out.bytes == expected, "{name}: output differs");
        compared += 1;
        split += usize::from(file::load_bytes(bytes).is_split());
    }
    assert!(compared >= 8, "only {compared} files compared");
    assert!(split >= 8, "only {split} files took the pass-through path");
}

/// A multi-frame file of `frames` 512×512 16-bit frames, native.
fn multiframe(frames: u32) -> Vec<u8> {
    let mut bytes = files::multiframe_head(frames).unwrap();
    let frame = files::multiframe_frame();
    for _ in 0..frames {
        bytes.extend_from_slice(&frame);
    }
    bytes
}

/// The multi-frame file with its pixel data encapsulated instead: an empty offset table and
/// one fragment a frame, then a trailing padding element after the pixel data.
fn encapsulated_multiframe(frames: u32) -> Vec<u8> {
    // The same header with the meta's transfer syntax RLE Lossless (a UID of the same
    // length, so the meta group keeps its length).
    let mut bytes = Vec::new();
    let head = files::multiframe_head(frames).unwrap();
    let head = &head[..head.len() - 12];
    let explicit = b"1.2.840.10008.1.2.1\0";
    let rle = b"1.2.840.10008.1.2.5\0";
    let at = head
        .windows(explicit.len())
        .position(|w| w == explicit)
        .expect("the meta names its transfer syntax");
    bytes.extend_from_slice(&head[..at]);
    bytes.extend_from_slice(rle);
    bytes.extend_from_slice(&head[at + explicit.len()..]);
    let item = |bytes: &mut Vec<u8>, len: u32| {
        bytes.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0]);
        bytes.extend_from_slice(&len.to_le_bytes());
    };
    bytes.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0]);
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    item(&mut bytes, 0);
    let fragment = vec![0x5A; 300_000];
    for _ in 0..frames {
        item(&mut bytes, fragment.len() as u32);
        bytes.extend_from_slice(&fragment);
    }
    bytes.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    // (FFFC,FFFC) DataSetTrailingPadding, OB, 6 bytes.
    bytes.extend_from_slice(&[0xFC, 0xFF, 0xFC, 0xFF, b'O', b'B', 0, 0, 6, 0, 0, 0]);
    bytes.extend_from_slice(&[0; 6]);
    bytes
}

#[test]
fn large_files_stream_their_pixel_data_from_the_file() {
    let sandbox = Sandbox::new();
    let deid = deidentifier(&sandbox);
    for (name, bytes) in [
        ("native", multiframe(12)),
        ("encapsulated", encapsulated_multiframe(12)),
    ] {
        assert!(bytes.len() > 3_000_000, "{name}: a large file");
        let path = sandbox.path(name);
        fs::write(&path, &bytes).unwrap();
        let file = fs::File::open(&path).unwrap();
        let loaded = file::load_file(&file, bytes.len() as u64).unwrap();
        assert!(loaded.is_split(), "{name}: pixel data left in the file");
        let FileOutcome::Written(out) = process_loaded(&deid, &loaded, 1 << 30) else {
            panic!("{name}: not written");
        };
        let passage = out.passage.clone().expect("the pixel data is a passage");
        assert!(
            out.bytes.len() < 64 << 10,
            "{name}: only the header in memory"
        );
        assert!(passage.range.end - passage.range.start > 3_000_000);
        let mut streamed = Vec::new();
        let (sha, len) = out.write_to(&loaded, &mut streamed).unwrap();
        assert_eq!((sha, len), (sha256_hex(&streamed), streamed.len() as u64));
        let FileOutcome::Written(whole) = process_bytes(&deid, &bytes, 1 << 30) else {
            panic!("{name}: not written from memory");
        };
        assert!(whole.bytes == streamed, "{name}: streamed output differs");
        if let Some(expected) = whole_file_output(&deid, &bytes) {
            assert!(
                expected == streamed,
                "{name}: differs from the whole-file parse"
            );
        }
    }
}

/// A large native file under a masking rule is masked frame by frame as it streams from the
/// input: only the header is in memory, and the bytes are those of the whole masked parse.
#[test]
fn large_native_files_are_masked_as_they_stream() {
    let sandbox = Sandbox::new();
    let deid = masking_deidentifier(&sandbox, [10, 20, 300, 40]);
    let bytes = multiframe(12);
    let path = sandbox.path("native");
    fs::write(&path, &bytes).unwrap();
    let file = fs::File::open(&path).unwrap();
    let loaded = file::load_file(&file, bytes.len() as u64).unwrap();
    let FileOutcome::Written(out) = process_loaded(&deid, &loaded, 1 << 30) else {
        panic!("not written");
    };
    assert!(out.bytes.len() < 64 << 10, "only the header in memory");
    let passage = out.passage.clone().expect("the pixel data is a passage");
    assert!(passage.mask.is_some(), "masked as it streams");
    assert_eq!(out.pixel.as_ref().unwrap().masked_by, ["band"]);
    let mut streamed = Vec::new();
    out.write_to(&loaded, &mut streamed).unwrap();
    let expected = whole_masked_output(&deid, &bytes).expect("the whole parse masks the file");
    assert!(streamed == expected, "differs from the whole masked parse");
}

#[test]
fn large_truncated_files_fail_like_small_ones() {
    let sandbox = Sandbox::new();
    let deid = deidentifier(&sandbox);
    for (name, mut bytes) in [
        ("native", multiframe(12)),
        ("encapsulated", encapsulated_multiframe(12)),
    ] {
        bytes.truncate(bytes.len() - 100_000);
        let path = sandbox.path(name);
        fs::write(&path, &bytes).unwrap();
        let file = fs::File::open(&path).unwrap();
        let loaded = file::load_file(&file, bytes.len() as u64).unwrap();
        assert!(
            !loaded.is_split(),
            "{name}: a broken element is not passed through"
        );
        let FileOutcome::Failed(streamed) = process_loaded(&deid, &loaded, 1 << 30) else {
            panic!("{name}: a truncated file is not written");
        };
        let FileOutcome::Failed(whole) = process_bytes(&deid, &bytes, 1 << 30) else {
            panic!("{name}: a truncated file is not written");
        };
        assert_eq!(streamed, whole);
        assert!(streamed.contains("runs past the end"), "{streamed}");
    }
}

/// The memory bound: a 1 GB multi-frame file de-identified by the binary under a
/// 300 MB address-space limit (`ulimit -v`), output identical to the input's pixel data.
#[test]
fn a_1_gb_file_needs_far_less_than_1_gb() {
    let sandbox = Sandbox::new();
    let limit_kb = 300 * 1024;
    let probe = std::process::Command::new("sh")
        .args(["-c", &format!("ulimit -v {limit_kb}")])
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("skipped: cannot set an address-space limit here (ulimit -v)");
        return;
    }
    let input = sandbox.path("in");
    fs::create_dir_all(&input).unwrap();
    let frames = 1_000_000_000u64.div_ceil(u64::from(files::FRAME_LEN)) as u32;
    let path = input.join("big.dcm");
    let mut file = std::io::BufWriter::new(fs::File::create(&path).unwrap());
    file.write_all(&files::multiframe_head(frames).unwrap())
        .unwrap();
    let frame = files::multiframe_frame();
    for _ in 0..frames {
        file.write_all(&frame).unwrap();
    }
    drop(file);
    let size = fs::metadata(&path).unwrap().len();
    assert!(size > 1_000_000_000);
    // Unchanged, and with a band masked in every frame (as the frames stream).
    let masking = sandbox.path("mask.yaml");
    fs::write(
        &masking,
        "extends: basic\npixel:\n  rules:\n    - name: band\n      regions: [[0, 0, 512, 8]]\n",
    )
    .unwrap();
    let band = 8 * 512 * 2;
    for (out_dir, profile) in [
        ("out", sandbox.header_only_profile()),
        ("out-masked", masking),
    ] {
        let bin = assert_cmd::cargo::cargo_bin("dicom-deid");
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -v {limit_kb} && exec \"$0\" \"$@\""))
            .arg(&bin)
            .args(["run", "in", out_dir, "--jobs", "2", "--quiet", "--key-file"])
            .arg(&sandbox.key)
            .arg("--profile")
            .arg(profile)
            .current_dir(sandbox.path(""))
            .env("HOME", sandbox.path(""))
            .env_remove("DICOM_DEID_KEY_FILE")
            .output()
            .unwrap();
        assert_code(&out, 0, "a 1 GB file under a 300 MB address-space limit");
        let records = read_jsonl(&sandbox.path(out_dir).join("manifest.jsonl"));
        assert_eq!(records.len(), 1);
        let written = sandbox
            .path(out_dir)
            .join(field(&records[0], "output").unwrap());
        let written_size = fs::metadata(&written).unwrap().len();
        assert!(written_size > 1_000_000_000, "{written_size}");
        // The last frame, at the end of both files: the input's, byte for byte, but for the
        // masked band.
        let tail = |p: &Path| {
            use std::io::{Read, Seek, SeekFrom};
            let mut f = fs::File::open(p).unwrap();
            f.seek(SeekFrom::End(-(files::FRAME_LEN as i64))).unwrap();
            let mut buf = vec![0; files::FRAME_LEN as usize];
            f.read_exact(&mut buf).unwrap();
            buf
        };
        let (original, written) = (tail(&path), tail(&written));
        assert!(original[band..] == written[band..], "{out_dir}");
        if out_dir == "out" {
            assert!(original[..band] == written[..band]);
        } else {
            assert!(
                written[..band].iter().all(|&b| b == 0),
                "the band is masked"
            );
            assert!(original[..band].iter().any(|&b| b != 0));
        }
        fs::remove_dir_all(sandbox.path(out_dir)).unwrap();
    }
}

/// Masked files are written by the direct writer too, and native frames masked as they are
/// copied: byte for byte what the parser's token writer makes of the whole masked data set.
#[test]
fn masked_outputs_match_the_token_writer() {
    let sandbox = Sandbox::new();
    let deid = masking_deidentifier(&sandbox, [0, 0, 4096, 8]);
    let mut dirs = vec![];
    dirs.extend(corpus_or_skip("masked corpus files"));
    dirs.extend(testdata_or_skip("masked sample files"));
    let (mut compared, mut streamed) = (0, 0);
    for path in dirs.iter().flat_map(|d| files_under(d)) {
        let bytes = fs::read(&path).unwrap();
        let Some(expected) = whole_masked_output(&deid, &bytes) else {
            continue;
        };
        if let FileOutcome::Written(out) = process_loaded(&deid, &file::load_bytes(&bytes), 1 << 30)
            && out.passage.is_some_and(|p| p.mask.is_some())
        {
            streamed += 1;
        }
        match process_bytes(&deid, &bytes, 1 << 30) {
            FileOutcome::Written(out) => {
                assert!(out.bytes == expected, "{}: output differs", path.display())
            }
            FileOutcome::Failed(why)
            | FileOutcome::Quarantined(why)
            | FileOutcome::Skipped(why) => {
                panic!(
                    "{}: masked by hand, not by process_bytes: {why}",
                    path.display()
                )
            }
        }
        compared += 1;
    }
    assert!(compared >= 5, "only {compared} masked files compared");
    assert!(streamed >= 20, "only {streamed} masked as they were copied");
}

/// The pixel plan decides on the header alone, so leaving the pixel data out changes no
/// decision: under `basic` (US and SC quarantined) and under a masking rule, every file is
/// quarantined by `process_bytes` exactly when the plan of its whole parse says so.
#[test]
fn quarantine_decisions_do_not_depend_on_the_pass_through() {
    let sandbox = Sandbox::new();
    let profile = sandbox.path("mask.yaml");
    fs::write(
        &profile,
        "extends: basic\npixel:\n  rules:\n    - name: band\n      regions: [[0, 0, 4096, 8]]\n",
    )
    .unwrap();
    let mut dirs = vec![];
    dirs.extend(corpus_or_skip("quarantine decisions"));
    dirs.extend(testdata_or_skip("quarantine decisions"));
    let mut quarantined = 0;
    for profile in ["basic", profile.to_str().unwrap()] {
        let deid = Deidentifier::new(Profile::load(profile).unwrap(), Key::from_bytes([3; 32]));
        for path in dirs.iter().flat_map(|d| files_under(d)) {
            let bytes = fs::read(&path).unwrap();
            let Ok(Parsed::Dataset {
                object,
                transfer_syntax,
            }) = file::parse(&bytes, 1 << 30)
            else {
                continue;
            };
            let plan = pixel::plan(&object, &transfer_syntax, &deid.profile().pixel);
            let outcome = process_bytes(&deid, &bytes, 1 << 30);
            if let Plan::Quarantine(reason) = plan {
                let FileOutcome::Quarantined(got) = outcome else {
                    panic!("{} ({profile}): not quarantined", path.display());
                };
                assert_eq!(got, reason, "{}", path.display());
                quarantined += 1;
            } else {
                assert!(
                    !matches!(outcome, FileOutcome::Quarantined(_))
                        || matches!(plan, Plan::Mask(_)),
                    "{} ({profile}): quarantined though the plan is {plan:?}",
                    path.display()
                );
            }
        }
    }
    assert!(quarantined >= 3, "only {quarantined} quarantines seen");
}
