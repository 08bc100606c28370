//! The free-text PHI recogniser: identifiers found in a value by their shape, by the word
//! lists of `data/` and by the words around them, whatever the file holds elsewhere.
//!
//! [`find`] returns the spans to mask in one value; [`crate::deid::clean`] masks them with the
//! file's own identifiers in the same pass. What it finds:
//!
//! * **Names**: a word of the name lists (US Census 1990 surnames of ranks 1–20,000 and all
//!   its first names, see `data/PROVENANCE.md`) of at least three letters, unless it is a
//!   clinical word; after a title or role ("Dr", "tech", "husband", "mother"…) the next words
//!   that are names or not clinical words, up to three, and a one-letter initial.
//! * **Institutions and employers**: the distinctive words before an organisation word
//!   ("PEMBERTON AND SONS", "St. Mary's Hospital", "Acme Imaging Center"), the words after
//!   "University of".
//! * **Street addresses** (number, up to three words, street type), a city and state before
//!   a ZIP code, and a ZIP code after "zip".
//! * **URLs**, **ages over 89** ("92 yo", "age 95", "091Y"), **IDs** after a label (MRN,
//!   accession, ID…) and **ID-shaped tokens** (six characters or more, four digits or more,
//!   and a letter), and **month–year dates** ("Jan 2021", "12-JAN-21"). E-mail addresses,
//!   phone numbers, long numbers and full dates are found by the cleaner's generic patterns.
//!
//! Dates are shifted rather than masked where the profile shifts dates ([`dates`]).
//!
//! Words are the runs of letters and digits (apostrophes inside a word are dropped, so
//! O'BRIEN is OBRIEN), split further where letters meet digits and where a lower case letter
//! meets an upper case one, so "ARTERIAL_PHASE_OBRIEN", "AxT2Muller" and "MULLER2" give their
//! names; each is looked up folded to upper-case ASCII (MÜLLER is MULLER).
//!
//! The clinical words that must survive come from DICOM (PS3.16 code meanings and attribute
//! names, as pydicom ships them) and a short hand list of PACS abbreviations: a word that is
//! both a name and a clinical word (WHITE, LONG, BROWN) is removed only after a title or role.

pub mod dates;

use std::collections::HashSet;
use std::ops::Range;
use std::sync::LazyLock;

use regex::{Regex, RegexBuilder};

use crate::dicom::dates::{MONTH_NAMES, month_pattern};

/// What kind of identifier a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phi {
    Name,
    Institution,
    Address,
    Url,
    Age,
    Id,
    Date,
}

impl Phi {
    /// The kind in words, for reports (never the value).
    pub fn describe(self) -> &'static str {
        match self {
            Phi::Name => "a person's name",
            Phi::Institution => "an institution's name",
            Phi::Address => "an address",
            Phi::Url => "a URL",
            Phi::Age => "an age over 89",
            Phi::Id => "an ID",
            Phi::Date => "a date",
        }
    }
}

