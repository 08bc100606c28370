//! The command line: turns arguments into library calls, draws progress, prints results, and
//! maps outcomes to exit codes (0 all written or deliberately skipped, 1 some files failed or
//! were quarantined, 2 nothing was done).

mod inspect;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgAction, Args, CommandFactory, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use dicom_deid::deid::Deidentifier;
use dicom_deid::deid::trace;
use dicom_deid::key::{KEY_FILE_ENV, Key, KeySource};
use dicom_deid::profile::{self, Profile};
use dicom_deid::run::manifest::{Record, Status, Summary};
use dicom_deid::run::qa_report;
use dicom_deid::run::{self, Fsync, Reporter, RunConfig, Shard, ShardFromEnv};
use dicom_deid::verify::{self, Check, VerifyConfig};

/// The profile format's JSON Schema, for editors (`profile schema`).
pub const PROFILE_SCHEMA: &str = include_str!("../../profiles/profile.schema.json");

/// Whether to colour text for a stream: only on a terminal, never with NO_COLOR set (any
/// non-empty value), always with CLICOLOR_FORCE unless NO_COLOR says otherwise.
pub fn use_color(terminal: bool) -> bool {
    let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("NO_COLOR") {
        return false;
    }
    set("CLICOLOR_FORCE") || (terminal && std::env::var("TERM").is_ok_and(|t| t != "dumb"))
}

#[derive(Parser)]
#[command(
    name = "dicom-deid",
    version,
    about = "De-identify DICOM archives with the PS3.15 Annex E confidentiality profile",
    long_about = "De-identify DICOM archives with the PS3.15 Annex E Basic Application Level \
Confidentiality Profile and its options: keyed UID remapping, per-patient date shifting, patient \
pseudonyms, an audit manifest. The input tree is never modified.\n\n\
Exit codes: 0 every file written or deliberately skipped (verify: nothing found); 1 the run \
finished but some files failed or were quarantined (verify: problems found); 2 nothing was done \
(bad arguments, profile or key).",
    after_help = "Examples:
  dicom-deid run /data/pacs-export /data/deid --profile ml-dataset
  dicom-deid verify /data/deid --against /data/pacs-export
  dicom-deid inspect /data/pacs-export/IM0001 --profile ml-dataset
  dicom-deid profile show ml-dataset

Colours: only on a terminal; NO_COLOR=1 turns them off."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// More messages: a line per file (run), the identifying values searched by kind (verify).
    #[arg(long, short, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    verbose: u8,
    /// Only errors: no progress bar, no per-file messages, no summary line.
    #[arg(long, short, global = true)]
    quiet: bool,
}

