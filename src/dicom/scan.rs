//! Structural pre-validation of DICOM files over raw bytes.
//!
//! The DICOM parser trusts declared lengths (a 5 KB hostile file made it allocate
//! gigabytes, which aborts the process), can panic on broken encapsulated data and
//! can overflow the stack on deep nesting. Every file therefore passes through this
//! scanner first: one pass, no allocation per element, bounded recursion, no panics.
//! It also classifies files as DICOM or not by content, and tells a DICOMDIR.
//!
//! Rules:
//! - `NotDicom` exactly when [`looks_like_dicom`] is false: no `DICM` at 128 and no
//!   plausible first element of group 0002/0008 (explicit LE, explicit BE, implicit LE).
//! - The file meta group is explicit VR little endian, at 132 after the preamble or at 0
//!   when the file starts with an explicit LE group 0002 element. It ends at the first
//!   element whose group is not 0002; (0002,0000) group length is ignored. Preamble
//!   without any group 0002 element or without a transfer syntax UID is `MissingMeta`.
//! - Transfer syntaxes: `…1.2` implicit LE, `…1.2.2` explicit BE, deflated ones
//!   (`…1.2.1.99`, `…1.2.4.95`, `…1.2.4.205`) have only the meta scanned (the caller
//!   inflates under its own cap, then checks the result with [`scan_dataset`]); every
//!   other `1.2.840.10008.1.2.*` (native and encapsulated) is explicit LE; anything else
//!   is `UnsupportedTransferSyntax`.
//! - Without meta the data set starts at 0 and its encoding is the one (explicit LE,
//!   explicit BE, implicit LE, first wins ties) under which the most leading elements
//!   parse with ascending tags.
//! - Every declared length must fit in its container (item, sequence, file), else
//!   `Truncated`. Odd lengths are allowed, except that a value of a binary VR (US, SS, OW:
//!   2 bytes; AT, UL, SL, FL, OF, OL: 4; FD, OD, SV, UV, OV: 8) must hold whole values, else
//!   `BadLength`: dicom-rs reads `length / size` values but counts `length` bytes as read, so
//!   the next header would be read from inside the value and could declare any length. In
//!   implicit VR the VR is the dictionary's, as dicom-rs takes it (OW for pixel and overlay
//!   data). An unknown explicit VR is `BadVr`.
//! - Undefined length is allowed for SQ, items, (7FE0,0010) with OB/OW/UN (encapsulated
//!   fragments: defined-length items up to a sequence delimiter) and UN (content read as
//!   implicit VR LE, CP-246); in implicit VR it means a sequence (or fragments for
//!   pixel data). Elsewhere it is `BadLength`.
//! - Defined-length items must end exactly at their end; delimiters must appear where
//!   they close something (`BadDelimiter`). Explicit SQ values are scanned. Implicit VR
//!   has no dictionary here, so a defined-length value is opaque unless it opens with an
//!   item tag (pixel data excepted): then it is scanned as the sequence dicom-rs's
//!   dictionary would make of it, so lengths nested in it cannot lie to the parser.
//! - More than [`MAX_DEPTH`] nested sequences is `TooDeep`.
//! - Tag order is not checked. Trailing zero bytes after the last top-level element
//!   are accepted as padding; (FFFC,FFFC) is an ordinary element.

use std::fmt;

use dicom_core::Tag;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;

/// A structural fault. Display text names the fault and the byte offset, never any
/// value from the file (values may be PHI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScanError {
    /// No DICM magic and no plausible first data element.
    NotDicom,
    /// An element or item runs past the end of its container.
    Truncated { offset: u64 },
    /// A declared length is impossible (undefined length where the VR forbids it, or not a
    /// whole number of values of a binary VR).
    BadLength { offset: u64 },
    /// An explicit VR code that DICOM does not define.
    BadVr { offset: u64 },
    /// Sequences nested deeper than [`MAX_DEPTH`].
    TooDeep { offset: u64 },
    /// An item or sequence delimiter is missing or misplaced.
    BadDelimiter { offset: u64 },
    /// Preamble present but no group 0002 or no transfer syntax UID.
    MissingMeta,
    /// The transfer syntax is not one whose data set encoding we know.
    UnsupportedTransferSyntax,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotDicom => f.write_str("not a DICOM file"),
            Self::Truncated { offset } => {
                write!(
                    f,
                    "element or item at byte {offset} runs past the end of its container"
                )
            }
            Self::BadLength { offset } => write!(f, "impossible length at byte {offset}"),
            Self::BadVr { offset } => write!(f, "unknown value representation at byte {offset}"),
            Self::TooDeep { offset } => {
                write!(
                    f,
                    "sequences nested deeper than {MAX_DEPTH} at byte {offset}"
                )
            }
            Self::BadDelimiter { offset } => {
                write!(
                    f,
                    "missing or misplaced item/sequence delimiter at byte {offset}"
                )
            }
            Self::MissingMeta => f.write_str("file meta group or its transfer syntax UID missing"),
            Self::UnsupportedTransferSyntax => f.write_str("unsupported transfer syntax"),
        }
    }
}

impl std::error::Error for ScanError {}

/// Deepest sequence nesting accepted; bounds the scanner's recursion.
pub const MAX_DEPTH: usize = 64;

/// How the main data set is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Implicit VR little endian.
    ImplicitLE,
    /// Explicit VR little endian, also used by every encapsulated transfer syntax.
    ExplicitLE,
    /// Explicit VR big endian (retired, still found in archives).
    ExplicitBE,
    /// Deflated explicit VR little endian: only the meta group was scanned.
    DeflatedExplicitLE,
}

/// What the scan learned about a structurally sound file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// true when the 128-byte preamble + "DICM" is present
    pub has_preamble: bool,
    /// byte offset where the main data set starts (after the meta group), 0 for files without meta
    pub dataset_offset: u64,
    /// the TransferSyntaxUID from the meta (trailing NUL/space trimmed), None when there is no meta
    pub transfer_syntax: Option<String>,
    /// the MediaStorageSOPClassUID from the meta; None when absent, empty or not a well-formed UID
    pub media_storage_sop_class: Option<String>,
    /// how the data set is encoded (for files without meta: detected by heuristics)
    pub encoding: Encoding,
    /// the byte offset of the PixelData (7FE0,0010) element header at top level, if present
    pub pixel_data_offset: Option<u64>,
    /// number of data elements seen (all depths, meta included) — for statistics
    pub elements: u64,
    /// true when this is a DICOMDIR: MediaStorageSOPClassUID == "1.2.840.10008.1.3.10" or a top-level (0004,1220) DirectoryRecordSequence present
    pub is_dicomdir: bool,
    /// true when an explicit-VR UN element of undefined length (CP-246: implicit VR content)
    /// is present; dicom-rs reads such a value as a 4 GiB blob, so it must not see the file.
    pub undefined_length_un: bool,
    /// Each such element's length field (its offset) and the length of its value up to and
    /// including its sequence delimiter: written there, the element has a defined length and
    /// the file keeps its size (see `file::parse`).
    pub undefined_un_lengths: Vec<(usize, u32)>,
}

const ITEM: u32 = as_u32(super::ITEM);
const ITEM_END: u32 = as_u32(super::ITEM_DELIMITER);
const SEQUENCE_END: u32 = as_u32(super::SEQUENCE_DELIMITER);
const DELIMITER_GROUP: u32 = super::ITEM.0 as u32;
const PIXEL_DATA: u32 = 0x7FE0_0010;
const MEDIA_STORAGE_SOP_CLASS: u32 = 0x0002_0002;
const TRANSFER_SYNTAX: u32 = 0x0002_0010;
const DIRECTORY_RECORDS: u32 = 0x0004_1220;
const UNDEFINED: u32 = u32::MAX;

/// A tag as the scan compares it: group in the high half.
const fn as_u32(tag: dicom_core::Tag) -> u32 {
    ((tag.0 as u32) << 16) | tag.1 as u32
}
const DICOMDIR_CLASS: &[u8] = b"1.2.840.10008.1.3.10";
const PREAMBLE: usize = 132;
/// Leading elements tried per candidate encoding when a file has no meta.
const PROBE_ELEMENTS: u32 = 8;

/// Scan a whole file held in memory. Never panics, never allocates proportional to a
/// declared length, O(n) time, recursion bounded by [`MAX_DEPTH`].
///
/// # Errors
/// The first structural fault met; `NotDicom` exactly when [`looks_like_dicom`] is false.
pub fn scan(bytes: &[u8]) -> Result<Layout, ScanError> {
    scan_until(bytes, Until::End)
}

/// Scan a file's first bytes up to the header of its top-level Pixel Data element, whose
/// value (and whatever follows it) is not looked at: [`pixel_data_end`] checks the element,
/// [`scan_dataset`] what follows. Everything before it is checked exactly as [`scan`] does.
/// With `complete` false, `bytes` is a prefix of the file: `Truncated` may then only mean
/// that more bytes are needed, and no trailing zeros are taken for padding.
///
/// # Errors
/// As [`scan`].
pub fn scan_head(bytes: &[u8], complete: bool) -> Result<Layout, ScanError> {
    scan_until(bytes, Until::PixelData { complete })
}

/// Where a scan ends.
#[derive(Clone, Copy)]
enum Until {
    /// At the end of the bytes: the whole file is checked.
    End,
    /// At the top-level Pixel Data element's header.
    PixelData { complete: bool },
}

