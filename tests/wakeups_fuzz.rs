//! A seeded fuzz of the reactor and the executor: random sequences of register, wake,
//! deregister and drop, checked after every step.
//!
//! A seeded [`util::Rng`] draws operations on a kept [`Runtime`]: spawn a task that waits
//! on a socket read, a timer, a cross-thread signal or nothing; write to a socket, close
//! its peer, drop it; wake tasks from this thread or from another; wake tasks that have
//! finished; abort tasks (dropping the I/O objects they own mid-wait); make and drop
//! timers; run the runtime for a turn. After each step the model runs the runtime a few
//! turns and checks that every task whose wake condition has become true has completed,
//! that none completed without cause (early timers, reads of unwritten data, end of file
//! with data left), that aborted tasks report cancellation and finished ones their output,
//! and that a task that never completes is polled exactly once per wake: never by a wake
//! meant for another task, never missing one.
//!
//! 200 seeds of 200 steps run in a few seconds. A failure prints its seed and the last
//! steps; `WAKEUPS_SEED=<seed> cargo test --test wakeups_fuzz` replays one seed (the same
//! operations, up to the timers, which follow the real clock).

mod util;

use std::cell::Cell;
use std::collections::VecDeque;
use std::future::{Future, pending, poll_fn};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use epoll_rt::time::{Sleep, sleep, sleep_until, timeout};
use epoll_rt::{AsyncFd, JoinHandle, Runtime, yield_now};

/// Seeds tried, and steps per seed.
const SEEDS: u64 = 200;
const STEPS: usize = 200;

/// Most turns the model runs after a step for what became due to complete.
const SETTLE_TURNS: usize = 10;

/// Longest timer a task sets.
const MAX_TIMER: Duration = Duration::from_millis(3);

/// A one-shot signal any thread can fire, for tasks to await.
#[derive(Clone, Default)]
struct Signal(Arc<Mutex<(bool, Option<Waker>)>>);

impl Signal {
    /// Marks the signal fired and wakes its waiter.
    fn fire(&self) {
        let waker = {
            let mut state = self.0.lock().unwrap();
            state.0 = true;
            state.1.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// Completes once the signal has fired.
    fn wait(&self) -> impl Future<Output = ()> + 'static {
        let this = self.clone();
        poll_fn(move |cx| {
            let mut state = this.0.lock().unwrap();
            if state.0 {
                return Poll::Ready(());
            }
            state.1 = Some(cx.waker().clone());
            Poll::Pending
        })
    }
}

/// A thread that runs jobs for the model, so that wakes come from another thread, at times
/// the runtime may be running or not.
struct Helper {
    /// Where jobs go.
    jobs: Option<mpsc::Sender<Box<dyn FnOnce() + Send>>>,
    /// Jobs sent, and jobs done.
    sent: usize,
    done: Arc<AtomicUsize>,
    /// The thread.
    thread: Option<thread::JoinHandle<()>>,
}

impl Helper {
    fn new() -> Self {
        let (jobs, rx) = mpsc::channel::<Box<dyn FnOnce() + Send>>();
        let done = Arc::new(AtomicUsize::new(0));
        let counter = done.clone();
        let thread = thread::spawn(move || {
            for job in rx {
                job();
                counter.fetch_add(1, Ordering::SeqCst);
            }
        });
        Self {
            jobs: Some(jobs),
            sent: 0,
            done,
            thread: Some(thread),
        }
    }

    /// Runs `job` on the helper thread, soon.
    fn run(&mut self, job: impl FnOnce() + Send + 'static) {
        self.sent += 1;
        self.jobs
            .as_ref()
            .expect("helper running")
            .send(Box::new(job))
            .expect("helper thread alive");
    }

