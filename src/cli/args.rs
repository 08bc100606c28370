//! The command line's grammar: every command, argument and help text, for clap.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use dicom_deid::key::KEY_FILE_ENV;
use dicom_deid::profile;
use dicom_deid::run::manifest::FailOn;
use dicom_deid::run::qa_report;
use dicom_deid::run::suggest;
use dicom_deid::run::{Fsync, Shard, ShardFromEnv};

#[derive(Parser)]
#[command(
    name = "dicom-deid",
    version,
    about = "De-identify DICOM archives with the PS3.15 Annex E confidentiality profile",
    long_about = "De-identify DICOM archives with the PS3.15 Annex E Basic Application Level \
Confidentiality Profile and its options: keyed UID remapping, per-patient date shifting, patient \
pseudonyms, an audit manifest. The input tree is never modified.\n\n\
Exit codes: 0 every file written or deliberately skipped (verify: nothing found; risk: nobody \
below k); 1 the run finished but some files failed (verify: problems found; risk: patients \
below k); 2 nothing was done (bad arguments, profile, key or OUTPUT); 3 the run finished, no \
file failed, some were quarantined by the profile; 4 only with `run --fail-on not-dicom`: some \
files were empty or not DICOM. With --json, exit 2 prints {\"error\": {\"code\": ..., \
\"message\": ...}} on stdout.",
    after_help = "Examples:
  dicom-deid run /data/pacs-export /data/deid --profile ml-dataset
  dicom-deid verify /data/deid --against /data/pacs-export
  dicom-deid inspect /data/pacs-export/IM0001 --profile ml-dataset
  dicom-deid profile show ml-dataset

Colours: only on a terminal; NO_COLOR=1 turns them off."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// More messages: a line per file (run), the identifying values searched by kind (verify).
    #[arg(long, short, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors: no progress bar, no per-file messages, no summary line.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Subcommand)]
pub enum Command {
    /// De-identify every DICOM file under INPUT into a study tree under OUTPUT.
    #[command(after_help = "Examples:
  dicom-deid run /data/pacs-export /data/deid
  dicom-deid run /data/pacs-export /data/deid --profile ml-dataset --key-file site.key
  dicom-deid run /data/pacs-export /data/deid --resume          # finish a killed run
  dicom-deid run /data/night-2 /data/deid --add                 # add a night to the dataset
  dicom-deid run /data/pacs-export /data/deid --shard 2/8 --json # one of 8 machines")]
    Run(RunArgs),
    /// Check an OUTPUT tree: nothing the profile removes, no identifying value of the inputs,
    /// a manifest that accounts for every file.
    #[command(after_help = "Examples:
  dicom-deid verify /data/deid
  dicom-deid verify /data/deid --against /data/pacs-export --key-file site.key
  dicom-deid verify /data/deid --against /data/pacs-export --json > report.json

A finding names the output file, its manifest record id, the attribute and the kind of value
(\"patient name\"), never the value itself. A `review` finding is a value that may identify
someone, for a person to judge. Exit code 0: nothing found (review findings aside, unless
--strict); 1: problems found; 2: could not run.")]
    Verify(VerifyArgs),
    /// Measure how re-identifiable the patients of a de-identified dataset still are:
    /// k-anonymity over quasi-identifiers, the attributes that single patients out, risk
    /// estimates, and the profile lines that would bring the dataset to k.
    #[command(
        long_about = "Measure how re-identifiable the patients of a de-identified dataset \
still are. Reads every DICOM file under DATASET (a run's OUTPUT; never the input) once, groups \
them by patient pseudonym (PatientID), and groups the patients into classes alike on every \
quasi-identifier. Reports the patients in classes smaller than k (by pseudonym), the \
distribution of class sizes, the attributes that make patients unique and their rare values \
(free text, names, dates and UIDs counted, never shown), the prosecutor risk and, with --population, the \
journalist risk; and the profile lines (age bands, rounding, date precision, removal) that \
would bring the dataset to k, with the k they reach.\n\n\
Default quasi-identifiers: PatientAge, PatientSex, PatientSize, PatientWeight, EthnicGroup, \
Modality, BodyPartExamined, Manufacturer, ManufacturerModelName, InstitutionName, StudyYear, \
StudySeason (of StudyDate), ProcedureCodeSequence.\n\n\
Exit codes: 0 every patient is in a class of at least k; 1 some patients are below k; 2 could \
not run.",
        after_help = "Examples:
  dicom-deid risk /data/deid
  dicom-deid risk /data/deid --k 10 --population 2000000 --html risk.html
  dicom-deid risk /data/deid --qi PatientAge,PatientSex,BodyPartExamined --json
  dicom-deid risk /data/deid --add-qi StationName,StudyDescription"
    )]
    Risk(RiskArgs),
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
    /// Pixel rules from a dataset's quarantine: `rules suggest`.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Check the shards of a run in OUTPUT and merge them into one manifest.jsonl and
    /// summary.json.
    #[command(
        long_about = "Check that the shards of a run (`run --shard K/N`, N runs into one OUTPUT) \
make up one whole run, and merge their manifests and summaries into OUTPUT/manifest.jsonl and \
OUTPUT/summary.json. Checked: every shard 1..N finished, all used the same key, profile and \
version, no input is in two shards, no output path was recorded by two shards with different \
bytes, every recorded output is in OUTPUT with its recorded SHA-256, and OUTPUT holds no file \
that no manifest lists. The merged files are written only when nothing is wrong. On a \
dataset (the OUTPUT of unsharded runs) it prints the dataset's totals over every run instead, \
from its catalogue, and writes nothing.\n\n\
Exit codes: 0 a whole run, every file written or deliberately skipped; 1 problems were found \
(nothing written), or some files failed; 3 some were quarantined (none failed); 2 nothing was done (no shard \
files, unreadable OUTPUT)."
    )]
    #[command(after_help = "Examples:
  dicom-deid summary /data/deid            # after every `run --shard K/N` into /data/deid
  dicom-deid summary /data/deid --json")]
    Summary(SummaryArgs),
    /// List the runs of a dataset: when, which tool version, INPUT (keyed id), profile, key
    /// fingerprint, and what became of its files.
    #[command(after_help = "Examples:
  dicom-deid history /data/deid
  dicom-deid history /data/deid --json | jq '.runs[-1]'

