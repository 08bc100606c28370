//! `run`: walk INPUT, de-identify every DICOM file in parallel, write the study tree, the
//! manifest and the summary.
//!
//! Guarantees, and how they are kept:
//! - **One state per input.** Every file the walk finds (and every walk error) becomes exactly
//!   one [`Record`]. Workers finish files in any order, but each is *placed* (named, journaled,
//!   written to the manifest) strictly in walk order, which is input-path order: names,
//!   collisions and the manifest are the same whatever the thread count.
//! - **Memory flat in the number of files.** The walk is lazy (one folder's listing at a time)
//!   and runs alongside the workers; a placed file leaves behind only a 16-byte claim on its
//!   output name; the manifest is streamed to a temp file. Workers run at most a window of
//!   files ahead of the oldest unplaced one, so a slow file cannot make the others pile up.
//!   (`--resume` holds the earlier run's records, and `--linkage` its pairs, in memory.)
//! - **Nothing half-written.** Each output is written to a temp file beside its final path,
//!   then renamed; `--fsync end` (the default) forces all of them to the disk with one
//!   `syncfs` before the manifest is written, `--fsync each` every file before its rename. A
//!   journal (`.dicom-deid/journal-*.jsonl`) records each finished file as it lands;
//!   `--resume` reuses every `written` record whose output still hashes the same and whose
//!   input has the same size (so a file a crash lost before the sync is redone), deletes
//!   stale temp files and the outputs no record claims (placed just before the kill), and
//!   redoes the rest.
//! - **Collisions.** Two inputs that map to one output path: identical bytes are written once
//!   and the later input (in input-path order) is `skipped` as `duplicate`; different bytes
//!   are both kept, the earlier input under the plain name and the other under
//!   `<SOPInstanceUID>_<first 12 hex of its SHA-256>.dcm`. The rule depends on input order and
//!   content only, never on timing. A resumed run never gives another input a name that an
//!   earlier run's written file holds.
//! - **Shards.** Shard runs share nothing, so for two colliding inputs in different shards the
//!   plain name goes to whichever shard writes first; a shard never overwrites another's
//!   different file, even one landing at the same moment (it places files with a hard link,
//!   which fails on an existing name, and takes the alternate name), so no output is lost and
//!   every manifest hash matches its file. Concurrent shards share the state folder: their
//!   temp files are named apart, and a resumed shard removes only its own stale ones.
//! - **Input untouched.** Inputs are only ever opened for reading; OUTPUT may not be inside
//!   INPUT nor INPUT inside OUTPUT.
//! - **Nothing written outside OUTPUT.** Folders inside OUTPUT are created one by one and a
//!   symbolic link found where a folder belongs fails the file instead of being followed; temp
//!   files are created new (never opened through a link), and earlier outputs are read back
//!   only when they are regular files reached through real folders.
//! - **A full disk stops the run.** When OUTPUT runs out of space (or turns read-only) every
//!   further file would fail too, so the run stops with an error; what it finished is in the
//!   journal and `--resume` completes it once there is room.

pub mod manifest;
pub mod merge;
pub mod qa_report;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::{self, File};
use std::hash::{Hash, Hasher};
use std::io::{self, BufWriter, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, mpsc};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::deid::one_file::{self, FileOutcome};
use crate::deid::{Deidentifier, Linkage};
use crate::dicom::file::{self, Loaded};
use crate::key::{Key, Purpose};
use crate::profile::standard;
use crate::run::manifest::{MethodInfo, ProfileInfo, Record, Status, Summary};

/// The state folder inside OUTPUT.
pub const STATE_DIR: &str = ".dicom-deid";
const TEMP_PREFIX: &str = ".dicom-deid-";
const TEMP_SUFFIX: &str = ".tmp";

/// `--shard K/N`: this run takes the files whose keyed path id falls in shard K (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub k: u32,
    pub n: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("bad shard {s:?}: expected K/N with 1 <= K <= N");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (u32, u32) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if k == 0 || n == 0 || k > n {
            return Err(bad());
        }
        Ok(Shard { k, n })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

/// `--shard-env VAR/N`: the shard from a 0-based index that a scheduler puts in an environment
/// variable (`JOB_COMPLETION_INDEX` in a Kubernetes Indexed Job, `SLURM_ARRAY_TASK_ID` in an
/// array started at 0), so a job manifest needs no shell to turn it into `K/N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardFromEnv {
    pub var: String,
    pub n: u32,
}

impl std::str::FromStr for ShardFromEnv {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("bad shard source {s:?}: expected VAR/N, e.g. JOB_COMPLETION_INDEX/8");
        let (var, n) = s.rsplit_once('/').ok_or_else(bad)?;
        let valid_name = var.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if !valid_name || n == 0 {
            return Err(bad());
        }
        Ok(ShardFromEnv {
            var: var.to_owned(),
            n,
        })
    }
}