#[derive(Subcommand)]
enum Command {
    /// De-identify every DICOM file under INPUT into a study tree under OUTPUT.
    #[command(after_help = "Examples:
  dicom-deid run /data/pacs-export /data/deid
  dicom-deid run /data/pacs-export /data/deid --profile ml-dataset --key-file site.key
  dicom-deid run /data/pacs-export /data/deid --resume          # finish a killed run
  dicom-deid run /data/pacs-export /data/deid --shard 2/8 --json # one of 8 machines")]
    Run(RunArgs),
    /// Check an OUTPUT tree: nothing the profile removes, no identifying value of the inputs,
    /// a manifest that accounts for every file.
    #[command(after_help = "Examples:
  dicom-deid verify /data/deid
  dicom-deid verify /data/deid --against /data/pacs-export --key-file site.key
  dicom-deid verify /data/deid --against /data/pacs-export --json > report.json

A finding names the output file, the attribute and the kind of value (\"patient name\"),
never the value itself. Exit code 0: nothing found; 1: problems found; 2: could not run.")]
    Verify(VerifyArgs),
    /// Show one file's elements at every depth: the action the profile takes, the layer that
    /// chose it, and the value before and after. Shows original values: terminal only.
    #[command(after_help = "Examples:
  dicom-deid inspect /data/pacs-export/IM0001
  dicom-deid inspect /data/pacs-export/IM0001 --profile my-study.yaml | less -R   # refused
  dicom-deid inspect /data/pacs-export/IM0001 --force > audit.txt   # you take the PHI along")]
    Inspect(InspectArgs),
    /// List, show, check, compare confidentiality profiles, or print their JSON Schema.
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
    #[command(after_help = "Examples:
  dicom-deid summary /data/deid            # after every `run --shard K/N` into /data/deid
  dicom-deid summary /data/deid --json")]
    Summary(SummaryArgs),
    /// Write a new random key file (64 hex characters, mode 0600).
    #[command(after_help = "Example:
  dicom-deid keygen /secure/site.key && dicom-deid run IN OUT --key-file /secure/site.key")]
    Keygen {
        /// Where to write the key; an existing file is never overwritten.
        file: PathBuf,
    },
    /// Print a shell completion script.
    #[command(after_help = "Examples:
  dicom-deid completions bash > ~/.local/share/bash-completion/completions/dicom-deid
  dicom-deid completions zsh > ~/.zfunc/_dicom-deid
  dicom-deid completions fish > ~/.config/fish/completions/dicom-deid.fish")]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Args)]
struct VerifyArgs {
    /// The OUTPUT folder of a run.
    output: PathBuf,
    /// The profile to check against (a built-in name or a YAML file). Default: the run's, as
    /// summary.json names it.
    #[arg(long)]
    profile: Option<String>,
    /// The run's INPUT: gather every identifying value of every input file and search every
    /// output for it.
    #[arg(long, value_name = "INPUT")]
    against: Option<PathBuf>,
    /// The run's key file. With --against, every input must then have a manifest record.
    /// Default: $DICOM_DEID_KEY_FILE, else the per-user key if there is one.
    #[arg(long, env = KEY_FILE_ENV)]
    key_file: Option<PathBuf>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Skip files larger than this many bytes (they are reported).
    #[arg(long, default_value_t = 2 << 30, value_name = "BYTES")]
    max_file_size: u64,
}

#[derive(Args)]
struct InspectArgs {
    /// One DICOM file.
    file: PathBuf,
    /// A built-in profile name or a YAML file.
    #[arg(long, default_value = profile::DEFAULT_PROFILE)]
    profile: String,
    /// The key file, so that new UIDs and pseudonyms are the ones a run writes. Default:
    /// $DICOM_DEID_KEY_FILE, else the per-user key; else a temporary key.
    #[arg(long, env = KEY_FILE_ENV)]
    key_file: Option<PathBuf>,
    /// Write the table (with original values) even when stdout is not a terminal.
    #[arg(long)]
    force: bool,
    /// Refuse files larger than this many bytes.
    #[arg(long, default_value_t = 2 << 30, value_name = "BYTES")]
    max_file_size: u64,
}

/// `--fsync`, as [`Fsync`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum FsyncArg {
    /// Once, at the end of the run, before the manifest and summary are written (one
    /// `syncfs` of OUTPUT's filesystem). A crash of the machine mid-run may lose files that
    /// the journal lists; `--resume` notices (it checks every output's hash) and redoes them.
    End,
    /// Every file before its rename, as it lands (much slower on busy or network disks).
    Each,
}

impl From<FsyncArg> for Fsync {
    fn from(arg: FsyncArg) -> Fsync {
        match arg {
            FsyncArg::End => Fsync::End,
            FsyncArg::Each => Fsync::Each,
        }
    }
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
    #[arg(long, value_enum, default_value_t = FsyncArg::End)]
    fsync: FsyncArg,
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
    #[command(after_help = "Example:\n  dicom-deid profile list")]
    List,
    /// Print the effective table of a profile: tag, keyword, action, the layer that chose it.
    #[command(after_help = "Examples:
  dicom-deid profile show basic
  dicom-deid profile show my-study.yaml | grep -i description")]
    Show {
        /// A built-in name or a YAML file.
        profile: String,
    },
    /// Validate a profile; errors name the file, line and column.
    #[command(after_help = "Example:\n  dicom-deid profile check my-study.yaml")]
    Check {
        /// A built-in name or a YAML file.
        profile: String,
    },
    /// The rules and settings that differ between two effective profiles.
    #[command(after_help = "Examples:
  dicom-deid profile diff basic ml-dataset
  dicom-deid profile diff ml-dataset my-study.yaml")]
    Diff {
        /// A built-in name or a YAML file.
        a: String,
        /// A built-in name or a YAML file.
        b: String,
    },
    /// Print the JSON Schema of the profile format, for editors that validate and complete.
    #[command(after_help = "Example:
  dicom-deid profile schema > profile.schema.json
  # then start your profile with: # yaml-language-server: $schema=profile.schema.json")]
    Schema,
}

/// Parse the arguments and run the command.
pub fn main() -> ExitCode {
    // A panic's message may quote a value from a file (PHI): print only where it happened.
    // Panics inside the parser are caught and fail their one file; this line tells why.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("dicom-deid: internal error{at} (its message is withheld: it may quote PHI)");
    }));
    let cli = Cli::parse();
    let verbosity = if cli.quiet {
        Verbosity::Quiet
    } else if cli.verbose > 0 {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let result = match cli.command {
        Command::Run(args) => run(args, verbosity),
        Command::Verify(args) => verify_command(args, verbosity),
        Command::Inspect(args) => inspect_command(args),
        Command::Summary(args) => summary(args),
        Command::Profile(cmd) => profile_command(cmd),
        Command::Keygen { file } => keygen(&file),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "dicom-deid",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("dicom-deid: error: {message}");
            ExitCode::from(2)
        }
    }
}

