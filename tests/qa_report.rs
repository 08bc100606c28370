//! `run --qa-report`: the page samples every kind of written image reproducibly, lists every
//! quarantined and failed file with its reason code, holds no planted PHI, and renders in a
//! real browser (Debian's chromium, headless) with every thumbnail decoded and colour images
//! in colour.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Process;

use common::*;

/// The US images and the colour screen captures get rules; the grey screen capture of the
/// sample export does not, so it is quarantined.
const PROFILE: &str = "extends: basic
pixel:
  rules:
    - name: US header band
      when: {Modality: US, Rows: 16, Columns: 16}
      regions: [[0, 0, 16, 3]]
    - name: colour capture banner
      when: {SOPClassUID: \"1.2.840.10008.5.1.4.1.1.7\", SamplesPerPixel: 3}
      regions: [[0, 0, 24, 12]]
";

/// Colour images of the shared corpus: RLE, JPEG (YBR), native RGB, a palette colour image.
const COLOUR: &[&str] = &[
    "SC_rgb_rle.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "SC_rgb_small_odd.dcm",
    "examples_palette.dcm",
];

struct Report {
    html: String,
    path: PathBuf,
    records: Vec<serde_json::Value>,
    colour: bool,
}

fn run_with_report(sb: &Sandbox, name: &str, sample: &str) -> Option<Report> {
    let data = testdata_or_skip(name)?;
    let input = sb.copy_in(&data, &format!("{name}-in"));
    let colour = corpus_or_skip(name).is_some_and(|corpus| {
        for file in COLOUR {
            std::fs::copy(corpus.join(file), input.join(file)).unwrap();
        }
        true
    });
    let profile = sb.path("qa-profile.yaml");
    std::fs::write(&profile, PROFILE).unwrap();
    let output = sb.path(&format!("{name}-out"));
    let path = sb.path(&format!("{name}.html"));
    let out = sb.run(
        &input,
        &output,
        &[
            "--profile",
            profile.to_str().unwrap(),
            "--qa-report",
            path.to_str().unwrap(),
            "--qa-sample",
            sample,
            "-q",
        ],
    );
    assert_code(&out, 1, "run (one malformed input fails)");
    Some(Report {
        html: std::fs::read_to_string(&path).unwrap(),
        path,
        records: read_jsonl(&output.join("manifest.jsonl")),
        colour,
    })
}

/// The manifest ids of the sampled rows, kind by kind (a kind's header row starts a group).
fn sampled_by_kind(html: &str) -> BTreeMap<String, Vec<String>> {
    let section =
        &html[html.find("id=\"sample\"").unwrap()..html.find("id=\"not-written\"").unwrap()];
    let mut kinds = BTreeMap::new();
    let mut current = String::new();
    for line in section.lines() {
        if let Some(rest) = line.split("<th colspan=\"5\">").nth(1) {
            current = rest.split(" (").next().unwrap().to_owned();
            kinds.insert(current.clone(), Vec::new());
        } else if let Some(rest) = line.strip_prefix("<tr id=\"r-") {
            let id = rest.split('"').next().unwrap().to_owned();
            kinds.get_mut(&current).unwrap().push(id);
        }
    }
    kinds
}

#[test]
fn the_page_samples_every_kind_and_lists_what_was_not_written() {
    let sb = Sandbox::new();
    let Some(report) = run_with_report(&sb, "qa_every_kind", "1") else {
        return;
    };
    let html = &report.html;
    let kinds = sampled_by_kind(html);
    // CT, MR, masked US (single and multi-frame), and the colour captures when present.
    assert!(kinds.len() >= 4, "{kinds:?}");
    assert!(kinds.values().all(|ids| ids.len() == 1), "{kinds:?}");
    assert!(kinds.keys().any(|k| k.contains("not masked")));
    assert!(kinds.keys().any(|k| k.contains("masked by a rule")));
    if report.colour {
        assert!(
            kinds
                .keys()
                .any(|k| k.contains("colour") && k.contains("Secondary Capture")),
            "{kinds:?}"
        );
    }
    // Each sampled id is a written record of the manifest.
    let status: BTreeMap<&str, &str> = report
        .records
        .iter()
        .map(|r| (field(r, "id").unwrap(), field(r, "status").unwrap()))
        .collect();
    for id in kinds.values().flatten() {
        assert_eq!(status.get(id.as_str()), Some(&"written"), "{id}");
    }
    // Every quarantined and failed file is listed by id with its code.
    let not_written: Vec<&serde_json::Value> = report
        .records
        .iter()
        .filter(|r| matches!(field(r, "status"), Some("quarantined" | "failed")))
        .collect();
    assert!(
        not_written
            .iter()
            .any(|r| field(r, "code") == Some("burned_in_no_rule"))
    );
    assert!(
        not_written
            .iter()
            .any(|r| field(r, "code") == Some("malformed"))
    );
    for r in &not_written {
        let row = format!("<tr id=\"r-{}\">", field(r, "id").unwrap());
        let at = html.find(&row).unwrap_or_else(|| panic!("{r} has no row"));
        let line = html[at..].lines().next().unwrap();
        assert!(line.contains(field(r, "code").unwrap()), "{line}");
        assert!(!line.contains("<img"), "a quarantined image is never shown");
    }
    let Some(phi) = planted_phi_or_skip("qa_every_kind") else {
        return;
    };
    let lower = html.to_lowercase();
    for value in &phi {
        assert!(
            !lower.contains(&value.to_lowercase()),
            "the report holds a planted value"
        );
    }
}

#[test]
fn the_same_run_draws_the_same_sample() {
    let sb = Sandbox::new();
    let Some(first) = run_with_report(&sb, "qa_draw_a", "2") else {
        return;
    };
    let second = run_with_report(&sb, "qa_draw_b", "2").unwrap();
    assert_eq!(sampled_by_kind(&first.html), sampled_by_kind(&second.html));
    assert_eq!(
        first.html, second.html,
        "same input, key and profile: same page"
    );
    // A sample of 2 from the 5 CT images: not all of them.
    let kinds = sampled_by_kind(&first.html);
    let ct = kinds.iter().find(|(k, _)| k.starts_with("CT")).unwrap().1;
    assert_eq!(ct.len(), 2);
}

/// Debian's chromium, or `None` with a message (a failure in CI, where it is installed).
fn chromium_or_skip(test: &str) -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].into_iter().find(|name| {
        Process::new(name)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: chromium is required in CI (scripts/test.sh installs it)"
        );
        eprintln!("{test}: skipped: chromium is absent (apt-get install chromium)");
    }
    found.map(PathBuf::from)
}

