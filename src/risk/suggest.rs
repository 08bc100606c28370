//! Profile lines that would bring a dataset to k: each quasi-identifier has a ladder of ever
//! coarser rungs (age bands of 5, 10, 20 years; weights to 5, 10, 20 kg; ...; then removal),
//! and a greedy search moves, one ladder at a time, to the rung that leaves the fewest
//! patients below k, then steps back down every ladder where that costs nothing. Every candidate is
//! scored by regrouping the patients with the values the rung would write (the same functions
//! the engine applies), so the k reported is computed, not guessed.

use std::collections::HashMap;

use rayon::iter::{IntoParallelIterator, ParallelIterator};
use serde::Serialize;

use crate::dicom::dates::{self, Precision};
use crate::dicom::values::Step;
use crate::profile::Action;
use crate::profile::action::Generalise;
use crate::risk::measure::{Table, sizes_of};
use crate::risk::{STUDY_SEASON, STUDY_YEAR, season};

/// The date attributes a date rung names together, so that no date of the study keeps what
/// StudyDate gives up.
const DATES: &[&str] = &["StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate"];

/// One profile line: `keyword: action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub attribute: String,
    pub action: String,
}

/// The suggested lines and what the dataset reaches with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub lines: Vec<Line>,
    /// The smallest group size after regrouping with the coarsened values.
    pub reached_k: usize,
    pub patients_below_k: usize,
}

impl Suggestion {
    /// The lines as a profile's `attributes` entries.
    pub fn profile_lines(&self) -> Vec<String> {
        self.lines
            .iter()
            .map(|l| format!("{}: {}", l.attribute, l.action))
            .collect()
    }
}

/// How one rung changes a value of its column.
#[derive(Debug, Clone, Copy)]
enum Coarsen {
    Band(u32),
    Round(Step),
    /// Dates to the year: the season becomes that of 1 January.
    SeasonToYear,
    Drop,
}

impl Coarsen {
    fn apply(self, value: &str) -> String {
        let one = |v: &str| -> String {
            match self {
                Coarsen::Band(w) => dates::band_age(v, w).unwrap_or_default(),
                Coarsen::Round(step) => step.round(v).unwrap_or_default(),
                Coarsen::SeasonToYear => season(1).to_owned(),
                Coarsen::Drop => String::new(),
            }
        };
        let set: std::collections::BTreeSet<String> = value
            .split('\\')
            .filter(|v| !v.is_empty())
            .map(one)
            .filter(|v| !v.is_empty())
            .collect();
        set.into_iter().collect::<Vec<_>>().join("\\")
    }
}

/// A rung: the lines it adds to the profile and what it does to the column.
#[derive(Debug, Clone)]
struct Rung {
    lines: Vec<Line>,
    coarsen: Coarsen,
}

/// A line, the action written as `profile show` writes it (and the profile parser reads it).
fn line(attribute: &str, action: &Action) -> Line {
    Line {
        attribute: attribute.to_owned(),
        action: action.to_string(),
    }
}

