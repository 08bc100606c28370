//! Date shifting and age capping for DICOM DA, DT, TM and AS values, and their
//! generalisation (dates to a year or month, ages into bands).
//!
//! Every date of a patient is moved by the same number of days, so the
//! intervals between that patient's dates survive de-identification while the
//! real calendar dates do not. Anything that does not parse is an error (never
//! copied through) so the caller can empty it; no input makes these functions
//! panic.
//!
//! Rules:
//! - Values may be multi-valued (`\`-separated); each item is handled on its
//!   own and the items are joined again with `\`. Leading and trailing spaces
//!   (DICOM padding) are stripped and output is unpadded. An empty item stays
//!   empty, so an empty or all-space value gives `""`.
//! - Each item may be a range `A-B`, `-B` or `A-` (not a lone `-`).
//! - DA is `YYYYMMDD`; the ACR-NEMA form `YYYY.MM.DD` is accepted and written
//!   as `YYYYMMDD`.
//! - Partial dates `YYYY` and `YYYYMM` (invalid in DA, common in the wild, legal
//!   in DT) keep their precision: the first day of the period (`YYYY0101` or
//!   `YYYYMM01`) is shifted and the result truncated to the same precision.
//!   Intervals between partial dates are therefore kept only to that precision
//!   (a year or a month), and shifting back does not always restore them.
//! - DT is `YYYY[MM[DD[HH[MM[SS[.F{1,6}]]]]]][&HHMM]`. Only the date part is
//!   shifted; time of day, fraction and UTC offset text are copied unchanged.
//!   Hours are 00-23, minutes 00-59, seconds 00-60 (leap second), offsets have
//!   HH <= 14 and MM <= 59.
//! - A `-` in a DT item is a UTC offset sign if and only if it follows a date
//!   time with at least an hour (`YYYYMMDDHH...`) that has no offset yet, and is
//!   followed by four digits forming a valid offset that end the item or are
//!   followed by `-`. Every other `-` is the range separator. So
//!   `2020010112-0500` is one DT at UTC-5, `2020010112-2021` is a range up to
//!   the year 2021, and `20200101-0500` is a range up to the year 500.
//! - TM is `HH[MM[SS[.F{1,6}]]]`; the legacy `HH:MM[:SS[.F{1,6}]]` is accepted.
//! - Years 0000 are malformed; a shift that leaves 0001..=9999 is
//!   [`DateError::OutOfRange`].
//! - AS is `nnnD|W|M|Y`; 1 to 4 digits are accepted because over-long ages
//!   like `1200M` occur in the wild. Ages of 90 years or more become `090Y`
//!   (HIPAA Safe Harbor); days and weeks count 365.25 days per year.

use DateError::{Malformed, OutOfRange};
use chrono::{Datelike, Days, NaiveDate};
use std::fmt;

/// The English month names, January first: free text spells dates with them.
pub const MONTH_NAMES: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// A regular expression (lower case) for a month name as free text writes it: whole, or its
/// first three letters, and September also as "sept".
pub fn month_pattern(name: &str) -> String {
    let (short, rest) = name.split_at(3);
    match (name, rest) {
        ("september", _) => "sep(?:t(?:ember)?)?".to_owned(),
        (_, "") => short.to_owned(),
        _ => format!("{short}(?:{rest})?"),
    }
}

/// A DA value's year, month and day; the ACR-NEMA form `YYYY.MM.DD` is accepted. Only the
/// month and day ranges are checked (1-12, 1-31), which is all a search for the date needs.
pub fn parse_da(value: &str) -> Option<(u16, u8, u8)> {
    let digits = value.replace('.', "");
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = digits[..4].parse().ok()?;
    let month = digits[4..6].parse().ok()?;
    let day = digits[6..].parse().ok()?;
    ((1..=12).contains(&month) && (1..=31).contains(&day)).then_some((year, month, day))
}

/// Why a value could not be shifted. Holds only a kind, never the value,
/// because the value may be PHI and errors end up in logs and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateError {
    /// The value does not follow the VR's syntax (or is not a real date/time).
    Malformed,
    /// The value is valid but shifting it leaves the years 0001..=9999.
    OutOfRange,
}

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DateError::Malformed => "malformed date/time value",
            DateError::OutOfRange => "date out of range after shifting",
        })
    }
}

impl std::error::Error for DateError {}

