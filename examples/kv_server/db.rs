//! The key space: a hash map from keys to values, some of which expire.
//!
//! Expiry works as in Redis, in two ways at once:
//!
//! - **Lazily**: every entry with a time to live stores its deadline, and every access
//!   checks it. An expired key is removed when it is next touched, and behaves as missing.
//! - **Actively**: keys that expire but are never touched again would otherwise stay in
//!   memory for good. So a periodic sweep (the task `sweep_expired` in `main.rs`) examines
//!   keys that have a deadline, a small batch at a time, and removes those that have passed
//!   it; as long as more than a quarter of a batch had expired, there are probably many
//!   more, so it goes on.
//!
//! The keys that have a deadline are also listed in a vector, `expiring`, with their
//! deadlines, and each such entry knows its place in it, which keeps adding and removing
//! O(1) (`swap_remove`, then fix the index of the key that moved). Each batch of the sweep
//! is a run of consecutive keys of that vector from a random place. Random, because the
//! decision to go on rests on the share of expired keys in a batch, which must be the
//! share in the whole key space: the vector is in about the order the keys were written,
//! so a cursor walking it met runs of young keys, stopped the sweep there, cycle after
//! cycle, while older keys had long expired elsewhere (Redis 6 and later walk their table
//! with a cursor, but a hash table's order is random already). Consecutive, because a mass
//! expiry of two million keys is a question of cache misses: a run reads the vector in
//! order, finds each deadline there without touching the map, and meets keys in about
//! the order they were allocated; a random pick per key missed the cache at every step.

use std::collections::HashMap;
use std::mem;
use std::time::Instant;

use crate::hash::Seeds;
use crate::key::Key;
use crate::value::Value;

/// The most keys a map may hold for [`Db::shrink`] to rehash it into a smaller table.
const SHRINK_KEYS: usize = 4096;

/// The emptied tables that [`Db::shrink`] replaced, to be dropped on another thread.
///
/// Dropping them frees their memory, and a table of two million keys is 300 MB, which
/// glibc returns to the kernel (`munmap`) there and then: milliseconds that, on the
/// server's thread, every client would wait for. On another thread, this one goes on.
#[derive(Debug, Default)]
pub struct Garbage {
    /// The map's old table, if it was replaced.
    map: Option<HashMap<Key, Entry, Seeds>>,
    /// The old vector of expiring keys, if it was replaced.
    expiring: Option<Vec<Expiring>>,
}

/// A stored value, with its deadline if it has one.
#[derive(Debug)]
pub struct Entry {
    /// The value: bytes, as every Redis string; short ones inline (see `value.rs`).
    pub value: Value,
    /// When the entry expires, and where its key sits in [`Db::expiring`].
    expiry: Option<Expiry>,
}

/// The deadline of an entry.
#[derive(Debug, Clone, Copy)]
struct Expiry {
    /// When the entry stops existing (also in `expiring[slot]`, where the sweep reads it).
    at: Instant,
    /// The index of the entry's key in [`Db::expiring`].
    slot: usize,
}

/// A key with a deadline, as the sweep sees it.
#[derive(Debug)]
struct Expiring {
    /// The key's deadline: the same as its entry's, kept here so that examining a key
    /// costs no hash lookup, only the read of the next element of the vector.
    at: Instant,
    /// The key: a copy of the map's, or shared with it if long (see `key.rs`).
    key: Key,
}

impl Entry {
    /// Whether the entry has expired at `now`.
    fn is_expired(&self, now: Instant) -> bool {
        self.expiry.is_some_and(|e| e.at <= now)
    }

    /// When the entry expires, if it does.
    pub fn deadline(&self) -> Option<Instant> {
        self.expiry.map(|e| e.at)
    }
}

