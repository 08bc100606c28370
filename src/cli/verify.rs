//! `verify`: findings on stdout (leaks in red on a terminal), the tally on stderr.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use dicom_deid::key::Key;
use dicom_deid::profile::Profile;
use dicom_deid::run::manifest::Summary;
use dicom_deid::verify::{self, Check, VerifyConfig};

use super::args::VerifyArgs;
use super::{Error, Verbosity, use_color};

/// The profile `verify` checks against: the one named, else the run's (from summary.json).
fn verify_profile(args: &VerifyArgs) -> Result<Profile, Error> {
    if let Some(name) = &args.profile {
        return Profile::load(name).map_err(Error::Profile);
    }
    let summary_path = args.output.join("summary.json");
    let summary: Summary = std::fs::read(&summary_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(Error::NoRunSummary(summary_path))?;
    let origin = summary.profile.chain.last().cloned().unwrap_or_default();
    let name = origin.strip_prefix("builtin:").unwrap_or(&origin);
    Profile::load(name).map_err(Error::RunProfile)
}

/// `verify OUTPUT`.
pub(super) fn verify_command(args: VerifyArgs, verbosity: Verbosity) -> Result<ExitCode, Error> {
    let profile = verify_profile(&args)?;
    let key = Key::find(args.key_file.as_deref())
        .map_err(Error::Key)?
        .map(|(key, _)| key);
    let config = VerifyConfig {
        output: args.output.clone(),
        profile,
        key,
        against: args.against.clone(),
        max_file_size: args.max_file_size,
        strict: args.strict,
    };
    let report = verify::verify(&config).map_err(Error::Verify)?;
    if args.json {
        let mut stdout = std::io::stdout().lock();
        let _ = serde_json::to_writer_pretty(&mut stdout, &report);
        let _ = writeln!(stdout);
    } else {
        let color = use_color(std::io::stdout().is_terminal());
        let mut stdout = std::io::stdout().lock();
        for f in &report.findings {
            let label = f.to_string();
            let line = if color && f.check == Check::Leak {
                format!("\x1b[31m{label}\x1b[0m")
            } else {
                label
            };
            let _ = writeln!(stdout, "{line}");
        }
    }
    if verbosity != Verbosity::Quiet {
        for note in &report.notes {
            eprintln!("note: {note}");
        }
        if verbosity == Verbosity::Verbose {
            for (kind, n) in &report.values_by_kind {
                eprintln!("searched: {n} {kind} values");
            }
        }
        let mut by_check = std::collections::BTreeMap::new();
        for f in &report.findings {
            *by_check.entry(f.check).or_insert(0u64) += 1;
        }
        let counts: Vec<String> = by_check
            .iter()
            .map(|(c, n)| {
                let name = serde_json::to_value(c)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                format!("{n} {name}")
            })
            .collect();
        let against = if args.against.is_some() {
            format!(
                ", {} identifying values of {} inputs searched",
                report.identifying_values, report.inputs
            )
        } else {
            String::new()
        };
        if report.exit_code() == 0 && !report.findings.is_empty() {
            eprintln!(
                "verify: {} files checked against profile {}{against}: no problems; {} review items (values that may identify someone: look at each; --strict fails on them)",
                report.files,
                report.profile,
                report.findings.len()
            );
        } else if report.findings.is_empty() {
            eprintln!(
                "verify: {} files checked against profile {}{against}: no problems",
                report.files, report.profile
            );
        } else {
            eprintln!(
                "verify: {} files checked against profile {}{against}: {} problems ({})",
                report.files,
                report.profile,
                report.findings.len(),
                counts.join(", ")
            );
            eprintln!(
                "  leaks and removed attributes need the profile fixed (`dicom-deid inspect FILE` shows why each element was kept) and the run redone; manifest problems mean OUTPUT changed after the run"
            );
        }
        if args.against.is_none() {
            eprintln!(
                "  add --against INPUT to also search the outputs for the inputs' identifying values"
            );
        }
    }
    Ok(ExitCode::from(report.exit_code()))
}
