//! The broken-input suite: thousands of damaged files generated from the corpus and the test
//! data (truncations, bit flips in headers, lying lengths, odd lengths, missing delimiters,
//! 10 000-deep nesting, wrong VRs, a 2 GiB pixel length in a 1 KiB file, a deflate bomb).
//!
//! Every case goes through `one_file::process_bytes` under a watchdog (a hang fails the test)
//! and an allocator that records the largest single allocation and the peak of live bytes of
//! the case, so "a declared length never allocates more than the file's size" is measured, not
//! assumed. A sample of every kind then goes through the real binary in one run, next to good
//! files, under an address-space limit: the broken ones end `failed` with a reason and the
//! rest of the run completes.
//!
//! Cases built to be broken must end `failed` with a reason. Random mutations (truncation at
//! any offset, random bit flips, odd lengths) can also yield a well-formed file — a truncation
//! between two elements is one — so for those a `written` outcome is accepted only when the
//! written file reads back.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use dicom_deid::deid::Deidentifier;
use dicom_deid::deid::one_file::{FileOutcome, process_bytes};
use dicom_deid::dicom::scan;
use dicom_deid::key::Key;
use dicom_deid::profile::Profile;

// ---------------------------------------------------------------------------------------------
// Measuring allocations of the current thread.

/// The system allocator, counting the current thread's live bytes, their peak and the largest
/// single request while a case runs.
struct Tracking;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn grew(size: usize) {
    let live = LIVE.get().saturating_add(size);
    LIVE.set(live);
    PEAK.set(PEAK.get().max(live));
    LARGEST.set(LARGEST.get().max(size));
}

fn shrank(size: usize) {
    LIVE.set(LIVE.get().saturating_sub(size));
}

unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrank(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        shrank(layout.size());
        grew(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Tracking = Tracking;

/// What one case allocated beyond what was live when it started.
struct Memory {
    peak: usize,
    largest: usize,
}

fn measured<T>(f: impl FnOnce() -> T) -> (T, Memory) {
    let base = LIVE.get();
    PEAK.set(base);
    LARGEST.set(0);
    let out = f();
    let memory = Memory {
        peak: PEAK.get() - base,
        largest: LARGEST.get(),
    };
    (out, memory)
}

// ---------------------------------------------------------------------------------------------
// Building files byte by byte (explicit VR little endian unless said otherwise).

const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";
const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
const CT_CLASS: &str = "1.2.840.10008.5.1.4.1.1.2";
const UNDEFINED: u32 = 0xFFFF_FFFF;
const ITEM: u32 = 0xFFFE_E000;
const ITEM_END: u32 = 0xFFFE_E00D;
const SEQ_END: u32 = 0xFFFE_E0DD;
const PIXEL_DATA: u32 = 0x7FE0_0010;
const REFERENCED_IMAGES: u32 = 0x0008_1140;
const LONG_VRS: [&[u8; 2]; 13] = [
    b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV", b"UV",
];

fn is_long(vr: &[u8; 2]) -> bool {
    LONG_VRS.contains(&vr)
}

/// An explicit VR LE header declaring `len`.
fn header(tag: u32, vr: &[u8; 2], len: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(12);
    out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
    out.extend_from_slice(&(tag as u16).to_le_bytes());
    out.extend_from_slice(vr);
    if is_long(vr) {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&len.to_le_bytes());
    } else {
        out.extend_from_slice(&(len as u16).to_le_bytes());
    }
    out
}

/// An explicit VR LE element; text values are padded to even length.
fn element(tag: u32, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut value = value.to_vec();
    if value.len() % 2 == 1 {
        value.push(if vr == b"UI" || vr == b"OB" { 0 } else { b' ' });
    }
    let mut out = header(tag, vr, value.len() as u32);
    out.extend_from_slice(&value);
    out
}

/// An item or delimiter (tag and 4-byte length, no VR), little or big endian.
fn marker(tag: u32, len: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(8);
    out.extend_from_slice(&((tag >> 16) as u16).to_le_bytes());
    out.extend_from_slice(&(tag as u16).to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out
}

/// An implicit VR LE element.
fn implicit(tag: u32, value: &[u8]) -> Vec<u8> {
    marker(tag, value.len() as u32)
        .into_iter()
        .chain(value.iter().copied())
        .collect()
}

/// The identifying elements every test file starts with (group 0008 to 0020).
fn identity(sop: &str) -> Vec<u8> {
    [
        element(0x0008_0016, b"UI", CT_CLASS.as_bytes()),
        element(0x0008_0018, b"UI", format!("1.2.3.4.5.{sop}").as_bytes()),
        element(0x0008_0060, b"CS", b"CT"),
        element(0x0010_0010, b"PN", b"BROKEN^CASE"),
        element(0x0010_0020, b"LO", b"BROKEN-1"),
        element(0x0020_000D, b"UI", b"1.2.3.4.6"),
        element(0x0020_000E, b"UI", b"1.2.3.4.7"),
    ]
    .concat()
}

/// The same identifying elements in implicit VR LE.
fn identity_implicit(sop: &str) -> Vec<u8> {
    [
        implicit(0x0008_0016, b"1.2.840.10008.5.1.4.1.1.2\0"),
        implicit(0x0008_0018, format!("1.2.3.4.5.{sop}\0").as_bytes()),
        implicit(0x0008_0060, b"CT"),
        implicit(0x0010_0020, b"BROKEN-1"),
        implicit(0x0020_000D, b"1.2.3.4.6\0"),
        implicit(0x0020_000E, b"1.2.3.4.7\0"),
    ]
    .concat()
}

/// Preamble, `DICM` and a file meta group for `ts`, then `dataset`.
fn part10(ts: &str, dataset: &[u8]) -> Vec<u8> {
    let body = [
        element(0x0002_0001, b"OB", &[0, 1]),
        element(0x0002_0002, b"UI", CT_CLASS.as_bytes()),
        element(0x0002_0003, b"UI", b"1.2.3.4.5.1"),
        element(0x0002_0010, b"UI", ts.as_bytes()),
    ]
    .concat();
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    out.extend_from_slice(&element(
        0x0002_0000,
        b"UL",
        &(body.len() as u32).to_le_bytes(),
    ));
    out.extend_from_slice(&body);
    out.extend_from_slice(dataset);
    out
}

/// A sequence of `depth` levels, each an item holding the next sequence; undefined lengths
/// with their delimiters, or defined lengths computed from the inside out.
fn nested(depth: usize, defined: bool) -> Vec<u8> {
    let mut inner = element(0x0008_1155, b"UI", b"1.2.3.4.9");
    for _ in 0..depth {
        inner = if defined {
            let item = [marker(ITEM, inner.len() as u32), inner].concat();
            [header(REFERENCED_IMAGES, b"SQ", item.len() as u32), item].concat()
        } else {
            [
                header(REFERENCED_IMAGES, b"SQ", UNDEFINED),
                marker(ITEM, UNDEFINED),
                inner,
                marker(ITEM_END, 0),
                marker(SEQ_END, 0),
            ]
            .concat()
        };
    }
    inner
}

/// The same nesting in implicit VR LE (undefined lengths).
fn nested_implicit(depth: usize) -> Vec<u8> {
    let mut inner = implicit(0x0008_1155, b"1.2.3.4.9\0");
    for _ in 0..depth {
        inner = [
            marker(REFERENCED_IMAGES, UNDEFINED),
            marker(ITEM, UNDEFINED),
            inner,
            marker(ITEM_END, 0),
            marker(SEQ_END, 0),
        ]
        .concat();
    }
    inner
}

/// A raw deflate stream that inflates to `mib` MiB of zero bytes, built from one compressed
/// MiB repeated (deflate blocks may follow each other freely), so it is quick to make.
fn deflate_bomb(mib: usize) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let zeros = vec![0u8; 1 << 20];
    let mut compress = Compress::new(Compression::best(), false);
    let mut block = Vec::with_capacity(4 << 10);
    compress
        .compress_vec(&zeros, &mut block, FlushCompress::Sync)
        .unwrap();
    assert_eq!(
        compress.total_in(),
        zeros.len() as u64,
        "one call compresses the MiB"
    );
    let mut tail = Vec::with_capacity(64);
    compress
        .compress_vec(&[], &mut tail, FlushCompress::Finish)
        .unwrap();
    let mut out = Vec::with_capacity(block.len() * mib + tail.len());
    for _ in 0..mib {
        out.extend_from_slice(&block);
    }
    out.extend_from_slice(&tail);
    out
}

// ---------------------------------------------------------------------------------------------
// Cases.

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Expect {
    /// Built to be broken: must end `failed` with a reason.
    Fail,
    /// A random mutation: `failed`, `skipped` as not DICOM, or `written` with a file that
    /// reads back.
    FailOrValid,
    /// Broken where a file without meta is recognised: `failed`, or `skipped` as not DICOM.
    FailOrNotDicom,
    /// Well-formed: must be written (controls that the builders make sound files).
    Write,
}

struct Case {
    kind: &'static str,
    name: String,
    bytes: Vec<u8>,
    expect: Expect,
    /// Holds a deflated data set: memory is bounded by the inflate cap, not the file size.
    deflated: bool,
    /// Built by hand (run under both profiles) rather than mutated from a seed (one profile).
    built: bool,
}

impl Case {
    fn new(kind: &'static str, name: impl Into<String>, bytes: Vec<u8>, expect: Expect) -> Self {
        Case {
            kind,
            name: name.into(),
            bytes,
            expect,
            deflated: kind.starts_with("deflate"),
            built: true,
        }
    }
}

/// A top-level header of a seed: where it is, its VR (`None` in implicit VR) and how many
/// bytes its length field has.
#[derive(Clone, Copy)]
struct Found {
    pos: usize,
    vr: Option<[u8; 2]>,
    len_at: usize,
    long: bool,
    len: u32,
}

/// The top-level headers of a little endian file from `start`, up to the first element of
/// undefined length (whose end needs a full parse). The meta group is always explicit.
fn top_headers(bytes: &[u8], start: usize, explicit: bool) -> Vec<Found> {
    let mut out = Vec::new();
    let mut pos = start;
    while pos + 8 <= bytes.len() {
        let tag = u32::from(u16::from_le_bytes([bytes[pos], bytes[pos + 1]])) << 16
            | u32::from(u16::from_le_bytes([bytes[pos + 2], bytes[pos + 3]]));
        if tag == 0 {
            break;
        }
        let found = if explicit {
            let vr = [bytes[pos + 4], bytes[pos + 5]];
            if is_long(&vr) {
                let Some(b) = bytes.get(pos + 8..pos + 12) else {
                    break;
                };
                Found {
                    pos,
                    vr: Some(vr),
                    len_at: pos + 8,
                    long: true,
                    len: u32::from_le_bytes(b.try_into().unwrap()),
                }
            } else {
                Found {
                    pos,
                    vr: Some(vr),
                    len_at: pos + 6,
                    long: false,
                    len: u32::from(u16::from_le_bytes([bytes[pos + 6], bytes[pos + 7]])),
                }
            }
        } else {
            Found {
                pos,
                vr: None,
                len_at: pos + 4,
                long: true,
                len: u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()),
            }
        };
        if found.len == UNDEFINED {
            break;
        }
        out.push(found);
        let value = found.len_at + if found.long { 4 } else { 2 };
        pos = value + found.len as usize;
    }
    out.retain(|f| f.len_at + 4 <= bytes.len());
    out
}

