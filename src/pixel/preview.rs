//! Frames as pictures for a person to look at: the QA report's thumbnails of written images
//! and the review page of `rules suggest`. Every layout masking handles is shown as it would
//! be displayed: grey images stretched over their own range (MONOCHROME1 inverted), RGB and
//! YBR in colour, PALETTE COLOR through its lookup tables. Compressed pixel data is decoded by
//! the same codecs masking uses.

use dicom_object::mem::InMemDicomObject;
use image::{ImageEncoder, Rgb, RgbImage, imageops};
use imageproc::drawing::draw_hollow_rect_mut;
use imageproc::rect::Rect;

use super::frames::{Geometry, Photometric};
use super::{MaskError, Region, frames_of};

/// Thumbnails fit in this many pixels each way.
pub const THUMB: u32 = 256;

/// Every frame of one image, as native little-endian samples, ready to be shown.
pub struct Picture {
    pub geometry: Geometry,
    pub bytes: Vec<u8>,
}

impl Picture {
    /// Take the frames out of a parsed file (read in transfer syntax `ts`), decoding them when
    /// they are compressed.
    pub fn from_object(object: InMemDicomObject, ts: &str) -> Result<Self, MaskError> {
        let (geometry, bytes) = frames_of(object, ts)?;
        Ok(Picture { geometry, bytes })
    }

    /// Whether the image is shown in colour.
    pub fn is_colour(&self) -> bool {
        self.geometry.samples == 3 || self.palette_in_use()
    }

    fn palette_in_use(&self) -> bool {
        self.geometry.photometric == Photometric::PaletteColor
            && matches!(self.geometry.bits_allocated, 8 | 16)
            && self.geometry.palette.is_some()
    }

    /// Frame `index` in 8-bit RGB.
    pub fn rgb(&self, index: u32) -> RgbImage {
        let g = &self.geometry;
        if self.palette_in_use()
            && let Some(rgb) = g.palette_rgb(&self.bytes, index)
        {
            return rgb;
        }
        let colour = g.samples == 3 && g.bits_allocated > 1 && g.check_maskable().is_ok();
        if !colour {
            let luma = g.luma(&self.bytes, index);
            return RgbImage::from_fn(luma.width(), luma.height(), |x, y| {
                let v = luma.get_pixel(x, y).0[0];
                Rgb([v, v, v])
            });
        }
        let (cols, pixels) = (g.columns as usize, g.columns as usize * g.rows as usize);
        let frame_len = g.frame_len() as usize;
        let frame = &self.bytes[(index as usize * frame_len).min(self.bytes.len())..];
        let max = ((1i64 << g.bits_stored) - 1).max(1);
        let to8 = |v: i64| (v.clamp(0, max) * 255 / max) as u8;
        RgbImage::from_fn(g.columns, g.rows, |x, y| {
            let i = y as usize * cols + x as usize;
            let at = |s: usize| match (&g.photometric, g.planar) {
                (Photometric::YbrFull422, _) => {
                    g.sample(frame, (i / 2) * 4 + if s == 0 { i % 2 } else { s + 1 })
                }
                (_, true) => g.sample(frame, s * pixels + i),
                (_, false) => g.sample(frame, i * 3 + s),
            };
            let (a, b, c) = (to8(at(0)), to8(at(1)), to8(at(2)));
            match g.photometric {
                Photometric::YbrFull | Photometric::YbrFull422 => ybr_to_rgb(a, b, c),
                _ => Rgb([a, b, c]),
            }
        })
    }

    /// PNG thumbnails of frames `indexes` (repeats dropped), each set of regions outlined in
    /// its colour (later sets drawn over earlier ones).
    pub fn thumbnails(&self, indexes: &[u32], outlines: &[Outline]) -> Vec<(u32, Vec<u8>)> {
        let mut indexes: Vec<u32> = indexes
            .iter()
            .copied()
            .filter(|&i| i < self.geometry.frames)
            .collect();
        indexes.dedup();
        indexes
            .into_iter()
            .filter_map(|f| Some((f, thumbnail(self.rgb(f), outlines)?)))
            .collect()
    }
}

/// The first, middle and last frame of an image of `frames` frames (fewer when it has fewer).
pub fn first_middle_last(frames: u32) -> Vec<u32> {
    let last = frames.saturating_sub(1);
    let mut v = vec![0, last / 2, last];
    v.dedup();
    v
}

/// ITU-R BT.601 full-range YCbCr (PS3.3 C.7.6.3.1.2) to RGB.
fn ybr_to_rgb(y: u8, cb: u8, cr: u8) -> Rgb<u8> {
    let (y, cb, cr) = (f32::from(y), f32::from(cb) - 128.0, f32::from(cr) - 128.0);
    let clamp = |v: f32| v.round().clamp(0.0, 255.0) as u8;
    Rgb([
        clamp(y + 1.402 * cr),
        clamp(y - 0.344_136 * cb - 0.714_136 * cr),
        clamp(y + 1.772 * cb),
    ])
}

/// Regions to outline on a thumbnail, and their colour.
pub type Outline<'a> = (&'a [Region], Rgb<u8>);

