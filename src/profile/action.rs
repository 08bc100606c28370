//! The actions a profile can name for an attribute: the codes of Table E.1-1 and the profile's
//! own (`hash`, `shift`, `replace`, generalisations, the patient's pseudonym and name), parsed
//! where they stand.

use dicom_core::VR;

use crate::dicom::dates::Precision;
use crate::dicom::values::Step;

/// What to do with one attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Remove,
    Empty,
    Dummy,
    Keep,
    Clean,
    Uid,
    Hash,
    Shift,
    Replace(String),
    /// Coarsen the value instead of removing it.
    Generalise(Generalise),
    /// `Z/D`
    EmptyOrDummy,
    /// `X/Z`
    RemoveOrEmpty,
    /// `X/D`
    RemoveOrDummy,
    /// `X/Z/D`
    RemoveOrEmptyOrDummy,
    /// `X/Z/U*`
    RemoveOrEmptyOrUids,
    /// PatientID: the keyed pseudonym (or the lookup table's).
    Pseudonym,
    /// PatientName: the profile's template over the new PatientID.
    PatientName,
}

impl Action {
    /// Parse a cell of Table E.1-1. In the Modified Dates column, C means "shift".
    pub fn parse_table_cell(cell: &str, modified_dates: bool) -> Option<Self> {
        Some(match cell {
            "C" if modified_dates => Action::Shift,
            code => Action::from_code(code)?,
        })
    }

    fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "X" => Action::Remove,
            "Z" => Action::Empty,
            "D" => Action::Dummy,
            "K" => Action::Keep,
            "C" => Action::Clean,
            "U" => Action::Uid,
            "Z/D" => Action::EmptyOrDummy,
            "X/Z" => Action::RemoveOrEmpty,
            "X/D" => Action::RemoveOrDummy,
            "X/Z/D" => Action::RemoveOrEmptyOrDummy,
            "X/Z/U*" | "X/Z/U" => Action::RemoveOrEmptyOrUids,
            _ => return None,
        })
    }

    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "remove" => Action::Remove,
            "empty" => Action::Empty,
            "dummy" => Action::Dummy,
            "keep" => Action::Keep,
            "clean" => Action::Clean,
            "uid" => Action::Uid,
            "hash" => Action::Hash,
            "shift" => Action::Shift,
            code => Action::from_code(code)?,
        })
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            Action::Remove => "remove",
            Action::Empty => "empty",
            Action::Dummy => "dummy",
            Action::Keep => "keep",
            Action::Clean => "clean",
            Action::Uid => "uid",
            Action::Hash => "hash",
            Action::Shift => "shift",
            Action::Replace(v) => return write!(f, "replace {v:?}"),
            Action::Generalise(g) => return g.fmt(f),
            Action::EmptyOrDummy => "Z/D",
            Action::RemoveOrEmpty => "X/Z",
            Action::RemoveOrDummy => "X/D",
            Action::RemoveOrEmptyOrDummy => "X/Z/D",
            Action::RemoveOrEmptyOrUids => "X/Z/U*",
            Action::Pseudonym => "pseudonym",
            Action::PatientName => "patient-name",
        };
        f.write_str(text)
    }
}

/// A value coarsened in place: what `risk` suggests where removing would lose too much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generalise {
    /// `{band: N}`: ages (AS) into N-year bands, written as the band's first year; 90 and
    /// over become `090Y`.
    Band(u32),
    /// `{round: STEP}`: decimal strings (DS; IS with a whole step) to the nearest multiple.
    Round(Step),
    /// `{precision: year|month}`: dates (DA, DT) shifted as `shift` does, then truncated.
    Precision(Precision),
}

impl Generalise {
    /// Whether the generalisation can be applied to values of `vr`.
    pub fn fits(&self, vr: VR) -> bool {
        match self {
            Generalise::Band(_) => vr == VR::AS,
            Generalise::Round(step) => vr == VR::DS || (vr == VR::IS && step.is_whole()),
            Generalise::Precision(_) => matches!(vr, VR::DA | VR::DT),
        }
    }

    /// The VRs it applies to, in words.
    fn applies_to(&self) -> &'static str {
        match self {
            Generalise::Band(_) => "ages (VR AS)",
            Generalise::Round(_) => "decimal strings (VR DS; IS with a whole step)",
            Generalise::Precision(_) => "dates (VR DA or DT)",
        }
    }
}

