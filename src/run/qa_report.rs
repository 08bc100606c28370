//! `run --qa-report FILE.html`: a page to look at what pixel masking did. One row per masked
//! file (a sample when there are many), with its output path, the rules or the detector that
//! masked it, and thumbnails of its first, middle and last frames *after* masking, with the
//! masked regions outlined. It reads only the de-identified output, so it shows no more than
//! the output does.

use std::fmt::Write as _;
use std::path::Path;

use image::{ImageEncoder, Rgb, RgbImage, imageops};
use imageproc::drawing::draw_hollow_rect_mut;
use imageproc::rect::Rect;

use crate::dicom::file::{self, Parsed};
use crate::pixel::{self, Region};
use crate::run::manifest::{self, Record, Status};

/// At most this many files get a row; a larger run is sampled evenly, in manifest order.
pub const MAX_ROWS: usize = 200;
/// Thumbnails fit in this many pixels each way.
const THUMB: u32 = 256;
const OUTLINE: Rgb<u8> = Rgb([255, 40, 40]);
/// A deflated output this tool wrote inflates to at most this for a preview.
const MAX_INFLATED: u64 = 1 << 30;

/// Write the report for a finished run into `path`, from its manifest (read twice, a line at
/// a time: to count the masked files, then to pick an even sample of them).
pub fn write(path: &Path, output: &Path, manifest: &Path) -> std::io::Result<()> {
    let is_masked = |r: &Record| r.status == Status::Written && !r.pixel_masked_by.is_empty();
    let masked = manifest::records(manifest)?.filter(is_masked).count();
    let step = masked.div_ceil(MAX_ROWS).max(1);
    let sample: Vec<Record> = manifest::records(manifest)?
        .filter(is_masked)
        .step_by(step)
        .collect();
    let mut html = String::new();
    html.push_str(concat!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n",
        "<title>dicom-deid pixel masking</title>\n<style>\n",
        "body{font:14px system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}\n",
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:6px;vertical-align:top}\n",
        "th{background:#eee;text-align:left}img{image-rendering:pixelated;margin-right:6px;background:#000}\n",
        "code{font-size:12px;word-break:break-all}td:first-child{max-width:26em}\n</style></head><body>\n",
        "<h1>Pixel masking</h1>\n"
    ));
    let _ = writeln!(
        html,
        "<p>{} files masked; {} shown. Frames are shown after masking; masked regions are outlined in red.</p>",
        masked,
        sample.len()
    );
    html.push_str(
        "<table>\n<tr><th>output</th><th>masked by</th><th>regions</th><th>frames (first, middle, last)</th></tr>\n",
    );
    for record in &sample {
        let rel = record.output.as_deref().unwrap_or_default();
        let thumbs = std::fs::read(output.join(rel))
            .ok()
            .map(|bytes| thumbnails(&bytes, &record.pixel_regions))
            .unwrap_or_default();
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>",
            escape(rel),
            escape(&record.pixel_masked_by.join(", ")),
            record.pixel_regions.len()
        );
        if thumbs.is_empty() {
            html.push_str("(no preview)");
        }
        for (frame, png) in thumbs {
            let _ = write!(
                html,
                "<img alt=\"frame {frame}\" title=\"frame {frame}\" src=\"data:image/png;base64,{}\">",
                data_encoding::BASE64.encode(&png)
            );
        }
        html.push_str("</td></tr>\n");
    }
    html.push_str("</table>\n</body></html>\n");
    std::fs::write(path, html)
}

/// Text made safe inside HTML elements and attribute values.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// PNG thumbnails of the first, middle and last frames of a masked output, regions outlined.
fn thumbnails(bytes: &[u8], regions: &[Region]) -> Vec<(u32, Vec<u8>)> {
    let Ok(Parsed::Dataset {
        object,
        transfer_syntax,
    }) = file::parse(bytes, MAX_INFLATED)
    else {
        return Vec::new();
    };
    let Some((geometry, data)) = pixel::frames_of(object, &transfer_syntax) else {
        return Vec::new();
    };
    let last = geometry.frames - 1;
    let mut frames = vec![0, last / 2, last];
    frames.dedup();
    frames
        .into_iter()
        .filter_map(|f| {
            let mut luma = geometry.luma(&data, f);
            // Scale first (tiny images up, pixel for pixel), then outline, so that a thin
            // outline survives the scaling.
            let longest = luma.width().max(luma.height());
            let scale = if longest >= THUMB {
                f64::from(THUMB) / f64::from(longest)
            } else {
                f64::from((THUMB / longest).min(8))
            };
            let size = |n: u32| ((f64::from(n) * scale).round() as u32).max(1);
            if scale != 1.0 {
                let filter = if scale > 1.0 {
                    imageops::FilterType::Nearest
                } else {
                    imageops::FilterType::Triangle
                };
                let (w, h) = (size(luma.width()), size(luma.height()));
                luma = imageops::resize(&luma, w, h, filter);
            }
            let mut rgb = RgbImage::from_fn(luma.width(), luma.height(), |x, y| {
                let v = luma.get_pixel(x, y).0[0];
                Rgb([v, v, v])
            });
            for r in regions {
                let at = |n: u32| (f64::from(n) * scale).floor() as i32;
                draw_hollow_rect_mut(
                    &mut rgb,
                    Rect::at(at(r.x), at(r.y)).of_size(size(r.width), size(r.height)),
                    OUTLINE,
                );
            }
            let mut png = Vec::new();
            image::codecs::png::PngEncoder::new(&mut png)
                .write_image(
                    rgb.as_raw(),
                    rgb.width(),
                    rgb.height(),
                    image::ExtendedColorType::Rgb8,
                )
                .ok()?;
            Some((f, png))
        })
        .collect()
}