fn word_set(text: &'static str) -> HashSet<&'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

static SURNAMES: LazyLock<HashSet<&str>> =
    LazyLock::new(|| word_set(include_str!("data/surnames.txt")));
static FIRST_NAMES: LazyLock<HashSet<&str>> =
    LazyLock::new(|| word_set(include_str!("data/first-names.txt")));
static CLINICAL: LazyLock<HashSet<&str>> =
    LazyLock::new(|| word_set(include_str!("data/clinical-words.txt")));

/// Words after which a name follows.
const ROLES: &[&str] = &[
    "PROFESSOR",
    "TECH",
    "TECHS",
    "TECHNOLOGIST",
    "TECHNICIAN",
    "RN",
    "NURSE",
    "HUSBAND",
    "WIFE",
    "SPOUSE",
    "PARTNER",
    "MOTHER",
    "MOM",
    "FATHER",
    "DAD",
    "SON",
    "DAUGHTER",
    "SISTER",
    "BROTHER",
    "AUNT",
    "UNCLE",
    "GRANDMOTHER",
    "GRANDFATHER",
    "GUARDIAN",
    "FRIEND",
    "NEIGHBOR",
    "NEIGHBOUR",
    "CAREGIVER",
    "ATTENDING",
    "RESIDENT",
    "FELLOW",
    "RADIOLOGIST",
    "PHYSICIAN",
    "SURGEON",
    "REFERRER",
    "SONOGRAPHER",
    "ATTN",
];

/// Titles: the word after one is a name even when it is a clinical word ("Dr. WHITE"),
/// unless it is one of [`NOT_AFTER_TITLE`]. "DR", "MR" and "MS" are titles only with their
/// full stop: bare, they are also digital radiography, MR imaging and multiple sclerosis.
const TITLES: &[&str] = &["DRS", "DOCTOR", "MRS", "MISS", "MX", "PROF"];
const TITLES_WITH_STOP: &[&str] = &["DR", "MR", "MS"];
const NOT_AFTER_TITLE: &[&str] = &[
    "AND", "OR", "THE", "TO", "OF", "AT", "IN", "ON", "BY", "FOR", "WITH", "IS", "WAS", "AWARE",
    "NOTIFIED", "CALLED", "INFORMED", "OFFICE",
];

/// Words that join the words of an organisation's name.
const CONNECTORS: &[&str] = &["AND", "OF", "THE", "ST", "SAINT", "DE", "LA", "DU"];

/// Words that end an organisation's name (with the words before them).
const ORGANISATIONS: &[&str] = &[
    "HOSPITAL",
    "HOSPITALS",
    "CLINIC",
    "CLINICS",
    "CENTER",
    "CENTRE",
    "INFIRMARY",
    "SONS",
    "BROTHERS",
    "INC",
    "LLC",
    "LTD",
    "LLP",
    "CORP",
    "CORPORATION",
    "COMPANY",
    "CO",
    "GMBH",
    "ASSOCIATES",
    "PARTNERS",
    "GROUP",
    "FOUNDATION",
    "INSTITUTE",
    "HEALTHCARE",
    "HEALTH",
    "COLLEGE",
    "SCHOOL",
    "ACADEMY",
    "PRACTICE",
    "SURGERY",
    "LABORATORIES",
    "LABS",
    "BANK",
    "FARMS",
    "INDUSTRIES",
    "ENTERPRISES",
    "SERVICES",
];

/// Words of organisation names that identify nothing on their own.
const GENERIC_ORG: &[&str] = &[
    "MEDICAL",
    "GENERAL",
    "MEMORIAL",
    "REGIONAL",
    "COMMUNITY",
    "COUNTY",
    "CHILDRENS",
    "UNIVERSITY",
    "IMAGING",
    "RADIOLOGY",
    "DIAGNOSTIC",
    "HEART",
    "CANCER",
    "NATIONAL",
    "CITY",
    "VALLEY",
    "FAMILY",
    "WOMENS",
];

const STATES: &str = "AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|\
    MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY";

/// The shape patterns: each match's first non-empty group (or the whole match) is masked.
/// The last ID pattern (`ID_SHAPE`) is checked by [`id_shaped`] as well.
static SHAPES: LazyLock<Vec<(Phi, Regex)>> = LazyLock::new(|| {
    let street = "STREET|ST|AVENUE|AVE|ROAD|RD|BOULEVARD|BLVD|LANE|LN|DRIVE|DR|COURT|CT|WAY|\
                  PLACE|PL|TERRACE|TER|CIRCLE|CIR|PARKWAY|PKWY|HIGHWAY|HWY|SQUARE|SQ|TRAIL|ALLEY";
    let month = MONTH_NAMES.map(month_pattern).join("|");
    let year = "(?:1[89]|2[01])[0-9]{2}";
    let day = "(?:0?[1-9]|[12][0-9]|3[01])";
    let age = "(?:9[0-9]|1[0-4][0-9])";
    let patterns = [
        (
            Phi::Address,
            format!(
                r"\b\d{{1,6}}[A-Z]?\s+(?:[A-Z0-9][\w'.-]*\s+){{0,3}}(?:{street})\b\.?(?:\s*,?\s*(?:APT|UNIT|SUITE|STE|#)\.?\s*#?\w+)?"
            ),
        ),
        (
            Phi::Address,
            format!(
                r"(?:\b[A-Z][\w'.-]*(?:\s+[A-Z][\w'.-]*){{0,2}}\s*,\s*)?\b(?:{STATES})\.?,?\s+\d{{5}}(?:-\d{{4}})?\b"
            ),
        ),
        (Phi::Address, r"\b(?:ZIP|ZIPCODE|POSTCODE|POSTAL)(?:\s*CODE)?\s*:?\s*(\d{5}(?:-\d{4})?|[A-Z0-9]{2,4}\s?[A-Z0-9]{3})\b".to_owned()),
        (
            Phi::Url,
            r"(?:\bhttps?://|\bwww\.)[^\s<>]+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|edu|gov|io|info|health|us|uk|de)\b(?:/[^\s<>]*)?".to_owned(),
        ),
        (
            Phi::Age,
            format!(
                r"\b({age})\s*-?\s*(?:YO|Y/O|Y\.O\.?|YRS?|YEARS?|YR|Y)\b|\bAGED?\s*:?\s*({age})\b|\b0({age})Y\b"
            ),
        ),
        (
            Phi::Id,
            r"\b(?:MRN|MR|MEDICAL\s+RECORD|ACC|ACCN|ACCESSION|ID|PID|CASE|REF|ORDER|ENC|ENCOUNTER|FIN|CSN|SSN|CHART|ACCT|ACCOUNT)\s*(?:#|NO\.?|NUMBER|NUM)?\s*[:#=]?\s*#?((?:[A-Z]{0,4}[-]?)?\d[A-Z0-9-]{2,})\b".to_owned(),
        ),
        (Phi::Id, ID_SHAPE.to_owned()),
        (
            Phi::Date,
            format!(
                r"\b{day}[-/ ](?:{month})\.?[-/ ](?:{year}|\d{{2}})\b|\b(?:{month})\.?,?\s+{year}\b|\b(?:0?[1-9]|1[0-2])/{year}\b"
            ),
        ),
    ];
    patterns
        .into_iter()
        .map(|(kind, pattern)| {
            let regex = RegexBuilder::new(&pattern)
                .case_insensitive(true)
                .build()
                .expect("a valid shape pattern");
            (kind, regex)
        })
        .collect()
});

/// One word of a value: where it is, folded to upper-case ASCII letters and digits.
struct Word {
    range: Range<usize>,
    folded: String,
    /// Whether only spaces and punctuation other than `,;:` separate it from the word before.
    joined: bool,
}

/// Every identifier the recogniser finds in `text`, in no particular order.
pub fn find(text: &str) -> Vec<(Range<usize>, Phi)> {
    let mut out = Vec::new();
    for (kind, regex) in SHAPES.iter() {
        let checked = regex.as_str() == ID_SHAPE;
        for caps in regex.captures_iter(text) {
            let m = caps.iter().skip(1).flatten().next().or(caps.get(0));
            if let Some(m) = m
                && (!checked || id_shaped(m.as_str()))
            {
                out.push((m.range(), *kind));
            }
        }
    }
    let words = words(text);
    names(text, &words, &mut out);
    institutions(&words, &mut out);
    out
}

/// A token of letters and at least four digits.
const ID_SHAPE: &str = r"\b(?:[A-Z]*\d){4,}[A-Z\d]*\b";

/// An ID-shaped token: six characters or more with a letter, and not a measurement
/// ("1024x1024"). Numbers alone are the generic patterns' (six digits or more).
fn id_shaped(found: &str) -> bool {
    let letters = found.chars().filter(char::is_ascii_alphabetic).count();
    let measurement = found
        .to_ascii_uppercase()
        .split('X')
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    found.len() >= 6 && letters >= 1 && !measurement
}

fn words(text: &str) -> Vec<Word> {
    let mut out: Vec<Word> = Vec::new();
    let mut start: Option<usize> = None;
    let mut last_end = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (k, &(i, c)) in chars.iter().enumerate() {
        let inner_apostrophe = matches!(c, '\'' | '’')
            && start.is_some()
            && chars.get(k + 1).is_some_and(|&(_, n)| n.is_alphabetic());
        let word_char = c.is_alphanumeric() || inner_apostrophe;
        let split = start.is_some() && k > 0 && word_char && !inner_apostrophe && {
            let p = chars[k - 1].1;
            (p.is_alphabetic() && c.is_numeric())
                || (p.is_numeric() && c.is_alphabetic())
                || (p.is_lowercase() && c.is_uppercase())
        };
        if let Some(s) = start
            && (!word_char || split)
        {
            push_word(text, s..i, last_end, &mut out);
            last_end = i;
            start = None;
        }
        if word_char && start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        push_word(text, s..text.len(), last_end, &mut out);
    }
    out
}

fn push_word(text: &str, range: Range<usize>, last_end: usize, out: &mut Vec<Word>) {
    let folded: String = deunicode::deunicode(&text[range.clone()])
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let joined = !text[last_end.min(range.start)..range.start].contains([',', ';', ':', '\n']);
    out.push(Word {
        range,
        folded,
        joined,
    });
}

fn is_alpha(w: &Word) -> bool {
    !w.folded.is_empty() && w.folded.bytes().all(|b| b.is_ascii_alphabetic())
}

fn is_listed_name(w: &str) -> bool {
    SURNAMES.contains(w) || FIRST_NAMES.contains(w)
}

/// A word that may be a name after a role: listed, or neither clinical nor a role.
fn may_be_name(w: &Word) -> bool {
    is_alpha(w)
        && (is_listed_name(&w.folded)
            || (!CLINICAL.contains(w.folded.as_str()) && !ROLES.contains(&w.folded.as_str())))
}

fn names(text: &str, words: &[Word], out: &mut Vec<(Range<usize>, Phi)>) {
    let stop_after = |w: &Word| text[w.range.end..].starts_with('.');
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        let title = TITLES.contains(&w.folded.as_str())
            || (TITLES_WITH_STOP.contains(&w.folded.as_str()) && stop_after(w));
        if title || ROLES.contains(&w.folded.as_str()) {
            let mut j = i + 1;
            while j < words.len() && j <= i + 3 && words[j].joined {
                let next = &words[j];
                let initial = next.folded.len() == 1 && is_alpha(next) && stop_after(next);
                let titled = j == i + 1
                    && title
                    && is_alpha(next)
                    && !NOT_AFTER_TITLE.contains(&next.folded.as_str());
                if !(initial || titled || may_be_name(next)) {
                    break;
                }
                out.push((next.range.clone(), Phi::Name));
                j += 1;
            }
            if j > i + 1 {
                i = j;
                continue;
            }
        }
        if is_alpha(w) && w.folded.len() >= 3 && is_listed_name(&w.folded) {
            out.push((w.range.clone(), Phi::Name));
        }
        i += 1;
    }
}

