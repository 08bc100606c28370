//! The direct reader builds exactly the object dicom-rs builds, or declines: on every corpus
//! and sample file, on the bench trees' files, and on thousands of damaged variants of them
//! (only those the scanner lets through, as in a run).

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::*;
use dicom_deid::dicom::reader;
use dicom_deid::dicom::scan::{self, Encoding};
use dicom_dictionary_std::uids;
use dicom_encoding::TransferSyntaxIndex;
use dicom_encoding::text::SpecificCharacterSet;
use dicom_object::mem::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

/// The generator's file builders; these tests use only some of them.
#[allow(dead_code)]
#[path = "../examples/generate-bench-tree/files.rs"]
mod files;

/// How the direct reader did on one data set.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    /// The scanner refuses the file, or its syntax is not read here: not compared.
    Skipped,
    /// Read, and equal to dicom-rs's object.
    Same,
    /// Declined; dicom-rs read it.
    Declined,
    /// Declined; dicom-rs failed or panicked.
    DeclinedFault,
}

/// Compare the direct reader with dicom-rs on one Part 10 file; panics on any difference.
fn compare(bytes: &[u8], what: &str) -> Verdict {
    // As in a run: only what the scanner passes, and no CP-246 UN (dicom-rs reads its
    // undefined length as 4 GiB).
    let Ok(layout) = scan::scan(bytes) else {
        return Verdict::Skipped;
    };
    if layout.undefined_length_un {
        return Verdict::Skipped;
    }
    let ts_uid = match (&layout.transfer_syntax, layout.encoding) {
        (_, Encoding::DeflatedExplicitLE) => return Verdict::Skipped,
        (Some(ts), _) => ts.clone(),
        (None, Encoding::ImplicitLE) => uids::IMPLICIT_VR_LITTLE_ENDIAN.to_owned(),
        (None, Encoding::ExplicitLE) => uids::EXPLICIT_VR_LITTLE_ENDIAN.to_owned(),
        (None, _) => return Verdict::Skipped,
    };
    let Some(ts) = TransferSyntaxRegistry.get(&ts_uid) else {
        return Verdict::Skipped;
    };
    let data = &bytes[layout.dataset_offset as usize..];
    let direct = reader::read_dataset(data, ts, SpecificCharacterSet::default());
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        InMemDicomObject::read_dataset_with_ts(data, ts)
    }));
    match (direct, parsed) {
        (Some(direct), Ok(Ok(parsed))) => {
            if let Some(at) = difference(&direct, &parsed) {
                panic!("{what}: the direct reader's object differs at {at}");
            }
            Verdict::Same
        }
        (Some(_), _) => panic!("{what}: read directly, but dicom-rs fails on it"),
        (None, Ok(Ok(_))) => Verdict::Declined,
        (None, _) => Verdict::DeclinedFault,
    }
}

/// Where two objects first differ, if they do: the tag path and both elements (test files
/// only). dicom-core's `==` cannot be used, since it holds two undefined lengths unequal.
fn difference(a: &InMemDicomObject, b: &InMemDicomObject) -> Option<String> {
    use dicom_core::header::HasLength;
    use dicom_core::value::Value;
    let (ta, tb): (Vec<_>, Vec<_>) = (a.tags().collect(), b.tags().collect());
    if ta != tb {
        return Some(format!("tags {ta:?} vs {tb:?}"));
    }
    for tag in ta {
        let (ea, eb) = (a.get(tag).unwrap(), b.get(tag).unwrap());
        let same_header = ea.vr() == eb.vr() && ea.length().inner_eq(eb.length());
        let same = same_header
            && match (ea.value(), eb.value()) {
                (Value::Primitive(pa), Value::Primitive(pb)) => pa == pb,
                (Value::Sequence(sa), Value::Sequence(sb)) => {
                    if !sa.length().inner_eq(sb.length()) || sa.items().len() != sb.items().len() {
                        false
                    } else {
                        for (i, (ia, ib)) in sa.items().iter().zip(sb.items()).enumerate() {
                            if let Some(d) = difference(ia, ib) {
                                return Some(format!("{tag} item {i} > {d}"));
                            }
                        }
                        true
                    }
                }
                _ => false,
            };
        if !same {
            return Some(format!("{tag}: {ea:?} vs {eb:?}"));
        }
    }
    None
}

fn sample_files() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let dirs = [
        corpus_or_skip("direct reader on corpus files"),
        testdata_or_skip("direct reader on sample files"),
    ];
    for path in dirs.iter().flatten().flat_map(|d| files_under(d)) {
        let bytes = std::fs::read(&path).unwrap();
        out.push((path.display().to_string(), bytes));
    }
    for i in 0..24 {
        for (kind, file) in [
            ("image", files::image_heavy(i)),
            ("header", files::header_heavy(i)),
        ] {
            let bytes = files::to_part10(&file.object, file.ts, &[]).unwrap();
            out.push((format!("bench {kind} file {i}"), bytes));
        }
    }
    out
}

#[test]
fn direct_reader_builds_what_dicom_rs_builds() {
    let mut tally = std::collections::BTreeMap::<String, usize>::new();
    for (what, bytes) in sample_files() {
        let verdict = compare(&bytes, &what);
        // Encapsulated pixel data and big endian are dicom-rs's; every bench file is read.
        assert!(
            !what.starts_with("bench") || verdict == Verdict::Same,
            "{what}: {verdict:?}"
        );
        *tally.entry(format!("{verdict:?}")).or_default() += 1;
    }
    eprintln!("{tally:?}");
    assert!(
        tally.get("Same").copied().unwrap_or(0) >= 150,
        "the direct reader should read most files: {tally:?}"
    );
}

/// Truncations, byte flips and length changes of every sample file: whatever the reader
/// accepts, dicom-rs reads to the same object.
#[test]
fn direct_reader_agrees_on_damaged_files() {
    let mut tally = std::collections::BTreeMap::<String, usize>::new();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n.max(1) as u64) as usize
    };
    for (what, bytes) in sample_files() {
        if !(200..=256 << 10).contains(&bytes.len()) {
            continue;
        }
        for round in 0..24 {
            let mut damaged = bytes.clone();
            let at = 132 + next(damaged.len() - 132);
            match round % 4 {
                0 => damaged.truncate(at),
                1 => damaged[at] ^= 1 << next(8),
                2 => damaged[at] = [0x00, 0xFF, b'\\', 0x1B, 0xE0][next(5)],
                _ => {
                    let end = (at + 4).min(damaged.len());
                    damaged[at..end].fill(0xFF);
                }
            }
            let verdict = compare(&damaged, &format!("{what}, damaged at {at} ({round})"));
            *tally.entry(format!("{verdict:?}")).or_default() += 1;
        }
    }
    eprintln!("{tally:?}");
    assert!(tally.get("Same").copied().unwrap_or(0) > 2000, "{tally:?}");
}
