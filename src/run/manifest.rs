//! The audit trail of a run: one [`Record`] per input file (`manifest.jsonl`), and the
//! [`Summary`] (`summary.json`). Neither holds PHI: inputs are named by a keyed id of their
//! path (the path itself only with `--manifest-paths`), and reasons are fixed texts.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::dicom::reason::{Code, Reason};
use crate::pixel::{PixelCheck, Region};
use crate::profile::standard;
use crate::run::RunConfig;

/// The one state every input file ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A de-identified file was written (or, in a dry run, would be).
    Written,
    /// Deliberately not written: not DICOM, a DICOMDIR, a duplicate, a symlink.
    Skipped,
    /// Could not be read, parsed or written.
    Failed,
    /// Parsed, but the profile's policy refuses to write it.
    Quarantined,
}

impl Status {
    /// The status as the manifest writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Written => "written",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
            Status::Quarantined => "quarantined",
        }
    }
}

/// One line of `manifest.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Keyed id of the input path relative to INPUT.
    pub id: String,
    /// The run of the dataset that made this record (`.dicom-deid/runs/NNNN/summary.json`
    /// names its profile); absent in a sharded run.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub run: u32,
    /// The input path relative to INPUT, only with `--manifest-paths`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The stable code of the reason (README, "Reason codes").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<Code>,
    /// The output path relative to OUTPUT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_syntax: Option<String>,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// How many times each kind of change was made.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub actions: BTreeMap<String, u64>,
    pub pixel_regions_masked: u64,
    /// What became of the pixels of an image that a rule, the detector or a policy applied
    /// to: `masked`, `examined` (the detector found nothing; pixel data as it came) or
    /// `passed` (written unexamined by policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pixel_check: Option<PixelCheck>,
    /// The pixel rules that masked, and `detector` when it found text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pixel_masked_by: Vec<String>,
    /// The regions masked in every frame (geometry only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pixel_regions: Vec<Region>,
    /// The transfer syntax pixel data was decoded from to be masked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pixel_decoded_from: Option<String>,
}

impl Record {
    pub fn new(id: String, status: Status, reason: Option<Reason>, bytes_in: u64) -> Self {
        let (code, reason) = reason.map(|r| (r.code, r.text)).unzip();
        Record {
            id,
            run: 0,
            input: None,
            status,
            reason,
            code,
            output: None,
            sha256: None,
            transfer_syntax: None,
            bytes_in,
            bytes_out: 0,
            actions: BTreeMap::new(),
            pixel_regions_masked: 0,
            pixel_check: None,
            pixel_masked_by: Vec::new(),
            pixel_regions: Vec::new(),
            pixel_decoded_from: None,
        }
    }
}

/// The profile a run applied.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProfileInfo {
    pub name: String,
    pub chain: Vec<String>,
    /// SHA-256 of the effective table (`dicom-deid profile show`).
    pub sha256: String,
    pub options: Vec<String>,
}

/// A CID 7050 code applied.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MethodInfo {
    pub code: String,
    pub scheme: String,
    pub meaning: String,
}

/// `summary.json`: what a run did, for people and schedulers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub tool: String,
    pub version: String,
    /// The run's number in the dataset (absent in a sharded run).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub run: u32,
    pub profile: ProfileInfo,
    pub key_fingerprint: String,
    pub methods: Vec<MethodInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// When the run started and finished (UTC, RFC 3339).
    #[serde(default)]
    pub started: String,
    #[serde(default)]
    pub finished: String,
    /// Keyed id of INPUT (its absolute path): tells runs over the same INPUT apart without
    /// naming it.
    #[serde(default)]
    pub input_id: String,
    /// INPUT's path, only with `--manifest-paths`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    pub dry_run: bool,
    pub files: u64,
    /// Files per final state.
    pub status: BTreeMap<Status, u64>,
    /// Files per reason code (skipped, failed and quarantined files).
    #[serde(default)]
    pub codes: BTreeMap<Code, u64>,
    /// Files per reason text.
    pub reasons: BTreeMap<String, u64>,
    /// Written files taken over from an interrupted run by `--resume`.
    pub resumed: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Lines in the run's manifest, and the last one's chain (see [`crate::run::audit`]).
    #[serde(default)]
    pub records: u64,
    #[serde(default)]
    pub chain: String,
    pub seconds: f64,
    pub files_per_second: f64,
    pub mb_per_second: f64,
}

impl Summary {
    /// Count a set of records (this summary starts from none).
    pub fn tally(&mut self, records: &[Record]) {
        for r in records {
            self.add(r);
        }
    }

    /// Count one more record.
    pub fn add(&mut self, r: &Record) {
        self.files += 1;
        *self.status.entry(r.status).or_default() += 1;
        if let Some(reason) = &r.reason {
            *self.reasons.entry(reason.clone()).or_default() += 1;
        }
        if let Some(code) = r.code {
            *self.codes.entry(code).or_default() += 1;
        }
        self.bytes_in += r.bytes_in;
        self.bytes_out += r.bytes_out;
    }

    pub fn count(&self, status: Status) -> u64 {
        self.status.get(&status).copied().unwrap_or(0)
    }

