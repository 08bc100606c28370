//! Placing a finished file, strictly in walk order: its final name (settling collisions, see
//! the module doc of [`crate::run`]), its journal line and its manifest line.

use std::collections::HashSet;
use std::fs::{self, File};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::deid::Linkage;
use crate::deid::one_file::VISUAL_FEATURES_CLEARED;
use crate::dicom::reason::Code;
use crate::run::audit::Chain;
use crate::run::job::Job;
use crate::run::layout::{self, alternate_name, name_key};
use crate::run::linkage::TriageRow;
use crate::run::manifest::{Record, Status, Summary};
use crate::run::process::Done;
use crate::run::safe_fs::{AtomicFile, file_sha256};
use crate::run::{RunConfig, RunError};

/// What placing files has produced so far.
pub(super) struct Placing {
    claims: Claims,
    /// A dry run writes nothing to compare against: the names it placed, with their bytes'
    /// SHA-256 ([`content_key`]).
    dry_contents: HashSet<u64>,
    journal: Option<File>,
    /// The manifest, written as files are placed (none in a dry run).
    pub(super) manifest: Option<AtomicFile>,
    pub(super) summary: Summary,
    pub(super) masked_any: bool,
    /// Some file was cleared under clean-recognizable-visual-features (113102 written).
    pub(super) visual_cleared_any: bool,
    /// The keyed chain of the manifest's lines.
    pub(super) chain: Chain,
    /// Linkage pairs in input order, only with `--linkage`.
    pub(super) linkage: Vec<Linkage>,
    /// The files not written, in input order, only with `--triage`.
    pub(super) triage: Vec<TriageRow>,
}

impl Placing {
    /// Open the journal, appended to as files land, and the manifest, streamed to its temp
    /// file (neither in a dry run).
    pub(super) fn open(config: &RunConfig, run: u32) -> Result<Placing, RunError> {
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
            let path = config.manifest_path(run);
            let manifest = AtomicFile::create(&path).map_err(io(path))?;
            (Some(journal), Some(manifest))
        };
        Ok(Placing {
            claims: if config.shard.is_some() || config.dry_run {
                Claims::InMemory(HashSet::new())
            } else {
                Claims::OnDisk
            },
            dry_contents: HashSet::new(),
            journal,
            manifest,
            summary: Summary::new_run(config, run),
            masked_any: false,
            visual_cleared_any: false,
            chain: Chain::new(&config.key, &layout::run_label(run, config.shard)),
            linkage: Vec::new(),
            triage: Vec::new(),
        })
    }
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

/// A file not written after all: another input's output holds its name (and bytes, or an
/// earlier run made it of this very input). Its temp file goes (none in a dry run).
fn not_written(record: &mut Record, code: Code, output: String, temp: Option<&Path>) {
    if let Some(temp) = temp {
        let _ = fs::remove_file(temp);
    }
    let text = match code {
        Code::AlreadyPresent => "already present (an earlier run of the dataset wrote it)",
        _ => "duplicate",
    };
    record.status = Status::Skipped;
    record.reason = Some(text.to_owned());
    record.code = Some(code);
    record.bytes_out = 0;
    record.output = Some(output);
}

/// The key of an output name holding bytes of this SHA-256 (dry runs).
fn content_key(name: &str, sha: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    (name, sha).hash(&mut hasher);
    hasher.finish()
}

impl Job<'_> {
    /// Give a finished file its final name (see the module doc for collisions), journal it
    /// and write it to the manifest. Called in walk order only.
    pub(super) fn place(&self, placing: &mut Placing, mut done: Done) -> Result<(), RunError> {
        let config = self.config;
        let record = &mut done.record;
        if !done.reused {
            record.run = self.earlier.run;
        }
        if done.reused {
            if let (Some(output), Some(sha)) = (&record.output, &record.sha256) {
                placing.claims.claim(output);
                if config.dry_run {
                    placing.dry_contents.insert(content_key(output, sha));
                }
            }
            placing.summary.resumed += 1;
        } else {
            if record.status == Status::Written {
                let base = record
                    .output
                    .clone()
                    .expect("written records have an output");
                let sha = record.sha256.clone().expect("written records have a hash");
                let tmp = layout::temp_path(&config.output, &record.id, &base);
                self.settle(placing, record, base, &sha, &tmp)?;
            }
            if let Some(journal) = placing.journal.as_mut() {
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
        if let Some(manifest) = placing.manifest.as_mut() {
            let json = serde_json::to_vec(&*record).expect("records serialize");
            let line = placing.chain.line(&config.key, &json);
            manifest
                .write_all(&line)
                .map_err(|source| RunError::Output {
                    path: config.manifest_path(self.earlier.run),
                    source,
                })?;
        }
        placing.summary.add(record);
        placing.masked_any |= !record.pixel_masked_by.is_empty();
        placing.visual_cleared_any |= record.actions.contains_key(VISUAL_FEATURES_CLEARED);
        if config.linkage.is_some()
            && record.status == Status::Written
            && let Some(linkage) = done.linkage
        {
            placing.linkage.push(linkage);
        }
        if let Some(path) = done.path
            && record.status != Status::Written
        {
            placing.triage.push(TriageRow {
                path,
                id: record.id.clone(),
                status: record.status,
                code: record.code,
            });
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
        placing: &mut Placing,
        record: &mut Record,
        base: String,
        sha: &str,
        from: &Path,
    ) -> Result<(), RunError> {
        let config = self.config;
        let output = &config.output;
        let alternate = alternate_name(&base, sha);
        let temp = (!config.dry_run).then_some(from);
        for candidate in [base, alternate] {
            let earlier = self
                .earlier
                .dataset
                .as_ref()
                .and_then(|d| d.get(&candidate));
            // This input, at the same path and of the same size, is what an earlier run of the
            // dataset wrote there: that file stands for it, whatever bytes this run's profile
            // makes of it (a new profile rewrites nothing).
            if earlier
                .as_ref()
                .is_some_and(|e| e.input_id == record.id && e.bytes_in == record.bytes_in)
            {
                not_written(record, Code::AlreadyPresent, candidate, temp);
                return Ok(());
            }
            // A resumed run's file counts as taken by its own input, even before it comes.
            let taken = match self.earlier.reserved.get(&name_key(&candidate)) {
                Some(id) => *id != record.id,
                // A dry run keeps its names in memory; earlier runs' files are on disk.
                None => earlier.is_some() || placing.claims.taken(output, &candidate),
            };
            if taken {
                let same_bytes = (config.dry_run
                    && placing.dry_contents.contains(&content_key(&candidate, sha)))
                    || file_sha256(&output.join(&candidate)).is_ok_and(|found| found == sha);
                if same_bytes {
                    // Another input of this run wrote it, or an earlier run of the dataset.
                    let code = match earlier {
                        Some(_) => Code::AlreadyPresent,
                        None => Code::Duplicate,
                    };
                    not_written(record, code, candidate, temp);
                    return Ok(());
                }
                continue;
            }
            if self.put(from, &output.join(&candidate), sha)? {
                placing.claims.claim(&candidate);
                if config.dry_run {
                    placing.dry_contents.insert(content_key(&candidate, sha));
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
