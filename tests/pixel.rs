//! Pixel masking on every image of the shared corpus and of testdata: each photometric
//! interpretation, bit depth, native and compressed transfer syntax. After masking, every pixel
//! inside the region holds the fill value and every pixel outside equals the decoded original,
//! in every frame; an image that cannot be masked is quarantined, never written.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use dicom_deid::deid::Deidentifier;
use dicom_deid::deid::one_file::{FileOutcome, process_bytes};
use dicom_deid::dicom::reason::Code;
use dicom_deid::key::Key;
use dicom_deid::pixel::PixelCheck;
use dicom_deid::profile::Profile;
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, OpenFileOptions};
use dicom_pixeldata::PixelDecoder;

const MAX: u64 = 1 << 30;
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const RLE: &str = "1.2.840.10008.1.2.5";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
const JPEG_8_BIT: [&str; 2] = ["1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"];
/// Syntaxes whose pixel data is compressed without loss (JPEG 2000 and JPEG-LS near-lossless
/// may be lossy too: their files in the corpus are not).
const LOSSLESS_COMPRESSED: [&str; 5] = [
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.90",
    RLE,
];

fn deidentifier(yaml: &str) -> Deidentifier {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::write(&path, yaml).unwrap();
    let profile = Profile::load(path.to_str().unwrap()).expect("test profile loads");
    Deidentifier::new(profile, Key::parse(KEY_A).unwrap())
}

fn open(bytes: &[u8]) -> Option<DefaultDicomObject> {
    OpenFileOptions::new().from_reader(bytes).ok()
}

/// The image as dicom-pixeldata decodes it: samples widened to u32, in (frame, row, column,
/// sample) order, whatever the planar configuration or YBR 4:2:2 layout.
struct Image {
    rows: usize,
    cols: usize,
    samples: usize,
    frames: usize,
    photometric: String,
    bits_stored: u32,
    high_bit: u32,
    signed: bool,
    values: Vec<u32>,
}

fn decode(object: &DefaultDicomObject) -> Option<Image> {
    let int = |tag, default: usize| {
        object
            .element(tag)
            .ok()
            .and_then(|e| e.to_int::<usize>().ok())
            .unwrap_or(default)
    };
    let pixel_data = object.element(tags::PIXEL_DATA).ok()?;
    let native = pixel_data.value().primitive().is_some();
    // Native data is read as it is stored (independent of any decoder); compressed data is
    // decoded by dicom-pixeldata, as the tool does, so lossy codecs compare exactly.
    let (decoded, data, bits, planar, photometric, bits_stored, high_bit);
    if native {
        data = pixel_data.to_bytes().ok()?.into_owned();
        bits = int(tags::BITS_ALLOCATED, 0);
        bits_stored = int(tags::BITS_STORED, bits) as u32;
        high_bit = int(tags::HIGH_BIT, bits_stored as usize - 1) as u32;
        planar = int(tags::PLANAR_CONFIGURATION, 0) == 1;
        photometric = object
            .element(tags::PHOTOMETRIC_INTERPRETATION)
            .ok()?
            .to_str()
            .ok()?
            .trim()
            .to_owned();
    } else if object.decode_pixel_data().is_err() {
        // What dicom-pixeldata cannot decode without a C++ library (JPEG-LS, 12-bit JPEG,
        // 32-bit RLE) is read by the tool's own decoders.
        (data, bits, bits_stored, high_bit, photometric) = tool_decode(object)?;
        planar = false;
    } else {
        decoded = object.decode_pixel_data().ok()?;
        data = decoded.data().to_vec();
        bits = decoded.bits_allocated() as usize;
        bits_stored = u32::from(decoded.bits_stored());
        high_bit = u32::from(decoded.high_bit());
        planar = false;
        photometric = decoded.photometric_interpretation().as_str().to_owned();
    }
    let (rows, cols) = (int(tags::ROWS, 0), int(tags::COLUMNS, 0));
    let samples = int(tags::SAMPLES_PER_PIXEL, 1);
    let frames = int(tags::NUMBER_OF_FRAMES, 1).max(1);
    let raw = |i: usize| -> u32 {
        match bits {
            1 => u32::from((data[i / 8] >> (i % 8)) & 1),
            8 => u32::from(data[i]),
            16 => u32::from(u16::from_le_bytes([data[2 * i], data[2 * i + 1]])),
            _ => u32::from_le_bytes(data[4 * i..4 * i + 4].try_into().unwrap()),
        }
    };
    let pixels = rows * cols;
    let mut values = Vec::with_capacity(frames * pixels * samples);
    for f in 0..frames {
        for p in 0..pixels {
            for s in 0..samples {
                let index = if photometric == "YBR_FULL_422" && native {
                    let pair = (f * pixels + p) / 2;
                    pair * 4 + if s == 0 { p % 2 } else { s + 1 }
                } else if planar {
                    f * pixels * samples + s * pixels + p
                } else {
                    (f * pixels + p) * samples + s
                };
                values.push(raw(index));
            }
        }
    }
    Some(Image {
        rows,
        cols,
        samples,
        frames,
        photometric,
        bits_stored,
        high_bit,
        signed: int(tags::PIXEL_REPRESENTATION, 0) == 1,
        values,
    })
}

