//! `history`: the runs of a dataset, from its catalogue.

use std::io::Write;
use std::process::ExitCode;

use dicom_deid::run::catalogue::{self, RunRow};

use super::Error;
use super::args::HistoryArgs;

/// `history DATASET`: one line per run, or `{"runs": [...]}` with `--json`.
pub(super) fn history(args: HistoryArgs) -> Result<ExitCode, Error> {
    let runs = catalogue::history(&args.dataset).map_err(Error::History)?;
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let _ = serde_json::to_writer(&mut stdout, &serde_json::json!({ "runs": runs }));
        let _ = writeln!(stdout);
    } else {
        let _ = writeln!(
            stdout,
            "run   started               finished              version  input             profile (sha256)                key               files  written  skipped  failed  quarantined"
        );
        for run in &runs {
            let _ = writeln!(stdout, "{}", line(run));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn line(r: &RunRow) -> String {
    let profile = format!(
        "{} ({})",
        r.profile_name,
        &r.profile_sha256[..12.min(r.profile_sha256.len())]
    );
    format!(
        "{:04}  {:<20}  {:<20}  {:<7}  {:<16}  {:<30}  {:<16}  {:>5}  {:>7}  {:>7}  {:>6}  {:>11}",
        r.run,
        r.started,
        r.finished,
        r.tool_version,
        r.input.as_deref().unwrap_or(&r.input_id),
        profile,
        r.key_fingerprint,
        r.files,
        r.written,
        r.skipped,
        r.failed,
        r.quarantined
    )
}
