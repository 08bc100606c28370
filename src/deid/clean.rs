//! Clean Descriptors (DICOM PS3.15 Annex E "Retain … with Clean Descriptors" option).
//!
//! Free-text descriptive attributes are kept, but identifying text inside them is replaced
//! by [`MASK`]. The identifying values of a file are gathered first into [`Identifiers`];
//! [`clean_text`] then masks, in each value:
//!
//! * **Tokens of the file.** Person names (each component and each word of at least two
//!   letters, plus family and given name together in either order; titles such as "Dr",
//!   "Mrs", "MD", "Jr", "III" are never tokens), identifiers (whole value, at least two
//!   characters), organisation and place phrases (the whole phrase, and each word of at
//!   least four letters or a number of at least five digits that is not a common word
//!   such as "hospital" or "radiology") and the birth date in its common spellings
//!   (ISO, D/M/Y, M/D/Y, dotted, compact, "2 Jan 1970", "Jan 2, 1970", also with a
//!   two-digit year, and "2 Jan" / "Jan 2" without year).
//!   Backslash-separated multi-values are split into separate values.
//! * **What the free-text recogniser finds** ([`crate::deid::freetext`]): names by word
//!   lists and by the titles and roles before them, institutions, addresses, URLs, ages over
//!   89, IDs, month-year dates. File tokens are also taken in their accent- and
//!   punctuation-folded spellings, and a phrase of clinical words only is not taken.
//!   Dates found by either are shifted instead of masked when [`Identifiers::shift_dates`]
//!   was called and their order is certain.
//! * **Generic identifiers**, whatever the file contains: e-mail addresses, phone numbers
//!   (at least seven digits in groups of two or more, with optional `+` country code,
//!   parenthesised area code and space/dot/hyphen separators), dates in the spellings
//!   above with a four-digit year (1800–2199; two-digit years only in numeric D/M/Y or
//!   M/D/Y form) and every run of six or more digits. Short numbers ("5 mm", "T2", "C3-C5",
//!   "series 12") stay.
//!
//! Matching is case-insensitive (Unicode simple case folding). A token matches only on
//! word boundaries: the characters next to it must not be letters, digits or combining
//! marks, so "ann" does not mask "annual" and "12345" does not mask "A12345". An edge
//! that is itself punctuation needs no boundary. Chinese, Japanese and Korean script has
//! no word boundaries, so a token edge in that script matches anywhere, and CJK
//! characters count as boundaries for neighbouring Latin tokens. Whitespace inside a
//! token matches any run of whitespace (or none between CJK characters).
//!
//! Masked runs separated only by spaces and punctuation collapse into one [`MASK`]
//! ("DOE, JOHN" becomes "***"); a backslash is never collapsed, so the value
//! multiplicity survives. A value is emptied when it cannot be tokenised reliably
//! (control characters other than tab, CR, LF and FF, including ESC of ISO 2022 code
//! extensions, or U+FFFD from undecodable bytes). Masking can expose a token that was glued
//! to masked text ("Lee123456" becomes "Lee***"), so masking is repeated; a value that
//! still holds a token after a few rounds is emptied as well.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use aho_corasick::{AhoCorasick, MatchKind};

use crate::deid::freetext;
use crate::dicom::dates::{MONTH_NAMES, month_pattern, parse_da};
use regex::{Regex, RegexBuilder};
use regex_syntax::hir::{Class, ClassUnicode, ClassUnicodeRange, HirKind};

/// The fixed text that stands in for each masked run.
pub const MASK: &str = "***";

/// Masking rounds before a value whose tokens keep reappearing is given up as unsafe.
const MAX_PASSES: usize = 4;

/// Name words that are not identifying on their own.
pub(crate) const TITLES: &[&str] = &[
    "dr", "mr", "mrs", "ms", "miss", "mx", "prof", "md", "phd", "jr", "sr", "ii", "iii", "iv",
];

/// Words of organisation and place names that would mask ordinary medical text.
const COMMON_WORDS: &[&str] = &[
    "hospital",
    "hospitals",
    "clinic",
    "clinics",
    "clinical",
    "klinik",
    "klinikum",
    "krankenhaus",
    "center",
    "centre",
    "medical",
    "medicine",
    "health",
    "healthcare",
    "university",
    "institute",
    "general",
    "memorial",
    "regional",
    "community",
    "national",
    "county",
    "street",
    "strasse",
    "road",
    "avenue",
    "suite",
    "floor",
    "building",
    "room",
    "north",
    "south",
    "east",
    "west",
    "department",
    "radiology",
    "imaging",
    "diagnostic",
    "diagnostics",
    "services",
    "unit",
    "ward",
];

/// Scripts written without spaces between words: Hangul, CJK ideographs, kana.
const CJK: &[(char, char)] = &[
    ('\u{1100}', '\u{11FF}'),
    ('\u{2E80}', '\u{2FDF}'),
    ('\u{3040}', '\u{30FF}'),
    ('\u{3130}', '\u{318F}'),
    ('\u{31F0}', '\u{31FF}'),
    ('\u{3400}', '\u{4DBF}'),
    ('\u{4E00}', '\u{9FFF}'),
    ('\u{AC00}', '\u{D7AF}'),
    ('\u{F900}', '\u{FAFF}'),
    ('\u{FF66}', '\u{FF9F}'),
    ('\u{20000}', '\u{3134F}'),
];

/// E-mail addresses, six-digit runs and dates of any day, built once per process.
static GENERIC: LazyLock<Regex> = LazyLock::new(|| {
    let day = "(?:0?[1-9]|[12][0-9]|3[01])";
    let mon = "(?:0?[1-9]|1[0-2])";
    let year = "(?:1[89]|2[01])[0-9]{2}";
    let name = MONTH_NAMES.map(month_pattern).join("|");
    let patterns = [
        r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+".to_owned(),
        r"\d{6,}".to_owned(),
        format!(r"(?-u:\b){year}[-/.]{mon}[-/.]{day}(?-u:\b)"),
        format!(r"(?-u:\b)(?:{day}[-/.]{mon}|{mon}[-/.]{day})[-/.](?:{year}|[0-9]{{2}})(?-u:\b)"),
        format!(r"(?-u:\b){day}(?:st|nd|rd|th)?[-/.\s]*(?:{name})\.?[-/.,\s]*{year}(?-u:\b)"),
        format!(r"(?-u:\b)(?:{name})\.?[-/\s]*{day}(?:st|nd|rd|th)?,?[-/.\s]*{year}(?-u:\b)"),
    ];
    RegexBuilder::new(&patterns.join("|"))
        .case_insensitive(true)
        .build()
        .expect("generic patterns are valid")
});

