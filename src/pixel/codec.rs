//! Encapsulated pixel data: decoding it to native frames (dicom-pixeldata's codecs;
//! openreadout-codecs for JPEG-LS and 12-bit JPEG; [`rle`](super::rle) for RLE), and storing
//! the masked frames losslessly in the smallest of RLE Lossless, Deflated Explicit VR Little
//! Endian and Explicit VR Little Endian.

use std::panic::{AssertUnwindSafe, catch_unwind};

use dicom_core::value::{PixelFragmentSequence, PrimitiveValue};
use dicom_core::{DataElement, DicomValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::TransferSyntaxIndex;
use dicom_encoding::transfer_syntax::Codec;
use dicom_object::mem::InMemDicomObject;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::frames::{Geometry, Photometric};
use super::{Fill, Region, jpeg_mask, rle};

/// The most decoded pixel data one file may need (a 1,000-frame 800×600 RGB cine is 1.4 GB).
pub const MAX_DECODED: u64 = 4 << 30;

/// What an operator can do about an image this tool cannot decode.
const REEXPORT: &str = "have it re-exported uncompressed (or in another transfer syntax) from the source system, or clean it by hand";

/// Why encapsulated pixel data could not be decoded: fixed texts, syntax names and structural
/// details only.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{0} pixel data cannot be decoded by this tool: {REEXPORT}")]
    NoDecoder(String),
    #[error("{0} pixel data with {1} cannot be decoded by this tool: {REEXPORT}")]
    Unsupported(String, String),
    #[error(
        "{0} pixel data could not be decoded (damaged, or a variant this tool lacks): {REEXPORT}"
    )]
    Failed(String),
    #[error("the decoder crashed on this file's {0} pixel data")]
    Panic(String),
    #[error("{0}")]
    Geometry(#[from] super::frames::GeometryError),
}

/// Whether a transfer syntax keeps pixel data in fragments.
pub fn is_encapsulated(object: &InMemDicomObject) -> bool {
    matches!(
        object.get(tags::PIXEL_DATA).map(|e| e.value()),
        Some(DicomValue::PixelSequence(_))
    )
}

/// The geometry of the frames a codec gives: interleaved, and RGB for colour, because the
/// codecs convert YCbCr (JPEG, and JPEG 2000's YBR_ICT/YBR_RCT); RLE alone never converts.
pub fn decoded_geometry(geometry: &Geometry, ts: &str) -> Geometry {
    let mut out = geometry.clone();
    out.planar = false;
    let rle_ybr = ts == uids::RLE_LOSSLESS && geometry.photometric == Photometric::YbrFull;
    if geometry.samples == 3 && !rle_ybr {
        out.photometric = Photometric::Rgb;
    }
    out
}

/// Whether pixel data in transfer syntax `ts` is encapsulated (every syntax but the native
/// ones). The plan needs this from the syntax, since a streamed file's data set holds a
/// stand-in for its pixel data.
pub fn is_encapsulated_syntax(ts: &str) -> bool {
    !matches!(
        ts,
        "1.2.840.10008.1.2"
            | "1.2.840.10008.1.2.1"
            | "1.2.840.10008.1.2.2"
            | "1.2.840.10008.1.2.1.99"
    )
}

/// The compression method of a transfer syntax that may lose information, and whether it
/// always does (JPEG-LS near-lossless and JPEG 2000 may also be used losslessly, which a
/// header's LossyImageCompression "00" then says).
fn lossy_method(ts: &str) -> Option<(&'static str, bool)> {
    match ts {
        "1.2.840.10008.1.2.4.50" | "1.2.840.10008.1.2.4.51" => Some(("ISO_10918_1", true)),
        "1.2.840.10008.1.2.4.81" => Some(("ISO_14495_1", false)),
        "1.2.840.10008.1.2.4.91" => Some(("ISO_15444_1", false)),
        _ => None,
    }
}

/// Decoded native frames and the geometry they follow.
pub struct Decoded {
    pub bytes: Vec<u8>,
    pub geometry: Geometry,
}

