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

impl Region {
    /// The smallest region holding both.
    pub fn bounding(self, other: Region) -> Region {
        let (x0, y0) = (self.x.min(other.x), self.y.min(other.y));
        let x1 = (self.x + self.width).max(other.x + other.width);
        let y1 = (self.y + self.height).max(other.y + other.height);
        Region {
            x: x0,
            y: y0,
            width: x1 - x0,
            height: y1 - y0,
        }
    }
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

/// Where a rule's region lies along one axis: so many pixels from the left (top) edge, or
/// from the right (bottom) edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    Start(u32),
    End(u32),
}

/// A region's width (height): so many pixels, or `full`, up to the far edge of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    Pixels(u32),
    Full,
}

/// A region as a rule gives it, placed on an image only once its size is known:
/// `[x, y, width, height]` (width and height may be `full`), or
/// `{left|right: n, top|bottom: n, width: n|full, height: n|full}` to anchor it to an edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Area {
    pub x: Edge,
    pub y: Edge,
    pub width: Extent,
    pub height: Extent,
}

impl From<Region> for Area {
    fn from(r: Region) -> Area {
        Area {
            x: Edge::Start(r.x),
            y: Edge::Start(r.y),
            width: Extent::Pixels(r.width),
            height: Extent::Pixels(r.height),
        }
    }
}

/// The pixel range `[start, end)` of one axis of `size` pixels.
fn span(edge: Edge, extent: Extent, size: u32) -> (u32, u32) {
    match (edge, extent) {
        (Edge::Start(at), Extent::Pixels(n)) => (at, at.saturating_add(n)),
        (Edge::Start(at), Extent::Full) => (at, size.max(at)),
        (Edge::End(at), Extent::Pixels(n)) => {
            let end = size.saturating_sub(at);
            (end.saturating_sub(n), end)
        }
        (Edge::End(at), Extent::Full) => (0, size.saturating_sub(at)),
    }
}

impl Area {
    /// The rectangle on an image of `columns` × `rows` pixels (empty when it misses the image;
    /// it may still reach beyond it, and is clipped where it is used).
    pub fn place(&self, columns: u32, rows: u32) -> Region {
        let (x0, x1) = span(self.x, self.width, columns);
        let (y0, y1) = span(self.y, self.height, rows);
        Region {
            x: x0,
            y: y0,
            width: x1 - x0,
            height: y1 - y0,
        }
    }

    /// Whether the area is a fixed rectangle, placed the same on every image.
    fn fixed(&self) -> Option<Region> {
        match *self {
            Area {
                x: Edge::Start(x),
                y: Edge::Start(y),
                width: Extent::Pixels(width),
                height: Extent::Pixels(height),
            } => Some(Region {
                x,
                y,
                width,
                height,
            }),
            _ => None,
        }
    }
}

impl fmt::Display for Area {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(r) = self.fixed() {
            return r.fmt(f);
        }
        let extent = |e: Extent| match e {
            Extent::Pixels(n) => n.to_string(),
            Extent::Full => "full".to_owned(),
        };
        let (xk, xv) = match self.x {
            Edge::Start(v) => ("left", v),
            Edge::End(v) => ("right", v),
        };
        let (yk, yv) = match self.y {
            Edge::Start(v) => ("top", v),
            Edge::End(v) => ("bottom", v),
        };
        write!(
            f,
            "{{{xk}: {xv}, {yk}: {yv}, width: {}, height: {}}}",
            extent(self.width),
            extent(self.height)
        )
    }
}

/// A width or height as written: a number of pixels (at least 1) or `full`.
struct ExtentSpec(Extent);

