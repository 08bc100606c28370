//! The suggestion as a profile: `extends` the profile named, one pixel rule per group where
//! the detector found text; groups where it found none are written commented out, since a
//! rule without regions would release their images as they are, and only a person who looked
//! may decide that.

use std::fmt::Write as _;

use super::{Group, Suggestion};
use crate::dicom::uid::sop_class_name;

/// The profile text: `name: suggested-pixel-rules`, `extends: <extends>`, and the rules.
pub fn yaml(s: &Suggestion, extends: &str) -> String {
    let examined: usize = s.groups.iter().map(|g| g.examined.len()).sum();
    let mut out = format!(
        "# Starter pixel rules from `dicom-deid rules suggest`: {} image(s) quarantined as\n\
         # burned_in_no_rule, in {} group(s) by device and geometry; the detector looked at {}.\n\
         # REVIEW each group on the review page before adopting: the detector can miss text, and\n\
         # images it did not look at may carry text elsewhere. Then add the quarantined images:\n\
         #   dicom-deid run INPUT OUTPUT --add --profile THIS-FILE.yaml\n\
         name: suggested-pixel-rules\nextends: {}\npixel:\n",
        s.quarantined,
        s.groups.len(),
        examined,
        quote(extends),
    );
    let active = s.groups.iter().filter(|g| !g.regions.is_empty()).count();
    out.push_str(if active == 0 {
        "  rules: []\n"
    } else {
        "  rules:\n"
    });
    for (n, group) in s.groups.iter().enumerate() {
        rule(&mut out, n + 1, group);
    }
    out
}

fn rule(out: &mut String, n: usize, g: &Group) {
    let d = &g.device;
    let with_text = g.examined.iter().filter(|e| !e.regions.is_empty()).count();
    let _ = writeln!(
        out,
        "    # group {n}: {} image(s); the detector looked at {} and found text in {with_text}{}",
        g.ids.len(),
        g.examined.len(),
        if g.unreadable > 0 {
            format!(" ({} could not be decoded)", g.unreadable)
        } else {
            String::new()
        }
    );
    let mut when = Vec::new();
    for (keyword, value) in [
        ("Manufacturer", &d.manufacturer),
        ("ManufacturerModelName", &d.model),
    ] {
        if value.is_empty() {
            let _ = writeln!(
                out,
                "    # {keyword} is absent in these images: the rule matches any {keyword}"
            );
        } else {
            when.push(format!("{keyword}: {}", quote(&literal_glob(value))));
        }
    }
    for (keyword, value) in [("Rows", &d.rows), ("Columns", &d.columns)] {
        if let Ok(n) = value.parse::<u32>() {
            when.push(format!("{keyword}: {n}"));
        }
    }
    if !d.sop_class.is_empty() {
        when.push(format!("SOPClassUID: {}", quote(&d.sop_class)));
    }
    let name = format!(
        "suggested {n}: {} {} {}x{} {}",
        d.manufacturer,
        d.model,
        d.columns,
        d.rows,
        sop_class_name(&d.sop_class).unwrap_or(&d.sop_class)
    );
    let regions: Vec<String> = g.regions.iter().map(ToString::to_string).collect();
    let body = format!(
        "- name: {}\n  when: {{{}}}\n  regions: [{}]",
        quote(&name.split_whitespace().collect::<Vec<_>>().join(" ")),
        when.join(", "),
        regions.join(", ")
    );
    let prefix = if g.regions.is_empty() {
        let _ = writeln!(
            out,
            "    # No text found: a rule without regions writes these images as they are. Uncomment\n    \
             # it only if the review page (and a look at more of them) shows no burned-in text."
        );
        "    # "
    } else {
        "    "
    };
    for line in body.lines() {
        let _ = writeln!(out, "{prefix}{line}");
    }
}

/// A YAML double-quoted scalar (JSON's string syntax is valid YAML).
fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// A pattern that matches `value` literally: the glob metacharacters of `when` patterns put in
/// character classes.
fn literal_glob(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '*' | '?' | '[' | '{') {
            out.push('[');
            out.push(c);
            out.push(']');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixel::Region;
    use crate::profile::Profile;
    use crate::profile::pixel::Area;
    use crate::run::suggest::{Device, Examined};
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, VR};
    use dicom_dictionary_std::tags;
    use dicom_object::mem::InMemDicomObject;

    fn group(manufacturer: &str, regions: Vec<Region>) -> Group {
        Group {
            device: Device {
                manufacturer: manufacturer.to_owned(),
                model: "Model \"7\"".to_owned(),
                rows: "600".to_owned(),
                columns: "800".to_owned(),
                sop_class: "1.2.840.10008.5.1.4.1.1.6.1".to_owned(),
            },
            ids: vec!["a".into(), "b".into()],
            examined: vec![Examined {
                id: "a".into(),
                frames: 1,
                regions: regions.clone(),
                thumbnails: Vec::new(),
            }],
            unreadable: 0,
            regions,
        }
    }

    fn suggestion(groups: Vec<Group>) -> Suggestion {
        Suggestion {
            quarantined: 4,
            missing: 0,
            unreadable: 0,
            groups,
            run_profile: Some("basic".into()),
        }
    }

    #[test]
    fn the_yaml_is_a_profile_whose_rules_match_their_devices_literally() {
        let band = Region {
            x: 0,
            y: 0,
            width: 800,
            height: 40,
        };
        let text = yaml(
            &suggestion(vec![group("ACME* [x]", vec![band]), group("Quiet", vec![])]),
            "basic",
        );
        let profile = Profile::from_yaml("suggested.yaml", &text).expect(&text);
        let rules = &profile.pixel.rules;
        assert_eq!(
            rules.len(),
            1,
            "the group without text stays commented out:\n{text}"
        );
        assert_eq!(rules[0].regions, [Area::from(band)]);
        let mut object = InMemDicomObject::new_empty();
        let put = |o: &mut InMemDicomObject, tag, vr, v: &str| {
            o.put(DataElement::new(tag, vr, PrimitiveValue::from(v)))
        };
        put(&mut object, tags::MANUFACTURER, VR::LO, "ACME* [x]");
        put(
            &mut object,
            tags::MANUFACTURER_MODEL_NAME,
            VR::LO,
            "Model \"7\"",
        );
        put(&mut object, tags::ROWS, VR::US, "600");
        put(&mut object, tags::COLUMNS, VR::US, "800");
        put(
            &mut object,
            tags::SOP_CLASS_UID,
            VR::UI,
            "1.2.840.10008.5.1.4.1.1.6.1",
        );
        assert!(rules[0].when.matches(&object));
        put(&mut object, tags::MANUFACTURER, VR::LO, "ACME-2 [x]");
        assert!(!rules[0].when.matches(&object), "* is literal");
        assert!(text.contains("#   regions: []"), "{text}");
    }

    #[test]
    fn no_rule_at_all_is_still_a_profile() {
        let text = yaml(&suggestion(vec![group("Quiet", vec![])]), "basic");
        let profile = Profile::from_yaml("suggested.yaml", &text).expect(&text);
        assert!(profile.pixel.rules.is_empty());
    }
}