/// The key space.
#[derive(Debug)]
pub struct Db {
    /// Every key, live or expired but not yet removed. Hashed with a fast keyed hash
    /// rather than SipHash (see `hash.rs`).
    map: HashMap<Key, Entry, Seeds>,
    /// The keys that have a deadline, in no particular order. Invariant: for every `i`,
    /// `map[expiring[i].key]` exists, its `expiry.slot` is `i` and its `expiry.at` is
    /// `expiring[i].at`.
    expiring: Vec<Expiring>,
    /// The state of the sweep's random number generator (xorshift64; never 0).
    rng: u64,
}

impl Default for Db {
    fn default() -> Self {
        Self {
            map: HashMap::default(),
            expiring: Vec::new(),
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }
}

impl Db {
    /// The live entry at `key`. An expired one is removed here (lazy expiry).
    pub fn get(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.remove_if_expired(key);
        self.map.get_mut(key)
    }

    /// Whether `key` holds a live value.
    pub fn contains(&mut self, key: &[u8]) -> bool {
        self.get(key).is_some()
    }

    /// Stores `value` at `key`, with a deadline or none.
    ///
    /// The old value's allocation is reused when it is large enough, so overwriting a
    /// key (the common case in benchmarks and caches) allocates nothing. A new key costs
    /// two hash lookups (the one that finds it missing, and the insertion), whether it
    /// has a deadline or not: each lookup of a key space larger than the cache is a cache
    /// miss, and a flood of `SET ... PX` spends most of its time in them.
    pub fn set(&mut self, key: &[u8], value: &[u8], deadline: Option<Instant>) {
        let Some(entry) = self.map.get_mut(key) else {
            let key = Key::new(key);
            let expiry = deadline.map(|at| {
                let slot = self.expiring.len();
                self.expiring.push(Expiring {
                    at,
                    key: key.clone(),
                });
                Expiry { at, slot }
            });
            let value = Value::new(value);
            self.map.insert(key, Entry { value, expiry });
            return;
        };
        entry.value.set(value);
        match (entry.expiry, deadline) {
            (None, None) => {} // the common case: nothing to change in `expiring`
            (Some(Expiry { slot, .. }), Some(at)) => {
                entry.expiry = Some(Expiry { at, slot });
                self.expiring[slot].at = at;
            }
            _ => self.set_deadline(key, deadline),
        }
    }

    /// Stores `value` at `key` as it is, without a copy: for a large value, read into a
    /// buffer of its own that becomes the value (see `resp::BIG_ARG`).
    pub fn set_owned(&mut self, key: &[u8], value: Vec<u8>, deadline: Option<Instant>) {
        // The entry and its deadline the usual way, with an empty value (no allocation),
        // then the value put in place.
        self.set(key, b"", deadline);
        self.entry_mut(key).value = Value::from(value);
    }

    /// Gives the (existing) entry at `key` a new deadline, or none.
    pub fn set_deadline(&mut self, key: &[u8], deadline: Option<Instant>) {
        let Some((stored, entry)) = self.map.get_key_value(key) else {
            return;
        };
        match (entry.expiry, deadline) {
            (None, None) => {}
            (Some(old), None) => {
                self.entry_mut(key).expiry = None;
                self.unlist(old.slot);
            }
            (None, Some(at)) => {
                // The list gets the map's key: a copy if short, the same bytes if long.
                let stored = stored.clone();
                let slot = self.expiring.len();
                self.entry_mut(key).expiry = Some(Expiry { at, slot });
                self.expiring.push(Expiring { at, key: stored });
            }
            (Some(Expiry { slot, .. }), Some(at)) => {
                self.entry_mut(key).expiry = Some(Expiry { at, slot });
                self.expiring[slot].at = at;
            }
        }
    }

    /// Removes `key`. Returns whether it held a live value (an expired key is removed
    /// too, but counts as missing).
    pub fn remove(&mut self, key: &[u8]) -> bool {
        self.take(key)
            .is_some_and(|entry| entry.deadline().is_none_or(|at| at > Instant::now()))
    }

