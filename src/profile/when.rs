//! `pixel.rules[].when`: conditions over the original header that pick the files a rule
//! masks. Each condition names an attribute by keyword and gives one pattern or a list (any of
//! them may match); every condition of a rule must hold.

use std::fmt;

use dicom_core::Tag;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;
use dicom_object::mem::InMemDicomObject;
use globset::{GlobBuilder, GlobMatcher};
use serde::Deserialize;
use serde::de::{self, SeqAccess, Visitor};

/// One accepted value: text (exact, or a glob with `*` and `?`, case-insensitive) or a
/// number (compared numerically, so `Rows: 600` matches "600" and "600.0").
#[derive(Debug, Clone)]
pub enum Pattern {
    Text { source: String, glob: GlobMatcher },
    Number(f64),
}

/// A glob the pattern syntax refuses.
#[derive(Debug, thiserror::Error)]
#[error("bad pattern {pattern:?}: {kind}")]
pub struct PatternError {
    pattern: String,
    kind: globset::ErrorKind,
}

impl Pattern {
    fn text(source: &str) -> Result<Self, PatternError> {
        // A backslash separates DICOM values, so it is literal here, never an escape.
        let glob = GlobBuilder::new(&source.replace('\\', "\\\\"))
            .case_insensitive(true)
            .literal_separator(false)
            .build()
            .map_err(|e| PatternError {
                pattern: source.to_owned(),
                kind: e.kind().clone(),
            })?;
        Ok(Pattern::Text {
            source: source.to_owned(),
            glob: glob.compile_matcher(),
        })
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            Pattern::Text { glob, .. } => glob.is_match(value),
            Pattern::Number(n) => value.trim().parse::<f64>().is_ok_and(|v| v == *n),
        }
    }

    /// The number this pattern pins, for the region checks of `profile check`.
    pub fn number(&self) -> Option<f64> {
        match self {
            Pattern::Number(n) => Some(*n),
            Pattern::Text { .. } => None,
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Text { source, .. } => write!(f, "{source:?}"),
            Pattern::Number(n) => write!(f, "{n}"),
        }
    }
}

/// The patterns of one condition (a scalar is a list of one).
#[derive(Debug, Clone)]
pub struct Patterns(pub Vec<Pattern>);

impl<'de> Deserialize<'de> for Patterns {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PatternsVisitor { nested: false })
    }
}

struct PatternsVisitor {
    nested: bool,
}

