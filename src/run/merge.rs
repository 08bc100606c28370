//! `summary OUTPUT`: after the N shards of a run (`run --shard K/N`, on one machine or many)
//! have written into one OUTPUT, check that they make up one whole run and write its single
//! `manifest.jsonl` and `summary.json`.
//!
//! Shards share nothing while they run, so this is the one place that sees them all. It checks
//! that every shard 1..N finished (its manifest and summary are there, its journal is gone),
//! that all used the same key, profile and tool version, that no input was taken by two shards,
//! that no output path was recorded by two shards with different bytes, that every recorded
//! output is on disk with its recorded SHA-256, and that OUTPUT holds no file no manifest lists
//! (a killed shard's leftovers). Only when nothing is wrong are the merged files written, so a
//! `summary.json` beside shard manifests means the run is whole.
//!
//! The merged manifest is sorted by input id: shard manifests name inputs by keyed id only, so
//! the single run's order (by input path) cannot be rebuilt. Its records are the shards' own;
//! an input held twice by the same bytes in two shards stays `written` in both, since each
//! shard did write it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::run::Shard;
use crate::run::layout::{self, MANIFEST, STATE_DIR, SUMMARY, ShardFile};
use crate::run::manifest::{self, FailOn, Record, Status, Summary};
use crate::run::safe_fs::{file_sha256, write_atomic};

/// At most this many problems are listed (all are counted): a shard that died early can leave
/// thousands of unlisted files, and the list must stay readable.
const MAX_LISTED: usize = 1000;

/// Why `summary` could not run at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error("OUTPUT {0}: not a readable folder")]
    Output(PathBuf),
    #[error("OUTPUT {0} holds no shard manifests or summaries (manifest-K-of-N.jsonl)")]
    NoShards(PathBuf),
    #[error("{path}: cannot write it: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One thing that keeps the shards from making up one whole run. Outputs are named by their
/// path in OUTPUT (de-identified), inputs by keyed id: no problem names a patient value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Problem {
    /// Shard files of runs with different N lie in OUTPUT.
    MixedShardCounts { counts: Vec<u32> },
    /// A shard left no manifest or no summary: it never ran, or died.
    MissingShard { shard: String, missing: Vec<String> },
    /// A shard's journal is still there: it is running, or was killed.
    UnfinishedShard { shard: String },
    /// A shard file that does not parse, or says something it should not.
    BadShardFile { file: String, detail: String },
    /// Shards disagree on something every shard must share.
    Mismatch { field: String, shards: Vec<String> },
    /// One input appears in two shards' manifests.
    InputInTwoShards { id: String, shards: Vec<String> },
    /// Two shards recorded different bytes under one output path.
    OutputConflict { output: String, shards: Vec<String> },
    /// A recorded output is not in OUTPUT.
    OutputMissing { output: String, shard: String },
    /// A recorded output does not have its recorded SHA-256.
    OutputChanged { output: String, shard: String },
    /// A file in OUTPUT that no manifest lists.
    Unlisted { path: String },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::MixedShardCounts { counts } => {
                let counts: Vec<String> = counts.iter().map(u32::to_string).collect();
                write!(
                    f,
                    "shard files of runs with N = {} are mixed in OUTPUT",
                    counts.join(", ")
                )
            }
            Problem::MissingShard { shard, missing } => write!(
                f,
                "shard {shard}: no {} (it did not run or did not finish)",
                missing.join(" and no ")
            ),
            Problem::UnfinishedShard { shard } => write!(
                f,
                "shard {shard}: its journal is still there (it is running or was killed; rerun it with --resume)"
            ),
            Problem::BadShardFile { file, detail } => write!(f, "{file}: {detail}"),
            Problem::Mismatch { field, shards } => write!(
                f,
                "{field} differs from shard {}'s in shard {}",
                shards[0],
                shards[1..].join(", ")
            ),
            Problem::InputInTwoShards { id, shards } => {
                write!(f, "input {id} is in shards {}", shards.join(" and "))
            }
            Problem::OutputConflict { output, shards } => write!(
                f,
                "{output}: shards {} recorded different bytes for it",
                shards.join(" and ")
            ),
            Problem::OutputMissing { output, shard } => {
                write!(f, "{output}: recorded by shard {shard} but not in OUTPUT")
            }
            Problem::OutputChanged { output, shard } => write!(
                f,
                "{output}: its SHA-256 is not the one shard {shard} recorded"
            ),
            Problem::Unlisted { path } => write!(f, "{path}: in OUTPUT but in no manifest"),
        }
    }
}