/// How much the commands say on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// A profile error, with what to do next.
fn profile_error(e: profile::ProfileError) -> String {
    format!(
        "{e}\n  (`dicom-deid profile list` names the built-in profiles; `dicom-deid profile check FILE` explains a file's errors)"
    )
}

/// A key error, with what to do next.
fn key_error(e: dicom_deid::key::KeyError) -> String {
    format!(
        "{e}\n  (`dicom-deid keygen FILE` writes a new key; keep the run's key to get the same output again)"
    )
}

/// `run`: de-identify a tree.
fn run(args: RunArgs, verbosity: Verbosity) -> Result<ExitCode, String> {
    let quiet = verbosity == Verbosity::Quiet;
    let profile = Profile::load(&args.profile).map_err(profile_error)?;
    if !quiet {
        for warning in &profile.warnings {
            eprintln!("dicom-deid: warning: {warning}");
        }
    }
    let (key, source) = Key::resolve(args.key_file.as_deref()).map_err(key_error)?;
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
        fsync: args.fsync.into(),
    };
    let show_bar = !quiet && std::io::stderr().is_terminal();
    let reporter = TerminalReporter::new(show_bar, verbosity, args.dry_run);
    let outcome = run::run(&config, &reporter).map_err(|e| e.to_string())?;
    reporter.bar.finish_and_clear();
    let mut stdout = std::io::stdout().lock();
    if args.json {
        let _ = serde_json::to_writer(&mut stdout, &outcome.summary);
        let _ = writeln!(stdout);
    } else if !quiet {
        eprintln!("{}", human_summary(&outcome.summary));
        if outcome.summary.exit_code() != 0 {
            eprintln!(
                "  see {} for the reason of each file; fix or remove them, then `--resume`",
                config_manifest_hint(&outcome.summary)
            );
        }
    }
    let mut code = if args.exit_zero_on_file_failures {
        0
    } else {
        outcome.summary.exit_code() as u8
    };
    if let Some(report) = &args.qa_report
        && let Err(e) = qa_report::write(report, &config.output, &config.manifest_path())
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
    let merged = dicom_deid::run::merge::summarize(&args.output, jobs_or_cores(args.jobs))
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

fn human_merged(m: &dicom_deid::run::merge::Merged, output: &std::path::Path) -> String {
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
}

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
        }
    }
}

impl Reporter for TerminalReporter {
    fn found(&self, _id: &str) {
        self.bar.inc_length(1);
    }