/// Decode every frame of `object`'s encapsulated pixel data (read in `ts`).
pub fn decode(
    object: InMemDicomObject,
    ts: &str,
    geometry: &Geometry,
) -> (InMemDicomObject, Result<Decoded, DecodeError>) {
    let syntax = TransferSyntaxRegistry.get(ts);
    let name = syntax.map_or_else(|| ts.to_owned(), |s| s.name().to_owned());
    let out_geometry = decoded_geometry(geometry, ts);
    if out_geometry.total_len() > MAX_DECODED {
        return (
            object,
            Err(super::frames::GeometryError::TooLarge(MAX_DECODED).into()),
        );
    }
    if ts == uids::RLE_LOSSLESS {
        let decoded = decode_rle(&object, &out_geometry).map_err(|_| DecodeError::Failed(name));
        return (object, decoded);
    }
    if let Some(codec) = PureCodec::for_syntax(ts, geometry) {
        let decoded = decode_pure(&object, &out_geometry, codec, &name);
        return (object, decoded);
    }
    let Some(Codec::EncapsulatedPixelData(Some(reader), _)) = syntax.map(|s| s.codec()) else {
        return (object, Err(DecodeError::NoDecoder(name)));
    };
    let Ok(meta) = FileMetaTableBuilder::new()
        .media_storage_sop_class_uid("1.2")
        .media_storage_sop_instance_uid("1.2")
        .transfer_syntax(ts)
        .build()
    else {
        return (object, Err(DecodeError::Failed(name)));
    };
    let file = object.with_exact_meta(meta);
    let frame_len = out_geometry.frame_len() as usize;
    let mut bytes = Vec::with_capacity(out_geometry.total_len() as usize);
    let mut result = Ok(());
    for frame in 0..geometry.frames {
        let before = bytes.len();
        let decoded = catch_unwind(AssertUnwindSafe(|| {
            reader.decode_frame(&file, frame, &mut bytes)
        }));
        result = match decoded {
            Err(_) => Err(DecodeError::Panic(name.clone())),
            Ok(Err(_)) => Err(DecodeError::Failed(name.clone())),
            Ok(Ok(())) if bytes.len() - before != frame_len => {
                Err(DecodeError::Failed(name.clone()))
            }
            Ok(Ok(())) => Ok(()),
        };
        if result.is_err() {
            break;
        }
    }
    let object = file.into_inner();
    (
        object,
        result.map(|()| Decoded {
            bytes,
            geometry: out_geometry,
        }),
    )
}

/// A codec of openreadout-codecs, used where dicom-pixeldata has none.
#[derive(Debug, Clone, Copy)]
enum PureCodec {
    /// JPEG-LS, lossless and near-lossless (one component).
    JpegLs,
    /// JPEG extended with 12-bit samples.
    Jpeg12,
}

impl PureCodec {
    fn for_syntax(ts: &str, geometry: &Geometry) -> Option<Self> {
        match ts {
            "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" => Some(PureCodec::JpegLs),
            "1.2.840.10008.1.2.4.51" if geometry.bits_stored > 8 => Some(PureCodec::Jpeg12),
            _ => None,
        }
    }
}

/// Decode every frame with `codec`, widening 8-bit samples when the header allocates 16.
fn decode_pure(
    object: &InMemDicomObject,
    geometry: &Geometry,
    codec: PureCodec,
    name: &str,
) -> Result<Decoded, DecodeError> {
    let failed = || DecodeError::Failed(name.to_owned());
    let streams = frame_streams(object, geometry.frames).ok_or_else(failed)?;
    let frame_len = geometry.frame_len() as usize;
    let mut bytes = Vec::with_capacity(geometry.total_len() as usize);
    for stream in streams {
        let decoded = catch_unwind(AssertUnwindSafe(|| match codec {
            PureCodec::JpegLs => openreadout_codecs::jpegls_decode_limited(&stream, frame_len * 2),
            PureCodec::Jpeg12 => openreadout_codecs::jpeg_decode_limited(&stream, frame_len * 2),
        }))
        .map_err(|_| DecodeError::Panic(name.to_owned()))?;
        let raster = match decoded {
            Ok(raster) => raster,
            Err(openreadout_codecs::CodecError::Unsupported { detail, .. }) => {
                return Err(DecodeError::Unsupported(name.to_owned(), detail));
            }
            Err(_) => return Err(failed()),
        };
        let same_shape = (raster.width, raster.height, raster.channels)
            == (geometry.columns, geometry.rows, geometry.samples);
        match (raster.bits_per_sample, geometry.bits_allocated) {
            _ if !same_shape => return Err(failed()),
            (8, 16) => bytes.extend(raster.data.iter().flat_map(|&b| [b, 0])),
            (have, want) if have == want => bytes.extend_from_slice(&raster.data),
            _ => return Err(failed()),
        }
        if bytes.len() % frame_len != 0 {
            return Err(failed());
        }
    }
    Ok(Decoded {
        bytes,
        geometry: geometry.clone(),
    })
}

