//! `risk`: how re-identifiable the patients of a de-identified dataset still are, measured on
//! the quasi-identifiers the output holds (attributes that are not identifiers on their own but
//! single a patient out in combination: age, sex, device, dates, ...).
//!
//! One streaming pass over the dataset's DICOM files (in parallel chunks, headers only) folds every
//! file into its patient, keyed by the pseudonym in PatientID: memory grows with patients and
//! their distinct values, never with files. A patient's value of an attribute is the set of
//! values its files hold (a patient seen at 45 and at 46 is "045Y\046Y"). Then [`measure`]
//! groups the patients into equivalence classes and computes the figures, [`suggest`] finds
//! the generalisations that would bring the dataset to k, and [`html`] draws the page for a
//! privacy officer.
//!
//! Free-text attributes (names, descriptions: LO, SH, LT, ...), dates, times and UIDs are
//! measured like the others, but their values are never printed: only counted.

pub mod html;
pub mod measure;
pub mod suggest;

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::value::Value;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::mem::InMemDicomObject;
use rayon::iter::{IntoParallelRefIterator, ParallelIterator};
use serde::Serialize;

use crate::dicom::file::{self, Parsed};
use crate::dicom::scan;
use crate::dicom::values::{dictionary_vr, is_free_text_vr, top_text};
use crate::run::STATE_DIR;

pub use measure::{Figures, Risk, Table};
pub use suggest::Suggestion;

/// The quasi-identifiers measured when none are named: patient characteristics, what was
/// imaged and on what, where (when the profile keeps the institution), when (year and season
/// of the study date, as shifted), and coded procedures.
pub const DEFAULT_QUASI_IDENTIFIERS: &[&str] = &[
    "PatientAge",
    "PatientSex",
    "PatientSize",
    "PatientWeight",
    "EthnicGroup",
    "Modality",
    "BodyPartExamined",
    "Manufacturer",
    "ManufacturerModelName",
    "InstitutionName",
    STUDY_YEAR,
    STUDY_SEASON,
    "ProcedureCodeSequence",
];

/// The year of StudyDate.
pub const STUDY_YEAR: &str = "StudyYear";
/// The meteorological season of StudyDate's month: winter (Dec–Feb), spring (Mar–May),
/// summer (Jun–Aug), autumn (Sep–Nov).
pub const STUDY_SEASON: &str = "StudySeason";

/// Where a quasi-identifier's values come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A top-level attribute: its values; for a sequence, its items' codes as
    /// `SCHEME:VALUE`.
    Element(Tag),
    Year,
    Season,
}

/// One attribute measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuasiIdentifier {
    pub name: String,
    pub source: Source,
    /// Values are never printed: free text and names may hold anything, a full date or time
    /// is itself an identifier (Safe Harbor keeps only years), UIDs are noise.
    pub withheld: bool,
}

impl QuasiIdentifier {
    /// A keyword of the standard dictionary, or [`STUDY_YEAR`] / [`STUDY_SEASON`].
    pub fn parse(name: &str) -> Result<Self, RiskError> {
        let name = name.trim();
        let source = match name {
            STUDY_YEAR => Source::Year,
            STUDY_SEASON => Source::Season,
            _ => {
                let tag = StandardDataDictionary
                    .by_name(name)
                    .map(|e| e.tag())
                    .filter(|t| t.0 % 2 == 0 && t.0 != 0x0002 && t.0 != 0x7FE0)
                    .ok_or_else(|| RiskError::UnknownAttribute(name.to_owned()))?;
                Source::Element(tag)
            }
        };
        let withheld = match source {
            Source::Element(tag) => dictionary_vr(tag).is_none_or(|vr| {
                is_free_text_vr(vr)
                    || matches!(vr, VR::PN | VR::UN | VR::UI | VR::DA | VR::DT | VR::TM)
            }),
            Source::Year | Source::Season => false,
        };
        Ok(QuasiIdentifier {
            name: name.to_owned(),
            source,
            withheld,
        })
    }

    /// This attribute's values in one data set.
    fn values(&self, object: &InMemDicomObject) -> Vec<String> {
        match self.source {
            Source::Element(tag) => match object.get(tag).map(|e| e.value()) {
                Some(Value::Sequence(seq)) => seq.items().iter().filter_map(code_of).collect(),
                Some(_) => top_text(object, tag)
                    .split('\\')
                    .map(|v| v.trim().to_owned())
                    .filter(|v| !v.is_empty())
                    .collect(),
                None => Vec::new(),
            },
            Source::Year => study_month(object)
                .map(|(y, _)| y.to_string())
                .into_iter()
                .collect(),
            Source::Season => study_month(object)
                .map(|(_, m)| season(m).to_owned())
                .into_iter()
                .collect(),
        }
    }
}

/// A code item's `SCHEME:VALUE`.
fn code_of(item: &InMemDicomObject) -> Option<String> {
    let value = top_text(item, tags::CODE_VALUE);
    let value = if value.is_empty() {
        top_text(item, tags::LONG_CODE_VALUE)
    } else {
        value
    };
    (!value.is_empty())
        .then(|| format!("{}:{value}", top_text(item, tags::CODING_SCHEME_DESIGNATOR)))
}

