//! Automatic detection of burned-in text in one frame (`pixel.detect: true`).
//!
//! Scanners burn names, IDs and dates into the pixels as lines of glyphs in one colour, brighter
//! or darker than what lies under them: black borders, speckle, anatomy, screen panels. The
//! detector looks for exactly that shape, without a font or a model:
//! 1. Contrast maps of strokes thinner than 13 pixels: a white top-hat for bright text, a black
//!    top-hat for dark text, and a 3×3 morphological gradient for text whose polarity changes
//!    along the line (it crosses an edge, or carries a drop shadow).
//! 2. Ink: contrast above an absolute floor and above the level that the frame's own texture
//!    (speckle, noise) reaches nearby, measured per 64-pixel block.
//! 3. Connected components of the ink. Shapes that are not glyphs are split at higher contrast,
//!    which separates text from the speckle, bone or table edge it touches.
//! 4. Glyphs: 5–76 pixels high, thin strokes, not compact blobs; wider shapes only if they
//!    cross a stroke every letter (fused words), never frames, rules or curves.
//! 5. Lines: glyphs side by side on one band, of like height, stroke and ink colour, sharing a
//!    baseline or cap line. A line must be salient above the local texture; long, well-aligned
//!    lines need less than short ones.
//! 6. Lines take in neighbouring glyphs of their colour and join lines on their band, so that
//!    word gaps and punctuation are covered; each box is grown by a margin and clipped.
//!
//! Everything is integer or single-threaded float arithmetic in a fixed order, so the result is
//! the same on every run. The figures it reaches, and the frames it is measured on, are in
//! `benches/detect_eval.rs` and `benches/detect-results.md`.

use image::{GrayImage, RgbImage};

use super::Region;

/// Strokes up to 12 pixels wide stand out of the window (bold 40-pixel glyphs have about 8).
const STROKE_RADIUS: usize = 6;
/// The least contrast, in grey levels, that counts as ink on a quiet background.
const INK_FLOOR: u8 = 40;
/// Side of the blocks over which the texture's own contrast is measured.
const BLOCK: usize = 64;
/// Pixels tested at once for holding no ink at all (one vector compare).
const INK_STRETCH: usize = 32;
/// Ink must exceed the block's (trimmed) median contrast by this factor.
const NOISE_FACTOR: f32 = 1.7;
/// How far above the texture a line's glyphs must stand, per channel. Log-compressed speckle has
/// deep narrow nulls, so dark marks in it need more than bright ones.
const SALIENCE: [f32; 3] = [1.35, 1.8, 1.5];
const MIN_GLYPH: u32 = 5;
/// 56-pixel capitals plus descender, or a glyph fused with a neighbour.
const MAX_GLYPH: u32 = 76;
/// Rows in a band within which glyphs are compared for grouping.
const GROUP_BAND: usize = 16;
/// Splitting a non-glyph shape: at most this deep, each time at this factor above its mean
/// contrast and above the local texture.
const SPLIT_DEPTH: u32 = 2;
const SPLIT_STEP: f32 = 1.25;
const SPLIT_NOISE: f32 = 1.6;
const SPLIT_AREA: u32 = 20;
/// Glyphs of one line differ in ink level by at most this (or 30 % of their contrast).
const LEVEL_TOLERANCE: f32 = 32.0;
/// Least strength of a glyph taken into an existing line.
const GROW_STRENGTH: f32 = 0.75;
/// Salience needed by long, well-aligned lines, relative to short ones.
const STRONG_LINE: f32 = 0.8;
const GOOD_LINE: f32 = 0.9;

/// Text-like boxes in one frame, each already grown by a safety margin and clipped to the frame.
pub fn detect_text(frame: &GrayImage) -> Vec<Region> {
    detect_text_outside(frame, None)
}

/// Text-like boxes in one colour frame: its BT.601 `luma` as [`detect_text`] reads it, and
/// `rgb` to find the clinical colour content (colour-flow Doppler, colour bars) where no text
/// is looked for, so that colour blobs are never masked as glyphs.
pub fn detect_text_colour(luma: &GrayImage, rgb: &RgbImage) -> Vec<Region> {
    let zone = super::colour::clinical_zone(rgb);
    detect_text_outside(luma, zone.as_deref())
}

/// Text-like boxes, none found inside `clinical` (one flag a pixel, when given).
pub fn detect_text_outside(frame: &GrayImage, clinical: Option<&[bool]>) -> Vec<Region> {
    let (width, height) = frame.dimensions();
    if width == 0 || height == 0 {
        return Vec::new();
    }
    let mut regions: Vec<Region> = find_lines(frame, clinical)
        .into_iter()
        .map(|line| {
            let vertical = (line.y1 - line.y0 + 1) / 4 + 2;
            let side = line.h / 2 + 2;
            let x0 = line.x0.saturating_sub(side);
            let y0 = line.y0.saturating_sub(vertical);
            let x1 = (line.x1 + side).min(width - 1);
            let y1 = (line.y1 + vertical).min(height - 1);
            Region {
                x: x0,
                y: y0,
                width: x1 - x0 + 1,
                height: y1 - y0 + 1,
            }
        })
        .collect();
    regions.sort_unstable();
    regions.dedup();
    regions
}

/// The three contrast maps a glyph can show up on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Channel {
    Bright,
    Dark,
    Edge,
}

impl Channel {
    const ALL: [Channel; 3] = [Channel::Bright, Channel::Dark, Channel::Edge];
}

/// A connected piece of ink and what the detector knows about it.
#[derive(Clone)]
struct Component {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    area: u32,
    /// Pixels with a 4-neighbour outside the ink.
    perimeter: u32,
    contrast_sum: u64,
    /// Its runs are `runs[first..first + count]`.
    first: usize,
    count: usize,
    channel: Channel,
    /// Contrast relative to what the channel's texture needs here (≥ 1: salient).
    strength: f32,
    /// The ink's luma (text colour); 0 on the edge channel, which has none.
    level: u8,
}

impl Component {
    fn height(&self) -> u32 {
        self.y1 - self.y0 + 1
    }

    fn width(&self) -> u32 {
        self.x1 - self.x0 + 1
    }

    /// Mean stroke width: twice the area over the outline length.
    fn stroke(&self) -> f32 {
        2.0 * self.area as f32 / self.perimeter.max(1) as f32
    }

    fn contrast(&self) -> f32 {
        self.contrast_sum as f32 / self.area as f32
    }

    fn centre(&self) -> (usize, usize) {
        (
            ((self.x0 + self.x1) / 2) as usize,
            ((self.y0 + self.y1) / 2) as usize,
        )
    }
}

