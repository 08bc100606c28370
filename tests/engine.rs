//! The de-identification engine on synthetic data sets: identifiers at depth, in private
//! blocks, overlays and curves, in three encodings and three character sets, must be gone
//! from the re-encoded bytes, while references stay consistent.

use dicom_core::value::{DataSetSequence, PrimitiveValue};
use dicom_core::{DataElement, Length, Tag, VR};
use dicom_deid::deid::Deidentifier;
use dicom_deid::dicom::file::{self, Parsed};
use dicom_deid::key::Key;
use dicom_deid::profile::Profile;
use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
const SOP_UID: &str = "1.2.826.0.1.3680043.10.9999.1.1";
const OTHER_SOP_UID: &str = "1.2.826.0.1.3680043.10.9999.1.2";
const STUDY_UID: &str = "1.2.826.0.1.3680043.10.9999.2";
const IMPLICIT_LE: &str = "1.2.840.10008.1.2";
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";

/// Values that must not survive, as they are planted.
const PHI: &[&str] = &[
    "DOE",
    "JOHN",
    "PID-12345",
    "19700102",
    "ACC998877",
    "Mercy General",
    SOP_UID,
    OTHER_SOP_UID,
    STUDY_UID,
    "SN-4242",
];

fn el(tag: Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

fn seq(tag: Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::new(items, Length::UNDEFINED))
}

/// A CT data set with identifiers everywhere the profile must reach.
fn planted(charset: &str, name: &str) -> InMemDicomObject {
    let innermost = InMemDicomObject::from_element_iter([
        el(Tag(0x0040, 0xA123), VR::PN, "DOE^JOHN"),
        el(Tag(0x0040, 0xA160), VR::UT, "Patient DOE JOHN seen"),
        el(tags::REFERENCED_SOP_INSTANCE_UID, VR::UI, OTHER_SOP_UID),
        el(tags::PATIENT_ID, VR::LO, "PID-12345"),
    ]);
    let level2 =
        InMemDicomObject::from_element_iter([seq(tags::CONTENT_SEQUENCE, vec![innermost])]);
    let level1 = InMemDicomObject::from_element_iter([seq(tags::CONTENT_SEQUENCE, vec![level2])]);
    let private_item =
        InMemDicomObject::from_element_iter([el(tags::PATIENT_NAME, VR::PN, "DOE^JOHN")]);
    InMemDicomObject::from_element_iter([
        el(tags::SPECIFIC_CHARACTER_SET, VR::CS, charset),
        el(tags::SOP_CLASS_UID, VR::UI, CT),
        el(tags::SOP_INSTANCE_UID, VR::UI, SOP_UID),
        el(tags::STUDY_INSTANCE_UID, VR::UI, STUDY_UID),
        el(tags::STUDY_DATE, VR::DA, "20190312"),
        el(tags::ACCESSION_NUMBER, VR::SH, "ACC998877"),
        el(tags::MODALITY, VR::CS, "CT"),
        el(tags::INSTITUTION_NAME, VR::LO, "Mercy General"),
        el(tags::STUDY_DESCRIPTION, VR::LO, "CT for DOE JOHN PID-12345"),
        el(tags::PATIENT_NAME, VR::PN, name),
        el(tags::PATIENT_ID, VR::LO, "PID-12345"),
        el(tags::PATIENT_BIRTH_DATE, VR::DA, "19700102"),
        el(tags::DEVICE_SERIAL_NUMBER, VR::LO, "SN-4242"),
        seq(tags::CONTENT_SEQUENCE, vec![level1]),
        el(Tag(0x0009, 0x0010), VR::LO, "ACME_PRIVATE_1"),
        el(Tag(0x0009, 0x1001), VR::LO, "DOE^JOHN"),
        seq(Tag(0x0009, 0x1002), vec![private_item]),
        el(Tag(0x5000, 0x2500), VR::LO, "CURVE DOE"),
        el(Tag(0x6000, 0x4000), VR::LT, "Overlay of DOE JOHN"),
        DataElement::new(
            Tag(0x6000, 0x3000),
            VR::OW,
            PrimitiveValue::from(vec![0x44u8, 0x4F, 0x45, 0x00]),
        ),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(2u16)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(2u16)),
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::from(vec![1u8, 2, 3, 4, 5, 6, 7, 8]),
        ),
    ])
}

/// The text of a top-level attribute, which must be present.
fn text(object: &InMemDicomObject, tag: Tag) -> String {
    object.get(tag).unwrap().to_str().unwrap().into_owned()
}

