//! The tasks waiting on one descriptor, in each direction, and the tickets that let each
//! waiting future take its waker back.
//!
//! Almost always one task waits on a descriptor, and in one direction at a time: the task
//! that owns the socket, reading, or writing when the send buffer is full. But an I/O
//! object used through `&self` can be shared (two tasks accepting on one listener,
//! several tasks receiving on one UDP socket), a split stream has a task reading and
//! another writing, and then every waiting task must be woken, or one of them sleeps
//! forever.
//!
//! A wait can also be abandoned: the future is dropped because a `timeout` fired or a
//! `select` took another branch. Its waker must leave with it. Kept until the next event
//! on the descriptor, which on an idle socket may never come, it would keep the task's
//! header alive, and a loop of timed-out receives on a shared socket would pile up one
//! waker per try, without bound. So each waiting future owns an *entry*, named by its
//! [`Ticket`], and gives it back when dropped (as async-io's `Ready` future removes its
//! waker from the source's slab, and tokio unlinks its waiter from an intrusive list):
//!
//! ```text
//!   future polled, nothing ready ──▶ register(dir, ticket): first time, claim an entry;
//!                                   then store the waker there (cloned only if the
//!                                   entry does not hold one that wakes the same task)
//!   event                        ──▶ wake(dir): take every waker waiting in dir out and
//!                                   wake it; the entries stay claimed, empty, for the
//!                                   next wait
//!   future dropped               ──▶ release(ticket): the entry and its waker go
//! ```
//!
//! Two futures of one task (the branches of a `select`) store equal wakers, each in its
//! own entry: dropping one leaves the other's in place.
//!
//! The poll methods (`AsyncFd::poll_read_with` and the `futures-io` traits) have no future
//! to own an entry, so they share one fixed *poll slot* per direction, whose waker each
//! call replaces, as tokio's `poll_read_ready` keeps only the last waker. That bounds them
//! to one entry per direction, however many tasks call them.
//!
//! Every registered descriptor has these, so their size is most of what an idle
//! connection costs the reactor. The common case, one waiter, lives inline and allocates
//! nothing: one `Cell` (no borrow flag: a waker is taken out, looked at and put back)
//! holds the waker of the first future to wait, or a poll slot's, in either direction,
//! with a byte that says whose and which. Everything else goes to a boxed overflow that
//! exists only while needed (8 bytes while it does not): 32 bytes in all. A second inline
//! entry, for the other direction, would cost 16 bytes of every descriptor, and the
//! descriptor's state a 16-byte larger malloc chunk, to spare an allocation to the rare
//! socket with a reader and a writer waiting at once.

use std::cell::Cell;
use std::task::Waker;

use super::readiness::Direction;

/// A waiting future's claim on an entry of its descriptor's [`Waiters`]. A future's
/// ticket starts out holding nothing, claims an entry at its first wait, and must be given
/// back with [`Ticket::release`] when the future is dropped. A ticket waits in one
/// direction only, the one of its first wait.
///
/// The direction is not stored for the waits: each caller passes it, as a constant, so
/// that the readiness mask it selects is folded into the code of every read and write.
#[derive(Debug)]
pub(crate) struct Ticket {
    /// Which entry the ticket holds.
    holds: Holds,
    /// With [`Holds::Overflow`], the entry's index in the overflow; otherwise unused.
    /// (Kept apart from `holds` rather than as its payload, so that a ticket takes 8
    /// bytes, not 12, in every pending future.)
    index: u32,
}

/// Which entry a [`Ticket`] holds.
///
/// `repr(u8)` gives it an explicit tag byte: left to itself, the compiler hides the tag
/// in the direction's unused values, and every release, in every I/O future's drop, pays
/// a few instructions to decode it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Holds {
    /// No entry yet: the future has not waited.
    Nothing,
    /// The poll slot, shared by the poll methods. Never given back.
    PollSlot,
    /// The inline entry, waiting in the direction given.
    Inline(Direction),
    /// An entry of the overflow (which records its direction).
    Overflow,
}

