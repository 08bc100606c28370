//! OUTPUT before a run starts: refuse a folder that holds anything but this dataset's own
//! state, tell a finished dataset (`--add` adds a run to it) from an unfinished run
//! (`--resume` finishes it), and with `--resume` take over what the earlier (killed) run
//! finished: its records, the output names its written files hold, and a tree cleared of what
//! it left half done.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::run::catalogue;
use crate::run::layout::{self, RUN_HEADER, STATE_DIR, name_key};
use crate::run::manifest::{self, Record, Status};
use crate::run::safe_fs::{read_inside, real_dir_inside, write_atomic};
use crate::run::walk::{Input, walk};
use crate::run::{RunConfig, RunError};

/// The run header (`run.json` in the state folder): which run of the dataset is under way or
/// was the last, and what it used. A resumed run must use the same INPUT, key and profile; a
/// run added to the dataset the same key.
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Eq)]
struct JournalHeader {
    key_fingerprint: String,
    profile_sha256: String,
    #[serde(default)]
    input_id: String,
    /// The run's number in the dataset (0 in a sharded run: shards are not numbered).
    #[serde(default)]
    run: u32,
}

impl RunConfig {
    fn header(&self, run: u32) -> JournalHeader {
        JournalHeader {
            key_fingerprint: self.key.fingerprint(),
            profile_sha256: self.deidentifier.profile().table_sha256(),
            input_id: self.input_id(),
            run,
        }
    }
}

/// What earlier runs of this OUTPUT left that this run must know.
#[derive(Default)]
pub(super) struct Earlier {
    /// This run's number in the dataset (0 in a sharded run).
    pub(super) run: u32,
    /// The files earlier runs of the dataset wrote (`--add`), looked up in its catalogue.
    pub(super) dataset: Option<catalogue::Earlier>,
    /// The records of the run this one resumes, by input id.
    pub(super) records: HashMap<String, Record>,
    /// Output names ([`name_key`]) that its written files hold → their input id.
    pub(super) reserved: HashMap<u64, String>,
}

/// Prepare OUTPUT for this run and, when it resumes one, take over what the earlier run
/// finished, clearing what it left unfinished.
pub(super) fn take_over(config: &RunConfig) -> Result<Earlier, RunError> {
    let prepared = prepare_output(config)?;
    let dataset = (prepared.run > 1)
        .then(|| catalogue::Earlier::open(&config.output, prepared.run, !config.dry_run))
        .transpose()?;
    let Some(records) = prepared.records else {
        return Ok(Earlier {
            run: prepared.run,
            dataset,
            ..Earlier::default()
        });
    };
    let reserved: HashMap<u64, String> = records
        .values()
        .filter(|r| r.status == Status::Written)
        .filter_map(|r| Some((name_key(r.output.as_deref()?), r.id.clone())))
        .collect();
    let sole_writer = config.shard.is_none() && !config.dry_run;
    if sole_writer {
        // Every name a record of this run or of an earlier run holds.
        let mut recorded: HashSet<u64> = reserved.keys().copied().collect();
        if let Some(dataset) = &dataset {
            recorded.extend(dataset.names()?);
        }
        clear_after_kill(config, Some(&recorded));
    } else {
        clear_after_kill(config, None);
    }
    Ok(Earlier {
        run: prepared.run,
        dataset,
        records,
        reserved,
    })
}