/// A tiny deterministic generator, so every run makes the same cases.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A seed: a well-formed file that the tool writes.
struct Seed {
    name: String,
    bytes: Vec<u8>,
}

/// Small well-formed files of the corpus and the test data (those the tool writes).
fn seeds(engine: &Deidentifier) -> Vec<Seed> {
    let mut dirs = vec![testdata_dir()];
    if let Some(corpus) = corpus_or_skip("broken_input") {
        dirs.push(corpus);
    }
    let mut seeds = Vec::new();
    for dir in dirs {
        for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
            let entry = entry.unwrap();
            if !entry.file_type().is_file() || entry.metadata().unwrap().len() > 48 << 10 {
                continue;
            }
            let bytes = fs::read(entry.path()).unwrap();
            if matches!(
                process_bytes(engine, &bytes, 64 << 20),
                FileOutcome::Written(_)
            ) {
                seeds.push(Seed {
                    name: rel_string(entry.path().strip_prefix(&dir).unwrap()),
                    bytes,
                });
            }
        }
    }
    seeds
}

/// Mutations of one seed: truncations, bit flips, lying, odd and wrong lengths and VRs.
fn seed_cases(seed: &Seed, rng: &mut XorShift, cases: &mut Vec<Case>) {
    let bytes = &seed.bytes;
    let name = &seed.name;
    let n = bytes.len();
    let layout = scan::scan(bytes).expect("seeds are well-formed");
    let first = cases.len();

    // Truncation at many offsets. Inside the pixel data value it must fail.
    let pixel_value = layout.pixel_data_offset.map(|p| p as usize + 12);
    let mut offsets: Vec<usize> = (1..16).map(|i| n * i / 16).collect();
    offsets.extend([1, 127, 128, 131, 132, 133, 140, n - 1, n - 2, n - 7]);
    if let Some(value) = pixel_value.filter(|&v| v + 2 < n) {
        offsets.extend([value + 1, (value + n) / 2]);
    }
    offsets.sort_unstable();
    offsets.dedup();
    let padding = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    for at in offsets.into_iter().filter(|&at| at > 0 && at < padding) {
        let inside_pixels = pixel_value.is_some_and(|v| at > v);
        let expect = if inside_pixels {
            Expect::Fail
        } else {
            Expect::FailOrValid
        };
        cases.push(Case::new(
            "truncated",
            format!("{name} cut at {at}"),
            bytes[..at].to_vec(),
            expect,
        ));
    }

    // Random bit flips in the first 1 KiB (preamble excluded): meta and leading headers.
    let from = if layout.has_preamble { 128 } else { 0 };
    let to = n.min(from + 1024);
    for i in 0..8 {
        let mut b = bytes.clone();
        let at = from + rng.below(to - from);
        b[at] ^= 1 << rng.below(8);
        cases.push(Case::new(
            "bit flip",
            format!("{name} flip {i} at {at}"),
            b,
            Expect::FailOrValid,
        ));
    }

    // Headers whose positions are known: the meta group and the leading data set elements.
    let mut headers = Vec::new();
    if layout.has_preamble {
        headers.extend(top_headers(
            &bytes[..layout.dataset_offset as usize],
            132,
            true,
        ));
    }
    let explicit_le = matches!(layout.encoding, scan::Encoding::ExplicitLE);
    let implicit_le = matches!(layout.encoding, scan::Encoding::ImplicitLE);
    if explicit_le || implicit_le {
        headers.extend(
            top_headers(bytes, layout.dataset_offset as usize, explicit_le)
                .into_iter()
                .take(24),
        );
    }
    for h in headers {
        let at = h.pos;
        if let Some(vr) = h.vr {
            // A VR in lower case is no VR at all.
            let mut b = bytes.clone();
            b[at + 4] ^= 0x20;
            cases.push(Case::new(
                "bit flip",
                format!("{name} VR case at {at}"),
                b,
                Expect::Fail,
            ));
            // Wrong VRs: an unknown one, and a long VR over a short text value, whose first
            // four value bytes become a length of at least 0x20202020.
            let mut b = bytes.clone();
            b[at + 4..at + 6].copy_from_slice(b"QQ");
            cases.push(Case::new(
                "wrong VR",
                format!("{name} VR QQ at {at}"),
                b,
                Expect::Fail,
            ));
            let value = &bytes[h.len_at + 2..];
            if !h.long
                && h.len >= 4
                && value.len() >= 4
                && value[..4].iter().all(|&c| (0x20..0x7F).contains(&c))
            {
                for wrong in [b"SQ", b"OB", b"UT"] {
                    let mut b = bytes.clone();
                    b[at + 4..at + 6].copy_from_slice(wrong);
                    cases.push(Case::new(
                        "wrong VR",
                        format!("{name} VR {} at {at}", String::from_utf8_lossy(wrong)),
                        b,
                        Expect::Fail,
                    ));
                }
            }
            // A short text value read as a number of the wrong size.
            if !h.long && h.len % 4 != 0 && (vr[0].is_ascii_uppercase()) && vr != *b"SQ" {
                let mut b = bytes.clone();
                b[at + 4..at + 6].copy_from_slice(b"FD");
                cases.push(Case::new(
                    "wrong VR",
                    format!("{name} VR FD at {at}"),
                    b,
                    Expect::FailOrValid,
                ));
            }
        }
        // Lengths: 0xFFFFFFF0 in a 4-byte field, the top bit of a 2-byte field (past the end
        // of these small files), and one more byte (odd, misaligning what follows).
        let mut b = bytes.clone();
        if h.long {
            b[h.len_at..h.len_at + 4].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
            cases.push(Case::new(
                "length 0xFFFFFFF0",
                format!("{name} at {at}"),
                b,
                Expect::Fail,
            ));
        } else {
            let big = (h.len | 0x8000) as u16;
            b[h.len_at..h.len_at + 2].copy_from_slice(&big.to_le_bytes());
            let expect = if h.len_at + 2 + usize::from(big) > n {
                Expect::Fail
            } else {
                Expect::FailOrValid
            };
            cases.push(Case::new(
                "length top bit",
                format!("{name} at {at}"),
                b,
                expect,
            ));
        }
        if h.len % 2 == 0 && h.len < 0xFFFE {
            let mut b = bytes.clone();
            if h.long {
                b[h.len_at..h.len_at + 4].copy_from_slice(&(h.len + 1).to_le_bytes());
            } else {
                b[h.len_at..h.len_at + 2].copy_from_slice(&(h.len as u16 + 1).to_le_bytes());
            }
            cases.push(Case::new(
                "odd length",
                format!("{name} at {at}"),
                b,
                Expect::FailOrValid,
            ));
        }
    }
    let deflated = layout.encoding == scan::Encoding::DeflatedExplicitLE;
    for case in &mut cases[first..] {
        case.deflated = deflated;
        case.built = false;
        // Without meta, the first element is what makes a file recognisable as DICOM.
        if !layout.has_preamble && case.expect == Expect::Fail && case.name.ends_with(" at 0") {
            case.expect = Expect::FailOrNotDicom;
        }
    }
}