/// Year and month of StudyDate, when it is a date.
fn study_month(object: &InMemDicomObject) -> Option<(u32, u32)> {
    let date = top_text(object, tags::STUDY_DATE);
    let year = date.get(0..4)?.parse().ok()?;
    let month = date
        .get(4..6)?
        .parse()
        .ok()
        .filter(|m| (1..=12).contains(m))?;
    Some((year, month))
}

/// The meteorological season of a month (northern hemisphere names).
pub fn season(month: u32) -> &'static str {
    match month {
        3..=5 => "spring",
        6..=8 => "summer",
        9..=11 => "autumn",
        _ => "winter",
    }
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct RiskConfig {
    /// The de-identified dataset (a run's OUTPUT, or any tree of de-identified files).
    pub dataset: PathBuf,
    pub k: usize,
    pub quasi_identifiers: Vec<QuasiIdentifier>,
    /// The size of the population the dataset was drawn from, for the journalist risk.
    pub population: Option<u64>,
    /// Files larger than this are skipped (and counted).
    pub max_file_size: u64,
}

/// `risk` could not run.
#[derive(Debug, thiserror::Error)]
pub enum RiskError {
    #[error("{0}: not a readable folder")]
    Dataset(PathBuf),
    #[error(
        "{0:?} is not a DICOM keyword of a top-level attribute, nor {STUDY_YEAR} or {STUDY_SEASON}"
    )]
    UnknownAttribute(String),
    #[error("no quasi-identifier to measure")]
    NoAttributes,
    #[error("k must be at least 1")]
    ZeroK,
    #[error("{0}: no DICOM file with a PatientID: nothing to measure")]
    NoPatients(PathBuf),
    #[error("a population of {population} is smaller than the dataset's {patients} patients")]
    PopulationTooSmall { population: u64, patients: usize },
}

/// What the pass over the files saw.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileCounts {
    /// DICOM data sets read and counted.
    pub dicom: u64,
    /// Not DICOM (or a DICOMDIR): skipped.
    pub not_dicom: u64,
    /// Unreadable, malformed or too large: skipped.
    pub unreadable: u64,
    /// DICOM without a PatientID: not attributable to a patient, skipped.
    pub without_patient_id: u64,
}

/// The journalist risk with the population it assumes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Journalist {
    pub population: u64,
    pub max: f64,
    pub average: f64,
}

/// Everything `risk` reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub files: FileCounts,
    pub quasi_identifiers: Vec<String>,
    /// Quasi-identifiers no patient has a value of (removed by the profile, or never there).
    pub absent: Vec<String>,
    #[serde(flatten)]
    pub figures: Figures,
    pub journalist: Option<Journalist>,
    /// Profile lines that would bring the dataset to k, and what it reaches with them.
    pub suggestion: Suggestion,
}

/// Measure the dataset.
pub fn measure(config: &RiskConfig) -> Result<Report, RiskError> {
    if config.k == 0 {
        return Err(RiskError::ZeroK);
    }
    if config.quasi_identifiers.is_empty() {
        return Err(RiskError::NoAttributes);
    }
    if !config.dataset.is_dir() {
        return Err(RiskError::Dataset(config.dataset.clone()));
    }
    let (table, files) = read_dataset(config);
    if table.patients.is_empty() {
        return Err(RiskError::NoPatients(config.dataset.clone()));
    }
    if let Some(population) = config.population
        && population < table.patients.len() as u64
    {
        return Err(RiskError::PopulationTooSmall {
            population,
            patients: table.patients.len(),
        });
    }
    let figures = measure::figures(&table, config.k);
    let journalist = config.population.and_then(|population| {
        let r = measure::journalist(&table.group_sizes(|_| true), population)?;
        Some(Journalist {
            population,
            max: r.max,
            average: r.average,
        })
    });
    let absent = table
        .columns
        .iter()
        .zip(&table.values)
        .filter(|(_, values)| values.iter().all(String::is_empty))
        .map(|(name, _)| name.clone())
        .collect();
    let suggestion = suggest::suggest(&table, config.k);
    Ok(Report {
        suggestion,
        files,
        quasi_identifiers: table.columns.clone(),
        absent,
        figures,
        journalist,
    })
}

/// Per patient, per quasi-identifier, the distinct values seen.
type Patients = HashMap<String, Vec<BTreeSet<String>>>;

/// Files read in parallel at a time: the walk is consumed in chunks of this many paths, so
/// memory holds one chunk of paths besides the patients, whatever the number of files.
const CHUNK: usize = 4096;

/// Read every file of the dataset (the state folder left out) into a table.
pub fn read_dataset(config: &RiskConfig) -> (Table, FileCounts) {
    let mut walk = walkdir::WalkDir::new(&config.dataset)
        .into_iter()
        .filter_entry(|e| e.depth() != 1 || e.file_name() != STATE_DIR)
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path);
    let qis = &config.quasi_identifiers;
    let mut all = (Patients::new(), FileCounts::default());
    loop {
        let chunk: Vec<PathBuf> = walk.by_ref().take(CHUNK).collect();
        if chunk.is_empty() {
            break;
        }
        let read = chunk
            .par_iter()
            .fold(
                || (Patients::new(), FileCounts::default()),
                |(mut patients, mut counts), path| {
                    read_file(path, config.max_file_size, qis, &mut patients, &mut counts);
                    (patients, counts)
                },
            )
            .reduce(|| (Patients::new(), FileCounts::default()), merge);
        all = merge(all, read);
    }
    let (patients, files) = all;
    (table_of(qis, patients), files)
}

