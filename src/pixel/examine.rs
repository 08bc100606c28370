//! The text detector over every frame of one image, at a cost close to a few frames.
//!
//! Burned-in text on a cine is mostly static: the same patient banner on every frame, while
//! only the image area (and perhaps a clock or frame counter) changes. So a few key frames
//! (first, middle, last) are examined whole, and every other frame only where it differs from
//! the nearest key frame: the changed tiles, with a margin of context around them. Text that
//! is in a frame lies either in pixels equal to a key frame's (where that key frame's text was
//! found) or in changed tiles (examined). Frames are examined in parallel; the regions of all
//! frames are gathered in frame order, sorted and deduplicated, so the result does not depend
//! on the number of threads.
//!
//! Colour frames (RGB, YBR) of ultrasound images are examined with their clinical colour
//! content set aside ([`super::colour`]). Palette-colour frames are examined in colour too,
//! through their lookup tables: luma of the looked-up colour, and the clinical colour zone of
//! the looked-up RGB.

use image::{GrayImage, RgbImage};
use rayon::prelude::*;

use super::Region;
use super::detect::detect_text_outside;
use super::frames::{Geometry, Photometric, Window};

/// Side of the tiles compared between a frame and its key frame.
const TILE: usize = 16;
/// Luma difference above which a pixel counts as changed (JPEG noise stays below; a glyph's
/// ink, at least 40 grey levels of contrast, does not).
const CHANGE: u8 = 8;
/// Context examined around changed tiles: one texture block of the detector and a glyph.
const CONTEXT: u32 = 64;
/// When more than this share of a frame changed, it is examined whole.
const MOSTLY_CHANGED: f64 = 0.6;

/// Text-like regions over every frame of `data` (native little-endian bytes of all frames);
/// with `flow` (ultrasound), colour flow is set aside. Screen captures are read without: their
/// coloured panels and icons carry text. A grey image deeper than 8 bits with a display
/// `window` in its header is looked at a second time through that window, where text burned
/// in at the window's white or grey stands out as it did on the modality's screen.
pub fn detect_frames(
    geometry: &Geometry,
    data: &[u8],
    flow: bool,
    window: Option<&Window>,
) -> Vec<Region> {
    let mut regions = examine(geometry.frames, |i| View::of(geometry, data, i, flow));
    if let Some(window) = window.filter(|_| geometry.is_deep_grey()) {
        regions.extend(examine(geometry.frames, |i| {
            let luma = geometry
                .luma_in_window(data, i, window)
                .unwrap_or_else(|| geometry.luma(data, i));
            View { luma, zone: None }
        }));
    }
    regions.sort_unstable();
    regions.dedup();
    regions
}

/// The regions of `n` frames read by `view`: key frames whole, the others where they differ
/// from the nearest key frame.
fn examine(n: u32, view: impl Fn(u32) -> View + Sync) -> Vec<Region> {
    let mut keys = vec![0, n / 2, n.saturating_sub(1)];
    keys.dedup();
    let key_views: Vec<View> = keys.par_iter().map(|&i| view(i)).collect();
    let mut found: Vec<Vec<Region>> = key_views.par_iter().map(View::detect).collect();
    let others: Vec<u32> = (0..n).filter(|i| !keys.contains(i)).collect();
    found.par_extend(others.par_iter().map(|&i| {
        let nearest = keys
            .iter()
            .enumerate()
            .min_by_key(|(_, k)| k.abs_diff(i))
            .map_or(0, |(at, _)| at);
        view(i).detect_changes(&key_views[nearest])
    }));
    found.into_iter().flatten().collect()
}

/// One frame as the detector reads it: luma, and the clinical colour zone of a colour frame.
struct View {
    luma: GrayImage,
    zone: Option<Vec<bool>>,
}

impl View {
    fn of(geometry: &Geometry, data: &[u8], index: u32, flow: bool) -> View {
        if let Some(rgb) = geometry.palette_rgb(data, index) {
            return View::of_rgb(&rgb, flow);
        }
        let luma = luma(geometry, data, index);
        let zone = flow
            .then(|| rgb(geometry, data, index))
            .flatten()
            .and_then(|rgb| super::colour::clinical_zone(&rgb));
        View { luma, zone }
    }

