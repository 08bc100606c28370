//! Bytes ⇄ data set, knowing nothing of profiles.
//!
//! - [`scan`]: a structural check of a file's bytes before any parser sees them.
//! - [`reader`]: little-endian data sets read straight into dicom-rs objects.
//! - [`file`](mod@file): a file loaded (pixel data left on disk when large), parsed, and encoded again,
//!   with the input's pixel data spliced back in.
//! - [`values`]: element values as text, private creators, VR classes.
//! - [`reason`]: the stable codes of why a file was not written.
//! - [`uid`], [`dates`]: UID syntax; DA, DT, TM and AS values and their arithmetic.

pub mod dates;
pub mod file;
pub mod reader;
pub mod reason;
pub mod scan;
pub mod uid;
pub mod values;

use dicom_core::Tag;

/// An item of a sequence or of encapsulated pixel data.
pub const ITEM: Tag = Tag(0xFFFE, 0xE000);
/// The end of an item of undefined length.
pub const ITEM_DELIMITER: Tag = Tag(0xFFFE, 0xE00D);
/// The end of a sequence of undefined length.
pub const SEQUENCE_DELIMITER: Tag = Tag(0xFFFE, 0xE0DD);