impl std::fmt::Display for Generalise {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Generalise::Band(n) => write!(f, "{{band: {n}}}"),
            Generalise::Round(step) => write!(f, "{{round: {step}}}"),
            Generalise::Precision(p) => write!(f, "{{precision: {p}}}"),
        }
    }
}

const ACTION_NAMES: &str = "remove, empty, dummy, keep, clean, uid, hash, shift, {replace: VALUE}, \
     {band: YEARS}, {round: STEP}, {precision: year|month}, \
     or a code of Table E.1-1 (X, Z, D, K, C, U, Z/D, X/Z, X/D, X/Z/D, X/Z/U*)";
const MAPPINGS: &str =
    "expected {replace: VALUE}, {band: YEARS}, {round: STEP} or {precision: year|month}";

/// A name that is no action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown action {0:?}: expected {ACTION_NAMES}")]
pub struct UnknownAction(pub String);

impl std::str::FromStr for Action {
    type Err = UnknownAction;

    fn from_str(name: &str) -> Result<Self, UnknownAction> {
        Action::from_name(name).ok_or_else(|| UnknownAction(name.to_owned()))
    }
}

/// An action read for an attribute of this dictionary VR (`None` for masks and private
/// attributes, which no generalisation fits).
pub(crate) struct ActionFor {
    pub vr: Option<VR>,
}

/// Reads an action name, or one of the mappings, inside the visitor so that errors carry the
/// position of the offending value.
struct ActionVisitor(ActionFor);

impl<'de> serde::de::Visitor<'de> for ActionVisitor {
    type Value = Action;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "an action: {ACTION_NAMES}")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Action, E> {
        v.parse().map_err(E::custom)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Action, A::Error> {
        use serde::de::Error;
        let Some(key) = map.next_key::<String>()? else {
            return Err(A::Error::custom(MAPPINGS));
        };
        let action = match key.as_str() {
            "replace" => {
                let value: String = map.next_value()?;
                if value.contains('\\') || value.len() > 1024 {
                    return Err(A::Error::custom(
                        "replace: a single value of at most 1024 characters, without a backslash",
                    ));
                }
                Action::Replace(value)
            }
            "band" => {
                let years: u32 = map.next_value()?;
                if !(1..=90).contains(&years) {
                    return Err(A::Error::custom(
                        "band: a whole number of years from 1 to 90",
                    ));
                }
                Action::Generalise(Generalise::Band(years))
            }
            "round" => {
                let step = map.next_value::<Scalar>()?.0;
                Action::Generalise(Generalise::Round(step.parse().map_err(A::Error::custom)?))
            }
            "precision" => Action::Generalise(Generalise::Precision(map.next_value()?)),
            _ => return Err(A::Error::custom(MAPPINGS)),
        };
        if map.next_key::<String>()?.is_some() {
            return Err(A::Error::custom(MAPPINGS));
        }
        if let Action::Generalise(g) = &action
            && !self.0.vr.is_some_and(|vr| g.fits(vr))
        {
            return Err(A::Error::custom(format!(
                "{g} applies to {}, not to {}",
                g.applies_to(),
                self.0
                    .vr
                    .map_or("a mask or private attribute".to_owned(), |vr| format!(
                        "VR {}",
                        vr.to_string()
                    ))
            )));
        }
        Ok(action)
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for ActionFor {
    type Value = Action;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Action, D::Error> {
        d.deserialize_any(ActionVisitor(self))
    }
}

/// A YAML scalar as its text: `0.1`, `10` or `"0.1"` alike.
struct Scalar(String);

impl<'de> serde::Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_parse_from_names_and_codes() {
        assert_eq!(Action::from_name("remove"), Some(Action::Remove));
        assert_eq!(
            Action::from_name("X/Z/D"),
            Some(Action::RemoveOrEmptyOrDummy)
        );
        assert_eq!(Action::from_name("delete"), None);
        assert_eq!(Action::parse_table_cell("C", true), Some(Action::Shift));
        assert_eq!(Action::parse_table_cell("C", false), Some(Action::Clean));
    }
}
