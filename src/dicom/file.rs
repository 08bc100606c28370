//! Reading a DICOM file from bytes and writing a de-identified one, with every fault turned
//! into a [`FileError`] that names no value.
//!
//! Bytes are validated by [`crate::dicom::scan`] before dicom-rs sees them, because dicom-rs trusts
//! declared lengths (a hostile 5 KB file can make it allocate gigabytes, which aborts the
//! process). Deflated data sets are inflated here under a size cap, then scanned like the rest.
//! Panics inside dicom-rs are caught and reported as a failure of that one file.
//!
//! Pixel data that no rule changes never goes through the parser: [`load`] reads a file up to
//! its top-level Pixel Data element and the bytes after it, the data set is parsed without it
//! (a stand-in element takes its place, so the profile and the pixel plan see it), and
//! [`encode_spliced`] leaves a gap where the encoded pixel data is copied back verbatim from
//! the input ([`Loaded::copy_pixel_data`]). Memory per file is then bounded by the header,
//! not by the frames, and the bytes are those the parser would have written (the element is
//! only left out when they are: see [`scan::PixelElement::verbatim`]).

use std::borrow::Cow;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};

use dicom_core::header::{HasLength, Header};
use dicom_core::value::PrimitiveValue;
use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::TransferSyntaxIndex;
use dicom_encoding::text::SpecificCharacterSet;
use dicom_object::mem::InMemDicomObject;
use dicom_object::meta::{FileMetaTable, FileMetaTableBuilder};
use dicom_parser::dataset::{DataSetWriter, DataToken, IntoTokens};
use dicom_parser::stateful::encode::StatefulEncoder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::dicom::reader;
use crate::dicom::scan::{self, Encoding, ScanError};
use crate::dicom::uid;

/// Explicit VR Big Endian: retired from the standard, still found in archives.
const EXPLICIT_VR_BIG_ENDIAN: &str = "1.2.840.10008.1.2.2";

/// This tool's Implementation Class UID (a fixed UUID-derived UID).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.194609115299206594393816769362030208796";

/// This tool's Implementation Version Name (at most 16 characters).
pub const IMPLEMENTATION_VERSION_NAME: &str = concat!("DICOMDEID_", env!("CARGO_PKG_VERSION"));

/// Why a file could not be read or written. The texts are fixed or structural (offsets, tag
/// numbers, kinds of error): never a value from the file.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FileError {
    #[error("malformed DICOM: {0}")]
    Structure(ScanError),
    #[error("transfer syntax {0} is not supported")]
    UnsupportedTransferSyntax(String),
    #[error("deflated data set is corrupt or inflates beyond {0} bytes")]
    Inflate(u64),
    #[error("data set cannot be parsed ({0})")]
    Parse(String),
    #[error("UN element of undefined length (CP-246) is not supported")]
    UndefinedLengthUn,
    #[error("the parser crashed on this file")]
    Panic,
    #[error("{0} is missing or not a valid UID after de-identification")]
    MissingUid(&'static str),
    #[error("cannot encode the de-identified data set ({0})")]
    Encode(String),
}

/// What a file turned out to be.
pub enum Parsed {
    /// Not DICOM at all: skipped.
    NotDicom,
    /// A DICOMDIR: skipped, since it holds PHI and would point at the old paths.
    Dicomdir,
    /// A data set, with the transfer syntax to write it back in.
    Dataset {
        object: InMemDicomObject,
        transfer_syntax: String,
    },
}

/// The variant name of a dicom-rs error: enough to tell faults apart, and free of values.
/// Formatting stops at the end of the name: the rest of the Debug text can hold a captured
/// backtrace (with `RUST_BACKTRACE` set), and symbolising one costs ~100 MB and a tenth of a
/// second per failed file.
fn error_kind<E: std::fmt::Debug>(e: &E) -> String {
    use std::fmt::Write as _;

    /// Keeps the first identifier written to it, then refuses further text.
    struct FirstName(String);

    impl std::fmt::Write for FirstName {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            for c in s.chars() {
                if c.is_ascii_alphanumeric() || c == '_' {
                    self.0.push(c);
                } else if !self.0.is_empty() {
                    return Err(std::fmt::Error);
                }
            }
            Ok(())
        }
    }

    let mut name = FirstName(String::new());
    let _ = write!(name, "{e:?}");
    if name.0.is_empty() {
        "unknown".to_owned()
    } else {
        name.0
    }
}

