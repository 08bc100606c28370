//! The command line: turns arguments into library calls, draws progress, prints results, and
//! maps outcomes to exit codes (0 all written or deliberately skipped, 1 some files failed or
//! were quarantined, 2 nothing was done).

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::actions::Deidentifier;
use crate::key::{KEY_FILE_ENV, Key, KeySource};
use crate::manifest::{Record, Status, Summary};
use crate::pipeline::{self, Fsync, Reporter, RunConfig, Shard, ShardFromEnv};
use crate::profile::{self, Profile};
use crate::qa;

#[derive(Parser)]
#[command(
    name = "dicom-deid",
    version,
    about = "De-identify DICOM archives with the PS3.15 Annex E confidentiality profile",
    long_about = "De-identify DICOM archives with the PS3.15 Annex E Basic Application Level \
Confidentiality Profile and its options: keyed UID remapping, per-patient date shifting, patient \
pseudonyms, an audit manifest. The input tree is never modified.\n\n\
Exit codes: 0 every file written or deliberately skipped; 1 the run finished but some files failed \
or were quarantined; 2 nothing was done (bad arguments, profile or key)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// De-identify every DICOM file under INPUT into a study tree under OUTPUT.
    Run(RunArgs),
    /// List, show or check confidentiality profiles.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Check the shards of a run in OUTPUT and merge them into one manifest.jsonl and
    /// summary.json.
    #[command(
        long_about = "Check that the shards of a run (`run --shard K/N`, N runs into one OUTPUT) \
make up one whole run, and merge their manifests and summaries into OUTPUT/manifest.jsonl and \
OUTPUT/summary.json. Checked: every shard 1..N finished, all used the same key, profile and \
version, no input is in two shards, no output path was recorded by two shards with different \
bytes, every recorded output is in OUTPUT with its recorded SHA-256, and OUTPUT holds no file \
that no manifest lists. The merged files are written only when nothing is wrong.\n\n\
Exit codes: 0 a whole run, every file written or deliberately skipped; 1 problems were found \
(nothing written), or some files failed or were quarantined; 2 nothing was done (no shard \
files, unreadable OUTPUT)."
    )]
    Summary(SummaryArgs),
    /// Write a new random key file (64 hex characters, mode 0600).
    Keygen {
        /// Where to write the key; an existing file is never overwritten.
        file: PathBuf,
    },
}

#[derive(Args)]
struct RunArgs {
    /// The folder to read (a PACS export); never modified.
    input: PathBuf,
    /// The folder to write: OUTPUT/<PatientID>/<StudyUID>/<SeriesUID>/<SOPUID>.dcm, plus
    /// manifest.jsonl and summary.json.
    output: PathBuf,
    /// A built-in profile name (see `profile list`) or a YAML file.
    #[arg(long, default_value = profile::DEFAULT_PROFILE)]
    profile: String,
    /// The key file (64 hex characters). Default: $DICOM_DEID_KEY_FILE, else a per-user key
    /// created on first use.
    #[arg(long, env = KEY_FILE_ENV)]
    key_file: Option<PathBuf>,
    /// Worker threads (default: the number of cores).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Finish an interrupted run: keep the files it wrote that still hash the same.
    #[arg(long)]
    resume: bool,
    /// Do everything but write; print the manifest records on stdout.
    #[arg(long)]
    dry_run: bool,
    /// Process only shard K of N (1-based), chosen by a keyed hash of each input path.
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// Like --shard, with a 0-based index read from environment variable VAR: shard VAR+1 of
    /// N. For schedulers that hand out indexes, e.g. JOB_COMPLETION_INDEX/8 in a Kubernetes
    /// Indexed Job.
    #[arg(long, value_name = "VAR/N", conflicts_with = "shard")]
    shard_env: Option<ShardFromEnv>,
    /// Exit 0 when the run finished even if some files failed or were quarantined (they are
    /// still in the manifest). For scheduled shards, whose merge step reports them.
    #[arg(long)]
    exit_zero_on_file_failures: bool,
    /// Write the original -> new identifier CSVs (id_old,id_new) into this folder. These hold
    /// PHI: the folder must be outside INPUT and OUTPUT.
    #[arg(long, value_name = "DIR")]
    linkage: Option<PathBuf>,
    /// Name inputs by their path (which may hold patient names) in the manifest and messages,
    /// not only by their keyed id.
    #[arg(long)]
    manifest_paths: bool,
    /// Follow symbolic links while walking INPUT.
    #[arg(long)]
    follow_links: bool,
    /// Fail files larger than this many bytes (and deflated data sets inflating beyond it).
    #[arg(long, default_value_t = 2 << 30, value_name = "BYTES")]
    max_file_size: u64,
    /// When written files are forced to the disk: `end` (one sync before the manifest is
    /// written; a machine crash mid-run can lose files, which --resume detects and redoes) or
    /// `each` (every file before its rename).
    #[arg(long, value_enum, default_value_t = Fsync::End)]
    fsync: Fsync,
    /// No progress bar and no per-file messages.
    #[arg(long, short)]
    quiet: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Write an HTML page with thumbnails of masked frames (after masking, regions outlined)
    /// and which rule or the detector masked each file. Outside INPUT.
    #[arg(long, value_name = "FILE.html", conflicts_with = "dry_run")]
    qa_report: Option<PathBuf>,
}

