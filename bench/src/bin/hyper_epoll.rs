//! A hyper 1.x HTTP/1.1 server on epoll-rt (feature `hyper`), for `bench/hyper.sh`: every
//! request gets `Hello, world!`, or a body of the length given as second argument.
//!
//! ```text
//! cargo run --release --bin hyper_epoll -- 127.0.0.1:0 [BODY_LEN]
//! ```
//!
//! The first line of output is `listening on <address>`, with the real port. Its tokio
//! twin, `hyper_tokio.rs`, differs only in the runtime glue.

use std::convert::Infallible;
use std::io;

use bytes::Bytes;
use epoll_rt::{AsyncTcpListener, block_on, spawn};
use epoll_rt::hyper::{Io, Timer};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let body = match args.next() {
        Some(len) => Bytes::from(vec![b'x'; len.parse().map_err(io::Error::other)?]),
        None => Bytes::from_static(b"Hello, world!"),
    };
    block_on(async move {
        let listener = AsyncTcpListener::bind(addr)?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let body = body.clone();
            let service = service_fn(move |_: Request<Incoming>| {
                let body = body.clone();
                async move { Ok::<_, Infallible>(Response::new(Full::new(body))) }
            });
            spawn(async move {
                let conn = http1::Builder::new()
                    .timer(Timer)
                    .serve_connection(Io::new(stream), service);
                let _ = conn.await;
            });
        }
    })
}