The catalogue behind it is .dicom-deid/catalogue.sqlite in the dataset (tables runs and
records, views outputs and reasons): query it with any SQLite client.")]
    History(HistoryArgs),
    /// For the honest broker: look a value up in the linkage tables (original to pseudonym and
    /// back), or make the identity the encrypted linkage is read with.
    #[command(subcommand)]
    Linkage(LinkageCommand),
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

impl Command {
    /// Whether the command was asked for JSON on stdout.
    pub fn json(&self) -> bool {
        match self {
            Command::Run(args) => args.json,
            Command::Verify(args) => args.json,
            Command::Summary(args) => args.json,
            Command::History(args) => args.json,
            Command::Linkage(LinkageCommand::Lookup(args)) => args.json,
            _ => false,
        }
    }
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The OUTPUT folder of a run.
    pub output: PathBuf,
    /// The profile to check against (a built-in name or a YAML file). Default: the run's, as
    /// summary.json names it.
    #[arg(long)]
    pub profile: Option<String>,
    /// The run's INPUT: gather every identifying value of every input file and search every
    /// output for it.
    #[arg(long, value_name = "INPUT")]
    pub against: Option<PathBuf>,
    /// The run's key file. With --against, every input must then have a manifest record, and
    /// each output is searched for its own inputs' values (and for the names, IDs, dates and
    /// UIDs of all); without it, for every input's values.
    /// Default: $DICOM_DEID_KEY_FILE, else the per-user key if there is one.
    #[arg(long, env = KEY_FILE_ENV)]
    pub key_file: Option<PathBuf>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Review findings (values that may identify someone, for a person to judge) fail the
    /// check too: exit code 1.
    #[arg(long)]
    pub strict: bool,
    /// Skip files larger than this many bytes (they are reported).
    #[arg(long, default_value_t = 2 << 30, value_name = "BYTES")]
    pub max_file_size: u64,
}

