//! JPEG-LS decoding (ITU-T T.87 / ISO/IEC 14495-1): lossless and near-lossless, 2 to 16 bits,
//! one or more components in every interleave mode (none, line, sample).
//!
//! Written here because no pure-Rust crate decodes colour JPEG-LS: pure_jpegls (behind
//! openreadout-codecs) reads one component only, and dicom-toolkit-codec 0.5 failed on every
//! JPEG-LS file of the test corpus (grey ones included). The decoder follows the standard's
//! decoding procedure: context modelling with three quantised gradients, median edge
//! prediction corrected by a per-context bias, limited-length Golomb codes, and run mode with
//! run-interruption samples; in sample-interleaved scans the components of a pixel share the
//! run, in line-interleaved ones each component keeps its own run index, as the reference
//! implementation (CharLS) that writes these files does. Mapping tables, restart intervals,
//! point transforms and subsampled components are refused as unsupported (DICOM files do not
//! use them).

/// Why a JPEG-LS stream could not be decoded (structural texts only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JlsError {
    #[error("JPEG-LS {0} is not supported")]
    Unsupported(&'static str),
    #[error("JPEG-LS stream is invalid: {0}")]
    Invalid(&'static str),
    #[error("JPEG-LS stream is truncated")]
    Truncated,
}

/// A decoded frame: samples interleaved by pixel (`components` per pixel), row by row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Raster {
    pub width: u32,
    pub height: u32,
    pub components: u32,
    /// Bits per sample (P of the frame header).
    pub bits: u32,
    pub samples: Vec<u16>,
}

/// Run lengths by run index (T.87 A.7.1.1).
const J: [u32; 32] = [
    0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 9, 10, 11, 12, 13,
    14, 15,
];
/// Regular-mode contexts: 365 classes of quantised gradients (sign folded).
const CONTEXTS: usize = 365;

/// Decode one JPEG-LS stream (SOI to EOI); refuses frames of more than `max_samples` samples.
pub fn decode(stream: &[u8], max_samples: usize) -> Result<Raster, JlsError> {
    let mut r = Reader {
        data: stream,
        at: 0,
    };
    if r.u16()? != 0xFFD8 {
        return Err(JlsError::Invalid("no start of image"));
    }
    let mut frame: Option<Frame> = None;
    let mut preset = Preset::default();
    let mut image: Vec<u16> = Vec::new();
    let mut decoded = Vec::new();
    loop {
        if r.u8()? != 0xFF {
            return Err(JlsError::Invalid("marker expected"));
        }
        let mut marker = r.u8()?;
        while marker == 0xFF {
            marker = r.u8()?;
        }
        match marker {
            0xD9 => break,
            0xF7 => {
                let body = r.segment()?;
                let f = Frame::parse(body)?;
                let samples = f.width * f.height * f.components.len();
                if samples > max_samples {
                    return Err(JlsError::Invalid("frame larger than the image"));
                }
                image = vec![0; samples];
                decoded = vec![false; f.components.len()];
                frame = Some(f);
            }
            0xF8 => preset.parse(r.segment()?)?,
            0xDA => {
                let f = frame
                    .as_ref()
                    .ok_or(JlsError::Invalid("scan before frame"))?;
                let body = r.segment()?;
                let scan = Scan::parse(body, f)?;
                let data = &stream[r.at..];
                let end = scan_end(data);
                scan.decode(f, &preset, &data[..end], &mut image)?;
                for &c in &scan.components {
                    decoded[c] = true;
                }
                r.at += end;
            }
            0xDD => {
                let body = r.segment()?;
                if body.iter().any(|&b| b != 0) {
                    return Err(JlsError::Unsupported("restart interval"));
                }
            }
            0xF0..=0xF6 | 0xF9..=0xFB | 0xC0..=0xCF | 0xDC => {
                return Err(JlsError::Unsupported("frame type"));
            }
            _ => {
                r.segment()?;
            }
        }
    }
    let f = frame.ok_or(JlsError::Invalid("no frame header"))?;
    if decoded.is_empty() || decoded.contains(&false) {
        return Err(JlsError::Truncated);
    }
    Ok(Raster {
        width: f.width as u32,
        height: f.height as u32,
        components: f.components.len() as u32,
        bits: f.bits,
        samples: image,
    })
}