/// Shifts every date in a DA value by `days`, so that a patient's date
/// intervals are kept while the dates themselves change.
pub fn shift_da(value: &str, days: i64) -> Result<String, DateError> {
    map_items(value, single_dash, |item| {
        let digits = match item.as_bytes() {
            [y @ .., b'.', m1, m2, b'.', d1, d2] if y.len() == 4 => {
                [y, &[*m1, *m2, *d1, *d2]].concat()
            }
            other => other.to_vec(),
        };
        shift_date(&digits, days)
    })
}

/// Shifts the date part of every DT in a value by `days`; the time of day and
/// UTC offset stay as written, since only the calendar day identifies.
pub fn shift_dt(value: &str, days: i64) -> Result<String, DateError> {
    map_items(value, dt_range_separator, |text| {
        let item = text.as_bytes();
        let digits = item.iter().take_while(|c| c.is_ascii_digit()).count();
        let (main, rest) = item.split_at(digits);
        let frac_len = match rest {
            [b'.', tail @ ..] => 1 + tail.iter().take_while(|c| c.is_ascii_digit()).count(),
            _ => 0,
        };
        let (frac, offset) = rest.split_at(frac_len);
        let (date, time) = main.split_at(digits.min(8));
        let valid = (time.is_empty() || valid_time(time))
            && (frac.is_empty() || (digits == 14 && valid_fraction(&frac[1..])))
            && match offset {
                [] => true,
                [b'+' | b'-', hhmm @ ..] => valid_offset(hhmm),
                _ => false,
            };
        if !valid {
            return Err(Malformed);
        }
        let shifted = shift_date(date, days)?;
        Ok(shifted + &text[date.len()..])
    })
}

/// Checks a TimezoneOffsetFromUTC value (`+HHMM` or `-HHMM`), so the caller can empty a
/// malformed one instead of copying through text that might hide PHI.
pub fn check_utc_offset(value: &str) -> Result<(), DateError> {
    match value.trim().as_bytes() {
        [b'+' | b'-', hhmm @ ..] if valid_offset(hhmm) => Ok(()),
        _ => Err(Malformed),
    }
}

/// Checks a TM value so the caller can empty malformed times instead of
/// copying through text that might hide PHI.
pub fn check_tm(value: &str) -> Result<(), DateError> {
    map_items(value, single_dash, |text| {
        let item = text.as_bytes();
        let (main, frac) = match item.iter().position(|&c| c == b'.') {
            Some(i) => (&item[..i], Some(&item[i + 1..])),
            None => (item, None),
        };
        let digits = if main.contains(&b':') {
            let parts: Vec<&[u8]> = main.split(|&c| c == b':').collect();
            if !matches!(parts.len(), 2 | 3) || parts.iter().any(|p| p.len() != 2) {
                return Err(Malformed);
            }
            parts.concat()
        } else {
            main.to_vec()
        };
        let valid =
            valid_time(&digits) && frac.is_none_or(|f| digits.len() == 6 && valid_fraction(f));
        if valid {
            Ok(String::new())
        } else {
            Err(Malformed)
        }
    })
    .map(drop)
}

/// Caps an AS age at `090Y` when it is 90 years or more, because HIPAA Safe
/// Harbor treats such ages as identifying; younger ages are returned unchanged.
pub fn cap_age(value: &str) -> Result<String, DateError> {
    let value = value.trim_matches(' ');
    let Some((&unit, digits)) = value.as_bytes().split_last() else {
        return Ok(String::new());
    };
    if !(1..=4).contains(&digits.len()) {
        return Err(Malformed);
    }
    let n = u64::from(number(digits).ok_or(Malformed)?);
    let at_least_90 = match unit {
        b'D' => n * 100 >= 90 * 36525,
        b'W' => n * 7 * 100 >= 90 * 36525,
        b'M' => n >= 90 * 12,
        b'Y' => n >= 90,
        _ => return Err(Malformed),
    };
    Ok(if at_least_90 {
        "090Y".to_owned()
    } else {
        value.to_owned()
    })
}

/// How much of a date [`truncate`] keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    /// DA `YYYY0101`, DT `YYYY`.
    Year,
    /// DA `YYYYMM01`, DT `YYYYMM`.
    Month,
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Precision::Year => "year",
            Precision::Month => "month",
        })
    }
}