/// Pixel data decoded by the tool: (bytes, bits allocated, bits stored, high bit,
/// photometric interpretation).
fn tool_decode(object: &DefaultDicomObject) -> Option<(Vec<u8>, usize, u32, u32, String)> {
    let ts = object.meta().transfer_syntax().trim_end_matches('\0');
    let (g, data) = dicom_deid::pixel::frames_of((**object).clone(), ts).ok()?;
    let photometric = g.photometric.as_str().to_owned();
    Some((
        data,
        g.bits_allocated as usize,
        g.bits_stored,
        g.high_bit,
        photometric,
    ))
}

/// The darkest stored value of each sample, worked out from the standard's definitions.
fn darkest(img: &Image, object: &DefaultDicomObject) -> Vec<u32> {
    let max = ((1u64 << img.bits_stored) - 1) as u32;
    let half = 1u32 << (img.bits_stored - 1);
    match img.photometric.as_str() {
        "MONOCHROME1" if img.signed => vec![half - 1],
        "MONOCHROME1" => vec![max],
        "MONOCHROME2" if img.signed => vec![half],
        "MONOCHROME2" => vec![0],
        "RGB" => vec![0, 0, 0],
        "YBR_FULL" | "YBR_FULL_422" => vec![0, half, half],
        "PALETTE COLOR" => {
            let lut = |tag| object.element(tag).unwrap().to_multi_int::<u16>().unwrap();
            let (r, g, b) = (
                lut(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA),
                lut(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA),
                lut(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA),
            );
            let first = object
                .element(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR)
                .unwrap()
                .to_multi_int::<i64>()
                .unwrap()[1] as u32;
            let luma =
                |i: usize| 299 * u64::from(r[i]) + 587 * u64::from(g[i]) + 114 * u64::from(b[i]);
            let best = (0..r.len()).min_by_key(|&i| luma(i)).unwrap();
            vec![first + best as u32]
        }
        other => panic!("unexpected photometric interpretation {other}"),
    }
}

/// The region the test masks: a block in the middle, with an even x and width so that
/// YBR_FULL_422 pairs are whole.
fn region(rows: usize, cols: usize) -> [usize; 4] {
    let x = (cols / 4) & !1;
    let w = ((cols / 2) & !1).max(2);
    let y = rows / 4;
    let h = (rows / 3).max(1);
    [x, y, w, h]
}

/// Check one masked output against its original; returns how many pixels were compared.
/// `masked` are the regions the tool reports as masked (the rule's, or grown to whole JPEG
/// blocks); pixels within `bleed` of them may differ (chroma upsampling of a JPEG masked in
/// the DCT domain), every other pixel outside the rule's region must not.
fn assert_masked(
    name: &str,
    original: &DefaultDicomObject,
    output: &DefaultDicomObject,
    masked: &[dicom_deid::pixel::Region],
    bleed: usize,
) -> usize {
    let before = decode(original).unwrap_or_else(|| panic!("{name}: original decodes"));
    let after = decode(output).unwrap_or_else(|| panic!("{name}: output decodes"));
    assert_eq!(
        (before.rows, before.cols, before.samples, before.frames),
        (after.rows, after.cols, after.samples, after.frames),
        "{name}: geometry"
    );
    let [x, y, w, h] = region(after.rows, after.cols);
    let fill = darkest(&after, output);
    let shift = after.high_bit + 1 - after.bits_stored;
    let stored_mask = ((1u64 << after.bits_stored) - 1) as u32;
    let mut i = 0;
    for f in 0..after.frames {
        for row in 0..after.rows {
            for col in 0..after.cols {
                let inside = (x..x + w).contains(&col) && (y..y + h).contains(&row);
                let near_masked = masked.iter().any(|r| {
                    let (rx, ry) = (r.x as usize, r.y as usize);
                    (rx.saturating_sub(bleed)..rx + r.width as usize + bleed).contains(&col)
                        && (ry.saturating_sub(bleed)..ry + r.height as usize + bleed).contains(&row)
                });
                for (s, &fill) in fill.iter().enumerate().take(after.samples) {
                    let (a, b) = (after.values[i], before.values[i]);
                    if inside {
                        assert_eq!(
                            (a >> shift) & stored_mask,
                            fill,
                            "{name}: frame {f} ({col}, {row}) sample {s} not filled"
                        );
                    } else if !near_masked {
                        assert_eq!(a, b, "{name}: frame {f} ({col}, {row}) sample {s} changed");
                    }
                    i += 1;
                }
            }
        }
    }
    i
}

fn mask_profile(rows: usize, cols: usize) -> String {
    let [x, y, w, h] = region(rows, cols);
    format!(
        "extends: basic\npixel:\n  rules:\n    - name: middle block\n      regions: [[{x}, {y}, {w}, {h}]]\n"
    )
}