/// Bytes of marker segments.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, JlsError> {
        let b = *self.data.get(self.at).ok_or(JlsError::Truncated)?;
        self.at += 1;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, JlsError> {
        Ok(u16::from(self.u8()?) << 8 | u16::from(self.u8()?))
    }

    /// The body of a marker segment (after its length).
    fn segment(&mut self) -> Result<&'a [u8], JlsError> {
        let len = usize::from(self.u16()?);
        let body = self
            .data
            .get(self.at..self.at + len.checked_sub(2).ok_or(JlsError::Invalid("length"))?)
            .ok_or(JlsError::Truncated)?;
        self.at += len - 2;
        Ok(body)
    }
}

/// Where the entropy-coded data of a scan ends: at the first marker (0xFF followed by a byte
/// with its high bit set; inside the data a 0xFF is followed by a stuffed zero bit).
fn scan_end(data: &[u8]) -> usize {
    data.windows(2)
        .position(|w| w[0] == 0xFF && w[1] >= 0x80)
        .unwrap_or(data.len())
}

/// The frame header (SOF55).
struct Frame {
    bits: u32,
    height: usize,
    width: usize,
    /// Component identifiers, in frame order.
    components: Vec<u8>,
}

impl Frame {
    fn parse(b: &[u8]) -> Result<Frame, JlsError> {
        let at = |i: usize| b.get(i).copied().ok_or(JlsError::Truncated);
        let bits = u32::from(at(0)?);
        let height = usize::from(at(1)?) << 8 | usize::from(at(2)?);
        let width = usize::from(at(3)?) << 8 | usize::from(at(4)?);
        let count = usize::from(at(5)?);
        if !(2..=16).contains(&bits) {
            return Err(JlsError::Unsupported("sample precision"));
        }
        if height == 0 {
            return Err(JlsError::Unsupported("height defined after the scan (DNL)"));
        }
        if width == 0 || count == 0 {
            return Err(JlsError::Invalid("empty frame"));
        }
        let mut components = Vec::with_capacity(count);
        for c in 0..count {
            if at(6 + 3 * c + 1)? != 0x11 {
                return Err(JlsError::Unsupported("subsampled component"));
            }
            components.push(at(6 + 3 * c)?);
        }
        Ok(Frame {
            bits,
            height,
            width,
            components,
        })
    }
}

/// Coding parameters of an LSE segment (0 = default).
#[derive(Default, Clone, Copy)]
struct Preset {
    maxval: i32,
    t1: i32,
    t2: i32,
    t3: i32,
    reset: i32,
}

impl Preset {
    fn parse(&mut self, b: &[u8]) -> Result<(), JlsError> {
        let word = |i: usize| -> Result<i32, JlsError> {
            let hi = b.get(i).ok_or(JlsError::Truncated)?;
            let lo = b.get(i + 1).ok_or(JlsError::Truncated)?;
            Ok(i32::from(*hi) << 8 | i32::from(*lo))
        };
        match b.first() {
            Some(1) => {
                *self = Preset {
                    maxval: word(1)?,
                    t1: word(3)?,
                    t2: word(5)?,
                    t3: word(7)?,
                    reset: word(9)?,
                };
                Ok(())
            }
            Some(2 | 3) => Err(JlsError::Unsupported("mapping table")),
            _ => Err(JlsError::Unsupported("extension")),
        }
    }
}

/// The scan header (SOS): which components, NEAR and interleave mode.
struct Scan {
    /// Indexes into the frame's components.
    components: Vec<usize>,
    near: i32,
    interleave: u8,
}

impl Scan {
    fn parse(b: &[u8], frame: &Frame) -> Result<Scan, JlsError> {
        let at = |i: usize| b.get(i).copied().ok_or(JlsError::Truncated);
        let count = usize::from(at(0)?);
        let mut components = Vec::with_capacity(count);
        for c in 0..count {
            let id = at(1 + 2 * c)?;
            if at(2 + 2 * c)? != 0 {
                return Err(JlsError::Unsupported("mapping table"));
            }
            let index = frame
                .components
                .iter()
                .position(|&f| f == id)
                .ok_or(JlsError::Invalid("scan names an unknown component"))?;
            components.push(index);
        }
        let near = i32::from(at(1 + 2 * count)?);
        let interleave = at(2 + 2 * count)?;
        if at(3 + 2 * count)? & 0x0F != 0 {
            return Err(JlsError::Unsupported("point transform"));
        }
        match (interleave, count) {
            (_, 0) => Err(JlsError::Invalid("scan without components")),
            (0, 1) | (1 | 2, _) => Ok(Scan {
                components,
                near,
                interleave,
            }),
            (0, _) => Err(JlsError::Invalid(
                "several components in a non-interleaved scan",
            )),
            _ => Err(JlsError::Invalid("interleave mode")),
        }
    }

