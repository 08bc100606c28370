//! One traversal of a data set as the engine sees it: every element at every depth, with where
//! it sits ([`Place`]) and what the engine does with it ([`Step`]). The engine applies the
//! steps ([`crate::deid::engine`]); `verify` checks an output against them and gathers an
//! input's identifying values through them. Both take their steps from [`Level::step`] and
//! descend by [`Place::inside`], so neither can drift from the other.
//!
//! In each level of a data set (the top level, or one item of a sequence):
//! - group lengths are removed: encoding recomputes them;
//! - private creators are written back with the blocks that keep an element, and a private
//!   element whose block has no creator is removed;
//! - an overlay group whose OverlayData the profile removes goes whole (see
//!   [`crate::deid::decide`]);
//! - every other element is decided by the profile: a public one by its tag and VR (a standard
//!   attribute stored as UN by the VR the engine re-reads it with), a private one by its
//!   block's creator and its offset in the block;
//! - under a profile that cleans, a CodeMeaning is cleaned when its code item is of a local
//!   coding scheme (or names none), and kept as it is when of a standard one.

use std::collections::BTreeMap;

use dicom_core::VR;
use dicom_core::header::Header;
use dicom_core::value::Value;
use dicom_dictionary_std::tags;
use dicom_object::mem::{InMemDicomObject, InMemElement};

use crate::deid::Deidentifier;
use crate::deid::decide::{
    Decision, GROUP_LENGTH_LAYER, LOCAL_CODE_LAYER, NO_CREATOR_LAYER, OVERLAY_LAYER, Place,
    STANDARD_CODE_LAYER, is_standard_scheme,
};
use crate::deid::iod::Iod;
use crate::dicom::values::{dictionary_vr, is_overlay_group, is_text_vr, private_creators};
use crate::profile::Action;

/// What the engine does with one element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<'a> {
    /// A group length: removed.
    GroupLength(Decision<'a>),
    /// A private creator: written back when its block keeps an element, which is known only
    /// once the level is done.
    Creator,
    /// A private element whose block has no creator: removed.
    NoCreator(Decision<'a>),
    /// An element of an overlay group whose OverlayData the profile removes: removed with it.
    Overlay(Decision<'a>),
    /// A public element, decided by the profile.
    Public(Decision<'a>),
    /// A private element, decided by the profile for its block's creator.
    Private {
        creator: &'a str,
        decision: Decision<'a>,
    },
}

impl<'a> Step<'a> {
    /// The decision, for every element but a private creator.
    pub fn decision(&self) -> Option<&Decision<'a>> {
        match self {
            Step::Creator => None,
            Step::GroupLength(d) | Step::NoCreator(d) | Step::Overlay(d) | Step::Public(d) => {
                Some(d)
            }
            Step::Private { decision, .. } => Some(decision),
        }
    }

    /// The action taken, a creator's counted as removal: what places the items of a sequence.
    pub fn action(&self) -> &Action {
        self.decision().map_or(&Action::Remove, |d| &d.action)
    }
}

/// One level of a data set, ready to give each of its elements its [`Step`].
pub struct Level<'a> {
    engine: &'a Deidentifier,
    iod: &'a Iod,
    place: Place,
    creators: BTreeMap<(u16, u8), String>,
    /// The overlay groups (60xx) whose OverlayData the profile removes.
    dropped_overlays: Vec<u16>,
    /// Whether this level is a code item of a local coding scheme (`None`: of none).
    local_code: Option<bool>,
}

impl<'a> Level<'a> {
    /// The level `object` at `place`, in a file of `iod`.
    pub fn new(
        engine: &'a Deidentifier,
        iod: &'a Iod,
        object: &InMemDicomObject,
        place: Place,
    ) -> Self {
        // An overlay plane without its data breaks the Overlay Plane module, so the whole
        // group goes with it.
        let dropped_overlays = object
            .iter()
            .filter(|e| is_overlay_group(e.tag().0) && e.tag().1 == 0x3000)
            .filter(|e| engine.decide_public(e.tag(), e.vr(), iod, place).action == Action::Remove)
            .map(|e| e.tag().0)
            .collect();
        Level {
            engine,
            iod,
            place,
            creators: private_creators(object),
            dropped_overlays,
            local_code: object
                .get(tags::CODING_SCHEME_DESIGNATOR)
                .map(|e| !is_standard_scheme(&e.to_str().unwrap_or_default())),
        }
    }

    /// The creator of a private block of this level.
    pub fn creator(&self, group: u16, block: u8) -> Option<&str> {
        self.creators.get(&(group, block)).map(String::as_str)
    }

    /// What the engine does with `elem`, an element of this level.
    pub fn step(&self, elem: &InMemElement) -> Step<'_> {
        let tag = elem.tag();
        if tag.1 == 0x0000 {
            return Step::GroupLength(Decision::new(Action::Remove, GROUP_LENGTH_LAYER));
        }
        if tag.0 % 2 == 1 {
            if tag.1 < 0x1000 {
                return Step::Creator;
            }
            let (block, offset) = ((tag.1 >> 8) as u8, (tag.1 & 0xFF) as u8);
            return match self.creator(tag.0, block) {
                Some(creator) => Step::Private {
                    creator,
                    decision: self.engine.decide_private(tag.0, offset, creator),
                },
                None => Step::NoCreator(Decision::new(Action::Remove, NO_CREATOR_LAYER)),
            };
        }
        if self.dropped_overlays.contains(&tag.0) {
            return Step::Overlay(Decision::new(Action::Remove, OVERLAY_LAYER));
        }
        let vr = decided_vr(elem);
        let decision = self.engine.decide_public(tag, vr, self.iod, self.place);
        if tag == tags::CODE_MEANING
            && self.engine.cleans
            && matches!(decision.action, Action::Keep | Action::Clean)
        {
            // A profile that cleans descriptors cleans the words of local codes, wherever
            // they sit, and leaves those of standard schemes as the standard spells them.
            return Step::Public(match self.local_code {
                Some(false) => Decision::new(Action::Keep, STANDARD_CODE_LAYER),
                _ => Decision::new(Action::Clean, LOCAL_CODE_LAYER),
            });
        }
        Step::Public(decision)
    }
}

