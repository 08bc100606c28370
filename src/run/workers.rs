//! The ordered worker pool: the walk hands inputs to `jobs` workers, which finish them in any
//! order; each finished input waits until every earlier one is placed, then is placed itself.
//! The walk stays at most a window of inputs ahead of the oldest unplaced one, so memory does
//! not grow with the number of files however slow one file is.

use std::collections::BTreeMap;
use std::io;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, mpsc};

use crate::dicom::reason::{Code, Reason};
use crate::run::job::Job;
use crate::run::manifest::{Record, Status};
use crate::run::place::Placing;
use crate::run::process::Done;
use crate::run::resume::Earlier;
use crate::run::walk::{Input, walk};
use crate::run::{Reporter, RunConfig, RunError};

/// How many files per worker may be finished ahead of the oldest one not yet placed.
const WINDOW_PER_JOB: usize = 64;

/// Mutable state of a run, shared by the workers and the walk under one lock.
struct Shared {
    /// Walk index of the next input to place.
    next: usize,
    /// Finished inputs waiting for an earlier one to be placed.
    pending: BTreeMap<usize, Done>,
    placing: Placing,
    /// A fault that stops the run (a full disk): nothing is started or placed after it.
    stop: Option<RunError>,
}

pub(super) struct Runner<'a> {
    job: Job<'a>,
    /// How far (in walk indices) workers may run ahead of the next file to place.
    window: usize,
    shared: Mutex<Shared>,
    /// Signalled whenever files are placed or the run stops.
    placed: Condvar,
}

impl<'a> Runner<'a> {
    pub(super) fn new(
        config: &'a RunConfig,
        reporter: &'a dyn Reporter,
        earlier: Earlier,
        placing: Placing,
    ) -> Self {
        Runner {
            job: Job {
                config,
                reporter,
                earlier,
            },
            window: config.jobs.max(1) * WINDOW_PER_JOB,
            shared: Mutex::new(Shared {
                next: 0,
                pending: BTreeMap::new(),
                placing,
                stop: None,
            }),
            placed: Condvar::new(),
        }
    }

    /// Walk INPUT, feeding `jobs` workers, until every input is placed or the run stopped;
    /// what placing produced.
    pub(super) fn run_all(self) -> Result<Placing, RunError> {
        let jobs = self.job.config.jobs.max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(jobs)
            .build()
            .expect("a thread pool of the requested size");
        let (sender, receiver) = mpsc::sync_channel(jobs * 2);
        let receiver = Mutex::new(receiver);
        pool.in_place_scope(|scope| {
            for _ in 0..jobs {
                scope.spawn(|_| self.work(&receiver));
            }
            for (index, input) in walk(self.job.config).enumerate() {
                self.job.reporter.found(&input.id);
                if !self.wait_for_room(index) || sender.send((index, input)).is_err() {
                    break;
                }
            }
            drop(sender);
        });
        let shared = self
            .shared
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        match shared.stop {
            Some(e) => Err(e),
            None => Ok(shared.placing),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A worker: process inputs as the walk hands them out, until it is done.
    fn work(&self, inputs: &Mutex<mpsc::Receiver<(usize, Input)>>) {
        loop {
            let next = inputs.lock().unwrap_or_else(PoisonError::into_inner).recv();
            let Ok((index, input)) = next else {
                return;
            };
            // After a fault that stops the run, the rest are drained unread.
            if self.lock().stop.is_some() {
                continue;
            }
            // A crash (a bug: no input should cause one) fails its file, or stops the run
            // when it happened while placing, so the walk never waits for a file that
            // will not come.
            let done =
                catch_unwind(AssertUnwindSafe(|| self.job.process(&input))).unwrap_or_else(|_| {
                    let reason = Reason::new(Code::Crashed, "processing crashed on this file");
                    let mut record =
                        Record::new(input.id.clone(), Status::Failed, Some(reason), input.size);
                    let path = input.rel.to_string_lossy().into_owned();
                    if self.job.config.manifest_paths {
                        record.input = Some(path.clone());
                    }
                    Ok(Done {
                        record,
                        linkage: None,
                        reused: false,
                        path: self.job.config.triage.is_some().then_some(path),
                    })
                });
            if catch_unwind(AssertUnwindSafe(|| self.finish(index, done))).is_err() {
                self.lock().stop = Some(RunError::Output {
                    path: self.job.config.output.clone(),
                    source: io::Error::other("placing a file crashed"),
                });
                self.placed.notify_all();
            }
        }
    }

    /// Wait until input `index` is within the window of the next file to place; `false` when
    /// the run has stopped instead.
    fn wait_for_room(&self, index: usize) -> bool {
        let mut shared = self.lock();
        while shared.stop.is_none() && index >= shared.next + self.window {
            shared = self
                .placed
                .wait(shared)
                .unwrap_or_else(PoisonError::into_inner);
        }
        shared.stop.is_none()
    }

    /// Hand in a finished input, and place every finished one that is next in walk order.
    fn finish(&self, index: usize, done: Result<Done, RunError>) {
        let mut guard = self.lock();
        let shared = &mut *guard;
        if shared.stop.is_some() {
            return;
        }
        match done {
            Err(e) => shared.stop = Some(e),
            Ok(done) => {
                shared.pending.insert(index, done);
                loop {
                    let next = shared.next;
                    let Some(done) = shared.pending.remove(&next) else {
                        break;
                    };
                    if let Err(e) = self.job.place(&mut shared.placing, done) {
                        shared.stop = Some(e);
                        break;
                    }
                    shared.next += 1;
                }
            }
        }
        drop(guard);
        self.placed.notify_all();
    }
}
