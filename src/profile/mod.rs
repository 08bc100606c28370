//! Confidentiality profiles: the YAML format, `extends` chains, and compilation into the
//! effective rule table that [`crate::deid`] applies.
//!
//! Every profile starts from Table E.1-1 (see [`crate::profile::standard`]). Layers apply in order, each
//! overriding the one before for the attributes it names:
//! 1. the table's basic column;
//! 2. the options' columns: retain options first, then clean options (so where both speak, the
//!    attribute is kept but cleaned);
//! 3. the `patient` section (PatientID and PatientName become keyed pseudonyms unless
//!    `patient: {id: empty}`);
//! 4. each profile's `attributes`, from the root of the `extends` chain down to the named profile.
//!
//! All validation happens while the YAML is read, so every error carries the file, line and
//! column of the offending key or value.

pub mod action;
mod compile;
mod diff;
pub mod pixel;
mod scalar;
pub mod spec;
pub mod standard;
mod suggest;
pub mod when;

pub use action::Action;
pub use diff::diff;
pub use spec::{
    AttrSelector, PatientIdMode, PrivatePolicy, ProfileSpec, ShiftMode, Unlisted, parse_spec,
};

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dicom_core::Tag;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;
use sha2::{Digest, Sha256};

use crate::profile::pixel::{ClaimedNotFound, Fill, PixelConfig};
use crate::profile::standard::{AnnexOption, Selector};

/// The profiles shipped with the tool, usable by name from any folder.
pub const BUILTIN: &[(&str, &str)] = &[
    ("basic", include_str!("../../profiles/basic.yaml")),
    ("ml-dataset", include_str!("../../profiles/ml-dataset.yaml")),
    (
        "safe-harbor",
        include_str!("../../profiles/safe-harbor.yaml"),
    ),
];

/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "basic";

/// Why a profile could not be loaded. Profiles hold no patient data, so messages may quote them.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("{origin}: cannot read it: {source}")]
    Read {
        origin: String,
        source: std::io::Error,
    },
    #[error("{origin}:{line}:{column}: {message}")]
    Syntax {
        origin: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("{origin}: unknown profile {name:?}: not a built-in profile ({builtins}) nor a file")]
    Unknown {
        origin: String,
        name: String,
        builtins: String,
    },
    #[error("{origin}: `extends` makes a cycle: {chain}")]
    Cycle { origin: String, chain: String },
}

/// Where a rule came from, for `profile show` and `inspect`.
pub type Layer = Arc<str>;

/// An action with the layer that chose it.
#[derive(Debug, Clone)]
pub struct Rule {
    pub action: Action,
    pub layer: Layer,
}

/// The date settings in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateConfig {
    pub shift: ShiftMode,
    pub range_days: (i64, i64),
    pub fixed_days: i64,
}

/// The patient settings in force.
#[derive(Debug, Clone)]
pub struct PatientConfig {
    pub id: PatientIdMode,
    pub name_template: String,
    pub prefix: String,
    pub cap_age: bool,
    /// Original PatientID → chosen pseudonym (the only PHI a profile may bring).
    pub lookup: HashMap<String, String>,
}

/// A compiled profile: the effective rule for every attribute, plus the settings.
#[derive(Debug, Clone)]
pub struct Profile {
    pub name: String,
    /// Where each layer came from (built-in name or file path), root first.
    pub chain: Vec<String>,
    pub options: BTreeSet<AnnexOption>,
    /// Looked up for every element of every file: hashed with foldhash, not SipHash.
    tags: foldhash::HashMap<Tag, Rule>,
    masks: Vec<(Selector, Rule)>,
    /// Rules for private elements by (group, offset in the block, creator); offset `None`
    /// for a whole block.
    private_rules: HashMap<(u16, Option<u8>, String), Rule>,
    safe_private: foldhash::HashMap<(u16, u8), Vec<String>>,
    pub private: PrivatePolicy,
    pub unlisted: Unlisted,
    pub uid_root: String,
    pub dates: DateConfig,
    pub patient: PatientConfig,
    pub pixel: PixelConfig,
    /// Things `profile check` should point out that do not stop the profile from working.
    pub warnings: Vec<String>,
}

