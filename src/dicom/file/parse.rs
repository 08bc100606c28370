//! Classifying a file and parsing its data set (a deflated one inflated under a cap).

use std::io::Read;
use std::panic::{AssertUnwindSafe, catch_unwind};

use dicom_core::header::Header;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::TransferSyntaxIndex;
use dicom_encoding::text::SpecificCharacterSet;
use dicom_object::mem::{InMemDicomObject, InMemElement};
use dicom_object::meta::FileMetaTable;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::dicom::reader;
use crate::dicom::scan::{self, Encoding, ScanError};
use crate::dicom::uid;
use crate::dicom::values::dictionary_vr;

use super::{EXPLICIT_VR_BIG_ENDIAN, FileError, Parsed, error_kind};

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
    // A UN of undefined length (CP-246) is given the defined length of its value, sequence
    // delimiter included, so the file keeps its size (and every enclosing length stays
    // right); [`parse_un_sequences`] then reads its implicit VR items without the delimiter.
    let rewritten;
    let bytes = if layout.undefined_length_un {
        if layout.encoding != Encoding::ExplicitLE {
            return Err(FileError::UndefinedLengthUn);
        }
        let mut copy = bytes.to_vec();
        for &(at, len) in &layout.undefined_un_lengths {
            copy[at..at + 4].copy_from_slice(&len.to_le_bytes());
        }
        rewritten = copy;
        &rewritten[..]
    } else {
        bytes
    };
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
    parse_un_sequences(&mut object);
    if layout.undefined_length_un {
        drop_delimiters(&mut object);
    }
    Ok(Parsed::Dataset {
        object,
        transfer_syntax: ts_uid,
    })
}

/// Read a data set in `ts` from `charset` on: with the direct reader where it can, else (or
/// where it declines) with dicom-rs, which builds the same object more slowly.
pub(super) fn read_dataset(
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
pub(super) fn fill_sop_from_meta(object: &mut InMemDicomObject, meta_bytes: &[u8]) {
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
pub fn inflate(data: &[u8], max: u64) -> Result<Vec<u8>, FileError> {
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

/// A standard sequence stored as UN (explicit VR, where the writer did not know the
/// attribute; one of undefined length arrives here with its delimiter inside) is parsed as
/// the sequence it is: its value is implicit VR little endian items (PS3.5 6.2.2), read in
/// the data set's character set. Every level is done, so
/// the engine de-identifies what it holds like any sequence and writes it back as SQ. A value
/// that does not parse as items stays UN; a data set without such a value is left as it is.
pub(super) fn parse_un_sequences(object: &mut InMemDicomObject) {
    if !has_un_sequence(object) {
        return;
    }
    let charset = object
        .get(tags::SPECIFIC_CHARACTER_SET)
        .and_then(|e| e.to_str().ok())
        .and_then(|s| SpecificCharacterSet::from_code(s.trim()))
        .unwrap_or_default();
    parse_level(object, &charset);
}

fn is_un_sequence(elem: &InMemElement) -> bool {
    elem.vr() == VR::UN
        && matches!(elem.value(), Value::Primitive(_))
        && dictionary_vr(elem.tag()) == Some(VR::SQ)
}

fn has_un_sequence(object: &InMemDicomObject) -> bool {
    object.iter().any(|elem| {
        is_un_sequence(elem)
            || elem
                .items()
                .is_some_and(|items| items.iter().any(has_un_sequence))
    })
}

fn parse_level(object: &mut InMemDicomObject, charset: &SpecificCharacterSet) {
    let mut parsed = Vec::new();
    let mut nested = Vec::new();
    for elem in object.iter() {
        if is_un_sequence(elem) {
            parsed.extend(as_sequence(elem, charset));
        } else if elem
            .items()
            .is_some_and(|items| items.iter().any(has_un_sequence))
        {
            nested.push(elem.tag());
        }
    }
    for elem in parsed {
        object.put(elem);
    }
    for tag in nested {
        object.update_value(tag, |value| {
            if let Some(items) = value.items_mut() {
                for item in items.iter_mut() {
                    parse_level(item, charset);
                }
            }
        });
    }
}

/// Whether a UN value ends with the delimiter of an undefined length (see [`parse`]).
fn delimited_un(elem: &InMemElement) -> bool {
    elem.vr() == VR::UN
        && matches!(elem.value(), Value::Primitive(p) if p.to_bytes().ends_with(&SEQUENCE_END))
}

fn has_delimited_un(object: &InMemDicomObject) -> bool {
    object.iter().any(|elem| {
        delimited_un(elem)
            || elem
                .items()
                .is_some_and(|items| items.iter().any(has_delimited_un))
    })
}

/// A UN of undefined length that is no standard sequence (a private one) stays UN: its
/// value loses the delimiter that [`parse`] left inside it, and keeps its items.
fn drop_delimiters(object: &mut InMemDicomObject) {
    if !has_delimited_un(object) {
        return;
    }
    let mut stripped = Vec::new();
    let mut nested = Vec::new();
    for elem in object.iter() {
        if delimited_un(elem) {
            let bytes = elem.to_bytes().map(|b| b.to_vec()).unwrap_or_default();
            let value = bytes[..bytes.len() - SEQUENCE_END.len()].to_vec();
            stripped.push(DataElement::new(
                elem.tag(),
                VR::UN,
                PrimitiveValue::from(value),
            ));
        } else if elem
            .items()
            .is_some_and(|items| items.iter().any(has_delimited_un))
        {
            nested.push(elem.tag());
        }
    }
    for elem in stripped {
        object.put(elem);
    }
    for tag in nested {
        object.update_value(tag, |value| {
            if let Some(items) = value.items_mut() {
                items.iter_mut().for_each(drop_delimiters);
            }
        });
    }
}

/// A sequence delimitation item, ending a UN value that had an undefined length.
const SEQUENCE_END: [u8; 8] = [0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0];

/// The UN value of a sequence attribute read as an implicit VR sequence, when it is one.
fn as_sequence(elem: &InMemElement, charset: &SpecificCharacterSet) -> Option<InMemElement> {
    let tag = elem.tag();
    let bytes = elem.to_bytes().ok()?;
    let bytes = bytes.strip_suffix(&SEQUENCE_END).unwrap_or(&bytes);
    let len = u32::try_from(bytes.len()).ok()?;
    let mut data = Vec::with_capacity(bytes.len() + 8);
    data.extend(tag.0.to_le_bytes());
    data.extend(tag.1.to_le_bytes());
    data.extend(len.to_le_bytes());
    data.extend_from_slice(bytes);
    // Checked first, like every data set read: a length beyond the bytes would otherwise have
    // dicom-rs allocate what it says (gigabytes, from a fuzzed 2 KB file).
    scan::scan_dataset(&data, scan::Encoding::ImplicitLE).ok()?;
    let ts = TransferSyntaxRegistry.get(uids::IMPLICIT_VR_LITTLE_ENDIAN)?;
    let mut object = catch_unwind(AssertUnwindSafe(|| {
        read_dataset(&data, ts, charset.clone())
    }))
    .ok()?
    .ok()?;
    let sequence = object.take(tag)?;
    (object.iter().next().is_none() && matches!(sequence.value(), Value::Sequence(_)))
        .then_some(sequence)
}