    /// Decode the scan's entropy-coded `data` into `image` (interleaved by frame component).
    fn decode(
        &self,
        frame: &Frame,
        preset: &Preset,
        data: &[u8],
        image: &mut [u16],
    ) -> Result<(), JlsError> {
        let mut coder = Coder::new(frame.bits, self.near, preset)?;
        let mut bits = Bits::new(data);
        let (w, n) = (frame.width, self.components.len());
        let stride = frame.components.len();
        // Two lines per component, each with one sample of margin on either side.
        let mut prev = vec![vec![0i32; w + 2]; n];
        let mut cur = vec![vec![0i32; w + 2]; n];
        let mut run_index = vec![0usize; n];
        for y in 0..frame.height {
            for c in 0..n {
                std::mem::swap(&mut prev[c], &mut cur[c]);
                prev[c][w + 1] = prev[c][w];
                cur[c][0] = prev[c][1];
            }
            if self.interleave == 2 {
                coder.sample_line(&mut bits, &prev, &mut cur, &mut run_index[0])?;
            } else {
                for c in 0..n {
                    coder.line(&mut bits, &prev[c], &mut cur[c], &mut run_index[c])?;
                }
            }
            for (c, &fc) in self.components.iter().enumerate() {
                let row = &mut image[y * w * stride..][..w * stride];
                for (x, &v) in cur[c][1..=w].iter().enumerate() {
                    row[x * stride + fc] = v as u16;
                }
            }
        }
        if bits.overrun() {
            return Err(JlsError::Truncated);
        }
        Ok(())
    }
}

/// A run-interruption context (T.87 A.7.2).
#[derive(Clone, Copy)]
struct RunContext {
    kind: i32,
    a: i32,
    n: i32,
    nn: i32,
}

/// The coding parameters and adaptive state of one scan.
struct Coder {
    maxval: i32,
    near: i32,
    range: i32,
    qbpp: u32,
    limit: u32,
    t1: i32,
    t2: i32,
    t3: i32,
    reset: i32,
    a: [i32; CONTEXTS],
    b: [i32; CONTEXTS],
    c: [i32; CONTEXTS],
    n: [i32; CONTEXTS],
    run: [RunContext; 2],
}

/// Bits needed for values below `n` (at least 1).
fn bits_for(n: i32) -> u32 {
    32 - (n.max(2) - 1).leading_zeros()
}

impl Coder {
    fn new(bits: u32, near: i32, preset: &Preset) -> Result<Coder, JlsError> {
        let maxval = if preset.maxval > 0 {
            preset.maxval
        } else {
            (1 << bits) - 1
        };
        if near > maxval.min(255) / 2 {
            return Err(JlsError::Invalid("NEAR"));
        }
        let (t1, t2, t3) = default_thresholds(maxval, near);
        let pick = |v: i32, default: i32| if v > 0 { v } else { default };
        let (t1, t2, t3) = (
            pick(preset.t1, t1),
            pick(preset.t2, t2),
            pick(preset.t3, t3),
        );
        let range = (maxval + 2 * near) / (2 * near + 1) + 1;
        let qbpp = bits_for(range);
        let bpp = bits_for(maxval + 1).max(2);
        let limit = 2 * (bpp + bpp.max(8));
        let a_init = ((range + 32) / 64).max(2);
        let run = |kind| RunContext {
            kind,
            a: a_init,
            n: 1,
            nn: 0,
        };
        Ok(Coder {
            maxval,
            near,
            range,
            qbpp,
            limit,
            t1,
            t2,
            t3,
            reset: pick(preset.reset, 64),
            a: [a_init; CONTEXTS],
            b: [0; CONTEXTS],
            c: [0; CONTEXTS],
            n: [1; CONTEXTS],
            run: [run(0), run(1)],
        })
    }

    fn quantize(&self, d: i32) -> i32 {
        match d {
            _ if d <= -self.t3 => -4,
            _ if d <= -self.t2 => -3,
            _ if d <= -self.t1 => -2,
            _ if d < -self.near => -1,
            _ if d <= self.near => 0,
            _ if d < self.t1 => 1,
            _ if d < self.t2 => 2,
            _ if d < self.t3 => 3,
            _ => 4,
        }
    }

