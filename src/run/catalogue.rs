//! The dataset's catalogue: an SQLite database in the state folder
//! (`.dicom-deid/catalogue.sqlite`) holding every run and every record of the dataset, so that
//! "which run wrote this file", "what was quarantined last night and why" and "what changed
//! since run N" are one indexed query, however many files the dataset has.
//!
//! It is made from the runs' own records (`.dicom-deid/runs/NNNN/`), which stay the plain-text
//! record: when a run finishes it is (re)written into the catalogue in one transaction, and any
//! earlier finished run the catalogue lacks is imported with it, so a lost or deleted catalogue
//! is rebuilt by the next run. It holds nothing the manifests do not: inputs by keyed id (their
//! paths only when the run had `--manifest-paths`), de-identified output paths, reason codes
//! and texts.
//!
//! Readers: `--add` looks up, one output name at a time, what earlier runs wrote
//! ([`Earlier`]); `verify` lists a dataset's files from it ([`written`]) and, with the key,
//! checks it against the runs' chained manifests ([`differences`]); `history` and `summary`
//! list runs and totals ([`history`], [`totals`]).
//!
//! Tables: `runs` (one row per run: times, tool version, INPUT's keyed id, profile, key
//! fingerprint, counts) and `records` (one row per manifest line, by run and line), with the
//! views `outputs` (written files) and `reasons` (files per run, status and code).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use rusqlite::{Connection, OpenFlags, params};
use serde::Serialize;

use crate::run::layout::{self, CATALOGUE, STATE_DIR};
use crate::run::manifest::{self, Status, Summary};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    run INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT NOT NULL,
    tool_version TEXT NOT NULL,
    input_id TEXT NOT NULL,
    input TEXT,
    profile_name TEXT NOT NULL,
    profile_sha256 TEXT NOT NULL,
    key_fingerprint TEXT NOT NULL,
    files INTEGER NOT NULL,
    written INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    failed INTEGER NOT NULL,
    quarantined INTEGER NOT NULL,
    resumed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    run INTEGER NOT NULL REFERENCES runs(run),
    line INTEGER NOT NULL,
    input_id TEXT NOT NULL,
    input TEXT,
    status TEXT NOT NULL,
    code TEXT,
    reason TEXT,
    output TEXT,
    sha256 TEXT,
    bytes_in INTEGER NOT NULL,
    bytes_out INTEGER NOT NULL,
    PRIMARY KEY (run, line)
);
CREATE INDEX IF NOT EXISTS records_output ON records(output);
CREATE INDEX IF NOT EXISTS records_input ON records(input_id);
CREATE INDEX IF NOT EXISTS records_status ON records(status, run);
CREATE VIEW IF NOT EXISTS outputs AS
    SELECT output, sha256, run, input_id FROM records WHERE status = 'written';
CREATE VIEW IF NOT EXISTS reasons AS
    SELECT run, status, code, COUNT(*) AS files FROM records
    WHERE code IS NOT NULL GROUP BY run, status, code;
";

/// Why the catalogue could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error(
        "{path}: no catalogue (not a dataset of this tool, no run has finished in it, or made by an earlier version, which kept no run history)"
    )]
    Missing { path: PathBuf },
    #[error("{path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path}: cannot be read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The catalogue of the dataset in `output`.
pub fn path(output: &Path) -> PathBuf {
    output.join(STATE_DIR).join(CATALOGUE)
}

/// Write finished run `run` into the catalogue (again, when a resumed run finishes it), with
/// every earlier finished run the catalogue lacks.
pub(super) fn record_run(output: &Path, run: u32) -> Result<(), CatalogueError> {
    let path = path(output);
    let mut db = Connection::open(&path).map_err(sqlite(&path))?;
    import(&mut db, output, Some(run))
}

/// Import every finished run the catalogue in `db` lacks, and `again` (re)written in any case,
/// in one transaction.
fn import(db: &mut Connection, output: &Path, again: Option<u32>) -> Result<(), CatalogueError> {
    let sql = sqlite(&path(output));
    db.execute_batch(SCHEMA).map_err(&sql)?;
    let tx = db.transaction().map_err(&sql)?;
    for n in layout::finished_runs(output) {
        if Some(n) == again || !knows(&tx, n).map_err(&sql)? {
            import_run(&tx, output, n)?;
        }
    }
    tx.commit().map_err(&sql)?;
    // Statistics for the query planner, so that a lookup by output or input id (`sqlite3`
    // queries of the README) takes its index, not the status one: gathered the first time and
    // again only when the tables have grown many times over (SQLite's `optimize`), each time
    // from a bounded sample.
    db.execute_batch("PRAGMA analysis_limit = 400; PRAGMA optimize = 0x10002;")
        .map_err(&sql)
}

