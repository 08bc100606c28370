//! The identifying values of the input files ("needles"), and finding them again in outputs.
//!
//! # What is gathered, from every input data set at every depth
//! The identifying attributes and their kinds are the engine's own table
//! ([`crate::deid::identifiers`]); by kind:
//! - Person names (any PN attribute): the value as written, family and given name in both
//!   orders, each component and each word of a component; titles ("Dr", "MD", …) never.
//! - Identifiers: PatientID, OtherPatientIDs, IssuerOfPatientID, MedicalRecordLocator,
//!   AccessionNumber, StudyID, procedure and procedure step IDs, admission and order numbers,
//!   StationName, DeviceSerialNumber: the whole value.
//! - PatientBirthDate in common spellings: `19650412`, `1965-04-12`, `1965/04/12`, `12.04.1965`,
//!   `12/04/1965`, `04/12/1965`, `12-04-1965`, without leading zeros, and with English month
//!   names (`12 Apr 1965`, `April 12, 1965`).
//! - Addresses (patient, institution, referring physician, person): the whole value, each
//!   comma-separated part of at least 5 characters, each word of at least 5 letters that is
//!   not a common word ("street", "hospital", …) and each number of at least 5 digits.
//! - Telephone numbers: the value, and its digits alone when there are at least 7.
//! - InstitutionName and InstitutionalDepartmentName: the whole value and each significant
//!   word of at least 5 letters.
//! - UIDs (any UI attribute, private ones too) outside `1.2.840.10008.`.
//! - Free text (other LO, SH, ST, LT, UT, UC attributes): e-mail addresses, telephone numbers
//!   and runs of 7 or more digits, the identifiers text carries whatever the file.
//!
//! Placeholder texts of test and demo files ("dft patient name", "Name Here", "Anonymous":
//! every word a placeholder word) are never needles.
//!
//! # Whose values each output is searched for
//! Every needle remembers the groups of the inputs that hold it: their manifest record (the
//! keyed id of the input path), their patient (the pseudonymised PatientID the engine writes,
//! which also covers files without a PatientID) and their study (the remapped
//! StudyInstanceUID) — each as an output shows it. An output is linked to the groups its
//! manifest record, its PatientID and its StudyInstanceUID name ([`Matcher::scope`]), and is
//! searched for the values of those inputs, and for the values of any other input that
//! identify anyone wherever they appear: whole person names, IDs, birth dates, telephone
//! numbers, e-mail addresses and long numbers, UIDs. Another patient's institution, address
//! or device words, single name words and 2-character or shared values are no concern of this
//! output. The links need the run's key; without it every output is searched for every
//! input's values.
//!
//! # How sure a hit is
//! A hit is a leak, or a `review` item for a person to judge (which fails the gate only with
//! `--strict`): a needle of 2 characters, one word or component of a longer person name found
//! outside a person-name attribute ("FLAT" as a FilterType, not the name "flat glade"), a
//! value the profile writes or that the inputs of 3 or more patients share, or a name or ID
//! (with fewer than 4 digits) that one of the output's own inputs also holds in a kept
//! attribute (a physician named like the kept Manufacturer): the output may hold it through
//! that attribute. Kept by another patient's input only, it is a leak: this output holds no
//! attribute of that input. Without links, a value any input keeps is for review. Whole
//! names, IDs, dates, telephone numbers and UIDs elsewhere are leaks.
//!
//! An attribute the profile deliberately keeps (its rule says `keep`, e.g. InstitutionName
//! under retain-institution-identity) is not gathered: its value in the output is a choice,
//! not a leak. Values the profile itself writes (the dummy text, `replace` values) are never
//! needles, so re-verifying data that was de-identified before gives no false hits. An
//! institution, address or device value (or word) that some input also holds in a kept
//! free-text attribute, or that the profile writes, is not a needle either: "GE MEDICAL SYSTEMS" as an InstitutionName
//! reveals nothing when the kept Manufacturer says the same. Person names, IDs, dates,
//! telephone numbers and UIDs get no such allowance. Values need a letter or digit.
//!
//! # Where and how they are searched (short values)
//! Short values would match ordinary text and random bytes, so the rules depend on length:
//! - Every needle of at least 2 characters is a hit when it is the whole value of a free-text
//!   attribute (PN, LO, SH, ST, LT, UT, UC, AE, UR) of an output, case-insensitively.
//! - Needles of at least 3 characters (numbers: at least 4 digits) are also found inside
//!   free-text values, on word boundaries: "ANN" is not found in "ANNUAL", "DOE" is found in
//!   "seen by DOE, JOHN". Single characters (sex "M", initials) are never searched, and
//!   neither are ages, sexes or other coded values.
//! - An input's UID written into text is found as a whole dotted number.
//! - Needles of at least 6 bytes that are not one word of letters, and are certain (not review,
//!   not one word of a name), and UIDs of 10 or more, are searched in the raw bytes of the
//!   whole file — preamble, file meta, private and other binary values (ICC profiles and LUTs
//!   hold words like "Default" and "Radiology") — in UTF-8 and in the file's
//!   character set, upper- and lower-case (ASCII letters in any case), on byte boundaries. Text
//!   attributes are left to the rules above, and pixel, overlay, waveform and spectroscopy
//!   samples are skipped: random samples match short strings by chance, and pixels are the
//!   pixel stage's business.
//! - Original UIDs are hits in any UI value of an output, compared whole.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use dicom_core::header::Header;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{Tag, VR};
use dicom_encoding::text::{SpecificCharacterSet, TextCodec};
use dicom_object::mem::{InMemDicomObject, InMemElement};
use regex::Regex;

