//! The labelled free-text evaluation of the descriptor cleaner: generates values in the
//! shapes PACS users write (histories with relatives and phone numbers, comments naming the
//! technologist, protocol names glued to the patient's name, local SR code meanings naming a
//! physician, occupations naming an employer, dates, ages, IDs, addresses, e-mail, URLs,
//! and plain clinical text), each with the header a file would hold, cleans each value as
//! the `clean` action does, and scores token by token as MIDI-B does: an identifier token
//! left anywhere in the value fails, a clinical token removed fails.
//!
//! ```text
//! cargo run --release --example freetext-eval [-- VALUES [SEED]]   (default 10000, seed 15)
//! ```
//!
//! Values with index ≡ 0, 1, 2 (mod 10) are the tuning part; the rest, held out, is what
//! the README reports. Names come from the recogniser's lists (`listed`) and from lists it
//! never saw (`unseen`: Census surnames of ranks above 40,000, `testdata/freetext/`). Dates
//! and phone numbers count as one token each (their digits recur in clinical text).

use std::collections::BTreeMap;

use dicom_deid::deid::clean::{Cleaned, Identifiers, clean_text};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn lines(text: &'static str) -> Vec<&'static str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

struct Lists {
    surnames: Vec<&'static str>,
    firsts: Vec<&'static str>,
    unseen_surnames: Vec<&'static str>,
    unseen_firsts: Vec<&'static str>,
    series: Vec<&'static str>,
    history: Vec<&'static str>,
}

impl Lists {
    fn load() -> Lists {
        let firsts = lines(include_str!("../src/deid/freetext/data/first-names.txt"));
        let surnames = lines(include_str!("../src/deid/freetext/data/surnames.txt"));
        let unseen_firsts = lines(include_str!("../testdata/freetext/unseen-given-names.txt"))
            .into_iter()
            .filter(|n| !firsts.contains(n) && !surnames.contains(n))
            .collect();
        Lists {
            surnames,
            firsts,
            unseen_surnames: lines(include_str!("../testdata/freetext/unseen-surnames.txt")),
            unseen_firsts,
            series: lines(include_str!("../testdata/freetext/series-names.txt")),
            history: lines(include_str!("../testdata/freetext/history.txt")),
        }
    }
}

/// What a piece of a value is: clinical text to keep, or an identifier of a kind.
#[derive(Clone, Copy, PartialEq)]
enum Label {
    Keep,
    Phi(&'static str),
    /// One identifier token however many words it has (dates, phone numbers).
    PhiWhole(&'static str),
}

struct Value {
    pieces: Vec<(String, Label)>,
    ids: Identifiers,
}

impl Value {
    fn text(&self) -> String {
        self.pieces.iter().map(|(t, _)| t.as_str()).collect()
    }
}

/// A person: family and given name, with where they come from.
struct Person {
    family: String,
    given: String,
    source: &'static str,
}

fn person(rng: &mut ChaCha8Rng, lists: &Lists, unseen: bool) -> Person {
    let (family, given, source) = if unseen {
        (
            lists.unseen_surnames.choose(rng).unwrap(),
            lists.unseen_firsts.choose(rng).unwrap(),
            "unseen",
        )
    } else {
        (
            lists.surnames.choose(rng).unwrap(),
            lists.firsts.choose(rng).unwrap(),
            "listed",
        )
    };
    Person {
        family: family.to_string(),
        given: given.to_string(),
        source,
    }
}

fn title_case(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| {
            f.to_uppercase()
                .chain(c.flat_map(char::to_lowercase))
                .collect()
        })
        .unwrap_or_default()
}

/// A header as a file holds it: the patient, a physician and the institution.
struct Header {
    patient: Person,
    physician: Person,
    institution: String,
}

fn header(rng: &mut ChaCha8Rng, lists: &Lists) -> (Header, Identifiers) {
    let unseen = rng.random_bool(0.3);
    let mut patient = person(rng, lists, unseen);
    // Spellings free text folds: O'BRIEN, MÜLLER, SMITH-JONES.
    match rng.random_range(0..6) {
        0 => patient.family = format!("O'{}", patient.family),
        1 => {
            patient.family = patient
                .family
                .replacen('U', "Ü", 1)
                .replacen('O', "Ö", 1)
                .replacen('A', "Ä", 1)
        }
        2 => patient.family = format!("{}-{}", patient.family, lists.surnames.choose(rng).unwrap()),
        _ => {}
    }
    let unseen = rng.random_bool(0.3);
    let physician = person(rng, lists, unseen);
    let institution = format!(
        "{} {}",
        title_case(lists.unseen_surnames.choose(rng).unwrap()),
        ["Medical Center", "Hospital", "Clinic", "Imaging Center"]
            .choose(rng)
            .unwrap()
    );
    let mut ids = Identifiers::new();
    ids.add_person_name(&format!("{}^{}", patient.family, patient.given));
    ids.add_person_name(&format!("{}^{}^^Dr.", physician.family, physician.given));
    ids.add_phrase(&institution);
    ids.add_id(&format!("PID{:07}", rng.random_range(0..10_000_000)));
    ids.add_date(&format!(
        "19{:02}{:02}{:02}",
        rng.random_range(20..99),
        rng.random_range(1..13),
        rng.random_range(1..29)
    ));
    // A stray clinical word in an attribute that identifies (the issue's BranchOfService).
    if rng.random_bool(0.2) {
        ids.add_phrase(
            ["ABDOMEN", "CHEST", "HEAD", "COMPLETE", "ROUTINE"]
                .choose(rng)
                .unwrap(),
        );
    }
    (
        Header {
            patient,
            physician,
            institution,
        },
        ids,
    )
}

/// Folds a name the way PACS text writes it: accents to ASCII, apostrophes and hyphens out.
fn folded(name: &str) -> String {
    name.replace(['\'', '-'], "")
        .replace('Ü', "U")
        .replace('Ö', "O")
        .replace('Ä', "A")
}

fn keep(s: impl Into<String>) -> (String, Label) {
    (s.into(), Label::Keep)
}

fn phi(s: impl Into<String>, kind: &'static str) -> (String, Label) {
    (s.into(), Label::Phi(kind))
}

fn date(rng: &mut ChaCha8Rng) -> String {
    let (y, m, d) = (
        rng.random_range(1990..2030),
        rng.random_range(1..13),
        rng.random_range(1..29),
    );
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mon = MON[m - 1];
    match rng.random_range(0..8) {
        0 => format!("{y}-{m:02}-{d:02}"),
        1 => format!("{m}/{d}/{y}"),
        2 => format!("{d:02}.{m:02}.{y}"),
        3 => format!("{y}{m:02}{d:02}"),
        4 => format!("{d} {mon} {y}"),
        5 => format!("{mon} {d}, {y}"),
        6 => format!("{d:02}-{}-{:02}", mon.to_uppercase(), y % 100),
        _ => format!("{mon} {y}"),
    }
}

fn phone(rng: &mut ChaCha8Rng) -> String {
    let (a, b, c) = (
        rng.random_range(200..999),
        rng.random_range(200..999),
        rng.random_range(0..10000),
    );
    match rng.random_range(0..4) {
        0 => format!("({a}) {b}-{c:04}"),
        1 => format!("{a}-{b}-{c:04}"),
        2 => format!("{a}.{b}.{c:04}"),
        _ => format!("+1 {a} {b} {c:04}"),
    }
}

/// One value of shape `shape`, its pieces labelled.
fn value(rng: &mut ChaCha8Rng, lists: &Lists, shape: usize) -> (&'static str, Value) {
    let (h, ids) = header(rng, lists);
    let series = lists.series.choose(rng).unwrap().to_string();
    let history = lists.history.choose(rng).unwrap().to_string();
    let unseen = rng.random_bool(0.4);
    let other = person(rng, lists, unseen);
    let other_kind = if other.source == "listed" {
        "name (listed, with role)"
    } else {
        "name (unseen, with role)"
    };
    let (name, pieces) = match shape {
        0 => {
            let role = ["husband", "wife", "mother", "daughter", "son"]
                .choose(rng)
                .unwrap();
            (
                "AdditionalPatientHistory",
                vec![
                    keep(format!("{history}. {role} ")),
                    phi(&other.given, other_kind),
                    keep(" to call "),
                    (phone(rng), Label::PhiWhole("phone")),
                ],
            )
        }
        1 => (
            "ImageComments",
            vec![
                keep(format!("{history}, tech ")),
                phi(&other.family, other_kind),
                keep(" present"),
            ],
        ),
        2 => {
            let proto = series.replace(' ', "_");
            (
                "ProtocolName",
                vec![
                    keep(format!("{proto}_")),
                    phi(folded(&h.patient.family), "patient name (header, folded)"),
                ],
            )
        }
        3 => (
            "SeriesDescription",
            vec![
                keep(format!("{series} ")),
                phi(folded(&h.patient.family), "patient name (header, folded)"),
            ],
        ),
        4 => {
            let site = h.institution.split(' ').next().unwrap().to_owned();
            (
                "CodeMeaning (local scheme)",
                vec![
                    phi(site, "institution"),
                    keep(format!(" reading room {} - Dr. ", rng.random_range(1..9))),
                    phi(&h.physician.family, "physician name (header)"),
                ],
            )
        }
        5 => {
            let job = [
                "accountant",
                "teacher",
                "welder",
                "nurse",
                "driver",
                "clerk",
            ]
            .choose(rng)
            .unwrap();
            let employer = lists.unseen_surnames.choose(rng).unwrap();
            let kind = ["AND SONS", "Inc", "LLC", "Hospital", "& Co"]
                .choose(rng)
                .unwrap();
            (
                "Occupation",
                vec![
                    keep(format!("{job} at ")),
                    phi(format!("{employer} {kind}"), "institution"),
                ],
            )
        }
        6 => (
            "StudyComments",
            vec![
                keep(format!("{series} prior ")),
                (date(rng), Label::PhiWhole("date")),
            ],
        ),
        7 => {
            let old = rng.random_bool(0.5);
            let age = if old {
                rng.random_range(90..106)
            } else {
                rng.random_range(20..90)
            };
            let age_piece = if old {
                phi(age.to_string(), "age over 89")
            } else {
                keep(age.to_string())
            };
            (
                "AdditionalPatientHistory",
                vec![age_piece, keep(format!(" yo F, {history}"))],
            )
        }
        8 => {
            let id = match rng.random_range(0..3) {
                0 => format!("MRN: {:08}", rng.random_range(0..100_000_000)),
                1 => format!("ACC# A{:07}", rng.random_range(0..10_000_000)),
                _ => format!("ref CT{:06}X", rng.random_range(0..1_000_000)),
            };
            let (label, number) = id.split_once(' ').unwrap();
            (
                "ImageComments",
                vec![keep(format!("{series} {label} ")), phi(number, "ID")],
            )
        }
        9 => {
            let who = person(rng, lists, false);
            let contact = if rng.random_bool(0.5) {
                format!(
                    "{}.{}@{}.org",
                    who.given.to_lowercase(),
                    who.family.to_lowercase(),
                    lists.unseen_surnames.choose(rng).unwrap().to_lowercase()
                )
            } else {
                format!(
                    "https://portal.{}.com/r/{}",
                    lists.unseen_surnames.choose(rng).unwrap().to_lowercase(),
                    rng.random_range(100..999)
                )
            };
            (
                "ImageComments",
                vec![
                    keep(format!("{series} report to ")),
                    (contact, Label::PhiWhole("e-mail or URL")),
                ],
            )
        }
        10 => {
            let street = title_case(lists.unseen_surnames.choose(rng).unwrap());
            let city = title_case(lists.unseen_surnames.choose(rng).unwrap());
            let kind = ["Street", "St", "Ave", "Road", "Lane", "Drive"]
                .choose(rng)
                .unwrap();
            let state = ["IL", "NY", "TX", "CA", "OH", "WA"].choose(rng).unwrap();
            (
                "AdditionalPatientHistory",
                vec![
                    keep(format!("{history}. lives at ")),
                    phi(
                        format!(
                            "{} {street} {kind}, {city}, {state} {:05}",
                            rng.random_range(1..9999),
                            rng.random_range(10000..99999)
                        ),
                        "address",
                    ),
                ],
            )
        }
        11 => {
            let who = person(rng, lists, false);
            (
                "ImageComments",
                vec![
                    keep(format!("{history} ")),
                    phi(
                        format!("{} {}", who.given, who.family),
                        "name (listed, bare)",
                    ),
                ],
            )
        }
        12 => {
            let who = person(rng, lists, true);
            (
                "ImageComments",
                vec![
                    keep(format!("{series} ")),
                    phi(&who.family, "name (unseen, bare; not a target)"),
                ],
            )
        }
        _ => {
            let text = if rng.random_bool(0.5) {
                series
            } else {
                history
            };
            ("SeriesDescription", vec![keep(text)])
        }
    };
    let mut pieces = pieces;
    if rng.random_bool(0.5) {
        for (text, _) in &mut pieces {
            *text = text.to_uppercase();
        }
    }
    (name, Value { pieces, ids })
}

/// The tokens of a piece: runs of letters and digits, or the whole piece.
fn tokens(text: &str, label: Label) -> Vec<String> {
    if let Label::PhiWhole(_) = label {
        return vec![text.to_owned()];
    }
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Whether `token` is in `text` with no letter or digit on either side (case-insensitive).
fn present(text: &str, token: &str) -> bool {
    let (text, token) = (text.to_lowercase(), token.to_lowercase());
    text.match_indices(&token).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + token.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

#[derive(Default)]
struct Score {
    total: u64,
    right: u64,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let seed: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(15);
    let show = std::env::var_os("FREETEXT_EVAL_SHOW").is_some();
    let lists = Lists::load();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // (part, kind) → score; the kinds of clinical text are "clinical".
    let mut scores: BTreeMap<(&str, String), Score> = BTreeMap::new();
    for i in 0..n {
        let shape = rng.random_range(0..18);
        let (_attribute, v) = value(&mut rng, &lists, shape);
        let part = if i % 10 < 3 { "tuning" } else { "held-out" };
        let text = v.text();
        let out = match clean_text(&text, &v.ids) {
            Cleaned::Unchanged => text.clone(),
            Cleaned::Masked(m) => m,
            Cleaned::Emptied => String::new(),
        };
        for (piece, label) in &v.pieces {
            let kind = match label {
                Label::Keep => "clinical",
                Label::Phi(k) | Label::PhiWhole(k) => k,
            };
            for token in tokens(piece, *label) {
                let survives = present(&out, &token);
                let right = survives == (*label == Label::Keep);
                for p in [part, "all"] {
                    let s = scores.entry((p, kind.to_owned())).or_default();
                    s.total += 1;
                    s.right += u64::from(right);
                }
                if show && !right && part == "tuning" {
                    println!("{kind}: {token:?} in {text:?} -> {out:?}");
                }
            }
        }
    }
    println!("{n} values, seed {seed}");
    println!("| part | kind | tokens | right | rate |");
    println!("|---|---|---:|---:|---:|");
    for part in ["held-out", "tuning", "all"] {
        let mut phi = Score::default();
        for ((p, kind), s) in &scores {
            if *p != part {
                continue;
            }
            println!(
                "| {p} | {kind} | {} | {} | {:.2}% |",
                s.total,
                s.right,
                100.0 * s.right as f64 / s.total as f64
            );
            if kind != "clinical" && !kind.contains("not a target") {
                phi.total += s.total;
                phi.right += s.right;
            }
        }
        println!(
            "| {part} | **identifiers removed (targets)** | {} | {} | {:.2}% |",
            phi.total,
            phi.right,
            100.0 * phi.right as f64 / phi.total as f64
        );
    }
}