    /// The signed context of a sample from its neighbours (0: run mode).
    fn context(&self, ra: i32, rb: i32, rc: i32, rd: i32) -> i32 {
        (self.quantize(rd - rb) * 9 + self.quantize(rb - rc)) * 9 + self.quantize(rc - ra)
    }

    /// One line of one component.
    fn line(
        &mut self,
        bits: &mut Bits,
        prev: &[i32],
        cur: &mut [i32],
        run_index: &mut usize,
    ) -> Result<(), JlsError> {
        let w = cur.len() - 2;
        let mut x = 1;
        while x <= w {
            let (ra, rb, rc, rd) = (cur[x - 1], prev[x], prev[x - 1], prev[x + 1]);
            let qs = self.context(ra, rb, rc, rd);
            if qs != 0 {
                cur[x] = self.regular(bits, qs, predict(ra, rb, rc))?;
                x += 1;
                continue;
            }
            let length = self.run_length(bits, w + 1 - x, run_index)?;
            cur[x..x + length].fill(ra);
            x += length;
            if x <= w {
                let rb = prev[x];
                cur[x] = if (ra - rb).abs() <= self.near {
                    let e = self.interruption(bits, 1, *run_index)?;
                    self.reconstruct(ra, e)
                } else {
                    let e = self.interruption(bits, 0, *run_index)?;
                    self.reconstruct(rb, e * sign(rb - ra))
                };
                *run_index = run_index.saturating_sub(1);
                x += 1;
            }
        }
        Ok(())
    }

    /// One line of a sample-interleaved scan: the pixel's components are coded together and
    /// share run mode.
    fn sample_line(
        &mut self,
        bits: &mut Bits,
        prev: &[Vec<i32>],
        cur: &mut [Vec<i32>],
        run_index: &mut usize,
    ) -> Result<(), JlsError> {
        let w = cur[0].len() - 2;
        let n = cur.len();
        let mut qs = vec![0; n];
        let mut x = 1;
        while x <= w {
            for (c, q) in qs.iter_mut().enumerate() {
                let (p, l) = (&prev[c], &cur[c]);
                *q = self.context(l[x - 1], p[x], p[x - 1], p[x + 1]);
            }
            if qs.iter().any(|&q| q != 0) {
                for (c, &q) in qs.iter().enumerate() {
                    let (ra, rb, rc) = (cur[c][x - 1], prev[c][x], prev[c][x - 1]);
                    cur[c][x] = self.regular(bits, q, predict(ra, rb, rc))?;
                }
                x += 1;
                continue;
            }
            let length = self.run_length(bits, w + 1 - x, run_index)?;
            for line in cur.iter_mut() {
                let ra = line[x - 1];
                line[x..x + length].fill(ra);
            }
            x += length;
            if x <= w {
                for c in 0..n {
                    let (ra, rb) = (cur[c][x - 1], prev[c][x]);
                    let e = self.interruption(bits, 0, *run_index)?;
                    cur[c][x] = self.reconstruct(rb, e * sign(rb - ra));
                }
                *run_index = run_index.saturating_sub(1);
                x += 1;
            }
        }
        Ok(())
    }

    /// A sample in regular mode, of signed context `qs` and prediction `px`.
    fn regular(&mut self, bits: &mut Bits, qs: i32, px: i32) -> Result<i32, JlsError> {
        let sign = if qs < 0 { -1 } else { 1 };
        let q = qs.unsigned_abs() as usize;
        let px = (px + sign * self.c[q]).clamp(0, self.maxval);
        let k = golomb_k(self.n[q], self.a[q]);
        let mapped = self.value(bits, k, self.limit)?;
        let mut e = if mapped % 2 == 0 {
            mapped / 2
        } else {
            -(mapped + 1) / 2
        };
        if k == 0 && self.near == 0 && 2 * self.b[q] + self.n[q] - 1 < 0 {
            e = -e - 1;
        }
        // Context update (T.87 A.6).
        self.b[q] += e * (2 * self.near + 1);
        self.a[q] += e.abs();
        if self.n[q] == self.reset {
            self.a[q] >>= 1;
            self.b[q] >>= 1;
            self.n[q] >>= 1;
        }
        self.n[q] += 1;
        let n = self.n[q];
        if self.b[q] <= -n {
            self.b[q] += n;
            if self.c[q] > -128 {
                self.c[q] -= 1;
            }
            if self.b[q] <= -n {
                self.b[q] = -n + 1;
            }
        } else if self.b[q] > 0 {
            self.b[q] -= n;
            if self.c[q] < 127 {
                self.c[q] += 1;
            }
            if self.b[q] > 0 {
                self.b[q] = 0;
            }
        }
        Ok(self.reconstruct(px, sign * e))
    }

