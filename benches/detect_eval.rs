//! Benchmark set and measured figures for the burned-in text detector.
//!
//! Generates frames of five kinds (ultrasound speckle, CT, radiograph, RGB screenshot, colour
//! Doppler ultrasound, whose colour the detector reads as the pipeline does) with text
//! drawn at known boxes, and text-free frames of each kind, runs
//! `dicom_deid::pixel::detect::detect_text` on each and prints a Markdown table per kind:
//! - recall: fraction of text boxes at least 95 % covered by the union of detected regions;
//! - false-mask area: fraction of the pixels outside every text box that were masked, on the
//!   frames with text and, separately, on the text-free frames;
//! - detection time per frame;
//! - with `--bench`, the time of the whole-image detector on 30-frame ultrasound cines against
//!   one detection per frame (`-- --kind cine` for that alone).
//!
//! Two parts, reported separately:
//! - the seed part: the first generator, whose held-out set differs from the tuning sets only
//!   by seed (same fonts, sizes and placements);
//! - the new-style part: text in sizes (7 px, 42–56 px caps), placements (centred lines,
//!   right-aligned columns, ink touching the frame border, tight leading) and on backgrounds
//!   (smooth gradients, light panels with dark text, bright anatomy) the seed part never
//!   draws, and a sixth kind, signed 16-bit CT in Hounsfield units read through
//!   `Geometry::luma` as the pipeline reads it. With the held-out seed its text is in
//!   Liberation Sans, Mono Bold and Serif, fonts never used while tuning; with any other seed
//!   in DejaVu Serif and Sans Condensed Bold, for tuning.
//!
//! `cargo bench --bench detect_eval` measures both parts on the held-out seed, the sets the
//! figures in `benches/detect-results.md` come from; tuning uses other seeds (`-- --seed N`),
//! so the detector is never fitted to the frames it is judged on. `-- --part seed|new` runs
//! one part; `-- --dump DIR` writes every frame as PNG with the text boxes (green) and the
//! detected regions (red) outlined; `-- --kind NAME` measures one kind.
//!
//! The frames are synthetic. What the detector relies on (stroke contrast, glyph size, font,
//! line layout, noise, blur) varies with the seed; text is drawn the way a reader could read it
//! (at least 50 grey levels of luma beyond 90 % of the background under it, else with a drop
//! shadow or on a black label box); and the clutter real frames carry besides text (depth
//! ticks, grey bars, icons, panel borders, bones, table, collimator edges) is drawn as well, so
//! false masks are counted where they would occur. Fonts: DejaVu Sans, Sans Mono and Sans Mono
//! Bold (seed part), DejaVu Serif and Sans Condensed Bold (new-style part, tuning) from
//! `testdata/fonts/` (Bitstream Vera licence, `testdata/fonts/LICENSE`); Liberation Sans, Mono
//! Bold and Serif (new-style part, held out; SIL Open Font License,
//! `testdata/fonts/LICENSE-Liberation`).

use std::ops::Range;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use ab_glyph::{Font, FontRef, OutlinedGlyph, PxScale, ScaleFont, point};
use dicom_deid::pixel::Region;
use dicom_deid::pixel::detect::{detect_text, detect_text_colour};
use dicom_deid::pixel::examine::detect_frames;
use dicom_deid::pixel::frames::{Geometry, Photometric, Window};
use image::{GrayImage, ImageBuffer, Luma, Rgb, RgbImage};
use imageproc::drawing::{
    draw_filled_circle_mut, draw_filled_rect_mut, draw_hollow_rect_mut, draw_line_segment_mut,
    draw_polygon_mut,
};
use imageproc::filter::{horizontal_filter, vertical_filter};
use imageproc::point::Point;
use imageproc::rect::Rect;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The seed of the reported figures; never used while tuning the detector.
const HELD_OUT_SEED: u64 = 0x4d45_4153_5552_4544;
const FRAMES_WITH_TEXT: usize = 40;
const FRAMES_WITHOUT_TEXT: usize = 25;
/// Frames per kind when run by `cargo test` (an unoptimised build): a smoke run of generator
/// and detector, not a measurement.
const SMOKE_FRAMES: (usize, usize) = (2, 1);
/// A text box counts as found when at least this fraction of it is masked.
const COVERED: f64 = 0.95;
/// Detections timed per kind for the median figure.
const REPEATS: usize = 15;

const FONT_FILES: [&[u8]; 3] = [
    include_bytes!("../testdata/fonts/DejaVuSans.ttf"),
    include_bytes!("../testdata/fonts/DejaVuSansMono.ttf"),
    include_bytes!("../testdata/fonts/DejaVuSansMono-Bold.ttf"),
];
/// The new-style part's fonts when tuning (any seed but the held-out one).
const NEW_TUNING_FONT_FILES: [&[u8]; 2] = [
    include_bytes!("../testdata/fonts/DejaVuSerif.ttf"),
    include_bytes!("../testdata/fonts/DejaVuSansCondensed-Bold.ttf"),
];
/// The new-style part's fonts with the held-out seed: never seen while tuning.
const HELD_OUT_FONT_FILES: [&[u8]; 3] = [
    include_bytes!("../testdata/fonts/LiberationSans-Regular.ttf"),
    include_bytes!("../testdata/fonts/LiberationMono-Bold.ttf"),
    include_bytes!("../testdata/fonts/LiberationSerif-Regular.ttf"),
];
/// Sets the new-style part's frame seeds apart from the seed part's.
const NEW_PART_SALT: u64 = 0x6e65_772d_7374_796c;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Ultrasound,
    Ct,
    Radiograph,
    Screenshot,
    Doppler,
    /// Signed 16-bit CT in Hounsfield units, read through `Geometry::luma` as the pipeline
    /// reads it (new-style part only).
    Ct16,
}

impl Kind {
    const ALL: [Kind; 5] = [
        Kind::Ultrasound,
        Kind::Ct,
        Kind::Radiograph,
        Kind::Screenshot,
        Kind::Doppler,
    ];

    const NEW: [Kind; 6] = [
        Kind::Ultrasound,
        Kind::Ct,
        Kind::Radiograph,
        Kind::Screenshot,
        Kind::Doppler,
        Kind::Ct16,
    ];

    fn name(self) -> &'static str {
        match self {
            Kind::Ultrasound => "ultrasound",
            Kind::Ct => "ct",
            Kind::Radiograph => "radiograph",
            Kind::Screenshot => "screenshot",
            Kind::Doppler => "doppler",
            Kind::Ct16 => "ct16",
        }
    }
}

/// One generated frame: the luma image the detector sees (and the colour image, for colour
/// kinds, as the pipeline passes it), and where its text is.
struct Frame {
    luma: GrayImage,
    rgb: Option<RgbImage>,
    /// A deep grey frame through its header's display window, which the pipeline looks at too.
    windowed: Option<GrayImage>,
    text: Vec<TextBox>,
}

impl Frame {
    fn grey(canvas: &RgbImage, text: Vec<TextBox>) -> Frame {
        Frame {
            luma: luma(canvas),
            rgb: None,
            windowed: None,
            text,
        }
    }

    /// An ultrasound frame: the pipeline sets its colour flow aside.
    fn colour(canvas: RgbImage, text: Vec<TextBox>) -> Frame {
        Frame {
            luma: luma(&canvas),
            rgb: Some(canvas),
            windowed: None,
            text,
        }
    }

    /// What the pipeline runs on this frame.
    fn detect(&self) -> Vec<Region> {
        let mut regions = match &self.rgb {
            Some(rgb) => detect_text_colour(&self.luma, rgb),
            None => detect_text(&self.luma),
        };
        regions.extend(self.windowed.iter().flat_map(detect_text));
        regions
    }
}

/// The ink box of one line of text and the glyph (cap) height it was drawn at.
#[derive(Clone, Copy)]
struct TextBox {
    region: Region,
    cap: u32,
    /// Brighter than the median of the background under it.
    bright: bool,
    over_anatomy: bool,
    /// How the new-style part placed it (placement or background), for its breakdown.
    place: Option<&'static str>,
}

type Field = ImageBuffer<Luma<f32>, Vec<f32>>;

/// Which frames are generated.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The first generator: tuning and held-out sets differ only by seed.
    Seed,
    /// Fonts, sizes, placements and backgrounds the seed part never draws, and 16-bit CT. With
    /// the held-out seed its text is in fonts the detector was never tuned on (Liberation);
    /// with any other seed in two other DejaVu faces, for tuning.
    New,
}

impl Part {
    fn kinds(self) -> &'static [Kind] {
        match self {
            Part::Seed => &Kind::ALL,
            Part::New => &Kind::NEW,
        }
    }
}

/// Knobs of one run, from the command line.
struct Options {
    seed: u64,
    dump: Option<PathBuf>,
    frames: (usize, usize),
    only: Option<String>,
}

fn main() {
    let mut options = Options {
        seed: HELD_OUT_SEED,
        dump: None,
        frames: SMOKE_FRAMES,
        only: None,
    };
    let mut parts = vec![Part::Seed, Part::New];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seed" => {
                let value = args.next().expect("--seed takes a number");
                options.seed = value.parse().expect("--seed takes a number");
            }
            "--dump" => {
                options.dump = Some(PathBuf::from(args.next().expect("--dump takes a dir")))
            }
            "--kind" => options.only = Some(args.next().expect("--kind takes a kind's name")),
            "--part" => {
                parts = match args.next().as_deref() {
                    Some("seed") => vec![Part::Seed],
                    Some("new") => vec![Part::New],
                    _ => panic!("--part takes seed or new"),
                }
            }
            // `cargo bench` passes `--bench`; `cargo test` does not, and gets the smoke run.
            "--bench" => options.frames = (FRAMES_WITH_TEXT, FRAMES_WITHOUT_TEXT),
            _ => {}
        }
    }
    if let Some(dir) = &options.dump {
        std::fs::create_dir_all(dir).expect("create dump dir");
    }
    let parse = |files: &[&'static [u8]]| -> Vec<FontRef<'static>> {
        files
            .iter()
            .map(|bytes| FontRef::try_from_slice(bytes).expect("bundled font parses"))
            .collect()
    };
    let fonts = parse(&FONT_FILES);
    let seed = options.seed;
    for &part in &parts {
        match part {
            Part::Seed => {
                println!(
                    "## Seed-only part\n\nSeed {seed}{}: {} frames with text and {} text-free \
                     frames per kind.\n",
                    if seed == HELD_OUT_SEED {
                        " (held out)"
                    } else {
                        ""
                    },
                    options.frames.0,
                    options.frames.1
                );
                run(Part::Seed, &fonts, &options);
            }
            Part::New => {
                let held_out = seed == HELD_OUT_SEED;
                let new_fonts = if held_out {
                    parse(&HELD_OUT_FONT_FILES)
                } else {
                    parse(&NEW_TUNING_FONT_FILES)
                };
                println!(
                    "\n## New-style part\n\nSeed {seed}{}: {} frames with text and {} text-free \
                     frames per kind; fonts {}.\n",
                    if held_out { " (held out)" } else { "" },
                    options.frames.0,
                    options.frames.1,
                    if held_out {
                        "Liberation Sans, Mono Bold, Serif (never used in tuning)"
                    } else {
                        "DejaVu Serif, Sans Condensed Bold (tuning)"
                    }
                );
                run(Part::New, &new_fonts, &options);
            }
        }
    }
    let cine = options.only.as_deref().is_none_or(|k| k == "cine") && parts.contains(&Part::Seed);
    if options.frames.0 > SMOKE_FRAMES.0 && cine {
        cine_timing(seed, &fonts);
    }
}