#[derive(Args)]
pub struct RiskArgs {
    /// The de-identified dataset: a run's OUTPUT (its state folder is skipped).
    pub dataset: PathBuf,
    /// The smallest acceptable class size: patients in smaller classes are at risk.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..))]
    pub k: u32,
    /// The quasi-identifiers to measure, instead of the default set: DICOM keywords of
    /// top-level attributes (a sequence counts its items' codes), StudyYear, StudySeason.
    #[arg(long, value_delimiter = ',', value_name = "ATTR,...")]
    pub qi: Vec<String>,
    /// Quasi-identifiers to measure besides the default set (or those of --qi).
    #[arg(long, value_delimiter = ',', value_name = "ATTR,...")]
    pub add_qi: Vec<String>,
    /// The size of the population the dataset was drawn from: adds the journalist risk.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub population: Option<u64>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write a self-contained HTML page of the report (outside DATASET).
    #[arg(long, value_name = "FILE.html")]
    pub html: Option<PathBuf>,
    /// Threads reading files (default: the number of cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Skip files larger than this many bytes (they are counted).
    #[arg(long, default_value_t = 2 << 30, value_name = "BYTES")]
    pub max_file_size: u64,
}

#[derive(Args)]
pub struct InspectArgs {
    /// One DICOM file.
    pub file: PathBuf,
    /// A built-in profile name or a YAML file.
    #[arg(long, default_value = profile::DEFAULT_PROFILE)]
    pub profile: String,
    /// The key file, so that new UIDs and pseudonyms are the ones a run writes. Default:
    /// $DICOM_DEID_KEY_FILE, else the per-user key; else a temporary key.
    #[arg(long, env = KEY_FILE_ENV)]
    pub key_file: Option<PathBuf>,
    /// Write the table (with original values) even when stdout is not a terminal.
    #[arg(long)]
    pub force: bool,
    /// Refuse files larger than this many bytes.
    #[arg(long, default_value_t = 2 << 30, value_name = "BYTES")]
    pub max_file_size: u64,
}

/// `--fsync`, as [`Fsync`] says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FsyncArg {
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

/// One outcome `--fail-on` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOnArg {
    /// Some files failed: exit 1.
    Failed,
    /// Some files were quarantined by the profile: exit 3.
    Quarantined,
    /// Some files were empty or not DICOM: exit 4.
    NotDicom,
    /// No outcome of a finished run fails it.
    None,
}

impl RunArgs {
    /// The outcomes that fail the run, from `--fail-on` and `--exit-zero-on-file-failures`.
    pub fn fail_on(&self) -> FailOn {
        let has = |o| !self.exit_zero_on_file_failures && self.fail_on.contains(&o);
        FailOn {
            failed: has(FailOnArg::Failed),
            quarantined: has(FailOnArg::Quarantined),
            not_dicom: has(FailOnArg::NotDicom),
        }
    }
}

