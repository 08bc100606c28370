//! Dates in free text moved by the patient's day offset, in the spelling they were written
//! in ("03.04.2021" stays day-month-year with two-digit fields, "Jan 2nd, 2021" keeps its
//! abbreviation, ordinal and case), so a description stays readable.
//!
//! Only spellings whose order is certain are shifted: year first, a month name, dotted
//! day.month.year, or a slash or hyphen date whose day is over 12. "03/04/2021" could be
//! either order and is masked instead, as are compact numbers ("20210403", which could be an
//! ID) and a month with a year but no day.

use std::ops::Range;
use std::sync::LazyLock;

use chrono::NaiveDate;
use regex::{Captures, Regex};

use crate::dicom::dates::MONTH_NAMES;

/// The date spellings with their fields as named groups (`y`, `m` or `mon`, `d`, `ord`).
static SPELLINGS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"^(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})$",
        r"^(?P<a>\d{1,2})(?P<sep>[-/.])(?P<b>\d{1,2})[-/.](?P<y>\d{4}|\d{2})$",
        r"(?i)^(?P<d>\d{1,2})(?P<ord>st|nd|rd|th)?[-/.\s]*(?P<mon>[a-z]+)\.?[-/.,\s]*(?P<y>\d{4}|\d{2})$",
        r"(?i)^(?P<mon>[a-z]+)\.?[-/\s]*(?P<d>\d{1,2})(?P<ord>st|nd|rd|th)?,?[-/.\s]*(?P<y>\d{4})$",
    ]
    .iter()
    .map(|p| Regex::new(p).expect("a valid date spelling"))
    .collect()
});

/// `date` moved by `days`, spelt as it was; `None` when its spelling or order is uncertain
/// (the caller masks it then).
pub fn shift(date: &str, days: i64) -> Option<String> {
    let date = date.trim();
    SPELLINGS.iter().find_map(|re| {
        let caps = re.captures(date)?;
        let fields = Fields::read(&caps)?;
        let moved = fields
            .date
            .checked_add_signed(chrono::TimeDelta::days(days))?;
        Some(fields.write(date, moved))
    })
}

/// Where each field of a date sits in its text, and the date it spells.
struct Fields {
    date: NaiveDate,
    year: Range<usize>,
    month: Range<usize>,
    month_named: bool,
    /// The month's name was written in full (else as an abbreviation).
    month_full: bool,
    day: Range<usize>,
    ordinal: Option<Range<usize>>,
}

impl Fields {
    fn read(caps: &Captures) -> Option<Fields> {
        let (month, day, month_named) = if let (Some(a), Some(b)) = (caps.name("a"), caps.name("b"))
        {
            let (x, y): (u32, u32) = (a.as_str().parse().ok()?, b.as_str().parse().ok()?);
            let dotted = caps.name("sep").is_some_and(|s| s.as_str() == ".");
            if dotted || x > 12 {
                (b, a, false)
            } else if y > 12 {
                (a, b, false)
            } else {
                return None;
            }
        } else if let Some(mon) = caps.name("mon") {
            (mon, caps.name("d")?, true)
        } else {
            (caps.name("m")?, caps.name("d")?, false)
        };
        let y = caps.name("y")?;
        let year: i32 = match y.as_str().parse::<i32>().ok()? {
            short if y.len() == 2 => 2000 + short - if short > 50 { 100 } else { 0 },
            full => full,
        };
        let month_number = if month_named {
            let name = month.as_str().to_lowercase();
            if name.len() < 3 {
                return None;
            }
            let index = MONTH_NAMES
                .iter()
                .position(|m| m.starts_with(&name) || (name == "sept" && *m == "september"))?;
            u32::try_from(index).ok()? + 1
        } else {
            month.as_str().parse().ok()?
        };
        let date = NaiveDate::from_ymd_opt(year, month_number, day.as_str().parse().ok()?)?;
        let full_name = MONTH_NAMES[month_number as usize - 1];
        Some(Fields {
            date,
            year: y.range(),
            month: month.range(),
            month_named,
            month_full: month.len() == full_name.len(),
            day: day.range(),
            ordinal: caps.name("ord").map(|m| m.range()),
        })
    }

    /// `text` with each field replaced by that of `moved`, in the field's style.
    fn write(&self, text: &str, moved: NaiveDate) -> String {
        use chrono::Datelike;
        let number = |old: &str, n: u32| {
            if old.len() == 2 {
                format!("{n:02}")
            } else {
                n.to_string()
            }
        };
        let year_text = &text[self.year.clone()];
        let year = if year_text.len() == 2 {
            format!("{:02}", moved.year().rem_euclid(100))
        } else {
            moved.year().to_string()
        };
        let month_text = &text[self.month.clone()];
        let month = if self.month_named {
            let full = MONTH_NAMES[moved.month0() as usize];
            let name = if self.month_full { full } else { &full[..3] };
            same_case(month_text, name)
        } else {
            number(month_text, moved.month())
        };
        let day = number(&text[self.day.clone()], moved.day());
        let mut parts: Vec<(Range<usize>, String)> = vec![
            (self.year.clone(), year),
            (self.month.clone(), month),
            (self.day.clone(), day),
        ];
        if let Some(ordinal) = &self.ordinal {
            parts.push((
                ordinal.clone(),
                same_case(&text[ordinal.clone()], suffix(moved.day())),
            ));
        }
        parts.sort_by_key(|(r, _)| r.start);
        let mut out = String::with_capacity(text.len() + 4);
        let mut at = 0;
        for (range, new) in parts {
            out.push_str(&text[at..range.start]);
            out.push_str(&new);
            at = range.end;
        }
        out.push_str(&text[at..]);
        out
    }
}

fn suffix(day: u32) -> &'static str {
    match day {
        1 | 21 | 31 => "st",
        2 | 22 => "nd",
        3 | 23 => "rd",
        _ => "th",
    }
}

/// `word` (lower case) in the case of `like`: all upper, capitalised, or lower.
fn same_case(like: &str, word: &str) -> String {
    let letters: Vec<char> = like.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() > 1 && letters.iter().all(|c| c.is_uppercase()) {
        word.to_uppercase()
    } else if letters.first().is_some_and(|c| c.is_uppercase()) {
        let mut c = word.chars();
        c.next()
            .map(|f| f.to_uppercase().chain(c).collect())
            .unwrap_or_default()
    } else {
        word.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_in_the_same_spelling() {
        for (date, days, want) in [
            ("2021-11-30", 2, Some("2021-12-02")),
            ("2021/1/5", -10, Some("2020/12/26")),
            ("30.11.2021", 1, Some("01.12.2021")),
            ("30/11/2021", 1, Some("01/12/2021")),
            ("11/30/2021", 1, Some("12/01/2021")),
            ("03/04/2021", 1, None),
            ("2 Jan 1970", 30, Some("1 Feb 1970")),
            ("JAN 2, 1970", -2, Some("DEC 31, 1969")),
            ("January 2nd, 1970", 1, Some("January 3rd, 1970")),
            ("12-JAN-21", 20, Some("01-FEB-21")),
            ("Sept 3 2020", 1, Some("Sep 4 2020")),
            ("31.02.2021", 1, None),
        ] {
            assert_eq!(shift(date, days).as_deref(), want, "{date}");
        }
    }
}
