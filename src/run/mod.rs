//! `run`: walk INPUT, de-identify every DICOM file in parallel, write the study tree, the
//! manifest and the summary.
//!
//! Guarantees, and how they are kept:
//! - **One state per input.** Every file the walk finds (and every walk error) becomes exactly
//!   one [`Record`]. Workers finish files in any order, but each is *placed* (named, journaled,
//!   written to the manifest) strictly in walk order, which is input-path order: names,
//!   collisions and the manifest are the same whatever the thread count (`workers.rs`,
//!   `place.rs`).
//! - **Memory flat in the number of files.** The walk is lazy (one folder's listing at a time)
//!   and runs alongside the workers; a placed file leaves behind only a 16-byte claim on its
//!   output name; the manifest is streamed to a temp file. Workers run at most a window of
//!   files ahead of the oldest unplaced one, so a slow file cannot make the others pile up.
//!   (`--resume` holds the earlier run's records, and `--linkage` its pairs, in memory.)
//!   (`walk.rs`, `workers.rs`)
//! - **Nothing half-written.** Each output is written to a temp file beside its final path,
//!   then renamed; `--fsync end` (the default) forces all of them to the disk with one
//!   `syncfs` before the manifest is written, `--fsync each` every file before its rename. A
//!   journal (`.dicom-deid/journal-*.jsonl`) records each finished file as it lands;
//!   `--resume` reuses every `written` record whose output still hashes the same and whose
//!   input has the same size (so a file a crash lost before the sync is redone), deletes
//!   stale temp files and the outputs no record claims (placed just before the kill), and
//!   redoes the rest (`safe_fs.rs`, `process.rs`, `resume.rs`).
//! - **Collisions.** Two inputs that map to one output path: identical bytes are written once
//!   and the later input (in input-path order) is `skipped` as `duplicate`; different bytes
//!   are both kept, the earlier input under the plain name and the other under
//!   `<SOPInstanceUID>_<first 12 hex of its SHA-256>.dcm`. The rule depends on input order and
//!   content only, never on timing. A resumed run never gives another input a name that an
//!   earlier run's written file holds (`place.rs`; the names in `layout.rs`).
//! - **Shards.** Shard runs share nothing, so for two colliding inputs in different shards the
//!   plain name goes to whichever shard writes first; a shard never overwrites another's
//!   different file, even one landing at the same moment (it places files with a hard link,
//!   which fails on an existing name, and takes the alternate name), so no output is lost and
//!   every manifest hash matches its file. Concurrent shards share the state folder: their
//!   temp files are named apart, and a resumed shard removes only its own stale ones
//!   (`shard.rs`, `place.rs`, `resume.rs`).
//! - **A dataset that grows.** Unsharded runs into one OUTPUT are numbered: the first, then
//!   each `--add`. A run keeps its manifest and summary in `.dicom-deid/runs/NNNN/` and never
//!   changes what an earlier run wrote: a name an earlier run's file holds is never written
//!   again, and an input that file was made of (same keyed path, same size), or the same bytes,
//!   is `already_present`. What earlier runs wrote is looked up in the dataset's catalogue, one
//!   name at a time, never read from their manifests. The run stays unfinished (its journal is
//!   there) until the dataset's `manifest.jsonl` (every run's, in order: each run appends its
//!   own) and `summary.json` (the latest run's) are written and the run is in the catalogue, so
//!   `--resume` after a kill anywhere writes them again (`resume.rs`, `place.rs`,
//!   `catalogue.rs`, `layout.rs`).
//! - **Input untouched.** Inputs are only ever opened for reading; OUTPUT may not be inside
//!   INPUT nor INPUT inside OUTPUT ([`run`] checks the paths first).
//! - **Nothing written outside OUTPUT.** Folders inside OUTPUT are created one by one and a
//!   symbolic link found where a folder belongs fails the file instead of being followed; temp
//!   files are created new (never opened through a link), and earlier outputs are read back
//!   only when they are regular files reached through real folders (`safe_fs.rs`).
//! - **A full disk stops the run.** When OUTPUT runs out of space (or turns read-only) every
//!   further file would fail too, so the run stops with an error; what it finished is in the
//!   journal and `--resume` completes it once there is room (`process.rs`, `workers.rs`).
//!
//! The files, in the order a run meets them:
//! - `mod.rs`: the configuration, the errors, and [`run`] in named steps.
//! - `resume.rs`: OUTPUT prepared: a new dataset, a run added, or (`--resume`) an earlier run
//!   taken over.
//! - `shard.rs`: which inputs a shard takes; `--shard` and `--shard-env`.
//! - `walk.rs`: the inputs, lazily, each with its keyed id.
//! - `workers.rs`: the ordered pool and its window.
//! - `process.rs`: one input to its temp file and record.
//! - `place.rs`: final names, collisions, the journal and manifest lines.
//! - `safe_fs.rs`: atomic writes, real folders, inputs opened read-only, one file hash.
//! - `linkage.rs`: the `--linkage` tables and the `--triage` list.
//! - `broker.rs`: the linkage encrypted to an age recipient, and its lookup.
//! - `layout.rs`: every name in OUTPUT, made and parsed.
//! - `manifest.rs`: the records and the summary.
//! - `audit.rs`: the records' keyed chain and the summary's seal, and their check.
//! - `catalogue.rs`: the dataset's SQLite catalogue of runs and records; `history`.
//! - `merge.rs`: `summary`, the shards of one run checked and merged.
//! - `qa_report.rs`: the `--qa-report` page.
//! - `suggest/`: `rules suggest`, starter pixel rules from the quarantine, and their review page.

