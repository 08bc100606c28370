//! Loading a file as far as de-identification needs: a large top-level Pixel Data element
//! stays in the input, represented in the data set by a stand-in.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};

use dicom_core::value::PrimitiveValue;
use dicom_core::value::{PixelFragmentSequence, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::TransferSyntaxIndex;
use dicom_encoding::text::SpecificCharacterSet;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::dicom::scan::{self, Encoding, ScanError};

use super::parse::{fill_sop_from_meta, parse_un_sequences, read_dataset};
use super::{EXPLICIT_VR_BIG_ENDIAN, FileError, Parsed, error_kind, parse};

/// Files up to this size are read whole, in one read: their pixel data is still copied
/// verbatim, from memory.
const READ_WHOLE: u64 = 1 << 20;
/// The first read of a larger file, doubled until the header before the pixel data fits.
const FIRST_READ: u64 = 256 << 10;
/// The buffer that streams pixel data from a large input to its output.
const COPY_CHUNK: usize = 256 << 10;
/// The value of the stand-in for a top-level Pixel Data element left in the input.
pub(super) const STAND_IN: &[u8] = b"dicom-deid: pixel data left in the input";

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
/// a stand-in Pixel Data element instead, which [`super::encode_spliced`] recognises.
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
    parse_un_sequences(&mut object);
    Ok(Parsed::Dataset {
        object,
        transfer_syntax: ts_uid,
    })
}