/// Classify and parse one file's bytes. `max_inflated` caps a deflated data set.
pub fn parse(bytes: &[u8], max_inflated: u64) -> Result<Parsed, FileError> {
    if !scan::looks_like_dicom(bytes) {
        return Ok(Parsed::NotDicom);
    }
    let layout = match scan::scan(bytes) {
        Ok(layout) => layout,
        Err(ScanError::NotDicom) => return Ok(Parsed::NotDicom),
        Err(e) => return Err(FileError::Structure(e)),
    };
    if layout.is_dicomdir {
        return Ok(Parsed::Dicomdir);
    }
    if layout.undefined_length_un {
        return Err(FileError::UndefinedLengthUn);
    }
    let ts_uid = match (&layout.transfer_syntax, layout.encoding) {
        (Some(ts), _) => ts.clone(),
        (None, Encoding::ImplicitLE) => uids::IMPLICIT_VR_LITTLE_ENDIAN.to_owned(),
        (None, Encoding::ExplicitBE) => EXPLICIT_VR_BIG_ENDIAN.to_owned(),
        (None, _) => uids::EXPLICIT_VR_LITTLE_ENDIAN.to_owned(),
    };
    let data = &bytes[layout.dataset_offset as usize..];
    let inflated;
    let (data, read_ts) = if layout.encoding == Encoding::DeflatedExplicitLE {
        inflated = inflate(data, max_inflated)?;
        let inner =
            scan::scan_dataset(&inflated, Encoding::ExplicitLE).map_err(FileError::Structure)?;
        if inner.undefined_length_un {
            return Err(FileError::UndefinedLengthUn);
        }
        (&inflated[..], uids::EXPLICIT_VR_LITTLE_ENDIAN)
    } else {
        (data, ts_uid.as_str())
    };
    let ts = TransferSyntaxRegistry
        .get(read_ts)
        .ok_or_else(|| FileError::UnsupportedTransferSyntax(ts_uid.clone()))?;
    let mut object = catch_unwind(AssertUnwindSafe(|| {
        read_dataset(data, ts, SpecificCharacterSet::default())
    }))
    .map_err(|_| FileError::Panic)?
    .map_err(|e| FileError::Parse(error_kind(&e)))?;
    if layout.transfer_syntax.is_some() {
        let meta_start = if layout.has_preamble { 128 } else { 0 };
        fill_sop_from_meta(&mut object, &bytes[meta_start..]);
    }
    Ok(Parsed::Dataset {
        object,
        transfer_syntax: ts_uid,
    })
}

/// Read a data set in `ts` from `charset` on: with the direct reader where it can, else (or
/// where it declines) with dicom-rs, which builds the same object more slowly.
fn read_dataset(
    data: &[u8],
    ts: &dicom_encoding::TransferSyntax,
    charset: SpecificCharacterSet,
) -> Result<InMemDicomObject, dicom_object::ReadError> {
    match reader::read_dataset(data, ts, charset.clone()) {
        Some(object) => Ok(object),
        None => InMemDicomObject::read_dataset_with_ts_cs(data, ts, charset),
    }
}

/// A data set without SOPClassUID or SOPInstanceUID takes them from the file meta, where
/// some writers leave them only; the profile then remaps the instance UID like any other.
fn fill_sop_from_meta(object: &mut InMemDicomObject, meta_bytes: &[u8]) {
    if object.get(tags::SOP_CLASS_UID).is_some() && object.get(tags::SOP_INSTANCE_UID).is_some() {
        return;
    }
    let Ok(meta) = catch_unwind(AssertUnwindSafe(|| FileMetaTable::from_reader(meta_bytes))) else {
        return;
    };
    let Ok(meta) = meta else {
        return;
    };
    for (tag, value) in [
        (tags::SOP_CLASS_UID, meta.media_storage_sop_class_uid()),
        (
            tags::SOP_INSTANCE_UID,
            meta.media_storage_sop_instance_uid(),
        ),
    ] {
        if object.get(tag).is_none() && uid::is_valid(value) {
            object.put(DataElement::new(tag, VR::UI, PrimitiveValue::from(value)));
        }
    }
}

