//! The outputs of a run that hold PHI, each opt-in and written outside INPUT and OUTPUT:
//! `--linkage DIR`, the tables from each original identifier to its replacement, and
//! `--triage DIR`, the input paths of the files not written. Besides one linkage table per
//! kind of key, the two tables the MIDI-B de-identification challenge scores with:
//! `uid_mapping.csv` (every UID changed, at any depth) and `patid_mapping.csv`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::deid::Linkage;
use crate::dicom::reason::Code;
use crate::run::manifest::Status;
use crate::run::safe_fs::write_atomic;

/// `--linkage DIR`: one CSV per kind of identifier, `id_old,id_new`, sorted.
pub(super) fn write_linkage(dir: &Path, links: &[Linkage]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    type Pick = fn(&Linkage) -> &(String, String);
    let kinds: [(&str, Pick); 4] = [
        ("patient_id.csv", |l| &l.patient_id),
        ("study_instance_uid.csv", |l| &l.study_uid),
        ("series_instance_uid.csv", |l| &l.series_uid),
        ("sop_instance_uid.csv", |l| &l.sop_uid),
    ];
    for (name, pick) in kinds {
        write_pairs(dir, name, links.iter().map(pick).collect())?;
    }
    write_pairs(
        dir,
        "patid_mapping.csv",
        links.iter().map(|l| &l.patient_id).collect(),
    )?;
    write_pairs(
        dir,
        "uid_mapping.csv",
        links.iter().flat_map(|l| &l.uids).collect(),
    )
}

/// One table, `id_old,id_new`, sorted.
fn write_pairs(dir: &Path, name: &str, pairs: BTreeSet<&(String, String)>) -> std::io::Result<()> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["id_old", "id_new"])?;
    for (old, new) in pairs {
        writer.write_record([old, new])?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    write_atomic(&dir.join(name), &bytes)
}

/// A file not written, for `--triage`.
pub(super) struct TriageRow {
    /// The input path relative to INPUT.
    pub(super) path: String,
    pub(super) id: String,
    pub(super) status: Status,
    pub(super) code: Option<Code>,
}

/// `--triage DIR`: `DIR/<name>`, one line per file not written, in input order:
/// `input,id,status,code`.
pub(super) fn write_triage(dir: &Path, name: &str, rows: &[TriageRow]) -> std::io::Result<()> {
    fs::create_dir_all(dir)?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(["input", "id", "status", "code"])?;
    for r in rows {
        let code = r.code.map_or("", |c| c.as_str());
        writer.write_record([r.path.as_str(), &r.id, r.status.as_str(), code])?;
    }
    let bytes = writer.into_inner().map_err(|e| e.into_error())?;
    write_atomic(&dir.join(name), &bytes)
}
