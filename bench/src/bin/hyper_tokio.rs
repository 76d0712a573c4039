//! The hyper 1.x HTTP/1.1 server of `hyper_epoll.rs` on tokio's `current_thread` runtime,
//! through hyper-util's `TokioIo` and `TokioTimer`: the same service, the same hyper.
//!
//! ```text
//! cargo run --release --bin hyper_tokio -- 127.0.0.1:0 [BODY_LEN]
//! ```
//!
//! The first line of output is `listening on <address>`, with the real port.

use std::convert::Infallible;
use std::io;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let body = match args.next() {
        Some(len) => Bytes::from(vec![b'x'; len.parse().map_err(io::Error::other)?]),
        None => Bytes::from_static(b"Hello, world!"),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        println!("listening on {}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let body = body.clone();
            let service = service_fn(move |_: Request<Incoming>| {
                let body = body.clone();
                async move { Ok::<_, Infallible>(Response::new(Full::new(body))) }
            });
            tokio::spawn(async move {
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .serve_connection(TokioIo::new(stream), service);
                let _ = conn.await;
            });
        }
    })
}
