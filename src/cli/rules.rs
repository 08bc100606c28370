//! `rules suggest`: the rules on stdout (or `-o`), the review page with `--review`, and a
//! summary per group on stderr, or as JSON on stdout with `--json` (device and geometry,
//! counts, regions: nothing of a patient).

use std::io::Write as _;
use std::process::ExitCode;

use dicom_deid::dicom::uid::sop_class_name;
use dicom_deid::key::Key;
use dicom_deid::profile::BUILTIN;
use dicom_deid::run::suggest::{self, SuggestConfig};

use super::args::{RulesCommand, SuggestArgs};
use super::{Error, Verbosity, inside};

pub(super) fn rules_command(cmd: RulesCommand, verbosity: Verbosity) -> Result<ExitCode, Error> {
    match cmd {
        RulesCommand::Suggest(args) => suggest_command(args, verbosity),
    }
}

fn suggest_command(args: SuggestArgs, verbosity: Verbosity) -> Result<ExitCode, Error> {
    if let Some(review) = &args.review
        && (inside(review, &args.dataset) || inside(review, &args.input))
    {
        return Err(Error::ReviewInside);
    }
    if let Some(out) = &args.output
        && inside(out, &args.input)
    {
        return Err(Error::RulesInsideInput);
    }
    let (key, _) = Key::find(args.key_file.as_deref())
        .map_err(Error::Key)?
        .ok_or(Error::SuggestNoKey)?;
    let config = SuggestConfig {
        dataset: &args.dataset,
        input: &args.input,
        key: &key,
        per_group: usize::from(args.per_group),
        max_file_size: args.max_file_size,
    };
    let suggestion = suggest::suggest(&config).map_err(Error::Suggest)?;
    let quiet = verbosity == Verbosity::Quiet;
    if suggestion.quarantined == 0 {
        if args.json {
            print_json(&suggestion, None);
        } else if !quiet {
            eprintln!(
                "rules suggest: no image is quarantined as burned_in_no_rule: nothing to suggest"
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let extends = match args.extends {
        Some(name) => name,
        None => match suggestion.run_profile.clone() {
            Some(name) if BUILTIN.iter().any(|(n, _)| *n == name) => name,
            other => return Err(Error::SuggestExtends(other)),
        },
    };
    let yaml = suggest::yaml(&suggestion, &extends);
    match &args.output {
        Some(path) => std::fs::write(path, &yaml).map_err(|source| Error::Write {
            flag: "--output",
            path: path.clone(),
            source,
        })?,
        None => {
            let _ = std::io::stdout().lock().write_all(yaml.as_bytes());
        }
    }
    if let Some(path) = &args.review {
        std::fs::write(path, suggest::page(&suggestion)).map_err(|source| Error::Write {
            flag: "--review",
            path: path.clone(),
            source,
        })?;
    }
    if args.json {
        print_json(&suggestion, Some(&extends));
    } else if !quiet {
        eprintln!("{}", summary(&suggestion, args.review.is_some()));
    }
    Ok(ExitCode::SUCCESS)
}

/// The summary as one JSON object on stdout, for scheduled jobs: counts, the profile the rules
/// extend, and per group its device and geometry, its images' manifest ids, how many the
/// detector examined and the proposed regions (empty: the rule is left commented out).
fn print_json(s: &suggest::Suggestion, extends: Option<&str>) {
    let groups: Vec<serde_json::Value> = s
        .groups
        .iter()
        .enumerate()
        .map(|(n, g)| {
            let d = &g.device;
            let number = |v: &str| v.parse::<u32>().ok();
            serde_json::json!({
                "group": n + 1,
                "manufacturer": d.manufacturer,
                "model": d.model,
                "rows": number(&d.rows),
                "columns": number(&d.columns),
                "sop_class": d.sop_class,
                "sop_class_name": sop_class_name(&d.sop_class),
                "images": g.ids.len(),
                "ids": g.ids,
                "examined": g.examined.len(),
                "unreadable": g.unreadable,
                "regions": g.regions,
            })
        })
        .collect();
    let summary = serde_json::json!({
        "quarantined": s.quarantined,
        "missing": s.missing,
        "unreadable": s.unreadable,
        "extends": extends,
        "groups": groups,
    });
    let mut stdout = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut stdout, &summary);
    let _ = writeln!(stdout);
}

/// What was found, group by group.
fn summary(s: &suggest::Suggestion, review: bool) -> String {
    let mut text = format!(
        "rules suggest: {} image(s) quarantined as burned_in_no_rule, {} group(s)",
        s.quarantined,
        s.groups.len()
    );
    if s.missing > 0 {
        text.push_str(&format!(
            "; {} not found under --input (another INPUT, or moved)",
            s.missing
        ));
    }
    if s.unreadable > 0 {
        text.push_str(&format!("; {} could not be read", s.unreadable));
    }
    for (n, g) in s.groups.iter().enumerate() {
        let d = &g.device;
        let found = if g.regions.is_empty() {
            "no text found (rule left commented out)".to_owned()
        } else {
            format!("{} region(s)", g.regions.len())
        };
        let size = format!("{}x{}", d.columns, d.rows);
        let device = [
            d.manufacturer.as_str(),
            d.model.as_str(),
            &size,
            sop_class_name(&d.sop_class).unwrap_or(&d.sop_class),
        ]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
        text.push_str(&format!(
            "\n  group {}: {device}: {} image(s), {} examined, {found}",
            n + 1,
            g.ids.len(),
            g.examined.len(),
        ));
    }
    text.push_str(if review {
        "\n  review every group on the --review page before adopting the rules"
    } else {
        "\n  review the rules before adopting them (--review FILE.html draws each group's frames)"
    });
    text
}
