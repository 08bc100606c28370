//! The pixel plan of one file in words, for `inspect`: which rules match, which regions they
//! mask on this image, whether the detector runs and why, or why the file is quarantined.

use dicom_object::mem::InMemDicomObject;

use super::{BurnedInPolicy, PixelConfig, Plan, Region, plan};

/// What happens to one file's pixels, and what decided it.
#[derive(Debug)]
pub struct PlanView {
    pub plan: Plan,
    /// The rules whose `when` the original header satisfies, in profile order: name, regions
    /// placed on this image and clipped to it, and whether the rule runs the detector.
    pub rules: Vec<(String, Vec<Region>, bool)>,
    /// Why the detector runs, when it does.
    pub detector: Option<&'static str>,
}

/// The plan for `object` (the original header, read in `ts`) under `config`.
pub fn explain(object: &InMemDicomObject, ts: &str, config: &PixelConfig) -> PlanView {
    let plan = plan(object, ts, config);
    let matched: Vec<_> = config
        .rules
        .iter()
        .filter(|r| r.when.matches(object))
        .collect();
    let (rules, detector) = match &plan {
        Plan::Mask(mask) => {
            let rules = matched
                .iter()
                .map(|rule| {
                    let regions = mask
                        .regions
                        .iter()
                        .filter(|(name, _)| *name == rule.name)
                        .map(|(_, r)| *r)
                        .collect();
                    (rule.name.clone(), regions, rule.detect)
                })
                .collect();
            let why = if !mask.detect {
                None
            } else if config.detect {
                Some("pixel.detect: true (every image)")
            } else if matched.iter().any(|r| r.detect) {
                Some("a matching rule says detect: true")
            } else if config.without_rule() == BurnedInPolicy::Detect {
                Some("burned-in text likely, no rule matches, burned_in_without_rule: detect")
            } else {
                Some("option clean-pixel-data")
            };
            (rules, why)
        }
        _ => (Vec::new(), None),
    };
    PlanView {
        plan,
        rules,
        detector,
    }
}