use crate::deid::Deidentifier;
use crate::deid::clean;
use crate::deid::decide::Place;
use crate::deid::identifiers::identifying;
use crate::deid::walk::{Step, Visitor};
use crate::dicom::dates::{MONTH_NAMES, parse_da};
use crate::dicom::scan::MAX_DEPTH;
use crate::dicom::uid;
use crate::dicom::values::{dictionary_vr, is_free_text_vr, keyword};
use crate::profile::Action;

pub use crate::deid::identifiers::Kind;

/// A needle found: its kind, the input attribute it was gathered from, and how sure a hit on
/// it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hit {
    pub kind: Kind,
    pub source: Tag,
    /// A hit is plausible but uncertain in any output: a value of 2 characters, one the
    /// profile writes, or one the inputs of several patients share.
    pub review: bool,
    /// One word or component of a longer person name: a leak in a person-name attribute,
    /// uncertain anywhere else ("FLAT" as a FilterType is not the name "flat glade").
    pub partial: bool,
    /// Some input holds the value (with fewer than 4 digits) in a kept attribute: uncertain
    /// in an output of such an input, or in an output no input is linked to.
    pub kept: bool,
    /// The needle's index in the matcher (its owners and keepers).
    needle: u32,
}

impl Hit {
    /// Whether the hit identifies someone in any output, its own patient's or not: a whole
    /// name, an ID, a birth date, a telephone number, an e-mail address or long number, a UID
    /// — and certain (not 2 characters, not shared, not written by the profile).
    fn identifies_anyone(&self) -> bool {
        !self.review
            && !self.partial
            && !matches!(self.kind, Kind::Device | Kind::Address | Kind::Institution)
    }
}

/// Which inputs an output is linked to (by its manifest record, its pseudonymised PatientID
/// and its StudyInstanceUID), as the groups of those inputs; or, without the run's key, no
/// link at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Without the run's key: every input's values are searched, as if each were the output's.
    Unlinked,
    /// The groups (patients, studies, input files) of the inputs linked to the output.
    Linked(Vec<u32>),
}

impl std::fmt::Display for Hit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (as in {} of an input)",
            self.kind,
            keyword(self.source)
        )
    }
}

/// The identifying values gathered from inputs, by lower-case text.
#[derive(Default)]
pub struct Needles {
    values: BTreeMap<String, Hit>,
    uids: BTreeMap<String, Hit>,
    /// Texts the profile keeps in some input (whole values and their words), with the groups
    /// of the inputs that keep them, which organisation and device needles may coincide with
    /// ("GE MEDICAL SYSTEMS" as both InstitutionName and the kept Manufacturer).
    kept: BTreeMap<String, BTreeSet<u32>>,
    /// The groups of one input gathered: its manifest record, its patient (pseudonymised as
    /// the engine writes it) and its study (remapped), as an output shows them (empty after
    /// merging).
    own: Vec<String>,
    /// The group names, by index, and the indexes of the groups whose inputs hold each value.
    groups: Vec<String>,
    group_ids: HashMap<String, u32>,
    owners: HashMap<String, BTreeSet<u32>>,
    /// A record's group → every group of its input (its patient and study too).
    record_groups: HashMap<u32, Vec<u32>>,
    /// The patients (PatientID of the input) whose inputs hold each value: a value other than
    /// a name that many patients share (a department, a station, a study ID "1") is
    /// vocabulary rather than identity.
    holders: HashMap<String, BTreeSet<String>>,
    /// The PatientID of the one input gathered (empty after merging).
    patient: String,
}

/// A value held by this many patients' inputs is only for review.
const SHARED_BY: usize = 3;

/// Only counts: the values are PHI.
impl std::fmt::Debug for Needles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Needles({} values, {} UIDs)",
            self.values.len(),
            self.uids.len()
        )
    }
}