fn scan_until(bytes: &[u8], until: Until) -> Result<Layout, ScanError> {
    if !looks_like_dicom(bytes) {
        return Err(ScanError::NotDicom);
    }
    let has_preamble = has_magic(bytes);
    let meta_start = if has_preamble {
        Some(PREAMBLE)
    } else {
        bytes
            .starts_with(&[2, 0])
            .then_some(0)
            .filter(|&at| header(bytes, at, EXPLICIT_LE).is_ok())
    };
    let (meta, encoding) = match meta_start {
        Some(start) => {
            let meta = Meta::scan(bytes, start)?;
            let uid = meta.transfer_syntax.ok_or(ScanError::MissingMeta)?;
            (meta, encoding_of(uid)?)
        }
        None => (Meta::new(0), detect(bytes)),
    };
    let sop_class = meta.sop_class.filter(|uid| is_uid(uid));
    let mut layout = Layout {
        has_preamble,
        dataset_offset: meta.end as u64,
        transfer_syntax: meta.transfer_syntax.map(ascii),
        media_storage_sop_class: sop_class.map(ascii),
        encoding,
        pixel_data_offset: None,
        elements: meta.elements,
        is_dicomdir: sop_class == Some(DICOMDIR_CLASS),
        undefined_length_un: false,
        undefined_un_lengths: Vec::new(),
    };
    if encoding != Encoding::DeflatedExplicitLE {
        walk(bytes, meta.end, &mut layout, until)?;
    }
    Ok(layout)
}

/// Scan a bare data set (no preamble, no meta) whose encoding is known, such as a
/// deflated data set once inflated. `DeflatedExplicitLE` itself cannot be scanned
/// and is `UnsupportedTransferSyntax`.
///
/// # Errors
/// The first structural fault met.
pub fn scan_dataset(bytes: &[u8], encoding: Encoding) -> Result<Layout, ScanError> {
    let mut layout = Layout {
        has_preamble: false,
        dataset_offset: 0,
        transfer_syntax: None,
        media_storage_sop_class: None,
        encoding,
        pixel_data_offset: None,
        elements: 0,
        is_dicomdir: false,
        undefined_length_un: false,
        undefined_un_lengths: Vec::new(),
    };
    walk(bytes, 0, &mut layout, Until::End)?;
    Ok(layout)
}

/// Walks the data set from `start` in `layout.encoding`, adding what it finds to `layout`.
fn walk(bytes: &[u8], start: usize, layout: &mut Layout, until: Until) -> Result<(), ScanError> {
    let syntax = layout
        .encoding
        .syntax()
        .ok_or(ScanError::UnsupportedTransferSyntax)?;
    let padding = match until {
        Until::PixelData { complete: false } => bytes.len(),
        _ => bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1),
    };
    let mut walker = Walker {
        bytes,
        padding,
        stop_at_pixel_data: matches!(until, Until::PixelData { .. }),
        elements: 0,
        pixel_data: None,
        directory_records: false,
        undefined_un_lengths: Vec::new(),
    };
    walker.elements(start, Bound::defined(bytes.len()), syntax, 0)?;
    layout.undefined_length_un |= !walker.undefined_un_lengths.is_empty();
    layout.undefined_un_lengths = walker.undefined_un_lengths;
    layout.elements += walker.elements;
    layout.pixel_data_offset = walker.pixel_data;
    layout.is_dicomdir |= walker.directory_records;
    Ok(())
}

/// Cheap check on the first bytes (>= 132 if available) whether a file looks like DICOM
/// at all: DICM at 128, or a plausible first data element of group 0002 or 0008 in
/// explicit LE, explicit BE or implicit LE. Separates "not DICOM" (skipped) from
/// "DICOM but broken" (failed); [`scan`] returns `NotDicom` exactly when this is false.
#[must_use]
pub fn looks_like_dicom(head: &[u8]) -> bool {
    has_magic(head)
        || CANDIDATES
            .iter()
            .any(|&(_, syntax)| plausible_start(head, syntax))
}

fn has_magic(bytes: &[u8]) -> bool {
    bytes.get(128..PREAMBLE) == Some(b"DICM")
}

/// A first element a writer would plausibly start a data set with.
fn plausible_start(bytes: &[u8], syntax: Syntax) -> bool {
    header(bytes, 0, syntax).is_ok_and(|h| {
        matches!(h.tag >> 16, 2 | 8) && (syntax.explicit || h.len < 0x1_0000 || h.len == UNDEFINED)
    })
}

/// Encodings a data set without meta may have, in order of preference.
const CANDIDATES: [(Encoding, Syntax); 3] = [
    (Encoding::ExplicitLE, EXPLICIT_LE),
    (Encoding::ExplicitBE, EXPLICIT_BE),
    (Encoding::ImplicitLE, IMPLICIT_LE),
];

/// The encoding of a data set without meta: most leading elements parsed wins.
fn detect(bytes: &[u8]) -> Encoding {
    let mut best = (0, Encoding::ExplicitLE);
    for (encoding, syntax) in CANDIDATES {
        let score = probe(bytes, syntax);
        if score > best.0 {
            best = (score, encoding);
        }
    }
    best.1
}

/// Two points per leading top-level element that parses and fits with ascending tags,
/// one for a final element whose header parses but whose value does not fit.
fn probe(bytes: &[u8], syntax: Syntax) -> u32 {
    if !plausible_start(bytes, syntax) {
        return 0;
    }
    let (mut score, mut pos, mut last) = (0, 0, None);
    while score < 2 * PROBE_ELEMENTS && pos < bytes.len() {
        let Ok(h) = header(bytes, pos, syntax) else {
            break;
        };
        if last.is_some_and(|tag| h.tag <= tag) || h.tag >> 16 == DELIMITER_GROUP {
            break;
        }
        last = Some(h.tag);
        if h.len == UNDEFINED {
            return score + 2;
        }
        match fit(h.value, h.len, bytes.len()) {
            Some(end) => (score, pos) = (score + 2, end),
            None => return score + 1,
        }
    }
    score
}

fn encoding_of(uid: &[u8]) -> Result<Encoding, ScanError> {
    if !is_uid(uid) {
        return Err(ScanError::UnsupportedTransferSyntax);
    }
    Ok(match uid {
        b"1.2.840.10008.1.2" => Encoding::ImplicitLE,
        b"1.2.840.10008.1.2.2" => Encoding::ExplicitBE,
        b"1.2.840.10008.1.2.1.99" | b"1.2.840.10008.1.2.4.95" | b"1.2.840.10008.1.2.4.205" => {
            Encoding::DeflatedExplicitLE
        }
        _ if uid.starts_with(b"1.2.840.10008.1.2.") => Encoding::ExplicitLE,
        _ => return Err(ScanError::UnsupportedTransferSyntax),
    })
}

/// A non-empty UID of at most 64 digits and dots (bounds what we copy out of the file).
fn is_uid(value: &[u8]) -> bool {
    !value.is_empty() && value.len() <= 64 && value.iter().all(|&b| b.is_ascii_digit() || b == b'.')
}

fn ascii(uid: &[u8]) -> String {
    String::from_utf8_lossy(uid).into_owned()
}

fn trim_uid(value: &[u8]) -> &[u8] {
    let len = value
        .iter()
        .rposition(|&b| b != 0 && b != b' ')
        .map_or(0, |i| i + 1);
    &value[..len]
}

/// What the file meta group told us.
struct Meta<'a> {
    end: usize,
    transfer_syntax: Option<&'a [u8]>,
    sop_class: Option<&'a [u8]>,
    elements: u64,
}

impl<'a> Meta<'a> {
    fn new(end: usize) -> Self {
        Meta {
            end,
            transfer_syntax: None,
            sop_class: None,
            elements: 0,
        }
    }

    /// Explicit LE elements from `start` while their group is 0002.
    fn scan(bytes: &'a [u8], start: usize) -> Result<Self, ScanError> {
        let mut meta = Meta::new(start);
        while bytes.get(meta.end..meta.end + 2) == Some(&[2, 0]) {
            let pos = meta.end;
            let h = header(bytes, pos, EXPLICIT_LE)?;
            if h.len == UNDEFINED {
                return Err(ScanError::BadLength { offset: pos as u64 });
            }
            meta.end = fit(h.value, h.len, bytes.len()).ok_or(truncated(pos))?;
            let value = trim_uid(&bytes[h.value..meta.end]);
            match h.tag {
                TRANSFER_SYNTAX => meta.transfer_syntax = Some(value).filter(|v| !v.is_empty()),
                MEDIA_STORAGE_SOP_CLASS => meta.sop_class = Some(value),
                _ => {}
            }
            meta.elements += 1;
        }
        if meta.elements == 0 {
            return Err(ScanError::MissingMeta);
        }
        Ok(meta)
    }
}

/// Byte order and VR mode of the bytes being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Syntax {
    explicit: bool,
    big: bool,
}

const IMPLICIT_LE: Syntax = Syntax {
    explicit: false,
    big: false,
};
const EXPLICIT_LE: Syntax = Syntax {
    explicit: true,
    big: false,
};
const EXPLICIT_BE: Syntax = Syntax {
    explicit: true,
    big: true,
};

