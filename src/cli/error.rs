//! Every reason a command cannot run, and its message: what went wrong, in the command
//! line's words (flags by name), and what to do next. Each means nothing was done: exit 2.

use std::fmt;
use std::path::PathBuf;

use dicom_deid::deid::trace::InspectError;
use dicom_deid::key::KeyError;
use dicom_deid::profile::ProfileError;
use dicom_deid::risk::RiskError;
use dicom_deid::run::broker::BrokerError;
use dicom_deid::run::catalogue::CatalogueError;
use dicom_deid::run::merge::SummaryError;
use dicom_deid::run::suggest::SuggestError;
use dicom_deid::run::{RunError, ShardEnvError};
use dicom_deid::verify::VerifyError;

#[derive(Debug)]
pub enum Error {
    /// A profile named on the command line cannot be loaded.
    Profile(ProfileError),
    /// `profile check`: the error is the answer, with no advice around it.
    ProfileCheck(ProfileError),
    /// The profile summary.json names cannot be loaded.
    RunProfile(ProfileError),
    /// verify without --profile, and no readable summary.json to name the run's.
    NoRunSummary(PathBuf),
    Key(KeyError),
    Keygen(KeyError),
    ShardEnv(ShardEnvError),
    QaReportInsideInput,
    Run(RunError),
    Merge(SummaryError),
    Verify(VerifyError),
    History(CatalogueError),
    /// The Nth `--linkage-recipient` is not a recipient.
    Recipient(usize),
    /// `--linkage-recipients-file` cannot be used.
    Recipients(BrokerError),
    /// `linkage lookup` or `linkage keygen` could not run.
    Linkage(BrokerError),
    InspectNeedsTerminal,
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    TooLarge {
        path: PathBuf,
        max: u64,
    },
    Inspect {
        path: PathBuf,
        source: InspectError,
    },
    Risk(RiskError),
    /// `risk --html` names a file inside DATASET.
    RiskHtmlInsideDataset,
    RiskHtml {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `--jobs`: the thread pool cannot be built.
    Threads(String),
    Suggest(SuggestError),
    /// `rules suggest --review` inside DATASET or INPUT.
    ReviewInside,
    /// `rules suggest -o` inside INPUT.
    RulesInsideInput,
    /// `rules suggest` without --extends, and the run's profile is not a built-in one.
    SuggestExtends(Option<String>),
    /// No key to find the quarantined files with.
    SuggestNoKey,
    Write {
        flag: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    /// The process's exit code: 2, nothing was done (0 and 1 are outcomes of commands that
    /// ran).
    pub fn exit_code(&self) -> u8 {
        2
    }
}

impl Error {
    /// A stable snake_case code for the error, for `--json` (README, "Exit codes").
    pub fn code(&self) -> &'static str {
        match self {
            Error::Profile(_) | Error::ProfileCheck(_) | Error::RunProfile(_) => "profile",
            Error::NoRunSummary(_) => "no_run_summary",
            Error::Key(_) | Error::Keygen(_) => "key",
            Error::ShardEnv(_) => "shard_env",
            Error::QaReportInsideInput => "qa_report_inside_input",
            Error::Run(e) => match e {
                RunError::Input(_) => "input",
                RunError::Overlap => "overlap",
                RunError::LinkageInside => "linkage_inside",
                RunError::TriageInside => "triage_inside",
                RunError::OutputNotEmpty(_) => "output_not_empty",
                RunError::HoldsDataset(_) => "output_holds_dataset",
                RunError::UnfinishedRun(_) => "output_holds_unfinished_run",
                RunError::EarlierVersion(_) => "output_from_earlier_version",
                RunError::HoldsShards(_) => "output_holds_sharded_run",
                RunError::AddKeyMismatch => "add_key_mismatch",
                RunError::ResumeMismatch(_) => "resume_mismatch",
                RunError::Output { .. } => "output",
                RunError::Catalogue(_) => "catalogue",
                RunError::Linkage(_) => "linkage",
            },
            Error::Merge(_) => "summary",
            Error::Verify(_) => "verify",
            Error::History(_) => "catalogue",
            Error::Recipient(_) | Error::Recipients(_) => "linkage_recipient",
            Error::Linkage(_) => "linkage",
            Error::InspectNeedsTerminal => "inspect_needs_terminal",
            Error::Read { .. } | Error::TooLarge { .. } | Error::Inspect { .. } => "input",
            Error::Risk(_) => "risk",
            Error::RiskHtmlInsideDataset => "risk_html_inside_dataset",
            Error::RiskHtml { .. } => "risk_html",
            Error::Threads(_) => "threads",
            Error::Suggest(SuggestError::KeyMismatch { .. }) | Error::SuggestNoKey => "key",
            Error::Suggest(_) => "input",
            Error::ReviewInside => "review_inside",
            Error::RulesInsideInput => "rules_inside_input",
            Error::SuggestExtends(_) => "profile",
            Error::Write { .. } => "write",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Profile(e) => write!(
                f,
                "{e}\n  (`dicom-deid profile list` names the built-in profiles; `dicom-deid profile check FILE` explains a file's errors)"
            ),
            Error::ProfileCheck(e) => write!(f, "{e}"),
            Error::RunProfile(e) => write!(
                f,
                "the run's profile ({e}) cannot be loaded: name it with --profile"
            ),
            Error::NoRunSummary(path) => write!(
                f,
                "{} is missing or unreadable, so the run's profile is unknown: name it with --profile",
                path.display()
            ),
            Error::Key(e) => write!(
                f,
                "{e}\n  (`dicom-deid keygen FILE` writes a new key; keep the run's key to get the same output again)"
            ),
            Error::Keygen(e) => write!(f, "{e}"),
            Error::ShardEnv(e) => write!(f, "--shard-env: {e}"),
            Error::QaReportInsideInput => f.write_str(
                "--qa-report must not point inside INPUT (INPUT is never written): choose a path outside it",
            ),
            Error::Run(RunError::LinkageInside) => f.write_str(
                "--linkage points inside INPUT or OUTPUT: choose a folder outside both (it holds the PHI linkage)",
            ),
            Error::Run(RunError::TriageInside) => f.write_str(
                "--triage points inside INPUT or OUTPUT: choose a folder outside both (it holds input paths, which often name patients)",
            ),
            Error::Run(e @ RunError::OutputNotEmpty(_)) => {
                write!(f, "{e}: choose an empty folder (or a new one)")
            }
            Error::Run(e @ RunError::HoldsDataset(_)) => write!(
                f,
                "{e}: add this run to it with --add (the same key), or choose an empty folder"
            ),
            Error::Run(e @ RunError::UnfinishedRun(_)) => write!(
                f,
                "{e}: finish it with --resume (the same INPUT, key and profile), then --add the next"
            ),
            Error::Run(e @ RunError::EarlierVersion(_)) => write!(
                f,
                "{e}: start the dataset in an empty folder with --add (the same key gives the same pseudonyms, dates and UIDs); `verify` still checks the earlier OUTPUT"
            ),
            Error::Run(e @ RunError::HoldsShards(_)) => write!(
                f,
                "{e}: a sharded run's OUTPUT does not grow; finish a killed shard with --shard K/N --resume, merge with `dicom-deid summary`, or choose an empty folder"
            ),
            Error::Run(e @ RunError::AddKeyMismatch) => write!(
                f,
                "--add: {e}; use its key (its fingerprint is in OUTPUT/summary.json) or a new OUTPUT"
            ),
            Error::Run(RunError::ResumeMismatch(what)) => write!(
                f,
                "--resume finishes only the same run, and the earlier run used another {what}: resume it with the same INPUT, key and profile (then --add a run with the new ones), or choose a new OUTPUT"
            ),
            Error::Run(e) => write!(f, "{e}"),
            Error::Merge(e @ SummaryError::NoShards(_)) => write!(
                f,
                "{e}: run `dicom-deid run INPUT OUTPUT --shard K/N` for every K first"
            ),
            Error::Merge(e) => write!(f, "{e}"),
            Error::Verify(VerifyError::Against(path)) => {
                write!(f, "--against {}: not a readable folder", path.display())
            }
            Error::Verify(e) => write!(f, "{e}"),
            Error::History(e @ CatalogueError::Missing { .. }) => write!(
                f,
                "{e}: name the OUTPUT of `dicom-deid run` (a sharded run's OUTPUT has none)"
            ),
            Error::History(e) => write!(f, "{e}"),
            Error::Recipient(n) => write!(
                f,
                "--linkage-recipient (number {n}): not an age X25519 recipient (age1…); `dicom-deid linkage keygen FILE` makes an identity and prints its recipient"
            ),
            Error::Recipients(e) => write!(
                f,
                "--linkage-recipients-file {e}; `dicom-deid linkage keygen FILE` makes an identity and prints its recipient"
            ),
            Error::Linkage(e @ BrokerError::NeedsIdentity { .. }) => {
                write!(f, "{e}: name the identity file with --identity")
            }
            Error::Linkage(e) => write!(f, "{e}"),
            Error::InspectNeedsTerminal => f.write_str(
                "inspect shows original values (PHI), so it writes only to a terminal: run it in a terminal, or add --force to write them to a file or pipe yourself",
            ),
            Error::Read { path, source } => write!(f, "{}: {source}", path.display()),
            Error::TooLarge { path, max } => write!(
                f,
                "{}: larger than --max-file-size ({max} bytes); raise it to inspect this file",
                path.display()
            ),
            Error::Inspect { path, source } => write!(f, "{}: {source}", path.display()),
            Error::Risk(e @ RiskError::UnknownAttribute(_)) => write!(
                f,
                "--qi/--add-qi: {e}; e.g. --qi PatientAge,PatientSex,BodyPartExamined"
            ),
            Error::Risk(e @ RiskError::PopulationTooSmall { .. }) => {
                write!(f, "--population: {e}: give the size of the population the dataset was drawn from")
            }
            Error::Risk(e @ RiskError::NoPatients(_)) => {
                write!(f, "{e}: name the OUTPUT folder of a run")
            }
            Error::Risk(e) => write!(f, "{e}"),
            Error::RiskHtmlInsideDataset => f.write_str(
                "--html must not point inside DATASET (it would become part of the dataset): choose a path outside it",
            ),
            Error::RiskHtml { path, source } => {
                write!(f, "--html {}: cannot write ({source})", path.display())
            }
            Error::Threads(e) => write!(f, "--jobs: cannot start the threads ({e})"),
            Error::Suggest(e @ SuggestError::KeyMismatch { .. }) => {
                write!(f, "{e}: name the dataset's key with --key-file")
            }
            Error::Suggest(e) => write!(f, "{e}"),
            Error::ReviewInside => f.write_str(
                "--review must be outside DATASET and INPUT (the page shows input pixels, burned-in PHI included): choose a path outside both",
            ),
            Error::RulesInsideInput => f.write_str(
                "--output must not point inside INPUT (INPUT is never written): choose a path outside it",
            ),
            Error::SuggestExtends(None) => f.write_str(
                "DATASET/summary.json does not name the run's profile: name the profile the rules extend with --extends",
            ),
            Error::SuggestExtends(Some(name)) => write!(
                f,
                "the dataset's latest run applied profile {name:?}, which is not built in: name its file with --extends"
            ),
            Error::SuggestNoKey => f.write_str(
                "no key: name the dataset's key with --key-file (quarantined files are found by the keyed id of their path)",
            ),
            Error::Write { flag, path, source } => {
                write!(f, "{flag} {}: cannot write ({source})", path.display())
            }
        }
    }
}