/// A horizontal run of ink `[x0, x1]` in row `y`, and the component it belongs to.
#[derive(Clone, Copy)]
struct Run {
    y: u32,
    x0: u32,
    x1: u32,
    component: u32,
}

/// An accepted line of text: its box, typical glyph height, contrast and ink level.
#[derive(Clone, Copy)]
struct Line {
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    h: u32,
    contrast: f32,
    level: u8,
}

/// The lines of text in a frame, before margins.
fn find_lines(frame: &GrayImage, clinical: Option<&[bool]>) -> Vec<Line> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let luma = frame.as_raw();
    let mut glyphs = Vec::new();
    let clinical = clinical.filter(|z| z.len() == w * h);
    for (channel, mut contrast) in Channel::ALL.into_iter().zip(contrast_maps(luma, w, h)) {
        // The texture is measured outside clinical colour, which then shows no ink.
        let noise = Noise::new(&contrast, clinical, w, h);
        if let Some(zone) = clinical {
            for (c, &inside) in contrast.iter_mut().zip(zone) {
                if inside {
                    *c = 0;
                }
            }
        }
        let (components, runs) = components(&contrast, &noise, w, h, channel);
        for mut c in components {
            if glyph_like(&c, &runs) {
                c.level = ink_level(&c, &runs, luma, w);
                glyphs.push(c);
            }
        }
    }
    let mut found = Vec::new();
    for group in groups(&glyphs) {
        // The edge channel only extends lines that ink shows (alone it sees frames and icons).
        if group.iter().any(|&i| glyphs[i].channel == Channel::Edge) {
            continue;
        }
        let members: Vec<&Component> = group.iter().map(|&i| &glyphs[i]).collect();
        let strength = members.iter().map(|c| c.strength).sum::<f32>() / members.len() as f32;
        if !line_shape(&members).is_some_and(|needed| strength >= needed) {
            continue;
        }
        found.push(Line {
            x0: members.iter().map(|c| c.x0).min().unwrap_or(0),
            y0: members.iter().map(|c| c.y0).min().unwrap_or(0),
            x1: members.iter().map(|c| c.x1).max().unwrap_or(0),
            y1: members.iter().map(|c| c.y1).max().unwrap_or(0),
            h: median(members.iter().map(|c| c.height()).collect()),
            contrast: members.iter().map(|c| c.contrast()).sum::<f32>() / members.len() as f32,
            level: median(members.iter().map(|c| c.level).collect()),
        });
    }
    grow(&mut found, &glyphs);
    merge(found)
}