impl Ticket {
    /// The ticket of a future that has not waited yet.
    pub(crate) const fn new() -> Self {
        Self {
            holds: Holds::Nothing,
            index: 0,
        }
    }

    /// The ticket of the poll methods: each direction's one shared poll slot.
    pub(crate) const fn poll_slot() -> Self {
        Self {
            holds: Holds::PollSlot,
            index: 0,
        }
    }

    /// Gives back the entry the ticket holds in `waiters()`, dropping its waker if it
    /// still has one. Called when the waiting future is dropped; a ticket that holds
    /// nothing, or the poll slot, has nothing to give back.
    ///
    /// `waiters` is called only if there is an entry to give back. The ticket is in the
    /// future, the waiters two pointers away in the descriptor's state: looking at the
    /// ticket first lets a future that never waited (a write with room in the send
    /// buffer) drop in one compare, without loading them; 3 instructions per echo request
    /// (callgrind).
    #[inline]
    pub(crate) fn release<'w>(&mut self, waiters: impl FnOnce() -> &'w Waiters) {
        match self.holds {
            Holds::Nothing | Holds::PollSlot => {}
            Holds::Inline(_) => {
                let waiters = waiters();
                self.holds = Holds::Nothing;
                waiters.owner.set(Owner::Free);
                let waker = waiters.inline.take();
                // Usually the waker was taken by the wake that ended the wait, and there is
                // no overflow: then that is all.
                if waker.is_some() || waiters.overflowing.get() {
                    waiters.release_inline(waker);
                }
            }
            Holds::Overflow => waiters().release_overflow(self),
        }
    }
}

/// Who the inline entry belongs to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Owner {
    /// Nobody: the entry is empty, and the next future to wait takes it.
    Free,
    /// A direction's poll slot. Set only while a waker is stored: once woken, the entry
    /// is free.
    PollSlot,
    /// A future's ticket. Stays so, even once its waker has been woken and taken, until
    /// the ticket is released: the future may wait again.
    Future,
}

/// The wakers of the tasks waiting on one descriptor, in both directions.
///
/// Invariant: a direction's poll slot is in one place at most, inline or in the
/// overflow, so that it holds one waker.
pub(crate) struct Waiters {
    /// The inline entry.
    inline: Cell<Option<Waker>>,
    /// Who the inline entry belongs to.
    owner: Cell<Owner>,
    /// The direction its owner waits in; stale while it is free. (Apart from `owner`
    /// rather than in it: a wake compares it alone, with no tag to decode.)
    dir: Cell<Direction>,
    /// Further entries, for both directions; `None` until a second waiter comes.
    overflow: Cell<Option<Box<Overflow>>>,
    /// Whether `overflow` is `Some`: a `Cell<Option<Box<_>>>` can only be looked into by
    /// taking the box out and putting it back, two stores on every wake and release for
    /// an overflow that almost never exists. This flag, in what would be padding, is one
    /// load.
    overflowing: Cell<bool>,
}

impl Default for Waiters {
    fn default() -> Self {
        Self {
            inline: Cell::new(None),
            owner: Cell::new(Owner::Free),
            dir: Cell::new(Direction::Read),
            overflow: Cell::new(None),
            overflowing: Cell::new(false),
        }
    }
}