    /// Removes the entry at `key`, live or expired, and returns it.
    fn take(&mut self, key: &[u8]) -> Option<Entry> {
        let entry = self.map.remove(key)?;
        if let Some(expiry) = entry.expiry {
            self.unlist(expiry.slot);
        }
        Some(entry)
    }

    /// How many keys there are, counting expired keys not yet removed (as Redis's
    /// `DBSIZE` does).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Examines `batch` keys that have a deadline (fewer if fewer have one), consecutive
    /// in `expiring` from a random place, and removes those that have expired at `now`.
    /// Returns how many keys were examined and how many of them removed.
    ///
    /// A key that is not expired costs the read of one element of `expiring`; one that
    /// is costs a hash lookup to remove it, and another to fix the slot of the key that
    /// `swap_remove` moves into its place, unless the removed key was the last.
    pub fn sweep(&mut self, now: Instant, batch: usize) -> (usize, usize) {
        let batch = batch.min(self.expiring.len());
        if batch == 0 {
            return (0, 0);
        }
        let mut slot = self.random_below(self.expiring.len());
        let mut removed = 0;
        for _ in 0..batch {
            if slot >= self.expiring.len() {
                slot = 0;
            }
            if self.expiring[slot].at > now {
                slot += 1;
                continue;
            }
            // Expired. If the last key has expired too, that one goes first: removing
            // the last element moves no other, which saves a hash lookup, a third of the
            // cost of a removal during a mass expiry. Otherwise the last key moves into
            // this slot, which stays, so that the moved key is examined next.
            let last = self.expiring.len() - 1;
            let gone = if self.expiring[last].at <= now {
                last
            } else {
                slot
            };
            let key = self.unlist(gone);
            self.map.remove(&key);
            removed += 1;
        }
        (batch, removed)
    }

    /// A random number below `n` (which is not 0): xorshift64, then Lemire's
    /// multiply-shift instead of a division. Not for cryptography; uniform enough here.
    fn random_below(&mut self, n: usize) -> usize {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        ((u128::from(x) * n as u128) >> 64) as usize
    }

    /// Gives back the memory of a key space that shrank a lot (after a mass expiry, say):
    /// a hash map keeps its largest capacity otherwise. Returns the tables it replaced,
    /// empty, for the caller to free on another thread (see [`Garbage`]).
    ///
    /// Redis resizes its tables a few buckets at a time; the standard `HashMap` can only
    /// rehash all its keys at once, a random memory access each. So only when few keys
    /// are left next to the capacity: at most [`SHRINK_KEYS`], well under a millisecond.
    pub fn shrink(&mut self) -> Option<Garbage> {
        let mut garbage = Garbage::default();
        let len = self.map.len();
        if len <= SHRINK_KEYS && self.map.capacity() > 1024 && self.map.capacity() > 8 * len {
            let mut smaller = HashMap::with_capacity_and_hasher(2 * len, *self.map.hasher());
            smaller.extend(self.map.drain());
            garbage.map = Some(mem::replace(&mut self.map, smaller));
        }
        let len = self.expiring.len();
        if self.expiring.capacity() > 1024 && self.expiring.capacity() > 8 * len {
            let mut smaller = Vec::with_capacity(2 * len);
            smaller.append(&mut self.expiring);
            garbage.expiring = Some(mem::replace(&mut self.expiring, smaller));
        }
        (garbage.map.is_some() || garbage.expiring.is_some()).then_some(garbage)
    }

    /// Removes the entry at `key` if it has expired.
    fn remove_if_expired(&mut self, key: &[u8]) {
        // Only entries with a deadline read the clock.
        let expired = self
            .map
            .get(key)
            .is_some_and(|e| e.expiry.is_some() && e.is_expired(Instant::now()));
        if expired {
            self.remove(key);
        }
    }

