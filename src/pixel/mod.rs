//! Burned-in text: the profile's `pixel:` section, deciding from the original header which
//! files need their pixels cleaned, and masking every frame.
//!
//! - Rules (`when` over header values → `regions`) and the detector say where text is.
//! - Native pixel data is masked in place, byte for byte ([`frames`]); encapsulated pixel
//!   data is decoded ([`codec`]), masked, and written losslessly in the smallest form this
//!   build writes: RLE Lossless ([`rle`]), a deflated data set, or native pixel data.
//! - Marks tell what happened: BurnedInAnnotation NO and the Clean Pixel Data code only on a
//!   file whose pixels changed. A file the detector examined and found nothing in keeps its
//!   pixel data and transfer syntax ([`PixelCheck::Examined`]); one whose header says YES then
//!   follows `burned_in_claimed_not_found`.
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
pub mod jpeg_mask;
pub mod preview;
pub mod rle;
pub mod visual;

use std::panic::{AssertUnwindSafe, catch_unwind};

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, DicomValue, Length, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

use crate::dicom::reason::{Code, Reason};
use crate::dicom::values::top_text as text;
pub use crate::profile::pixel::{
    BurnedInPolicy, ClaimedNotFound, Fill, PixelConfig, PixelRule, Region,
};
use crate::profile::standard;
use frames::{Geometry, GeometryError, Window};

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
    /// The original header says BurnedInAnnotation YES.
    pub claimed: bool,
    /// What becomes of a claimed file in which nothing was found to mask.
    pub claimed_not_found: ClaimedNotFound,
    /// The matching rules that run the detector (`detect: true`).
    pub detect_rules: Vec<String>,
    /// An ultrasound image: the detector sets colour flow aside ([`colour`]).
    pub ultrasound: bool,
    /// The header's display window, through which the detector looks at deep grey frames too.
    pub window: Option<Window>,
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
        claimed: text(object, tags::BURNED_IN_ANNOTATION).eq_ignore_ascii_case("YES"),
        claimed_not_found: config.burned_in_claimed_not_found,
        detect_rules: matched
            .iter()
            .filter(|r| r.detect)
            .map(|r| r.name.clone())
            .collect(),
        ultrasound: text(object, tags::MODALITY) == "US",
        window: Window::from_header(object),
    })
}

/// What became of one file's pixels, for the manifest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelCheck {
    /// Pixels were changed: a rule masked, or the detector found text and masked it.
    #[default]
    Masked,
    /// The detector looked and found nothing: pixel data and transfer syntax as they came.
    Examined,
    /// Written unexamined and unmasked (`burned_in_without_rule: keep`).
    Passed,
}

/// What masking did to one file, for the manifest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PixelReport {
    pub check: PixelCheck,
    /// Every distinct region masked (the same in every frame).
    pub regions: Vec<Region>,
    /// The rules that masked, and `detector` when it found text.
    pub masked_by: Vec<String>,
    /// The transfer syntax the pixel data was decoded from, when it was rewritten.
    pub decoded_from: Option<String>,
}

impl PixelReport {
    /// The report of a file written unexamined by policy.
    pub fn passed() -> Self {
        PixelReport {
            check: PixelCheck::Passed,
            ..PixelReport::default()
        }
    }
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
    #[error(
        "BurnedInAnnotation is YES but the detector found no text and no rule masked any (pixel.burned_in_claimed_not_found: quarantine); add a rule for this device or review the image"
    )]
    ClaimedNotFound,
}

impl From<MaskError> for Reason {
    fn from(e: MaskError) -> Reason {
        let code = match &e {
            MaskError::Decode(codec::DecodeError::Geometry(_)) | MaskError::Geometry(_) => {
                Code::CannotMask
            }
            MaskError::Decode(_) => Code::CannotDecode,
            MaskError::Panic => Code::Crashed,
            MaskError::ClaimedNotFound => Code::BurnedInClaimedNotFound,
        };
        Reason::new(code, e.to_string())
    }
}