// `register`, `wake` and `release` run for every read that waits and every event, so they
// are inlined, with the rare paths (more than one waiter) moved out into `#[cold]`
// functions to keep them small enough to inline.
impl Waiters {
    /// Stores `waker` in the entry `ticket` holds for a wait in `dir`, claiming one first
    /// if it holds none: the inline entry if free, else one in the overflow.
    ///
    /// Forced inline: left to itself, the compiler made it a call, 14 instructions more
    /// per echo request at 50 connections (callgrind).
    #[inline(always)]
    pub(crate) fn register(&self, dir: Direction, ticket: &mut Ticket, waker: &Waker) {
        let owner = self.owner.get();
        // The common cases first, as plain branches: a future waiting again in its inline
        // entry, a future's first wait finding the inline entry free, a poll method whose
        // slot is inline, or is nowhere while nothing overflows (else it may be in the
        // overflow: the cold path looks).
        let inline = match ticket.holds {
            Holds::Inline(held) => {
                debug_assert_eq!(held, dir, "a ticket waits in one direction");
                true
            }
            Holds::Nothing if owner == Owner::Free => {
                self.owner.set(Owner::Future);
                self.dir.set(dir);
                ticket.holds = Holds::Inline(dir);
                true
            }
            Holds::PollSlot
                if (owner == Owner::PollSlot && self.dir.get() == dir)
                    || (owner == Owner::Free && !self.overflowing.get()) =>
            {
                self.owner.set(Owner::PollSlot);
                self.dir.set(dir);
                true
            }
            _ => false,
        };
        if inline {
            store(&self.inline, waker);
        } else {
            self.register_overflow(dir, ticket, waker);
        }
    }

    /// Wakes every task waiting in `dir`, taking their wakers out: each must wait again to
    /// be woken again. The entries stay with their tickets.
    ///
    /// Every waker is taken out before any is woken, so nothing here is borrowed, and
    /// every entry is consistent, while a waker runs (it may re-enter: wait again, drop an
    /// I/O object).
    #[inline]
    pub(crate) fn wake(&self, dir: Direction) {
        // A free entry holds no waker: it needs no test of its own.
        let first = if self.dir.get() == dir {
            if self.owner.get() == Owner::PollSlot {
                self.owner.set(Owner::Free);
            }
            self.inline.take()
        } else {
            None
        };
        if self.overflowing.get() {
            return self.wake_with_overflow(first, dir);
        }
        if let Some(first) = first {
            first.wake();
        }
    }

    /// The rare part of [`register`](Self::register): a future that finds the inline
    /// entry taken or holds an overflow entry, and a poll method whose slot is not inline.
    #[cold]
    fn register_overflow(&self, dir: Direction, ticket: &mut Ticket, waker: &Waker) {
        let mut overflow = self.take_overflow().unwrap_or_default();
        let replaced = match ticket.holds {
            Holds::PollSlot if overflow.poll[dir as usize].is_some() => {
                replace(&mut overflow.poll[dir as usize], waker)
            }
            Holds::PollSlot if self.owner.get() == Owner::Free => {
                self.owner.set(Owner::PollSlot);
                self.dir.set(dir);
                let replaced = self.inline.replace(Some(waker.clone()));
                debug_assert!(replaced.is_none(), "a free entry holds no waker");
                replaced
            }
            Holds::PollSlot => replace(&mut overflow.poll[dir as usize], waker),
            Holds::Overflow => {
                let entry = overflow.entries[ticket.index as usize]
                    .as_mut()
                    .expect("an entry lives until its ticket gives it back");
                replace(&mut entry.waker, waker)
            }
            Holds::Nothing | Holds::Inline(_) => {
                ticket.index = overflow.insert(dir, waker.clone());
                ticket.holds = Holds::Overflow;
                None
            }
        };
        self.keep(overflow);
        drop(replaced);
    }

    /// The rare part of [`wake`](Self::wake): takes the overflow's wakers for `dir` out,
    /// puts the overflow back in place, then wakes them all, `first` (the inline entry's
    /// waker, already taken out) first.
    #[cold]
    fn wake_with_overflow(&self, first: Option<Waker>, dir: Direction) {
        let mut wakers: Vec<Waker> = first.into_iter().collect();
        if let Some(mut overflow) = self.take_overflow() {
            wakers.extend(overflow.poll[dir as usize].take());
            let waiting = overflow.entries.iter_mut().flatten();
            wakers.extend(
                waiting
                    .filter(|entry| entry.dir == dir)
                    .filter_map(|entry| entry.waker.take()),
            );
            self.keep(overflow);
        }
        wakers.into_iter().for_each(Waker::wake);
    }