/// Inflate a deflated data set, refusing to grow past `max` bytes (deflate bombs). The buffer
/// grows by doubling but never beyond `max + 1` bytes of capacity (`read_to_end` would double
/// past the cap, so a bomb would hold twice the cap), and a failed allocation is this file's
/// error, not an abort of the run.
pub(crate) fn inflate(data: &[u8], max: u64) -> Result<Vec<u8>, FileError> {
    let cap = usize::try_from(max.saturating_add(1)).unwrap_or(usize::MAX);
    let mut decoder = flate2::read::DeflateDecoder::new(data);
    let mut out = Vec::new();
    let mut filled = 0;
    loop {
        if filled == out.len() {
            if filled >= cap {
                return Err(FileError::Inflate(max));
            }
            let grown = filled.saturating_mul(2).max(64 << 10).min(cap);
            out.try_reserve_exact(grown - filled)
                .map_err(|_| FileError::Inflate(max))?;
            out.resize(grown, 0);
        }
        match decoder.read(&mut out[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err(FileError::Inflate(max)),
        }
    }
    out.truncate(filled);
    Ok(out)
}

fn required_uid(
    object: &InMemDicomObject,
    tag: Tag,
    name: &'static str,
) -> Result<String, FileError> {
    let value = object
        .get(tag)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
        .unwrap_or_default();
    if uid::is_valid(&value) {
        Ok(value)
    } else {
        Err(FileError::MissingUid(name))
    }
}

/// Encode a de-identified data set as a Part 10 file: preamble, a file meta group rebuilt
/// from the data set (no source/sending AE titles, no private information; this tool's
/// implementation UID), and the data set in `transfer_syntax`.
pub fn encode(object: &InMemDicomObject, transfer_syntax: &str) -> Result<Vec<u8>, FileError> {
    let ts = TransferSyntaxRegistry
        .get(transfer_syntax)
        .ok_or_else(|| FileError::UnsupportedTransferSyntax(transfer_syntax.to_owned()))?;
    let mut out = Vec::with_capacity(4096);
    write_preamble_and_meta(object, transfer_syntax, &mut out)?;
    catch_unwind(AssertUnwindSafe(|| {
        object
            .write_dataset_with_ts(&mut out, ts)
            .map_err(|e| FileError::Encode(error_kind(&e)))
    }))
    .map_err(|_| FileError::Panic)??;
    Ok(out)
}

/// The preamble and a file meta group rebuilt from the data set (see [`encode`]).
fn write_preamble_and_meta(
    object: &InMemDicomObject,
    transfer_syntax: &str,
    out: &mut Vec<u8>,
) -> Result<(), FileError> {
    let sop_class = required_uid(object, tags::SOP_CLASS_UID, "SOPClassUID")?;
    let sop_instance = required_uid(object, tags::SOP_INSTANCE_UID, "SOPInstanceUID")?;
    let meta = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid(sop_instance)
        .transfer_syntax(transfer_syntax)
        .implementation_class_uid(IMPLEMENTATION_CLASS_UID)
        .implementation_version_name(IMPLEMENTATION_VERSION_NAME)
        .build()
        .map_err(|e| FileError::Encode(error_kind(&e)))?;
    out.write_all(&[0u8; 128]).expect("writing to memory");
    out.write_all(b"DICM").expect("writing to memory");
    meta.write(&mut *out)
        .map_err(|e| FileError::Encode(error_kind(&e)))
}

/// Files up to this size are read whole, in one read: their pixel data is still copied
/// verbatim, from memory.
const READ_WHOLE: u64 = 1 << 20;
/// The first read of a larger file, doubled until the header before the pixel data fits.
const FIRST_READ: u64 = 256 << 10;
/// The buffer that streams pixel data from a large input to its output.
const COPY_CHUNK: usize = 256 << 10;
/// The value of the stand-in for a top-level Pixel Data element left in the input.
const STAND_IN: &[u8] = b"dicom-deid: pixel data left in the input";

/// A file read as far as de-identification needs: all of it, or all but its top-level Pixel
/// Data element when that element can be copied verbatim to the output.
pub struct Loaded<'a> {
    /// The whole file; or, when split and large, the bytes before the pixel data element
    /// followed by those after it.
    buf: Cow<'a, [u8]>,
    file: Option<&'a File>,
    len: u64,
    split: Option<Split>,
}

/// Where the top-level pixel data element sits, when it is left out of the parse.
struct Split {
    layout: scan::Layout,
    /// The element, header and value, in the file.
    pixel: Range<u64>,
    /// The bytes after the element, in `buf`.
    tail: Range<usize>,
    /// Whether `buf` is the whole file, pixel data included.
    in_buf: bool,
    /// Whether the pixel data is encapsulated (fragments).
    encapsulated: bool,
}

/// Where a writer's count of bytes written is kept, readable while the writer holds it.
struct Tally<'a> {
    out: &'a mut Vec<u8>,
    len: &'a Cell<usize>,
}

