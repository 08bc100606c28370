//! The file operations a run trusts: files written whole or not at all ([`AtomicFile`]),
//! folders inside OUTPUT that are real folders, earlier outputs read back only through real
//! folders, inputs opened for reading only, and the faults that mean no further file can be
//! written.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::dicom::reason::{Code, Reason};
use crate::run::layout;

/// Write `bytes` to `path` through a temp file beside it, fsync, rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit()
}

/// A file written under a temp name beside its final path, and given that path (after an
/// fsync) only by [`AtomicFile::commit`]: readers never see it half-written. Dropped
/// uncommitted, the temp file is removed.
pub(super) struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: BufWriter<File>,
    committed: bool,
}

impl AtomicFile {
    /// Create the temp file afresh: whatever was there, a link included, is removed first, and
    /// a link that appears meanwhile is refused, never followed.
    pub(super) fn create(path: &Path) -> io::Result<Self> {
        let dir = path.parent().unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(layout::run_file_temp_name(&name, std::process::id()));
        match fs::remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        Ok(AtomicFile {
            path: path.to_owned(),
            tmp,
            file: BufWriter::new(file),
            committed: false,
        })
    }

    pub(super) fn commit(mut self) -> io::Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_all()?;
        fs::rename(&self.tmp, &self.path)?;
        self.committed = true;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// A symbolic link (or a file) inside OUTPUT where a folder belongs.
#[derive(Debug, thiserror::Error)]
#[error("OUTPUT holds a symbolic link or a file where a folder belongs; not writing through it")]
pub(super) struct LinkInTheWay;

/// Make sure folder `rel` exists inside `output` as real folders, creating them one by one and
/// refusing to pass through a symbolic link (which could lead outside OUTPUT). Returns its path.
pub(super) fn real_dir_inside(output: &Path, rel: &Path) -> io::Result<PathBuf> {
    let mut dir = output.to_path_buf();
    for part in rel.components() {
        dir.push(part);
        if fs::symlink_metadata(&dir).is_err() {
            match fs::create_dir(&dir) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
        }
        if !fs::symlink_metadata(&dir)?.is_dir() {
            return Err(io::Error::other(LinkInTheWay));
        }
    }
    Ok(dir)
}

/// The bytes of OUTPUT's file `rel` when it is a regular file reached through real folders;
/// `None` otherwise (a link could point anywhere, a FIFO or device could block or never end).
pub(super) fn read_inside(output: &Path, rel: &str) -> Option<Vec<u8>> {
    let mut path = output.to_path_buf();
    for part in Path::new(rel).components() {
        path.push(part);
        if fs::symlink_metadata(&path).ok()?.is_symlink() {
            return None;
        }
    }
    fs::symlink_metadata(&path)
        .ok()?
        .is_file()
        .then(|| fs::read(&path).ok())?
}

/// The SHA-256 of a file, read in pieces: outputs can be far larger than memory.
pub(super) fn file_sha256(path: &Path) -> io::Result<String> {
    let mut hasher = Sha256::new();
    io::copy(&mut File::open(path)?, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// Whether a write fault means no further file can be written either.
pub(super) fn stops_the_run(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::StorageFull
            | io::ErrorKind::ReadOnlyFilesystem
            | io::ErrorKind::QuotaExceeded
    )
}

/// Force everything written under `dir` to the disk: one `syncfs` of its filesystem, which
/// also covers the folders that renames changed.
pub(super) fn sync_filesystem(dir: &Path) -> io::Result<()> {
    let dir = File::open(dir)?;
    rustix::fs::syncfs(&dir).map_err(io::Error::from)
}

/// Why an input could not be opened; its text is the reason its record gives.
#[derive(Debug, thiserror::Error)]
pub(super) enum InputError {
    #[error("cannot read input ({0})")]
    Unreadable(io::ErrorKind),
    #[error("no longer a regular file")]
    NotARegularFile,
    #[error("larger than --max-file-size ({0} bytes)")]
    TooLarge(u64),
}

impl From<InputError> for Reason {
    fn from(e: InputError) -> Reason {
        let code = match e {
            InputError::Unreadable(_) => Code::Unreadable,
            InputError::NotARegularFile => Code::NotRegularFile,
            InputError::TooLarge(_) => Code::TooLarge,
        };
        Reason::new(code, e.to_string())
    }
}

/// Open one input, refusing what is no longer a regular file of at most `max` bytes (it may
/// have changed since the walk).
pub(super) fn open_input(path: &Path, max: u64) -> Result<(File, u64), InputError> {
    let unreadable = |e: io::Error| InputError::Unreadable(e.kind());
    let file = File::open(path).map_err(unreadable)?;
    let meta = file.metadata().map_err(unreadable)?;
    if !meta.is_file() {
        return Err(InputError::NotARegularFile);
    }
    if meta.len() > max {
        return Err(InputError::TooLarge(max));
    }
    Ok((file, meta.len()))
}
