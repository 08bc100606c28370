//! `risk --html FILE`: one self-contained page for a privacy officer (no script, no external
//! asset): the verdict, a bar chart of group sizes (inline SVG), the riskiest attributes, the
//! risk estimates with their formulas, the patients at risk, and the profile lines suggested.

use std::fmt::Write as _;
use std::path::Path;

use crate::risk::Report;
use crate::risk::measure::{AttributeFigures, SizeCount};
use crate::risk::suggest::Suggestion;
use crate::run::qa_report::escape;

/// At most this many at-risk patients are listed; the page says how many there are.
const MAX_AT_RISK_ROWS: usize = 500;
/// Group sizes up to this many get a bar each; larger groups share the last bar.
const MAX_BARS: usize = 20;

/// Write the page for `report` to `path` (atomically).
pub fn write(path: &Path, report: &Report) -> std::io::Result<()> {
    crate::run::write_atomic(path, page(report).as_bytes())
}

/// The attributes, riskiest first: most patients pushed below k when added, then most made
/// unique when added, then most unique alone.
pub fn riskiest(report: &Report) -> Vec<&AttributeFigures> {
    let mut attrs: Vec<&AttributeFigures> = report.figures.attributes.iter().collect();
    attrs.sort_by(|a, b| {
        (b.below_k_added, b.unique_added, b.unique_alone, &a.name).cmp(&(
            a.below_k_added,
            a.unique_added,
            a.unique_alone,
            &b.name,
        ))
    });
    attrs
}

/// The page's HTML.
pub fn page(report: &Report) -> String {
    let f = &report.figures;
    let mut html = String::new();
    html.push_str(concat!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n",
        "<title>dicom-deid re-identification risk</title>\n<style>\n",
        "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222;background:#fff;padding:0 1em}\n",
        "h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd}\n",
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\n",
        "th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}\n",
        ".verdict{font-size:1.15em;padding:.6em 1em;border-radius:4px}.bad{background:#fde8e8;border-left:6px solid #c62828}\n",
        ".good{background:#e8f5e9;border-left:6px solid #2e7d32}code,pre{font-size:13px}td code{white-space:nowrap}pre{background:#f6f6f6;padding:.6em}\n",
        ".muted{color:#666}\n</style></head><body>\n",
        "<h1>Re-identification risk</h1>\n"
    ));
    let share = 100.0 * f.patients_below_k as f64 / f.patients as f64;
    let (class, verdict) = if f.patients_below_k == 0 {
        (
            "good",
            format!("Every patient is in a group of at least k = {}.", f.k),
        )
    } else {
        (
            "bad",
            format!(
                "{} of {} patients ({share:.1}%) are in groups smaller than k = {}; {} are unique.",
                f.patients_below_k, f.patients, f.k, f.unique_patients
            ),
        )
    };
    let _ = writeln!(
        html,
        "<p class=\"verdict {class}\">{}</p>",
        escape(&verdict)
    );
    let _ = writeln!(
        html,
        "<p>{} patients (by pseudonym) in {} DICOM files form {} groups of patients alike on {} quasi-identifiers: {}.</p>",
        f.patients,
        report.files.dicom,
        f.groups,
        report.quasi_identifiers.len(),
        escape(&report.quasi_identifiers.join(", "))
    );
    if !report.absent.is_empty() {
        let _ = writeln!(
            html,
            "<p class=\"muted\">Not in the dataset (no patient has a value): {}.</p>",
            escape(&report.absent.join(", "))
        );
    }
    html.push_str("<h2>Group sizes</h2>\n");
    chart(&mut html, &f.group_sizes, f.k);
    attributes_table(&mut html, report);
    risks(&mut html, report);
    at_risk(&mut html, report);
    suggestions(&mut html, &report.suggestion, f.k);
    html.push_str(concat!(
        "<h2>What this does not prove</h2>\n<p class=\"muted\">These figures cover only the ",
        "attributes listed above, as the files hold them. They say nothing of pixel content, ",
        "free text the profile kept, other datasets an attacker may link with, or attributes ",
        "not measured. A dataset at k is not anonymous by that fact alone.</p>\n</body></html>\n"
    ));
    html
}

/// A bar per group size (patients in groups of that size); bars below k in red.
fn chart(html: &mut String, sizes: &[SizeCount], k: usize) {
    let mut bars: Vec<(String, usize, bool)> = Vec::new();
    for s in sizes.iter().filter(|s| s.size < MAX_BARS) {
        bars.push((s.size.to_string(), s.patients, s.size < k));
    }
    let rest: usize = sizes
        .iter()
        .filter(|s| s.size >= MAX_BARS)
        .map(|s| s.patients)
        .sum();
    if rest > 0 {
        bars.push((format!("≥{MAX_BARS}"), rest, MAX_BARS < k));
    }
    let (width, height, left, bottom, top) = (720.0, 260.0, 56.0, 44.0, 16.0);
    let max = bars.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64;
    let slot = (width - left - 10.0) / bars.len().max(1) as f64;
    let plot = height - bottom - top;
    let _ = writeln!(
        html,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"patients by the size of their group\" font-family=\"system-ui,sans-serif\" font-size=\"12\">"
    );
    let _ = writeln!(
        html,
        "<line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#444\"/>",
        height - bottom,
        width - 10.0,
        height - bottom
    );
    for tick in 0..=4 {
        let value = max * f64::from(tick) / 4.0;
        let y = height - bottom - plot * f64::from(tick) / 4.0;
        let _ = writeln!(
            html,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{:.0}</text><line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#eee\"/>",
            left - 6.0,
            y + 4.0,
            value,
            width - 10.0
        );
    }
    for (i, (label, patients, below)) in bars.iter().enumerate() {
        let h = plot * *patients as f64 / max;
        let x = left + slot * i as f64 + slot * 0.15;
        let colour = if *below { "#c62828" } else { "#5c7fa3" };
        let _ = writeln!(
            html,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{h:.1}\" fill=\"{colour}\"><title>groups of {label}: {patients} patients</title></rect>",
            height - bottom - h,
            slot * 0.7
        );
        let _ = writeln!(
            html,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#333\">{patients}</text>",
            x + slot * 0.35,
            height - bottom + 16.0,
            escape(label),
            x + slot * 0.35,
            height - bottom - h - 4.0
        );
    }
    let _ = writeln!(
        html,
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#333\">group size (patients alike on every quasi-identifier); red: below k = {k}</text>",
        left + (width - left) / 2.0,
        height - 6.0
    );
    let _ = writeln!(
        html,
        "<text transform=\"translate(14,{:.1}) rotate(-90)\" text-anchor=\"middle\" fill=\"#333\">patients</text>\n</svg>",
        top + plot / 2.0
    );
}

