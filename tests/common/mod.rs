//! Helpers shared by the integration tests: a sandbox with its own key and HOME, running the
//! binary, copying trees, reading manifests, hashing trees, and reading DICOM values.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use dicom_core::dictionary::{DataDictionary as _, DataDictionaryEntry as _};
use dicom_core::header::Header as _;
use dicom_core::value::{PrimitiveValue, Value};
use dicom_core::{Tag, VR};
use dicom_object::StandardDataDictionary;
use dicom_object::mem::{InMemDicomObject, InMemElement};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// The pydicom test files, read-only; copy before use.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/pydicom-3.0.2")
}

/// The synthetic PACS export.
pub fn testdata_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/pacs-export")
}

/// The list of planted identifying values, one a line.
pub fn planted_phi_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/planted-phi.txt")
}

/// The corpus, or `None` with a message saying the test is skipped.
pub fn corpus_or_skip(test: &str) -> Option<PathBuf> {
    let dir = corpus_dir();
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("{test}: skipped: corpus {} is absent", dir.display());
        None
    }
}

/// The synthetic test data, or `None` with a message saying the test is skipped.
pub fn testdata_or_skip(test: &str) -> Option<PathBuf> {
    let dir = testdata_dir();
    if dir.is_dir()
        && fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false)
    {
        Some(dir)
    } else {
        eprintln!("{test}: skipped: test data {} is absent", dir.display());
        None
    }
}

/// The planted values (trimmed, non-empty lines), or `None` with a message.
pub fn planted_phi_or_skip(test: &str) -> Option<Vec<String>> {
    let path = planted_phi_file();
    match fs::read_to_string(&path) {
        Ok(text) => Some(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        Err(_) => {
            eprintln!("{test}: skipped: {} is absent", path.display());
            None
        }
    }
}

/// A temporary folder with a key file and a private HOME, so no test touches the user's key.
pub struct Sandbox {
    pub dir: TempDir,
    pub key: PathBuf,
    pub home: PathBuf,
}

/// A fixed test key (64 hex characters).
pub const KEY_A: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
/// Another fixed test key.
pub const KEY_B: &str = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("dicom-deid-test-")
            .tempdir()
            .expect("a temp dir");
        let home = dir.path().join("home");
        fs::create_dir_all(&home).unwrap();
        let key = dir.path().join("key.hex");
        fs::write(&key, format!("{KEY_A}\n")).unwrap();
        // A key readable by others is warned about; the sandbox keeps its key private.
        fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        Sandbox { dir, key, home }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The binary with a clean environment (private HOME, no key variable).
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("dicom-deid").expect("the dicom-deid binary");
        cmd.env_remove("DICOM_DEID_KEY_FILE")
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .current_dir(self.dir.path());
        cmd
    }

    /// `run INPUT OUTPUT --key-file KEY ARGS...`.
    pub fn run(&self, input: &Path, output: &Path, args: &[&str]) -> Output {
        let mut cmd = self.cmd();
        cmd.arg("run")
            .arg(input)
            .arg(output)
            .arg("--key-file")
            .arg(&self.key)
            .args(args);
        cmd.output().expect("the binary runs")
    }

    /// A profile that is `basic` but writes burned-in-text kinds (US, SC) unmasked, for tests
    /// of header de-identification that want every image written.
    pub fn header_only_profile(&self) -> PathBuf {
        let path = self.path("header-only.yaml");
        fs::write(
            &path,
            "extends: basic\npixel:\n  burned_in_without_rule: keep\n",
        )
        .unwrap();
        path
    }

    /// Copy a read-only source tree into the sandbox under `name`.
    pub fn copy_in(&self, src: &Path, name: &str) -> PathBuf {
        let dst = self.path(name);
        copy_tree(src, &dst);
        dst
    }
}

/// The exit code, panicking with stderr if the process was killed.
pub fn code(out: &Output) -> i32 {
    out.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal; stderr:\n{}", stderr(out)))
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Assert an exit code, showing both streams if it differs.
pub fn assert_code(out: &Output, expected: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(expected),
        "{what}: exit status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        stdout(out),
        stderr(out)
    );
}

/// Copy every folder and regular file of `src` into `dst` (created).
pub fn copy_tree(src: &Path, dst: &Path) {
    for entry in walkdir::WalkDir::new(src).sort_by_file_name() {
        let entry = entry.expect("walk the source tree");
        let rel = entry.path().strip_prefix(src).unwrap();
        let target = dst.join(rel);
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).unwrap();
        } else if entry.file_type().is_file() {
            fs::copy(entry.path(), &target).unwrap();
            // The corpus is read-only; the copies need not be.
            let mut perms = fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            fs::set_permissions(&target, perms).unwrap();
        }
    }
}

