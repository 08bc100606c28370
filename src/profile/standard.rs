//! The PS3.15 Annex E tables, carried in `profiles/standard/` as the standard's own rows and
//! embedded in the binary: Table E.1-1 (every row, masks and the private row included), Table
//! E.3.10-1 (safe private attributes) and CID 7050 (de-identification method codes).
//!
//! A test compares these files with `../shared/standard/`, so they cannot drift from the
//! reference copy, and another compiles every row under every option.

use std::sync::LazyLock;

use dicom_core::Tag;

use dicom_core::value::PrimitiveValue;
use dicom_core::{DataElement, VR};
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

use crate::profile::Action;

const TABLE_E1_1: &str = include_str!("../../profiles/standard/table-e1-1.csv");
const SAFE_PRIVATE: &str = include_str!("../../profiles/standard/safe-private.csv");
const CID_7050: &str = include_str!("../../profiles/standard/cid7050.csv");

/// The Annex E options that can be named in a profile: the ten with a column in Table E.1-1,
/// which act on attributes, and the two that act on pixel data (see [`crate::pixel`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnnexOption {
    RetainSafePrivate,
    RetainUids,
    RetainDeviceIdentity,
    RetainInstitutionIdentity,
    RetainPatientCharacteristics,
    RetainLongitudinalFullDates,
    RetainLongitudinalModifiedDates,
    CleanDescriptors,
    CleanStructuredContent,
    CleanGraphics,
    CleanPixelData,
    CleanRecognizableVisualFeatures,
}

impl AnnexOption {
    /// The options without a column in Table E.1-1: they act on pixel data.
    pub const PIXEL: [AnnexOption; 2] = [
        AnnexOption::CleanPixelData,
        AnnexOption::CleanRecognizableVisualFeatures,
    ];

    /// Every option a profile can name: those with a column, then the pixel options.
    pub fn every() -> impl Iterator<Item = AnnexOption> {
        AnnexOption::ALL.into_iter().chain(AnnexOption::PIXEL)
    }

    /// The options with a column, in the order of the table's columns.
    pub const ALL: [AnnexOption; 10] = [
        AnnexOption::RetainSafePrivate,
        AnnexOption::RetainUids,
        AnnexOption::RetainDeviceIdentity,
        AnnexOption::RetainInstitutionIdentity,
        AnnexOption::RetainPatientCharacteristics,
        AnnexOption::RetainLongitudinalFullDates,
        AnnexOption::RetainLongitudinalModifiedDates,
        AnnexOption::CleanDescriptors,
        AnnexOption::CleanStructuredContent,
        AnnexOption::CleanGraphics,
    ];