    /// Removes `expiring[slot]` and returns its key, moving the last key into its place
    /// and telling that key's entry its new slot (the invariant on
    /// [`expiring`](Self::expiring)).
    fn unlist(&mut self, slot: usize) -> Key {
        let gone = self.expiring.swap_remove(slot);
        if let Some(moved) = self.expiring.get(slot) {
            let entry = self
                .map
                .get_mut(&moved.key)
                .expect("every key in `expiring` is in the map");
            if let Some(expiry) = &mut entry.expiry {
                expiry.slot = slot;
            }
        }
        gone.key
    }

    /// The entry at `key`, which the invariants say exists.
    fn entry_mut(&mut self, key: &[u8]) -> &mut Entry {
        self.map
            .get_mut(key)
            .expect("every key in `expiring` or just looked up is in the map")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Checks the invariant on `expiring`.
    fn check(db: &Db) {
        for (i, listed) in db.expiring.iter().enumerate() {
            let expiry = db.map[&listed.key].expiry.expect("a deadline");
            assert_eq!((expiry.slot, expiry.at), (i, listed.at));
        }
        let with_deadline = db.map.values().filter(|e| e.expiry.is_some()).count();
        assert_eq!(with_deadline, db.expiring.len());
    }

    #[test]
    fn set_get_remove() {
        let mut db = Db::default();
        db.set(b"k", b"v", None);
        assert_eq!(
            db.get(b"k").map(|e| e.value.as_bytes().to_vec()),
            Some(b"v".to_vec())
        );
        db.set(b"k", b"longer value", None);
        assert_eq!(db.get(b"k").map(|e| e.value.as_bytes().len()), Some(12));
        assert!(db.remove(b"k"));
        assert!(!db.remove(b"k"));
        assert!(db.get(b"k").is_none());
    }

    #[test]
    fn expired_keys_are_missing_and_removed_on_access() {
        let mut db = Db::default();
        let past = Instant::now() - Duration::from_millis(1);
        db.set(b"gone", b"v", Some(past));
        db.set(
            b"kept",
            b"v",
            Some(Instant::now() + Duration::from_secs(60)),
        );
        check(&db);
        assert_eq!(db.len(), 2);
        assert!(!db.contains(b"gone"));
        assert_eq!(db.len(), 1);
        assert!(db.contains(b"kept"));
        check(&db);
    }

    #[test]
    fn removing_an_expired_key_does_not_count() {
        let mut db = Db::default();
        db.set(b"k", b"v", Some(Instant::now() - Duration::from_millis(1)));
        assert!(!db.remove(b"k"));
        assert_eq!(db.len(), 0);
        check(&db);
    }

    #[test]
    fn deadlines_can_change_and_go() {
        let mut db = Db::default();
        let later = Instant::now() + Duration::from_secs(60);
        for key in [&b"a"[..], b"b", b"c"] {
            db.set(key, b"v", Some(later));
        }
        db.set(b"a", b"v", None); // a plain SET clears the deadline
        db.set_deadline(b"b", Some(later + Duration::from_secs(1)));
        check(&db);
        assert_eq!(db.expiring.len(), 2);
        assert_eq!(db.get(b"a").and_then(|e| e.deadline()), None);
        assert!(db.remove(b"c"));
        check(&db);
        assert_eq!(db.expiring.len(), 1);
    }

    #[test]
    fn sweep_removes_expired_keys_in_batches() {
        let mut db = Db::default();
        let now = Instant::now();
        for i in 0..100u32 {
            // Every other key has expired; the rest expire in a minute or never.
            let deadline = match i % 4 {
                0 | 2 => Some(now - Duration::from_millis(1)),
                1 => Some(now + Duration::from_secs(60)),
                _ => None,
            };
            db.set(&i.to_be_bytes(), b"v", deadline);
        }
        assert_eq!(db.expiring.len(), 75);
        // Runs of 10 from random places find every expired key within a bounded number
        // of rounds.
        let mut removed = 0;
        for _ in 0..200 {
            let (examined, gone) = db.sweep(now, 10);
            assert!(examined <= 10);
            removed += gone;
            check(&db);
        }
        assert_eq!(removed, 50);
        assert_eq!(db.len(), 50);
        assert_eq!(db.expiring.len(), 25);
        assert_eq!(db.sweep(now, 100), (25, 0));
    }

    #[test]
    fn a_mass_expiry_is_swept_whole() {
        // Every key expired: removals take the last key first (nothing moves); some live
        // keys in the middle must survive, with the invariants intact.
        let mut db = Db::default();
        let now = Instant::now();
        for i in 0..1000u32 {
            let deadline = if i % 100 == 50 {
                now + Duration::from_secs(60)
            } else {
                now - Duration::from_millis(1)
            };
            db.set(&i.to_be_bytes(), b"v", Some(deadline));
        }
        let mut rounds = 0;
        while db.len() > 10 && rounds < 1000 {
            db.sweep(now, 20);
            rounds += 1;
        }
        check(&db);
        assert_eq!(db.len(), 10);
        assert!(db.contains(&50u32.to_be_bytes()));
    }

    #[test]
    fn long_keys_are_shared_with_the_expiry_list_and_swept() {
        let mut db = Db::default();
        let now = Instant::now();
        let key = |i: u32| format!("a-key-longer-than-inline-{i:08}").into_bytes();
        for i in 0..300u32 {
            let deadline = if i % 3 == 0 {
                now + Duration::from_secs(60)
            } else {
                now - Duration::from_millis(1)
            };
            db.set(&key(i), b"v", Some(deadline));
        }
        check(&db);
        let listed = &db.expiring[0].key;
        let (stored, _) = db.map.get_key_value(listed.as_bytes()).expect("listed");
        assert!(matches!(listed, Key::Shared(_)));
        assert_eq!(listed.as_bytes().as_ptr(), stored.as_bytes().as_ptr());
        let mut rounds = 0;
        while db.len() > 100 && rounds < 1000 {
            db.sweep(now, 20);
            rounds += 1;
        }
        check(&db);
        assert_eq!(db.len(), 100);
        assert!(db.contains(&key(0)) && !db.contains(&key(1)));
    }

    #[test]
    fn shrink_hands_back_the_old_tables() {
        fn sendable<T: Send>(_: &T) {}
        let mut db = Db::default();
        let now = Instant::now();
        for i in 0..20_000u32 {
            db.set(&i.to_be_bytes(), b"v", Some(now - Duration::from_millis(1)));
        }
        db.set(b"kept", b"v", Some(now + Duration::from_secs(60)));
        while db.len() > 1 {
            db.sweep(now, 1000);
        }
        let (map, expiring) = (db.map.capacity(), db.expiring.capacity());
        let garbage = db
            .shrink()
            .expect("a key space that shrank this much is shrunk");
        sendable(&garbage);
        // (A table's capacity counts its deleted slots back once it is emptied.)
        assert!(
            garbage
                .map
                .as_ref()
                .is_some_and(|old| old.capacity() >= map)
        );
        assert_eq!(garbage.expiring.as_ref().map(Vec::capacity), Some(expiring));
        assert!(db.map.capacity() < 64 && db.expiring.capacity() < 64);
        check(&db);
        assert!(db.contains(b"kept"));
        assert!(db.shrink().is_none(), "nothing more to give back");
    }

    #[test]
    fn an_owned_value_is_stored_without_a_copy() {
        let mut db = Db::default();
        let value = vec![7u8; 100_000];
        let at = value.as_ptr();
        db.set_owned(b"k", value, Some(Instant::now() + Duration::from_secs(60)));
        let entry = db.get(b"k").expect("stored");
        assert_eq!(entry.value.as_bytes().as_ptr(), at);
        assert!(entry.deadline().is_some());
        check(&db);
    }
}