/// Phone number candidates; those with fewer than seven digits are dropped after matching.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d{2,}(?:[\s.-]\d{2,})*")
        .expect("phone pattern is valid")
});

/// The identifying values of one file, gathered before any attribute is changed.
#[derive(Default, Clone)]
pub struct Identifiers {
    tokens: BTreeSet<String>,
    dates: BTreeSet<(u16, u8, u8)>,
    /// Built on first use so that all attributes of a file share one matcher; `None` if it
    /// cannot be built (then nothing can be cleaned safely).
    matcher: OnceLock<Option<Matcher>>,
    /// The patient's day offset when the profile shifts dates: dates in free text are then
    /// shifted rather than masked (the file's birth date is masked all the same).
    day_offset: Option<i64>,
}

/// Only the token count: the values are PHI and must never reach logs.
impl fmt::Debug for Identifiers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identifiers")
            .field("tokens", &(self.tokens.len() + self.dates.len()))
            .finish()
    }
}

impl Identifiers {
    pub fn new() -> Self {
        Self::default()
    }

    /// A person name in DICOM PN form: "Family^Given^Middle^Prefix^Suffix", possibly with
    /// '=' separated ideographic/phonetic groups. Each component and each word inside it of
    /// at least two letters is a token, except titles, which identify nobody. Family and
    /// given name together are tokens too, which catches one-character CJK names.
    pub fn add_person_name(&mut self, pn: &str) {
        for group in pn.split(['\\', '=']) {
            let parts: Vec<&str> = group.split('^').map(str::trim).collect();
            for part in &parts {
                self.add_name_part(part);
            }
            if let [family, given, ..] = parts[..]
                && !family.is_empty()
                && !given.is_empty()
            {
                self.add_name_part(&format!("{family} {given}"));
                self.add_name_part(&format!("{given} {family}"));
            }
        }
    }

    /// An identifier (PatientID, AccessionNumber, OtherPatientIDs, StudyID, …), masked as a
    /// whole token. Values shorter than two characters would mask ordinary numbers.
    pub fn add_id(&mut self, id: &str) {
        for value in id.split('\\').map(str::trim) {
            if value.chars().count() >= 2 {
                self.add_token(value);
            }
        }
    }

    /// A DA birth date (YYYYMMDD, or the old YYYY.MM.DD), masked in its common spellings.
    /// A value that is not a valid date is masked verbatim like an identifier.
    pub fn add_date(&mut self, da: &str) {
        for value in da.split('\\').map(str::trim) {
            match parse_da(value) {
                Some(date) => {
                    self.dates.insert(date);
                    self.matcher.take();
                }
                None => self.add_id(value),
            }
        }
    }

    /// An organisation or place name (InstitutionName, InstitutionAddress, station names…):
    /// the whole phrase and each significant word become tokens. Common words such as
    /// "hospital" are left out because they would mask ordinary text.
    /// A value made only of clinical words ("ABDOMEN" in BranchOfService) is not taken: it
    /// sits in the wrong attribute and identifies nobody.
    pub fn add_phrase(&mut self, text: &str) {
        for value in text.split('\\') {
            if freetext::is_clinical_phrase(value) {
                continue;
            }
            let words: Vec<&str> = value
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            if value.chars().filter(|c| c.is_alphanumeric()).count() >= 4
                && words.iter().any(|w| !is_common(w))
            {
                self.add_token(value);
            }
            for word in words {
                let digits = word.chars().all(|c| c.is_ascii_digit());
                if (letters(word) >= 4 || (digits && word.len() >= 5)) && !is_common(word) {
                    self.add_token(word);
                }
            }
        }
    }

    /// Shift the dates of free text by `days` (where the profile shifts dates) instead of
    /// masking them.
    pub fn shift_dates(&mut self, days: i64) {
        self.day_offset = Some(days);
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty() && self.dates.is_empty()
    }

    /// A name part, each word of it, and the spellings free text folds them to
    /// ("O'BRIEN" → "OBRIEN", "MÜLLER" → "MULLER", see [`freetext::name_variants`]).
    fn add_name_part(&mut self, part: &str) {
        for spelling in std::iter::once(part.to_owned()).chain(freetext::name_variants(part)) {
            if is_name_token(&spelling) {
                self.add_token(&spelling);
            }
            for word in spelling.split(|c: char| !c.is_alphanumeric()) {
                if is_name_token(word) {
                    self.add_token(word);
                }
            }
        }
    }

    /// Stores a token with whitespace normalised; text without letters or digits never is
    /// identifying and could match the mask itself.
    fn add_token(&mut self, token: &str) {
        if token.chars().any(char::is_alphanumeric) {
            self.tokens
                .insert(token.split_whitespace().collect::<Vec<_>>().join(" "));
            self.matcher.take();
        }
    }

    fn matcher(&self) -> Option<&Matcher> {
        self.matcher.get_or_init(|| Matcher::build(self)).as_ref()
    }
}

/// The tokens and birth dates of one file, compiled for [`token_spans`].
///
/// It finds exactly what one case-insensitive regex of them would, with its leftmost-first
/// choice (the tests hold it to that regex, which it replaces): tokens in four groups by
/// which edges need a word boundary, `(?:^|B)` before and `(?:$|B)` after a bounded edge,
/// where B is one character that is not a letter, digit or mark, or is CJK, and is part of
/// the match; the longest tokens first within a group, and the dates last, in the group of
/// both edges bounded. Compiling that regex per file cost ~3 ms (NFA construction and
/// Unicode case folding); here the tokens go into an Aho-Corasick automaton of their case
/// folded forms, searched in the case folded text, and only the dates are a regex, kept
/// per set of dates for the whole run (a birth date recurs in every file of a patient).
#[derive(Clone)]
enum Matcher {
    Automaton(Automaton),
    /// Tokens spelt more than [`MAX_VARIANTS`] ways: the regex itself.
    Regex(Regex),
}

impl Matcher {
    fn build(ids: &Identifiers) -> Option<Matcher> {
        match Automaton::build(ids) {
            Some(automaton) => Some(Matcher::Automaton(automaton)),
            None => combined_regex(ids).map(Matcher::Regex),
        }
    }
}

/// The tokens (see [`Matcher`]) in an automaton, and the dates' regex.
#[derive(Clone)]
struct Automaton {
    /// The folded tokens (with their CJK spacing variants); `None` when there are none.
    tokens: Option<AhoCorasick>,
    /// For each automaton pattern, the regex alternative it stands for.
    patterns: Vec<Alternative>,
    dates: Option<Arc<Regex>>,
}

