//! The command line: turns arguments into library calls, draws progress, prints results, and
//! maps outcomes to exit codes (0 all written or deliberately skipped, 1 some files failed,
//! 2 nothing was done, 3 some were quarantined and none failed, 4 with `--fail-on not-dicom`
//! some inputs were empty or not DICOM). With `--json`, every exit prints one JSON object.
//!
//! One file per command prints what the library returns; [`args`] holds the grammar and
//! [`Error`] every reason a command cannot run.

mod args;
mod error;
mod history;
mod inspect;
mod linkage;
mod profile;
mod risk;
mod rules;
mod run;
mod summary;
mod verify;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use args::{Cli, Command};
use error::Error;

/// Whether to colour text for a stream: only on a terminal, never with NO_COLOR set (any
/// non-empty value), always with CLICOLOR_FORCE unless NO_COLOR says otherwise.
fn use_color(terminal: bool) -> bool {
    let set = |name| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if set("NO_COLOR") {
        return false;
    }
    set("CLICOLOR_FORCE") || (terminal && std::env::var("TERM").is_ok_and(|t| t != "dumb"))
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let json = cli.command.json();
    let verbosity = if cli.quiet {
        Verbosity::Quiet
    } else if cli.verbose > 0 {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let result = match cli.command {
        Command::Run(args) => run::run(args, verbosity),
        Command::Verify(args) => verify::verify_command(args, verbosity),
        Command::Risk(args) => risk::risk_command(args, verbosity),
        Command::Inspect(args) => inspect::inspect_command(args),
        Command::Summary(args) => summary::summary(args),
        Command::History(args) => history::history(args),
        Command::Profile(cmd) => profile::profile_command(cmd),
        Command::Rules(cmd) => rules::rules_command(cmd, verbosity),
        Command::Linkage(cmd) => linkage::linkage_command(cmd),
        Command::Keygen { file } => profile::keygen(&file),
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
        Err(error) => {
            eprintln!("dicom-deid: error: {error}");
            if json {
                print_json_error(error.code(), &error.to_string());
            }
            ExitCode::from(error.exit_code())
        }
    }
}

/// `{"error": {"code": …, "message": …}}` on stdout: with `--json`, every exit prints one
/// JSON object, exit 2 included.
fn print_json_error(code: &str, message: &str) {
    let error = serde_json::json!({ "error": { "code": code, "message": message } });
    println!("{error}");
}

/// Arguments clap refuses: its message on stderr, and with `--json` among the arguments the
/// JSON error on stdout too (exit 2). Help and version print as usual.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) || !std::env::args_os().any(|a| a == "--json")
    {
        e.exit();
    }
    let _ = e.print();
    let message = e.kind().as_str().unwrap_or("invalid arguments");
    print_json_error("usage", message);
    ExitCode::from(2)
}

/// How much the commands say on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

fn jobs_or_cores(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1)
}

/// Whether `file` would land inside folder `dir` (both resolved; a file whose folder does not
/// exist yet is not inside anything).
fn inside(file: &std::path::Path, dir: &std::path::Path) -> bool {
    let parent = file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    matches!((parent.canonicalize(), dir.canonicalize()), (Ok(p), Ok(d)) if p.starts_with(&d))
}
