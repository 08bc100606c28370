//! Clinical colour content of a colour frame: colour-flow Doppler, power Doppler, colour bars.
//!
//! Burned-in text is drawn in thin strokes; colour flow fills areas. So the clinical colour is
//! what stays of the saturated pixels after a morphological opening wider than any stroke,
//! grown by a few pixels to take in the blobs' anti-aliased rims (and the coloured pixels a
//! little farther, thin branches of the flow), where its colour varies as
//! flow does (a flat coloured panel or button of a screen capture is no flow, and its text must
//! stay visible). The detector looks for no
//! text there: coloured text stays visible to it (its strokes vanish in the opening), and the
//! edges of flow blobs are never taken for glyphs.

use image::RgbImage;

use super::detect::rank_filter;

/// Chroma (largest minus smallest of R, G, B) from which a pixel counts as coloured; grey
/// speckle with noise and JPEG ringing stays well below.
const SATURATED: u8 = 48;
/// Half the side of the opening: strokes up to 8 pixels wide vanish (bold 40-pixel glyphs have
/// about 8), blobs of at least 9×9 pixels stay.
const OPEN_RADIUS: usize = 4;
/// How far the zone reaches beyond the blobs (their rims, which the opening trims).
const RIM: usize = 3;
/// Farther out, up to this distance, coloured pixels still belong to the flow (thin
/// branches and the ends of blobs cut by the colour box, which the opening removes).
const NEAR: usize = 12;

/// One flag a pixel, set inside clinical colour content; nothing when the frame has none.
pub fn clinical_zone(rgb: &RgbImage) -> Option<Vec<bool>> {
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let saturated: Vec<u8> = rgb
        .as_raw()
        .chunks_exact(3)
        .map(|p| {
            let (lo, hi) = (p[0].min(p[1]).min(p[2]), p[0].max(p[1]).max(p[2]));
            if hi - lo >= SATURATED { 255 } else { 0 }
        })
        .collect();
    if !saturated.contains(&255) {
        return None;
    }
    let eroded = rank_filter(&saturated, w, h, OPEN_RADIUS, false);
    if !eroded.contains(&255) {
        return None;
    }
    let mut opened = rank_filter(&eroded, w, h, OPEN_RADIUS, true);
    drop_flat_tiles(&mut opened, rgb);
    if !opened.contains(&255) {
        return None;
    }
    let rim = rank_filter(&opened, w, h, RIM, true);
    let near = rank_filter(&rim, w, h, NEAR - RIM, true);
    Some(
        rim.iter()
            .zip(&near)
            .zip(&saturated)
            .map(|((&rim, &near), &colour)| rim == 255 || (near == 255 && colour == 255))
            .collect(),
    )
}

/// Side of the tiles over which colour must vary to be flow.
const TILE: usize = 16;
/// A tile is flat when three fifths of its colour pixels lie within this many levels of luma
/// of their median (anti-aliased text on a panel adds a minority of other levels).
const FLAT_LEVELS: u8 = 8;

/// Clears the colour areas of tiles where the colour is flat: panels, buttons and title bars of
/// screen captures, on which text is drawn and must stay visible.
fn drop_flat_tiles(mask: &mut [u8], rgb: &RgbImage) {
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let raw = rgb.as_raw();
    let mut levels = Vec::with_capacity(TILE * TILE);
    for ty in (0..h).step_by(TILE) {
        for tx in (0..w).step_by(TILE) {
            levels.clear();
            for y in ty..(ty + TILE).min(h) {
                for x in tx..(tx + TILE).min(w) {
                    if mask[y * w + x] == 255 {
                        let p = &raw[(y * w + x) * 3..][..3];
                        let luma =
                            (299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2]))
                                / 1000;
                        levels.push(luma as u8);
                    }
                }
            }
            if levels.is_empty() {
                continue;
            }
            levels.sort_unstable();
            let median = levels[levels.len() / 2];
            let alike = levels
                .iter()
                .filter(|&&v| v.abs_diff(median) <= FLAT_LEVELS)
                .count();
            if alike * 5 >= levels.len() * 3 {
                for y in ty..(ty + TILE).min(h) {
                    mask[y * w + tx..y * w + (tx + TILE).min(w)].fill(0);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn flat_coloured_panels_are_no_flow() {
        let frame = RgbImage::from_fn(96, 64, |x, _| {
            if x < 48 {
                Rgb([30, 60, 200])
            } else {
                Rgb([0, 0, 0])
            }
        });
        assert_eq!(clinical_zone(&frame), None);
    }

    #[test]
    fn grey_frames_have_no_zone() {
        let frame = RgbImage::from_fn(64, 48, |x, y| {
            let v = ((x * 7 + y * 13) % 256) as u8;
            Rgb([v, v, v])
        });
        assert_eq!(clinical_zone(&frame), None);
    }

    #[test]
    fn flow_blobs_are_clinical_and_thin_coloured_strokes_are_not() {
        let mut frame = RgbImage::new(120, 80);
        // A flow blob 30×20 in red and yellow, a yellow stroke 3 pixels wide, 40 long.
        for y in 10..30 {
            for x in 10..40 {
                let v = if (x + y) % 3 == 0 {
                    [250, 220, 0]
                } else {
                    [200, 20, 10]
                };
                let v = if (x * 7 + y * 3) % 5 == 0 {
                    [90, 0, 0]
                } else {
                    v
                };
                frame.put_pixel(x, y, Rgb(v));
            }
        }
        for y in 50..80 {
            for x in 80..83 {
                frame.put_pixel(x, y, Rgb([230, 230, 0]));
            }
        }
        let zone = clinical_zone(&frame).expect("a zone");
        let at = |x: usize, y: usize| zone[y * 120 + x];
        assert!(at(25, 20) && at(10, 10) && at(8, 8));
        assert!(!at(81, 60) && !at(60, 60));
    }
}
