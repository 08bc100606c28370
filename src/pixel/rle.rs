//! RLE Lossless (PS3.5 Annex G): one fragment per frame, a 64-byte header of segment offsets,
//! then one PackBits segment per byte of each sample, most significant byte first, each row
//! encoded on its own.
//!
//! dicom-rs decodes RLE of 8 and 16 bits only and has no encoder, so both directions live
//! here: decoding covers 8, 16 and 32 bits allocated, and encoding lets a masked image leave
//! in a lossless compressed syntax instead of native pixel data.

use super::frames::Geometry;

/// At most 15 segments fit in the header.
const MAX_SEGMENTS: usize = 15;
const HEADER_LEN: usize = 64;

/// Why an RLE frame could not be decoded (structural texts only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RleError {
    #[error("its RLE header is truncated or names {0} segments, where {1} are needed")]
    Segments(usize, usize),
    #[error("an RLE segment offset lies outside its fragment")]
    Offset,
    #[error("an RLE segment decodes to the wrong number of bytes")]
    Length,
    #[error("RLE needs 8, 16 or 32 bits allocated, not {0}")]
    Bits(u32),
}

/// Segments a frame of `geometry` has: one per byte of each sample.
fn segments(geometry: &Geometry) -> Result<usize, RleError> {
    if !matches!(geometry.bits_allocated, 8 | 16 | 32) {
        return Err(RleError::Bits(geometry.bits_allocated));
    }
    Ok(geometry.samples as usize * geometry.bits_allocated as usize / 8)
}

