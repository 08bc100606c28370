//! What burned-in text handling costs in bytes: generates a mixed export (55% ultrasound and
//! secondary captures, cines included, half of them with burned-in text), de-identifies it
//! with `burned_in_without_rule: detect`, and prints input and output bytes per kind of image
//! with what became of the pixels (masked, examined and left as they came, quarantined).
//!
//! Usage: `cargo run --release --example pixel-bytes -- WORK_DIR [FILES]` (default 200 files;
//! WORK_DIR must not exist). Runs the release binary next to this example.
//!
//! Kinds, in turn: US 640×480 RGB JPEG baseline (25%), US cine 640×480 × 8 frames JPEG
//! baseline (10%), SC 1024×768 grey RLE Lossless (10%), SC 800×600 RGB native (10%), CT 512×512
//! 16-bit native (30%), MR 256×256 16-bit native (15%). Text (fake names, dates, a device) is
//! drawn in DejaVu Sans on every other US and SC image; CT and MR have none. Every value is
//! fake and every file is the same bytes on every run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use dicom_core::value::{PixelFragmentSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, VR};
use dicom_deid::pixel::frames::Geometry;
use dicom_deid::pixel::rle;
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

const FONT: &[u8] = include_bytes!("../testdata/fonts/DejaVuSans.ttf");
const ROOT: &str = "1.2.826.0.1.3680043.10.9999.78";

/// One kind of image: its name (and folder), and how many of every 20 files are of it.
struct Kind {
    name: &'static str,
    per_20: usize,
}

const KINDS: [Kind; 6] = [
    Kind {
        name: "US-jpeg",
        per_20: 5,
    },
    Kind {
        name: "US-cine-jpeg",
        per_20: 2,
    },
    Kind {
        name: "SC-grey-rle",
        per_20: 2,
    },
    Kind {
        name: "SC-rgb-native",
        per_20: 2,
    },
    Kind {
        name: "CT-native",
        per_20: 6,
    },
    Kind {
        name: "MR-native",
        per_20: 3,
    },
];

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A grey frame: speckle in a fan below the top band (ultrasound-like), or a smooth body
/// with noise (CT/MR-like) when `smooth`.
fn grey_frame(w: usize, h: usize, seed: u64, smooth: bool) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let (cx, cy) = (w as f64 / 2.0, h as f64 * 0.12);
    (0..w * h)
        .map(|i| {
            let (x, y) = ((i % w) as f64, (i / w) as f64);
            let (dx, dy) = (x - cx, y - cy);
            let r = (dx * dx + dy * dy).sqrt();
            let inside = if smooth {
                (dx / (w as f64 * 0.42)).powi(2) + ((y - h as f64 / 2.0) / (h as f64 * 0.4)).powi(2)
                    < 1.0
            } else {
                dy > 0.0 && dx.abs() < dy * 0.8 && r < h as f64 * 0.85
            };
            if !inside {
                return 0;
            }
            let noise = (rng.next() % 48) as f64;
            let base = if smooth {
                90.0
            } else {
                40.0 + 50.0 * (r / 90.0).sin().abs()
            };
            (base + noise) as u8
        })
        .collect()
}

/// Draw `lines` in white from the top left of a `w`-wide grey frame.
fn draw_text(frame: &mut [u8], w: usize, lines: &[String]) {
    let font = FontRef::try_from_slice(FONT).expect("bundled font");
    let scale = PxScale::from(18.0);
    let scaled = font.as_scaled(scale);
    for (n, line) in lines.iter().enumerate() {
        let mut x = 12.0;
        let baseline = 24.0 + n as f32 * 22.0;
        for c in line.chars() {
            let glyph = font
                .glyph_id(c)
                .with_scale_and_position(scale, point(x, baseline));
            x += scaled.h_advance(font.glyph_id(c));
            if let Some(outline) = font.outline_glyph(glyph) {
                let b = outline.px_bounds();
                outline.draw(|gx, gy, cov| {
                    let (px, py) = (
                        b.min.x as usize + gx as usize,
                        b.min.y as usize + gy as usize,
                    );
                    if px < w && cov > 0.5 {
                        frame[py * w + px] = 255;
                    }
                });
            }
        }
    }
}

fn rgb(grey: &[u8]) -> Vec<u8> {
    grey.iter()
        .flat_map(|&v| [v, v, v.saturating_add(8)])
        .collect()
}

fn jpeg(rgb: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, 90);
    encoder.set_sampling_factor(SamplingFactor::F_2_1);
    encoder
        .encode(rgb, w as u16, h as u16, ColorType::Rgb)
        .expect("JPEG encodes");
    out
}

fn text_lines(i: usize) -> Vec<String> {
    vec![
        format!("DOE^JOHN {i:05}  ID 7{i:06}"),
        "03/12/2024 10:15:02  ACME SONO 9".to_owned(),
    ]
}

