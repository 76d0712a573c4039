//! Guide, chapter 3, exercise 2: write `join`, a future that runs two futures at once.
//!
//! `Join` polls each child that is not done yet, with the *same* context, so that either
//! child's leaf future keeps the task's waker; it is `Ready` when both are. The program
//! joins two loops that sleep between steps, and checks from the order of their steps
//! that they ran interleaved, on one task.
//!
//! ```text
//! cargo run --example guide_ex03_2_join
//! ```

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

/// A child of `Join`: still running, or done with its output.
enum Child<F: Future> {
    /// Not finished: poll it again.
    Running(Pin<Box<F>>),
    /// Finished: its output, kept until both are done.
    Done(Option<F::Output>),
}

impl<F: Future> Child<F> {
    /// Polls the child if it still runs; returns whether it is done.
    fn poll(&mut self, cx: &mut Context<'_>) -> bool {
        if let Child::Running(future) = self {
            match future.as_mut().poll(cx) {
                Poll::Ready(output) => *self = Child::Done(Some(output)),
                Poll::Pending => return false,
            }
        }
        true
    }

    /// The output of a finished child.
    fn take(&mut self) -> F::Output {
        match self {
            Child::Done(output) => output.take().expect("taken once, after both finished"),
            Child::Running(_) => unreachable!("take is called only once both are done"),
        }
    }
}

/// Runs `a` and `b` at once; completes with both outputs.
struct Join<A: Future, B: Future> {
    /// The first child.
    a: Child<A>,
    /// The second child.
    b: Child<B>,
}

// The children are boxed, so `Join` never needs to be pinned in place itself.
impl<A: Future, B: Future> Unpin for Join<A, B> {}

impl<A: Future, B: Future> Future for Join<A, B> {
    type Output = (A::Output, B::Output);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Poll both, whichever woke us: a wake says "poll the task", not which child.
        let a_done = self.a.poll(cx);
        let b_done = self.b.poll(cx);
        if a_done && b_done {
            Poll::Ready((self.a.take(), self.b.take()))
        } else {
            Poll::Pending
        }
    }
}

/// Joins two futures.
fn join<A: Future, B: Future>(a: A, b: B) -> Join<A, B> {
    Join {
        a: Child::Running(Box::pin(a)),
        b: Child::Running(Box::pin(b)),
    }
}

fn main() {
    thread::spawn(|| {
        thread::sleep(Duration::from_secs(10));
        eprintln!("watchdog: still running after 10 s, a wake-up was lost");
        std::process::exit(1);
    });
    let steps = RefCell::new(Vec::new());
    let worker = |name: char, pause: u64| {
        let steps = &steps;
        async move {
            for i in 0..3 {
                steps.borrow_mut().push(format!("{name}{i}"));
                epoll_rt::time::sleep(Duration::from_millis(pause)).await;
            }
            name
        }
    };
    let both = epoll_rt::block_on(join(worker('a', 10), worker('b', 15)));
    let steps = steps.into_inner().join(" ");
    println!("join returned {both:?}; steps in order: {steps}");
    assert_eq!(both, ('a', 'b'));
    // The first poll of `join` polls both children, each of which records a step and
    // waits: b0 comes before a1, whatever the timers do. (Then, on time, a1 at 10 ms, b1
    // at 15, a2 at 20, b2 at 30; a busy machine may swap the close ones.)
    assert!(
        steps.starts_with("a0 b0 "),
        "both children ran before either waited out"
    );
    let mine = |name: char| {
        steps
            .split(' ')
            .filter(|s| s.starts_with(name))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        (mine('a'), mine('b')),
        (vec!["a0", "a1", "a2"], vec!["b0", "b1", "b2"])
    );
}