    /// The length of a run of at most `left` samples (T.87 A.7.1).
    fn run_length(
        &self,
        bits: &mut Bits,
        left: usize,
        run_index: &mut usize,
    ) -> Result<usize, JlsError> {
        let mut length = 0;
        while bits.read(1)? == 1 {
            let full = 1usize << J[*run_index];
            let count = full.min(left - length);
            length += count;
            if count == full {
                *run_index = (*run_index + 1).min(31);
            }
            if length == left {
                return Ok(length);
            }
        }
        length += bits.read(J[*run_index])? as usize;
        if length > left {
            return Err(JlsError::Invalid("run longer than the line"));
        }
        Ok(length)
    }

    /// The error of a run-interruption sample, with context `which` (T.87 A.7.2).
    fn interruption(
        &mut self,
        bits: &mut Bits,
        which: usize,
        run_index: usize,
    ) -> Result<i32, JlsError> {
        let ctx = self.run[which];
        let k = golomb_k(ctx.n, ctx.a + (ctx.n >> 1) * ctx.kind);
        let mapped = self.value(bits, k, self.limit - J[run_index] - 1)?;
        let t = mapped + ctx.kind;
        let map = t & 1;
        let magnitude = (t + map) / 2;
        let negative = (k != 0 || 2 * ctx.nn >= ctx.n) == (map == 1);
        let e = if negative { -magnitude } else { magnitude };
        let ctx = &mut self.run[which];
        if e < 0 {
            ctx.nn += 1;
        }
        ctx.a += (mapped + 1 - ctx.kind) >> 1;
        if ctx.n == self.reset {
            ctx.a >>= 1;
            ctx.n >>= 1;
            ctx.nn >>= 1;
        }
        ctx.n += 1;
        Ok(e)
    }

    /// A limited-length Golomb code of parameter `k` (T.87 A.5.3).
    fn value(&self, bits: &mut Bits, k: u32, limit: u32) -> Result<i32, JlsError> {
        if k > 24 {
            return Err(JlsError::Invalid("Golomb parameter"));
        }
        let escape = limit.saturating_sub(self.qbpp + 1);
        let high = bits.unary(escape)?;
        let value = if high >= escape {
            bits.read(self.qbpp)? + 1
        } else {
            (high << k) | bits.read(k)?
        };
        // A mapped error never reaches twice the range: larger values come only from damage
        // (and would overflow the context sums).
        if value > 2 * self.range as u32 {
            return Err(JlsError::Invalid("error value out of range"));
        }
        Ok(value as i32)
    }

    /// A sample from its prediction and its (quantised) error, modulo the range.
    fn reconstruct(&self, px: i32, e: i32) -> i32 {
        let step = 2 * self.near + 1;
        let mut v = px + e * step;
        if v < -self.near {
            v += self.range * step;
        } else if v > self.maxval + self.near {
            v -= self.range * step;
        }
        v.clamp(0, self.maxval)
    }
}

/// The median edge detector.
fn predict(ra: i32, rb: i32, rc: i32) -> i32 {
    if rc >= ra.max(rb) {
        ra.min(rb)
    } else if rc <= ra.min(rb) {
        ra.max(rb)
    } else {
        ra + rb - rc
    }
}

/// +1 for zero and above, -1 below.
fn sign(n: i32) -> i32 {
    if n < 0 { -1 } else { 1 }
}

/// The Golomb parameter: the least k with n·2^k ≥ a.
fn golomb_k(n: i32, a: i32) -> u32 {
    let mut k = 0;
    while k < 31 && (i64::from(n) << k) < i64::from(a) {
        k += 1;
    }
    k
}