/// Files built to be broken in one precise way, each with a sound control beside it.
fn built_cases(cases: &mut Vec<Case>) {
    let id = identity("1");
    let pixels = element(PIXEL_DATA, b"OB", &[7u8; 64]);
    // Sound files, each with its own SOPInstanceUID so that none is a duplicate of another.
    let write = |cases: &mut Vec<Case>, kind, name: &str, dataset: Vec<u8>| {
        let id = identity(&format!("9{}", cases.len()));
        let bytes = part10(EXPLICIT_LE, &[id, dataset].concat());
        cases.push(Case::new(kind, name, bytes, Expect::Write));
    };
    let fail = |cases: &mut Vec<Case>, kind, name: &str, bytes: Vec<u8>| {
        cases.push(Case::new(kind, name, bytes, Expect::Fail));
    };
    write(cases, "control", "minimal file", pixels.clone());

    // Undefined-length items and sequences with missing delimiters.
    let item_body = element(0x0008_1155, b"UI", b"1.2.3.4.9");
    let sq = header(REFERENCED_IMAGES, b"SQ", UNDEFINED);
    let (item, item_end, seq_end) = (
        marker(ITEM, UNDEFINED),
        marker(ITEM_END, 0),
        marker(SEQ_END, 0),
    );
    write(
        cases,
        "control",
        "delimited sequence",
        [
            sq.as_slice(),
            item.as_slice(),
            item_body.as_slice(),
            item_end.as_slice(),
            seq_end.as_slice(),
            pixels.as_slice(),
        ]
        .concat(),
    );
    let broken: [(&str, Vec<u8>); 7] = [
        (
            "no item delimiter",
            [
                id.as_slice(),
                sq.as_slice(),
                item.as_slice(),
                item_body.as_slice(),
                seq_end.as_slice(),
                pixels.as_slice(),
            ]
            .concat(),
        ),
        (
            "no sequence delimiter",
            [
                id.as_slice(),
                sq.as_slice(),
                item.as_slice(),
                item_body.as_slice(),
                item_end.as_slice(),
                pixels.as_slice(),
            ]
            .concat(),
        ),
        (
            "no delimiter at all",
            [
                id.as_slice(),
                sq.as_slice(),
                item.as_slice(),
                item_body.as_slice(),
                pixels.as_slice(),
            ]
            .concat(),
        ),
        (
            "no delimiter, end of file",
            [
                id.as_slice(),
                sq.as_slice(),
                item.as_slice(),
                item_body.as_slice(),
            ]
            .concat(),
        ),
        (
            "item delimiter at top level",
            [id.as_slice(), item_end.as_slice(), pixels.as_slice()].concat(),
        ),
        (
            "sequence delimiter at top level",
            [id.as_slice(), seq_end.as_slice(), pixels.as_slice()].concat(),
        ),
        (
            "undefined-length item in a defined-length sequence",
            [
                id.clone(),
                header(REFERENCED_IMAGES, b"SQ", 8 + item_body.len() as u32),
                item.clone(),
                item_body.clone(),
                pixels.clone(),
            ]
            .concat(),
        ),
    ];
    for (name, dataset) in broken {
        fail(
            cases,
            "missing delimiter",
            name,
            part10(EXPLICIT_LE, &dataset),
        );
    }
    let fragments = |end: bool| {
        let mut out = header(PIXEL_DATA, b"OB", UNDEFINED);
        out.extend(marker(ITEM, 0));
        out.extend(marker(ITEM, 4));
        out.extend([0xFF, 0xD8, 0xFF, 0xD9]);
        if end {
            out.extend(marker(SEQ_END, 0));
        }
        out
    };
    cases.push(Case::new(
        "control",
        "encapsulated pixel data",
        part10(JPEG_BASELINE, &[identity("8"), fragments(true)].concat()),
        Expect::Write,
    ));
    fail(
        cases,
        "missing delimiter",
        "encapsulated pixel data without sequence delimiter",
        part10(JPEG_BASELINE, &[id.clone(), fragments(false)].concat()),
    );

    // Deep nesting: 10 000 levels (and 65, just past the cap), in three encodings of lengths.
    write(cases, "control", "nested 8 deep", nested(8, false));
    write(
        cases,
        "control",
        "nested 8 deep, defined lengths",
        nested(8, true),
    );
    for depth in [65, 10_000] {
        fail(
            cases,
            "deep nesting",
            &format!("nested {depth} deep"),
            part10(EXPLICIT_LE, &[id.clone(), nested(depth, false)].concat()),
        );
        fail(
            cases,
            "deep nesting",
            &format!("nested {depth} deep, defined lengths"),
            part10(EXPLICIT_LE, &[id.clone(), nested(depth, true)].concat()),
        );
        fail(
            cases,
            "deep nesting",
            &format!("nested {depth} deep, implicit VR"),
            part10(
                IMPLICIT_LE,
                &[identity_implicit("1"), nested_implicit(depth)].concat(),
            ),
        );
    }

    // A 2 GiB pixel length in a 1 KiB file, in each encoding and with and without meta.
    let pad = |mut b: Vec<u8>| {
        b.resize(1024, 0x55);
        b
    };
    for (vr, len) in [
        (b"OB", 0x8000_0000u32),
        (b"OW", 0x7FFF_FFFE),
        (b"UN", 0x8000_0000),
    ] {
        let vr_name = String::from_utf8_lossy(vr).into_owned();
        fail(
            cases,
            "2 GiB pixel data",
            &format!("{vr_name} explicit LE"),
            pad(part10(
                EXPLICIT_LE,
                &[id.clone(), header(PIXEL_DATA, vr, len)].concat(),
            )),
        );
        fail(
            cases,
            "2 GiB pixel data",
            &format!("{vr_name} explicit LE, no meta"),
            pad([id.clone(), header(PIXEL_DATA, vr, len)].concat()),
        );
    }
    fail(
        cases,
        "2 GiB pixel data",
        "implicit LE",
        pad(part10(
            IMPLICIT_LE,
            &[identity_implicit("1"), marker(PIXEL_DATA, 0x8000_0000)].concat(),
        )),
    );
    let mut big_endian = part10(EXPLICIT_BE, &[]);
    for (tag, vr, value) in [
        (0x0008_0016u32, b"UI", CT_CLASS.as_bytes()),
        (0x0008_0018, b"UI", b"1.2.3.4.5.1".as_slice()),
    ] {
        let mut value = value.to_vec();
        if value.len() % 2 == 1 {
            value.push(0);
        }
        big_endian.extend(((tag >> 16) as u16).to_be_bytes());
        big_endian.extend((tag as u16).to_be_bytes());
        big_endian.extend(vr);
        big_endian.extend((value.len() as u16).to_be_bytes());
        big_endian.extend(value);
    }
    big_endian.extend(0x7FE0u16.to_be_bytes());
    big_endian.extend(0x0010u16.to_be_bytes());
    big_endian.extend(b"OW\0\0");
    big_endian.extend(0x8000_0000u32.to_be_bytes());
    fail(cases, "2 GiB pixel data", "explicit BE", pad(big_endian));
    // A lying item length inside a sequence, and a huge fragment.
    fail(
        cases,
        "length 0xFFFFFFF0",
        "item of a sequence",
        part10(
            EXPLICIT_LE,
            &[
                id.clone(),
                sq.clone(),
                marker(ITEM, 0xFFFF_FFF0),
                item_body.clone(),
            ]
            .concat(),
        ),
    );
    let mut huge_fragment = header(PIXEL_DATA, b"OB", UNDEFINED);
    huge_fragment.extend(marker(ITEM, 0));
    huge_fragment.extend(marker(ITEM, 0xFFFF_FFF0));
    fail(
        cases,
        "length 0xFFFFFFF0",
        "pixel data fragment",
        part10(JPEG_BASELINE, &[id.clone(), huge_fragment].concat()),
    );

    // Deflate: a sound deflated file, a corrupt stream, and a bomb far past the cap.
    let deflate = |dataset: &[u8]| {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(dataset).unwrap();
        encoder.finish().unwrap()
    };
    cases.push(Case::new(
        "control",
        "deflated",
        part10(
            DEFLATED,
            &deflate(&[identity("7"), pixels.clone()].concat()),
        ),
        Expect::Write,
    ));
    let mut corrupt = deflate(&[id.clone(), pixels.clone()].concat());
    let middle = corrupt.len() / 2;
    corrupt[middle..].iter_mut().for_each(|b| *b = 0xFF);
    fail(
        cases,
        "deflate",
        "corrupt stream",
        part10(DEFLATED, &corrupt),
    );
    fail(
        cases,
        "deflate",
        "inflated data set with a 2 GiB pixel length",
        part10(
            DEFLATED,
            &deflate(&[id.clone(), header(PIXEL_DATA, b"OB", 0x8000_0000)].concat()),
        ),
    );
    fail(
        cases,
        "deflate bomb",
        "256 MiB of zeros",
        part10(DEFLATED, &deflate_bomb(256)),
    );
}