/// The ladder of a quasi-identifier, finest rung first. Modality (Type 1 in every image) has
/// none.
fn ladder(name: &str) -> Vec<Rung> {
    let rung = |lines: Vec<Line>, coarsen| Rung { lines, coarsen };
    let generalise = |g: Generalise| Action::Generalise(g);
    let dates = |action: Action| DATES.iter().map(|d| line(d, &action)).collect();
    let removal = rung(vec![line(name, &Action::Remove)], Coarsen::Drop);
    match name {
        "PatientAge" => [5, 10, 20]
            .into_iter()
            .map(|w| {
                rung(
                    vec![line(name, &generalise(Generalise::Band(w)))],
                    Coarsen::Band(w),
                )
            })
            .chain([removal])
            .collect(),
        "PatientWeight" | "PatientSize" => {
            let steps = if name == "PatientWeight" {
                ["5", "10", "20"]
            } else {
                ["0.05", "0.1", "0.2"]
            };
            steps
                .into_iter()
                .filter_map(|s| s.parse::<Step>().ok())
                .map(|s| {
                    rung(
                        vec![line(name, &generalise(Generalise::Round(s)))],
                        Coarsen::Round(s),
                    )
                })
                .chain([removal])
                .collect()
        }
        STUDY_SEASON => vec![rung(
            dates(generalise(Generalise::Precision(Precision::Year))),
            Coarsen::SeasonToYear,
        )],
        STUDY_YEAR => vec![rung(dates(Action::Empty), Coarsen::Drop)],
        "Modality" => Vec::new(),
        // Type 2 in their modules: emptied, not removed, so the files stay valid.
        "PatientSex" | "Manufacturer" => {
            vec![rung(vec![line(name, &Action::Empty)], Coarsen::Drop)]
        }
        _ => vec![removal],
    }
}

/// Every column's value ids at every rung of its ladder (`ids[c][0]`: as measured), so that
/// scoring a choice of rungs only regroups integers.
struct Rungs {
    ids: Vec<Vec<Vec<u32>>>,
    /// StudySeason's ids once StudyDate is emptied (no season left), with StudyYear's column.
    season_without_year: Option<(usize, usize, Vec<u32>)>,
    patients: usize,
}

impl Rungs {
    fn new(table: &Table, ladders: &[Vec<Rung>]) -> Self {
        let ids = ladders
            .iter()
            .enumerate()
            .map(|(c, ladder)| {
                let original = table.rows.iter().map(|row| row[c]).collect();
                std::iter::once(original)
                    .chain(ladder.iter().map(|r| column_ids(table, c, r.coarsen)))
                    .collect()
            })
            .collect();
        let column = |name| table.columns.iter().position(|c| c == name);
        let season_without_year = column(STUDY_YEAR)
            .zip(column(STUDY_SEASON))
            .map(|(year, season)| (year, season, column_ids(table, season, Coarsen::Drop)));
        Rungs {
            ids,
            season_without_year,
            patients: table.rows.len(),
        }
    }

    /// Patients below k, and the smallest class, with every column at its rung `at`.
    fn score(&self, at: &[usize], k: usize) -> (usize, usize) {
        let mut columns: Vec<&[u32]> = self.ids.iter().zip(at).map(|(c, &r)| &c[r][..]).collect();
        if let Some((year, season, dropped)) = &self.season_without_year
            && at[*year] > 0
        {
            columns[*season] = dropped;
        }
        let sizes = if columns.is_empty() {
            vec![self.patients; self.patients]
        } else {
            let mut flat = Vec::with_capacity(self.patients * columns.len());
            for p in 0..self.patients {
                flat.extend(columns.iter().map(|c| c[p]));
            }
            let keys: Vec<&[u32]> = flat.chunks(columns.len()).collect();
            sizes_of(&keys)
        };
        (
            sizes.iter().filter(|&&s| s < k).count(),
            sizes.iter().copied().min().unwrap_or(0),
        )
    }
}

/// Column `c`'s ids after `coarsen`: values that coarsen alike share an id.
fn column_ids(table: &Table, c: usize, coarsen: Coarsen) -> Vec<u32> {
    let mut interned: HashMap<String, u32> = HashMap::new();
    let remap: Vec<u32> = table.values[c]
        .iter()
        .map(|v| {
            let next = interned.len() as u32;
            *interned.entry(coarsen.apply(v)).or_insert(next)
        })
        .collect();
    table
        .rows
        .iter()
        .map(|row| remap[row[c] as usize])
        .collect()
}