    /// The column of Table E.1-1 (as named in the CSV) that this option switches to; empty
    /// for the two pixel options, which have none (they are not in [`AnnexOption::ALL`]).
    pub fn column(self) -> &'static str {
        match self {
            AnnexOption::CleanPixelData | AnnexOption::CleanRecognizableVisualFeatures => "",
            AnnexOption::RetainSafePrivate => "rtn_safe_priv",
            AnnexOption::RetainUids => "rtn_uids",
            AnnexOption::RetainDeviceIdentity => "rtn_dev_id",
            AnnexOption::RetainInstitutionIdentity => "rtn_inst_id",
            AnnexOption::RetainPatientCharacteristics => "rtn_pat_chars",
            AnnexOption::RetainLongitudinalFullDates => "rtn_long_full_dates",
            AnnexOption::RetainLongitudinalModifiedDates => "rtn_long_modif_dates",
            AnnexOption::CleanDescriptors => "clean_desc",
            AnnexOption::CleanStructuredContent => "clean_struct_cont",
            AnnexOption::CleanGraphics => "clean_graph",
        }
    }

    /// The YAML name of the option.
    pub fn name(self) -> &'static str {
        match self {
            AnnexOption::RetainSafePrivate => "retain-safe-private",
            AnnexOption::RetainUids => "retain-uids",
            AnnexOption::RetainDeviceIdentity => "retain-device-identity",
            AnnexOption::RetainInstitutionIdentity => "retain-institution-identity",
            AnnexOption::RetainPatientCharacteristics => "retain-patient-characteristics",
            AnnexOption::RetainLongitudinalFullDates => "retain-longitudinal-full-dates",
            AnnexOption::RetainLongitudinalModifiedDates => "retain-longitudinal-modified-dates",
            AnnexOption::CleanDescriptors => "clean-descriptors",
            AnnexOption::CleanStructuredContent => "clean-structured-content",
            AnnexOption::CleanGraphics => "clean-graphics",
            AnnexOption::CleanPixelData => "clean-pixel-data",
            AnnexOption::CleanRecognizableVisualFeatures => "clean-recognizable-visual-features",
        }
    }

    /// Whether the option acts on pixel data rather than through a column of the table.
    pub fn is_pixel(self) -> bool {
        self.column().is_empty()
    }

    /// The option's CID 7050 code.
    pub fn method_code(self) -> &'static MethodCode {
        match self {
            AnnexOption::CleanPixelData => method_code(CLEAN_PIXEL_DATA_CODE),
            AnnexOption::CleanRecognizableVisualFeatures => {
                method_code(CLEAN_RECOGNIZABLE_VISUAL_FEATURES_CODE)
            }
            _ => method_code_for_column(self.column()),
        }
    }

    /// Retain options first, clean options after: when a retain option and a clean option
    /// both speak for a row, the clean option's C wins, which keeps the attribute but cleans it.
    pub fn is_clean(self) -> bool {
        matches!(
            self,
            AnnexOption::CleanDescriptors
                | AnnexOption::CleanStructuredContent
                | AnnexOption::CleanGraphics
        )
    }
}

/// An option name that is none of [`AnnexOption::every`]'s, with a hint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown option {name:?}{hint}; expected one of {}", option_names())]
pub struct UnknownOption {
    name: String,
    hint: String,
}

fn option_names() -> String {
    AnnexOption::every()
        .map(|o| format!("`{}`", o.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

impl std::str::FromStr for AnnexOption {
    type Err = UnknownOption;

    fn from_str(s: &str) -> Result<Self, UnknownOption> {
        AnnexOption::every()
            .find(|o| o.name() == s)
            .ok_or_else(|| UnknownOption {
                name: s.to_owned(),
                hint: super::suggest::option_hint(s),
            })
    }
}

impl<'de> serde::Deserialize<'de> for AnnexOption {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(super::scalar::ParseVisitor(std::marker::PhantomData))
    }
}

/// Which attributes a row of Table E.1-1 covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Selector {
    /// One public attribute.
    Tag(Tag),
    /// A repeating group, e.g. `(60xx,4000)`: the group's high byte, and the element
    /// (`None` for every element, as in `(50xx,xxxx)`).
    Mask {
        group_high: u8,
        element: Option<u16>,
    },
    /// The row "(gggg,eeee) where gggg is odd".
    Private,
}

impl Selector {
    /// True when this selector covers `tag`. Masks cover the even groups of the repeating range
    /// (50xx/60xx run from xx00 to xx1E).
    pub fn covers(&self, tag: Tag) -> bool {
        match *self {
            Selector::Tag(t) => t == tag,
            Selector::Mask {
                group_high,
                element,
            } => {
                (tag.0 >> 8) as u8 == group_high
                    && tag.0 & 0xFF <= 0x1E
                    && tag.0.is_multiple_of(2)
                    && element.is_none_or(|e| e == tag.1)
            }
            Selector::Private => tag.0 % 2 == 1,
        }
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Selector::Tag(t) => write!(f, "({:04X},{:04X})", t.0, t.1),
            Selector::Mask {
                group_high,
                element: Some(e),
            } => write!(f, "({group_high:02X}xx,{e:04X})"),
            Selector::Mask {
                group_high,
                element: None,
            } => write!(f, "({group_high:02X}xx,xxxx)"),
            Selector::Private => f.write_str("(gggg,eeee) where gggg is odd"),
        }
    }
}