impl Syntax {
    fn u16(self, b: [u8; 2]) -> u16 {
        if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }

    fn u32(self, b: [u8; 4]) -> u32 {
        if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }
}

impl Encoding {
    /// None for deflated data sets, which are not scanned.
    fn syntax(self) -> Option<Syntax> {
        match self {
            Self::ImplicitLE => Some(IMPLICIT_LE),
            Self::ExplicitLE => Some(EXPLICIT_LE),
            Self::ExplicitBE => Some(EXPLICIT_BE),
            Self::DeflatedExplicitLE => None,
        }
    }
}

/// A parsed element (or item/delimiter) header.
struct Header {
    tag: u32,
    /// `[0, 0]` in implicit VR and for item/delimiter tags.
    vr: [u8; 2],
    len: u32,
    /// Offset of the value, just past the header.
    value: usize,
}

fn truncated(pos: usize) -> ScanError {
    ScanError::Truncated { offset: pos as u64 }
}

fn take<const N: usize>(bytes: &[u8], pos: usize) -> Option<[u8; N]> {
    bytes.get(pos..pos.checked_add(N)?)?.try_into().ok()
}

/// Tag and 4-byte length without VR, as items and delimiters are always encoded.
fn tag_len(bytes: &[u8], pos: usize, syntax: Syntax) -> Result<(u32, u32), ScanError> {
    let b: [u8; 8] = take(bytes, pos).ok_or(truncated(pos))?;
    let tag = u32::from(syntax.u16([b[0], b[1]])) << 16 | u32::from(syntax.u16([b[2], b[3]]));
    Ok((tag, syntax.u32([b[4], b[5], b[6], b[7]])))
}

/// Reads the header at `pos`; `bytes` ends where the enclosing container ends.
fn header(bytes: &[u8], pos: usize, syntax: Syntax) -> Result<Header, ScanError> {
    let (tag, len) = tag_len(bytes, pos, syntax)?;
    if !syntax.explicit || tag >> 16 == DELIMITER_GROUP {
        return Ok(Header {
            tag,
            vr: [0; 2],
            len,
            value: pos + 8,
        });
    }
    // In explicit VR the four bytes after the tag are VR and 2-byte length.
    let b = if syntax.big {
        len.to_be_bytes()
    } else {
        len.to_le_bytes()
    };
    let vr = [b[0], b[1]];
    match &vr {
        b"OB" | b"OD" | b"OF" | b"OL" | b"OV" | b"OW" | b"SQ" | b"UC" | b"UN" | b"UR" | b"UT"
        | b"SV" | b"UV" => {
            let len = take(bytes, pos + 8).ok_or(truncated(pos))?;
            Ok(Header {
                tag,
                vr,
                len: syntax.u32(len),
                value: pos + 12,
            })
        }
        b"AE" | b"AS" | b"AT" | b"CS" | b"DA" | b"DS" | b"DT" | b"FD" | b"FL" | b"IS" | b"LO"
        | b"LT" | b"PN" | b"SH" | b"SL" | b"SS" | b"ST" | b"TM" | b"UI" | b"UL" | b"US" => {
            let len = u32::from(syntax.u16([b[2], b[3]]));
            Ok(Header {
                tag,
                vr,
                len,
                value: pos + 8,
            })
        }
        _ => Err(ScanError::BadVr { offset: pos as u64 }),
    }
}

/// The size of one value of a binary VR (1 for every other VR).
fn value_size(vr: &[u8; 2]) -> u32 {
    match vr {
        b"US" | b"SS" | b"OW" => 2,
        b"AT" | b"UL" | b"SL" | b"FL" | b"OF" | b"OL" => 4,
        b"FD" | b"OD" | b"SV" | b"UV" | b"OV" => 8,
        _ => 1,
    }
}

/// The VR dicom-rs reads an implicit VR element with: OW for pixel and overlay data, else
/// the dictionary's (an ambiguous one resolved as dicom-rs does), else UN.
fn implicit_vr(tag: u32) -> [u8; 2] {
    let (group, element) = ((tag >> 16) as u16, tag as u16);
    if tag == PIXEL_DATA || (group >> 8 == 0x60 && element == 0x3000) {
        return *b"OW";
    }
    StandardDataDictionary
        .by_tag(Tag(group, element))
        .map_or(*b"UN", |entry| entry.vr().relaxed().to_bytes())
}

/// How a top-level Pixel Data element is laid out, from [`pixel_data_end`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelElement {
    /// Offset just past the element (its value, or its fragments' sequence delimiter).
    pub end: u64,
    /// Whether a writer of the same transfer syntax would write these very bytes: the VR is
    /// OB or OW (or implicit), OB when encapsulated, and an encapsulated value closes with a
    /// zero-length delimiter. Other layouts are valid but are re-encoded through the parser.
    pub verbatim: bool,
    /// Whether the value is encapsulated (fragments up to a sequence delimiter).
    pub encapsulated: bool,
}

/// Check the top-level Pixel Data element at `start` of a file of `file_len` bytes in
/// `encoding`, reading only its header and, when encapsulated, its item headers (fragment
/// values are skipped, so a gigabyte of frames costs a few reads). The same rules as
/// [`scan`]: the value, or each fragment, must fit in the file; fragments are
/// defined-length items closed by a sequence delimiter.
///
/// # Errors
/// The first structural fault, or a read error turned into `Truncated`.
pub fn pixel_data_end<R: std::io::Read + std::io::Seek>(
    file: &mut R,
    start: u64,
    file_len: u64,
    encoding: Encoding,
) -> Result<PixelElement, ScanError> {
    use std::io::SeekFrom;
    let syntax = encoding
        .syntax()
        .ok_or(ScanError::UnsupportedTransferSyntax)?;
    let at = |pos: u64| ScanError::Truncated { offset: pos };
    let mut read = |pos: u64, buf: &mut [u8]| -> Result<(), ScanError> {
        file.seek(SeekFrom::Start(pos)).map_err(|_| at(pos))?;
        file.read_exact(buf).map_err(|_| at(pos))
    };
    let mut buf = [0u8; 12];
    let n = usize::try_from((file_len.saturating_sub(start)).min(12)).unwrap_or(12);
    read(start, &mut buf[..n])?;
    let h = header(&buf[..n], 0, syntax).map_err(|e| match e {
        ScanError::Truncated { .. } => at(start),
        ScanError::BadVr { .. } => ScanError::BadVr { offset: start },
        other => other,
    })?;
    if h.tag != PIXEL_DATA {
        return Err(ScanError::BadLength { offset: start });
    }
    let value = start + h.value as u64;
    let plain_vr = matches!(&h.vr, b"OB" | b"OW" | [0, 0]);
    if h.len != UNDEFINED {
        let end = value + u64::from(h.len);
        if end > file_len {
            return Err(at(start));
        }
        return Ok(PixelElement {
            end,
            verbatim: plain_vr,
            encapsulated: false,
        });
    }
    if !matches!(&h.vr, b"OB" | b"OW" | b"UN" | [0, 0]) {
        return Err(ScanError::BadLength { offset: start });
    }
    let mut pos = value;
    loop {
        if pos >= file_len {
            return Err(at(pos));
        }
        let mut item = [0u8; 8];
        if file_len - pos < 8 {
            return Err(at(pos));
        }
        read(pos, &mut item)?;
        let (tag, len) = tag_len(&item, 0, syntax)?;
        let body = pos + 8;
        pos = match (tag, len) {
            (SEQUENCE_END, len) => {
                // Encapsulated pixel data is always written as OB.
                return Ok(PixelElement {
                    end: body,
                    verbatim: matches!(&h.vr, b"OB" | [0, 0]) && len == 0,
                    encapsulated: true,
                });
            }
            (ITEM, UNDEFINED) => return Err(ScanError::BadLength { offset: pos }),
            (ITEM, len) if body + u64::from(len) <= file_len => body + u64::from(len),
            (ITEM, _) => return Err(at(pos)),
            _ => return Err(ScanError::BadDelimiter { offset: pos }),
        };
    }
}

/// End of a value of `len` bytes starting at `start`, if it fits before `limit`.
fn fit(start: usize, len: u32, limit: usize) -> Option<usize> {
    let len = usize::try_from(len).ok()?;
    (len <= limit.checked_sub(start)?).then(|| start + len)
}

/// Where a run of elements or items stops: at `limit` (defined length) or, when
/// `delimited`, at its delimiter which must come before `limit`.
#[derive(Clone, Copy)]
struct Bound {
    limit: usize,
    delimited: bool,
}

impl Bound {
    fn defined(limit: usize) -> Self {
        Bound {
            limit,
            delimited: false,
        }
    }

    fn delimited(limit: usize) -> Self {
        Bound {
            limit,
            delimited: true,
        }
    }
}

/// What the items of a sequence hold.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Content {
    DataSets,
    Fragments,
}

struct Walker<'a> {
    bytes: &'a [u8],
    /// Start of the trailing run of zero bytes, accepted as padding at top level.
    padding: usize,
    /// End the walk at the top-level Pixel Data element's header ([`scan_head`]).
    stop_at_pixel_data: bool,
    elements: u64,
    pixel_data: Option<u64>,
    directory_records: bool,
    undefined_un_lengths: Vec<(usize, u32)>,
}