/// The lines that bring `table` to `k`, or as close as the ladders go.
pub fn suggest(table: &Table, k: usize) -> Suggestion {
    let ladders: Vec<Vec<Rung>> = table.columns.iter().map(|c| ladder(c)).collect();
    let mut at = vec![0; ladders.len()];
    let rungs = Rungs::new(table, &ladders);
    let score = |at: &[usize]| rungs.score(at, k);
    let mut current = score(&at);
    // Climb: of every rung above where each ladder stands, the one that leaves the fewest
    // below k (ties: the smallest step up, then the column listed first).
    while current.0 > 0 {
        let candidates: Vec<(usize, usize)> = (0..ladders.len())
            .flat_map(|c| (at[c] + 1..=ladders[c].len()).map(move |r| (c, r)))
            .collect();
        let best = candidates
            .into_par_iter()
            .map(|(c, r)| {
                let mut next = at.clone();
                next[c] = r;
                (score(&next).0, r - at[c], c, r)
            })
            .min();
        let Some((_, _, c, r)) = best else { break };
        at[c] = r;
        current = score(&at);
    }
    // Step back down wherever that leaves no more patients below k.
    for c in 0..ladders.len() {
        while at[c] > 0 {
            let mut lower = at.clone();
            lower[c] -= 1;
            let s = score(&lower);
            if s.0 > current.0 {
                break;
            }
            at = lower;
            current = s;
        }
    }
    let lines = ladders
        .iter()
        .zip(&at)
        .filter(|(_, r)| **r > 0)
        .flat_map(|(ladder, r)| ladder[r - 1].lines.clone())
        .collect();
    Suggestion {
        lines,
        reached_k: current.1,
        patients_below_k: current.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(ages: &[&str], parts: &[&str]) -> Table {
        let mut values = vec![Vec::<String>::new(), Vec::new()];
        let mut rows = Vec::new();
        for (a, p) in ages.iter().zip(parts) {
            let mut row = Vec::new();
            for (c, v) in [a, p].into_iter().enumerate() {
                let id = values[c].iter().position(|x| x == v).unwrap_or_else(|| {
                    values[c].push(v.to_string());
                    values[c].len() - 1
                });
                row.push(id as u32);
            }
            rows.push(row);
        }
        Table {
            columns: vec!["PatientAge".into(), "BodyPartExamined".into()],
            withheld: vec![false, false],
            values,
            patients: (0..ages.len()).map(|i| format!("P{i}")).collect(),
            rows,
        }
    }

    #[test]
    fn the_coarsest_rung_needed_and_no_more() {
        // Ages 40..=44 and one 47: bands of 5 leave the 47-year-old alone; bands of 10 do it.
        let t = table(
            &["040Y", "041Y", "042Y", "043Y", "044Y", "047Y"],
            &["CHEST"; 6],
        );
        let s = suggest(&t, 2);
        assert_eq!(s.profile_lines(), ["PatientAge: {band: 10}"]);
        assert_eq!((s.reached_k, s.patients_below_k), (6, 0));
    }

    #[test]
    fn a_rare_value_is_removed_and_a_dataset_at_k_needs_nothing() {
        let t = table(&["040Y"; 4], &["CHEST", "CHEST", "CHEST", "FOOT"]);
        let s = suggest(&t, 3);
        assert_eq!(s.profile_lines(), ["BodyPartExamined: remove"]);
        assert_eq!(s.reached_k, 4);
        let s = suggest(&table(&["040Y"; 3], &["CHEST"; 3]), 3);
        assert!(s.lines.is_empty());
        assert_eq!(s.reached_k, 3);
    }

    #[test]
    fn season_and_year_rungs_write_every_date() {
        assert_eq!(Coarsen::SeasonToYear.apply("summer\\autumn"), "winter");
        assert_eq!(
            Coarsen::Round("10".parse().unwrap()).apply("73.4\\76"),
            "70\\80"
        );
        let lines = ladder(STUDY_SEASON)[0].lines.clone();
        assert_eq!(lines.len(), DATES.len());
        assert_eq!(lines[0].action, "{precision: year}");
    }
}