fn median<T: Ord + Copy + Default>(mut values: Vec<T>) -> T {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

/// White top-hat, black top-hat and 3×3 morphological gradient of the frame.
fn contrast_maps(src: &[u8], w: usize, h: usize) -> [Vec<u8>; 3] {
    let r = STROKE_RADIUS;
    let opened = rank_filter(&rank_filter(src, w, h, r, false), w, h, r, true);
    let closed = rank_filter(&rank_filter(src, w, h, r, true), w, h, r, false);
    let bright = src.iter().zip(&opened).map(|(a, b)| a - b).collect();
    let dark = closed.iter().zip(src).map(|(a, b)| a - b).collect();
    let dilated = rank_filter(src, w, h, 1, true);
    let eroded = rank_filter(src, w, h, 1, false);
    let edge = dilated.iter().zip(&eroded).map(|(a, b)| a - b).collect();
    [bright, dark, edge]
}

/// Minimum or maximum over the (2r+1)-square window around each pixel, pixels outside the frame
/// ignored. Each direction takes log2(2r+1) passes of element-wise min/max over whole rows, which
/// the compiler vectorises (imageproc's grayscale morphology visits every window pixel).
pub(super) fn rank_filter(src: &[u8], w: usize, h: usize, r: usize, max: bool) -> Vec<u8> {
    let k = 2 * r + 1;
    let neutral = if max { u8::MIN } else { u8::MAX };
    let pick = |a: u8, b: u8| if max { a.max(b) } else { a.min(b) };
    // Turns `padded[i]` into the extreme of `span` consecutive entries `unit` apart, span the
    // largest power of two ≤ k; returns where the second half of the window starts.
    let spans = |padded: &mut Vec<u8>, scratch: &mut Vec<u8>, unit: usize| {
        let mut span = 1;
        while span * 2 <= k {
            let n = padded.len() - span * unit;
            scratch.clear();
            scratch.extend(
                padded[..n]
                    .iter()
                    .zip(&padded[span * unit..])
                    .map(|(a, b)| pick(*a, *b)),
            );
            std::mem::swap(padded, scratch);
            span *= 2;
        }
        (k - span) * unit
    };
    // The rows, filtered along x, go between r neutral rows above and below; the filter
    // along y then works in place in that one buffer (each entry is combined with entries
    // after it, not yet rewritten), so a frame needs one copy, not three.
    let mut out = vec![neutral; (h + 2 * r) * w];
    let mut padded = Vec::with_capacity(w + 2 * r);
    let mut scratch = Vec::with_capacity(w + 2 * r);
    for (y, row) in out[r * w..].chunks_exact_mut(w).take(h).enumerate() {
        padded.clear();
        padded.resize(r, neutral);
        padded.extend_from_slice(&src[y * w..(y + 1) * w]);
        padded.resize(w + 2 * r, neutral);
        let shift = spans(&mut padded, &mut scratch, 1);
        for ((o, a), b) in row.iter_mut().zip(&padded).zip(&padded[shift..]) {
            *o = pick(*a, *b);
        }
    }
    // The same doubling spans as `spans`, rows apart.
    let ahead = |out: &mut [u8], len: usize, by: usize| {
        for start in (0..len).step_by(by.max(1)) {
            let n = by.min(len - start);
            let (front, back) = out[start..].split_at_mut(by);
            for (a, b) in front[..n].iter_mut().zip(&back[..n]) {
                *a = pick(*a, *b);
            }
        }
    };
    let mut len = out.len();
    let mut span = 1;
    while span * 2 <= k {
        len -= span * w;
        ahead(&mut out, len, span * w);
        span *= 2;
    }
    if span < k {
        ahead(&mut out, w * h, (k - span) * w);
    }
    out.truncate(w * h);
    out
}

/// The contrast that the frame's own texture (speckle, noise) reaches around each pixel, from
/// 64-pixel blocks, interpolated between block centres.
struct Noise {
    blocks: (usize, usize),
    level: Vec<f32>,
}

impl Noise {
    /// The texture level of `contrast`, pixels flagged in `skip` left out.
    fn new(contrast: &[u8], skip: Option<&[bool]>, w: usize, h: usize) -> Self {
        let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
        let mut histograms = vec![0u32; bw * bh * 256];
        // Four histograms a block, one for every fourth pixel, summed when its band of rows
        // is done: runs of one value (smooth anatomy) then do not wait on one counter.
        let mut lanes = vec![[[0u32; 256]; 4]; bw];
        for (y, row) in contrast.chunks_exact(w).enumerate() {
            let skipped = skip.map(|s| &s[y * w..][..w]);
            for (b, (lane, cells)) in lanes.iter_mut().zip(row.chunks(BLOCK)).enumerate() {
                let [l0, l1, l2, l3] = lane;
                match skipped {
                    // Flat stretches (black surround, panels) are all zero: counted at once.
                    None if cells.iter().fold(0, |m, &c| m | c) == 0 => l0[0] += cells.len() as u32,
                    None => {
                        let (quads, rest) = cells.as_chunks::<4>();
                        for &[a, b, c, d] in quads {
                            l0[usize::from(a)] += 1;
                            l1[usize::from(b)] += 1;
                            l2[usize::from(c)] += 1;
                            l3[usize::from(d)] += 1;
                        }
                        for &c in rest {
                            l0[usize::from(c)] += 1;
                        }
                    }
                    Some(skipped) => {
                        for (&c, &out) in cells.iter().zip(&skipped[b * BLOCK..]) {
                            if !out {
                                l0[usize::from(c)] += 1;
                            }
                        }
                    }
                }
            }
            if (y + 1) % BLOCK == 0 || y + 1 == h {
                let band = &mut histograms[(y / BLOCK) * bw * 256..][..bw * 256];
                for (bins, lane) in band.chunks_exact_mut(256).zip(&mut lanes) {
                    for (i, bin) in bins.iter_mut().enumerate() {
                        *bin += lane.iter().map(|l| l[i]).sum::<u32>();
                    }
                    *lane = [[0; 256]; 4];
                }
            }
        }
        let quantile = |bins: &[u32], percent: u32| {
            let total: u32 = bins.iter().sum();
            let mut seen = 0;
            bins.iter()
                .position(|&n| {
                    seen += n;
                    seen * 100 >= total * percent
                })
                .unwrap_or(0)
        };
        let own: Vec<f32> = histograms
            .chunks_exact(256)
            .map(|bins| {
                // The median, then the median of what lies below 2.5 times it, so that dense
                // text does not raise the level meant to measure its background.
                let median = quantile(bins, 50);
                let trimmed = quantile(&bins[..(median * 5 / 2 + 1).min(256)], 50);
                // Texture spreads its contrast evenly; a mostly flat block with strong thin
                // structures (label boxes, rules) is not noisy, however high its median.
                let quartile = quantile(bins, 25);
                trimmed.min(quartile * 9 / 4 + 2) as f32 * NOISE_FACTOR
            })
            .collect();
        // A block that is half black and half speckle takes the speckle's level from a
        // neighbour.
        let level = (0..bw * bh)
            .map(|i| {
                let (bx, by) = (i % bw, i / bw);
                let mut m = own[i];
                for ny in by.saturating_sub(1)..(by + 2).min(bh) {
                    for nx in bx.saturating_sub(1)..(bx + 2).min(bw) {
                        m = m.max(own[ny * bw + nx]);
                    }
                }
                m
            })
            .collect();
        Noise {
            blocks: (bw, bh),
            level,
        }
    }

    /// The two neighbouring block centres along one axis and the weight of the second.
    fn position(i: usize, blocks: usize) -> (usize, usize, f32) {
        let f = ((i as f32 + 0.5) / BLOCK as f32 - 0.5).clamp(0.0, (blocks - 1) as f32);
        let lo = f as usize;
        (lo, (lo + 1).min(blocks - 1), f - lo as f32)
    }

    fn at(&self, x: usize, y: usize) -> f32 {
        let (bw, bh) = self.blocks;
        let (x0, x1, tx) = Self::position(x, bw);
        let (y0, y1, ty) = Self::position(y, bh);
        let l = |bx: usize, by: usize| self.level[by * bw + bx];
        let top = l(x0, y0) + (l(x1, y0) - l(x0, y0)) * tx;
        let bottom = l(x0, y1) + (l(x1, y1) - l(x0, y1)) * tx;
        top + (bottom - top) * ty
    }

    /// Ink: contrast at least the floor and the local texture level.
    fn ink(&self, contrast: &[u8], w: usize, h: usize) -> Vec<bool> {
        let (bw, bh) = self.blocks;
        let columns: Vec<(usize, usize, f32)> = (0..w).map(|x| Self::position(x, bw)).collect();
        let weights: Vec<f32> = columns.iter().map(|&(_, _, t)| t).collect();
        // Columns between the same two block centres (runs of 64): the level is one line
        // there, computed for whole stretches at once (vectorised, no lookup a pixel).
        let mut spans: Vec<(usize, usize, usize, usize)> = Vec::new();
        for (x, &(x0, x1, _)) in columns.iter().enumerate() {
            match spans.last_mut() {
                Some(span) if (span.2, span.3) == (x0, x1) => span.1 = x + 1,
                _ => spans.push((x, x + 1, x0, x1)),
            }
        }
        let mut ink = vec![false; w * h];
        let mut row_level = vec![0f32; bw];
        for (y, (out, row)) in ink
            .chunks_exact_mut(w)
            .zip(contrast.chunks_exact(w))
            .enumerate()
        {
            let (y0, y1, ty) = Self::position(y, bh);
            for (bx, l) in row_level.iter_mut().enumerate() {
                *l = self.level[y0 * bw + bx] * (1.0 - ty) + self.level[y1 * bw + bx] * ty;
            }
            for &(start, end, x0, x1) in &spans {
                let (from, rise) = (row_level[x0], row_level[x1] - row_level[x0]);
                // Below the floor nothing is ink, whatever the texture (most pixels): whole
                // stretches below it are passed over at once.
                for ((out, row), weights) in out[start..end]
                    .chunks_mut(INK_STRETCH)
                    .zip(row[start..end].chunks(INK_STRETCH))
                    .zip(weights[start..end].chunks(INK_STRETCH))
                {
                    if row.iter().fold(0, |m, &c| m.max(c)) < INK_FLOOR {
                        continue;
                    }
                    // Without a branch: in speckle, which pixels pass the floor is random.
                    for ((o, &c), &tx) in out.iter_mut().zip(row).zip(weights) {
                        let level = from + rise * tx;
                        *o = (c >= INK_FLOOR) & (f32::from(c) >= level.max(f32::from(INK_FLOOR)));
                    }
                }
            }
        }
        ink
    }
}

/// The channel's components, shapes that are not glyphs split where they hold some, each with
/// its strength.
fn components(
    contrast: &[u8],
    noise: &Noise,
    w: usize,
    h: usize,
    channel: Channel,
) -> (Vec<Component>, Vec<Run>) {
    let ink = noise.ink(contrast, w, h);
    let (mut components, mut runs) = label(&ink, contrast, w, h, channel);
    // Text fused with what it crosses (speckle, a table edge, a bone) stands out from it by
    // its higher contrast.
    let mut work: Vec<(usize, u32)> = (0..components.len())
        .filter(|&i| splittable(&components[i], &runs))
        .map(|i| (i, 0))
        .collect();
    while let Some((i, depth)) = work.pop() {
        if depth >= SPLIT_DEPTH {
            continue;
        }
        let c = components[i].clone();
        let (cx, cy) = c.centre();
        let local = noise.at(cx, cy).max(f32::from(INK_FLOOR));
        let level = (c.contrast() * SPLIT_STEP)
            .max(local * SPLIT_NOISE)
            .min(255.0) as u8;
        let (parts, part_runs) = split(&c, &runs, contrast, w, level);
        let (first_run, first_part) = (runs.len(), components.len() as u32);
        runs.extend(part_runs.into_iter().map(|mut r| {
            r.component += first_part;
            r
        }));
        for mut part in parts {
            part.first += first_run;
            if splittable(&part, &runs) {
                work.push((components.len(), depth + 1));
            }
            components.push(part);
        }
    }
    let salience = SALIENCE[channel as usize];
    for c in &mut components {
        let (cx, cy) = c.centre();
        c.strength = c.contrast() / (salience * noise.at(cx, cy)).max(f32::from(INK_FLOOR));
    }
    (components, runs)
}

fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let grand = parent[parent[i as usize] as usize];
        parent[i as usize] = grand;
        i = grand;
    }
    i
}

