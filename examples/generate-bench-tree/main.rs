//! Generates the synthetic trees that `benches/compare.sh` times, and the large multi-frame
//! file of the memory test.
//!
//! ```text
//! cargo run --release --example generate-bench-tree -- image  OUT_DIR [FILES]   (default 2000)
//! cargo run --release --example generate-bench-tree -- image-realistic OUT_DIR [FILES]
//! cargo run --release --example generate-bench-tree -- header OUT_DIR [FILES]   (default 2000)
//! cargo run --release --example generate-bench-tree -- multiframe OUT_FILE MB
//! ```
//!
//! - `image`: a PACS export dominated by pixel data (~420 KB a file): 45% CT 512×512 16-bit
//!   with three vendor private blocks, 35% MR 256×256 16-bit, 5% US 640×480 RGB, 5% US cine
//!   640×480 × 4 frames, 10% secondary captures 640×480 8-bit.
//! - `image-realistic`: the same files, but ultrasound and secondary captures look as such
//!   images do (`realistic.rs`): speckle in a sector or rectangle on black, burned-in text that
//!   stays put, on cines only the speckle changes. CT and MR keep pseudo-random pixels.
//! - `header`: a PACS export dominated by the header (~40 KB a file): CT 64×64 with a long
//!   header and vendor blocks, 100-item SR documents nested four deep, enhanced MR with 32
//!   per-frame functional group items.
//! - `multiframe`: one enhanced-MR-like file of about MB megabytes of 512×512 16-bit frames,
//!   written frame by frame, so generating it needs little memory.
//!
//! Files sit in `OUT_DIR/PATnnnn/STUDYn/SERnnn/IMnnnnn.dcm`, 50 a patient. Every identifying
//! value is fake, UIDs use the fake root of `testdata/`, and the output is the same bytes on
//! every run; pixel values are a cheap pseudo-random pattern, so no file is sparse.

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

mod files;
mod realistic;

use files::{FRAME_LEN, Result};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: generate-bench-tree image|image-realistic|header OUT_DIR [FILES] | multiframe OUT_FILE MB";
    let (Some(kind), Some(out)) = (args.first(), args.get(1)) else {
        return Err(usage.into());
    };
    let out = Path::new(out);
    match kind.as_str() {
        "image" | "image-realistic" | "header" => {
            let files: u32 = args.get(2).map_or(Ok(2000), |s| s.parse())?;
            if fs::read_dir(out).is_ok_and(|mut d| d.next().is_some()) {
                return Err(format!("{} is not empty", out.display()).into());
            }
            let mut total = 0u64;
            for index in 0..files {
                let file = match kind.as_str() {
                    "image" => files::image_heavy(index),
                    "image-realistic" => realistic_file(index)?,
                    _ => files::header_heavy(index),
                };
                let bytes = files::to_part10(&file.object, file.ts, &[])?;
                let path = out.join(&file.rel);
                fs::create_dir_all(path.parent().expect("files live in folders"))?;
                fs::write(&path, &bytes)?;
                total += bytes.len() as u64;
            }
            println!("wrote {files} files ({total} bytes) to {}", out.display());
        }
        "multiframe" => {
            let mb: u64 = args.get(2).ok_or(usage)?.parse()?;
            let frames = (mb * 1_000_000).div_ceil(u64::from(FRAME_LEN)).max(1) as u32;
            let total = multiframe(out, frames)?;
            println!("wrote {frames} frames ({total} bytes) to {}", out.display());
        }
        _ => return Err(usage.into()),
    }
    Ok(())
}

/// File `index` of the image tree, its ultrasound and secondary-capture pixels drawn as such
/// images look.
fn realistic_file(index: u32) -> Result<files::GeneratedFile> {
    let mut file = files::image_heavy(index);
    let (field, samples, frames) = match index % 20 {
        16 => (realistic::Field::Sector, 3, 1),
        17 => (realistic::Field::Sector, 1, 4),
        18 | 19 => (realistic::Field::Rectangle, 1, 1),
        _ => return Ok(file),
    };
    let name = file
        .object
        .element(tags::PATIENT_NAME)?
        .to_str()?
        .replace('^', " ");
    let pixels = realistic::pixels(index, &name, field, samples, frames);
    file.object.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::from(pixels),
    ));
    Ok(file)
}

/// Write the multi-frame file frame by frame, so that generating it needs little memory.
fn multiframe(path: &Path, frames: u32) -> Result<u64> {
    let mut out = BufWriter::new(File::create(path)?);
    out.write_all(&files::multiframe_head(frames)?)?;
    let frame = files::multiframe_frame();
    for _ in 0..frames {
        out.write_all(&frame)?;
    }
    out.flush()?;
    Ok(out.get_ref().metadata()?.len())
}