/// What was masked: transfer syntaxes, and (photometric, bits allocated, signed, planar,
/// multi-frame) of the originals.
#[derive(Default)]
struct Coverage {
    masked: usize,
    quarantined: usize,
    /// Baseline JPEG images masked without leaving their syntax.
    jpeg_in_place: usize,
    syntaxes: BTreeSet<String>,
    layouts: BTreeSet<(String, usize, bool, bool, bool)>,
    /// Names of the files masked.
    names: BTreeSet<String>,
}

/// Mask every image under `dir`, checking each.
fn mask_all(dir: &Path) -> Coverage {
    let mut seen = Coverage::default();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let name = rel_string(entry.path().strip_prefix(dir).unwrap());
        let bytes = std::fs::read(entry.path()).unwrap();
        let Some(original) = open(&bytes) else {
            continue;
        };
        if original.element(tags::PIXEL_DATA).is_err() {
            continue;
        }
        let int = |tag| original.element(tag).ok()?.to_int::<usize>().ok();
        let (Some(rows), Some(cols)) = (int(tags::ROWS), int(tags::COLUMNS)) else {
            continue;
        };
        let deid = deidentifier(&mask_profile(rows, cols));
        match process_bytes(&deid, &bytes, MAX) {
            FileOutcome::Written(out) => {
                let report = out
                    .pixel
                    .as_ref()
                    .unwrap_or_else(|| panic!("{name}: no pixel report"));
                assert_eq!(report.masked_by, ["middle block"], "{name}");
                let output = open(&out.bytes).unwrap_or_else(|| panic!("{name}: output reads"));
                assert_eq!(
                    output
                        .element(tags::BURNED_IN_ANNOTATION)
                        .unwrap()
                        .to_str()
                        .unwrap(),
                    "NO",
                    "{name}"
                );
                let codes = output
                    .element(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
                    .unwrap()
                    .items()
                    .unwrap()
                    .iter()
                    .map(|i| {
                        i.element(tags::CODE_VALUE)
                            .unwrap()
                            .to_str()
                            .unwrap()
                            .into_owned()
                    })
                    .collect::<Vec<_>>();
                assert!(codes.iter().any(|c| c == "113101"), "{name}: {codes:?}");
                let source_ts = original.meta().transfer_syntax().trim_end_matches('\0');
                if source_ts != out.transfer_syntax {
                    assert!(
                        [EXPLICIT_LE, RLE, DEFLATED].contains(&out.transfer_syntax.as_str()),
                        "{name}: written as {}",
                        out.transfer_syntax
                    );
                }
                if LOSSLESS_COMPRESSED.contains(&source_ts) {
                    assert!(
                        [RLE, DEFLATED].contains(&out.transfer_syntax.as_str()),
                        "{name}: a lossless compressed source stays compressed, not {}",
                        out.transfer_syntax
                    );
                }
                if ["1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"].contains(&source_ts) {
                    let lossy = output.element(tags::LOSSY_IMAGE_COMPRESSION).unwrap();
                    assert_eq!(lossy.to_str().unwrap().trim(), "01", "{name}: lossy source");
                }
                // Baseline JPEG stays JPEG: masked in the DCT domain, whole blocks.
                let jpeg_in_place =
                    source_ts == out.transfer_syntax && JPEG_8_BIT.contains(&source_ts);
                seen.jpeg_in_place += usize::from(jpeg_in_place);
                let bleed = if jpeg_in_place { 2 } else { 0 };
                assert_masked(&name, &original, &output, &report.regions, bleed);
                seen.syntaxes.insert(
                    original
                        .meta()
                        .transfer_syntax()
                        .trim_end_matches('\0')
                        .to_owned(),
                );
                let text = |tag| {
                    original
                        .element(tag)
                        .ok()
                        .and_then(|e| e.to_str().ok())
                        .map(|s| s.trim().to_owned())
                        .unwrap_or_default()
                };
                seen.layouts.insert((
                    text(tags::PHOTOMETRIC_INTERPRETATION),
                    int(tags::BITS_ALLOCATED).unwrap_or(0),
                    int(tags::PIXEL_REPRESENTATION) == Some(1),
                    int(tags::PLANAR_CONFIGURATION) == Some(1),
                    int(tags::NUMBER_OF_FRAMES).unwrap_or(1) > 1,
                ));
                seen.masked += 1;
                seen.names.insert(name);
            }
            FileOutcome::Quarantined(reason) => {
                assert!(
                    reason.starts_with("pixel data must be masked but"),
                    "{name}: {reason}"
                );
                seen.quarantined += 1;
            }
            FileOutcome::Failed(_) | FileOutcome::Skipped(_) => {}
        }
    }
    seen
}

