//! `summary`: the merged shards, or the problems that stop the merge; on a dataset (made
//! without shards), its totals over every run, from its catalogue.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use dicom_deid::run::{self, catalogue, merge};

use super::args::SummaryArgs;
use super::run::human_summary;
use super::{Error, jobs_or_cores};

/// `summary`: check the shards of a run and merge them.
pub(super) fn summary(args: SummaryArgs) -> Result<ExitCode, Error> {
    let merged = match merge::summarize(&args.output, jobs_or_cores(args.jobs)) {
        // A dataset (no shards): its totals, from its catalogue.
        Err(merge::SummaryError::NoShards(_)) if catalogue::path(&args.output).is_file() => {
            return dataset_totals(&args);
        }
        merged => merged.map_err(Error::Merge)?,
    };
    if args.json {
        let mut stdout = std::io::stdout().lock();
        let _ = serde_json::to_writer(&mut stdout, &merged);
        let _ = writeln!(stdout);
    } else {
        eprintln!("{}", human_merged(&merged, &args.output));
    }
    Ok(ExitCode::from(merged.exit_code()))
}

fn human_merged(m: &merge::Merged, output: &Path) -> String {
    let mut text = match &m.summary {
        Some(s) => format!("{} shards reported; {}", m.shards.len(), human_summary(s)),
        None => "no shard summary could be read".to_owned(),
    };
    if m.problems_total == 0 {
        text.push_str(&format!(
            "\nthe shards make up one whole run: wrote {} and {}",
            output.join(run::MANIFEST).display(),
            output.join(run::SUMMARY).display()
        ));
    } else {
        text.push_str(&format!(
            "\n{} problem(s), nothing written:",
            m.problems_total
        ));
        for problem in &m.problems {
            text.push_str(&format!("\n  {problem}"));
        }
        if m.problems.len() < m.problems_total {
            text.push_str(&format!(
                "\n  ... and {} more (all are counted; the first {} are listed)",
                m.problems_total - m.problems.len(),
                m.problems.len()
            ));
        }
    }
    text
}

/// `summary DATASET`: the records of every run, by status and reason code (`--json`:
/// `{"dataset": {...}}`).
fn dataset_totals(args: &SummaryArgs) -> Result<ExitCode, Error> {
    let totals = catalogue::totals(&args.output).map_err(Error::History)?;
    if args.json {
        let mut stdout = std::io::stdout().lock();
        let _ = serde_json::to_writer(&mut stdout, &serde_json::json!({ "dataset": totals }));
        let _ = writeln!(stdout);
    } else {
        let list = |counts: &std::collections::BTreeMap<String, u64>| {
            let items: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
            items.join(", ")
        };
        eprintln!(
            "a dataset of {} run(s) (the last: {:04}), {} records: {}",
            totals.runs,
            totals.last_run,
            totals.records,
            list(&totals.status)
        );
        if !totals.codes.is_empty() {
            eprintln!("by reason code: {}", list(&totals.codes));
        }
        eprintln!("(`dicom-deid history` lists the runs)");
    }
    Ok(ExitCode::SUCCESS)
}
