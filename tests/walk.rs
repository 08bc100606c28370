//! The engine and `verify` take their decisions from one walk (`Deidentifier::walk`): `verify`
//! walks outputs and inputs with it, and the engine processes each level by the same steps. On
//! every data set of the shared corpus and the sample export, under each shipped profile, the
//! decisions in the engine's trace are the walk's, element for element, in the same order.

mod common;

use common::*;
use dicom_core::Tag;
use dicom_core::header::Header as _;
use dicom_deid::deid::decide::Place;
use dicom_deid::deid::marks::MARKS;
use dicom_deid::deid::walk::{Step, Visitor};
use dicom_deid::deid::{Deidentifier, TraceRow};
use dicom_deid::dicom::file::{self, Parsed};
use dicom_deid::key::Key;
use dicom_deid::profile::Profile;
use dicom_object::mem::InMemElement;

/// One decision: the enclosing items, the element, the action as `inspect` shows it, the layer.
type Row = (Vec<(Tag, usize)>, Tag, String, String);

/// The walk's decisions for the elements the engine processes: it walks into the sequences the
/// engine processes, and leaves out private creators (decided once their blocks are) and the
/// top-level marks (which the engine sets over whatever was there).
struct Expected(Vec<Row>);

impl Visitor for Expected {
    type Within = Vec<(Tag, usize)>;

    fn element(
        &mut self,
        path: &Self::Within,
        place: Place,
        elem: &InMemElement,
        step: &Step<'_>,
    ) -> Option<Self::Within> {
        let tag = elem.tag();
        let decision = step.decision()?;
        if !is_top_mark(path, tag) {
            let row = (
                path.clone(),
                tag,
                decision.shown(),
                decision.layer.to_owned(),
            );
            self.0.push(row);
        }
        place.processed_inside(tag, &decision.action)?;
        let mut inner = path.clone();
        inner.push((tag, 0));
        Some(inner)
    }

    fn item(&mut self, sequence: &Self::Within, index: usize) -> Self::Within {
        let mut path = sequence.clone();
        if let Some(last) = path.last_mut() {
            last.1 = index;
        }
        path
    }
}

fn is_top_mark(path: &[(Tag, usize)], tag: Tag) -> bool {
    path.is_empty() && MARKS.contains(&tag)
}

/// The engine's decisions, from its trace, but for creators and marks.
fn engine_rows(trace: Vec<TraceRow>) -> Vec<Row> {
    let is_creator = |tag: Tag| tag.0 % 2 == 1 && tag.1 != 0 && tag.1 < 0x1000;
    trace
        .into_iter()
        .filter(|r| !is_top_mark(&r.path, r.tag) && !is_creator(r.tag))
        .map(|r| (r.path, r.tag, r.action, r.layer))
        .collect()
}

#[test]
fn the_engine_takes_the_decisions_of_the_walk() {
    let test = "the_engine_takes_the_decisions_of_the_walk";
    let dirs: Vec<_> = [corpus_or_skip(test), testdata_or_skip(test)]
        .into_iter()
        .flatten()
        .collect();
    let engines: Vec<(&str, Deidentifier)> = ["basic", "ml-dataset", "safe-harbor"]
        .into_iter()
        .map(|p| {
            (
                p,
                Deidentifier::new(Profile::load(p).unwrap(), Key::from_bytes([5; 32])),
            )
        })
        .collect();
    let mut compared = 0;
    for path in dirs.iter().flat_map(|d| files_under(d)) {
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(Parsed::Dataset { object, .. }) = file::parse(&bytes, 1 << 30) else {
            continue;
        };
        for (profile, engine) in &engines {
            let mut expected = Expected(Vec::new());
            engine.walk(&object, Vec::new(), &mut expected);
            let (_, _, trace) = engine.deidentify_traced(object.clone());
            let actual = engine_rows(trace);
            let differ = expected.0.iter().zip(&actual).position(|(e, a)| e != a);
            assert!(
                differ.is_none() && expected.0.len() == actual.len(),
                "{}, profile {profile}: the walk has {} decisions, the engine {}; first difference: walk {:?}, engine {:?}",
                path.display(),
                expected.0.len(),
                actual.len(),
                differ.map(|i| &expected.0[i]),
                differ.map(|i| &actual[i]),
            );
            compared += 1;
        }
    }
    assert!(dirs.is_empty() || compared > 0, "no data set was compared");
}
