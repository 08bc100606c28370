//! `profile diff`: what two compiled profiles do differently.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use crate::profile::{Profile, action_text};

/// The rules and settings that differ in effect between two profiles, as text: one line per
/// selector whose action differs (`-` for A, `+` for B, with the layer that chose it), then
/// the settings lines that differ.
pub fn diff(a: &Profile, b: &Profile) -> String {
    let table = |p: &Profile| -> BTreeMap<String, (String, String)> {
        p.effective_rules()
            .into_iter()
            .map(|(sel, keyword, rule)| {
                let action = action_text(&keyword, &rule.action);
                (sel, (keyword, format!("{action}\t({})", rule.layer)))
            })
            .collect()
    };
    let (ta, tb) = (table(a), table(b));
    let action = |t: &BTreeMap<String, (String, String)>, sel: &str| {
        t.get(sel)
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| "(no rule: unlisted)".to_owned())
    };
    let bare = |s: &str| s.split('\t').next().unwrap_or("").to_owned();
    let mut out = format!(
        "# - {} ({})\n# + {} ({})\n",
        a.name,
        a.chain.join(" -> "),
        b.name,
        b.chain.join(" -> ")
    );
    let mut differences = 0;
    let selectors: BTreeSet<&String> = ta.keys().chain(tb.keys()).collect();
    for sel in selectors {
        let (x, y) = (action(&ta, sel), action(&tb, sel));
        if bare(&x) == bare(&y) {
            continue;
        }
        let keyword = ta.get(sel).or_else(|| tb.get(sel)).map(|(k, _)| k.as_str());
        let _ = writeln!(out, "- {sel}\t{}\t{x}", keyword.unwrap_or(""));
        let _ = writeln!(out, "+ {sel}\t{}\t{y}", keyword.unwrap_or(""));
        differences += 1;
    }
    let (sa, sb) = (a.settings(), b.settings());
    for x in sa.iter().filter(|x| !sb.contains(x)) {
        let _ = writeln!(out, "- {x}");
        differences += 1;
    }
    for y in sb.iter().filter(|y| !sa.contains(y)) {
        let _ = writeln!(out, "+ {y}");
        differences += 1;
    }
    if differences == 0 {
        out.push_str("# no differences in effect\n");
    }
    out
}
