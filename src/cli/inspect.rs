//! `inspect`: one file's trace as a table, written only to a terminal unless forced.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use dicom_deid::deid::trace;
use dicom_deid::deid::{Deidentifier, TraceRow};
use dicom_deid::dicom::values::keyword;
use dicom_deid::key::Key;
use dicom_deid::pixel::Plan;
use dicom_deid::pixel::explain::PlanView;
use dicom_deid::profile::Profile;
use dicom_dictionary_std::tags;

use super::args::InspectArgs;
use super::{Error, use_color};

/// `inspect FILE`.
pub(super) fn inspect_command(args: InspectArgs) -> Result<ExitCode, Error> {
    let terminal = std::io::stdout().is_terminal();
    if !terminal && !args.force {
        return Err(Error::InspectNeedsTerminal);
    }
    let profile = Profile::load(&args.profile).map_err(Error::Profile)?;
    let key = match Key::find(args.key_file.as_deref()).map_err(Error::Key)? {
        Some((key, _)) => key,
        None => {
            eprintln!(
                "note: no key file found: new UIDs and pseudonyms below use a temporary key and differ from a run's (name one with --key-file)"
            );
            Key::generate()
        }
    };
    let read_error = |source| Error::Read {
        path: args.file.clone(),
        source,
    };
    let size = std::fs::metadata(&args.file).map_err(read_error)?.len();
    if size > args.max_file_size {
        return Err(Error::TooLarge {
            path: args.file.clone(),
            max: args.max_file_size,
        });
    }
    let bytes = std::fs::read(&args.file).map_err(read_error)?;
    let deidentifier = Deidentifier::new(profile, key);
    let inspection =
        trace::inspect(&deidentifier, &bytes, args.max_file_size).map_err(|source| {
            Error::Inspect {
                path: args.file.clone(),
                source,
            }
        })?;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "# {} (transfer syntax {}), profile {}",
        args.file.display(),
        inspection.transfer_syntax,
        deidentifier.profile().name
    );
    let mut rows = inspection.rows;
    if let Some(action) = pixel_action(&inspection.pixel.plan) {
        for row in rows
            .iter_mut()
            .filter(|r| r.path.is_empty() && r.tag == tags::PIXEL_DATA)
        {
            row.action = action.to_owned();
            row.layer = "pixel".to_owned();
        }
    }
    let _ = write!(stdout, "{}", render(&rows, use_color(terminal)));
    let _ = write!(stdout, "{}", render_plan(&inspection.pixel));
    Ok(ExitCode::SUCCESS)
}

/// What the PixelData row says when the pixel plan changes the pixels or the file.
fn pixel_action(plan: &Plan) -> Option<&'static str> {
    match plan {
        Plan::Mask(_) => Some("mask"),
        Plan::Quarantine(_) => Some("quarantine"),
        Plan::Untouched | Plan::KeptUnmasked => None,
    }
}

/// The pixel plan under the table: the decision, each matching rule with the regions it masks
/// on this image, and whether (and why) the detector runs.
fn render_plan(view: &PlanView) -> String {
    let mut out = String::from("\n# pixel plan: ");
    match &view.plan {
        Plan::Untouched => out.push_str(
            "untouched (no pixel data, or no rule matches and burned-in text is not likely)\n",
        ),
        Plan::KeptUnmasked => out.push_str(
            "kept unmasked (burned-in text likely, no rule matches, burned_in_without_rule: keep)\n",
        ),
        Plan::Quarantine(reason) => {
            out.push_str(&format!("quarantine ({}: {})\n", reason.code.as_str(), reason.text));
        }
        Plan::Mask(mask) => {
            out.push_str(&format!(
                "mask every frame ({} × {} pixels, {} frame{})\n",
                mask.geometry.columns,
                mask.geometry.rows,
                mask.geometry.frames,
                if mask.geometry.frames == 1 { "" } else { "s" }
            ));
            for (name, regions, detect) in &view.rules {
                let regions: Vec<String> = regions.iter().map(ToString::to_string).collect();
                let what = match (regions.is_empty(), detect) {
                    (true, true) => "detector".to_owned(),
                    (true, false) => "no region on this image".to_owned(),
                    (false, true) => format!("{} and the detector", regions.join(" ")),
                    (false, false) => regions.join(" "),
                };
                out.push_str(&format!("#   rule {name:?}: {what}\n"));
            }
            match view.detector {
                Some(why) => out.push_str(&format!("#   detector: yes ({why})\n")),
                None => out.push_str("#   detector: no\n"),
            }
        }
    }
    out
}

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
fn render(rows: &[TraceRow], color: bool) -> String {
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