#[test]
fn corpus_images_are_masked_exactly_or_quarantined() {
    let Some(corpus) = corpus_or_skip("corpus_images_are_masked_exactly_or_quarantined") else {
        return;
    };
    let Coverage {
        masked,
        quarantined,
        jpeg_in_place,
        syntaxes,
        layouts,
        names,
    } = mask_all(&corpus);
    eprintln!(
        "masked {masked} ({jpeg_in_place} JPEG in place), quarantined {quarantined}, syntaxes {syntaxes:?}"
    );
    assert!(
        jpeg_in_place >= 3,
        "only {jpeg_in_place} JPEG images masked in place"
    );
    assert!(masked >= 60, "only {masked} images masked");
    let has = |pi: &str, bits: usize, signed: bool, planar: bool, multi: bool| {
        layouts.contains(&(pi.to_owned(), bits, signed, planar, multi))
    };
    for (pi, bits, signed, planar, multi) in [
        ("MONOCHROME2", 8, false, false, false),
        ("MONOCHROME2", 16, true, false, false),
        ("MONOCHROME2", 16, false, false, false),
        ("MONOCHROME1", 16, false, false, false),
        ("MONOCHROME2", 1, false, false, false),
        ("MONOCHROME2", 32, false, false, true),
        ("RGB", 8, false, false, false),
        ("RGB", 8, false, true, false),
        ("RGB", 8, false, false, true),
        ("RGB", 16, false, false, true),
        ("YBR_FULL_422", 8, false, false, false),
        ("YBR_FULL_422", 8, false, false, true),
        ("YBR_FULL", 8, false, false, false),
        ("YBR_RCT", 8, false, false, false),
        ("PALETTE COLOR", 8, false, false, false),
    ] {
        assert!(
            has(pi, bits, signed, planar, multi),
            "no {pi} {bits}-bit signed={signed} planar={planar} multi-frame={multi} image masked: {layouts:?}"
        );
    }
    for ts in [
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.1.99",
        "1.2.840.10008.1.2.4.50",
        "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.90",
        "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.51",
        "1.2.840.10008.1.2.4.80",
        "1.2.840.10008.1.2.4.81",
        "1.2.840.10008.1.2.5",
    ] {
        assert!(syntaxes.contains(ts), "no image of {ts} was masked");
    }
    // Colour JPEG-LS, line and sample interleaved, decodes and is masked.
    for name in ["SC_rgb_jls_lossy_line.dcm", "SC_rgb_jls_lossy_sample.dcm"] {
        assert!(names.contains(name), "{name} was not masked");
    }
}

#[test]
fn testdata_images_are_masked_exactly() {
    let Some(data) = testdata_or_skip("testdata_images_are_masked_exactly") else {
        return;
    };
    let seen = mask_all(&data);
    assert!(seen.masked >= 8, "only {} images masked", seen.masked);
    assert_eq!(seen.quarantined, 0);
    // testdata adds 8-bit MONOCHROME1 (RLE) and a native RGB cine.
    assert!(
        seen.layouts
            .contains(&("MONOCHROME1".to_owned(), 8, false, false, false)),
        "{:?}",
        seen.layouts
    );
}

#[test]
fn us_cine_comes_out_with_every_frame_masked() {
    let Some(data) = testdata_or_skip("us_cine_comes_out_with_every_frame_masked") else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    let output = sb.path("out");
    let profile = sb.path("us.yaml");
    std::fs::write(
        &profile,
        "extends: basic\npixel:\n  rules:\n    - name: US header band\n      when: {Modality: US, Rows: 16, Columns: 16}\n      regions: [[0, 0, 16, 3]]\n",
    )
    .unwrap();
    let out = sb.run(
        &input,
        &output,
        &[
            "--profile",
            profile.to_str().unwrap(),
            "--manifest-paths",
            "-q",
        ],
    );
    assert_code(&out, 1, "run");
    let records = by_input(&read_jsonl(&output.join("manifest.jsonl")));
    let cine = &records["DOE_JOHN_12345/US_20190415/us_cine_001.dcm"];
    assert_eq!(field(cine, "status"), Some("written"), "{cine}");
    assert_eq!(
        cine["pixel_masked_by"],
        serde_json::json!(["US header band"])
    );
    assert_eq!(
        cine["pixel_regions"],
        serde_json::json!([{"x": 0, "y": 0, "width": 16, "height": 3}])
    );
    let bytes = std::fs::read(output.join(field(cine, "output").unwrap())).unwrap();
    let object = open(&bytes).unwrap();
    let frames = object
        .element(tags::PIXEL_DATA)
        .unwrap()
        .to_bytes()
        .unwrap();
    assert_eq!(frames.len(), 3 * 16 * 16 * 3);
    let original =
        open(&std::fs::read(input.join("DOE_JOHN_12345/US_20190415/us_cine_001.dcm")).unwrap())
            .unwrap();
    let before = original
        .element(tags::PIXEL_DATA)
        .unwrap()
        .to_bytes()
        .unwrap();
    for (frame, (a, b)) in frames.chunks(768).zip(before.chunks(768)).enumerate() {
        assert!(
            b[..48 * 3].iter().any(|&v| v != 0),
            "frame {frame} had text"
        );
        assert!(
            a[..48 * 3].iter().all(|&v| v == 0),
            "frame {frame} unmasked"
        );
        assert_eq!(
            a[48 * 3..],
            b[48 * 3..],
            "frame {frame} changed below the band"
        );
    }
    // The SC image with BurnedInAnnotation NO matches no rule: still quarantined.
    let sc = &records["MULLER_ZOE_67890/SC_20200220/SC000001"];
    assert_eq!(field(sc, "status"), Some("quarantined"), "{sc}");
}

