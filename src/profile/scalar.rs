//! Scalars of the profile read with `FromStr` where they stand, so that a refused value's
//! error carries its line and column.

use std::str::FromStr;

/// Parses a string with `FromStr` inside the visitor, so that serde_yaml marks an error
/// with the line and column of the offending scalar.
pub(super) struct ParseVisitor<T>(pub std::marker::PhantomData<T>);

impl<T: FromStr<Err: std::fmt::Display>> serde::de::Visitor<'_> for ParseVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        v.parse().map_err(E::custom)
    }
}