pub mod audit;
pub mod broker;
pub mod catalogue;
mod job;
mod layout;
mod linkage;
pub mod manifest;
pub mod merge;
mod place;
mod process;
pub mod qa_report;
mod resume;
mod safe_fs;
mod shard;
pub mod suggest;
mod walk;
mod workers;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::deid::Deidentifier;
use crate::key::Key;
use crate::profile::standard;
use crate::run::linkage::{write_linkage, write_triage};
use crate::run::manifest::{Record, Summary};
use crate::run::place::Placing;
use crate::run::safe_fs::{AtomicFile, sync_filesystem};
use crate::run::workers::Runner;

pub use layout::{MANIFEST, STATE_DIR, SUMMARY};
pub(crate) use safe_fs::write_atomic;
pub use shard::{BadShard, BadShardSource, Shard, ShardEnvError, ShardFromEnv};
pub use walk::path_id;

/// `--fsync`: when written files are forced to the disk. Either way each file is written to
/// a temp name and renamed, so no output is ever seen half-written by a reader.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Fsync {
    /// Once, at the end of the run, before the manifest and summary are written (one
    /// `syncfs` of OUTPUT's filesystem). A crash of the machine mid-run may lose files that
    /// the journal lists; `--resume` notices (it checks every output's hash) and redoes them.
    #[default]
    End,
    /// Every file before its rename, as it lands (much slower on busy or network disks).
    Each,
}

/// Everything a run needs; the CLI builds it from arguments.
pub struct RunConfig {
    pub input: PathBuf,
    pub output: PathBuf,
    pub deidentifier: Deidentifier,
    pub key: Key,
    pub jobs: usize,
    pub resume: bool,
    /// Add a run to the dataset in OUTPUT (made with the same key); into an empty OUTPUT, the
    /// first run.
    pub add: bool,
    pub dry_run: bool,
    pub shard: Option<Shard>,
    pub linkage: Option<PathBuf>,
    /// Encrypt the linkage to these recipients (one age file per run) instead of writing the
    /// plain tables.
    pub linkage_recipients: Vec<broker::Recipient>,
    /// `--triage DIR`: the paths of the files not written (PHI), outside INPUT and OUTPUT.
    pub triage: Option<PathBuf>,
    pub manifest_paths: bool,
    pub follow_links: bool,
    pub max_file_size: u64,
    pub fsync: Fsync,
}

/// Where the library reports progress; the CLI draws it. Messages carry no PHI.
pub trait Reporter: Sync {
    /// The walk found one more input, named by its keyed id (work on earlier ones may be under
    /// way: the walk runs alongside the workers).
    fn found(&self, id: &str);
    /// One file reached its final state; files arrive here in input-path order.
    fn file_done(&self, record: &Record);
}

