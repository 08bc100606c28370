//! Tamper-evident records: every manifest line a run writes is chained to the one before it,
//! and its summary is sealed, both with a keyed hash ([`Purpose::Audit`]) of the run's key.
//!
//! A manifest line is the record's JSON with two fields added at its end:
//! `"seq":N` (1-based, its place in the run's manifest) and `"chain":"<64 hex>"`, the HMAC of
//! the previous line's chain (for the first line, a start value naming the run) and of the line
//! up to its `,"chain"`. The summary gains `records` (how many lines) and `chain` (the last
//! line's), and ends with `"mac"`: the HMAC of the summary's text without it.
//!
//! [`check`] reads a dataset's runs back and names what does not match, by run and line: an
//! edited line, lines removed, moved or appended, a summary edited, or the dataset's
//! `manifest.jsonl` and `summary.json` not being the runs' own. What this proves: the records
//! are, byte for byte, what a holder of the key wrote. It does not prove that the holder of the
//! key wrote honestly, nor stop someone with the key from writing new records; deleting a
//! whole run's folder is seen only as a gap in the run numbers.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::fs;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::key::{Key, Purpose};
use crate::run::Shard;
use crate::run::catalogue;
use crate::run::layout::{self, MANIFEST, SUMMARY, ShardFile};

/// The keyed chain of one manifest, as lines are written.
pub(super) struct Chain {
    prev: [u8; 32],
    seq: u64,
}

const CHAIN_FIELD: &[u8] = b",\"chain\":\"";
const MAC_FIELD: &str = ",\n  \"mac\": \"";

fn start(key: &Key, label: &str) -> [u8; 32] {
    key.mac(Purpose::Audit, format!("manifest of {label}").as_bytes())
}

fn link(key: &Key, prev: &[u8; 32], body: &[u8]) -> [u8; 32] {
    let mut data = Vec::with_capacity(32 + body.len());
    data.extend_from_slice(prev);
    data.extend_from_slice(body);
    key.mac(Purpose::Audit, &data)
}

fn seal(key: &Key, text: &[u8]) -> [u8; 32] {
    let mut data = b"summary ".to_vec();
    data.extend_from_slice(text);
    key.mac(Purpose::Audit, &data)
}

impl Chain {
    /// The chain of the manifest of `label` (`run 0002`, `shard 2/4`).
    pub(super) fn new(key: &Key, label: &str) -> Self {
        Chain {
            prev: start(key, label),
            seq: 0,
        }
    }

    /// The manifest line of a record's JSON (one object, no newline), newline included.
    pub(super) fn line(&mut self, key: &Key, json: &[u8]) -> Vec<u8> {
        self.seq += 1;
        let mut line = json[..json.len() - 1].to_vec();
        line.extend_from_slice(format!(",\"seq\":{}", self.seq).as_bytes());
        self.prev = link(key, &self.prev, &line);
        line.extend_from_slice(CHAIN_FIELD);
        line.extend_from_slice(hex::encode(self.prev).as_bytes());
        line.extend_from_slice(b"\"}\n");
        line
    }

    /// How many lines, and the last one's chain.
    pub(super) fn head(&self) -> (u64, String) {
        (self.seq, hex::encode(self.prev))
    }
}

/// A summary's pretty JSON (ending in `}`), sealed: its MAC added as the last field.
pub(super) fn sealed_summary(key: &Key, text: &[u8]) -> Vec<u8> {
    let body = &text[..text.len() - 2];
    debug_assert!(text.ends_with(b"\n}"));
    let mut out = body.to_vec();
    out.extend_from_slice(MAC_FIELD.as_bytes());
    out.extend_from_slice(hex::encode(seal(key, text)).as_bytes());
    out.extend_from_slice(b"\"\n}\n");
    out
}

