//! Criterion benchmarks of the real per-file work: parse + de-identify + encode of
//! representative files (header only, pixel data passes through), and the keyed value
//! functions on their own. Files come from `../shared/corpus/` (absent files are skipped) and
//! from the generator of `benches/compare.sh`: a CT with three vendor private blocks, an MR,
//! a 100-item SR nested four deep, a 4-frame US cine and an enhanced MR with 32 per-frame
//! functional groups.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dicom_deid::deid::Deidentifier;
use dicom_deid::deid::one_file::{FileOutcome, process_bytes};
use dicom_deid::deid::uid::UidMapper;
use dicom_deid::dicom::file::{self, Parsed};
use dicom_deid::dicom::{dates, uid};
use dicom_deid::key::Key;
use dicom_deid::profile::Profile;

/// The generator's file builders; the benches use only some of them.
#[allow(dead_code)]
#[path = "../examples/generate-bench-tree/files.rs"]
mod files;

const FILES: &[&str] = &[
    "CT_small.dcm",
    "MR_small.dcm",
    "rtplan.dcm",
    "SC_rgb_rle_2frame.dcm",
    "test-SR.dcm",
];

fn per_file(c: &mut Criterion) {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/pydicom-3.0.2");
    let key = Key::from_bytes([7; 32]);
    for profile in ["basic", "ml-dataset"] {
        let deid = Deidentifier::new(Profile::load(profile).unwrap(), key.clone());
        let mut group = c.benchmark_group(format!("deidentify-file/{profile}"));
        for name in FILES {
            let Ok(bytes) = std::fs::read(corpus.join(name)) else {
                eprintln!("skipped {name}: not found under {}", corpus.display());
                continue;
            };
            group.throughput(Throughput::Bytes(bytes.len() as u64));
            group.bench_function(*name, |b| {
                b.iter(|| {
                    let Ok(Parsed::Dataset {
                        object,
                        transfer_syntax,
                    }) = file::parse(&bytes, 1 << 30)
                    else {
                        panic!("{name} does not parse");
                    };
                    let (object, _) = deid.deidentify(object);
                    file::encode(&object, &transfer_syntax).unwrap()
                })
            });
        }
        group.finish();
    }
}

/// Synthetic files through the library's one-file entry point, with `basic` keeping US
/// images unmasked (no pixel rule): every file is written, its pixel data passed through.
fn synthetic(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let profile = dir.path().join("passthrough.yaml");
    std::fs::write(
        &profile,
        "extends: basic\npixel: {burned_in_without_rule: keep}\n",
    )
    .unwrap();
    let deid = Deidentifier::new(
        Profile::load(profile.to_str().unwrap()).unwrap(),
        Key::from_bytes([7; 32]),
    );
    let cases = [
        ("ct-512-vendor-private", files::image_heavy(0)),
        ("mr-256", files::image_heavy(9)),
        ("us-cine-4-frames", files::image_heavy(17)),
        ("ct-64-long-header", files::header_heavy(0)),
        ("sr-100-items", files::header_heavy(1)),
        ("enhanced-mr-32-frames", files::header_heavy(2)),
    ];
    let mut group = c.benchmark_group("deidentify-file/synthetic");
    for (name, file) in cases {
        let bytes = files::to_part10(&file.object, file.ts, &[]).unwrap();
        assert!(
            matches!(
                process_bytes(&deid, &bytes, 1 << 30),
                FileOutcome::Written(_)
            ),
            "{name} is not written"
        );
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| b.iter(|| process_bytes(&deid, &bytes, 1 << 30)));
    }
    group.finish();
}

fn value_functions(c: &mut Criterion) {
    let mapper = UidMapper::new(Key::from_bytes([7; 32]), uid::UUID_ROOT);
    c.bench_function("uid-remap", |b| {
        b.iter(|| mapper.remap("1.2.826.0.1.3680043.10.9999.1.2.3.4.5.6.7"))
    });
    c.bench_function("date-shift-da", |b| {
        b.iter(|| dates::shift_da("20190312\\20200229", -400))
    });
    c.bench_function("date-shift-dt", |b| {
        b.iter(|| dates::shift_dt("20190312101530.123456+0100", -400))
    });
}

criterion_group!(benches, per_file, synthetic, value_functions);
criterion_main!(benches);
