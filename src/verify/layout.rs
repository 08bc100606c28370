//! Where each value lies in an encoded data set, so that a byte-level search can name the
//! attribute a hit is in, and leave out sample data and the text values that are checked
//! element by element.

use std::io::Cursor;
use std::panic::{AssertUnwindSafe, catch_unwind};

use dicom_core::Tag;
use dicom_encoding::TransferSyntax;
use dicom_parser::dataset::LazyDataToken;
use dicom_parser::dataset::lazy_read::LazyDataSetReader;
use dicom_parser::stateful::decode::StatefulDecode;

use crate::dicom::values::is_text_vr;
use crate::dicom::values::keyword;

/// What a value holds, for the byte search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// A text VR: checked element by element in decoded form, skipped by the byte search.
    Text,
    /// Pixel, overlay, waveform, spectroscopy or audio samples: not searched.
    Samples,
    /// Any other value (OB, OW, UN, …): searched byte by byte.
    Binary,
}

/// One value's bytes in the file.
#[derive(Debug, Clone)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    /// The attribute, e.g. `ContentSequence[1] > TextValue` or `(0029,1010)`.
    pub path: String,
    pub class: Class,
}

fn is_samples(tag: Tag) -> bool {
    matches!(
        tag,
        Tag(0x7FE0, 0x0008..=0x0010) | Tag(0x5400, 0x1010) | Tag(0x5600, 0x0020)
    ) || (matches!(tag.0, 0x6000..=0x601E | 0x5000..=0x501E) && matches!(tag.1, 0x3000 | 0x200C))
}

/// The value spans of a data set encoded in `ts`, at file offset `base`; `None` when the
/// parser cannot walk it (the caller then searches every byte).
pub fn spans(data: &[u8], ts: &TransferSyntax, base: usize) -> Option<Vec<Span>> {
    catch_unwind(AssertUnwindSafe(|| walk(data, ts, base)))
        .ok()
        .flatten()
}

fn walk(data: &[u8], ts: &TransferSyntax, base: usize) -> Option<Vec<Span>> {
    let mut reader = LazyDataSetReader::new_with_ts(Cursor::new(data), ts).ok()?;
    let mut spans = Vec::new();
    // The open sequences: tag, and the number of items opened so far.
    let mut stack: Vec<(Tag, usize)> = Vec::new();
    let mut pixel_sequence = 0usize;
    let path = |stack: &[(Tag, usize)], tag: Option<Tag>| {
        let mut parts: Vec<String> = stack
            .iter()
            .map(|(t, i)| format!("{}[{i}]", keyword(*t)))
            .collect();
        parts.extend(tag.map(keyword));
        parts.join(" > ")
    };
    while let Some(token) = reader.advance() {
        match token.ok()? {
            LazyDataToken::SequenceStart { tag, .. } => stack.push((tag, 0)),
            LazyDataToken::PixelSequenceStart => pixel_sequence += 1,
            LazyDataToken::ItemStart { .. } => {
                if pixel_sequence == 0
                    && let Some(top) = stack.last_mut()
                {
                    top.1 += 1;
                }
            }
            LazyDataToken::SequenceEnd => {
                if pixel_sequence > 0 {
                    pixel_sequence -= 1;
                } else {
                    stack.pop();
                }
            }
            token @ LazyDataToken::LazyValue { .. } => {
                let LazyDataToken::LazyValue { header, decoder } = &token else {
                    unreachable!()
                };
                let start = base + decoder.position() as usize;
                let len = header.len.get()? as usize;
                let class = if is_samples(header.tag) {
                    Class::Samples
                } else if is_text_vr(header.vr) {
                    Class::Text
                } else {
                    Class::Binary
                };
                spans.push(Span {
                    start,
                    end: start + len,
                    path: path(&stack, Some(header.tag)),
                    class,
                });
                token.skip().ok()?;
            }
            token @ LazyDataToken::LazyItemValue { .. } => {
                let LazyDataToken::LazyItemValue { len, decoder } = &token else {
                    unreachable!()
                };
                let start = base + decoder.position() as usize;
                spans.push(Span {
                    start,
                    end: start + *len as usize,
                    path: "PixelData".to_owned(),
                    class: Class::Samples,
                });
                token.skip().ok()?;
            }
            _ => {}
        }
    }
    spans.sort_by_key(|s| s.start);
    Some(spans)
}
