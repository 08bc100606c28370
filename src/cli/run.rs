//! `run`: the progress bar, the per-file lines and the summary on the terminal.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use dicom_deid::deid::Deidentifier;
use dicom_deid::key::{Key, KeySource};
use dicom_deid::profile::Profile;
use dicom_deid::run::manifest::{Record, Status, Summary};
use dicom_deid::run::qa_report;
use dicom_deid::run::{self, Reporter, RunConfig, broker};

use super::args::RunArgs;
use super::{Error, Verbosity, jobs_or_cores};

/// `run`: de-identify a tree.
pub(super) fn run(args: RunArgs, verbosity: Verbosity) -> Result<ExitCode, Error> {
    let quiet = verbosity == Verbosity::Quiet;
    let profile = Profile::load(&args.profile).map_err(Error::Profile)?;
    if !quiet {
        for warning in &profile.warnings {
            eprintln!("dicom-deid: warning: {warning}");
        }
    }
    let (key, source) = Key::resolve(args.key_file.as_deref()).map_err(Error::Key)?;
    if let KeySource::UserCreated(path) = &source {
        eprintln!(
            "dicom-deid: created a new key at {} (keep it: the same key gives the same output)",
            path.display()
        );
    }
    if let KeySource::Named(path) | KeySource::UserDefault(path) = &source
        && Key::readable_by_others(path)
    {
        eprintln!(
            "dicom-deid: warning: key file {} is readable by other users; `chmod 600` it (the key unlocks every pseudonym)",
            path.display()
        );
    }
    let shard = match &args.shard_env {
        Some(spec) => Some(
            spec.resolve(std::env::var(&spec.var).ok().as_deref())
                .map_err(Error::ShardEnv)?,
        ),
        None => args.shard,
    };
    let jobs = jobs_or_cores(args.jobs);
    let fail_on = args.fail_on();
    if let Some(report) = &args.qa_report {
        let dir = report
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        if let (Ok(dir), Ok(input)) = (dir.canonicalize(), args.input.canonicalize())
            && dir.starts_with(&input)
        {
            return Err(Error::QaReportInsideInput);
        }
    }
    let linkage_recipients = recipients(
        &args.linkage_recipient,
        args.linkage_recipients_file.as_deref(),
    )?;
    let config = RunConfig {
        input: args.input,
        output: args.output,
        deidentifier: Deidentifier::new(profile, key.clone()),
        key,
        jobs,
        resume: args.resume,
        add: args.add,
        dry_run: args.dry_run,
        shard,
        linkage: args.linkage,
        linkage_recipients,
        triage: args.triage,
        manifest_paths: args.manifest_paths,
        follow_links: args.follow_links,
        max_file_size: args.max_file_size,
        fsync: args.fsync.into(),
    };
    let show_bar = !quiet && std::io::stderr().is_terminal();
    let reporter = TerminalReporter::new(show_bar, verbosity, args.dry_run);
    let outcome = run::run(&config, &reporter).map_err(Error::Run)?;
    reporter.bar.finish_and_clear();
    let mut stdout = std::io::stdout().lock();
    let summary = &outcome.summary;
    if args.json {
        let _ = serde_json::to_writer(&mut stdout, summary);
        let _ = writeln!(stdout);
    } else if !quiet {
        eprintln!("{}", human_summary(summary));
        if let Some(line) = reporter.suspect_line(summary.suspect_skips()) {
            eprintln!("{line}");
        }
        if summary.count(Status::Failed) + summary.count(Status::Quarantined) > 0 {
            eprintln!(
                "  see {} for the reason of each file; fix or remove them (or change the profile), then run again with `--add`",
                config_manifest_hint(summary)
            );
        }
    }
    let mut code = summary.exit_code(fail_on);
    if let Some(report) = &args.qa_report
        && let Err(e) = qa_report::write(
            report,
            &config.output,
            &outcome.manifest,
            &config.key,
            args.qa_sample,
        )
    {
        eprintln!(
            "dicom-deid: error: cannot write --qa-report {}: {e}",
            report.display()
        );
        code = code.max(1);
    }
    Ok(ExitCode::from(code))
}

pub(super) fn human_summary(s: &Summary) -> String {
    let mut text = format!(
        "{} files: {} written, {} skipped, {} failed, {} quarantined ({} resumed) in {:.2} s, {:.1} files/s, {:.1} MB/s{}",
        s.files,
        s.count(Status::Written),
        s.count(Status::Skipped),
        s.count(Status::Failed),
        s.count(Status::Quarantined),
        s.resumed,
        s.seconds,
        s.files_per_second,
        s.mb_per_second,
        if s.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        }
    );
    for (reason, n) in &s.reasons {
        text.push_str(&format!("\n  {n:>6}  {reason}"));
    }
    if !s.codes.is_empty() {
        let codes: Vec<String> = s.codes.iter().map(|(c, n)| format!("{c} {n}")).collect();
        text.push_str(&format!("\n  by code: {}", codes.join(", ")));
    }
    text
}

