//! `run --qa-report FILE.html`: a page for a person to spot-check a run.
//!
//! - **Every kind of written image**, sampled: written files are grouped by kind (modality,
//!   SOP class, colour or grey, and what happened to the pixels: masked by a rule, masked by
//!   the detector, examined by the detector with nothing found, not masked), and from each
//!   kind up to N files are drawn, N set by the user. The draw ranks files by a keyed hash of
//!   their manifest id under the run's key, so the same run gives the same sample, whatever
//!   the thread count or walk order, and nobody without the key can predict it.
//! - Each sampled file shows its first, middle and last frames as written, in colour where
//!   the image is colour, with the masked regions outlined.
//! - **Every file not written** for a reason a person must act on (quarantined, failed), by
//!   manifest id, reason code and reason text. Their pixels are never shown: a quarantined
//!   image is one whose burned-in text was not (or could not be) removed.
//!
//! Every row carries its manifest id (the `id` of its record) and is an anchor
//! (`FILE.html#r-ID`). The page reads only the de-identified output and the manifest, so it
//! shows no more than they hold.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use dicom_dictionary_std::tags;
use dicom_object::OpenFileOptions;
use image::Rgb;

use crate::dicom::file::{self, Parsed};
use crate::dicom::reason::Code;
use crate::dicom::uid::sop_class_name;
use crate::key::{Key, Purpose};
use crate::pixel::preview::{Picture, first_middle_last};
use crate::pixel::{DETECTOR, PixelCheck};
use crate::run::manifest::{self, Record, Status};

/// Files drawn from each kind when the user does not say.
pub const DEFAULT_SAMPLE: usize = 10;
/// At most this many files not written get a row; the rest are counted (the manifest has all).
const MAX_NOT_WRITTEN: usize = 5_000;
const OUTLINE: Rgb<u8> = Rgb([255, 40, 40]);
/// A deflated output this tool wrote inflates to at most this for a preview.
const MAX_INFLATED: u64 = 1 << 30;

/// What happened to a written file's pixels, from its manifest record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Pixels {
    MaskedByRule,
    MaskedByDetector,
    /// The detector looked and masked nothing: the pixels are as they came in.
    ExaminedNothingFound,
    NotMasked,
}

impl Pixels {
    fn of(record: &Record) -> Self {
        match record.pixel_check {
            Some(PixelCheck::Masked) if record.pixel_masked_by.iter().any(|m| m != DETECTOR) => {
                Pixels::MaskedByRule
            }
            Some(PixelCheck::Masked) => Pixels::MaskedByDetector,
            Some(PixelCheck::Examined) => Pixels::ExaminedNothingFound,
            Some(PixelCheck::Passed) | None => Pixels::NotMasked,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Pixels::MaskedByRule => "masked by a rule",
            Pixels::MaskedByDetector => "masked by the detector",
            Pixels::ExaminedNothingFound => "examined by the detector, nothing found",
            Pixels::NotMasked => "not masked",
        }
    }
}

/// A kind of written file: what a reviewer would want one example of.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Kind {
    modality: String,
    sop_class: String,
    /// Whether it has pixels at all (a structured report has none).
    image: bool,
    colour: bool,
    pixels: Pixels,
}

impl Kind {
    /// The kind of a written file, from its record and the header of its output (a header
    /// that cannot be read makes a kind of its own).
    fn of(record: &Record, output: &Path) -> Self {
        let header = record
            .output
            .as_deref()
            .and_then(|rel| {
                OpenFileOptions::new()
                    .read_until(tags::PIXEL_DATA)
                    .open_file(output.join(rel))
                    .ok()
            })
            .map(|file| file.into_inner());
        let text = |tag| {
            header
                .as_ref()
                .and_then(|h| h.get(tag))
                .and_then(|e| e.to_str().ok())
                .map(|s| s.trim_end_matches(['\0', ' ']).trim().to_owned())
                .unwrap_or_default()
        };
        let uid = text(tags::SOP_CLASS_UID);
        let photometric = text(tags::PHOTOMETRIC_INTERPRETATION);
        Kind {
            modality: text(tags::MODALITY),
            sop_class: sop_class_name(&uid).map_or(uid, str::to_owned),
            image: !text(tags::ROWS).is_empty(),
            colour: text(tags::SAMPLES_PER_PIXEL) == "3" || photometric == "PALETTE COLOR",
            pixels: Pixels::of(record),
        }
    }

    fn text(&self) -> String {
        let or_unknown = |s: &str| {
            if s.is_empty() {
                "?".to_owned()
            } else {
                s.to_owned()
            }
        };
        format!(
            "{} · {} · {} · {}",
            or_unknown(&self.modality),
            or_unknown(&self.sop_class),
            match (self.image, self.colour) {
                (false, _) => "no image",
                (true, true) => "colour",
                (true, false) => "grey",
            },
            self.pixels.text()
        )
    }
}

/// One kind's count and its sample: the records of smallest rank, rank first.
#[derive(Default)]
struct Drawn {
    count: u64,
    sample: Vec<(u64, Record)>,
}

