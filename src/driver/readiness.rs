//! Readiness: what the reactor last heard about a descriptor, split by direction.
//!
//! epoll reports a mask of `EPOLL*` flags; an I/O object wants to know "may a read (or a
//! write) make progress now?". [`Readiness`] is the translation, kept per registration and
//! cleared by the I/O object when an operation returns `WouldBlock`.

use crate::sys::epoll::EventFlags;

/// A set of readiness bits for one registered descriptor.
#[derive(Clone, Copy, PartialEq, Eq, Default, Debug)]
pub(crate) struct Readiness(u8);

impl Readiness {
    /// Data (or a connection) can be read: `EPOLLIN` / `EPOLLPRI`.
    pub(crate) const READABLE: Self = Self(1);
    /// Data can be written: `EPOLLOUT`.
    pub(crate) const WRITABLE: Self = Self(1 << 1);
    /// The peer closed its writing half, reads will reach end of file: `EPOLLRDHUP` or
    /// `EPOLLHUP`. This bit is never cleared: the condition is permanent.
    pub(crate) const READ_CLOSED: Self = Self(1 << 2);
    /// Writing can no longer succeed: `EPOLLHUP`. Never cleared.
    pub(crate) const WRITE_CLOSED: Self = Self(1 << 3);
    /// An error is pending on the descriptor: `EPOLLERR`. The next operation in either
    /// direction returns it. Cleared only when an operation then finds the descriptor
    /// drained (`WouldBlock`), which shows the error was consumed.
    pub(crate) const ERROR: Self = Self(1 << 4);

    /// Readable and writable: what a new registration assumes (see `Registration::new`).
    /// Never the closed or error bits, which no `WouldBlock` could clear.
    pub(crate) const OPTIMISTIC: Self = Self(0b11);

    /// No bit set.
    pub(crate) const EMPTY: Self = Self(0);

    /// Translates the flags of one epoll event.
    pub(crate) fn from_epoll(flags: EventFlags) -> Self {
        let mut ready = Self::EMPTY;
        if flags.intersects(EventFlags::IN | EventFlags::PRI) {
            ready = ready | Self::READABLE;
        }
        if flags.contains(EventFlags::OUT) {
            ready = ready | Self::WRITABLE;
        }
        if flags.contains(EventFlags::RDHUP) {
            ready = ready | Self::READ_CLOSED;
        }
        if flags.contains(EventFlags::HUP) {
            ready = ready | Self::READ_CLOSED | Self::WRITE_CLOSED;
        }
        if flags.contains(EventFlags::ERR) {
            ready = ready | Self::ERROR;
        }
        ready
    }

    /// Whether any bit of `other` is set in `self`.
    pub(crate) fn intersects(self, other: Self) -> bool {
        self.0 & other.0 != 0
    }

    /// `self` without the bits of `other`.
    pub(crate) fn without(self, other: Self) -> Self {
        Self(self.0 & !other.0)
    }
}

impl std::ops::BitOr for Readiness {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

impl std::ops::BitAnd for Readiness {
    type Output = Self;
    fn bitand(self, rhs: Self) -> Self {
        Self(self.0 & rhs.0)
    }
}

/// Which half of a descriptor an operation uses. Each direction has its own readiness
/// bits and its own waiting task.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Direction {
    /// Reads, receives, accepts.
    Read,
    /// Writes, sends, connects.
    Write,
}

impl Direction {
    /// The bits that let an operation in this direction make progress (or fail fast).
    pub(crate) fn mask(self) -> Readiness {
        match self {
            Direction::Read => Readiness::READABLE | Readiness::READ_CLOSED | Readiness::ERROR,
            Direction::Write => Readiness::WRITABLE | Readiness::WRITE_CLOSED | Readiness::ERROR,
        }
    }

    /// The one bit an operation clears when it finds the descriptor drained (`WouldBlock`).
    /// The closed and error bits stay: they describe states, not edges.
    pub(crate) fn clearable(self) -> Readiness {
        match self {
            Direction::Read => Readiness::READABLE,
            Direction::Write => Readiness::WRITABLE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hangup_and_error_reach_both_directions() {
        let hup = Readiness::from_epoll(EventFlags::HUP);
        assert!(hup.intersects(Direction::Read.mask()));
        assert!(hup.intersects(Direction::Write.mask()));
        let err = Readiness::from_epoll(EventFlags::ERR);
        assert!(err.intersects(Direction::Read.mask()));
        assert!(err.intersects(Direction::Write.mask()));
        let rdhup = Readiness::from_epoll(EventFlags::RDHUP);
        assert!(rdhup.intersects(Direction::Read.mask()));
        assert!(!rdhup.intersects(Direction::Write.mask()));
    }

    #[test]
    fn clearing_keeps_closed_bits() {
        let r = Readiness::from_epoll(EventFlags::IN | EventFlags::RDHUP);
        let cleared = r.without(Direction::Read.clearable());
        assert!(!cleared.intersects(Readiness::READABLE));
        assert!(cleared.intersects(Direction::Read.mask()));
    }
}
