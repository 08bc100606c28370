//! Burned-in text: the profile's `pixel:` section, deciding from the original header which
//! files need their pixels cleaned, and masking every frame.
//!
//! - Rules (`when` over header values → `regions`) and the detector say where text is.
//! - Native pixel data is masked in place, byte for byte ([`frames`]); encapsulated pixel
//!   data is decoded ([`codec`]), masked, and written as Explicit VR Little Endian, because
//!   dicom-pixeldata has no lossless encoder that is pure Rust (no RLE encoder at all).
//! - A file that needs masking but cannot be masked is quarantined, never written unmasked.
//! - Option `clean-pixel-data` makes every likely burned-in image need a rule or the detector
//!   ([`PixelConfig::without_rule`]); option `clean-recognizable-visual-features` quarantines
//!   what shows a recognisable person ([`visual`]).

pub mod codec;
pub mod colour;
pub mod detect;
pub mod examine;
pub mod explain;
pub mod frames;
pub mod visual;

use std::panic::{AssertUnwindSafe, catch_unwind};

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, DicomValue, Length, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

use crate::dicom::reason::{Code, Reason};
use crate::dicom::values::top_text as text;
pub use crate::profile::pixel::{BurnedInPolicy, Fill, PixelConfig, PixelRule, Region};
use crate::profile::standard;
use frames::{Geometry, GeometryError};

/// SOP classes whose images routinely carry burned-in text: ultrasound and secondary /
/// screen captures (single- and multi-frame, including the retired ultrasound classes).
const BURNED_IN_SOP_CLASSES: &[&str] = &[
    "1.2.840.10008.5.1.4.1.1.3",
    "1.2.840.10008.5.1.4.1.1.3.1",
    "1.2.840.10008.5.1.4.1.1.6",
    "1.2.840.10008.5.1.4.1.1.6.1",
    "1.2.840.10008.5.1.4.1.1.7",
    "1.2.840.10008.5.1.4.1.1.7.1",
    "1.2.840.10008.5.1.4.1.1.7.2",
    "1.2.840.10008.5.1.4.1.1.7.3",
    "1.2.840.10008.5.1.4.1.1.7.4",
];

/// Why a header says its pixels may hold text, if it does.
fn burned_in_risk(object: &InMemDicomObject) -> Option<&'static str> {
    if text(object, tags::BURNED_IN_ANNOTATION).eq_ignore_ascii_case("YES") {
        return Some("BurnedInAnnotation is YES");
    }
    // The flag is often wrong on these kinds, so NO does not exempt them.
    if BURNED_IN_SOP_CLASSES.contains(&text(object, tags::SOP_CLASS_UID).as_str())
        || text(object, tags::MODALITY) == "US"
    {
        return Some("ultrasound or secondary capture");
    }
    None
}

/// What to do with one file's pixels, decided on the original header.
#[derive(Debug)]
pub enum Plan {
    /// No pixel data, or nothing asks for a change.
    Untouched,
    /// Burned-in text is likely, and the profile keeps such files as they are.
    KeptUnmasked,
    Mask(MaskPlan),
    /// Not to be written; the reason names no value.
    Quarantine(Reason),
}

/// Where to mask, and whether to look for text too.
#[derive(Debug)]
pub struct MaskPlan {
    pub geometry: Geometry,
    /// Each rule's regions, clipped to the image, with the rule's name.
    pub regions: Vec<(String, Region)>,
    pub detect: bool,
    /// The matching rules that run the detector (`detect: true`).
    pub detect_rules: Vec<String>,
    /// An ultrasound image: the detector sets colour flow aside ([`colour`]).
    pub ultrasound: bool,
}

impl MaskPlan {
    /// The matching rules' names, each once, and all their regions.
    fn rules(&self) -> (Vec<String>, Vec<Region>) {
        let mut names: Vec<String> = Vec::new();
        for name in self
            .regions
            .iter()
            .map(|(name, _)| name)
            .chain(&self.detect_rules)
        {
            if !names.contains(name) {
                names.push(name.clone());
            }
        }
        (names, self.regions.iter().map(|(_, r)| *r).collect())
    }
}