fn knows(db: &Connection, run: u32) -> rusqlite::Result<bool> {
    db.query_row(
        "SELECT EXISTS(SELECT 1 FROM runs WHERE run = ?1)",
        [run],
        |r| r.get(0),
    )
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> CatalogueError + use<> {
    let path = path.to_path_buf();
    move |source| CatalogueError::Sqlite {
        path: path.clone(),
        source,
    }
}

/// The catalogue of the dataset in `output` with every finished run in it: brought up to date
/// first (a catalogue lost or made by an older version is rebuilt from the runs' records).
/// Without `writable` (a dry run) OUTPUT is not written: a catalogue that is not up to date is
/// made in memory.
fn open_current(output: &Path, writable: bool) -> Result<Connection, CatalogueError> {
    let path = path(output);
    let sql = sqlite(&path);
    let mut db = if writable {
        Connection::open(&path).map_err(&sql)?
    } else {
        let finished = layout::finished_runs(output);
        if path.is_file() {
            let db = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(&sql)?;
            let mut current = true;
            for &n in &finished {
                current &= knows(&db, n).unwrap_or(false);
            }
            if current {
                return Ok(db);
            }
        }
        Connection::open_in_memory().map_err(&sql)?
    };
    import(&mut db, output, None)?;
    Ok(db)
}

/// The files written by the runs of a dataset before a given run, looked up one output name at
/// a time in the catalogue (an indexed query): what `--add` needs of the earlier runs, without
/// reading their manifests nor holding anything per earlier file in memory.
pub(super) struct Earlier {
    db: Mutex<Connection>,
    before: u32,
    path: PathBuf,
}

/// A file an earlier run of the dataset wrote.
pub(super) struct EarlierOutput {
    /// Keyed id of the input it was made of.
    pub(super) input_id: String,
    pub(super) bytes_in: u64,
}

impl Earlier {
    /// The outputs of runs before `run` of the dataset in `output`.
    pub(super) fn open(output: &Path, run: u32, writable: bool) -> Result<Self, CatalogueError> {
        Ok(Earlier {
            db: Mutex::new(open_current(output, writable)?),
            before: run,
            path: path(output),
        })
    }

    /// The earlier run's file named `output` (relative to OUTPUT), if one wrote it. A lookup
    /// that fails reads as none: the name is then found taken on disk, and its bytes compared.
    pub(super) fn get(&self, output: &str) -> Option<EarlierOutput> {
        let db = self.db.lock().unwrap_or_else(PoisonError::into_inner);
        let mut query = db
            .prepare_cached(
                // Without statistics SQLite would take the status index, a scan of every
                // written record per lookup.
                "SELECT input_id, bytes_in FROM records INDEXED BY records_output \
                 WHERE output = ?1 AND status = 'written' AND run < ?2 LIMIT 1",
            )
            .ok()?;
        query
            .query_row(params![output, self.before], |r| {
                Ok(EarlierOutput {
                    input_id: r.get(0)?,
                    bytes_in: r.get::<_, i64>(1)?.max(0) as u64,
                })
            })
            .ok()
    }

    /// Every output name ([`layout::name_key`]) the earlier runs' files hold.
    pub(super) fn names(&self) -> Result<HashSet<u64>, CatalogueError> {
        let sql = sqlite(&self.path);
        let db = self.db.lock().unwrap_or_else(PoisonError::into_inner);
        let mut query = db
            .prepare(
                "SELECT output FROM records WHERE status = 'written' AND run < ?1 \
                 AND output IS NOT NULL",
            )
            .map_err(&sql)?;
        let names = query
            .query_map([self.before], |r| r.get::<_, String>(0))
            .map_err(&sql)?;
        names
            .map(|n| n.map(|n| layout::name_key(&n)))
            .collect::<Result<_, _>>()
            .map_err(&sql)
    }
}

/// Replace run `n`'s rows with what its summary and manifest say.
fn import_run(tx: &rusqlite::Transaction<'_>, output: &Path, n: u32) -> Result<(), CatalogueError> {
    let summary_path = layout::run_summary(output, n);
    let manifest_path = layout::run_manifest(output, n);
    let read = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CatalogueError::Read { path, source }
    };
    let sql = sqlite(&path(output));
    let text = std::fs::read(&summary_path).map_err(read(&summary_path))?;
    let summary: Summary = serde_json::from_slice(&text).map_err(|e| CatalogueError::Read {
        path: summary_path.clone(),
        source: e.into(),
    })?;
    tx.execute("DELETE FROM records WHERE run = ?1", [n])
        .map_err(&sql)?;
    tx.execute("DELETE FROM runs WHERE run = ?1", [n])
        .map_err(&sql)?;
    tx.execute(
        "INSERT INTO runs VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
        params![
            n,
            summary.started,
            summary.finished,
            summary.version,
            summary.input_id,
            summary.input,
            summary.profile.name,
            summary.profile.sha256,
            summary.key_fingerprint,
            int(summary.files),
            int(summary.count(Status::Written)),
            int(summary.count(Status::Skipped)),
            int(summary.count(Status::Failed)),
            int(summary.count(Status::Quarantined)),
            int(summary.resumed),
        ],
    )
    .map_err(&sql)?;
    let mut insert = tx
        .prepare("INSERT INTO records VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")
        .map_err(&sql)?;
    for (line, r) in manifest::records(&manifest_path)
        .map_err(read(&manifest_path))?
        .enumerate()
    {
        insert
            .execute(params![
                n,
                line as i64 + 1,
                r.id,
                r.input,
                r.status.as_str(),
                r.code.map(|c| c.as_str()),
                r.reason,
                r.output,
                r.sha256,
                int(r.bytes_in),
                int(r.bytes_out),
            ])
            .map_err(&sql)?;
    }
    Ok(())
}