    /// The rare part of [`release`](Self::release) for the inline entry, now free: drops
    /// the waker a cancelled wait left, and if a poll method waits in the overflow (it
    /// called while the inline entry was taken), brings its waker inline, so that the
    /// overflow can go.
    #[cold]
    fn release_inline(&self, waker: Option<Waker>) {
        if let Some(mut overflow) = self.take_overflow() {
            let waiting = [Direction::Read, Direction::Write]
                .into_iter()
                .find(|&dir| overflow.poll[dir as usize].is_some());
            if let Some(dir) = waiting {
                self.inline.set(overflow.poll[dir as usize].take());
                self.owner.set(Owner::PollSlot);
                self.dir.set(dir);
            }
            self.keep(overflow);
        }
        // Dropped last, once every cell is consistent: a waker's drop may run code.
        drop(waker);
    }

    /// The rare part of [`release`](Self::release): gives back an overflow entry.
    #[cold]
    fn release_overflow(&self, ticket: &mut Ticket) {
        ticket.holds = Holds::Nothing;
        let Some(mut overflow) = self.take_overflow() else {
            return;
        };
        let waker = overflow.remove(ticket.index);
        self.keep(overflow);
        drop(waker);
    }

    /// Puts `overflow` back in place, unless it holds nothing any more: then it is freed,
    /// and the next waiter that needs it allocates it anew.
    fn keep(&self, overflow: Box<Overflow>) {
        if overflow.len > 0 || overflow.poll.iter().any(Option::is_some) {
            self.overflow.set(Some(overflow));
            self.overflowing.set(true);
        }
    }

    /// Takes the overflow out of its cell, to change it; [`keep`](Self::keep) puts it back.
    fn take_overflow(&self) -> Option<Box<Overflow>> {
        self.overflowing.set(false);
        self.overflow.take()
    }
}

/// Stores `waker` in `slot`, unless the waker there already wakes the same task (a task
/// that waits in a loop, or is polled again): that saves the clone, an atomic increment.
#[inline]
fn store(slot: &Cell<Option<Waker>>, waker: &Waker) {
    match slot.take() {
        Some(stored) if stored.will_wake(waker) => slot.set(Some(stored)),
        replaced => {
            slot.set(Some(waker.clone()));
            // Dropped once the slot is set again: a waker's drop may run code.
            drop(replaced);
        }
    }
}

/// [`store`] for a slot of the overflow, which is not in a `Cell` (the overflow is taken
/// out while it is changed): returns the replaced waker, for the caller to drop once the
/// overflow is back in place.
fn replace(slot: &mut Option<Waker>, waker: &Waker) -> Option<Waker> {
    match slot {
        Some(stored) if stored.will_wake(waker) => None,
        _ => slot.replace(waker.clone()),
    }
}

/// The waiters that do not fit inline: the entries of futures that found the inline
/// entry taken, and the poll slot of a direction while the inline entry is another's.
///
/// Invariant: an entry stays in `entries` until the ticket that holds it gives it back,
/// and the overflow is freed only when no ticket holds an entry in it (`len == 0`) and no
/// poll slot is stored here; so a ticket's index always finds its entry.
#[derive(Default)]
struct Overflow {
    /// Each direction's poll slot, while a future holds the inline entry.
    poll: [Option<Waker>; 2],
    /// Futures' entries, by ticket index; `None` for a given-back entry, whose index is
    /// in `free`.
    entries: Vec<Option<Entry>>,
    /// Indices of given-back entries, reused first.
    free: Vec<u32>,
    /// Entries held by tickets.
    len: usize,
}

