//! `--linkage DIR`: the tables from each original identifier to its replacement, the one
//! output of a run that holds PHI, written outside INPUT and OUTPUT.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use crate::deid::Linkage;
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
        let pairs: BTreeSet<&(String, String)> = links.iter().map(pick).collect();
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(["id_old", "id_new"])?;
        for (old, new) in pairs {
            writer.write_record([old, new])?;
        }
        let bytes = writer.into_inner().map_err(|e| e.into_error())?;
        write_atomic(&dir.join(name), &bytes)?;
    }
    Ok(())
}