impl Needles {
    pub fn len(&self) -> usize {
        self.values.len() + self.uids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many values of each kind were gathered (the search's reach, without the values).
    pub fn counts(&self) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for hit in self.values.values().chain(self.uids.values()) {
            *counts.entry(hit.kind.to_string()).or_default() += 1;
        }
        counts
    }

    fn intern(&mut self, group: &str) -> u32 {
        if let Some(id) = self.group_ids.get(group) {
            return *id;
        }
        let id = self.groups.len() as u32;
        self.groups.push(group.to_owned());
        self.group_ids.insert(group.to_owned(), id);
        id
    }

    /// Add another file's needles (the first kind seen for a value stays, so the result does
    /// not depend on the order files were read in when merged in input order).
    pub fn merge(&mut self, other: Needles) {
        let map: Vec<u32> = other.groups.iter().map(|g| self.intern(g)).collect();
        let own: Vec<u32> = other.own.iter().map(|g| self.intern(g)).collect();
        if other.own.first().is_some_and(|g| g.starts_with("record ")) {
            self.record_groups.insert(own[0], own.clone());
        }
        for (record, ids) in other.record_groups {
            let ids = ids.into_iter().map(|i| map[i as usize]).collect();
            self.record_groups.insert(map[record as usize], ids);
        }
        for text in other.values.keys().chain(other.uids.keys()) {
            self.owners
                .entry(text.clone())
                .or_default()
                .extend(own.iter().copied());
        }
        for (text, ids) in other.owners {
            let mapped = ids.into_iter().map(|i| map[i as usize]);
            self.owners.entry(text).or_default().extend(mapped);
        }
        for (word, ids) in other.kept {
            let mapped = ids.into_iter().map(|i| map[i as usize]);
            let entry = self.kept.entry(word).or_default();
            entry.extend(mapped);
            entry.extend(own.iter().copied());
        }
        for text in other.values.keys() {
            self.holders
                .entry(text.clone())
                .or_default()
                .insert(other.patient.clone());
        }
        for (text, patients) in other.holders {
            self.holders.entry(text).or_default().extend(patients);
        }
        for (k, v) in other.values {
            self.values.entry(k).or_insert(v);
        }
        for (k, v) in other.uids {
            self.uids.entry(k).or_insert(v);
        }
    }

    fn add(&mut self, text: &str, kind: Kind, source: Tag) {
        self.add_hit(text, kind, source, false);
    }

    /// Add a value; a whole value already gathered stays whole when it is also a part.
    fn add_hit(&mut self, text: &str, kind: Kind, source: Tag, partial: bool) {
        let text = text.trim();
        let count = text.chars().count();
        if count < 2 || !text.chars().any(char::is_alphanumeric) || is_placeholder(text) {
            return;
        }
        let hit = Hit {
            kind,
            source,
            review: count < 3,
            partial,
            kept: false,
            needle: 0,
        };
        self.values
            .entry(text.to_lowercase())
            .and_modify(|h| h.partial &= partial)
            .or_insert(hit);
    }

    /// Gather every identifying value of one input data set. `record` is the keyed id of its
    /// path (its manifest record's id), when the run's key is known.
    pub fn gather(
        deidentifier: &Deidentifier,
        object: &InMemDicomObject,
        record: Option<&str>,
    ) -> Needles {
        use crate::dicom::values::top_text;
        use dicom_dictionary_std::tags;
        let mut own: Vec<String> = record.map(|r| format!("record {r}")).into_iter().collect();
        let patient = deidentifier.patient_of(object).pseudonym;
        if !patient.is_empty() {
            own.push(format!("patient {patient}"));
        }
        let study = top_text(object, tags::STUDY_INSTANCE_UID);
        if !study.is_empty() {
            // As written: remapped, or as it was under a profile that keeps UIDs.
            own.push(format!("study {}", deidentifier.uids().remap(&study)));
            own.push(format!("study {study}"));
        }
        let mut needles = Needles {
            patient: top_text(object, tags::PATIENT_ID),
            own,
            ..Needles::default()
        };
        deidentifier.walk(object, (), &mut Gathering(&mut needles));
        needles
    }

    /// The values of one element, by the engine's action on it.
    fn gather_element(&mut self, elem: &InMemElement, action: &Action) {
        let tag = elem.tag();
        let vr = match elem.vr() {
            VR::UN => dictionary_vr(tag).unwrap_or(VR::UN),
            vr => vr,
        };
        let Value::Primitive(value) = elem.value() else {
            return;
        };
        // A deliberately kept attribute is a choice of the profile, not a leak.
        if *action == Action::Keep {
            if is_free_text_vr(vr) {
                for v in values(value) {
                    let v = v.trim().to_lowercase();
                    for word in v.split(|c: char| !c.is_alphanumeric()) {
                        self.kept.entry(word.to_owned()).or_default();
                    }
                    self.kept.entry(v).or_default();
                }
            }
            return;
        }
        for v in values(value) {
            if tag.0 % 2 == 1 {
                match vr {
                    VR::PN => self.add_name(&v, Kind::PersonName, tag),
                    VR::UI => self.add_uid(&v, tag),
                    _ => {}
                }
            } else {
                self.add_public(tag, vr, &v);
            }
        }
    }

    fn add_public(&mut self, tag: Tag, vr: VR, v: &str) {
        match identifying(tag).and_then(|row| row.kind) {
            Some(kind) if kind.is_name() => self.add_name(v, kind, tag),
            _ if vr == VR::PN => self.add_name(v, Kind::PersonName, tag),
            Some(Kind::BirthDate) => self.add_birth_date(v, tag),
            Some(Kind::Address) => self.add_address(v, tag),
            Some(Kind::PhoneNumber) => self.add_phone(v, Kind::PhoneNumber, tag),
            Some(Kind::Institution) => {
                self.add(v, Kind::Institution, tag);
                self.add_words(v, Kind::Institution, tag);
            }
            Some(kind) => self.add(v, kind, tag),
            None if vr == VR::UI => self.add_uid(v, tag),
            None if matches!(vr, VR::LO | VR::SH | VR::ST | VR::LT | VR::UT | VR::UC) => {
                self.add_free_text(v, tag)
            }
            None => {}
        }
    }

    fn add_uid(&mut self, v: &str, tag: Tag) {
        let v = v.trim_end_matches(['\0', ' ']).trim();
        // Class and transfer syntax UIDs name kinds of object (a vendor's private SOP class),
        // not anyone's data.
        let name = keyword(tag);
        if name.ends_with("ClassUID") || name.contains("TransferSyntax") {
            return;
        }
        if !v.is_empty() && !uid::is_well_known(v) {
            self.uids.entry(v.to_owned()).or_insert(Hit {
                kind: Kind::Uid,
                source: tag,
                review: false,
                partial: false,
                kept: false,
                needle: 0,
            });
        }
    }

    /// A PN value: the whole value, both name orders, every component and word.
    fn add_name(&mut self, pn: &str, kind: Kind, tag: Tag) {
        self.add(pn, kind, tag);
        let whole = pn.trim_matches(['^', '=', ' ']);
        for group in pn.split('=') {
            let parts: Vec<&str> = group.split('^').map(str::trim).collect();
            let spaced = parts
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" ");
            self.add(&spaced, kind, tag);
            if let [family, given, ..] = parts[..]
                && !family.is_empty()
                && !given.is_empty()
            {
                self.add(&format!("{given} {family}"), kind, tag);
                self.add(&format!("{family}, {given}"), kind, tag);
            }
            for part in &parts {
                if !is_title(part) {
                    self.add_hit(part, kind, tag, part.trim() != whole);
                }
                for word in part.split_whitespace() {
                    if !is_title(word) && word.chars().filter(|c| c.is_alphabetic()).count() >= 2 {
                        self.add_hit(word, kind, tag, word != whole);
                    }
                }
            }
        }
    }