/// One future's entry in the overflow.
struct Entry {
    /// The direction it waits in.
    dir: Direction,
    /// Its waker, until woken.
    waker: Option<Waker>,
}

impl Overflow {
    /// Adds an entry for a future waiting in `dir` with `waker`; returns its index.
    fn insert(&mut self, dir: Direction, waker: Waker) -> u32 {
        let entry = Some(Entry {
            dir,
            waker: Some(waker),
        });
        self.len += 1;
        match self.free.pop() {
            Some(index) => {
                self.entries[index as usize] = entry;
                index
            }
            None => {
                self.entries.push(entry);
                u32::try_from(self.entries.len() - 1).expect("fewer than 2^32 waiting futures")
            }
        }
    }

    /// Removes entry `index`, returning its waker if it still has one.
    fn remove(&mut self, index: u32) -> Option<Waker> {
        let entry = self.entries.get_mut(index as usize)?.take()?;
        self.free.push(index);
        self.len -= 1;
        entry.waker
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// A waker that counts its wakes.
    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A waker for `count`; the test holds no copy of it, so `Arc::strong_count(count)`
    /// is 1 plus the copies the waiters keep.
    fn waker(count: &Arc<Count>) -> Waker {
        Waker::from(count.clone())
    }

    #[test]
    fn a_released_ticket_takes_its_waker_along() {
        let waiters = Waiters::default();
        let count = Arc::new(Count::default());
        // Inline, then two more in the overflow.
        let mut tickets: Vec<_> = (0..3).map(|_| Ticket::new()).collect();
        for ticket in &mut tickets {
            waiters.register(Direction::Read, ticket, &waker(&count));
        }
        assert_eq!(Arc::strong_count(&count), 4);
        for ticket in &mut tickets {
            ticket.release(|| &waiters);
        }
        assert_eq!(Arc::strong_count(&count), 1);
        assert!(
            !waiters.overflowing.get() && waiters.overflow.take().is_none(),
            "an empty overflow is freed"
        );
    }

    #[test]
    fn wake_empties_entries_that_stay_claimed() {
        let waiters = Waiters::default();
        let count = Arc::new(Count::default());
        let (mut a, mut b) = (Ticket::new(), Ticket::new());
        let mut writer = Ticket::new();
        waiters.register(Direction::Read, &mut a, &waker(&count));
        waiters.register(Direction::Read, &mut b, &waker(&count));
        waiters.register(Direction::Write, &mut writer, &waker(&count));
        waiters.wake(Direction::Read);
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            2,
            "both readers, not the writer"
        );
        // Woken entries stay claimed: a third future goes to the overflow, and the first
        // two wait again in their own entries.
        let mut c = Ticket::new();
        waiters.register(Direction::Read, &mut c, &waker(&count));
        assert_eq!(c.holds, Holds::Overflow);
        waiters.register(Direction::Read, &mut a, &waker(&count));
        assert_eq!(a.holds, Holds::Inline(Direction::Read));
        for ticket in [&mut a, &mut b, &mut c, &mut writer] {
            ticket.release(|| &waiters);
        }
        assert_eq!(Arc::strong_count(&count), 1);
    }