impl Drawn {
    fn offer(&mut self, rank: u64, record: Record, size: usize) {
        self.count += 1;
        if size == 0 {
            return;
        }
        if self.sample.len() < size {
            self.sample.push((rank, record));
        } else if let Some(worst) = (0..self.sample.len()).max_by_key(|&i| self.sample[i].0)
            && rank < self.sample[worst].0
        {
            self.sample[worst] = (rank, record);
        }
    }
}

/// What the page is made of, gathered in one pass over the manifest.
#[derive(Default)]
struct Contents {
    kinds: BTreeMap<Kind, Drawn>,
    status: BTreeMap<Status, u64>,
    /// Skipped, quarantined and failed files per reason code.
    codes: BTreeMap<(Status, Code), u64>,
    not_written: Vec<Record>,
}

/// Write the report for a finished run into `path`, from its manifest, drawing up to
/// `per_kind` files of each kind with `key` (the run's).
pub fn write(
    path: &Path,
    output: &Path,
    manifest: &Path,
    key: &Key,
    per_kind: usize,
) -> std::io::Result<()> {
    let mut contents = Contents::default();
    for record in manifest::records(manifest)? {
        *contents.status.entry(record.status).or_default() += 1;
        if let Some(code) = record.code {
            *contents.codes.entry((record.status, code)).or_default() += 1;
        }
        match record.status {
            Status::Written if record.output.is_some() => {
                let kind = Kind::of(&record, output);
                let rank = key.mac_u64(Purpose::Sample, record.id.as_bytes());
                let size = if kind.image { per_kind } else { 0 };
                contents
                    .kinds
                    .entry(kind)
                    .or_default()
                    .offer(rank, record, size);
            }
            Status::Quarantined | Status::Failed
                if contents.not_written.len() < MAX_NOT_WRITTEN =>
            {
                contents.not_written.push(record);
            }
            _ => {}
        }
    }
    for drawn in contents.kinds.values_mut() {
        drawn.sample.sort_by_key(|(rank, _)| *rank);
    }
    std::fs::write(path, page(&contents, output, per_kind))
}

const STYLE: &str = concat!(
    "body{font:14px system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}\n",
    "table{border-collapse:collapse;margin-bottom:1.5em}",
    "td,th{border:1px solid #ccc;padding:6px;vertical-align:top}\n",
    "th{background:#eee;text-align:left}",
    "img.frame{image-rendering:pixelated;margin-right:6px;background:#000}\n",
    "code{font-size:12px;word-break:break-all}td.path{max-width:26em}\n",
    "h2{margin-top:1.5em}tr.kind th{background:#dde6f0}\n",
);

fn page(c: &Contents, output: &Path, per_kind: usize) -> String {
    let mut html = String::new();
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n\
         <title>dicom-deid QA report</title>\n<style>\n{STYLE}</style></head><body>\n\
         <h1>QA report</h1>\n"
    );
    let count = |s| c.status.get(&s).copied().unwrap_or(0);
    let _ = writeln!(
        html,
        "<p>{} files: {} written, {} quarantined, {} failed, {} skipped. Each row names its \
         manifest record by <code>id</code> (in <code>manifest.jsonl</code>) and links to \
         itself as <code>#r-ID</code>.</p>",
        c.status.values().sum::<u64>(),
        count(Status::Written),
        count(Status::Quarantined),
        count(Status::Failed),
        count(Status::Skipped),
    );
    kinds_table(&mut html, c, per_kind);
    samples(&mut html, c, output);
    not_written(&mut html, c);
    html.push_str("</body></html>\n");
    html
}

fn kinds_table(html: &mut String, c: &Contents, per_kind: usize) {
    let _ = writeln!(
        html,
        "<h2 id=\"kinds\">Written files by kind</h2>\n<p>Up to {per_kind} image(s) of each kind \
         are drawn by the run's key: the same run draws the same files. Frames are shown as \
         written (after masking), in colour where the image is colour; masked regions are \
         outlined in red.</p>\n<table>\n<tr><th>kind</th><th>files</th><th>shown</th></tr>"
    );
    for (i, (kind, drawn)) in c.kinds.iter().enumerate() {
        let _ = writeln!(
            html,
            "<tr><td><a href=\"#k-{i}\">{}</a></td><td>{}</td><td>{}</td></tr>",
            escape(&kind.text()),
            drawn.count,
            drawn.sample.len()
        );
    }
    html.push_str("</table>\n");
}

fn samples(html: &mut String, c: &Contents, output: &Path) {
    html.push_str(
        "<h2 id=\"sample\">Sample of written images</h2>\n<table>\n<tr><th>manifest id</th>\
         <th>output</th><th>pixels</th><th>regions</th><th>frames (first, middle, last)</th></tr>\n",
    );
    for (i, (kind, drawn)) in c.kinds.iter().enumerate() {
        if drawn.sample.is_empty() {
            continue;
        }
        let _ = writeln!(
            html,
            "<tr class=\"kind\" id=\"k-{i}\"><th colspan=\"5\">{} ({} of {})</th></tr>",
            escape(&kind.text()),
            drawn.sample.len(),
            drawn.count
        );
        for (_, record) in &drawn.sample {
            sample_row(html, record, output);
        }
    }
    html.push_str("</table>\n");
}

