//! One input, on a worker: read, de-identify and write it to its temp file (or reuse what an
//! earlier run made of it), ending in its [`Record`]. Placing it comes later, in walk order.

use std::fs;
use std::io;
use std::path::Path;

use crate::deid::Linkage;
use crate::deid::one_file::{self, FileOutcome};
use crate::dicom::file::{self, Loaded};
use crate::dicom::reason::{Code, Reason};
use crate::run::job::Job;
use crate::run::manifest::{Record, Status};
use crate::run::resume::reusable;
use crate::run::safe_fs::{InputError, LinkInTheWay, open_input, real_dir_inside, stops_the_run};
use crate::run::walk::Input;
use crate::run::{Fsync, RunError, layout};

/// The result of processing one input, before it is placed.
pub(super) struct Done {
    pub(super) record: Record,
    pub(super) linkage: Option<Linkage>,
    /// An earlier run's record, reused by `--resume` (its file is in place already).
    pub(super) reused: bool,
    /// The input's path, for `--triage` only (it may hold PHI).
    pub(super) path: Option<String>,
}

impl Job<'_> {
    /// Read, parse, de-identify and encode one input into its temp file, or reuse what an
    /// earlier run made of it.
    pub(super) fn process(&self, input: &Input) -> Result<Done, RunError> {
        let config = self.config;
        let fail = |status, reason: Reason| Done {
            record: Record::new(input.id.clone(), status, Some(reason), input.size),
            linkage: None,
            reused: false,
            path: None,
        };
        let mut done = if let Some(previous) = self
            .earlier
            .records
            .get(&input.id)
            .filter(|previous| reusable(previous, input, &config.output))
        {
            Done {
                record: previous.clone(),
                // The linkage tables list every written file, reused ones too.
                linkage: config.linkage.as_ref().and_then(|_| self.linkage_of(input)),
                reused: true,
                path: None,
            }
        } else if let Some((status, code, text)) = input.early {
            fail(status, Reason::new(code, text))
        } else if input.size > config.max_file_size {
            fail(
                Status::Failed,
                InputError::TooLarge(config.max_file_size).into(),
            )
        } else {
            match open_input(&input.abs, config.max_file_size) {
                Err(reason) => fail(Status::Failed, reason.into()),
                Ok((file, len)) => match file::load_file(&file, len) {
                    Err(e) => fail(Status::Failed, InputError::Unreadable(e.kind()).into()),
                    Ok(loaded) => self.deidentify(input, &loaded)?,
                },
            }
        };
        let path = || input.rel.to_string_lossy().into_owned();
        if config.manifest_paths {
            done.record.input = Some(path());
        }
        if config.triage.is_some() {
            done.path = Some(path());
        }
        Ok(done)
    }

    /// The linkage pairs of an input an earlier run wrote: it is read and de-identified
    /// again, nothing written.
    fn linkage_of(&self, input: &Input) -> Option<Linkage> {
        let config = self.config;
        let (file, len) = open_input(&input.abs, config.max_file_size).ok()?;
        let loaded = file::load_file(&file, len).ok()?;
        match one_file::process_loaded(&config.deidentifier, &loaded, config.max_file_size) {
            FileOutcome::Written(output) => Some(output.linkage),
            _ => None,
        }
    }

    /// De-identify one loaded input and write it to its temp file. Only a fault that stops
    /// the whole run (a full disk) is an error; the rest fail this file.
    fn deidentify(&self, input: &Input, loaded: &Loaded<'_>) -> Result<Done, RunError> {
        let config = self.config;
        let size = loaded.len();
        let fail = |status, reason: Reason| Done {
            record: Record::new(input.id.clone(), status, Some(reason), size),
            linkage: None,
            reused: false,
            path: None,
        };
        let output =
            match one_file::process_loaded(&config.deidentifier, loaded, config.max_file_size) {
                FileOutcome::Written(output) => output,
                FileOutcome::Skipped(reason) => return Ok(fail(Status::Skipped, reason)),
                FileOutcome::Failed(reason) => return Ok(fail(Status::Failed, reason)),
                FileOutcome::Quarantined(reason) => return Ok(fail(Status::Quarantined, reason)),
            };
        let written = if config.dry_run {
            output.write_to(loaded, &mut io::sink())
        } else {
            self.write_temp(input, &output, loaded)
        };
        let (sha256, bytes_out) = match written {
            Ok(written) => written,
            Err(e) if stops_the_run(&e) => {
                return Err(RunError::Output {
                    path: config.output.clone(),
                    source: e,
                });
            }
            Err(e) => {
                let text = match e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<LinkInTheWay>())
                {
                    Some(link) => link.to_string(),
                    None => format!("cannot write output ({})", e.kind()),
                };
                let reason = Reason::new(Code::CannotWrite, text);
                return Ok(fail(Status::Failed, reason));
            }
        };
        let one_file::Output {
            rel_path,
            transfer_syntax,
            counts,
            linkage,
            pixel,
            ..
        } = *output;
        let mut record = Record::new(input.id.clone(), Status::Written, None, size);
        record.output = Some(rel_path);
        record.sha256 = Some(sha256);
        record.bytes_out = bytes_out;
        record.transfer_syntax = Some(transfer_syntax);
        record.actions = counts.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect();
        if let Some(p) = pixel {
            record.pixel_regions_masked = p.regions.len() as u64;
            record.pixel_check = Some(p.check);
            record.pixel_masked_by = p.masked_by;
            record.pixel_regions = p.regions;
            record.pixel_decoded_from = p.decoded_from;
        }
        Ok(Done {
            record,
            linkage: Some(linkage),
            reused: false,
            path: None,
        })
    }

    /// Write the output file to its temp path, never through a link, fsynced with
    /// `--fsync each`; its SHA-256 and length.
    fn write_temp(
        &self,
        input: &Input,
        output: &one_file::Output,
        loaded: &Loaded<'_>,
    ) -> io::Result<(String, u64)> {
        let folder = Path::new(&output.rel_path)
            .parent()
            .unwrap_or(Path::new(""));
        real_dir_inside(&self.config.output, folder)?;
        let tmp = layout::temp_path(&self.config.output, &input.id, &output.rel_path);
        match fs::remove_file(&tmp) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        output
            .write_to(loaded, &mut file)
            .and_then(|written| {
                if self.config.fsync == Fsync::Each {
                    file.sync_all()?;
                } else {
                    // Start writing it out now, without waiting: the sync at the end then
                    // has little left to do, and outputs do not crowd other files out of
                    // the cache.
                    let _ = rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed);
                }
                Ok(written)
            })
            .inspect_err(|_| {
                let _ = fs::remove_file(&tmp);
            })
    }
}