#[test]
fn qa_report_shows_every_masked_file_and_no_phi() {
    let Some(data) = testdata_or_skip("qa_report_shows_every_masked_file_and_no_phi") else {
        return;
    };
    let Some(phi) = planted_phi_or_skip("qa_report_shows_every_masked_file_and_no_phi") else {
        return;
    };
    let sb = Sandbox::new();
    let input = sb.copy_in(&data, "in");
    let output = sb.path("out");
    let report = sb.path("qa.html");
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pixel-rules.yaml");
    let out = sb.run(
        &input,
        &output,
        &[
            "--profile",
            rules.to_str().unwrap(),
            "--qa-report",
            report.to_str().unwrap(),
            "-q",
        ],
    );
    assert_code(&out, 1, "run");
    let records = read_jsonl(&output.join("manifest.jsonl"));
    let masked: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r.get("pixel_masked_by").is_some())
        .collect();
    assert_eq!(masked.len(), 3, "the two US images and the screen capture");
    assert!(
        records
            .iter()
            .all(|r| field(r, "status") != Some("quarantined"))
    );
    let html = std::fs::read_to_string(&report).unwrap();
    for r in &masked {
        assert!(html.contains(field(r, "output").unwrap()), "{r}");
    }
    assert!(html.contains("US header band") && html.contains("screen capture banner"));
    // Every written image is in the sample (10 per kind): first, middle and last frame of
    // the cine, one frame of each of the other 9 images.
    assert_eq!(html.matches("src=\"data:image/png;base64,").count(), 12);
    let lower = html.to_lowercase();
    for value in &phi {
        assert!(
            !lower.contains(&value.to_lowercase()),
            "the report holds a planted value"
        );
    }
}

/// 5×7 bitmaps of the letters used below, one string of 7 rows of 5 columns each.
const GLYPHS: &[(char, &str)] = &[
    ('D', "11110100011000110001100011000111110"),
    ('O', "01110100011000110001100011000101110"),
    ('E', "11111100001000011110100001000011111"),
    ('J', "00111000100001000010000101001001100"),
    ('H', "10001100011000111111100011000110001"),
    ('N', "10001110011010110011100011000110001"),
    ('1', "00100011000010000100001000010001110"),
    ('9', "01110100011000101111000010001001100"),
];

/// A 256×256 8-bit ultrasound-like frame: speckle in a disc, and `text` burned in white at
/// (x, y) with glyphs scaled `scale` times. Returns the frame and the text's bounding box.
fn frame_with_text(text: &str, x: usize, y: usize, scale: usize) -> (Vec<u8>, [usize; 4]) {
    let side = 256;
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut frame: Vec<u8> = (0..side * side)
        .map(|i| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let (px, py) = ((i % side) as i64 - 128, (i / side) as i64 - 140);
            if px * px + py * py < 100 * 100 {
                40 + (seed % 80) as u8
            } else {
                0
            }
        })
        .collect();
    let mut cursor = x;
    for c in text.chars() {
        if let Some((_, bits)) = GLYPHS.iter().find(|(g, _)| *g == c) {
            for (k, bit) in bits.bytes().enumerate() {
                if bit == b'1' {
                    let (gx, gy) = (k % 5, k / 5);
                    for dy in 0..scale {
                        for dx in 0..scale {
                            frame[(y + gy * scale + dy) * side + cursor + gx * scale + dx] = 255;
                        }
                    }
                }
            }
        }
        cursor += 6 * scale;
    }
    (frame, [x, y, cursor - x - scale, 7 * scale])
}

fn us_file(frame: Vec<u8>) -> Vec<u8> {
    us_file_claiming(frame, "YES")
}

/// An 8-bit 256×256 ultrasound file whose BurnedInAnnotation is `annotation`.
fn us_file_claiming(frame: Vec<u8>, annotation: &str) -> Vec<u8> {
    us_file_with(frame, annotation, "MONOCHROME2", [])
}