fn chromium(browser: &Path, args: &[&str], page: &Path) -> std::process::Output {
    let profile = tempfile::tempdir().unwrap();
    Process::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--virtual-time-budget=10000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

#[test]
fn the_page_renders_in_a_headless_browser() {
    let Some(browser) = chromium_or_skip("the_page_renders_in_a_headless_browser") else {
        return;
    };
    let sb = Sandbox::new();
    let Some(report) = run_with_report(&sb, "qa_browser", "3") else {
        return;
    };
    let images = report.html.matches("<img ").count();
    assert!(images >= 8, "{images} thumbnails");

    // Every thumbnail decodes: a copy of the page counts the images the browser decoded.
    let probe = sb.path("probe.html");
    std::fs::write(
        &probe,
        format!(
            "{}<script>window.addEventListener('load', () => {{ const all = [...document.images]; \
             document.body.dataset.decoded = all.filter(i => i.complete && i.naturalWidth > 0).length \
             + '/' + all.length; }});</script>",
            report.html
        ),
    )
    .unwrap();
    let dom = chromium(&browser, &["--dump-dom"], &probe);
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains(&format!("data-decoded=\"{images}/{images}\"")),
        "not every thumbnail decoded: {:?}",
        dom.split("data-decoded=")
            .nth(1)
            .map(|s| &s[..12.min(s.len())])
    );

    // The screenshot: not blank, the red outlines of masked regions drawn, and colour images
    // in colour.
    let shot = sb.path("qa.png");
    let out = chromium(
        &browser,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,6000",
        ],
        &report.path,
    );
    assert!(
        shot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = image::open(&shot).unwrap().to_rgb8();
    let mut outline = 0;
    let mut dark = 0;
    let mut colourful = 0;
    for p in png.pixels() {
        let [r, g, b] = p.0;
        if (r, g, b) == (255, 40, 40) {
            outline += 1;
        } else if r.max(g).max(b) < 40 {
            dark += 1;
        } else if i32::from(r.max(g).max(b)) - i32::from(r.min(g).min(b)) > 100 {
            colourful += 1;
        }
    }
    eprintln!(
        "screenshot {}: {outline} outline, {dark} dark, {colourful} colourful pixels",
        shot.display()
    );
    assert!(outline > 200, "masked regions are outlined: {outline}");
    assert!(dark > 10_000, "thumbnails are drawn: {dark} dark pixels");
    if report.colour {
        assert!(colourful > 5_000, "colour images in colour: {colourful}");
    }
}
