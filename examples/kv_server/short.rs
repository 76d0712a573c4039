//! Short bytes kept inline: the storage that lets a short key or value live inside the
//! entry that holds it, with no allocation of its own (see `key.rs` and `value.rs`).

/// Up to `N` bytes (at most 255), stored in place.
#[derive(Debug, Clone, Copy)]
pub struct Short<const N: usize> {
    /// How many of `bytes` are in use.
    len: u8,
    /// The bytes, in the first `len`; zeros after them.
    bytes: [u8; N],
}

impl<const N: usize> Short<N> {
    /// A copy of `bytes`, if they fit.
    #[inline]
    pub fn new(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > N {
            return None;
        }
        let mut inline = [0u8; N];
        inline[..bytes.len()].copy_from_slice(bytes);
        Some(Self {
            len: bytes.len() as u8,
            bytes: inline,
        })
    }

    /// The bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_to_n_bytes_fit() {
        assert_eq!(size_of::<Short<22>>(), 23);
        assert_eq!(
            Short::<4>::new(b"abcd").map(|s| s.as_bytes().to_vec()),
            Some(b"abcd".to_vec())
        );
        assert!(Short::<4>::new(b"abcde").is_none());
        assert_eq!(Short::<4>::new(b"").map(|s| s.as_bytes().len()), Some(0));
    }
}