/// An 8-bit 256×256 ultrasound file of photometric interpretation `photometric`, with
/// `extra` elements (lookup tables).
fn us_file_with(
    frame: Vec<u8>,
    annotation: &str,
    photometric: &str,
    extra: impl IntoIterator<Item = dicom_object::mem::InMemElement>,
) -> Vec<u8> {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    use dicom_object::mem::InMemDicomObject;
    use dicom_object::meta::FileMetaTableBuilder;
    let el = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
    let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    let mut object = InMemDicomObject::from_element_iter([
        el(tags::SOP_CLASS_UID, VR::UI, "1.2.840.10008.5.1.4.1.1.6.1"),
        el(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.10.9999.77.1",
        ),
        el(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.10.9999.77.2",
        ),
        el(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.10.9999.77.3",
        ),
        el(tags::PATIENT_ID, VR::LO, "PID-77"),
        el(tags::MODALITY, VR::CS, "US"),
        el(tags::BURNED_IN_ANNOTATION, VR::CS, annotation),
        us(tags::SAMPLES_PER_PIXEL, 1),
        el(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, photometric),
        us(tags::ROWS, 256),
        us(tags::COLUMNS, 256),
        us(tags::BITS_ALLOCATED, 8),
        us(tags::BITS_STORED, 8),
        us(tags::HIGH_BIT, 7),
        us(tags::PIXEL_REPRESENTATION, 0),
        DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::from(frame)),
    ]);
    for element in extra {
        object.put(element);
    }
    let file = object
        .with_meta(
            FileMetaTableBuilder::new()
                .transfer_syntax("1.2.840.10008.1.2.1")
                .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.6.1")
                .media_storage_sop_instance_uid("1.2.826.0.1.3680043.10.9999.77.1"),
        )
        .unwrap();
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).unwrap();
    bytes
}

#[test]
fn burned_in_files_without_a_rule_can_go_to_the_detector() {
    let (frame, [bx, by, bw, bh]) = frame_with_text("DOE JOHN 1919", 20, 10, 2);
    let bytes = us_file(frame.clone());
    let quarantine = deidentifier("extends: basic\n");
    assert!(matches!(
        process_bytes(&quarantine, &bytes, MAX),
        FileOutcome::Quarantined(_)
    ));
    let detect = deidentifier("extends: basic\npixel:\n  burned_in_without_rule: detect\n");
    let FileOutcome::Written(out) = process_bytes(&detect, &bytes, MAX) else {
        panic!("the detector's file is written");
    };
    let report = out.pixel.as_ref().unwrap();
    assert_eq!(report.masked_by, ["detector"]);
    let output = open(&out.bytes).unwrap();
    let after = output
        .element(tags::PIXEL_DATA)
        .unwrap()
        .to_bytes()
        .unwrap();
    // Every text pixel is masked; pixels outside the reported regions are untouched.
    for row in by..by + bh {
        for col in bx..bx + bw {
            if frame[row * 256 + col] == 255 {
                assert_eq!(
                    after[row * 256 + col],
                    0,
                    "text pixel ({col}, {row}) unmasked"
                );
            }
        }
    }
    let inside = |col: usize, row: usize| {
        report.regions.iter().any(|r| {
            (r.x as usize..(r.x + r.width) as usize).contains(&col)
                && (r.y as usize..(r.y + r.height) as usize).contains(&row)
        })
    };
    for row in 0..256 {
        for col in 0..256 {
            if !inside(col, row) {
                assert_eq!(after[row * 256 + col], frame[row * 256 + col]);
            }
        }
    }
    assert_eq!(
        output
            .element(tags::BURNED_IN_ANNOTATION)
            .unwrap()
            .to_str()
            .unwrap(),
        "NO"
    );
}

/// A palette-colour ultrasound frame: grey speckle and white text as entries 0-127 (a grey
/// ramp), and a colour-flow blob of red and yellow entries (128-255) in the sector. Returns the
/// frame of indices, the file, the text's box and the blob's box.
fn palette_doppler() -> (Vec<u8>, Vec<u8>, [usize; 4], [usize; 4]) {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    let (grey, text) = frame_with_text("DOE JOHN 1919", 20, 10, 2);
    let mut frame: Vec<u8> = grey.iter().map(|&v| v / 2).collect();
    let blob = [90, 110, 80, 60];
    let mut seed = 0x9e37_79b9_u32;
    for row in blob[1]..blob[1] + blob[3] {
        for col in blob[0]..blob[0] + blob[2] {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            frame[row * 256 + col] = 128 + (seed % 128) as u8;
        }
    }
    let entry = |i: u16| -> [u16; 3] {
        match i {
            0..128 => [i * 2; 3],
            128..192 => [150 + (i - 128), 10 + (i - 128) / 4, 10],
            _ => [250, 150 + (i - 192), 0],
        }
    };
    let table = |c: usize| -> Vec<u16> { (0..256).map(|i| entry(i)[c] * 257).collect() };
    let lut = |tag, c| DataElement::new(tag, VR::OW, PrimitiveValue::U16(table(c).into()));
    let descriptor = |tag| {
        DataElement::new(
            tag,
            VR::US,
            PrimitiveValue::U16([256u16, 0, 16].into_iter().collect()),
        )
    };
    let file = us_file_with(
        frame.clone(),
        "YES",
        "PALETTE COLOR",
        [
            descriptor(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR),
            descriptor(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR),
            descriptor(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR),
            lut(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA, 0),
            lut(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA, 1),
            lut(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA, 2),
        ],
    );
    (frame, file, text, blob)
}