/// What one shard reported, as listed in the merged summary.
#[derive(Debug, Clone, Serialize)]
pub struct ShardInfo {
    pub shard: String,
    pub files: u64,
    pub failed: u64,
    pub quarantined: u64,
    pub seconds: f64,
    pub files_per_second: f64,
}

/// The result of `summary`: the merged summary (when any shard summary could be read), each
/// shard's figures, and the problems found. Serialized, it is `summary.json`.
#[derive(Debug, Serialize)]
pub struct Merged {
    #[serde(flatten)]
    pub summary: Option<Summary>,
    pub shards: Vec<ShardInfo>,
    pub problems: Vec<Problem>,
    /// All problems found; only the first thousand are in `problems`.
    pub problems_total: usize,
    /// Whether `manifest.jsonl` and `summary.json` were written (only when no problem).
    pub written: bool,
}

impl Merged {
    /// 0 the shards make up a whole run and every file was written or deliberately skipped;
    /// 1 problems were found, or some files failed; 3 some were quarantined (and none failed).
    pub fn exit_code(&self) -> u8 {
        match &self.summary {
            Some(summary) if self.problems_total == 0 => summary.exit_code(FailOn::default()),
            _ => 1,
        }
    }
}

/// Problems found so far, the first [`MAX_LISTED`] kept.
#[derive(Default)]
struct Problems {
    listed: Vec<Problem>,
    total: usize,
}

impl Problems {
    fn push(&mut self, problem: Problem) {
        self.total += 1;
        if self.listed.len() < MAX_LISTED {
            self.listed.push(problem);
        }
    }
}

/// The shard files in OUTPUT.
struct Found {
    /// Per shard count N, per shard K: whether its manifest and its summary are there.
    files: BTreeMap<u32, BTreeMap<u32, (bool, bool)>>,
    /// The shards whose journal is still in the state folder.
    journals: Vec<Shard>,
}