#[derive(Args)]
pub struct RunArgs {
    /// The folder to read (a PACS export); never modified.
    pub input: PathBuf,
    /// The folder to write: OUTPUT/<PatientID>/<StudyUID>/<SeriesUID>/<SOPUID>.dcm, plus
    /// manifest.jsonl and summary.json.
    pub output: PathBuf,
    /// A built-in profile name (see `profile list`) or a YAML file.
    #[arg(long, default_value = profile::DEFAULT_PROFILE)]
    pub profile: String,
    /// The key file (64 hex characters). Default: $DICOM_DEID_KEY_FILE, else a per-user key
    /// created on first use.
    #[arg(long, env = KEY_FILE_ENV)]
    pub key_file: Option<PathBuf>,
    /// Worker threads (default: the number of cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Finish an interrupted run: keep the files it wrote that still hash the same. Only the
    /// same run: the same INPUT, key and profile.
    #[arg(long, conflicts_with = "add")]
    pub resume: bool,
    /// Add a run to the dataset in OUTPUT (made with the same key; the profile may differ):
    /// new files join the same study tree, files already there with the same bytes are
    /// recorded as already present, nothing earlier runs wrote is changed. Into an empty
    /// OUTPUT, the first run. For nightly jobs.
    #[arg(long, conflicts_with_all = ["shard", "shard_env"])]
    pub add: bool,
    /// Do everything but write; print the manifest records on stdout.
    #[arg(long)]
    pub dry_run: bool,
    /// Process only shard K of N (1-based), chosen by a keyed hash of each input path.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Like --shard, with a 0-based index read from environment variable VAR: shard VAR+1 of
    /// N. For schedulers that hand out indexes, e.g. JOB_COMPLETION_INDEX/8 in a Kubernetes
    /// Indexed Job.
    #[arg(long, value_name = "VAR/N", conflicts_with = "shard")]
    pub shard_env: Option<ShardFromEnv>,
    /// Exit 0 when the run finished even if some files failed or were quarantined (they are
    /// still in the manifest). For scheduled shards, whose merge step reports them. The same
    /// as `--fail-on none`.
    #[arg(long, conflicts_with = "fail_on")]
    pub exit_zero_on_file_failures: bool,
    /// Which outcomes of a finished run make it exit non-zero, comma-separated: `failed`
    /// (exit 1), `quarantined` (exit 3), `not-dicom` (exit 4: empty or non-DICOM files, a sign
    /// of a truncated export), or `none`. The first that applies, in that order, wins.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "failed,quarantined",
        value_name = "OUTCOMES"
    )]
    pub fail_on: Vec<FailOnArg>,
    /// Write the original -> new identifier CSVs (id_old,id_new) into this folder. These hold
    /// PHI: the folder must be outside INPUT and OUTPUT.
    #[arg(long, value_name = "DIR")]
    pub linkage: Option<PathBuf>,
    /// Encrypt the linkage to this age recipient (age1…, repeatable) instead of writing it in
    /// plain text: one file per run, DIR/linkage-NNNN.csv.age, which only the matching
    /// identity reads (`dicom-deid linkage lookup`).
    #[arg(long, value_name = "RECIPIENT", requires = "linkage")]
    pub linkage_recipient: Vec<String>,
    /// Encrypt the linkage to the recipients in this file (one age1… per line, # comments).
    #[arg(long, value_name = "FILE", requires = "linkage")]
    pub linkage_recipients_file: Option<PathBuf>,
    /// Write DIR/triage-NNNN.csv (a shard's: triage-K-of-N.csv): input path, keyed id,
    /// status and reason code of every file not written, so an operator can find them. Input
    /// paths often name patients: the folder must be outside INPUT and OUTPUT.
    #[arg(long, value_name = "DIR")]
    pub triage: Option<PathBuf>,
    /// Name inputs by their path (which may hold patient names) in the manifest and messages,
    /// not only by their keyed id.
    #[arg(long)]
    pub manifest_paths: bool,
    /// Follow symbolic links while walking INPUT.
    #[arg(long)]
    pub follow_links: bool,
    /// Fail files larger than this many bytes (and deflated data sets inflating beyond it).
    #[arg(long, default_value_t = 2 << 30, value_name = "BYTES")]
    pub max_file_size: u64,
    /// When written files are forced to the disk: `end` (one sync before the manifest is
    /// written; a machine crash mid-run can lose files, which --resume detects and redoes) or
    /// `each` (every file before its rename).
    #[arg(long, value_enum, default_value_t = FsyncArg::End)]
    pub fsync: FsyncArg,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Write an HTML page to spot-check the run: a sample of every kind of written image
    /// (frames as written, masked regions outlined, in colour where the image is colour),
    /// and every quarantined and failed file with its reason. Outside INPUT.
    #[arg(long, value_name = "FILE.html", conflicts_with = "dry_run")]
    pub qa_report: Option<PathBuf>,
    /// How many images of each kind (modality, SOP class, colour, masked or not) the
    /// --qa-report page shows, drawn by the run's key: the same run shows the same files.
    #[arg(long, value_name = "N", default_value_t = qa_report::DEFAULT_SAMPLE, requires = "qa_report")]
    pub qa_sample: usize,
}