/// Generates, detects and scores every frame of one part; prints its tables.
fn run(part: Part, fonts: &[FontRef<'static>], options: &Options) {
    let Options {
        seed,
        dump,
        frames,
        only,
    } = options;
    let mut rows = Vec::new();
    let mut breakdown = Breakdown::default();
    // Every box found, folded into one number (FNV-1a): a change meant only to speed the
    // detector up must leave it as it was.
    let (mut boxes, mut checksum) = (0usize, 0xcbf2_9ce4_8422_2325u64);
    for &kind in part.kinds() {
        if only.as_ref().is_some_and(|name| kind.name() != name) {
            continue;
        }
        let mut tally = Tally::default();
        for index in 0..frames.0 + frames.1 {
            let with_text = index < frames.0;
            let frame = match part {
                Part::Seed => {
                    let mut rng = ChaCha8Rng::seed_from_u64(frame_seed(*seed, kind, index));
                    generate(kind, with_text, fonts, &mut rng)
                }
                Part::New => {
                    let mut rng =
                        ChaCha8Rng::seed_from_u64(frame_seed(seed ^ NEW_PART_SALT, kind, index));
                    generate_new(kind, with_text, fonts, &mut rng)
                }
            };
            let started = Instant::now();
            let regions = frame.detect();
            let elapsed = started.elapsed();
            boxes += regions.len();
            for r in &regions {
                for b in [r.x, r.y, r.width, r.height]
                    .iter()
                    .flat_map(|v| v.to_le_bytes())
                {
                    checksum = (checksum ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
                }
            }
            let score = score(&frame, &regions);
            breakdown.add(&frame, &score);
            tally.add(with_text, &score, elapsed, &frame.luma);
            if index == 0 {
                tally.repeated = Some(repeated_timing(&frame));
            }
            if let Some(dir) = dump {
                let prefix = match part {
                    Part::Seed => "",
                    Part::New => "new-",
                };
                let missed = score.found.iter().filter(|f| !**f).count();
                if missed > 0 {
                    eprintln!(
                        "{prefix}{}-{index:02}: {missed} text boxes missed",
                        kind.name()
                    );
                }
                let path = dir.join(format!("{prefix}{}-{index:02}.png", kind.name()));
                outline(&frame, &regions, &score)
                    .save(path)
                    .expect("write dump");
            }
        }
        rows.push((kind, tally));
    }
    print_tables(&rows, &breakdown);
    println!("\nDetected boxes: {boxes}, checksum {checksum:016x}.");
}

/// Frames in the cine of [`cine_timing`].
const CINE_FRAMES: u32 = 30;

/// Time of the whole-image detector (`detect_frames`: key frames whole, the rest where they
/// changed, frames in parallel) on ultrasound cines against one detection per frame: the image
/// area changes in every frame (fresh noise on every non-black pixel outside the text), the
/// text and the black surround stay. Also checks that both cover the same text boxes.
fn cine_timing(seed: u64, fonts: &[FontRef<'static>]) {
    println!("\nCines of {CINE_FRAMES} ultrasound frames (text static, image area changing):\n");
    println!(
        "| cine | size | every frame whole | key frames + changes | boxes found (whole / key) |"
    );
    println!("|---|---|---:|---:|---|");
    for index in 0..3 {
        let mut rng = ChaCha8Rng::seed_from_u64(frame_seed(seed ^ 0xc1e, Kind::Ultrasound, index));
        let frame = generate(Kind::Ultrasound, true, fonts, &mut rng);
        let (w, h) = frame.luma.dimensions();
        let in_text = |x: u32, y: u32| {
            frame.text.iter().any(|t| {
                x + 4 >= t.region.x
                    && x < t.region.x + t.region.width + 4
                    && y + 4 >= t.region.y
                    && y < t.region.y + t.region.height + 4
            })
        };
        let mut data = Vec::with_capacity((w * h * CINE_FRAMES) as usize);
        for _ in 0..CINE_FRAMES {
            for (i, &v) in frame.luma.as_raw().iter().enumerate() {
                let (x, y) = (i as u32 % w, i as u32 / w);
                data.push(if v > 0 && !in_text(x, y) {
                    v.saturating_add_signed(rng.random_range(-24..=24))
                } else {
                    v
                });
            }
        }
        let geometry = Geometry {
            rows: h,
            columns: w,
            samples: 1,
            bits_allocated: 8,
            bits_stored: 8,
            high_bit: 7,
            signed: false,
            planar: false,
            photometric: Photometric::Monochrome2,
            frames: CINE_FRAMES,
            palette: None,
        };
        let started = Instant::now();
        let mut whole: Vec<Region> = (0..CINE_FRAMES)
            .flat_map(|i| detect_text(&geometry.luma(&data, i)))
            .collect();
        whole.sort_unstable();
        whole.dedup();
        let whole_time = started.elapsed();
        let started = Instant::now();
        let keyed = detect_frames(&geometry, &data, true, None);
        let keyed_time = started.elapsed();
        let found = |regions: &[Region]| {
            let as_frame = Frame {
                luma: frame.luma.clone(),
                rgb: None,
                windowed: None,
                text: frame.text.clone(),
            };
            score(&as_frame, regions)
                .found
                .iter()
                .filter(|f| **f)
                .count()
        };
        println!(
            "| {index} | {w}×{h} | {:.0} ms | {:.0} ms | {} / {} of {} |",
            whole_time.as_secs_f64() * 1000.0,
            keyed_time.as_secs_f64() * 1000.0,
            found(&whole),
            found(&keyed),
            frame.text.len()
        );
    }
}

fn frame_seed(seed: u64, kind: Kind, index: usize) -> u64 {
    let mut x =
        seed ^ ((kind as u64 + 1) << 56) ^ (index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    x ^= x >> 31;
    x.wrapping_mul(0xbf58_476d_1ce4_e5b9)
}

/// Median time of `REPEATS` detections on one frame, and its size: a figure that other jobs on
/// the machine disturb less than single runs.
fn repeated_timing(frame: &Frame) -> (Duration, (u32, u32)) {
    let mut times: Vec<Duration> = (0..REPEATS)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(std::hint::black_box(frame).detect());
            started.elapsed()
        })
        .collect();
    times.sort_unstable();
    (times[REPEATS / 2], frame.luma.dimensions())
}

/// What one frame scored: whether each text box was found, and the false-mask pixel counts.
struct Score {
    found: Vec<bool>,
    non_text: u64,
    non_text_masked: u64,
}

fn score(frame: &Frame, regions: &[Region]) -> Score {
    let (width, height) = frame.luma.dimensions();
    let mut masked = vec![false; (width * height) as usize];
    for r in regions {
        for y in r.y..(r.y + r.height).min(height) {
            for x in r.x..(r.x + r.width).min(width) {
                masked[(y * width + x) as usize] = true;
            }
        }
    }
    let mut text = vec![false; masked.len()];
    let found = frame
        .text
        .iter()
        .map(|t| {
            let r = t.region;
            let mut hit = 0u64;
            for y in r.y..r.y + r.height {
                for x in r.x..r.x + r.width {
                    let i = (y * width + x) as usize;
                    text[i] = true;
                    hit += u64::from(masked[i]);
                }
            }
            hit as f64 >= COVERED * f64::from(r.width) * f64::from(r.height)
        })
        .collect();
    let non_text = text.iter().filter(|t| !**t).count() as u64;
    let non_text_masked = masked
        .iter()
        .zip(&text)
        .filter(|(m, t)| **m && !**t)
        .count() as u64;
    Score {
        found,
        non_text,
        non_text_masked,
    }
}

#[derive(Default)]
struct Tally {
    frames: [usize; 2],
    boxes: usize,
    found: usize,
    /// Per-frame false-mask fractions, on frames with text and on text-free frames.
    false_mask: [Vec<f64>; 2],
    times: Vec<Duration>,
    pixels: u64,
    repeated: Option<(Duration, (u32, u32))>,
}

impl Tally {
    fn add(&mut self, with_text: bool, score: &Score, elapsed: Duration, luma: &GrayImage) {
        let slot = usize::from(!with_text);
        self.frames[slot] += 1;
        self.boxes += score.found.len();
        self.found += score.found.iter().filter(|found| **found).count();
        self.false_mask[slot].push(score.non_text_masked as f64 / score.non_text as f64);
        self.times.push(elapsed);
        self.pixels += u64::from(luma.width()) * u64::from(luma.height());
    }
}

/// Recall over all kinds by glyph height, placement and polarity: (boxes, found) per class.
#[derive(Default)]
struct Breakdown {
    height: [(usize, usize); 5],
    over_anatomy: [(usize, usize); 2],
    darker: [(usize, usize); 2],
    /// By placement or background (new-style part), in order of first appearance.
    places: Vec<(&'static str, (usize, usize))>,
}

impl Breakdown {
    fn add(&mut self, frame: &Frame, score: &Score) {
        for (t, &found) in frame.text.iter().zip(&score.found) {
            let bucket = match t.cap {
                0..=7 => 0,
                8..=15 => 1,
                16..=27 => 2,
                28..=41 => 3,
                _ => 4,
            };
            for class in [
                &mut self.height[bucket],
                &mut self.over_anatomy[usize::from(t.over_anatomy)],
                &mut self.darker[usize::from(!t.bright)],
            ] {
                class.0 += 1;
                class.1 += usize::from(found);
            }
            if let Some(place) = t.place {
                let class = match self.places.iter_mut().position(|(p, _)| *p == place) {
                    Some(i) => &mut self.places[i].1,
                    None => {
                        self.places.push((place, (0, 0)));
                        &mut self.places.last_mut().expect("just pushed").1
                    }
                };
                class.0 += 1;
                class.1 += usize::from(found);
            }
        }
    }
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn max(values: &[f64]) -> f64 {
    values.iter().copied().fold(0.0, f64::max)
}

fn ratio(found: usize, boxes: usize) -> f64 {
    found as f64 / boxes.max(1) as f64
}

fn print_tables(rows: &[(Kind, Tally)], breakdown: &Breakdown) {
    println!(
        "| kind | frames (text / text-free) | text boxes | recall | false-mask, text frames \
         (mean / max) | false-mask, text-free frames (mean / max) |"
    );
    println!("|---|---|---|---|---|---|");
    for (kind, t) in rows {
        println!(
            "| {} | {} / {} | {} | {:.3} | {:.2} % / {:.2} % | {:.2} % / {:.2} % |",
            kind.name(),
            t.frames[0],
            t.frames[1],
            t.boxes,
            ratio(t.found, t.boxes),
            100.0 * mean(&t.false_mask[0]),
            100.0 * max(&t.false_mask[0]),
            100.0 * mean(&t.false_mask[1]),
            100.0 * max(&t.false_mask[1]),
        );
    }
    println!("\nRecall over all kinds, by class of text box:\n");
    println!("| class | text boxes | recall |");
    println!("|---|---|---|");
    let classes = [
        ("cap height 7 px", breakdown.height[0]),
        ("cap height 8–15 px", breakdown.height[1]),
        ("cap height 16–27 px", breakdown.height[2]),
        ("cap height 28–41 px", breakdown.height[3]),
        ("cap height 42–56 px", breakdown.height[4]),
        ("at frame edges, in panels", breakdown.over_anatomy[0]),
        ("over anatomy", breakdown.over_anatomy[1]),
        ("brighter than its background", breakdown.darker[0]),
        ("darker than its background", breakdown.darker[1]),
    ];
    let places = breakdown.places.iter().copied();
    for (label, (boxes, found)) in classes.into_iter().chain(places) {
        if boxes > 0 {
            println!("| {label} | {boxes} | {:.3} |", ratio(found, boxes));
        }
    }
    println!("\nDetection time, one thread (wall clock):\n");
    println!(
        "| kind | median of {REPEATS} runs on one frame | all frames, one run each: mean / max \
         | per megapixel |"
    );
    println!("|---|---|---|---|");
    for (kind, t) in rows {
        let ms: Vec<f64> = t.times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        let (median, (w, h)) = t.repeated.unwrap_or_default();
        println!(
            "| {} | {:.1} ms ({w}×{h}) | {:.1} ms / {:.1} ms | {:.1} ms |",
            kind.name(),
            median.as_secs_f64() * 1e3,
            mean(&ms),
            max(&ms),
            ms.iter().sum::<f64>() / (t.pixels as f64 / 1e6),
        );
    }
}

/// The frame in colour with text boxes (green: found, yellow: missed) and detections (red).
fn outline(frame: &Frame, regions: &[Region], score: &Score) -> RgbImage {
    let mut out = RgbImage::from_fn(frame.luma.width(), frame.luma.height(), |x, y| {
        let v = frame.luma.get_pixel(x, y)[0];
        Rgb([v, v, v])
    });
    for r in regions {
        draw_hollow_rect_mut(&mut out, rect(r), Rgb([255, 0, 0]));
    }
    for (t, found) in frame.text.iter().zip(&score.found) {
        let colour = if *found { [0, 255, 0] } else { [255, 255, 0] };
        draw_hollow_rect_mut(&mut out, rect(&t.region), Rgb(colour));
    }
    out
}

fn rect(r: &Region) -> Rect {
    Rect::at(r.x as i32, r.y as i32).of_size(r.width.max(1), r.height.max(1))
}

// ---------------------------------------------------------------------------------------------
// Random helpers

fn normal(rng: &mut ChaCha8Rng) -> f32 {
    let u1: f32 = rng.random_range(f32::EPSILON..1.0);
    let u2: f32 = rng.random();
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn noise_field(width: u32, height: u32, rng: &mut ChaCha8Rng) -> Field {
    Field::from_fn(width, height, |_, _| Luma([normal(rng)]))
}

fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let radius = (3.0 * sigma).ceil().max(1.0) as i32;
    let weights: Vec<f32> = (-radius..=radius)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = weights.iter().sum();
    weights.into_iter().map(|w| w / sum).collect()
}

fn blur(field: &Field, sigma_x: f32, sigma_y: f32) -> Field {
    let across = horizontal_filter(field, &gaussian_kernel(sigma_x));
    vertical_filter(&across, &gaussian_kernel(sigma_y))
}

/// With probability `chance`, blur the canvas by a sigma drawn from `sigma`.
fn maybe_blur(canvas: &mut RgbImage, rng: &mut ChaCha8Rng, chance: f64, sigma: Range<f32>) {
    if rng.random_bool(chance) {
        *canvas = blur_rgb(canvas, rng.random_range(sigma));
    }
}

fn blur_rgb(image: &RgbImage, sigma: f32) -> RgbImage {
    let kernel = gaussian_kernel(sigma);
    vertical_filter(&horizontal_filter(image, &kernel), &kernel)
}

fn add_noise(image: &mut RgbImage, sigma: f32, rng: &mut ChaCha8Rng) {
    for p in image.pixels_mut() {
        let n = normal(rng) * sigma;
        for c in p.0.iter_mut() {
            *c = (f32::from(*c) + n).round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// ITU-R BT.601 luma, as the pipeline converts colour frames.
fn luma(image: &RgbImage) -> GrayImage {
    GrayImage::from_fn(image.width(), image.height(), |x, y| {
        let [r, g, b] = image.get_pixel(x, y).0;
        let y = 0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b);
        Luma([y.round().clamp(0.0, 255.0) as u8])
    })
}

fn grey(v: f32) -> Rgb<u8> {
    let v = v.round().clamp(0.0, 255.0) as u8;
    Rgb([v, v, v])
}

fn field_to_rgb(field: &Field) -> RgbImage {
    RgbImage::from_fn(field.width(), field.height(), |x, y| {
        grey(field.get_pixel(x, y)[0])
    })
}

/// 1 inside the ellipse, 0 outside, with a soft edge `soft` pixels wide.
fn ellipse(x: f32, y: f32, cx: f32, cy: f32, rx: f32, ry: f32, soft: f32) -> f32 {
    let d = (((x - cx) / rx).powi(2) + ((y - cy) / ry).powi(2)).sqrt();
    let edge_px = (1.0 - d) * rx.min(ry);
    (edge_px / soft + 0.5).clamp(0.0, 1.0)
}

// ---------------------------------------------------------------------------------------------
// Text

/// A line of text laid out with its top-left ink corner at the origin.
struct Line {
    glyphs: Vec<OutlinedGlyph>,
    width: u32,
    height: u32,
}

fn layout(font: &FontRef<'static>, cap: u32, text: &str) -> Line {
    let cap_units = font
        .outline(font.glyph_id('H'))
        .map(|o| (o.bounds.max.y - o.bounds.min.y).abs())
        .expect("font has H");
    let scale = PxScale::from(cap as f32 * font.height_unscaled() / cap_units);
    let scaled = font.as_scaled(scale);
    let mut x = 0.0;
    let mut previous = None;
    let mut glyphs = Vec::new();
    for c in text.chars() {
        let id = font.glyph_id(c);
        if let Some(p) = previous {
            x += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scale, point(x, scaled.ascent()));
        x += scaled.h_advance(id);
        previous = Some(id);
        if let Some(outlined) = font.outline_glyph(glyph) {
            glyphs.push(outlined);
        }
    }
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for g in &glyphs {
        let b = g.px_bounds();
        x0 = x0.min(b.min.x);
        y0 = y0.min(b.min.y);
        x1 = x1.max(b.max.x);
        y1 = y1.max(b.max.y);
    }
    let shift = point(-x0, -y0);
    let glyphs = glyphs
        .into_iter()
        .filter_map(|g| {
            let mut glyph = g.glyph().clone();
            glyph.position += shift;
            font.outline_glyph(glyph)
        })
        .collect();
    Line {
        glyphs,
        width: (x1 - x0) as u32,
        height: (y1 - y0) as u32,
    }
}

/// How a line of text is drawn.
#[derive(Clone, Copy)]
struct Ink {
    colour: [u8; 3],
    /// A 1-pixel black drop shadow, as some scanners draw over anatomy.
    shadow: bool,
    /// A black label box behind the text.
    backing: bool,
}

/// Draws `line` with its top-left ink corner at (x, y); returns the ink box (coverage ≥ 25 %).
fn draw_line(
    canvas: &mut RgbImage,
    line: &Line,
    x: i32,
    y: i32,
    ink: Ink,
    cap: u32,
) -> Option<TextBox> {
    if ink.backing {
        let pad = (cap / 4).max(2) as i32;
        let r = Rect::at(x - pad, y - pad)
            .of_size(line.width + 2 * pad as u32, line.height + 2 * pad as u32);
        draw_filled_rect_mut(canvas, r, Rgb([0, 0, 0]));
    }
    if ink.shadow {
        plot_glyphs(canvas, line, x + 1, y + 1, [0, 0, 0]);
    }
    let mut under: Vec<f32> = Vec::new();
    for py in y.max(0)..(y + line.height as i32).min(canvas.height() as i32) {
        for px in x.max(0)..(x + line.width as i32).min(canvas.width() as i32) {
            under.push(lum(canvas.get_pixel(px as u32, py as u32).0));
        }
    }
    under.sort_unstable_by(f32::total_cmp);
    let bright = under.is_empty() || lum(ink.colour) > under[under.len() / 2];
    let (x0, y0, x1, y1) = plot_glyphs(canvas, line, x, y, ink.colour)?;
    Some(TextBox {
        region: Region {
            x: x0,
            y: y0,
            width: x1 - x0 + 1,
            height: y1 - y0 + 1,
        },
        cap,
        bright,
        over_anatomy: false,
        place: None,
    })
}

fn plot_glyphs(
    canvas: &mut RgbImage,
    line: &Line,
    x: i32,
    y: i32,
    colour: [u8; 3],
) -> Option<(u32, u32, u32, u32)> {
    let (width, height) = (canvas.width() as i32, canvas.height() as i32);
    let mut ink: Option<(u32, u32, u32, u32)> = None;
    for g in &line.glyphs {
        let b = g.px_bounds();
        g.draw(|gx, gy, coverage| {
            let px = x + b.min.x as i32 + gx as i32;
            let py = y + b.min.y as i32 + gy as i32;
            if px < 0 || py < 0 || px >= width || py >= height || coverage <= 0.0 {
                return;
            }
            let c = coverage.min(1.0);
            let p = canvas.get_pixel_mut(px as u32, py as u32);
            for (channel, target) in p.0.iter_mut().zip(colour) {
                *channel = (f32::from(*channel) * (1.0 - c) + f32::from(target) * c).round() as u8;
            }
            if c >= 0.25 {
                let (px, py) = (px as u32, py as u32);
                ink = Some(match ink {
                    None => (px, py, px, py),
                    Some((a, b, c, d)) => (a.min(px), b.min(py), c.max(px), d.max(py)),
                });
            }
        });
    }
    ink
}

const SURNAMES: [&str; 16] = [
    "BERTRAND",
    "OKAFOR",
    "LINDQVIST",
    "MORENO",
    "HALVERSEN",
    "DUBOIS",
    "NAKAMURA",
    "WOJCIK",
    "KOWALSKI",
    "ABERNATHY",
    "FITZGERALD",
    "ROSSI",
    "ZHANG",
    "MBEKI",
    "OYELARAN",
    "VAN DAM",
];
const GIVEN: [&str; 12] = [
    "ANNA", "JOHN", "MAREK", "YUKI", "FATIMA", "PIERRE", "LUCIA", "OWEN", "INGRID", "RAVI", "ZOE",
    "TOMAS",
];
const WORDS: [&str; 16] = [
    "Liver", "Kidney", "Thyroid", "Carotid", "Abdomen", "Pelvis", "Cardiac", "Breast", "Chest",
    "Knee", "Neck", "Spine", "Aorta", "Portal", "Hepatic", "Renal",
];

/// One line of the sort scanners burn in: names, IDs, dates, institutions, parameters, labels.
fn phrase(rng: &mut ChaCha8Rng) -> String {
    let d = |rng: &mut ChaCha8Rng, n: usize| -> String {
        (0..n)
            .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
            .collect()
    };
    let date = |rng: &mut ChaCha8Rng| {
        let (y, m, day) = (
            rng.random_range(1935..2026),
            rng.random_range(1..13),
            rng.random_range(1..29),
        );
        match rng.random_range(0..3) {
            0 => format!("{y}-{m:02}-{day:02}"),
            1 => format!("{day:02}/{m:02}/{y}"),
            _ => format!("{day:02}.{m:02}.{y}"),
        }
    };
    match rng.random_range(0..14) {
        0 => format!("{}^{}", pick(rng, &SURNAMES), pick(rng, &GIVEN)),
        1 => {
            let s = pick(rng, &SURNAMES);
            let g = pick(rng, &GIVEN);
            format!(
                "{}{}, {}{}",
                &s[..1],
                s[1..].to_lowercase(),
                &g[..1],
                g[1..].to_lowercase()
            )
        }
        2 => {
            let n = rng.random_range(6..10);
            format!("ID: {}", d(rng, n))
        }
        3 => format!("MRN {}", d(rng, 7)),
        4 => format!("Acc# {}", d(rng, 8)),
        5 => date(rng),
        6 => format!("DOB {}", date(rng)),
        7 => format!(
            "{} {:02}:{:02}:{:02}",
            date(rng),
            rng.random_range(0..24),
            rng.random_range(0..60),
            rng.random_range(0..60)
        ),
        8 => format!(
            "{} General Hospital",
            pick(rng, &["St Mary", "Northfield", "Riverside", "Oak Hill"])
        ),
        9 => format!(
            "{} {:.1}  {} {:.1}",
            pick(rng, &["MI", "TIs", "TIb"]),
            rng.random_range(0.1..1.6f32),
            pick(rng, &["TIs", "Gn", "DR"]),
            rng.random_range(0.1..9.9f32)
        ),
        10 => format!(
            "{} {}  {} {}",
            pick(rng, &["kV", "Gn", "FR", "W"]),
            rng.random_range(10..400),
            pick(rng, &["mA", "DR", "Hz", "L"]),
            rng.random_range(10..400)
        ),
        11 => format!(
            "{} {:.2} cm",
            pick(rng, &["D1", "D2", "Dist", "L"]),
            rng.random_range(0.2..15.0f32)
        ),
        12 => format!(
            "{} {}",
            pick(rng, &WORDS).to_uppercase(),
            pick(rng, &["SAG", "TRANS", "LONG", "AP", "LAT"])
        ),
        _ => format!(
            "Se {} Im {}/{}",
            rng.random_range(1..12),
            rng.random_range(1..90),
            rng.random_range(90..400)
        ),
    }
}

/// Where a block of text goes in a frame.
#[derive(Clone, Copy)]
enum Anchor {
    TopLeft,
    TopRight,
    BottomLeft,
    BottomRight,
    /// Anywhere inside this rectangle (over anatomy), avoiding other text.
    Inside(Region),
}

/// The colours text of a kind is drawn in.
#[derive(Clone, Copy)]
enum Palette {
    /// White, grey, yellow, green or cyan (ultrasound machines draw in colour).
    Colour,
    /// White or grey, or black on bright backgrounds.
    Grey,
    /// Black or dark grey (on light panels).
    Dark,
}

/// A number of text blocks drawn from `blocks`, each of up to two lines, inside `area`.
#[allow(clippy::too_many_arguments)]
fn text_inside(
    canvas: &mut RgbImage,
    rng: &mut ChaCha8Rng,
    fonts: &[FontRef<'static>],
    area: Region,
    blocks: Range<i32>,
    caps: (u32, u32),
    palette: Palette,
    boxes: &mut Vec<TextBox>,
) {
    for _ in 0..rng.random_range(blocks) {
        text_block(
            canvas,
            rng,
            fonts,
            Anchor::Inside(area),
            2,
            caps,
            palette,
            boxes,
        );
    }
}

/// Draws a block of 1–`max_lines` lines at `anchor`; records their boxes in `boxes`.
#[allow(clippy::too_many_arguments)]
fn text_block(
    canvas: &mut RgbImage,
    rng: &mut ChaCha8Rng,
    fonts: &[FontRef<'static>],
    anchor: Anchor,
    max_lines: usize,
    caps: (u32, u32),
    palette: Palette,
    boxes: &mut Vec<TextBox>,
) {
    let (width, height) = canvas.dimensions();
    let font = pick(rng, fonts);
    let cap = rng.random_range(caps.0..=caps.1);
    let lines: Vec<Line> = (0..rng.random_range(1..=max_lines))
        .map(|_| {
            let mut text = phrase(rng);
            let mut line = layout(font, cap, &text);
            while line.width > width * 2 / 5 && text.chars().count() > 3 {
                text = shorten(&text);
                line = layout(font, cap, &text);
            }
            line
        })
        .filter(|l| l.width > 0 && l.width < width.saturating_sub(8))
        .collect();
    if lines.is_empty() {
        return;
    }
    let pitch = (cap as f32 * rng.random_range(1.6..2.1)) as u32;
    let block_w = lines.iter().map(|l| l.width).max().unwrap_or(0);
    let block_h = pitch * (lines.len() as u32 - 1) + lines.last().map_or(0, |l| l.height);
    if block_w + 4 >= width || block_h + 4 >= height {
        return;
    }
    let margin = rng.random_range(1..14u32);
    let (left, top) = match anchor {
        Anchor::TopLeft => (margin, margin),
        Anchor::TopRight => (width - block_w - margin, margin),
        Anchor::BottomLeft => (margin, height - block_h - margin),
        Anchor::BottomRight => (width - block_w - margin, height - block_h - margin),
        Anchor::Inside(area) => {
            let mut spot = None;
            for _ in 0..30 {
                if area.width <= block_w || area.height <= block_h {
                    break;
                }
                let x = area.x + rng.random_range(0..area.width - block_w);
                let y = area.y + rng.random_range(0..area.height - block_h);
                let candidate = Region {
                    x,
                    y,
                    width: block_w,
                    height: block_h,
                };
                if !boxes
                    .iter()
                    .any(|b| overlaps(&b.region, &candidate, cap + 6))
                {
                    spot = Some((x, y));
                    break;
                }
            }
            match spot {
                Some(s) => s,
                None => return,
            }
        }
    };
    let block = Region {
        x: left,
        y: top,
        width: block_w,
        height: block_h,
    };
    if boxes.iter().any(|b| overlaps(&b.region, &block, cap + 6)) {
        return;
    }
    let over_anatomy = matches!(anchor, Anchor::Inside(_));
    let right_aligned = matches!(anchor, Anchor::TopRight | Anchor::BottomRight);
    let spans: Vec<Region> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| Region {
            x: if right_aligned {
                left + block_w - line.width
            } else {
                left
            },
            y: top + i as u32 * pitch,
            width: line.width.max(1),
            height: line.height.max(1),
        })
        .collect();
    let ink = choose_ink(canvas, &spans, palette, over_anatomy, rng);
    for (line, span) in lines.iter().zip(&spans) {
        if let Some(b) = draw_line(canvas, line, span.x as i32, span.y as i32, ink, cap) {
            boxes.push(TextBox { over_anatomy, ..b });
        }
    }
}

/// Drops the last word, or the last character of a single word.
fn shorten(text: &str) -> String {
    match text.trim_end().rsplit_once(' ') {
        Some((head, _)) => head.trim_end().to_string(),
        None => text[..text.len() - 1].to_string(),
    }
}

fn overlaps(a: &Region, b: &Region, pad: u32) -> bool {
    a.x < b.x + b.width + pad
        && b.x < a.x + a.width + pad
        && a.y < b.y + b.height + pad
        && b.y < a.y + a.height + pad
}

/// A colour a reader can tell from the background under every line: at least 50 grey levels
/// of luma brighter than 90 % of it (or darker than 90 % of it), else white with a drop shadow
/// or on a label box, as scanners do over anatomy.
fn choose_ink(
    canvas: &RgbImage,
    spans: &[Region],
    palette: Palette,
    over_anatomy: bool,
    rng: &mut ChaCha8Rng,
) -> Ink {
    let deciles: Vec<(f32, f32)> = spans
        .iter()
        .map(|span| {
            let mut under: Vec<f32> = Vec::new();
            for y in span.y..span.y + span.height {
                for x in span.x..span.x + span.width {
                    under.push(lum(canvas.get_pixel(x, y).0));
                }
            }
            under.sort_unstable_by(f32::total_cmp);
            (under[under.len() / 10], under[under.len() * 9 / 10])
        })
        .collect();
    let readable = |c: [u8; 3]| {
        deciles
            .iter()
            .all(|&(p10, p90)| lum(c) >= p90 + 50.0 || lum(c) <= p10 - 50.0)
    };
    let light = rng.random_range(150..=235u8);
    let candidates: Vec<[u8; 3]> = match palette {
        Palette::Colour => vec![
            [255, 255, 255],
            [light, light, light],
            [255, 255, 0],
            [0, 255, 0],
            [0, 255, 255],
        ],
        Palette::Grey => vec![[255, 255, 255], [light, light, light], [0, 0, 0]],
        Palette::Dark => {
            let dark = rng.random_range(0..=60u8);
            vec![[0, 0, 0], [dark, dark, dark]]
        }
    };
    let colour = *pick(rng, &candidates);
    if over_anatomy && rng.random_bool(0.2) {
        let colour = if lum(colour) < 100.0 {
            [255, 255, 255]
        } else {
            colour
        };
        return Ink {
            colour,
            shadow: false,
            backing: true,
        };
    }
    if readable(colour) {
        return Ink {
            colour,
            shadow: false,
            backing: false,
        };
    }
    let fitting: Vec<[u8; 3]> = candidates.into_iter().filter(|c| readable(*c)).collect();
    match fitting.as_slice() {
        [] if rng.random_bool(0.5) => Ink {
            colour: [255, 255, 255],
            shadow: true,
            backing: false,
        },
        [] => Ink {
            colour: [255, 255, 255],
            shadow: false,
            backing: true,
        },
        some => Ink {
            colour: *pick(rng, some),
            shadow: false,
            backing: false,
        },
    }
}

fn lum(c: [u8; 3]) -> f32 {
    0.299 * f32::from(c[0]) + 0.587 * f32::from(c[1]) + 0.114 * f32::from(c[2])
}

// ---------------------------------------------------------------------------------------------
// Frames

fn generate(
    kind: Kind,
    with_text: bool,
    fonts: &[FontRef<'static>],
    rng: &mut ChaCha8Rng,
) -> Frame {
    match kind {
        Kind::Ultrasound => ultrasound(with_text, false, fonts, rng),
        Kind::Doppler => ultrasound(with_text, true, fonts, rng),
        Kind::Ct => ct(with_text, fonts, rng),
        Kind::Radiograph => radiograph(with_text, fonts, rng),
        Kind::Screenshot => screenshot(with_text, fonts, rng),
        Kind::Ct16 => ct16(with_text, fonts, rng),
    }
}

/// Log-compressed speckle in a sector (or linear) field of view on black, with depth scale,
/// grey bar and focus marker; text in the header corners, beside the image and over it. With
/// `doppler`, colour flow in a box of the field of view and a colour scale bar (text is then
/// drawn in the corners and beside the image only).
fn ultrasound(
    with_text: bool,
    doppler: bool,
    fonts: &[FontRef<'static>],
    rng: &mut ChaCha8Rng,
) -> Frame {
    let (width, height) = *pick(
        rng,
        &[(800u32, 600u32), (640, 480), (1024, 768), (960, 720)],
    );
    let (w, h) = (width as f32, height as f32);
    let top = rng.random_range(0.08..0.16) * h;
    let bottom = h - rng.random_range(0.04..0.12) * h;
    let apex_x = w / 2.0 + rng.random_range(-0.05..0.05) * w;
    let sector = rng.random_bool(0.7);
    let half_angle = rng.random_range(0.5..0.78f32);
    let linear_half = rng.random_range(0.2..0.32) * w;
    let apex_y = top
        - if sector {
            rng.random_range(10.0..60.0)
        } else {
            0.0
        };
    let inside = |x: f32, y: f32| -> Option<f32> {
        if sector {
            let (dx, dy) = (x - apex_x, y - apex_y);
            let r = (dx * dx + dy * dy).sqrt();
            (dy > 0.0 && dx.atan2(dy).abs() < half_angle && y >= top && r <= bottom - apex_y)
                .then_some(r)
        } else {
            ((x - apex_x).abs() < linear_half && y >= top && y <= bottom).then_some(y - top)
        }
    };
    // Tissue: layers with echogenic interfaces, dark cysts and vessels.
    let layers: Vec<(f32, f32, f32, f32)> = (0..rng.random_range(2..5))
        .map(|_| {
            (
                rng.random_range(top..bottom),
                rng.random_range(0.2..1.0),
                rng.random_range(5.0..30.0),
                rng.random_range(0.005..0.03),
            )
        })
        .collect();
    let cysts: Vec<(f32, f32, f32, f32, f32)> = (0..rng.random_range(0..4))
        .map(|_| {
            (
                apex_x + rng.random_range(-0.25..0.25) * w,
                rng.random_range(top + 40.0..bottom - 20.0),
                rng.random_range(8.0..70.0),
                rng.random_range(6.0..50.0),
                rng.random_range(0.0..0.15),
            )
        })
        .collect();
    let base = rng.random_range(0.3..0.9f32);
    let echo = Field::from_fn(width, height, |x, y| {
        let (x, y) = (x as f32, y as f32);
        let mut e = base;
        for &(depth, level, wiggle, freq) in &layers {
            let boundary = depth + wiggle * (x * freq).sin();
            if y > boundary {
                e = level;
            }
            e += 2.5 * (-((y - boundary) / 2.0).powi(2)).exp();
        }
        for &(cx, cy, rx, ry, level) in &cysts {
            let m = ellipse(x, y, cx, cy, rx, ry, 3.0);
            e = e * (1.0 - m) + level * m;
        }
        Luma([e])
    });
    let (lateral, axial) = (rng.random_range(1.0..2.6), rng.random_range(0.6..1.3));
    let re = blur(&noise_field(width, height, rng), lateral, axial);
    let im = blur(&noise_field(width, height, rng), lateral, axial);
    let rms =
        (re.pixels().map(|p| p[0] * p[0]).sum::<f32>() / (w * h)).sqrt() * std::f32::consts::SQRT_2;
    let range_db = rng.random_range(45.0..65.0f32);
    let gain_db = rng.random_range(-6.0..4.0f32);
    let mut image = Field::from_fn(width, height, |x, y| {
        let Some(depth) = inside(x as f32, y as f32) else {
            return Luma([0.0]);
        };
        let (a, b) = (re.get_pixel(x, y)[0], im.get_pixel(x, y)[0]);
        let amplitude = (a * a + b * b).sqrt() / rms * echo.get_pixel(x, y)[0];
        let tgc = -4.0 * depth / h;
        let db = 20.0 * amplitude.max(1e-4).log10() + gain_db + tgc;
        Luma([((db + range_db * 0.6) / range_db * 255.0).clamp(0.0, 255.0)])
    });
    if rng.random_bool(0.5) {
        image = blur(&image, 0.7, 0.7);
    }
    let mut canvas = field_to_rgb(&image);
    // Clutter every frame carries: depth ticks, grey bar, focus marker.
    let scale_x = (apex_x
        + if sector {
            (bottom - apex_y) * half_angle.sin()
        } else {
            linear_half
        }
        + 12.0) as i32;
    let tick = (h / rng.random_range(8.0..16.0)) as i32;
    let mut ty = top as i32;
    while ty < bottom as i32 {
        draw_filled_rect_mut(
            &mut canvas,
            Rect::at(scale_x.min(width as i32 - 8), ty).of_size(rng.random_range(3..7), 2),
            grey(200.0),
        );
        ty += tick;
    }
    let focus_y = rng.random_range(top..bottom) as i32;
    let fx = scale_x.min(width as i32 - 20) + 8;
    draw_polygon_mut(
        &mut canvas,
        &[
            Point::new(fx, focus_y),
            Point::new(fx + 8, focus_y - 5),
            Point::new(fx + 8, focus_y + 5),
        ],
        Rgb([230, 230, 0]),
    );
    let bar_x = if rng.random_bool(0.5) {
        6
    } else {
        width as i32 - 18
    };
    let bar_top = (h * 0.3) as i32;
    for i in 0..(h * 0.3) as i32 {
        let v = 255.0 * (1.0 - i as f32 / (h * 0.3));
        draw_filled_rect_mut(
            &mut canvas,
            Rect::at(bar_x, bar_top + i).of_size(10, 1),
            grey(v),
        );
    }
    if doppler {
        colour_flow(&mut canvas, rng, &inside, (apex_x, top, bottom, w));
        let bar = if bar_x < 10 { bar_x + 14 } else { bar_x - 14 };
        for i in 0..(h * 0.3) as i32 {
            let t = i as f32 / (h * 0.3);
            draw_filled_rect_mut(
                &mut canvas,
                Rect::at(bar, bar_top + i).of_size(10, 1),
                flow_colour(1.0 - 2.0 * t),
            );
        }
    }
    let mut boxes = Vec::new();
    if with_text {
        let header = (8, 22);
        text_block(
            &mut canvas,
            rng,
            fonts,
            Anchor::TopLeft,
            4,
            header,
            Palette::Colour,
            &mut boxes,
        );
        text_block(
            &mut canvas,
            rng,
            fonts,
            Anchor::TopRight,
            4,
            header,
            Palette::Colour,
            &mut boxes,
        );
        if rng.random_bool(0.6) {
            text_block(
                &mut canvas,
                rng,
                fonts,
                Anchor::BottomLeft,
                2,
                (8, 30),
                Palette::Colour,
                &mut boxes,
            );
        }
        if rng.random_bool(0.4) {
            text_block(
                &mut canvas,
                rng,
                fonts,
                Anchor::BottomRight,
                2,
                (8, 40),
                Palette::Colour,
                &mut boxes,
            );
        }
        let area = Region {
            x: (w * 0.15) as u32,
            y: top as u32,
            width: (w * 0.7) as u32,
            height: (bottom - top) as u32,
        };
        if !doppler {
            text_inside(
                &mut canvas,
                rng,
                fonts,
                area,
                1..4,
                (8, 40),
                Palette::Colour,
                &mut boxes,
            );
        }
    }
    maybe_blur(&mut canvas, rng, 0.4, 0.4..0.8);
    add_noise(&mut canvas, rng.random_range(0.0..3.0), rng);
    Frame::colour(canvas, boxes)
}

/// Velocity `v` in -1..1 as a Doppler map shows it: red to yellow towards the probe, blue to
/// cyan away, dark near zero.
fn flow_colour(v: f32) -> Rgb<u8> {
    let a = v.abs().min(1.0);
    let (main, over) = (
        (80.0 + 175.0 * a.min(0.6) / 0.6),
        (255.0 * (a - 0.6).max(0.0) / 0.4),
    );
    if v >= 0.0 {
        Rgb([main as u8, over as u8, 0])
    } else {
        Rgb([0, over as u8, main as u8])
    }
}

/// Colour flow inside a box of the field of view: vessels as smooth blobs of velocity, with
/// speckle-like variation, only where the field of view is.
fn colour_flow(
    canvas: &mut RgbImage,
    rng: &mut ChaCha8Rng,
    inside: &dyn Fn(f32, f32) -> Option<f32>,
    (apex_x, top, bottom, w): (f32, f32, f32, f32),
) {
    let (width, height) = canvas.dimensions();
    let half = rng.random_range(0.12..0.25) * w;
    let x0 = (apex_x - half).max(0.0) as u32;
    let x1 = ((apex_x + half) as u32).min(width);
    let y0 = (top + rng.random_range(0.05..0.3) * (bottom - top)) as u32;
    let y1 = ((y0 as f32 + rng.random_range(0.3..0.6) * (bottom - top)) as u32).min(height);
    let sigma = rng.random_range(5.0..12.0);
    let field = blur(&noise_field(width, height, rng), sigma, sigma);
    let fine = blur(&noise_field(width, height, rng), 1.2, 1.2);
    let rms = |f: &Field| (f.pixels().map(|p| p[0] * p[0]).sum::<f32>() / f.len() as f32).sqrt();
    let (big, small) = (rms(&field).max(1e-6), rms(&fine).max(1e-6));
    let threshold = rng.random_range(0.5..1.1);
    for y in y0..y1 {
        for x in x0..x1 {
            if inside(x as f32, y as f32).is_none() {
                continue;
            }
            let v = field.get_pixel(x, y)[0] / big;
            if v.abs() < threshold {
                continue;
            }
            let jitter = 0.25 * fine.get_pixel(x, y)[0] / small;
            let velocity =
                (v.signum() * (v.abs() - threshold) * 1.5 + jitter * v.signum()).clamp(-1.0, 1.0);
            canvas.put_pixel(x, y, flow_colour(velocity));
        }
    }
}

/// An axial CT slice as a display would window it: body with fat, organs, lungs or gas,
/// spine, ribs, table, correlated noise, air around; text in the four corners and over it.
fn ct(with_text: bool, fonts: &[FontRef<'static>], rng: &mut ChaCha8Rng) -> Frame {
    let size = *pick(rng, &[512u32, 512, 640, 768]);
    let s = size as f32;
    let (cx, cy) = (
        s / 2.0 + rng.random_range(-0.03..0.03) * s,
        s / 2.0 + rng.random_range(-0.02..0.06) * s,
    );
    let (rx, ry) = (
        rng.random_range(0.32..0.44) * s,
        rng.random_range(0.22..0.32) * s,
    );
    let fat = rng.random_range(0.03..0.09) * s;
    let tissue = rng.random_range(60.0..90.0f32);
    let chest = rng.random_bool(0.5);
    let organs: Vec<(f32, f32, f32, f32, f32)> = (0..rng.random_range(2..6))
        .map(|_| {
            (
                cx + rng.random_range(-0.5..0.5) * rx,
                cy + rng.random_range(-0.5..0.5) * ry,
                rng.random_range(0.1..0.35) * rx,
                rng.random_range(0.1..0.35) * ry,
                if chest {
                    rng.random_range(5.0..25.0)
                } else {
                    tissue + rng.random_range(-25.0..40.0)
                },
            )
        })
        .collect();
    let ribs: Vec<(f32, f32)> = (0..rng.random_range(6..14))
        .map(|_| {
            let a: f32 = rng.random_range(0.0..std::f32::consts::TAU);
            (
                cx + 0.88 * (rx - fat) * a.cos(),
                cy + 0.88 * (ry - fat) * a.sin(),
            )
        })
        .collect();
    let bone = rng.random_range(170.0..235.0f32);
    let spine = (cx, cy + ry * 0.55);
    let table_y = cy + ry + rng.random_range(8.0..30.0);
    let noise = blur(&noise_field(size, size, rng), 0.8, 0.8);
    let sigma = rng.random_range(4.0..14.0f32);
    let image = Field::from_fn(size, size, |x, y| {
        let (x, y) = (x as f32, y as f32);
        let body = ellipse(x, y, cx, cy, rx, ry, 1.5);
        let inner = ellipse(x, y, cx, cy, rx - fat, ry - fat, 2.0);
        let mut v = 45.0 * body + (tissue - 45.0) * inner;
        for &(ox, oy, orx, ory, level) in &organs {
            let m = ellipse(x, y, ox, oy, orx, ory, 2.0) * inner;
            v = v * (1.0 - m) + level * m;
        }
        for &(bx, by) in &ribs {
            v = v.max(bone * ellipse(x, y, bx, by, 0.018 * s, 0.011 * s, 1.0));
        }
        let vertebra = ellipse(x, y, spine.0, spine.1, 0.06 * s, 0.05 * s, 1.0);
        let marrow = ellipse(x, y, spine.0, spine.1, 0.045 * s, 0.037 * s, 1.0);
        v = v.max(bone * vertebra - (bone - 140.0) * marrow);
        let table = ((y - table_y - 0.0006 * (x - cx).powi(2)).abs() < 4.0) as u8 as f32;
        v = v.max(80.0 * table);
        let n = sigma * noise.get_pixel(x as u32, y as u32)[0] * if body > 0.5 { 1.0 } else { 0.3 };
        Luma([v + n])
    });
    let mut canvas = field_to_rgb(&image);
    let mut boxes = Vec::new();
    if with_text {
        for anchor in [
            Anchor::TopLeft,
            Anchor::TopRight,
            Anchor::BottomLeft,
            Anchor::BottomRight,
        ] {
            if rng.random_bool(0.85) {
                text_block(
                    &mut canvas,
                    rng,
                    fonts,
                    anchor,
                    5,
                    (8, 24),
                    Palette::Grey,
                    &mut boxes,
                );
            }
        }
        let area = Region {
            x: (cx - rx) as u32,
            y: (cy - ry) as u32,
            width: (2.0 * rx) as u32,
            height: (2.0 * ry) as u32,
        };
        text_inside(
            &mut canvas,
            rng,
            fonts,
            area,
            1..3,
            (8, 40),
            Palette::Grey,
            &mut boxes,
        );
    }
    maybe_blur(&mut canvas, rng, 0.3, 0.4..0.7);
    Frame::grey(&canvas, boxes)
}

/// A projection radiograph: smooth soft tissue with a heel-effect gradient, long bones or ribs
/// and spine, collimator edges with bright unexposed borders; text white on the dark field or
/// black on the bright border.
fn radiograph(with_text: bool, fonts: &[FontRef<'static>], rng: &mut ChaCha8Rng) -> Frame {
    let (width, height) = *pick(
        rng,
        &[(768u32, 960u32), (1024, 1024), (900, 700), (1000, 800)],
    );
    let (w, h) = (width as f32, height as f32);
    let chest = rng.random_bool(0.5);
    let collimated = rng.random_bool(0.6);
    let border = if collimated {
        rng.random_range(0.03..0.12) * w
    } else {
        0.0
    };
    let exposed = rng.random_range(10.0..45.0f32);
    let soft = rng.random_range(80.0..140.0f32);
    let angle: f32 = rng.random_range(-0.4..0.4);
    let (ca, sa) = (angle.cos(), angle.sin());
    let bones: Vec<(f32, f32, f32, f32)> = if chest {
        Vec::new()
    } else {
        (0..rng.random_range(1..3))
            .map(|i| {
                (
                    w / 2.0 + (i as f32 - 0.5) * rng.random_range(0.05..0.15) * w,
                    rng.random_range(0.3..0.45) * h,
                    rng.random_range(0.02..0.05) * w,
                    rng.random_range(170.0..230.0),
                )
            })
            .collect()
    };
    let ribs: Vec<f32> = if chest {
        (0..10).map(|i| 0.22 * h + i as f32 * 0.055 * h).collect()
    } else {
        Vec::new()
    };
    let heel = rng.random_range(-0.15..0.15f32);
    let noise = blur(&noise_field(width, height, rng), 1.0, 1.0);
    let sigma = rng.random_range(2.0..6.0f32);
    let image = Field::from_fn(width, height, |x, y| {
        let (xf, yf) = (x as f32, y as f32);
        if collimated && (xf < border || xf > w - border || yf < border || yf > h - border) {
            return Luma([collimator_border(xf, yf)]);
        }
        let (u, v) = (
            (xf - w / 2.0) * ca + (yf - h / 2.0) * sa,
            -(xf - w / 2.0) * sa + (yf - h / 2.0) * ca,
        );
        let mut value;
        if chest {
            let body = ellipse(xf, yf, w / 2.0, h * 0.55, w * 0.42, h * 0.5, 20.0);
            value = exposed + (soft - exposed) * body;
            for side in [-1.0f32, 1.0] {
                let lung = ellipse(
                    xf,
                    yf,
                    w / 2.0 + side * w * 0.17,
                    h * 0.48,
                    w * 0.14,
                    h * 0.3,
                    25.0,
                );
                value -= 0.45 * (soft - exposed) * lung;
                for &ry in &ribs {
                    let arc = ry + 0.0015 * (xf - w / 2.0 - side * w * 0.05).powi(2) * 0.3;
                    let rib = (-((yf - arc) / 5.0).powi(2)).exp() * lung;
                    value += 45.0 * rib;
                }
            }
            value += 60.0 * (-((xf - w / 2.0) / (0.04 * w)).powi(2)).exp() * body;
        } else {
            let limb = (-(u / (0.22 * w)).powi(4)).exp();
            value = exposed + (soft - exposed) * limb;
            for &(offset, half_len, radius, level) in &bones {
                let du = u - (offset - w / 2.0);
                let along = (v.abs() - half_len).max(0.0);
                let d = (du * du + along * along).sqrt();
                let cortex = ((radius - d) / 1.5).clamp(0.0, 1.0);
                let medulla = ((radius * 0.6 - d) / 2.0).clamp(0.0, 1.0);
                value = value.max(level * cortex - 40.0 * medulla);
            }
        }
        value *= 1.0 + heel * (yf / h - 0.5);
        Luma([value + sigma * noise.get_pixel(x, y)[0]])
    });
    let mut canvas = field_to_rgb(&image);
    let mut boxes = Vec::new();
    if with_text {
        for anchor in [
            Anchor::TopLeft,
            Anchor::TopRight,
            Anchor::BottomLeft,
            Anchor::BottomRight,
        ] {
            if rng.random_bool(0.7) {
                text_block(
                    &mut canvas,
                    rng,
                    fonts,
                    anchor,
                    3,
                    (8, 40),
                    Palette::Grey,
                    &mut boxes,
                );
            }
        }
        let area = Region {
            x: (w * 0.15) as u32,
            y: (h * 0.15) as u32,
            width: (w * 0.7) as u32,
            height: (h * 0.7) as u32,
        };
        text_inside(
            &mut canvas,
            rng,
            fonts,
            area,
            1..3,
            (10, 40),
            Palette::Grey,
            &mut boxes,
        );
    }
    maybe_blur(&mut canvas, rng, 0.3, 0.4..0.8);
    Frame::grey(&canvas, boxes)
}

/// The unexposed border under the collimator leaves: bright, with a faint gradient.
fn collimator_border(x: f32, y: f32) -> f32 {
    215.0 + 10.0 * ((x + y) * 0.002).sin()
}

/// A viewer or report screenshot in colour: title bar, menu, toolbar icons, a list panel, a
/// viewport with a CT slice and its overlay, form fields and buttons, status bar.
fn screenshot(with_text: bool, fonts: &[FontRef<'static>], rng: &mut ChaCha8Rng) -> Frame {
    let (width, height) = *pick(
        rng,
        &[(1024u32, 768u32), (1280, 800), (1280, 1024), (1152, 864)],
    );
    let dark = rng.random_bool(0.4);
    let jitter = |rng: &mut ChaCha8Rng, c: [u8; 3]| {
        c.map(|v| (i32::from(v) + rng.random_range(-12..=12)).clamp(0, 255) as u8)
    };
    let bg = if dark {
        jitter(rng, [40, 42, 46])
    } else {
        jitter(rng, [236, 236, 240])
    };
    let panel = if dark {
        jitter(rng, [58, 60, 66])
    } else {
        jitter(rng, [250, 250, 252])
    };
    let fg = if dark { [225, 225, 225] } else { [20, 20, 24] };
    let accent = *pick(
        rng,
        &[
            [40u8, 100, 200],
            [0, 120, 110],
            [140, 40, 120],
            [200, 90, 20],
        ],
    );
    let mut canvas = RgbImage::from_pixel(width, height, Rgb(bg));
    let mut boxes = Vec::new();
    let label = |canvas: &mut RgbImage,
                 rng: &mut ChaCha8Rng,
                 boxes: &mut Vec<TextBox>,
                 x: u32,
                 y: u32,
                 cap: u32,
                 colour: [u8; 3],
                 text: &str,
                 max_w: u32| {
        if !with_text {
            return;
        }
        let font = pick(rng, fonts);
        let mut text = text.to_string();
        let mut line = layout(font, cap, &text);
        while line.width > max_w && text.chars().count() > 2 {
            text = shorten(&text);
            line = layout(font, cap, &text);
        }
        if line.width <= max_w
            && x + line.width < canvas.width()
            && y + line.height < canvas.height()
        {
            let ink = Ink {
                colour,
                shadow: false,
                backing: false,
            };
            if let Some(b) = draw_line(canvas, &line, x as i32, y as i32, ink, cap) {
                boxes.push(b);
            }
        }
    };
    // Title bar.
    let title_h = rng.random_range(24..44u32);
    draw_filled_rect_mut(
        &mut canvas,
        Rect::at(0, 0).of_size(width, title_h),
        Rgb(accent),
    );
    let cap = rng.random_range(8..=(title_h * 2 / 5).max(9));
    let title = format!("Viewer - {}", phrase(rng));
    label(
        &mut canvas,
        rng,
        &mut boxes,
        10,
        (title_h - cap) / 2,
        cap,
        [255, 255, 255],
        &title,
        width / 2,
    );
    for i in 0..3 {
        let x = width as i32 - 30 * (i + 1);
        draw_hollow_rect_mut(
            &mut canvas,
            Rect::at(x, (title_h / 2) as i32 - 6).of_size(12, 12),
            Rgb([255, 255, 255]),
        );
    }
    // Menu.
    let menu_y = title_h + 4;
    let menu_cap = rng.random_range(8..14u32);
    let mut x = 10;
    for word in ["File", "Edit", "View", "Image", "Tools", "Help"] {
        label(
            &mut canvas,
            rng,
            &mut boxes,
            x,
            menu_y,
            menu_cap,
            fg,
            word,
            200,
        );
        x += menu_cap * 5 + 10;
    }
    // Toolbar icons.
    let bar_y = menu_y + menu_cap + 12;
    let icon = rng.random_range(16..30u32);
    let mut x = 10i32;
    for _ in 0..rng.random_range(6..16) {
        let c = jitter(rng, if dark { [200, 200, 200] } else { [70, 70, 80] });
        match rng.random_range(0..4) {
            0 => draw_filled_rect_mut(
                &mut canvas,
                Rect::at(x, bar_y as i32).of_size(icon, icon),
                Rgb(c),
            ),
            1 => draw_filled_circle_mut(
                &mut canvas,
                (x + icon as i32 / 2, (bar_y + icon / 2) as i32),
                icon as i32 / 2,
                Rgb(c),
            ),
            2 => draw_hollow_rect_mut(
                &mut canvas,
                Rect::at(x, bar_y as i32).of_size(icon, icon),
                Rgb(c),
            ),
            _ => draw_polygon_mut(
                &mut canvas,
                &[
                    Point::new(x, (bar_y + icon) as i32),
                    Point::new(x + icon as i32 / 2, bar_y as i32),
                    Point::new(x + icon as i32, (bar_y + icon) as i32),
                ],
                Rgb(c),
            ),
        }
        x += icon as i32 + rng.random_range(6..14);
    }
    let body_y = bar_y + icon + 10;
    let status_h = rng.random_range(18..30u32);
    let body_h = height - body_y - status_h - 6;
    // List panel.
    let list_w = rng.random_range(width / 6..width / 4);
    draw_filled_rect_mut(
        &mut canvas,
        Rect::at(6, body_y as i32).of_size(list_w, body_h),
        Rgb(panel),
    );
    let row_cap = rng.random_range(8..19u32);
    let row_h = row_cap * 2 + 8;
    let selected = rng.random_range(0..6);
    let mut y = body_y + 6;
    let mut row = 0;
    while y + row_h < body_y + body_h {
        let colour = if row == selected {
            draw_filled_rect_mut(
                &mut canvas,
                Rect::at(6, y as i32).of_size(list_w, row_h),
                Rgb(accent),
            );
            [255, 255, 255]
        } else {
            fg
        };
        let text = phrase(rng);
        label(
            &mut canvas,
            rng,
            &mut boxes,
            12,
            y + row_h / 2 - row_cap / 2,
            row_cap,
            colour,
            &text,
            list_w - 16,
        );
        draw_line_segment_mut(
            &mut canvas,
            (6.0, (y + row_h) as f32),
            ((6 + list_w) as f32, (y + row_h) as f32),
            Rgb(bg),
        );
        y += row_h + 1;
        row += 1;
    }
    // Viewport with a CT slice and its overlay.
    let view_x = 6 + list_w + 8;
    let form_w = rng.random_range(width / 5..width / 3);
    let view_w = width - view_x - form_w - 14;
    let side = view_w.min(body_h);
    draw_filled_rect_mut(
        &mut canvas,
        Rect::at(view_x as i32, body_y as i32).of_size(view_w, body_h),
        Rgb([0, 0, 0]),
    );
    let slice = ct(false, fonts, rng).luma;
    let scaled = image::imageops::resize(&slice, side, side, image::imageops::FilterType::Triangle);
    let (ox, oy) = (view_x + (view_w - side) / 2, body_y + (body_h - side) / 2);
    for (x, y, p) in scaled.enumerate_pixels() {
        canvas.put_pixel(ox + x, oy + y, Rgb([p[0]; 3]));
    }
    let overlay_cap = rng.random_range(8..25u32);
    for (i, corner_y) in [body_y + 6, body_y + body_h - overlay_cap * 2 - 6]
        .into_iter()
        .enumerate()
    {
        let text = phrase(rng);
        let colour = if i == 0 {
            [255, 255, 255]
        } else {
            [255, 255, 0]
        };
        label(
            &mut canvas,
            rng,
            &mut boxes,
            view_x + 6,
            corner_y,
            overlay_cap,
            colour,
            &text,
            view_w / 2,
        );
    }
    // Form: headings, field labels and values, buttons.
    let form_x = width - form_w - 6;
    draw_filled_rect_mut(
        &mut canvas,
        Rect::at(form_x as i32, body_y as i32).of_size(form_w, body_h),
        Rgb(panel),
    );
    let heading_cap = rng.random_range(14..41u32);
    let heading = *pick(rng, &["Patient", "Study", "Report", "Series"]);
    label(
        &mut canvas,
        rng,
        &mut boxes,
        form_x + 10,
        body_y + 10,
        heading_cap,
        fg,
        heading,
        form_w - 20,
    );
    let field_cap = rng.random_range(8..21u32);
    let mut y = body_y + 20 + heading_cap * 2;
    while y + field_cap * 5 < body_y + body_h - 60 {
        let name = *pick(
            rng,
            &[
                "Name:",
                "ID:",
                "Birth date:",
                "Accession:",
                "Referrer:",
                "Study date:",
            ],
        );
        label(
            &mut canvas,
            rng,
            &mut boxes,
            form_x + 10,
            y,
            field_cap,
            fg,
            name,
            form_w - 20,
        );
        let field_y = y + field_cap * 2;
        let field =
            Rect::at(form_x as i32 + 10, field_y as i32).of_size(form_w - 20, field_cap * 2 + 6);
        draw_filled_rect_mut(
            &mut canvas,
            field,
            Rgb(if dark { [30, 30, 34] } else { [255, 255, 255] }),
        );
        draw_hollow_rect_mut(
            &mut canvas,
            field,
            Rgb(if dark { [90, 90, 96] } else { [170, 170, 176] }),
        );
        let value = phrase(rng);
        label(
            &mut canvas,
            rng,
            &mut boxes,
            form_x + 16,
            field_y + field_cap / 2 + 3,
            field_cap,
            fg,
            &value,
            form_w - 32,
        );
        y = field_y + field_cap * 3 + 16;
    }
    let button_h = field_cap * 2 + 12;
    let button_y = body_y + body_h - button_h - 10;
    for (i, word) in ["OK", "Cancel", "Export"].iter().enumerate() {
        let bw = (form_w - 40) / 3;
        let bx = form_x + 10 + i as u32 * (bw + 10);
        draw_filled_rect_mut(
            &mut canvas,
            Rect::at(bx as i32, button_y as i32).of_size(bw, button_h),
            Rgb(accent),
        );
        label(
            &mut canvas,
            rng,
            &mut boxes,
            bx + 6,
            button_y + (button_h - field_cap) / 2,
            field_cap,
            [255, 255, 255],
            word,
            bw - 12,
        );
    }
    // Status bar.
    let status_y = height - status_h;
    draw_filled_rect_mut(
        &mut canvas,
        Rect::at(0, status_y as i32).of_size(width, status_h),
        Rgb(panel),
    );
    let status_cap = rng.random_range(8..=(status_h / 2).max(8));
    let text = format!("{}  {}", phrase(rng), phrase(rng));
    label(
        &mut canvas,
        rng,
        &mut boxes,
        8,
        status_y + (status_h - status_cap) / 2,
        status_cap,
        fg,
        &text,
        width - 16,
    );
    maybe_blur(&mut canvas, rng, 0.3, 0.4..0.7);
    Frame::grey(&canvas, boxes)
}

// ---------------------------------------------------------------------------------------------
// The new-style part: what the seed part never draws

/// Cap heights of the new-style part: outside the seed part's 8–40 px (7 px, and 42–56 px)
/// three times in five, inside it otherwise (large blocks fit less often, so are tried more).
fn new_cap(rng: &mut ChaCha8Rng) -> u32 {
    match rng.random_range(0..5) {
        0 => 7,
        1 | 2 => rng.random_range(42..=56),
        _ => rng.random_range(9..=41),
    }
}

/// Where a new-style block of lines goes, and how its lines are aligned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Each line centred on the frame's middle, at the top or the bottom.
    Centred,
    /// A column of lines right-aligned to the right edge, at any height.
    RightColumn,
    /// Ink touching one edge of the frame.
    Border,
    /// Three to five lines at 1.25–1.5 cap heights' pitch, in a corner.
    Tight,
    /// Inside `Region` (a background panel, a gradient, bright anatomy).
    Inside(Region, &'static str),
}

impl Place {
    fn label(self) -> &'static str {
        match self {
            Place::Centred => "centred lines",
            Place::RightColumn => "right-aligned column",
            Place::Border => "touching the frame border",
            Place::Tight => "tight leading",
            Place::Inside(_, label) => label,
        }
    }
}

/// Lays out a block at `place`; returns the lines and their ink spans, or `None` when it does
/// not fit beside the text already drawn.
fn new_block(
    size: (u32, u32),
    rng: &mut ChaCha8Rng,
    fonts: &[FontRef<'static>],
    place: Place,
    boxes: &[TextBox],
) -> Option<(Vec<Line>, Vec<Region>, u32)> {
    let (width, height) = size;
    let font = pick(rng, fonts);
    let cap = new_cap(rng);
    let count = match place {
        Place::Tight => rng.random_range(3..=5),
        Place::RightColumn => rng.random_range(2..=5),
        _ => rng.random_range(1..=3),
    };
    let max_w = match place {
        Place::Inside(area, _) => area.width.saturating_sub(4),
        Place::Centred => width * 3 / 4,
        _ => width / 2,
    };
    let lines: Vec<Line> = (0..count)
        .map(|_| {
            let mut text = phrase(rng);
            let mut line = layout(font, cap, &text);
            while line.width > max_w && text.chars().count() > 3 {
                text = shorten(&text);
                line = layout(font, cap, &text);
            }
            line
        })
        .filter(|l| l.width > 0 && l.width <= max_w)
        .collect();
    if lines.is_empty() {
        return None;
    }
    let pitch = match place {
        Place::Tight => (cap as f32 * rng.random_range(1.25..1.5)).ceil() as u32,
        _ => (cap as f32 * rng.random_range(1.45..2.2)) as u32,
    };
    let block_w = lines.iter().map(|l| l.width).max().unwrap_or(0);
    let block_h = pitch * (lines.len() as u32 - 1) + lines.last().map_or(0, |l| l.height);
    if block_w + 2 >= width || block_h + 2 >= height {
        return None;
    }
    let margin = rng.random_range(2..12u32);
    let top_or_bottom = |rng: &mut ChaCha8Rng| {
        if rng.random_bool(0.5) {
            margin
        } else {
            height - block_h - margin
        }
    };
    let (left, top, align) = match place {
        Place::Centred => ((width - block_w) / 2, top_or_bottom(rng), 1),
        Place::RightColumn => (
            width - block_w - margin,
            rng.random_range(0..height - block_h),
            2,
        ),
        Place::Border => match rng.random_range(0..4) {
            0 => (0, rng.random_range(0..height - block_h), 0),
            1 => (width - block_w, rng.random_range(0..height - block_h), 2),
            2 => (rng.random_range(0..width - block_w), 0, 0),
            _ => (rng.random_range(0..width - block_w), height - block_h, 0),
        },
        Place::Tight => {
            let x = if rng.random_bool(0.5) {
                margin
            } else {
                width - block_w - margin
            };
            (x, top_or_bottom(rng), 0)
        }
        Place::Inside(area, _) => {
            if area.width <= block_w + 2 || area.height <= block_h + 2 {
                return None;
            }
            (
                area.x + rng.random_range(1..area.width - block_w),
                area.y + rng.random_range(1..area.height - block_h),
                0,
            )
        }
    };
    let block = Region {
        x: left,
        y: top,
        width: block_w,
        height: block_h,
    };
    if boxes.iter().any(|b| overlaps(&b.region, &block, cap + 6)) {
        return None;
    }
    let spans = lines
        .iter()
        .enumerate()
        .map(|(i, line)| Region {
            x: match align {
                0 => left,
                1 => left + (block_w - line.width) / 2,
                _ => left + block_w - line.width,
            },
            y: top + i as u32 * pitch,
            width: line.width.max(1),
            height: line.height.max(1),
        })
        .collect();
    Some((lines, spans, cap))
}

/// The backgrounds the new-style part adds to every frame of a kind (with text or not, so that
/// false masks on them are counted): a smooth gradient band, a light panel, bright anatomy.
/// Returns the areas text may be put in, with their labels and the palette text there takes.
fn new_backgrounds(
    canvas: &mut RgbImage,
    kind: Kind,
    rng: &mut ChaCha8Rng,
) -> Vec<(Region, &'static str, Palette)> {
    let (width, height) = canvas.dimensions();
    let (w, h) = (width as f32, height as f32);
    let mut areas = Vec::new();
    let palette = match kind {
        Kind::Ultrasound | Kind::Doppler => Palette::Colour,
        _ => Palette::Grey,
    };
    if rng.random_bool(0.6) {
        // A smooth gradient band across the top or bottom (a viewer's header, a vignette).
        let band_h = (rng.random_range(0.08..0.16) * h) as u32;
        let y0 = if rng.random_bool(0.5) {
            0
        } else {
            height - band_h
        };
        let (a, b) = (
            rng.random_range(0.0..90.0f32),
            rng.random_range(60.0..200.0f32),
        );
        let across = rng.random_bool(0.6);
        for y in y0..y0 + band_h {
            for x in 0..width {
                let t = if across {
                    x as f32 / w
                } else {
                    (y - y0) as f32 / band_h as f32
                };
                canvas.put_pixel(x, y, grey(a + (b - a) * t));
            }
        }
        areas.push((
            Region {
                x: 0,
                y: y0,
                width,
                height: band_h,
            },
            "on a smooth gradient",
            palette,
        ));
    }
    if rng.random_bool(0.5) {
        // A light panel at a side (a label, a report field): dark text on it.
        let pw = (rng.random_range(0.22..0.4) * w) as u32;
        let ph = (rng.random_range(0.1..0.22) * h) as u32;
        let x = if rng.random_bool(0.5) {
            rng.random_range(0..8)
        } else {
            width - pw - rng.random_range(0..8)
        };
        let y = rng.random_range((0.2 * h) as u32..(0.8 * h) as u32 - ph);
        let v = rng.random_range(195.0..250.0f32);
        let slope = rng.random_range(-20.0..20.0f32);
        for py in y..y + ph {
            for px in x..x + pw {
                let t = (px - x) as f32 / pw as f32;
                canvas.put_pixel(px, py, grey(v + slope * t));
            }
        }
        areas.push((
            Region {
                x,
                y,
                width: pw,
                height: ph,
            },
            "dark on a light panel",
            Palette::Dark,
        ));
    }
    if kind != Kind::Screenshot && kind != Kind::Doppler && rng.random_bool(0.6) {
        // Bright anatomy: a dense, smoothly shaded structure (contrast, bone, an implant).
        let (cx, cy) = (
            rng.random_range(0.3..0.7) * w,
            rng.random_range(0.3..0.7) * h,
        );
        let (rx, ry) = (
            rng.random_range(0.08..0.2) * w,
            rng.random_range(0.06..0.15) * h,
        );
        let level = rng.random_range(170.0..235.0f32);
        let texture = blur(&noise_field(width, height, rng), 2.0, 2.0);
        let x0 = (cx - rx).max(0.0) as u32;
        let y0 = (cy - ry).max(0.0) as u32;
        let x1 = ((cx + rx) as u32).min(width);
        let y1 = ((cy + ry) as u32).min(height);
        for y in y0..y1 {
            for x in x0..x1 {
                let m = ellipse(x as f32, y as f32, cx, cy, rx, ry, 4.0);
                if m <= 0.0 {
                    continue;
                }
                let under = f32::from(canvas.get_pixel(x, y).0[0]);
                let v = level + 10.0 * texture.get_pixel(x, y)[0];
                canvas.put_pixel(x, y, grey(under * (1.0 - m) + v * m));
            }
        }
        areas.push((
            Region {
                x: x0,
                y: y0,
                width: x1 - x0,
                height: y1 - y0,
            },
            "over bright anatomy",
            Palette::Grey,
        ));
    }
    areas
}

/// A frame of the new-style part: the seed part's text-free frame of the kind, the
/// backgrounds of [`new_backgrounds`], and text at the placements of [`Place`], in sizes and
/// (with the held-out seed) fonts the seed part never uses; blurred or noised after drawing
/// as the seed part is.
fn generate_new(
    kind: Kind,
    with_text: bool,
    fonts: &[FontRef<'static>],
    rng: &mut ChaCha8Rng,
) -> Frame {
    if kind == Kind::Ct16 {
        return ct16(with_text, fonts, rng);
    }
    let base = generate(kind, false, fonts, rng);
    let mut canvas = match base.rgb {
        Some(rgb) => rgb,
        None => RgbImage::from_fn(base.luma.width(), base.luma.height(), |x, y| {
            Rgb([base.luma.get_pixel(x, y).0[0]; 3])
        }),
    };
    let areas = new_backgrounds(&mut canvas, kind, rng);
    let palette = match kind {
        Kind::Ultrasound | Kind::Doppler => Palette::Colour,
        _ => Palette::Grey,
    };
    let mut boxes: Vec<TextBox> = Vec::new();
    if with_text {
        let mut places = vec![
            Place::Centred,
            Place::RightColumn,
            Place::Border,
            Place::Tight,
        ];
        places.retain(|_| rng.random_bool(0.75));
        for &(area, label, _) in &areas {
            places.push(Place::Inside(area, label));
        }
        for place in places {
            let area_palette = match place {
                Place::Inside(_, label) => {
                    areas.iter().find(|a| a.1 == label).map_or(palette, |a| a.2)
                }
                _ => palette,
            };
            // Doppler: text stays out of the field of view's middle, as in the seed part.
            for _ in 0..4 {
                let Some((lines, spans, cap)) =
                    new_block(canvas.dimensions(), rng, fonts, place, &boxes)
                else {
                    continue;
                };
                if kind == Kind::Doppler && spans.iter().any(|s| in_flow(&canvas, s)) {
                    continue;
                }
                let over = matches!(place, Place::Inside(..));
                let ink = choose_ink(&canvas, &spans, area_palette, over, rng);
                for (line, span) in lines.iter().zip(&spans) {
                    if let Some(b) =
                        draw_line(&mut canvas, line, span.x as i32, span.y as i32, ink, cap)
                    {
                        boxes.push(TextBox {
                            over_anatomy: over,
                            place: Some(place.label()),
                            ..b
                        });
                    }
                }
                break;
            }
        }
    }
    maybe_blur(&mut canvas, rng, 0.3, 0.4..0.8);
    add_noise(&mut canvas, rng.random_range(0.0..2.5), rng);
    match kind {
        Kind::Ultrasound | Kind::Doppler => Frame::colour(canvas, boxes),
        _ => Frame::grey(&canvas, boxes),
    }
}

/// Whether `span` covers colour flow (saturated pixels).
fn in_flow(canvas: &RgbImage, span: &Region) -> bool {
    (span.y..span.y + span.height).any(|y| {
        (span.x..span.x + span.width).any(|x| {
            let [r, g, b] = canvas.get_pixel(x, y).0;
            r.max(g).max(b) - r.min(g).min(b) > 60
        })
    })
}

/// A signed 16-bit axial CT slice in Hounsfield units (air −1000, fat, soft tissue, lung or
/// organs, bone up to 2000, table, correlated noise; −2000 or −3024 padding outside the
/// reconstruction circle, or none), text burned in at the maximum value (3071 or 4095) or at
/// a level the display window shows white or mid-grey, wherever that window makes it readable.
/// The detector reads it through `Geometry::luma`, exactly as the pipeline does.
fn ct16(with_text: bool, fonts: &[FontRef<'static>], rng: &mut ChaCha8Rng) -> Frame {
    let size = *pick(rng, &[512u32, 512, 768]);
    let s = size as f32;
    let (cx, cy) = (
        s / 2.0 + rng.random_range(-0.03..0.03) * s,
        s / 2.0 + rng.random_range(-0.02..0.06) * s,
    );
    let (rx, ry) = (
        rng.random_range(0.3..0.44) * s,
        rng.random_range(0.22..0.32) * s,
    );
    let fat = rng.random_range(0.03..0.09) * s;
    let tissue = rng.random_range(30.0..60.0f32);
    let chest = rng.random_bool(0.5);
    let organs: Vec<(f32, f32, f32, f32, f32)> = (0..rng.random_range(2..6))
        .map(|_| {
            (
                cx + rng.random_range(-0.5..0.5) * rx,
                cy + rng.random_range(-0.5..0.5) * ry,
                rng.random_range(0.1..0.35) * rx,
                rng.random_range(0.1..0.35) * ry,
                if chest {
                    rng.random_range(-900.0..-750.0)
                } else {
                    tissue + rng.random_range(-30.0..150.0)
                },
            )
        })
        .collect();
    let ribs: Vec<(f32, f32)> = (0..rng.random_range(6..14))
        .map(|_| {
            let a: f32 = rng.random_range(0.0..std::f32::consts::TAU);
            (
                cx + 0.88 * (rx - fat) * a.cos(),
                cy + 0.88 * (ry - fat) * a.sin(),
            )
        })
        .collect();
    let bone = rng.random_range(900.0..2000.0f32);
    let spine = (cx, cy + ry * 0.55);
    let table_y = cy + ry + rng.random_range(8.0..30.0);
    let padding = *pick(rng, &[-3024.0f32, -2000.0, -1000.0]);
    let noise = blur(&noise_field(size, size, rng), 0.8, 0.8);
    let sigma = rng.random_range(8.0..30.0f32);
    let mut hu = Field::from_fn(size, size, |x, y| {
        let (x, y) = (x as f32, y as f32);
        if ((x - s / 2.0).powi(2) + (y - s / 2.0).powi(2)).sqrt() > s / 2.0 {
            return Luma([padding]);
        }
        let body = ellipse(x, y, cx, cy, rx, ry, 1.5);
        let inner = ellipse(x, y, cx, cy, rx - fat, ry - fat, 2.0);
        let mut v = -1000.0 + 900.0 * body + (tissue + 100.0) * inner;
        for &(ox, oy, orx, ory, level) in &organs {
            let m = ellipse(x, y, ox, oy, orx, ory, 2.0) * inner;
            v = v * (1.0 - m) + level * m;
        }
        // Denser structures raise what lies under them (air stays -1000 around them).
        let raise = |v: f32, to: f32, m: f32| v + (to - v).max(0.0) * m;
        for &(bx, by) in &ribs {
            v = raise(v, bone, ellipse(x, y, bx, by, 0.018 * s, 0.011 * s, 1.0));
        }
        let vertebra = ellipse(x, y, spine.0, spine.1, 0.06 * s, 0.05 * s, 1.0);
        let marrow = ellipse(x, y, spine.0, spine.1, 0.045 * s, 0.037 * s, 1.0);
        v = raise(v, bone, vertebra);
        v += (250.0 - v) * marrow;
        let table = ((y - table_y - 0.0006 * (x - cx).powi(2)).abs() < 4.0) as u8 as f32;
        v = raise(v, 200.0, table);
        let n = sigma * noise.get_pixel(x as u32, y as u32)[0] * if body > 0.5 { 1.0 } else { 0.3 };
        Luma([v + n])
    });
    // The window a reader looks through: soft tissue, lung or bone.
    let (level, window) = *pick(
        rng,
        &[
            (40.0f32, 400.0f32),
            (40.0, 350.0),
            (-600.0, 1500.0),
            (300.0, 1500.0),
        ],
    );
    let shown = |v: f32| ((v - (level - window / 2.0)) / window * 255.0).clamp(0.0, 255.0);
    let maximum = *pick(rng, &[3071.0f32, 4095.0]);
    let mut boxes = Vec::new();
    if with_text {
        let mut places = vec![
            Place::Centred,
            Place::RightColumn,
            Place::Border,
            Place::Tight,
            Place::Tight,
        ];
        places.retain(|_| rng.random_bool(0.8));
        let body = Region {
            x: (cx - rx) as u32,
            y: (cy - ry) as u32,
            width: (2.0 * rx) as u32,
            height: (2.0 * ry) as u32,
        };
        places.push(Place::Inside(body, "over the body (16-bit CT)"));
        let spine_box = Region {
            x: (spine.0 - 0.09 * s) as u32,
            y: (spine.1 - 0.06 * s) as u32,
            width: (0.18 * s) as u32,
            height: (0.12 * s) as u32,
        };
        places.push(Place::Inside(spine_box, "over bright anatomy"));
        for place in places {
            for _ in 0..4 {
                let Some((lines, spans, cap)) = new_block((size, size), rng, fonts, place, &boxes)
                else {
                    continue;
                };
                // Ink levels a reader sees as text in the window: the maximum, white, or
                // mid-grey; readable when 50 grey levels from 90 % of what lies under it.
                let deciles: Vec<(f32, f32)> = spans
                    .iter()
                    .map(|span| {
                        let mut under: Vec<f32> = (span.y..span.y + span.height)
                            .flat_map(|y| (span.x..span.x + span.width).map(move |x| (x, y)))
                            .map(|(x, y)| shown(hu.get_pixel(x, y)[0]))
                            .collect();
                        under.sort_unstable_by(f32::total_cmp);
                        (under[under.len() / 10], under[under.len() * 9 / 10])
                    })
                    .collect();
                let readable = |v: f32| {
                    deciles
                        .iter()
                        .all(|&(p10, p90)| shown(v) >= p90 + 50.0 || shown(v) <= p10 - 50.0)
                };
                let candidates: Vec<f32> = [maximum, level + window / 2.0, level]
                    .into_iter()
                    .filter(|v| readable(*v))
                    .collect();
                if candidates.is_empty() {
                    continue;
                }
                let ink = *pick(rng, &candidates);
                let bright = deciles.iter().all(|&(_, p90)| shown(ink) >= p90);
                let mut coverage = RgbImage::new(size, size);
                for (line, span) in lines.iter().zip(&spans) {
                    if let Some((x0, y0, x1, y1)) =
                        plot_glyphs(&mut coverage, line, span.x as i32, span.y as i32, [255; 3])
                    {
                        boxes.push(TextBox {
                            region: Region {
                                x: x0,
                                y: y0,
                                width: x1 - x0 + 1,
                                height: y1 - y0 + 1,
                            },
                            cap,
                            bright,
                            over_anatomy: matches!(place, Place::Inside(..)),
                            place: Some(place.label()),
                        });
                    }
                }
                for (x, y, c) in coverage.enumerate_pixels() {
                    let c = f32::from(c.0[0]) / 255.0;
                    if c > 0.0 {
                        let p = hu.get_pixel_mut(x, y);
                        p.0[0] = p.0[0] * (1.0 - c) + ink * c;
                    }
                }
                break;
            }
        }
    }
    let data: Vec<u8> = hu
        .pixels()
        .flat_map(|p| (p.0[0].round().clamp(-32768.0, 32767.0) as i16).to_le_bytes())
        .collect();
    let geometry = Geometry {
        rows: size,
        columns: size,
        samples: 1,
        bits_allocated: 16,
        bits_stored: 16,
        high_bit: 15,
        signed: true,
        planar: false,
        photometric: Photometric::Monochrome2,
        frames: 1,
        palette: None,
    };
    // The header's window is the one the reader looked through.
    let header = Window {
        centre: f64::from(level),
        width: f64::from(window),
        slope: 1.0,
        intercept: 0.0,
    };
    Frame {
        luma: geometry.luma(&data, 0),
        rgb: None,
        windowed: geometry.luma_in_window(&data, 0, &header),
        text: boxes,
    }
}