/// One row of Table E.1-1.
#[derive(Debug, Clone)]
pub struct Row {
    pub selector: Selector,
    pub name: String,
    pub keyword: String,
    pub basic: Action,
    /// The action of each option's column, in [`AnnexOption::ALL`] order; `None` where the
    /// option does not change the basic action.
    pub options: [Option<Action>; 10],
}

impl Row {
    pub fn option(&self, option: AnnexOption) -> Option<&Action> {
        let i = AnnexOption::ALL
            .iter()
            .position(|o| *o == option)
            .expect("every option is in ALL");
        self.options[i].as_ref()
    }
}

/// One row of Table E.3.10-1: a private attribute known to be safe, by creator and element
/// offset within its block.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SafePrivate {
    pub group: u16,
    pub offset: u8,
    pub creator: String,
}

/// A CID 7050 code.
#[derive(Debug, Clone)]
pub struct MethodCode {
    pub value: String,
    pub meaning: String,
    /// The Table E.1-1 column it goes with, or a note for the pixel options.
    pub column: String,
}

impl MethodCode {
    /// The code as an item of DeidentificationMethodCodeSequence (scheme DCM).
    pub fn item(&self) -> InMemDicomObject {
        InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::CODE_VALUE,
                VR::SH,
                PrimitiveValue::from(self.value.as_str()),
            ),
            DataElement::new(
                tags::CODING_SCHEME_DESIGNATOR,
                VR::SH,
                PrimitiveValue::from("DCM"),
            ),
            DataElement::new(
                tags::CODE_MEANING,
                VR::LO,
                PrimitiveValue::from(self.meaning.as_str()),
            ),
        ])
    }
}

/// Parse a tag or mask as the tables write them: `(0010,0010)`, `(60xx,4000)`, `(50xx,xxxx)`.
pub fn parse_selector(text: &str) -> Option<Selector> {
    if text.starts_with("(gggg,eeee)") {
        return Some(Selector::Private);
    }
    let inner = text.strip_prefix('(')?.strip_suffix(')')?;
    let (g, e) = inner.split_once(',')?;
    if g.len() != 4 || e.len() != 4 {
        return None;
    }
    let g_lower = g.to_ascii_lowercase();
    if let Some(high) = g_lower.strip_suffix("xx") {
        let group_high = u8::from_str_radix(high, 16).ok()?;
        let element = if e.eq_ignore_ascii_case("xxxx") {
            None
        } else {
            Some(u16::from_str_radix(e, 16).ok()?)
        };
        return Some(Selector::Mask {
            group_high,
            element,
        });
    }
    let group = u16::from_str_radix(g, 16).ok()?;
    let element = u16::from_str_radix(e, 16).ok()?;
    Some(Selector::Tag(Tag(group, element)))
}

fn parse_table(text: &str) -> Vec<Row> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .expect("embedded table has a header")
        .clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("embedded table lacks column {name}"))
    };
    let (tag_col, name_col, keyword_col, basic_col) = (
        column("tag"),
        column("name"),
        column("keyword"),
        column("basic"),
    );
    let option_cols = AnnexOption::ALL.map(|o| column(o.column()));
    reader
        .records()
        .map(|record| {
            let record = record.expect("embedded table is well-formed CSV");
            let selector = parse_selector(&record[tag_col])
                .unwrap_or_else(|| panic!("embedded table: bad tag {}", &record[tag_col]));
            let code = |col: usize, modified_dates: bool| {
                let cell = &record[col];
                (!cell.is_empty()).then(|| {
                    Action::parse_table_cell(cell, modified_dates)
                        .unwrap_or_else(|| panic!("embedded table: bad action {cell}"))
                })
            };
            let options = std::array::from_fn(|i| {
                code(
                    option_cols[i],
                    AnnexOption::ALL[i] == AnnexOption::RetainLongitudinalModifiedDates,
                )
            });
            Row {
                selector,
                name: record[name_col].to_owned(),
                keyword: record[keyword_col].to_owned(),
                basic: code(basic_col, false).expect("every row has a basic action"),
                options,
            }
        })
        .collect()
}