fn file_names(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Why a shard file could not be read; its text is the problem's detail.
#[derive(Debug, thiserror::Error)]
enum ShardFileError {
    #[error("cannot read it ({0})")]
    Unreadable(std::io::ErrorKind),
    #[error("line {0} is not a record")]
    NotARecord(usize),
    #[error("not a shard summary ({0})")]
    NotASummary(serde_json::Error),
}

/// Every line of a shard manifest, strictly: a finished manifest was written atomically, so a
/// line that does not parse means the file was damaged.
fn read_manifest(path: &Path) -> Result<Vec<Record>, ShardFileError> {
    let text = fs::read_to_string(path).map_err(|e| ShardFileError::Unreadable(e.kind()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| serde_json::from_str(line).map_err(|_| ShardFileError::NotARecord(i + 1)))
        .collect()
}

fn read_summary(path: &Path) -> Result<Summary, ShardFileError> {
    let bytes = fs::read(path).map_err(|e| ShardFileError::Unreadable(e.kind()))?;
    serde_json::from_slice(&bytes).map_err(ShardFileError::NotASummary)
}

/// Check the shards in `output` and, when they make up one whole run, write the merged
/// `manifest.jsonl` and `summary.json`. `jobs` threads hash the outputs.
pub fn summarize(output: &Path, jobs: usize) -> Result<Merged, SummaryError> {
    if !output.is_dir() || fs::read_dir(output).is_err() {
        return Err(SummaryError::Output(output.to_path_buf()));
    }
    let found = find_shard_files(output);
    let Some(&n) = found.files.keys().next_back() else {
        return Err(SummaryError::NoShards(output.to_path_buf()));
    };
    let mut problems = Problems::default();
    if found.files.len() > 1 {
        problems.push(Problem::MixedShardCounts {
            counts: found.files.keys().copied().collect(),
        });
        return Ok(Merged {
            summary: None,
            shards: Vec::new(),
            problems: problems.listed,
            problems_total: problems.total,
            written: false,
        });
    }
    let shards: Vec<Shard> = (1..=n).map(|k| Shard { k, n }).collect();
    check_all_finished(&found, &shards, &mut problems);
    let (summaries, manifests) = read_shards(output, &shards, &mut problems);
    check_shared_fields(&summaries, &mut problems);
    let outputs = check_records(&manifests, &mut problems);
    check_outputs(output, jobs, &outputs, &mut problems);
    check_unlisted(output, &outputs, &found.journals, &mut problems);
    write_merged(output, &summaries, manifests, problems)
}

/// Which shard files OUTPUT holds, and which journals its state folder.
fn find_shard_files(output: &Path) -> Found {
    let mut files: BTreeMap<u32, BTreeMap<u32, (bool, bool)>> = BTreeMap::new();
    for name in file_names(output) {
        match layout::shard_file(&name) {
            Some(ShardFile::Manifest(s)) => {
                files.entry(s.n).or_default().entry(s.k).or_default().0 = true
            }
            Some(ShardFile::Summary(s)) => {
                files.entry(s.n).or_default().entry(s.k).or_default().1 = true
            }
            None => {}
        }
    }
    let journals: Vec<Shard> = file_names(&output.join(STATE_DIR))
        .iter()
        .filter_map(|name| layout::journal_file(name))
        .collect();
    for journal in &journals {
        files
            .entry(journal.n)
            .or_default()
            .entry(journal.k)
            .or_default();
    }
    Found { files, journals }
}

/// Every shard left its manifest and summary, and no journal.
fn check_all_finished(found: &Found, shards: &[Shard], problems: &mut Problems) {
    for shard in shards {
        let (manifest, summary) = found.files[&shard.n]
            .get(&shard.k)
            .copied()
            .unwrap_or_default();
        let missing: Vec<String> = [(manifest, "manifest"), (summary, "summary")]
            .into_iter()
            .filter(|(present, _)| !present)
            .map(|(_, what)| what.to_owned())
            .collect();
        if !missing.is_empty() {
            problems.push(Problem::MissingShard {
                shard: shard.to_string(),
                missing,
            });
        }
        if found.journals.contains(shard) {
            problems.push(Problem::UnfinishedShard {
                shard: shard.to_string(),
            });
        }
    }
}

/// Each shard's manifest records.
type ShardRecords = Vec<(Shard, Vec<Record>)>;

/// Each shard's summary and manifest, those that read well and say what they should.
fn read_shards(
    output: &Path,
    shards: &[Shard],
    problems: &mut Problems,
) -> (Vec<(Shard, Summary)>, ShardRecords) {
    let mut summaries: Vec<(Shard, Summary)> = Vec::new();
    let mut manifests: ShardRecords = Vec::new();
    for shard in shards {
        let summary_name = shard.summary_name();
        let summary_path = output.join(&summary_name);
        if summary_path.exists() {
            match read_summary(&summary_path) {
                Ok(summary) if summary.shard.as_deref() != Some(shard.to_string().as_str()) => {
                    problems.push(Problem::BadShardFile {
                        file: summary_name,
                        detail: format!(
                            "says it is shard {}",
                            summary.shard.as_deref().unwrap_or("(none)")
                        ),
                    })
                }
                Ok(summary) => summaries.push((*shard, summary)),
                Err(e) => problems.push(Problem::BadShardFile {
                    file: summary_name,
                    detail: e.to_string(),
                }),
            }
        }
        let manifest_name = shard.manifest_name();
        let manifest_path = output.join(&manifest_name);
        if manifest_path.exists() {
            match read_manifest(&manifest_path) {
                Ok(records) => manifests.push((*shard, records)),
                Err(e) => problems.push(Problem::BadShardFile {
                    file: manifest_name,
                    detail: e.to_string(),
                }),
            }
        }
    }
    for (shard, summary) in &summaries {
        if let Some((_, records)) = manifests.iter().find(|(s, _)| s == shard)
            && summary.files != records.len() as u64
        {
            problems.push(Problem::BadShardFile {
                file: shard.summary_name(),
                detail: format!(
                    "counts {} files but the manifest lists {}",
                    summary.files,
                    records.len()
                ),
            });
        }
    }
    (summaries, manifests)
}

/// The written outputs the manifests record: path → the shards recording it, with the SHA-256
/// each recorded.
type Outputs<'a> = BTreeMap<&'a str, Vec<(Shard, &'a str)>>;

/// Every input is in one shard only; the outputs the records name.
fn check_records<'a>(
    manifests: &'a [(Shard, Vec<Record>)],
    problems: &mut Problems,
) -> Outputs<'a> {
    let mut owner: HashMap<&str, Shard> = HashMap::new();
    let mut outputs: Outputs = BTreeMap::new();
    for (shard, records) in manifests {
        for record in records {
            if let Some(other) = owner.insert(&record.id, *shard) {
                problems.push(Problem::InputInTwoShards {
                    id: record.id.clone(),
                    shards: vec![other.to_string(), shard.to_string()],
                });
            }
            if record.status == Status::Written
                && let (Some(out), Some(sha)) = (&record.output, &record.sha256)
            {
                outputs.entry(out).or_default().push((*shard, sha));
            }
        }
    }
    outputs
}

/// Every output is recorded with one SHA-256 only, and is on disk with it (`jobs` threads hash).
fn check_outputs(output: &Path, jobs: usize, outputs: &Outputs, problems: &mut Problems) {
    let mut to_hash: Vec<(&str, Shard, &str)> = Vec::new();
    for (out, holders) in outputs {
        let shas: BTreeSet<&str> = holders.iter().map(|(_, sha)| *sha).collect();
        if shas.len() > 1 {
            let shards: BTreeSet<String> = holders.iter().map(|(s, _)| s.to_string()).collect();
            problems.push(Problem::OutputConflict {
                output: (*out).to_owned(),
                shards: shards.into_iter().collect(),
            });
        } else {
            let (shard, sha) = holders[0];
            to_hash.push((out, shard, sha));
        }
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.max(1))
        .build()
        .expect("a thread pool of the requested size");
    let hash_problems: Vec<Problem> = pool.install(|| {
        to_hash
            .par_iter()
            .filter_map(|&(out, shard, sha)| match file_sha256(&output.join(out)) {
                Ok(actual) if actual == sha => None,
                Ok(_) => Some(Problem::OutputChanged {
                    output: out.to_owned(),
                    shard: shard.to_string(),
                }),
                Err(_) => Some(Problem::OutputMissing {
                    output: out.to_owned(),
                    shard: shard.to_string(),
                }),
            })
            .collect()
    });
    for problem in hash_problems {
        problems.push(problem);
    }
}

/// Files no manifest lists. A killed shard's journal lists what it wrote: those are reported
/// once, as the unfinished shard, not file by file.
fn check_unlisted(output: &Path, outputs: &Outputs, journals: &[Shard], problems: &mut Problems) {
    let journal_outputs: HashSet<String> = journals
        .iter()
        .flat_map(|j| manifest::read_jsonl(&output.join(STATE_DIR).join(j.journal_name())))
        .flatten()
        .filter_map(|r| r.output)
        .collect();
    for path in unlisted(output, outputs, &journal_outputs) {
        problems.push(Problem::Unlisted { path });
    }
}

/// The merged result; with no problem, the merged manifest (sorted by input id) and summary
/// written.
fn write_merged(
    output: &Path,
    summaries: &[(Shard, Summary)],
    manifests: ShardRecords,
    problems: Problems,
) -> Result<Merged, SummaryError> {
    let mut records: Vec<Record> = manifests.into_iter().flat_map(|(_, r)| r).collect();
    records.sort_by(|a, b| a.id.cmp(&b.id));
    // The shards together are the first run of their OUTPUT, as one unsharded run would be.
    for r in &mut records {
        r.run = 1;
    }
    let shard_infos: Vec<ShardInfo> = summaries
        .iter()
        .map(|(shard, s)| ShardInfo {
            shard: shard.to_string(),
            files: s.files,
            failed: s.count(Status::Failed),
            quarantined: s.count(Status::Quarantined),
            seconds: s.seconds,
            files_per_second: s.files_per_second,
        })
        .collect();
    let summary = merged_summary(summaries, &records);
    let mut merged = Merged {
        summary,
        shards: shard_infos,
        problems: problems.listed,
        problems_total: problems.total,
        written: false,
    };
    if merged.problems_total == 0 && merged.summary.is_some() {
        merged.written = true;
        let write = |name: &str, bytes: &[u8]| {
            let path = output.join(name);
            write_atomic(&path, bytes).map_err(|source| SummaryError::Write { path, source })
        };
        write(MANIFEST, &manifest::to_jsonl(&records))?;
        let mut text = serde_json::to_vec_pretty(&merged).expect("the summary serializes");
        text.push(b'\n');
        write(SUMMARY, &text)?;
    }
    Ok(merged)
}

/// Key, profile and tool version must be the same in every shard, or the shards' outputs do
/// not belong together.
fn check_shared_fields(summaries: &[(Shard, Summary)], problems: &mut Problems) {
    let Some((first, reference)) = summaries.first() else {
        return;
    };
    type Pick = fn(&Summary) -> &str;
    let fields: [(&str, Pick); 3] = [
        ("key_fingerprint", |s| &s.key_fingerprint),
        ("profile sha256", |s| &s.profile.sha256),
        ("version", |s| &s.version),
    ];
    for (field, pick) in fields {
        let differing: Vec<String> = summaries
            .iter()
            .filter(|(_, s)| pick(s) != pick(reference))
            .map(|(shard, _)| shard.to_string())
            .collect();
        if !differing.is_empty() {
            let mut shards = vec![first.to_string()];
            shards.extend(differing);
            problems.push(Problem::Mismatch {
                field: field.to_owned(),
                shards,
            });
        }
    }
}

/// Every regular file in OUTPUT that is neither a recorded output, nor a run file (the
/// manifests, summaries and the state folder), nor in a killed shard's journal.
fn unlisted(output: &Path, outputs: &Outputs, journal_outputs: &HashSet<String>) -> Vec<String> {
    let mut found = Vec::new();
    let walker = walkdir::WalkDir::new(output)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() != 1 || e.file_name() != STATE_DIR);
    for entry in walker.flatten() {
        if entry.file_type().is_dir() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(output) else {
            continue;
        };
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        if !layout::is_run_file(&rel)
            && !outputs.contains_key(rel.as_str())
            && !journal_outputs.contains(&rel)
        {
            found.push(rel);
        }
    }
    found
}