/// Decide, from the original header (read in transfer syntax `ts`), what happens to the
/// pixels.
pub fn plan(object: &InMemDicomObject, ts: &str, config: &PixelConfig) -> Plan {
    if config.clean_visual_features
        && let Some(what) = visual::recognizable(object)
    {
        return Plan::Quarantine(Reason::new(
            Code::RecognizableFeatures,
            format!(
                "{what} cannot be made unrecognisable (option clean-recognizable-visual-features)"
            ),
        ));
    }
    if object.get(tags::PIXEL_DATA).is_none() {
        return Plan::Untouched;
    }
    let matched: Vec<&PixelRule> = config
        .rules
        .iter()
        .filter(|r| r.when.matches(object))
        .collect();
    let risk = burned_in_risk(object);
    let without_rule = config.without_rule();
    let detect = config.detect
        || matched.iter().any(|r| r.detect)
        || (matched.is_empty() && risk.is_some() && without_rule == BurnedInPolicy::Detect);
    if matched.is_empty() && !detect {
        return match (risk, without_rule) {
            (None, _) => Plan::Untouched,
            (Some(_), BurnedInPolicy::Keep) => Plan::KeptUnmasked,
            (Some(why), _) => Plan::Quarantine(Reason::new(
                Code::BurnedInNoRule,
                format!(
                    "burned-in text likely ({why}) and no pixel rule matches (pixel.burned_in_without_rule: quarantine)"
                ),
            )),
        };
    }
    let encapsulated = codec::is_encapsulated(object) || codec::is_encapsulated_syntax(ts);
    let geometry = match Geometry::from_header(object).and_then(|g| {
        if encapsulated {
            codec::decoded_geometry(&g, ts).check_maskable()?;
        } else {
            g.check_maskable()?;
        }
        Ok(g)
    }) {
        Ok(g) => g,
        Err(e) => {
            return Plan::Quarantine(Reason::new(
                Code::CannotMask,
                format!("pixel data must be masked but {e}"),
            ));
        }
    };
    let regions = matched
        .iter()
        .flat_map(|rule| {
            rule.regions
                .iter()
                .filter_map(|r| geometry.clip(r.place(geometry.columns, geometry.rows)))
                .map(|r| (rule.name.clone(), r))
        })
        .collect();
    Plan::Mask(MaskPlan {
        geometry,
        regions,
        detect,
        detect_rules: matched
            .iter()
            .filter(|r| r.detect)
            .map(|r| r.name.clone())
            .collect(),
        ultrasound: text(object, tags::MODALITY) == "US",
    })
}

/// What masking did to one file, for the manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PixelReport {
    /// Every distinct region masked (the same in every frame).
    pub regions: Vec<Region>,
    /// The rules that matched, and `detector` when it ran.
    pub masked_by: Vec<String>,
    /// The transfer syntax the pixel data was decoded from, when it had to be.
    pub decoded_from: Option<String>,
}

/// The name the detector goes by in the manifest.
pub const DETECTOR: &str = "detector";