/// The cap on inflated data sets in the bulk run (the binary's is `--max-file-size`).
const MAX_INFLATED: u64 = 64 << 20;

/// What became of one case.
struct Result {
    status: &'static str,
    reason: String,
    memory: Memory,
    output: Option<Vec<u8>>,
}

fn run_case(engine: &Deidentifier, bytes: &[u8]) -> Result {
    let (outcome, memory) = measured(|| process_bytes(engine, bytes, MAX_INFLATED));
    let (status, reason, output) = match outcome {
        FileOutcome::Written(o) => ("written", String::new(), Some(o.bytes)),
        FileOutcome::Skipped(r) => ("skipped", r.text, None),
        FileOutcome::Failed(r) => ("failed", r.text, None),
        FileOutcome::Quarantined(r) => ("quarantined", r.text, None),
    };
    Result {
        status,
        reason,
        memory,
        output,
    }
}

/// Every case, under a watchdog: a case that takes longer than this is a hang.
const HANG: Duration = Duration::from_secs(60);

fn all_cases(engine: &Deidentifier) -> Vec<Case> {
    let mut cases = Vec::new();
    built_cases(&mut cases);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for seed in seeds(engine) {
        seed_cases(&seed, &mut rng, &mut cases);
    }
    cases
}

fn engine(profile: &str) -> Deidentifier {
    Deidentifier::new(Profile::load(profile).unwrap(), Key::from_bytes([3; 32]))
}