impl Write for Tally<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.extend_from_slice(buf);
        self.len.set(self.out.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Read `file` (of `len` bytes) for de-identification; see [`Loaded`].
///
/// # Errors
/// A read error of the input.
pub fn load_file(file: &File, len: u64) -> io::Result<Loaded<'_>> {
    let mut reader = io::BufReader::with_capacity(8 << 10, file);
    if len > READ_WHOLE {
        let mut want = FIRST_READ;
        loop {
            let mut head = vec![0; usize::try_from(want.min(len)).unwrap_or(usize::MAX)];
            reader.seek(io::SeekFrom::Start(0))?;
            reader.read_exact(&mut head)?;
            match split(&head, &mut reader, len) {
                Probe::NeedMore if want < len => want = want.saturating_mul(2),
                Probe::Split(split) => {
                    let (Ok(start), Ok(tail_len)) = (
                        usize::try_from(split.pixel.start),
                        usize::try_from(len - split.pixel.end),
                    ) else {
                        break;
                    };
                    // The scan met the pixel data's header inside `head`.
                    head.truncate(start);
                    head.resize(start + tail_len, 0);
                    reader.seek(io::SeekFrom::Start(split.pixel.end))?;
                    reader.read_exact(&mut head[start..])?;
                    return Ok(Loaded {
                        buf: Cow::Owned(head),
                        file: Some(file),
                        len,
                        split: Some(Split {
                            tail: start..start + tail_len,
                            in_buf: false,
                            ..split
                        }),
                    });
                }
                Probe::NeedMore | Probe::Whole => break,
            }
        }
    }
    let mut whole = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    reader.seek(io::SeekFrom::Start(0))?;
    reader.read_to_end(&mut whole)?;
    Ok(Loaded::whole(Cow::Owned(whole), Some(file)))
}

/// A file already in memory; see [`Loaded`].
pub fn load_bytes(bytes: &[u8]) -> Loaded<'_> {
    Loaded::whole(Cow::Borrowed(bytes), None)
}

/// What the first bytes of a file tell about leaving its pixel data out.
enum Probe {
    Split(Split),
    /// The header runs past the bytes read.
    NeedMore,
    /// Read and parse the whole file: no pixel data, a layout that is not copied verbatim,
    /// or a fault (which the whole-file parse then reports).
    Whole,
}

/// Find the pixel data element from `head` (the first bytes of a file of `len` bytes, all of
/// them when `head.len() == len`), reading the rest through `file` where needed. `tail` of the
/// result is left for the caller to fill.
fn split<R: Read + Seek>(head: &[u8], file: &mut R, len: u64) -> Probe {
    let complete = head.len() as u64 == len;
    let layout = match scan::scan_head(head, complete) {
        Ok(layout) => layout,
        Err(ScanError::Truncated { .. }) if !complete => return Probe::NeedMore,
        Err(_) => return Probe::Whole,
    };
    if layout.encoding == Encoding::DeflatedExplicitLE
        || layout.is_dicomdir
        || layout.undefined_length_un
    {
        return Probe::Whole;
    }
    let Some(start) = layout.pixel_data_offset else {
        return if complete {
            Probe::Whole
        } else {
            Probe::NeedMore
        };
    };
    match scan::pixel_data_end(file, start, len, layout.encoding) {
        Ok(element) if element.verbatim => Probe::Split(Split {
            layout,
            pixel: start..element.end,
            tail: 0..0,
            in_buf: true,
            encapsulated: element.encapsulated,
        }),
        _ => Probe::Whole,
    }
}

impl<'a> Loaded<'a> {
    fn whole(buf: Cow<'a, [u8]>, file: Option<&'a File>) -> Self {
        let len = buf.len() as u64;
        let split = match split(&buf, &mut io::Cursor::new(&buf[..]), len) {
            Probe::Split(split) => usize::try_from(split.pixel.end).ok().map(|end| Split {
                tail: end..buf.len(),
                ..split
            }),
            Probe::NeedMore | Probe::Whole => None,
        };
        Loaded {
            buf,
            file,
            len,
            split,
        }
    }

    /// The file's size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the top-level pixel data is left out of the parse (and copied verbatim).
    pub fn is_split(&self) -> bool {
        self.split.is_some()
    }