impl ShardFromEnv {
    /// The shard for the variable's value (`None`: unset): index I of N is shard I+1 of N.
    pub fn resolve(&self, value: Option<&str>) -> Result<Shard, String> {
        let var = &self.var;
        let value = value.ok_or_else(|| format!("--shard-env: {var} is not set"))?;
        match value.trim().parse::<u32>() {
            Ok(index) if index < self.n => Ok(Shard {
                k: index + 1,
                n: self.n,
            }),
            _ => Err(format!(
                "--shard-env: {var}={value:?} is not a 0-based shard index below {}",
                self.n
            )),
        }
    }
}

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
    pub dry_run: bool,
    pub shard: Option<Shard>,
    pub linkage: Option<PathBuf>,
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
    #[error(
        "--linkage points inside INPUT or OUTPUT: choose a folder outside both (it holds the PHI linkage)"
    )]
    LinkageInside,
    #[error(
        "OUTPUT {0} is not empty and holds no run to resume: use an empty folder, or --resume to finish an earlier run"
    )]
    OutputNotEmpty(PathBuf),
    #[error(
        "--resume: the earlier run used another key or profile ({0}); use the same ones or a new OUTPUT"
    )]
    ResumeMismatch(&'static str),
    #[error("OUTPUT {path}: {source}")]
    Output {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One input file found by the walk.
struct Input {
    rel: PathBuf,
    abs: PathBuf,
    id: String,
    size: u64,
    /// A walk-level outcome decided before reading (symlink, unreadable folder).
    early: Option<(Status, &'static str)>,
}

/// The journal header: a resumed run must use the same key and profile.
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Eq)]
struct JournalHeader {
    key_fingerprint: String,
    profile_sha256: String,
}

/// The result of processing one input, before it is placed.
struct Done {
    record: Record,
    linkage: Option<Linkage>,
    /// An earlier run's record, reused by `--resume` (its file is in place already).
    reused: bool,
}

/// How many files per worker may be finished ahead of the oldest one not yet placed.
const WINDOW_PER_JOB: usize = 64;

/// Mutable state of a run, shared by the workers and the walk under one lock.
struct Shared {
    /// Walk index of the next input to place.
    next: usize,
    /// Finished inputs waiting for an earlier one to be placed.
    pending: BTreeMap<usize, Done>,
    claims: Claims,
    /// A dry run writes nothing to compare against: the names it placed, with their bytes'
    /// SHA-256 ([`content_key`]).
    dry_contents: HashSet<u64>,
    journal: Option<File>,
    /// The manifest, written as files are placed (none in a dry run).
    manifest: Option<AtomicFile>,
    summary: Summary,
    masked_any: bool,
    /// Linkage pairs in input order, only with `--linkage`.
    linkage: Vec<Linkage>,
    /// A fault that stops the run (a full disk): nothing is started or placed after it.
    stop: Option<RunError>,
}

/// Which output names this run has taken.
enum Claims {
    /// OUTPUT itself says: it held nothing else when the run began (a resumed run first
    /// removes what its predecessor placed but never recorded), so nothing is kept per file.
    OnDisk,
    /// Shards share OUTPUT with other shards, and a dry run writes nothing: their names are
    /// kept in memory ([`name_key`], 8 bytes a file).
    InMemory(HashSet<u64>),
}

impl Claims {
    fn taken(&self, output: &Path, name: &str) -> bool {
        match self {
            Claims::OnDisk => fs::symlink_metadata(output.join(name)).is_ok(),
            Claims::InMemory(names) => names.contains(&name_key(name)),
        }
    }

    fn claim(&mut self, name: &str) {
        if let Claims::InMemory(names) = self {
            names.insert(name_key(name));
        }
    }
}

/// The key of an output name held in memory.
fn name_key(name: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    name.hash(&mut hasher);
    hasher.finish()
}

/// The key of an output name holding bytes of this SHA-256 (dry runs).
fn content_key(name: &str, sha: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    (name, sha).hash(&mut hasher);
    hasher.finish()
}

fn canonical(path: &Path) -> Option<PathBuf> {
    fs::canonicalize(path).ok()
}

/// The keyed id of an input path: names a file in the manifest and in messages.
pub fn path_id(key: &Key, rel: &Path) -> String {
    hex::encode(&key.mac(Purpose::Path, rel.as_os_str().as_encoded_bytes())[..8])
}

fn shard_of(key: &Key, rel: &Path, n: u32) -> u32 {
    (key.mac_u64(Purpose::Shard, rel.as_os_str().as_encoded_bytes()) % u64::from(n)) as u32 + 1
}

fn alternate_name(rel: &str, sha: &str) -> String {
    let stem = rel.strip_suffix(".dcm").unwrap_or(rel);
    format!("{stem}_{}.dcm", &sha[..12])
}

/// The manifest of a run, in OUTPUT.
pub const MANIFEST: &str = "manifest.jsonl";
/// The summary of a run, in OUTPUT.
pub const SUMMARY: &str = "summary.json";

impl Shard {
    /// This shard's manifest, in OUTPUT.
    pub fn manifest_name(&self) -> String {
        format!("manifest-{}-of-{}.jsonl", self.k, self.n)
    }

    /// This shard's summary, in OUTPUT.
    pub fn summary_name(&self) -> String {
        format!("summary-{}-of-{}.json", self.k, self.n)
    }

    /// This shard's journal, in the state folder; it exists only while the shard runs (or
    /// after it was killed).
    pub fn journal_name(&self) -> String {
        format!("journal-{}-of-{}.jsonl", self.k, self.n)
    }
}

/// The SHA-256 of a file, read in pieces: outputs can be far larger than memory.
fn file_sha256(path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut File::open(path)?, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

impl RunConfig {
    /// Where this run's manifest lands (a shard's own manifest in a sharded run).
    pub fn manifest_path(&self) -> PathBuf {
        self.output.join(self.manifest_name())
    }

    fn manifest_name(&self) -> String {
        self.shard
            .map_or_else(|| MANIFEST.to_owned(), |s| s.manifest_name())
    }

    fn summary_name(&self) -> String {
        self.shard
            .map_or_else(|| SUMMARY.to_owned(), |s| s.summary_name())
    }

    fn journal_path(&self) -> PathBuf {
        let name = self
            .shard
            .map_or_else(|| "journal.jsonl".to_owned(), |s| s.journal_name());
        self.output.join(STATE_DIR).join(name)
    }

    fn header(&self) -> JournalHeader {
        JournalHeader {
            key_fingerprint: self.key.fingerprint(),
            profile_sha256: self.deidentifier.profile().table_sha256(),
        }
    }
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
    Ok(())
}

/// Walk INPUT in sorted order, without following links unless asked. Lazy: only the listing
/// of the folders being walked is held, however many files the tree has.
fn walk(config: &RunConfig) -> impl Iterator<Item = Input> + '_ {
    // Every shard lists all of INPUT, but looks closer (a stat per file) only at its own files:
    // on a network filesystem the stats of N shards would otherwise cost N times a whole walk.
    let other_shard = |rel: &Path| {
        config
            .shard
            .is_some_and(|shard| shard_of(&config.key, rel, shard.n) != shard.k)
    };
    walkdir::WalkDir::new(&config.input)
        .follow_links(config.follow_links)
        .sort_by_file_name()
        .into_iter()
        .filter_map(move |entry| match entry {
            Ok(entry) => {
                let file_type = entry.file_type();
                if file_type.is_dir() {
                    return None;
                }
                let rel = entry
                    .path()
                    .strip_prefix(&config.input)
                    .unwrap_or(entry.path())
                    .to_path_buf();
                if other_shard(&rel) {
                    return None;
                }
                let early = if file_type.is_symlink() {
                    Some((Status::Skipped, "symlink not followed"))
                } else if !file_type.is_file() {
                    Some((Status::Skipped, "not a regular file"))
                } else {
                    None
                };
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                Some(Input {
                    id: path_id(&config.key, &rel),
                    abs: entry.path().to_path_buf(),
                    rel,
                    size,
                    early,
                })
            }
            Err(err) => {
                let path = err.path().unwrap_or(&config.input).to_path_buf();
                let rel = path
                    .strip_prefix(&config.input)
                    .unwrap_or(&path)
                    .to_path_buf();
                if other_shard(&rel) {
                    return None;
                }
                let reason = if err.loop_ancestor().is_some() {
                    "symlink loop"
                } else {
                    "cannot read folder or file during the walk"
                };
                Some(Input {
                    id: path_id(&config.key, &rel),
                    abs: path,
                    rel,
                    size: 0,
                    early: Some((Status::Failed, reason)),
                })
            }
        })
}

/// Clear what a killed run left in OUTPUT, in one walk of it:
/// - temp files. A shard removes only its own (named by its inputs' ids or its run files):
///   the other shards may be running and writing theirs.
/// - with `recorded` (the names the earlier run's records hold), the outputs it placed but
///   never recorded (it died between the rename and the journal line, or the machine lost
///   that line): OUTPUT must hold no file that no record claims, since this run takes a file
///   in OUTPUT for an earlier input's.
fn clear_after_kill(config: &RunConfig, recorded: Option<&HashMap<u64, String>>) {
    let own: Option<HashSet<String>> = config.shard.map(|shard| {
        walk(config)
            .map(|i| i.id)
            .chain([shard.manifest_name(), shard.summary_name()])
            .collect()
    });
    for entry in walkdir::WalkDir::new(&config.output)
        .min_depth(1)
        .into_iter()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy();
        if let Some(inner) = name
            .strip_prefix(TEMP_PREFIX)
            .and_then(|n| n.strip_suffix(TEMP_SUFFIX))
        {
            // `<input id>` for outputs, `<file name>.<process id>` for run files.
            let owner = inner
                .rsplit_once('.')
                .filter(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
                .map_or(inner, |(file, _)| file);
            if entry.file_type().is_file() && own.as_ref().is_none_or(|own| own.contains(owner)) {
                let _ = fs::remove_file(entry.path());
            }
            continue;
        }
        let (Some(recorded), Ok(rel)) = (recorded, entry.path().strip_prefix(&config.output))
        else {
            continue;
        };
        if rel.starts_with(STATE_DIR) {
            continue;
        }
        let rel = rel.to_string_lossy();
        // Links too (never followed): one in an output's place is nobody's output either.
        if !entry.file_type().is_dir()
            && rel.ends_with(".dcm")
            && !recorded.contains_key(&name_key(&rel))
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Prepare OUTPUT: refuse a foreign non-empty folder, and load what an earlier run finished
/// (`Some` when this run resumes one).
fn prepare_output(config: &RunConfig) -> Result<Option<HashMap<String, Record>>, RunError> {
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| RunError::Output { path, source }
    };
    let header = config.header();
    let journal = config.journal_path();
    let manifest = config.output.join(config.manifest_name());
    // This run's own earlier state, and whether OUTPUT holds anything else: a shard may
    // share OUTPUT with the other shards of its run, nothing else may.
    let has_state = journal.exists() || manifest.exists();
    let non_empty = fs::read_dir(&config.output).is_ok_and(|mut d| d.next().is_some());
    // A run of this tool began here, perhaps killed before its journal existed: the other
    // shards of a run may share OUTPUT, and `--resume` may finish it.
    let started = config.output.join(STATE_DIR).exists();
    let foreign =
        non_empty && !has_state && !(started && (config.shard.is_some() || config.resume));
    if foreign || (has_state && !config.resume) {
        return Err(RunError::OutputNotEmpty(config.output.clone()));
    }
    let mut previous = None;
    if config.resume && (has_state || started) {
        let header_path = config.output.join(STATE_DIR).join("run.json");
        let saved: Option<JournalHeader> = fs::read(&header_path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        match saved {
            Some(saved) if saved.key_fingerprint != header.key_fingerprint => {
                return Err(RunError::ResumeMismatch("key"));
            }
            Some(saved) if saved.profile_sha256 != header.profile_sha256 => {
                return Err(RunError::ResumeMismatch("profile"));
            }
            _ => {}
        }
        let mut records = HashMap::new();
        for path in [&manifest, &journal] {
            if let Ok(read) = manifest::read_jsonl(path) {
                for r in read {
                    records.insert(r.id.clone(), r);
                }
            }
        }
        previous = Some(records);
    }
    if !config.dry_run {
        fs::create_dir_all(&config.output).map_err(io_err(&config.output))?;
        let state = real_dir_inside(&config.output, Path::new(STATE_DIR))
            .map_err(io_err(&config.output))?;
        let header_path = state.join("run.json");
        write_atomic(
            &header_path,
            &serde_json::to_vec(&header).expect("header serializes"),
        )
        .map_err(io_err(&header_path))?;
    }
    Ok(previous)
}

/// Write `bytes` to `path` through a temp file beside it, fsync, rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit()
}

/// A file written under a temp name beside its final path, and given that path (after an
/// fsync) only by [`AtomicFile::commit`]: readers never see it half-written. Dropped
/// uncommitted, the temp file is removed.
struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: BufWriter<File>,
    committed: bool,
}

impl AtomicFile {
    /// Create the temp file afresh: whatever was there, a link included, is removed first, and
    /// a link that appears meanwhile is refused, never followed.
    fn create(path: &Path) -> io::Result<Self> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // The process id keeps shards that write the same file (run.json) at once apart.
        let tmp = dir.join(format!(
            "{TEMP_PREFIX}{name}.{}{TEMP_SUFFIX}",
            std::process::id()
        ));
        match fs::remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        Ok(AtomicFile {
            path: path.to_owned(),
            tmp,
            file: BufWriter::new(file),
            committed: false,
        })
    }

    fn commit(mut self) -> io::Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_all()?;
        fs::rename(&self.tmp, &self.path)?;
        self.committed = true;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// A symbolic link (or a file) inside OUTPUT where a folder belongs.
#[derive(Debug, thiserror::Error)]
#[error("OUTPUT holds a symbolic link or a file where a folder belongs; not writing through it")]
struct LinkInTheWay;

/// Make sure folder `rel` exists inside `output` as real folders, creating them one by one and
/// refusing to pass through a symbolic link (which could lead outside OUTPUT). Returns its path.
fn real_dir_inside(output: &Path, rel: &Path) -> io::Result<PathBuf> {
    let mut dir = output.to_path_buf();
    for part in rel.components() {
        dir.push(part);
        if fs::symlink_metadata(&dir).is_err() {
            match fs::create_dir(&dir) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
        }
        if !fs::symlink_metadata(&dir)?.is_dir() {
            return Err(io::Error::other(LinkInTheWay));
        }
    }
    Ok(dir)
}

/// The bytes of OUTPUT's file `rel` when it is a regular file reached through real folders;
/// `None` otherwise (a link could point anywhere, a FIFO or device could block or never end).
fn read_inside(output: &Path, rel: &str) -> Option<Vec<u8>> {
    let mut path = output.to_path_buf();
    for part in Path::new(rel).components() {
        path.push(part);
        if fs::symlink_metadata(&path).ok()?.is_symlink() {
            return None;
        }
    }
    fs::symlink_metadata(&path)
        .ok()?
        .is_file()
        .then(|| fs::read(&path).ok())?
}

/// Whether a write fault means no further file can be written either.
fn stops_the_run(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull
            | io::ErrorKind::ReadOnlyFilesystem
            | io::ErrorKind::QuotaExceeded
    )
}