/// The rule for a private attribute.
pub enum PrivateRule<'a> {
    Named(&'a Rule),
    Safe,
    Policy(PrivatePolicy),
}

impl Profile {
    /// Load a profile by built-in name or file path and compile it.
    pub fn load(name_or_path: &str) -> Result<Self, ProfileError> {
        Self::load_chain(locate(name_or_path, None, None)?)
    }
    /// Whether any rule cleans: only then must a file's identifiers be gathered first.
    pub fn cleans(&self) -> bool {
        self.tags
            .values()
            .chain(self.masks.iter().map(|(_, r)| r))
            .chain(self.private_rules.values())
            .any(|r| r.action == Action::Clean)
    }

    /// The rule for a public attribute, if any layer names it.
    pub fn rule(&self, tag: Tag) -> Option<&Rule> {
        self.tags.get(&tag).or_else(|| {
            self.masks
                .iter()
                .find(|(sel, _)| sel.covers(tag))
                .map(|(_, r)| r)
        })
    }

    /// The rule for a private attribute of `creator`'s block in `group` at element `offset`.
    pub fn private_rule(&self, group: u16, offset: u8, creator: &str) -> PrivateRule<'_> {
        let creator = creator.trim();
        // A rule for the element wins over one for its whole block.
        if !self.private_rules.is_empty()
            && let Some(rule) = [Some(offset), None]
                .into_iter()
                .find_map(|o| self.private_rules.get(&(group, o, creator.to_owned())))
        {
            return PrivateRule::Named(rule);
        }
        if self.private == PrivatePolicy::Safe
            && self
                .safe_private
                .get(&(group, offset))
                .is_some_and(|cs| cs.iter().any(|c| c == creator))
        {
            return PrivateRule::Safe;
        }
        PrivateRule::Policy(self.private)
    }

    /// Every rule of the profile as (selector, keyword, rule), sorted by selector: tags, masks
    /// and private attributes by creator.
    pub fn effective_rules(&self) -> Vec<(String, String, &Rule)> {
        let mut rules = Vec::new();
        for (tag, rule) in &self.tags {
            let keyword = StandardDataDictionary
                .by_tag(*tag)
                .map(|e| e.alias().to_owned())
                .unwrap_or_default();
            rules.push((format!("({:04X},{:04X})", tag.0, tag.1), keyword, rule));
        }
        for (sel, rule) in &self.masks {
            rules.push((sel.to_string(), String::new(), rule));
        }
        for ((group, offset, creator), rule) in &self.private_rules {
            let selector = AttrSelector::Private {
                group: *group,
                offset: *offset,
                creator: creator.clone(),
            };
            rules.push((selector.to_string(), String::new(), rule));
        }
        rules.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        rules
    }

    /// The settings beyond the rules, one `# key: value` line each, the value as a user
    /// writes it in YAML.
    pub fn settings(&self) -> Vec<String> {
        let options: Vec<_> = self.options.iter().map(|o| o.name()).collect();
        let (p, d) = (&self.patient, &self.dates);
        let mut lines = vec![
            format!("# options: [{}]", options.join(", ")),
            format!("# private: {}", yaml(&self.private)),
            format!("# unlisted: {}", yaml(&self.unlisted)),
            format!("# uids: {{root: {}}}", yaml(&self.uid_root)),
            format!(
                "# dates: {{shift: {}, range_days: [{}, {}], days: {}}}",
                yaml(&d.shift),
                d.range_days.0,
                d.range_days.1,
                d.fixed_days
            ),
            format!(
                "# patient: {{id: {}, name: {}, prefix: {}, cap_age: {}}}",
                yaml(&p.id),
                yaml(&p.name_template),
                yaml(&p.prefix),
                p.cap_age
            ),
        ];
        if !p.lookup.is_empty() {
            lines.push(format!("# patient.lookup: {} entries", p.lookup.len()));
        }
        let px = &self.pixel;
        let fill = match px.fill {
            Fill::Darkest => "darkest".to_owned(),
            Fill::Brightest => "brightest".to_owned(),
            Fill::Value(v) => v.to_string(),
        };
        // Named only when not the default, so the table (and its hash) of every profile
        // written before the setting existed is unchanged.
        let claimed = match px.burned_in_claimed_not_found {
            ClaimedNotFound::Quarantine => String::new(),
            other => format!(", burned_in_claimed_not_found: {}", yaml(&other)),
        };
        lines.push(format!(
            "# pixel: {{detect: {}, burned_in_without_rule: {}{claimed}, fill: {fill}}}",
            px.detect,
            yaml(&px.burned_in_without_rule)
        ));
        for rule in &px.rules {
            let regions: Vec<String> = rule.regions.iter().map(ToString::to_string).collect();
            lines.push(format!(
                "# pixel rule {:?}: when {}; regions {}{}",
                rule.name,
                rule.when,
                if regions.is_empty() {
                    "none".to_owned()
                } else {
                    regions.join(" ")
                },
                if rule.detect { "; detector" } else { "" }
            ));
        }
        lines
    }

    /// The effective table as text: one line per rule (selector, keyword, action as
    /// [`action_text`] says it, layer), then the settings. Its SHA-256 names the profile in
    /// every summary.
    pub fn effective_table(&self) -> String {
        let mut out = String::new();
        for (sel, keyword, rule) in self.effective_rules() {
            let action = action_text(&keyword, &rule.action);
            let _ = writeln!(out, "{sel}\t{keyword}\t{action}\t{}", rule.layer);
        }
        for line in self.settings() {
            let _ = writeln!(out, "{line}");
        }
        out
    }

    /// SHA-256 of [`Profile::effective_table`], hex.
    pub fn table_sha256(&self) -> String {
        hex::encode(Sha256::digest(self.effective_table().as_bytes()))
    }

    /// Compile a profile from YAML text that is not a file (`origin` names it in errors); an
    /// `extends` path is resolved from the current folder. Lets fuzzers and tests reach the
    /// whole loader without files.
    pub fn from_yaml(origin: &str, text: &str) -> Result<Self, ProfileError> {
        Self::load_chain((origin.to_owned(), text.to_owned(), None))
    }

    /// Follow `extends` from a first profile text `(origin, text, folder)` and compile.
    fn load_chain(first: (String, String, Option<PathBuf>)) -> Result<Self, ProfileError> {
        let mut chain = Vec::new();
        let mut specs = Vec::new();
        let mut next = Some(first);
        while let Some((origin, text, dir)) = next.take() {
            if chain.contains(&origin) {
                chain.push(origin.clone());
                return Err(ProfileError::Cycle {
                    origin: chain[0].clone(),
                    chain: chain.join(" -> "),
                });
            }
            let spec = parse_spec(&origin, &text)?;
            chain.push(origin.clone());
            next = match &spec.extends {
                Some(parent) => Some(locate(parent, dir.as_deref(), chain.last())?),
                None => None,
            };
            specs.push((origin, dir, spec));
        }
        specs.reverse();
        compile::compile(specs)
    }
}