fn union(parent: &mut [u32], a: u32, b: u32) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        parent[ra.max(rb) as usize] = ra.min(rb);
    }
}

/// 8-connected components of the ink, labelled run by run, with their runs sorted by component.
/// (imageproc's `connected_components` keeps a union-find entry per pixel, 16 bytes each, which
/// cost more than all the rest of the detector together.)
fn label(
    ink: &[bool],
    contrast: &[u8],
    w: usize,
    h: usize,
    channel: Channel,
) -> (Vec<Component>, Vec<Run>) {
    // At most one run an ink pixel, and one every second pixel of a row: reserved at once, as
    // growing the lists in speckle (10⁵ runs) copied them several times.
    let most = ink.iter().filter(|&&i| i).count().min(h * w.div_ceil(2));
    let mut runs: Vec<Run> = Vec::with_capacity(most);
    let mut parent: Vec<u32> = Vec::with_capacity(most);
    let mut previous = 0..0;
    for (y, row) in ink.chunks_exact(w).enumerate() {
        let start = runs.len();
        let mut x = 0;
        loop {
            let x0 = next_flag(row, x, true);
            if x0 == w {
                break;
            }
            x = next_flag(row, x0, false);
            let id = runs.len() as u32;
            runs.push(Run {
                y: y as u32,
                x0: x0 as u32,
                x1: (x - 1) as u32,
                component: id,
            });
            parent.push(id);
        }
        // Join runs of the row above that touch, diagonals included.
        let mut j = previous.start;
        for i in start..runs.len() {
            let (x0, x1) = (runs[i].x0, runs[i].x1);
            while j < previous.end && runs[j].x1 + 1 < x0 {
                j += 1;
            }
            let mut k = j;
            while k < previous.end && runs[k].x0 <= x1 + 1 {
                union(&mut parent, i as u32, k as u32);
                k += 1;
            }
        }
        previous = start..runs.len();
    }
    let mut index = vec![u32::MAX; runs.len()];
    let mut components: Vec<Component> = Vec::new();
    for (i, run) in runs.iter_mut().enumerate() {
        let root = find(&mut parent, i as u32) as usize;
        if index[root] == u32::MAX {
            index[root] = components.len() as u32;
            components.push(Component {
                x0: u32::MAX,
                y0: u32::MAX,
                x1: 0,
                y1: 0,
                area: 0,
                perimeter: 0,
                contrast_sum: 0,
                first: 0,
                count: 0,
                channel,
                strength: 0.0,
                level: 0,
            });
        }
        let id = index[root];
        run.component = id;
        let c = &mut components[id as usize];
        let (y, x0, x1) = (run.y as usize, run.x0 as usize, run.x1 as usize);
        c.x0 = c.x0.min(run.x0);
        c.x1 = c.x1.max(run.x1);
        c.y0 = c.y0.min(run.y);
        c.y1 = c.y1.max(run.y);
        c.area += run.x1 - run.x0 + 1;
        c.count += 1;
        c.contrast_sum += contrast[y * w + x0..=y * w + x1]
            .iter()
            .map(|&v| u64::from(v))
            .sum::<u64>();
        // Outline pixels: the run's ends, and pixels with no ink above or below.
        let inner = (x0 + 1..x1).filter(|&x| {
            let above = y > 0 && ink[(y - 1) * w + x];
            let below = y + 1 < h && ink[(y + 1) * w + x];
            !above || !below
        });
        c.perimeter += (x1 - x0 + 1).min(2) as u32 + inner.count() as u32;
    }
    let mut next = 0;
    for c in &mut components {
        c.first = next;
        next += c.count;
    }
    let mut cursor: Vec<usize> = components.iter().map(|c| c.first).collect();
    let mut sorted = runs.clone();
    for run in &runs {
        let slot = &mut cursor[run.component as usize];
        sorted[*slot] = *run;
        *slot += 1;
    }
    (components, sorted)
}

/// The first position from `x` on where `row` holds `value`, or its length: eight flags are
/// tested at once, as the bytes of a word (most of a row holds no ink; in speckle, runs are
/// short).
fn next_flag(row: &[bool], mut x: usize, value: bool) -> usize {
    // Flags that differ from `value` become zero bytes.
    let flip = if value { 0 } else { u64::from_le_bytes([1; 8]) };
    while let Some(flags) = row.get(x..x + 8) {
        let word = u64::from_le_bytes(std::array::from_fn(|i| u8::from(flags[i]))) ^ flip;
        if word != 0 {
            return x + word.trailing_zeros() as usize / 8;
        }
        x += 8;
    }
    while x < row.len() && row[x] != value {
        x += 1;
    }
    x
}