/// Table E.1-1, every row.
pub fn table() -> &'static [Row] {
    static TABLE: LazyLock<Vec<Row>> = LazyLock::new(|| parse_table(TABLE_E1_1));
    &TABLE
}

/// Table E.3.10-1, every row.
pub fn safe_private() -> &'static [SafePrivate] {
    static SAFE: LazyLock<Vec<SafePrivate>> = LazyLock::new(|| {
        csv::Reader::from_reader(SAFE_PRIVATE.as_bytes())
            .records()
            .map(|record| {
                let record = record.expect("embedded safe private table is well-formed CSV");
                let tag = &record[0];
                let group = u16::from_str_radix(&tag[1..5], 16).expect("safe private group");
                let offset = u8::from_str_radix(&tag[8..10], 16).expect("safe private offset");
                SafePrivate {
                    group,
                    offset,
                    creator: record[1].to_owned(),
                }
            })
            .collect()
    });
    &SAFE
}

/// CID 7050, every code.
pub fn method_codes() -> &'static [MethodCode] {
    static CODES: LazyLock<Vec<MethodCode>> = LazyLock::new(|| {
        csv::Reader::from_reader(CID_7050.as_bytes())
            .records()
            .map(|record| {
                let record = record.expect("embedded CID 7050 is well-formed CSV");
                MethodCode {
                    value: record[0].to_owned(),
                    meaning: record[2].to_owned(),
                    column: record[3].to_owned(),
                }
            })
            .collect()
    });
    &CODES
}

/// The CID 7050 code of a table column (`basic` or an option's column).
pub fn method_code_for_column(column: &str) -> &'static MethodCode {
    method_codes()
        .iter()
        .find(|c| c.column == column)
        .unwrap_or_else(|| panic!("CID 7050 has no code for column {column}"))
}

/// The CID 7050 code of the Clean Pixel Data option.
pub const CLEAN_PIXEL_DATA_CODE: &str = "113101";

/// The CID 7050 code of the Clean Recognizable Visual Features option.
pub const CLEAN_RECOGNIZABLE_VISUAL_FEATURES_CODE: &str = "113102";

/// The CID 7050 code of that value.
pub fn method_code(value: &str) -> &'static MethodCode {
    method_codes()
        .iter()
        .find(|c| c.value == value)
        .unwrap_or_else(|| panic!("CID 7050 has no code {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn tables_load_completely() {
        assert_eq!(table().len(), 656);
        assert_eq!(safe_private().len(), 479);
        assert_eq!(method_codes().len(), 13);
        assert!(table().iter().any(|r| r.selector == Selector::Private));
        for mask in ["(50xx,xxxx)", "(60xx,3000)", "(60xx,4000)"] {
            let sel = parse_selector(mask).unwrap();
            assert!(table().iter().any(|r| r.selector == sel), "{mask}");
        }
    }

    #[test]
    fn masks_cover_the_repeating_groups() {
        let overlay = parse_selector("(60xx,3000)").unwrap();
        assert!(overlay.covers(Tag(0x6000, 0x3000)));
        assert!(overlay.covers(Tag(0x601E, 0x3000)));
        assert!(!overlay.covers(Tag(0x6001, 0x3000)));
        assert!(!overlay.covers(Tag(0x6020, 0x3000)));
        assert!(!overlay.covers(Tag(0x6000, 0x0010)));
        let curves = parse_selector("(50xx,xxxx)").unwrap();
        assert!(curves.covers(Tag(0x5002, 0x0005)));
    }

    /// The embedded copies must be the shared reference tables, byte for byte.
    #[test]
    fn embedded_tables_match_the_reference() {
        let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/standard");
        if !shared.is_dir() {
            eprintln!("skipped: {} is absent", shared.display());
            return;
        }
        for (embedded, name) in [
            (TABLE_E1_1, "confidentiality_profile.csv"),
            (SAFE_PRIVATE, "safe_private.csv"),
            (CID_7050, "cid7050.csv"),
        ] {
            let reference = std::fs::read_to_string(shared.join(name)).unwrap();
            assert!(
                embedded == reference,
                "profiles/standard differs from {name}"
            );
        }
    }
}
