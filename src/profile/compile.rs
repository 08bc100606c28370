//! Compilation: an `extends` chain of profile specs (root first) merged into one
//! [`Profile`], in named steps: the settings each layer sets, their checks, the table's rules
//! under the options, the patient's pseudonyms, then the profiles' own attributes.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dicom_core::Tag;

use crate::dicom::uid;
use crate::profile::pixel::PixelConfig;
use crate::profile::spec::{
    AttrSelector, AttributeRule, DateSpec, PatientIdMode, PatientSpec, PrivatePolicy, ProfileSpec,
    ShiftMode, Unlisted,
};
use crate::profile::standard::{self, AnnexOption, Selector};
use crate::profile::{Action, DateConfig, Layer, PatientConfig, Profile, ProfileError, Rule};

/// One layer of the chain: where it came from, the folder its relative paths start from, and
/// what it says.
pub(super) type Layered = (String, Option<PathBuf>, ProfileSpec);

/// Merge the chain (root first) and build the effective rules.
pub(super) fn compile(specs: Vec<Layered>) -> Result<Profile, ProfileError> {
    let top = specs.last().map(|(o, _, _)| o.clone()).unwrap_or_default();
    let settings = Settings::merge(&specs)?;
    settings.check(&top)?;
    let private = settings.private.unwrap_or(
        if settings.options.contains(&AnnexOption::RetainSafePrivate) {
            PrivatePolicy::Safe
        } else {
            PrivatePolicy::Remove
        },
    );
    let (mut tags, mut masks) = table_rules(&settings.options);
    if settings.patient.id != PatientIdMode::Empty {
        patient_rules(&mut tags);
    }
    let private_rules = apply_overrides(settings.overrides, &mut tags, &mut masks);
    let mut safe_private: foldhash::HashMap<(u16, u8), Vec<String>> = foldhash::HashMap::default();
    for s in standard::safe_private() {
        safe_private
            .entry((s.group, s.offset))
            .or_default()
            .push(s.creator.clone());
    }
    let pixel = PixelConfig {
        clean_pixel_data: settings.options.contains(&AnnexOption::CleanPixelData),
        clean_visual_features: settings
            .options
            .contains(&AnnexOption::CleanRecognizableVisualFeatures),
        ..settings.pixel
    };
    Ok(Profile {
        name: settings.name.unwrap_or_else(|| top.clone()),
        chain: specs.iter().map(|(o, _, _)| o.clone()).collect(),
        options: settings.options,
        tags,
        masks,
        private_rules,
        safe_private,
        private,
        unlisted: settings.unlisted,
        uid_root: settings.uid_root,
        dates: settings.dates,
        patient: settings.patient,
        pixel,
        warnings: settings.warnings,
    })
}

/// Everything but the rule table, as the layers of the chain leave it.
struct Settings {
    name: Option<String>,
    options: BTreeSet<AnnexOption>,
    uid_root: String,
    dates: DateConfig,
    patient: PatientConfig,
    unlisted: Unlisted,
    private: Option<PrivatePolicy>,
    pixel: PixelConfig,
    warnings: Vec<String>,
    /// The profiles' own attributes, root first, with the layer each came from.
    overrides: Vec<(AttributeRule, Layer)>,
}

fn invalid(origin: &str, message: String) -> ProfileError {
    ProfileError::Invalid {
        origin: origin.to_owned(),
        message,
    }
}

impl Settings {
    fn merge(specs: &[Layered]) -> Result<Settings, ProfileError> {
        let mut settings = Settings {
            name: None,
            options: BTreeSet::new(),
            uid_root: uid::UUID_ROOT.to_owned(),
            dates: DateConfig {
                shift: ShiftMode::PerPatient,
                range_days: (-730, -30),
                fixed_days: 0,
            },
            patient: PatientConfig {
                id: PatientIdMode::Hash,
                name_template: "{id}".to_owned(),
                prefix: "PAT-".to_owned(),
                cap_age: true,
                lookup: HashMap::new(),
            },
            unlisted: Unlisted::Keep,
            private: None,
            pixel: PixelConfig::default(),
            warnings: Vec::new(),
            overrides: Vec::new(),
        };
        for (origin, dir, spec) in specs {
            settings.layer(origin, dir.as_deref(), spec)?;
        }
        Ok(settings)
    }

