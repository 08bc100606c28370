//! Masking a baseline JPEG without decoding it to pixels: the entropy-coded data is read to
//! quantised DCT coefficients (ITU-T T.81 Annex F), every MCU that touches a region gets a
//! flat block of the fill value (DC only), and the coefficients are entropy-coded again with
//! Huffman tables built for them (Annex K.2). Every other block keeps its coefficients, so
//! the rest of the image decodes exactly as before and the file stays about its size: no
//! second generation of lossy compression, and no lossless copy many times larger.
//!
//! Scope: 8-bit sequential Huffman JPEG (SOF0/SOF1) in one scan holding every component,
//! restart intervals allowed; anything else returns `None` and the caller decodes instead.
//! Regions grow to whole MCUs (8×8 to 16×16 pixels), and by two pixels first where chroma is
//! subsampled; the decoder's chroma upsampling may then tint the two pixels just outside.

use super::Region;

/// The most 8×8 blocks one frame may have here (256 MB of coefficients; a 4096×4096 colour
/// frame has 2^19): a frame header cannot make this module allocate more.
const MAX_BLOCKS: usize = 1 << 21;

/// What each component of a masked block becomes: its sample value (0..=255).
pub type FillLevels = [u8; 3];

struct Component {
    id: u8,
    h: usize,
    v: usize,
    tq: usize,
    td: usize,
    ta: usize,
}

struct Header {
    width: usize,
    height: usize,
    components: Vec<Component>,
    qt: [[u16; 64]; 4],
    dc: [Option<Table>; 4],
    ac: [Option<Table>; 4],
    restart: usize,
    /// Segments to keep, as they were (SOF, DQT, DRI, APP0, APP14), before the scan.
    kept: Vec<u8>,
    sos: Vec<u8>,
    scan: usize,
}

/// A Huffman table for decoding (T.81 F.2.2.3).
#[derive(Clone)]
struct Table {
    maxcode: [i32; 17],
    valptr: [usize; 17],
    mincode: [i32; 17],
    values: Vec<u8>,
}

impl Table {
    fn new(bits: &[u8; 16], values: Vec<u8>) -> Option<Table> {
        let mut t = Table {
            maxcode: [-1; 17],
            valptr: [0; 17],
            mincode: [0; 17],
            values,
        };
        let (mut code, mut k) = (0i32, 0usize);
        for l in 1..=16 {
            let n = bits[l - 1] as usize;
            if n > 0 {
                t.valptr[l] = k;
                t.mincode[l] = code;
                code += n as i32;
                k += n;
                t.maxcode[l] = code - 1;
            }
            code <<= 1;
        }
        (k == t.values.len()).then_some(t)
    }

    fn decode(&self, bits: &mut BitReader) -> Option<u8> {
        let mut code = 0i32;
        for l in 1..=16 {
            code = (code << 1) | bits.bit()? as i32;
            if code <= self.maxcode[l] {
                return self
                    .values
                    .get(self.valptr[l] + (code - self.mincode[l]) as usize)
                    .copied();
            }
        }
        None
    }
}

struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
    acc: u32,
    n: u32,
}

impl BitReader<'_> {
    fn bit(&mut self) -> Option<u32> {
        if self.n == 0 {
            self.acc = u32::from(*self.data.get(self.pos)?);
            self.pos += 1;
            self.n = 8;
        }
        self.n -= 1;
        Some((self.acc >> self.n) & 1)
    }

    fn bits(&mut self, count: u32) -> Option<i32> {
        let mut v = 0i32;
        for _ in 0..count {
            v = (v << 1) | self.bit()? as i32;
        }
        Some(v)
    }
}

fn extend(v: i32, t: u32) -> i32 {
    if t == 0 {
        0
    } else if v < 1 << (t - 1) {
        v - (1 << t) + 1
    } else {
        v
    }
}

