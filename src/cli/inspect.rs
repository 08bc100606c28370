//! `inspect`'s table on a terminal.

use dicom_deid::deid::TraceRow;
use dicom_deid::dicom::values::keyword;

/// How an action is coloured on a terminal: removals red, emptied/dummied yellow, kept plain,
/// rewritten (uid, hash, shift, clean, …) cyan.
fn action_color(action: &str) -> &'static str {
    match action.split_whitespace().next().unwrap_or("") {
        "remove" => "31",
        "empty" | "dummy" => "33",
        "keep" => "0",
        _ => "36",
    }
}

/// The table as text, one element a line, nested elements prefixed with `>` per level and
/// the item number: `>[2] (0040,A160)`.
pub fn render(rows: &[TraceRow], color: bool) -> String {
    let tag_text = |r: &TraceRow| {
        let depth = r.path.len();
        let item = r
            .path
            .last()
            .map(|(_, i)| format!("[{}] ", i + 1))
            .unwrap_or_default();
        format!(
            "{}{item}({:04X},{:04X})",
            ">".repeat(depth),
            r.tag.0,
            r.tag.1
        )
    };
    let name = |r: &TraceRow| {
        if r.tag.0 % 2 == 1 {
            match &r.creator {
                _ if (0x0010..=0x00FF).contains(&r.tag.1) => "private creator".to_owned(),
                Some(creator) => format!("@{creator}"),
                None => "private".to_owned(),
            }
        } else {
            keyword(r.tag)
        }
    };
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                tag_text(r),
                name(r),
                r.vr.to_string().to_owned(),
                r.action.clone(),
                r.layer.clone(),
            ]
        })
        .collect();
    let header = ["TAG", "KEYWORD", "VR", "ACTION", "LAYER"];
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let pad = |s: &str, w: usize| format!("{s}{}", " ".repeat(w.saturating_sub(s.chars().count())));
    let mut out = String::new();
    let head: Vec<String> = header.iter().zip(widths).map(|(h, w)| pad(h, w)).collect();
    out.push_str(&format!("{}  BEFORE -> AFTER\n", head.join("  ")));
    for (row, cells) in rows.iter().zip(&cells) {
        let mut line: Vec<String> = cells.iter().zip(widths).map(|(c, w)| pad(c, w)).collect();
        if color {
            line[3] = format!("\x1b[{}m{}\x1b[0m", action_color(&row.action), line[3]);
        }
        let change = if row.before == row.after {
            row.before.clone()
        } else {
            format!("{} -> {}", row.before, row.after)
        };
        out.push_str(&format!("{}  {change}\n", line.join("  ")));
    }
    out
}