#[derive(Args)]
pub struct HistoryArgs {
    /// The dataset (the OUTPUT of `dicom-deid run`).
    pub dataset: PathBuf,
    /// Print the runs as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct SummaryArgs {
    /// The folder the shards wrote into.
    pub output: PathBuf,
    /// Threads hashing the outputs (default: the number of cores).
    #[arg(long, short = 'j')]
    pub jobs: Option<usize>,
    /// Print the merged summary and the problems as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum RulesCommand {
    /// Suggest starter pixel rules for the images a dataset quarantined for burned-in text:
    /// grouped by device and geometry, the detector run on a few of each group, one rule per
    /// group with the regions it found, and a page to review them.
    #[command(
        long_about = "Suggest starter pixel rules for the images a dataset quarantined because \
burned-in text was likely and no rule matched (reason code burned_in_no_rule). They are found \
again under INPUT by the keyed id of their path (so the dataset's key is needed), grouped by \
Manufacturer, ManufacturerModelName, Rows, Columns and SOPClassUID, and the text detector looks \
at a few images of each group (drawn by the key: the same dataset gives the same draw). Each \
group with text gets a rule whose regions are the union of what was found; a group without is \
written commented out. The rules are a profile that extends the dataset's: review them, then \
`dicom-deid run INPUT OUTPUT --add --profile RULES.yaml` writes the images they release.\n\n\
--review writes a page with each group's frames and the proposed regions. It shows INPUT \
pixels, burned-in names and dates included: it must be outside DATASET and INPUT, and is for \
people who may see the input.\n\n\
Exit codes: 0 rules suggested (or nothing quarantined); 2 could not run.",
        after_help = "Examples:
  dicom-deid rules suggest /data/deid --input /data/pacs-export -o us-rules.yaml --review /secure/us-review.html
  dicom-deid run /data/pacs-export /data/deid --add --profile us-rules.yaml"
    )]
    Suggest(SuggestArgs),
}

#[derive(Args)]
pub struct SuggestArgs {
    /// The dataset: a run's OUTPUT (its manifest names the quarantined images).
    pub dataset: PathBuf,
    /// The run's INPUT, where the quarantined images are read (never written).
    #[arg(long, value_name = "INPUT")]
    pub input: PathBuf,
    /// The dataset's key file. Default: $DICOM_DEID_KEY_FILE, else the per-user key.
    #[arg(long, env = KEY_FILE_ENV)]
    pub key_file: Option<PathBuf>,
    /// Write the rules (a profile) to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "RULES.yaml")]
    pub output: Option<PathBuf>,
    /// Write the review page: each group's frames with the proposed regions. It shows INPUT
    /// pixels (burned-in PHI): it must be outside DATASET and INPUT.
    #[arg(long, value_name = "FILE.html")]
    pub review: Option<PathBuf>,
    /// How many images of each group the detector looks at.
    #[arg(long, value_name = "N", default_value_t = suggest::DEFAULT_PER_GROUP,
          value_parser = clap::value_parser!(u16).range(1..))]
    pub per_group: u16,
    /// The profile the rules extend (a built-in name or a YAML file). Default: the profile of
    /// the dataset's latest run, when it is a built-in one.
    #[arg(long, value_name = "PROFILE")]
    pub extends: Option<String>,
    /// Skip files larger than this many bytes.
    #[arg(long, default_value_t = 2 << 30, value_name = "BYTES")]
    pub max_file_size: u64,
    /// Print a JSON summary on stdout (counts, each group's device, geometry and proposed
    /// regions: nothing of a patient) instead of the text one on stderr; the rules go to -o.
    #[arg(long, requires = "output")]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum LinkageCommand {
    /// Which pseudonym (or new UID) is this original value, and which original is this
    /// pseudonym: every entry of the linkage tables in DIR that matches VALUE.
    #[command(after_help = "Examples:
  dicom-deid linkage lookup /secure/linkage MRN0042 --identity /secure/broker.key
  dicom-deid linkage lookup /secure/linkage PAT-3F2A... --identity /secure/broker.key --json
  printf '%s\\n' \"$MRN\" | dicom-deid linkage lookup /secure/linkage - --identity /secure/broker.key

Reads the encrypted tables (linkage-*.csv.age, with --identity) and the plain ones. Prints only
the matching entries, on stdout. Exit code 0: found; 1: no entry matches; 2: could not look.")]
    Lookup(LinkageLookupArgs),
    /// Write a new age identity for the encrypted linkage (mode 0600) and print its recipient
    /// (age1…), to give to `run --linkage-recipient`.
    #[command(after_help = "Example:
  dicom-deid linkage keygen /secure/broker.key    # prints age1…; keep the file secret")]
    Keygen {
        /// Where to write the identity; an existing file is never overwritten.
        file: PathBuf,
    },
}

#[derive(Args)]
pub struct LinkageLookupArgs {
    /// The folder `run --linkage` wrote into.
    pub dir: PathBuf,
    /// The value to look up: an original (patient ID, UID) or its replacement. `-` reads it
    /// from the first line of standard input (keeps it out of the shell history and process
    /// list).
    pub value: String,
    /// The age identity file that reads the encrypted tables.
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// Print `{"matches": [...]}` on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Subcommand)]
pub enum ProfileCommand {
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
