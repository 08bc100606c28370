//! The linkage at rest, for the honest broker: `--linkage DIR` encrypted to one or more
//! recipients in the age format (X25519), so that only the holder of a matching identity can
//! read the crosswalk, and [`lookup`], which answers "which pseudonym is this original value"
//! and the reverse from the linkage tables in a folder, encrypted or plain.
//!
//! An encrypted run writes one file, `DIR/linkage-NNNN.csv.age` (a shard's
//! `linkage-K-of-N.csv.age`), never replaced by a later run: decrypted, a CSV of
//! `kind,id_old,id_new` with the kinds `patient_id`, `study_instance_uid`,
//! `series_instance_uid`, `sop_instance_uid` and `uid` (every other UID changed, at any depth).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use serde::Serialize;

use crate::deid::Linkage;
use crate::run::safe_fs::write_atomic;

pub use age::x25519::Recipient;

/// The suffix of an encrypted linkage table.
const SUFFIX: &str = ".csv.age";

/// The plain tables [`lookup`] reads, with the kind each holds (`patid_mapping.csv` repeats
/// `patient_id.csv`).
const PLAIN: [(&str, &str); 5] = [
    ("patient_id.csv", "patient_id"),
    ("study_instance_uid.csv", "study_instance_uid"),
    ("series_instance_uid.csv", "series_instance_uid"),
    ("sop_instance_uid.csv", "sop_instance_uid"),
    ("uid_mapping.csv", "uid"),
];

/// Why recipients, an identity or the linkage tables could not be used. No message holds a
/// value from the tables.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("line {line}: not an age X25519 recipient (age1…)")]
    Recipient { line: usize },
    #[error("no recipient given")]
    NoRecipient,
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not an age identity file (AGE-SECRET-KEY-1…)")]
    Identity { path: PathBuf },
    #[error("{path}: cannot be decrypted with the identity given ({source})")]
    Decrypt {
        path: PathBuf,
        source: age::DecryptError,
    },
    #[error("{path}: encrypted: give the identity that can read it")]
    NeedsIdentity { path: PathBuf },
    #[error("{path}: not a linkage table")]
    Table { path: PathBuf },
    #[error("{path}: holds no linkage table")]
    NoTables { path: PathBuf },
    #[error("{path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Recipients, one per line (`#` comments and blank lines aside), as in an age recipients file
/// or given one by one.
pub fn parse_recipients(text: &str) -> Result<Vec<Recipient>, BrokerError> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        found.push(
            line.parse()
                .map_err(|_| BrokerError::Recipient { line: i + 1 })?,
        );
    }
    Ok(found)
}

/// A new identity: the text of its file (with its recipient in a comment) and its recipient.
fn new_identity() -> (String, String) {
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let text = format!(
        "# created: {}\n# public key: {recipient}\n{}\n",
        crate::run::manifest::now_rfc3339(),
        identity.to_string().expose_secret()
    );
    (text, recipient)
}

/// Write a new identity to `path` (mode 0600, never over an existing file); its recipient.
pub fn create_identity_file(path: &Path) -> Result<String, BrokerError> {
    let (text, recipient) = new_identity();
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })
        .map_err(|source| BrokerError::Write {
            path: path.to_owned(),
            source,
        })?;
    Ok(recipient)
}

/// The identities in an age identity file.
pub fn read_identity(path: &Path) -> Result<Vec<Box<dyn age::Identity>>, BrokerError> {
    let bad = || BrokerError::Identity {
        path: path.to_owned(),
    };
    let text = fs::read(path).map_err(|source| BrokerError::Read {
        path: path.to_owned(),
        source,
    })?;
    let file = age::IdentityFile::from_buffer(&text[..]).map_err(|_| bad())?;
    let identities = file.into_identities().map_err(|_| bad())?;
    if identities.is_empty() {
        return Err(bad());
    }
    Ok(identities)
}

/// The name of a run's encrypted linkage table: `linkage-NNNN.csv.age`, a shard's
/// `linkage-K-of-N.csv.age`.
pub(super) fn file_name(run: u32, shard: Option<crate::run::Shard>) -> String {
    match shard {
        Some(s) => format!("linkage-{}-of-{}{SUFFIX}", s.k, s.n),
        None => format!("linkage-{run:04}{SUFFIX}"),
    }
}

/// Write `DIR/name`: every pair of `links`, by kind, sorted, encrypted to `recipients`.
pub(super) fn write_encrypted(
    dir: &Path,
    name: &str,
    links: &[Linkage],
    recipients: &[Recipient],
) -> Result<(), BrokerError> {
    let path = dir.join(name);
    let io = |source| BrokerError::Write {
        path: path.clone(),
        source,
    };
    let mut rows: BTreeSet<(&str, &str, &str)> = BTreeSet::new();
    for l in links {
        for (kind, (old, new)) in [
            ("patient_id", &l.patient_id),
            ("study_instance_uid", &l.study_uid),
            ("series_instance_uid", &l.series_uid),
            ("sop_instance_uid", &l.sop_uid),
        ] {
            rows.insert((kind, old, new));
        }
        for (old, new) in &l.uids {
            rows.insert(("uid", old, new));
        }
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(["kind", "id_old", "id_new"])
        .map_err(|e| io(e.into()))?;
    for (kind, old, new) in &rows {
        writer
            .write_record([kind, old, new])
            .map_err(|e| io(e.into()))?;
    }
    let plain = writer.into_inner().map_err(|e| io(e.into_error()))?;
    let recipients: Vec<&dyn age::Recipient> = recipients
        .iter()
        .map(|r| r as &dyn age::Recipient)
        .collect();
    let encryptor = age::Encryptor::with_recipients(recipients.into_iter())
        .map_err(|_| BrokerError::NoRecipient)?;
    let mut sealed = Vec::new();
    let mut stream = encryptor.wrap_output(&mut sealed).map_err(io)?;
    stream.write_all(&plain).map_err(io)?;
    stream.finish().map_err(io)?;
    fs::create_dir_all(dir).map_err(io)?;
    write_atomic(&path, &sealed).map_err(io)
}

/// One entry of the linkage tables that matches the value asked for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Match {
    /// `patient_id`, `study_instance_uid`, `series_instance_uid`, `sop_instance_uid` or `uid`.
    pub kind: String,
    pub original: String,
    pub pseudonym: String,
}

