//! Guide, chapter 4, exercise 2: show that a dropped wait gives its waker back.
//!
//! The program polls `readable()` on an empty socket by hand, with a waker of its own
//! whose `Arc` it can count: `Pending` leaves a clone of the waker in the descriptor's
//! waiter list (the count goes up), and dropping the future takes it out again (the count
//! comes back down), without any event on the socket.
//!
//! ```text
//! cargo run --example guide_ex04_2_waker_back
//! ```

use std::future::Future;
use std::io::{self, Read};
use std::os::unix::net::UnixStream;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use epoll_rt::AsyncFd;

/// A waker that does nothing; only its reference count matters here.
struct Quiet;

impl Wake for Quiet {
    fn wake(self: Arc<Self>) {}
}

fn main() -> io::Result<()> {
    epoll_rt::block_on(async {
        let (ours, _peer) = UnixStream::pair()?;
        ours.set_nonblocking(true)?;
        let ours = AsyncFd::new(ours)?;
        // Clear the optimistic readiness first, so that the next wait must store a waker.
        let mut buf = [0u8; 8];
        assert!(
            ours.readable()
                .await?
                .try_io(|mut s| s.read(&mut buf))
                .is_err()
        );

        let quiet = Arc::new(Quiet);
        let waker = Waker::from(quiet.clone());
        let alone = Arc::strong_count(&quiet);
        let stored = {
            let mut wait = pin!(ours.readable());
            let polled = wait.as_mut().poll(&mut Context::from_waker(&waker));
            assert!(matches!(polled, Poll::Pending), "nothing to read: Pending");
            Arc::strong_count(&quiet)
            // `wait` is dropped here: the wait is cancelled.
        };
        let after = Arc::strong_count(&quiet);
        println!("waker references: {alone} alone, {stored} while waiting, {after} after the drop");
        assert_eq!(stored, alone + 1, "Pending stored one clone");
        assert_eq!(after, alone, "the drop gave it back");
        Ok(())
    })
}