#[test]
fn every_broken_file_fails_alone_without_panic_hang_or_large_allocation() {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let engines = [engine("basic"), engine("ml-dataset")];
        let cases = all_cases(&engines[0]);
        tx.send(Err(cases.len())).unwrap();
        let mut problems = Vec::new();
        let mut tally: BTreeMap<(&'static str, Expect, &'static str), usize> = BTreeMap::new();
        for (i, case) in cases.iter().enumerate() {
            tx.send(Ok(i)).unwrap();
            let engines = if case.built {
                &engines[..]
            } else {
                &engines[..1]
            };
            for engine in engines {
                let r = run_case(engine, &case.bytes);
                let n = case.bytes.len();
                // Nothing may allocate beyond the file's size; small fixed costs aside.
                let allowance = 4 * n + (4 << 20);
                let (largest, limit) = if case.deflated {
                    let inflated = MAX_INFLATED as usize + 1;
                    (inflated, allowance + 2 * inflated)
                } else {
                    (n + (1 << 20), allowance)
                };
                if r.memory.largest > largest {
                    problems.push(format!(
                        "{} / {}: one allocation of {} bytes for a {n}-byte file",
                        case.kind, case.name, r.memory.largest
                    ));
                }
                if r.memory.peak > limit {
                    problems.push(format!(
                        "{} / {}: {} bytes live at the peak for a {n}-byte file",
                        case.kind, case.name, r.memory.peak
                    ));
                }
                let ok = match (case.expect, r.status) {
                    (_, "failed") => !r.reason.is_empty() && case.expect != Expect::Write,
                    (Expect::FailOrValid | Expect::FailOrNotDicom, "skipped") => {
                        r.reason == "not DICOM"
                    }
                    (Expect::FailOrValid | Expect::Write, "written") => {
                        let out = r.output.as_deref().unwrap();
                        dicom_object::from_reader(&out[128..]).is_ok()
                    }
                    _ => false,
                };
                if !ok {
                    problems.push(format!(
                        "{} / {}: expected {:?}, got {} ({})",
                        case.kind, case.name, case.expect, r.status, r.reason
                    ));
                }
                *tally.entry((case.kind, case.expect, r.status)).or_default() += 1;
            }
        }
        (cases.len(), tally, problems)
    });
    let total = match rx.recv_timeout(HANG * 5) {
        Ok(Err(total)) => total,
        _ => panic!("building the cases hung or crashed"),
    };
    let mut current = None;
    loop {
        match rx.recv_timeout(HANG) {
            Ok(Ok(i)) => current = Some(i),
            Ok(Err(_)) => unreachable!(),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("case {current:?} of {total} ran for over {HANG:?}: a hang")
            }
        }
    }
    let (count, tally, problems) = worker.join().expect("no case panics");
    eprintln!(
        "broken-input suite: {count} cases; outcomes per kind (cases built by hand run under the basic and the ml-dataset profile, so count twice)"
    );
    for ((kind, expect, status), n) in &tally {
        eprintln!("  {kind:<22} {:<15} {status:<8} {n}", format!("{expect:?}"));
    }
    assert!(count > 1000, "only {count} cases");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// One case of each kind, through the real binary in one run beside good files, under an