/// Every regular file under `dir`, in walk (file name) order, not following links.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

/// Relative paths (with `/`) of every regular file under `dir`, not following links.
pub fn regular_files(dir: &Path) -> BTreeSet<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file())
        .map(|e| rel_string(e.path().strip_prefix(dir).unwrap()))
        .collect()
}

pub fn rel_string(p: &Path) -> String {
    p.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every regular file under `dir` (relative path → bytes), skipping paths for which
/// `exclude` is true.
pub fn tree_bytes(dir: &Path, exclude: impl Fn(&str) -> bool) -> BTreeMap<String, Vec<u8>> {
    regular_files(dir)
        .into_iter()
        .filter(|rel| !exclude(rel))
        .map(|rel| {
            let bytes = fs::read(dir.join(&rel)).unwrap();
            (rel, bytes)
        })
        .collect()
}

/// Relative path → SHA-256 of every regular file (for compact comparisons).
pub fn tree_hashes(dir: &Path, exclude: impl Fn(&str) -> bool) -> BTreeMap<String, String> {
    tree_bytes(dir, exclude)
        .into_iter()
        .map(|(rel, bytes)| (rel, sha256_hex(&bytes)))
        .collect()
}

/// Only the de-identified `.dcm` files of an OUTPUT (not the state folder).
pub fn dcm_tree(dir: &Path) -> BTreeMap<String, String> {
    tree_hashes(dir, |rel| {
        !rel.ends_with(".dcm") || rel.starts_with(".dicom-deid/")
    })
}

/// A snapshot of a path: absent, or every file's hash (for "OUTPUT not created or changed").
pub fn snapshot(path: &Path) -> Option<BTreeMap<String, String>> {
    path.exists().then(|| {
        let mut map = tree_hashes(path, |_| false);
        // Empty folders matter too.
        for e in walkdir::WalkDir::new(path).into_iter().flatten() {
            if e.file_type().is_dir() {
                map.insert(
                    format!("{}/", rel_string(e.path().strip_prefix(path).unwrap())),
                    String::new(),
                );
            }
        }
        map
    })
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Every line of a JSONL file, parsed (panics on a bad line).
pub fn read_jsonl(path: &Path) -> Vec<Json> {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    parse_jsonl(&text)
}

pub fn parse_jsonl(text: &str) -> Vec<Json> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

pub fn read_json(path: &Path) -> Json {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: bad JSON: {e}", path.display()))
}

/// A string field of a JSON record.
pub fn field<'a>(record: &'a Json, name: &str) -> Option<&'a str> {
    record.get(name).and_then(Json::as_str)
}

/// Records by their `input` path (needs `--manifest-paths`).
pub fn by_input(records: &[Json]) -> BTreeMap<String, Json> {
    records
        .iter()
        .map(|r| {
            let input = field(r, "input").expect("--manifest-paths records carry `input`");
            (input.to_owned(), r.clone())
        })
        .collect()
}

/// Records by their `id`.
pub fn by_id(records: &[Json]) -> BTreeMap<String, Json> {
    records
        .iter()
        .map(|r| {
            (
                field(r, "id").expect("records carry `id`").to_owned(),
                r.clone(),
            )
        })
        .collect()
}

/// A parsed DICOM file: its file meta (if any) and data set.
pub struct Dicom {
    pub transfer_syntax: String,
    pub meta: Option<dicom_object::FileMetaTable>,
    pub object: InMemDicomObject,
}

/// Open a DICOM file with dicom-object. Files without a file meta group are read as a bare
/// data set in `fallback_ts` when given.
pub fn open_dicom(path: &Path, fallback_ts: Option<&str>) -> Result<Dicom, String> {
    match dicom_object::open_file(path) {
        Ok(obj) => {
            let meta = obj.meta().clone();
            let ts = trim_uid(meta.transfer_syntax()).to_owned();
            Ok(Dicom {
                transfer_syntax: ts,
                meta: Some(meta),
                object: obj.into_inner(),
            })
        }
        Err(first) => {
            let Some(ts_uid) = fallback_ts else {
                return Err(first.to_string());
            };
            use dicom_encoding::TransferSyntaxIndex;
            let ts = dicom_transfer_syntax_registry::TransferSyntaxRegistry
                .get(ts_uid)
                .ok_or_else(|| format!("unknown transfer syntax {ts_uid}"))?;
            let bytes = fs::read(path).map_err(|e| e.to_string())?;
            let object = match InMemDicomObject::read_dataset_with_ts(&bytes[..], ts) {
                Ok(object) => object,
                // dicom-rs cannot read a UN of undefined length (CP-246): read such a file as
                // the tool does.
                Err(e) => match dicom_deid::dicom::file::parse(&bytes, u64::MAX) {
                    Ok(dicom_deid::dicom::file::Parsed::Dataset { object, .. }) => object,
                    _ => return Err(format!("{first}; as a bare data set: {e}")),
                },
            };
            Ok(Dicom {
                transfer_syntax: ts_uid.to_owned(),
                meta: None,
                object,
            })
        }
    }
}