/// The VR a public element is decided by: a standard attribute stored as UN is re-read with
/// its dictionary VR when that is a text VR (as
/// [`reinterpret_un`](crate::dicom::values::reinterpret_un) re-reads its value), so its rule
/// applies.
fn decided_vr(elem: &InMemElement) -> VR {
    if elem.vr() != VR::UN || !matches!(elem.value(), Value::Primitive(_)) {
        return elem.vr();
    }
    match dictionary_vr(elem.tag()) {
        Some(vr) if is_text_vr(vr) => vr,
        _ => VR::UN,
    }
}

/// What walks a data set with [`Deidentifier::walk`].
pub trait Visitor {
    /// What the visitor carries into the items of a sequence: a path, a name prefix.
    type Within;

    /// One element at `place`, `within` what its item was given, and its step. For a
    /// sequence, `Some(s)` walks its items, each within [`Visitor::item`]`(&s, index)`;
    /// `None` skips them.
    fn element(
        &mut self,
        within: &Self::Within,
        place: Place,
        elem: &InMemElement,
        step: &Step<'_>,
    ) -> Option<Self::Within>;

    /// What item `index` of a sequence walked into sits within.
    fn item(&mut self, sequence: &Self::Within, index: usize) -> Self::Within;
}

impl Deidentifier {
    /// Walk `object` as the engine would process it: every element at every depth, in data set
    /// order, with its [`Step`]. The visitor chooses which sequences to walk into, all of them
    /// or only those the engine processes ([`Place::processed_inside`]); either way their items
    /// sit where the engine puts them.
    pub fn walk<V: Visitor>(&self, object: &InMemDicomObject, top: V::Within, visitor: &mut V) {
        let iod = Iod::of(object);
        self.walk_level(&iod, object, Place::TOP, &top, visitor);
    }

    fn walk_level<V: Visitor>(
        &self,
        iod: &Iod,
        object: &InMemDicomObject,
        place: Place,
        within: &V::Within,
        visitor: &mut V,
    ) {
        let level = Level::new(self, iod, object, place);
        for elem in object {
            let step = level.step(elem);
            let Some(sequence) = visitor.element(within, place, elem, &step) else {
                continue;
            };
            if let Value::Sequence(seq) = elem.value() {
                let inner = place.inside(elem.tag(), step.action());
                for (i, item) in seq.items().iter().enumerate() {
                    let within = visitor.item(&sequence, i);
                    self.walk_level(iod, item, inner, &within, visitor);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use dicom_core::value::PrimitiveValue;
    use dicom_core::{DataElement, Tag};
    use dicom_dictionary_std::tags;

    use super::*;
    use crate::key::Key;
    use crate::profile::Profile;

    /// The tags and layers a walk sees, with the place of each.
    struct Seen(Vec<(Place, Tag, Option<String>)>);

    impl Visitor for Seen {
        type Within = ();

        fn element(
            &mut self,
            _: &(),
            place: Place,
            elem: &InMemElement,
            step: &Step<'_>,
        ) -> Option<()> {
            self.0.push((
                place,
                elem.tag(),
                step.decision().map(|d| d.layer.to_owned()),
            ));
            Some(())
        }

        fn item(&mut self, _: &(), _: usize) {}
    }

    #[test]
    fn steps_cover_lengths_creators_overlays_and_un() {
        let deid = Deidentifier::new(Profile::load("basic").unwrap(), Key::from_bytes([3; 32]));
        let text = |tag, vr, v: &str| DataElement::new(tag, vr, PrimitiveValue::from(v));
        let object = InMemDicomObject::from_element_iter([
            DataElement::new(Tag(0x0010, 0x0000), VR::UL, PrimitiveValue::from(0u32)),
            text(tags::REFERENCED_SOP_CLASS_UID, VR::UN, "1.2.3"),
            text(Tag(0x0009, 0x0010), VR::LO, "ACME"),
            text(Tag(0x0009, 0x1001), VR::LO, "x"),
            text(Tag(0x0011, 0x1001), VR::LO, "y"),
            DataElement::new(Tag(0x6000, 0x0010), VR::US, PrimitiveValue::from(2u16)),
            DataElement::new(
                Tag(0x6000, 0x3000),
                VR::OW,
                PrimitiveValue::from(vec![0u8; 2]),
            ),
        ]);
        let mut seen = Seen(Vec::new());
        deid.walk(&object, (), &mut seen);
        let layer = |tag: Tag| {
            let (_, _, layer) = seen.0.iter().find(|(_, t, _)| *t == tag).unwrap();
            layer.clone()
        };
        assert_eq!(layer(Tag(0x0010, 0x0000)).unwrap(), GROUP_LENGTH_LAYER);
        assert_eq!(
            layer(tags::REFERENCED_SOP_CLASS_UID).unwrap(),
            "unlisted UID"
        );
        assert_eq!(layer(Tag(0x0009, 0x0010)), None);
        assert_eq!(layer(Tag(0x0011, 0x1001)).unwrap(), NO_CREATOR_LAYER);
        assert_eq!(layer(Tag(0x6000, 0x0010)).unwrap(), OVERLAY_LAYER);
    }
}