#[derive(Args)]
struct SummaryArgs {
    /// The folder the shards wrote into.
    output: PathBuf,
    /// Threads hashing the outputs (default: the number of cores).
    #[arg(long, short = 'j')]
    jobs: Option<usize>,
    /// Print the merged summary and the problems as JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum ProfileCommand {
    /// Name the built-in profiles.
    List,
    /// Print the effective table of a profile: tag, keyword, action, the layer that chose it.
    Show {
        /// A built-in name or a YAML file.
        profile: String,
    },
    /// Validate a profile; errors name the file, line and column.
    Check {
        /// A built-in name or a YAML file.
        profile: String,
    },
}

/// Parse the arguments and run the command.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Summary(args) => summary(args),
        Command::Profile(cmd) => profile_command(cmd),
        Command::Keygen { file } => keygen(&file),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("dicom-deid: error: {message}");
            ExitCode::from(2)
        }
    }
}

/// `run`: de-identify a tree.
fn run(args: RunArgs) -> Result<ExitCode, String> {
    let profile = Profile::load(&args.profile).map_err(|e| e.to_string())?;
    if !args.quiet {
        for warning in &profile.warnings {
            eprintln!("dicom-deid: warning: {warning}");
        }
    }
    let (key, source) = Key::resolve(args.key_file.as_deref()).map_err(|e| e.to_string())?;
    if let KeySource::UserCreated(path) = &source {
        eprintln!(
            "dicom-deid: created a new key at {} (keep it: the same key gives the same output)",
            path.display()
        );
    }
    let shard = match &args.shard_env {
        Some(spec) => Some(spec.resolve(std::env::var(&spec.var).ok().as_deref())?),
        None => args.shard,
    };
    let jobs = jobs_or_cores(args.jobs);
    if let Some(report) = &args.qa_report {
        let dir = report
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        if let (Ok(dir), Ok(input)) = (dir.canonicalize(), args.input.canonicalize())
            && dir.starts_with(&input)
        {
            return Err(
                "--qa-report must not point inside INPUT (INPUT is never written): choose a path outside it"
                    .to_owned(),
            );
        }
    }
    let config = RunConfig {
        input: args.input,
        output: args.output,
        deidentifier: Deidentifier::new(profile, key.clone()),
        key,
        jobs,
        resume: args.resume,
        dry_run: args.dry_run,
        shard,
        linkage: args.linkage,
        manifest_paths: args.manifest_paths,
        follow_links: args.follow_links,
        max_file_size: args.max_file_size,
        fsync: args.fsync,
    };
    let show_bar = !args.quiet && std::io::stderr().is_terminal();
    let reporter = TerminalReporter::new(show_bar, !args.quiet);
    let outcome = pipeline::run(&config, &reporter).map_err(|e| e.to_string())?;
    reporter.bar.finish_and_clear();
    let mut stdout = std::io::stdout().lock();
    if args.dry_run {
        for record in &outcome.records {
            let _ = serde_json::to_writer(&mut stdout, record);
            let _ = writeln!(stdout);
        }
    }
    if args.json {
        let _ = serde_json::to_writer(&mut stdout, &outcome.summary);
        let _ = writeln!(stdout);
    } else if !args.quiet {
        eprintln!("{}", human_summary(&outcome.summary));
    }
    let mut code = if args.exit_zero_on_file_failures {
        0
    } else {
        outcome.summary.exit_code() as u8
    };
    if let Some(report) = &args.qa_report
        && let Err(e) = qa::write(report, &config.output, &outcome.records)
    {
        eprintln!(
            "dicom-deid: error: cannot write --qa-report {}: {e}",
            report.display()
        );
        code = code.max(1);
    }
    Ok(ExitCode::from(code))
}