/// Coarsens every date of a DA (`dt == false`) or DT value to `precision`: DA must stay
/// eight digits, so it keeps the first day of the period; DT is truncated, as it may be.
/// Time of day and UTC offset go with the precision.
pub fn truncate(value: &str, dt: bool, precision: Precision) -> Result<String, DateError> {
    let separator = if dt { dt_range_separator } else { single_dash };
    map_items(value, separator, |item| {
        let digits = item.bytes().take_while(u8::is_ascii_digit).count();
        let keep = match precision {
            Precision::Year => 4,
            Precision::Month => 6,
        };
        if digits < keep || (!dt && digits != 8) || number(&item.as_bytes()[..4]) == Some(0) {
            return Err(Malformed);
        }
        let head = &item[..keep];
        Ok(match (dt, precision) {
            (true, _) => head.to_owned(),
            (false, Precision::Year) => format!("{head}0101"),
            (false, Precision::Month) => format!("{head}01"),
        })
    })
}

/// Puts an AS age into `width`-year bands, written as the band's first year (`047Y` in bands
/// of 5 is `045Y`); ages of 90 or more become `090Y` as [`cap_age`] writes them. Days, weeks
/// and months count as the whole years they make (365.25 days a year).
pub fn band_age(value: &str, width: u32) -> Result<String, DateError> {
    let value = value.trim_matches(' ');
    let Some((&unit, digits)) = value.as_bytes().split_last() else {
        return Ok(String::new());
    };
    if !(1..=4).contains(&digits.len()) || width == 0 {
        return Err(Malformed);
    }
    let n = u64::from(number(digits).ok_or(Malformed)?);
    let years = match unit {
        b'D' => n * 100 / 36525,
        b'W' => n * 7 * 100 / 36525,
        b'M' => n / 12,
        b'Y' => n,
        _ => return Err(Malformed),
    };
    let banded = if years >= 90 {
        90
    } else {
        years / u64::from(width) * u64::from(width)
    };
    Ok(format!("{banded:03}Y"))
}

/// Maps a keyed hash onto `[lo, hi]` with negligible bias (multiply-high
/// instead of modulo), so per-patient offsets are spread evenly. Returns `lo`
/// if `hi <= lo`.
pub fn offset_in_range(hash: u64, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        return lo;
    }
    let span = (i128::from(hi) - i128::from(lo) + 1) as u128;
    let pick = (u128::from(hash) * span) >> 64;
    (i128::from(lo) + pick as i128) as i64
}

