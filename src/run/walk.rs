//! The walk of INPUT: every file in input-path order, each named by a keyed id of its path,
//! lazily (only the listings of the folders being walked are held).

use std::path::{Path, PathBuf};

use crate::dicom::reason::Code;
use crate::key::{Key, Purpose};
use crate::run::RunConfig;
use crate::run::manifest::Status;
use crate::run::shard::shard_of;

/// One input file found by the walk.
pub(super) struct Input {
    pub(super) rel: PathBuf,
    pub(super) abs: PathBuf,
    pub(super) id: String,
    pub(super) size: u64,
    /// A walk-level outcome decided before reading (symlink, unreadable folder).
    pub(super) early: Option<(Status, Code, &'static str)>,
}

/// The keyed id of an input path: names a file in the manifest and in messages.
pub fn path_id(key: &Key, rel: &Path) -> String {
    hex::encode(&key.mac(Purpose::Path, rel.as_os_str().as_encoded_bytes())[..8])
}

impl RunConfig {
    /// The keyed id of INPUT: of its absolute path (as given when it cannot be resolved).
    pub(crate) fn input_id(&self) -> String {
        let abs = std::fs::canonicalize(&self.input).unwrap_or_else(|_| self.input.clone());
        path_id(&self.key, &abs)
    }
}

/// Walk INPUT in sorted order, without following links unless asked. Lazy: only the listing
/// of the folders being walked is held, however many files the tree has.
pub(super) fn walk(config: &RunConfig) -> impl Iterator<Item = Input> + '_ {
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
                    Some((Status::Skipped, Code::Symlink, "symlink not followed"))
                } else if !file_type.is_file() {
                    Some((Status::Skipped, Code::NotRegularFile, "not a regular file"))
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
                    early: Some((Status::Failed, Code::WalkError, reason)),
                })
            }
        })
}
