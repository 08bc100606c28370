//! The direct reader: a little-endian data set read from bytes straight into the dicom-rs
//! object that dicom-rs's own reader would build from them, without its token stream.
//!
//! dicom-rs reads each element through a boxed decoder, a buffered reader, a token and a
//! character-set decoder that appends one character at a time; on a header of thousands of
//! short elements that is most of the time spent on a file. This reader slices the bytes in
//! place and copies ASCII text as it is, in character sets where ASCII reads as itself.
//!
//! It handles the common shapes only and declines everything else (returns `None`), so the
//! caller falls back to dicom-rs, which then reads the file (or reports its fault) exactly as
//! before: encapsulated pixel data, delimiters out of place, items or sequences whose content
//! overruns their length, values that are not a whole number of binary values, text a
//! character set cannot decode, tags out of order (dicom-rs keeps the last of two equal
//! tags), and a truncated header.
//!
//! What it reads follows dicom-rs 0.10's "preserved" reading: text VRs as strings split at
//! backslashes (AE, AS, CS in the default repertoire, the rest in the data set's character
//! set, which SpecificCharacterSet at any depth changes from then on), UT, ST, UR and LT as
//! one string, any element of undefined length as a sequence, binary VRs as numbers, the VR
//! of Xs attributes as SS once PixelRepresentation said signed, and in implicit VR the
//! dictionary's VR. Elements are inserted one by one in tag order, as dicom-rs does. Items
//! are built with an undefined length, and an object holding SpecificCharacterSet counts as
//! changed (written back as it is, its sequences would get undefined lengths, where dicom-rs
//! keeps defined ones): the de-identification engine rebuilds every item anyway.
//! `tests/reader.rs` holds the objects to dicom-rs's on every corpus and sample file.

use super::{ITEM, ITEM_DELIMITER, SEQUENCE_DELIMITER};
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::header::Length;
use dicom_core::value::{C, DataSetSequence, PrimitiveValue, Value};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags, uids};
use dicom_encoding::TransferSyntax;
use dicom_encoding::text::{DefaultCharacterSetCodec, SpecificCharacterSet, TextCodec};
use dicom_object::mem::InMemDicomObject;

/// Deeper nesting is left to dicom-rs (the scanner refuses more than 64 levels anyway).
const MAX_DEPTH: usize = 128;

/// Read a data set in `ts` starting in character set `charset`, as dicom-rs's
/// `read_dataset_with_ts_cs` would; `None` where this reader declines (see the module doc).
pub fn read_dataset(
    data: &[u8],
    ts: &TransferSyntax,
    charset: SpecificCharacterSet,
) -> Option<InMemDicomObject> {
    let explicit = if ts.uid() == uids::IMPLICIT_VR_LITTLE_ENDIAN {
        false
    } else if ts.endianness() == dicom_encoding::Endianness::Little
        && !matches!(ts.codec(), dicom_encoding::Codec::Dataset(_))
    {
        true
    } else {
        return None;
    };
    let mut reader = Reader {
        data,
        pos: 0,
        explicit,
        ascii_is_identity: ascii_is_identity(&charset),
        charset,
        signed: None,
    };
    reader.elements(End::Data, 0)
}

/// Whether ASCII reads and writes as itself in `charset`: the default repertoire, Latin-1
/// and UTF-8 (others, such as ISO 2022 with its escapes, go through the codec).
pub(crate) fn ascii_is_identity(charset: &SpecificCharacterSet) -> bool {
    matches!(
        charset.name().as_ref(),
        "ISO_IR 6" | "ISO_IR 100" | "ISO_IR 192"
    )
}

/// Where the elements of one level end.
#[derive(Clone, Copy)]
enum End {
    /// The top level: at the end of the bytes.
    Data,
    /// An item of defined length: at this offset.
    At(usize),
    /// An item of undefined length: at its item delimiter.
    Delimiter,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    explicit: bool,
    charset: SpecificCharacterSet,
    ascii_is_identity: bool,
    /// PixelRepresentation as last read (at any depth): `Some(true)` when signed.
    signed: Option<bool>,
}

