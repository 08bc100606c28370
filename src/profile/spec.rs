//! The profile format as written: one YAML file's sections, every field optional (`extends`
//! fills the gaps), each value checked where it stands so that errors carry its line and
//! column.

use std::path::PathBuf;
use std::str::FromStr;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;
use serde::Deserialize;

use crate::dicom::uid;
use crate::profile::action::ActionFor;
use crate::profile::pixel::PixelSpec;
use crate::profile::scalar::ParseVisitor;
use crate::profile::standard::{self, AnnexOption, Selector};
use crate::profile::suggest;
use crate::profile::{Action, ProfileError};

/// One profile file as written (every field optional; `extends` fills the gaps).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    pub name: Option<String>,
    pub description: Option<String>,
    pub extends: Option<String>,
    #[serde(default)]
    pub options: Vec<AnnexOption>,
    pub uids: Option<UidSpec>,
    pub dates: Option<DateSpec>,
    pub patient: Option<PatientSpec>,
    #[serde(default, deserialize_with = "deserialize_attributes")]
    pub attributes: Vec<AttributeRule>,
    pub unlisted: Option<Unlisted>,
    pub private: Option<PrivatePolicy>,
    pub pixel: Option<PixelSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UidSpec {
    pub root: Option<UidRoot>,
}

/// A UID root, validated as it is read.
#[derive(Debug, Clone)]
pub struct UidRoot(pub String);

impl FromStr for UidRoot {
    type Err = uid::RootError;

    fn from_str(root: &str) -> Result<Self, uid::RootError> {
        uid::check_root(root)?;
        Ok(UidRoot(root.to_owned()))
    }
}

impl<'de> Deserialize<'de> for UidRoot {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(ParseVisitor(std::marker::PhantomData))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateSpec {
    pub shift: Option<ShiftMode>,
    pub range_days: Option<[i64; 2]>,
    pub days: Option<i64>,
}

/// How the `shift` action moves dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShiftMode {
    /// A keyed offset per patient within `range_days`.
    PerPatient,
    /// The same `days` for everyone.
    Fixed,
    /// Dates stay as they are.
    None,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatientSpec {
    pub id: Option<PatientIdMode>,
    pub name: Option<String>,
    pub lookup: Option<PathBuf>,
    pub prefix: Option<String>,
    pub cap_age: Option<bool>,
}

/// What becomes of PatientID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PatientIdMode {
    /// A keyed pseudonym: prefix + base32 of the HMAC.
    Hash,
    /// From the lookup CSV; IDs it lacks fall back to the hash and are counted.
    Lookup,
    /// The original (only for data that is already pseudonymous).
    Keep,
    /// The table's own action (Z/D): every patient looks the same.
    Empty,
}

/// Public attributes that no rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unlisted {
    Keep,
    Remove,
}

/// Private (odd-group) attributes that no rule names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PrivatePolicy {
    /// All removed with their creators.
    Remove,
    /// Those of Table E.3.10-1 kept, the rest removed.
    Safe,
    /// All kept.
    Keep,
}

/// An attribute selector in `attributes`: a keyword, `(gggg,eeee)`, a mask like `(60xx,4000)`,
/// or a private attribute by creator `(0019,xx10)@GEMS_ACQU_01`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttrSelector {
    Public(Selector),
    /// A private element (`(gggg,xxee)@CREATOR`), or with `offset` `None` every element of
    /// the creator's block (`(gggg,xxxx)@CREATOR`).
    Private {
        group: u16,
        offset: Option<u8>,
        creator: String,
    },
}

impl std::fmt::Display for AttrSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AttrSelector::Public(s) => s.fmt(f),
            AttrSelector::Private {
                group,
                offset,
                creator,
            } => match offset {
                Some(offset) => write!(f, "({group:04X},xx{offset:02X})@{creator}"),
                None => write!(f, "({group:04X},xxxx)@{creator}"),
            },
        }
    }
}

