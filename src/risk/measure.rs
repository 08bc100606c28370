//! The figures of a risk report, computed from a table of patients × quasi-identifiers: the
//! equivalence classes (groups of patients alike on every chosen attribute), k-anonymity, the
//! attributes that drive uniqueness, rare values, and the prosecutor and journalist risks.
//!
//! A table cell is an interned value id, so grouping hashes small integer rows; a figure that
//! leaves an attribute out regroups the same rows.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

/// Patients × quasi-identifiers, each cell an id into its column's `values`.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// The quasi-identifiers' names, one per column.
    pub columns: Vec<String>,
    /// Whether a column's values are never printed (free text, names, dates, UIDs).
    pub withheld: Vec<bool>,
    /// Per column, the distinct values (id → text); "" means absent.
    pub values: Vec<Vec<String>>,
    /// The patients' pseudonyms, sorted; row `i` is `patients[i]`'s.
    pub patients: Vec<String>,
    pub rows: Vec<Vec<u32>>,
}

impl Table {
    /// For every patient, the size of its group over the columns `use_column` keeps.
    pub fn group_sizes(&self, use_column: impl Fn(usize) -> bool) -> Vec<usize> {
        let keep: Vec<usize> = (0..self.columns.len()).filter(|&c| use_column(c)).collect();
        let keys: Vec<Vec<u32>> = self
            .rows
            .iter()
            .map(|row| keep.iter().map(|&c| row[c]).collect())
            .collect();
        sizes_of(&keys)
    }
}

/// The group size of every key.
pub(super) fn sizes_of<K: std::hash::Hash + Eq>(keys: &[K]) -> Vec<usize> {
    let mut counts: HashMap<&K, usize> = HashMap::with_capacity(keys.len());
    for key in keys {
        *counts.entry(key).or_default() += 1;
    }
    keys.iter().map(|k| counts[k]).collect()
}

/// How many groups of each size, and the patients in them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SizeCount {
    pub size: usize,
    pub groups: usize,
    pub patients: usize,
}

/// The distribution of group sizes, smallest first.
pub fn distribution(sizes: &[usize]) -> Vec<SizeCount> {
    let mut patients: BTreeMap<usize, usize> = BTreeMap::new();
    for &s in sizes {
        *patients.entry(s).or_default() += 1;
    }
    patients
        .into_iter()
        .map(|(size, patients)| SizeCount {
            size,
            groups: patients / size,
            patients,
        })
        .collect()
}

/// Re-identification risk under the two usual attacker models, per patient record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Risk {
    /// Highest risk of any patient.
    pub max: f64,
    /// Mean over patients.
    pub average: f64,
}

/// Prosecutor risk (the attacker knows the target is in the dataset): a patient in a group of
/// f is re-identified with probability 1/f. Max = 1/min f; average = (1/n) Σ 1/f = groups/n.
pub fn prosecutor(sizes: &[usize]) -> Option<Risk> {
    let n = sizes.len();
    let min = *sizes.iter().min()?;
    let sum: f64 = sizes.iter().map(|&f| 1.0 / f as f64).sum();
    Some(Risk {
        max: 1.0 / min as f64,
        average: sum / n as f64,
    })
}

/// Journalist risk (the attacker does not know whether the target is in the dataset): the
/// group of f patients stands for F = max(f, f·N/n) people of a population of N (the dataset
/// taken as a uniform sample of it), so risk 1/F. Max = 1/min F; average = (1/n) Σ 1/F.
pub fn journalist(sizes: &[usize], population: u64) -> Option<Risk> {
    let n = sizes.len();
    if n == 0 {
        return None;
    }
    let scale = population as f64 / n as f64;
    let population_size = |f: usize| (f as f64 * scale).max(f as f64);
    let min = sizes
        .iter()
        .map(|&f| population_size(f))
        .fold(f64::INFINITY, f64::min);
    let sum: f64 = sizes.iter().map(|&f| 1.0 / population_size(f)).sum();
    Some(Risk {
        max: 1.0 / min,
        average: sum / n as f64,
    })
}

/// One value held by fewer than k patients. Withheld values are counted, never shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RareValue {
    /// The value, or `None` where withheld.
    pub value: Option<String>,
    pub patients: usize,
}