/// Not a glyph, but big enough to hold one fused with something else.
fn splittable(c: &Component, runs: &[Run]) -> bool {
    c.area >= SPLIT_AREA && !glyph_like(c, runs)
}

/// The parts of `c` whose contrast reaches `level`, as components of their own.
fn split(
    c: &Component,
    runs: &[Run],
    contrast: &[u8],
    w: usize,
    level: u8,
) -> (Vec<Component>, Vec<Run>) {
    let (cw, ch) = (c.width() as usize, c.height() as usize);
    let (ox, oy) = (c.x0 as usize, c.y0 as usize);
    let mut ink = vec![false; cw * ch];
    let mut local = vec![0u8; cw * ch];
    for run in &runs[c.first..c.first + c.count] {
        let y = run.y as usize;
        for x in run.x0 as usize..=run.x1 as usize {
            let i = (y - oy) * cw + x - ox;
            local[i] = contrast[y * w + x];
            ink[i] = local[i] >= level;
        }
    }
    let (mut parts, mut part_runs) = label(&ink, &local, cw, ch, c.channel);
    for p in &mut parts {
        p.x0 += c.x0;
        p.x1 += c.x0;
        p.y0 += c.y0;
        p.y1 += c.y0;
    }
    for r in &mut part_runs {
        r.x0 += c.x0;
        r.x1 += c.x0;
        r.y += c.y0;
    }
    (parts, part_runs)
}

/// Whether a component has the shape of a glyph, or of a few glyphs fused into a word.
fn glyph_like(c: &Component, runs: &[Run]) -> bool {
    let (h, w) = (c.height(), c.width());
    let stroke = c.stroke();
    let glyph_sized = (MIN_GLYPH..=MAX_GLYPH).contains(&h) && c.area >= 6;
    // Strokes thin against the height, and not a compact blob (a disc has height = 2·stroke).
    if !glyph_sized || stroke > 0.3 * h as f32 + 1.5 || (h as f32) < 2.0 * stroke {
        return false;
    }
    // Wider shapes must be words: filled enough (not a frame), crossing a stroke at least
    // every two heights (not a rule) and tall in many columns (not a curve).
    w * 2 <= h * 3
        || (c.area * 8 >= w * h
            && crossings(c, runs) * h * 2 >= w
            && tall_columns(c, runs) * 10 >= w * 3)
}

/// Strokes crossed by the rows at a third, half and two thirds of the height (the most of them).
fn crossings(c: &Component, runs: &[Run]) -> u32 {
    let h = c.height();
    let own = &runs[c.first..c.first + c.count];
    [h / 3, h / 2, 2 * h / 3]
        .iter()
        .map(|dy| own.iter().filter(|r| r.y == c.y0 + dy).count() as u32)
        .max()
        .unwrap_or(0)
}

/// Columns in which the component spans at least 60 % of its height: many for words (stems,
/// bowls), few for curves and rules however wavy.
fn tall_columns(c: &Component, runs: &[Run]) -> u32 {
    let w = c.width() as usize;
    let mut top = vec![u32::MAX; w];
    let mut bottom = vec![0u32; w];
    for run in &runs[c.first..c.first + c.count] {
        for x in run.x0..=run.x1 {
            let i = (x - c.x0) as usize;
            top[i] = top[i].min(run.y);
            bottom[i] = bottom[i].max(run.y);
        }
    }
    let h = c.height();
    top.iter()
        .zip(&bottom)
        .filter(|&(&t, &b)| t != u32::MAX && (b - t + 1) * 5 >= h * 3)
        .count() as u32
}

/// The colour of a glyph's ink: the luma that a fifth of its pixels exceed (bright) or stay
/// under (dark), robust to a brighter or darker speck fused to it.
fn ink_level(c: &Component, runs: &[Run], luma: &[u8], w: usize) -> u8 {
    let mut histogram = [0u32; 256];
    for run in &runs[c.first..c.first + c.count] {
        let row = run.y as usize * w;
        for &v in &luma[row + run.x0 as usize..=row + run.x1 as usize] {
            histogram[usize::from(v)] += 1;
        }
    }
    let target = c.area.div_ceil(5);
    let mut seen = 0;
    let mut reached = |v: &usize| {
        seen += histogram[*v];
        seen >= target
    };
    let level = match c.channel {
        Channel::Bright => (0..256).rev().find(&mut reached),
        Channel::Dark => (0..256).find(&mut reached),
        Channel::Edge => None,
    };
    level.unwrap_or(0) as u8
}

/// Burned-in text is drawn in one colour: glyphs of a line share their ink level, up to
/// anti-aliasing.
fn same_ink(a: u8, b: u8, contrast: f32) -> bool {
    f32::from(a.abs_diff(b)) <= LEVEL_TOLERANCE.max(0.3 * contrast)
}

/// Vertical overlap of two row ranges, in rows (negative when apart).
fn overlap(a0: u32, a1: u32, b0: u32, b1: u32) -> i64 {
    i64::from(a1.min(b1)) - i64::from(a0.max(b0)) + 1
}

/// Horizontal gap between two column ranges (negative when they overlap).
fn gap(a0: u32, a1: u32, b0: u32, b1: u32) -> i64 {
    (i64::from(b0) - i64::from(a1)).max(i64::from(a0) - i64::from(b1))
}

/// Heights within a factor of 2.2 of each other (x-height beside ascenders and descenders).
fn like_heights(a: u32, b: u32) -> bool {
    a.max(b) * 10 <= a.min(b) * 22
}

/// Groups of glyphs side by side on one band: at most 1.5 heights apart, overlapping by half the
/// smaller height, of like height, stroke and ink.
fn groups(glyphs: &[Component]) -> Vec<Vec<usize>> {
    // Glyphs that overlap vertically share a row, so a band of rows: only glyphs listed in one
    // band are compared (the partition into groups does not depend on the order of the
    // unions, nor on a pair being joined twice). Bands about a glyph's height keep the pairs
    // few where noise makes glyphs dense.
    let band = GROUP_BAND;
    let bands = glyphs
        .iter()
        .map(|g| g.y1 as usize / band + 1)
        .max()
        .unwrap_or(0);
    let mut in_band: Vec<Vec<usize>> = vec![Vec::new(); bands];
    for (i, g) in glyphs.iter().enumerate() {
        for list in &mut in_band[g.y0 as usize / band..=g.y1 as usize / band] {
            list.push(i);
        }
    }
    let pairing: Vec<Pairing> = glyphs.iter().enumerate().map(Pairing::of).collect();
    let mut parent: Vec<u32> = (0..glyphs.len() as u32).collect();
    let mut order = Vec::new();
    for (b, list) in in_band.iter().enumerate() {
        order.clear();
        order.extend(list.iter().map(|&i| pairing[i]));
        order.sort_by_key(|p| (p.x0, p.y0, p.x1, p.y1));
        join_neighbours(&order, (b * band) as u32, &mut parent);
    }
    let mut groups: std::collections::BTreeMap<u32, Vec<usize>> = Default::default();
    for i in 0..glyphs.len() {
        let root = find(&mut parent, i as u32);
        groups.entry(root).or_default().push(i);
    }
    groups.into_values().collect()
}

