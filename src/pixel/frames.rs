//! Native pixel data as frames of bytes: the image geometry read from the header (with the
//! lookup tables of a palette image), masking a rectangle by writing the fill value straight
//! into the sample bytes, and an 8-bit luminance view of a frame for the text detector.
//!
//! Working on raw little-endian sample bytes (rather than through an image type) covers every
//! layout the standard allows — 8/16 bits, signed, planar configuration 0 and 1, YBR_FULL_422's
//! shared chroma, palette indices — and leaves every unmasked byte exactly as it was.

use std::sync::Arc;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;
use image::{GrayImage, RgbImage};

use super::{Fill, Region};

/// How samples are to be read (PS3.3 C.7.6.3.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Photometric {
    Monochrome1,
    Monochrome2,
    Rgb,
    YbrFull,
    YbrFull422,
    PaletteColor,
    /// YBR_ICT, YBR_RCT, YBR_PARTIAL_420…: only met inside compressed data.
    Other(String),
}

impl Photometric {
    pub fn parse(s: &str) -> Self {
        match s.trim() {
            "MONOCHROME1" => Photometric::Monochrome1,
            "MONOCHROME2" => Photometric::Monochrome2,
            "RGB" => Photometric::Rgb,
            "YBR_FULL" => Photometric::YbrFull,
            "YBR_FULL_422" => Photometric::YbrFull422,
            "PALETTE COLOR" => Photometric::PaletteColor,
            other => Photometric::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Photometric::Monochrome1 => "MONOCHROME1",
            Photometric::Monochrome2 => "MONOCHROME2",
            Photometric::Rgb => "RGB",
            Photometric::YbrFull => "YBR_FULL",
            Photometric::YbrFull422 => "YBR_FULL_422",
            Photometric::PaletteColor => "PALETTE COLOR",
            Photometric::Other(s) => s,
        }
    }
}

/// The Image Pixel module attributes that fix where each sample lies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Geometry {
    pub rows: u32,
    pub columns: u32,
    pub samples: u32,
    pub bits_allocated: u32,
    pub bits_stored: u32,
    pub high_bit: u32,
    pub signed: bool,
    /// PlanarConfiguration 1: each sample's plane after the other.
    pub planar: bool,
    pub photometric: Photometric,
    pub frames: u32,
    /// The lookup tables of a PALETTE COLOR image, when they can be read.
    pub palette: Option<Arc<Palette>>,
}

/// Why an image cannot be masked. Texts carry attribute names and numbers, never values
/// that identify anyone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeometryError {
    #[error("{0} is missing or invalid")]
    Attribute(&'static str),
    #[error("BitsAllocated {0} is not supported for masking (1, 8, 16 or 32 are)")]
    Bits(u32),
    #[error("photometric interpretation {0} is not supported for masking")]
    Photometric(String),
    #[error("pixel data holds {have} bytes, {need} are needed for its frames")]
    Short { have: u64, need: u64 },
    #[error("decoded pixel data would exceed {0} bytes")]
    TooLarge(u64),
}

fn uint(object: &InMemDicomObject, tag: Tag) -> Option<u32> {
    object
        .get(tag)
        .and_then(|e| e.to_int::<i64>().ok())
        .and_then(|v| u32::try_from(v).ok())
}

impl Geometry {
    /// One frame of unsigned samples using every bit allocated, interleaved; RGB when three
    /// samples, MONOCHROME2 when one: how the tool lays out frames it builds itself.
    pub fn plain(rows: u32, columns: u32, samples: u32, bits: u32) -> Self {
        Geometry {
            rows,
            columns,
            samples,
            bits_allocated: bits,
            bits_stored: bits,
            high_bit: bits - 1,
            signed: false,
            planar: false,
            photometric: if samples == 3 {
                Photometric::Rgb
            } else {
                Photometric::Monochrome2
            },
            frames: 1,
            palette: None,
        }
    }

