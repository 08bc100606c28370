//! The run's secret key and every keyed hash derived from it.
//!
//! One 32-byte key drives UIDs, pseudonyms, date offsets and file ids, so that two runs (or two
//! shards) with the same key produce the same output with no shared state. Each use hashes under
//! its own domain label, so a value hashed for one purpose says nothing about another.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The environment variable naming a key file, below `--key-file` in precedence.
pub const KEY_FILE_ENV: &str = "DICOM_DEID_KEY_FILE";

/// The longest key file accepted: 64 hex digits and a CRLF.
const KEY_FILE_MAX: usize = 66;

/// Why a key could not be had. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: cannot read it: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "key file {path}: expected 64 hexadecimal characters (a 32-byte key), optionally followed by a newline"
    )]
    Malformed { path: PathBuf },
    #[error("key file {path}: cannot create it: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key file {path} already exists; refusing to overwrite a key")]
    Exists { path: PathBuf },
    #[error("no key file given and no per-user configuration directory to keep one in")]
    NoConfigDir,
}

/// What a keyed hash is for. Each purpose hashes under its own label, so a value hashed for
/// one says nothing about another; the labels are part of the output format and never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A remapped UID.
    Uid,
    /// A patient's pseudonymous PatientID.
    PatientId,
    /// The pseudonym of a patient whose files carry no PatientID, from what else names them.
    PatientWithoutId,
    /// A `hash` action's pseudonym of a value.
    Hash,
    /// A patient's date offset.
    Day,
    /// The id of an input path in the manifest.
    Path,
    /// The shard an input falls in.
    Shard,
    /// The key's public fingerprint.
    Fingerprint,
    /// The chain of a run's manifest lines and the seal of its summary.
    Audit,
    /// The order in which files are drawn for a sample to look at (the QA report, the
    /// detector's look at a group of quarantined images).
    Sample,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Uid => b"uid",
            Purpose::PatientId => b"pid",
            Purpose::PatientWithoutId => b"pid-derived",
            Purpose::Hash => b"hash",
            Purpose::Day => b"day",
            Purpose::Path => b"path",
            Purpose::Shard => b"shard",
            Purpose::Fingerprint => b"fingerprint",
            Purpose::Audit => b"audit",
            Purpose::Sample => b"sample",
        }
    }
}

/// A 32-byte secret. Debug output shows only the fingerprint.
#[derive(Clone)]
pub struct Key([u8; 32]);

/// Where the key of a run came from, for messages and the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// Named with `--key-file` or the environment variable.
    Named(PathBuf),
    /// The per-user key, reused.
    UserDefault(PathBuf),
    /// The per-user key, created by this run.
    UserCreated(PathBuf),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key({})", self.fingerprint())
    }
}

