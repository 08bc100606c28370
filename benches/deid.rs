//! Criterion benchmarks of the real per-file work: parse + de-identify + encode of
//! representative files (header only, pixel data passes through), and the keyed value
//! functions on their own. Files come from `../shared/corpus/`; absent files are skipped.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use dicom_deid::actions::Deidentifier;
use dicom_deid::dicom_file::{self, Parsed};
use dicom_deid::key::Key;
use dicom_deid::profile::Profile;
use dicom_deid::{dates, uid};

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
                    }) = dicom_file::parse(&bytes, 1 << 30)
                    else {
                        panic!("{name} does not parse");
                    };
                    let (object, _) = deid.deidentify(object);
                    dicom_file::encode(&object, &transfer_syntax).unwrap()
                })
            });
        }
        group.finish();
    }
}

fn value_functions(c: &mut Criterion) {
    let mapper = uid::UidMapper::new(Key::from_bytes([7; 32]), uid::UUID_ROOT);
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

criterion_group!(benches, per_file, value_functions);
criterion_main!(benches);
