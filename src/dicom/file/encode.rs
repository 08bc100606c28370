//! Writing a de-identified data set as a Part 10 file, with a gap left for pixel data
//! copied verbatim from the input.

use std::cell::Cell;
use std::io::{self, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};

use dicom_core::header::{HasLength, Header};
use dicom_core::value::PrimitiveValue;
use dicom_core::value::Value;
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::TransferSyntaxIndex;
use dicom_encoding::text::SpecificCharacterSet;
use dicom_object::mem::{InMemDicomObject, InMemElement};
use dicom_object::meta::FileMetaTableBuilder;
use dicom_parser::dataset::{DataSetWriter, DataToken, IntoTokens};
use dicom_parser::stateful::encode::StatefulEncoder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::dicom::reader;
use crate::dicom::uid;

use super::load::STAND_IN;
use super::{FileError, error_kind};

/// This tool's Implementation Class UID (a fixed UUID-derived UID).
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.194609115299206594393816769362030208796";

/// This tool's Implementation Version Name (at most 16 characters).
pub const IMPLEMENTATION_VERSION_NAME: &str = concat!("DICOMDEID_", env!("CARGO_PKG_VERSION"));

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

/// Text VRs whose explicit VR header has a 2-byte length (PS3.5 7.1.2). (Binary ones
/// that long can only come from a UN the engine leaves as UN.)
const SHORT_LENGTH_TEXT_VRS: [VR; 14] = [
    VR::AE,
    VR::AS,
    VR::CS,
    VR::DA,
    VR::DS,
    VR::DT,
    VR::IS,
    VR::LO,
    VR::LT,
    VR::PN,
    VR::SH,
    VR::ST,
    VR::TM,
    VR::UI,
];

/// Whether a value is too long for its VR's 2-byte length in explicit VR.
fn too_long(elem: &InMemElement) -> bool {
    matches!(elem.value(), Value::Primitive(p)
        if SHORT_LENGTH_TEXT_VRS.contains(&elem.vr())
            && p.calculate_byte_len() > usize::from(u16::MAX - 1))
}

/// Whether any value at any depth is [`too_long`].
fn has_too_long(object: &InMemDicomObject) -> bool {
    object.iter().any(|elem| {
        too_long(elem)
            || elem
                .items()
                .is_some_and(|items| items.iter().any(has_too_long))
    })
}

/// Write as UN (4-byte length, legal for any attribute) every value, at any depth, too long
/// for its VR's 2-byte length in explicit VR: a standard attribute stored as UN in the input
/// and re-read with its dictionary VR (a long ContourData as DS, say) is written, not failed.
/// Data sets without such a value are left exactly as they are.
fn fit_short_lengths(object: &mut InMemDicomObject) {
    if !has_too_long(object) {
        return;
    }
    let mut long = Vec::new();
    let mut sequences = Vec::new();
    for elem in object.iter() {
        if too_long(elem) {
            long.push(elem.tag());
        } else if elem
            .items()
            .is_some_and(|items| items.iter().any(has_too_long))
        {
            sequences.push(elem.tag());
        }
    }
    for tag in long {
        let bytes = object
            .get(tag)
            .and_then(|elem| elem.to_bytes().ok())
            .map(|b| b.into_owned());
        if let Some(mut bytes) = bytes {
            if bytes.len() % 2 == 1 {
                bytes.push(b' ');
            }
            object.put(DataElement::new(tag, VR::UN, PrimitiveValue::from(bytes)));
        }
    }
    for tag in sequences {
        object.update_value(tag, |value| {
            if let Some(items) = value.items_mut() {
                items.iter_mut().for_each(fit_short_lengths);
            }
        });
    }
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
    if transfer_syntax != uids::IMPLICIT_VR_LITTLE_ENDIAN {
        fit_short_lengths(&mut object);
    }
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
