//! The pixel codecs the tool implements itself, on arbitrary bytes: the JPEG-LS decoder, the
//! RLE decoder and the JPEG masker. None may panic or allocate beyond its limit; a decoded
//! JPEG-LS frame has exactly the samples its header promises.
#![no_main]

use dicom_deid::pixel::Region;
use dicom_deid::pixel::codec::jpegls;
use dicom_deid::pixel::frames::Geometry;
use dicom_deid::pixel::{jpeg_mask, rle};
use libfuzzer_sys::fuzz_target;

/// The largest frame decoded, in samples: enough for every seed, small enough to stay fast.
const MAX_SAMPLES: usize = 1 << 20;

fn geometry(selector: u8) -> Geometry {
    let (samples, bits) = [(1, 8), (1, 16), (3, 8), (1, 32)][usize::from(selector % 4)];
    Geometry::plain(
        1 + u32::from(selector >> 4),
        1 + u32::from(selector & 0x3c),
        samples,
        bits,
    )
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    match selector % 3 {
        0 => {
            if let Ok(raster) = jpegls::decode(stream, MAX_SAMPLES) {
                let expected =
                    raster.width as usize * raster.height as usize * raster.components as usize;
                assert_eq!(raster.samples.len(), expected);
            }
        }
        1 => {
            let _ = rle::decode_frame(stream, &geometry(selector), &mut Vec::new());
        }
        _ => {
            let region = Region {
                x: 0,
                y: 0,
                width: 8,
                height: 8,
            };
            let size = (u32::from(selector >> 2) * 8 + 8, 16);
            let _ = jpeg_mask::mask(stream, size, &[region], [0, 128, 128]);
        }
    }
});