#[test]
fn palette_doppler_is_examined_in_colour_text_masked_and_flow_kept() {
    let (frame, bytes, [tx, ty, tw, th], [bx, by, bw, bh]) = palette_doppler();
    let detect = deidentifier("extends: basic\npixel:\n  burned_in_without_rule: detect\n");
    let FileOutcome::Written(out) = process_bytes(&detect, &bytes, MAX) else {
        panic!("the detector's file is written");
    };
    let report = out.pixel.as_ref().unwrap();
    assert_eq!(report.masked_by, ["detector"]);
    assert_eq!(out.transfer_syntax, EXPLICIT_LE);
    let output = open(&out.bytes).unwrap();
    assert_eq!(
        output
            .element(tags::PHOTOMETRIC_INTERPRETATION)
            .unwrap()
            .to_str()
            .unwrap()
            .trim(),
        "PALETTE COLOR"
    );
    let after = output
        .element(tags::PIXEL_DATA)
        .unwrap()
        .to_bytes()
        .unwrap();
    // The text takes the darkest entry (index 0, black) ...
    for row in ty..ty + th {
        for col in tx..tx + tw {
            if frame[row * 256 + col] == 127 {
                assert_eq!(after[row * 256 + col], 0, "text pixel ({col}, {row})");
            }
        }
    }
    // ... and not one pixel of the colour flow changes.
    for row in by..by + bh {
        for col in bx..bx + bw {
            let i = row * 256 + col;
            assert_eq!(after[i], frame[i], "flow pixel ({col}, {row}) changed");
        }
    }
}