    /// The whole file, read now if only its header was.
    ///
    /// # Errors
    /// A read error of the input.
    pub fn whole_file(&self) -> io::Result<Cow<'_, [u8]>> {
        match (&self.split, self.file) {
            (Some(split), Some(file)) if !split.in_buf => {
                let mut whole = Vec::with_capacity(usize::try_from(self.len).unwrap_or(0));
                let mut reader = io::BufReader::new(file);
                reader.seek(io::SeekFrom::Start(0))?;
                reader.read_to_end(&mut whole)?;
                Ok(Cow::Owned(whole))
            }
            _ => Ok(Cow::Borrowed(&self.buf)),
        }
    }

    /// Write the bytes `range` of the input file (the pixel data element an [`Output`] of
    /// this file leaves out) to `out`, from memory or streamed from the file.
    ///
    /// [`Output`]: crate::deid::one_file::Output
    ///
    /// # Errors
    /// A read error of the input, a write error of `out`, or a file that changed size.
    pub fn copy_range(&self, range: Range<u64>, out: &mut dyn Write) -> io::Result<()> {
        if self.in_memory() {
            let bytes = usize::try_from(range.start)
                .ok()
                .zip(usize::try_from(range.end).ok())
                .and_then(|(a, b)| self.buf.get(a..b))
                .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
            return out.write_all(bytes);
        }
        let file = self.file.expect("checked above");
        let mut chunk =
            vec![0; COPY_CHUNK.min(usize::try_from(range.end - range.start).unwrap_or(COPY_CHUNK))];
        let mut pos = range.start;
        while pos < range.end {
            let n = usize::try_from(range.end - pos).map_or(chunk.len(), |n| n.min(chunk.len()));
            std::os::unix::fs::FileExt::read_exact_at(file, &mut chunk[..n], pos)?;
            out.write_all(&chunk[..n])?;
            pos += n as u64;
        }
        Ok(())
    }

    /// Copy `range` like [`Loaded::copy_range`], but hand each of `frames` frames of
    /// `frame_len` bytes starting at `frames_at` to `edit` on the way (to mask them): one
    /// frame is in memory at a time, however large the pixel data.
    ///
    /// # Errors
    /// As [`Loaded::copy_range`]; also frames that do not lie inside `range`.
    pub fn copy_range_editing(
        &self,
        range: Range<u64>,
        frames_at: u64,
        (frame_len, frames): (u64, u32),
        out: &mut dyn Write,
        edit: &mut dyn FnMut(&mut [u8]),
    ) -> io::Result<()> {
        let frames_end = frame_len
            .checked_mul(u64::from(frames))
            .and_then(|n| n.checked_add(frames_at))
            .filter(|&end| range.start <= frames_at && end <= range.end)
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        self.copy_range(range.start..frames_at, out)?;
        let mut frame = vec![0; usize::try_from(frame_len).map_err(io::Error::other)?];
        for index in 0..u64::from(frames) {
            self.read_exact_at(&mut frame, frames_at + index * frame_len)?;
            edit(&mut frame);
            out.write_all(&frame)?;
        }
        self.copy_range(frames_end..range.end, out)
    }

    /// Whether every byte of the file is in `buf`.
    fn in_memory(&self) -> bool {
        self.file.is_none() || self.split.as_ref().is_none_or(|s| s.in_buf)
    }

    fn read_exact_at(&self, buf: &mut [u8], pos: u64) -> io::Result<()> {
        match self.file {
            Some(file) if !self.in_memory() => {
                std::os::unix::fs::FileExt::read_exact_at(file, buf, pos)
            }
            _ => {
                let bytes = usize::try_from(pos)
                    .ok()
                    .and_then(|at| self.buf.get(at..at.checked_add(buf.len())?))
                    .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
                buf.copy_from_slice(bytes);
                Ok(())
            }
        }
    }

    /// Where the value of the left-out native pixel data starts in the file, when its bytes
    /// lie there as little-endian samples (implicit or explicit VR little endian, OB or OW):
    /// masking can then edit them on their way to the output, without parsing them.
    pub fn native_pixel_value_at(&self) -> Option<u64> {
        let split = self.split.as_ref().filter(|s| !s.encapsulated)?;
        let header_len = match split.layout.encoding {
            Encoding::ImplicitLE => 8,
            Encoding::ExplicitLE => {
                let mut vr = [0; 2];
                self.read_exact_at(&mut vr, split.pixel.start + 4).ok()?;
                if !matches!(&vr, b"OB" | b"OW") {
                    return None;
                }
                12
            }
            Encoding::ExplicitBE | Encoding::DeflatedExplicitLE => return None,
        };
        let at = split.pixel.start + header_len;
        (at <= split.pixel.end).then_some(at)
    }

    /// The pixel data element left in the input, when it was.
    pub fn pixel_range(&self) -> Option<Range<u64>> {
        self.split.as_ref().map(|s| s.pixel.clone())
    }
}

