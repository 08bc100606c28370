//! OUTPUT before a run starts: refuse a folder that holds anything but this run's own state,
//! and with `--resume` take over what an earlier (killed) run finished: its records, the
//! output names its written files hold, and a tree cleared of what it left half done.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::run::layout::{self, RUN_HEADER, STATE_DIR, name_key};
use crate::run::manifest::{self, Record, Status};
use crate::run::safe_fs::{read_inside, real_dir_inside, write_atomic};
use crate::run::walk::{Input, walk};
use crate::run::{RunConfig, RunError};

/// The run header (`run.json` in the state folder): a resumed run must use the same key and
/// profile.
#[derive(serde::Serialize, serde::Deserialize, PartialEq, Eq)]
struct JournalHeader {
    key_fingerprint: String,
    profile_sha256: String,
}

impl RunConfig {
    fn header(&self) -> JournalHeader {
        JournalHeader {
            key_fingerprint: self.key.fingerprint(),
            profile_sha256: self.deidentifier.profile().table_sha256(),
        }
    }
}

/// What an earlier run of this OUTPUT finished (both empty when this run resumes none).
#[derive(Default)]
pub(super) struct Earlier {
    /// Its records, by input id.
    pub(super) records: HashMap<String, Record>,
    /// Output names ([`name_key`]) that its written files hold → their input id.
    pub(super) reserved: HashMap<u64, String>,
}

/// Prepare OUTPUT for this run and, when it resumes one, take over what the earlier run
/// finished, clearing what it left unfinished.
pub(super) fn take_over(config: &RunConfig) -> Result<Earlier, RunError> {
    let Some(records) = prepare_output(config)? else {
        return Ok(Earlier::default());
    };
    let reserved: HashMap<u64, String> = records
        .values()
        .filter(|r| r.status == Status::Written)
        .filter_map(|r| Some((name_key(r.output.as_deref()?), r.id.clone())))
        .collect();
    let sole_writer = config.shard.is_none() && !config.dry_run;
    clear_after_kill(config, sole_writer.then_some(&reserved));
    Ok(Earlier { records, reserved })
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
    let manifest = config.manifest_path();
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
        let header_path = config.output.join(STATE_DIR).join(RUN_HEADER);
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
        let header_path = state.join(RUN_HEADER);
        write_atomic(
            &header_path,
            &serde_json::to_vec(&header).expect("header serializes"),
        )
        .map_err(io_err(&header_path))?;
    }
    Ok(previous)
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
