//! Reading and building element values: text of an attribute, private creators, VR classes,
//! and standard attributes stored as UN read with their dictionary VR.

use std::borrow::Cow;
use std::collections::BTreeMap;

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_core::header::Header;
use dicom_core::value::{C, PrimitiveValue};
use dicom_core::{DataElement, Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;
use dicom_object::mem::{InMemDicomObject, InMemElement};

/// Repeating groups 6000-601E (even): overlay planes.
pub fn is_overlay_group(group: u16) -> bool {
    (0x6000..=0x601E).contains(&group) && group.is_multiple_of(2)
}

/// The private creators of one data set level: (group, block) → creator.
pub fn private_creators(object: &InMemDicomObject) -> BTreeMap<(u16, u8), String> {
    object
        .iter()
        .filter(|e| e.tag().0 % 2 == 1 && (0x10..=0xFF).contains(&e.tag().1))
        .map(|e| {
            let creator = e.to_str().map(|s| s.trim().to_owned()).unwrap_or_default();
            ((e.tag().0, e.tag().1 as u8), creator)
        })
        .collect()
}

/// The trimmed text of a top-level attribute, empty when absent. A standard attribute stored
/// as UN is read as text, as the engine re-reads it, so that (say) PatientName's template and
/// the date offset follow the same PatientID the element itself is pseudonymised from.
pub fn top_text(object: &InMemDicomObject, tag: Tag) -> String {
    let text = |e: &InMemElement| {
        e.to_str()
            .ok()
            .map(|s| s.trim_end_matches(['\0', ' ']).trim_start().to_owned())
    };
    object
        .get(tag)
        .and_then(|e| {
            if e.vr() == VR::UN {
                text(&reinterpret_un(e.clone()))
            } else {
                text(e)
            }
        })
        .unwrap_or_default()
}

/// Free-text VRs: where a person can write names and identifiers in their own words. PN is
/// apart: it holds a name by definition.
pub fn is_free_text_vr(vr: VR) -> bool {
    matches!(
        vr,
        VR::LO | VR::LT | VR::SH | VR::ST | VR::UC | VR::UT | VR::UR | VR::AE
    )
}

/// VRs whose values are text (character strings), as opposed to binary.
pub fn is_text_vr(vr: VR) -> bool {
    matches!(
        vr,
        VR::AE
            | VR::AS
            | VR::CS
            | VR::DA
            | VR::DS
            | VR::DT
            | VR::IS
            | VR::LO
            | VR::LT
            | VR::PN
            | VR::SH
            | VR::ST
            | VR::TM
            | VR::UC
            | VR::UI
            | VR::UR
            | VR::UT
    )
}

/// The string values of a primitive, padding trimmed.
pub fn strings(value: &PrimitiveValue) -> Vec<String> {
    value
        .to_multi_str()
        .iter()
        .map(|v| v.trim_end_matches(['\0', ' ']).to_owned())
        .collect()
}

/// A text element of `values`, empty when every value is.
pub fn text_element(tag: Tag, vr: VR, values: Vec<String>) -> InMemElement {
    let value = if values.iter().all(String::is_empty) {
        PrimitiveValue::Empty
    } else {
        PrimitiveValue::Strs(C::from_vec(values))
    };
    DataElement::new(tag, vr, value)
}

/// The VR the standard dictionary gives a tag, when it gives exactly one.
pub fn dictionary_vr(tag: Tag) -> Option<VR> {
    StandardDataDictionary
        .by_tag(tag)
        .and_then(|e| e.vr().exact())
}

/// Re-read a standard attribute stored as UN with its dictionary VR when that is a text VR,
/// so the profile's rule for it can act on its value.
pub fn reinterpret_un(elem: InMemElement) -> InMemElement {
    if elem.vr() != VR::UN {
        return elem;
    }
    let Some(vr) = dictionary_vr(elem.tag()) else {
        return elem;
    };
    if !is_text_vr(vr) {
        return elem;
    }
    let Ok(bytes) = elem.to_bytes() else {
        return elem;
    };
    let text: Cow<str> = String::from_utf8_lossy(&bytes);
    let values = text
        .split('\\')
        .map(|v| v.trim_end_matches(['\0', ' ']).to_owned())
        .collect();
    text_element(elem.tag(), vr, values)
}

/// A rounding step for decimal strings (DS): `units / 10^scale`, so that `0.1` stays exact
/// and rounded values are written with the step's decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Step {
    units: u64,
    scale: u32,
}

/// A rounding step that is not a positive decimal number of at most 6 decimals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a rounding step is a positive decimal number with at most 6 decimals, like 10, 5 or 0.1")]
pub struct BadStep;

impl std::str::FromStr for Step {
    type Err = BadStep;

    fn from_str(text: &str) -> Result<Self, BadStep> {
        let (int, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
        let all_digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
            return Err(BadStep);
        }
        let scale = u32::try_from(frac.len()).map_err(|_| BadStep)?;
        if scale > 6 || int.len() > 9 {
            return Err(BadStep);
        }
        let units: u64 = format!("{int}{frac}").parse().map_err(|_| BadStep)?;
        if units == 0 {
            return Err(BadStep);
        }
        Ok(Step { units, scale })
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scale = self.scale as usize;
        write!(
            f,
            "{:.scale$}",
            self.units as f64 / 10f64.powi(self.scale as i32)
        )
    }
}

impl Step {
    /// Whether the step is a whole number (so rounded values are integers).
    pub fn is_whole(&self) -> bool {
        self.scale == 0
    }

    /// `value` (a decimal string) to the nearest multiple of the step, with the step's
    /// decimals; `None` when it is not a finite number or the result does not fit a DS.
    pub fn round(&self, value: &str) -> Option<String> {
        let x: f64 = value.trim().parse().ok().filter(|x: &f64| x.is_finite())?;
        let step = self.units as f64 / 10f64.powi(self.scale as i32);
        let rounded = (x / step).round() * step;
        let scale = self.scale as usize;
        let text = format!("{rounded:.scale$}");
        // "-0" and "-0.0" are zero.
        let text = if text.trim_start_matches(['-', '0', '.']).is_empty() {
            text.trim_start_matches('-').to_owned()
        } else {
            text
        };
        // A DS value holds at most 16 characters.
        (text.len() <= 16).then_some(text)
    }
}

/// The keyword of a tag, or `(gggg,eeee)` when it has none.
pub fn keyword(tag: Tag) -> String {
    match StandardDataDictionary.by_tag(tag) {
        Some(entry) if tag.0.is_multiple_of(2) => entry.alias().to_owned(),
        _ => format!("({:04X},{:04X})", tag.0, tag.1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_parse_and_round_decimal_strings() {
        let ten: Step = "10".parse().unwrap();
        assert_eq!(ten.round("73.4").as_deref(), Some("70"));
        assert_eq!(ten.round("75").as_deref(), Some("80"));
        let tenth: Step = "0.1".parse().unwrap();
        assert_eq!(tenth.to_string(), "0.1");
        assert_eq!(tenth.round("1.734").as_deref(), Some("1.7"));
        assert_eq!(tenth.round("-0.01").as_deref(), Some("0.0"));
        assert_eq!(tenth.round("tall"), None);
        assert_eq!(tenth.round("1e300"), None);
        for bad in ["0", "", ".", "-1", "1e3", "0.0000001", "abc"] {
            assert_eq!(bad.parse::<Step>(), Err(BadStep), "{bad}");
        }
    }
}