/// Parse a loaded file like [`parse`]; when its pixel data was left out, the data set holds
/// a stand-in Pixel Data element instead, which [`encode_spliced`] recognises.
pub fn parse_loaded(loaded: &Loaded<'_>, max_inflated: u64) -> Result<Parsed, FileError> {
    let Some(split) = &loaded.split else {
        return parse(&loaded.buf, max_inflated);
    };
    let layout = &split.layout;
    let ts_uid = match (&layout.transfer_syntax, layout.encoding) {
        (Some(ts), _) => ts.clone(),
        (None, Encoding::ImplicitLE) => uids::IMPLICIT_VR_LITTLE_ENDIAN.to_owned(),
        (None, Encoding::ExplicitBE) => EXPLICIT_VR_BIG_ENDIAN.to_owned(),
        (None, _) => uids::EXPLICIT_VR_LITTLE_ENDIAN.to_owned(),
    };
    let ts = TransferSyntaxRegistry
        .get(&ts_uid)
        .ok_or_else(|| FileError::UnsupportedTransferSyntax(ts_uid.clone()))?;
    let head = usize::try_from(layout.dataset_offset)
        .ok()
        .zip(usize::try_from(split.pixel.start).ok())
        .and_then(|(a, b)| loaded.buf.get(a..b))
        .ok_or(FileError::Parse("layout".to_owned()))?;
    let tail = &loaded.buf[split.tail.clone()];
    // What follows the pixel data is validated like the head before dicom-rs reads it: a
    // trailing element may declare a length of gigabytes.
    let has_tail = tail.iter().any(|&b| b != 0);
    if has_tail {
        let inner = scan::scan_dataset(tail, layout.encoding).map_err(FileError::Structure)?;
        if inner.undefined_length_un {
            return Err(FileError::UndefinedLengthUn);
        }
    }
    let mut object = catch_unwind(AssertUnwindSafe(|| {
        let mut object = read_dataset(head, ts, SpecificCharacterSet::default())?;
        // Trailing zeros are padding (see the scanner); anything else after the pixel data
        // is read in the data set's character set, as the whole-file parse would.
        if has_tail {
            let charset = object
                .get(tags::SPECIFIC_CHARACTER_SET)
                .and_then(|e| e.to_str().ok())
                .and_then(|s| SpecificCharacterSet::from_code(s.trim()))
                .unwrap_or_default();
            let after = read_dataset(tail, ts, charset)?;
            for element in after {
                object.put(element);
            }
        }
        Ok::<_, dicom_object::ReadError>(object)
    }))
    .map_err(|_| FileError::Panic)?
    .map_err(|e| FileError::Parse(error_kind(&e)))?;
    // Native or encapsulated like the input, so that the pixel plan decides alike.
    let stand_in = if split.encapsulated {
        Value::PixelSequence(PixelFragmentSequence::new(
            Vec::<u32>::new(),
            vec![STAND_IN.to_vec()],
        ))
    } else {
        Value::Primitive(PrimitiveValue::from(STAND_IN))
    };
    object.put(DataElement::new(tags::PIXEL_DATA, VR::OB, stand_in));
    if layout.transfer_syntax.is_some() {
        let meta_start = if layout.has_preamble { 128 } else { 0 };
        fill_sop_from_meta(&mut object, &loaded.buf[meta_start..]);
    }
    Ok(Parsed::Dataset {
        object,
        transfer_syntax: ts_uid,
    })
}