    /// Read the geometry from a header.
    pub fn from_header(object: &InMemDicomObject) -> Result<Self, GeometryError> {
        let need = |tag, name| uint(object, tag).ok_or(GeometryError::Attribute(name));
        let rows = need(tags::ROWS, "Rows")?;
        let columns = need(tags::COLUMNS, "Columns")?;
        let bits_allocated = need(tags::BITS_ALLOCATED, "BitsAllocated")?;
        let samples = uint(object, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
        let bits_stored = uint(object, tags::BITS_STORED).unwrap_or(bits_allocated);
        let high_bit = uint(object, tags::HIGH_BIT).unwrap_or(bits_stored.saturating_sub(1));
        let photometric = object
            .get(tags::PHOTOMETRIC_INTERPRETATION)
            .and_then(|e| e.to_str().ok())
            .map(|s| Photometric::parse(&s))
            .unwrap_or(if samples == 3 {
                Photometric::Rgb
            } else {
                Photometric::Monochrome2
            });
        let frames = uint(object, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
        if rows == 0 || columns == 0 {
            return Err(GeometryError::Attribute("Rows/Columns"));
        }
        if !matches!(samples, 1 | 3) {
            return Err(GeometryError::Attribute("SamplesPerPixel"));
        }
        if bits_stored == 0 || bits_stored > bits_allocated || high_bit >= bits_allocated {
            return Err(GeometryError::Attribute("BitsStored/HighBit"));
        }
        let geometry = Geometry {
            rows,
            columns,
            samples,
            bits_allocated,
            bits_stored,
            high_bit: high_bit.max(bits_stored - 1),
            signed: uint(object, tags::PIXEL_REPRESENTATION) == Some(1),
            planar: samples == 3 && uint(object, tags::PLANAR_CONFIGURATION) == Some(1),
            palette: (photometric == Photometric::PaletteColor)
                .then(|| Palette::from_header(object))
                .flatten()
                .map(Arc::new),
            photometric,
            frames,
        };
        Ok(geometry)
    }

    /// Checks the layout is one this module can write into.
    pub fn check_maskable(&self) -> Result<(), GeometryError> {
        if !matches!(self.bits_allocated, 1 | 8 | 16 | 32) {
            return Err(GeometryError::Bits(self.bits_allocated));
        }
        let ok = match (&self.photometric, self.samples) {
            (Photometric::Monochrome1 | Photometric::Monochrome2, 1) => true,
            _ if self.bits_allocated == 1 => false,
            (Photometric::PaletteColor, 1) => true,
            (Photometric::Rgb | Photometric::YbrFull, 3) => true,
            (Photometric::YbrFull422, 3) => self.columns.is_multiple_of(2) && !self.planar,
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(GeometryError::Photometric(
                self.photometric.as_str().to_owned(),
            ))
        }
    }

    fn bytes_per_sample(&self) -> usize {
        self.bits_allocated as usize / 8
    }

    /// Samples of one frame as stored (YBR_FULL_422 stores two per pixel).
    fn frame_samples(&self) -> u64 {
        let pixels = u64::from(self.rows) * u64::from(self.columns);
        if self.photometric == Photometric::YbrFull422 {
            pixels * 2
        } else {
            pixels * u64::from(self.samples)
        }
    }

    /// Bytes of one native frame (1-bit frames are packed without padding between them, so
    /// they are addressed by bit, never by this).
    pub fn frame_len(&self) -> u64 {
        self.frame_samples() * self.bytes_per_sample() as u64
    }

    /// Bytes of every frame.
    pub fn total_len(&self) -> u64 {
        if self.bits_allocated == 1 {
            (self.frame_samples() * u64::from(self.frames)).div_ceil(8)
        } else {
            self.frame_len() * u64::from(self.frames)
        }
    }

    /// A region cut to the image, or nothing when it lies wholly outside.
    pub fn clip(&self, r: Region) -> Option<Region> {
        let x1 = r.x.saturating_add(r.width).min(self.columns);
        let y1 = r.y.saturating_add(r.height).min(self.rows);
        (r.x < x1 && r.y < y1).then_some(Region {
            x: r.x,
            y: r.y,
            width: x1 - r.x,
            height: y1 - r.y,
        })
    }

    /// The stored value of each sample that paints a pixel with `fill`.
    fn fill_samples(&self, fill: Fill) -> [u32; 3] {
        let bits = self.bits_stored;
        let max = if bits >= 32 {
            u32::MAX
        } else {
            (1u32 << bits) - 1
        };
        let half = 1u32 << (bits - 1);
        // Darkest and brightest of a signed value, as their two's complement in `bits`.
        let (low, high) = if self.signed {
            (half, half - 1)
        } else {
            (0, max)
        };
        let clamp = |n: i64| -> u32 {
            if self.signed {
                let n = n.clamp(-i64::from(half), i64::from(half) - 1);
                (n as u32) & max
            } else {
                n.clamp(0, i64::from(max)) as u32
            }
        };
        match (&self.photometric, fill) {
            (Photometric::Monochrome1, Fill::Darkest) => [high; 3],
            (Photometric::Monochrome1, Fill::Brightest) => [low; 3],
            (Photometric::PaletteColor, Fill::Darkest) => {
                [self.palette.as_ref().map_or(0, |p| p.darkest) & max; 3]
            }
            (Photometric::YbrFull | Photometric::YbrFull422, Fill::Darkest) => [0, half, half],
            (Photometric::YbrFull | Photometric::YbrFull422, Fill::Brightest) => [max, half, half],
            (Photometric::YbrFull | Photometric::YbrFull422, Fill::Value(n)) => {
                [clamp(n), half, half]
            }
            (_, Fill::Darkest) => [low; 3],
            (_, Fill::Brightest) => [high; 3],
            (_, Fill::Value(n)) => [clamp(n); 3],
        }
    }

    /// Paint `region` (already clipped) with `fill` in frame `index` of `data`, the native
    /// little-endian bytes of every frame.
    pub fn mask(&self, data: &mut [u8], index: u32, region: Region, fill: Fill) {
        let (cols, rows) = (self.columns as usize, self.rows as usize);
        let (x0, y0) = (region.x as usize, region.y as usize);
        let (x1, y1) = (x0 + region.width as usize, y0 + region.height as usize);
        if self.bits_allocated == 1 {
            let on = self.fill_samples(fill)[0] & 1 == 1;
            let base = index as usize * rows * cols;
            for y in y0..y1 {
                for x in x0..x1 {
                    let bit = base + y * cols + x;
                    if on {
                        data[bit / 8] |= 1 << (bit % 8);
                    } else {
                        data[bit / 8] &= !(1 << (bit % 8));
                    }
                }
            }
            return;
        }
        let frame_len = self.frame_len() as usize;
        let frame = &mut data[index as usize * frame_len..][..frame_len];
        let bps = self.bytes_per_sample();
        let shift = self.high_bit + 1 - self.bits_stored;
        let values = self.fill_samples(fill).map(|v| v << shift);
        let put = |frame: &mut [u8], at: usize, value: u32| {
            let bytes = value.to_le_bytes();
            frame[at..at + bps].copy_from_slice(&bytes[..bps]);
        };
        if self.photometric == Photometric::YbrFull422 {
            // Two pixels share one Cb and one Cr: Y0 Y1 Cb Cr. Mask whole pairs.
            let (x0, x1) = (x0 & !1, (x1 + 1) & !1);
            for y in y0..y1 {
                for pair in (x0..x1.min(cols)).step_by(2) {
                    let at = (y * cols + pair) * 2 * bps;
                    let layout = [values[0], values[0], values[1], values[2]];
                    for (i, v) in layout.into_iter().enumerate() {
                        put(frame, at + i * bps, v);
                    }
                }
            }
            return;
        }
        let samples = self.samples as usize;
        for y in y0..y1 {
            for x in x0..x1 {
                for (s, &value) in values.iter().enumerate().take(samples) {
                    let index = if self.planar {
                        s * rows * cols + y * cols + x
                    } else {
                        (y * cols + x) * samples + s
                    };
                    put(frame, index * bps, value);
                }
            }
        }
    }

    /// The stored value of one sample (sign-extended when signed), from little-endian bytes.
    pub(crate) fn sample(&self, frame: &[u8], index: usize) -> i64 {
        let bps = self.bytes_per_sample();
        let mut le = [0u8; 4];
        le[..bps].copy_from_slice(&frame[index * bps..][..bps]);
        let raw = u64::from(u32::from_le_bytes(le));
        let shift = self.high_bit + 1 - self.bits_stored;
        let value = (raw >> shift) & ((1u64 << self.bits_stored) - 1);
        let value = value as i64;
        if self.signed && value & (1 << (self.bits_stored - 1)) != 0 {
            value - (1i64 << self.bits_stored)
        } else {
            value
        }
    }

    /// Frame `index` of `data` as 8-bit luminance for the detector: grey values stretched
    /// from the frame's own minimum (above padding, in frames deeper than 8 bits) to maximum
    /// (MONOCHROME1 inverted), colour as ITU-R BT.601 luma.
    pub fn luma(&self, data: &[u8], index: u32) -> GrayImage {
        let (cols, rows) = (self.columns as usize, self.rows as usize);
        let pixels = cols * rows;
        let mut values = vec![0i64; pixels];
        if self.bits_allocated == 1 {
            let base = index as usize * pixels;
            for (i, v) in values.iter_mut().enumerate() {
                let bit = base + i;
                *v = i64::from((data[bit / 8] >> (bit % 8)) & 1);
            }
        }
        let frame_len = self.frame_len() as usize;
        let frame = &data[(index as usize * frame_len).min(data.len())..];
        match (&self.photometric, self.samples) {
            _ if self.bits_allocated == 1 => {}
            (Photometric::YbrFull422, _) => {
                for (i, v) in values.iter_mut().enumerate() {
                    let pair = i / 2;
                    *v = self.sample(frame, pair * 4 + (i % 2));
                }
            }
            (Photometric::YbrFull, _) => {
                for (i, v) in values.iter_mut().enumerate() {
                    *v = self.sample(frame, if self.planar { i } else { i * 3 });
                }
            }
            (_, 3) => {
                for (i, v) in values.iter_mut().enumerate() {
                    let at = |s: usize| {
                        self.sample(
                            frame,
                            if self.planar {
                                s * pixels + i
                            } else {
                                i * 3 + s
                            },
                        )
                    };
                    *v = (299 * at(0) + 587 * at(1) + 114 * at(2)) / 1000;
                }
            }
            _ => {
                for (i, v) in values.iter_mut().enumerate() {
                    *v = self.sample(frame, i);
                }
            }
        }
        let mut min = values.iter().copied().min().unwrap_or(0);
        // Deep grey frames (CT) often fill the outside of the reconstruction circle with a
        // padding value far below air (-2000, -3024 HU): stretched from it, the rest is
        // squeezed into few grey levels. One lowest value filling a twentieth of the frame is
        // such padding: the stretch starts at the lowest percentile of the other pixels (not
        // their minimum, which anti-aliased text or edges over the padding reach), and the
        // padding shows black.
        if self.is_deep_grey() {
            let mut rest: Vec<i64> = values.iter().copied().filter(|&v| v > min).collect();
            if (pixels - rest.len()) * 20 >= pixels && !rest.is_empty() {
                let at = rest.len() / 100;
                min = *rest.select_nth_unstable(at).1;
            }
        }
        let max = values.iter().copied().max().unwrap_or(0);
        let span = (max - min).max(1);
        let invert = self.photometric == Photometric::Monochrome1;
        let bytes = values
            .into_iter()
            .map(|v| {
                let scaled = ((v - min).max(0) * 255 / span) as u8;
                if invert { 255 - scaled } else { scaled }
            })
            .collect();
        GrayImage::from_raw(self.columns, self.rows, bytes).expect("one byte per pixel")
    }
}

impl Geometry {
    /// Frame `index` of a PALETTE COLOR image (of 8 or 16 bits allocated) as 8-bit RGB through
    /// its lookup tables; nothing for other images or when the tables could not be read.
    pub fn palette_rgb(&self, data: &[u8], index: u32) -> Option<RgbImage> {
        let palette = self.palette.as_ref()?;
        if self.samples != 1 || !matches!(self.bits_allocated, 8 | 16) {
            return None;
        }
        let frame_len = self.frame_len() as usize;
        let frame = data.get(index as usize * frame_len..)?.get(..frame_len)?;
        let pixels = self.columns as usize * self.rows as usize;
        let bytes = (0..pixels)
            .flat_map(|i| palette.colour(self.sample(frame, i)))
            .collect();
        RgbImage::from_raw(self.columns, self.rows, bytes)
    }
}

/// The display window a grey image's header gives (WindowCenter, WindowWidth, first values, in
/// the units of RescaleSlope and RescaleIntercept): how a person at the modality saw it, and so
/// the contrast at which text burned into a deep frame was readable. A frame deeper than 8
/// bits stretched from its minimum to its maximum can leave such text a few grey levels
/// (200 HU of soft tissue in a range of 4,000), which the detector cannot see.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub centre: f64,
    pub width: f64,
    pub slope: f64,
    pub intercept: f64,
}

impl Window {
    /// The header's first window; nothing when it has none or one that is not a window.
    pub fn from_header(object: &InMemDicomObject) -> Option<Window> {
        let first = |tag| {
            object
                .get(tag)?
                .to_multi_float64()
                .ok()?
                .first()
                .copied()
                .filter(|v: &f64| v.is_finite())
        };
        let window = Window {
            centre: first(tags::WINDOW_CENTER)?,
            width: first(tags::WINDOW_WIDTH)?,
            slope: first(tags::RESCALE_SLOPE).unwrap_or(1.0),
            intercept: first(tags::RESCALE_INTERCEPT).unwrap_or(0.0),
        };
        (window.width >= 2.0 && window.slope != 0.0).then_some(window)
    }
}

impl Geometry {
    /// A grey image of more than 8 bits stored: one a display window applies to.
    pub fn is_deep_grey(&self) -> bool {
        self.samples == 1
            && self.bits_stored > 8
            && matches!(
                self.photometric,
                Photometric::Monochrome1 | Photometric::Monochrome2
            )
    }