/// Why an attribute selector is refused. Profiles hold no patient data, so it may quote them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    #[error(
        "bad private attribute {0:?}: expected (gggg,xxee)@CREATOR, or (gggg,xxxx)@CREATOR for the whole block, with gggg odd"
    )]
    Private(String),
    #[error(
        "{text} is a private attribute: name it with its creator, e.g. ({group:04X},xx{offset:02X})@CREATOR"
    )]
    PrivateTag {
        text: String,
        group: u16,
        offset: u8,
    },
    #[error("bad tag {0:?}: expected (gggg,eeee) in hexadecimal, or a mask like (60xx,4000)")]
    Tag(String),
    #[error("unknown attribute keyword {0:?}{1}")]
    Keyword(String, String),
}

impl FromStr for AttrSelector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, SelectorError> {
        if let Some((tag, creator)) = s.split_once('@') {
            let bad = || SelectorError::Private(s.to_owned());
            let inner = tag
                .strip_prefix('(')
                .and_then(|t| t.strip_suffix(')'))
                .ok_or_else(bad)?;
            let (g, e) = inner.split_once(',').ok_or_else(bad)?;
            let group = u16::from_str_radix(g, 16).map_err(|_| bad())?;
            let offset = match e.to_ascii_lowercase().strip_prefix("xx") {
                Some("xx") => None,
                Some(o) => Some(u8::from_str_radix(o, 16).map_err(|_| bad())?),
                None => return Err(bad()),
            };
            if g.len() != 4 || e.len() != 4 || group % 2 == 0 || creator.trim().is_empty() {
                return Err(bad());
            }
            return Ok(AttrSelector::Private {
                group,
                offset,
                creator: creator.trim().to_owned(),
            });
        }
        if s.starts_with('(') {
            return match standard::parse_selector(s) {
                Some(Selector::Tag(t)) if t.0 % 2 == 1 => Err(SelectorError::PrivateTag {
                    text: s.to_owned(),
                    group: t.0,
                    offset: (t.1 & 0xFF) as u8,
                }),
                Some(sel @ (Selector::Tag(_) | Selector::Mask { .. })) => {
                    Ok(AttrSelector::Public(sel))
                }
                _ => Err(SelectorError::Tag(s.to_owned())),
            };
        }
        match StandardDataDictionary.by_name(s) {
            Some(entry) => Ok(AttrSelector::Public(Selector::Tag(entry.tag()))),
            None => Err(SelectorError::Keyword(
                s.to_owned(),
                suggest::keyword(s)
                    .map(|k| format!("; did you mean {k:?}?"))
                    .unwrap_or_default(),
            )),
        }
    }
}

impl<'de> Deserialize<'de> for AttrSelector {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(ParseVisitor(std::marker::PhantomData))
    }
}

/// One entry of `attributes`, kept in file order.
#[derive(Debug, Clone)]
pub struct AttributeRule {
    pub selector: AttrSelector,
    pub action: Action,
}

/// Reads the `attributes` mapping in order, validating each key and action where it stands.
struct AttributeRules;

impl<'de> serde::de::Visitor<'de> for AttributeRules {
    type Value = Vec<AttributeRule>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a mapping from attribute to action")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut rules = Vec::new();
        while let Some(selector) = map.next_key::<AttrSelector>()? {
            let vr = match &selector {
                AttrSelector::Public(Selector::Tag(tag)) => {
                    crate::dicom::values::dictionary_vr(*tag)
                }
                _ => None,
            };
            let action = map.next_value_seed(ActionFor { vr })?;
            rules.push(AttributeRule { selector, action });
        }
        Ok(rules)
    }
}

fn deserialize_attributes<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<AttributeRule>, D::Error> {
    d.deserialize_map(AttributeRules)
}

/// Parse one profile's YAML, turning serde's errors into file:line:column messages.
pub fn parse_spec(origin: &str, text: &str) -> Result<ProfileSpec, ProfileError> {
    if text.trim().is_empty() {
        return Ok(ProfileSpec::default());
    }
    serde_yaml::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let message = e.to_string();
        // serde_yaml appends " at line L column C"; the prefix already says where.
        let message = match message.find(" at line ") {
            Some(i) => message[..i].to_owned(),
            None => message,
        };
        ProfileError::Syntax {
            origin: origin.to_owned(),
            line,
            column,
            message,
        }
    })
}