    /// A frame given in 8-bit RGB (a palette frame looked up), read as an RGB frame is.
    fn of_rgb(rgb: &RgbImage, flow: bool) -> View {
        let geometry = Geometry::plain(rgb.height(), rgb.width(), 3, 8);
        View {
            luma: luma(&geometry, rgb.as_raw(), 0),
            zone: flow.then(|| super::colour::clinical_zone(rgb)).flatten(),
        }
    }

    fn detect(&self) -> Vec<Region> {
        detect_text_outside(&self.luma, self.zone.as_deref())
    }

    /// The text in what changed since `key`, a frame of the same size.
    fn detect_changes(&self, key: &View) -> Vec<Region> {
        let (w, h) = self.luma.dimensions();
        let changed = changed_boxes(&self.luma, &key.luma);
        let area: u64 = changed
            .iter()
            .map(|r| u64::from(r.width) * u64::from(r.height))
            .sum();
        if area as f64 > MOSTLY_CHANGED * f64::from(w) * f64::from(h) {
            return self.detect();
        }
        let mut out = Vec::new();
        for window in context_windows(&changed, w, h) {
            let crop = self.crop(window);
            out.extend(
                crop.detect()
                    .into_iter()
                    .map(|r| Region {
                        x: r.x + window.x,
                        y: r.y + window.y,
                        ..r
                    })
                    .filter(|r| changed.iter().any(|c| intersects(r, c))),
            );
        }
        out
    }

    fn crop(&self, r: Region) -> View {
        let w = self.luma.width() as usize;
        let luma = image::imageops::crop_imm(&self.luma, r.x, r.y, r.width, r.height).to_image();
        let zone = self.zone.as_ref().map(|zone| {
            (r.y as usize..(r.y + r.height) as usize)
                .flat_map(|y| {
                    zone[y * w + r.x as usize..][..r.width as usize]
                        .iter()
                        .copied()
                })
                .collect()
        });
        View { luma, zone }
    }
}

fn intersects(a: &Region, b: &Region) -> bool {
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
}

/// The bounding boxes, in pixels, of the groups of touching tiles where `frame` differs from
/// `key`.
fn changed_boxes(frame: &GrayImage, key: &GrayImage) -> Vec<Region> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let (tw, th) = (w.div_ceil(TILE), h.div_ceil(TILE));
    let mut tiles = vec![false; tw * th];
    for (y, (a, b)) in frame
        .as_raw()
        .chunks_exact(w)
        .zip(key.as_raw().chunks_exact(w))
        .enumerate()
    {
        let band = &mut tiles[(y / TILE) * tw..][..tw];
        for (tile, (a, b)) in band.iter_mut().zip(a.chunks(TILE).zip(b.chunks(TILE))) {
            if !*tile {
                *tile = a.iter().zip(b).any(|(p, q)| p.abs_diff(*q) > CHANGE);
            }
        }
    }
    // Groups of 8-connected changed tiles, by flood fill.
    let mut seen = vec![false; tiles.len()];
    let mut boxes = Vec::new();
    for start in 0..tiles.len() {
        if !tiles[start] || seen[start] {
            continue;
        }
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(t) = stack.pop() {
            let (tx, ty) = (t % tw, t / tw);
            (x0, y0, x1, y1) = (x0.min(tx), y0.min(ty), x1.max(tx), y1.max(ty));
            for ny in ty.saturating_sub(1)..(ty + 2).min(th) {
                for nx in tx.saturating_sub(1)..(tx + 2).min(tw) {
                    let n = ny * tw + nx;
                    if tiles[n] && !seen[n] {
                        seen[n] = true;
                        stack.push(n);
                    }
                }
            }
        }
        let (px0, py0) = (x0 * TILE, y0 * TILE);
        let (px1, py1) = (((x1 + 1) * TILE).min(w), ((y1 + 1) * TILE).min(h));
        boxes.push(Region {
            x: px0 as u32,
            y: py0 as u32,
            width: (px1 - px0) as u32,
            height: (py1 - py0) as u32,
        });
    }
    boxes
}

