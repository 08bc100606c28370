//! `rules suggest`: starter pixel rules from the quarantine of a dataset.
//!
//! The images a run quarantined because burned-in text was likely and no rule matched
//! (`burned_in_no_rule`, their latest record in the dataset's manifest) are found again
//! under INPUT by the keyed id of their path (so the key must be the dataset's), and grouped
//! by device and geometry: Manufacturer, ManufacturerModelName, Rows, Columns, SOPClassUID. The
//! detector looks at a few images of each group (drawn by a keyed hash of their id, so the same
//! dataset gives the same draw), over every frame as a run with the detector reads them
//! ([`examine::detect_frames`]: key frames whole, the others where they change; colour flow of
//! ultrasound set aside); the regions it finds are united, overlapping boxes merged into their bounding box, into one rule per group.
//!
//! The result is a starter, for a person to review: [`yaml`] writes it as a profile, and
//! [`page`] draws each group's frames with the proposed regions, from the *input* pixels (the
//! page holds burned-in PHI, and the caller writes it only where the user said).

mod page;
mod yaml;

pub use page::page;
pub use yaml::yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::mem::InMemDicomObject;

use crate::dicom::file::{self, Parsed};
use crate::dicom::reason::Code;
use crate::dicom::values::top_text;
use crate::key::{Key, Purpose};
use crate::pixel::Region;
use crate::pixel::examine;
use crate::pixel::frames::Window;
use crate::pixel::preview::{Picture, first_middle_last};
use crate::run::layout::{MANIFEST, SUMMARY};
use crate::run::manifest::{self, Status, Summary};
use crate::run::walk::path_id;

/// The review page outlines what the detector found in an image in yellow, and the group's
/// proposed regions in red (drawn over it).
const FOUND: image::Rgb<u8> = image::Rgb([255, 210, 0]);
const PROPOSED: image::Rgb<u8> = image::Rgb([255, 40, 40]);
/// Images looked at per group when the user does not say.
pub const DEFAULT_PER_GROUP: u16 = 5;

/// What a suggestion is made from.
pub struct SuggestConfig<'a> {
    /// The dataset: a run's OUTPUT.
    pub dataset: &'a Path,
    /// The run's INPUT.
    pub input: &'a Path,
    pub key: &'a Key,
    pub per_group: usize,
    pub max_file_size: u64,
}

/// Why no suggestion can be made. Texts name paths the user gave, never a value of a file.
#[derive(Debug, thiserror::Error)]
pub enum SuggestError {
    #[error("{} cannot be read ({source}): is it a dataset (a run's OUTPUT)?", path.display())]
    Manifest {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the key (fingerprint {given}) is not the dataset's ({dataset}): quarantined files are found by the keyed id of their path"
    )]
    KeyMismatch { given: String, dataset: String },
    #[error("{} is not a folder: name the run's INPUT", .0.display())]
    Input(PathBuf),
}

/// The device and geometry a group of images shares: the `when` of its rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Device {
    pub manufacturer: String,
    pub model: String,
    pub rows: String,
    pub columns: String,
    pub sop_class: String,
}

impl Device {
    fn of(object: &InMemDicomObject) -> Self {
        Device {
            manufacturer: top_text(object, tags::MANUFACTURER),
            model: top_text(object, tags::MANUFACTURER_MODEL_NAME),
            rows: top_text(object, tags::ROWS),
            columns: top_text(object, tags::COLUMNS),
            sop_class: top_text(object, tags::SOP_CLASS_UID),
        }
    }
}

/// One image the detector looked at.
pub struct Examined {
    /// Its manifest id.
    pub id: String,
    pub frames: u32,
    /// What the detector found in it, over the frames it looked at.
    pub regions: Vec<Region>,
    /// Thumbnails (frame, PNG) of its first, middle and last frames with what was found in
    /// it and the group's proposed regions outlined: input pixels.
    pub thumbnails: Vec<(u32, Vec<u8>)>,
}

/// Quarantined images of one device and geometry, and the rule proposed for them.
pub struct Group {
    pub device: Device,
    /// Manifest ids of its images.
    pub ids: Vec<String>,
    pub examined: Vec<Examined>,
    /// Images drawn for the detector that could not be read or decoded.
    pub unreadable: usize,
    /// The union of the regions found, overlapping boxes merged.
    pub regions: Vec<Region>,
}

/// What `rules suggest` found.
pub struct Suggestion {
    /// Images quarantined as `burned_in_no_rule` (their latest record).
    pub quarantined: usize,
    /// Of those, images no longer found under INPUT (moved, or another INPUT).
    pub missing: usize,
    /// Quarantined images that could not be read to be grouped.
    pub unreadable: usize,
    pub groups: Vec<Group>,
    /// The profile the dataset's latest run applied, as its summary names it.
    pub run_profile: Option<String>,
}