/// The summary's text as it was sealed, and its MAC; `None` when it carries none.
fn unseal(text: &[u8]) -> Option<(Vec<u8>, String)> {
    let text = std::str::from_utf8(text).ok()?;
    let text = text.strip_suffix("\"\n}\n")?;
    let at = text.rfind(MAC_FIELD)?;
    let mac = &text[at + MAC_FIELD.len()..];
    let mut body = text.as_bytes()[..at].to_vec();
    body.extend_from_slice(b"\n}");
    Some((body, mac.to_owned()))
}

/// One way a dataset's records are not what the key's holder wrote. `run` names the run
/// (`run 0002`) or the dataset's own files; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AuditProblem {
    /// A line whose content or chain is not what was written.
    Edited { run: String, line: u64 },
    /// Records missing before this line (removed).
    Removed {
        run: String,
        line: u64,
        records: String,
    },
    /// A record out of its place (moved or repeated).
    Moved { run: String, line: u64, record: u64 },
    /// A line after the last one the summary counts.
    Appended { run: String, line: u64 },
    /// Records missing at the end.
    Truncated {
        run: String,
        lines: u64,
        records: u64,
    },
    /// A summary edited, or carrying no MAC.
    SummaryEdited { run: String },
    /// A run folder without its manifest or summary.
    Missing { run: String, file: String },
    /// The dataset's `manifest.jsonl` is not the runs' manifests one after the other.
    DatasetManifest { line: u64 },
    /// The dataset's `summary.json` is not the latest run's.
    DatasetSummary,
    /// The catalogue does not say what a run's manifest says, from this line on (0: the
    /// catalogue lacks the run, has a run that did not finish, or cannot be read).
    Catalogue { run: String, line: u64 },
}

impl fmt::Display for AuditProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuditProblem::Edited { run, line } => {
                write!(f, "{run}, line {line}: edited (its chain does not match)")
            }
            AuditProblem::Removed { run, line, records } => {
                write!(
                    f,
                    "{run}, line {line}: record(s) {records} removed before it"
                )
            }
            AuditProblem::Moved { run, line, record } => {
                write!(
                    f,
                    "{run}, line {line}: record {record} out of its place (moved)"
                )
            }
            AuditProblem::Appended { run, line } => write!(
                f,
                "{run}, line {line}: appended after the last record the summary counts"
            ),
            AuditProblem::Truncated {
                run,
                lines,
                records,
            } => write!(
                f,
                "{run}: {lines} line(s), the summary counts {records}: the last removed"
            ),
            AuditProblem::SummaryEdited { run } => {
                write!(f, "{run}: the summary was edited (its MAC does not match)")
            }
            AuditProblem::Missing { run, file } => write!(f, "{run}: {file} is missing"),
            AuditProblem::DatasetManifest { line } => write!(
                f,
                "{MANIFEST}, line {line}: not the runs' manifests one after the other"
            ),
            AuditProblem::DatasetSummary => write!(f, "{SUMMARY}: not the latest run's summary"),
            AuditProblem::Catalogue { run, line: 0 } => write!(
                f,
                "{run}: the catalogue does not match the runs' records (rebuild it: delete it, then any run of the dataset writes it anew)"
            ),
            AuditProblem::Catalogue { run, line } => write!(
                f,
                "{run}, line {line}: the catalogue's record differs from the manifest's (rebuild it: delete it, then any run of the dataset writes it anew)"
            ),
        }
    }
}

impl AuditProblem {
    /// The file the problem is in, relative to OUTPUT.
    pub fn file(&self) -> String {
        let in_run = |run: &str, file: &str| {
            if let Some(shard) = run
                .strip_prefix("shard ")
                .and_then(|s| s.parse::<Shard>().ok())
            {
                return match file {
                    SUMMARY => shard.summary_name(),
                    _ => shard.manifest_name(),
                };
            }
            let n: u32 = run
                .strip_prefix("run ")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let dir = layout::run_dir(Path::new(""), n);
            dir.join(file).to_string_lossy().into_owned()
        };
        match self {
            AuditProblem::Edited { run, .. }
            | AuditProblem::Removed { run, .. }
            | AuditProblem::Moved { run, .. }
            | AuditProblem::Appended { run, .. }
            | AuditProblem::Truncated { run, .. } => in_run(run, MANIFEST),
            AuditProblem::SummaryEdited { run } => in_run(run, SUMMARY),
            AuditProblem::Missing { run, file } => in_run(run, file),
            AuditProblem::DatasetManifest { .. } => MANIFEST.to_owned(),
            AuditProblem::DatasetSummary => SUMMARY.to_owned(),
            AuditProblem::Catalogue { .. } => layout::catalogue_rel(),
        }
    }
}

