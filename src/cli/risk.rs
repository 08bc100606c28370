//! `risk`: the report on stdout (text or JSON), the page with --html; exit 0 when every
//! patient is in a class of at least k, 1 when some are not.

use std::fmt::Write as _;
use std::io::Write;
use std::process::ExitCode;

use dicom_deid::risk::{self, DEFAULT_QUASI_IDENTIFIERS, QuasiIdentifier, Report, RiskConfig};

use super::args::RiskArgs;
use super::{Error, Verbosity, inside, jobs_or_cores};

/// At most this many at-risk pseudonyms are printed as text (JSON and the page hold more).
const MAX_AT_RISK_LINES: usize = 100;

/// `risk DATASET`.
pub(super) fn risk_command(args: RiskArgs, verbosity: Verbosity) -> Result<ExitCode, Error> {
    let names: Vec<&str> = if args.qi.is_empty() {
        DEFAULT_QUASI_IDENTIFIERS.to_vec()
    } else {
        args.qi.iter().map(String::as_str).collect()
    };
    let mut quasi_identifiers: Vec<QuasiIdentifier> = Vec::new();
    for name in names
        .into_iter()
        .chain(args.add_qi.iter().map(String::as_str))
    {
        let qi = QuasiIdentifier::parse(name).map_err(Error::Risk)?;
        if !quasi_identifiers.contains(&qi) {
            quasi_identifiers.push(qi);
        }
    }
    if let Some(page) = &args.html
        && inside(page, &args.dataset)
    {
        return Err(Error::RiskHtmlInsideDataset);
    }
    let config = RiskConfig {
        dataset: args.dataset.clone(),
        k: args.k as usize,
        quasi_identifiers,
        population: args.population,
        max_file_size: args.max_file_size,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs_or_cores(args.jobs))
        .build()
        .map_err(|e| Error::Threads(e.to_string()))?;
    let report = pool
        .install(|| risk::measure(&config))
        .map_err(Error::Risk)?;
    if let Some(page) = &args.html {
        risk::html::write(page, &report).map_err(|source| Error::RiskHtml {
            path: page.clone(),
            source,
        })?;
    }
    if let Some(page) = &args.html
        && verbosity != Verbosity::Quiet
    {
        eprintln!("risk: wrote {}", page.display());
    }
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let _ = serde_json::to_writer_pretty(&mut stdout, &report);
        let _ = writeln!(stdout);
    } else if verbosity != Verbosity::Quiet {
        let _ = stdout.write_all(text(&report).as_bytes());
    }
    Ok(if report.figures.patients_below_k == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The report as text.
fn text(report: &Report) -> String {
    let f = &report.figures;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "risk: {} patients in {} DICOM files, k = {} over {} quasi-identifiers",
        f.patients,
        report.files.dicom,
        f.k,
        report.quasi_identifiers.len()
    );
    let skipped =
        report.files.not_dicom + report.files.unreadable + report.files.without_patient_id;
    if skipped > 0 {
        let _ = writeln!(
            out,
            "  skipped: {} not DICOM, {} unreadable or too large, {} without PatientID",
            report.files.not_dicom, report.files.unreadable, report.files.without_patient_id
        );
    }
    if !report.absent.is_empty() {
        let _ = writeln!(out, "  not in the dataset: {}", report.absent.join(", "));
    }
    let _ = writeln!(
        out,
        "{} patients in classes smaller than {} ({:.1}%), {} unique; {} classes",
        f.patients_below_k,
        f.k,
        100.0 * f.patients_below_k as f64 / f.patients as f64,
        f.unique_patients,
        f.groups
    );
    let sizes: Vec<String> = f
        .group_sizes
        .iter()
        .map(|s| format!("{}×{}", s.groups, s.size))
        .collect();
    let _ = writeln!(out, "class sizes (classes×size): {}", sizes.join(" "));
    out.push_str("attributes, riskiest first (patients made unique / put below k when added to the others; unique alone):\n");
    for a in risk::html::riskiest(report) {
        let rare = risk::html::rare_text(a);
        let _ = writeln!(
            out,
            "  {:<24} +{} unique, +{} below k; {} alone; {} values{}",
            a.name,
            a.unique_added,
            a.below_k_added,
            a.unique_alone,
            a.distinct_values,
            if rare.is_empty() {
                String::new()
            } else {
                format!("; rare: {rare}")
            }
        );
    }
    if let Some(p) = &f.prosecutor {
        let _ = writeln!(
            out,
            "prosecutor risk: highest {:.4}, average {:.4}",
            p.max, p.average
        );
    }
    match &report.journalist {
        Some(j) => {
            let _ = writeln!(
                out,
                "journalist risk (population {}): highest {:.4}, average {:.4}",
                j.population, j.max, j.average
            );
        }
        None => out.push_str("journalist risk: give --population N\n"),
    }
    at_risk_and_suggestion(report, &mut out);
    out
}

fn at_risk_and_suggestion(report: &Report, out: &mut String) {
    let f = &report.figures;
    if !f.at_risk.is_empty() {
        let _ = writeln!(
            out,
            "at risk (pseudonym, class size, rare values on; removing one alone reaches k):"
        );
        for r in f.at_risk.iter().take(MAX_AT_RISK_LINES) {
            let _ = writeln!(
                out,
                "  {}  {}  rare: {}  alone: {}",
                r.pseudonym,
                r.group_size,
                dash_if_empty(&r.rare),
                dash_if_empty(&r.removal_reaches_k)
            );
        }
        if f.at_risk.len() > MAX_AT_RISK_LINES {
            let _ = writeln!(
                out,
                "  ... and {} more (--json or --html list them all)",
                f.at_risk.len() - MAX_AT_RISK_LINES
            );
        }
    }
    let s = &report.suggestion;
    if s.lines.is_empty() && f.patients_below_k > 0 {
        let _ = writeln!(
            out,
            "no generalisation of the measured attributes lowers the number of patients below k = {} (too few patients, or the rare values are in attributes without one, like Modality)",
            f.k
        );
    }
    if !s.lines.is_empty() {
        let _ = writeln!(
            out,
            "to reach k = {}, add under the profile's attributes (regrouped with them: k = {}, {} patients below {}):",
            f.k, s.reached_k, s.patients_below_k, f.k
        );
        for line in s.profile_lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
}

fn dash_if_empty(names: &[String]) -> String {
    if names.is_empty() {
        "-".to_owned()
    } else {
        names.join(",")
    }
}
