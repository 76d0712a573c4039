//! A stored value: bytes, kept inside the entry when short, in an allocation of its own
//! otherwise.
//!
//! Most values in a cache are short (counters, flags, ids, small JSON), and an
//! allocation per value costs twice: the allocator's overhead (a 1-byte value takes 32
//! bytes of heap) and a cache miss whenever the value is read or freed, which is what a
//! mass expiry spends its time on. So a value of up to [`INLINE`] bytes lives in the
//! entry itself. Redis does the same with its "embstr" encoding, which puts a string of
//! up to 44 bytes in the same allocation as its object header.

use crate::short::Short;

/// The longest value stored inline: as many bytes as fit beside the length and the
/// variant's tag in the 32 bytes the `Heap` variant (a `Vec`) needs anyway.
pub const INLINE: usize = 30;

/// A value; see the module documentation.
#[derive(Debug, Clone)]
pub enum Value {
    /// A short value.
    Inline(Short<INLINE>),
    /// A longer value, or one handed over as it was received (see `From<Vec<u8>>`).
    Heap(Vec<u8>),
}

impl Value {
    /// A copy of `bytes`: inline if short enough.
    pub fn new(bytes: &[u8]) -> Self {
        match Short::new(bytes) {
            Some(short) => Value::Inline(short),
            None => Value::Heap(bytes.to_vec()),
        }
    }

    /// The value's bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Value::Inline(short) => short.as_bytes(),
            Value::Heap(bytes) => bytes,
        }
    }

    /// Replaces the value with a copy of `bytes`, reusing the old allocation when it is
    /// large enough (overwriting a key with a value of the same size allocates nothing).
    pub fn set(&mut self, bytes: &[u8]) {
        match self {
            Value::Heap(vec) if bytes.len() > INLINE && vec.capacity() >= bytes.len() => {
                vec.clear();
                vec.extend_from_slice(bytes);
            }
            _ => *self = Value::new(bytes),
        }
    }
}

impl From<Vec<u8>> for Value {
    /// Takes `bytes` as they are, without a copy, however short: for a large argument
    /// read into a buffer of its own, which becomes the value.
    fn from(bytes: Vec<u8>) -> Self {
        Value::Heap(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_inline_and_long_ones_are_not() {
        assert_eq!(size_of::<Value>(), 32);
        let short = Value::new(&[7; INLINE]);
        assert!(matches!(short, Value::Inline(_)));
        assert_eq!(short.as_bytes(), &[7; INLINE]);
        let long = Value::new(&[7; INLINE + 1]);
        assert!(matches!(&long, Value::Heap(v) if v.len() == INLINE + 1));
        assert_eq!(Value::new(b"").as_bytes(), b"");
    }

    #[test]
    fn set_reuses_a_large_enough_allocation() {
        let mut value = Value::new(&[1; 100]);
        let before = value.as_bytes().as_ptr();
        value.set(&[2; 50]);
        assert_eq!(
            (value.as_bytes(), value.as_bytes().as_ptr()),
            (&[2; 50][..], before)
        );
        value.set(b"short");
        assert!(matches!(&value, Value::Inline(short) if short.as_bytes() == b"short"));
        value.set(&[3; 200]);
        assert_eq!(value.as_bytes(), &[3; 200]);
    }
}