/// The code values of DeidentificationMethodCodeSequence.
fn method_codes(object: &DefaultDicomObject) -> Vec<String> {
    object
        .element(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .map(|e| {
            e.items()
                .unwrap_or_default()
                .iter()
                .filter_map(|i| i.element(tags::CODE_VALUE).ok()?.to_str().ok())
                .map(|c| c.trim().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn text_of(object: &DefaultDicomObject, tag: dicom_core::Tag) -> String {
    object
        .element(tag)
        .ok()
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// The same ultrasound frame without text, stored native and as RLE Lossless.
fn text_free_files(annotation: &str) -> Vec<(&'static str, Vec<u8>)> {
    let (frame, _) = frame_with_text(" ", 0, 0, 1);
    let native = us_file_claiming(frame, annotation);
    let rle = reencode_rle(&native);
    vec![(EXPLICIT_LE, native), (RLE, rle)]
}

/// `bytes` (8-bit, one frame) rewritten as RLE Lossless by the tool's encoder.
fn reencode_rle(bytes: &[u8]) -> Vec<u8> {
    use dicom_core::value::{PixelFragmentSequence, Value};
    use dicom_core::{DataElement, VR};
    use dicom_deid::pixel::frames::Geometry;
    use dicom_encoding::TransferSyntaxIndex;
    let mut object = open(bytes).unwrap();
    let geometry = Geometry::from_header(&object).unwrap();
    let native = object
        .element(tags::PIXEL_DATA)
        .unwrap()
        .to_bytes()
        .unwrap();
    let fragment = dicom_deid::pixel::rle::encode_frame(&native, &geometry).unwrap();
    object.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(vec![0u32], vec![fragment])),
    ));
    object.meta_mut().set_transfer_syntax(
        dicom_transfer_syntax_registry::TransferSyntaxRegistry
            .get(RLE)
            .unwrap(),
    );
    let mut out = Vec::new();
    object.write_all(&mut out).unwrap();
    out
}

/// The PixelData element's value bytes: native bytes, or every fragment in turn.
fn pixel_bytes(object: &DefaultDicomObject) -> Vec<u8> {
    let element = object.element(tags::PIXEL_DATA).unwrap();
    match element.fragments() {
        Some(fragments) => fragments.concat(),
        None => element.to_bytes().unwrap().into_owned(),
    }
}

#[test]
fn a_text_free_image_under_detect_keeps_its_pixels_syntax_and_marks() {
    let detect = deidentifier("extends: basic\npixel:\n  burned_in_without_rule: detect\n");
    for (ts, bytes) in text_free_files("NO") {
        let original = open(&bytes).unwrap();
        assert_eq!(original.meta().transfer_syntax().trim_end_matches('\0'), ts);
        let FileOutcome::Written(out) = process_bytes(&detect, &bytes, MAX) else {
            panic!("{ts}: the examined file is written");
        };
        let report = out.pixel.as_ref().unwrap();
        assert_eq!(report.check, PixelCheck::Examined, "{ts}");
        assert!(
            report.masked_by.is_empty() && report.regions.is_empty(),
            "{ts}"
        );
        assert_eq!(report.decoded_from, None, "{ts}");
        assert_eq!(out.transfer_syntax, ts);
        let output = open(&out.bytes).unwrap();
        assert_eq!(pixel_bytes(&output), pixel_bytes(&original), "{ts}");
        assert_eq!(text_of(&output, tags::BURNED_IN_ANNOTATION), "NO", "{ts}");
        assert!(
            !method_codes(&output).contains(&"113101".to_owned()),
            "{ts}: {:?}",
            method_codes(&output)
        );
    }
}

#[test]
fn a_yes_image_with_nothing_found_follows_the_stated_policy() {
    let detect = "extends: basic\npixel:\n  burned_in_without_rule: detect\n";
    let quarantine = deidentifier(detect);
    let keep = deidentifier(&format!("{detect}  burned_in_claimed_not_found: keep\n"));
    for (ts, bytes) in text_free_files("YES") {
        let FileOutcome::Quarantined(reason) = process_bytes(&quarantine, &bytes, MAX) else {
            panic!("{ts}: claimed but not found is quarantined by default");
        };
        assert_eq!(reason.code, Code::BurnedInClaimedNotFound, "{ts}");
        assert!(
            reason.text.contains("burned_in_claimed_not_found"),
            "{reason}"
        );
        let FileOutcome::Written(out) = process_bytes(&keep, &bytes, MAX) else {
            panic!("{ts}: kept by policy");
        };
        assert_eq!(out.pixel.as_ref().unwrap().check, PixelCheck::Examined);
        assert_eq!(out.transfer_syntax, ts);
        let output = open(&out.bytes).unwrap();
        assert_eq!(pixel_bytes(&output), pixel_bytes(&open(&bytes).unwrap()));
        assert_eq!(text_of(&output, tags::BURNED_IN_ANNOTATION), "YES", "{ts}");
        assert!(!method_codes(&output).contains(&"113101".to_owned()));
    }
}

#[test]
fn text_found_in_an_rle_image_is_masked_and_stays_rle() {
    let (frame, _) = frame_with_text("DOE JOHN 1919", 20, 10, 2);
    let bytes = reencode_rle(&us_file(frame));
    let detect = deidentifier("extends: basic\npixel:\n  burned_in_without_rule: detect\n");
    let FileOutcome::Written(out) = process_bytes(&detect, &bytes, MAX) else {
        panic!("the masked file is written");
    };
    let report = out.pixel.as_ref().unwrap();
    assert_eq!(report.check, PixelCheck::Masked);
    assert_eq!(report.masked_by, ["detector"]);
    assert_eq!(out.transfer_syntax, RLE);
    let output = open(&out.bytes).unwrap();
    assert_eq!(text_of(&output, tags::BURNED_IN_ANNOTATION), "NO");
    assert!(method_codes(&output).contains(&"113101".to_owned()));
    // dicom-pixeldata, not the tool, reads the masked RLE back.
    assert!(output.decode_pixel_data().is_ok());
    assert!(
        out.bytes.len() < bytes.len() + 4096,
        "{} vs {}",
        out.bytes.len(),
        bytes.len()
    );
}

#[test]
fn text_found_in_a_baseline_jpeg_is_masked_in_the_dct_domain_and_stays_jpeg() {
    use dicom_core::value::{PixelFragmentSequence, Value};
    use dicom_core::{DataElement, VR};
    use dicom_encoding::TransferSyntaxIndex;
    let (frame, [bx, by, bw, bh]) = frame_with_text("DOE JOHN 1919", 20, 10, 2);
    let mut jpeg = Vec::new();
    jpeg_encoder::Encoder::new(&mut jpeg, 92)
        .encode(&frame, 256, 256, jpeg_encoder::ColorType::Luma)
        .unwrap();
    let mut object = open(&us_file_claiming(frame, "NO")).unwrap();
    object.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(vec![0u32], vec![jpeg])),
    ));
    object.meta_mut().set_transfer_syntax(
        dicom_transfer_syntax_registry::TransferSyntaxRegistry
            .get(JPEG_8_BIT[0])
            .unwrap(),
    );
    let mut bytes = Vec::new();
    object.write_all(&mut bytes).unwrap();
    let detect = deidentifier("extends: basic\npixel:\n  burned_in_without_rule: detect\n");
    let FileOutcome::Written(out) = process_bytes(&detect, &bytes, MAX) else {
        panic!("the masked file is written");
    };
    let report = out.pixel.as_ref().unwrap();
    assert_eq!(report.masked_by, ["detector"]);
    assert_eq!(out.transfer_syntax, JPEG_8_BIT[0], "still baseline JPEG");
    assert_eq!(report.decoded_from, None);
    assert!(out.bytes.len() < bytes.len() + 1024);
    let output = open(&out.bytes).unwrap();
    assert!(method_codes(&output).contains(&"113101".to_owned()));
    let before = decode(&object).unwrap();
    let after = decode(&output).unwrap();
    let masked = |col: usize, row: usize| {
        report.regions.iter().any(|r| {
            (r.x as usize..(r.x + r.width) as usize).contains(&col)
                && (r.y as usize..(r.y + r.height) as usize).contains(&row)
        })
    };
    for row in 0..256 {
        for col in 0..256 {
            let (a, b) = (
                after.values[row * 256 + col],
                before.values[row * 256 + col],
            );
            if (bx..bx + bw).contains(&col) && (by..by + bh).contains(&row) {
                assert_eq!(a, 0, "text pixel ({col}, {row}) unmasked");
            } else if !masked(col, row) {
                // Grey has no subsampled chroma: every pixel outside the masked blocks decodes
                // as it did.
                assert_eq!(a, b, "({col}, {row}) changed outside the masked blocks");
            }
        }
    }
}