/// A frame scaled to [`THUMB`] (small images enlarged pixel for pixel, at most 8 times),
/// the regions outlined, as PNG.
pub fn thumbnail(image: RgbImage, outlines: &[Outline]) -> Option<Vec<u8>> {
    let longest = image.width().max(image.height()).max(1);
    let scale = if longest >= THUMB {
        f64::from(THUMB) / f64::from(longest)
    } else {
        f64::from((THUMB / longest).min(8))
    };
    let size = |n: u32| ((f64::from(n) * scale).round() as u32).max(1);
    // Scale first, then outline, so that a thin outline survives the scaling.
    let mut image = if scale == 1.0 {
        image
    } else {
        let filter = if scale > 1.0 {
            imageops::FilterType::Nearest
        } else {
            imageops::FilterType::Triangle
        };
        imageops::resize(&image, size(image.width()), size(image.height()), filter)
    };
    for (regions, colour) in outlines {
        for r in *regions {
            let at = |n: u32| (f64::from(n) * scale).floor() as i32;
            draw_hollow_rect_mut(
                &mut image,
                Rect::at(at(r.x), at(r.y)).of_size(size(r.width), size(r.height)),
                *colour,
            );
        }
    }
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .ok()?;
    Some(png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;

    fn object(photometric: &str, samples: u16, pixels: Vec<u8>) -> InMemDicomObject {
        let us = |tag, v: u16| DataElement::new(tag, VR::US, PrimitiveValue::from(v));
        InMemDicomObject::from_element_iter([
            us(tags::SAMPLES_PER_PIXEL, samples),
            DataElement::new(
                tags::PHOTOMETRIC_INTERPRETATION,
                VR::CS,
                PrimitiveValue::from(photometric),
            ),
            us(tags::ROWS, 1),
            us(tags::COLUMNS, 2),
            us(tags::BITS_ALLOCATED, 8),
            us(tags::BITS_STORED, 8),
            us(tags::HIGH_BIT, 7),
            us(tags::PIXEL_REPRESENTATION, 0),
            DataElement::new(tags::PIXEL_DATA, VR::OB, PrimitiveValue::from(pixels)),
        ])
    }

    const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";

    #[test]
    fn rgb_stays_in_colour() {
        let p = Picture::from_object(object("RGB", 3, vec![255, 0, 0, 0, 0, 255]), EXPLICIT_LE)
            .unwrap();
        assert!(p.is_colour());
        let img = p.rgb(0);
        assert_eq!(img.get_pixel(0, 0).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(1, 0).0, [0, 0, 255]);
    }

    #[test]
    fn ybr_is_converted_and_grey_is_stretched() {
        // Pure red in YCbCr (BT.601 full range): Y 76, Cb 85, Cr 255.
        let p = Picture::from_object(
            object("YBR_FULL", 3, vec![76, 85, 255, 76, 85, 255]),
            EXPLICIT_LE,
        )
        .unwrap();
        let [r, g, b] = p.rgb(0).get_pixel(0, 0).0;
        assert!(r > 250 && g < 5 && b < 5, "{r} {g} {b}");
        let grey =
            Picture::from_object(object("MONOCHROME2", 1, vec![10, 20]), EXPLICIT_LE).unwrap();
        assert!(!grey.is_colour());
        assert_eq!(grey.rgb(0).get_pixel(1, 0).0, [255, 255, 255]);
    }

    #[test]
    fn palette_colour_goes_through_its_tables() {
        let mut o = object("PALETTE COLOR", 1, vec![0, 1]);
        let lut = |v: [u16; 2]| PrimitiveValue::U16(v.into_iter().collect());
        o.put(DataElement::new(
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR,
            VR::US,
            PrimitiveValue::U16([2u16, 0, 16].into_iter().collect()),
        ));
        o.put(DataElement::new(
            tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            VR::OW,
            lut([0, 0xFFFF]),
        ));
        o.put(DataElement::new(
            tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            VR::OW,
            lut([0xFFFF, 0]),
        ));
        o.put(DataElement::new(
            tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA,
            VR::OW,
            lut([0, 0]),
        ));
        let p = Picture::from_object(o, EXPLICIT_LE).unwrap();
        assert!(p.is_colour());
        assert_eq!(p.rgb(0).get_pixel(0, 0).0, [0, 255, 0]);
        assert_eq!(p.rgb(0).get_pixel(1, 0).0, [255, 0, 0]);
    }

    #[test]
    fn thumbnails_are_png_and_outline_the_regions() {
        let p = Picture::from_object(object("MONOCHROME2", 1, vec![0, 0]), EXPLICIT_LE).unwrap();
        let region = Region {
            x: 0,
            y: 0,
            width: 1,
            height: 1,
        };
        let thumbs = p.thumbnails(&first_middle_last(1), &[(&[region], Rgb([255, 0, 0]))]);
        assert_eq!(thumbs.len(), 1);
        let img = image::load_from_memory(&thumbs[0].1).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (16, 8), "enlarged 8 times");
        assert_eq!(img.get_pixel(0, 0).0, [255, 0, 0]);
        assert_eq!(img.get_pixel(12, 4).0, [0, 0, 0]);
    }
}