    /// Frame `index` of a grey image deeper than 8 bits as 8-bit luminance through `window`
    /// (the linear function of PS3.3 C.11.2.1.2.1, MONOCHROME1 inverted), for the detector's
    /// second look at it; nothing for other images.
    pub fn luma_in_window(&self, data: &[u8], index: u32, window: &Window) -> Option<GrayImage> {
        if !self.is_deep_grey() {
            return None;
        }
        let frame_len = self.frame_len() as usize;
        let frame = data.get(index as usize * frame_len..)?.get(..frame_len)?;
        let low = window.centre - 0.5 - (window.width - 1.0) / 2.0;
        let invert = self.photometric == Photometric::Monochrome1;
        let bytes = (0..self.columns as usize * self.rows as usize)
            .map(|i| {
                let v = self.sample(frame, i) as f64 * window.slope + window.intercept;
                let shown = ((v - low) / (window.width - 1.0) * 255.0).clamp(0.0, 255.0) as u8;
                if invert { 255 - shown } else { shown }
            })
            .collect();
        GrayImage::from_raw(self.columns, self.rows, bytes)
    }
}

/// The Red, Green and Blue Palette Color Lookup Tables of a PALETTE COLOR image (PS3.3
/// C.7.6.3.1.5), as 8-bit colours: plain tables, or segmented ones (C.7.9.2) of discrete and
/// linear segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Palette {
    /// The stored value that maps to the first entry.
    first_mapped: i64,
    entries: Vec<[u8; 3]>,
    /// The stored value of the entry of lowest luminance: the darkest fill.
    darkest: u32,
}