/// Open one input, refusing what is no longer a regular file of at most `max` bytes (it may
/// have changed since the walk).
fn open_input(path: &Path, max: u64) -> Result<(File, u64), String> {
    let reason = |e: io::Error| format!("cannot read input ({})", e.kind());
    let file = File::open(path).map_err(reason)?;
    let meta = file.metadata().map_err(reason)?;
    if !meta.is_file() {
        return Err("no longer a regular file".to_owned());
    }
    if meta.len() > max {
        return Err(format!("larger than --max-file-size ({max} bytes)"));
    }
    Ok((file, meta.len()))
}

/// Whether an earlier run's record can stand for this input.
fn reusable(previous: &Record, input: &Input, output: &Path) -> bool {
    if previous.status != Status::Written || previous.bytes_in != input.size {
        return false;
    }
    let (Some(out), Some(sha)) = (&previous.output, &previous.sha256) else {
        return false;
    };
    read_inside(output, out).is_some_and(|bytes| hex::encode(Sha256::digest(&bytes)) == *sha)
}

struct Runner<'a> {
    config: &'a RunConfig,
    reporter: &'a dyn Reporter,
    /// What an earlier run finished, by input id (`--resume`).
    previous: HashMap<String, Record>,
    /// Output names ([`name_key`]) that the earlier run's written files hold → their input id.
    reserved: HashMap<u64, String>,
    /// How far (in walk indices) workers may run ahead of the next file to place.
    window: usize,
    shared: Mutex<Shared>,
    /// Signalled whenever files are placed or the run stops.
    placed: Condvar,
}