    /// A DA birth date in its common spellings.
    fn add_birth_date(&mut self, da: &str, tag: Tag) {
        let da = da.trim();
        self.add(da, Kind::BirthDate, tag);
        let Some((y, m, d)) = parse_da(da) else {
            return;
        };
        let month = MONTH_NAMES[m as usize - 1];
        let short = &month[..3];
        let spellings = [
            format!("{y:04}-{m:02}-{d:02}"),
            format!("{y:04}/{m:02}/{d:02}"),
            format!("{y:04}.{m:02}.{d:02}"),
            format!("{d:02}.{m:02}.{y:04}"),
            format!("{d}.{m}.{y:04}"),
            format!("{d:02}/{m:02}/{y:04}"),
            format!("{d}/{m}/{y:04}"),
            format!("{m:02}/{d:02}/{y:04}"),
            format!("{m}/{d}/{y:04}"),
            format!("{d:02}-{m:02}-{y:04}"),
            format!("{m:02}-{d:02}-{y:04}"),
            format!("{d} {month} {y:04}"),
            format!("{d} {short} {y:04}"),
            format!("{d:02} {short} {y:04}"),
            format!("{month} {d}, {y:04}"),
            format!("{short} {d}, {y:04}"),
            format!("{d:02}-{short}-{y:04}"),
        ];
        for s in spellings {
            self.add(&s, Kind::BirthDate, tag);
        }
    }

    fn add_address(&mut self, v: &str, tag: Tag) {
        self.add(v, Kind::Address, tag);
        for part in v.split([',', ';', '^', '\n', '\r']) {
            if part.trim().chars().count() >= 5 {
                self.add(part, Kind::Address, tag);
            }
        }
        self.add_words(v, Kind::Address, tag);
    }

    /// Significant words of a phrase: at least 5 letters and not common, or at least 5 digits.
    fn add_words(&mut self, v: &str, kind: Kind, tag: Tag) {
        for word in v.split(|c: char| !c.is_alphanumeric()) {
            let letters = word.chars().filter(|c| c.is_alphabetic()).count();
            let digits = word.chars().all(|c| c.is_ascii_digit());
            if (letters >= 5 && !clean::is_common(word)) || (digits && word.len() >= 5) {
                self.add(word, kind, tag);
            }
        }
    }

    fn add_phone(&mut self, v: &str, kind: Kind, tag: Tag) {
        self.add(v, kind, tag);
        let digits: String = v.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 7 {
            self.add(&digits, kind, tag);
        }
    }

    fn add_free_text(&mut self, v: &str, tag: Tag) {
        static PATTERNS: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
            Regex::new(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+|\+?(?:\(\d+\)[ .-]?)?\d[\d .-]{5,}\d|\d{7,}")
                .expect("free-text patterns are valid")
        });
        for m in PATTERNS.find_iter(v) {
            let text = m.as_str();
            let before = v[..m.start()].chars().next_back();
            let after = v[m.end()..].chars().next();
            // Parts of dotted numbers (UIDs, versions, decimals) are not identifiers.
            if before == Some('.') || after == Some('.') {
                continue;
            }
            let digits = text.chars().filter(char::is_ascii_digit).count();
            if text.contains('@') || digits >= 7 {
                self.add(text, Kind::FreeTextIdentifier, tag);
            }
        }
    }

    /// Build the searches, leaving out values the profile itself writes. With `linked`, each
    /// output is searched in the scope of its own inputs (see [`Matcher::judge`]).
    pub fn into_matcher(mut self, written_by_profile: &[String], linked: bool) -> Matcher {
        let kept = std::mem::take(&mut self.kept);
        let mut written = BTreeSet::new();
        for v in written_by_profile {
            let v = v.trim().to_lowercase();
            self.values.remove(&v);
            written.extend(v.split(|c: char| !c.is_alphanumeric()).map(str::to_owned));
        }
        let vocabulary = |text: &str| kept.contains_key(text) || written.contains(text);
        self.values.retain(|text, hit| {
            !(matches!(hit.kind, Kind::Institution | Kind::Address | Kind::Device)
                && vocabulary(text))
        });
        // A name or word that is also vocabulary somewhere (a physician named like the kept
        // Manufacturer) is for a person to judge; a value with 4 or more digits (an ID, a
        // date) stays certain.
        let mut owners = Vec::new();
        let mut keepers = Vec::new();
        let needles = self.values.iter_mut().chain(self.uids.iter_mut());
        for (needle, (text, hit)) in needles.enumerate() {
            hit.needle = needle as u32;
            owners.push(self.owners.remove(text).unwrap_or_default());
            let few_digits = text.chars().filter(char::is_ascii_digit).count() < 4;
            // Names stay certain: staff names recur across patients and still identify
            // someone, and a patient name is one whoever else bears it.
            let shared =
                !hit.kind.is_name() && self.holders.get(text).is_some_and(|p| p.len() >= SHARED_BY);
            if few_digits && hit.kind != Kind::Uid {
                hit.review |= shared || written.contains(text);
                hit.kept = kept.contains_key(text);
            }
            keepers.push(match hit.kept {
                true => kept.get(text).cloned().unwrap_or_default(),
                false => BTreeSet::new(),
            });
        }
        let exact: HashMap<String, Hit> = self.values.clone().into_iter().collect();
        let words: Vec<(String, Hit)> = self
            .values
            .iter()
            .filter(|(text, _)| word_searchable(text))
            .map(|(t, h)| (t.clone(), *h))
            .collect();
        let word_search = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(words.iter().map(|(t, _)| t.as_str()))
            .expect("needles form an automaton");
        let mut bytes: Vec<(String, Hit)> = self
            .values
            .iter()
            .filter(|(text, hit)| byte_searchable(text, hit))
            .map(|(t, h)| (t.clone(), *h))
            .collect();
        bytes.extend(
            self.uids
                .iter()
                .filter(|(u, _)| u.len() >= 10)
                .map(|(t, h)| (t.clone(), *h)),
        );
        Matcher {
            exact,
            uids: self.uids.into_iter().collect(),
            word_search,
            words,
            bytes,
            byte_searches: Mutex::new(HashMap::new()),
            owners,
            keepers,
            group_ids: self.group_ids,
            record_groups: self.record_groups,
            linked,
        }
    }
}