/// Where a token sits in the regex: its group (`2 * left bounded + right bounded`) and its
/// rank within the group.
#[derive(Clone, Copy)]
struct Alternative {
    group: u8,
    rank: u32,
}

/// A token is spelt at most this many ways (each space next to a CJK character may be
/// there or not); with more, the file's tokens go into the regex instead.
const MAX_VARIANTS: usize = 64;

impl Automaton {
    /// `None` when a token is spelt too many ways, or the dates do not compile.
    fn build(ids: &Identifiers) -> Option<Automaton> {
        let mut groups: [Vec<&str>; 4] = Default::default();
        for token in tokens_in_order(ids) {
            groups[group_of(token)].push(token);
        }
        let mut folded = Vec::new();
        let mut patterns = Vec::new();
        for (group, tokens) in groups.iter().enumerate() {
            for (rank, token) in tokens.iter().enumerate() {
                let alternative = Alternative {
                    group: group as u8,
                    rank: u32::try_from(rank).ok()?,
                };
                let variants = spellings(token)?;
                patterns.extend(std::iter::repeat_n(alternative, variants.len()));
                folded.extend(variants);
            }
        }
        let tokens = if folded.is_empty() {
            None
        } else {
            Some(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(&folded)
                    .ok()?,
            )
        };
        let dates = if ids.dates.is_empty() {
            None
        } else {
            Some(date_matcher(&ids.dates)?)
        };
        Some(Automaton {
            tokens,
            patterns,
            dates,
        })
    }
}

/// The tokens in the order of the regex's alternation: longest first, ties in set order.
fn tokens_in_order(ids: &Identifiers) -> Vec<&str> {
    let mut tokens: Vec<&str> = ids.tokens.iter().map(String::as_str).collect();
    tokens.sort_by_key(|t| Reverse(t.len()));
    tokens
}

/// Which of a token's edges need a word boundary: `2 * left + right`.
fn group_of(token: &str) -> usize {
    let bounded = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() && !is_cjk(c));
    usize::from(bounded(token.chars().next())) * 2 + usize::from(bounded(token.chars().next_back()))
}

/// The folded forms a token matches: words joined by one space (a run of whitespace in the
/// folded text), or by a space or nothing where a CJK character is on either side.
fn spellings(token: &str) -> Option<Vec<String>> {
    let mut variants = vec![String::new()];
    let mut prev: Option<char> = None;
    for word in token.split(' ') {
        if let Some(prev) = prev {
            if is_cjk(prev) || word.starts_with(is_cjk) {
                if variants.len() * 2 > MAX_VARIANTS {
                    return None;
                }
                let joined: Vec<String> = variants.iter().map(|v| format!("{v} ")).collect();
                variants.extend(joined);
            } else {
                variants.iter_mut().for_each(|v| v.push(' '));
            }
        }
        for v in &mut variants {
            v.extend(word.chars().map(fold_char));
        }
        prev = word.chars().next_back();
    }
    Some(variants)
}

/// The date alternatives of a set of dates, compiled once per set for the whole run.
fn date_matcher(dates: &BTreeSet<(u16, u8, u8)>) -> Option<Arc<Regex>> {
    /// A set of dates (year, month, day) and its compiled alternatives.
    type Cache = HashMap<Vec<(u16, u8, u8)>, Arc<Regex>>;
    static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Mutex::default);
    let key: Vec<(u16, u8, u8)> = dates.iter().copied().collect();
    if let Some(found) = CACHE.lock().ok()?.get(&key) {
        return Some(found.clone());
    }
    let alternatives: Vec<String> = dates.iter().map(|&date| date_pattern(date)).collect();
    let regex = Arc::new(
        RegexBuilder::new(&format!(
            "(?:^|{b})({})(?:$|{b})",
            alternatives.join("|"),
            b = *BOUNDARY
        ))
        .case_insensitive(true)
        .build()
        .ok()?,
    );
    let mut cache = CACHE.lock().ok()?;
    // A run meets few distinct birth dates per worker at a time; bound it all the same.
    if cache.len() >= 4096 {
        cache.clear();
    }
    cache.insert(key, regex.clone());
    Some(regex)
}

/// A word boundary of the regex: one character that is not a letter, digit or mark, or is CJK.
static BOUNDARY: LazyLock<String> = LazyLock::new(|| {
    let cjk: String = CJK
        .iter()
        .map(|&(a, b)| format!(r"\x{{{:X}}}-\x{{{:X}}}", u32::from(a), u32::from(b)))
        .collect();
    format!(r"[[^\p{{L}}\p{{N}}\p{{M}}]{cjk}]")
});

/// The characters [`BOUNDARY`] and `\s` match, as the regex crate reads them (case
/// insensitively, as the token regex did).
static BOUNDARY_CHARS: LazyLock<Vec<(char, char)>> = LazyLock::new(|| class_ranges(&BOUNDARY));
static WHITESPACE_CHARS: LazyLock<Vec<(char, char)>> = LazyLock::new(|| class_ranges(r"\s"));

fn class_ranges(pattern: &str) -> Vec<(char, char)> {
    let hir = regex_syntax::ParserBuilder::new()
        .case_insensitive(true)
        .build()
        .parse(pattern)
        .expect("a valid class");
    match hir.kind() {
        HirKind::Class(Class::Unicode(class)) => class
            .ranges()
            .iter()
            .map(|r| (r.start(), r.end()))
            .collect(),
        _ => panic!("not a Unicode class"),
    }
}

