//! Criterion benchmarks of pixel masking, in MB/s of decoded pixel data:
//! - masking native frames in place (a 20-frame 512×512 16-bit series, a band in every frame);
//! - a whole file through `process_bytes` with a masking rule, per transfer syntax: native,
//!   and decode → mask → re-encode (RLE Lossless, or Explicit VR Little Endian where smaller)
//!   for each compressed syntax.
//!
//! Files come from `../shared/corpus/`; absent files are skipped.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dicom_deid::deid::Deidentifier;
use dicom_deid::deid::one_file::{FileOutcome, process_bytes};
use dicom_deid::key::Key;
use dicom_deid::pixel::frames::{Geometry, Photometric};
use dicom_deid::pixel::{Fill, Region};
use dicom_deid::profile::Profile;

fn native_frames(c: &mut Criterion) {
    let g = Geometry {
        rows: 512,
        columns: 512,
        samples: 1,
        bits_allocated: 16,
        bits_stored: 12,
        high_bit: 11,
        signed: false,
        planar: false,
        photometric: Photometric::Monochrome2,
        frames: 20,
        palette: None,
    };
    let mut data = vec![0x55u8; g.total_len() as usize];
    let band = Region {
        x: 0,
        y: 0,
        width: 512,
        height: 64,
    };
    let mut group = c.benchmark_group("mask-native");
    group.throughput(Throughput::Bytes(data.len() as u64));
    group.bench_function("20x512x512x16-band", |b| {
        b.iter(|| {
            for f in 0..g.frames {
                g.mask(&mut data, f, band, Fill::Darkest);
            }
        })
    });
    group.finish();
}

/// (file, what it is)
const FILES: &[(&str, &str)] = &[
    ("CT_small.dcm", "native-explicit-le"),
    ("MR_small_bigendian.dcm", "native-explicit-be"),
    ("SC_rgb_jpeg_dcmtk.dcm", "jpeg-baseline"),
    ("SC_rgb_jpeg_gdcm.dcm", "jpeg-lossless"),
    ("MR_small_jp2klossless.dcm", "j2k-lossless"),
    ("JPEG2000.dcm", "j2k"),
    ("MR_small_RLE.dcm", "rle-16bit"),
    ("SC_rgb_rle_2frame.dcm", "rle-rgb-2frame"),
    ("MR_small_jpeg_ls_lossless.dcm", "jpeg-ls-lossless"),
    ("SC_rgb_jls_lossy_sample.dcm", "jpeg-ls-near-lossless-rgb"),
];

fn decode_mask_encode(c: &mut Criterion) {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/pydicom-3.0.2");
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("mask.yaml");
    std::fs::write(
        &profile,
        "extends: basic\npixel:\n  rules:\n    - name: band\n      regions: [[0, 0, 4096, 16]]\n",
    )
    .unwrap();
    let deid = Deidentifier::new(
        Profile::load(profile.to_str().unwrap()).unwrap(),
        Key::from_bytes([7; 32]),
    );
    let mut group = c.benchmark_group("decode-mask-encode");
    group.sample_size(20);
    for (name, kind) in FILES {
        let Ok(bytes) = std::fs::read(corpus.join(name)) else {
            eprintln!("skipped {name}: not found under {}", corpus.display());
            continue;
        };
        let FileOutcome::Written(out) = process_bytes(&deid, &bytes, 1 << 30) else {
            eprintln!("skipped {name}: not masked by this build");
            continue;
        };
        // Throughput in decoded pixel bytes: the output holds them natively.
        group.throughput(Throughput::Bytes(out.bytes.len() as u64));
        group.bench_function(*kind, |b| b.iter(|| process_bytes(&deid, &bytes, 1 << 30)));
    }
    group.finish();
}

criterion_group!(benches, native_frames, decode_mask_encode);
criterion_main!(benches);
