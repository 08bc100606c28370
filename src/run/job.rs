//! What every step of one run reads: its configuration, where progress goes, and what an
//! earlier run already finished. Processing ([`super::process`]) and placing
//! ([`super::place`]) are methods of it; the worker pool ([`super::workers`]) drives them.

use crate::run::resume::Earlier;
use crate::run::{Reporter, RunConfig};

pub(super) struct Job<'a> {
    pub(super) config: &'a RunConfig,
    pub(super) reporter: &'a dyn Reporter,
    /// What an earlier run finished (`--resume`).
    pub(super) earlier: Earlier,
}