/// Every entry of the linkage tables in `dir` whose original or replacement is `value`:
/// the encrypted tables (`*.csv.age`, read with `identities`) and the plain ones. A pair found
/// under a specific kind is not repeated as `uid`.
pub fn lookup(
    dir: &Path,
    identities: &[Box<dyn age::Identity>],
    value: &str,
) -> Result<Vec<Match>, BrokerError> {
    let mut found: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut add = |kind: &str, old: &str, new: &str| {
        if old == value || new == value {
            let slot = found.entry((old.to_owned(), new.to_owned()));
            let kind_now = slot.or_insert_with(|| kind.to_owned());
            if kind_now == "uid" {
                *kind_now = kind.to_owned();
            }
        }
    };
    let mut tables = 0;
    let mut names: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|source| BrokerError::Read {
            path: dir.to_owned(),
            source,
        })?
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    for path in names {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.ends_with(SUFFIX) {
            if identities.is_empty() {
                return Err(BrokerError::NeedsIdentity { path });
            }
            let plain = decrypt(&path, identities)?;
            for row in rows(&path, &plain, 3)? {
                add(&row[0], &row[1], &row[2]);
            }
            tables += 1;
        } else if let Some((_, kind)) = PLAIN.iter().find(|(file, _)| *file == name) {
            let bytes = fs::read(&path).map_err(|source| BrokerError::Read {
                path: path.clone(),
                source,
            })?;
            for row in rows(&path, &bytes, 2)? {
                add(kind, &row[0], &row[1]);
            }
            tables += 1;
        }
    }
    if tables == 0 {
        return Err(BrokerError::NoTables {
            path: dir.to_owned(),
        });
    }
    let mut matches: Vec<Match> = found
        .into_iter()
        .map(|((original, pseudonym), kind)| Match {
            kind,
            original,
            pseudonym,
        })
        .collect();
    matches.sort();
    Ok(matches)
}

fn decrypt(path: &Path, identities: &[Box<dyn age::Identity>]) -> Result<Vec<u8>, BrokerError> {
    let file = fs::File::open(path).map_err(|source| BrokerError::Read {
        path: path.to_owned(),
        source,
    })?;
    let failed = |source| BrokerError::Decrypt {
        path: path.to_owned(),
        source,
    };
    let decryptor = age::Decryptor::new(std::io::BufReader::new(file)).map_err(failed)?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i.as_ref()))
        .map_err(failed)?;
    let mut plain = Vec::new();
    reader
        .read_to_end(&mut plain)
        .map_err(|e| failed(age::DecryptError::Io(e)))?;
    Ok(plain)
}

/// The rows of a linkage CSV (its header aside), each of `width` fields.
fn rows(path: &Path, bytes: &[u8], width: usize) -> Result<Vec<Vec<String>>, BrokerError> {
    let mut reader = csv::Reader::from_reader(bytes);
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|_| BrokerError::Table {
            path: path.to_owned(),
        })?;
        if record.len() != width {
            return Err(BrokerError::Table {
                path: path.to_owned(),
            });
        }
        out.push(record.iter().map(str::to_owned).collect());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_encrypted_table_reads_back_only_with_its_identity() {
        let dir = tempfile::tempdir().unwrap();
        let (text, recipient) = new_identity();
        let identity_path = dir.path().join("broker.key");
        fs::write(&identity_path, text).unwrap();
        let link = Linkage {
            patient_id: ("MRN123".into(), "PAT-X".into()),
            study_uid: ("1.2.3".into(), "2.25.9".into()),
            series_uid: ("1.2.4".into(), "2.25.8".into()),
            sop_uid: ("1.2.5".into(), "2.25.7".into()),
            uids: vec![("1.2.5".into(), "2.25.7".into())],
        };
        let tables = dir.path().join("linkage");
        let recipients = parse_recipients(&format!("# broker\n{recipient}\n")).unwrap();
        write_encrypted(&tables, &file_name(1, None), &[link], &recipients).unwrap();
        let sealed = fs::read(tables.join("linkage-0001.csv.age")).unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"MRN123"));

        let identities = read_identity(&identity_path).unwrap();
        let by_original = lookup(&tables, &identities, "MRN123").unwrap();
        assert_eq!(by_original.len(), 1);
        assert_eq!(by_original[0].pseudonym, "PAT-X");
        let by_pseudonym = lookup(&tables, &identities, "2.25.7").unwrap();
        assert_eq!(by_pseudonym[0].kind, "sop_instance_uid");
        assert_eq!(by_pseudonym[0].original, "1.2.5");

        let (other, _) = new_identity();
        fs::write(&identity_path, other).unwrap();
        let wrong = read_identity(&identity_path).unwrap();
        assert!(matches!(
            lookup(&tables, &wrong, "MRN123"),
            Err(BrokerError::Decrypt { .. })
        ));
        assert!(matches!(
            lookup(&tables, &[], "MRN123"),
            Err(BrokerError::NeedsIdentity { .. })
        ));
        assert!(matches!(
            parse_recipients("age1nope"),
            Err(BrokerError::Recipient { line: 1 })
        ));
    }
}