/// The header of file `i` of kind `kind`.
fn header(i: usize, modality: &str, sop_class: &str) -> InMemDicomObject {
    let el = |tag, vr, v: String| DataElement::new(tag, vr, PrimitiveValue::from(v));
    InMemDicomObject::from_element_iter([
        el(tags::SOP_CLASS_UID, VR::UI, sop_class.to_owned()),
        el(tags::SOP_INSTANCE_UID, VR::UI, format!("{ROOT}.3.{i}")),
        el(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            format!("{ROOT}.1.{}", i / 10),
        ),
        el(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            format!("{ROOT}.2.{}", i / 5),
        ),
        el(tags::PATIENT_NAME, VR::PN, format!("DOE^JOHN{}", i / 10)),
        el(tags::PATIENT_ID, VR::LO, format!("PID{:05}", i / 10)),
        el(tags::STUDY_DATE, VR::DA, "20240312".to_owned()),
        el(tags::MODALITY, VR::CS, modality.to_owned()),
        el(tags::BURNED_IN_ANNOTATION, VR::CS, "NO".to_owned()),
    ])
}

fn put_image(o: &mut InMemDicomObject, w: usize, h: usize, samples: u16, bits: u16, pi: &str) {
    let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
    o.put(us(tags::ROWS, h as u16));
    o.put(us(tags::COLUMNS, w as u16));
    o.put(us(tags::SAMPLES_PER_PIXEL, samples));
    o.put(us(tags::BITS_ALLOCATED, bits));
    o.put(us(tags::BITS_STORED, bits));
    o.put(us(tags::HIGH_BIT, bits - 1));
    o.put(us(tags::PIXEL_REPRESENTATION, 0));
    if samples == 3 {
        o.put(us(tags::PLANAR_CONFIGURATION, 0));
    }
    o.put(DataElement::new(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        PrimitiveValue::from(pi),
    ));
}

fn encapsulated(fragments: Vec<Vec<u8>>) -> DataElement<InMemDicomObject> {
    DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        Value::PixelSequence(PixelFragmentSequence::new(Vec::<u32>::new(), fragments)),
    )
}

/// File `i` of kind `k`: its data set and transfer syntax.
fn make(k: usize, i: usize) -> (InMemDicomObject, &'static str) {
    let text = i.is_multiple_of(2);
    let seed = i as u64 * 7919 + 1;
    let us_class = "1.2.840.10008.5.1.4.1.1.6.1";
    let sc_class = "1.2.840.10008.5.1.4.1.1.7";
    match KINDS[k].name {
        "US-jpeg" | "US-cine-jpeg" => {
            let frames = if KINDS[k].name == "US-jpeg" { 1 } else { 8 };
            let class = if frames == 1 {
                us_class
            } else {
                "1.2.840.10008.5.1.4.1.1.3.1"
            };
            let mut o = header(i, "US", class);
            put_image(&mut o, 640, 480, 3, 8, "YBR_FULL_422");
            let fragments = (0..frames)
                .map(|f| {
                    let mut g = grey_frame(640, 480, seed + f, false);
                    if text {
                        draw_text(&mut g, 640, &text_lines(i));
                    }
                    jpeg(&rgb(&g), 640, 480)
                })
                .collect();
            if frames > 1 {
                o.put(DataElement::new(
                    tags::NUMBER_OF_FRAMES,
                    VR::IS,
                    PrimitiveValue::from(frames.to_string()),
                ));
            }
            o.put(DataElement::new(
                tags::LOSSY_IMAGE_COMPRESSION,
                VR::CS,
                PrimitiveValue::from("01"),
            ));
            o.put(encapsulated(fragments));
            (o, uids::JPEG_BASELINE8_BIT)
        }
        "SC-grey-rle" => {
            let mut o = header(i, "OT", sc_class);
            put_image(&mut o, 1024, 768, 1, 8, "MONOCHROME2");
            let mut g = grey_frame(1024, 768, seed, false);
            if text {
                draw_text(&mut g, 1024, &text_lines(i));
            }
            let geometry = Geometry::from_header(&o).expect("geometry");
            o.put(encapsulated(vec![
                rle::encode_frame(&g, &geometry).expect("RLE encodes"),
            ]));
            (o, uids::RLE_LOSSLESS)
        }
        "SC-rgb-native" => {
            let mut o = header(i, "OT", sc_class);
            put_image(&mut o, 800, 600, 3, 8, "RGB");
            let mut g = grey_frame(800, 600, seed, false);
            if text {
                draw_text(&mut g, 800, &text_lines(i));
            }
            o.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PrimitiveValue::from(rgb(&g)),
            ));
            (o, uids::EXPLICIT_VR_LITTLE_ENDIAN)
        }
        name => {
            let side = if name == "CT-native" { 512 } else { 256 };
            let (modality, class) = if name == "CT-native" {
                ("CT", "1.2.840.10008.5.1.4.1.1.2")
            } else {
                ("MR", "1.2.840.10008.5.1.4.1.1.4")
            };
            let mut o = header(i, modality, class);
            put_image(&mut o, side, side, 1, 16, "MONOCHROME2");
            let words: Vec<u16> = grey_frame(side, side, seed, true)
                .into_iter()
                .map(|v| u16::from(v) * 8)
                .collect();
            o.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OW,
                PrimitiveValue::U16(words.into()),
            ));
            (o, uids::EXPLICIT_VR_LITTLE_ENDIAN)
        }
    }
}