/// What a summary says of its manifest, when its MAC holds.
#[derive(serde::Deserialize)]
struct Head {
    #[serde(default)]
    records: u64,
    #[serde(default)]
    chain: String,
}

/// Check every run of the dataset in `output` with `key` (or, in a sharded run's OUTPUT, every
/// shard's manifest and summary), the dataset's own manifest and summary against its runs, and
/// its catalogue against the runs' manifests. Empty: the records are what the key's holder
/// wrote.
pub fn check(output: &Path, key: &Key) -> Vec<AuditProblem> {
    let mut problems = Vec::new();
    let runs = layout::run_numbers(output);
    for &n in &runs {
        let files = (
            layout::run_summary(output, n),
            layout::run_manifest(output, n),
        );
        check_run(&layout::run_label(n, None), &files, key, &mut problems);
    }
    for shard in shards(output) {
        let files = (
            output.join(shard.summary_name()),
            output.join(shard.manifest_name()),
        );
        check_run(
            &layout::run_label(0, Some(shard)),
            &files,
            key,
            &mut problems,
        );
    }
    if let Some(&last) = runs.last() {
        check_dataset_files(output, &runs, last, &mut problems);
        match catalogue::differences(output) {
            Ok(found) => {
                problems.extend(found.into_iter().map(|(n, line)| AuditProblem::Catalogue {
                    run: layout::run_label(n, None),
                    line,
                }))
            }
            Err(_) => problems.push(AuditProblem::Catalogue {
                run: "the catalogue".to_owned(),
                line: 0,
            }),
        }
    }
    problems
}

/// Whether `output` holds records that [`check`] would check (a dataset's runs, or shards').
pub fn has_records(output: &Path) -> bool {
    !layout::run_numbers(output).is_empty() || !shards(output).is_empty()
}

/// The shards whose manifest or summary is in `output`, in order.
fn shards(output: &Path) -> BTreeSet<Shard> {
    let names = fs::read_dir(output).into_iter().flatten().flatten();
    names
        .filter_map(
            |e| match layout::shard_file(&e.file_name().to_string_lossy())? {
                ShardFile::Manifest(shard) | ShardFile::Summary(shard) => Some(shard),
            },
        )
        .collect()
}

/// Check one run's (or shard's) summary, then its manifest, as `label`'s chain.
fn check_run(
    label: &str,
    (summary_path, manifest_path): &(PathBuf, PathBuf),
    key: &Key,
    problems: &mut Vec<AuditProblem>,
) {
    let run = label.to_owned();
    let summary = fs::read(summary_path).ok();
    let head = match &summary {
        None => {
            problems.push(AuditProblem::Missing {
                run: run.clone(),
                file: SUMMARY.to_owned(),
            });
            None
        }
        Some(text) => match unseal(text) {
            Some((body, mac)) if hex::encode(seal(key, &body)) == mac => {
                serde_json::from_slice::<Head>(&body).ok()
            }
            _ => {
                problems.push(AuditProblem::SummaryEdited { run: run.clone() });
                None
            }
        },
    };
    if !manifest_path.is_file() {
        problems.push(AuditProblem::Missing {
            run,
            file: MANIFEST.to_owned(),
        });
        return;
    }
    let read = || -> Option<Box<dyn BufRead>> {
        let file = fs::File::open(manifest_path).ok()?;
        Some(Box::new(io::BufReader::new(file)))
    };
    check_manifest(&read, key, label, head, problems);
}