impl Runner<'_> {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A worker: process inputs as the walk hands them out, until it is done.
    fn work(&self, inputs: &Mutex<mpsc::Receiver<(usize, Input)>>) {
        loop {
            let next = inputs.lock().unwrap_or_else(PoisonError::into_inner).recv();
            let Ok((index, input)) = next else {
                return;
            };
            // After a fault that stops the run, the rest are drained unread.
            if self.lock().stop.is_some() {
                continue;
            }
            // A crash (a bug: no input should cause one) fails its file, or stops the run
            // when it happened while placing, so the walk never waits for a file that
            // will not come.
            let done =
                catch_unwind(AssertUnwindSafe(|| self.process(&input))).unwrap_or_else(|_| {
                    let reason = "processing crashed on this file".to_owned();
                    let mut record =
                        Record::new(input.id.clone(), Status::Failed, Some(reason), input.size);
                    if self.config.manifest_paths {
                        record.input = Some(input.rel.to_string_lossy().into_owned());
                    }
                    Ok(Done {
                        record,
                        linkage: None,
                        reused: false,
                    })
                });
            if catch_unwind(AssertUnwindSafe(|| self.finish(index, done))).is_err() {
                self.lock().stop = Some(RunError::Output {
                    path: self.config.output.clone(),
                    source: io::Error::other("placing a file crashed"),
                });
                self.placed.notify_all();
            }
        }
    }

    /// Wait until input `index` is within the window of the next file to place; `false` when
    /// the run has stopped instead.
    fn wait_for_room(&self, index: usize) -> bool {
        let mut shared = self.lock();
        while shared.stop.is_none() && index >= shared.next + self.window {
            shared = self
                .placed
                .wait(shared)
                .unwrap_or_else(PoisonError::into_inner);
        }
        shared.stop.is_none()
    }

    /// Hand in a finished input, and place every finished one that is next in walk order.
    fn finish(&self, index: usize, done: Result<Done, RunError>) {
        let mut shared = self.lock();
        if shared.stop.is_some() {
            return;
        }
        match done {
            Err(e) => shared.stop = Some(e),
            Ok(done) => {
                shared.pending.insert(index, done);
                loop {
                    let next = shared.next;
                    let Some(done) = shared.pending.remove(&next) else {
                        break;
                    };
                    if let Err(e) = self.place(&mut shared, done) {
                        shared.stop = Some(e);
                        break;
                    }
                    shared.next += 1;
                }
            }
        }
        drop(shared);
        self.placed.notify_all();
    }

    /// Read, parse, de-identify and encode one input into its temp file, or reuse what an
    /// earlier run made of it.
    fn process(&self, input: &Input) -> Result<Done, RunError> {
        let config = self.config;
        let fail = |status, reason: String| Done {
            record: Record::new(input.id.clone(), status, Some(reason), input.size),
            linkage: None,
            reused: false,
        };
        let mut done = if let Some(previous) = self
            .previous
            .get(&input.id)
            .filter(|previous| reusable(previous, input, &config.output))
        {
            Done {
                record: previous.clone(),
                // The linkage tables list every written file, reused ones too.
                linkage: config.linkage.as_ref().and_then(|_| self.linkage_of(input)),
                reused: true,
            }
        } else if let Some((status, reason)) = input.early {
            fail(status, reason.to_owned())
        } else if input.size > config.max_file_size {
            fail(
                Status::Failed,
                format!(
                    "larger than --max-file-size ({} bytes)",
                    config.max_file_size
                ),
            )
        } else {
            match open_input(&input.abs, config.max_file_size) {
                Err(reason) => fail(Status::Failed, reason),
                Ok((file, len)) => match file::load_file(&file, len) {
                    Err(e) => fail(Status::Failed, format!("cannot read input ({})", e.kind())),
                    Ok(loaded) => self.deidentify(input, &loaded)?,
                },
            }
        };
        if config.manifest_paths {
            done.record.input = Some(input.rel.to_string_lossy().into_owned());
        }
        Ok(done)
    }

    /// The linkage pairs of an input an earlier run wrote: it is read and de-identified
    /// again, nothing written.
    fn linkage_of(&self, input: &Input) -> Option<Linkage> {
        let config = self.config;
        let (file, len) = open_input(&input.abs, config.max_file_size).ok()?;
        let loaded = file::load_file(&file, len).ok()?;
        match one_file::process_loaded(&config.deidentifier, &loaded, config.max_file_size) {
            FileOutcome::Written(output) => Some(output.linkage),
            _ => None,
        }
    }

    /// De-identify one loaded input and write it to its temp file. Only a fault that stops
    /// the whole run (a full disk) is an error; the rest fail this file.
    fn deidentify(&self, input: &Input, loaded: &Loaded<'_>) -> Result<Done, RunError> {
        let config = self.config;
        let size = loaded.len();
        let fail = |status, reason: String| Done {
            record: Record::new(input.id.clone(), status, Some(reason), size),
            linkage: None,
            reused: false,
        };
        let output =
            match one_file::process_loaded(&config.deidentifier, loaded, config.max_file_size) {
                FileOutcome::Written(output) => output,
                FileOutcome::Skipped(reason) => return Ok(fail(Status::Skipped, reason)),
                FileOutcome::Failed(reason) => return Ok(fail(Status::Failed, reason)),
                FileOutcome::Quarantined(reason) => return Ok(fail(Status::Quarantined, reason)),
            };
        let written = if config.dry_run {
            output.write_to(loaded, &mut io::sink())
        } else {
            self.write_temp(input, &output, loaded)
        };
        let (sha256, bytes_out) = match written {
            Ok(written) => written,
            Err(e) if stops_the_run(&e) => {
                return Err(RunError::Output {
                    path: config.output.clone(),
                    source: e,
                });
            }
            Err(e) => {
                let reason = match e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<LinkInTheWay>())
                {
                    Some(link) => link.to_string(),
                    None => format!("cannot write output ({})", e.kind()),
                };
                return Ok(fail(Status::Failed, reason));
            }
        };
        let one_file::Output {
            rel_path,
            transfer_syntax,
            counts,
            linkage,
            pixel,
            ..
        } = *output;
        let mut record = Record::new(input.id.clone(), Status::Written, None, size);
        record.output = Some(rel_path);
        record.sha256 = Some(sha256);
        record.bytes_out = bytes_out;
        record.transfer_syntax = Some(transfer_syntax);
        record.actions = counts.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
        if let Some(p) = pixel {
            record.pixel_regions_masked = p.regions.len() as u64;
            record.pixel_masked_by = p.masked_by;
            record.pixel_regions = p.regions;
            record.pixel_decoded_from = p.decoded_from;
        }
        Ok(Done {
            record,
            linkage: Some(linkage),
            reused: false,
        })
    }

    /// The temp file of input `id` beside the output path `rel`.
    fn temp_path(&self, id: &str, rel: &str) -> PathBuf {
        let final_path = self.config.output.join(rel);
        let dir = final_path.parent().unwrap_or(&self.config.output);
        dir.join(format!("{TEMP_PREFIX}{id}{TEMP_SUFFIX}"))
    }

    /// Write the output file to its temp path, never through a link, fsynced with
    /// `--fsync each`; its SHA-256 and length.
    fn write_temp(
        &self,
        input: &Input,
        output: &one_file::Output,
        loaded: &Loaded<'_>,
    ) -> io::Result<(String, u64)> {
        let folder = Path::new(&output.rel_path)
            .parent()
            .unwrap_or(Path::new(""));
        real_dir_inside(&self.config.output, folder)?;
        let tmp = self.temp_path(&input.id, &output.rel_path);
        match fs::remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        output
            .write_to(loaded, &mut file)
            .and_then(|written| {
                if self.config.fsync == Fsync::Each {
                    file.sync_all()?;
                } else {
                    // Start writing it out now, without waiting: the sync at the end then
                    // has little left to do, and outputs do not crowd other files out of
                    // the cache.
                    let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed);
                }
                Ok(written)
            })
            .inspect_err(|_| {
                let _ = fs::remove_file(&tmp);
            })
    }

    /// Give a finished file its final name (see the module doc for collisions), journal it
    /// and write it to the manifest. Called in walk order only.
    fn place(&self, shared: &mut Shared, mut done: Done) -> Result<(), RunError> {
        let config = self.config;
        let record = &mut done.record;
        if done.reused {
            if let (Some(output), Some(sha)) = (&record.output, &record.sha256) {
                shared.claims.claim(output);
                if config.dry_run {
                    shared.dry_contents.insert(content_key(output, sha));
                }
            }
            shared.summary.resumed += 1;
        } else {
            if record.status == Status::Written {
                let base = record
                    .output
                    .clone()
                    .expect("written records have an output");
                let sha = record.sha256.clone().expect("written records have a hash");
                let tmp = self.temp_path(&record.id, &base);
                self.settle(shared, record, base, &sha, &tmp)?;
            }
            if let Some(journal) = shared.journal.as_mut() {
                let mut line = serde_json::to_vec(&*record).expect("records serialize");
                line.push(b'\n');
                journal
                    .write_all(&line)
                    .map_err(|source| RunError::Output {
                        path: config.journal_path(),
                        source,
                    })?;
            }
        }
        if let Some(manifest) = shared.manifest.as_mut() {
            serde_json::to_writer(&mut *manifest, &*record)
                .map_err(io::Error::from)
                .and_then(|()| manifest.write_all(b"\n"))
                .map_err(|source| RunError::Output {
                    path: config.output.join(config.manifest_name()),
                    source,
                })?;
        }
        shared.summary.add(record);
        shared.masked_any |= !record.pixel_masked_by.is_empty();
        if config.linkage.is_some()
            && record.status == Status::Written
            && let Some(linkage) = done.linkage
        {
            shared.linkage.push(linkage);
        }
        self.reporter.file_done(&done.record);
        Ok(())
    }

    /// Put the file of `record` (now at `from`) under `base` or its alternate name. Every
    /// earlier input is placed already, so a name taken in this run is an earlier input's:
    /// the same bytes there make this input a duplicate of it, other bytes send it on to the
    /// alternate name. A name an earlier run's file holds (`--resume`) is left to its input.
    fn settle(
        &self,
        shared: &mut Shared,
        record: &mut Record,
        base: String,
        sha: &str,
        from: &Path,
    ) -> Result<(), RunError> {
        let config = self.config;
        let output = &config.output;
        let alternate = alternate_name(&base, sha);
        for candidate in [base, alternate] {
            // An earlier run's file counts as taken by its own input, even before it comes.
            let taken = match self.reserved.get(&name_key(&candidate)) {
                Some(id) => *id != record.id,
                None => shared.claims.taken(output, &candidate),
            };
            if taken {
                let same_bytes = (config.dry_run
                    && shared.dry_contents.contains(&content_key(&candidate, sha)))
                    || file_sha256(&output.join(&candidate)).is_ok_and(|found| found == sha);
                if same_bytes {
                    if !config.dry_run {
                        let _ = fs::remove_file(from);
                    }
                    record.status = Status::Skipped;
                    record.reason = Some("duplicate".to_owned());
                    record.bytes_out = 0;
                    record.output = Some(candidate);
                    return Ok(());
                }
                continue;
            }
            if self.put(from, &output.join(&candidate), sha)? {
                shared.claims.claim(&candidate);
                if config.dry_run {
                    shared.dry_contents.insert(content_key(&candidate, sha));
                }
                record.output = Some(candidate);
                return Ok(());
            }
        }
        Err(RunError::Output {
            path: output.join(alternate_name(
                record.output.as_deref().unwrap_or_default(),
                sha,
            )),
            source: std::io::Error::other("two different outputs share a hash prefix"),
        })
    }

    /// Move the finished file `from` to the free name `to`; `false` when another shard holds
    /// `to` with different bytes. Shards write into one tree at the same time and never replace
    /// each other's files, so a shard places a file with a hard link, which fails when `to`
    /// exists, even if it appeared a moment ago; the same bytes already there count as placed.
    /// Where the filesystem has no hard links it looks, then renames, which a shard writing the
    /// same name at that very moment can race (`summary` reports such a race).
    fn put(&self, from: &Path, to: &Path, sha: &str) -> Result<bool, RunError> {
        if self.config.shard.is_none() || self.config.dry_run {
            self.rename(from, to)?;
            return Ok(true);
        }
        // A link in the way is never read through (nor replaced: the other name is taken).
        let holds_these_bytes = || {
            fs::symlink_metadata(to).is_ok_and(|m| m.is_file())
                && file_sha256(to).is_ok_and(|found| found == sha)
        };
        match fs::hard_link(from, to) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if !holds_these_bytes() {
                    return Ok(false);
                }
            }
            Err(_) => {
                if to.exists() && !holds_these_bytes() {
                    return Ok(false);
                }
                self.rename(from, to)?;
                return Ok(true);
            }
        }
        let _ = fs::remove_file(from);
        Ok(true)
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<(), RunError> {
        if self.config.dry_run {
            return Ok(());
        }
        fs::rename(from, to).map_err(|source| RunError::Output {
            path: to.to_owned(),
            source,
        })
    }
}