/// The walk over an input data set that gathers its needles: every element at every depth
/// (to the reader's limit), removed sequences' items included, by the engine's decisions.
struct Gathering<'a>(&'a mut Needles);

impl Visitor for Gathering<'_> {
    type Within = ();

    fn element(
        &mut self,
        _: &(),
        place: Place,
        elem: &InMemElement,
        step: &Step<'_>,
    ) -> Option<()> {
        if let Value::Sequence(_) = elem.value() {
            return (place.depth < MAX_DEPTH).then_some(());
        }
        self.0.gather_element(elem, step.action());
        None
    }

    fn item(&mut self, _: &(), _: usize) {}
}

/// Whether a needle is long enough to be searched inside text (see the module doc).
fn word_searchable(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    if letters == 0 {
        digits >= 4
    } else {
        text.chars().count() >= 3
    }
}

/// Whether a needle is searched in binary values: long, certain, and not a single word of
/// letters (ICC profiles, LUTs and vendor blocks hold words like "Default" or "Radiology").
fn byte_searchable(text: &str, hit: &Hit) -> bool {
    text.len() >= 6 && !hit.review && !hit.partial && !text.chars().all(char::is_alphabetic)
}

/// Placeholder texts of test and demo files ("dft patient name", "Name Here", "Anonymous"):
/// every word is a placeholder word, so the value identifies no one.
pub fn is_placeholder(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "anon",
        "anonymous",
        "anonymized",
        "anonymised",
        "dft",
        "default",
        "demo",
        "here",
        "name",
        "names",
        "none",
        "null",
        "patient",
        "patients",
        "physician",
        "doctor",
        "sample",
        "test",
        "unknown",
        "xxx",
        "na",
        "n",
        "a",
        "removed",
        "deidentified",
        "phantom",
        "first",
        "last",
        "family",
        "given",
        "manufacturer",
    ];
    let mut words = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .peekable();
    words.peek().is_some() && words.all(|w| WORDS.contains(&w.to_lowercase().as_str()))
}

fn is_title(word: &str) -> bool {
    clean::TITLES.contains(&word.trim().trim_end_matches('.').to_lowercase().as_str())
}

/// The string values of a primitive value, padding trimmed. Binary and numeric values hold no
/// names or UIDs: only their first few numbers are formatted (enough to tell empty from not),
/// never a whole pixel or LUT array.
pub fn values(value: &PrimitiveValue) -> Vec<String> {
    const FIRST: usize = 8;
    fn first<T: ToString>(v: &[T]) -> Vec<String> {
        v.iter().take(FIRST).map(T::to_string).collect()
    }
    match value {
        PrimitiveValue::U8(v) if v.len() > FIRST => return first(v),
        PrimitiveValue::U16(v) if v.len() > FIRST => return first(v),
        PrimitiveValue::I16(v) if v.len() > FIRST => return first(v),
        PrimitiveValue::U32(v) if v.len() > FIRST => return first(v),
        PrimitiveValue::I32(v) if v.len() > FIRST => return first(v),
        PrimitiveValue::U64(v) if v.len() > FIRST => return first(v),
        PrimitiveValue::I64(v) if v.len() > FIRST => return first(v),
        PrimitiveValue::F32(v) if v.len() > FIRST => return first(v),
        PrimitiveValue::F64(v) if v.len() > FIRST => return first(v),
        _ => {}
    }
    value
        .to_multi_str()
        .iter()
        .map(|v| v.trim_end_matches(['\0', ' ']).to_owned())
        .filter(|v| !v.is_empty())
        .collect()
}

/// One compiled byte search: the patterns of every needle in one set of encodings.
struct ByteSearch {
    automaton: AhoCorasick,
    hits: Vec<Hit>,
}

/// The searches over outputs, built once from the needles.
pub struct Matcher {
    exact: HashMap<String, Hit>,
    uids: HashMap<String, Hit>,
    word_search: AhoCorasick,
    words: Vec<(String, Hit)>,
    bytes: Vec<(String, Hit)>,
    /// By character set code (`SpecificCharacterSet` values): built on first use.
    byte_searches: Mutex<HashMap<Vec<String>, Arc<ByteSearch>>>,
    /// By needle: the groups whose inputs hold it, and those that keep it as vocabulary.
    owners: Vec<BTreeSet<u32>>,
    keepers: Vec<BTreeSet<u32>>,
    group_ids: HashMap<String, u32>,
    record_groups: HashMap<u32, Vec<u32>>,
    /// Outputs can be linked to their inputs (the run's key is known).
    linked: bool,
}

