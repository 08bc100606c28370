//! The review page of a suggestion: per group, its device and geometry, the proposed
//! regions, and the first, middle and last frames of each image the detector looked at with
//! those regions outlined. The frames are **input pixels, burned-in PHI included**; the page
//! says so at its top.

use std::fmt::Write as _;

use super::Suggestion;
use crate::dicom::uid::sop_class_name;
use crate::run::qa_report::escape;

/// The page's HTML.
pub fn page(s: &Suggestion) -> String {
    let mut html = String::from(concat!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n",
        "<title>dicom-deid suggested pixel rules</title>\n<style>\n",
        "body{font:14px system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}\n",
        ".phi{background:#b00020;color:#fff;padding:.8em;font-weight:bold}\n",
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:6px;vertical-align:top}\n",
        "th{background:#eee;text-align:left}img{image-rendering:pixelated;margin-right:6px;background:#000}\n",
        "code{font-size:12px}section{margin-bottom:2em}\n</style></head><body>\n",
        "<p class=\"phi\">This page shows INPUT pixels: burned-in names, IDs and dates included. ",
        "Keep it where the input is kept, share it with no one who may not see the input, and ",
        "delete it after the review.</p>\n<h1>Suggested pixel rules</h1>\n",
    ));
    let _ = writeln!(
        html,
        "<p>{} image(s) quarantined as <code>burned_in_no_rule</code>, in {} group(s){}{}. \
         What the detector found in each image is outlined in yellow, the proposed regions (the \
         union of what it found in the group) in red. Adopt a group's rule only if every \
         frame's text lies inside the red boxes.</p>",
        s.quarantined,
        s.groups.len(),
        if s.missing > 0 {
            format!("; {} no longer under INPUT", s.missing)
        } else {
            String::new()
        },
        if s.unreadable > 0 {
            format!("; {} could not be read", s.unreadable)
        } else {
            String::new()
        },
    );
    for (n, g) in s.groups.iter().enumerate() {
        let d = &g.device;
        let _ = writeln!(
            html,
            "<section id=\"group-{n1}\"><h2>group {n1}: {} {} — {}×{} — {}</h2>",
            escape(&d.manufacturer),
            escape(&d.model),
            escape(&d.columns),
            escape(&d.rows),
            escape(sop_class_name(&d.sop_class).unwrap_or(&d.sop_class)),
            n1 = n + 1,
        );
        let regions: Vec<String> = g.regions.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            html,
            "<p>{} image(s); the detector looked at {}{}. Proposed regions: {}</p>",
            g.ids.len(),
            g.examined.len(),
            if g.unreadable > 0 {
                format!(" ({} more could not be decoded)", g.unreadable)
            } else {
                String::new()
            },
            if regions.is_empty() {
                "none (no text found; the rule is left commented out)".to_owned()
            } else {
                format!("<code>{}</code>", regions.join(", "))
            }
        );
        html.push_str(
            "<table>\n<tr><th>manifest id</th><th>found</th><th>frames (first, middle, last)</th></tr>\n",
        );
        for e in &g.examined {
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td>{} region(s)</td><td>",
                escape(&e.id),
                e.regions.len()
            );
            for (frame, png) in &e.thumbnails {
                let _ = write!(
                    html,
                    "<img alt=\"frame {frame}\" title=\"frame {frame}\" src=\"data:image/png;base64,{}\">",
                    data_encoding::BASE64.encode(png)
                );
            }
            html.push_str("</td></tr>\n");
        }
        html.push_str("</table></section>\n");
    }
    html.push_str("</body></html>\n");
    html
}