impl<'de> Deserialize<'de> for ExtentSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ExtentSpec;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of pixels (at least 1) or `full`")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<ExtentSpec, E> {
                match v {
                    "full" => Ok(ExtentSpec(Extent::Full)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ExtentSpec, E> {
                match u32::try_from(v) {
                    Ok(n) if n >= 1 => Ok(ExtentSpec(Extent::Pixels(n))),
                    _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
                }
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ExtentSpec, E> {
                Err(E::invalid_value(de::Unexpected::Signed(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// A region as the profile writes it, checked where it stands.
#[derive(Debug, Clone, Copy)]
pub struct RegionSpec(pub Area);

impl<'de> Deserialize<'de> for RegionSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RegionSpec;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "[x, y, width, height] in pixels (width and height may be `full`), or {left|right: n, top|bottom: n, width: n|full, height: n|full}",
                )
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RegionSpec, A::Error> {
                let x: u32 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let y: u32 = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let width: ExtentSpec = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(2, &self))?;
                let height: ExtentSpec = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(3, &self))?;
                if seq.next_element::<de::IgnoredAny>()?.is_some() {
                    return Err(de::Error::invalid_length(5, &self));
                }
                Ok(RegionSpec(Area {
                    x: Edge::Start(x),
                    y: Edge::Start(y),
                    width: width.0,
                    height: height.0,
                }))
            }

            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<RegionSpec, A::Error> {
                let (mut x, mut y, mut width, mut height) = (None, None, None, None);
                while let Some(key) = map.next_key::<String>()? {
                    let (slot, edge): (&mut Option<Edge>, fn(u32) -> Edge) = match key.as_str() {
                        "left" | "x" => (&mut x, Edge::Start),
                        "right" => (&mut x, Edge::End),
                        "top" | "y" => (&mut y, Edge::Start),
                        "bottom" => (&mut y, Edge::End),
                        "width" | "height" => {
                            let value = map.next_value::<ExtentSpec>()?.0;
                            let slot = if key == "width" {
                                &mut width
                            } else {
                                &mut height
                            };
                            if slot.replace(value).is_some() {
                                return Err(de::Error::custom(format!("`{key}` given twice")));
                            }
                            continue;
                        }
                        _ => {
                            return Err(de::Error::unknown_field(
                                &key,
                                &["left", "right", "top", "bottom", "width", "height"],
                            ));
                        }
                    };
                    let value = edge(map.next_value()?);
                    if slot.replace(value).is_some() {
                        return Err(de::Error::custom(
                            "a region is anchored to one edge per axis (left or right, top or bottom)",
                        ));
                    }
                }
                let need = |name: &'static str| de::Error::missing_field(name);
                Ok(RegionSpec(Area {
                    x: x.unwrap_or(Edge::Start(0)),
                    y: y.unwrap_or(Edge::Start(0)),
                    width: width.ok_or_else(|| need("width"))?,
                    height: height.ok_or_else(|| need("height"))?,
                }))
            }
        }
        d.deserialize_any(V)
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
    #[serde(default)]
    pub regions: Vec<RegionSpec>,
    /// Run the text detector on the images this rule matches.
    #[serde(default)]
    pub detect: bool,
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

/// A rule that can do nothing.
#[derive(Debug, thiserror::Error)]
#[error("pixel rule {0:?} has no regions and no `detect: true`, so it would mask nothing")]
pub struct EmptyRule(String);

impl PixelSpec {
    /// Every rule must mask regions or run the detector.
    pub fn check(&self) -> Result<(), EmptyRule> {
        match self
            .rules
            .iter()
            .find(|r| r.regions.is_empty() && !r.detect)
        {
            Some(r) => Err(EmptyRule(r.name.clone())),
            None => Ok(()),
        }
    }
}

/// A rule in force.
#[derive(Debug, Clone)]
pub struct PixelRule {
    pub name: String,
    pub when: When,
    pub regions: Vec<Area>,
    /// The detector runs on the images this rule matches.
    pub detect: bool,
}

/// The pixel settings of a compiled profile.
#[derive(Debug, Clone)]
pub struct PixelConfig {
    pub rules: Vec<PixelRule>,
    /// Run the detector on every image with pixel data, besides the rules, whatever its
    /// modality, SOP class and BurnedInAnnotation say.
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
            detect: r.detect,
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
            for area in &rule.regions {
                let r = area.place(cols as u32, rows as u32);
                if r.width == 0
                    || r.height == 0
                    || f64::from(r.x) + f64::from(r.width) > cols
                    || f64::from(r.y) + f64::from(r.height) > rows
                {
                    out.push(format!(
                        "pixel rule {:?}: region {area} reaches beyond the {cols}×{rows} image; it will be clipped",
                        rule.name
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(yaml: &str) -> Area {
        serde_yaml::from_str::<RegionSpec>(yaml)
            .expect("valid region")
            .0
    }

    fn region(x: u32, y: u32, width: u32, height: u32) -> Region {
        Region {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn fixed_full_and_anchored_regions_are_placed_on_the_image() {
        assert_eq!(
            area("[0, 0, 800, 56]").place(640, 480),
            region(0, 0, 800, 56)
        );
        assert_eq!(
            area("[0, 0, full, 40]").place(640, 480),
            region(0, 0, 640, 40)
        );
        assert_eq!(
            area("[10, 400, full, full]").place(640, 480),
            region(10, 400, 630, 80)
        );
        let corner = area("{right: 0, top: 0, width: 200, height: 40}");
        assert_eq!(corner.place(640, 480), region(440, 0, 200, 40));
        assert_eq!(corner.place(1024, 768), region(824, 0, 200, 40));
        let footer = area("{bottom: 10, width: full, height: 30}");
        assert_eq!(footer.place(640, 480), region(0, 440, 640, 30));
        let side = area("{right: 20, top: 0, width: 50, height: full}");
        assert_eq!(side.place(60, 100), region(0, 0, 40, 100));
        assert_eq!(side.place(10, 100).width, 0);
        assert_eq!(
            area("{left: 5, bottom: 0, width: full, height: full}").place(8, 8),
            region(5, 0, 3, 8)
        );
    }

    #[test]
    fn regions_print_as_written() {
        assert_eq!(area("[1, 2, 3, 4]").to_string(), "[1, 2, 3, 4]");
        assert_eq!(
            area("[0, 0, full, 40]").to_string(),
            "{left: 0, top: 0, width: full, height: 40}"
        );
        assert_eq!(
            area("{right: 4, bottom: 2, width: 10, height: full}").to_string(),
            "{right: 4, bottom: 2, width: 10, height: full}"
        );
    }

    #[test]
    fn bad_regions_are_refused_with_what_is_expected() {
        for bad in [
            "[0, 0, 0, 10]",
            "[0, 0, 10]",
            "[0, 0, 10, 10, 10]",
            "[0, 0, half, 10]",
            "[full, 0, 10, 10]",
            "{left: 0, right: 0, width: 10, height: 10}",
            "{top: 0, width: 10}",
            "{top: 0, width: 10, height: 10, depth: 3}",
            "[-1, 0, 10, 10]",
        ] {
            assert!(
                serde_yaml::from_str::<RegionSpec>(bad).is_err(),
                "{bad} was accepted"
            );
        }
    }

    #[test]
    fn detect_rules_need_no_regions_but_a_rule_must_do_something() {
        let spec: PixelSpec = serde_yaml::from_str(
            "rules: [{name: sc, when: {SOPClassUID: '1.2.840.10008.5.1.4.1.1.7'}, detect: true}]",
        )
        .expect("valid");
        assert!(spec.check().is_ok());
        let mut config = PixelConfig::default();
        config.extend(&spec);
        assert!(config.rules[0].detect && config.rules[0].regions.is_empty());
        let empty: PixelSpec = serde_yaml::from_str("rules: [{name: nothing}]").expect("parses");
        let error = empty.check().expect_err("refused").to_string();
        assert!(
            error.contains("\"nothing\"") && error.contains("detect"),
            "{error}"
        );
    }
}