impl Matcher {
    /// The scope of an output: the groups of the inputs its manifest record (`record`), its
    /// PatientID and its StudyInstanceUID (as written) link it to.
    pub fn scope(&self, record: Option<&str>, patient_id: &str, study_uid: &str) -> Scope {
        if !self.linked {
            return Scope::Unlinked;
        }
        let group = |name: String| self.group_ids.get(&name).copied();
        let mut ids: Vec<u32> = record
            .and_then(|r| group(format!("record {r}")))
            .and_then(|g| self.record_groups.get(&g))
            .cloned()
            .unwrap_or_default();
        if !patient_id.is_empty() {
            ids.extend(group(format!("patient {patient_id}")));
        }
        if !study_uid.is_empty() {
            ids.extend(group(format!("study {study_uid}")));
        }
        ids.sort_unstable();
        ids.dedup();
        Scope::Linked(ids)
    }

    /// How a hit in a value of `vr` of an output of `scope` counts: `None` when the value is
    /// no concern of this output (another patient's value that identifies no one by itself:
    /// an institution or device word, one word of a name, a shared or 2-character value),
    /// `Some(true)` for review, `Some(false)` for a leak.
    ///
    /// A value of the output's own inputs is searched whatever its kind, and is for review
    /// when uncertain: 2 characters, one word of a longer name outside a person-name
    /// attribute, written by the profile, shared by several patients, or kept as vocabulary
    /// by one of the output's own inputs (it may be there through that kept attribute). Kept
    /// by another patient's input only, it is a leak: this output cannot hold it through a
    /// kept attribute. Without links, every value is searched and a value any input keeps is
    /// for review.
    pub fn judge(&self, hit: &Hit, vr: VR, scope: &Scope) -> Option<bool> {
        let uncertain = hit.review || (hit.partial && vr != VR::PN);
        let kept = match scope {
            Scope::Unlinked => hit.kept,
            Scope::Linked(groups) => {
                let owned = &self.owners[hit.needle as usize];
                if !groups.iter().any(|g| owned.contains(g)) {
                    if !hit.identifies_anyone() {
                        return None;
                    }
                    hit.kept
                } else {
                    let keepers = &self.keepers[hit.needle as usize];
                    groups.iter().any(|g| keepers.contains(g))
                }
            }
        };
        Some(uncertain || kept)
    }

    /// The needles a free-text value holds: as its whole value, or on word boundaries.
    pub fn in_text(&self, value: &str, vr: VR) -> Vec<Hit> {
        let mut hits = Vec::new();
        let lower = value.trim().to_lowercase();
        if let Some(hit) = self.exact.get(&lower) {
            hits.push(*hit);
        }
        if vr == VR::PN {
            let spaced = lower
                .split(['^', '='])
                .map(str::trim)
                .filter(|p| !p.is_empty());
            let spaced = spaced.collect::<Vec<_>>().join(" ");
            if let Some(hit) = self.exact.get(&spaced) {
                hits.push(*hit);
            }
        }
        // An input's UID written into text (a description, an ID): whole dotted numbers only.
        for token in lower.split(|c: char| !(c.is_ascii_digit() || c == '.')) {
            let token = token.trim_matches('.');
            if token.len() >= 10
                && let Some(hit) = self.uids.get(token)
            {
                hits.push(*hit);
            }
        }
        for m in self.word_search.find_overlapping_iter(&lower) {
            if on_boundaries(&lower, m.start(), m.end()) {
                hits.push(self.words[m.pattern().as_usize()].1);
            }
        }
        hits.sort();
        hits.dedup();
        hits
    }

    /// An input's UID, when `value` is one.
    pub fn uid(&self, value: &str) -> Option<Hit> {
        self.uids
            .get(value.trim_end_matches(['\0', ' ']).trim())
            .copied()
    }

    /// The needles in raw bytes, with the offset of each hit, searched in UTF-8 and in each
    /// of `charsets` (SpecificCharacterSet values).
    pub fn in_bytes(&self, bytes: &[u8], charsets: &[String]) -> Vec<(usize, Hit)> {
        let search = self.byte_search(charsets);
        let mut hits = Vec::new();
        for m in search.automaton.find_overlapping_iter(bytes) {
            if byte_boundaries(bytes, m.start(), m.end()) {
                hits.push((m.start(), search.hits[m.pattern().as_usize()]));
            }
        }
        hits
    }

    fn byte_search(&self, charsets: &[String]) -> Arc<ByteSearch> {
        let mut cache = self.byte_searches.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(charsets.to_vec())
            .or_insert_with(|| {
                let codecs: Vec<SpecificCharacterSet> = charsets
                    .iter()
                    .filter_map(|c| SpecificCharacterSet::from_code(c.trim()))
                    .collect();
                let mut patterns: BTreeMap<Vec<u8>, Hit> = BTreeMap::new();
                for (text, hit) in &self.bytes {
                    for form in [text.to_uppercase(), text.to_lowercase()] {
                        patterns.entry(form.as_bytes().to_vec()).or_insert(*hit);
                        for codec in &codecs {
                            if let Ok(encoded) = codec.encode(&form)
                                && encoded.len() >= 6
                            {
                                patterns.entry(encoded).or_insert(*hit);
                            }
                        }
                    }
                }
                let (keys, hits): (Vec<Vec<u8>>, Vec<Hit>) = patterns.into_iter().unzip();
                let automaton = AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&keys)
                    .expect("needles form an automaton");
                Arc::new(ByteSearch { automaton, hits })
            })
            .clone()
    }
}