/// Clear what a killed run left in OUTPUT, in one walk of it:
/// - temp files. A shard removes only its own (named by its inputs' ids or its run files):
///   the other shards may be running and writing theirs.
/// - with `recorded` (the names the earlier run's records hold), the outputs it placed but
///   never recorded (it died between the rename and the journal line, or the machine lost
///   that line): OUTPUT must hold no file that no record claims, since this run takes a file
///   in OUTPUT for an earlier input's.
fn clear_after_kill(config: &RunConfig, recorded: Option<&HashSet<u64>>) {
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
        if let Some(owner) = layout::temp_owner(&name) {
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
            && !recorded.contains(&name_key(&rel))
        {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// What OUTPUT holds, and so what this run is.
struct Prepared {
    /// This run's number (0 in a sharded run).
    run: u32,
    /// The records of the run this one resumes, by input id (`None`: it resumes none).
    records: Option<HashMap<String, Record>>,
}

/// What an unsharded run finds in OUTPUT.
enum Found {
    Empty,
    /// A dataset whose runs have all finished; the last one's number.
    Finished(u32),
    /// A run that began and did not finish (its journal or header is there).
    Unfinished,
    /// Files of something else.
    Foreign,
    /// A finished run of a version that kept no run history (its manifest and summary in
    /// OUTPUT, no `.dicom-deid/runs/`).
    EarlierVersion,
    /// The shards of a sharded run.
    Shards,
}

fn read_header(output: &Path) -> Option<JournalHeader> {
    let bytes = fs::read(output.join(STATE_DIR).join(RUN_HEADER)).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Prepare OUTPUT: refuse what this run may not write into, number the run, and load what an
/// earlier run finished when this run resumes one.
fn prepare_output(config: &RunConfig) -> Result<Prepared, RunError> {
    let saved = read_header(&config.output);
    let (run, records) = match config.shard {
        Some(_) => (0, prepare_shard(config)?),
        None => prepare_dataset(config, saved.as_ref())?,
    };
    if let (true, Some(saved)) = (records.is_some(), &saved) {
        let header = config.header(run);
        if saved.key_fingerprint != header.key_fingerprint {
            return Err(RunError::ResumeMismatch("key"));
        }
        if saved.profile_sha256 != header.profile_sha256 {
            return Err(RunError::ResumeMismatch("profile"));
        }
        if !saved.input_id.is_empty() && saved.input_id != header.input_id {
            return Err(RunError::ResumeMismatch("INPUT"));
        }
    }
    if !config.dry_run {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RunError::Output { path, source }
        };
        fs::create_dir_all(&config.output).map_err(io_err(&config.output))?;
        let state = real_dir_inside(&config.output, Path::new(STATE_DIR))
            .map_err(io_err(&config.output))?;
        if run > 0 {
            let dir = layout::run_dir(Path::new(""), run);
            real_dir_inside(&config.output, &dir).map_err(io_err(&config.output))?;
        }
        if config.shard.is_none() {
            // A run killed while writing its header leaves its temp file and nothing else.
            for entry in fs::read_dir(&state).into_iter().flatten().flatten() {
                let name = entry.file_name();
                if layout::temp_owner(&name.to_string_lossy()).is_some() {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        let header_path = state.join(RUN_HEADER);
        write_atomic(
            &header_path,
            &serde_json::to_vec(&config.header(run)).expect("header serializes"),
        )
        .map_err(io_err(&header_path))?;
    }
    Ok(Prepared { run, records })
}

/// A shard may share OUTPUT with the other shards of its run, nothing else; its own earlier
/// state (`Some`) when it resumes.
fn prepare_shard(config: &RunConfig) -> Result<Option<HashMap<String, Record>>, RunError> {
    let journal = config.journal_path();
    let manifest = config.manifest_path(0);
    let has_state = journal.exists() || manifest.exists();
    let non_empty = fs::read_dir(&config.output).is_ok_and(|mut d| d.next().is_some());
    let started = config.output.join(STATE_DIR).exists();
    if (non_empty && !has_state && !started) || (has_state && !config.resume) {
        return Err(RunError::OutputNotEmpty(config.output.clone()));
    }
    Ok((config.resume && (has_state || started)).then(|| read_records(&[&manifest, &journal])))
}

/// An unsharded run: a new dataset, a run added to one (`--add`), or the unfinished (or last)
/// run finished again (`--resume`). Its number, and the records it resumes.
fn prepare_dataset(
    config: &RunConfig,
    saved: Option<&JournalHeader>,
) -> Result<(u32, Option<HashMap<String, Record>>), RunError> {
    let output = &config.output;
    let journal = config.journal_path();
    let finished = layout::finished_runs(output);
    let last = finished.last().copied().unwrap_or(0);
    let found = if !fs::read_dir(output).is_ok_and(|mut d| d.next().is_some()) {
        Found::Empty
    } else if holds_shards(output) {
        Found::Shards
    } else if journal.exists() || saved.is_some_and(|h| h.run > last) {
        Found::Unfinished
    } else if last > 0 {
        Found::Finished(last)
    } else if output.join(layout::SUMMARY).is_file() {
        Found::EarlierVersion
    } else if output.join(STATE_DIR).exists() {
        // Killed before its header was written.
        Found::Unfinished
    } else {
        Found::Foreign
    };
    match found {
        Found::Empty => Ok((1, None)),
        Found::Foreign => Err(RunError::OutputNotEmpty(output.clone())),
        Found::EarlierVersion => Err(RunError::EarlierVersion(output.clone())),
        Found::Shards => Err(RunError::HoldsShards(output.clone())),
        Found::Unfinished if config.resume => {
            let run = saved.map_or(last + 1, |h| h.run.max(1));
            let from = if journal.exists() {
                journal
            } else {
                layout::run_manifest(output, run)
            };
            Ok((run, Some(read_records(&[&from]))))
        }
        Found::Unfinished => Err(RunError::UnfinishedRun(output.clone())),
        Found::Finished(last) if config.add => {
            if saved.is_some_and(|h| h.key_fingerprint != config.key.fingerprint()) {
                return Err(RunError::AddKeyMismatch);
            }
            Ok((last + 1, None))
        }
        // The last run, done again: every file it wrote that still hashes the same is kept.
        Found::Finished(last) if config.resume => Ok((
            last,
            Some(read_records(&[&layout::run_manifest(output, last)])),
        )),
        Found::Finished(_) => Err(RunError::HoldsDataset(output.clone())),
    }
}

/// Whether OUTPUT holds a shard's manifest, summary or journal.
fn holds_shards(output: &Path) -> bool {
    let top = fs::read_dir(output).into_iter().flatten().flatten();
    let state = fs::read_dir(output.join(STATE_DIR))
        .into_iter()
        .flatten()
        .flatten();
    top.map(|e| layout::shard_file(&e.file_name().to_string_lossy()).is_some())
        .chain(state.map(|e| layout::journal_file(&e.file_name().to_string_lossy()).is_some()))
        .any(|found| found)
}

/// The records of manifests or journals, later files overriding earlier ones, by input id.
fn read_records(paths: &[&Path]) -> HashMap<String, Record> {
    let mut records = HashMap::new();
    for path in paths {
        if let Ok(read) = manifest::read_jsonl(path) {
            for r in read {
                records.insert(r.id.clone(), r);
            }
        }
    }
    records
}

/// Whether an earlier run's record can stand for this input.
pub(super) fn reusable(previous: &Record, input: &Input, output: &Path) -> bool {
    if previous.status != Status::Written || previous.bytes_in != input.size {
        return false;
    }
    let (Some(out), Some(sha)) = (&previous.output, &previous.sha256) else {
        return false;
    };
    read_inside(output, out).is_some_and(|bytes| hex::encode(Sha256::digest(&bytes)) == *sha)
}