/// What grouping compares of a glyph, side by side in memory: where noise makes glyphs dense,
/// each is compared with dozens of neighbours.
#[derive(Clone, Copy)]
struct Pairing {
    index: u32,
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
    height: u32,
    stroke: f32,
    contrast: f32,
    level: u8,
    edge: bool,
}

impl Pairing {
    fn of((index, c): (usize, &Component)) -> Self {
        Pairing {
            index: index as u32,
            x0: c.x0,
            y0: c.y0,
            x1: c.x1,
            y1: c.y1,
            height: c.height(),
            stroke: c.stroke(),
            contrast: c.contrast(),
            level: c.level,
            edge: c.channel == Channel::Edge,
        }
    }

    /// Edge glyphs go with edge glyphs only; bright and dark ones with any of the same ink
    /// (text that is brighter than one part of its background and darker than another).
    fn consistent(&self, b: &Pairing) -> bool {
        if self.edge || b.edge {
            self.edge == b.edge
        } else {
            same_ink(self.level, b.level, self.contrast.min(b.contrast))
        }
    }
}

/// The widest gap between glyphs of heights `a` and `b` that still joins them.
fn reach(a: u32, b: u32) -> i64 {
    i64::from(a.max(b) * 3 / 2) + 1
}

/// Unites the glyphs of `order` (one band, from row `first_row`, sorted by left edge) that sit
/// side by side as one line's do.
fn join_neighbours(order: &[Pairing], first_row: u32, parent: &mut [u32]) {
    // How far right of a glyph of each height a partner can start: the reach with the tallest
    // glyph of the band of a like height (the reach grows with the height).
    let tallest = order.iter().map(|p| p.height).max().unwrap_or(0);
    let limit: Vec<i64> = (0..=tallest)
        .map(|h| {
            let partner = (h..=tallest).rev().find(|&t| like_heights(h, t));
            reach(h, partner.unwrap_or(h))
        })
        .collect();
    for (k, a) in order.iter().enumerate() {
        let farthest = i64::from(a.x1) + limit[a.height as usize];
        for b in &order[k + 1..] {
            if i64::from(b.x0) > farthest {
                break;
            }
            // Glyphs that overlap share the band of their first common row: compared there
            // only.
            if a.y0.max(b.y0) < first_row {
                continue;
            }
            let (ha, hb) = (a.height, b.height);
            if overlap(a.y0, a.y1, b.y0, b.y1) * 2 >= i64::from(ha.min(hb))
                && gap(a.x0, a.x1, b.x0, b.x1) <= reach(ha, hb)
                && like_heights(ha, hb)
                && a.stroke.max(b.stroke) <= 2.0 * a.stroke.min(b.stroke)
                && a.consistent(b)
            {
                union(parent, a.index, b.index);
            }
        }
    }
}

/// Whether glyphs have the shape of a line of text, and if so the strength they need: two glyphs
/// must align top and bottom; more must mostly share a baseline or cap line, few of them blobs.
/// Long lines of even height, and capitals aligned to the pixel, need less.
fn line_shape(members: &[&Component]) -> Option<f32> {
    let n = members.len();
    let mut heights: Vec<u32> = members.iter().map(|c| c.height()).collect();
    heights.sort_unstable();
    let h = heights[n / 2];
    if n < 2 {
        let c = members[0];
        let word = c.width() * 2 >= c.height() * 3 && c.height() as f32 >= 2.3 * c.stroke();
        return word.then_some(1.0);
    }
    let top = median(members.iter().map(|c| c.y0).collect());
    let bottom = median(members.iter().map(|c| c.y1).collect());
    let tolerance = (h / 8).max(1);
    let on_top = members
        .iter()
        .filter(|c| c.y0.abs_diff(top) <= tolerance)
        .count();
    let on_bottom = members
        .iter()
        .filter(|c| c.y1.abs_diff(bottom) <= tolerance)
        .count();
    let exact = members
        .iter()
        .all(|c| c.y0.abs_diff(top) <= 1 && c.y1.abs_diff(bottom) <= 1);
    if n == 2 {
        return (on_top == 2 && on_bottom == 2).then_some(if exact && h >= 10 {
            GOOD_LINE
        } else {
            1.0
        });
    }
    let aligned = on_top.max(on_bottom);
    let blobs = members
        .iter()
        .filter(|c| (c.height() as f32) < 2.3 * c.stroke())
        .count();
    if blobs * 2 > n || aligned * 3 < n * 2 {
        return None;
    }
    let even = heights[n * 4 / 5] * 2 <= heights[n / 5] * 3;
    let well_aligned = even && aligned * 5 >= n * 4;
    Some(match n {
        6.. if well_aligned => STRONG_LINE,
        3.. if exact && h >= 10 => STRONG_LINE,
        4.. if well_aligned => GOOD_LINE,
        _ => 1.0,
    })
}

