//! Guide, chapter 7, exercise 2: write `select`, and see which operations are safe in it.
//!
//! `select(a, b)` polls both futures and completes with the first one ready; the other is
//! dropped, which cancels it. A `read` raced against a 20 ms timer loses nothing when the
//! timer wins; a `read_exact` of 6 bytes, cancelled after 3 arrived, loses those 3.
//!
//! ```text
//! cargo run --example guide_ex07_2_select
//! ```

use std::future::Future;
use std::io::{self, Write};
use std::net::{TcpListener, TcpStream};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use epoll_rt::AsyncTcpStream;
use epoll_rt::time::sleep;

/// Which of the two futures finished first.
enum Either<A, B> {
    /// The first one, with its output.
    Left(A),
    /// The second one, with its output.
    Right(B),
}

/// Completes with whichever of `a` and `b` is ready first; the other is dropped with it.
struct Select<A, B> {
    /// The first future, polled first.
    a: Pin<Box<A>>,
    /// The second future.
    b: Pin<Box<B>>,
}

impl<A: Future, B: Future> Future for Select<A, B> {
    type Output = Either<A::Output, B::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Both get the task's waker: whichever becomes ready wakes the task. `a` is always
        // polled first, so when both are ready, `a` wins (tokio's `select!` picks at
        // random by default, so that neither branch starves).
        if let Poll::Ready(out) = self.a.as_mut().poll(cx) {
            return Poll::Ready(Either::Left(out));
        }
        if let Poll::Ready(out) = self.b.as_mut().poll(cx) {
            return Poll::Ready(Either::Right(out));
        }
        Poll::Pending
    }
}

/// Races `a` against `b`.
fn select<A: Future, B: Future>(a: A, b: B) -> Select<A, B> {
    Select {
        a: Box::pin(a),
        b: Box::pin(b),
    }
}

fn main() -> io::Result<()> {
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(10));
        eprintln!("watchdog: still running after 10 s, a wake-up was lost");
        std::process::exit(1);
    });
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut peer = TcpStream::connect(listener.local_addr()?)?;
    let (ours, _) = listener.accept()?;
    let tick = || sleep(Duration::from_millis(20));

    let (read_lost, read_next, exact_lost, exact_next) = epoll_rt::block_on(async {
        let mut ours = AsyncTcpStream::from_std(ours)?;
        let mut buf = [0u8; 16];

        // `read` against the timer, nothing sent: the timer wins, the read is dropped.
        let read_lost = matches!(select(ours.read(&mut buf), tick()).await, Either::Right(()));
        peer.write_all(b"late")?;
        let read_next = match select(ours.read(&mut buf), tick()).await {
            Either::Left(n) => String::from_utf8_lossy(&buf[..n?]).into_owned(),
            Either::Right(()) => String::from("(timer)"),
        };

        // `read_exact(6)` against the timer, 3 bytes sent: the timer wins, the 3 bytes
        // were read into a buffer that the dropped future owned.
        peer.write_all(b"abc")?;
        let mut six = [0u8; 6];
        let exact_lost = matches!(
            select(ours.read_exact(&mut six), tick()).await,
            Either::Right(())
        );
        peer.write_all(b"def")?;
        let exact_next = match select(ours.read(&mut buf), tick()).await {
            Either::Left(n) => String::from_utf8_lossy(&buf[..n?]).into_owned(),
            Either::Right(()) => String::from("(timer)"),
        };
        Ok::<_, io::Error>((read_lost, read_next, exact_lost, exact_next))
    })?;
    println!("read cancelled by the timer: {read_lost}; the next read got {read_next:?}");
    println!(
        "read_exact(6) cancelled after \"abc\": {exact_lost}; the next read got {exact_next:?}"
    );
    assert!(read_lost && exact_lost, "the timer won both races");
    assert_eq!(read_next, "late", "a cancelled read loses nothing");
    assert_eq!(exact_next, "def", "a cancelled read_exact lost \"abc\"");
    Ok(())
}