/// A count as SQLite stores it (a signed 64-bit integer).
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// One run, as `history` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRow {
    pub run: u32,
    pub started: String,
    pub finished: String,
    pub tool_version: String,
    pub input_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    pub profile_name: String,
    pub profile_sha256: String,
    pub key_fingerprint: String,
    pub files: u64,
    pub written: u64,
    pub skipped: u64,
    pub failed: u64,
    pub quarantined: u64,
    pub resumed: u64,
}

/// Every run of the dataset in `output`, in order, from its catalogue (opened read-only).
pub fn history(output: &Path) -> Result<Vec<RunRow>, CatalogueError> {
    let path = path(output);
    if !path.is_file() {
        return Err(CatalogueError::Missing { path });
    }
    let sql = sqlite(&path);
    let db = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(&sql)?;
    let mut query = db
        .prepare(
            "SELECT run, started, finished, tool_version, input_id, input, profile_name, \
             profile_sha256, key_fingerprint, files, written, skipped, failed, quarantined, \
             resumed FROM runs ORDER BY run",
        )
        .map_err(&sql)?;
    let rows = query
        .query_map([], |r| {
            let count = |i| r.get::<_, i64>(i).map(|n| n.max(0) as u64);
            Ok(RunRow {
                run: r.get(0)?,
                started: r.get(1)?,
                finished: r.get(2)?,
                tool_version: r.get(3)?,
                input_id: r.get(4)?,
                input: r.get(5)?,
                profile_name: r.get(6)?,
                profile_sha256: r.get(7)?,
                key_fingerprint: r.get(8)?,
                files: count(9)?,
                written: count(10)?,
                skipped: count(11)?,
                failed: count(12)?,
                quarantined: count(13)?,
                resumed: count(14)?,
            })
        })
        .map_err(&sql)?;
    rows.collect::<Result<_, _>>().map_err(&sql)
}

/// What the catalogue of the dataset in `output` says of its written files, for `verify`:
/// output path → (input id, SHA-256), and every input id it records. `None` when there is no
/// catalogue or it lacks a finished run (then the manifests are read instead).
pub fn written(output: &Path) -> Result<Option<Written>, CatalogueError> {
    let path = path(output);
    if !path.is_file() {
        return Ok(None);
    }
    let sql = sqlite(&path);
    let db = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(&sql)?;
    for n in layout::finished_runs(output) {
        if !knows(&db, n).map_err(&sql)? {
            return Ok(None);
        }
    }
    let mut found = Written::default();
    let mut query = db
        .prepare("SELECT input_id, status, output, sha256 FROM records")
        .map_err(&sql)?;
    let mut rows = query.query([]).map_err(&sql)?;
    while let Some(row) = rows.next().map_err(&sql)? {
        let id: String = row.get(0).map_err(&sql)?;
        let status: String = row.get(1).map_err(&sql)?;
        let output: Option<String> = row.get(2).map_err(&sql)?;
        let sha: Option<String> = row.get(3).map_err(&sql)?;
        if let (true, Some(output)) = (status == Status::Written.as_str(), output) {
            found
                .outputs
                .insert(output, (id.clone(), sha.unwrap_or_default()));
        }
        found.inputs.insert(id);
    }
    Ok(Some(found))
}