/// What one quasi-identifier contributes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeFigures {
    pub name: String,
    pub withheld: bool,
    /// Patients with a value (not absent).
    pub patients_with_value: usize,
    pub distinct_values: usize,
    /// Patients unique on this attribute alone.
    pub unique_alone: usize,
    /// Patients who become unique when this attribute is added to all the others.
    pub unique_added: usize,
    /// Patients who fall below k when this attribute is added to all the others.
    pub below_k_added: usize,
    /// Values held by fewer than k patients, rarest first.
    pub rare_values: Vec<RareValue>,
}

/// A patient in a group smaller than k, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AtRisk {
    pub pseudonym: String,
    pub group_size: usize,
    /// Attributes on which the patient's value is rare (held by fewer than k patients).
    pub rare: Vec<String>,
    /// Attributes whose removal alone would put the patient in a group of at least k.
    pub removal_reaches_k: Vec<String>,
}

/// Every figure over a table at one k.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub patients: usize,
    pub k: usize,
    pub patients_below_k: usize,
    pub unique_patients: usize,
    /// The number of groups (equivalence classes).
    pub groups: usize,
    pub group_sizes: Vec<SizeCount>,
    pub attributes: Vec<AttributeFigures>,
    pub at_risk: Vec<AtRisk>,
    pub prosecutor: Option<Risk>,
}

/// The figures of `table` at `k`.
pub fn figures(table: &Table, k: usize) -> Figures {
    let all = table.group_sizes(|_| true);
    let below = |sizes: &[usize]| sizes.iter().filter(|&&s| s < k).count();
    let unique = |sizes: &[usize]| sizes.iter().filter(|&&s| s == 1).count();
    let without: Vec<Vec<usize>> = (0..table.columns.len())
        .map(|c| table.group_sizes(|other| other != c))
        .collect();
    let value_counts: Vec<Vec<usize>> = (0..table.columns.len())
        .map(|c| {
            let mut counts = vec![0; table.values[c].len()];
            for row in &table.rows {
                counts[row[c] as usize] += 1;
            }
            counts
        })
        .collect();
    let attributes = (0..table.columns.len())
        .map(|c| attribute(table, c, k, &value_counts[c], &all, &without[c]))
        .collect();
    let at_risk = (0..table.patients.len())
        .filter(|&p| all[p] < k)
        .map(|p| AtRisk {
            pseudonym: table.patients[p].clone(),
            group_size: all[p],
            rare: (0..table.columns.len())
                .filter(|&c| {
                    let id = table.rows[p][c] as usize;
                    !table.values[c][id].is_empty() && value_counts[c][id] < k
                })
                .map(|c| table.columns[c].clone())
                .collect(),
            removal_reaches_k: (0..table.columns.len())
                .filter(|&c| without[c][p] >= k)
                .map(|c| table.columns[c].clone())
                .collect(),
        })
        .collect();
    let group_sizes = distribution(&all);
    Figures {
        patients: table.patients.len(),
        k,
        patients_below_k: below(&all),
        unique_patients: unique(&all),
        groups: group_sizes.iter().map(|s| s.groups).sum(),
        group_sizes,
        attributes,
        at_risk,
        prosecutor: prosecutor(&all),
    }
}