impl Palette {
    /// The tables of a header; nothing when they are missing or unreadable (indirect
    /// segments), when the image is read as its index values and masked with index 0.
    fn from_header(object: &InMemDicomObject) -> Option<Self> {
        let descriptor = object
            .get(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR)?
            .to_multi_int::<i64>()
            .ok()?;
        let (first_mapped, bits) = (*descriptor.get(1)?, *descriptor.get(2)?);
        let table = |plain, segmented| {
            let words = |tag| object.get(tag).and_then(|e| e.to_multi_int::<u16>().ok());
            words(plain).or_else(|| expand_segments(&words(segmented)?))
        };
        let (r, g, b) = (
            table(
                tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            )?,
            table(
                tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            )?,
            table(
                tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            )?,
        );
        let n = r.len().min(g.len()).min(b.len());
        let darkest = (0..n).min_by_key(|&i| {
            299 * u64::from(r[i]) + 587 * u64::from(g[i]) + 114 * u64::from(b[i])
        })?;
        // 16-bit entries keep their high byte; 8-bit ones fill the low byte.
        let to8 = |v: u16| if bits > 8 { (v >> 8) as u8 } else { v as u8 };
        Some(Palette {
            first_mapped,
            entries: (0..n).map(|i| [to8(r[i]), to8(g[i]), to8(b[i])]).collect(),
            // A negative first value (signed indices) is kept in two's complement.
            darkest: (first_mapped + darkest as i64) as u32,
        })
    }