pub fn trim_uid(s: &str) -> &str {
    s.trim_end_matches(['\0', ' '])
}

/// The text values of an element. Values stored as bytes (UN, as some real files hold
/// standard attributes) are decoded as text rather than listed as numbers.
pub fn element_strings(element: &InMemElement) -> Vec<String> {
    match element.value() {
        Value::Primitive(PrimitiveValue::U8(bytes)) => String::from_utf8_lossy(bytes)
            .split('\\')
            .map(str::to_owned)
            .collect(),
        Value::Primitive(p) => p.to_multi_str().iter().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Is this element a UID: VR UI, or UN where the dictionary says UI?
fn is_uid_element(element: &InMemElement) -> bool {
    match element.vr() {
        VR::UI => true,
        VR::UN => StandardDataDictionary
            .by_tag(element.tag())
            .is_some_and(|e| e.vr().relaxed() == VR::UI),
        _ => false,
    }
}

/// A top-level string value, trimmed of padding.
pub fn str_value(object: &InMemDicomObject, tag: Tag) -> Option<String> {
    object.get(tag).map(|e| {
        element_strings(e)
            .join("\\")
            .trim_end_matches(['\0', ' '])
            .trim_start()
            .to_owned()
    })
}

/// Every UID value at every depth of a data set.
pub fn all_uids(object: &InMemDicomObject, out: &mut Vec<(Tag, String)>) {
    for element in object {
        match element.value() {
            Value::Sequence(seq) => {
                for item in seq.items() {
                    all_uids(item, out);
                }
            }
            Value::Primitive(_) if is_uid_element(element) => {
                for s in element_strings(element) {
                    let s = trim_uid(&s);
                    if !s.is_empty() {
                        out.push((element.tag(), s.to_owned()));
                    }
                }
            }
            _ => {}
        }
    }
}

/// The pixel data as comparable parts: the native bytes, or each encapsulated fragment.
pub fn pixel_parts(object: &InMemDicomObject) -> Option<Vec<Vec<u8>>> {
    let element = object.get(dicom_dictionary_std::tags::PIXEL_DATA)?;
    Some(match element.value() {
        Value::Primitive(p) => vec![p.to_bytes().into_owned()],
        Value::PixelSequence(seq) => seq.fragments().to_vec(),
        Value::Sequence(_) => panic!("PixelData read as a sequence"),
    })
}

/// Does `haystack` contain `needle`, ignoring ASCII case?
pub fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() || needle.len() > haystack.len() {
        return needle.is_empty();
    }
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The byte spellings a planted value may have in a file: UTF-8 and Latin-1, as written,
/// upper- and lower-case.
pub fn spellings(value: &str) -> Vec<Vec<u8>> {
    let mut out = BTreeSet::new();
    for v in [value.to_owned(), value.to_uppercase(), value.to_lowercase()] {
        if v.chars().all(|c| (c as u32) < 256) {
            out.insert(v.chars().map(|c| c as u8).collect::<Vec<u8>>());
        }
        out.insert(v.into_bytes());
    }
    out.into_iter().collect()
}

/// The planted values found in `bytes` (case-insensitive, UTF-8 or Latin-1).
pub fn planted_in(bytes: &[u8], planted: &[String]) -> Vec<String> {
    planted
        .iter()
        .filter(|v| {
            spellings(v)
                .iter()
                .any(|s| contains_ignore_ascii_case(bytes, s))
        })
        .cloned()
        .collect()
}

/// Deflated Explicit VR Little Endian.
pub const DEFLATED_TS: &str = "1.2.840.10008.1.2.1.99";

/// A file's bytes as a byte-level search should see them: a deflated data set is inflated
/// (the file meta group stays as it is).
pub fn searchable_bytes(path: &Path) -> Vec<u8> {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match deflated_dataset_start(&bytes) {
        Some(start) => {
            use std::io::Read;
            let mut out = bytes[..start].to_vec();
            flate2::read::DeflateDecoder::new(&bytes[start..])
                .read_to_end(&mut out)
                .unwrap_or_else(|e| panic!("{}: cannot inflate: {e}", path.display()));
            out
        }
        None => bytes,
    }
}

/// Where the data set starts, when the file meta group names the deflated transfer syntax.
fn deflated_dataset_start(bytes: &[u8]) -> Option<usize> {
    if bytes.get(128..132)? != b"DICM" {
        return None;
    }
    let mut pos = 132;
    let mut deflated = false;
    while bytes.len() >= pos + 8 && bytes[pos..pos + 2] == [0x02, 0x00] {
        let element = u16::from_le_bytes([bytes[pos + 2], bytes[pos + 3]]);
        let vr = &bytes[pos + 4..pos + 6];
        let (len, header) = if matches!(vr, b"OB" | b"OW" | b"OF" | b"SQ" | b"UT" | b"UN") {
            let len = u32::from_le_bytes(bytes.get(pos + 8..pos + 12)?.try_into().ok()?);
            (len as usize, 12)
        } else {
            (
                u16::from_le_bytes([bytes[pos + 6], bytes[pos + 7]]) as usize,
                8,
            )
        };
        let value = bytes.get(pos + header..pos + header + len)?;
        if element == 0x0010 {
            let ts = String::from_utf8_lossy(value);
            deflated = trim_uid(&ts) == DEFLATED_TS;
        }
        pos += header + len;
    }
    deflated.then_some(pos)
}

/// Write a small synthetic CT (explicit VR little endian, 2x2 pixels) with the private
/// elements given as (tag, VR, text), and return the SOP Instance UID it carries.
pub fn write_synthetic_ct(path: &Path, uid_suffix: &str, private: &[(Tag, VR, &str)]) -> String {
    use dicom_core::{DataElement, PrimitiveValue as P};
    use dicom_dictionary_std::{tags, uids};
    let root = "1.2.826.0.1.3680043.10.9999.77";
    let sop = format!("{root}.3.{uid_suffix}");
    let text = |tag: Tag, vr: VR, s: &str| DataElement::new(tag, vr, P::from(s));
    let mut elements = vec![
        text(tags::SOP_CLASS_UID, VR::UI, uids::CT_IMAGE_STORAGE),
        text(tags::SOP_INSTANCE_UID, VR::UI, &sop),
        text(tags::STUDY_INSTANCE_UID, VR::UI, &format!("{root}.1")),
        text(tags::SERIES_INSTANCE_UID, VR::UI, &format!("{root}.2")),
        text(tags::FRAME_OF_REFERENCE_UID, VR::UI, &format!("{root}.4")),
        text(tags::PATIENT_NAME, VR::PN, "SYNTH^PATIENT"),
        text(tags::PATIENT_ID, VR::LO, "SYNTH-0001"),
        text(tags::MODALITY, VR::CS, "CT"),
        text(tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2"),
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, P::from(1_u16)),
        DataElement::new(tags::ROWS, VR::US, P::from(2_u16)),
        DataElement::new(tags::COLUMNS, VR::US, P::from(2_u16)),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, P::from(16_u16)),
        DataElement::new(tags::BITS_STORED, VR::US, P::from(12_u16)),
        DataElement::new(tags::HIGH_BIT, VR::US, P::from(11_u16)),
        DataElement::new(tags::PIXEL_REPRESENTATION, VR::US, P::from(0_u16)),
        DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            P::U8(vec![1, 0, 2, 0, 3, 0, 4, 0].into()),
        ),
    ];
    elements.extend(private.iter().map(|&(tag, vr, s)| text(tag, vr, s)));
    let object = InMemDicomObject::from_element_iter(elements);
    let meta = dicom_object::FileMetaTableBuilder::new()
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .media_storage_sop_class_uid(uids::CT_IMAGE_STORAGE)
        .media_storage_sop_instance_uid(&sop);
    object
        .with_meta(meta)
        .expect("a valid file meta group")
        .write_to_file(path)
        .expect("write the synthetic file");
    sop
}

/// The slot (high byte of the element number) a private creator holds in `group`.
pub fn private_slot(object: &InMemDicomObject, group: u16, creator: &str) -> Option<u16> {
    (0x10..=0xFF_u16).find(|&slot| {
        object
            .get(Tag(group, slot))
            .map(element_strings)
            .is_some_and(|v| v.first().map(|s| s.trim_end_matches(['\0', ' '])) == Some(creator))
    })
}

/// A small export: `files` synthetic CTs with their own UIDs over three patient folders, and
/// one file that is not DICOM.
pub fn write_synthetic_export(dir: &Path, files: usize) {
    for i in 0..files {
        let series = dir.join(format!("P{}", i % 3)).join("S1");
        fs::create_dir_all(&series).unwrap();
        write_synthetic_ct(
            &series.join(format!("IM{i:03}")),
            &format!("{}", i + 1),
            &[],
        );
    }
    fs::write(dir.join("notes.txt"), "not DICOM\n").unwrap();
}