fn in_ranges(ranges: &[(char, char)], c: char) -> bool {
    ranges
        .binary_search_by(|&(a, b)| {
            if b < c {
                std::cmp::Ordering::Less
            } else if a > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

fn is_boundary(c: char) -> bool {
    in_ranges(&BOUNDARY_CHARS, c)
}

/// The least character of `c`'s simple case folding class: two characters match case
/// insensitively (as the regex crate matches them) exactly when they fold alike.
fn fold_char(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_uppercase();
    }
    let mut class = ClassUnicode::new([ClassUnicodeRange::new(c, c)]);
    class.case_fold_simple();
    class.ranges().first().map_or(c, ClassUnicodeRange::start)
}

/// `text` folded for the automaton: every character folded, every run of whitespace one
/// space; and for each byte offset of the result (and its end), the offset in `text`.
fn fold_text(text: &str) -> (String, Vec<usize>) {
    let mut folded = String::with_capacity(text.len());
    let mut offsets = Vec::with_capacity(text.len() + 1);
    let mut in_space = false;
    for (i, c) in text.char_indices() {
        if in_ranges(&WHITESPACE_CHARS, c) {
            if !in_space {
                folded.push(' ');
                offsets.push(i);
            }
            in_space = true;
            continue;
        }
        in_space = false;
        let f = fold_char(c);
        offsets.extend(std::iter::repeat_n(i, f.len_utf8()));
        folded.push(f);
    }
    offsets.push(text.len());
    (folded, offsets)
}

/// One way the regex could match: where the match starts, its priority there (group,
/// `^` before a boundary character, rank), and the token it captures.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    start: usize,
    group: u8,
    branch: u8,
    rank: u32,
    token: (usize, usize),
}

impl Automaton {
    /// Every token occurrence that the regex could match, ordered as it would prefer them.
    fn token_candidates(&self, text: &str) -> Vec<Candidate> {
        let Some(automaton) = &self.tokens else {
            return Vec::new();
        };
        let (folded, offsets) = fold_text(text);
        let mut out = Vec::new();
        for m in automaton.find_overlapping_iter(&folded) {
            let alternative = self.patterns[m.pattern().as_usize()];
            let (s, e) = (offsets[m.start()], offsets[m.end()]);
            if alternative.group & 1 != 0
                && text[e..].chars().next().is_some_and(|c| !is_boundary(c))
            {
                continue;
            }
            let (start, branch) = if alternative.group & 2 == 0 {
                (s, 0)
            } else {
                match text[..s].chars().next_back() {
                    None => (s, 0),
                    Some(c) if is_boundary(c) => (s - c.len_utf8(), 1),
                    Some(_) => continue,
                }
            };
            out.push(Candidate {
                start,
                group: alternative.group,
                branch,
                rank: alternative.rank,
                token: (s, e),
            });
        }
        out.sort_unstable();
        out
    }

    /// The regex's leftmost-first match from `at`: the token it captures.
    fn find_at(&self, text: &str, candidates: &[Candidate], at: usize) -> Option<Range<usize>> {
        // The `^` branch only matches at the start of the text, never at a later `at`.
        // Sorted by start, then priority: the first from `at` is the regex's choice. (The `^`
        // branch starts at 0, so it never matches from a later `at`.)
        let first = candidates.partition_point(|c| c.start < at);
        let token = candidates.get(first).cloned();
        let date = self.dates.as_ref().and_then(|dates| {
            let caps = dates.captures_at(text, at)?;
            let (whole, date) = (caps.get(0)?, caps.get(1)?);
            Some(Candidate {
                start: whole.start(),
                group: 3,
                branch: u8::from(date.start() != whole.start()),
                rank: u32::MAX,
                token: (date.start(), date.end()),
            })
        });
        let best = match (token, date) {
            (Some(t), Some(d)) => t.min(d),
            (t, d) => t.or(d)?,
        };
        Some(best.token.0..best.token.1)
    }
}

/// What cleaning did to one value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cleaned {
    /// Nothing identifying was found: keep the value as it was.
    Unchanged,
    /// Identifying text was replaced by MASK; the new value.
    Masked(String),
    /// The value could not be cleaned safely and must be emptied.
    Emptied,
}