fn institutions(words: &[Word], out: &mut Vec<(Range<usize>, Phi)>) {
    for (i, w) in words.iter().enumerate() {
        let folded = w.folded.as_str();
        if folded == "UNIVERSITY" || folded == "COLLEGE" {
            // "University of X": the words after "of".
            if words.get(i + 1).is_some_and(|n| n.folded == "OF") {
                let names: Vec<&Word> = words[i + 2..]
                    .iter()
                    .take(3)
                    .take_while(|n| n.joined && may_be_name(n))
                    .collect();
                if let Some(last) = names.last() {
                    out.push((w.range.start..last.range.end, Phi::Institution));
                }
            }
        }
        if !ORGANISATIONS.contains(&folded) || !w.joined {
            continue;
        }
        let mut start = None;
        let mut j = i;
        while j > 0 && words[j].joined && i - j < 5 {
            let prev = &words[j - 1];
            let p = prev.folded.as_str();
            if may_be_name(prev) && !GENERIC_ORG.contains(&p) && !ORGANISATIONS.contains(&p) {
                start = Some(j - 1);
            } else if !(CONNECTORS.contains(&p) || GENERIC_ORG.contains(&p)) {
                break;
            }
            j -= 1;
        }
        if let Some(s) = start {
            out.push((words[s].range.start..w.range.end, Phi::Institution));
        }
    }
}

