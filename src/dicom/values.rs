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

/// The keyword of a tag, or `(gggg,eeee)` when it has none.
pub fn keyword(tag: Tag) -> String {
    match StandardDataDictionary.by_tag(tag) {
        Some(entry) if tag.0.is_multiple_of(2) => entry.alias().to_owned(),
        _ => format!("({:04X},{:04X})", tag.0, tag.1),
    }
}
