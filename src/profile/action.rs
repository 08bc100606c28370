//! The actions a profile can name for an attribute: the codes of Table E.1-1 and the profile's
//! own (`hash`, `shift`, `replace`, the patient's pseudonym and name), parsed where they stand.

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

const ACTION_NAMES: &str = "remove, empty, dummy, keep, clean, uid, hash, shift, {replace: VALUE}, \
     or a code of Table E.1-1 (X, Z, D, K, C, U, Z/D, X/Z, X/D, X/Z/D, X/Z/U*)";

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

/// Reads an action name, or `{replace: VALUE}`, inside the visitor so that errors carry the
/// position of the offending value.
struct ActionVisitor;

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
        let Some((key, value)) = map.next_entry::<String, String>()? else {
            return Err(A::Error::custom("expected {replace: VALUE}"));
        };
        if key != "replace" || map.next_key::<String>()?.is_some() {
            return Err(A::Error::custom("expected {replace: VALUE}"));
        }
        if value.contains('\\') || value.len() > 1024 {
            return Err(A::Error::custom(
                "replace: a single value of at most 1024 characters, without a backslash",
            ));
        }
        Ok(Action::Replace(value))
    }
}

impl<'de> serde::Deserialize<'de> for Action {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ActionVisitor)
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