/// What a run produced.
pub struct RunOutcome {
    pub summary: Summary,
}

/// Run the whole job: the walk feeds `jobs` workers, and finished files are placed in walk
/// order. Per-file faults end in the manifest; only faults that make the run meaningless
/// (bad paths, an unwritable OUTPUT, a full disk) return an error.
pub fn run(config: &RunConfig, reporter: &dyn Reporter) -> Result<RunOutcome, RunError> {
    let started = Instant::now();
    check_paths(config)?;
    let previous = prepare_output(config)?;
    let resuming = previous.is_some();
    let previous = previous.unwrap_or_default();
    let reserved: HashMap<u64, String> = previous
        .values()
        .filter(|r| r.status == Status::Written)
        .filter_map(|r| Some((name_key(r.output.as_deref()?), r.id.clone())))
        .collect();
    if resuming {
        let sole_writer = config.shard.is_none() && !config.dry_run;
        clear_after_kill(config, sole_writer.then_some(&reserved));
    }

    let io = |path: PathBuf| move |source| RunError::Output { path, source };
    let (journal, manifest) = if config.dry_run {
        (None, None)
    } else {
        let path = config.journal_path();
        // A link in the journal's place is not followed: appending through it would write
        // outside OUTPUT.
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_symlink()) {
            fs::remove_file(&path).map_err(io(path.clone()))?;
        }
        let journal = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io(path))?;
        let path = config.output.join(config.manifest_name());
        let manifest = AtomicFile::create(&path).map_err(io(path))?;
        (Some(journal), Some(manifest))
    };
    let jobs = config.jobs.max(1);
    let runner = Runner {
        config,
        reporter,
        previous,
        reserved,
        window: jobs * WINDOW_PER_JOB,
        shared: Mutex::new(Shared {
            next: 0,
            pending: BTreeMap::new(),
            claims: if config.shard.is_some() || config.dry_run {
                Claims::InMemory(HashSet::new())
            } else {
                Claims::OnDisk
            },
            dry_contents: HashSet::new(),
            journal,
            manifest,
            summary: new_summary(config),
            masked_any: false,
            linkage: Vec::new(),
            stop: None,
        }),
        placed: Condvar::new(),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .expect("a thread pool of the requested size");
    let (sender, receiver) = mpsc::sync_channel(jobs * 2);
    let receiver = Mutex::new(receiver);
    pool.in_place_scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|_| runner.work(&receiver));
        }
        for (index, input) in walk(config).enumerate() {
            reporter.found(&input.id);
            if !runner.wait_for_room(index) || sender.send((index, input)).is_err() {
                break;
            }
        }
        drop(sender);
    });

    let shared = runner
        .shared
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(e) = shared.stop {
        return Err(e);
    }
    let mut summary = shared.summary;
    if shared.masked_any {
        let code = standard::method_codes()
            .iter()
            .find(|c| c.value == standard::CLEAN_PIXEL_DATA_CODE)
            .expect("CID 7050 has the Clean Pixel Data code");
        summary.methods.push(MethodInfo {
            code: code.value.clone(),
            scheme: "DCM".to_owned(),
            meaning: code.meaning.clone(),
        });
    }
    if !config.dry_run && config.fsync == Fsync::End {
        sync_filesystem(&config.output).map_err(io(config.output.clone()))?;
    }
    let seconds = started.elapsed().as_secs_f64();
    summary.seconds = (seconds * 1000.0).round() / 1000.0;
    if seconds > 0.0 {
        summary.files_per_second = (summary.files as f64 / seconds * 10.0).round() / 10.0;
        summary.mb_per_second = (summary.bytes_in as f64 / 1e6 / seconds * 10.0).round() / 10.0;
    }

    if let Some(manifest) = shared.manifest {
        manifest
            .commit()
            .map_err(io(config.output.join(config.manifest_name())))?;
        let summary_path = config.output.join(config.summary_name());
        let mut text = serde_json::to_vec_pretty(&summary).expect("summary serializes");
        text.push(b'\n');
        write_atomic(&summary_path, &text).map_err(io(summary_path.clone()))?;
        if let Some(dir) = &config.linkage {
            write_linkage(dir, &shared.linkage).map_err(io(dir.clone()))?;
        }
        let _ = fs::remove_file(config.journal_path());
    }
    Ok(RunOutcome { summary })
}