/// Mask the de-identified `object` (read in `ts`) as planned. Returns the object, the
/// transfer syntax to write it in, and the report. When nothing is to be masked (the detector
/// found no text and no rule region falls on the image) the pixel data, the transfer syntax
/// and BurnedInAnnotation stay as they came, and no Clean Pixel Data code is added; a header
/// that said YES then follows [`MaskPlan::claimed_not_found`].
pub fn apply(
    object: InMemDicomObject,
    ts: &str,
    plan: &MaskPlan,
    fill: Fill,
) -> Result<(InMemDicomObject, String, PixelReport), MaskError> {
    let (rules, mut regions) = plan.rules();
    let mut object = object;
    if !plan.detect
        && !regions.is_empty()
        && let Some(grown) = codec::mask_jpeg(&mut object, ts, &plan.geometry, &regions, fill)
    {
        return Ok(masked_in_place(object, ts, grown, rules));
    }
    let (mut object, mut frames) = if codec::is_encapsulated(&object) {
        let (object, decoded) = codec::decode(object, ts, &plan.geometry);
        (object, Frames::Decoded(decoded?))
    } else {
        let mut object = object;
        let native = NativeFrames::take(&mut object, &plan.geometry)?;
        (object, Frames::Native(native))
    };
    let geometry = match &frames {
        Frames::Decoded(d) => d.geometry.clone(),
        Frames::Native(_) => plan.geometry.clone(),
    };
    let mut masked_by = if regions.is_empty() { vec![] } else { rules };
    if plan.detect {
        let before = regions.len();
        regions.extend(examine::detect_frames(
            &geometry,
            frames.bytes_mut(),
            plan.ultrasound,
            plan.window.as_ref(),
        ));
        if regions.len() > before {
            // The rules that ran the detector masked through it.
            for name in &plan.detect_rules {
                if !masked_by.contains(name) {
                    masked_by.push(name.clone());
                }
            }
            masked_by.push(DETECTOR.to_owned());
        }
    }
    regions.sort();
    regions.dedup();
    if regions.is_empty() {
        return unchanged(object, ts, frames, plan);
    }
    if matches!(frames, Frames::Decoded(_))
        && let Some(grown) = codec::mask_jpeg(&mut object, ts, &plan.geometry, &regions, fill)
    {
        return Ok(masked_in_place(object, ts, grown, masked_by));
    }
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
    let (out_ts, decoded_from) = match frames {
        Frames::Decoded(decoded) => (
            codec::store(&mut object, ts, decoded).to_owned(),
            Some(ts.to_owned()),
        ),
        Frames::Native(native) => {
            native.put_back(&mut object);
            (ts.to_owned(), None)
        }
    };
    mark_cleaned(&mut object);
    let report = PixelReport {
        check: PixelCheck::Masked,
        regions,
        masked_by,
        decoded_from,
    };
    Ok((object, out_ts, report))
}

/// A file whose compressed pixel data was masked without leaving its transfer syntax.
fn masked_in_place(
    mut object: InMemDicomObject,
    ts: &str,
    regions: Vec<Region>,
    masked_by: Vec<String>,
) -> (InMemDicomObject, String, PixelReport) {
    mark_cleaned(&mut object);
    let report = PixelReport {
        check: PixelCheck::Masked,
        regions,
        masked_by,
        decoded_from: None,
    };
    (object, ts.to_owned(), report)
}

/// A file in which nothing was to be masked: its pixel data put back as it came (decoded
/// frames are dropped: the object still holds the encapsulated data), unless its header
/// claimed burned-in text and the profile quarantines that.
fn unchanged(
    mut object: InMemDicomObject,
    ts: &str,
    frames: Frames,
    plan: &MaskPlan,
) -> Result<(InMemDicomObject, String, PixelReport), MaskError> {
    if plan.claimed && plan.claimed_not_found == ClaimedNotFound::Quarantine {
        return Err(MaskError::ClaimedNotFound);
    }
    if let Frames::Native(native) = frames {
        native.put_back(&mut object);
    }
    let check = if plan.detect {
        PixelCheck::Examined
    } else {
        PixelCheck::Passed
    };
    let report = PixelReport {
        check,
        ..PixelReport::default()
    };
    Ok((object, ts.to_owned(), report))
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
/// frame, a rule region on the image, and no detector (it looks at every frame before any is
/// masked).
pub fn streamable(plan: &MaskPlan, object: &InMemDicomObject, value_len: u64) -> bool {
    !plan.detect
        && !plan.regions.is_empty()
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
        check: PixelCheck::Masked,
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

/// Every frame of an image (read in `ts`) as native little-endian bytes, decoded when
/// encapsulated, with the geometry they follow: to look at an image (previews, review pages,
/// reading an output back).
pub fn frames_of(mut object: InMemDicomObject, ts: &str) -> Result<(Geometry, Vec<u8>), MaskError> {
    let geometry = Geometry::from_header(&object)?;
    if codec::is_encapsulated(&object) {
        let decoded = codec::decode(object, ts, &geometry).1?;
        return Ok((decoded.geometry, decoded.bytes));
    }
    let native = NativeFrames::take(&mut object, &geometry)?;
    Ok((geometry, native.bytes))
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
