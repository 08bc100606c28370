//! "Did you mean" for names a profile author mistyped: attribute keywords and option names.

use std::sync::LazyLock;

use dicom_core::Tag;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::StandardDataDictionary;

use crate::profile::standard::AnnexOption;

/// The groups of the standard data dictionary (PS3.6), where keywords are looked for.
const GROUPS: [u16; 72] = [
    0x0000, 0x0002, 0x0004, 0x0008, 0x0010, 0x0012, 0x0014, 0x0016, 0x0018, 0x0020, 0x0022, 0x0024,
    0x0028, 0x0032, 0x0034, 0x0038, 0x003A, 0x0040, 0x0042, 0x0044, 0x0046, 0x0048, 0x0050, 0x0052,
    0x0054, 0x0060, 0x0062, 0x0064, 0x0066, 0x0068, 0x006A, 0x006C, 0x0070, 0x0072, 0x0074, 0x0076,
    0x0078, 0x007A, 0x007C, 0x007E, 0x0080, 0x0082, 0x0088, 0x0100, 0x0400, 0x2000, 0x2010, 0x2020,
    0x2030, 0x2040, 0x2050, 0x2100, 0x2110, 0x2120, 0x2130, 0x2200, 0x3002, 0x3004, 0x3006, 0x3008,
    0x300A, 0x300C, 0x300E, 0x3010, 0x4000, 0x4008, 0x4010, 0x4FFE, 0x5200, 0x5400, 0x5600, 0x7FE0,
];

/// Every keyword of those groups, found once (only when a keyword is unknown).
static KEYWORDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    GROUPS
        .iter()
        .flat_map(|&g| (0..=u16::MAX).map(move |e| Tag(g, e)))
        .filter_map(|tag| StandardDataDictionary.by_tag(tag))
        .map(|entry| entry.alias())
        .collect()
});

/// The candidate closest to `unknown` (case aside), when it is close enough to be a typo.
fn closest<'a>(unknown: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let unknown = unknown.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&unknown, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.9)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// A known attribute keyword close to `unknown`.
pub(super) fn keyword(unknown: &str) -> Option<&'static str> {
    closest(unknown, KEYWORDS.iter().copied())
}

/// What to tell an author who named option `unknown`: the option they likely meant, and
/// where burned-in text is handled when the name is about pixels.
pub(super) fn option_hint(unknown: &str) -> String {
    let mut hint = match closest(unknown, AnnexOption::every().map(|o| o.name())) {
        Some(name) => format!("; did you mean {name:?}?"),
        None => String::new(),
    };
    let lower = unknown.to_ascii_lowercase();
    if ["pixel", "burn", "mask", "text", "detect", "region"]
        .iter()
        .any(|w| lower.contains(w))
    {
        hint.push_str(
            " (where burned-in text is masked is set in the `pixel:` section: rules, detect, burned_in_without_rule)",
        );
    }
    hint
}
