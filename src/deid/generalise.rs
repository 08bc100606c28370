//! Generalisations: a value coarsened where it stands instead of removed. Ages go into bands,
//! decimal strings to a rounding step, dates are shifted as `shift` does and then truncated
//! to a year or a month. The value functions live in [`crate::dicom`], where `risk` uses the
//! same ones to compute what a suggested generalisation would reach. A value that does not
//! parse is emptied, never copied through.

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, Tag, VR};
use dicom_object::mem::InMemElement;

use crate::deid::engine::{FileState, bump};
use crate::dicom::dates;
use crate::dicom::values::{strings, text_element};
use crate::profile::action::Generalise;

impl FileState<'_> {
    /// Apply `g` to one primitive value of `vr` (which the profile checked it fits).
    pub(super) fn generalise(
        &mut self,
        tag: Tag,
        vr: VR,
        g: &Generalise,
        value: &PrimitiveValue,
    ) -> InMemElement {
        let result: Option<Vec<String>> = match g {
            Generalise::Band(width) if vr == VR::AS => strings(value)
                .iter()
                .map(|v| dates::band_age(v, *width).ok())
                .collect(),
            Generalise::Round(step) if g.fits(vr) => strings(value)
                .iter()
                .map(|v| {
                    if v.trim().is_empty() {
                        Some(String::new())
                    } else {
                        step.round(v)
                    }
                })
                .collect(),
            Generalise::Precision(precision) if matches!(vr, VR::DA | VR::DT) => {
                let shifted = self.shift(tag, vr, value);
                let text = shifted.to_str().map(|s| s.into_owned()).unwrap_or_default();
                dates::truncate(&text, vr == VR::DT, *precision)
                    .ok()
                    .map(|t| t.split('\\').map(str::to_owned).collect())
            }
            _ => None,
        };
        match result {
            Some(values) => {
                bump(&mut self.counts, "generalised");
                text_element(tag, vr, values)
            }
            None => {
                bump(&mut self.counts, "unparseable_emptied");
                DataElement::empty(tag, vr)
            }
        }
    }
}