/// Extends lines with neighbouring glyphs on their band that made no line of their own: a short
/// word after a wide gap, a glyph fused with what it crosses, the part of a line that crosses an
/// edge (seen on the edge map, where it must be close and of the line's height).
fn grow(lines: &mut [Line], glyphs: &[Component]) {
    let mut used = vec![false; glyphs.len()];
    let bands: Vec<(u32, u32)> = lines.iter().map(|l| (l.y0, l.y1)).collect();
    // A glyph that joins overlaps the band, and a line never reaches more than a glyph's
    // height beyond it: only glyphs whose top lies within that reach are visited, in index
    // order as all would be.
    let mut by_top: Vec<usize> = (0..glyphs.len()).collect();
    by_top.sort_by_key(|&i| (glyphs[i].y0, i));
    let near = |band0: u32, band1: u32| {
        let lo = by_top.partition_point(|&i| glyphs[i].y0 + MAX_GLYPH < band0);
        let hi = by_top.partition_point(|&i| glyphs[i].y0 <= band1 + MAX_GLYPH);
        let mut near = by_top[lo..hi].to_vec();
        near.sort_unstable();
        near
    };
    let candidates: Vec<Vec<usize>> = bands.iter().map(|&(a, b)| near(a, b)).collect();
    loop {
        let mut changed = false;
        for ((line, &(band0, band1)), near) in lines.iter_mut().zip(&bands).zip(&candidates) {
            for &i in near {
                let (g, used) = (&glyphs[i], &mut used[i]);
                if *used {
                    continue;
                }
                if g.x0 >= line.x0 && g.x1 <= line.x1 && g.y0 >= line.y0 && g.y1 <= line.y1 {
                    *used = true;
                    continue;
                }
                let gh = g.height();
                let apart = gap(line.x0, line.x1, g.x0, g.x1);
                let joins = overlap(band0, band1, g.y0, g.y1) * 2 >= i64::from(gh.min(line.h))
                    && like_heights(gh, line.h)
                    && apart <= i64::from(5 * line.h / 2)
                    && g.strength >= GROW_STRENGTH
                    && match g.channel {
                        Channel::Edge => {
                            apart <= i64::from(line.h)
                                && gh * 5 <= line.h * 7
                                && line.h * 5 <= gh * 7
                        }
                        _ => same_ink(g.level, line.level, g.contrast().min(line.contrast)),
                    };
                if joins {
                    line.x0 = line.x0.min(g.x0);
                    line.x1 = line.x1.max(g.x1);
                    line.y0 = line.y0.min(g.y0);
                    line.y1 = line.y1.max(g.y1);
                    *used = true;
                    changed = true;
                }
            }
        }
        if !changed {
            return;
        }
    }
}