    /// Apply one layer over the ones before it.
    fn layer(
        &mut self,
        origin: &str,
        dir: Option<&Path>,
        spec: &ProfileSpec,
    ) -> Result<(), ProfileError> {
        let layer: Layer = Arc::from(format!(
            "profile {}",
            spec.name.as_deref().unwrap_or(origin)
        ));
        if spec.name.is_some() {
            self.name.clone_from(&spec.name);
        }
        self.options.extend(spec.options.iter().copied());
        if let Some(root) = spec.uids.as_ref().and_then(|u| u.root.as_ref()) {
            self.uid_root.clone_from(&root.0);
        }
        if let Some(d) = &spec.dates {
            self.dates_layer(origin, d)?;
        }
        if let Some(p) = &spec.patient {
            self.patient_layer(origin, dir, p)?;
        }
        if let Some(u) = spec.unlisted {
            self.unlisted = u;
        }
        if spec.private.is_some() {
            self.private = spec.private;
        }
        if let Some(p) = &spec.pixel {
            p.check().map_err(|e| invalid(origin, e.to_string()))?;
            let mut layer = PixelConfig::default();
            layer.extend(p);
            self.warnings.extend(
                layer
                    .warnings()
                    .into_iter()
                    .map(|w| format!("{origin}: {w}")),
            );
            self.pixel.extend(p);
        }
        self.overrides
            .extend(spec.attributes.iter().cloned().map(|r| (r, layer.clone())));
        Ok(())
    }

    fn dates_layer(&mut self, origin: &str, d: &DateSpec) -> Result<(), ProfileError> {
        if let Some(shift) = d.shift {
            self.dates.shift = shift;
        }
        if let Some([lo, hi]) = d.range_days {
            if lo > hi {
                return Err(invalid(
                    origin,
                    format!("dates.range_days: {lo} is above {hi}"),
                ));
            }
            self.dates.range_days = (lo, hi);
        }
        if let Some(days) = d.days {
            self.dates.fixed_days = days;
        }
        Ok(())
    }

    fn patient_layer(
        &mut self,
        origin: &str,
        dir: Option<&Path>,
        p: &PatientSpec,
    ) -> Result<(), ProfileError> {
        let patient = &mut self.patient;
        if let Some(id) = p.id {
            patient.id = id;
        }
        if let Some(template) = &p.name {
            check_template(template).map_err(|e| invalid(origin, e.to_string()))?;
            patient.name_template.clone_from(template);
        }
        if let Some(prefix) = &p.prefix {
            if prefix.len() > 8
                || !prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                return Err(invalid(
                    origin,
                    "patient.prefix: at most 8 characters of A-Z, a-z, 0-9, - and _".to_owned(),
                ));
            }
            patient.prefix.clone_from(prefix);
        }
        if let Some(cap) = p.cap_age {
            patient.cap_age = cap;
        }
        if let Some(lookup) = &p.lookup {
            let path = match dir {
                Some(dir) if lookup.is_relative() => dir.join(lookup),
                _ => lookup.clone(),
            };
            patient.lookup = read_lookup(&path).map_err(|e| invalid(origin, e.to_string()))?;
        }
        Ok(())
    }

    /// The checks that need the whole chain.
    fn check(&self, top: &str) -> Result<(), ProfileError> {
        if self
            .options
            .contains(&AnnexOption::RetainLongitudinalFullDates)
            && self
                .options
                .contains(&AnnexOption::RetainLongitudinalModifiedDates)
        {
            return Err(invalid(
                top,
                "retain-longitudinal-full-dates and retain-longitudinal-modified-dates exclude each other".to_owned(),
            ));
        }
        if self.patient.id == PatientIdMode::Lookup && self.patient.lookup.is_empty() {
            return Err(invalid(
                top,
                "patient.id is lookup but no patient.lookup CSV (or an empty one) is given"
                    .to_owned(),
            ));
        }
        Ok(())
    }
}