    /// Files skipped as empty or not DICOM: a sign of a truncated or broken export.
    pub fn suspect_skips(&self) -> u64 {
        self.codes
            .iter()
            .filter(|(code, _)| code.suggests_truncated_export())
            .map(|(_, n)| n)
            .sum()
    }

    /// The exit code of a finished run, for the outcomes `fail_on` counts as failures:
    /// [`EXIT_FAILED`] when files failed, else [`EXIT_QUARANTINED`] when files were
    /// quarantined, else [`EXIT_SUSPECT_SKIPS`] when files were empty or not DICOM, else 0.
    pub fn exit_code(&self, fail_on: FailOn) -> u8 {
        if fail_on.failed && self.count(Status::Failed) > 0 {
            EXIT_FAILED
        } else if fail_on.quarantined && self.count(Status::Quarantined) > 0 {
            EXIT_QUARANTINED
        } else if fail_on.not_dicom && self.suspect_skips() > 0 {
            EXIT_SUSPECT_SKIPS
        } else {
            0
        }
    }
}

/// Exit code: the run finished, and some files failed.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: the run finished, no file failed, and some were quarantined by the profile.
pub const EXIT_QUARANTINED: u8 = 3;
/// Exit code: the run finished, nothing failed or was quarantined, and some files were skipped
/// as empty or not DICOM (only when asked for).
pub const EXIT_SUSPECT_SKIPS: u8 = 4;

/// Which outcomes make a finished run exit non-zero (`--fail-on`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailOn {
    pub failed: bool,
    pub quarantined: bool,
    /// Empty files and files that are not DICOM.
    pub not_dicom: bool,
}

impl Default for FailOn {
    /// Failed and quarantined files.
    fn default() -> Self {
        FailOn {
            failed: true,
            quarantined: true,
            not_dicom: false,
        }
    }
}

impl Summary {
    /// The summary of a run before any file is counted.
    pub(crate) fn new_run(config: &RunConfig, run: u32) -> Summary {
        let profile = config.deidentifier.profile();
        Summary {
            tool: "dicom-deid".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            run,
            profile: ProfileInfo {
                name: profile.name.clone(),
                chain: profile.chain.clone(),
                sha256: profile.table_sha256(),
                options: profile
                    .options
                    .iter()
                    .map(|o| o.name().to_owned())
                    .collect(),
            },
            key_fingerprint: config.key.fingerprint(),
            methods: config
                .deidentifier
                .method_codes()
                .into_iter()
                .map(|c| MethodInfo {
                    code: c.value.clone(),
                    scheme: "DCM".to_owned(),
                    meaning: c.meaning.clone(),
                })
                .collect(),
            shard: config.shard.map(|s| s.to_string()),
            started: now_rfc3339(),
            finished: String::new(),
            input_id: config.input_id(),
            input: config
                .manifest_paths
                .then(|| config.input.to_string_lossy().into_owned()),
            dry_run: config.dry_run,
            files: 0,
            status: Default::default(),
            codes: Default::default(),
            reasons: Default::default(),
            resumed: 0,
            bytes_in: 0,
            bytes_out: 0,
            records: 0,
            chain: String::new(),
            seconds: 0.0,
            files_per_second: 0.0,
            mb_per_second: 0.0,
        }
    }

    /// A CID 7050 method that some file of the run received beyond the profile's own (Clean
    /// Pixel Data where pixels were masked, Clean Recognizable Visual Features where that
    /// option cleared a file): the summary's methods list it too, once.
    pub(crate) fn add_method(&mut self, value: &str) {
        let code = standard::method_codes()
            .iter()
            .find(|c| c.value == value)
            .expect("a CID 7050 code");
        if self.methods.iter().any(|m| m.code == code.value) {
            return;
        }
        self.methods.push(MethodInfo {
            code: code.value.clone(),
            scheme: "DCM".to_owned(),
            meaning: code.meaning.clone(),
        });
    }

    /// The throughput of the files counted, done in `seconds`.
    pub(crate) fn set_rates(&mut self, seconds: f64) {
        if seconds > 0.0 {
            self.files_per_second = (self.files as f64 / seconds * 10.0).round() / 10.0;
            self.mb_per_second = (self.bytes_in as f64 / 1e6 / seconds * 10.0).round() / 10.0;
        }
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The time now, UTC, RFC 3339 to the second.
pub(crate) fn now_rfc3339() -> String {
    chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One manifest line per record.
pub fn to_jsonl(records: &[Record]) -> Vec<u8> {
    let mut out = Vec::new();
    for r in records {
        serde_json::to_writer(&mut out, r).expect("records serialize");
        out.push(b'\n');
    }
    out
}

/// Read a manifest or journal; lines that do not parse (a torn last line after a kill) are
/// ignored.
pub fn read_jsonl(path: &Path) -> std::io::Result<Vec<Record>> {
    Ok(records(path)?.collect())
}

/// The records of a manifest or journal, read one line at a time (a manifest of millions of
/// files need not fit in memory); lines that do not parse are skipped, as in [`read_jsonl`].
pub fn records(path: &Path) -> std::io::Result<impl Iterator<Item = Record>> {
    use std::io::BufRead;
    let reader = std::io::BufReader::new(std::fs::File::open(path)?);
    Ok(reader
        .split(b'\n')
        .map_while(Result::ok)
        .filter_map(|line| serde_json::from_slice(&line).ok()))
}