    /// The colour of a stored value (values beyond the table take its first or last entry).
    fn colour(&self, value: i64) -> [u8; 3] {
        let last = self.entries.len() as i64 - 1;
        self.entries[(value - self.first_mapped).clamp(0, last) as usize]
    }
}

/// Entries of a segmented lookup table: discrete segments (opcode 0: n values) and linear ones
/// (opcode 1: n values from the last one to the next); nothing for indirect segments (opcode 2)
/// or a malformed table.
fn expand_segments(words: &[u16]) -> Option<Vec<u16>> {
    let mut out: Vec<u16> = Vec::new();
    let mut at = 0;
    while at < words.len() {
        let n = usize::from(*words.get(at + 1)?);
        match words[at] {
            0 => {
                out.extend_from_slice(words.get(at + 2..at + 2 + n)?);
                at += 2 + n;
            }
            1 => {
                let (y0, y1) = (i64::from(*out.last()?), i64::from(*words.get(at + 2)?));
                let steps = n as i64;
                out.extend((1..=steps).map(|i| (y0 + (y1 - y0) * i / steps) as u16));
                at += 3;
            }
            _ => return None,
        }
        if out.len() > 1 << 16 {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(photometric: Photometric, samples: u32, bits: u32, signed: bool) -> Geometry {
        Geometry {
            rows: 4,
            columns: 6,
            samples,
            bits_allocated: bits,
            bits_stored: bits,
            high_bit: bits - 1,
            signed,
            planar: false,
            photometric,
            frames: 1,
            palette: None,
        }
    }

    const R: Region = Region {
        x: 1,
        y: 1,
        width: 2,
        height: 2,
    };

    fn inside(x: usize, y: usize) -> bool {
        (1..3).contains(&x) && (1..3).contains(&y)
    }

    #[test]
    fn grey_16_bit_signed_masks_to_its_minimum_and_leaves_the_rest() {
        let g = geometry(Photometric::Monochrome2, 1, 16, true);
        let mut frame: Vec<u8> = (0..24u16).flat_map(|v| (v + 100).to_le_bytes()).collect();
        let before = frame.clone();
        g.mask(&mut frame, 0, R, Fill::Darkest);
        for y in 0..4 {
            for x in 0..6 {
                let i = (y * 6 + x) * 2;
                let v = i16::from_le_bytes([frame[i], frame[i + 1]]);
                if inside(x, y) {
                    assert_eq!(v, i16::MIN);
                } else {
                    assert_eq!(&frame[i..i + 2], &before[i..i + 2]);
                }
            }
        }
    }

    #[test]
    fn monochrome1_darkest_is_its_maximum_within_bits_stored() {
        let mut g = geometry(Photometric::Monochrome1, 1, 16, false);
        g.bits_stored = 12;
        g.high_bit = 11;
        let mut frame = vec![0u8; 48];
        g.mask(&mut frame, 0, R, Fill::Darkest);
        assert_eq!(u16::from_le_bytes([frame[14], frame[15]]), 0x0FFF);
    }

    #[test]
    fn high_bit_places_the_value_in_the_stored_bits() {
        let mut g = geometry(Photometric::Monochrome2, 1, 16, false);
        g.bits_stored = 12;
        g.high_bit = 15;
        let mut frame = vec![0u8; 48];
        g.mask(&mut frame, 0, R, Fill::Value(1));
        assert_eq!(u16::from_le_bytes([frame[14], frame[15]]), 1 << 4);
    }

    #[test]
    fn planar_rgb_masks_every_plane() {
        let mut g = geometry(Photometric::Rgb, 3, 8, false);
        g.planar = true;
        let mut frame = vec![200u8; 72];
        g.mask(&mut frame, 0, R, Fill::Darkest);
        for s in 0..3 {
            for y in 0..4 {
                for x in 0..6 {
                    let v = frame[s * 24 + y * 6 + x];
                    assert_eq!(v, if inside(x, y) { 0 } else { 200 });
                }
            }
        }
    }

    #[test]
    fn ybr_422_masks_whole_pairs_with_neutral_chroma() {
        let g = geometry(Photometric::YbrFull422, 3, 8, false);
        let mut frame = vec![200u8; 48];
        g.mask(&mut frame, 0, R, Fill::Darkest);
        // Row 1, pairs 0 (x 0-1) and 1 (x 2-3) are touched by x 1..3; pair 2 is not.
        let row = 6 * 2;
        assert_eq!(&frame[row..row + 8], &[0, 0, 128, 128, 0, 0, 128, 128]);
        assert_eq!(&frame[row + 8..row + 12], &[200; 4]);
        assert_eq!(&frame[..row], &[200; 12]);
    }

    #[test]
    fn one_bit_frames_are_addressed_across_byte_boundaries() {
        let mut g = geometry(Photometric::Monochrome2, 1, 1, false);
        g.columns = 3;
        g.rows = 3;
        g.frames = 2;
        // 18 bits over 3 bytes; frame 1 starts at bit 9, in the middle of byte 1.
        let mut data = vec![0xFFu8; 3];
        let all = Region {
            x: 0,
            y: 0,
            width: 3,
            height: 3,
        };
        g.mask(&mut data, 1, all, Fill::Darkest);
        assert_eq!(data, [0xFF, 0x01, 0xFC]);
        assert_eq!(g.total_len(), 3);
    }

    #[test]
    fn thirty_two_bit_samples_are_masked_whole() {
        let g = geometry(Photometric::Monochrome2, 1, 32, false);
        let mut frame = vec![0xABu8; 96];
        g.mask(&mut frame, 0, R, Fill::Brightest);
        assert_eq!(&frame[28..32], &[0xFF; 4]);
        assert_eq!(&frame[24..28], &[0xAB; 4]);
    }

    #[test]
    fn luma_stretches_and_inverts_monochrome1() {
        let g = geometry(Photometric::Monochrome1, 1, 8, false);
        let frame: Vec<u8> = (0..24).map(|i| if i == 0 { 10 } else { 20 }).collect();
        let l = g.luma(&frame, 0);
        assert_eq!(l.get_pixel(0, 0).0[0], 255);
        assert_eq!(l.get_pixel(1, 0).0[0], 0);
    }

    #[test]
    fn segmented_tables_expand_discrete_and_linear_segments_and_refuse_indirect_ones() {
        assert_eq!(
            expand_segments(&[0, 3, 10, 20, 30, 1, 2, 50]),
            Some(vec![10, 20, 30, 40, 50])
        );
        assert_eq!(expand_segments(&[1, 2, 50]), None, "a line from nowhere");
        assert_eq!(expand_segments(&[0, 1, 5, 2, 1, 0, 0]), None, "indirect");
        assert_eq!(expand_segments(&[0, 4, 1]), None, "truncated");
    }

    #[test]
    fn a_segmented_palette_gives_colours_and_its_darkest_entry() {
        use dicom_core::value::PrimitiveValue;
        use dicom_core::{DataElement, VR};
        let words = |v: &[u16]| PrimitiveValue::U16(v.iter().copied().collect());
        let mut object = InMemDicomObject::new_empty();
        object.put(DataElement::new(
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            VR::US,
            words(&[3, 10, 8]),
        ));
        // Red 200 → 0 over three entries, green and blue flat 100: entry 2 (index 12) is darkest.
        for (tag, table) in [
            (
                tags::SEGMENTED_RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                &[0, 1, 200, 1, 2, 0][..],
            ),
            (
                tags::SEGMENTED_GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                &[0, 3, 100, 100, 100][..],
            ),
            (
                tags::SEGMENTED_BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
                &[0, 1, 100, 1, 2, 100][..],
            ),
        ] {
            object.put(DataElement::new(tag, VR::OW, words(table)));
        }
        let palette = Palette::from_header(&object).expect("segmented tables read");
        assert_eq!(palette.colour(10), [200, 100, 100]);
        assert_eq!(palette.colour(11), [100, 100, 100]);
        assert_eq!(
            palette.colour(99),
            [0, 100, 100],
            "beyond the table: its last entry"
        );
        assert_eq!(palette.darkest, 12);
    }

    #[test]
    fn the_header_window_is_its_first_with_the_rescale() {
        use dicom_core::{DataElement, VR, dicom_value};
        let mut object = InMemDicomObject::new_empty();
        let put = |object: &mut InMemDicomObject, tag, value| {
            object.put(DataElement::new(tag, VR::DS, value));
        };
        put(
            &mut object,
            tags::WINDOW_CENTER,
            dicom_value!(Strs, ["40", "-600"]),
        );
        assert_eq!(Window::from_header(&object), None, "no width");
        put(
            &mut object,
            tags::WINDOW_WIDTH,
            dicom_value!(Strs, ["400", "1500"]),
        );
        put(
            &mut object,
            tags::RESCALE_INTERCEPT,
            dicom_value!(Strs, ["-1024"]),
        );
        assert_eq!(
            Window::from_header(&object),
            Some(Window {
                centre: 40.0,
                width: 400.0,
                slope: 1.0,
                intercept: -1024.0
            })
        );
        put(&mut object, tags::WINDOW_WIDTH, dicom_value!(Strs, ["0"]));
        assert_eq!(Window::from_header(&object), None, "not a window");
    }

    #[test]
    fn luma_of_deep_frames_starts_above_padding() {
        // 24 pixels: 8 of padding (-3024), air (-1000), soft tissue (40), text (3071).
        let g = geometry(Photometric::Monochrome2, 1, 16, true);
        let values: Vec<i16> = (0..24)
            .map(|i| match i {
                0..8 => -3024,
                8..16 => -1000,
                16..23 => 40,
                _ => 3071,
            })
            .collect();
        let frame: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let l = g.luma(&frame, 0);
        let (padding, air, tissue, text) = (
            l.get_pixel(0, 0).0[0],
            l.get_pixel(2, 1).0[0],
            l.get_pixel(4, 2).0[0],
            l.get_pixel(5, 3).0[0],
        );
        assert_eq!((padding, air, text), (0, 0, 255));
        // Stretched from air, not from the padding: 1040 of 4071 HU.
        assert_eq!(tissue, 65);
    }

    #[test]
    fn clipping_cuts_regions_to_the_image() {
        let g = geometry(Photometric::Monochrome2, 1, 8, false);
        let r = Region {
            x: 4,
            y: 3,
            width: 10,
            height: 10,
        };
        assert_eq!(
            g.clip(r),
            Some(Region {
                x: 4,
                y: 3,
                width: 2,
                height: 1
            })
        );
        assert_eq!(
            g.clip(Region {
                x: 6,
                y: 0,
                width: 1,
                height: 1
            }),
            None
        );
    }
}
