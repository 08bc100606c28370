//! Every name a run gives a file in OUTPUT, made and parsed in one place: the run files (the
//! manifest and summary, one pair per shard in a sharded run), the state folder with the
//! journal, the run header and every run's own records, the temp names outputs are written
//! under before their rename, and the alternate name of a colliding output. `summary` and
//! `verify` read OUTPUT through these names, so this file is the specification of OUTPUT's
//! layout.
//!
//! A dataset (the OUTPUT of unsharded runs) grows run by run (`--add`). Run N, numbered from
//! 1, keeps its own manifest and summary in `.dicom-deid/runs/NNNN/`; nothing there is changed
//! once the run has finished. `manifest.jsonl` in OUTPUT is every run's manifest, run after run
//! (each run appends its own when it finishes), and `summary.json` is a copy of the latest run's.

use std::path::{Path, PathBuf};

use crate::run::{RunConfig, Shard};

/// The state folder inside OUTPUT.
pub const STATE_DIR: &str = ".dicom-deid";
/// The manifest of a run, in OUTPUT.
pub const MANIFEST: &str = "manifest.jsonl";
/// The summary of a run, in OUTPUT.
pub const SUMMARY: &str = "summary.json";
/// The journal of an unsharded run, in the state folder.
const JOURNAL: &str = "journal.jsonl";
/// The key fingerprint and profile hash of the run, in the state folder.
pub(super) const RUN_HEADER: &str = "run.json";
/// The dataset's catalogue of runs and records, in the state folder ([`crate::run::catalogue`]).
pub(super) const CATALOGUE: &str = "catalogue.sqlite";
/// The catalogue, relative to OUTPUT.
pub(super) fn catalogue_rel() -> String {
    format!("{STATE_DIR}/{CATALOGUE}")
}
/// Every run's own records, in the state folder: `runs/NNNN/`.
const RUNS_DIR: &str = "runs";

/// The folder of run `n` of the dataset in `output`.
pub fn run_dir(output: &Path, n: u32) -> PathBuf {
    output
        .join(STATE_DIR)
        .join(RUNS_DIR)
        .join(format!("{n:04}"))
}

/// The manifest of run `n`.
pub fn run_manifest(output: &Path, n: u32) -> PathBuf {
    run_dir(output, n).join(MANIFEST)
}

/// The summary of run `n`.
pub fn run_summary(output: &Path, n: u32) -> PathBuf {
    run_dir(output, n).join(SUMMARY)
}

/// The finished runs of the dataset in `output` (those with a summary), in order.
pub fn finished_runs(output: &Path) -> Vec<u32> {
    let mut runs = run_numbers(output);
    runs.retain(|&n| run_summary(output, n).is_file());
    runs
}

/// Every run folder of the dataset in `output`, finished or not, in order.
pub fn run_numbers(output: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir(output.join(STATE_DIR).join(RUNS_DIR)) else {
        return Vec::new();
    };
    let mut runs: Vec<u32> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let name = name.to_str()?;
            if name.len() < 4 || !name.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            name.parse().ok().filter(|&n| n > 0)
        })
        .collect();
    runs.sort_unstable();
    runs
}

/// The name of a run's `--triage` file (in the folder named, outside OUTPUT):
/// `triage-NNNN.csv`, a shard's `triage-K-of-N.csv`.
pub(super) fn triage_name(run: u32, shard: Option<crate::run::Shard>) -> String {
    match shard {
        Some(shard) => format!("triage-{}-of-{}.csv", shard.k, shard.n),
        None => format!("triage-{run:04}.csv"),
    }
}

/// The label of a run in its records' chain, and in `verify`'s findings.
pub(super) fn run_label(run: u32, shard: Option<crate::run::Shard>) -> String {
    match shard {
        Some(shard) => format!("shard {shard}"),
        None => format!("run {run:04}"),
    }
}

const TEMP_PREFIX: &str = ".dicom-deid-";
const TEMP_SUFFIX: &str = ".tmp";

/// The temp file of input `id` beside the output path `rel`.
pub(super) fn temp_path(output: &Path, id: &str, rel: &str) -> PathBuf {
    let final_path = output.join(rel);
    let dir = final_path.parent().unwrap_or(output);
    dir.join(format!("{TEMP_PREFIX}{id}{TEMP_SUFFIX}"))
}

/// The temp name of run file `name` written by process `pid`: the process id keeps shards that
/// write the same file (run.json) at once apart.
pub(super) fn run_file_temp_name(name: &str, pid: u32) -> String {
    format!("{TEMP_PREFIX}{name}.{pid}{TEMP_SUFFIX}")
}