/// Whether every word of `text` is a clinical word (no number either): such a value, in an identifying
/// attribute where it does not belong ("ABDOMEN" in BranchOfService), identifies nobody.
pub fn is_clinical_phrase(text: &str) -> bool {
    let words = words(text);
    !words.is_empty()
        && words
            .iter()
            .all(|w| is_alpha(w) && CLINICAL.contains(w.folded.as_str()))
}

/// Whether one word is a clinical word (folded before the look-up).
pub fn is_clinical_word(word: &str) -> bool {
    words(word)
        .iter()
        .all(|w| CLINICAL.contains(w.folded.as_str()))
}

/// The spellings of a name part that free text uses: accents folded to ASCII ("MÜLLER" →
/// "MULLER", and "MUELLER" for German umlauts) and punctuation removed or made a space
/// ("O'BRIEN" → "OBRIEN", "O BRIEN"). The part itself is not among them.
pub fn name_variants(part: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let umlauts: String = part
        .chars()
        .map(|c| match c {
            'ä' | 'Ä' => "AE".to_owned(),
            'ö' | 'Ö' => "OE".to_owned(),
            'ü' | 'Ü' => "UE".to_owned(),
            'ß' => "SS".to_owned(),
            c => c.to_string(),
        })
        .collect();
    for base in [deunicode::deunicode(part), deunicode::deunicode(&umlauts)] {
        let squeezed: String = base
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == ' ')
            .collect();
        let spaced: String = base
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { ' ' })
            .collect();
        for v in [
            base.clone(),
            squeezed,
            spaced.split_whitespace().collect::<Vec<_>>().join(" "),
        ] {
            if v != part && !v.trim().is_empty() && !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(String, Phi)> {
        let mut spans = find(text);
        spans.sort_by_key(|(r, _)| (r.start, r.end));
        spans
            .into_iter()
            .map(|(r, k)| (text[r].to_owned(), k))
            .collect()
    }

    fn has(text: &str, what: &str) -> bool {
        found(text).iter().any(|(t, _)| t == what)
    }

    #[test]
    fn names_by_list_and_by_role() {
        assert!(has("husband EZEKIEL to call (563) 555-0525", "EZEKIEL"));
        assert!(has(
            "known lymphoma restaging, tech ABERCROMBIE present",
            "ABERCROMBIE"
        ));
        assert!(has("ARTERIAL_PHASE_OBRIEN", "OBRIEN"));
        assert!(has("AX DWI b1000 MULLER", "MULLER"));
        assert!(has("Meridian reading room 2 - Dr. DELACROIX", "DELACROIX"));
        assert!(has("AxT2Muller", "Muller"));
        assert!(has("per Dr. WHITE", "WHITE"));
        assert!(!has("white matter lesions", "white"));
        assert!(has("wife Qzxvbn", "Qzxvbn"));
    }

    #[test]
    fn employers_and_addresses() {
        assert!(has(
            "accountant at PEMBERTON AND SONS",
            "PEMBERTON AND SONS"
        ));
        assert!(has("seen at St. Qwerty Hospital", "Qwerty Hospital"));
        assert!(has(
            "lives 12 Elm Street, SPRINGFIELD, IL 62704",
            "12 Elm Street"
        ));
        assert!(has(
            "lives 12 Elm Street, SPRINGFIELD, IL 62704",
            "SPRINGFIELD, IL 62704"
        ));
        assert!(has("zip 62704", "62704"));
        assert!(has("see www.example.org/x", "www.example.org/x"));
    }

    #[test]
    fn ages_ids_and_dates() {
        assert!(has("92 yo female", "92"));
        assert!(has("AGE: 95", "95"));
        assert!(!has("age 45", "45"));
        assert!(has("MRN: A12345", "A12345"));
        assert!(has("acc# 4455", "4455"));
        assert!(has("ref ZX9912345", "ZX9912345"));
        assert!(has("prior JAN 2021", "JAN 2021"));
        assert!(has("seen 12-JAN-21", "12-JAN-21"));
    }

    #[test]
    fn clinical_text_survives() {
        for text in [
            "US ABDOMEN COMPLETE",
            "t1_vibe_fs_tra_bh_dyn",
            "CT, HEAD/BRAIN WO CONTRAST",
            "AX T2 FLAIR POST GD",
            "Cervical OBLI 1",
            "1024x1024 matrix",
            "Radiology Department imaging",
            "MEDICAL CENTER",
            "b1000",
            "Chest PA PA",
            "XR C Spine Comp Min 4 Views",
        ] {
            assert_eq!(found(text), vec![], "{text}");
        }
        assert!(is_clinical_phrase("ABDOMEN"));
        assert!(!is_clinical_phrase("PEMBERTON"));
    }

    #[test]
    fn variants_fold_accents_and_punctuation() {
        assert!(name_variants("O'BRIEN").contains(&"OBRIEN".to_owned()));
        assert!(name_variants("O'BRIEN").contains(&"O BRIEN".to_owned()));
        assert!(name_variants("MÜLLER").contains(&"MULLER".to_owned()));
        assert!(name_variants("MÜLLER").contains(&"MUELLER".to_owned()));
        assert!(name_variants("SMITH").is_empty());
    }
}