/// address-space limit: the broken ones fail with a reason, the good ones are written.
#[test]
fn the_binary_fails_each_broken_file_and_finishes_the_run() {
    let engine = engine("basic");
    let mut cases = Vec::new();
    built_cases(&mut cases);
    let sb = Sandbox::new();
    let input = sb.path("in");
    fs::create_dir_all(input.join("broken")).unwrap();
    fs::create_dir_all(input.join("good")).unwrap();
    // Mutated corpus files too, up to three of each kind built to fail.
    let mut rng = XorShift(7);
    let mut mutated = Vec::new();
    for seed in seeds(&engine).iter().take(6) {
        seed_cases(seed, &mut rng, &mut mutated);
    }
    let mut per_kind = BTreeMap::new();
    mutated.retain(|c| {
        c.expect == Expect::Fail && {
            let taken = per_kind.entry(c.kind).or_insert(0);
            *taken += 1;
            *taken <= 3
        }
    });
    cases.extend(mutated);
    let mut expected = BTreeMap::new();
    for (i, case) in cases.iter().enumerate() {
        let folder = if case.expect == Expect::Write {
            "good"
        } else {
            "broken"
        };
        let rel = format!("{folder}/case{i:04}.dcm");
        fs::write(input.join(&rel), &case.bytes).unwrap();
        expected.insert(rel, case);
    }
    let output = sb.path("out");
    let bin = assert_cmd::cargo::cargo_bin("dicom-deid");
    // 2 GiB of address space: a 2 GiB allocation from a declared length cannot succeed.
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" \"$@\"")
        .arg(&bin)
        .arg("run")
        .arg(&input)
        .arg(&output)
        .arg("--key-file")
        .arg(&sb.key)
        .args([
            "--manifest-paths",
            "--jobs",
            "2",
            "--max-file-size",
            "67108864",
        ])
        .env_remove("DICOM_DEID_KEY_FILE")
        .env("HOME", &sb.home)
        .output()
        .unwrap();
    assert_code(&out, 1, "a run over broken and good files");
    let records = by_input(&read_jsonl(&output.join("manifest.jsonl")));
    assert_eq!(records.len(), expected.len(), "one record per input");
    let mut failed = 0;
    for (rel, case) in &expected {
        let r = &records[rel.as_str()];
        let status = field(r, "status").unwrap();
        if case.expect == Expect::Write {
            assert_eq!(status, "written", "{rel} ({}): {r}", case.name);
        } else {
            let reason = field(r, "reason").unwrap_or("");
            assert!(
                status == "failed" && !reason.is_empty(),
                "{rel} ({} / {}): {r}",
                case.kind,
                case.name
            );
            failed += 1;
        }
    }
    let summary = read_json(&output.join("summary.json"));
    assert_eq!(summary["status"]["failed"].as_u64(), Some(failed));
    eprintln!(
        "binary sample: {} files, {failed} failed with a reason, the rest written",
        expected.len()
    );
}

#[test]
fn deflate_bomb_past_the_default_cap_fails_within_the_cap() {
    // The bomb's inflated size is 4 × the cap; the buffer may never exceed the cap by more
    // than one growth step's rounding.
    let engine = engine("basic");
    let bytes = part10(DEFLATED, &deflate_bomb(64));
    let cap = 16u64 << 20;
    let (outcome, memory) = measured(|| process_bytes(&engine, &bytes, cap));
    let FileOutcome::Failed(reason) = outcome else {
        panic!("a deflate bomb was not failed");
    };
    assert!(reason.contains("inflates beyond"), "{reason}");
    assert!(
        memory.largest <= cap as usize + 1,
        "one buffer of {} bytes for a cap of {cap}",
        memory.largest
    );
}