/// Check one run's manifest (read twice: first every line's chain by its `seq`, then each
/// line against its predecessor's chain).
fn check_manifest(
    read: &dyn Fn() -> Option<Box<dyn BufRead>>,
    key: &Key,
    run: &str,
    head: Option<Head>,
    problems: &mut Vec<AuditProblem>,
) {
    let Some(reader) = read() else { return };
    let mut chains: HashMap<u64, [u8; 32]> = HashMap::new();
    for line in reader.split(b'\n').map_while(Result::ok) {
        if let Some((_, chain, seq)) = split_line(&line)
            && let Ok(chain) = <[u8; 32]>::try_from(hex::decode(chain).unwrap_or_default())
        {
            chains.entry(seq).or_insert(chain);
        }
    }
    let Some(reader) = read() else { return };
    let counted = head.as_ref().map(|h| h.records);
    let mut found = Vec::new();
    let mut push = |p: AuditProblem| found.push(p);
    let (mut lines, mut last_seq) = (0u64, 0u64);
    for line in reader.split(b'\n').map_while(Result::ok) {
        lines += 1;
        let at = |line| (run.to_owned(), line);
        if counted.is_some_and(|c| lines > c) {
            let (run, line) = at(lines);
            push(AuditProblem::Appended { run, line });
            continue;
        }
        let Some((body, chain, seq)) = split_line(&line) else {
            let (run, line) = at(lines);
            push(AuditProblem::Edited { run, line });
            continue;
        };
        let pred = if seq == 1 {
            Some(start(key, run))
        } else {
            chains.get(&(seq - 1)).copied()
        };
        if pred.is_some_and(|pred| hex::encode(link(key, &pred, body)) != chain) {
            let (run, line) = at(lines);
            push(AuditProblem::Edited { run, line });
        } else if seq <= last_seq {
            let (run, line) = at(lines);
            push(AuditProblem::Moved {
                run,
                line,
                record: seq,
            });
        } else if seq > last_seq + 1 {
            // Records of the gap found elsewhere were moved (and are reported there).
            let removed: Vec<u64> = (last_seq + 1..seq)
                .filter(|s| !chains.contains_key(s))
                .collect();
            if !removed.is_empty() {
                let (run, line) = at(lines);
                push(AuditProblem::Removed {
                    run,
                    line,
                    records: span(&removed),
                });
            }
        }
        last_seq = last_seq.max(seq);
    }
    if let Some(head) = head {
        if last_seq < head.records {
            push(AuditProblem::Truncated {
                run: run.to_owned(),
                lines,
                records: head.records,
            });
        } else if chains.get(&head.records).map(hex::encode) != Some(head.chain) {
            push(AuditProblem::Edited {
                run: run.to_owned(),
                line: head.records,
            });
        }
    }
    problems.extend(found);
}

/// `3` or `3-7` (or the first and last of scattered numbers).
fn span(numbers: &[u64]) -> String {
    match (numbers.first(), numbers.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}-{b}"),
        (Some(a), _) => a.to_string(),
        _ => String::new(),
    }
}

/// A line's body (what its chain covers), its chain, and its `seq`.
fn split_line(line: &[u8]) -> Option<(&[u8], &str, u64)> {
    let body_len = line.len().checked_sub(CHAIN_FIELD.len() + 64 + 2)?;
    let (body, rest) = line.split_at(body_len);
    let chain = rest.strip_prefix(CHAIN_FIELD)?.strip_suffix(b"\"}")?;
    let chain = std::str::from_utf8(chain).ok()?;
    let body_text = std::str::from_utf8(body).ok()?;
    let seq = body_text.rsplit_once(",\"seq\":")?.1.parse().ok()?;
    Some((body, chain, seq))
}

