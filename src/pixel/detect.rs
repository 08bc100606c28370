//! Automatic detection of burned-in text (exploration version).

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
pub const NOISE_FACTOR: f32 = 1.8;
pub const MIN_CONTRAST: f32 = 55.0;

/// Running minimum or maximum over a (2r+1)-square window (van Herk / Gil–Werman: three
/// comparisons per pixel and direction whatever the window), with scratch buffers kept between
/// calls.
pub struct RankFilter {
    width: usize,
    height: usize,
    r: usize,
    prefix: Vec<u8>,
    suffix: Vec<u8>,
    across: Vec<u8>,
}

impl RankFilter {
    pub fn new(width: usize, height: usize, r: usize) -> Self {
        let k = 2 * r + 1;
        let rows = (height + 2 * r).div_ceil(k) * k;
        let cols = (width + 2 * r).div_ceil(k) * k;
        let len = (rows * width).max(cols);
        RankFilter {
            width,
            height,
            r,
            prefix: vec![0; len],
            suffix: vec![0; len],
            across: vec![0; width * height],
        }
    }

    pub fn apply(&mut self, src: &[u8], max: bool) -> Vec<u8> {
        let (w, h, r) = (self.width, self.height, self.r);
        let k = 2 * r + 1;
        let pick = |a: u8, b: u8| if max { a.max(b) } else { a.min(b) };
        let neutral = if max { u8::MIN } else { u8::MAX };
        // Along rows: windows in padded coordinates [x, x + 2r].
        let cols = (w + 2 * r).div_ceil(k) * k;
        for y in 0..h {
            let row = &src[y * w..(y + 1) * w];
            let (prefix, suffix) = (&mut self.prefix[..cols], &mut self.suffix[..cols]);
            for block in (0..cols).step_by(k) {
                let value = |i: usize| {
                    if i >= r && i < r + w {
                        row[i - r]
                    } else {
                        neutral
                    }
                };
                let mut acc = neutral;
                for i in block..block + k {
                    acc = pick(acc, value(i));
                    prefix[i] = acc;
                }
                let mut acc = neutral;
                for i in (block..block + k).rev() {
                    acc = pick(acc, value(i));
                    suffix[i] = acc;
                }
            }
            for (x, out) in self.across[y * w..(y + 1) * w].iter_mut().enumerate() {
                *out = pick(suffix[x], prefix[x + 2 * r]);
            }
        }
        // Along columns, a whole row at a time.
        let rows = (h + 2 * r).div_ceil(k) * k;
        let across = &self.across;
        let source =
            |i: usize| (i >= r && i < r + h).then(|| &across[(i - r) * w..(i - r + 1) * w]);
        for block in (0..rows).step_by(k) {
            for i in block..block + k {
                let (done, rest) = self.prefix.split_at_mut(i * w);
                let current = &mut rest[..w];
                match source(i) {
                    Some(row) => current.copy_from_slice(row),
                    None => current.fill(neutral),
                }
                if i > block {
                    for (c, p) in current.iter_mut().zip(&done[(i - 1) * w..]) {
                        *c = pick(*c, *p);
                    }
                }
            }
            for i in (block..block + k).rev() {
                let (head, next) = self.suffix.split_at_mut((i + 1) * w);
                let current = &mut head[i * w..];
                match source(i) {
                    Some(row) => current.copy_from_slice(row),
                    None => current.fill(neutral),
                }
                if i + 1 < block + k {
                    for (c, n) in current.iter_mut().zip(&next[..w]) {
                        *c = pick(*c, *n);
                    }
                }
            }
        }
        let mut out = vec![0u8; w * h];
        for y in 0..h {
            let s = &self.suffix[y * w..(y + 1) * w];
            let p = &self.prefix[(y + 2 * r) * w..(y + 2 * r + 1) * w];
            for ((o, a), b) in out[y * w..(y + 1) * w].iter_mut().zip(s).zip(p) {
                *o = pick(*a, *b);
            }
        }
        out
    }
}

