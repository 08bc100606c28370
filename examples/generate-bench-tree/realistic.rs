//! Pixels of ultrasound and secondary-capture files as such images look, for the
//! `image-realistic` tree: speckle in a sector (or a rectangle) on black, burned-in text lines
//! that stay put on every frame of a cine, depth marks; on a cine only the speckle changes.
//! The `image` tree's pseudo-random pixels are the text detector's worst case; these are its
//! ordinary case.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

const FONT: &[u8] = include_bytes!("../../testdata/fonts/DejaVuSansMono.ttf");
const ROWS: usize = 480;
const COLUMNS: usize = 640;

/// Deterministic uniform numbers in (0, 1]: xorshift.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 + 1.0) / (1u64 << 24) as f32
    }
}

/// Where the image area is: an ultrasound sector from an apex, or a rectangle.
#[derive(Clone, Copy)]
pub enum Field {
    Sector,
    Rectangle,
}

impl Field {
    fn contains(self, x: usize, y: usize) -> Option<f32> {
        match self {
            Field::Sector => {
                let (dx, dy) = (x as f32 - 320.0, y as f32 - 40.0);
                let r = (dx * dx + dy * dy).sqrt();
                let inside = (40.0..=420.0).contains(&r) && dx.abs() <= dy * 0.7;
                inside.then_some(r / 420.0)
            }
            Field::Rectangle => ((100..540).contains(&x) && (60..420).contains(&y))
                .then_some((y - 60) as f32 / 360.0),
        }
    }
}

/// One grey frame: speckle (log-compressed, fading with depth) in `field` from `seed`, black
/// around it, and the same text and depth marks whatever the seed.
fn frame(field: Field, seed: u64, text: &[(usize, usize, String)]) -> Vec<u8> {
    let mut noise = Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut out = vec![0u8; ROWS * COLUMNS];
    for y in 0..ROWS {
        for x in 0..COLUMNS {
            if let Some(depth) = field.contains(x, y) {
                let echo = -noise.next().ln();
                let v = 38.0 * (1.0 + 4.0 * echo).ln() * (1.1 - 0.6 * depth);
                out[y * COLUMNS + x] = v.clamp(0.0, 255.0) as u8;
            }
        }
    }
    // Depth marks every 40 rows beside the image area.
    for y in (60..440).step_by(40) {
        for x in 572..578 {
            out[y * COLUMNS + x] = 200;
            out[(y + 1) * COLUMNS + x] = 200;
        }
    }
    let font = FontRef::try_from_slice(FONT).expect("the bundled font parses");
    let scale = PxScale::from(15.0);
    let scaled = font.as_scaled(scale);
    for (left, top, line) in text {
        let mut caret = *left as f32;
        for c in line.chars() {
            let glyph = font
                .glyph_id(c)
                .with_scale_and_position(scale, point(caret, *top as f32 + scaled.ascent()));
            caret += scaled.h_advance(font.glyph_id(c));
            if let Some(outlined) = font.outline_glyph(glyph) {
                let b = outlined.px_bounds();
                outlined.draw(|gx, gy, cover| {
                    let (x, y) = (
                        b.min.x as i64 + i64::from(gx),
                        b.min.y as i64 + i64::from(gy),
                    );
                    if (0..COLUMNS as i64).contains(&x) && (0..ROWS as i64).contains(&y) {
                        let at = &mut out[y as usize * COLUMNS + x as usize];
                        let ink = 235.0 * cover + f32::from(*at) * (1.0 - cover);
                        *at = ink as u8;
                    }
                });
            }
        }
    }
    out
}

/// The burned-in text of file `index`: a patient banner, an exam line, scanner settings.
fn text(index: u32, name: &str) -> Vec<(usize, usize, String)> {
    vec![
        (
            8,
            6,
            format!("{name}  MRN{:07}", 4_000_000 + index / 50 + 1),
        ),
        (
            8,
            24,
            format!("2014-03-{:02} 10:17:{:02}", index % 28 + 1, index % 60),
        ),
        (470, 6, "ACME SCAN 9000".to_owned()),
        (470, 24, format!("C5-1  {}Hz", 20 + index % 10)),
        (8, 456, format!("GAIN {}  DR 60  FR 24", 40 + index % 20)),
    ]
}

/// Pixel data of `frames` frames of `samples` samples (1 grey, 3 RGB, interleaved) for file
/// `index`: on a cine the speckle changes from frame to frame, nothing else does.
pub fn pixels(index: u32, name: &str, field: Field, samples: usize, frames: u32) -> Vec<u8> {
    let text = text(index, name);
    let mut out = Vec::with_capacity(ROWS * COLUMNS * samples * frames as usize);
    for f in 0..frames {
        let grey = frame(field, u64::from(index) * 64 + u64::from(f) + 1, &text);
        if samples == 3 {
            out.extend(grey.iter().flat_map(|&v| [v, v, v]));
        } else {
            out.extend_from_slice(&grey);
        }
    }
    out
}
