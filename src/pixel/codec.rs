//! Encapsulated pixel data: decoding it to native frames (dicom-pixeldata's codecs;
//! openreadout-codecs for 12-bit JPEG; [`jpegls`] for JPEG-LS; [`rle`](super::rle) for RLE),
//! and storing
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

pub mod jpegls;

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
/// codecs convert YCbCr (JPEG, and JPEG 2000's YBR_ICT/YBR_RCT); RLE and JPEG-LS never convert.
pub fn decoded_geometry(geometry: &Geometry, ts: &str) -> Geometry {
    let mut out = geometry.clone();
    out.planar = false;
    let unconverted = matches!(
        ts,
        uids::RLE_LOSSLESS | uids::JPEGLS_LOSSLESS | uids::JPEGLS_NEAR_LOSSLESS
    ) && geometry.photometric == Photometric::YbrFull;
    if geometry.samples == 3 && !unconverted {
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

/// A pure-Rust codec used where dicom-pixeldata has none without a C++ library.
#[derive(Debug, Clone, Copy)]
enum PureCodec {
    /// JPEG-LS, lossless and near-lossless, grey and colour ([`jpegls`]).
    JpegLs,
    /// JPEG extended with 12-bit samples (openreadout-codecs).
    Jpeg12,
}

impl PureCodec {
    fn for_syntax(ts: &str, geometry: &Geometry) -> Option<Self> {
        match ts {
            uids::JPEGLS_LOSSLESS | uids::JPEGLS_NEAR_LOSSLESS => Some(PureCodec::JpegLs),
            "1.2.840.10008.1.2.4.51" if geometry.bits_stored > 8 => Some(PureCodec::Jpeg12),
            _ => None,
        }
    }
}

/// One decoded frame: its shape, bits per sample, and samples as bytes (little-endian when
/// wider than 8 bits).
struct Raster {
    width: u32,
    height: u32,
    channels: u32,
    bits_per_sample: u32,
    data: Vec<u8>,
}

impl PureCodec {
    /// Decode one frame's stream (of at most `frame_len` bytes of samples); `name` is the
    /// transfer syntax's, for the error.
    fn decode(self, stream: &[u8], frame_len: usize, name: &str) -> Result<Raster, DecodeError> {
        let failed = || DecodeError::Failed(name.to_owned());
        let unsupported = |what: String| DecodeError::Unsupported(name.to_owned(), what);
        match self {
            PureCodec::JpegLs => {
                let r = jpegls::decode(stream, frame_len).map_err(|e| match e {
                    jpegls::JlsError::Unsupported(what) => unsupported(what.to_owned()),
                    _ => failed(),
                })?;
                let data = if r.bits <= 8 {
                    r.samples.iter().map(|&v| v as u8).collect()
                } else {
                    r.samples.iter().flat_map(|v| v.to_le_bytes()).collect()
                };
                Ok(Raster {
                    width: r.width,
                    height: r.height,
                    channels: r.components,
                    bits_per_sample: if r.bits <= 8 { 8 } else { 16 },
                    data,
                })
            }
            PureCodec::Jpeg12 => {
                match openreadout_codecs::jpeg_decode_limited(stream, frame_len * 2) {
                    Ok(r) => Ok(Raster {
                        width: r.width,
                        height: r.height,
                        channels: r.channels,
                        bits_per_sample: r.bits_per_sample,
                        data: r.data,
                    }),
                    Err(openreadout_codecs::CodecError::Unsupported { detail, .. }) => {
                        Err(unsupported(detail))
                    }
                    Err(_) => Err(failed()),
                }
            }
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
        let raster = catch_unwind(AssertUnwindSafe(|| codec.decode(&stream, frame_len, name)))
            .map_err(|_| DecodeError::Panic(name.to_owned()))??;
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

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_object::OpenFileOptions;

    const CORPUS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/pydicom-3.0.2"
    );

    /// A corpus file's data set and transfer syntax; `None` (the test skips) without the corpus.
    fn corpus_file(name: &str) -> Option<(InMemDicomObject, String)> {
        let path = std::path::Path::new(CORPUS).join(name);
        if !path.is_file() {
            eprintln!("skipping: {} not found", path.display());
            return None;
        }
        let file = OpenFileOptions::new()
            .open_file(&path)
            .expect("corpus file opens");
        let ts = file
            .meta()
            .transfer_syntax()
            .trim_end_matches('\0')
            .to_owned();
        Some((file.into_inner(), ts))
    }

    /// Every frame of a corpus file as this module decodes it (native files as stored).
    fn frames(name: &str) -> Option<Decoded> {
        let (mut object, ts) = corpus_file(name)?;
        let geometry = Geometry::from_header(&object).expect("geometry");
        if !is_encapsulated(&object) {
            let native = super::super::NativeFrames::take(&mut object, &geometry).unwrap();
            return Some(Decoded {
                bytes: native.bytes,
                geometry,
            });
        }
        Some(decode(object, &ts, &geometry).1.expect("decodes"))
    }

    #[test]
    fn lossless_jpeg_ls_decodes_to_its_uncompressed_twin() {
        let (Some(jls), Some(native)) = (
            frames("MR_small_jpeg_ls_lossless.dcm"),
            frames("MR_small.dcm"),
        ) else {
            return;
        };
        assert_eq!(jls.geometry.bits_allocated, 16);
        assert_eq!(jls.bytes.len(), 64 * 64 * 2);
        assert_eq!(jls.bytes, native.bytes[..jls.bytes.len()]);
    }

    #[test]
    fn colour_jpeg_ls_decodes_within_near_of_its_lossless_twin() {
        // Line- and sample-interleaved near-lossless (NEAR 2) encodings of the image that
        // SC_rgb_rle.dcm holds without loss.
        let Some(source) = frames("SC_rgb_rle.dcm") else {
            return;
        };
        for name in ["SC_rgb_jls_lossy_line.dcm", "SC_rgb_jls_lossy_sample.dcm"] {
            let Some(jls) = frames(name) else {
                return;
            };
            assert_eq!(jls.geometry.samples, 3, "{name}");
            assert_eq!(jls.geometry.photometric, Photometric::Rgb, "{name}");
            assert_eq!(jls.bytes.len(), source.bytes.len(), "{name}");
            let worst = jls
                .bytes
                .iter()
                .zip(&source.bytes)
                .map(|(a, b)| a.abs_diff(*b))
                .max();
            assert_eq!(worst, Some(2), "{name}: at most NEAR from the source");
        }
    }

    #[test]
    fn grey_near_lossless_jpeg_ls_decodes_at_8_and_16_bits() {
        for (name, bits) in [
            ("JPEGLSNearLossless_08.dcm", 8),
            ("JPEGLSNearLossless_16.dcm", 16),
        ] {
            let Some(jls) = frames(name) else {
                return;
            };
            assert_eq!(jls.geometry.bits_allocated, bits, "{name}");
            assert_eq!(jls.bytes.len() as u64, jls.geometry.total_len(), "{name}");
        }
    }

    #[test]
    fn damaged_jpeg_ls_is_an_error_not_a_crash() {
        let Some((object, ts)) = corpus_file("SC_rgb_jls_lossy_sample.dcm") else {
            return;
        };
        let stream = frame_streams(&object, 1).unwrap().remove(0);
        let geometry = decoded_geometry(&Geometry::from_header(&object).unwrap(), &ts);
        let len = geometry.frame_len() as usize;
        for cut in (0..stream.len()).step_by(97) {
            assert!(jpegls::decode(&stream[..cut], len).is_err(), "cut at {cut}");
        }
        for at in (0..stream.len()).step_by(13) {
            let mut bad = stream.clone();
            bad[at] ^= 0x5A;
            let _ = jpegls::decode(&bad, len);
        }
    }
}
