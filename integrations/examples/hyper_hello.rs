//! hyper on epoll-rt: HTTP/1.1 and HTTP/2 without TLS (h2c, "prior knowledge") on one
//! port, with hyper-util's `auto` builder; a graceful shutdown on SIGINT or SIGTERM
//! (requests in flight are answered, then the connections close).
//!
//! ```text
//! cargo run --release --example hyper_hello -- 127.0.0.1:3000
//! curl http://127.0.0.1:3000/
//! curl --http2-prior-knowledge http://127.0.0.1:3000/
//! ```
//!
//! The first line of output is `listening on <address>`, with the real port (give port 0
//! to let the kernel pick one).

use std::future::{Future, poll_fn};
use std::io::{self, Write};
use std::pin::pin;
use std::task::Poll;

use epoll_rt::AsyncTcpListener;
use epoll_rt::signal::{self, SIGINT, SIGTERM};
use epoll_rt_integrations::{HEADER_READ_TIMEOUT, Shutdown, serve};

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    // Blocked before any thread starts, so that the signals reach the signalfds below
    // rather than kill the process.
    signal::block(&[SIGINT, SIGTERM])?;
    epoll_rt::block_on(async move {
        let listener = AsyncTcpListener::bind(addr)?;
        println!("listening on {}", listener.local_addr()?);
        io::stdout().flush()?;

        let shutdown = Shutdown::default();
        let (mut int, mut term) = (signal::signal(SIGINT)?, signal::signal(SIGTERM)?);
        let trigger = shutdown.clone();
        epoll_rt::spawn(async move {
            // Whichever comes first.
            let mut int = pin!(int.recv());
            let mut term = pin!(term.recv());
            poll_fn(|cx| {
                if int.as_mut().poll(cx).is_ready() || term.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                Poll::Pending
            })
            .await;
            eprintln!("shutting down");
            trigger.trigger();
        });
        serve(listener, shutdown, HEADER_READ_TIMEOUT).await
    })
}