/// The dataset's `manifest.jsonl` must be the runs' manifests one after the other, and its
/// `summary.json` the last run's.
fn check_dataset_files(output: &Path, runs: &[u32], last: u32, problems: &mut Vec<AuditProblem>) {
    let joined = runs
        .iter()
        .filter_map(|&n| fs::File::open(layout::run_manifest(output, n)).ok())
        .flat_map(|f| io::BufReader::new(f).split(b'\n'));
    let dataset = fs::File::open(output.join(MANIFEST))
        .into_iter()
        .flat_map(|f| io::BufReader::new(f).split(b'\n'));
    let mut line = 0u64;
    let mut joined = joined.map(Result::ok);
    let mut dataset = dataset.map(Result::ok);
    loop {
        line += 1;
        match (joined.next(), dataset.next()) {
            (None, None) => break,
            (a, b) if a == b => {}
            _ => {
                problems.push(AuditProblem::DatasetManifest { line });
                break;
            }
        }
    }
    let summary = fs::read(output.join(SUMMARY)).ok();
    if summary.is_none() || summary != fs::read(layout::run_summary(output, last)).ok() {
        problems.push(AuditProblem::DatasetSummary);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(key: &Key, n: usize) -> Vec<Vec<u8>> {
        let mut chain = Chain::new(key, "run 0001");
        (0..n)
            .map(|i| chain.line(key, format!("{{\"id\":\"{i:016}\"}}").as_bytes()))
            .collect()
    }

    fn problems(key: &Key, lines: &[Vec<u8>], records: u64) -> Vec<AuditProblem> {
        let mut chain = Chain::new(key, "run 0001");
        for i in 0..records as usize {
            chain.line(key, format!("{{\"id\":\"{i:016}\"}}").as_bytes());
        }
        let head = Head {
            records,
            chain: chain.head().1,
        };
        let text = lines.concat();
        let read = || -> Option<Box<dyn BufRead>> { Some(Box::new(io::Cursor::new(text.clone()))) };
        let mut found = Vec::new();
        check_manifest(&read, key, "run 0001", Some(head), &mut found);
        found
    }

    #[test]
    fn each_kind_of_change_is_named_by_line() {
        let key = Key::from_bytes([7; 32]);
        let lines = manifest(&key, 6);
        assert_eq!(problems(&key, &lines, 6), []);
        let run = "run 0001".to_owned();

        let mut edited = lines.clone();
        edited[2] = String::from_utf8(edited[2].clone())
            .unwrap()
            .replace("0002", "0009")
            .into_bytes();
        assert_eq!(
            problems(&key, &edited, 6),
            [AuditProblem::Edited {
                run: run.clone(),
                line: 3
            }]
        );

        let mut removed = lines.clone();
        removed.remove(3);
        assert_eq!(
            problems(&key, &removed, 6),
            [AuditProblem::Removed {
                run: run.clone(),
                line: 4,
                records: "4".to_owned()
            }]
        );

        let mut swapped = lines.clone();
        swapped.swap(1, 2);
        assert_eq!(
            problems(&key, &swapped, 6),
            [AuditProblem::Moved {
                run: run.clone(),
                line: 3,
                record: 2
            }]
        );

        let mut cut = lines.clone();
        cut.pop();
        assert_eq!(
            problems(&key, &cut, 6),
            [AuditProblem::Truncated {
                run: run.clone(),
                lines: 5,
                records: 6
            }]
        );

        let mut appended = lines.clone();
        appended.push(lines[0].clone());
        assert_eq!(
            problems(&key, &appended, 6),
            [AuditProblem::Appended { run, line: 7 }]
        );
    }

    #[test]
    fn a_summary_edit_breaks_its_mac() {
        let key = Key::from_bytes([7; 32]);
        let text = b"{\n  \"files\": 3\n}";
        let sealed = sealed_summary(&key, text);
        let (body, mac) = unseal(&sealed).unwrap();
        assert_eq!(body, text);
        assert_eq!(hex::encode(seal(&key, &body)), mac);
        let edited = String::from_utf8(sealed).unwrap().replace('3', "4");
        let (body, mac) = unseal(edited.as_bytes()).unwrap();
        assert_ne!(hex::encode(seal(&key, &body)), mac);
    }
}
