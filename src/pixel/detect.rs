//! Automatic detection of burned-in text in one frame: local contrast against a rank-filtered
//! background, connected components filtered by glyph size and stroke, grouped into lines, and
//! grown by a margin.

use image::GrayImage;

use super::Region;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polarity {
    Bright,
    Dark,
}

pub const RADIUS: usize = 6;
pub const INK: u8 = 40;
pub const BLOCK: usize = 64;
pub const NOISE_FACTOR: f32 = 1.7;
pub const MIN_CONTRAST: f32 = 40.0;
pub const MAX_GLYPH: u32 = 56;
pub const STRONG_LINE: f32 = 0.8;
pub const GOOD_LINE: f32 = 0.9;
pub const SPLIT_DEPTH: u32 = 2;
pub const SPLIT_STEP: f32 = 1.25;
pub const SPLIT_NOISE: f32 = 1.6;
pub const SPLIT_AREA: u32 = 20;
pub const SALIENCE: [f32; 3] = [1.35, 1.8, EDGE_SALIENCE];
pub const EDGE_SALIENCE: f32 = 1.5;
pub const LEVEL_TOLERANCE: f32 = 32.0;
pub const GROW_STRENGTH: f32 = 0.75;

/// Minimum or maximum over the (2r+1)-square window around each pixel, pixels outside the frame
/// ignored. Each direction takes log2(2r+1) passes of element-wise min/max over whole rows,
/// which the compiler vectorises.
pub fn rank_filter(src: &[u8], w: usize, h: usize, r: usize, max: bool) -> Vec<u8> {
    let k = 2 * r + 1;
    let neutral = if max { u8::MIN } else { u8::MAX };
    let pick = |a: u8, b: u8| if max { a.max(b) } else { a.min(b) };
    // `cur[i]` holds the extreme of `span` consecutive padded values starting at i.
    let window = |padded: &mut Vec<u8>, scratch: &mut Vec<u8>, unit: usize| {
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
    let mut out = vec![0u8; w * h];
    let mut padded = Vec::with_capacity(w + 2 * r);
    let mut scratch = Vec::with_capacity(w + 2 * r);
    for y in 0..h {
        padded.clear();
        padded.resize(r, neutral);
        padded.extend_from_slice(&src[y * w..(y + 1) * w]);
        padded.resize(w + 2 * r, neutral);
        let shift = window(&mut padded, &mut scratch, 1);
        for ((o, a), b) in out[y * w..(y + 1) * w]
            .iter_mut()
            .zip(&padded)
            .zip(&padded[shift..])
        {
            *o = pick(*a, *b);
        }
    }
    let mut padded = Vec::with_capacity((h + 2 * r) * w);
    padded.resize(r * w, neutral);
    padded.extend_from_slice(&out);
    padded.resize((h + 2 * r) * w, neutral);
    let mut scratch = Vec::with_capacity(padded.len());
    let shift = window(&mut padded, &mut scratch, w);
    for ((o, a), b) in out.iter_mut().zip(&padded).zip(&padded[shift..]) {
        *o = pick(*a, *b);
    }
    out
}

/// Contrast maps of strokes thinner than the window: white top-hat (bright) and black-hat (dark).
pub fn contrasts(frame: &GrayImage) -> Vec<Vec<u8>> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let src = frame.as_raw();
    let opened = rank_filter(&rank_filter(src, w, h, RADIUS, false), w, h, RADIUS, true);
    let closed = rank_filter(&rank_filter(src, w, h, RADIUS, true), w, h, RADIUS, false);
    let bright = src.iter().zip(&opened).map(|(a, b)| a - b).collect();
    let dark = closed.iter().zip(src).map(|(a, b)| a - b).collect();
    let edge = rank_filter(src, w, h, 1, true)
        .iter()
        .zip(&rank_filter(src, w, h, 1, false))
        .map(|(a, b)| a - b)
        .collect();
    vec![bright, dark, edge]
}

/// Ink where the contrast clears both an absolute floor and a multiple of the median contrast
/// of the surrounding 64-pixel block (speckle and noise raise that median; text, being sparse,
/// does not).
/// The contrast that speckle and noise reach by themselves around each pixel: a multiple of
/// the (trimmed) median contrast of 64-pixel blocks, interpolated between block centres.
pub struct Noise {
    blocks: (usize, usize),
    level: Vec<f32>,
}

