//! Option `clean-recognizable-visual-features` (PS3.15 E.3.2, code 113102): this tool cannot
//! make a face unrecognisable (it masks text, it does not deface), so what shows one is
//! quarantined, and the code is written only on the images the option cleared.
//!
//! Quarantined, from the original header:
//! - visible-light photographs: VL Photographic and Video Photographic Image Storage, and any
//!   image of modality XC (external-camera photography), which picture the patient;
//! - 3D surface scans (Surface Scan Mesh and Point Cloud Storage), which are the body's surface;
//! - volume and surface renderings (an ImageType value `VOLUME_RENDER`, `SURFACE_RENDER`,
//!   `VRT`, `SSD` or `3D`) unless BodyPartExamined names a part other than the head: a
//!   rendering of the head shows the face, and one whose body part is not given may be one.
//!
//! The code is written on every other image, except cross-sections (CT, MR, PT, NM) whose
//! BodyPartExamined is the head or not given: such a volume can be rendered into a face, which
//! this tool does not remove, so it claims nothing for them.

use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

use crate::dicom::values::{strings, top_text as text};

/// Photographs of the patient by SOP class: VL Photographic, Video Photographic.
const PHOTOGRAPH_CLASSES: [&str; 2] = [
    "1.2.840.10008.5.1.4.1.1.77.1.4",
    "1.2.840.10008.5.1.4.1.1.77.1.4.1",
];

/// The body's surface: Surface Scan Mesh, Surface Scan Point Cloud.
const SURFACE_SCAN_CLASSES: [&str; 2] = [
    "1.2.840.10008.5.1.4.1.1.68.1",
    "1.2.840.10008.5.1.4.1.1.68.2",
];

/// ImageType values that mark a rendering of a volume or a surface.
const RENDERING_TYPES: [&str; 5] = ["VOLUME_RENDER", "SURFACE_RENDER", "VRT", "SSD", "3D"];

/// BodyPartExamined values (PS3.16 Annex L) that are the head or show the face.
const HEAD_PARTS: [&str; 8] = [
    "HEAD", "BRAIN", "SKULL", "FACE", "HEADNECK", "EYE", "JAW", "IAC",
];

/// Modalities whose images are cross-sections of a volume.
const CROSS_SECTIONS: [&str; 4] = ["CT", "MR", "PT", "NM"];

/// Whether BodyPartExamined names the head, or names nothing.
fn head_or_unknown(object: &InMemDicomObject) -> bool {
    let part = text(object, tags::BODY_PART_EXAMINED).to_ascii_uppercase();
    part.is_empty() || HEAD_PARTS.contains(&part.as_str())
}

/// Why the option quarantines this data set, if it does (the reason names no value).
pub fn recognizable(object: &InMemDicomObject) -> Option<&'static str> {
    let class = text(object, tags::SOP_CLASS_UID);
    if PHOTOGRAPH_CLASSES.contains(&class.as_str()) || text(object, tags::MODALITY) == "XC" {
        return Some("a visible-light photograph");
    }
    if SURFACE_SCAN_CLASSES.contains(&class.as_str()) {
        return Some("a 3D surface scan");
    }
    let rendering = object.get(tags::IMAGE_TYPE).is_some_and(|e| {
        e.value().primitive().is_some_and(|p| {
            strings(p)
                .iter()
                .any(|v| RENDERING_TYPES.contains(&v.trim()))
        })
    });
    (rendering && head_or_unknown(object)).then_some("a volume or surface rendering of the head")
}

/// Whether the option's code may be written on this (original) data set: an image the
/// option cleared that is not a cross-section of the head.
pub fn cleared(object: &InMemDicomObject) -> bool {
    object.get(tags::PIXEL_DATA).is_some()
        && recognizable(object).is_none()
        && !(CROSS_SECTIONS.contains(&text(object, tags::MODALITY).as_str())
            && head_or_unknown(object))
}
