//! Shared by the `hyper_hello` example and the tests: a small HTTP service, a server that
//! speaks HTTP/1.1 and HTTP/2 (h2c) on one port with hyper-util's `auto` builder, and a
//! shutdown signal its connections watch to finish gracefully.
//!
//! Everything runs on epoll-rt through `epoll_rt::hyper` (feature `hyper`): `Io` for the
//! socket, `Executor` for HTTP/2's tasks, `Timer` for hyper's timeouts. Nothing here is
//! `Send`, and nothing needs to be.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use epoll_rt::AsyncTcpListener;
use epoll_rt::hyper::{Executor, Io, Timer};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::server::conn::auto;

/// The answer to `GET /`.
pub const HELLO: &str = "Hello, world!";

/// How long a client may take to send a request's headers before the server closes the
/// connection (hyper's `header_read_timeout`).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// The service: `POST /echo` answers with the request's body, `GET /big` with 64 KiB,
/// anything else with [`HELLO`].
pub async fn hello(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let body = match request.uri().path() {
        "/echo" => request.into_body().collect().await?.to_bytes(),
        "/big" => Bytes::from(vec![b'x'; 64 * 1024]),
        _ => Bytes::from_static(HELLO.as_bytes()),
    };
    Ok(Response::new(Full::new(body)))
}

/// The server's settings: HTTP/1.1 or HTTP/2 as the client speaks, hyper's timers on
/// epoll-rt, and a header read timeout of `header_read_timeout`.
pub fn builder(header_read_timeout: Duration) -> auto::Builder<Executor> {
    let mut builder = auto::Builder::new(Executor);
    builder
        .http1()
        .timer(Timer)
        .header_read_timeout(header_read_timeout);
    builder.http2().timer(Timer);
    builder
}

/// Accepts connections on `listener` and serves each in a task of its own, until
/// `shutdown` is triggered; then stops accepting, lets every connection finish its
/// requests in flight (`graceful_shutdown`), and returns once they all have.
pub async fn serve(
    listener: AsyncTcpListener,
    shutdown: Shutdown,
    header_read_timeout: Duration,
) -> io::Result<()> {
    let mut connections = Vec::new();
    loop {
        let accepted = {
            let mut accept = pin!(listener.accept());
            let mut stop = pin!(shutdown.triggered());
            poll_fn(|cx| match stop.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(None),
                Poll::Pending => accept.as_mut().poll(cx).map(Some),
            })
            .await
        };
        let Some(accepted) = accepted else { break };
        let (stream, _) = accepted?;
        stream.set_nodelay(true)?;
        let shutdown = shutdown.clone();
        connections.retain(|c: &epoll_rt::JoinHandle<()>| !c.is_finished());
        connections.push(epoll_rt::spawn(async move {
            let builder = builder(header_read_timeout);
            let mut conn = pin!(builder.serve_connection(Io::new(stream), service_fn(hello)));
            let mut stop = pin!(shutdown.triggered());
            let mut stopping = false;
            // Serve; once shutdown is triggered, ask hyper to finish gracefully (answer
            // what is in flight, then close) and keep polling the connection until it has.
            let _ = poll_fn(|cx| {
                if !stopping && stop.as_mut().poll(cx).is_ready() {
                    stopping = true;
                    conn.as_mut().graceful_shutdown();
                }
                conn.as_mut().poll(cx)
            })
            .await;
        }));
    }
    drop(listener);
    for connection in connections {
        let _ = connection.await;
    }
    Ok(())
}

/// A one-shot signal shared by a server and its connections. Not `Send`: it lives on the
/// runtime's thread, like everything it signals.
#[derive(Clone, Default)]
pub struct Shutdown {
    /// Whether it has been triggered, and the wakers of those waiting until it is.
    state: Rc<(Cell<bool>, RefCell<Vec<Waker>>)>,
}

impl Shutdown {
    /// Triggers it: every `triggered()` completes.
    pub fn trigger(&self) {
        self.state.0.set(true);
        let wakers = std::mem::take(&mut *self.state.1.borrow_mut());
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Completes once [`trigger`](Self::trigger) has been called.
    pub fn triggered(&self) -> impl Future<Output = ()> + '_ {
        poll_fn(|cx| {
            if self.state.0.get() {
                return Poll::Ready(());
            }
            let mut wakers = self.state.1.borrow_mut();
            if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                wakers.push(cx.waker().clone());
            }
            Poll::Pending
        })
    }
}