impl Key {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Key(bytes)
    }

    /// A fresh random key from the operating system.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the operating system's random source failed");
        Key(bytes)
    }

    /// Parse the key file format: 64 hex digits, one trailing newline allowed.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.strip_suffix('\n').unwrap_or(text);
        let text = text.strip_suffix('\r').unwrap_or(text);
        if text.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Key(bytes))
    }

    /// Read a key file that the user named: any fault is an error, never a new key. At most
    /// a few bytes more than a key are read, so naming a large file or a device by mistake
    /// fails at once.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let read_error = |source| KeyError::Read {
            path: path.to_owned(),
            source,
        };
        let mut bytes = Vec::with_capacity(KEY_FILE_MAX + 1);
        File::open(path)
            .and_then(|f| f.take(KEY_FILE_MAX as u64 + 1).read_to_end(&mut bytes))
            .map_err(read_error)?;
        std::str::from_utf8(&bytes)
            .ok()
            .filter(|_| bytes.len() <= KEY_FILE_MAX)
            .and_then(Key::parse)
            .ok_or_else(|| KeyError::Malformed {
                path: path.to_owned(),
            })
    }

    /// Whether users other than the owner may read the key file at `path` (its group or
    /// others have the read bit): the key unlocks every pseudonym, so the CLI warns.
    pub fn readable_by_others(path: &Path) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            false
        }
    }

    /// Write a new random key to `path` with mode 0600, refusing to replace an existing file.
    pub fn create_file(path: &Path) -> Result<Self, KeyError> {
        let key = Key::generate();
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::Exists {
                    path: path.to_owned(),
                }
            } else {
                KeyError::Create {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        let text = format!("{}\n", hex::encode(key.0));
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|source| KeyError::Create {
                path: path.to_owned(),
                source,
            })?;
        Ok(key)
    }

    /// Find the run's key: `explicit` (from `--key-file` or the environment), else the per-user
    /// key file, created on first use so that scheduled runs stay consistent.
    pub fn resolve(explicit: Option<&Path>) -> Result<(Self, KeySource), KeyError> {
        if let Some(path) = explicit {
            return Ok((Key::load(path)?, KeySource::Named(path.to_owned())));
        }
        let dir = dirs::config_dir()
            .ok_or(KeyError::NoConfigDir)?
            .join("dicom-deid");
        let path = dir.join("key");
        if path.exists() {
            return Ok((Key::load(&path)?, KeySource::UserDefault(path)));
        }
        fs::create_dir_all(&dir).map_err(|source| KeyError::Create {
            path: dir.clone(),
            source,
        })?;
        match Key::create_file(&path) {
            Ok(key) => Ok((key, KeySource::UserCreated(path))),
            // Another process created it first: use theirs.
            Err(KeyError::Exists { .. }) => Ok((Key::load(&path)?, KeySource::UserDefault(path))),
            Err(e) => Err(e),
        }
    }

    /// The key a run would use, without creating one: `explicit`, else the per-user key file
    /// when it exists. For commands that read outputs (`verify`, `inspect`).
    pub fn find(explicit: Option<&Path>) -> Result<Option<(Self, PathBuf)>, KeyError> {
        if let Some(path) = explicit {
            return Ok(Some((Key::load(path)?, path.to_owned())));
        }
        let Some(path) = dirs::config_dir().map(|d| d.join("dicom-deid").join("key")) else {
            return Ok(None);
        };
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some((Key::load(&path)?, path)))
    }

    /// HMAC-SHA256 of `label ‖ data`; the purpose's label separates the uses of the key.
    pub fn mac(&self, purpose: Purpose, data: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(purpose.label());
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// The first 64 bits of a keyed hash, for offsets and shard selection.
    pub fn mac_u64(&self, purpose: Purpose, data: &[u8]) -> u64 {
        let mac = self.mac(purpose, data);
        u64::from_be_bytes(mac[..8].try_into().expect("8 bytes"))
    }

    /// A short public name of the key: equal keys have equal fingerprints, and it reveals
    /// nothing of the key itself.
    pub fn fingerprint(&self) -> String {
        hex::encode(&self.mac(Purpose::Fingerprint, b"")[..8])
    }

    /// The key file text, for `keygen`-style output.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_the_file_format_only() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        assert!(Key::parse(hex).is_some());
        assert!(Key::parse(&format!("{hex}\n")).is_some());
        assert!(Key::parse(&format!("{hex}\n\n")).is_none());
        assert!(Key::parse(&hex[..62]).is_none());
        assert!(Key::parse(&hex.replace('a', "g")).is_none());
        assert!(Key::parse("").is_none());
    }

    #[test]
    fn load_refuses_short_long_and_binary_files_and_flags_loose_modes() {
        let dir = tempfile::tempdir().unwrap();
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            fs::write(&path, bytes).unwrap();
            path
        };
        assert!(Key::load(&write("ok", format!("{hex}\r\n").as_bytes())).is_ok());
        for (name, bytes) in [
            ("short", hex.as_bytes()[..32].to_vec()),
            ("long", format!("{hex}{hex}").into_bytes()),
            ("spaced", format!("{hex} \n").into_bytes()),
            ("binary", [0xFFu8; 32].to_vec()),
            ("empty", Vec::new()),
            ("huge", vec![b'0'; 1 << 20]),
        ] {
            assert!(
                matches!(
                    Key::load(&write(name, &bytes)),
                    Err(KeyError::Malformed { .. })
                ),
                "{name}"
            );
        }
        assert!(matches!(Key::load(dir.path()), Err(KeyError::Read { .. })));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let path = write("mode", hex.as_bytes());
            for (mode, loose) in [(0o600, false), (0o400, false), (0o640, true), (0o604, true)] {
                fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
                assert_eq!(Key::readable_by_others(&path), loose, "{mode:o}");
            }
        }
    }

    #[test]
    fn created_key_file_is_private_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let key = Key::create_file(&path).unwrap();
        assert_eq!(Key::load(&path).unwrap().to_hex(), key.to_hex());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            Key::create_file(&path),
            Err(KeyError::Exists { .. })
        ));
    }

    #[test]
    fn domains_separate_hashes_and_debug_hides_the_key() {
        let key = Key::from_bytes([7; 32]);
        assert_ne!(
            key.mac(Purpose::Uid, b"1.2"),
            key.mac(Purpose::PatientId, b"1.2")
        );
        assert_eq!(key.mac(Purpose::Uid, b"1.2"), key.mac(Purpose::Uid, b"1.2"));
        let debug = format!("{key:?}");
        assert!(!debug.contains(&key.to_hex()));
        assert!(debug.contains(&key.fingerprint()));
    }
}