/// Why a file that must be masked cannot be: it is then quarantined with this reason.
#[derive(Debug, thiserror::Error)]
pub enum MaskError {
    #[error("pixel data must be masked but {0}")]
    Decode(#[from] codec::DecodeError),
    #[error("pixel data must be masked but {0}")]
    Geometry(#[from] GeometryError),
    #[error("pixel masking crashed on this file")]
    Panic,
}

impl From<MaskError> for Reason {
    fn from(e: MaskError) -> Reason {
        let code = match &e {
            MaskError::Decode(codec::DecodeError::Geometry(_)) | MaskError::Geometry(_) => {
                Code::CannotMask
            }
            MaskError::Decode(_) => Code::CannotDecode,
            MaskError::Panic => Code::Crashed,
        };
        Reason::new(code, e.to_string())
    }
}

/// Mask the de-identified `object` (read in `ts`) as planned. Returns the object, the
/// transfer syntax to write it in, and the report.
pub fn apply(
    object: InMemDicomObject,
    ts: &str,
    plan: &MaskPlan,
    fill: Fill,
) -> Result<(InMemDicomObject, String, PixelReport), MaskError> {
    let (masked_by, mut regions) = plan.rules();
    let mut report = PixelReport {
        masked_by,
        ..PixelReport::default()
    };
    let (mut object, mut frames) = if codec::is_encapsulated(&object) {
        let (object, decoded) = codec::decode(object, ts, &plan.geometry);
        let decoded = decoded?;
        report.decoded_from = Some(ts.to_owned());
        (object, Frames::Decoded(decoded))
    } else {
        let mut object = object;
        let native = NativeFrames::take(&mut object, &plan.geometry)?;
        (object, Frames::Native(native))
    };
    let geometry = match &frames {
        Frames::Decoded(d) => d.geometry.clone(),
        Frames::Native(_) => plan.geometry.clone(),
    };
    if plan.detect {
        report.masked_by.push(DETECTOR.to_owned());
        regions.extend(examine::detect_frames(
            &geometry,
            frames.bytes_mut(),
            plan.ultrasound,
        ));
    }
    regions.sort();
    regions.dedup();
    let masked = catch_unwind(AssertUnwindSafe(|| {
        let data = frames.bytes_mut();
        for index in 0..geometry.frames {
            for r in &regions {
                geometry.mask(data, index, *r, fill);
            }
        }
    }));
    if masked.is_err() {
        return Err(MaskError::Panic);
    }
    let out_ts = match frames {
        Frames::Decoded(decoded) => codec::store_native(&mut object, ts, decoded).to_owned(),
        Frames::Native(native) => {
            native.put_back(&mut object);
            ts.to_owned()
        }
    };
    mark_cleaned(&mut object);
    report.regions = regions;
    Ok((object, out_ts, report))
}

/// The frames being masked: native ones taken out of the object, or decoded ones.
enum Frames {
    Native(NativeFrames),
    Decoded(codec::Decoded),
}

impl Frames {
    fn bytes_mut(&mut self) -> &mut [u8] {
        match self {
            Frames::Native(n) => &mut n.bytes,
            Frames::Decoded(d) => &mut d.bytes,
        }
    }
}

/// Masking done frame by frame while the native pixel data is copied from the input (see
/// [`apply_streamed`]).
#[derive(Debug, Clone)]
pub struct FrameMask {
    pub geometry: Geometry,
    regions: Vec<Region>,
    fill: Fill,
}

impl FrameMask {
    /// Mask one frame's little-endian bytes.
    pub fn apply(&self, frame: &mut [u8]) {
        for r in &self.regions {
            self.geometry.mask(frame, 0, *r, self.fill);
        }
    }
}

/// Whether `plan` can be carried out on the pixel data as it is copied, frame by frame,
/// without parsing it: native samples of 8 bits or more whose `value_len` bytes hold every
/// frame, and no detector (it looks at every frame before any is masked).
pub fn streamable(plan: &MaskPlan, object: &InMemDicomObject, value_len: u64) -> bool {
    !plan.detect
        && !codec::is_encapsulated(object)
        && plan.geometry.bits_allocated >= 8
        && plan.geometry.check_maskable().is_ok()
        && value_len >= plan.geometry.total_len()
}

/// Mark the de-identified header of a file whose pixel data will be masked as it is copied
/// ([`streamable`] said it can be); the masking to apply to each frame, and the report.
pub fn apply_streamed(
    object: &mut InMemDicomObject,
    plan: &MaskPlan,
    fill: Fill,
) -> (FrameMask, PixelReport) {
    let (masked_by, mut regions) = plan.rules();
    regions.sort();
    regions.dedup();
    mark_cleaned(object);
    let report = PixelReport {
        regions: regions.clone(),
        masked_by,
        decoded_from: None,
    };
    let mask = FrameMask {
        geometry: plan.geometry.clone(),
        regions,
        fill,
    };
    (mask, report)
}

/// Native pixel data taken out of the object as little-endian bytes, to be put back in the
/// same value type (so a big-endian file stays correct).
pub(crate) struct NativeFrames {
    pub(crate) bytes: Vec<u8>,
    vr: VR,
    /// Held as 16-bit words (OW), not bytes (OB).
    words: bool,
}

impl NativeFrames {
    pub(crate) fn take(
        object: &mut InMemDicomObject,
        geometry: &Geometry,
    ) -> Result<Self, GeometryError> {
        let element = object
            .take(tags::PIXEL_DATA)
            .ok_or(GeometryError::Attribute("PixelData"))?;
        let vr = element.vr();
        let (bytes, words) = match element.into_value() {
            DicomValue::Primitive(PrimitiveValue::U8(bytes)) => (bytes.into_vec(), false),
            DicomValue::Primitive(PrimitiveValue::U16(words)) => {
                (words.iter().flat_map(|w| w.to_le_bytes()).collect(), true)
            }
            _ => return Err(GeometryError::Attribute("PixelData")),
        };
        let have = bytes.len() as u64;
        if have < geometry.total_len() {
            return Err(GeometryError::Short {
                have,
                need: geometry.total_len(),
            });
        }
        Ok(NativeFrames { bytes, vr, words })
    }

    fn put_back(self, object: &mut InMemDicomObject) {
        let value = if self.words {
            PrimitiveValue::U16(
                self.bytes
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            )
        } else {
            PrimitiveValue::from(self.bytes)
        };
        object.put(DataElement::new(tags::PIXEL_DATA, self.vr, value));
    }
}

/// BurnedInAnnotation NO, and the Clean Pixel Data Option code in
/// DeidentificationMethodCodeSequence (CID 7050).
fn mark_cleaned(object: &mut InMemDicomObject) {
    object.put(DataElement::new(
        tags::BURNED_IN_ANNOTATION,
        VR::CS,
        PrimitiveValue::from("NO"),
    ));
    add_method_code(object, standard::CLEAN_PIXEL_DATA_CODE);
}

/// Add the CID 7050 code `value` to DeidentificationMethodCodeSequence.
pub fn add_method_code(object: &mut InMemDicomObject, value: &str) {
    let code = standard::method_code(value);
    let mut items: Vec<InMemDicomObject> = object
        .take(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .and_then(|e| e.into_value().into_items().map(|i| i.into_vec()))
        .unwrap_or_default();
    items.push(code.item());
    object.put(DataElement::new(
        tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE,
        VR::SQ,
        DataSetSequence::new(items, Length::UNDEFINED),
    ));
}