fn merge(
    (mut a, mut ca): (Patients, FileCounts),
    (b, cb): (Patients, FileCounts),
) -> (Patients, FileCounts) {
    for (id, sets) in b {
        match a.get_mut(&id) {
            Some(mine) => mine.iter_mut().zip(sets).for_each(|(m, s)| m.extend(s)),
            None => {
                a.insert(id, sets);
            }
        }
    }
    ca.dicom += cb.dicom;
    ca.not_dicom += cb.not_dicom;
    ca.unreadable += cb.unreadable;
    ca.without_patient_id += cb.without_patient_id;
    (a, ca)
}

/// The bytes read to tell DICOM from other files: the preamble, the magic and a first element.
const HEAD: usize = 256;

/// Fold one file into its patient.
fn read_file(
    path: &Path,
    max: u64,
    qis: &[QuasiIdentifier],
    patients: &mut Patients,
    counts: &mut FileCounts,
) {
    let parsed = File::open(path).and_then(|mut f| {
        let len = f.metadata()?.len();
        if len > max {
            return Err(std::io::Error::other("too large"));
        }
        // A large file that is not DICOM (a run's manifest) is told by its head, unread.
        let mut head = Vec::with_capacity(HEAD);
        (&mut f).take(HEAD as u64).read_to_end(&mut head)?;
        if !scan::looks_like_dicom(&head) {
            return Ok(Parsed::NotDicom);
        }
        let loaded = file::load_file(&f, len)?;
        file::parse_loaded(&loaded, max).map_err(std::io::Error::other)
    });
    let object = match parsed {
        Ok(Parsed::Dataset { object, .. }) => object,
        Ok(Parsed::NotDicom | Parsed::Dicomdir) => {
            counts.not_dicom += 1;
            return;
        }
        Err(_) => {
            counts.unreadable += 1;
            return;
        }
    };
    let id = top_text(&object, tags::PATIENT_ID);
    if id.is_empty() {
        counts.without_patient_id += 1;
        return;
    }
    counts.dicom += 1;
    let sets = patients
        .entry(id)
        .or_insert_with(|| vec![BTreeSet::new(); qis.len()]);
    for (set, qi) in sets.iter_mut().zip(qis) {
        set.extend(qi.values(&object));
    }
}

/// The patients' value sets as a table, patients sorted, each set written `a\b`.
fn table_of(qis: &[QuasiIdentifier], patients: Patients) -> Table {
    let mut patients: Vec<(String, Vec<BTreeSet<String>>)> = patients.into_iter().collect();
    patients.sort_by(|a, b| a.0.cmp(&b.0));
    let mut interned: Vec<HashMap<String, u32>> = vec![HashMap::new(); qis.len()];
    let mut table = Table {
        columns: qis.iter().map(|q| q.name.clone()).collect(),
        withheld: qis.iter().map(|q| q.withheld).collect(),
        values: vec![Vec::new(); qis.len()],
        ..Table::default()
    };
    for (id, sets) in patients {
        let row = sets
            .into_iter()
            .enumerate()
            .map(|(c, set)| {
                let value = set.into_iter().collect::<Vec<_>>().join("\\");
                let values = &mut table.values[c];
                *interned[c].entry(value.clone()).or_insert_with(|| {
                    values.push(value);
                    (values.len() - 1) as u32
                })
            })
            .collect();
        table.patients.push(id);
        table.rows.push(row);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quasi_identifiers_parse_and_know_free_text() {
        let age = QuasiIdentifier::parse("PatientAge").unwrap();
        assert_eq!(age.source, Source::Element(tags::PATIENT_AGE));
        assert!(!age.withheld);
        assert!(
            QuasiIdentifier::parse("ManufacturerModelName")
                .unwrap()
                .withheld
        );
        assert!(
            !QuasiIdentifier::parse("ProcedureCodeSequence")
                .unwrap()
                .withheld
        );
        assert_eq!(
            QuasiIdentifier::parse("StudySeason").unwrap().source,
            Source::Season
        );
        assert!(matches!(
            QuasiIdentifier::parse("PatientShoeSize"),
            Err(RiskError::UnknownAttribute(_))
        ));
        for name in DEFAULT_QUASI_IDENTIFIERS {
            QuasiIdentifier::parse(name).unwrap();
        }
    }

    #[test]
    fn seasons_are_meteorological() {
        let names: Vec<&str> = (1..=12).map(season).collect();
        assert_eq!(names[0], "winter");
        assert_eq!(names[2], "spring");
        assert_eq!(names[5], "summer");
        assert_eq!(names[8], "autumn");
        assert_eq!(names[11], "winter");
    }
}