/// A run that could not start (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("INPUT {0}: not a readable folder")]
    Input(PathBuf),
    #[error(
        "OUTPUT is INPUT, inside INPUT, or contains INPUT: choose an OUTPUT folder outside INPUT"
    )]
    Overlap,
    #[error("the linkage folder is inside INPUT or OUTPUT (it holds the PHI linkage)")]
    LinkageInside,
    #[error("the triage folder is inside INPUT or OUTPUT (it holds input paths)")]
    TriageInside,
    #[error("OUTPUT {0} is not empty and holds no dataset of this tool")]
    OutputNotEmpty(PathBuf),
    #[error("OUTPUT {0} holds a finished dataset")]
    HoldsDataset(PathBuf),
    #[error("OUTPUT {0} holds a run that did not finish")]
    UnfinishedRun(PathBuf),
    #[error(
        "OUTPUT {0} holds a finished run of an earlier version of dicom-deid, which kept no run history"
    )]
    EarlierVersion(PathBuf),
    #[error("OUTPUT {0} holds a sharded run")]
    HoldsShards(PathBuf),
    #[error("the dataset in OUTPUT was made with another key")]
    AddKeyMismatch,
    /// A resumed run whose predecessor used another INPUT, key or profile (which of them).
    #[error("the earlier run in OUTPUT used another INPUT, key or profile ({0})")]
    ResumeMismatch(&'static str),
    #[error("OUTPUT {path}: {source}")]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the dataset's catalogue: {0}")]
    Catalogue(#[from] catalogue::CatalogueError),
    #[error("the encrypted linkage: {0}")]
    Linkage(#[from] broker::BrokerError),
}

/// What a run produced.
pub struct RunOutcome {
    pub summary: Summary,
    /// This run's own manifest (written unless it was a dry run).
    pub manifest: PathBuf,
}

/// Run the whole job: the walk feeds `jobs` workers, and finished files are placed in walk
/// order. Per-file faults end in the manifest; only faults that make the run meaningless
/// (bad paths, an unwritable OUTPUT, a full disk) return an error.
pub fn run(config: &RunConfig, reporter: &dyn Reporter) -> Result<RunOutcome, RunError> {
    let started = Instant::now();
    check_paths(config)?;
    let earlier = resume::take_over(config)?;
    let run = earlier.run;
    let placing = Placing::open(config, run)?;
    let placed = Runner::new(config, reporter, earlier, placing).run_all()?;
    let summary = finish_run(config, run, placed, started)?;
    Ok(RunOutcome {
        summary,
        manifest: config.manifest_path(run),
    })
}

/// Close a run whose files are all placed: force them to the disk (`--fsync end`), time the
/// summary, then give the manifest its name, write the summary, the dataset's manifest and
/// summary, and the linkage tables, and remove the journal (none of it in a dry run). Until
/// the journal is gone the run counts as unfinished, so a kill anywhere in here is finished by
/// `--resume`, which writes the same files again.
fn finish_run(
    config: &RunConfig,
    run: u32,
    placed: Placing,
    started: Instant,
) -> Result<Summary, RunError> {
    let io = |path: PathBuf| move |source| RunError::Output { path, source };
    let mut summary = placed.summary;
    if placed.masked_any {
        summary.add_method(standard::CLEAN_PIXEL_DATA_CODE);
    }
    if placed.visual_cleared_any {
        summary.add_method(standard::CLEAN_RECOGNIZABLE_VISUAL_FEATURES_CODE);
    }
    if !config.dry_run && config.fsync == Fsync::End {
        sync_filesystem(&config.output).map_err(io(config.output.clone()))?;
    }
    summary.finished = manifest::now_rfc3339();
    let seconds = started.elapsed().as_secs_f64();
    summary.seconds = (seconds * 1000.0).round() / 1000.0;
    summary.set_rates(seconds);

    if let Some(manifest) = placed.manifest {
        manifest.commit().map_err(io(config.manifest_path(run)))?;
        let summary_path = config.summary_path(run);
        (summary.records, summary.chain) = placed.chain.head();
        let text = serde_json::to_vec_pretty(&summary).expect("summary serializes");
        let text = audit::sealed_summary(&config.key, &text);
        write_atomic(&summary_path, &text).map_err(io(summary_path.clone()))?;
        if config.shard.is_none() {
            let path = config.output.join(MANIFEST);
            append_dataset_manifest(&config.output, run).map_err(io(path))?;
            let path = config.output.join(SUMMARY);
            write_atomic(&path, &text).map_err(io(path.clone()))?;
            catalogue::record_run(&config.output, run)?;
        }
        match &config.linkage {
            Some(dir) if !config.linkage_recipients.is_empty() => {
                let name = broker::file_name(run, config.shard);
                let recipients = &config.linkage_recipients;
                broker::write_encrypted(dir, &name, &placed.linkage, recipients)?;
            }
            Some(dir) => write_linkage(dir, &placed.linkage).map_err(io(dir.clone()))?,
            None => {}
        }
        if let Some(dir) = &config.triage {
            let name = layout::triage_name(run, config.shard);
            write_triage(dir, &name, &placed.triage).map_err(io(dir.join(&name)))?;
        }
        let _ = fs::remove_file(config.journal_path());
    }
    Ok(summary)
}

/// `manifest.jsonl` in OUTPUT: the manifests of runs 1..=`run`, one after the other. Each run
/// appends its own, so a run's cost does not grow with the dataset: the file is first cut back
/// to the length of the earlier runs' manifests (a killed run may have appended part of its
/// own), then this run's manifest is appended and forced to the disk. Only when the file is
/// missing, shorter than that, or not a regular file is it written anew from every run's
/// manifest. A file edited by hand is not repaired: `verify` reports it.
fn append_dataset_manifest(output: &Path, run: u32) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    let path = output.join(MANIFEST);
    let mut earlier = 0;
    for n in 1..run {
        match fs::metadata(layout::run_manifest(output, n)) {
            Ok(m) => earlier += m.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    let appendable = fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() >= earlier);
    if !appendable {
        return write_dataset_manifest(output, run);
    }
    let mut file = fs::OpenOptions::new().write(true).open(&path)?;
    file.set_len(earlier)?;
    file.seek(SeekFrom::End(0))?;
    std::io::copy(
        &mut fs::File::open(layout::run_manifest(output, run))?,
        &mut file,
    )?;
    file.sync_all()
}

/// `manifest.jsonl` in OUTPUT written anew: the manifests of runs 1..=`last`, one after the
/// other.
fn write_dataset_manifest(output: &Path, last: u32) -> std::io::Result<()> {
    let mut file = AtomicFile::create(&output.join(MANIFEST))?;
    for n in 1..=last {
        match fs::File::open(layout::run_manifest(output, n)) {
            Ok(mut part) => {
                std::io::copy(&mut part, &mut file)?;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    file.commit()
}

fn canonical(path: &Path) -> Option<PathBuf> {
    fs::canonicalize(path).ok()
}

/// Refuse overlapping trees and a linkage path inside them.
fn check_paths(config: &RunConfig) -> Result<(), RunError> {
    let input = canonical(&config.input)
        .filter(|p| p.is_dir())
        .ok_or_else(|| RunError::Input(config.input.clone()))?;
    // OUTPUT may not exist yet: resolve its nearest existing ancestor.
    let resolve = |p: &Path| -> PathBuf {
        let mut existing = p.to_path_buf();
        let mut rest = Vec::new();
        while canonical(&existing).is_none() {
            match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    rest.push(name.to_owned());
                    existing = if parent.as_os_str().is_empty() {
                        PathBuf::from(".")
                    } else {
                        parent.to_path_buf()
                    };
                }
                _ => break,
            }
        }
        let mut out = canonical(&existing).unwrap_or(existing);
        out.extend(rest.iter().rev());
        out
    };
    let output = resolve(&config.output);
    if output.starts_with(&input) || input.starts_with(&output) {
        return Err(RunError::Overlap);
    }
    if let Some(linkage) = &config.linkage {
        let linkage = resolve(linkage);
        if linkage.starts_with(&input) || linkage.starts_with(&output) {
            return Err(RunError::LinkageInside);
        }
    }
    if let Some(triage) = &config.triage {
        let triage = resolve(triage);
        if triage.starts_with(&input) || triage.starts_with(&output) {
            return Err(RunError::TriageInside);
        }
    }
    Ok(())
}