impl Noise {
    pub fn new(contrast: &[u8], w: usize, h: usize) -> Self {
        let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
        let mut hist = vec![0u32; bw * bh * 256];
        for y in 0..h {
            let row = &contrast[y * w..(y + 1) * w];
            let base = (y / BLOCK) * bw;
            for (x, &c) in row.iter().enumerate() {
                hist[((base + x / BLOCK) << 8) + c as usize] += 1;
            }
        }
        // The median, then the median of what lies below 2.5 times it, so that dense text in a
        // block does not raise the level meant to measure its background.
        let quantile_below = |bins: &[u32], limit: usize, percent: u32| {
            let total: u32 = bins[..limit].iter().sum();
            let mut acc = 0;
            bins[..limit].iter().position(|&n| {
                acc += n;
                acc * 100 >= total * percent
            })
        };
        let level: Vec<f32> = hist
            .chunks(256)
            .map(|bins| {
                let first = quantile_below(bins, 256, 50).unwrap_or(0);
                let limit = (first * 5 / 2 + 1).clamp(1, 256);
                let trimmed = quantile_below(bins, limit, 50).unwrap_or(first);
                // Noise spreads its contrast evenly; a block that is mostly flat with strong
                // thin structures (label boxes, rules) is not noisy however high its median.
                let quartile = quantile_below(bins, 256, 25).unwrap_or(0);
                trimmed.min(quartile * 9 / 4 + 2) as f32 * NOISE_FACTOR
            })
            .collect();
        // A block that is half black and half speckle takes the speckle's level from a neighbour.
        let level = (0..bw * bh)
            .map(|i| {
                let (bx, by) = (i % bw, i / bw);
                let mut m = level[i];
                for ny in by.saturating_sub(1)..(by + 2).min(bh) {
                    for nx in bx.saturating_sub(1)..(bx + 2).min(bw) {
                        m = m.max(level[ny * bw + nx]);
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

    fn position(i: usize, blocks: usize) -> (usize, usize, f32) {
        let f = ((i as f32 + 0.5) / BLOCK as f32 - 0.5).clamp(0.0, (blocks - 1) as f32);
        let lo = f as usize;
        (lo, (lo + 1).min(blocks - 1), f - lo as f32)
    }

    pub fn at(&self, x: usize, y: usize) -> f32 {
        let (bw, bh) = self.blocks;
        let (x0, x1, tx) = Self::position(x, bw);
        let (y0, y1, ty) = Self::position(y, bh);
        let l = |bx: usize, by: usize| self.level[by * bw + bx];
        let top = l(x0, y0) + (l(x1, y0) - l(x0, y0)) * tx;
        let bottom = l(x0, y1) + (l(x1, y1) - l(x0, y1)) * tx;
        top + (bottom - top) * ty
    }

    /// Ink: contrast at least the absolute floor and the local noise level.
    pub fn ink(&self, contrast: &[u8], w: usize, h: usize) -> Vec<bool> {
        let (bw, bh) = self.blocks;
        let columns: Vec<(usize, usize, f32)> = (0..w).map(|x| Self::position(x, bw)).collect();
        let mut ink = vec![false; w * h];
        let mut row_level = vec![0f32; bw];
        for y in 0..h {
            let (y0, y1, ty) = Self::position(y, bh);
            for (bx, l) in row_level.iter_mut().enumerate() {
                *l = self.level[y0 * bw + bx] * (1.0 - ty) + self.level[y1 * bw + bx] * ty;
            }
            let row = &contrast[y * w..(y + 1) * w];
            for ((out, &c), &(x0, x1, tx)) in
                ink[y * w..(y + 1) * w].iter_mut().zip(row).zip(&columns)
            {
                let t = (row_level[x0] + (row_level[x1] - row_level[x0]) * tx).max(f32::from(INK));
                *out = f32::from(c) >= t;
            }
        }
        ink
    }
}

#[derive(Clone, Debug, Default)]
pub struct Component {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
    pub area: u32,
    pub perimeter: u32,
    pub hat_sum: u64,
    pub luma_max: u8,
    pub luma_min: u8,
    pub level: u8,
    pub strength: f32,
    pub polarity: u8,
    /// Its runs: `runs[first..first + count]` after sorting by component.
    pub first: usize,
    pub count: usize,
}

impl Component {
    pub fn height(&self) -> u32 {
        self.y1 - self.y0 + 1
    }
    pub fn width(&self) -> u32 {
        self.x1 - self.x0 + 1
    }
    pub fn stroke(&self) -> f32 {
        2.0 * self.area as f32 / self.perimeter.max(1) as f32
    }
    pub fn contrast(&self) -> f32 {
        self.hat_sum as f32 / self.area as f32
    }
}

/// A horizontal run of ink pixels `[x0, x1]` in row `y`.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    pub y: u32,
    pub x0: u32,
    pub x1: u32,
    pub component: u32,
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

/// 8-connected components of the ink, found run by run, with their runs sorted by component.
pub fn label(
    ink: &[bool],
    contrast: &[u8],
    luma: &[u8],
    w: usize,
    h: usize,
) -> (Vec<Component>, Vec<Run>) {
    let mut runs: Vec<Run> = Vec::new();
    let mut parent: Vec<u32> = Vec::new();
    let mut previous = 0..0;
    for y in 0..h {
        let row = &ink[y * w..(y + 1) * w];
        let start = runs.len();
        let mut x = 0;
        while x < w {
            if !row[x] {
                x += 1;
                continue;
            }
            let x0 = x;
            while x < w && row[x] {
                x += 1;
            }
            let id = runs.len() as u32;
            runs.push(Run {
                y: y as u32,
                x0: x0 as u32,
                x1: (x - 1) as u32,
                component: id,
            });
            parent.push(id);
        }
        // Join with the runs of the row above that touch, diagonals included.
        let mut j = previous.start;
        for i in start..runs.len() {
            let (b0, b1) = (runs[i].x0, runs[i].x1);
            while j < previous.end && runs[j].x1 + 1 < b0 {
                j += 1;
            }
            let mut k = j;
            while k < previous.end && runs[k].x0 <= b1 + 1 {
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
                luma_min: u8::MAX,
                ..Default::default()
            });
        }
        let id = index[root];
        run.component = id;
        let c = &mut components[id as usize];
        let y = run.y as usize;
        c.x0 = c.x0.min(run.x0);
        c.x1 = c.x1.max(run.x1);
        c.y0 = c.y0.min(run.y);
        c.y1 = c.y1.max(run.y);
        c.area += run.x1 - run.x0 + 1;
        c.count += 1;
        let span = run.x0 as usize..=run.x1 as usize;
        c.hat_sum += contrast[y * w..][span.clone()]
            .iter()
            .map(|&v| u64::from(v))
            .sum::<u64>();
        for &v in &luma[y * w..][span.clone()] {
            c.luma_max = c.luma_max.max(v);
            c.luma_min = c.luma_min.min(v);
        }
        // Boundary pixels: run ends, and pixels with no ink above or below.
        let len = run.x1 - run.x0 + 1;
        let mut boundary = len.min(2);
        for x in span.clone().skip(1).take((len as usize).saturating_sub(2)) {
            let above = y > 0 && ink[(y - 1) * w + x];
            let below = y + 1 < h && ink[(y + 1) * w + x];
            boundary += u32::from(!above || !below);
        }
        c.perimeter += boundary;
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

/// Fraction of the component's columns in which it spans at least 60 % of its height: high for
/// words (stems, bowls), near zero for curves and rules however wavy.
pub fn tall_columns(c: &Component, runs: &[Run]) -> f32 {
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
    let tall = top
        .iter()
        .zip(&bottom)
        .filter(|(t, b)| **t != u32::MAX && (**b - **t + 1) * 5 >= h * 3)
        .count();
    tall as f32 / w as f32
}

/// Not a glyph but big enough to hold one fused with something else.
pub fn splittable(c: &Component, runs: &[Run]) -> bool {
    c.area >= SPLIT_AREA && !glyph_like(c, runs)
}

/// The parts of `c` whose contrast reaches `level`, as components of their own.
pub fn split(
    c: &Component,
    runs: &[Run],
    contrast: &[u8],
    luma: &[u8],
    w: usize,
    level: u8,
) -> (Vec<Component>, Vec<Run>) {
    let (cw, ch) = (c.width() as usize, c.height() as usize);
    let (ox, oy) = (c.x0 as usize, c.y0 as usize);
    let mut ink = vec![false; cw * ch];
    let mut local_contrast = vec![0u8; cw * ch];
    let mut local_luma = vec![0u8; cw * ch];
    for run in &runs[c.first..c.first + c.count] {
        let y = run.y as usize;
        for x in run.x0 as usize..=run.x1 as usize {
            let i = (y - oy) * cw + x - ox;
            let v = contrast[y * w + x];
            ink[i] = v >= level;
            local_contrast[i] = v;
            local_luma[i] = luma[y * w + x];
        }
    }
    let (mut parts, mut part_runs) = label(&ink, &local_contrast, &local_luma, cw, ch);
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

/// Strokes crossed by the rows at a third, half and two thirds of the height (the most of
/// them): a word crosses a stroke every letter, a frame or a rule only at its ends.
pub fn crossings(c: &Component, runs: &[Run]) -> u32 {
    let h = c.height();
    [h / 3, h / 2, 2 * h / 3]
        .iter()
        .map(|dy| {
            runs[c.first..c.first + c.count]
                .iter()
                .filter(|r| r.y == c.y0 + dy)
                .count() as u32
        })
        .max()
        .unwrap_or(0)
}

pub fn glyph_like(c: &Component, runs: &[Run]) -> bool {
    let h = c.height();
    if !(5..=MAX_GLYPH).contains(&h)
        || c.area < 6
        || c.contrast() < MIN_CONTRAST
        || c.stroke() > 0.3 * h as f32 + 1.5
        || (h as f32) < 2.0 * c.stroke()
    {
        return false;
    }
    // Wide components must be words (strokes side by side), not curves, rules or frames.
    c.width() * 2 <= h * 3
        || (c.area * 8 >= c.width() * h
            && crossings(c, runs) * h * 2 >= c.width()
            && tall_columns(c, runs) >= 0.3)
}

/// The colour of a glyph's ink: the luma that a fifth of its pixels exceed (bright) or stay
/// under (dark), robust to a brighter or darker speck fused to it.
fn ink_level(c: &Component, runs: &[Run], luma: &[u8], w: usize, polarity: usize) -> u8 {
    if polarity == 2 {
        return 0;
    }
    let mut histogram = [0u32; 256];
    for run in &runs[c.first..c.first + c.count] {
        for &v in &luma[run.y as usize * w..][run.x0 as usize..=run.x1 as usize] {
            histogram[v as usize] += 1;
        }
    }
    let target = c.area.div_ceil(5);
    let mut seen = 0;
    let mut scan = |v: usize| {
        seen += histogram[v];
        seen >= target
    };
    let level = if polarity == 0 {
        (0..256).rev().find(|&v| scan(v))
    } else {
        (0..256).find(|&v| scan(v))
    };
    level.unwrap_or(0) as u8
}

/// Burned-in text is drawn in one colour: glyphs of a line share their ink level (the
/// brightest value of bright glyphs, the darkest of dark ones) up to anti-aliasing.
pub fn same_ink(a: u8, b: u8, contrast: f32) -> bool {
    f32::from(a.abs_diff(b)) <= LEVEL_TOLERANCE.max(0.3 * contrast)
}

/// Edge glyphs only go with edge glyphs; bright and dark ones with the same ink.
pub fn consistent(a: &Component, b: &Component) -> bool {
    if a.polarity == 2 || b.polarity == 2 {
        a.polarity == b.polarity
    } else {
        same_ink(a.level, b.level, a.contrast().min(b.contrast()))
    }
}

fn find_usize(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

pub fn lines(glyphs: &[Component]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..glyphs.len()).collect();
    order.sort_by_key(|&i| (glyphs[i].x0, glyphs[i].y0));
    let mut parent: Vec<usize> = (0..glyphs.len()).collect();
    for (k, &i) in order.iter().enumerate() {
        let a = &glyphs[i];
        for &j in &order[k + 1..] {
            let b = &glyphs[j];
            if b.x0 > a.x1 + 90 {
                break;
            }
            let hmax = a.height().max(b.height());
            if b.x0 > a.x1 + hmax * 3 / 2 + 1 {
                continue;
            }
            let hmin = a.height().min(b.height());
            let overlap = a.y1.min(b.y1) as i64 - a.y0.max(b.y0) as i64 + 1;
            if overlap * 2 < hmin as i64 || hmax * 10 > hmin * 22 {
                continue;
            }
            let (sa, sb) = (a.stroke(), b.stroke());
            if !consistent(a, b) || sa.max(sb) > 2.0 * sa.min(sb) {
                continue;
            }
            let (ra, rb) = (find_usize(&mut parent, i), find_usize(&mut parent, j));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
    }
    let mut groups: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for i in 0..glyphs.len() {
        let root = find_usize(&mut parent, i);
        groups.entry(root).or_default().push(i);
    }
    groups.into_values().collect()
}

/// Whether a group of glyphs has the shape of a line of text, and if so how much of the base
/// contrast it needs: long, well-aligned lines need less.
pub fn accept(glyphs: &[Component], line: &[usize]) -> Option<f32> {
    let members: Vec<&Component> = line.iter().map(|&i| &glyphs[i]).collect();
    let width = members.iter().map(|c| c.x1).max().unwrap()
        - members.iter().map(|c| c.x0).min().unwrap()
        + 1;
    let mut heights: Vec<u32> = members.iter().map(|c| c.height()).collect();
    heights.sort_unstable();
    let h = heights[heights.len() / 2];
    if members.len() < 2 && width * 2 < 3 * h {
        return None;
    }
    let mut bottoms: Vec<u32> = members.iter().map(|c| c.y1).collect();
    bottoms.sort_unstable();
    let mut tops: Vec<u32> = members.iter().map(|c| c.y0).collect();
    tops.sort_unstable();
    let tol = (h / 8).max(1);
    let mb = bottoms[bottoms.len() / 2];
    let mt = tops[tops.len() / 2];
    let aligned_b = members.iter().filter(|c| c.y1.abs_diff(mb) <= tol).count();
    let aligned_t = members.iter().filter(|c| c.y0.abs_diff(mt) <= tol).count();
    // Capitals and digits: every glyph the same height on the same rows, to the pixel.
    let exact = members
        .iter()
        .all(|c| c.y0.abs_diff(mt) <= 1 && c.y1.abs_diff(mb) <= 1);
    if members.len() == 2 {
        return (aligned_b == 2 && aligned_t == 2).then_some(if exact && h >= 10 {
            GOOD_LINE
        } else {
            1.0
        });
    }
    let blobs = members
        .iter()
        .filter(|c| (c.height() as f32) < 2.3 * c.stroke())
        .count();
    if std::env::var("LINEDBG").is_ok() {
        eprintln!(
            "   accept n{} ab{aligned_b} at{aligned_t} blobs{blobs} h{h} tol{tol} hs{:?} bottoms{:?}",
            members.len(),
            heights,
            bottoms
        );
    }
    let aligned = aligned_b.max(aligned_t);
    if blobs * 2 > members.len() || aligned * 3 < members.len() * 2 {
        return None;
    }
    let n = heights.len();
    let even = heights[n * 4 / 5] * 2 <= heights[n / 5] * 3;
    let well_aligned = even && aligned * 5 >= members.len() * 4;
    Some(match members.len() {
        6.. if well_aligned => STRONG_LINE,
        3.. if exact && h >= 10 => STRONG_LINE,
        4.. if well_aligned => GOOD_LINE,
        _ => 1.0,
    })
}

/// A found line: its box and typical glyph height.
#[derive(Clone, Copy, Debug)]
pub struct Found {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
    pub h: u32,
    pub contrast: f32,
    /// The ink level (text colour) of the line.
    pub level: u8,
}

/// One polarity's components, for inspection.
pub struct Layer {
    pub components: Vec<Component>,
    pub runs: Vec<Run>,
    /// Per component: 0 not glyph, 1 glyph alone, 2 in rejected line, 3 in accepted line.
    pub status: Vec<u8>,
}

pub struct Analysis {
    pub layers: Vec<Layer>,
    pub found: Vec<Found>,
}

/// Components of one polarity, fused shapes split, each with its ink level and strength.
fn layer(
    luma: &[u8],
    contrast: &[u8],
    w: usize,
    h: usize,
    polarity: usize,
) -> (Vec<Component>, Vec<Run>) {
    let noise = Noise::new(contrast, w, h);
    let ink = noise.ink(contrast, w, h);
    let (mut components, mut runs) = label(&ink, contrast, luma, w, h);
    // Text fused with what it crosses (speckle, a table edge, a bone, a bright interface) is
    // separated by its higher contrast: shapes that are not glyphs are split at higher levels.
    let mut work: Vec<(usize, u32)> = (0..components.len())
        .filter(|&i| splittable(&components[i], &runs))
        .map(|i| (i, 0))
        .collect();
    while let Some((i, depth)) = work.pop() {
        if depth >= SPLIT_DEPTH {
            continue;
        }
        let c = components[i].clone();
        let local = noise
            .at(((c.x0 + c.x1) / 2) as usize, ((c.y0 + c.y1) / 2) as usize)
            .max(f32::from(INK));
        let level = (c.contrast() * SPLIT_STEP)
            .max(local * SPLIT_NOISE)
            .min(255.0) as u8;
        let (parts, part_runs) = split(&c, &runs, contrast, luma, w, level);
        let base = runs.len();
        let offset = components.len() as u32;
        runs.extend(part_runs.into_iter().map(|mut r| {
            r.component += offset;
            r
        }));
        for mut part in parts {
            part.first += base;
            if splittable(&part, &runs) {
                work.push((components.len(), depth + 1));
            }
            components.push(part);
        }
    }
    for c in &mut components {
        let local = noise.at(((c.x0 + c.x1) / 2) as usize, ((c.y0 + c.y1) / 2) as usize);
        c.strength = c.contrast() / (SALIENCE[polarity] * local).max(f32::from(INK));
        c.polarity = polarity as u8;
    }
    (components, runs)
}

pub fn analyse(frame: &GrayImage) -> Analysis {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let luma = frame.as_raw();
    let mut layers = Vec::new();
    let mut glyphs = Vec::new();
    let mut origin = Vec::new();
    for (p, contrast) in contrasts(frame).iter().enumerate() {
        let (components, runs) = layer(luma, contrast, w, h, p);
        let mut status = vec![0u8; components.len()];
        for (i, c) in components.iter().enumerate() {
            if glyph_like(c, &runs) {
                status[i] = 1;
                let mut g = c.clone();
                g.level = ink_level(&g, &runs, luma, w, p);
                glyphs.push(g);
                origin.push((p, i));
            }
        }
        layers.push(Layer {
            components,
            runs,
            status,
        });
    }
    let mut found = Vec::new();
    for line in lines(&glyphs) {
        let strength = line.iter().map(|&i| glyphs[i].strength).sum::<f32>() / line.len() as f32;
        let shape = accept(&glyphs, &line);
        let ok = shape.is_some_and(|f| strength >= f);
        if std::env::var("LINEDBG").is_ok() && line.len() > 1 {
            let x0 = line.iter().map(|&i| glyphs[i].x0).min().unwrap();
            let y0 = line.iter().map(|&i| glyphs[i].y0).min().unwrap();
            eprintln!(
                "line at {x0},{y0} n{} accept{shape:?} strength{strength:.2} ok{ok}",
                line.len()
            );
        }
        if line.iter().any(|&i| glyphs[i].polarity == 2) {
            continue;
        }
        for &k in &line {
            let (p, i) = origin[k];
            layers[p].status[i] = if ok {
                3
            } else if line.len() > 1 {
                2
            } else {
                1
            };
        }
        if !ok {
            continue;
        }
        let mut heights: Vec<u32> = line.iter().map(|&i| glyphs[i].height()).collect();
        heights.sort_unstable();
        let mut levels: Vec<u8> = line.iter().map(|&i| glyphs[i].level).collect();
        levels.sort_unstable();
        found.push(Found {
            x0: line.iter().map(|&i| glyphs[i].x0).min().unwrap(),
            y0: line.iter().map(|&i| glyphs[i].y0).min().unwrap(),
            x1: line.iter().map(|&i| glyphs[i].x1).max().unwrap(),
            y1: line.iter().map(|&i| glyphs[i].y1).max().unwrap(),
            h: heights[heights.len() / 2],
            contrast: line.iter().map(|&i| glyphs[i].contrast()).sum::<f32>() / line.len() as f32,
            level: levels[levels.len() / 2],
        });
    }
    grow(&mut found, &glyphs);
    Analysis {
        layers,
        found: merge(found),
    }
}

/// Extends accepted lines with neighbouring glyphs on their band that did not make a line of
/// their own (a two-letter word beside a number, glyphs fused with a structure they cross).
fn grow(found: &mut [Found], glyphs: &[Component]) {
    let mut used = vec![false; glyphs.len()];
    let bands: Vec<(u32, u32)> = found.iter().map(|f| (f.y0, f.y1)).collect();
    loop {
        let mut changed = false;
        for (line, &(band0, band1)) in found.iter_mut().zip(&bands) {
            for (g, used) in glyphs.iter().zip(used.iter_mut()) {
                if *used {
                    continue;
                }
                let inside =
                    g.x0 >= line.x0 && g.x1 <= line.x1 && g.y0 >= line.y0 && g.y1 <= line.y1;
                if inside {
                    *used = true;
                    continue;
                }
                let gh = g.height();
                let overlap = band1.min(g.y1) as i64 - band0.max(g.y0) as i64 + 1;
                let gap = (g.x0 as i64 - line.x1 as i64).max(line.x0 as i64 - g.x1 as i64);
                if overlap * 2 >= gh.min(line.h) as i64
                    && gh * 10 <= line.h * 22
                    && line.h * 10 <= gh * 22
                    && gap <= (5 * line.h / 2) as i64
                    && (g.polarity != 2
                        || (gap <= line.h as i64 && gh * 5 <= line.h * 7 && line.h * 5 <= gh * 7))
                    && (g.polarity == 2
                        || same_ink(g.level, line.level, g.contrast().min(line.contrast)))
                    && g.strength >= GROW_STRENGTH
                {
                    if std::env::var("GROWDBG").is_ok() {
                        eprintln!(
                            "grow line {},{}-{},{} h{} by p{} {},{} {}x{} sw{:.1} str{:.2}",
                            line.x0,
                            line.y0,
                            line.x1,
                            line.y1,
                            line.h,
                            g.polarity,
                            g.x0,
                            g.y0,
                            g.width(),
                            g.height(),
                            g.stroke(),
                            g.strength
                        );
                    }
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

/// Joins lines on the same baseline band separated by less than twice their height (word gaps,
/// punctuation too small to be a glyph).
fn merge(mut found: Vec<Found>) -> Vec<Found> {
    loop {
        let mut merged = false;
        'outer: for i in 0..found.len() {
            for j in i + 1..found.len() {
                let (a, b) = (found[i], found[j]);
                let hmin = a.h.min(b.h);
                let hmax = a.h.max(b.h);
                let overlap = a.y1.min(b.y1) as i64 - a.y0.max(b.y0) as i64 + 1;
                let gap = (b.x0 as i64 - a.x1 as i64).max(a.x0 as i64 - b.x1 as i64);
                let similar =
                    hmax * 2 <= hmin * 3 && same_ink(a.level, b.level, a.contrast.min(b.contrast));
                let reach = if similar { 4 * hmax } else { 2 * hmax } as i64;
                if overlap * 2 >= hmin as i64 && hmax * 10 <= hmin * 22 && gap <= reach {
                    found[i] = Found {
                        x0: a.x0.min(b.x0),
                        y0: a.y0.min(b.y0),
                        x1: a.x1.max(b.x1),
                        y1: a.y1.max(b.y1),
                        h: hmax,
                        contrast: a.contrast.max(b.contrast),
                        level: a.level,
                    };
                    found.swap_remove(j);
                    merged = true;
                    break 'outer;
                }
            }
        }
        if !merged {
            return found;
        }
    }
}

pub fn detect_text(frame: &GrayImage) -> Vec<Region> {
    let (fw, fh) = frame.dimensions();
    let found = analyse(frame).found;
    let mut out: Vec<Region> = found
        .into_iter()
        .map(|f| {
            let margin = (f.y1 - f.y0 + 1) / 4 + 2;
            let side = f.h / 2 + 2;
            let rx0 = f.x0.saturating_sub(side);
            let ry0 = f.y0.saturating_sub(margin);
            let rx1 = (f.x1 + side).min(fw - 1);
            let ry1 = (f.y1 + margin).min(fh - 1);
            Region {
                x: rx0,
                y: ry0,
                width: rx1 - rx0 + 1,
                height: ry1 - ry0 + 1,
            }
        })
        .collect();
    out.sort();
    out
}