/// The shards' summaries as one: shared fields from the first shard, counts from the merged
/// records, and as time the slowest shard's (the run's wall time when the shards ran at once).
fn merged_summary(summaries: &[(Shard, Summary)], records: &[Record]) -> Option<Summary> {
    let (_, first) = summaries.first()?;
    let seconds = summaries.iter().map(|(_, s)| s.seconds).fold(0.0, f64::max);
    let mut summary = Summary {
        shard: None,
        files: 0,
        started: summaries
            .iter()
            .map(|(_, s)| s.started.clone())
            .min()
            .unwrap_or_default(),
        finished: summaries
            .iter()
            .map(|(_, s)| s.finished.clone())
            .max()
            .unwrap_or_default(),
        status: Default::default(),
        codes: Default::default(),
        reasons: Default::default(),
        resumed: summaries.iter().map(|(_, s)| s.resumed).sum(),
        bytes_in: 0,
        bytes_out: 0,
        // The merged manifest is in input-id order, not chained: each shard's is.
        records: 0,
        chain: String::new(),
        seconds,
        files_per_second: 0.0,
        mb_per_second: 0.0,
        ..first.clone()
    };
    summary.tally(records);
    summary.set_rates(seconds);
    Some(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_are_counted_past_the_listed_ones() {
        let mut problems = Problems::default();
        for i in 0..MAX_LISTED + 5 {
            problems.push(Problem::Unlisted {
                path: format!("f{i}"),
            });
        }
        assert_eq!(problems.listed.len(), MAX_LISTED);
        assert_eq!(problems.total, MAX_LISTED + 5);
    }
}