fn u16_at(d: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(*d.get(at)?) << 8 | usize::from(*d.get(at + 1)?))
}

/// Read the markers up to the first scan.
fn parse(data: &[u8]) -> Option<Header> {
    if data.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut h = Header {
        width: 0,
        height: 0,
        components: Vec::new(),
        qt: [[1; 64]; 4],
        dc: [None, None, None, None],
        ac: [None, None, None, None],
        restart: 0,
        kept: Vec::new(),
        sos: Vec::new(),
        scan: 0,
    };
    let mut pos = 2;
    loop {
        if *data.get(pos)? != 0xFF {
            return None;
        }
        let marker = *data.get(pos + 1)?;
        if marker == 0xFF {
            pos += 1;
            continue;
        }
        let len = u16_at(data, pos + 2)?;
        let seg = data.get(pos + 4..pos + 2 + len)?;
        let whole = &data[pos..pos + 2 + len];
        match marker {
            0xC0 | 0xC1 => {
                if *seg.first()? != 8 || !h.components.is_empty() {
                    return None;
                }
                h.height = u16_at(seg, 1)?;
                h.width = u16_at(seg, 3)?;
                let n = usize::from(*seg.get(5)?);
                for c in 0..n {
                    let at = 6 + 3 * c;
                    let hv = *seg.get(at + 1)?;
                    h.components.push(Component {
                        id: *seg.get(at)?,
                        h: usize::from(hv >> 4),
                        v: usize::from(hv & 15),
                        tq: usize::from(*seg.get(at + 2)? & 3),
                        td: 0,
                        ta: 0,
                    });
                }
                h.kept.extend_from_slice(whole);
            }
            0xDB => {
                let mut at = 0;
                while at < seg.len() {
                    let (pq, tq) = (seg[at] >> 4, usize::from(seg[at] & 3));
                    at += 1;
                    for k in 0..64 {
                        h.qt[tq][k] = if pq == 0 {
                            u16::from(*seg.get(at + k)?)
                        } else {
                            u16_at(seg, at + 2 * k)? as u16
                        };
                    }
                    at += if pq == 0 { 64 } else { 128 };
                }
                h.kept.extend_from_slice(whole);
            }
            0xC4 => {
                let mut at = 0;
                while at < seg.len() {
                    let (class, id) = (seg[at] >> 4, usize::from(seg[at] & 3));
                    let bits: [u8; 16] = seg.get(at + 1..at + 17)?.try_into().ok()?;
                    let n: usize = bits.iter().map(|&b| usize::from(b)).sum();
                    let values = seg.get(at + 17..at + 17 + n)?.to_vec();
                    let table = Table::new(&bits, values)?;
                    if class == 0 {
                        h.dc[id] = Some(table);
                    } else {
                        h.ac[id] = Some(table);
                    }
                    at += 17 + n;
                }
            }
            0xDD => {
                h.restart = u16_at(seg, 0)?;
                h.kept.extend_from_slice(whole);
            }
            0xDA => {
                let ns = usize::from(*seg.first()?);
                if ns != h.components.len() {
                    return None;
                }
                for s in 0..ns {
                    let (id, t) = (*seg.get(1 + 2 * s)?, *seg.get(2 + 2 * s)?);
                    let c = h.components.get_mut(s).filter(|c| c.id == id)?;
                    c.td = usize::from(t >> 4 & 3);
                    c.ta = usize::from(t & 3);
                }
                // Sequential: Ss 0, Se 63, Ah Al 0.
                if seg.get(1 + 2 * ns..4 + 2 * ns)? != [0, 63, 0] {
                    return None;
                }
                h.sos = whole.to_vec();
                h.scan = pos + 2 + len;
                return Some(h);
            }
            // JFIF and Adobe (which says whether colour was transformed) stay; comments and
            // other application data may hold text, and go.
            0xE0 | 0xEE => h.kept.extend_from_slice(whole),
            0xE1..=0xEF | 0xFE => {}
            _ => return None,
        }
        pos += 2 + len;
    }
}