/// Contrast maps of strokes thinner than the window: white top-hat (bright) and black-hat (dark).
pub fn contrasts(frame: &GrayImage) -> [Vec<u8>; 2] {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let src = frame.as_raw();
    let mut filter = RankFilter::new(w, h, RADIUS);
    let eroded = filter.apply(src, false);
    let opened = filter.apply(&eroded, true);
    drop(eroded);
    let dilated = filter.apply(src, true);
    let closed = filter.apply(&dilated, false);
    let bright = src.iter().zip(&opened).map(|(a, b)| a - b).collect();
    let dark = closed.iter().zip(src).map(|(a, b)| a - b).collect();
    [bright, dark]
}

/// Ink where the contrast clears both an absolute floor and a multiple of the median contrast
/// of the surrounding 64-pixel block (speckle and noise raise that median; text, being sparse,
/// does not).
pub fn binarize(contrast: &[u8], w: usize, h: usize) -> Vec<bool> {
    let (bw, bh) = (w.div_ceil(BLOCK), h.div_ceil(BLOCK));
    let mut hist = vec![0u32; bw * bh * 256];
    for y in 0..h {
        let row = &contrast[y * w..(y + 1) * w];
        let base = (y / BLOCK) * bw;
        for (x, &c) in row.iter().enumerate() {
            hist[((base + x / BLOCK) << 8) + c as usize] += 1;
        }
    }
    let level: Vec<f32> = hist
        .chunks(256)
        .map(|bins| {
            let total: u32 = bins.iter().sum();
            let mut acc = 0;
            let median = bins.iter().position(|&n| {
                acc += n;
                acc * 2 >= total
            });
            (median.unwrap_or(0) as f32 * NOISE_FACTOR).max(f32::from(INK))
        })
        .collect();
    // Bilinear interpolation between block centres, weights per column computed once.
    let position = |i: usize, blocks: usize| {
        let f = ((i as f32 + 0.5) / BLOCK as f32 - 0.5).clamp(0.0, (blocks - 1) as f32);
        let lo = f as usize;
        (lo, (lo + 1).min(blocks - 1), f - lo as f32)
    };
    let columns: Vec<(usize, usize, f32)> = (0..w).map(|x| position(x, bw)).collect();
    let mut ink = vec![false; w * h];
    let mut row_level = vec![0f32; bw];
    for y in 0..h {
        let (y0, y1, ty) = position(y, bh);
        for (bx, l) in row_level.iter_mut().enumerate() {
            *l = level[y0 * bw + bx] * (1.0 - ty) + level[y1 * bw + bx] * ty;
        }
        let row = &contrast[y * w..(y + 1) * w];
        for ((out, &c), &(x0, x1, tx)) in ink[y * w..(y + 1) * w].iter_mut().zip(row).zip(&columns)
        {
            *out = f32::from(c) >= row_level[x0] + (row_level[x1] - row_level[x0]) * tx;
        }
    }
    ink
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
pub fn label(ink: &[bool], contrast: &[u8], w: usize, h: usize) -> (Vec<Component>, Vec<Run>) {
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
    for i in 0..runs.len() {
        let root = find(&mut parent, i as u32) as usize;
        if index[root] == u32::MAX {
            index[root] = components.len() as u32;
            components.push(Component {
                x0: u32::MAX,
                y0: u32::MAX,
                ..Default::default()
            });
        }
        let id = index[root];
        let run = &mut runs[i];
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

pub fn glyph_like(c: &Component, runs: &[Run]) -> bool {
    let h = c.height();
    if !(5..=56).contains(&h)
        || c.area < 6
        || c.contrast() < MIN_CONTRAST
        || c.stroke() > 0.3 * h as f32 + 1.5
        || (h as f32) < 2.0 * c.stroke()
    {
        return false;
    }
    // Wide components must be words (strokes side by side), not curves, rules or frames.
    c.width() * 2 <= h * 3 || (c.area * 8 >= c.width() * h && tall_columns(c, runs) >= 0.3)
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
            let (ca, cb) = (a.contrast(), b.contrast());
            let (sa, sb) = (a.stroke(), b.stroke());
            if ca.max(cb) > 1.6 * ca.min(cb) || sa.max(sb) > 2.0 * sa.min(sb) {
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

pub fn accept(glyphs: &[Component], line: &[usize]) -> bool {
    let members: Vec<&Component> = line.iter().map(|&i| &glyphs[i]).collect();
    let width = members.iter().map(|c| c.x1).max().unwrap()
        - members.iter().map(|c| c.x0).min().unwrap()
        + 1;
    let mut heights: Vec<u32> = members.iter().map(|c| c.height()).collect();
    heights.sort_unstable();
    let h = heights[heights.len() / 2];
    if members.len() < 2 && width * 2 < 3 * h {
        return false;
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
    if members.len() == 2 {
        return aligned_b == 2 && aligned_t == 2;
    }
    let blobs = members
        .iter()
        .filter(|c| (c.height() as f32) < 2.3 * c.stroke())
        .count();
    blobs * 2 <= members.len() && aligned_b.max(aligned_t) * 3 >= members.len() * 2
}

/// A found line: its box and typical glyph height.
#[derive(Clone, Copy, Debug)]
pub struct Found {
    pub x0: u32,
    pub y0: u32,
    pub x1: u32,
    pub y1: u32,
    pub h: u32,
}

pub struct Analysis {
    pub components: Vec<Component>,
    pub runs: Vec<Run>,
    pub glyph: Vec<bool>,
    /// Per component: 0 not glyph, 1 glyph alone, 2 in rejected line, 3 in accepted line.
    pub status: Vec<u8>,
    pub found: Vec<Found>,
}

pub fn analyse(contrast: &[u8], w: usize, h: usize) -> Analysis {
    let ink = binarize(contrast, w, h);
    let (components, runs) = label(&ink, contrast, w, h);
    let glyph: Vec<bool> = components.iter().map(|c| glyph_like(c, &runs)).collect();
    let idx: Vec<usize> = (0..components.len()).filter(|&i| glyph[i]).collect();
    let glyphs: Vec<Component> = idx.iter().map(|&i| components[i].clone()).collect();
    let mut status: Vec<u8> = glyph.iter().map(|&g| u8::from(g)).collect();
    let mut found = Vec::new();
    for line in lines(&glyphs) {
        let ok = accept(&glyphs, &line);
        for &k in &line {
            status[idx[k]] = if ok {
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
        found.push(Found {
            x0: line.iter().map(|&i| glyphs[i].x0).min().unwrap(),
            y0: line.iter().map(|&i| glyphs[i].y0).min().unwrap(),
            x1: line.iter().map(|&i| glyphs[i].x1).max().unwrap(),
            y1: line.iter().map(|&i| glyphs[i].y1).max().unwrap(),
            h: heights[heights.len() / 2],
        });
    }
    Analysis {
        components,
        runs,
        glyph,
        status,
        found,
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
                if overlap * 2 >= hmin as i64 && hmax * 10 <= hmin * 22 && gap <= 2 * hmax as i64 {
                    found[i] = Found {
                        x0: a.x0.min(b.x0),
                        y0: a.y0.min(b.y0),
                        x1: a.x1.max(b.x1),
                        y1: a.y1.max(b.y1),
                        h: hmax,
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
    let (w, h) = (fw as usize, fh as usize);
    let mut found = Vec::new();
    for contrast in contrasts(frame) {
        found.extend(analyse(&contrast, w, h).found);
    }
    let mut out: Vec<Region> = merge(found)
        .into_iter()
        .map(|f| {
            let margin = ((f.y1 - f.y0 + 1) / 4).max(2) + 1;
            let rx0 = f.x0.saturating_sub(margin);
            let ry0 = f.y0.saturating_sub(margin);
            let rx1 = (f.x1 + margin).min(fw - 1);
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