fn attributes_table(html: &mut String, report: &Report) {
    html.push_str(concat!(
        "<h2>Riskiest attributes</h2>\n<p class=\"muted\">“Added”: patients made unique (or ",
        "put below k) when the attribute is added to all the others. Rare values are held by ",
        "fewer than k patients; values of free text, names, dates and UIDs are counted, never shown.</p>\n<table>\n",
        "<tr><th>attribute</th><th>below k, added</th><th>unique, added</th><th>unique alone</th>",
        "<th>distinct values</th><th>patients with a value</th><th>rare values</th></tr>\n"
    ));
    for a in riskiest(report) {
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&a.name),
            a.below_k_added,
            a.unique_added,
            a.unique_alone,
            a.distinct_values,
            a.patients_with_value,
            escape(&rare_text(a))
        );
    }
    html.push_str("</table>\n");
}

/// The rare values of an attribute in words: `FOOT (1), KNEE (2)`, or a count for free text.
pub fn rare_text(a: &AttributeFigures) -> String {
    if a.rare_values.is_empty() {
        return String::new();
    }
    if a.withheld {
        let patients: usize = a.rare_values.iter().map(|r| r.patients).sum();
        return format!(
            "{} rare values held by {patients} patients (not shown: free text, names, dates or UIDs)",
            a.rare_values.len()
        );
    }
    a.rare_values
        .iter()
        .map(|r| format!("{} ({})", r.value.as_deref().unwrap_or(""), r.patients))
        .collect::<Vec<_>>()
        .join(", ")
}

fn risks(html: &mut String, report: &Report) {
    html.push_str("<h2>Risk estimates</h2>\n<table>\n<tr><th>attacker</th><th>highest</th><th>average</th><th>formula</th></tr>\n");
    if let Some(p) = &report.figures.prosecutor {
        let _ = writeln!(
            html,
            "<tr><td>prosecutor (knows the patient is in the dataset)</td><td class=\"n\">{:.4}</td><td class=\"n\">{:.4}</td><td>1/f per patient, f its group size; highest 1/min f; average groups/n</td></tr>",
            p.max, p.average
        );
    }
    match &report.journalist {
        Some(j) => {
            let _ = writeln!(
                html,
                "<tr><td>journalist (population N = {})</td><td class=\"n\">{:.4}</td><td class=\"n\">{:.4}</td><td>1/F per patient, F = max(f, f·N/n) its group's estimated size in the population</td></tr>",
                j.population, j.max, j.average
            );
        }
        None => html.push_str(
            "<tr><td>journalist</td><td colspan=\"3\" class=\"muted\">not computed: give the population size (--population N)</td></tr>\n",
        ),
    }
    html.push_str("</table>\n");
}

fn at_risk(html: &mut String, report: &Report) {
    let rows = &report.figures.at_risk;
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        html,
        "<h2>Patients at risk</h2>\n<p>{} patients by pseudonym{}.</p>\n<table>\n<tr><th>pseudonym</th><th>group size</th><th>rare values on</th><th>removing one of these alone reaches k</th></tr>",
        rows.len(),
        if rows.len() > MAX_AT_RISK_ROWS {
            format!(", the first {MAX_AT_RISK_ROWS} shown")
        } else {
            String::new()
        }
    );
    for r in rows.iter().take(MAX_AT_RISK_ROWS) {
        let _ = writeln!(
            html,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.pseudonym),
            r.group_size,
            escape(&r.rare.join(", ")),
            escape(&r.removal_reaches_k.join(", "))
        );
    }
    html.push_str("</table>\n");
}

fn suggestions(html: &mut String, s: &Suggestion, k: usize) {
    html.push_str("<h2>Suggested generalisations</h2>\n");
    if s.lines.is_empty() {
        html.push_str(if s.patients_below_k == 0 {
            "<p>None needed.</p>\n"
        } else {
            "<p>No generalisation of the measured attributes lowers the number of patients below k (too few patients, or the rare values are in attributes without one, like Modality).</p>\n"
        });
        return;
    }
    let _ = writeln!(
        html,
        "<p>Add these lines under <code>attributes:</code> in the profile and run again. Regrouped with the values they would write, the dataset reaches k = {} ({} patients below k = {k}).</p>\n<pre>{}</pre>",
        s.reached_k,
        s.patients_below_k,
        escape(&s.profile_lines().join("\n"))
    );
}