/// The changed boxes grown by [`CONTEXT`], clipped to the frame, overlapping ones merged.
fn context_windows(changed: &[Region], w: u32, h: u32) -> Vec<Region> {
    let mut windows: Vec<Region> = changed
        .iter()
        .map(|r| {
            let (x0, y0) = (r.x.saturating_sub(CONTEXT), r.y.saturating_sub(CONTEXT));
            let (x1, y1) = (
                (r.x + r.width + CONTEXT).min(w),
                (r.y + r.height + CONTEXT).min(h),
            );
            Region {
                x: x0,
                y: y0,
                width: x1 - x0,
                height: y1 - y0,
            }
        })
        .collect();
    let mut merged = true;
    while merged {
        merged = false;
        'outer: for i in 0..windows.len() {
            for j in i + 1..windows.len() {
                if intersects(&windows[i], &windows[j]) {
                    let b = windows.remove(j);
                    windows[i] = windows[i].bounding(b);
                    merged = true;
                    break 'outer;
                }
            }
        }
    }
    windows
}

/// Frame `index` as the detector's luma, [`Geometry::luma`], computed directly for the layouts
/// most frames come in (8-bit grey, interleaved 8-bit RGB): the same bytes, several times
/// faster than its sample-by-sample reading.
fn luma(geometry: &Geometry, data: &[u8], index: u32) -> GrayImage {
    let plain = geometry.bits_allocated == 8 && geometry.bits_stored == 8 && !geometry.signed;
    let frame_len = geometry.frame_len() as usize;
    let frame = data
        .get(index as usize * frame_len..)
        .and_then(|d| d.get(..frame_len));
    let values: Vec<u8> = match (frame, &geometry.photometric, geometry.samples) {
        (Some(frame), Photometric::Monochrome2, 1) if plain => frame.to_vec(),
        (Some(frame), Photometric::Monochrome1 | Photometric::Monochrome2, 1) => {
            if let Some(luma) = grey_luma(geometry, frame) {
                return luma;
            }
            return geometry.luma(data, index);
        }
        (Some(frame), Photometric::Rgb, 3) if plain && !geometry.planar => frame
            .chunks_exact(3)
            .map(|p| {
                let sum = 299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]);
                (sum / 1000) as u8
            })
            .collect(),
        _ => return geometry.luma(data, index),
    };
    let min = values.iter().copied().min().unwrap_or(0);
    let max = values.iter().copied().max().unwrap_or(0);
    let span = u32::from(max - min).max(1);
    let bytes = values
        .into_iter()
        .map(|v| (u32::from(v - min) * 255 / span) as u8)
        .collect();
    GrayImage::from_raw(geometry.columns, geometry.rows, bytes).expect("one byte per pixel")
}

/// A grey frame of 8- or 16-bit samples of at most 8 bits stored (any high bit, signed or not,
/// MONOCHROME1 or 2) as [`Geometry::luma`] reads it, without a 64-bit value a pixel. Nothing
/// for deeper values: how those are stretched is [`Geometry::luma`]'s to decide.
fn grey_luma(geometry: &Geometry, frame: &[u8]) -> Option<GrayImage> {
    let bits = geometry.bits_stored;
    if !matches!(geometry.bits_allocated, 8 | 16) || bits == 0 || bits > 8 {
        return None;
    }
    let shift = geometry.high_bit + 1 - bits;
    let mask = (1u32 << bits) - 1;
    let signed = geometry.signed;
    let value = move |raw: u32| -> i32 {
        let v = (raw >> shift) & mask;
        if signed && v & (1 << (bits - 1)) != 0 {
            v as i32 - (1 << bits)
        } else {
            v as i32
        }
    };
    let invert = geometry.photometric == Photometric::Monochrome1;
    let bytes = if geometry.bits_allocated == 16 {
        stretch(
            || {
                frame
                    .chunks_exact(2)
                    .map(|b| value(u32::from(u16::from_le_bytes([b[0], b[1]]))))
            },
            invert,
        )
    } else {
        stretch(|| frame.iter().map(|&b| value(u32::from(b))), invert)
    };
    GrayImage::from_raw(geometry.columns, geometry.rows, bytes)
}