/// The entropy-coded intervals of the scan (split at restart markers, unstuffed), and
/// whether EOI ends them.
fn intervals(data: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = vec![Vec::new()];
    let mut i = 0;
    while i < data.len() {
        let b = data[i];
        if b != 0xFF {
            out.last_mut()?.push(b);
            i += 1;
            continue;
        }
        match *data.get(i + 1)? {
            0x00 => out.last_mut()?.push(0xFF),
            0xD0..=0xD7 => out.push(Vec::new()),
            0xD9 => return Some(out),
            0xFF => {
                i += 1;
                continue;
            }
            _ => return None,
        }
        i += 2;
    }
    None
}

/// Geometry of the MCU grid: MCU width, height, columns, rows.
fn grid(h: &Header) -> (usize, usize, usize, usize) {
    let hmax = h.components.iter().map(|c| c.h).max().unwrap_or(1);
    let vmax = h.components.iter().map(|c| c.v).max().unwrap_or(1);
    let (mw, mh) = (8 * hmax, 8 * vmax);
    (mw, mh, h.width.div_ceil(mw), h.height.div_ceil(mh))
}

/// The regions as masked: each grown by the reach of chroma upsampling (two pixels, when
/// chroma is subsampled, so no colour from outside bleeds into a region), then to the MCUs
/// it touches.
fn grow(h: &Header, regions: &[Region]) -> Vec<Region> {
    let (mw, mh, cols, rows) = grid(h);
    let hmax = h.components.iter().map(|c| c.h).max().unwrap_or(1);
    let vmax = h.components.iter().map(|c| c.v).max().unwrap_or(1);
    let subsampled = h.components.iter().any(|c| c.h < hmax || c.v < vmax);
    let margin = if subsampled { 2 } else { 0 };
    let mut out: Vec<Region> = regions
        .iter()
        .map(|r| {
            let (x, y) = (
                (r.x as usize).saturating_sub(margin),
                (r.y as usize).saturating_sub(margin),
            );
            let (x0, y0) = (x / mw * mw, y / mh * mh);
            let x1 = ((r.x + r.width) as usize + margin).div_ceil(mw).min(cols) * mw;
            let y1 = ((r.y + r.height) as usize + margin).div_ceil(mh).min(rows) * mh;
            Region {
                x: x0 as u32,
                y: y0 as u32,
                width: (x1.min(h.width) - x0) as u32,
                height: (y1.min(h.height) - y0) as u32,
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Mask `regions` of one JPEG frame of `size` (columns, rows, as the header says) with `fill`
/// (per component); the new JPEG stream and the
/// regions as masked ([`grow`]), or `None` when the stream is outside this module's scope or
/// malformed.
pub fn mask(
    data: &[u8],
    size: (u32, u32),
    regions: &[Region],
    fill: FillLevels,
) -> Option<(Vec<u8>, Vec<Region>)> {
    let h = parse(data)?;
    if (h.width, h.height) != (size.0 as usize, size.1 as usize) {
        return None;
    }
    if h.components.is_empty()
        || h.components.len() > 3
        || (h.components.len() == 1 && (h.components[0].h, h.components[0].v) != (1, 1))
    {
        return None;
    }
    let (mw, mh, cols, rows) = grid(&h);
    let mcus = cols * rows;
    let per_interval = if h.restart == 0 { mcus } else { h.restart };
    let parts = intervals(data.get(h.scan..)?)?;
    if parts.len() != mcus.div_ceil(per_interval) {
        return None;
    }
    let blocks_per_mcu: usize = h.components.iter().map(|c| c.h * c.v).sum();
    if mcus * blocks_per_mcu > MAX_BLOCKS {
        return None;
    }
    let mut coefs = vec![[0i16; 64]; mcus * blocks_per_mcu];
    for (n, part) in parts.iter().enumerate() {
        let mut bits = BitReader {
            data: part,
            pos: 0,
            acc: 0,
            n: 0,
        };
        let mut pred = [0i32; 3];
        let first = n * per_interval;
        for m in first..(first + per_interval).min(mcus) {
            let mut b = m * blocks_per_mcu;
            for (c, comp) in h.components.iter().enumerate() {
                let dc = h.dc[comp.td].as_ref()?;
                let ac = h.ac[comp.ta].as_ref()?;
                for _ in 0..comp.h * comp.v {
                    decode_block(&mut bits, dc, ac, &mut pred[c], &mut coefs[b])?;
                    b += 1;
                }
            }
        }
    }
    let grown = grow(&h, regions);
    let hit = |m: usize| {
        let (x0, y0) = ((m % cols * mw) as u32, (m / cols * mh) as u32);
        grown
            .iter()
            .any(|r| r.x <= x0 && x0 < r.x + r.width && r.y <= y0 && y0 < r.y + r.height)
    };
    for m in (0..mcus).filter(|&m| hit(m)) {
        let mut b = m * blocks_per_mcu;
        for (c, comp) in h.components.iter().enumerate() {
            let dc = flat_dc(fill[c], h.qt[comp.tq][0]);
            for _ in 0..comp.h * comp.v {
                coefs[b] = [0; 64];
                coefs[b][0] = dc as i16;
                b += 1;
            }
        }
    }
    Some((encode(&h, &coefs, blocks_per_mcu, per_interval)?, grown))
}

/// The quantised DC of a flat block whose samples decode to `level` (clamping at 0 and 255
/// makes the extremes exact whatever the rounding of the inverse DCT).
fn flat_dc(level: u8, q: u16) -> i32 {
    let q = i32::from(q.max(1));
    match level {
        0 => -((1024 + q - 1) / q),
        255 => (1016 + q - 1) / q,
        l => ((i32::from(l) - 128) * 8 + q / 2).div_euclid(q),
    }
}

fn decode_block(
    bits: &mut BitReader,
    dc: &Table,
    ac: &Table,
    pred: &mut i32,
    out: &mut [i16; 64],
) -> Option<()> {
    let t = u32::from(dc.decode(bits)?);
    if t > 11 {
        return None;
    }
    *pred += extend(bits.bits(t)?, t);
    out[0] = i16::try_from(*pred).ok()?;
    let mut k = 1;
    while k < 64 {
        let rs = ac.decode(bits)?;
        let (r, s) = (usize::from(rs >> 4), u32::from(rs & 15));
        if s == 0 {
            if r == 15 {
                k += 16;
                continue;
            }
            break;
        }
        k += r;
        if k > 63 {
            return None;
        }
        out[k] = extend(bits.bits(s)?, s) as i16;
        k += 1;
    }
    Some(())
}

fn category(v: i32) -> u32 {
    32 - v.unsigned_abs().leading_zeros()
}

/// Every symbol of every block, in order: (table slot, symbol, extra bits, their count).
/// Slots 0–3 are DC tables, 4–7 AC tables.
fn symbols(
    h: &Header,
    coefs: &[[i16; 64]],
    blocks_per_mcu: usize,
    per_interval: usize,
    mut emit: impl FnMut(usize, u8, i32, u32, Option<usize>),
) {
    let mcus = coefs.len() / blocks_per_mcu;
    let mut pred = [0i32; 3];
    for m in 0..mcus {
        if m > 0 && m % per_interval == 0 {
            pred = [0; 3];
            emit(0, 0, 0, 0, Some(m / per_interval - 1));
        }
        let mut b = m * blocks_per_mcu;
        for (c, comp) in h.components.iter().enumerate() {
            for _ in 0..comp.h * comp.v {
                let block = &coefs[b];
                let diff = i32::from(block[0]) - pred[c];
                pred[c] = i32::from(block[0]);
                let s = category(diff);
                emit(comp.td, s as u8, diff, s, None);
                let mut run = 0;
                let last = (1..64).rev().find(|&k| block[k] != 0).unwrap_or(0);
                for &v in &block[1..=last] {
                    if v == 0 {
                        run += 1;
                        continue;
                    }
                    while run > 15 {
                        emit(4 + comp.ta, 0xF0, 0, 0, None);
                        run -= 16;
                    }
                    let s = category(i32::from(v));
                    emit(
                        4 + comp.ta,
                        (run << 4) as u8 | s as u8,
                        i32::from(v),
                        s,
                        None,
                    );
                    run = 0;
                }
                if last < 63 {
                    emit(4 + comp.ta, 0x00, 0, 0, None);
                }
                b += 1;
            }
        }
    }
}

/// Code lengths of an optimal Huffman code for `freq` limited to 16 bits (T.81 K.2), as
/// (BITS, HUFFVAL).
fn optimal_table(freq: &[u64; 256]) -> Option<([u8; 16], Vec<u8>)> {
    let mut f: Vec<u64> = freq.to_vec();
    f.push(1); // the reserved symbol keeps any code from being all ones
    let mut size = vec![0usize; 257];
    let mut others: Vec<Option<usize>> = vec![None; 257];
    loop {
        let mut v1: Option<usize> = None;
        let mut v2: Option<usize> = None;
        for i in 0..257 {
            if f[i] == 0 {
                continue;
            }
            if v1.is_none_or(|v| f[i] <= f[v]) {
                v2 = v1;
                v1 = Some(i);
            } else if v2.is_none_or(|v| f[i] <= f[v]) {
                v2 = Some(i);
            }
        }
        let (Some(a), Some(b)) = (v1, v2) else { break };
        let (a, b) = (a.max(b), a.min(b));
        f[b] += f[a];
        f[a] = 0;
        let mut x = b;
        size[x] += 1;
        while let Some(n) = others[x] {
            x = n;
            size[x] += 1;
        }
        others[x] = Some(a);
        let mut x = a;
        size[x] += 1;
        while let Some(n) = others[x] {
            x = n;
            size[x] += 1;
        }
    }
    if size.iter().any(|&s| s > 32) {
        return None;
    }
    let mut bits = [0usize; 33];
    for &s in &size {
        if s > 0 {
            bits[s] += 1;
        }
    }
    for i in (17..=32).rev() {
        while bits[i] > 0 {
            let mut j = i - 2;
            while bits[j] == 0 {
                j -= 1;
            }
            bits[i] -= 2;
            bits[i - 1] += 1;
            bits[j + 1] += 2;
            bits[j] -= 1;
        }
    }
    let mut i = 16;
    while bits[i] == 0 {
        i -= 1;
    }
    bits[i] -= 1; // drop the reserved symbol
    let mut values = Vec::new();
    for len in 1..=32 {
        for (sym, &s) in size.iter().enumerate().take(256) {
            if s == len {
                values.push(sym as u8);
            }
        }
    }
    let mut out = [0u8; 16];
    for l in 1..=16 {
        out[l - 1] = bits[l] as u8;
    }
    Some((out, values))
}

/// Codes (value, length) per symbol of a table given as BITS and HUFFVAL (T.81 C.2).
fn codes(bits: &[u8; 16], values: &[u8]) -> [(u32, u32); 256] {
    let mut out = [(0, 0); 256];
    let (mut code, mut k) = (0u32, 0);
    for l in 1..=16u32 {
        for _ in 0..bits[l as usize - 1] {
            out[usize::from(values[k])] = (code, l);
            code += 1;
            k += 1;
        }
        code <<= 1;
    }
    out
}

struct BitWriter {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl BitWriter {
    fn put(&mut self, value: u32, count: u32) {
        for i in (0..count).rev() {
            self.acc = (self.acc << 1) | ((value >> i) & 1);
            self.n += 1;
            if self.n == 8 {
                let byte = self.acc as u8;
                self.out.push(byte);
                if byte == 0xFF {
                    self.out.push(0);
                }
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    /// Pad the last byte with ones.
    fn align(&mut self) {
        if self.n > 0 {
            self.put(0xFF, 8 - self.n);
        }
    }
}

fn encode(
    h: &Header,
    coefs: &[[i16; 64]],
    blocks_per_mcu: usize,
    per_interval: usize,
) -> Option<Vec<u8>> {
    let mut freq = [[0u64; 256]; 8];
    symbols(
        h,
        coefs,
        blocks_per_mcu,
        per_interval,
        |slot, sym, _, _, rst| {
            if rst.is_none() {
                freq[slot][usize::from(sym)] += 1;
            }
        },
    );
    let mut out = vec![0xFF, 0xD8];
    out.extend_from_slice(&h.kept);
    let mut table_codes = vec![[(0u32, 0u32); 256]; 8];
    let mut dht = Vec::new();
    for (slot, f) in freq.iter().enumerate() {
        if f.iter().all(|&n| n == 0) {
            continue;
        }
        let (bits, values) = optimal_table(f)?;
        table_codes[slot] = codes(&bits, &values);
        dht.push((((slot / 4) << 4) | (slot % 4)) as u8);
        dht.extend_from_slice(&bits);
        dht.extend_from_slice(&values);
    }
    out.extend_from_slice(&[0xFF, 0xC4]);
    out.extend_from_slice(&u16::try_from(dht.len() + 2).ok()?.to_be_bytes());
    out.extend_from_slice(&dht);
    out.extend_from_slice(&h.sos);
    let mut w = BitWriter { out, acc: 0, n: 0 };
    let mut ok = true;
    symbols(
        h,
        coefs,
        blocks_per_mcu,
        per_interval,
        |slot, sym, v, s, rst| {
            if let Some(n) = rst {
                w.align();
                w.out.extend_from_slice(&[0xFF, 0xD0 + (n % 8) as u8]);
                return;
            }
            let (code, len) = table_codes[slot][usize::from(sym)];
            ok &= len > 0;
            w.put(code, len);
            if s > 0 {
                let extra = if v < 0 { v - 1 } else { v };
                w.put(extra as u32 & ((1 << s) - 1), s);
            }
        },
    );
    w.align();
    w.out.extend_from_slice(&[0xFF, 0xD9]);
    ok.then_some(w.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_tables_are_prefix_codes_within_16_bits() {
        let mut freq = [0u64; 256];
        for (i, f) in freq.iter_mut().enumerate().take(200) {
            *f = 1 + (i as u64 * i as u64 * 7919) % 100_000;
        }
        let (bits, values) = optimal_table(&freq).unwrap();
        assert_eq!(values.len(), 200);
        assert_eq!(bits.iter().map(|&b| usize::from(b)).sum::<usize>(), 200);
        // Kraft: the sum of 2^-len is below 1 (no all-ones code).
        let kraft: f64 = (1..=16)
            .map(|l| f64::from(bits[l - 1]) / f64::from(1u32 << l))
            .sum();
        assert!(kraft < 1.0, "{kraft}");
    }

    /// A `w`×`h` JPEG of texture and gradients, grey or colour with `sampling`.
    fn jpeg(w: u16, h: u16, colour: Option<jpeg_encoder::SamplingFactor>) -> Vec<u8> {
        let (w, h) = (usize::from(w), usize::from(h));
        let grey: Vec<u8> = (0..w * h)
            .map(|i| ((i % w) * 3 + (i / w) * 2 + (i * 7919 % 31)) as u8)
            .collect();
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 85);
        encoder.set_restart_interval(3);
        match colour {
            None => encoder.encode(&grey, w as u16, h as u16, jpeg_encoder::ColorType::Luma),
            Some(sampling) => {
                encoder.set_sampling_factor(sampling);
                let rgb: Vec<u8> = grey
                    .iter()
                    .enumerate()
                    .flat_map(|(i, &v)| [v, 255 - v, (i % 251) as u8])
                    .collect();
                encoder.encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
            }
        }
        .unwrap();
        out
    }

    fn decode(data: &[u8]) -> Vec<u8> {
        openreadout_codecs::jpeg_decode_limited(data, 1 << 24)
            .unwrap()
            .data
    }

    const LAYOUTS: [Option<jpeg_encoder::SamplingFactor>; 4] = [
        None,
        Some(jpeg_encoder::SamplingFactor::F_1_1),
        Some(jpeg_encoder::SamplingFactor::F_2_1),
        Some(jpeg_encoder::SamplingFactor::F_2_2),
    ];

    #[test]
    fn nothing_masked_decodes_exactly_as_before() {
        for layout in LAYOUTS {
            let original = jpeg(67, 45, layout);
            let (masked, grown) = mask(&original, (67, 45), &[], [0, 128, 128]).unwrap();
            assert!(grown.is_empty());
            assert_eq!(decode(&masked), decode(&original), "{layout:?}");
        }
    }

    #[test]
    fn a_region_is_black_and_the_rest_decodes_as_before() {
        let region = Region {
            x: 20,
            y: 13,
            width: 19,
            height: 9,
        };
        for layout in LAYOUTS {
            let samples = if layout.is_some() { 3 } else { 1 };
            let original = jpeg(67, 45, layout);
            let (masked, grown) = mask(&original, (67, 45), &[region], [0, 128, 128]).unwrap();
            let (before, after) = (decode(&original), decode(&masked));
            let near = |x: u32, y: u32, by: u32| {
                grown.iter().any(|r| {
                    x + by >= r.x
                        && x < r.x + r.width + by
                        && y + by >= r.y
                        && y < r.y + r.height + by
                })
            };
            let bleed = if matches!(layout, None | Some(jpeg_encoder::SamplingFactor::F_1_1)) {
                0
            } else {
                2
            };
            for y in 0..45u32 {
                for x in 0..67u32 {
                    let at = (y as usize * 67 + x as usize) * samples;
                    let (a, b) = (&after[at..at + samples], &before[at..at + samples]);
                    let inside = (region.x..region.x + region.width).contains(&x)
                        && (region.y..region.y + region.height).contains(&y);
                    if inside {
                        assert!(a.iter().all(|&v| v == 0), "{layout:?} ({x}, {y}) {a:?}");
                    } else if !near(x, y, bleed) {
                        assert_eq!(a, b, "{layout:?} ({x}, {y})");
                    }
                }
            }
        }
    }

    #[test]
    fn damaged_streams_give_none_or_a_stream_never_a_panic() {
        let original = jpeg(40, 24, Some(jpeg_encoder::SamplingFactor::F_2_1));
        let region = [Region {
            x: 0,
            y: 0,
            width: 8,
            height: 8,
        }];
        let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
        for _ in 0..2000 {
            let mut data = original.clone();
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed % data.len() as u64) as usize;
                data[at] = (seed >> 32) as u8;
            }
            let _ = mask(&data, (40, 24), &region, [0, 128, 128]);
            let _ = mask(
                &data[..(seed % data.len() as u64) as usize],
                (40, 24),
                &region,
                [0; 3],
            );
        }
    }

    #[test]
    fn flat_dc_reaches_the_extremes() {
        for q in [1u16, 2, 3, 7, 16, 99, 255] {
            let q32 = i32::from(q);
            assert!(128 + flat_dc(0, q) * q32 / 8 <= 0);
            assert!(128 + flat_dc(255, q) * q32 / 8 >= 255);
            assert_eq!(flat_dc(128, q), 0);
        }
    }
}
