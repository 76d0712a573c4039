//! The key space's hash function: a fast one, keyed with random seeds.
//!
//! The standard `HashMap` hashes with SipHash-1-3, a keyed function built to resist
//! *hash flooding*: a client who could predict where keys land could send millions that
//! collide and turn every lookup into a linear search. SipHash pays for that with many
//! rounds per word, and a Redis server hashes a key at every command and twice more per
//! key its expiry sweep removes: in a profile of a mass expiry, SipHash alone took a sixth
//! of the server's time.
//!
//! This one does one 64 × 64 → 128-bit multiplication per 16 bytes of key, and folds the
//! product's halves together with XOR (the "folded multiply" of foldhash and aHash's
//! fallback). Both factors are mixed with seeds drawn at random when the server starts,
//! so which keys collide still cannot be known from outside. That is the minimal
//! resistance foldhash claims, not SipHash's proven one: a cryptographer could attack it
//! with enough timing measurements, which is why the standard library does not default to
//! it, and why a key space facing the internet may prefer SipHash and its cost.
//! (Redis itself hashes keys with SipHash-1-2.)

use std::hash::{BuildHasher, Hasher, RandomState};

/// Builds a [`FoldHasher`] for each key, with the seeds of this key space.
#[derive(Debug, Clone, Copy)]
pub struct Seeds {
    /// Three random words: the initial state, and one per factor of each multiplication.
    seeds: [u64; 3],
}

impl Default for Seeds {
    /// Fresh random seeds. The standard library's `RandomState` is seeded from the
    /// operating system's random source; hashing three numbers with it gives three
    /// random words without a dependency.
    fn default() -> Self {
        let random = RandomState::new();
        Self {
            seeds: [0u64, 1, 2].map(|i| random.hash_one(i)),
        }
    }
}

impl BuildHasher for Seeds {
    type Hasher = FoldHasher;

    #[inline]
    fn build_hasher(&self) -> FoldHasher {
        FoldHasher {
            state: self.seeds[0],
            seeds: [self.seeds[1], self.seeds[2]],
        }
    }
}

/// Hashes one key: see the module documentation.
#[derive(Debug, Clone, Copy)]
pub struct FoldHasher {
    /// The hash of the bytes so far.
    state: u64,
    /// What the two factors of every multiplication are mixed with.
    seeds: [u64; 2],
}

/// The full product of `a` and `b`, its high half folded onto its low one: every bit of
/// either input affects many bits of the result.
#[inline]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// The 8 bytes of `bytes` as a number.
#[inline]
fn word(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().expect("8 bytes"))
}

/// The 4 bytes of `bytes` as a number.
#[inline]
fn half_word(bytes: &[u8]) -> u64 {
    u64::from(u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
}

impl FoldHasher {
    /// Mixes 16 bytes (two words) into the state.
    #[inline]
    fn mix(&mut self, a: u64, b: u64) {
        self.state = folded_multiply(a ^ self.seeds[0] ^ self.state, b ^ self.seeds[1]);
    }
}

impl Hasher for FoldHasher {
    /// Mixes `bytes`, 16 at a time. The last 1 to 16 bytes are read as two words that may
    /// overlap (or, below 4 bytes, as three single bytes), so there is no loop over bytes
    /// and no copy into a padded buffer: a `memcpy` of a few bytes took a tenth of the
    /// server's time in a profile. Keys of different lengths that read alike cannot be
    /// confused: a `[u8]` is hashed with its length first, through `write_usize`.
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while rest.len() > 16 {
            let (chunk, tail) = rest.split_at(16);
            self.mix(word(&chunk[..8]), word(&chunk[8..]));
            rest = tail;
        }
        let n = rest.len();
        let (a, b) = match n {
            8..=16 => (word(&rest[..8]), word(&rest[n - 8..])),
            4..=7 => (half_word(&rest[..4]), half_word(&rest[n - 4..])),
            1..=3 => {
                let bytes = [rest[0], rest[n / 2], rest[n - 1]];
                (
                    u64::from(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], 0])),
                    0,
                )
            }
            _ => return,
        };
        self.mix(a, b);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.mix(n as u64, 0);
    }

    /// One more multiplication, so that the last bytes mixed affect the high bits too
    /// (the hash map takes its buckets from the low bits and its tags from the high ones).
    #[inline]
    fn finish(&self) -> u64 {
        folded_multiply(self.state ^ self.seeds[1], self.seeds[0] | 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_hash_alike_and_seeds_matter() {
        let (one, two) = (Seeds::default(), Seeds::default());
        let key: &[u8] = b"key:123456789012345678";
        assert_eq!(one.hash_one(key), one.hash_one(key.to_vec().as_slice()));
        assert_ne!(one.hash_one(key), two.hash_one(key));
    }

    #[test]
    fn nearby_keys_spread_over_buckets() {
        // 100,000 keys that differ in a digit or two, as benchmark keys do: their low 16
        // bits (a bucket in a table of 65,536) should be nearly as spread as random ones,
        // which would fill about 63 % of the buckets.
        let seeds = Seeds::default();
        let mut used = vec![false; 1 << 16];
        for i in 0..100_000 {
            let key = format!("key:{i}");
            used[(seeds.hash_one(key.as_bytes()) & 0xFFFF) as usize] = true;
        }
        let filled = used.iter().filter(|&&u| u).count();
        assert!(filled > 40_000, "{filled} of 65,536 buckets used");
        // Keys of different lengths whose bytes read alike hash differently.
        assert_ne!(seeds.hash_one(&b"a"[..]), seeds.hash_one(&b"aa"[..]));
        assert_ne!(seeds.hash_one(&b"abab"[..]), seeds.hash_one(&b"ababab"[..]));
        // Every byte of a key counts, whatever its length.
        for len in 1..40 {
            let key = vec![b'x'; len];
            for i in 0..len {
                let mut other = key.clone();
                other[i] = b'y';
                assert_ne!(
                    seeds.hash_one(&key[..]),
                    seeds.hash_one(&other[..]),
                    "{len} {i}"
                );
            }
        }
    }
}