/// Encode like [`encode`], consuming the data set (no element is cloned). With `splice`, a
/// top-level stand-in Pixel Data element that the profile kept as it was is not written:
/// the result then says where its bytes go (`Some(offset)`), to be copied from the input.
pub fn encode_spliced(
    mut object: InMemDicomObject,
    transfer_syntax: &str,
    splice: bool,
) -> Result<(Vec<u8>, Option<usize>), FileError> {
    let ts = TransferSyntaxRegistry
        .get(transfer_syntax)
        .ok_or_else(|| FileError::UnsupportedTransferSyntax(transfer_syntax.to_owned()))?;
    let mut out = Vec::with_capacity(16 << 10);
    write_preamble_and_meta(&object, transfer_syntax, &mut out)?;
    if !matches!(
        ts.codec(),
        dicom_encoding::Codec::None | dicom_encoding::Codec::EncapsulatedPixelData(..)
    ) {
        // Deflated and other adapted data sets: the parser's writer does the whole.
        catch_unwind(AssertUnwindSafe(|| {
            object
                .write_dataset_with_ts(&mut out, ts)
                .map_err(|e| FileError::Encode(error_kind(&e)))
        }))
        .map_err(|_| FileError::Panic)??;
        return Ok((out, None));
    }
    // A kept stand-in is left out; its bytes go before the first element after it.
    let spliced = splice && object.get(tags::PIXEL_DATA).is_some_and(is_stand_in);
    if spliced {
        object.take(tags::PIXEL_DATA);
    }
    let start = out.len();
    if is_plain(&object) {
        let gap = catch_unwind(AssertUnwindSafe(|| {
            write_plain(&object, ts, &mut out, spliced)
        }))
        .map_err(|_| FileError::Panic)??;
        return Ok((out, gap.map(|at| start + at)));
    }
    let written = Cell::new(start);
    let gap = catch_unwind(AssertUnwindSafe(|| {
        let mut writer = DataSetWriter::with_ts(
            Tally {
                out: &mut out,
                len: &written,
            },
            ts,
        )
        .map_err(|e| FileError::Encode(error_kind(&e)))?;
        let encode = |e| FileError::Encode(error_kind(&e));
        let mut gap = None;
        let mut depth = 0usize;
        for token in object.into_tokens() {
            let top_tag = match &token {
                DataToken::ElementHeader(h) if depth == 0 => Some(h.tag),
                DataToken::SequenceStart { tag, .. } if depth == 0 => Some(*tag),
                DataToken::PixelSequenceStart if depth == 0 => Some(tags::PIXEL_DATA),
                _ => None,
            };
            if spliced && gap.is_none() && top_tag.is_some_and(|t| t > tags::PIXEL_DATA) {
                writer.flush().map_err(encode)?;
                gap = Some(written.get());
            }
            match &token {
                DataToken::SequenceStart { .. } | DataToken::PixelSequenceStart => depth += 1,
                DataToken::SequenceEnd => depth = depth.saturating_sub(1),
                _ => {}
            }
            writer.write(token).map_err(encode)?;
        }
        writer.flush().map_err(encode)?;
        Ok::<_, FileError>(if spliced {
            gap.or(Some(written.get()))
        } else {
            None
        })
    }))
    .map_err(|_| FileError::Panic)??;
    Ok((out, gap))
}

/// Whether an element is the stand-in [`parse_loaded`] put in place of the pixel data: a
/// primitive value or a one-fragment sequence, as the input was native or encapsulated.
fn is_stand_in(element: &dicom_object::mem::InMemElement) -> bool {
    match element.value() {
        Value::Primitive(value) => value.to_bytes().as_ref() == STAND_IN,
        Value::PixelSequence(seq) => {
            seq.offset_table().is_empty()
                && seq.fragments().len() == 1
                && seq.fragments()[0] == STAND_IN
        }
        Value::Sequence(_) => false,
    }
}

/// Whether every element has the shape the direct writer handles: a primitive value under a
/// VR other than SQ (native pixel data included), or items under SQ, at every depth. Other
/// shapes (encapsulated pixel data, malformed values) go through the parser's token writer.
fn is_plain(object: &InMemDicomObject) -> bool {
    object.iter().all(|e| match (e.vr(), e.value()) {
        (VR::SQ, Value::Sequence(seq)) => seq.items().iter().all(is_plain),
        (VR::SQ, _) => false,
        (_, Value::Primitive(_)) => {
            !(e.tag() == tags::PIXEL_DATA && e.vr() == VR::OB && e.length().is_undefined())
        }
        _ => false,
    })
}

/// Write a plain data set (see [`is_plain`]) straight through the parser's stateful encoder,
/// producing exactly the bytes of its token writer (sequences and items of undefined length,
/// values padded to even length, text in the data set's character set) without a token per
/// value: at depth, the token writer costs several times the parse. With `splice`, returns
/// where the pixel data element goes, as an offset from the start of the data set.
fn write_plain(
    object: &InMemDicomObject,
    ts: &dicom_encoding::TransferSyntax,
    out: &mut Vec<u8>,
    splice: bool,
) -> Result<Option<usize>, FileError> {
    let encoder = ts
        .encoder_for::<&mut Vec<u8>>()
        .ok_or_else(|| FileError::UnsupportedTransferSyntax(ts.uid().to_owned()))?;
    let mut printer = StatefulEncoder::new(out, encoder, SpecificCharacterSet::default());
    let mut text = PlainText {
        ascii_is_identity: true,
        buffer: Vec::new(),
    };
    let mut gap = None;
    for element in object {
        if splice && gap.is_none() && element.tag() > tags::PIXEL_DATA {
            gap = usize::try_from(printer.bytes_written()).ok();
        }
        write_plain_element(&mut printer, element, &mut text)?;
    }
    if splice && gap.is_none() {
        gap = usize::try_from(printer.bytes_written()).ok();
    }
    printer
        .flush()
        .map_err(|e| FileError::Encode(error_kind(&e)))?;
    Ok(gap)
}