/// Each frame's compressed stream: all fragments of a single frame, one fragment per frame,
/// or the fragments the Basic Offset Table groups into frames.
fn frame_streams(object: &InMemDicomObject, frames: u32) -> Option<Vec<Vec<u8>>> {
    let Some(DicomValue::PixelSequence(seq)) = object.get(tags::PIXEL_DATA).map(|e| e.value())
    else {
        return None;
    };
    let fragments = seq.fragments();
    let frames = frames as usize;
    if frames == 1 {
        return Some(vec![fragments.concat()]);
    }
    if fragments.len() == frames {
        return Some(fragments.to_vec());
    }
    let table = seq.offset_table();
    if table.len() != frames {
        return None;
    }
    // Offsets count from the first fragment's item header (8 bytes each).
    let mut at = 0u64;
    let mut starts = Vec::with_capacity(fragments.len());
    for f in fragments {
        starts.push(at);
        at += 8 + f.len() as u64;
    }
    let mut out: Vec<Vec<u8>> = vec![Vec::new(); frames];
    for (f, start) in fragments.iter().zip(starts) {
        let frame = table.iter().rposition(|&o| u64::from(o) <= start)?;
        out[frame].extend_from_slice(f);
    }
    Some(out)
}

/// Decode RLE Lossless fragments, one per frame.
fn decode_rle(object: &InMemDicomObject, geometry: &Geometry) -> Result<Decoded, rle::RleError> {
    let fragments = match object.get(tags::PIXEL_DATA).map(|e| e.value()) {
        Some(DicomValue::PixelSequence(seq)) => seq.fragments(),
        _ => &[],
    };
    if fragments.len() != geometry.frames as usize {
        return Err(rle::RleError::Offset);
    }
    let mut bytes = Vec::with_capacity(geometry.total_len() as usize);
    for fragment in fragments {
        rle::decode_frame(fragment, geometry, &mut bytes)?;
    }
    if bytes.len() as u64 != geometry.total_len() {
        return Err(rle::RleError::Length);
    }
    Ok(Decoded {
        bytes,
        geometry: geometry.clone(),
    })
}

/// Replace the encapsulated pixel data by the masked frames in the smallest lossless form
/// this build writes: RLE Lossless, native pixel data in a deflated data set, or native
/// pixel data; make the Image Pixel module describe them; returns the transfer syntax.
pub fn store(object: &mut InMemDicomObject, source_ts: &str, decoded: Decoded) -> &'static str {
    let g = &decoded.geometry.clone();
    let frame_len = g.frame_len() as usize;
    let native_len = decoded.bytes.len();
    let fragments: Option<Vec<Vec<u8>>> = if frame_len == 0 {
        None
    } else {
        decoded
            .bytes
            .chunks_exact(frame_len)
            .map(|frame| rle::encode_frame(frame, g))
            .collect()
    };
    let rle_len = fragments
        .as_ref()
        .map_or(usize::MAX, |f| f.iter().map(|x| x.len() + 8).sum());
    // Deflate is tried only where RLE saves little (textured images): it costs more time.
    let deflated_len = if rle_len.saturating_mul(10) > native_len.saturating_mul(6) {
        deflated_len(&decoded.bytes)
    } else {
        usize::MAX
    };
    let out_ts = match fragments {
        Some(fragments) if rle_len <= deflated_len && rle_len < native_len => {
            let offsets = offset_table(&fragments);
            object.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                DicomValue::PixelSequence(PixelFragmentSequence::new(offsets, fragments)),
            ));
            uids::RLE_LOSSLESS
        }
        _ if deflated_len < native_len => {
            put_native(object, decoded);
            uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN
        }
        _ => {
            put_native(object, decoded);
            uids::EXPLICIT_VR_LITTLE_ENDIAN
        }
    };
    describe(object, source_ts, g);
    out_ts
}

/// About how many bytes `bytes` deflate to (the fastest level: the writer's level does no
/// worse).
fn deflated_len(bytes: &[u8]) -> usize {
    use std::io::Write;
    let mut counter = flate2::write::DeflateEncoder::new(ByteCount(0), flate2::Compression::fast());
    if counter.write_all(bytes).is_err() {
        return usize::MAX;
    }
    counter.finish().map_or(usize::MAX, |c| c.0)
}