    #[test]
    fn a_reader_and_a_writer_are_woken_each_in_its_own_direction() {
        let waiters = Waiters::default();
        let (reader, writer) = (Arc::new(Count::default()), Arc::new(Count::default()));
        let (mut read, mut write) = (Ticket::new(), Ticket::new());
        waiters.register(Direction::Read, &mut read, &waker(&reader));
        waiters.register(Direction::Write, &mut write, &waker(&writer));
        assert_eq!(read.holds, Holds::Inline(Direction::Read));
        assert_eq!(write.holds, Holds::Overflow, "the second waiter overflows");
        waiters.wake(Direction::Write);
        assert_eq!(
            (
                reader.0.load(Ordering::SeqCst),
                writer.0.load(Ordering::SeqCst)
            ),
            (0, 1)
        );
        waiters.wake(Direction::Read);
        assert_eq!(
            (
                reader.0.load(Ordering::SeqCst),
                writer.0.load(Ordering::SeqCst)
            ),
            (1, 1)
        );
        // The writer waits again, then leaves: the overflow goes with its last entry.
        waiters.register(Direction::Write, &mut write, &waker(&writer));
        write.release(|| &waiters);
        assert_eq!(Arc::strong_count(&writer), 1);
        assert!(!waiters.overflowing.get(), "an empty overflow is freed");
        // The reader's entry stays claimed until its ticket goes.
        waiters.register(Direction::Read, &mut read, &waker(&reader));
        read.release(|| &waiters);
        assert_eq!(Arc::strong_count(&reader), 1);
        assert_eq!(waiters.owner.get(), Owner::Free);
    }

    #[test]
    fn poll_slots_of_both_directions_keep_one_waker_each() {
        let waiters = Waiters::default();
        let (reads, writes) = (Arc::new(Count::default()), Arc::new(Count::default()));
        for _ in 0..3 {
            waiters.register(Direction::Read, &mut Ticket::poll_slot(), &waker(&reads));
            waiters.register(Direction::Write, &mut Ticket::poll_slot(), &waker(&writes));
        }
        assert_eq!(
            (waiters.owner.get(), waiters.dir.get()),
            (Owner::PollSlot, Direction::Read)
        );
        assert_eq!(
            (Arc::strong_count(&reads), Arc::strong_count(&writes)),
            (2, 2)
        );
        // The read slot's waker is woken and the inline entry freed; the write slot stays
        // in the overflow, and a new read poll goes inline without a second copy.
        waiters.wake(Direction::Read);
        waiters.register(Direction::Write, &mut Ticket::poll_slot(), &waker(&writes));
        waiters.register(Direction::Read, &mut Ticket::poll_slot(), &waker(&reads));
        assert_eq!(
            (Arc::strong_count(&reads), Arc::strong_count(&writes)),
            (2, 2)
        );
        waiters.wake(Direction::Write);
        waiters.wake(Direction::Read);
        assert_eq!(
            (
                reads.0.load(Ordering::SeqCst),
                writes.0.load(Ordering::SeqCst)
            ),
            (2, 1)
        );
        assert_eq!(
            (Arc::strong_count(&reads), Arc::strong_count(&writes)),
            (1, 1)
        );
        assert!(!waiters.overflowing.get(), "nothing is left to overflow");
    }

    #[test]
    fn the_poll_slot_keeps_one_waker_wherever_it_lives() {
        let waiters = Waiters::default();
        let future_count = Arc::new(Count::default());
        let mut future = Ticket::new();
        waiters.register(Direction::Read, &mut future, &waker(&future_count)); // takes the inline entry
        let polls: Vec<_> = (0..3).map(|_| Arc::new(Count::default())).collect();
        for count in &polls {
            waiters.register(Direction::Read, &mut Ticket::poll_slot(), &waker(count));
        }
        let held: Vec<_> = polls.iter().map(Arc::strong_count).collect();
        assert_eq!(held, [1, 1, 2], "only the last poll's waker is held");
        // The future leaves: the poll slot moves inline, and is still one entry.
        future.release(|| &waiters);
        assert_eq!(Arc::strong_count(&future_count), 1);
        waiters.register(Direction::Read, &mut Ticket::poll_slot(), &waker(&polls[2]));
        assert_eq!(Arc::strong_count(&polls[2]), 2);
        assert!(
            !waiters.overflowing.get() && waiters.overflow.take().is_none(),
            "the poll slot left the overflow"
        );
        waiters.wake(Direction::Read);
        assert_eq!(polls[2].0.load(Ordering::SeqCst), 1);
        assert_eq!(Arc::strong_count(&polls[2]), 1, "a woken waker is not kept");
    }
}