impl<'de> Visitor<'de> for PatternsVisitor {
    type Value = Patterns;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.nested {
            f.write_str("a text or a number")
        } else {
            f.write_str("a text, a number, or a list of them")
        }
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Patterns, E> {
        Pattern::text(v)
            .map(|p| Patterns(vec![p]))
            .map_err(E::custom)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Patterns, E> {
        Err(E::invalid_type(de::Unexpected::Bool(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Patterns, E> {
        Ok(Patterns(vec![Pattern::Number(v as f64)]))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Patterns, E> {
        Ok(Patterns(vec![Pattern::Number(v as f64)]))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Patterns, E> {
        Ok(Patterns(vec![Pattern::Number(v)]))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Patterns, A::Error> {
        if self.nested {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        let mut all = Vec::new();
        while let Some(one) = seq.next_element_seed(NestedPattern)? {
            all.extend(one.0);
        }
        if all.is_empty() {
            return Err(de::Error::custom("an empty list matches nothing"));
        }
        Ok(Patterns(all))
    }
}

struct NestedPattern;

impl<'de> de::DeserializeSeed<'de> for NestedPattern {
    type Value = Patterns;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Patterns, D::Error> {
        d.deserialize_any(PatternsVisitor { nested: true })
    }
}

/// An attribute keyword of the standard dictionary, checked as it is read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Keyword {
    pub name: String,
    pub tag: Tag,
}

/// A name that is no keyword of the standard dictionary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown attribute keyword {0:?}")]
pub struct UnknownKeyword(String);

impl std::str::FromStr for Keyword {
    type Err = UnknownKeyword;

    fn from_str(s: &str) -> Result<Self, UnknownKeyword> {
        StandardDataDictionary
            .by_name(s)
            .map(|e| Keyword {
                name: s.to_owned(),
                tag: e.tag(),
            })
            .ok_or_else(|| UnknownKeyword(s.to_owned()))
    }
}

impl<'de> Deserialize<'de> for Keyword {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(crate::profile::scalar::ParseVisitor(
            std::marker::PhantomData,
        ))
    }
}

/// `when`: every condition must hold.
#[derive(Debug, Clone, Default)]
pub struct When(pub Vec<(Keyword, Patterns)>);

impl<'de> Deserialize<'de> for When {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct WhenVisitor;
        impl<'de> Visitor<'de> for WhenVisitor {
            type Value = When;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping from attribute keyword to pattern(s)")
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<When, A::Error> {
                let mut all = Vec::new();
                while let Some(k) = map.next_key::<Keyword>()? {
                    let v = map.next_value::<Patterns>()?;
                    all.push((k, v));
                }
                Ok(When(all))
            }
        }
        d.deserialize_map(WhenVisitor)
    }
}

impl fmt::Display for When {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(k, Patterns(p))| {
                let any: Vec<String> = p.iter().map(ToString::to_string).collect();
                format!("{}={}", k.name, any.join("|"))
            })
            .collect();
        if parts.is_empty() {
            f.write_str("every image")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

impl When {
    /// Whether the original header satisfies every condition. A multi-valued attribute
    /// matches when the whole value or any one of its values does.
    pub fn matches(&self, object: &InMemDicomObject) -> bool {
        self.0.iter().all(|(keyword, patterns)| {
            let Some(value) = object
                .get(keyword.tag)
                .and_then(|e| e.to_str().ok())
                .map(|s| s.trim_end_matches(['\0', ' ']).to_owned())
            else {
                return false;
            };
            let candidates = std::iter::once(value.trim()).chain(value.split('\\').map(str::trim));
            candidates
                .into_iter()
                .any(|v| patterns.0.iter().any(|p| p.matches(v)))
        })
    }

    /// The number a condition on `tag` pins, when it pins exactly one.
    pub fn pinned(&self, tag: Tag) -> Option<f64> {
        match self.0.iter().find(|(k, _)| k.tag == tag) {
            Some((_, Patterns(p))) if p.len() == 1 => p[0].number(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;

    fn when(yaml: &str) -> When {
        serde_yaml::from_str(yaml).expect("valid when")
    }

    fn header() -> InMemDicomObject {
        InMemDicomObject::from_element_iter([
            DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from("US")),
            DataElement::new(
                tags::MANUFACTURER,
                VR::LO,
                PrimitiveValue::from("Acme Medical "),
            ),
            DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(600_u16)),
            DataElement::new(
                tags::IMAGE_TYPE,
                VR::CS,
                PrimitiveValue::Strs(["ORIGINAL".to_owned(), "PRIMARY".to_owned()].into()),
            ),
        ])
    }

    #[test]
    fn exact_glob_list_and_number_match() {
        let h = header();
        assert!(when("{Modality: US}").matches(&h));
        assert!(when("{Modality: [CT, US]}").matches(&h));
        assert!(when("{Manufacturer: \"ACME*\"}").matches(&h));
        assert!(when("{Rows: 600}").matches(&h));
        assert!(when("{Rows: [480, 600]}").matches(&h));
        assert!(when("{ImageType: PRIMARY}").matches(&h));
        assert!(when("{ImageType: 'ORIGINAL\\PRIMARY'}").matches(&h));
        assert!(when("{Modality: US, Rows: 600, Manufacturer: 'acme?medical'}").matches(&h));
    }

    #[test]
    fn mismatches_and_absent_attributes_fail() {
        let h = header();
        assert!(!when("{Modality: CT}").matches(&h));
        assert!(!when("{Rows: 601}").matches(&h));
        assert!(!when("{Modality: US, Columns: 800}").matches(&h));
        assert!(!when("{Manufacturer: ACME}").matches(&h));
    }

    #[test]
    fn bad_keys_and_values_are_refused() {
        assert!(serde_yaml::from_str::<When>("{Modalty: US}").is_err());
        assert!(serde_yaml::from_str::<When>("{Modality: []}").is_err());
        assert!(serde_yaml::from_str::<When>("{Modality: [[US]]}").is_err());
        assert!(serde_yaml::from_str::<When>("{Modality: true}").is_err());
        assert!(serde_yaml::from_str::<When>("{Modality: 'US[' }").is_err());
    }

    #[test]
    fn pinned_numbers_are_found() {
        let w = when("{Rows: 600, Columns: [800, 1024]}");
        assert_eq!(w.pinned(tags::ROWS), Some(600.0));
        assert_eq!(w.pinned(tags::COLUMNS), None);
    }
}