/// Joins lines on one band: up to four heights apart when they are of one height and ink (word
/// gaps, a stretch over a bone), two heights otherwise (punctuation too small to be a glyph).
fn merge(mut lines: Vec<Line>) -> Vec<Line> {
    let mut changed = true;
    while changed {
        changed = false;
        let mut i = 0;
        while i < lines.len() {
            let mut j = i + 1;
            while j < lines.len() {
                let (a, b) = (lines[i], lines[j]);
                let (hmin, hmax) = (a.h.min(b.h), a.h.max(b.h));
                let alike =
                    hmax * 2 <= hmin * 3 && same_ink(a.level, b.level, a.contrast.min(b.contrast));
                let reach = if alike { 4 * hmax } else { 2 * hmax };
                if overlap(a.y0, a.y1, b.y0, b.y1) * 2 >= i64::from(hmin)
                    && like_heights(a.h, b.h)
                    && gap(a.x0, a.x1, b.x0, b.x1) <= i64::from(reach)
                {
                    lines[i] = Line {
                        x0: a.x0.min(b.x0),
                        y0: a.y0.min(b.y0),
                        x1: a.x1.max(b.x1),
                        y1: a.y1.max(b.y1),
                        h: hmax,
                        contrast: a.contrast.max(b.contrast),
                        level: a.level,
                    };
                    lines.remove(j);
                    changed = true;
                } else {
                    j += 1;
                }
            }
            i += 1;
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Luma;

    /// A 5×7 bitmap font, enough for labels like burned-in IDs.
    const FONT: [(char, [&str; 7]); 12] = [
        (
            '0',
            [
                ".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###.",
            ],
        ),
        (
            '1',
            [
                "..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###.",
            ],
        ),
        (
            '2',
            [
                ".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####",
            ],
        ),
        (
            '4',
            [
                "...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#.",
            ],
        ),
        (
            '7',
            [
                "#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#...",
            ],
        ),
        (
            'D',
            [
                "####.", "#...#", "#...#", "#...#", "#...#", "#...#", "####.",
            ],
        ),
        (
            'E',
            [
                "#####", "#....", "#....", "####.", "#....", "#....", "#####",
            ],
        ),
        (
            'H',
            [
                "#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#",
            ],
        ),
        (
            'I',
            [
                ".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###.",
            ],
        ),
        (
            'M',
            [
                "#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#",
            ],
        ),
        (
            'N',
            [
                "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#", "#...#",
            ],
        ),
        (
            'R',
            [
                "####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#",
            ],
        ),
    ];

    /// Draws `text` with its top-left corner at (x, y), each font pixel `scale` pixels wide;
    /// returns the box it covers.
    fn draw(frame: &mut GrayImage, x: u32, y: u32, scale: u32, text: &str, value: u8) -> Region {
        for (i, ch) in text.chars().enumerate() {
            let Some((_, rows)) = FONT.iter().find(|(c, _)| *c == ch) else {
                continue;
            };
            let left = x + i as u32 * 6 * scale;
            for (row, bits) in rows.iter().enumerate() {
                for (col, bit) in bits.chars().enumerate() {
                    if bit != '#' {
                        continue;
                    }
                    for dy in 0..scale {
                        for dx in 0..scale {
                            let (px, py) =
                                (left + col as u32 * scale + dx, y + row as u32 * scale + dy);
                            frame.put_pixel(px, py, Luma([value]));
                        }
                    }
                }
            }
        }
        let chars = text.chars().count() as u32;
        Region {
            x,
            y,
            width: (6 * chars - 1) * scale,
            height: 7 * scale,
        }
    }

    fn masked(regions: &[Region], x: u32, y: u32) -> bool {
        regions
            .iter()
            .any(|r| x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height)
    }

    fn covered(regions: &[Region], text: &Region) -> bool {
        (text.y..text.y + text.height)
            .all(|y| (text.x..text.x + text.width).all(|x| masked(regions, x, y)))
    }

    fn masked_fraction(regions: &[Region], frame: &GrayImage) -> f64 {
        let (w, h) = frame.dimensions();
        let count = (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .filter(|&(x, y)| masked(regions, x, y))
            .count();
        count as f64 / f64::from(w * h)
    }

    fn assert_inside(regions: &[Region], frame: &GrayImage) {
        for r in regions {
            assert!(r.width > 0 && r.height > 0, "{r:?}");
            assert!(
                r.x + r.width <= frame.width() && r.y + r.height <= frame.height(),
                "{r:?}"
            );
        }
    }

    /// Deterministic pseudo-random bytes (xorshift64).
    fn noise(w: u32, h: u32, seed: u64, spread: f32, mean: f32) -> GrayImage {
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32
        };
        GrayImage::from_fn(w, h, |_, _| {
            let v = mean + spread * (next() + next() + next() - 1.5);
            Luma([v.clamp(0.0, 255.0) as u8])
        })
    }

    #[test]
    fn finds_bright_text_on_black() {
        let mut frame = GrayImage::new(320, 240);
        let small = draw(&mut frame, 20, 30, 2, "ID 2417", 230);
        let large = draw(&mut frame, 40, 150, 5, "MRN 704", 180);
        let regions = detect_text(&frame);
        assert!(covered(&regions, &small), "{regions:?}");
        assert!(covered(&regions, &large), "{regions:?}");
        assert_inside(&regions, &frame);
    }

    #[test]
    fn finds_dark_text_on_light_at_the_frame_edges() {
        let mut frame = GrayImage::from_pixel(300, 200, Luma([225]));
        let corner = draw(&mut frame, 0, 0, 2, "DEMI 1024", 30);
        let bottom = draw(&mut frame, 300 - 59 * 2, 200 - 14, 2, "HID 74210", 60);
        let regions = detect_text(&frame);
        assert!(covered(&regions, &corner), "{regions:?}");
        assert!(covered(&regions, &bottom), "{regions:?}");
        assert_inside(&regions, &frame);
    }

    #[test]
    fn finds_text_over_texture() {
        let mut frame = noise(320, 200, 7, 90.0, 100.0);
        let text = draw(&mut frame, 50, 80, 3, "MRN 70412", 250);
        let regions = detect_text(&frame);
        assert!(covered(&regions, &text), "{regions:?}");
        // Away from the text (beyond a margin of one text height), the texture stays unmasked.
        let near = |x: u32, y: u32| {
            x + text.height >= text.x
                && x < text.x + text.width + text.height
                && y + text.height >= text.y
                && y < text.y + 2 * text.height
        };
        let stray = (0..200)
            .flat_map(|y| (0..320).map(move |x| (x, y)))
            .filter(|&(x, y)| !near(x, y) && masked(&regions, x, y));
        assert!(stray.count() < 320 * 200 / 50, "{regions:?}");
    }

    #[test]
    fn ignores_frames_rules_blobs_and_gradients() {
        let mut frame = GrayImage::from_fn(400, 300, |x, _| Luma([(x / 4) as u8]));
        for x in 20..380 {
            for y in [20, 21, 120] {
                frame.put_pixel(x, y, Luma([255]));
            }
        }
        for y in 20..100 {
            for x in [20, 21, 379, 378] {
                frame.put_pixel(x, y, Luma([255]));
            }
        }
        for i in 0..8 {
            let (cx, cy): (i32, i32) = (40 + i * 40, 200);
            for y in cy - 8..=cy + 8 {
                for x in cx - 8..=cx + 8 {
                    if (x - cx).pow(2) + (y - cy).pow(2) <= 64 {
                        frame.put_pixel(x as u32, y as u32, Luma([250]));
                    }
                }
            }
        }
        assert_eq!(detect_text(&frame), Vec::new());
    }

    #[test]
    fn plain_frames_and_noise_have_no_text() {
        for value in [0, 128, 255] {
            assert_eq!(
                detect_text(&GrayImage::from_pixel(200, 150, Luma([value]))),
                Vec::new()
            );
        }
        let frame = noise(400, 300, 11, 120.0, 128.0);
        let fraction = masked_fraction(&detect_text(&frame), &frame);
        assert!(fraction < 0.05, "{fraction}");
    }

    #[test]
    fn tiny_and_thin_frames_are_handled() {
        for (w, h) in [(0, 0), (0, 5), (1, 1), (1, 300), (300, 1), (7, 7), (13, 70)] {
            let frame = noise(w, h, 3, 200.0, 128.0);
            assert_inside(&detect_text(&frame), &frame);
        }
    }

    /// The boxes found on a fixed set of frames (text of both polarities and several sizes over
    /// texture of several strengths, on gradients, beside clinical colour), folded into one
    /// number: recorded from the detector before it was made faster, so that a change meant to
    /// speed it up cannot change what it finds.
    #[test]
    fn boxes_on_a_fixed_set_are_unchanged() {
        let mut checksum: u64 = 0xcbf2_9ce4_8422_2325;
        let mut fold = |v: u32| {
            for b in v.to_le_bytes() {
                checksum = (checksum ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
        };
        let mut total = 0;
        for seed in 1..=8u64 {
            let (w, h) = (300 + 37 * seed as u32, 220 + 29 * seed as u32);
            let spread = 15.0 + 14.0 * seed as f32;
            let mean = 40.0 + 20.0 * seed as f32;
            let mut frame = noise(w, h, seed, spread, mean);
            if seed % 3 == 0 {
                for (x, y, p) in frame.enumerate_pixels_mut() {
                    p.0[0] = p.0[0] / 2 + ((x + y) / 5) as u8 / 2;
                }
            }
            let bright = (mean + 110.0).min(255.0) as u8;
            let dark = (mean - 90.0).max(0.0) as u8;
            draw(&mut frame, 5, 4, 2, "ID 2417", bright);
            draw(
                &mut frame,
                30,
                h / 2,
                1 + seed as u32 % 4,
                "MRN 70412",
                dark,
            );
            draw(&mut frame, w / 3, h - 40, 3, "DEMI", bright);
            draw(&mut frame, w - 130, 20, 1, "HE 10 NIM", 255 - dark);
            let zone: Vec<bool> = (0..w * h)
                .map(|i| seed % 2 == 0 && (i % w) > w / 2 && (i / w) > h / 3)
                .collect();
            for clinical in [None, Some(zone.as_slice())] {
                let regions = detect_text_outside(&frame, clinical);
                total += regions.len();
                for r in regions {
                    for v in [r.x, r.y, r.width, r.height] {
                        fold(v);
                    }
                }
            }
        }
        assert_eq!((total, checksum), (52, 8_182_252_676_020_486_700));
    }

    #[test]
    fn rank_filter_is_the_window_extreme() {
        let (w, h) = (37, 23);
        let src = noise(w, h, 5, 255.0, 128.0).into_raw();
        let (w, h) = (w as usize, h as usize);
        for r in [1, 2, 6] {
            for max in [false, true] {
                let fast = rank_filter(&src, w, h, r, max);
                for y in 0..h {
                    for x in 0..w {
                        let src = &src;
                        let window = (y.saturating_sub(r)..(y + r + 1).min(h)).flat_map(|wy| {
                            (x.saturating_sub(r)..(x + r + 1).min(w))
                                .map(move |wx| src[wy * w + wx])
                        });
                        let expected = if max { window.max() } else { window.min() };
                        assert_eq!(
                            Some(fast[y * w + x]),
                            expected,
                            "r {r} max {max} at {x},{y}"
                        );
                    }
                }
            }
        }
    }
}