/// What [`write_plain`] knows of the printer's character set, and a buffer for text values.
struct PlainText {
    /// Whether the printer's character set writes ASCII as itself (ISO_IR 6, 100, 192):
    /// ASCII text then goes out as it is, without the encoder's per-character conversion.
    ascii_is_identity: bool,
    buffer: Vec<u8>,
}

fn write_plain_element<W: Write, E: dicom_encoding::encode::EncodeTo<W>>(
    printer: &mut StatefulEncoder<W, E>,
    element: &dicom_object::mem::InMemElement,
    text: &mut PlainText,
) -> Result<(), FileError> {
    let encode = |e| FileError::Encode(error_kind(&e));
    match element.value() {
        Value::Primitive(value) if element.tag() == tags::SPECIFIC_CHARACTER_SET => {
            // The encoder switches its character set here: let it, and follow it.
            printer
                .encode_primitive_element(element.header(), value)
                .map_err(encode)?;
            let code = match value {
                PrimitiveValue::Strs(codes) => codes.first().map(String::as_str),
                PrimitiveValue::Str(code) => Some(code.as_str()),
                _ => None,
            };
            if let Some(charset) = code.and_then(SpecificCharacterSet::from_code) {
                text.ascii_is_identity = reader::ascii_is_identity(&charset);
            }
            Ok(())
        }
        Value::Primitive(value) => {
            if write_ascii_text(printer, element, value, text)? {
                return Ok(());
            }
            printer
                .encode_primitive_element(element.header(), value)
                .map_err(encode)
        }
        Value::Sequence(seq) => {
            printer
                .encode_element_header(dicom_core::DataElementHeader::new(
                    element.tag(),
                    VR::SQ,
                    dicom_core::Length::UNDEFINED,
                ))
                .map_err(encode)?;
            for item in seq.items() {
                printer.encode_item_header(u32::MAX).map_err(encode)?;
                for inner in item {
                    write_plain_element(printer, inner, text)?;
                }
                printer.encode_item_delimiter().map_err(encode)?;
            }
            printer.encode_sequence_delimiter().map_err(encode)
        }
        Value::PixelSequence(_) => Err(FileError::Encode("PixelSequence".to_owned())),
    }
}

/// Write a text value that is all ASCII, in a character set that writes ASCII as itself, as
/// the encoder would (values joined by backslashes, padded to even length with a NUL for UI
/// and a space otherwise), without its conversion; `false` when the value is not such text.
fn write_ascii_text<W: Write, E: dicom_encoding::encode::EncodeTo<W>>(
    printer: &mut StatefulEncoder<W, E>,
    element: &dicom_object::mem::InMemElement,
    value: &PrimitiveValue,
    text: &mut PlainText,
) -> Result<bool, FileError> {
    let vr = element.vr();
    // The encoder writes these in the default repertoire, whatever the character set.
    let default_repertoire = matches!(
        vr,
        VR::AE | VR::AS | VR::CS | VR::DA | VR::DS | VR::DT | VR::IS | VR::TM | VR::UI
    );
    if !(default_repertoire || text.ascii_is_identity) {
        return Ok(false);
    }
    let buffer = &mut text.buffer;
    buffer.clear();
    match value {
        PrimitiveValue::Str(s) if s.is_ascii() => buffer.extend_from_slice(s.as_bytes()),
        PrimitiveValue::Strs(values) if values.iter().all(|s| s.is_ascii()) => {
            for (i, s) in values.iter().enumerate() {
                if i > 0 {
                    buffer.push(b'\\');
                }
                buffer.extend_from_slice(s.as_bytes());
            }
        }
        _ => return Ok(false),
    }
    if buffer.len() % 2 == 1 {
        buffer.push(if vr == VR::UI { b'\0' } else { b' ' });
    }
    let encode = |e| FileError::Encode(error_kind(&e));
    let len = u32::try_from(buffer.len()).map_err(|_| FileError::Encode("length".to_owned()))?;
    printer
        .encode_element_header(dicom_core::DataElementHeader::new(
            element.tag(),
            vr,
            dicom_core::Length(len),
        ))
        .map_err(encode)?;
    printer.write_raw_bytes(buffer).map_err(encode)?;
    Ok(true)
}
