//! The profile's `pixel:` section: rules (`when` over header values → `regions`), the
//! detector switch, what becomes of a likely burned-in image without a rule, and the fill.

use std::fmt;

use dicom_dictionary_std::tags;
use serde::Deserialize;
use serde::de::{self, SeqAccess, Visitor};

use crate::profile::when::When;

/// A rectangle of pixels: `[x, y, width, height]` in a profile.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Region {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}, {}, {}, {}]",
            self.x, self.y, self.width, self.height
        )
    }
}

/// A region as the profile writes it, checked where it stands.
#[derive(Debug, Clone, Copy)]
pub struct RegionSpec(pub Region);

impl<'de> Deserialize<'de> for RegionSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RegionSpec;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("[x, y, width, height] in pixels")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RegionSpec, A::Error> {
                let mut v = [0u32; 4];
                for (i, slot) in v.iter_mut().enumerate() {
                    *slot = seq
                        .next_element()?
                        .ok_or_else(|| de::Error::invalid_length(i, &self))?;
                }
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(5, &self));
                }
                if v[2] == 0 || v[3] == 0 {
                    return Err(de::Error::custom(
                        "a region needs a width and a height of at least 1",
                    ));
                }
                Ok(RegionSpec(Region {
                    x: v[0],
                    y: v[1],
                    width: v[2],
                    height: v[3],
                }))
            }
        }
        d.deserialize_seq(V)
    }
}

/// What becomes of an image that usually carries burned-in text when no rule matches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BurnedInPolicy {
    /// Not written: the manifest says why (the default; nothing unmasked escapes).
    Quarantine,
    /// The text detector finds and masks the text.
    Detect,
    /// Written as it is (only for data known to be clean).
    Keep,
}

/// What becomes of an image whose header says BurnedInAnnotation YES when the detector,
/// the only thing that looked, found no text in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimedNotFound {
    /// Not written (reason `burned_in_claimed_not_found`): a person decides (the default).
    #[default]
    Quarantine,
    /// Written with its pixels and BurnedInAnnotation YES as they were.
    Keep,
}

/// The value masked pixels get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// The darkest value of the photometric interpretation (black; the maximum for
    /// MONOCHROME1; the darkest palette entry).
    Darkest,
    /// The brightest value.
    Brightest,
    /// This stored value in every sample (luma only for YBR), clamped to BitsStored.
    Value(i64),
}

impl<'de> Deserialize<'de> for Fill {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Fill;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("darkest, brightest, or an integer")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Fill, E> {
                match v {
                    "darkest" => Ok(Fill::Darkest),
                    "brightest" => Ok(Fill::Brightest),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fill, E> {
                Ok(Fill::Value(v))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fill, E> {
                i64::try_from(v)
                    .map(Fill::Value)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// One rule as written in a profile.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    pub name: String,
    #[serde(default)]
    pub when: When,
    pub regions: Vec<RegionSpec>,
}

/// The `pixel:` section as written; `extends` adds rules and overrides the rest.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PixelSpec {
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    pub detect: Option<bool>,
    pub burned_in_without_rule: Option<BurnedInPolicy>,
    pub burned_in_claimed_not_found: Option<ClaimedNotFound>,
    pub fill: Option<Fill>,
}

/// A rule in force.
#[derive(Debug, Clone)]
pub struct PixelRule {
    pub name: String,
    pub when: When,
    pub regions: Vec<Region>,
}

/// The pixel settings of a compiled profile.
#[derive(Debug, Clone)]
pub struct PixelConfig {
    pub rules: Vec<PixelRule>,
    /// Run the detector on every image, besides the rules.
    pub detect: bool,
    pub burned_in_without_rule: BurnedInPolicy,
    pub burned_in_claimed_not_found: ClaimedNotFound,
    pub fill: Fill,
    /// Option `clean-pixel-data`: an image likely to hold burned-in text is never written
    /// unmasked (`burned_in_without_rule: keep` runs the detector instead).
    pub clean_pixel_data: bool,
    /// Option `clean-recognizable-visual-features`: what cannot be made unrecognisable is
    /// quarantined.
    pub clean_visual_features: bool,
}

impl Default for PixelConfig {
    fn default() -> Self {
        PixelConfig {
            rules: Vec::new(),
            detect: false,
            burned_in_without_rule: BurnedInPolicy::Quarantine,
            burned_in_claimed_not_found: ClaimedNotFound::Quarantine,
            fill: Fill::Darkest,
            clean_pixel_data: false,
            clean_visual_features: false,
        }
    }
}

impl PixelConfig {
    /// Merge one profile layer's section into this one.
    pub fn extend(&mut self, spec: &PixelSpec) {
        self.rules.extend(spec.rules.iter().map(|r| PixelRule {
            name: r.name.clone(),
            when: r.when.clone(),
            regions: r.regions.iter().map(|r| r.0).collect(),
        }));
        if let Some(d) = spec.detect {
            self.detect = d;
        }
        if let Some(p) = spec.burned_in_without_rule {
            self.burned_in_without_rule = p;
        }
        if let Some(c) = spec.burned_in_claimed_not_found {
            self.burned_in_claimed_not_found = c;
        }
        if let Some(f) = spec.fill {
            self.fill = f;
        }
    }

    /// What happens to an image likely to hold burned-in text that no rule matches: the
    /// profile's policy, but never `keep` under option `clean-pixel-data`.
    pub fn without_rule(&self) -> BurnedInPolicy {
        match self.burned_in_without_rule {
            BurnedInPolicy::Keep if self.clean_pixel_data => BurnedInPolicy::Detect,
            policy => policy,
        }
    }

    /// Regions that reach beyond the image size their rule pins with `Rows` and `Columns`.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for rule in &self.rules {
            let (Some(rows), Some(cols)) = (
                rule.when.pinned(tags::ROWS),
                rule.when.pinned(tags::COLUMNS),
            ) else {
                continue;
            };
            for r in &rule.regions {
                if f64::from(r.x) + f64::from(r.width) > cols
                    || f64::from(r.y) + f64::from(r.height) > rows
                {
                    out.push(format!(
                        "pixel rule {:?}: region {r} reaches beyond the {cols}×{rows} image; it will be clipped",
                        rule.name
                    ));
                }
            }
        }
        out
    }
}