fn engine(profile: &str) -> Deidentifier {
    Deidentifier::new(Profile::load(profile).unwrap(), Key::from_bytes([9; 32]))
}

fn contains_ci(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.to_ascii_lowercase();
    haystack
        .to_ascii_lowercase()
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Re-encode and re-parse, as the pipeline does.
fn roundtrip(object: &InMemDicomObject, ts: &str) -> (Vec<u8>, InMemDicomObject) {
    let bytes = file::encode(object, ts).unwrap();
    match file::parse(&bytes, 1 << 30).unwrap() {
        Parsed::Dataset {
            object,
            transfer_syntax,
        } => {
            assert_eq!(transfer_syntax, ts);
            (bytes, object)
        }
        _ => panic!("re-encoded file is not a data set"),
    }
}

#[test]
fn identifiers_are_gone_at_every_depth_in_every_encoding() {
    for ts in [EXPLICIT_LE, IMPLICIT_LE, EXPLICIT_BE] {
        for profile in ["basic", "ml-dataset", "safe-harbor"] {
            let (out, outcome) = engine(profile).deidentify(planted("ISO_IR 100", "DOE^JOHN"));
            let (bytes, reparsed) = roundtrip(&out, ts);
            for phi in PHI {
                assert!(
                    !contains_ci(&bytes, phi),
                    "{phi} survives in {profile} / {ts}"
                );
            }
            assert_eq!(text(&reparsed, tags::PATIENT_IDENTITY_REMOVED), "YES");
            assert!(
                reparsed.get(Tag(0x6000, 0x3000)).is_none(),
                "overlay data removed"
            );
            assert!(
                reparsed.get(Tag(0x5000, 0x2500)).is_none(),
                "curves removed"
            );
            assert!(outcome.counts.get("removed").copied().unwrap_or(0) > 0);
            // Bytes given to an OW element come back word-swapped from big endian.
            if ts != EXPLICIT_BE {
                assert_eq!(
                    reparsed
                        .get(tags::PIXEL_DATA)
                        .unwrap()
                        .to_bytes()
                        .unwrap()
                        .as_ref(),
                    &[1, 2, 3, 4, 5, 6, 7, 8]
                );
            }
        }
    }
}

#[test]
fn nested_references_follow_the_same_uid_map() {
    let deid = engine("basic");
    let (out, _) = deid.deidentify(planted("ISO_IR 100", "DOE^JOHN"));
    let mut other = planted("ISO_IR 100", "DOE^JOHN");
    other.put(el(tags::SOP_INSTANCE_UID, VR::UI, OTHER_SOP_UID));
    let (other_out, _) = deid.deidentify(other);
    let item =
        |o: &InMemDicomObject| o.get(tags::CONTENT_SEQUENCE).unwrap().items().unwrap()[0].clone();
    let innermost = item(&item(&item(&out)));
    let referenced = text(&innermost, tags::REFERENCED_SOP_INSTANCE_UID);
    let target = text(&other_out, tags::SOP_INSTANCE_UID);
    assert_eq!(referenced, target);
    assert!(referenced.starts_with("2.25."));
    assert_eq!(
        text(&out, tags::STUDY_INSTANCE_UID),
        text(&other_out, tags::STUDY_INSTANCE_UID)
    );
    assert_eq!(text(&out, tags::SOP_CLASS_UID), CT);
}

#[test]
fn patients_get_stable_pseudonyms_and_names_follow_the_template() {
    let deid = engine("basic");
    let (a, _) = deid.deidentify(planted("ISO_IR 100", "DOE^JOHN"));
    let (b, _) = deid.deidentify(planted("ISO_IR 100", "DOE^JOHN"));
    let id = text(&a, tags::PATIENT_ID);
    assert!(id.starts_with("PAT-") && id.len() == 16, "{id}");
    assert_eq!(id, text(&b, tags::PATIENT_ID));
    assert_eq!(text(&a, tags::PATIENT_NAME), id);
    let other = Deidentifier::new(Profile::load("basic").unwrap(), Key::from_bytes([10; 32]));
    let (c, _) = other.deidentify(planted("ISO_IR 100", "DOE^JOHN"));
    assert_ne!(id, text(&c, tags::PATIENT_ID));
}

#[test]
fn ml_dataset_shifts_dates_cleans_descriptors_and_keeps_safe_private() {
    let deid = engine("ml-dataset");
    let mut object = planted("ISO_IR 100", "DOE^JOHN");
    object.put(el(Tag(0x00E1, 0x0010), VR::LO, "ELSCINT1"));
    object.put(el(Tag(0x00E1, 0x1021), VR::DS, "123.4"));
    let mut later = planted("ISO_IR 100", "DOE^JOHN");
    later.put(el(tags::STUDY_DATE, VR::DA, "20190412"));
    let (out, _) = deid.deidentify(object);
    let (later_out, _) = deid.deidentify(later);
    let date = |o: &InMemDicomObject| {
        let s = text(o, tags::STUDY_DATE);
        chrono::NaiveDate::parse_from_str(&s, "%Y%m%d").unwrap()
    };
    assert_eq!((date(&later_out) - date(&out)).num_days(), 31);
    assert_ne!(
        date(&out),
        chrono::NaiveDate::from_ymd_opt(2019, 3, 12).unwrap()
    );
    let description = text(&out, tags::STUDY_DESCRIPTION);
    assert_eq!(description, "CT for ***");
    assert_eq!(text(&out, Tag(0x00E1, 0x1021)), "123.4");
    assert_eq!(text(&out, Tag(0x00E1, 0x0010)), "ELSCINT1");
    assert!(out.get(Tag(0x0009, 0x1001)).is_none());
    assert!(out.get(Tag(0x0009, 0x0010)).is_none());
    assert_eq!(
        text(&out, tags::LONGITUDINAL_TEMPORAL_INFORMATION_MODIFIED),
        "MODIFIED"
    );
    let codes: Vec<String> = out
        .get(tags::DEIDENTIFICATION_METHOD_CODE_SEQUENCE)
        .unwrap()
        .items()
        .unwrap()
        .iter()
        .map(|i| text(i, tags::CODE_VALUE))
        .collect();
    for code in ["113100", "113107", "113108", "113109", "113111", "113105"] {
        assert!(codes.contains(&code.to_owned()), "{code} in {codes:?}");
    }
    assert_eq!(codes.len(), 6);
}

#[test]
fn character_sets_round_trip() {
    for (charset, name) in [
        ("ISO_IR 100", "MÜLLER^ZOË"),
        ("ISO_IR 192", "山田^太郎=やまだ^たろう"),
    ] {
        let mut object = planted(charset, name);
        object.put(el(
            tags::STUDY_DESCRIPTION,
            VR::LO,
            &format!("CT {}", name.replace('^', " ")),
        ));
        let deid = engine("ml-dataset");
        let (out, _) = deid.deidentify(object);
        let (bytes, reparsed) = roundtrip(&out, EXPLICIT_LE);
        assert_eq!(text(&reparsed, tags::SPECIFIC_CHARACTER_SET), charset);
        for part in name.split(['^', '=']) {
            let encoded_utf8 = part.as_bytes();
            let encoded_latin1: Vec<u8> = part.chars().map(|c| c as u32 as u8).collect();
            for needle in [encoded_utf8, &encoded_latin1[..]] {
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle),
                    "{part} survives in {charset}"
                );
            }
        }
        let description = text(&reparsed, tags::STUDY_DESCRIPTION);
        assert!(
            description.starts_with("CT") && description.contains("***"),
            "{description}"
        );
    }
}