fn sample_row(html: &mut String, record: &Record, output: &Path) {
    let rel = record.output.as_deref().unwrap_or_default();
    let pixels = if record.pixel_masked_by.is_empty() {
        Pixels::of(record).text().to_owned()
    } else {
        format!(
            "{} ({})",
            Pixels::of(record).text(),
            record.pixel_masked_by.join(", ")
        )
    };
    let _ = write!(
        html,
        "<tr id=\"r-{id}\"><td><a href=\"#r-{id}\"><code>{id}</code></a></td>\
         <td class=\"path\"><code>{}</code></td><td>{}</td><td>{}</td><td>",
        escape(rel),
        escape(&pixels),
        record.pixel_regions.len(),
        id = escape(&record.id),
    );
    let thumbs = std::fs::read(output.join(rel))
        .ok()
        .and_then(|bytes| match file::parse(&bytes, MAX_INFLATED) {
            Ok(Parsed::Dataset {
                object,
                transfer_syntax,
            }) => Picture::from_object(object, &transfer_syntax).ok(),
            _ => None,
        })
        .map(|picture| {
            picture.thumbnails(
                &first_middle_last(picture.geometry.frames),
                &[(&record.pixel_regions, OUTLINE)],
            )
        })
        .unwrap_or_default();
    if thumbs.is_empty() {
        html.push_str("(no preview: the pixel data cannot be shown)");
    }
    for (frame, png) in thumbs {
        let _ = write!(
            html,
            "<img class=\"frame\" alt=\"frame {frame}\" title=\"frame {frame}\" \
             src=\"data:image/png;base64,{}\">",
            data_encoding::BASE64.encode(&png)
        );
    }
    html.push_str("</td></tr>\n");
}

fn not_written(html: &mut String, c: &Contents) {
    html.push_str(
        "<h2 id=\"not-written\">Files not written</h2>\n<p>By reason code (README, \
         \"Reason codes\"). Quarantined images are never shown: their pixels may hold \
         burned-in text.</p>\n<table>\n<tr><th>status</th><th>code</th><th>files</th></tr>\n",
    );
    for ((status, code), n) in &c.codes {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td><code>{code}</code></td><td>{n}</td></tr>",
            status.as_str()
        );
    }
    html.push_str(
        "</table>\n<table>\n<tr><th>manifest id</th><th>status</th><th>code</th><th>reason</th></tr>\n",
    );
    for record in &c.not_written {
        let _ = writeln!(
            html,
            "<tr id=\"r-{id}\"><td><a href=\"#r-{id}\"><code>{id}</code></a></td><td>{}</td>\
             <td><code>{}</code></td><td>{}</td></tr>",
            record.status.as_str(),
            record.code.map_or("", Code::as_str),
            escape(record.reason.as_deref().unwrap_or_default()),
            id = escape(&record.id),
        );
    }
    html.push_str("</table>\n");
    let listed = c.not_written.len() as u64;
    let total = c.status.get(&Status::Quarantined).copied().unwrap_or(0)
        + c.status.get(&Status::Failed).copied().unwrap_or(0);
    if total > listed {
        let _ = writeln!(
            html,
            "<p>{} more not listed here: see the manifest.</p>",
            total - listed
        );
    }
}

/// Text made safe inside HTML elements and attribute values.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(check: Option<PixelCheck>, masked_by: &[&str]) -> Record {
        let mut r = Record::new("id".into(), Status::Written, None, 0);
        r.pixel_check = check;
        r.pixel_masked_by = masked_by.iter().map(|s| (*s).to_owned()).collect();
        r
    }

    #[test]
    fn a_file_counts_as_masked_only_when_its_pixels_changed() {
        use PixelCheck::*;
        assert_eq!(Pixels::of(&written(None, &[])), Pixels::NotMasked);
        assert_eq!(Pixels::of(&written(Some(Passed), &[])), Pixels::NotMasked);
        assert_eq!(
            Pixels::of(&written(Some(Examined), &[])),
            Pixels::ExaminedNothingFound
        );
        assert_eq!(
            Pixels::of(&written(Some(Masked), &[DETECTOR])),
            Pixels::MaskedByDetector
        );
        assert_eq!(
            Pixels::of(&written(Some(Masked), &["band", DETECTOR])),
            Pixels::MaskedByRule
        );
    }

    #[test]
    fn a_kind_keeps_the_smallest_ranks() {
        let mut drawn = Drawn::default();
        for rank in [50, 10, 40, 20, 30] {
            drawn.offer(rank, written(None, &[]), 2);
        }
        let mut ranks: Vec<u64> = drawn.sample.iter().map(|(r, _)| *r).collect();
        ranks.sort();
        assert_eq!((drawn.count, ranks), (5, vec![10, 20]));
    }
}