/// The default thresholds T1, T2, T3 (T.87 C.2.4.1.1).
fn default_thresholds(maxval: i32, near: i32) -> (i32, i32, i32) {
    let clamp = |v: i32, low: i32| if v > maxval || v < low { low } else { v };
    if maxval >= 128 {
        let factor = (maxval.min(4095) + 128) / 256;
        // FACTOR × (BASIC_T1 − 2) + 2 + 3·NEAR, with BASIC_T1 = 3.
        let t1 = clamp(factor + 2 + 3 * near, near + 1);
        let t2 = clamp(factor * (7 - 3) + 3 + 5 * near, t1);
        let t3 = clamp(factor * (21 - 4) + 4 + 7 * near, t2);
        (t1, t2, t3)
    } else {
        let factor = 256 / (maxval + 1);
        let t1 = clamp((3 / factor + 3 * near).max(2), near + 1);
        let t2 = clamp((7 / factor + 5 * near).max(3), t1);
        let t3 = clamp((21 / factor + 7 * near).max(4), t2);
        (t1, t2, t3)
    }
}

/// The bits of entropy-coded data, most significant first; a byte after 0xFF holds 7.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
    /// Bits not yet read, at the top.
    cache: u64,
    count: u32,
    after_ff: bool,
    /// Bits read beyond the data (the stream's padding is zeros).
    missing: i64,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits {
            data,
            at: 0,
            cache: 0,
            count: 0,
            after_ff: false,
            missing: 0,
        }
    }

    fn fill(&mut self) {
        while self.count <= 56 {
            let (value, width) = match self.data.get(self.at) {
                Some(&b) => {
                    self.at += 1;
                    let width = if self.after_ff { 7 } else { 8 };
                    self.after_ff = b == 0xFF;
                    (u64::from(b) & ((1 << width) - 1), width)
                }
                None => {
                    self.missing += 8;
                    (0, 8)
                }
            };
            self.cache |= value << (64 - self.count - width);
            self.count += width;
        }
    }

    fn consume(&mut self, n: u32) {
        self.cache = if n == 64 { 0 } else { self.cache << n };
        self.count -= n;
    }

    /// The next `n` bits (at most 32).
    fn read(&mut self, n: u32) -> Result<u32, JlsError> {
        if n == 0 {
            return Ok(0);
        }
        if self.count < n {
            self.fill();
        }
        let v = (self.cache >> (64 - n)) as u32;
        self.consume(n);
        Ok(v)
    }

    /// How many zero bits come before the next one bit (which is consumed); at most `max`
    /// are read when no one bit comes.
    fn unary(&mut self, max: u32) -> Result<u32, JlsError> {
        let mut zeros = 0;
        loop {
            if self.count == 0 {
                self.fill();
            }
            let lead = self.cache.leading_zeros().min(self.count);
            if lead < self.count {
                self.consume(lead + 1);
                return Ok(zeros + lead);
            }
            zeros += lead;
            self.consume(lead);
            if zeros > max {
                return Err(JlsError::Invalid("Golomb code too long"));
            }
            if self.missing > 64 {
                return Err(JlsError::Truncated);
            }
        }
    }

    /// Whether more bits were read than the data held.
    fn overrun(&self) -> bool {
        self.missing - i64::from(self.count) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A grey image of `bits` bits: flat patches (run mode), ramps and noise (regular mode).
    fn image(width: usize, height: usize, bits: u32, seed: u64) -> Vec<u16> {
        let max = (1u64 << bits) - 1;
        let mut state = seed | 1;
        (0..width * height)
            .map(|i| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let (x, y) = ((i % width) as u64, (i / width) as u64);
                let v = match (x / 8 + y / 8 + seed) % 3 {
                    0 => max / 3,
                    1 => (x * 7 + y * 3) * max / 400,
                    _ => state % (max + 1),
                };
                v.min(max) as u16
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn grey_streams_of_another_encoder_decode_within_near(
            width in 1usize..48,
            height in 1usize..24,
            bits in 2u32..=16,
            near in 0u8..4,
            seed in any::<u64>(),
        ) {
            let pixels = image(width, height, bits, seed);
            let near = near.min(((1u32 << bits) - 1).min(255) as u8 / 2);
            let mut options = ::jpegls::EncodeOptions::default();
            options.near = near;
            options.precision = Some(bits as u8);
            let mut stream = Vec::new();
            ::jpegls::encode_with_options(
                &pixels, width as u32, height as u32, &options, &mut stream,
            ).unwrap();
            let raster = decode(&stream, pixels.len()).unwrap();
            prop_assert_eq!((raster.width, raster.height), (width as u32, height as u32));
            prop_assert_eq!((raster.components, raster.bits), (1, bits));
            for (a, b) in raster.samples.iter().zip(&pixels) {
                prop_assert!(a.abs_diff(*b) <= u16::from(near), "{} vs {}", a, b);
            }
        }
    }
}