/// Table E.1-1's rule for every row under the options: the basic column, then the retain
/// options, then the clean options, each overriding the one before where it has a cell.
fn table_rules(
    options: &BTreeSet<AnnexOption>,
) -> (foldhash::HashMap<Tag, Rule>, Vec<(Selector, Rule)>) {
    let mut tags = foldhash::HashMap::default();
    let mut masks = Vec::new();
    let basic: Layer = Arc::from("E.1-1 basic");
    let ordered: Vec<AnnexOption> = AnnexOption::ALL
        .iter()
        .copied()
        .filter(|o| !o.is_clean())
        .chain(AnnexOption::ALL.iter().copied().filter(|o| o.is_clean()))
        .filter(|o| options.contains(o))
        .collect();
    let option_layers: HashMap<AnnexOption, Layer> = ordered
        .iter()
        .map(|o| (*o, Arc::from(format!("option {}", o.name()))))
        .collect();
    for row in standard::table() {
        let mut rule = Rule {
            action: row.basic.clone(),
            layer: basic.clone(),
        };
        for option in &ordered {
            if let Some(action) = row.option(*option) {
                rule = Rule {
                    action: action.clone(),
                    layer: option_layers[option].clone(),
                };
            }
        }
        match row.selector {
            Selector::Tag(t) => {
                tags.insert(t, rule);
            }
            Selector::Mask { .. } => masks.push((row.selector, rule)),
            // The private row is carried by the `private` policy.
            Selector::Private => {}
        }
    }
    (tags, masks)
}

/// PatientID becomes the pseudonym and PatientName the template over it.
fn patient_rules(tags: &mut foldhash::HashMap<Tag, Rule>) {
    let layer: Layer = Arc::from("patient");
    tags.insert(
        dicom_dictionary_std::tags::PATIENT_ID,
        Rule {
            action: Action::Pseudonym,
            layer: layer.clone(),
        },
    );
    tags.insert(
        dicom_dictionary_std::tags::PATIENT_NAME,
        Rule {
            action: Action::PatientName,
            layer,
        },
    );
}

/// The profiles' own attributes over the table, root first; returns the private rules.
fn apply_overrides(
    overrides: Vec<(AttributeRule, Layer)>,
    tags: &mut foldhash::HashMap<Tag, Rule>,
    masks: &mut Vec<(Selector, Rule)>,
) -> HashMap<(u16, Option<u8>, String), Rule> {
    let mut private_rules = HashMap::new();
    for (rule, layer) in overrides {
        let r = Rule {
            action: rule.action,
            layer,
        };
        match rule.selector {
            AttrSelector::Public(Selector::Tag(t)) => {
                tags.insert(t, r);
            }
            AttrSelector::Public(sel) => {
                masks.retain(|(s, _)| *s != sel);
                masks.insert(0, (sel, r));
            }
            AttrSelector::Private {
                group,
                offset,
                creator,
            } => {
                private_rules.insert((group, offset, creator), r);
            }
        }
    }
    private_rules
}

/// Why a `patient.name` template is refused.
#[derive(Debug, thiserror::Error)]
enum TemplateError {
    #[error("patient.name {0:?}: only {{id}} may be used in the template")]
    Placeholder(String),
    #[error("patient.name: a person name component holds at most 64 characters")]
    TooLong,
}

/// Templates may use `{id}` (the new PatientID) and literal text.
fn check_template(template: &str) -> Result<(), TemplateError> {
    let rest = template.replace("{id}", "");
    if rest.contains(['{', '}']) {
        return Err(TemplateError::Placeholder(template.to_owned()));
    }
    if template.len() > 64 {
        return Err(TemplateError::TooLong);
    }
    Ok(())
}

/// Why a `patient.lookup` CSV is refused.
#[derive(Debug, thiserror::Error)]
enum LookupError {
    #[error("patient.lookup {path}: {source}")]
    Csv { path: String, source: csv::Error },
    #[error("patient.lookup {path}: line {line}: expected two columns")]
    Columns { path: String, line: usize },
    #[error(
        "patient.lookup {path}: line {line}: the new id must be 1 to 64 characters without a backslash"
    )]
    NewId { path: String, line: usize },
}

/// Read `original,pseudonym` pairs; a first line `id_old,id_new` is a header.
fn read_lookup(path: &Path) -> Result<HashMap<String, String>, LookupError> {
    let shown = || path.display().to_string();
    let csv_error = |source| LookupError::Csv {
        path: shown(),
        source,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(false)
        .from_path(path)
        .map_err(csv_error)?;
    let mut map = HashMap::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(csv_error)?;
        if record.len() != 2 {
            return Err(LookupError::Columns {
                path: shown(),
                line: i + 1,
            });
        }
        if i == 0 && &record[0] == "id_old" {
            continue;
        }
        let new = record[1].trim();
        if new.is_empty() || new.len() > 64 || new.contains('\\') {
            return Err(LookupError::NewId {
                path: shown(),
                line: i + 1,
            });
        }
        map.insert(record[0].trim().to_owned(), new.to_owned());
    }
    Ok(map)
}