/// The catalogue's written files and input ids ([`written`]).
#[derive(Debug, Default)]
pub struct Written {
    pub outputs: BTreeMap<String, (String, String)>,
    pub inputs: BTreeSet<String>,
}

/// Where the catalogue does not say what the runs' manifests say (run, line; line 0: the run
/// is missing from the catalogue, or the catalogue has a run that did not finish). None when
/// there is no catalogue. The first
/// line that differs is given for each run. Used by `verify` with the key, once the manifests
/// are known to be what the key's holder wrote.
pub fn differences(output: &Path) -> Result<Vec<(u32, u64)>, CatalogueError> {
    let path = path(output);
    if !path.is_file() {
        // None to differ: `verify` read the manifests, and the next run rebuilds it.
        return Ok(Vec::new());
    }
    let sql = sqlite(&path);
    let db = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(&sql)?;
    let finished = layout::finished_runs(output);
    let mut found = Vec::new();
    let mut query = db
        .prepare("SELECT run FROM runs ORDER BY run")
        .map_err(&sql)?;
    let known: Vec<u32> = query
        .query_map([], |r| r.get(0))
        .map_err(&sql)?
        .collect::<Result<_, _>>()
        .map_err(&sql)?;
    found.extend(
        known
            .iter()
            .filter(|n| !finished.contains(n))
            .map(|&n| (n, 0)),
    );
    let mut rows = db
        .prepare(
            "SELECT line, input_id, status, code, output, sha256 FROM records \
             WHERE run = ?1 ORDER BY line",
        )
        .map_err(&sql)?;
    for n in finished {
        if !known.contains(&n) {
            found.push((n, 0));
            continue;
        }
        let manifest_path = layout::run_manifest(output, n);
        let file = std::fs::File::open(&manifest_path).map_err(|source| CatalogueError::Read {
            path: manifest_path.clone(),
            source,
        })?;
        let lines = std::io::BufRead::split(std::io::BufReader::new(file), b'\n');
        let mut catalogued = rows
            .query_map([n], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })
            .map_err(&sql)?;
        let mut line = 0u64;
        let mut lines = lines.map_while(Result::ok);
        loop {
            line += 1;
            let (written, catalogued) = (lines.next(), catalogued.next());
            let same = match (&written, catalogued) {
                (None, None) => break,
                (Some(text), Some(Ok(row))) => serde_json::from_slice::<manifest::Record>(text)
                    .is_ok_and(|r| {
                        row.0 == line as i64
                            && row.1 == r.id
                            && row.2 == r.status.as_str()
                            && row.3.as_deref() == r.code.map(|c| c.as_str())
                            && row.4 == r.output
                            && row.5 == r.sha256
                    }),
                _ => false,
            };
            if !same {
                found.push((n, line));
                break;
            }
        }
    }
    Ok(found)
}

/// The whole dataset at a glance, from its catalogue: how many runs, and its records by status
/// and by reason code (an input sent on two nights has a record in each run).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub runs: u64,
    pub records: u64,
    pub status: BTreeMap<String, u64>,
    pub codes: BTreeMap<String, u64>,
    /// The last run's number.
    pub last_run: u32,
}

/// [`Totals`] of the dataset in `output` (its catalogue opened read-only).
pub fn totals(output: &Path) -> Result<Totals, CatalogueError> {
    let path = path(output);
    if !path.is_file() {
        return Err(CatalogueError::Missing { path });
    }
    let sql = sqlite(&path);
    let db = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(&sql)?;
    let count = |query: &str| -> Result<BTreeMap<String, u64>, CatalogueError> {
        let mut query = db.prepare(query).map_err(&sql)?;
        let rows = query
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(&sql)?;
        rows.map(|r| r.map(|(k, n)| (k, n.max(0) as u64)))
            .collect::<Result<_, _>>()
            .map_err(&sql)
    };
    let status = count("SELECT status, COUNT(*) FROM records GROUP BY status")?;
    let codes = count("SELECT code, COUNT(*) FROM records WHERE code IS NOT NULL GROUP BY code")?;
    let (runs, last_run): (i64, Option<u32>) = db
        .query_row("SELECT COUNT(*), MAX(run) FROM runs", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(&sql)?;
    Ok(Totals {
        runs: runs.max(0) as u64,
        records: status.values().sum(),
        status,
        codes,
        last_run: last_run.unwrap_or(0),
    })
}