/// A setting's value as YAML writes it (`per-patient`, `'{id}'`).
fn yaml<T: serde::Serialize>(value: &T) -> String {
    serde_yaml::to_string(value)
        .map(|s| s.trim_end().to_owned())
        .unwrap_or_default()
}

/// An action as `profile show` and `profile diff` print it: `shift` says what it does to an
/// attribute that is not a date (the engine keeps a time, since the day it belongs to moves
/// with the dates; keeps a UTC offset, which every DT keeps too; moves a DT's date only).
pub fn action_text(keyword: &str, action: &Action) -> String {
    if *action != Action::Shift {
        return action.to_string();
    }
    let vr = StandardDataDictionary
        .by_name(keyword)
        .and_then(|e| e.vr().exact());
    match vr {
        Some(dicom_core::VR::TM) => "shift (a time: kept, its day moves)".to_owned(),
        Some(dicom_core::VR::DT) => "shift (the day moves, time and UTC offset kept)".to_owned(),
        _ if keyword == "TimezoneOffsetFromUTC" => "shift (a UTC offset: kept)".to_owned(),
        _ => action.to_string(),
    }
}

/// Find a profile's text: a built-in name, else a file (relative to the extending file's folder).
fn locate(
    name: &str,
    base: Option<&Path>,
    from: Option<&String>,
) -> Result<(String, String, Option<PathBuf>), ProfileError> {
    if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name) {
        return Ok((format!("builtin:{name}"), (*text).to_owned(), None));
    }
    let path = match base {
        Some(dir) if Path::new(name).is_relative() => dir.join(name),
        _ => PathBuf::from(name),
    };
    if !path.is_file() {
        return Err(ProfileError::Unknown {
            origin: from.cloned().unwrap_or_else(|| "profile".to_owned()),
            name: name.to_owned(),
            builtins: BUILTIN
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(&path).map_err(|source| ProfileError::Read {
        origin: origin.clone(),
        source,
    })?;
    let dir = path.parent().map(Path::to_owned);
    Ok((origin, text, dir))
}

/// A short description line of each built-in profile, for `profile list`.
pub fn builtin_descriptions() -> BTreeMap<&'static str, String> {
    BUILTIN
        .iter()
        .map(|(n, text)| {
            let description = parse_spec(n, text)
                .ok()
                .and_then(|s| s.description)
                .unwrap_or_default();
            (*n, description.trim().to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn profile_from(yaml: &str) -> Result<Profile, ProfileError> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(yaml.as_bytes()).unwrap();
        Profile::load(file.path().to_str().unwrap())
    }

    /// The reference table, read independently of `standard`: (selector text, basic, option
    /// cells by column name).
    fn reference_rows() -> Option<Vec<csv::StringRecord>> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/standard/confidentiality_profile.csv");
        let mut reader = csv::Reader::from_path(&path).ok()?;
        Some(reader.records().map(Result::unwrap).collect())
    }

    /// Every row of Table E.1-1, under the basic profile and under each option alone, gives
    /// that row's action (the private row is checked through the private policy).
    #[test]
    fn compiled_profiles_follow_table_e1_1_row_by_row() {
        let Some(rows) = reference_rows() else {
            eprintln!("skipped: ../shared/standard is absent");
            return;
        };
        let header = csv::Reader::from_path(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/standard/confidentiality_profile.csv"),
        )
        .unwrap()
        .headers()
        .unwrap()
        .clone();
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let basic = profile_from("patient: {id: empty}\n").unwrap();
        let mut checked = 0;
        for option in std::iter::once(None).chain(AnnexOption::ALL.iter().copied().map(Some)) {
            let profile = match option {
                None => basic.clone(),
                Some(o) => profile_from(&format!(
                    "patient: {{id: empty}}\noptions: [{}]\n",
                    o.name()
                ))
                .unwrap(),
            };
            for row in &rows {
                let cell = option
                    .map(|o| &row[col(o.column())])
                    .filter(|c| !c.is_empty())
                    .unwrap_or(&row[col("basic")]);
                let modified = option == Some(AnnexOption::RetainLongitudinalModifiedDates)
                    && !row[col(option.unwrap().column())].is_empty();
                let expected = Action::parse_table_cell(cell, modified).unwrap();
                match standard::parse_selector(&row[col("tag")]).unwrap() {
                    Selector::Private => {
                        let policy = if option == Some(AnnexOption::RetainSafePrivate) {
                            PrivatePolicy::Safe
                        } else {
                            PrivatePolicy::Remove
                        };
                        assert_eq!(profile.private, policy);
                    }
                    Selector::Tag(tag) => {
                        assert_eq!(profile.rule(tag).unwrap().action, expected, "{}", &row[0]);
                    }
                    Selector::Mask {
                        group_high,
                        element,
                    } => {
                        let tag = Tag(u16::from(group_high) << 8 | 0x02, element.unwrap_or(0x0010));
                        assert_eq!(profile.rule(tag).unwrap().action, expected, "{}", &row[0]);
                    }
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 656 * 11);
    }

    #[test]
    fn patient_defaults_to_pseudonyms_in_every_profile() {
        for name in ["basic", "ml-dataset", "safe-harbor"] {
            let p = Profile::load(name).unwrap();
            assert_eq!(
                p.rule(dicom_dictionary_std::tags::PATIENT_ID)
                    .unwrap()
                    .action,
                Action::Pseudonym
            );
            assert_eq!(
                p.rule(dicom_dictionary_std::tags::PATIENT_NAME)
                    .unwrap()
                    .action,
                Action::PatientName
            );
        }
    }

    #[test]
    fn layers_override_in_order() {
        let p = Profile::load("ml-dataset").unwrap();
        let rule = p
            .rule(dicom_dictionary_std::tags::ACCESSION_NUMBER)
            .unwrap();
        assert_eq!(rule.action, Action::Hash);
        assert_eq!(&*rule.layer, "profile ml-dataset");
        let rule = p.rule(dicom_dictionary_std::tags::STUDY_DATE).unwrap();
        assert_eq!(rule.action, Action::Shift);
        assert_eq!(&*rule.layer, "option retain-longitudinal-modified-dates");
        assert_eq!(p.private, PrivatePolicy::Safe);
        assert_eq!(p.chain, ["builtin:basic", "builtin:ml-dataset"]);
        // A clean option wins over a retain option on the same row.
        let both = profile_from("options: [retain-device-identity, clean-descriptors]\n").unwrap();
        let station = both.rule(dicom_dictionary_std::tags::STATION_NAME).unwrap();
        assert!(matches!(station.action, Action::Keep | Action::Clean));
    }

    #[test]
    fn selectors_of_every_kind_parse() {
        let p = profile_from(
            "attributes:\n  StudyDescription: keep\n  \"(0008,1030)\": clean\n  \"(60xx,4000)\": keep\n  \"(0019,xx10)@GEMS_ACQU_01\": keep\n  SeriesDescription: {replace: \"X\"}\n",
        )
        .unwrap();
        assert_eq!(
            p.rule(dicom_dictionary_std::tags::STUDY_DESCRIPTION)
                .unwrap()
                .action,
            Action::Clean
        );
        assert_eq!(p.rule(Tag(0x6002, 0x4000)).unwrap().action, Action::Keep);
        assert!(matches!(
            p.private_rule(0x0019, 0x10, "GEMS_ACQU_01"),
            PrivateRule::Named(_)
        ));
        assert_eq!(
            p.rule(dicom_dictionary_std::tags::SERIES_DESCRIPTION)
                .unwrap()
                .action,
            Action::Replace("X".into())
        );
    }

    #[test]
    fn generalisations_parse_show_and_refuse_what_they_do_not_fit() {
        use crate::profile::action::Generalise;
        let p = profile_from(
            "attributes:\n  PatientAge: {band: 5}\n  PatientWeight: {round: 10}\n  PatientSize: {round: 0.1}\n  StudyDate: {precision: year}\n",
        )
        .unwrap();
        let shown = |tag| p.rule(tag).unwrap().action.to_string();
        use dicom_dictionary_std::tags;
        assert_eq!(shown(tags::PATIENT_AGE), "{band: 5}");
        assert_eq!(shown(tags::PATIENT_WEIGHT), "{round: 10}");
        assert_eq!(shown(tags::PATIENT_SIZE), "{round: 0.1}");
        assert_eq!(shown(tags::STUDY_DATE), "{precision: year}");
        assert!(matches!(
            p.rule(tags::PATIENT_AGE).unwrap().action,
            Action::Generalise(Generalise::Band(5))
        ));
        for (yaml, line, column, says) in [
            (
                "attributes:\n  PatientName: {band: 5}\n",
                2,
                16,
                "applies to ages (VR AS), not to VR PN",
            ),
            (
                "attributes:\n  PatientAge: {band: 0}\n",
                2,
                15,
                "band: a whole number",
            ),
            (
                "attributes:\n  PatientWeight: {round: -1}\n",
                2,
                18,
                "rounding step",
            ),
            (
                "attributes:\n  StudyDate: {precision: week}\n",
                2,
                26,
                "unknown variant",
            ),
            (
                "attributes:\n  StudyDate: {precision: year, band: 5}\n",
                2,
                14,
                "expected {replace",
            ),
            (
                "attributes:\n  \"(60xx,4000)\": {round: 1}\n",
                2,
                18,
                "not to a mask or private",
            ),
            (
                "attributes:\n  SeriesNumber: {round: 0.5}\n",
                2,
                17,
                "IS with a whole step",
            ),
        ] {
            let (l, c, message) = syntax_error(yaml);
            assert!(message.contains(says), "{yaml}: {message}");
            assert_eq!((l, c), (line, column), "{yaml}: {message}");
        }
        profile_from("attributes:\n  SeriesNumber: {round: 10}\n").unwrap();
    }

    fn syntax_error(yaml: &str) -> (usize, usize, String) {
        match profile_from(yaml) {
            Err(ProfileError::Syntax {
                line,
                column,
                message,
                ..
            }) => (line, column, message),
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_line_and_column() {
        let (line, _, msg) = syntax_error("name: x\nattributes:\n  PatientNme: keep\n");
        assert_eq!(line, 3);
        assert!(msg.contains("PatientNme"), "{msg}");
        let (line, _, msg) = syntax_error("name: x\noptions:\n  - retain-everything\n");
        assert_eq!(line, 3);
        assert!(msg.contains("retain-everything"), "{msg}");
        let (line, _, msg) =
            syntax_error("attributes:\n  StudyDate: keep\n  StudyTime: obliterate\n");
        assert_eq!(line, 3);
        assert!(msg.contains("obliterate"), "{msg}");
        let (line, _, _) = syntax_error("attributes:\n  \"(00ZZ,0010)\": keep\n");
        assert_eq!(line, 2);
        let (line, _, msg) = syntax_error("name: x\nunknown_key: 1\n");
        assert_eq!(line, 2);
        assert!(msg.contains("unknown_key"), "{msg}");
        let (line, _, _) = syntax_error("uids:\n  root: \"1.02.3\"\n");
        assert_eq!(line, 2);
        assert!(matches!(
            profile_from("attributes:\n  \"(0019,1010)\": keep\n"),
            Err(ProfileError::Syntax { line: 2, .. })
        ));
    }

    #[test]
    fn extends_chains_and_rejects_cycles() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "extends: b.yaml\n").unwrap();
        std::fs::write(dir.path().join("b.yaml"), "extends: a.yaml\n").unwrap();
        let err = Profile::load(dir.path().join("a.yaml").to_str().unwrap()).unwrap_err();
        assert!(matches!(err, ProfileError::Cycle { .. }), "{err}");
        std::fs::write(
            dir.path().join("c.yaml"),
            "extends: ml-dataset\nunlisted: remove\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("d.yaml"), "extends: c.yaml\nname: d\n").unwrap();
        let d = Profile::load(dir.path().join("d.yaml").to_str().unwrap()).unwrap();
        assert_eq!(d.chain.len(), 4);
        assert_eq!(d.unlisted, Unlisted::Remove);
        assert!(d.options.contains(&AnnexOption::CleanDescriptors));
        assert!(matches!(
            Profile::load("no-such-profile"),
            Err(ProfileError::Unknown { .. })
        ));
    }

    #[test]
    fn contradictory_settings_are_rejected() {
        assert!(
            profile_from(
                "options: [retain-longitudinal-full-dates, retain-longitudinal-modified-dates]\n"
            )
            .is_err()
        );
        assert!(profile_from("dates: {range_days: [10, -10]}\n").is_err());
        assert!(profile_from("patient: {id: lookup}\n").is_err());
        assert!(profile_from("patient: {name: \"{birthdate}\"}\n").is_err());
    }

    #[test]
    fn diff_lists_only_rules_that_differ_in_effect() {
        let basic = Profile::load("basic").unwrap();
        let ml = Profile::load("ml-dataset").unwrap();
        let d = diff(&basic, &ml);
        assert!(d.contains("- (0008,0050)\tAccessionNumber\tempty"), "{d}");
        assert!(
            d.contains("+ (0008,0050)\tAccessionNumber\thash\t(profile ml-dataset)"),
            "{d}"
        );
        assert!(
            d.contains("- # private: remove\n") && d.contains("+ # private: safe\n"),
            "{d}"
        );
        assert!(
            !d.contains("SOPInstanceUID"),
            "unchanged rules are not listed"
        );
        assert!(diff(&basic, &basic).contains("no differences"));
    }

    #[test]
    fn effective_table_hash_tracks_changes() {
        let a = Profile::load("basic").unwrap();
        let b = Profile::load("ml-dataset").unwrap();
        assert_ne!(a.table_sha256(), b.table_sha256());
        assert_eq!(
            a.table_sha256(),
            Profile::load("basic").unwrap().table_sha256()
        );
        assert!(a.effective_table().lines().count() > 600);
    }
}