/// The summary of a run before any file is counted.
fn new_summary(config: &RunConfig) -> Summary {
    let profile = config.deidentifier.profile();
    Summary {
        tool: "dicom-deid".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        profile: ProfileInfo {
            name: profile.name.clone(),
            chain: profile.chain.clone(),
            sha256: profile.table_sha256(),
            options: profile
                .options
                .iter()
                .map(|o| o.name().to_owned())
                .collect(),
        },
        key_fingerprint: config.key.fingerprint(),
        methods: config
            .deidentifier
            .method_codes()
            .into_iter()
            .map(|c| MethodInfo {
                code: c.value.clone(),
                scheme: "DCM".to_owned(),
                meaning: c.meaning.clone(),
            })
            .collect(),
        shard: config.shard.map(|s| s.to_string()),
        dry_run: config.dry_run,
        files: 0,
        status: Default::default(),
        reasons: Default::default(),
        resumed: 0,
        bytes_in: 0,
        bytes_out: 0,
        seconds: 0.0,
        files_per_second: 0.0,
        mb_per_second: 0.0,
    }
}

/// Force everything written under `dir` to the disk: one `syncfs` of its filesystem, which
/// also covers the folders that renames changed.
fn sync_filesystem(dir: &Path) -> std::io::Result<()> {
    let dir = File::open(dir)?;
    rustix::fs::syncfs(&dir).map_err(std::io::Error::from)
}