/// Find, group and examine the quarantined images of a dataset.
pub fn suggest(config: &SuggestConfig) -> Result<Suggestion, SuggestError> {
    let summary = std::fs::read(config.dataset.join(SUMMARY))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Summary>(&bytes).ok());
    if let Some(summary) = &summary
        && summary.key_fingerprint != config.key.fingerprint()
    {
        return Err(SuggestError::KeyMismatch {
            given: config.key.fingerprint(),
            dataset: summary.key_fingerprint.clone(),
        });
    }
    let wanted = quarantined(config.dataset)?;
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    if !config.input.is_dir() {
        return Err(SuggestError::Input(config.input.to_owned()));
    }
    // Entries that cannot be read are left out: their files were not found (and are counted).
    let walk = walkdir::WalkDir::new(config.input).sort_by_file_name();
    for entry in walk.into_iter().filter_map(Result::ok) {
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(config.input)
            .unwrap_or(entry.path());
        let id = path_id(config.key, rel);
        if wanted.contains(&id) {
            found.insert(id, entry.path().to_owned());
        }
    }
    let mut unreadable = 0;
    let mut by_device: BTreeMap<Device, Vec<(u64, String)>> = BTreeMap::new();
    for (id, path) in &found {
        match read_header(path, config.max_file_size) {
            Some(object) => {
                let rank = config.key.mac_u64(Purpose::Sample, id.as_bytes());
                by_device
                    .entry(Device::of(&object))
                    .or_default()
                    .push((rank, id.clone()));
            }
            None => unreadable += 1,
        }
    }
    let groups = by_device
        .into_iter()
        .map(|(device, mut members)| {
            members.sort();
            let drawn: Vec<&str> = members
                .iter()
                .take(config.per_group)
                .map(|(_, id)| id.as_str())
                .collect();
            examine_group(device, &members, &drawn, &found, config.max_file_size)
        })
        .collect();
    Ok(Suggestion {
        quarantined: wanted.len(),
        missing: wanted.len() - found.len(),
        unreadable,
        groups,
        run_profile: summary.map(|s| s.profile.name),
    })
}

/// Ids whose latest record in the dataset's manifest is quarantined as `burned_in_no_rule`.
fn quarantined(dataset: &Path) -> Result<BTreeSet<String>, SuggestError> {
    let path = dataset.join(MANIFEST);
    let records = manifest::records(&path).map_err(|source| SuggestError::Manifest {
        path: path.clone(),
        source,
    })?;
    let mut latest: BTreeMap<String, bool> = BTreeMap::new();
    for r in records {
        let waiting = r.status == Status::Quarantined && r.code == Some(Code::BurnedInNoRule);
        latest.insert(r.id, waiting);
    }
    Ok(latest
        .into_iter()
        .filter_map(|(id, waiting)| waiting.then_some(id))
        .collect())
}

/// The data set of a file without its pixel data when that can be left unread (a large
/// file); `None` when it cannot be parsed.
fn read_header(path: &Path, max: u64) -> Option<InMemDicomObject> {
    let file = std::fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    if len > max {
        return None;
    }
    let loaded = file::load_file(&file, len).ok()?;
    match file::parse_loaded(&loaded, max) {
        Ok(Parsed::Dataset { object, .. }) => Some(object),
        _ => None,
    }
}

/// A file parsed whole, with its transfer syntax; `None` when it cannot be.
fn read(path: &Path, max: u64) -> Option<(InMemDicomObject, String)> {
    let len = std::fs::metadata(path).ok()?.len();
    if len > max {
        return None;
    }
    match file::parse(&std::fs::read(path).ok()?, max) {
        Ok(Parsed::Dataset {
            object,
            transfer_syntax,
        }) => Some((object, transfer_syntax)),
        _ => None,
    }
}

/// Run the detector on the drawn images of a group and propose its regions.
fn examine_group(
    device: Device,
    members: &[(u64, String)],
    drawn: &[&str],
    paths: &BTreeMap<String, PathBuf>,
    max: u64,
) -> Group {
    let mut pictures = Vec::new();
    let mut examined = Vec::new();
    let mut unreadable = 0;
    for id in drawn {
        let picture = read(&paths[*id], max).and_then(|(object, ts)| {
            let ultrasound = top_text(&object, tags::MODALITY) == "US";
            let window = Window::from_header(&object);
            Some((ultrasound, window, Picture::from_object(object, &ts).ok()?))
        });
        let Some((ultrasound, window, picture)) = picture else {
            unreadable += 1;
            continue;
        };
        let frames = picture.geometry.frames;
        let regions = examine::detect_frames(
            &picture.geometry,
            &picture.bytes,
            ultrasound,
            window.as_ref(),
        );
        examined.push(Examined {
            id: (*id).to_owned(),
            frames,
            regions,
            thumbnails: Vec::new(),
        });
        pictures.push(picture);
    }
    let regions = merge(examined.iter().flat_map(|e| e.regions.iter().copied()));
    for (e, picture) in examined.iter_mut().zip(&pictures) {
        e.thumbnails = picture.thumbnails(
            &first_middle_last(e.frames),
            &[(&e.regions, FOUND), (&regions, PROPOSED)],
        );
    }
    Group {
        device,
        ids: members.iter().map(|(_, id)| id.clone()).collect(),
        examined,
        unreadable,
        regions,
    }
}

/// The union of `regions` as boxes: any two that overlap or touch become their bounding box,
/// until none do (this covers every region, and may cover a little more).
fn merge(regions: impl Iterator<Item = Region>) -> Vec<Region> {
    let mut boxes: Vec<Region> = regions.collect();
    let touch = |a: &Region, b: &Region| {
        a.x <= b.x + b.width
            && b.x <= a.x + a.width
            && a.y <= b.y + b.height
            && b.y <= a.y + a.height
    };
    'again: loop {
        for i in 0..boxes.len() {
            for j in i + 1..boxes.len() {
                if touch(&boxes[i], &boxes[j]) {
                    let b = boxes.swap_remove(j);
                    boxes[i] = boxes[i].bounding(b);
                    continue 'again;
                }
            }
        }
        break;
    }
    boxes.sort();
    boxes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(x: u32, y: u32, width: u32, height: u32) -> Region {
        Region {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn overlapping_and_touching_boxes_merge_and_apart_ones_stay() {
        let merged = merge(
            [
                r(0, 0, 10, 10),
                r(5, 5, 10, 10),
                r(15, 0, 5, 5),
                r(100, 100, 4, 4),
            ]
            .into_iter(),
        );
        assert_eq!(merged, [r(0, 0, 20, 15), r(100, 100, 4, 4)]);
        assert!(merge(std::iter::empty()).is_empty());
    }
}