/// Whose temp file `name` is (`None`: not a temp name): the input id of an output's, the file
/// name of a run file's.
pub(super) fn temp_owner(name: &str) -> Option<&str> {
    let inner = name
        .strip_prefix(TEMP_PREFIX)
        .and_then(|n| n.strip_suffix(TEMP_SUFFIX))?;
    // `<input id>` for outputs, `<file name>.<process id>` for run files.
    Some(
        inner
            .rsplit_once('.')
            .filter(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
            .map_or(inner, |(file, _)| file),
    )
}

/// The name a colliding output with other bytes takes: `<stem>_<first 12 hex of its
/// SHA-256>.dcm`.
pub(super) fn alternate_name(rel: &str, sha: &str) -> String {
    let stem = rel.strip_suffix(".dcm").unwrap_or(rel);
    format!("{stem}_{}.dcm", &sha[..12])
}

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

impl RunConfig {
    /// Where run `n`'s own manifest lands: a shard's own manifest in a sharded run (whose runs
    /// are not numbered), `.dicom-deid/runs/NNNN/manifest.jsonl` otherwise.
    pub(super) fn manifest_path(&self, n: u32) -> PathBuf {
        match self.shard {
            Some(shard) => self.output.join(shard.manifest_name()),
            None => run_manifest(&self.output, n),
        }
    }

    /// Where run `n`'s own summary lands, as [`RunConfig::manifest_path`].
    pub(super) fn summary_path(&self, n: u32) -> PathBuf {
        match self.shard {
            Some(shard) => self.output.join(shard.summary_name()),
            None => run_summary(&self.output, n),
        }
    }

    pub(super) fn journal_path(&self) -> PathBuf {
        let name = self
            .shard
            .map_or_else(|| JOURNAL.to_owned(), |s| s.journal_name());
        self.output.join(STATE_DIR).join(name)
    }
}

/// What a file name in OUTPUT says about shards.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ShardFile {
    Manifest(Shard),
    Summary(Shard),
}

/// `K-of-N` as the file names spell it: digits only.
fn k_of_n(middle: &str) -> Option<Shard> {
    let (k, n) = middle.split_once("-of-")?;
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(k) || !all_digits(n) {
        return None;
    }
    format!("{k}/{n}").parse().ok()
}

/// `manifest-K-of-N.jsonl` or `summary-K-of-N.json`.
pub(super) fn shard_file(name: &str) -> Option<ShardFile> {
    if let Some(middle) = name
        .strip_prefix("manifest-")
        .and_then(|s| s.strip_suffix(".jsonl"))
    {
        return k_of_n(middle).map(ShardFile::Manifest);
    }
    name.strip_prefix("summary-")
        .and_then(|s| s.strip_suffix(".json"))
        .and_then(k_of_n)
        .map(ShardFile::Summary)
}

/// `journal-K-of-N.jsonl` in the state folder.
pub(super) fn journal_file(name: &str) -> Option<Shard> {
    k_of_n(name.strip_prefix("journal-")?.strip_suffix(".jsonl")?)
}

/// Whether `rel` (`/`-separated, relative to OUTPUT) is a manifest or summary, a shard's or
/// the whole run's.
pub(super) fn is_run_file(rel: &str) -> bool {
    rel == MANIFEST || rel == SUMMARY || (!rel.contains('/') && shard_file(rel).is_some())
}

/// The key of an output name held in memory.
pub(super) fn name_key(name: &str) -> u64 {
    use std::hash::{Hash, Hasher};

    let mut hasher = std::hash::DefaultHasher::new();
    name.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::deid::one_file;

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

    #[test]
    fn shard_file_names_parse() {
        let shard = |k, n| Shard { k, n };
        assert_eq!(
            shard_file("manifest-2-of-4.jsonl"),
            Some(ShardFile::Manifest(shard(2, 4)))
        );
        assert_eq!(
            shard_file("summary-4-of-4.json"),
            Some(ShardFile::Summary(shard(4, 4)))
        );
        for name in [
            "manifest.jsonl",
            "summary.json",
            "manifest-5-of-4.jsonl",
            "manifest-0-of-4.jsonl",
            "manifest-+1-of-4.jsonl",
            "summary-1-of-4.jsonl",
            "manifest-1-of-4.json",
        ] {
            assert_eq!(shard_file(name), None, "{name}");
        }
        assert_eq!(journal_file("journal-3-of-8.jsonl"), Some(shard(3, 8)));
        assert_eq!(journal_file("journal.jsonl"), None);
    }
}