/// Decode one fragment into interleaved little-endian samples (planar configuration 0),
/// appended to `out`.
pub fn decode_frame(
    fragment: &[u8],
    geometry: &Geometry,
    out: &mut Vec<u8>,
) -> Result<(), RleError> {
    let need = segments(geometry)?;
    let word = |at: usize| {
        fragment
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    let count = word(0).ok_or(RleError::Segments(0, need))?;
    if count != need || fragment.len() < HEADER_LEN {
        return Err(RleError::Segments(count, need));
    }
    let pixels = geometry.rows as usize * geometry.columns as usize;
    let bps = geometry.bits_allocated as usize / 8;
    let samples = geometry.samples as usize;
    let start = out.len();
    out.resize(start + pixels * samples * bps, 0);
    let frame = &mut out[start..];
    let mut plane = Vec::with_capacity(pixels);
    for k in 0..need {
        let from = word(4 + 4 * k).ok_or(RleError::Offset)?;
        let to = if k + 1 < need {
            word(8 + 4 * k).ok_or(RleError::Offset)?
        } else {
            fragment.len()
        };
        let segment = fragment.get(from..to).ok_or(RleError::Offset)?;
        plane.clear();
        unpack(segment, pixels, &mut plane);
        // A last run that overshoots the row end is cut, as decoders do.
        plane.truncate(pixels);
        if plane.len() != pixels {
            return Err(RleError::Length);
        }
        let (sample, byte) = (k / bps, bps - 1 - k % bps);
        for (i, &v) in plane.iter().enumerate() {
            frame[(i * samples + sample) * bps + byte] = v;
        }
    }
    Ok(())
}

/// PackBits decoding of `segment` until `len` bytes are out (padding after is ignored).
fn unpack(segment: &[u8], len: usize, out: &mut Vec<u8>) {
    let mut i = 0;
    while i < segment.len() && out.len() < len {
        let n = segment[i] as i8;
        i += 1;
        if n >= 0 {
            let run = n as usize + 1;
            let Some(bytes) = segment.get(i..i + run) else {
                return;
            };
            out.extend_from_slice(bytes);
            i += run;
        } else if n != -128 {
            let Some(&b) = segment.get(i) else { return };
            out.resize(out.len() + (1 - n as isize) as usize, b);
            i += 1;
        }
    }
}

/// Encode one frame of interleaved little-endian samples as an RLE fragment; `None` when the
/// layout has more segments than the header allows.
pub fn encode_frame(frame: &[u8], geometry: &Geometry) -> Option<Vec<u8>> {
    let count = segments(geometry).ok()?;
    if count > MAX_SEGMENTS
        || geometry.planar
        || geometry.photometric == super::frames::Photometric::YbrFull422
    {
        return None;
    }
    let (cols, rows) = (geometry.columns as usize, geometry.rows as usize);
    let bps = geometry.bits_allocated as usize / 8;
    let step = geometry.samples as usize * bps;
    let mut out = vec![0u8; HEADER_LEN];
    out[..4].copy_from_slice(&(count as u32).to_le_bytes());
    let mut row = Vec::with_capacity(cols);
    for k in 0..count {
        let offset = out.len() as u32;
        out[4 + 4 * k..8 + 4 * k].copy_from_slice(&offset.to_le_bytes());
        let at = (k / bps) * bps + (bps - 1 - k % bps);
        for y in 0..rows {
            row.clear();
            row.extend((0..cols).map(|x| frame[(y * cols + x) * step + at]));
            pack(&row, &mut out);
        }
        if out.len() % 2 == 1 {
            // A no-op code keeps every segment an even length.
            out.push(0x80);
        }
    }
    Some(out)
}

/// PackBits encoding of one row: runs of three or more equal bytes are replicated, the rest
/// copied literally, at most 128 bytes a code.
fn pack(row: &[u8], out: &mut Vec<u8>) {
    let n = row.len();
    let run_at = |i: usize| {
        let b = row[i];
        row[i..n.min(i + 128)]
            .iter()
            .take_while(|&&v| v == b)
            .count()
    };
    let mut i = 0;
    while i < n {
        let run = run_at(i);
        if run >= 3 {
            out.push((257 - run) as u8);
            out.push(row[i]);
            i += run;
            continue;
        }
        let mut j = i;
        while j < n && j - i < 128 && !(j + 2 < n && row[j] == row[j + 1] && row[j] == row[j + 2]) {
            j += 1;
        }
        out.push((j - i - 1) as u8);
        out.extend_from_slice(&row[i..j]);
        i = j;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(samples: u32, bits: u32) -> Geometry {
        Geometry::plain(5, 300, samples, bits)
    }

    #[test]
    fn every_layout_round_trips() {
        for (samples, bits) in [(1, 8), (1, 16), (1, 32), (3, 8), (3, 16)] {
            let g = geometry(samples, bits);
            let len = g.frame_len() as usize;
            // Runs, literals and runs longer than one code, across row ends.
            let frame: Vec<u8> = (0..len)
                .map(|i| {
                    if (i / 7) % 3 == 0 {
                        (i * 31 % 251) as u8
                    } else {
                        9
                    }
                })
                .collect();
            let fragment = encode_frame(&frame, &g).unwrap();
            assert_eq!(fragment.len() % 2, 0);
            let mut back = Vec::new();
            decode_frame(&fragment, &g, &mut back).unwrap();
            assert_eq!(back, frame, "{samples} samples of {bits} bits");
        }
    }

    #[test]
    fn a_flat_frame_is_small_and_noise_grows_by_at_most_one_byte_in_128() {
        let g = geometry(1, 8);
        let flat = vec![0u8; g.frame_len() as usize];
        assert!(encode_frame(&flat, &g).unwrap().len() < 100);
        let noise: Vec<u8> = (0..g.frame_len() as usize)
            .map(|i| (i * 7919 % 256) as u8)
            .collect();
        let len = encode_frame(&noise, &g).unwrap().len();
        assert!(len <= HEADER_LEN + 1500 + 5 * 3 + 1, "{len}");
    }

    #[test]
    fn damaged_fragments_are_errors_never_panics() {
        let g = geometry(3, 16);
        let frame: Vec<u8> = (0..g.frame_len() as usize).map(|i| (i / 5) as u8).collect();
        let original = encode_frame(&frame, &g).unwrap();
        let mut seed = 0x2545_F491_4F6C_DD1D_u64;
        for _ in 0..2000 {
            let mut fragment = original.clone();
            for _ in 0..3 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed % fragment.len() as u64) as usize;
                fragment[at] = (seed >> 32) as u8;
            }
            let mut out = Vec::new();
            if decode_frame(&fragment, &g, &mut out).is_ok() {
                assert_eq!(out.len() as u64, g.frame_len());
            }
        }
    }

    #[test]
    fn a_wrong_segment_count_is_an_error_not_a_panic() {
        let g = geometry(1, 16);
        let mut fragment = encode_frame(&vec![1u8; 3000], &g).unwrap();
        fragment[0] = 1;
        assert_eq!(
            decode_frame(&fragment, &g, &mut Vec::new()),
            Err(RleError::Segments(1, 2))
        );
        assert!(decode_frame(&fragment[..10], &g, &mut Vec::new()).is_err());
    }
}