    fn file_done(&self, record: &Record) {
        self.bar.inc(1);
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
            let status = match record.status {
                Status::Written => "written",
                Status::Skipped => "skipped",
                Status::Failed => "failed",
                Status::Quarantined => "quarantined",
            };
            let detail = record
                .reason
                .as_deref()
                .or(record.output.as_deref())
                .unwrap_or("");
            self.bar.suspend(|| eprintln!("{status}: {name}: {detail}"));
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
            let p = Profile::load(&profile).map_err(profile_error)?;
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
        ProfileCommand::Diff { a, b } => {
            let a = Profile::load(&a).map_err(profile_error)?;
            let b = Profile::load(&b).map_err(profile_error)?;
            print!("{}", profile::diff(&a, &b));
        }
        ProfileCommand::Schema => print!("{PROFILE_SCHEMA}"),
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

/// The profile `verify` checks against: the one named, else the run's (from summary.json).
fn verify_profile(args: &VerifyArgs) -> Result<Profile, String> {
    if let Some(name) = &args.profile {
        return Profile::load(name).map_err(profile_error);
    }
    let summary_path = args.output.join("summary.json");
    let summary: Summary = std::fs::read(&summary_path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            format!(
                "{} is missing or unreadable, so the run's profile is unknown: name it with --profile",
                summary_path.display()
            )
        })?;
    let origin = summary.profile.chain.last().cloned().unwrap_or_default();
    let name = origin.strip_prefix("builtin:").unwrap_or(&origin);
    Profile::load(name)
        .map_err(|e| format!("the run's profile ({e}) cannot be loaded: name it with --profile"))
}

/// `verify OUTPUT`.
fn verify_command(args: VerifyArgs, verbosity: Verbosity) -> Result<ExitCode, String> {
    let profile = verify_profile(&args)?;
    let key = Key::find(args.key_file.as_deref())
        .map_err(key_error)?
        .map(|(key, _)| key);
    let config = VerifyConfig {
        output: args.output.clone(),
        profile,
        key,
        against: args.against.clone(),
        max_file_size: args.max_file_size,
    };
    let report = verify::verify(&config).map_err(|e| e.to_string())?;
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
        if report.findings.is_empty() {
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

/// `inspect FILE`.
fn inspect_command(args: InspectArgs) -> Result<ExitCode, String> {
    let terminal = std::io::stdout().is_terminal();
    if !terminal && !args.force {
        return Err(
            "inspect shows original values (PHI), so it writes only to a terminal: run it in a terminal, or add --force to write them to a file or pipe yourself".to_owned(),
        );
    }
    let profile = Profile::load(&args.profile).map_err(profile_error)?;
    let key = match Key::find(args.key_file.as_deref()).map_err(key_error)? {
        Some((key, _)) => key,
        None => {
            eprintln!(
                "note: no key file found: new UIDs and pseudonyms below use a temporary key and differ from a run's (name one with --key-file)"
            );
            Key::generate()
        }
    };
    let size = std::fs::metadata(&args.file)
        .map_err(|e| format!("{}: {e}", args.file.display()))?
        .len();
    if size > args.max_file_size {
        return Err(format!(
            "{}: larger than --max-file-size ({} bytes); raise it to inspect this file",
            args.file.display(),
            args.max_file_size
        ));
    }
    let bytes = std::fs::read(&args.file).map_err(|e| format!("{}: {e}", args.file.display()))?;
    let deidentifier = Deidentifier::new(profile, key);
    let inspection = trace::inspect(&deidentifier, &bytes, args.max_file_size)
        .map_err(|e| format!("{}: {e}", args.file.display()))?;
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(
        stdout,
        "# {} (transfer syntax {}), profile {}",
        args.file.display(),
        inspection.transfer_syntax,
        deidentifier.profile().name
    );
    let _ = write!(
        stdout,
        "{}",
        inspect::render(&inspection.rows, use_color(terminal))
    );
    Ok(ExitCode::SUCCESS)
}
