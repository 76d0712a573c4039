//! A key: bytes, kept inside the map's entry (and the expiry list's) when short, in one
//! shared allocation otherwise.
//!
//! A key with a deadline is held twice, by the map and by the list of expiring keys
//! (`db.rs`). A long key is shared between the two, one allocation with a reference
//! count: an `Arc`, though the key space lives on one thread, because the tables of a key
//! space that shrank are freed on another (`Db::shrink`), and a type that holds an `Rc`
//! cannot cross threads, even emptied. A short one, as most keys are (`user:1000`,
//! `session:5f3a...`), is simply copied into both: no allocation at all. That saves the
//! allocator's overhead and a cache miss per key, and it matters most when keys go by the
//! million. A mass expiry then frees nothing per key: with an allocation per key, two
//! million expired keys left two million small free chunks, which glibc's allocator keeps
//! in its "fast bins" without merging them, until the next large allocation merges them
//! all at once, for milliseconds, with every client waiting.

use std::borrow::Borrow;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::short::Short;

/// The longest key stored inline: as many bytes as fit beside the length and the variant's
/// tag in 24 bytes, 8 more than the `Shared` variant (an `Arc<[u8]>`) needs.
pub const INLINE: usize = 22;

/// A key; see the module documentation.
#[derive(Debug, Clone)]
pub enum Key {
    /// A short key.
    Inline(Short<INLINE>),
    /// A longer key, shared by the map and the expiry list.
    Shared(Arc<[u8]>),
}

impl Key {
    /// A copy of `bytes`: inline if short enough.
    pub fn new(bytes: &[u8]) -> Self {
        match Short::new(bytes) {
            Some(short) => Key::Inline(short),
            None => Key::Shared(bytes.into()),
        }
    }

    /// The key's bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Key::Inline(short) => short.as_bytes(),
            Key::Shared(bytes) => bytes,
        }
    }
}

// A key is looked up by `&[u8]` (the request's argument), so it must hash and compare as
// its bytes do: `Borrow` promises the map exactly that.

impl Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn short_keys_are_inline_and_long_ones_shared() {
        assert_eq!(size_of::<Key>(), 24);
        let short = Key::new(&[7; INLINE]);
        assert!(matches!(short, Key::Inline(_)));
        assert_eq!(short.as_bytes(), &[7; INLINE]);
        let long = Key::new(&[7; INLINE + 1]);
        assert!(matches!(&long, Key::Shared(bytes) if bytes.len() == INLINE + 1));
        // A clone of a long key shares its bytes.
        let copy = long.clone();
        assert_eq!(copy.as_bytes().as_ptr(), long.as_bytes().as_ptr());
        assert_eq!(Key::new(b"").as_bytes(), b"");
    }

    #[test]
    fn a_key_hashes_and_compares_as_its_bytes() {
        let hasher = std::collections::hash_map::RandomState::new();
        for bytes in [&b"user:1000"[..], &[b'k'; 40]] {
            let key = Key::new(bytes);
            assert_eq!(hasher.hash_one(&key), hasher.hash_one(bytes));
            assert_eq!(key, Key::new(bytes));
            assert_ne!(key, Key::new(b"other"));
        }
    }
}