/// `--linkage DIR`: one CSV per kind of identifier, `id_old,id_new`, sorted.
fn write_linkage(dir: &Path, links: &[Linkage]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    type Pick = fn(&Linkage) -> &(String, String);
    let kinds: [(&str, Pick); 4] = [
        ("patient_id.csv", |l| &l.patient_id),
        ("study_instance_uid.csv", |l| &l.study_uid),
        ("series_instance_uid.csv", |l| &l.series_uid),
        ("sop_instance_uid.csv", |l| &l.sop_uid),
    ];
    for (name, pick) in kinds {
        let pairs: BTreeSet<&(String, String)> = links.iter().map(pick).collect();
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(["id_old", "id_new"])?;
        for (old, new) in pairs {
            writer.write_record([old, new])?;
        }
        let bytes = writer.into_inner().map_err(|e| e.into_error())?;
        write_atomic(&dir.join(name), &bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_partition() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { k: 2, n: 3 }));
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
        let key = Key::from_bytes([1; 32]);
        let mut counts = [0; 3];
        for i in 0..3000 {
            counts[shard_of(&key, Path::new(&format!("p/{i}.dcm")), 3) as usize - 1] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
    }

    #[test]
    fn shard_from_env_maps_a_0_based_index() {
        let spec: ShardFromEnv = "JOB_COMPLETION_INDEX/4".parse().unwrap();
        assert_eq!(spec.var, "JOB_COMPLETION_INDEX");
        assert_eq!(spec.resolve(Some("0")), Ok(Shard { k: 1, n: 4 }));
        assert_eq!(spec.resolve(Some("3")), Ok(Shard { k: 4, n: 4 }));
        assert!(spec.resolve(Some("4")).is_err());
        assert!(spec.resolve(Some("-1")).is_err());
        assert!(spec.resolve(Some("")).is_err());
        let unset = spec.resolve(None).unwrap_err();
        assert!(unset.contains("JOB_COMPLETION_INDEX is not set"), "{unset}");
        for bad in ["/4", "VAR/0", "VAR", "1VAR/2", "A-B/2", "VAR/x"] {
            assert!(bad.parse::<ShardFromEnv>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn path_parts_are_sanitised() {
        assert_eq!(one_file::sanitize("PAT-ABC", "x"), "PAT-ABC");
        assert_eq!(one_file::sanitize("../etc", "x"), ".._etc");
        assert_eq!(one_file::sanitize("..", "x"), "x");
        assert_eq!(one_file::sanitize("a b/c", "x"), "a_b_c");
        assert_eq!(one_file::sanitize("", "x"), "x");
        assert_eq!(
            alternate_name("a/b/c.dcm", "0123456789abcdef"),
            "a/b/c_0123456789ab.dcm"
        );
    }
}