fn attribute(
    table: &Table,
    c: usize,
    k: usize,
    counts: &[usize],
    all: &[usize],
    without: &[usize],
) -> AttributeFigures {
    let count =
        |sizes: &[usize], pred: &dyn Fn(usize) -> bool| sizes.iter().filter(|&&s| pred(s)).count();
    let values = &table.values[c];
    let mut rare_values: Vec<RareValue> = (0..values.len())
        .filter(|&id| !values[id].is_empty() && counts[id] < k && counts[id] > 0)
        .map(|id| RareValue {
            value: (!table.withheld[c]).then(|| values[id].clone()),
            patients: counts[id],
        })
        .collect();
    rare_values.sort_by(|a, b| (a.patients, &a.value).cmp(&(b.patients, &b.value)));
    let alone = table.group_sizes(|other| other == c);
    AttributeFigures {
        name: table.columns[c].clone(),
        withheld: table.withheld[c],
        patients_with_value: (0..values.len())
            .filter(|&id| !values[id].is_empty())
            .map(|id| counts[id])
            .sum(),
        distinct_values: (0..values.len())
            .filter(|&id| !values[id].is_empty() && counts[id] > 0)
            .count(),
        unique_alone: count(&alone, &|s| s == 1),
        unique_added: count(all, &|s| s == 1).saturating_sub(count(without, &|s| s == 1)),
        below_k_added: count(all, &|s| s < k).saturating_sub(count(without, &|s| s < k)),
        rare_values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten patients on two attributes, groups of 1, 2, 3 and 4, worked by hand:
    /// (M,40) ×4, (F,40) ×3, (M,50) ×2, (F,50) ×1.
    fn ten() -> Table {
        let rows = [
            [0, 0],
            [0, 0],
            [0, 0],
            [0, 0],
            [1, 0],
            [1, 0],
            [1, 0],
            [0, 1],
            [0, 1],
            [1, 1],
        ];
        Table {
            columns: vec!["PatientSex".into(), "PatientAge".into()],
            withheld: vec![false, false],
            values: vec![
                vec!["M".into(), "F".into()],
                vec!["040Y".into(), "050Y".into()],
            ],
            patients: (0..10).map(|i| format!("P{i}")).collect(),
            rows: rows.iter().map(|r| r.to_vec()).collect(),
        }
    }

    #[test]
    fn k_groups_and_risks_match_a_hand_computed_example() {
        let f = figures(&ten(), 3);
        assert_eq!(f.patients, 10);
        assert_eq!(f.groups, 4);
        // Below 3: the group of 1 and the group of 2.
        assert_eq!(f.patients_below_k, 3);
        assert_eq!(f.unique_patients, 1);
        let sizes: Vec<(usize, usize, usize)> = f
            .group_sizes
            .iter()
            .map(|s| (s.size, s.groups, s.patients))
            .collect();
        assert_eq!(sizes, [(1, 1, 1), (2, 1, 2), (3, 1, 3), (4, 1, 4)]);
        // Prosecutor: max 1/1; average (1 + 2·1/2 + 3·1/3 + 4·1/4)/10 = 4/10.
        let p = f.prosecutor.unwrap();
        assert_eq!(p.max, 1.0);
        assert!((p.average - 0.4).abs() < 1e-12);
        // Journalist, N = 100: F = 10f, so max 1/10; average (1/10)(1/10 + 2/20 + 3/30 + 4/40)
        // = 0.04 (= groups / N).
        let sizes = ten().group_sizes(|_| true);
        let j = journalist(&sizes, 100).unwrap();
        assert!((j.max - 0.1).abs() < 1e-12);
        assert!((j.average - 0.04).abs() < 1e-12);
        // A population no larger than the dataset: F = f, the prosecutor's figures.
        let j = journalist(&sizes, 10).unwrap();
        assert_eq!((j.max, j.average), (p.max, p.average));
    }

    #[test]
    fn attributes_say_who_they_make_unique() {
        let f = figures(&ten(), 3);
        let (sex, age) = (&f.attributes[0], &f.attributes[1]);
        // Without sex: (40) ×7, (50) ×3: nobody unique, nobody below 3.
        assert_eq!((sex.unique_added, sex.below_k_added), (1, 3));
        // Without age: (M) ×6, (F) ×4: the same.
        assert_eq!((age.unique_added, age.below_k_added), (1, 3));
        assert_eq!(sex.unique_alone, 0);
        // 050Y is held by 3 patients: not rare at k = 3; nothing is.
        assert!(age.rare_values.is_empty());
        let f4 = figures(&ten(), 4);
        assert_eq!(
            f4.attributes[1].rare_values,
            [RareValue {
                value: Some("050Y".into()),
                patients: 3
            }]
        );
        let lone = f.at_risk.iter().find(|a| a.pseudonym == "P9").unwrap();
        assert_eq!(lone.group_size, 1);
        assert!(lone.rare.is_empty());
        assert_eq!(lone.removal_reaches_k, ["PatientSex", "PatientAge"]);
        assert_eq!(f.at_risk.len(), 3);
    }
}