fn kind_of(i: usize) -> usize {
    let mut slot = i % 20;
    for (k, kind) in KINDS.iter().enumerate() {
        if slot < kind.per_20 {
            return k;
        }
        slot -= kind.per_20;
    }
    unreachable!("the shares add up to 20")
}

fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("dicom-deid"))
        .expect("the release binary next to examples/")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let work = PathBuf::from(args.first().expect("usage: pixel-bytes WORK_DIR [FILES]"));
    let files: usize = args.get(1).map_or(200, |n| n.parse().expect("FILES"));
    assert!(!work.exists(), "WORK_DIR must not exist");
    let input = work.join("in");
    for i in 0..files {
        let k = kind_of(i);
        let (object, ts) = make(k, i);
        let dir = input.join(KINDS[k].name);
        std::fs::create_dir_all(&dir).unwrap();
        let file = object
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax(ts)
                    .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
                    .media_storage_sop_instance_uid(format!("{ROOT}.3.{i}")),
            )
            .expect("meta");
        file.write_to_file(dir.join(format!("{i:05}.dcm")))
            .expect("written");
    }
    let profile = work.join("detect.yaml");
    std::fs::write(
        &profile,
        "extends: basic\npixel:\n  burned_in_without_rule: detect\n",
    )
    .unwrap();
    let key = work.join("key");
    let status = Command::new(binary())
        .args(["keygen", key.to_str().unwrap()])
        .output()
        .expect("keygen");
    assert!(status.status.success(), "keygen");
    let output = work.join("out");
    let run = Command::new(binary())
        .args(["run", "--manifest-paths", "-q", "--key-file"])
        .arg(&key)
        .arg("--profile")
        .arg(&profile)
        .arg(&input)
        .arg(&output)
        .output()
        .expect("dicom-deid runs (cargo build --release first)");
    assert!(run.status.code().is_some_and(|c| c < 2), "run: {run:?}");
    report(&output.join("manifest.jsonl"));
}

/// Bytes in and out and pixel outcomes per kind, from the manifest.
fn report(manifest: &Path) {
    #[derive(Default)]
    struct Row {
        files: u64,
        bytes_in: u64,
        bytes_out: u64,
        outcomes: BTreeMap<String, u64>,
        syntaxes: BTreeMap<String, u64>,
    }
    let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
    let text = std::fs::read_to_string(manifest).expect("manifest");
    for line in text.lines() {
        let r: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let input = r["input"].as_str().unwrap_or_default();
        let Some(kind) = KINDS.iter().find(|k| input.starts_with(k.name)) else {
            continue;
        };
        let row = rows.entry(kind.name).or_default();
        row.files += 1;
        row.bytes_in += r["bytes_in"].as_u64().unwrap_or(0);
        row.bytes_out += r["bytes_out"].as_u64().unwrap_or(0);
        let outcome = r["pixel_check"]
            .as_str()
            .or(r["code"].as_str())
            .unwrap_or("untouched");
        *row.outcomes.entry(outcome.to_owned()).or_default() += 1;
        if let Some(ts) = r["transfer_syntax"].as_str() {
            *row.syntaxes.entry(ts.to_owned()).or_default() += 1;
        }
    }
    println!("| kind | files | MB in | MB out | out/in | pixels | written as |");
    println!("|---|---:|---:|---:|---:|---|---|");
    let (mut all_in, mut all_out) = (0, 0);
    for (name, row) in &rows {
        all_in += row.bytes_in;
        all_out += row.bytes_out;
        println!(
            "| {name} | {} | {:.1} | {:.1} | {:.2} | {} | {} |",
            row.files,
            row.bytes_in as f64 / 1e6,
            row.bytes_out as f64 / 1e6,
            row.bytes_out as f64 / row.bytes_in.max(1) as f64,
            join(&row.outcomes),
            join(&row.syntaxes),
        );
    }
    println!(
        "| all | | {:.1} | {:.1} | {:.2} | | |",
        all_in as f64 / 1e6,
        all_out as f64 / 1e6,
        all_out as f64 / all_in.max(1) as f64
    );
}

fn join(counts: &BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}