impl Walker<'_> {
    /// A delimited run reached its limit without its delimiter.
    fn unterminated(&self, pos: usize) -> ScanError {
        if pos >= self.bytes.len() {
            truncated(pos)
        } else {
            ScanError::BadDelimiter { offset: pos as u64 }
        }
    }

    /// Data elements of the top-level data set (`depth` 0) or of an item; returns the
    /// offset after the last element (or after the item delimiter).
    fn elements(
        &mut self,
        mut pos: usize,
        bound: Bound,
        syntax: Syntax,
        depth: usize,
    ) -> Result<usize, ScanError> {
        let bytes = &self.bytes[..bound.limit];
        loop {
            if depth == 0 && pos >= self.padding {
                return Ok(pos);
            }
            if pos == bound.limit {
                return if bound.delimited {
                    Err(self.unterminated(pos))
                } else {
                    Ok(pos)
                };
            }
            let h = header(bytes, pos, syntax)?;
            if h.tag >> 16 == DELIMITER_GROUP {
                return if h.tag == ITEM_END && bound.delimited {
                    Ok(h.value)
                } else {
                    Err(ScanError::BadDelimiter { offset: pos as u64 })
                };
            }
            self.elements += 1;
            if depth == 0 {
                match h.tag {
                    PIXEL_DATA if self.stop_at_pixel_data => {
                        self.pixel_data = Some(pos as u64);
                        return Ok(pos);
                    }
                    PIXEL_DATA if self.pixel_data.is_none() => self.pixel_data = Some(pos as u64),
                    DIRECTORY_RECORDS => self.directory_records = true,
                    _ => {}
                }
            }
            if h.len != UNDEFINED {
                let vr = if syntax.explicit {
                    h.vr
                } else {
                    implicit_vr(h.tag)
                };
                if h.len % value_size(&vr) != 0 {
                    return Err(ScanError::BadLength { offset: pos as u64 });
                }
            }
            let (inner, content, inner_syntax) = if h.len == UNDEFINED {
                let (content, inner_syntax) = match &h.vr {
                    b"OB" | b"OW" | b"UN" | [0, 0] if h.tag == PIXEL_DATA => {
                        (Content::Fragments, syntax)
                    }
                    b"SQ" | [0, 0] => (Content::DataSets, syntax),
                    b"UN" => (Content::DataSets, IMPLICIT_LE),
                    _ => return Err(ScanError::BadLength { offset: pos as u64 }),
                };
                (Bound::delimited(bound.limit), content, inner_syntax)
            } else {
                let end = fit(h.value, h.len, bound.limit).ok_or(truncated(pos))?;
                // Implicit VR has no SQ code, but the parser's dictionary knows standard
                // sequences: a value opening with an item is checked as a sequence.
                let opens_item = !syntax.explicit
                    && h.tag != PIXEL_DATA
                    && tag_len(&bytes[..end], h.value, syntax).is_ok_and(|(tag, _)| tag == ITEM);
                if h.vr != *b"SQ" && !opens_item {
                    pos = end;
                    continue;
                }
                (Bound::defined(end), Content::DataSets, syntax)
            };
            if depth == MAX_DEPTH {
                return Err(ScanError::TooDeep { offset: pos as u64 });
            }
            let undefined_un = h.len == UNDEFINED && h.vr == *b"UN";
            pos = self.sequence(h.value, inner, content, inner_syntax, depth + 1)?;
            if undefined_un {
                let len = u32::try_from(pos - h.value).map_err(|_| ScanError::BadLength {
                    offset: h.value as u64,
                })?;
                self.undefined_un_lengths.push((h.value - 4, len));
            }
        }
    }

    /// Items of a sequence or of encapsulated pixel data; returns the offset after it.
    fn sequence(
        &mut self,
        mut pos: usize,
        bound: Bound,
        content: Content,
        syntax: Syntax,
        depth: usize,
    ) -> Result<usize, ScanError> {
        let bytes = &self.bytes[..bound.limit];
        loop {
            if pos == bound.limit {
                return if bound.delimited {
                    Err(self.unterminated(pos))
                } else {
                    Ok(pos)
                };
            }
            let (tag, len) = tag_len(bytes, pos, syntax)?;
            let body = pos + 8;
            pos = match (tag, len) {
                (SEQUENCE_END, _) if bound.delimited => return Ok(body),
                (ITEM, UNDEFINED) if content == Content::DataSets => {
                    self.elements(body, Bound::delimited(bound.limit), syntax, depth)?
                }
                (ITEM, UNDEFINED) => return Err(ScanError::BadLength { offset: pos as u64 }),
                (ITEM, len) => {
                    let end = fit(body, len, bound.limit).ok_or(truncated(pos))?;
                    if content == Content::DataSets {
                        self.elements(body, Bound::defined(end), syntax, depth)?;
                    }
                    end
                }
                _ => return Err(ScanError::BadDelimiter { offset: pos as u64 }),
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    const LE: Syntax = EXPLICIT_LE;
    const BE: Syntax = EXPLICIT_BE;
    const IM: Syntax = IMPLICIT_LE;
    const CT_CLASS: &str = "1.2.840.10008.5.1.4.1.1.2";
    const EXPLICIT_TS: &str = "1.2.840.10008.1.2.1";
    /// The shared corpus beside the checkout (tests skip what it lacks).
    const CORPUS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/pydicom-3.0.2"
    );

    fn u16b(s: Syntax, v: u16) -> [u8; 2] {
        if s.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn u32b(s: Syntax, v: u32) -> [u8; 4] {
        if s.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// An element (or item/delimiter) header declaring `len`.
    fn hdr(s: Syntax, tag: u32, vr: &[u8; 2], len: u32) -> Vec<u8> {
        let mut out = [u16b(s, (tag >> 16) as u16), u16b(s, tag as u16)].concat();
        let long = [
            b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV",
            b"UV",
        ];
        if !s.explicit || tag >> 16 == 0xFFFE {
            out.extend(u32b(s, len));
        } else if long.contains(&vr) {
            out.extend([vr[0], vr[1], 0, 0]);
            out.extend(u32b(s, len));
        } else {
            out.extend(vr);
            out.extend(u16b(s, len as u16));
        }
        out
    }

    fn el(s: Syntax, tag: u32, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
        [hdr(s, tag, vr, value.len() as u32), value.to_vec()].concat()
    }

    fn item(s: Syntax, content: &[u8]) -> Vec<u8> {
        el(s, ITEM, b"  ", content)
    }

    fn item_undefined(s: Syntax, content: &[u8]) -> Vec<u8> {
        [
            hdr(s, ITEM, b"  ", UNDEFINED),
            content.to_vec(),
            hdr(s, ITEM_END, b"  ", 0),
        ]
        .concat()
    }

    fn seq_undefined(s: Syntax, tag: u32, vr: &[u8; 2], items: &[u8]) -> Vec<u8> {
        [
            hdr(s, tag, vr, UNDEFINED),
            items.to_vec(),
            hdr(s, SEQUENCE_END, b"  ", 0),
        ]
        .concat()
    }

    fn uid(value: &str) -> Vec<u8> {
        let mut out = value.as_bytes().to_vec();
        if out.len() % 2 == 1 {
            out.push(0);
        }
        out
    }

    /// The meta group as separate elements, group length first.
    fn meta_elements(ts: &str, sop: &str) -> Vec<Vec<u8>> {
        let rest = vec![
            el(LE, 0x0002_0001, b"OB", &[0, 1]),
            el(LE, MEDIA_STORAGE_SOP_CLASS, b"UI", &uid(sop)),
            el(LE, TRANSFER_SYNTAX, b"UI", &uid(ts)),
            el(LE, 0x0002_0012, b"UI", &uid("1.2.3.4")),
        ];
        let len = rest.concat().len() as u32;
        [vec![el(LE, 0x0002_0000, b"UL", &len.to_le_bytes())], rest].concat()
    }

    fn preamble() -> Vec<u8> {
        [vec![0; 128], b"DICM".to_vec()].concat()
    }

    fn part10(ts: &str, body: &[u8]) -> Vec<u8> {
        [
            preamble(),
            meta_elements(ts, CT_CLASS).concat(),
            body.to_vec(),
        ]
        .concat()
    }

    /// Top-level elements of a small image exercising sequences of every shape and
    /// encapsulated pixel data.
    fn body_elements(s: Syntax) -> Vec<Vec<u8>> {
        let inner = [
            el(s, 0x0008_1150, b"UI", &uid(CT_CLASS)),
            el(s, 0x0008_1155, b"UI", &uid("1.2.3")),
        ]
        .concat();
        let nested = seq_undefined(s, 0x0040_A730, b"SQ", &item_undefined(s, &inner));
        let defined_items = [
            item(s, &inner),
            item(s, &[inner.clone(), nested].concat()),
            item(s, &[]),
        ]
        .concat();
        let fragments = [item(s, &[]), item(s, &[0xFF, 0xD8, 0xFF, 0xD9])].concat();
        vec![
            el(s, 0x0008_0005, b"CS", b"ISO_IR 100"),
            el(s, 0x0008_0016, b"UI", &uid(CT_CLASS)),
            el(s, 0x0008_1140, b"SQ", &defined_items),
            seq_undefined(
                s,
                0x0008_1155,
                b"SQ",
                &[item_undefined(s, &inner), item(s, &inner)].concat(),
            ),
            el(s, 0x0010_0010, b"PN", b"Doe^Jane"),
            el(s, 0x0028_0010, b"US", &u16b(s, 2)),
            seq_undefined(s, PIXEL_DATA, b"OB", &fragments),
        ]
    }

    fn offset(e: ScanError) -> Option<u64> {
        match e {
            ScanError::Truncated { offset }
            | ScanError::BadLength { offset }
            | ScanError::BadVr { offset }
            | ScanError::TooDeep { offset }
            | ScanError::BadDelimiter { offset } => Some(offset),
            _ => None,
        }
    }

    #[test]
    fn explicit_le_part10_layout() {
        let body = body_elements(LE).concat();
        let file = part10(EXPLICIT_TS, &body);
        let meta_len = meta_elements(EXPLICIT_TS, CT_CLASS).concat().len();
        let pixel = 132 + meta_len + body_elements(LE)[..6].concat().len();
        let layout = scan(&file).unwrap();
        assert_eq!(
            layout,
            Layout {
                has_preamble: true,
                dataset_offset: (132 + meta_len) as u64,
                transfer_syntax: Some(EXPLICIT_TS.into()),
                media_storage_sop_class: Some(CT_CLASS.into()),
                encoding: Encoding::ExplicitLE,
                pixel_data_offset: Some(pixel as u64),
                elements: 5 + 7 + 11,
                is_dicomdir: false,
                undefined_length_un: false,
                undefined_un_lengths: Vec::new(),
            }
        );
    }

    #[test]
    fn every_transfer_syntax_family() {
        let cases = [
            ("1.2.840.10008.1.2", IM, Encoding::ImplicitLE),
            ("1.2.840.10008.1.2.1", LE, Encoding::ExplicitLE),
            ("1.2.840.10008.1.2.2", BE, Encoding::ExplicitBE),
            ("1.2.840.10008.1.2.4.50", LE, Encoding::ExplicitLE),
            ("1.2.840.10008.1.2.4.201", LE, Encoding::ExplicitLE),
            ("1.2.840.10008.1.2.5", LE, Encoding::ExplicitLE),
            ("1.2.840.10008.1.2.1.98", LE, Encoding::ExplicitLE),
            ("1.2.840.10008.1.2.8.1", LE, Encoding::ExplicitLE),
        ];
        for (ts, s, encoding) in cases {
            let layout = scan(&part10(ts, &body_elements(s).concat())).unwrap();
            assert_eq!(layout.encoding, encoding, "{ts}");
            assert_eq!(layout.transfer_syntax.as_deref(), Some(ts));
            assert!(layout.pixel_data_offset.is_some());
        }
    }

    #[test]
    fn deflated_scans_only_the_meta() {
        for ts in [
            "1.2.840.10008.1.2.1.99",
            "1.2.840.10008.1.2.4.95",
            "1.2.840.10008.1.2.4.205",
        ] {
            let layout = scan(&part10(ts, b"\x78\x9c garbage that is not a data set")).unwrap();
            assert_eq!(layout.encoding, Encoding::DeflatedExplicitLE);
            assert_eq!((layout.pixel_data_offset, layout.elements), (None, 5));
        }
    }

    #[test]
    fn bare_data_sets() {
        for (s, encoding) in [
            (LE, Encoding::ExplicitLE),
            (BE, Encoding::ExplicitBE),
            (IM, Encoding::ImplicitLE),
        ] {
            let body = body_elements(s);
            let layout = scan_dataset(&body.concat(), encoding).unwrap();
            let pixel = body[..6].concat().len() as u64;
            assert_eq!(
                (layout.encoding, layout.pixel_data_offset),
                (encoding, Some(pixel))
            );
            assert!(!layout.has_preamble && layout.transfer_syntax.is_none());
        }
        assert!(scan_dataset(&[], Encoding::ExplicitLE).is_ok());
        let body = body_elements(LE).concat();
        assert_eq!(
            scan_dataset(&body, Encoding::ImplicitLE),
            Err(ScanError::Truncated { offset: 0 })
        );
        assert_eq!(
            scan_dataset(&body, Encoding::DeflatedExplicitLE),
            Err(ScanError::UnsupportedTransferSyntax)
        );
    }

    #[test]
    fn unknown_transfer_syntaxes_are_unsupported() {
        for ts in [
            "1.2.840.113619.5.2",
            "1.2.840.10008.5.1.4.1.1.2",
            "1.2.840.10008.1.2x",
            "1.2.3",
        ] {
            assert_eq!(
                scan(&part10(ts, &[])),
                Err(ScanError::UnsupportedTransferSyntax),
                "{ts}"
            );
        }
        let long = format!("1.2.840.10008.1.2.{}", "1".repeat(60));
        assert_eq!(
            scan(&part10(&long, &[])),
            Err(ScanError::UnsupportedTransferSyntax)
        );
    }

    #[test]
    fn transfer_syntax_is_trimmed() {
        let meta = el(LE, TRANSFER_SYNTAX, b"UI", b"1.2.840.10008.1.2.1 \0");
        let layout = scan(&[preamble(), meta].concat()).unwrap();
        assert_eq!(layout.transfer_syntax.as_deref(), Some(EXPLICIT_TS));
        assert_eq!(layout.media_storage_sop_class, None);
    }

    #[test]
    fn missing_meta() {
        let body = body_elements(LE).concat();
        assert_eq!(
            scan(&[preamble(), body.clone()].concat()),
            Err(ScanError::MissingMeta)
        );
        assert_eq!(scan(&preamble()), Err(ScanError::MissingMeta));
        let no_ts = [
            preamble(),
            el(LE, 0x0002_0001, b"OB", &[0, 1]),
            body.clone(),
        ]
        .concat();
        assert_eq!(scan(&no_ts), Err(ScanError::MissingMeta));
        let empty_ts = [preamble(), el(LE, TRANSFER_SYNTAX, b"UI", b""), body].concat();
        assert_eq!(scan(&empty_ts), Err(ScanError::MissingMeta));
    }

    #[test]
    fn meta_group_length_is_not_trusted() {
        let mut meta = meta_elements(EXPLICIT_TS, CT_CLASS);
        meta[0] = el(LE, 0x0002_0000, b"UL", &2u32.to_le_bytes());
        let file = [preamble(), meta.concat(), body_elements(LE).concat()].concat();
        assert_eq!(
            scan(&file).unwrap().dataset_offset,
            (132 + meta.concat().len()) as u64
        );
    }

    #[test]
    fn meta_faults() {
        let undefined = [preamble(), hdr(LE, 0x0002_0001, b"OB", UNDEFINED)].concat();
        assert_eq!(scan(&undefined), Err(ScanError::BadLength { offset: 132 }));
        let overrun = [
            preamble(),
            hdr(LE, TRANSFER_SYNTAX, b"UI", 20),
            b"1.2".to_vec(),
        ]
        .concat();
        assert_eq!(scan(&overrun), Err(ScanError::Truncated { offset: 132 }));
        let bad_vr = [preamble(), hdr(LE, 0x0002_0000, b"ul", 4)].concat();
        assert_eq!(scan(&bad_vr), Err(ScanError::BadVr { offset: 132 }));
    }

    #[test]
    fn meta_without_preamble() {
        let meta = meta_elements(EXPLICIT_TS, CT_CLASS).concat();
        let layout = scan(&[meta.clone(), body_elements(LE).concat()].concat()).unwrap();
        assert!(!layout.has_preamble);
        assert_eq!(layout.dataset_offset, meta.len() as u64);
        assert_eq!(layout.transfer_syntax.as_deref(), Some(EXPLICIT_TS));
    }

    #[test]
    fn encoding_detected_without_meta() {
        for (s, encoding) in [
            (LE, Encoding::ExplicitLE),
            (BE, Encoding::ExplicitBE),
            (IM, Encoding::ImplicitLE),
        ] {
            let layout = scan(&body_elements(s).concat()).unwrap();
            assert_eq!(layout.encoding, encoding);
            assert_eq!(
                (
                    layout.has_preamble,
                    layout.dataset_offset,
                    layout.transfer_syntax
                ),
                (false, 0, None)
            );
            assert_eq!(layout.elements, 7 + 11);
        }
    }

    #[test]
    fn detection_without_meta_prefers_ascending_tags() {
        // Valid as explicit LE for one element only; implicit LE reads two ascending ones.
        let implicit = [
            el(IM, 0x0008_0005, b"  ", b"CS"),
            el(IM, 0x0008_0016, b"  ", &uid(CT_CLASS)),
            el(IM, 0x0010_0010, b"  ", b"Doe^Jane"),
        ]
        .concat();
        assert_eq!(scan(&implicit).unwrap().encoding, Encoding::ImplicitLE);
        let truncated_implicit = [hdr(IM, 0x0008_0005, b"  ", 100), b"ISO".to_vec()].concat();
        assert_eq!(
            scan(&truncated_implicit),
            Err(ScanError::Truncated { offset: 0 })
        );
    }

    #[test]
    fn not_dicom() {
        let mut zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00".to_vec();
        zip.resize(300, 7);
        let cases: [&[u8]; 7] = [
            b"",
            b"\x08\x00\x05\x00CS",
            b"Test Files used for testing pydicom\n",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            &[0; 400],
            &[0xFF; 300],
            &zip,
        ];
        for bytes in cases {
            assert!(!looks_like_dicom(bytes));
            assert_eq!(scan(bytes), Err(ScanError::NotDicom));
        }
    }

    #[test]
    fn looks_like_dicom_on_heads() {
        let part10 = part10(EXPLICIT_TS, &body_elements(LE).concat());
        assert!(looks_like_dicom(&part10[..132]));
        for s in [LE, BE, IM] {
            assert!(looks_like_dicom(&body_elements(s).concat()[..12]));
        }
        assert!(looks_like_dicom(
            &meta_elements(EXPLICIT_TS, CT_CLASS).concat()[..12]
        ));
        assert!(!looks_like_dicom(&el(LE, 0x0010_0010, b"PN", b"Doe")));
        assert!(!looks_like_dicom(&hdr(IM, 0x0008_0005, b"  ", 0x0100_0000)));
        // Broken but DICOM: classified as such, scan then reports the fault.
        let broken = [preamble(), vec![1; 50]].concat();
        assert!(looks_like_dicom(&broken));
        assert_eq!(scan(&broken), Err(ScanError::MissingMeta));
    }

    #[test]
    fn element_overrunning_the_file_is_truncated() {
        let file = part10(
            EXPLICIT_TS,
            &[
                el(LE, 0x0008_0005, b"CS", b"ISO_IR 100"),
                hdr(LE, 0x0010_0010, b"PN", 30),
            ]
            .concat(),
        );
        let at = file.len() - 8;
        assert_eq!(
            scan(&[file, b"Doe".to_vec()].concat()),
            Err(ScanError::Truncated { offset: at as u64 })
        );
    }

    #[test]
    fn huge_pixel_length_in_small_file_is_truncated() {
        let mut file = part10(EXPLICIT_TS, &el(LE, 0x0008_0005, b"CS", b"ISO_IR 100"));
        let at = file.len() as u64;
        file.extend(hdr(LE, PIXEL_DATA, b"OW", 0x8000_0000));
        file.resize(1024, 0x55);
        assert_eq!(scan(&file), Err(ScanError::Truncated { offset: at }));
        let mut implicit = part10(
            "1.2.840.10008.1.2",
            &hdr(IM, PIXEL_DATA, b"  ", 0xFFFF_FFF0),
        );
        let at = (implicit.len() - 8) as u64;
        implicit.resize(1024, 0x55);
        assert_eq!(scan(&implicit), Err(ScanError::Truncated { offset: at }));
    }

    #[test]
    fn element_overrunning_its_item_is_truncated() {
        let inner = el(LE, 0x0008_1150, b"UI", &uid(CT_CLASS));
        let mut short_item = item(LE, &inner);
        short_item[4] -= 2;
        let file = part10(
            EXPLICIT_TS,
            &el(LE, 0x0008_1140, b"SQ", &[short_item, vec![0, 0]].concat()),
        );
        let inner_at = 132 + meta_elements(EXPLICIT_TS, CT_CLASS).concat().len() + 12 + 8;
        assert_eq!(
            scan(&file),
            Err(ScanError::Truncated {
                offset: inner_at as u64
            })
        );
    }

    #[test]
    fn item_overrunning_its_sequence_is_truncated() {
        let items = item(LE, &el(LE, 0x0008_1150, b"UI", &uid(CT_CLASS)));
        let mut sq = el(LE, 0x0008_1140, b"SQ", &items);
        sq[8] -= 4;
        let file = part10(
            EXPLICIT_TS,
            &[sq, el(LE, 0x0010_0010, b"PN", b"Doe^")].concat(),
        );
        assert!(matches!(scan(&file), Err(ScanError::Truncated { .. })));
    }

    #[test]
    fn undefined_length_only_where_allowed() {
        let dataset = 132 + meta_elements(EXPLICIT_TS, CT_CLASS).concat().len();
        for vr in [b"OB", b"UT", b"OW"] {
            let file = part10(EXPLICIT_TS, &seq_undefined(LE, 0x0009_1010, vr, &[]));
            assert_eq!(
                scan(&file),
                Err(ScanError::BadLength {
                    offset: dataset as u64
                })
            );
        }
        for vr in [b"OB", b"OW", b"UN"] {
            assert!(
                scan(&part10(
                    EXPLICIT_TS,
                    &seq_undefined(LE, PIXEL_DATA, vr, &item(LE, b"ab"))
                ))
                .is_ok()
            );
        }
    }

    #[test]
    fn encapsulated_pixel_data_faults() {
        let ts = "1.2.840.10008.1.2.4.50";
        let dataset = (132 + meta_elements(ts, CT_CLASS).concat().len()) as u64;
        let undefined_fragment = seq_undefined(LE, PIXEL_DATA, b"OB", &item_undefined(LE, &[]));
        assert_eq!(
            scan(&part10(ts, &undefined_fragment)),
            Err(ScanError::BadLength {
                offset: dataset + 12
            })
        );
        let unterminated = [hdr(LE, PIXEL_DATA, b"OB", UNDEFINED), item(LE, b"abcd")].concat();
        assert_eq!(
            scan(&part10(ts, &unterminated)),
            Err(ScanError::Truncated {
                offset: dataset + 24
            })
        );
        let stray = seq_undefined(LE, PIXEL_DATA, b"OB", &el(LE, 0x0008_0005, b"CS", b"AB"));
        assert_eq!(
            scan(&part10(ts, &stray)),
            Err(ScanError::BadDelimiter {
                offset: dataset + 12
            })
        );
        let overrun = [
            hdr(LE, PIXEL_DATA, b"OB", UNDEFINED),
            hdr(LE, ITEM, b"  ", 100),
            b"abcd".to_vec(),
        ]
        .concat();
        assert_eq!(
            scan(&part10(ts, &overrun)),
            Err(ScanError::Truncated {
                offset: dataset + 12
            })
        );
    }

    #[test]
    fn fragments_may_contain_delimiter_bytes() {
        let fragment = item(LE, &hdr(LE, SEQUENCE_END, b"  ", 0));
        let file = part10(
            "1.2.840.10008.1.2.4.90",
            &seq_undefined(LE, PIXEL_DATA, b"OB", &fragment),
        );
        assert!(scan(&file).is_ok());
    }

    #[test]
    fn bad_vr() {
        let file = part10(
            EXPLICIT_TS,
            &[
                el(LE, 0x0008_0005, b"CS", b"AB"),
                el(LE, 0x0008_0016, b"XX", b"AB"),
            ]
            .concat(),
        );
        let at = file.len() - 10;
        assert_eq!(scan(&file), Err(ScanError::BadVr { offset: at as u64 }));
        let zero_vr = part10(
            EXPLICIT_TS,
            &[
                el(LE, 0x0008_0005, b"CS", b"AB"),
                vec![8, 0, 0x16, 0, 0, 0, 2, 0, 1, 2],
            ]
            .concat(),
        );
        assert_eq!(scan(&zero_vr), Err(ScanError::BadVr { offset: at as u64 }));
    }

    #[test]
    fn long_vrs_have_four_byte_lengths() {
        let vrs: [&[u8; 2]; 13] = [
            b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"UC", b"UN", b"UR", b"UT", b"SV",
            b"UV",
        ];
        for (i, vr) in vrs.into_iter().enumerate() {
            let value = if vr == b"SQ" {
                item(LE, &[])
            } else {
                // Past 16 bits, and a whole number of values of every binary VR.
                vec![1; 0x1_0008]
            };
            let body = [
                el(LE, 0x0009_1000 + i as u32, vr, &value),
                el(LE, 0x0010_0010, b"PN", b"Doe"),
            ]
            .concat();
            assert!(scan(&part10(EXPLICIT_TS, &body)).is_ok(), "{vr:?}");
        }
    }

    #[test]
    fn sequence_delimiters() {
        let dataset = (132 + meta_elements(EXPLICIT_TS, CT_CLASS).concat().len()) as u64;
        let inner = el(LE, 0x0008_1150, b"UI", &uid(CT_CLASS));
        let misplaced = [
            el(LE, 0x0008_0005, b"CS", b"AB"),
            hdr(LE, SEQUENCE_END, b"  ", 0),
        ]
        .concat();
        assert_eq!(
            scan(&part10(EXPLICIT_TS, &misplaced)),
            Err(ScanError::BadDelimiter {
                offset: dataset + 10
            })
        );
        let top_item = item(LE, &inner);
        assert_eq!(
            scan(&part10(EXPLICIT_TS, &top_item)),
            Err(ScanError::BadDelimiter { offset: dataset })
        );
        let delimiter_in_defined_item = el(
            LE,
            0x0008_1140,
            b"SQ",
            &item(LE, &[inner.clone(), hdr(LE, ITEM_END, b"  ", 0)].concat()),
        );
        assert_eq!(
            scan(&part10(EXPLICIT_TS, &delimiter_in_defined_item)),
            Err(ScanError::BadDelimiter {
                offset: dataset + 20 + inner.len() as u64
            })
        );
        let seq_end_in_defined_sequence = el(
            LE,
            0x0008_1140,
            b"SQ",
            &[item(LE, &inner), hdr(LE, SEQUENCE_END, b"  ", 0)].concat(),
        );
        assert!(matches!(
            scan(&part10(EXPLICIT_TS, &seq_end_in_defined_sequence)),
            Err(ScanError::BadDelimiter { .. })
        ));
        let element_in_sequence = seq_undefined(LE, 0x0008_1140, b"SQ", &inner);
        assert_eq!(
            scan(&part10(EXPLICIT_TS, &element_in_sequence)),
            Err(ScanError::BadDelimiter {
                offset: dataset + 12
            })
        );
        let unterminated_item_in_defined_sequence = el(
            LE,
            0x0008_1140,
            b"SQ",
            &[hdr(LE, ITEM, b"  ", UNDEFINED), inner.clone()].concat(),
        );
        let end = dataset + 12 + 8 + inner.len() as u64;
        let file = part10(
            EXPLICIT_TS,
            &[
                unterminated_item_in_defined_sequence,
                el(LE, 0x0010_0010, b"PN", b"Doe^"),
            ]
            .concat(),
        );
        assert_eq!(scan(&file), Err(ScanError::BadDelimiter { offset: end }));
        let unterminated_at_eof =
            [hdr(LE, 0x0008_1140, b"SQ", UNDEFINED), item(LE, &inner)].concat();
        let file = part10(EXPLICIT_TS, &unterminated_at_eof);
        assert_eq!(
            scan(&file),
            Err(ScanError::Truncated {
                offset: file.len() as u64
            })
        );
    }

    #[test]
    fn un_of_undefined_length_holds_implicit_le() {
        let inner = [
            el(IM, 0x0008_1150, b"  ", &uid(CT_CLASS)),
            seq_undefined(IM, 0x0008_1199, b"  ", &item_undefined(IM, &[])),
        ]
        .concat();
        for s in [LE, BE] {
            let ts = if s.big {
                "1.2.840.10008.1.2.2"
            } else {
                EXPLICIT_TS
            };
            let body = [
                seq_undefined(IM, 0x0009_1010, b"  ", &item_undefined(IM, &inner)),
                el(s, 0x0010_0010, b"PN", b"Doe^"),
            ]
            .concat();
            let mut un = hdr(s, 0x0009_1010, b"UN", UNDEFINED);
            un.extend(&body[8..]);
            let layout = scan(&part10(ts, &un)).unwrap();
            assert_eq!(layout.elements, 5 + 4);
        }
    }

    #[test]
    fn implicit_sequences_and_opaque_values() {
        let inner = el(IM, 0x0008_1150, b"  ", &uid(CT_CLASS));
        let private_defined = el(IM, 0x0009_1010, b"  ", &item(IM, &inner));
        let private_undefined = seq_undefined(
            IM,
            0x0009_1011,
            b"  ",
            &[item(IM, &inner), item_undefined(IM, &inner)].concat(),
        );
        let encapsulated = seq_undefined(IM, PIXEL_DATA, b"  ", &item(IM, b"\xff\xd8"));
        let layout = scan(&part10(
            "1.2.840.10008.1.2",
            &[private_defined, private_undefined, encapsulated].concat(),
        ))
        .unwrap();
        assert_eq!(layout.elements, 5 + 6);
        assert!(layout.pixel_data_offset.is_some());
        let garbage_private = el(IM, 0x0009_1010, b"  ", &[0xFF; 30]);
        assert!(scan(&part10("1.2.840.10008.1.2", &garbage_private)).is_ok());
        let item_like_pixels = el(IM, PIXEL_DATA, b"  ", &hdr(IM, ITEM, b"  ", 0x7000_0000));
        assert!(scan(&part10("1.2.840.10008.1.2", &item_like_pixels)).is_ok());
    }

    #[test]
    fn implicit_defined_length_sequences_cannot_hide_faults() {
        let ts = "1.2.840.10008.1.2";
        let dataset = (132 + meta_elements(ts, CT_CLASS).concat().len()) as u64;
        let lying = item(IM, &hdr(IM, 0x0008_1150, b"  ", 0xC000_0000));
        let file = part10(ts, &el(IM, 0x0008_1140, b"  ", &lying));
        assert_eq!(
            scan(&file),
            Err(ScanError::Truncated {
                offset: dataset + 16
            })
        );
        let mut content = el(IM, 0x0008_0100, b"  ", b"leaf");
        for _ in 0..1000 {
            content = el(IM, 0x0040_A730, b"  ", &item(IM, &content));
        }
        assert_eq!(
            scan(&part10(ts, &content)),
            Err(ScanError::TooDeep {
                offset: dataset + 16 * MAX_DEPTH as u64
            })
        );
    }

    /// `levels` nested explicit LE sequences, each holding one item.
    fn nested(levels: usize, undefined: bool) -> Vec<u8> {
        let mut content = el(LE, 0x0008_0100, b"SH", b"leaf");
        for _ in 0..levels {
            content = if undefined {
                seq_undefined(LE, 0x0040_A730, b"SQ", &item_undefined(LE, &content))
            } else {
                el(LE, 0x0040_A730, b"SQ", &item(LE, &content))
            };
        }
        part10(EXPLICIT_TS, &content)
    }

    #[test]
    fn depth_limit() {
        let dataset = (132 + meta_elements(EXPLICIT_TS, CT_CLASS).concat().len()) as u64;
        for undefined in [false, true] {
            assert_eq!(
                scan(&nested(MAX_DEPTH, undefined)).unwrap().elements,
                5 + MAX_DEPTH as u64 + 1
            );
            let too_deep = scan(&nested(MAX_DEPTH + 1, undefined)).unwrap_err();
            assert_eq!(
                too_deep,
                ScanError::TooDeep {
                    offset: dataset + 20 * MAX_DEPTH as u64
                }
            );
        }
    }

    #[test]
    fn deepest_nesting_fits_a_small_stack() {
        let file = nested(MAX_DEPTH, true);
        let scanned = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || scan(&file).is_ok())
            .unwrap();
        assert!(scanned.join().unwrap());
    }

    #[test]
    fn ten_thousand_levels_fail_fast() {
        let file = nested(10_000, true);
        let start = Instant::now();
        assert!(matches!(scan(&file), Err(ScanError::TooDeep { .. })));
        assert!(start.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn trailing_padding_is_accepted() {
        let body = body_elements(LE).concat();
        for tail in [
            vec![0],
            vec![0; 3],
            vec![0; 200],
            el(LE, 0xFFFC_FFFC, b"OB", &[0; 16]),
        ] {
            assert!(scan(&part10(EXPLICIT_TS, &[body.clone(), tail].concat())).is_ok());
        }
        assert!(scan(&[body_elements(IM).concat(), vec![0; 5]].concat()).is_ok());
        let garbage = part10(EXPLICIT_TS, &[body.clone(), vec![0, 0, 1]].concat());
        assert_eq!(
            scan(&garbage),
            Err(ScanError::Truncated {
                offset: (garbage.len() - 3) as u64
            })
        );
    }

    #[test]
    fn tag_order_and_odd_lengths_are_not_faults() {
        let body = [
            el(LE, 0x0010_0010, b"PN", b"Doe"),
            el(LE, 0x0008_0005, b"CS", b"ISO_IR 100"),
            el(LE, 0x0008_0005, b"CS", b"X"),
        ]
        .concat();
        assert_eq!(scan(&part10(EXPLICIT_TS, &body)).unwrap().elements, 5 + 3);
    }

    #[test]
    fn binary_values_hold_whole_numbers_of_values() {
        let head = el(LE, 0x0008_0005, b"CS", b"ISO_IR 100");
        let at =
            (PREAMBLE + meta_elements(EXPLICIT_TS, CT_CLASS).concat().len() + head.len()) as u64;
        for (vr, len) in [(b"US", 3), (b"FD", 30), (b"AT", 6), (b"OW", 5), (b"UL", 2)] {
            let body = [head.clone(), el(LE, 0x0018_9999, vr, &vec![b'1'; len])].concat();
            assert_eq!(
                scan(&part10(EXPLICIT_TS, &body)),
                Err(ScanError::BadLength { offset: at }),
                "{vr:?} of {len} bytes"
            );
        }
        for (vr, len) in [(b"US", 4), (b"FD", 16), (b"OB", 5), (b"LO", 3)] {
            let body = [head.clone(), el(LE, 0x0018_9999, vr, &vec![b'1'; len])].concat();
            assert!(scan(&part10(EXPLICIT_TS, &body)).is_ok(), "{vr:?} of {len}");
        }
        // Implicit VR: the dictionary's VR (Rows is US; pixel data is OW; private is UN).
        let head = el(IM, 0x0008_0005, b"  ", b"ISO_IR 100");
        for (tag, len, ok) in [
            (0x0028_0010, 3, false),
            (0x0028_0010, 2, true),
            (PIXEL_DATA, 7, false),
            (0x0029_1010, 7, true),
        ] {
            let body = [head.clone(), el(IM, tag, b"  ", &vec![1; len])].concat();
            let result = scan(&part10("1.2.840.10008.1.2", &body));
            assert_eq!(result.is_ok(), ok, "({tag:08X}) of {len}: {result:?}");
        }
    }

    #[test]
    fn dicomdir_detection() {
        let dicomdir = [
            preamble(),
            meta_elements(EXPLICIT_TS, "1.2.840.10008.1.3.10").concat(),
        ]
        .concat();
        assert!(scan(&dicomdir).unwrap().is_dicomdir);
        let records = seq_undefined(
            LE,
            DIRECTORY_RECORDS,
            b"SQ",
            &item_undefined(LE, &el(LE, 0x0004_1430, b"CS", b"PATIENT ")),
        );
        assert!(scan(&part10(EXPLICIT_TS, &records)).unwrap().is_dicomdir);
        let nested = el(LE, 0x0008_1140, b"SQ", &item(LE, &records));
        assert!(!scan(&part10(EXPLICIT_TS, &nested)).unwrap().is_dicomdir);
        assert!(
            !scan(&part10(EXPLICIT_TS, &body_elements(LE).concat()))
                .unwrap()
                .is_dicomdir
        );
    }

    #[test]
    fn only_top_level_pixel_data_is_reported() {
        let icon = el(
            LE,
            0x0088_0200,
            b"SQ",
            &item(LE, &el(LE, PIXEL_DATA, b"OB", &[1, 2])),
        );
        assert_eq!(
            scan(&part10(EXPLICIT_TS, &icon)).unwrap().pixel_data_offset,
            None
        );
    }

    #[test]
    fn display_names_fault_and_offset_only() {
        let errors = [
            ScanError::NotDicom,
            ScanError::Truncated { offset: 4242 },
            ScanError::BadLength { offset: 4242 },
            ScanError::BadVr { offset: 4242 },
            ScanError::TooDeep { offset: 4242 },
            ScanError::BadDelimiter { offset: 4242 },
            ScanError::MissingMeta,
            ScanError::UnsupportedTransferSyntax,
        ];
        for e in errors {
            let text = e.to_string();
            assert_eq!(text.contains("4242"), offset(e.clone()).is_some(), "{text}");
        }
        let private = part10("9.9.9.PATIENT", &[]);
        assert!(!scan(&private).unwrap_err().to_string().contains("9.9"));
    }

    /// Cutting a file anywhere gives an error unless the cut is an element boundary of
    /// the top level (or of the meta after its transfer syntax), possibly followed by
    /// zero bytes (taken for padding: a big endian tag starts with one).
    #[test]
    fn truncation_at_every_offset() {
        for (ts, s) in [
            (EXPLICIT_TS, LE),
            ("1.2.840.10008.1.2", IM),
            ("1.2.840.10008.1.2.2", BE),
        ] {
            let meta = meta_elements(ts, CT_CLASS);
            let body = body_elements(s);
            let file = [preamble(), meta.concat(), body.concat()].concat();
            let mut boundaries = Vec::new();
            let mut at = 132;
            for (i, element) in meta.iter().chain(&body).enumerate() {
                at += element.len();
                if i >= 3 {
                    boundaries.push(at);
                }
            }
            for cut in 0..=file.len() {
                let result = scan(&file[..cut]);
                let boundary = boundaries.iter().rev().find(|&&b| b <= cut);
                let ok = boundary.is_some_and(|&b| file[b..cut].iter().all(|&x| x == 0));
                assert_eq!(result.is_ok(), ok, "{ts} cut at {cut}: {result:?}");
                if let Err(e) = result {
                    assert!(offset(e).is_none_or(|o| o <= cut as u64));
                }
            }
        }
    }

    #[test]
    fn bit_flips_never_panic() {
        let file = part10(EXPLICIT_TS, &body_elements(LE).concat());
        for i in 0..file.len() {
            for bit in 0..8 {
                let mut flipped = file.clone();
                flipped[i] ^= 1 << bit;
                if let Ok(layout) = scan(&flipped) {
                    assert!(
                        layout
                            .pixel_data_offset
                            .is_none_or(|o| o < flipped.len() as u64)
                    );
                }
            }
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = scan(&bytes);
            let _ = looks_like_dicom(&bytes);
        }

        #[test]
        fn arbitrary_data_sets_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..2048), implicit in any::<bool>()) {
            let ts = if implicit { "1.2.840.10008.1.2" } else { EXPLICIT_TS };
            if let Ok(layout) = scan(&part10(ts, &tail)) {
                prop_assert!(layout.elements >= 5);
            }
        }

        #[test]
        fn corrupted_files_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8)) {
            let mut file = part10(EXPLICIT_TS, &body_elements(LE).concat());
            for (at, byte) in edits {
                let len = file.len();
                file[at % len] = byte;
            }
            let _ = scan(&file);
        }
    }

    fn corpus_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                corpus_files(&path, out);
            } else {
                out.push(path);
            }
        }
    }

    #[test]
    fn pydicom_corpus() {
        let root = Path::new(CORPUS);
        if !root.is_dir() {
            eprintln!("skipping: corpus {CORPUS} not found");
            return;
        }
        let mut paths = Vec::new();
        corpus_files(root, &mut paths);
        paths.sort();
        let mut failures = Vec::new();
        let mut results = std::collections::HashMap::new();
        for path in &paths {
            let bytes = std::fs::read(path).unwrap();
            let name = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let result = scan(&bytes);
            let head = &bytes[..bytes.len().min(132)];
            assert_eq!(
                looks_like_dicom(head),
                result != Err(ScanError::NotDicom),
                "{name}"
            );
            match &result {
                Ok(l) => println!(
                    "ok    {name:60} {:?} pixel={:?}",
                    l.encoding, l.pixel_data_offset
                ),
                Err(e) => {
                    println!("FAIL  {name:60} {e:?}");
                    failures.push((name.clone(), e.clone()));
                }
            }
            results.insert(name, result);
        }
        let not_dicom = ScanError::NotDicom;
        let expected = [
            ("MR_truncated.dcm", ScanError::Truncated { offset: 1488 }),
            ("README.txt", not_dicom.clone()),
            ("SC_rgb_jpeg.dcm", ScanError::BadVr { offset: 356 }),
            ("charset_files/FileInfo.txt", not_dicom.clone()),
            ("crayons.icc", not_dicom.clone()),
            (
                "dicomdirtests/DICOMDIR-nooffset",
                ScanError::Truncated { offset: 10860 },
            ),
            ("dicomdirtests/README.txt", not_dicom.clone()),
            ("dicomdirtests/TINY_ALPHA/README", not_dicom.clone()),
            ("meta_missing_tsyntax.dcm", ScanError::MissingMeta),
            ("no_meta.dcm", not_dicom.clone()),
            ("rtplan.dump", not_dicom.clone()),
            (
                "rtplan_truncated.dcm",
                ScanError::Truncated { offset: 1410 },
            ),
            ("rtstruct.dump", not_dicom.clone()),
            ("test1.json", not_dicom.clone()),
            ("test_PN.json", not_dicom.clone()),
            ("zipMR.gz", not_dicom),
        ];
        let expected: Vec<_> = expected
            .into_iter()
            .map(|(n, e)| (n.to_string(), e))
            .collect();
        assert_eq!(failures, expected);

        let ok = |name: &str| results[name].clone().unwrap();
        let ct = ok("CT_small.dcm");
        assert_eq!(
            (ct.encoding, ct.pixel_data_offset.is_some(), ct.has_preamble),
            (Encoding::ExplicitLE, true, true)
        );
        assert_eq!(ok("MR_small_bigendian.dcm").encoding, Encoding::ExplicitBE);
        assert_eq!(ok("MR_small_implicit.dcm").encoding, Encoding::ImplicitLE);
        assert_eq!(ok("image_dfl.dcm").encoding, Encoding::DeflatedExplicitLE);
        assert!(ok("dicomdirtests/DICOMDIR").is_dicomdir);
        assert!(ok("dicomdirtests/DICOMDIR-implicit").is_dicomdir);
        assert!(!ok("CT_small.dcm").is_dicomdir);
        let no_meta_be = ok("ExplVR_BigEndNoMeta.dcm");
        assert_eq!(
            (
                no_meta_be.encoding,
                no_meta_be.has_preamble,
                no_meta_be.dataset_offset
            ),
            (Encoding::ExplicitBE, false, 0)
        );
        assert_eq!(ok("ExplVR_LitEndNoMeta.dcm").encoding, Encoding::ExplicitLE);
        assert_eq!(ok("rtstruct.dcm").encoding, Encoding::ImplicitLE);
        assert_eq!(ok("UN_sequence.dcm").elements, 15);
        // no_meta.dcm is CT_small.dcm minus its first 335 bytes: it starts with the last
        // byte of the meta, so no element starts at 0.
        let ct_bytes = std::fs::read(root.join("CT_small.dcm")).unwrap();
        assert_eq!(
            std::fs::read(root.join("no_meta.dcm")).unwrap(),
            ct_bytes[335..]
        );
        let shifted = scan(&ct_bytes[336..]).unwrap();
        assert_eq!(
            (
                shifted.encoding,
                shifted.has_preamble,
                shifted.dataset_offset
            ),
            (Encoding::ExplicitLE, false, 0)
        );
        assert_eq!(
            shifted.pixel_data_offset.unwrap() + 336,
            ct.pixel_data_offset.unwrap()
        );
    }

    #[test]
    fn corpus_bit_flips_never_panic() {
        let root = Path::new(CORPUS);
        let mut paths = Vec::new();
        corpus_files(root, &mut paths);
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        for path in paths {
            let file = std::fs::read(&path).unwrap();
            if file.is_empty() {
                continue;
            }
            for _ in 0..200 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let mut flipped = file.clone();
                let at = (state >> 8) as usize % file.len().min(4096);
                flipped[at] ^= 1 << (state % 8);
                let _ = scan(&flipped);
            }
        }
    }
}