fn jobs_or_cores(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// `summary`: check the shards of a run and merge them.
fn summary(args: SummaryArgs) -> Result<ExitCode, String> {
    let merged = crate::summary::summarize(&args.output, jobs_or_cores(args.jobs))
        .map_err(|e| e.to_string())?;
    if args.json {
        let mut stdout = std::io::stdout().lock();
        let _ = serde_json::to_writer(&mut stdout, &merged);
        let _ = writeln!(stdout);
    } else {
        eprintln!("{}", human_merged(&merged, &args.output));
    }
    Ok(ExitCode::from(merged.exit_code() as u8))
}

fn human_merged(m: &crate::summary::Merged, output: &std::path::Path) -> String {
    let mut text = match &m.summary {
        Some(s) => format!("{} shards reported; {}", m.shards.len(), human_summary(s)),
        None => "no shard summary could be read".to_owned(),
    };
    if m.problems_total == 0 {
        text.push_str(&format!(
            "\nthe shards make up one whole run: wrote {} and {}",
            output.join(pipeline::MANIFEST).display(),
            output.join(pipeline::SUMMARY).display()
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

fn human_summary(s: &Summary) -> String {
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
    text
}

/// Progress on stderr: a bar on a terminal, and a line per file that failed or was
/// quarantined, named by its keyed id (or its path with --manifest-paths).
struct TerminalReporter {
    bar: ProgressBar,
    messages: bool,
}

impl TerminalReporter {
    fn new(show_bar: bool, messages: bool) -> Self {
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
        TerminalReporter { bar, messages }
    }
}

impl Reporter for TerminalReporter {
    fn start(&self, total: u64) {
        self.bar.set_length(total);
    }

    fn file_done(&self, record: &Record) {
        self.bar.inc(1);
        if self.messages && matches!(record.status, Status::Failed | Status::Quarantined) {
            let name = record.input.as_deref().unwrap_or(&record.id);
            let status = if record.status == Status::Failed {
                "failed"
            } else {
                "quarantined"
            };
            let reason = record.reason.as_deref().unwrap_or("");
            self.bar.suspend(|| eprintln!("{status}: {name}: {reason}"));
        }
    }
}

/// `profile list | show | check`.
fn profile_command(cmd: ProfileCommand) -> Result<ExitCode, String> {
    match cmd {
        ProfileCommand::List => {
            for (name, description) in profile::builtin_descriptions() {
                println!("{name:<14} {description}");
            }
        }
        ProfileCommand::Show { profile } => {
            let p = Profile::load(&profile).map_err(|e| e.to_string())?;
            println!("# profile {} ({})", p.name, p.chain.join(" -> "));
            println!("# sha256 {}", p.table_sha256());
            print!("{}", p.effective_table());
        }
        ProfileCommand::Check { profile } => {
            let p = Profile::load(&profile).map_err(|e| e.to_string())?;
            for warning in &p.warnings {
                eprintln!("warning: {warning}");
            }
            println!(
                "{profile}: ok (profile {}, {} layers)",
                p.name,
                p.chain.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `keygen FILE`.
fn keygen(file: &std::path::Path) -> Result<ExitCode, String> {
    let key = Key::create_file(file).map_err(|e| e.to_string())?;
    eprintln!(
        "wrote a new key to {} (fingerprint {})",
        file.display(),
        key.fingerprint()
    );
    Ok(ExitCode::SUCCESS)
}