/// Word boundaries in text: a needle edge that is a letter or digit (outside CJK scripts,
/// which have no word boundaries) must not touch another letter or digit.
fn on_boundaries(text: &str, start: usize, end: usize) -> bool {
    let word = |c: char| c.is_alphanumeric() && !clean::is_cjk(c);
    let first = text[start..].chars().next();
    let last = text[..end].chars().next_back();
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    let open = !(first.is_some_and(word) && before.is_some_and(word));
    let close = !(last.is_some_and(word) && after.is_some_and(word));
    open && close
}

/// Byte boundaries: an ASCII letter or digit at a needle's edge must not touch another.
fn byte_boundaries(bytes: &[u8], start: usize, end: usize) -> bool {
    let alnum = |b: u8| b.is_ascii_alphanumeric();
    let open = start == 0 || !(alnum(bytes[start]) && alnum(bytes[start - 1]));
    let close = end == bytes.len() || !(alnum(bytes[end - 1]) && alnum(bytes[end]));
    open && close
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Key;
    use crate::profile::Profile;
    use dicom_core::DataElement;
    use dicom_dictionary_std::tags;

    fn matcher(elements: Vec<(Tag, VR, &str)>) -> Matcher {
        let deid = Deidentifier::new(Profile::load("basic").unwrap(), Key::from_bytes([1; 32]));
        let object = InMemDicomObject::from_element_iter(
            elements
                .into_iter()
                .map(|(t, vr, v)| DataElement::new(t, vr, PrimitiveValue::from(v))),
        );
        Needles::gather(&deid, &object, None).into_matcher(&[], false)
    }

    #[test]
    fn names_are_found_as_words_never_inside_words() {
        let m = matcher(vec![
            (tags::PATIENT_NAME, VR::PN, "DOE^ANN^^DR"),
            (tags::PATIENT_SEX, VR::CS, "F"),
        ]);
        let kinds = |s: &str| m.in_text(s, VR::LO);
        assert_eq!(kinds("seen by Doe, Ann")[0].kind, Kind::PatientName);
        assert!(kinds("ANNUAL CHECK").is_empty());
        assert!(kinds("DOES NOT").is_empty());
        assert!(kinds("F").is_empty(), "sex is never a needle");
        assert!(kinds("DR").is_empty(), "titles are never needles");
        assert!(!kinds("ann doe").is_empty());
    }

    #[test]
    fn birth_dates_in_common_spellings() {
        let m = matcher(vec![(tags::PATIENT_BIRTH_DATE, VR::DA, "19650412")]);
        for s in [
            "DOB 12.04.1965",
            "born 04/12/1965",
            "1965-04-12",
            "12 Apr 1965",
            "April 12, 1965",
        ] {
            assert_eq!(
                m.in_text(s, VR::LT).first().map(|h| h.kind),
                Some(Kind::BirthDate),
                "{s}"
            );
        }
        assert!(m.in_text("dose 1965", VR::LT).is_empty());
    }

    #[test]
    fn bytes_are_searched_in_the_file_charset_on_boundaries() {
        let m = matcher(vec![(tags::PATIENT_NAME, VR::PN, "MÜLLER^ZOË")]);
        let latin1: Vec<u8> = b"\x00\x00m\xfcller^zo\xeb\x00".to_vec();
        assert!(
            m.in_bytes(&latin1, &[]).is_empty(),
            "not Latin-1 unless the file says so"
        );
        let hits = m.in_bytes(&latin1, &["ISO_IR 100".to_owned()]);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, 2);
        assert!(m.in_bytes("XMÜLLER^ZOË".as_bytes(), &[]).is_empty());
        assert_eq!(m.in_bytes("\u{1}müller^zoë\u{1}".as_bytes(), &[]).len(), 1);
        assert!(
            m.in_bytes("\u{1}müller\u{1}".as_bytes(), &[]).is_empty(),
            "one word of a name is not searched in binary values"
        );
    }

    #[test]
    fn kept_attributes_and_profile_values_are_not_needles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.yaml");
        std::fs::write(&path, "options: [retain-device-identity]\n").unwrap();
        let deid = Deidentifier::new(
            Profile::load(path.to_str().unwrap()).unwrap(),
            Key::from_bytes([1; 32]),
        );
        let object = InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::STATION_NAME,
                VR::SH,
                PrimitiveValue::from("CT-ROOM-7"),
            ),
            DataElement::new(
                tags::INSTITUTION_NAME,
                VR::LO,
                PrimitiveValue::from("RESEARCH SITE"),
            ),
            DataElement::new(tags::STUDY_ID, VR::SH, PrimitiveValue::from("STU-7701")),
        ]);
        let m = Needles::gather(&deid, &object, None)
            .into_matcher(&["RESEARCH SITE".to_owned()], false);
        assert!(m.in_text("CT-ROOM-7", VR::LO).is_empty());
        assert!(m.in_text("RESEARCH SITE", VR::LO).is_empty());
        assert_eq!(m.in_text("STU-7701", VR::LO)[0].kind, Kind::Identifier);
    }

    /// The false alarms of the issue that made verify a gate nobody could keep on.
    #[test]
    fn vocabulary_is_not_a_leak() {
        let m = matcher(vec![
            (tags::ACCESSION_NUMBER, VR::SH, "PR\\US"),
            (tags::PATIENT_NAME, VR::PN, "dft patient name"),
            (tags::REFERRING_PHYSICIAN_NAME, VR::PN, "Name^Here"),
            (tags::PERFORMING_PHYSICIAN_NAME, VR::PN, "glade^flat"),
            (tags::OPERATORS_NAME, VR::PN, "Dr. floral field"),
            (tags::INSTITUTIONAL_DEPARTMENT_NAME, VR::LO, "DEFAULT"),
        ]);
        let leaks = |s: &str, vr: VR| {
            m.in_text(s, vr)
                .into_iter()
                .filter(|h| m.judge(h, vr, &Scope::Unlinked) == Some(false))
                .count()
        };
        assert_eq!(
            leaks("US", VR::LO),
            0,
            "RescaleType US is for review at most"
        );
        assert_eq!(leaks("no-patient-id/2.25.1/2.25.2/x.dcm", VR::LO), 0);
        assert!(m.in_text("Manufacturer name here", VR::LO).is_empty());
        assert_eq!(leaks("FLAT", VR::SH), 0, "FilterType FLAT");
        assert_eq!(leaks("Field 1", VR::LO), 0, "BeamName Field 1");
        assert_eq!(leaks("flat glade", VR::LO), 1, "the whole name is a leak");
        assert!(leaks("GLADE^FLAT", VR::PN) > 0);
        assert_eq!(leaks("Flat", VR::PN), 1, "a name word in a person's name");
        assert!(
            m.in_bytes(b"\0Default RGB colour space\0", &[]).is_empty(),
            "ICC text is not a department"
        );
    }

    #[test]
    fn uids_written_into_text_are_found_whole() {
        let m = matcher(vec![(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            "1.2.826.0.1.3680043.2.1",
        )]);
        assert_eq!(
            m.in_text("see 1.2.826.0.1.3680043.2.1.", VR::LT)[0].kind,
            Kind::Uid
        );
        assert!(m.in_text("1.2.826.0.1.3680043.2.11", VR::LT).is_empty());
    }

    #[test]
    fn values_many_patients_share_are_for_review_names_are_not() {
        let deid = Deidentifier::new(Profile::load("basic").unwrap(), Key::from_bytes([1; 32]));
        let mut all = Needles::default();
        for id in ["P1", "P2", "P3"] {
            let object = InMemDicomObject::from_element_iter([
                DataElement::new(tags::PATIENT_ID, VR::LO, PrimitiveValue::from(id)),
                DataElement::new(tags::STATION_NAME, VR::SH, PrimitiveValue::from("CTSCAN")),
                DataElement::new(tags::PATIENT_NAME, VR::PN, PrimitiveValue::from("ROE^JANE")),
            ]);
            all.merge(Needles::gather(&deid, &object, None));
        }
        let m = all.into_matcher(&[], false);
        let review = |text: &str, vr: VR| m.judge(&m.in_text(text, vr)[0], vr, &Scope::Unlinked);
        assert_eq!(review("CTSCAN", VR::SH), Some(true));
        assert_eq!(review("Jane Roe", VR::LO), Some(false));
    }

    /// Linked by record id: a station name of another patient's input is no concern of this
    /// output, that patient's whole name is a leak anywhere, and this patient's ID kept as a
    /// word by the other input only is a leak here.
    #[test]
    fn each_output_is_searched_in_the_scope_of_its_own_inputs() {
        let deid = Deidentifier::new(Profile::load("basic").unwrap(), Key::from_bytes([1; 32]));
        let input = |id: &str, name: &str, station: &str, maker: &str| {
            InMemDicomObject::from_element_iter([
                DataElement::new(tags::PATIENT_ID, VR::LO, PrimitiveValue::from(id)),
                DataElement::new(tags::PATIENT_NAME, VR::PN, PrimitiveValue::from(name)),
                DataElement::new(tags::STATION_NAME, VR::SH, PrimitiveValue::from(station)),
                DataElement::new(tags::MANUFACTURER, VR::LO, PrimitiveValue::from(maker)),
            ])
        };
        let mut all = Needles::default();
        let a = input("KESTREL7", "ROE^ANN", "CTROOM", "ACME");
        let b = input("PB-20001", "POE^BEA", "MRSUITE", "Kestrel7 Imaging");
        all.merge(Needles::gather(&deid, &a, Some("aaaa")));
        all.merge(Needles::gather(&deid, &b, Some("bbbb")));
        let m = all.into_matcher(&[], true);
        let (of_a, of_b) = (m.scope(Some("aaaa"), "", ""), m.scope(Some("bbbb"), "", ""));
        let judge = |text: &str, scope: &Scope| {
            let hits = m.in_text(text, VR::LO);
            hits.first().and_then(|h| m.judge(h, VR::LO, scope))
        };
        assert_eq!(judge("MRSUITE", &of_b), Some(false), "its own station");
        assert_eq!(judge("MRSUITE", &of_a), None, "another patient's station");
        assert_eq!(
            judge("Bea Poe", &of_a),
            Some(false),
            "a whole name, anywhere"
        );
        assert_eq!(
            judge("KESTREL7", &of_a),
            Some(false),
            "kept by the other input only"
        );
        assert_eq!(
            judge("Kestrel7 Imaging", &of_b),
            Some(true),
            "its kept Manufacturer"
        );
        assert_eq!(
            judge("KESTREL7", &Scope::Unlinked),
            Some(true),
            "no link, no certainty"
        );
    }
}