fn config_manifest_hint(summary: &Summary) -> String {
    match &summary.shard {
        Some(shard) => format!("OUTPUT/manifest-{}.jsonl", shard.replace('/', "-of-")),
        None => "OUTPUT/manifest.jsonl".to_owned(),
    }
}

/// Progress on stderr: a bar on a terminal, and a line per file that failed or was
/// quarantined (every file with -v), named by its keyed id (or its path with
/// --manifest-paths).
struct TerminalReporter {
    bar: ProgressBar,
    verbosity: Verbosity,
    /// `--dry-run`: each record goes to stdout as it is placed (in input-path order).
    print_records: bool,
    /// The first [`SUSPECTS_NAMED`] inputs skipped as empty or not DICOM, by keyed id (or path
    /// with --manifest-paths).
    suspects: Mutex<Vec<String>>,
}

/// How many empty or non-DICOM inputs the closing line names (all are counted).
const SUSPECTS_NAMED: usize = 20;

impl TerminalReporter {
    fn new(show_bar: bool, verbosity: Verbosity, print_records: bool) -> Self {
        let bar = if show_bar {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:40} {pos}/{len} files  {per_sec}  eta {eta}")
                    .expect("a valid progress template"),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        TerminalReporter {
            bar,
            verbosity,
            print_records,
            suspects: Mutex::new(Vec::new()),
        }
    }

    /// The closing line on inputs skipped as empty or not DICOM, which a truncated or broken
    /// export leaves: how many, and the first ones by name.
    fn suspect_line(&self, count: u64) -> Option<String> {
        let names = self.suspects.lock().unwrap_or_else(PoisonError::into_inner);
        if count == 0 {
            return None;
        }
        let more = if count > names.len() as u64 {
            format!(", and {} more", count - names.len() as u64)
        } else {
            String::new()
        };
        Some(format!(
            "  {count} input(s) skipped as empty or not DICOM (a truncated export?): {}{more}",
            names.join(", ")
        ))
    }
}

impl Reporter for TerminalReporter {
    fn found(&self, _id: &str) {
        self.bar.inc_length(1);
    }

    fn file_done(&self, record: &Record) {
        self.bar.inc(1);
        if record.code.is_some_and(|c| c.suggests_truncated_export()) {
            let mut names = self.suspects.lock().unwrap_or_else(PoisonError::into_inner);
            if names.len() < SUSPECTS_NAMED {
                names.push(record.input.clone().unwrap_or_else(|| record.id.clone()));
            }
        }
        if self.print_records {
            self.bar.suspend(|| {
                let mut stdout = std::io::stdout().lock();
                let _ = serde_json::to_writer(&mut stdout, record);
                let _ = writeln!(stdout);
            });
        }
        let problem = matches!(record.status, Status::Failed | Status::Quarantined);
        let show = match self.verbosity {
            Verbosity::Quiet => false,
            Verbosity::Normal => problem,
            Verbosity::Verbose => true,
        };
        if show {
            let name = record.input.as_deref().unwrap_or(&record.id);
            let status = record.status.as_str();
            let detail = record
                .reason
                .as_deref()
                .or(record.output.as_deref())
                .unwrap_or("");
            self.bar.suspend(|| eprintln!("{status}: {name}: {detail}"));
        }
    }
}

/// The recipients of the encrypted linkage: each `--linkage-recipient`, then those of
/// `--linkage-recipients-file` (which must name at least one).
fn recipients(given: &[String], file: Option<&Path>) -> Result<Vec<broker::Recipient>, Error> {
    let mut found = Vec::new();
    for (i, text) in given.iter().enumerate() {
        let parsed = broker::parse_recipients(text).map_err(|_| Error::Recipient(i + 1))?;
        found.extend(parsed);
    }
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| {
            Error::Recipients(broker::BrokerError::Read {
                path: path.to_owned(),
                source,
            })
        })?;
        let parsed = broker::parse_recipients(&text).map_err(|e| match e {
            broker::BrokerError::Recipient { line } => {
                Error::Recipients(broker::BrokerError::Read {
                    path: path.to_owned(),
                    source: std::io::Error::other(format!(
                        "line {line}: not an age X25519 recipient (age1…)"
                    )),
                })
            }
            e => Error::Recipients(e),
        })?;
        if parsed.is_empty() {
            return Err(Error::Recipients(broker::BrokerError::NoRecipient));
        }
        found.extend(parsed);
    }
    Ok(found)
}
