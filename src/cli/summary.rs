//! `summary`: the merged shards, or the problems that stop the merge.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use dicom_deid::run::{self, merge};

use super::args::SummaryArgs;
use super::run::human_summary;
use super::{Error, jobs_or_cores};

/// `summary`: check the shards of a run and merge them.
pub(super) fn summary(args: SummaryArgs) -> Result<ExitCode, Error> {
    let merged = merge::summarize(&args.output, jobs_or_cores(args.jobs)).map_err(Error::Merge)?;
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