struct Header {
    tag: Tag,
    vr: VR,
    len: u32,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let bytes = self.data.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(bytes)
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn header(&mut self) -> Option<Header> {
        let tag = Tag(self.u16()?, self.u16()?);
        if tag.0 == 0xFFFE {
            return Some(Header {
                tag,
                vr: VR::UN,
                len: self.u32()?,
            });
        }
        let (mut vr, len) = if self.explicit {
            let code = self.take(2)?;
            let vr = VR::from_binary([code[0], code[1]])?;
            let len = if has_short_length(vr) {
                u32::from(self.u16()?)
            } else {
                self.take(2)?;
                self.u32()?
            };
            (vr, len)
        } else {
            let len = self.u32()?;
            let vr = if tag == tags::PIXEL_DATA || (tag.0 >> 8 == 0x60 && tag.1 == 0x3000) {
                VR::OW
            } else {
                StandardDataDictionary
                    .by_tag(tag)
                    .map_or(VR::UN, |entry| entry.vr().relaxed())
            };
            (vr, len)
        };
        if self.signed == Some(true)
            && StandardDataDictionary.by_tag(tag).map(|e| e.vr) == Some(VirtualVr::Xs)
        {
            vr = VR::SS;
        }
        Some(Header { tag, vr, len })
    }

    /// The elements of one level.
    fn elements(&mut self, end: End, depth: usize) -> Option<InMemDicomObject> {
        if depth > MAX_DEPTH {
            return None;
        }
        let mut out = InMemDicomObject::new_empty();
        let mut last: Option<Tag> = None;
        loop {
            match end {
                End::Data if self.pos == self.data.len() => break,
                End::At(at) if self.pos == at => break,
                End::At(at) if self.pos > at => return None,
                _ => {}
            }
            let header = self.header()?;
            if header.tag.0 == 0xFFFE {
                if matches!(end, End::Delimiter) && header.tag == ITEM_DELIMITER && header.len == 0
                {
                    break;
                }
                return None;
            }
            if last.is_some_and(|last| last >= header.tag) {
                return None;
            }
            last = Some(header.tag);
            // An undefined length makes a sequence of any VR but pixel data's (in implicit VR,
            // that is how private sequences look: UN of undefined length).
            let undefined = header.len == u32::MAX;
            if undefined && header.tag == tags::PIXEL_DATA {
                return None;
            }
            let element = if header.vr == VR::SQ || undefined {
                let len = Length(header.len);
                let items = self.items(len, depth)?;
                DataElement::new_with_len(
                    header.tag,
                    VR::SQ,
                    len,
                    Value::Sequence(DataSetSequence::new(items, len)),
                )
            } else {
                let value = self.value(&header)?;
                DataElement::new_with_len(
                    header.tag,
                    header.vr,
                    Length(header.len),
                    Value::Primitive(value),
                )
            };
            out.put(element);
        }
        Some(out)
    }

    /// The items of a sequence of length `len`.
    fn items(&mut self, len: Length, depth: usize) -> Option<Vec<InMemDicomObject>> {
        let end = match len.get() {
            Some(len) => Some(self.pos.checked_add(usize::try_from(len).ok()?)?),
            None => None,
        };
        let mut items = Vec::new();
        loop {
            if let Some(end) = end {
                if self.pos == end {
                    break;
                }
                if self.pos > end {
                    return None;
                }
            }
            let tag = Tag(self.u16()?, self.u16()?);
            let item_len = self.u32()?;
            match (tag, end) {
                (ITEM, _) => {}
                (SEQUENCE_DELIMITER, None) => break,
                _ => return None,
            }
            let item_end = if item_len == u32::MAX {
                End::Delimiter
            } else {
                let at = self.pos.checked_add(usize::try_from(item_len).ok()?)?;
                if at > self.data.len() {
                    return None;
                }
                End::At(at)
            };
            items.push(self.elements(item_end, depth + 1)?);
        }
        Some(items)
    }