/// Clean one free-text value against the file's identifiers.
pub fn clean_text(text: &str, ids: &Identifiers) -> Cleaned {
    let unreliable =
        |c: char| c == '\u{FFFD}' || (c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{C}'));
    if text.chars().any(unreliable) {
        return Cleaned::Emptied;
    }
    let matcher = match (ids.is_empty(), ids.matcher()) {
        (true, _) => None,
        (false, Some(matcher)) => Some(matcher),
        (false, None) => return Cleaned::Emptied,
    };
    let mut spans: Vec<Range<usize>> = matcher
        .map(|m| token_spans(m, text).collect())
        .unwrap_or_default();
    // Dates: shifted where the profile shifts dates and the spelling's order is certain.
    let mut shifted = Vec::new();
    let mut date = |range: Range<usize>, spans: &mut Vec<Range<usize>>| match ids
        .day_offset
        .and_then(|days| freetext::dates::shift(&text[range.clone()], days))
    {
        Some(new) => shifted.push((range, new)),
        None => spans.push(range),
    };
    let mut generic_dates = Vec::new();
    for m in GENERIC.find_iter(text) {
        let is_date = !m.as_str().contains('@') && !m.as_str().bytes().all(|b| b.is_ascii_digit());
        if is_date {
            generic_dates.push(m.range());
            date(m.range(), &mut spans);
        } else {
            spans.push(m.range());
        }
    }
    for (range, kind) in freetext::find(text) {
        if kind != freetext::Phi::Date {
            spans.push(range);
        } else if !generic_dates
            .iter()
            .any(|g| g.start <= range.start && range.end <= g.end)
        {
            // A month and year inside a full date ("2 Jan 1970") is that date's.
            date(range, &mut spans);
        }
    }
    // A date's digits look like a phone number's ("2021-03-14"): the date decides.
    spans.extend(
        PHONE
            .find_iter(text)
            .filter(|m| m.as_str().chars().filter(|c| c.is_numeric()).count() >= 7)
            .filter(|m| {
                !generic_dates
                    .iter()
                    .any(|g| g.start <= m.start() && m.end() <= g.end)
            })
            .map(|m| m.range()),
    );
    if spans.is_empty() && shifted.is_empty() {
        return Cleaned::Unchanged;
    }
    let mut out = mask(text, spans, shifted);
    // Removing text can expose a token glued to it ("Lee123456" becomes "Lee***").
    for _ in 0..MAX_PASSES {
        let residual: Vec<Range<usize>> = matcher
            .map(|m| token_spans(m, &out).collect())
            .unwrap_or_default();
        if residual.is_empty() {
            return Cleaned::Masked(out);
        }
        out = mask(&out, residual, Vec::new());
    }
    Cleaned::Emptied
}

/// The token occurrences in `text`. Each search resumes inside the previous token, so that a
/// boundary character (or CJK character) between two tokens serves both.
fn token_spans<'a>(matcher: &'a Matcher, text: &'a str) -> impl Iterator<Item = Range<usize>> + 'a {
    let candidates = match matcher {
        Matcher::Automaton(automaton) => automaton.token_candidates(text),
        Matcher::Regex(_) => Vec::new(),
    };
    let mut at = 0;
    std::iter::from_fn(move || {
        let token = match matcher {
            Matcher::Automaton(automaton) => automaton.find_at(text, &candidates, at)?,
            Matcher::Regex(regex) => {
                let caps = regex.captures_at(text, at)?;
                caps.iter().skip(1).flatten().next()?.range()
            }
        };
        // Resume on the token's last character, which may be the boundary of the next token.
        let last = text[token.clone()]
            .chars()
            .next_back()
            .map_or(0, char::len_utf8);
        at = if token.len() > last {
            token.end - last
        } else {
            token.end
        };
        Some(token)
    })
}

/// Replaces the spans by MASK, merging spans (and masks already in the text) that overlap
/// or are separated only by punctuation and whitespace, and each of `shifted` (a date and
/// its shifted spelling) that no mask overlaps by its new text.
fn mask(text: &str, mut spans: Vec<Range<usize>>, shifted: Vec<(Range<usize>, String)>) -> String {
    spans.extend(text.match_indices(MASK).map(|(i, _)| i..i + MASK.len()));
    spans.sort_by_key(|span| span.start);
    let mut merged: Vec<Range<usize>> = Vec::new();
    for span in spans {
        match merged.last_mut() {
            Some(last)
                if span.start <= last.end
                    || text[last.end..span.start]
                        .chars()
                        .all(|c| !c.is_alphanumeric() && c != '\\') =>
            {
                last.end = last.end.max(span.end);
            }
            _ => merged.push(span),
        }
    }
    let mut edits: Vec<(Range<usize>, &str)> = merged.iter().map(|s| (s.clone(), MASK)).collect();
    for (range, new) in &shifted {
        if !merged
            .iter()
            .any(|s| s.start < range.end && range.start < s.end)
            && !edits
                .iter()
                .any(|(s, _)| s.start < range.end && range.start < s.end)
        {
            edits.push((range.clone(), new.as_str()));
        }
    }
    edits.sort_by_key(|(range, _)| range.start);
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for (span, new) in edits {
        out.push_str(&text[pos..span.start]);
        out.push_str(new);
        pos = span.end;
    }
    out.push_str(&text[pos..]);
    out
}

/// Words joined by flexible whitespace; CJK text often has no space between name parts.
fn token_pattern(token: &str) -> String {
    let mut out = String::new();
    let mut prev = None;
    for word in token.split(' ') {
        if let Some(prev) = prev {
            let cjk = is_cjk(prev) || word.starts_with(is_cjk);
            out.push_str(if cjk { r"\s*" } else { r"\s+" });
        }
        out.push_str(&regex::escape(word));
        prev = word.chars().next_back();
    }
    out
}

/// One regex for all tokens and dates, compiled per file: the automaton's reference, and
/// its stand-in for a file whose tokens it cannot take. Tokens are grouped by which edges
/// need a word boundary; the boundary character is consumed by the regex, and the token
/// itself is the capture group.
fn combined_regex(ids: &Identifiers) -> Option<Regex> {
    let mut groups: [Vec<String>; 4] = Default::default();
    for token in tokens_in_order(ids) {
        groups[group_of(token)].push(token_pattern(token));
    }
    groups[3].extend(ids.dates.iter().map(|&date| date_pattern(date)));
    let alternatives: Vec<String> = groups
        .iter()
        .enumerate()
        .filter(|(_, group)| !group.is_empty())
        .map(|(i, group)| {
            let left = if i & 2 != 0 {
                format!("(?:^|{})", *BOUNDARY)
            } else {
                String::new()
            };
            let right = if i & 1 != 0 {
                format!("(?:$|{})", *BOUNDARY)
            } else {
                String::new()
            };
            format!("{left}({}){right}", group.join("|"))
        })
        .collect();
    RegexBuilder::new(&alternatives.join("|"))
        .case_insensitive(true)
        .build()
        .ok()
}

/// The spellings of one date: numeric in Y-M-D, D-M-Y and M-D-Y order with optional leading
/// zeros, compact YYYYMMDD, and with the English month name, year optional.
fn date_pattern((year, month, day): (u16, u8, u8)) -> String {
    let optional_zero = |n: u8| {
        if n < 10 {
            format!("0?{n}")
        } else {
            n.to_string()
        }
    };
    let (d, m) = (optional_zero(day), optional_zero(month));
    let y = format!("(?:{year:04}|'?{:02})", year % 100);
    let name = month_pattern(MONTH_NAMES[usize::from(month) - 1]);
    let ord = "(?:st|nd|rd|th)?";
    [
        format!("{year:04}{month:02}{day:02}"),
        format!("{year:04}[-/. ]{m}[-/. ]{d}"),
        format!("{d}[-/. ]{m}[-/. ]{y}"),
        format!("{m}[-/. ]{d}[-/. ]{y}"),
        format!(r"{d}{ord}[-/.\s]*{name}\.?(?:[-/.,\s]*{y})?"),
        format!(r"{name}\.?[-/\s]*{d}{ord}(?:,?[-/.\s]*{y})?"),
    ]
    .join("|")
}

pub(crate) fn is_cjk(c: char) -> bool {
    CJK.iter().any(|&(a, b)| (a..=b).contains(&c))
}

fn letters(s: &str) -> usize {
    s.chars().filter(|c| c.is_alphabetic()).count()
}

fn is_name_token(s: &str) -> bool {
    letters(s) >= 2 && !TITLES.contains(&s.trim_end_matches('.').to_lowercase().as_str())
}

pub(crate) fn is_common(word: &str) -> bool {
    COMMON_WORDS.contains(&word.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference_spans(regex: &Regex, text: &str) -> Vec<Range<usize>> {
        let mut at = 0;
        std::iter::from_fn(|| {
            let caps = regex.captures_at(text, at)?;
            let token = caps.iter().skip(1).flatten().next()?;
            let last = token.as_str().chars().next_back().map_or(0, char::len_utf8);
            at = if token.len() > last {
                token.end() - last
            } else {
                token.end()
            };
            Some(token.range())
        })
        .collect()
    }

    /// The automaton finds what the regex finds, token for token.
    fn assert_same_spans(ids: &Identifiers, text: &str) {
        let expected = reference_spans(&combined_regex(ids).unwrap(), text);
        let automaton = Automaton::build(ids).expect("tokens the automaton takes");
        let found: Vec<Range<usize>> = token_spans(&Matcher::Automaton(automaton), text).collect();
        assert_eq!(found, expected, "in {text:?}");
    }

    fn file_ids() -> Identifiers {
        let mut ids = Identifiers::new();
        ids.add_person_name("DOE^JOHN");
        ids.add_person_name("SMITH^ANNA^^DR");
        ids.add_id("12345");
        ids.add_id("ACC998877");
        ids.add_id("A-77\\B88");
        ids.add_date("19700102");
        ids.add_phrase("Mercy General Hospital");
        ids
    }

    fn clean(text: &str) -> Cleaned {
        clean_text(text, &file_ids())
    }

    fn masked(text: &str) -> Cleaned {
        Cleaned::Masked(text.to_owned())
    }

    #[test]
    fn masks_names_and_ids() {
        assert_eq!(clean("CT for DOE JOHN 12345"), masked("CT for ***"));
        assert_eq!(clean("Doe, John"), masked("***"));
        assert_eq!(clean("john doe follow-up"), masked("*** follow-up"));
        assert_eq!(clean("pt.doe;JoHn!"), masked("pt.***!"));
        assert_eq!(clean("Accession ACC998877."), masked("Accession ***."));
        assert_eq!(
            clean("other ids a-77 and b88"),
            masked("other ids *** and ***")
        );
        assert_eq!(clean("doe's scan"), masked("***'s scan"));
        assert_eq!(clean("DOE_JOHN_CHEST"), masked("***_CHEST"));
    }

    #[test]
    fn masks_referring_physician_and_institution() {
        assert_eq!(
            clean("seen by Dr. Smith at Mercy General"),
            masked("seen by Dr. *** at *** General")
        );
        assert_eq!(clean("MERCY GENERAL HOSPITAL CT"), masked("*** CT"));
        assert_eq!(clean("General Hospital protocol"), Cleaned::Unchanged);
        assert_eq!(clean("Dr review"), Cleaned::Unchanged);
    }

    #[test]
    fn masks_birth_date_spellings() {
        for date in [
            "1970-01-02",
            "02/01/1970",
            "01/02/1970",
            "02.01.1970",
            "1970/01/02",
            "19700102",
            "2 Jan 1970",
            "Jan 2, 1970",
            "2/1/1970",
            "1.2.1970",
            "02-JAN-1970",
            "2nd January 1970",
            "January 2nd, 1970",
            "02/01/70",
            "1970 1 2",
            "2 Jan",
            "jan. 2",
        ] {
            assert_eq!(
                clean(&format!("DOB {date} noted")),
                masked("DOB *** noted"),
                "{date}"
            );
        }
    }

    #[test]
    fn masks_any_date_without_identifiers() {
        let none = Identifiers::new();
        for date in [
            "2021-11-30",
            "30/11/2021",
            "11/30/2021",
            "30.11.2021",
            "2021/11/30",
            "20211130",
            "30 Nov 2021",
            "Nov 30, 2021",
            "5 May 2021",
            "3/4/21",
        ] {
            assert_eq!(
                clean_text(&format!("done {date}."), &none),
                masked("done ***."),
                "{date}"
            );
        }
        assert_eq!(clean_text("2 Jan follow-up", &none), Cleaned::Unchanged);
    }

    #[test]
    fn masks_generic_identifiers() {
        let none = Identifiers::new();
        for (text, want) in [
            ("mail to j.doe+ct@example.org now", "mail to *** now"),
            ("call (555) 123-4567", "call ***"),
            ("call +1 555 123 4567 today", "call *** today"),
            ("tel 555-1234", "tel ***"),
            ("+44 20 7946 0958", "***"),
            ("MRN 1234567", "MRN ***"),
            ("ref ACC998877", "ref ***"),
        ] {
            assert_eq!(clean_text(text, &none), masked(want), "{text}");
        }
    }

    /// The examples of issue 15, each as the cleaner sees it.
    #[test]
    fn issue_examples() {
        let mut ids = Identifiers::new();
        ids.add_person_name("O'BRIEN^PATRICK");
        ids.add_person_name("DELACROIX^MARIE^^Dr.");
        let cases = [
            (
                "Hypertension, diabetes type 2. husband EZEKIEL to call (563) 555-0525",
                "Hypertension, diabetes type 2. husband *** to call ***",
            ),
            (
                "known lymphoma restaging, tech ABERCROMBIE present",
                "known lymphoma restaging, tech *** present",
            ),
            ("ARTERIAL_PHASE_OBRIEN", "ARTERIAL_PHASE_***"),
            (
                "Meridian reading room 2 - Dr. DELACROIX",
                "Meridian reading room 2 - Dr. ***",
            ),
            ("accountant at PEMBERTON AND SONS", "accountant at ***"),
        ];
        for (text, want) in cases {
            assert_eq!(clean_text(text, &ids), masked(want), "{text}");
        }
        let mut muller = Identifiers::new();
        muller.add_person_name("MÜLLER^HANS");
        assert_eq!(
            clean_text("AX DWI b1000 MULLER", &muller),
            masked("AX DWI b1000 ***")
        );
        assert_eq!(clean_text("ax dwi mueller", &muller), masked("ax dwi ***"));
        // A body part in BranchOfService is no identifier of this patient.
        let mut stray = Identifiers::new();
        stray.add_phrase("ABDOMEN");
        assert_eq!(
            clean_text("US ABDOMEN COMPLETE", &stray),
            Cleaned::Unchanged
        );
    }

    #[test]
    fn dates_shift_where_the_profile_shifts() {
        let mut ids = file_ids();
        ids.shift_dates(-3);
        assert_eq!(
            clean_text("seen 2021-03-14 and 14 Mar 2021, DOB 1970-01-02", &ids),
            masked("seen 2021-03-11 and 11 Mar 2021, DOB ***")
        );
        // Day and month could be either way round: masked.
        assert_eq!(clean_text("seen 03/04/2021", &ids), masked("seen ***"));
        assert_eq!(
            clean_text("seen 2021-03-14", &file_ids()),
            masked("seen ***")
        );
    }

    #[test]
    fn keeps_medical_text() {
        for text in [
            "CHEST PA LAT",
            "T1 AX POST GD",
            "Follow-up 3 months",
            "Annual screening",
            "LEFT KNEE 2 VIEWS",
            "C3-C5",
            "5 mm slices, series 12, 3D",
            "Radiology Department imaging",
            "L4-5 disc, 12.5 x 10.2 cm",
            "BP 120/80",
            "",
        ] {
            assert_eq!(clean(text), Cleaned::Unchanged, "{text}");
        }
    }

    #[test]
    fn tokens_inside_words_are_not_masked() {
        let mut ids = Identifiers::new();
        ids.add_person_name("ANN^JO");
        ids.add_id("12345");
        for text in ["Annual review", "joint"] {
            assert_eq!(clean_text(text, &ids), Cleaned::Unchanged, "{text}");
        }
        // Not the file's tokens (the recogniser masks them as ID-shaped all the same).
        let matcher = ids.matcher().unwrap();
        for text in ["A12345B", "12345x", "x12345"] {
            assert_eq!(token_spans(matcher, text).count(), 0, "{text}");
        }
        assert_eq!(clean_text("ann: 12345 joint", &ids), masked("*** joint"));
    }

    #[test]
    fn unicode_names() {
        let mut ids = Identifiers::new();
        ids.add_person_name("MÜLLER^ZOË");
        assert_eq!(clean_text("Befund müller, zoë", &ids), masked("Befund ***"));
        assert_eq!(clean_text("Müllerstraße", &ids), Cleaned::Unchanged);
    }

    #[test]
    fn cjk_names_match_as_substrings() {
        let mut ids = Identifiers::new();
        ids.add_person_name("Yamada^Tarou=山田^太郎=やまだ^たろう");
        ids.add_person_name("王^伟");
        assert_eq!(clean_text("山田太郎様のCT", &ids), masked("***様のCT"));
        assert_eq!(clean_text("やまだ たろう", &ids), masked("***"));
        assert_eq!(clean_text("YAMADA tarou", &ids), masked("***"));
        assert_eq!(clean_text("王伟复查", &ids), masked("***复查"));
        assert_eq!(clean_text("王 伟", &ids), masked("***"));
        assert_eq!(clean_text("王府井", &ids), Cleaned::Unchanged);
        assert_eq!(clean_text("山田Tarou", &ids), masked("***"));
    }

    #[test]
    fn phrases_and_addresses() {
        let mut ids = Identifiers::new();
        ids.add_phrase("12 Elm Street, Springfield 62704");
        ids.add_phrase("CT");
        ids.add_phrase("CT01");
        assert_eq!(clean_text("from SPRINGFIELD", &ids), masked("from ***"));
        assert_eq!(clean_text("zip 62704", &ids), masked("zip ***"));
        assert_eq!(clean_text("CT on ct01", &ids), masked("CT on ***"));
        assert_eq!(clean_text("elm street", &ids), Cleaned::Unchanged);
    }

    #[test]
    fn titles_and_short_values_are_not_tokens() {
        let mut ids = Identifiers::new();
        ids.add_person_name("^^^Dr.^MD");
        ids.add_person_name("J");
        ids.add_id("7");
        ids.add_id("**");
        assert!(ids.is_empty());
        ids.add_person_name("SMITH^^^Rev");
        assert_eq!(clean_text("Rev smith", &ids), masked("***"));
    }

    #[test]
    fn unreliable_values_are_emptied() {
        let ids = file_ids();
        for text in [
            "\u{1b}$B;3ED\u{1b}(B",
            "a\u{1}b",
            "bad \u{FFFD}",
            "x\u{7f}",
            "\u{85}",
        ] {
            assert_eq!(clean_text(text, &ids), Cleaned::Emptied, "{text:?}");
        }
        assert_eq!(clean_text("a\tb\r\nc\u{C}", &ids), Cleaned::Unchanged);
    }

    #[test]
    fn tokens_exposed_by_masking_are_masked() {
        let mut ids = Identifiers::new();
        ids.add_person_name("LEE");
        assert_eq!(clean_text("id Lee1234567 ok", &ids), masked("id *** ok"));
        ids.add_id("*** x1");
        assert_eq!(clean_text("Lee x1", &ids), masked("***"));
        for i in 2..=MAX_PASSES {
            ids.add_id(&format!("*** x{i}"));
        }
        assert_eq!(clean_text("Lee x1 x2 x3 x4", &ids), Cleaned::Emptied);
    }

    #[test]
    fn multi_values_keep_their_separator() {
        assert_eq!(clean("DOE\\JOHN"), masked("***\\***"));
    }

    #[test]
    fn debug_shows_no_phi() {
        let shown = format!("{:?}", file_ids());
        assert!(!shown.to_lowercase().contains("doe"), "{shown}");
        assert!(!shown.contains("1970"), "{shown}");
        assert!(shown.starts_with("Identifiers { tokens: "), "{shown}");
    }

    #[test]
    fn matcher_is_built_once_and_reset_on_change() {
        let mut ids = file_ids();
        assert!(ids.matcher.get().is_none());
        clean_text("DOE", &ids);
        let first: *const Matcher = ids.matcher().unwrap();
        clean_text("JOHN", &ids);
        assert!(std::ptr::eq(first, ids.matcher().unwrap()));
        ids.add_id("XY99");
        assert!(ids.matcher.get().is_none());
        assert_eq!(clean_text("xy99", &ids), masked("***"));
    }

    #[test]
    fn large_input_with_many_tokens() {
        let mut ids = Identifiers::new();
        for i in 0..100 {
            ids.add_person_name(&format!("NAMÉ{i}^GIVEN{i}"));
        }
        let text = "Befund ohne Auffälligkeiten, Kontrolle in 3 Monaten. ".repeat(200);
        assert_eq!(clean_text(&text, &ids), Cleaned::Unchanged);
        let with_name = format!("{text} namé7 given99");
        assert!(matches!(clean_text(&with_name, &ids), Cleaned::Masked(_)));
    }

    #[test]
    fn automaton_finds_what_the_regex_finds() {
        let mut ids = file_ids();
        ids.add_person_name("李^明");
        ids.add_person_name("ſtraße^Kelvin");
        ids.add_id("-77-");
        ids.add_id("(A1)");
        // Overlapping tokens whose boundary lies before the resumed search.
        ids.add_id("(Q");
        ids.add_id("Q-");
        // A token that is also the start of a date: the token comes first.
        ids.add_id("02/01");
        ids.add_phrase("St. Ann's Clinic, 12 Oak Road");
        for text in [
            "CT for DOE JOHN 12345",
            "DOE JOHN",
            "doe john doe",
            "DOEJOHN doe-john doe_john",
            "Doe,\tJohn\u{a0}Smith  anna",
            "pt.doe;JoHn! mercy  GENERAL hospital",
            " 12345-12345 ACC998877ACC998877 a-77 b88",
            "x-77-y -77- (-77-)",
            "(A1) x(A1)y (a1)",
            "(Q- x(Q-(Q (q-q-",
            "02/01/1970 (02/01/1970) 02/01/70",
            "李明 李 明 李  明 王李明五 李明doe",
            "STRASSE ſtraße STRAßE kelvin \u{212a}ELVIN",
            "St. Ann's Clinic, 12 Oak Road oak road OAK",
            "born 1970-01-02, 2 Jan 1970, Jan. 2nd, 1970, 02.01.70, 19700102x",
            "2 jan. 1970x 2 Jan. x",
            "1970-01-02 DOE 02/01/1970",
            "annual doe12345 12345doe",
            "",
            "doe",
            "***doe***",
        ] {
            assert_same_spans(&ids, text);
        }
    }

    #[test]
    fn tokens_spelt_too_many_ways_fall_back_to_the_regex() {
        let mut ids = Identifiers::new();
        ids.add_phrase("北 京 市 朝 阳 区 建 国 路");
        assert!(Automaton::build(&ids).is_none());
        assert!(matches!(ids.matcher(), Some(Matcher::Regex(_))));
        assert_eq!(
            clean_text("地址北京市朝阳区建国路", &ids),
            masked("地址***")
        );
    }

    /// Whether `token` occurs in `text` (case-insensitive) with no letter or digit on either side.
    fn has_bounded(text: &str, token: &str) -> bool {
        let (text, token) = (text.to_lowercase(), token.to_lowercase());
        text.match_indices(&token).any(|(i, _)| {
            let before = text[..i].chars().next_back();
            let after = text[i + token.len()..].chars().next();
            !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
        })
    }

    fn flip_case(s: &str, flips: &[bool]) -> String {
        s.chars()
            .zip(flips.iter().cycle())
            .flat_map(|(c, &up)| {
                let s: String = if up {
                    c.to_uppercase().collect()
                } else {
                    c.to_lowercase().collect()
                };
                s.chars().collect::<Vec<_>>()
            })
            .collect()
    }

    proptest! {
        #[test]
        fn inserted_token_never_survives(
            prefix in "[a-zA-Z0-9äé ,.;:()/_-]{0,40}",
            suffix in "[a-zA-Z0-9äé ,.;:()/_-]{0,40}",
            name in "[a-zA-ZäöüÄÖÜéÉçñ]{2,10}",
            id in "[0-9A-Z][0-9A-Z./-]{0,8}[0-9A-Z]",
            as_name in any::<bool>(),
            flips in proptest::collection::vec(any::<bool>(), 1..8),
        ) {
            let token = if as_name { &name } else { &id };
            prop_assume!(!TITLES.contains(&token.to_lowercase().as_str()));
            let mut ids = Identifiers::new();
            if as_name {
                ids.add_person_name(&format!("{name}^Q"));
            } else {
                ids.add_id(&id);
            }
            let text = format!("{prefix} {} {suffix}", flip_case(token, &flips));
            let out = match clean_text(&text, &ids) {
                Cleaned::Masked(out) => out,
                other => return Err(TestCaseError::fail(format!("{other:?} for {text:?}"))),
            };
            prop_assert!(!has_bounded(&out, token), "{token:?} survives in {out:?}");
        }

        #[test]
        fn automaton_agrees_with_the_regex(
            names in proptest::collection::vec("[a-zA-Zäéß李明山田 .'-]{1,12}", 0..4),
            ids_ in proptest::collection::vec("[0-9A-Za-z./()-]{1,8}", 0..3),
            date in "(19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9])",
            pieces in proptest::collection::vec(0usize..20, 0..12),
            flips in proptest::collection::vec(any::<bool>(), 1..8),
        ) {
            let mut ids = Identifiers::new();
            for name in &names {
                ids.add_person_name(name);
            }
            for id in &ids_ {
                ids.add_id(id);
            }
            ids.add_date(&date);
            prop_assume!(!ids.tokens.is_empty());
            let tokens: Vec<String> = ids.tokens.iter().cloned().collect();
            let fillers = [" ", "  ", ",", "-", "x", "9", "\t", "\u{a0}", "李", "é", "***", "(", "ſ", "\u{212a}"];
            let mut text = String::new();
            for (i, &piece) in pieces.iter().enumerate() {
                if piece < 10 {
                    text.push_str(&flip_case(&tokens[piece % tokens.len()], &flips[i % flips.len()..]));
                } else if piece < 12 {
                    text.push_str(&date[..4]);
                    text.push('-');
                    text.push_str(&date[4..6]);
                    text.push('-');
                    text.push_str(&date[6..]);
                } else {
                    text.push_str(fillers[(piece + i) % fillers.len()]);
                }
            }
            let Some(automaton) = Automaton::build(&ids) else {
                return Ok(());
            };
            let expected = reference_spans(&combined_regex(&ids).unwrap(), &text);
            let found: Vec<Range<usize>> = token_spans(&Matcher::Automaton(automaton), &text).collect();
            prop_assert_eq!(found, expected, "in {:?}", text);
        }

        #[test]
        fn cjk_token_never_survives(
            text in "[山田太郎王伟佐藤花子a-z ,]{0,30}",
            name in "[山田太郎王伟佐藤花子]{2,4}",
            at in 0usize..31,
        ) {
            let mut ids = Identifiers::new();
            ids.add_person_name(&name);
            let chars: Vec<char> = text.chars().collect();
            let at = at.min(chars.len());
            let text: String = chars[..at].iter().chain(name.chars().collect::<Vec<_>>().iter()).chain(&chars[at..]).collect();
            let out = match clean_text(&text, &ids) {
                Cleaned::Masked(out) => out,
                other => return Err(TestCaseError::fail(format!("{other:?} for {text:?}"))),
            };
            prop_assert!(!out.contains(&name), "{name:?} survives in {out:?}");
        }

        #[test]
        fn any_date_spelling_is_masked(
            year in 1900u16..2100,
            month in 1u8..=12,
            day in 1u8..=28,
            style in 0usize..8,
        ) {
            const NAMES: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
            let name = NAMES[usize::from(month) - 1];
            let date = match style {
                0 => format!("{year}-{month:02}-{day:02}"),
                1 => format!("{day:02}/{month:02}/{year}"),
                2 => format!("{month}/{day}/{year}"),
                3 => format!("{day}.{month}.{year}"),
                4 => format!("{year}/{month:02}/{day:02}"),
                5 => format!("{year}{month:02}{day:02}"),
                6 => format!("{day} {name} {year}"),
                _ => format!("{name} {day}, {year}"),
            };
            prop_assert_eq!(clean_text(&format!("seen {date} ok"), &Identifiers::new()), masked("seen *** ok"));
        }

        #[test]
        fn arbitrary_input_never_panics(
            name in any::<String>(),
            id in any::<String>(),
            date in "[0-9.\\\\]{0,12}|\\PC{0,12}",
            phrase in any::<String>(),
            text in any::<String>(),
        ) {
            let mut ids = Identifiers::new();
            ids.add_person_name(&name);
            ids.add_id(&id);
            ids.add_date(&date);
            ids.add_phrase(&phrase);
            if let Cleaned::Masked(out) = clean_text(&text, &ids) {
                prop_assert!(out.contains(MASK));
            }
            let _ = clean_text(&name, &ids);
        }
    }
}