/// A writer that only counts.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The sample each component of a masked block of a baseline JPEG gets, when `fill` on this
/// image can be written in the DCT domain ([`jpeg_mask`]).
fn jpeg_fill(ts: &str, geometry: &Geometry, fill: Fill) -> Option<jpeg_mask::FillLevels> {
    let baseline = ts == uids::JPEG_BASELINE8_BIT || ts == uids::JPEG_EXTENDED12_BIT;
    if !baseline || geometry.bits_allocated != 8 || geometry.bits_stored != 8 {
        return None;
    }
    let bright = match fill {
        Fill::Darkest => false,
        Fill::Brightest => true,
        Fill::Value(_) => return None,
    };
    let y = if bright { 255 } else { 0 };
    match (&geometry.photometric, geometry.samples) {
        (Photometric::Monochrome2, 1) => Some([y, 0, 0]),
        (Photometric::Monochrome1, 1) => Some([255 - y, 0, 0]),
        (Photometric::YbrFull422 | Photometric::YbrFull, 3) => Some([y, 128, 128]),
        _ => None,
    }
}

/// Mask a baseline JPEG image's frames in the DCT domain, in place: every block not touched
/// by a region keeps its coefficients. Returns the regions as masked (grown to whole MCUs),
/// or `None` (the object unchanged) when this image cannot be masked that way.
pub fn mask_jpeg(
    object: &mut InMemDicomObject,
    ts: &str,
    geometry: &Geometry,
    regions: &[Region],
    fill: Fill,
) -> Option<Vec<Region>> {
    let levels = jpeg_fill(ts, geometry, fill)?;
    let streams = frame_streams(object, geometry.frames)?;
    let mut grown = Vec::new();
    let fragments = catch_unwind(AssertUnwindSafe(|| {
        streams
            .iter()
            .map(|s| {
                let size = (geometry.columns, geometry.rows);
                let (stream, masked) = jpeg_mask::mask(s, size, regions, levels)?;
                grown.extend(masked);
                Some(pad_even(stream))
            })
            .collect::<Option<Vec<Vec<u8>>>>()
    }))
    .ok()??;
    grown.sort();
    grown.dedup();
    let offsets = offset_table(&fragments);
    object.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        DicomValue::PixelSequence(PixelFragmentSequence::new(offsets, fragments)),
    ));
    Some(grown)
}

/// A fragment padded to an even length, as PS3.5 A.4 requires.
fn pad_even(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.len() % 2 == 1 {
        bytes.push(0);
    }
    bytes
}

/// The Basic Offset Table of `fragments`, one per frame; empty when it would overflow.
fn offset_table(fragments: &[Vec<u8>]) -> Vec<u32> {
    let mut at = 0u64;
    let mut table = Vec::with_capacity(fragments.len());
    for f in fragments {
        let Ok(offset) = u32::try_from(at) else {
            return Vec::new();
        };
        table.push(offset);
        at += 8 + f.len() as u64;
    }
    table
}

/// Native frames as the PixelData value: OB for 8 bits, OW otherwise.
fn put_native(object: &mut InMemDicomObject, decoded: Decoded) {
    let value = if decoded.geometry.bits_allocated == 8 {
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(decoded.bytes),
        )
    } else {
        let words: Vec<u16> = decoded
            .bytes
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(words.into()))
    };
    object.put(value);
}

/// Make the Image Pixel module describe decoded frames of geometry `g`, and keep the record
/// of a lossy source.
fn describe(object: &mut InMemDicomObject, source_ts: &str, g: &Geometry) {
    object.put(DataElement::new(
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        PrimitiveValue::from(g.photometric.as_str()),
    ));
    if g.samples > 1 {
        object.put(DataElement::new(
            tags::PLANAR_CONFIGURATION,
            VR::US,
            PrimitiveValue::from(0_u16),
        ));
    }
    let declared_lossless =
        crate::dicom::values::top_text(object, tags::LOSSY_IMAGE_COMPRESSION) == "00";
    if let Some((method, always)) = lossy_method(source_ts)
        && (always || !declared_lossless)
    {
        object.put(DataElement::new(
            tags::LOSSY_IMAGE_COMPRESSION,
            VR::CS,
            PrimitiveValue::from("01"),
        ));
        if object.get(tags::LOSSY_IMAGE_COMPRESSION_METHOD).is_none() {
            object.put(DataElement::new(
                tags::LOSSY_IMAGE_COMPRESSION_METHOD,
                VR::CS,
                PrimitiveValue::from(method),
            ));
        }
    }
}