    fn value(&mut self, header: &Header) -> Option<PrimitiveValue> {
        if header.len == 0 {
            return Some(PrimitiveValue::Empty);
        }
        let len = usize::try_from(header.len).ok()?;
        let start = self.pos;
        self.take(len)?;
        let bytes = &self.data[start..self.pos];
        Some(match header.vr {
            VR::SQ => return None,
            VR::AE | VR::AS | VR::CS => {
                let value = self.strs(bytes, false)?;
                if header.vr == VR::CS && header.tag == tags::SPECIFIC_CHARACTER_SET {
                    self.follow_charset(&value);
                }
                value
            }
            VR::PN
            | VR::SH
            | VR::LO
            | VR::UC
            | VR::UI
            | VR::IS
            | VR::DS
            | VR::DA
            | VR::TM
            | VR::DT => self.strs(bytes, true)?,
            VR::UT | VR::ST | VR::UR | VR::LT => PrimitiveValue::Str(self.text(bytes, true)?),
            VR::UN | VR::OB => PrimitiveValue::U8(C::from_slice(bytes)),
            VR::AT => PrimitiveValue::Tags(C::from_vec(numbers::<4, _>(bytes, |b| {
                Tag(
                    u16::from_le_bytes([b[0], b[1]]),
                    u16::from_le_bytes([b[2], b[3]]),
                )
            })?)),
            VR::US | VR::OW => {
                let values = numbers::<2, _>(bytes, u16::from_le_bytes)?;
                if header.tag == tags::PIXEL_REPRESENTATION {
                    self.signed = values.first().map(|&rep| rep != 0);
                }
                PrimitiveValue::U16(C::from_vec(values))
            }
            VR::SS => PrimitiveValue::I16(C::from_vec(numbers::<2, _>(bytes, i16::from_le_bytes)?)),
            VR::FD | VR::OD => {
                PrimitiveValue::F64(C::from_vec(numbers::<8, _>(bytes, f64::from_le_bytes)?))
            }
            VR::FL | VR::OF => {
                PrimitiveValue::F32(C::from_vec(numbers::<4, _>(bytes, f32::from_le_bytes)?))
            }
            VR::SL => PrimitiveValue::I32(C::from_vec(numbers::<4, _>(bytes, i32::from_le_bytes)?)),
            VR::OL | VR::UL => {
                PrimitiveValue::U32(C::from_vec(numbers::<4, _>(bytes, u32::from_le_bytes)?))
            }
            VR::SV => PrimitiveValue::I64(C::from_vec(numbers::<8, _>(bytes, i64::from_le_bytes)?)),
            VR::OV | VR::UV => {
                PrimitiveValue::U64(C::from_vec(numbers::<8, _>(bytes, u64::from_le_bytes)?))
            }
        })
    }

    /// Backslash-separated values, in the data set's character set or (`declared` false) the
    /// default repertoire.
    fn strs(&self, bytes: &[u8], declared: bool) -> Option<PrimitiveValue> {
        let values = bytes
            .split(|&b| b == b'\\')
            .map(|part| self.text(part, declared))
            .collect::<Option<C<String>>>()?;
        Some(PrimitiveValue::Strs(values))
    }

    fn text(&self, bytes: &[u8], declared: bool) -> Option<String> {
        if (!declared || self.ascii_is_identity) && bytes.is_ascii() {
            return std::str::from_utf8(bytes).ok().map(str::to_owned);
        }
        if declared {
            self.charset.decode(bytes).ok()
        } else {
            DefaultCharacterSetCodec.decode(bytes).ok()
        }
    }

    /// SpecificCharacterSet changes the character set of every value read after it, at any
    /// depth; a code dicom-rs does not know leaves it as it was.
    fn follow_charset(&mut self, value: &PrimitiveValue) {
        let PrimitiveValue::Strs(codes) = value else {
            return;
        };
        if let Some(charset) = codes
            .first()
            .and_then(|c| SpecificCharacterSet::from_code(c))
        {
            self.ascii_is_identity = ascii_is_identity(&charset);
            self.charset = charset;
        }
    }
}

/// Explicit VRs whose length field is 16 bits (PS3.5 7.1.2).
fn has_short_length(vr: VR) -> bool {
    matches!(
        vr,
        VR::AE
            | VR::AS
            | VR::AT
            | VR::CS
            | VR::DA
            | VR::DS
            | VR::DT
            | VR::FL
            | VR::FD
            | VR::IS
            | VR::LO
            | VR::LT
            | VR::PN
            | VR::SH
            | VR::SL
            | VR::SS
            | VR::ST
            | VR::TM
            | VR::UI
            | VR::UL
            | VR::US
    )
}

/// Little-endian numbers of `N` bytes each; `None` unless `bytes` holds a whole number.
fn numbers<const N: usize, T>(bytes: &[u8], read: impl Fn([u8; N]) -> T) -> Option<Vec<T>> {
    if !bytes.len().is_multiple_of(N) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(N)
            .map(|chunk| read(chunk.try_into().expect("chunks of N bytes")))
            .collect(),
    )
}