#[test]
fn iso_2022_names_are_replaced_and_the_charset_kept() {
    let jis = "\u{1b}$B;3ED\u{1b}(B^\u{1b}$BB@O:\u{1b}(B";
    let deid = engine("basic");
    let (out, _) = deid.deidentify(planted("\\ISO 2022 IR 87", jis));
    let (bytes, reparsed) = roundtrip(&out, EXPLICIT_LE);
    assert!(!bytes.windows(4).any(|w| w == b"$B;3"));
    let charset = reparsed
        .get(tags::SPECIFIC_CHARACTER_SET)
        .unwrap()
        .to_multi_str()
        .unwrap()
        .join("\\");
    assert_eq!(charset, "\\ISO 2022 IR 87");
}

#[test]
fn errors_never_quote_file_values() {
    let (out, _) = engine("basic").deidentify(planted("ISO_IR 100", "DOE^JOHN"));
    let mut bytes = file::encode(&planted("ISO_IR 100", "DOE^JOHN"), EXPLICIT_LE).unwrap();
    bytes.truncate(bytes.len() - 5);
    let err = match file::parse(&bytes, 1 << 30) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a truncated file parses"),
    };
    for phi in PHI {
        assert!(!contains_ci(err.as_bytes(), phi), "{phi} in {err}");
    }
    let mut no_sop = out;
    no_sop.remove_element(tags::SOP_CLASS_UID);
    let err = file::encode(&no_sop, EXPLICIT_LE).unwrap_err().to_string();
    assert_eq!(
        err,
        "SOPClassUID is missing or not a valid UID after de-identification"
    );
}