    /// Waits until every job sent has run.
    fn sync(&self) {
        let start = Instant::now();
        while self.done.load(Ordering::SeqCst) < self.sent {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "helper thread stuck"
            );
            thread::yield_now();
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A socket pair shared by reader tasks: they hold the registered end, the model writes
/// to the other.
struct SharedSocket {
    /// The registered end; `None` once the model dropped its copy.
    fd: Option<Rc<AsyncFd<UnixStream>>>,
    /// The model's end; `None` once closed.
    peer: Option<UnixStream>,
    /// Bytes written to the peer.
    written: usize,
    /// Bytes taken by readers.
    consumed: Rc<Cell<usize>>,
}

impl SharedSocket {
    /// Whether a reader of this socket has something to read: a byte, or end of file.
    fn ready(&self) -> bool {
        self.written > self.consumed.get() || self.peer.is_none()
    }
}

/// What a task waits for, as the model knows it.
enum Waits {
    /// One byte from shared socket `.0`.
    Shared(usize),
    /// One byte from a socket the task owns; the model holds the peer and counts writes.
    Owned { peer: UnixStream, written: usize },
    /// A deadline (a sleep, or a timeout around nothing), known once the timer is set, as
    /// the earliest and the latest instant it may be: the task must not complete before
    /// the first, and must have completed once the second has passed.
    Deadline(Rc<Cell<Option<(Instant, Instant)>>>),
    /// A signal, fired (and by then delivered) or not.
    Signal { signal: Signal, fired: bool },
    /// Nothing: it yields a few times and completes.
    Yields,
    /// Nothing ever: it counts its polls, and is polled only when woken.
    Forever {
        waker: Rc<Cell<Option<Waker>>>,
        polls: Rc<Cell<u64>>,
        wakes: u64,
    },
}

/// One spawned task as the model tracks it.
struct Task {
    /// What it waits for.
    waits: Waits,
    /// Its handle; taken once its outcome has been checked.
    handle: Option<JoinHandle<()>>,
    /// What its body returned: the bytes read (or 0 for the others), once it completed.
    result: Rc<Cell<Option<usize>>>,
    /// Aborted while its body had not completed.
    aborted: bool,
}

impl Task {
    /// Whether the body has completed.
    fn done(&self) -> bool {
        self.result.get().is_some()
    }
}

/// The model: a runtime, what lives on it, and what must be true of it.
struct Model {
    rt: Runtime,
    /// A socket pair that makes each [`turn`](Self::turn) go through the reactor.
    poke: (AsyncFd<UnixStream>, UnixStream),
    rng: util::Rng,
    helper: Helper,
    sockets: Vec<SharedSocket>,
    tasks: Vec<Task>,
    /// Timers made, polled once and kept (registered), for dropping later.
    sleeps: Vec<Pin<Box<Sleep>>>,
    /// Wakers of completed tasks: waking them must do nothing.
    stale: Vec<Waker>,
    /// The last steps, for the failure message.
    log: VecDeque<String>,
}

impl Model {
    fn new(seed: u64, helper: Helper) -> Self {
        let rt = Runtime::new().expect("runtime");
        let (a, b) = UnixStream::pair().expect("socket pair");
        a.set_nonblocking(true).expect("non-blocking");
        let poke = (rt.block_on(async { AsyncFd::new(a) }).expect("register"), b);
        Self {
            rt,
            poke,
            rng: util::Rng::new(seed),
            helper,
            sockets: Vec::new(),
            tasks: Vec::new(),
            sleeps: Vec::new(),
            stale: Vec::new(),
            log: VecDeque::new(),
        }
    }

    fn note(&mut self, what: String) {
        if self.log.len() == 30 {
            self.log.pop_front();
        }
        self.log.push_back(what);
    }

    /// One turn of the runtime: it runs what is ready and looks at the reactor at least
    /// once. The turn writes a byte to the poke socket and blocks on reading it back until
    /// the socket is drained, which only the reactor can report: it does not end before
    /// the reactor has seen the byte, whatever the runtime's policy for yields (a
    /// `block_on(yield_now())` looks at epoll once, with a zero timeout, only because a
    /// yield waits for that look).
    fn turn(&mut self) {
        let (fd, peer) = &mut self.poke;
        peer.write_all(b"!").expect("poke");
        self.rt.block_on(async {
            loop {
                let mut guard = fd
                    .readable()
                    .await
                    .expect("the poke socket belongs to this runtime");
                match guard.try_io(|mut s| s.read(&mut [0u8; 64])) {
                    Ok(read) => assert!(read.expect("read the poke") > 0),
                    Err(_would_block) => return,
                }
            }
        });
    }

    /// A random index below `n`, or `None` if `n` is zero.
    fn pick(&mut self, n: usize) -> Option<usize> {
        (n > 0).then(|| self.rng.below(n as u64) as usize)
    }

    /// Spawns `body`, whose output is recorded in the task's result.
    fn spawn_task(&mut self, waits: Waits, body: impl Future<Output = usize> + 'static) {
        let result = Rc::new(Cell::new(None));
        let out = result.clone();
        let handle = self.rt.spawn(async move { out.set(Some(body.await)) });
        self.tasks.push(Task {
            waits,
            handle: Some(handle),
            result,
            aborted: false,
        });
    }

    /// One random operation.
    fn step(&mut self) {
        match self.rng.below(100) {
            0..=5 => {
                let (a, b) = UnixStream::pair().unwrap();
                a.set_nonblocking(true).unwrap();
                // Registration needs the runtime to be the current one.
                let fd = self.rt.block_on(async { AsyncFd::new(a) }).unwrap();
                self.sockets.push(SharedSocket {
                    fd: Some(Rc::new(fd)),
                    peer: Some(b),
                    written: 0,
                    consumed: Rc::default(),
                });
                self.note(format!("new socket {}", self.sockets.len() - 1));
            }
            6..=19 => {
                let live: Vec<usize> = (0..self.sockets.len())
                    .filter(|&s| self.sockets[s].fd.is_some())
                    .collect();
                let Some(i) = self.pick(live.len()) else {
                    return;
                };
                let s = live[i];
                let fd = self.sockets[s].fd.clone().unwrap();
                let consumed = self.sockets[s].consumed.clone();
                self.spawn_task(Waits::Shared(s), async move {
                    let mut byte = [0u8];
                    let n = fd.read_with(|mut f| f.read(&mut byte)).await.unwrap();
                    consumed.set(consumed.get() + n);
                    n
                });
                self.note(format!("task {}: read socket {s}", self.tasks.len() - 1));
            }
            20..=33 => {
                let open: Vec<usize> = (0..self.sockets.len())
                    .filter(|&s| self.sockets[s].peer.is_some())
                    .collect();
                let Some(i) = self.pick(open.len()) else {
                    return;
                };
                let s = open[i];
                let socket = &mut self.sockets[s];
                socket.peer.as_mut().unwrap().write_all(&[s as u8]).unwrap();
                socket.written += 1;
                self.note(format!("write socket {s}"));
            }
            34..=36 => {
                let open: Vec<usize> = (0..self.sockets.len())
                    .filter(|&s| self.sockets[s].peer.is_some())
                    .collect();
                let Some(i) = self.pick(open.len()) else {
                    return;
                };
                let s = open[i];
                self.sockets[s].peer = None;
                self.note(format!("close peer of socket {s}"));
            }
            37..=39 => {
                let live: Vec<usize> = (0..self.sockets.len())
                    .filter(|&s| self.sockets[s].fd.is_some())
                    .collect();
                let Some(i) = self.pick(live.len()) else {
                    return;
                };
                let s = live[i];
                // The readers keep the registered end alive until they finish; closing the
                // peer is what lets them.
                self.sockets[s].fd = None;
                self.sockets[s].peer = None;
                self.note(format!("drop socket {s}"));
            }
            40..=45 => {
                let (a, b) = UnixStream::pair().unwrap();
                a.set_nonblocking(true).unwrap();
                self.spawn_task(
                    Waits::Owned {
                        peer: b,
                        written: 0,
                    },
                    async move {
                        let fd = AsyncFd::new(a).unwrap();
                        let mut byte = [0u8];
                        fd.read_with(|mut f| f.read(&mut byte)).await.unwrap()
                    },
                );
                self.note(format!("task {}: read own socket", self.tasks.len() - 1));
            }
            46..=50 => {
                let owned: Vec<usize> = (0..self.tasks.len())
                    .filter(|&t| matches!(self.tasks[t].waits, Waits::Owned { .. }))
                    .collect();
                let Some(i) = self.pick(owned.len()) else {
                    return;
                };
                let t = owned[i];
                let task = &mut self.tasks[t];
                let ended = task.done() || task.aborted;
                if let Waits::Owned { peer, written } = &mut task.waits {
                    match peer.write_all(b"x") {
                        Ok(()) => *written += 1,
                        // The task closed its end: it must have ended.
                        Err(e) => assert!(ended, "task {t}'s socket closed early: {e}"),
                    }
                }
                self.note(format!("write to task {t}'s socket"));
            }
            51..=56 => {
                let after = Duration::from_micros(self.rng.below(MAX_TIMER.as_micros() as u64));
                let deadline = Rc::new(Cell::new(None));
                let armed = deadline.clone();
                if self.rng.below(2) == 0 {
                    let at = Instant::now() + after;
                    deadline.set(Some((at, at)));
                    self.spawn_task(Waits::Deadline(deadline), async move {
                        sleep_until(at).await;
                        assert!(Instant::now() >= at, "a sleep ended early");
                        0
                    });
                } else {
                    // `timeout` starts counting at its first poll, so its deadline lies
                    // between `after` from just before that poll and `after` from just
                    // after it. The task checks the earlier bound (never early); the model
                    // counts the task due from the later one, which a preemption between
                    // the two clock reads may push well past the earlier.
                    self.spawn_task(Waits::Deadline(deadline), async move {
                        let earliest = Instant::now() + after;
                        let mut out = Box::pin(timeout(after, pending::<()>()));
                        let first = poll_fn(|cx| Poll::Ready(out.as_mut().poll(cx))).await;
                        armed.set(Some((earliest, Instant::now() + after)));
                        let out = match first {
                            Poll::Ready(out) => out,
                            Poll::Pending => out.await,
                        };
                        assert!(out.is_err(), "pending completed");
                        assert!(Instant::now() >= earliest, "a timeout fired early");
                        0
                    });
                }
                self.note(format!("task {}: timer {after:?}", self.tasks.len() - 1));
            }
            57..=59 => {
                let after = Duration::from_micros(self.rng.below(10_000));
                let mut nap = Box::pin(sleep(after));
                // Polled once inside the runtime, so its timer is registered.
                self.rt.block_on(poll_fn(|cx| {
                    let _ = nap.as_mut().poll(cx);
                    Poll::Ready(())
                }));
                self.sleeps.push(nap);
                self.note(format!("timer {after:?} made"));
            }
            60..=62 => {
                let Some(i) = self.pick(self.sleeps.len()) else {
                    return;
                };
                drop(self.sleeps.swap_remove(i));
                self.note("timer dropped".into());
            }
            63..=68 => {
                let signal = Signal::default();
                let wait = signal.wait();
                self.spawn_task(
                    Waits::Signal {
                        signal,
                        fired: false,
                    },
                    async move {
                        wait.await;
                        0
                    },
                );
                self.note(format!("task {}: wait signal", self.tasks.len() - 1));
            }
            69..=75 => {
                let unfired: Vec<usize> = (0..self.tasks.len())
                    .filter(|&t| matches!(self.tasks[t].waits, Waits::Signal { fired: false, .. }))
                    .collect();
                let Some(i) = self.pick(unfired.len()) else {
                    return;
                };
                let t = unfired[i];
                let from_here = self.rng.below(3) == 0;
                if let Waits::Signal { signal, fired } = &mut self.tasks[t].waits {
                    *fired = true;
                    let signal = signal.clone();
                    if from_here {
                        signal.fire();
                    } else {
                        self.helper.run(move || signal.fire());
                    }
                }
                self.note(format!(
                    "fire task {t}'s signal from {}",
                    if from_here { "here" } else { "the helper" }
                ));
            }
            76..=78 => {
                self.spawn_task(Waits::Yields, async {
                    for _ in 0..3 {
                        yield_now().await;
                    }
                    0
                });
                self.note(format!("task {}: yields", self.tasks.len() - 1));
            }
            79..=81 => {
                let waker = Rc::new(Cell::new(None));
                let polls = Rc::new(Cell::new(0));
                let (slot, count) = (waker.clone(), polls.clone());
                self.spawn_task(
                    Waits::Forever {
                        waker,
                        polls,
                        wakes: 0,
                    },
                    poll_fn(move |cx| {
                        count.set(count.get() + 1);
                        slot.set(Some(cx.waker().clone()));
                        Poll::Pending
                    }),
                );
                self.note(format!("task {}: forever", self.tasks.len() - 1));
            }
            82..=84 => {
                let forever: Vec<usize> = (0..self.tasks.len())
                    .filter(|&t| {
                        let task = &self.tasks[t];
                        let polled =
                            matches!(&task.waits, Waits::Forever { polls, .. } if polls.get() > 0);
                        polled && !task.aborted
                    })
                    .collect();
                let Some(i) = self.pick(forever.len()) else {
                    return;
                };
                let t = forever[i];
                let from_here = self.rng.below(2) == 0;
                if let Waits::Forever { waker, wakes, .. } = &mut self.tasks[t].waits {
                    let w = waker.take().expect("polled, so it left its waker");
                    waker.set(Some(w.clone()));
                    *wakes += 1;
                    if from_here {
                        w.wake();
                    } else {
                        self.helper.run(move || w.wake());
                    }
                }
                self.note(format!("wake forever task {t}"));
            }
            85..=87 => {
                let Some(i) = self.pick(self.stale.len()) else {
                    return;
                };
                let waker = self.stale[i].clone();
                if self.rng.below(2) == 0 {
                    waker.wake();
                } else {
                    self.helper.run(move || waker.wake());
                }
                self.note("wake a finished task".into());
            }
            88..=93 => {
                let live: Vec<usize> = (0..self.tasks.len())
                    .filter(|&t| self.tasks[t].handle.is_some() && !self.tasks[t].aborted)
                    .collect();
                let Some(i) = self.pick(live.len()) else {
                    return;
                };
                let t = live[i];
                let task = &mut self.tasks[t];
                task.handle.as_ref().unwrap().abort();
                let done = task.done();
                task.aborted = !done;
                self.note(format!("abort task {t} (done: {done})"));
            }
            _ => {
                self.turn();
                self.note("turn".into());
            }
        }
    }

    /// Whether task `t` must have completed by now: its condition held when the settling
    /// began (`now`).
    fn due(&self, t: usize, now: Instant) -> bool {
        let task = &self.tasks[t];
        if task.aborted {
            return false;
        }
        match &task.waits {
            Waits::Shared(s) => self.sockets[*s].ready(),
            Waits::Owned { written, .. } => *written > 0,
            Waits::Deadline(deadline) => deadline.get().is_some_and(|(_, latest)| latest <= now),
            Waits::Signal { fired, .. } => *fired,
            Waits::Yields => true,
            Waits::Forever { .. } => false,
        }
    }

    /// Runs turns until what is due has happened (at most [`SETTLE_TURNS`]), then checks
    /// every invariant.
    fn settle_and_check(&mut self) {
        self.helper.sync();
        let now = Instant::now();
        for turn in 0..SETTLE_TURNS {
            self.turn();
            let shared_done = self.sockets.iter().enumerate().all(|(s, socket)| {
                !socket.ready()
                    || !self.tasks.iter().any(|t| {
                        matches!(t.waits, Waits::Shared(x) if x == s) && !t.aborted && !t.done()
                    })
            });
            let due_done = (0..self.tasks.len()).all(|t| {
                matches!(self.tasks[t].waits, Waits::Shared(_))
                    || !self.due(t, now)
                    || self.tasks[t].done()
            });
            let forever_polled = self.tasks.iter().all(|t| match &t.waits {
                Waits::Forever { polls, wakes, .. } => t.aborted || polls.get() > *wakes,
                _ => true,
            });
            if turn > 0 && shared_done && due_done && forever_polled {
                break;
            }
        }
        self.check(now);
    }

    /// The invariants; see the module docs.
    fn check(&mut self, now: Instant) {
        // Shared sockets: no reader waits while there is something to read, and readers
        // took no more than was written.
        for (s, socket) in self.sockets.iter().enumerate() {
            let consumed = socket.consumed.get();
            assert!(
                consumed <= socket.written,
                "socket {s}: read more than written"
            );
            let waiting: Vec<usize> = (0..self.tasks.len())
                .filter(|&t| {
                    let task = &self.tasks[t];
                    matches!(task.waits, Waits::Shared(x) if x == s)
                        && !task.aborted
                        && !task.done()
                })
                .collect();
            assert!(
                !socket.ready() || waiting.is_empty(),
                "socket {s} has {} of {} bytes left (peer open: {}) and tasks {waiting:?} wait",
                socket.written - consumed,
                socket.written,
                socket.peer.is_some()
            );
        }
        for t in 0..self.tasks.len() {
            let due = self.due(t, now);
            let task = &mut self.tasks[t];
            match &task.waits {
                Waits::Shared(s) => {
                    if task.result.get() == Some(0) {
                        let socket = &self.sockets[*s];
                        assert!(
                            socket.peer.is_none() && socket.consumed.get() == socket.written,
                            "task {t} read end of file from socket {s}, which had data or an \
                             open peer"
                        );
                    }
                }
                Waits::Owned { written, .. } => {
                    if task.done() {
                        assert!(*written > 0, "task {t} read its own socket before a write");
                        assert_eq!(task.result.get(), Some(1));
                    }
                }
                Waits::Deadline(deadline) => {
                    assert!(
                        !task.done()
                            || deadline
                                .get()
                                .is_some_and(|(earliest, _)| earliest <= Instant::now()),
                        "task {t} early"
                    );
                }
                Waits::Signal { fired, .. } => {
                    assert!(
                        !task.done() || *fired,
                        "task {t} completed before its signal"
                    );
                }
                Waits::Yields => {}
                Waits::Forever { polls, wakes, .. } => {
                    let polls = polls.get();
                    assert!(!task.done(), "task {t} cannot complete");
                    assert!(
                        polls <= 1 + wakes,
                        "task {t} polled {polls} times for {wakes} wakes: a stray wake"
                    );
                    assert!(
                        task.aborted || polls == 1 + wakes,
                        "task {t} polled {polls} times for {wakes} wakes: a lost wake"
                    );
                }
            }
            if !matches!(task.waits, Waits::Shared(_)) && due {
                assert!(
                    task.done(),
                    "task {t} was due before the turns but has not completed"
                );
            }
            // Outcomes: a completed task's handle says Ok, an aborted one's "cancelled".
            let finished = task.aborted || task.done();
            if let Some(handle) = task.handle.as_mut() {
                if finished {
                    assert!(
                        handle.is_finished(),
                        "task {t} finished but its handle says not"
                    );
                    let outcome =
                        match Pin::new(handle).poll(&mut Context::from_waker(Waker::noop())) {
                            Poll::Ready(outcome) => outcome,
                            Poll::Pending => panic!("task {t}: finished handle pending"),
                        };
                    if task.aborted {
                        assert!(
                            outcome.as_ref().is_err_and(|e| e.is_cancelled()),
                            "aborted task {t}: {outcome:?}"
                        );
                    } else {
                        assert!(outcome.is_ok(), "task {t}: {outcome:?}");
                    }
                    task.handle = None;
                }
            }
        }
    }

    /// Keeps the wakers of some finished tasks, to wake them later.
    fn collect_stale(&mut self) {
        for task in &self.tasks {
            if let Waits::Forever { waker, .. } = &task.waits {
                if task.aborted && self.stale.len() < 64 {
                    if let Some(w) = waker.take() {
                        self.stale.push(w);
                    }
                }
            }
        }
    }
}

/// One seed: `STEPS` steps, each followed by the checks; then every deadline is let pass
/// and checked, and the runtime is dropped with whatever is still pending. Returns the
/// helper, for the next seed, and the number of tasks spawned.
fn run_seed(seed: u64, helper: Helper) -> (Helper, usize) {
    let mut model = Model::new(seed, helper);
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        for step in 0..STEPS {
            model.note(format!("-- step {step}"));
            model.step();
            model.settle_and_check();
            model.collect_stale();
        }
        thread::sleep(MAX_TIMER);
        model.settle_and_check();
    }));
    if let Err(panic) = outcome {
        eprintln!("wakeups fuzz: seed {seed} failed; its last steps:");
        for line in &model.log {
            eprintln!("    {line}");
        }
        eprintln!("replay it with: WAKEUPS_SEED={seed} cargo test --test wakeups_fuzz");
        resume_unwind(panic);
    }
    let spawned = model.tasks.len();
    let Model { rt, helper, .. } = model;
    drop(rt);
    (helper, spawned)
}

#[test]
fn fuzz_random_register_wake_deregister_drop_sequences() {
    let seeds: Vec<u64> = match std::env::var("WAKEUPS_SEED") {
        Ok(seed) => vec![seed.parse().expect("WAKEUPS_SEED is a number")],
        Err(_) => (1..=SEEDS).collect(),
    };
    let (runs, tasks) = util::watchdog(Duration::from_secs(120), move || {
        let mut helper = Helper::new();
        let (runs, mut tasks) = (seeds.len(), 0);
        for seed in seeds {
            let spawned;
            (helper, spawned) = run_seed(seed, helper);
            tasks += spawned;
        }
        (runs, tasks)
    });
    eprintln!(
        "{runs} seeds × {STEPS} steps: {tasks} tasks spawned, every invariant checked after \
         each step"
    );
}