/// Values stretched from their minimum to their maximum over 0–255 (inverted for
/// MONOCHROME1), as [`Geometry::luma`] does; read twice rather than kept in a list.
fn stretch<I: Iterator<Item = i32>>(values: impl Fn() -> I, invert: bool) -> Vec<u8> {
    let (min, max) = values().fold((i32::MAX, i32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (min, max) = if min > max { (0, 0) } else { (min, max) };
    let span = (max - min).max(1);
    values()
        .map(|v| {
            let scaled = ((v - min) * 255 / span) as u8;
            if invert { 255 - scaled } else { scaled }
        })
        .collect()
}

/// Frame `index` as 8-bit RGB, for colour frames of 8-bit samples (RGB, YBR_FULL,
/// YBR_FULL_422); nothing for grey, palette and deeper colour frames.
fn rgb(geometry: &Geometry, data: &[u8], index: u32) -> Option<RgbImage> {
    if geometry.samples != 3 || geometry.bits_allocated != 8 {
        return None;
    }
    let (w, h) = (geometry.columns, geometry.rows);
    let pixels = (w * h) as usize;
    let frame_len = geometry.frame_len() as usize;
    let frame = data.get(index as usize * frame_len..)?.get(..frame_len)?;
    let planar = geometry.planar;
    let sample = |i: usize, s: usize| {
        if planar {
            frame[s * pixels + i]
        } else {
            frame[i * 3 + s]
        }
    };
    let ybr = |y: u8, cb: u8, cr: u8| {
        let (y, cb, cr) = (f32::from(y), f32::from(cb) - 128.0, f32::from(cr) - 128.0);
        [
            (y + 1.402 * cr).clamp(0.0, 255.0) as u8,
            (y - 0.344_136 * cb - 0.714_136 * cr).clamp(0.0, 255.0) as u8,
            (y + 1.772 * cb).clamp(0.0, 255.0) as u8,
        ]
    };
    let bytes: Vec<u8> = match geometry.photometric {
        Photometric::Rgb => (0..pixels)
            .flat_map(|i| [sample(i, 0), sample(i, 1), sample(i, 2)])
            .collect(),
        Photometric::YbrFull => (0..pixels)
            .flat_map(|i| ybr(sample(i, 0), sample(i, 1), sample(i, 2)))
            .collect(),
        Photometric::YbrFull422 => (0..pixels)
            .flat_map(|i| {
                let pair = &frame[(i / 2) * 4..][..4];
                ybr(pair[i % 2], pair[2], pair[3])
            })
            .collect(),
        _ => return None,
    };
    RgbImage::from_raw(w, h, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixel::detect::detect_text;
    use image::Luma;

    fn geometry(frames: u32, samples: u32, photometric: Photometric) -> Geometry {
        Geometry {
            rows: 120,
            columns: 200,
            samples,
            bits_allocated: 8,
            bits_stored: 8,
            high_bit: 7,
            signed: false,
            planar: false,
            photometric,
            frames,
            palette: None,
        }
    }

    /// Bright block glyphs "II II" at (x, y): five 3×14 bars in two words.
    fn glyphs(frame: &mut GrayImage, x: u32, y: u32) {
        for (i, dx) in [0, 8, 16, 34, 42].into_iter().enumerate() {
            for yy in y..y + 14 {
                for xx in x + dx..x + dx + 3 {
                    frame.put_pixel(xx, yy, Luma([200 + i as u8 * 5]));
                }
            }
        }
    }

    /// A cine whose first frames are blank and whose later frames carry text in one corner,
    /// with a moving bright square elsewhere.
    fn cine(frames: u32) -> Vec<u8> {
        (0..frames)
            .flat_map(|i| {
                let mut f = GrayImage::new(200, 120);
                for y in 80..100 {
                    for x in 10 + i * 3..30 + i * 3 {
                        f.put_pixel(x, y, Luma([120]));
                    }
                }
                if i >= 3 {
                    glyphs(&mut f, 130, 10);
                }
                f.into_raw()
            })
            .collect()
    }

    #[test]
    fn deep_grey_text_at_the_windows_white_is_found_through_the_header_window() {
        // Soft tissue (40 HU) with a bone block (3000 HU) and "II II" at 240 HU: the white of
        // a 40/400 window, 17 grey levels above tissue when stretched to the bone.
        let mut g = geometry(1, 1, Photometric::Monochrome2);
        (g.bits_allocated, g.bits_stored, g.high_bit, g.signed) = (16, 16, 15, true);
        let mut hu = vec![40i16; 200 * 120];
        for y in 90..110 {
            hu[y * 200 + 20..y * 200 + 60].fill(3000);
        }
        for dx in [0, 8, 16, 34, 42] {
            for y in 20..34 {
                hu[y * 200 + 120 + dx..y * 200 + 123 + dx].fill(240);
            }
        }
        let data: Vec<u8> = hu.iter().flat_map(|v| v.to_le_bytes()).collect();
        let text = Region {
            x: 120,
            y: 20,
            width: 45,
            height: 14,
        };
        let covers = |regions: &[Region]| {
            regions.iter().any(|r| {
                r.x <= text.x
                    && r.y <= text.y
                    && r.x + r.width >= text.x + text.width
                    && r.y + r.height >= text.y + text.height
            })
        };
        assert!(!covers(&detect_frames(&g, &data, false, None)));
        let window = Window {
            centre: 40.0,
            width: 400.0,
            slope: 1.0,
            intercept: 0.0,
        };
        assert!(covers(&detect_frames(&g, &data, false, Some(&window))));
    }

    #[test]
    fn text_appearing_between_key_frames_is_found_where_it_appears() {
        let frames = 9;
        let data = cine(frames);
        let g = geometry(frames, 1, Photometric::Monochrome2);
        let regions = detect_frames(&g, &data, false, None);
        assert!(!regions.is_empty());
        // What each frame shows is covered, exactly as examining every frame whole finds.
        let mut whole: Vec<Region> = (0..frames)
            .flat_map(|i| detect_text(&g.luma(&data, i)))
            .collect();
        whole.sort_unstable();
        whole.dedup();
        for r in &whole {
            assert!(
                regions.iter().any(|f| intersects(f, r)),
                "{r:?} in {regions:?}"
            );
        }
        assert!(regions.iter().all(|r| r.y < 40), "{regions:?}");
    }

    #[test]
    fn one_frame_and_identical_frames_give_the_single_frame_result() {
        let mut f = GrayImage::new(200, 120);
        glyphs(&mut f, 20, 20);
        let one = detect_text(&f);
        assert!(!one.is_empty());
        for frames in [1, 2, 5] {
            let data: Vec<u8> = (0..frames).flat_map(|_| f.as_raw().clone()).collect();
            let g = geometry(frames, 1, Photometric::Monochrome2);
            assert_eq!(detect_frames(&g, &data, false, None), one);
        }
    }

    #[test]
    fn the_direct_luma_is_the_geometry_luma() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut bytes = |n: usize, lo: u8, hi: u8| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    lo + (state % (u64::from(hi - lo) + 1)) as u8
                })
                .collect()
        };
        for (samples, photometric, planar) in [
            (1, Photometric::Monochrome2, false),
            (1, Photometric::Monochrome1, false),
            (3, Photometric::Rgb, false),
            (3, Photometric::Rgb, true),
            (3, Photometric::YbrFull, false),
        ] {
            for (lo, hi) in [(0, 255), (40, 90), (7, 7)] {
                let mut g = geometry(2, samples, photometric.clone());
                g.planar = planar;
                let data = bytes(200 * 120 * samples as usize * 2, lo, hi);
                for index in 0..2 {
                    assert_eq!(
                        luma(&g, &data, index),
                        g.luma(&data, index),
                        "{photometric:?} planar {planar} {lo}..{hi} frame {index}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_direct_grey_luma_is_the_geometry_luma() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let data: Vec<u8> = (0..200 * 120 * 2 * 2)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        for photometric in [Photometric::Monochrome1, Photometric::Monochrome2] {
            for (bits, stored, high, signed) in [
                (16, 8, 7, false),
                (16, 8, 11, true),
                (16, 12, 11, true),
                (8, 8, 7, true),
                (8, 6, 6, false),
            ] {
                let mut g = geometry(2, 1, photometric.clone());
                (g.bits_allocated, g.bits_stored, g.high_bit, g.signed) =
                    (bits, stored, high, signed);
                for index in 0..2 {
                    assert_eq!(
                        luma(&g, &data, index),
                        g.luma(&data, index),
                        "{photometric:?} {bits}/{stored}/{high} signed {signed} frame {index}"
                    );
                }
            }
        }
    }

    #[test]
    fn colour_frames_are_read_as_rgb() {
        let g = geometry(1, 3, Photometric::YbrFull);
        let data = vec![128u8; 200 * 120 * 3];
        let rgb = rgb(&g, &data, 0).expect("colour");
        assert_eq!(rgb.get_pixel(5, 5).0, [128, 128, 128]);
        assert!(rgb_of_grey_is_none());
    }

    fn rgb_of_grey_is_none() -> bool {
        let g = geometry(1, 1, Photometric::Monochrome2);
        rgb(&g, &[0u8; 200 * 120], 0).is_none()
    }
}