/// Splits a value into its items, strips padding, splits ranges at the position
/// given by `separator` and joins the results of `f` back together.
fn map_items(
    value: &str,
    separator: fn(&[u8]) -> Result<Option<usize>, DateError>,
    f: impl Fn(&str) -> Result<String, DateError>,
) -> Result<String, DateError> {
    let side = |s: &str| {
        if s.is_empty() {
            Ok(String::new())
        } else {
            f(s)
        }
    };
    value
        .split('\\')
        .map(|item| {
            let item = item.trim_matches(' ');
            if !item.is_ascii() {
                return Err(Malformed);
            }
            match separator(item.as_bytes())? {
                None => side(item),
                Some(_) if item.len() == 1 => Err(Malformed),
                Some(i) => Ok(format!("{}-{}", side(&item[..i])?, side(&item[i + 1..])?)),
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|items| items.join("\\"))
}

/// The range separator of a DA or TM item: its only `-`.
fn single_dash(item: &[u8]) -> Result<Option<usize>, DateError> {
    let mut dashes = item.iter().enumerate().filter(|(_, c)| **c == b'-');
    match (dashes.next(), dashes.next()) {
        (_, Some(_)) => Err(Malformed),
        (first, None) => Ok(first.map(|(i, _)| i)),
    }
}

/// The range separator of a DT item, telling it apart from offset signs by the
/// rule in the module documentation.
fn dt_range_separator(item: &[u8]) -> Result<Option<usize>, DateError> {
    let mut separator = None;
    let mut start = 0;
    for (i, _) in item.iter().enumerate().filter(|(_, c)| **c == b'-') {
        let before = &item[start..i];
        let after = &item[i + 1..];
        let offset_sign = before.len() >= 10
            && before[..10].iter().all(u8::is_ascii_digit)
            && !before.iter().any(|c| matches!(c, b'+' | b'-'))
            && after.get(..4).is_some_and(valid_offset)
            && after.get(4).is_none_or(|&c| c == b'-');
        if offset_sign {
            continue;
        }
        if separator.is_some() {
            return Err(Malformed);
        }
        separator = Some(i);
        start = i + 1;
    }
    Ok(separator)
}

/// Shifts a `YYYY`, `YYYYMM` or `YYYYMMDD` date, keeping its precision.
fn shift_date(digits: &[u8], days: i64) -> Result<String, DateError> {
    if !matches!(digits.len(), 4 | 6 | 8) {
        return Err(Malformed);
    }
    let field = |range: std::ops::Range<usize>| match digits.get(range) {
        Some(part) => number(part).ok_or(Malformed),
        None => Ok(1),
    };
    let year = field(0..4)?;
    if year == 0 {
        return Err(Malformed);
    }
    let date = NaiveDate::from_ymd_opt(year as i32, field(4..6)?, field(6..8)?).ok_or(Malformed)?;
    let step = Days::new(days.unsigned_abs());
    let shifted = if days >= 0 {
        date.checked_add_days(step)
    } else {
        date.checked_sub_days(step)
    }
    .filter(|d| (1..=9999).contains(&d.year()))
    .ok_or(OutOfRange)?;
    let full = format!(
        "{:04}{:02}{:02}",
        shifted.year(),
        shifted.month(),
        shifted.day()
    );
    Ok(full[..digits.len()].to_owned())
}

/// `HH`, `HHMM` or `HHMMSS` with each field in range.
fn valid_time(digits: &[u8]) -> bool {
    matches!(digits.len(), 2 | 4 | 6)
        && digits
            .chunks(2)
            .zip([23, 59, 60])
            .all(|(part, max)| number(part).is_some_and(|n| n <= max))
}

/// One to six fraction digits.
fn valid_fraction(digits: &[u8]) -> bool {
    (1..=6).contains(&digits.len()) && digits.iter().all(u8::is_ascii_digit)
}

/// The `HHMM` of a UTC offset, without its sign.
fn valid_offset(hhmm: &[u8]) -> bool {
    hhmm.len() == 4
        && number(&hhmm[..2]).is_some_and(|h| h <= 14)
        && number(&hhmm[2..]).is_some_and(|m| m <= 59)
}

/// Decimal value of a short, non-empty run of ASCII digits.
fn number(digits: &[u8]) -> Option<u32> {
    (!digits.is_empty() && digits.len() <= 9 && digits.iter().all(u8::is_ascii_digit))
        .then(|| digits.iter().fold(0, |n, c| n * 10 + u32::from(c - b'0')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ages_fall_into_bands_and_dates_lose_precision() {
        assert_eq!(band_age("047Y", 5).unwrap(), "045Y");
        assert_eq!(band_age("045Y", 5).unwrap(), "045Y");
        assert_eq!(band_age("089Y", 10).unwrap(), "080Y");
        assert_eq!(band_age("093Y", 5).unwrap(), "090Y");
        assert_eq!(band_age("030M", 5).unwrap(), "000Y");
        assert_eq!(band_age("", 5).unwrap(), "");
        assert!(band_age("4x7Y", 5).is_err());
        assert_eq!(
            truncate("20190714", false, Precision::Year).unwrap(),
            "20190101"
        );
        assert_eq!(
            truncate("20190714", false, Precision::Month).unwrap(),
            "20190701"
        );
        assert_eq!(
            truncate("20190714-20200101", false, Precision::Year).unwrap(),
            "20190101-20200101"
        );
        assert_eq!(
            truncate("20190714103000.5+0100", true, Precision::Month).unwrap(),
            "201907"
        );
        assert!(truncate("2019", false, Precision::Year).is_err());
        assert!(truncate("July 2019", false, Precision::Year).is_err());
    }

    fn da(value: &str, days: i64) -> String {
        shift_da(value, days).unwrap()
    }

    fn dt(value: &str, days: i64) -> String {
        shift_dt(value, days).unwrap()
    }

    fn ymd(date: NaiveDate) -> String {
        format!("{:04}{:02}{:02}", date.year(), date.month(), date.day())
    }

    #[test]
    fn da_full_dates() {
        assert_eq!(da("20200101", 0), "20200101");
        assert_eq!(da("20200101", 10), "20200111");
        assert_eq!(da("20200229", 365), "20210228");
        assert_eq!(da("20200228", 1), "20200229");
        assert_eq!(da("20190228", 1), "20190301");
        assert_eq!(da("20201231", 1), "20210101");
        assert_eq!(da("20210101", -1), "20201231");
        assert_eq!(da("20200315", -366), "20190315");
        assert_eq!(da("20200315", -367), "20190314");
        assert_eq!(da("19000301", -1), "19000228");
        assert_eq!(da("20000301", -1), "20000229");
        assert_eq!(da("00010101", 0), "00010101");
        assert_eq!(da("99991231", 0), "99991231");
    }

    #[test]
    fn da_padding_and_empty() {
        assert_eq!(da("20200101 ", 1), "20200102");
        assert_eq!(da("  20200101  ", 1), "20200102");
        assert_eq!(da("", 5), "");
        assert_eq!(da("  ", 5), "");
        assert_eq!(da(" ", 5), "");
    }

    #[test]
    fn da_partial_dates_keep_precision() {
        assert_eq!(da("2020", 0), "2020");
        assert_eq!(da("2020", 365), "2020");
        assert_eq!(da("2020", 366), "2021");
        assert_eq!(da("2020", -1), "2019");
        assert_eq!(da("202012", 30), "202012");
        assert_eq!(da("202012", 31), "202101");
        assert_eq!(da("202003", -1), "202002");
        assert_eq!(da("202002", 29), "202003");
    }

    #[test]
    fn da_legacy_form() {
        assert_eq!(da("2020.02.29", 1), "20200301");
        assert_eq!(da("1999.12.31 ", 1), "20000101");
        assert_eq!(da("2020.01.01-2020.12.31", 1), "20200102-20210101");
        for bad in [
            "2020.02.30",
            "2020.1.01",
            "2020.01",
            "2020.01.1",
            "2020-01-01",
            "2020/01/01",
        ] {
            assert_eq!(shift_da(bad, 1), Err(Malformed), "{bad:?}");
        }
    }

    #[test]
    fn da_ranges() {
        assert_eq!(da("20200101-20201231", 1), "20200102-20210101");
        assert_eq!(da("-20201231", 1), "-20210101");
        assert_eq!(da("20200101-", -1), "20191231-");
        assert_eq!(da("2020-202006", 366), "2021-202106");
        assert_eq!(da("20200101-20201231 ", 1), "20200102-20210101");
        for bad in [
            "-",
            "--",
            "2020-2021-2022",
            "20200101--20200102",
            "20200101-x",
        ] {
            assert_eq!(shift_da(bad, 1), Err(Malformed), "{bad:?}");
        }
    }

    #[test]
    fn da_multi_valued() {
        assert_eq!(da("20200101\\20210615", 1), "20200102\\20210616");
        assert_eq!(
            da("20200101 \\ 2021\\-20220101", 366),
            "20210101\\2022\\-20230102"
        );
        assert_eq!(da("20200101\\\\20200103", 1), "20200102\\\\20200104");
        assert_eq!(shift_da("20200101\\2020013", 1), Err(Malformed));
        assert_eq!(shift_da("20200101\\99991231", 1), Err(OutOfRange));
    }

    #[test]
    fn da_out_of_range() {
        assert_eq!(shift_da("99991231", 1), Err(OutOfRange));
        assert_eq!(shift_da("00010101", -1), Err(OutOfRange));
        assert_eq!(shift_da("9999", 365), Err(OutOfRange));
        assert_eq!(da("9999", 364), "9999");
        assert_eq!(shift_da("20200101", i64::MAX), Err(OutOfRange));
        assert_eq!(shift_da("20200101", i64::MIN), Err(OutOfRange));
        assert_eq!(shift_da("20200101", 1 << 40), Err(OutOfRange));
        assert_eq!(da("20200101", 0), "20200101");
    }

    #[test]
    fn da_malformed() {
        let long = "2".repeat(100_000);
        let bad = [
            "2020013",
            "202001011",
            "20201301",
            "20200001",
            "20200100",
            "20200230",
            "20210229",
            "19000229",
            "00000101",
            "0000",
            "abcdefgh",
            "2020 0101",
            "2020010a",
            "+2020",
            "2020+0101",
            "20200101.",
            "\0",
            "20200101\0",
            "\u{ff12}\u{ff10}\u{ff12}\u{ff10}",
            "20200101é",
            "é",
            "2020\t",
            "\t20200101",
            "20",
            "202",
            "20200",
            &long,
        ];
        for value in bad {
            assert_eq!(shift_da(value, 1), Err(Malformed), "{value:?}");
        }
    }

    #[test]
    fn dt_forms() {
        assert_eq!(dt("2020", 366), "2021");
        assert_eq!(dt("202012", 31), "202101");
        assert_eq!(dt("20201231", 1), "20210101");
        assert_eq!(dt("2020123123", 1), "2021010123");
        assert_eq!(dt("202012312359", 1), "202101012359");
        assert_eq!(dt("20201231235960", 1), "20210101235960");
        assert_eq!(dt("20201231235959.1", 1), "20210101235959.1");
        assert_eq!(dt("20201231235959.123456", 1), "20210101235959.123456");
        assert_eq!(dt("20200229000000", 365), "20210228000000");
        assert_eq!(dt("20200101120000", -1), "20191231120000");
        assert_eq!(dt(" 20200101120000 ", 0), "20200101120000");
        assert_eq!(dt("", 1), "");
    }

    #[test]
    fn dt_offsets() {
        assert_eq!(dt("20200101120000+0100", 1), "20200102120000+0100");
        assert_eq!(dt("20200101120000-0500", 1), "20200102120000-0500");
        assert_eq!(dt("20200101120000.5-0500", 1), "20200102120000.5-0500");
        assert_eq!(
            dt("20201231235959.123456+1400", 1),
            "20210101235959.123456+1400"
        );
        assert_eq!(dt("2020010112-1200", -1), "2019123112-1200");
        assert_eq!(dt("2020+0100", 366), "2021+0100");
        assert_eq!(dt("20200101+0000", 1), "20200102+0000");
        assert_eq!(dt("202001011230-1459", 1), "202001021230-1459");
    }

    #[test]
    fn dt_ranges() {
        assert_eq!(dt("2020-2021", 366), "2021-2022");
        assert_eq!(
            dt("20200101120000-20200102120000", 1),
            "20200102120000-20200103120000"
        );
        assert_eq!(dt("-20200101120000", 1), "-20200102120000");
        assert_eq!(dt("20200101120000-", 1), "20200102120000-");
        assert_eq!(
            dt("20200101120000+0100-20200102120000+0100", 1),
            "20200102120000+0100-20200103120000+0100"
        );
        assert_eq!(
            dt("20200101\\20200101120000-20200102", 1),
            "20200102\\20200102120000-20200103"
        );
        for bad in [
            "-",
            "2020-2021-2022",
            "20200101--20200102",
            "20200101-0500-0600",
        ] {
            assert_eq!(shift_dt(bad, 1), Err(Malformed), "{bad:?}");
        }
    }

    #[test]
    fn dt_dash_is_offset_only_after_an_hour_with_four_valid_digits() {
        // Offset: follows YYYYMMDDHH.., four digits forming a valid offset, then end or '-'.
        assert_eq!(dt("2020010112-0500", 366), "2021010112-0500");
        assert_eq!(dt("2020010112-0500-", 366), "2021010112-0500-");
        assert_eq!(dt("-2020010112-0500", 366), "-2021010112-0500");
        assert_eq!(
            dt("2020010112-0500-2020010212-0500", 366),
            "2021010112-0500-2021010212-0500"
        );
        // Range: no hour before the '-', so the four digits are a year.
        assert_eq!(dt("20200101-0500", 366), "20210101-0501");
        assert_eq!(dt("2020-0100", 366), "2021-0101");
        // Range: the digits are not a valid offset (HH > 14 or MM > 59).
        assert_eq!(dt("2020010112-2021", 366), "2021010112-2022");
        assert_eq!(dt("202001011230-1460", 366), "202101011230-1461");
        // Range: not exactly four digits after the '-'.
        assert_eq!(dt("2020010112-050001", 366), "2021010112-050101");
        // Range: the left side already has an offset.
        assert_eq!(dt("2020010112+0100-0500", 366), "2021010112+0100-0501");
        assert_eq!(dt("2020010112-0500-0600", 366), "2021010112-0500-0601");
    }

    #[test]
    fn dt_malformed() {
        let bad = [
            "20200101.5",
            "2020010112.5",
            "2020010124",
            "202001011260",
            "20200101120061",
            "20200101120000.",
            "20200101120000.1234567",
            "20200101120000.12a",
            "20200101+1500",
            "20200101120000+0160",
            "2020010112+01",
            "2020010112+01000",
            "20200101120000Z",
            "202001011",
            "20200230",
            "00001231",
            "2020 0101",
            "20200101 120000",
            "20200101120000+-0100",
            "20200101120000++0100",
            "+0100",
            "2020.01.01",
            "é",
            "\0",
        ];
        for value in bad {
            assert_eq!(shift_dt(value, 1), Err(Malformed), "{value:?}");
        }
        assert_eq!(shift_dt("99991231235959", 1), Err(OutOfRange));
        assert_eq!(shift_dt("0001+0100", -1), Err(OutOfRange));
    }

    #[test]
    fn tm_valid() {
        let good = [
            "",
            " ",
            "00",
            "23",
            "0000",
            "2359",
            "235959",
            "235960",
            "235959.1",
            "235959.123456",
            "000000.000000",
            "12:30",
            "12:30:45",
            "12:30:45.5",
            "1200 ",
            "0800-1700",
            "-1700",
            "0800-",
            "08:00-17:00",
            "1200\\1300",
            "1200\\\\1300",
            "120000.5-130000",
        ];
        for value in good {
            assert_eq!(check_tm(value), Ok(()), "{value:?}");
        }
    }

    #[test]
    fn tm_malformed() {
        let bad = [
            "1",
            "123",
            "12345",
            "1234567",
            "24",
            "2400",
            "1260",
            "123061",
            "12.5",
            "1230.5",
            "123000.",
            "123000.1234567",
            "123000.12a",
            "12:3",
            "12:30:",
            ":12:30",
            "12:30:45:00",
            "12::30",
            "1:30",
            "12:30.5",
            "-",
            "12-13-14",
            "12:60",
            "24:00",
            "1200\\25",
            "\u{ff11}\u{ff12}",
            "12 00",
            "\0",
            "12h",
        ];
        for value in bad {
            assert_eq!(check_tm(value), Err(Malformed), "{value:?}");
        }
    }

    #[test]
    fn ages() {
        let cases = [
            ("089Y", "089Y"),
            ("090Y", "090Y"),
            ("095Y", "090Y"),
            ("120M", "120M"),
            ("1079M", "1079M"),
            ("1080M", "090Y"),
            ("1200M", "090Y"),
            ("4696W", "4696W"),
            ("4697W", "090Y"),
            ("5000W", "090Y"),
            ("999D", "999D"),
            ("9999D", "9999D"),
            ("000D", "000D"),
            ("5Y", "5Y"),
            ("089Y ", "089Y"),
            ("", ""),
            ("  ", ""),
        ];
        for (value, expected) in cases {
            assert_eq!(cap_age(value).as_deref(), Ok(expected), "{value:?}");
        }
        let bad = [
            "040000D",
            "abcd",
            "Y",
            "089",
            "089y",
            "089X",
            "-89Y",
            "+89Y",
            "08 9Y",
            "089Y\\090Y",
            "\u{ff10}89Y",
            "089Yé",
            "é",
            "\0",
            "12345Y",
        ];
        for value in bad {
            assert_eq!(cap_age(value), Err(Malformed), "{value:?}");
        }
    }

    #[test]
    fn offsets_cover_range_evenly() {
        assert_eq!(offset_in_range(123, 5, 5), 5);
        assert_eq!(offset_in_range(123, 5, -5), 5);
        assert_eq!(offset_in_range(0, -30, 30), -30);
        assert_eq!(offset_in_range(u64::MAX, -30, 30), 30);
        assert_eq!(offset_in_range(0, i64::MIN, i64::MAX), i64::MIN);
        assert_eq!(offset_in_range(u64::MAX, i64::MIN, i64::MAX), i64::MAX);
        let (lo, hi) = (-3i64, 6i64);
        let mut counts = [0u32; 10];
        let samples = 100_000u64;
        for i in 0..samples {
            let hash = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (i >> 7);
            counts[(offset_in_range(hash, lo, hi) - lo) as usize] += 1;
        }
        for count in counts {
            assert!((9_500..=10_500).contains(&count), "{counts:?}");
        }
    }

    #[test]
    fn errors_do_not_leak_values() {
        assert_eq!(Malformed.to_string(), "malformed date/time value");
        assert_eq!(OutOfRange.to_string(), "date out of range after shifting");
        let err: Box<dyn std::error::Error> = Box::new(Malformed);
        assert!(!err.to_string().contains("2020"));
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        // Every day from 0001-01-01 to 9999-12-31.
        (1i32..=3_652_059).prop_map(|n| NaiveDate::from_num_days_from_ce_opt(n).unwrap())
    }

    /// Valid DTs with full dates; a '-' offset only after an hour, as the separator rule requires.
    fn any_dt() -> impl Strategy<Value = String> {
        let fraction = proptest::option::of("[0-9]{1,6}")
            .prop_map(|f| f.map_or(String::new(), |f| format!(".{f}")));
        let time = prop_oneof![
            (0u32..24).prop_map(|h| format!("{h:02}")),
            (0u32..24, 0u32..60).prop_map(|(h, m)| format!("{h:02}{m:02}")),
            (0u32..24, 0u32..60, 0u32..61, fraction)
                .prop_map(|(h, m, s, f)| format!("{h:02}{m:02}{s:02}{f}")),
        ];
        let offset = |signs| {
            proptest::option::of((signs, 0u32..15, 0u32..60))
                .prop_map(|o| o.map_or(String::new(), |(sign, h, m)| format!("{sign}{h:02}{m:02}")))
        };
        let date = || any_date().prop_map(ymd);
        prop_oneof![
            (date(), offset("[+]")).prop_map(|(d, o)| d + &o),
            (date(), time, offset("[+-]")).prop_map(|(d, t, o)| d + &t + &o),
        ]
    }

    proptest! {
        #[test]
        fn da_keeps_intervals(a in any_date(), b in any_date(), days in -100_000i64..=100_000) {
            let shifted = [a, b].map(|date| {
                let expected = date.checked_add_signed(chrono::TimeDelta::days(days));
                match shift_da(&ymd(date), days) {
                    Ok(s) => {
                        let s = NaiveDate::parse_from_str(&s, "%Y%m%d").unwrap();
                        assert_eq!(Some(s), expected);
                        Some(s)
                    }
                    Err(e) => {
                        assert_eq!(e, OutOfRange);
                        assert!(expected.is_none_or(|d| !(1..=9999).contains(&d.year())));
                        None
                    }
                }
            });
            if let [Some(sa), Some(sb)] = shifted {
                prop_assert_eq!(sb - sa, b - a);
            }
        }

        #[test]
        fn da_is_deterministic_and_reversible(a in any_date(), days in -100_000i64..=100_000) {
            let value = ymd(a);
            let once = shift_da(&value, days);
            prop_assert_eq!(&once, &shift_da(&value, days));
            if let Ok(shifted) = once {
                prop_assert_eq!(shift_da(&shifted, -days), Ok(value));
            }
        }

        #[test]
        fn partial_da_keeps_precision(a in any_date(), days in -100_000i64..=100_000) {
            for len in [4, 6] {
                let value = &ymd(a)[..len];
                if let Ok(shifted) = shift_da(value, days) {
                    prop_assert_eq!(shifted.len(), len);
                    prop_assert_eq!(shift_da(&shifted, 0), Ok(shifted.clone()));
                }
            }
        }

        #[test]
        fn dt_round_trips(a in any_dt(), b in any_dt(), days in -100_000i64..=100_000) {
            for value in [a.clone(), format!("{a}-{b}"), format!("-{b}"), format!("{a}-"), format!("{a}\\{b}")] {
                prop_assert_eq!(shift_dt(&value, 0), Ok(value.clone()));
                let once = shift_dt(&value, days);
                prop_assert_eq!(&once, &shift_dt(&value, days));
                if let Ok(shifted) = once {
                    prop_assert_eq!(shift_dt(&shifted, -days), Ok(value));
                }
            }
        }

        #[test]
        fn dt_keeps_time_and_date_intervals(a in any_dt(), b in any_dt(), days in -100_000i64..=100_000) {
            if let (Ok(sa), Ok(sb)) = (shift_dt(&a, days), shift_dt(&b, days)) {
                prop_assert_eq!(&sa[8..], &a[8..]);
                prop_assert_eq!(&sb[8..], &b[8..]);
                let date = |s: &str| NaiveDate::parse_from_str(&s[..8], "%Y%m%d").unwrap();
                prop_assert_eq!(date(&sb) - date(&sa), date(&b) - date(&a));
                prop_assert_eq!(date(&sa) - date(&a), chrono::TimeDelta::days(days));
            }
        }

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>(), days in any::<i64>()) {
            let _ = shift_da(&s, days);
            let _ = shift_dt(&s, days);
            let _ = check_tm(&s);
            let _ = cap_age(&s);
        }

        #[test]
        fn date_like_strings_never_panic(s in "[0-9.:+\\- \\\\\0éYMWD]{0,40}", days in any::<i64>()) {
            let _ = shift_da(&s, days);
            let _ = shift_dt(&s, days);
            let _ = check_tm(&s);
            let _ = cap_age(&s);
        }

        #[test]
        fn offset_stays_in_range(hash in any::<u64>(), a in any::<i64>(), b in any::<i64>()) {
            let (lo, hi) = (a.min(b), a.max(b));
            let offset = offset_in_range(hash, lo, hi);
            prop_assert!((lo..=hi).contains(&offset));
        }

        #[test]
        fn offsets_reach_both_ends(lo in -1_000_000i64..1_000_000, width in 0i64..20, seed in any::<u64>()) {
            let hi = lo + width;
            let hits: Vec<i64> = (0..2_000u64)
                .map(|i| offset_in_range(seed.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)), lo, hi))
                .collect();
            prop_assert!(hits.contains(&lo) && hits.contains(&hi));
        }
    }
}
