//! hyper on epoll-rt, server and client: HTTP/1.1 and HTTP/2 (h2c) on one port through
//! hyper-util's `auto` builder, fetched with hyper's own client connections on the same
//! runtime; a 64 KiB body each way; and `header_read_timeout`, which runs on
//! `epoll_rt::hyper::Timer`.
//!
//! Every test runs under `epoll_rt::time::timeout`, so a lost wake-up fails it.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use epoll_rt::hyper::{Executor, Io, Timer};
use epoll_rt::time::timeout;
use epoll_rt::{AsyncTcpListener, AsyncTcpStream};
use epoll_rt_integrations::{HEADER_READ_TIMEOUT, HELLO, Shutdown, serve};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper::{Method, Request};

/// The whole test's limit.
const LIMIT: Duration = Duration::from_secs(20);

/// Runs `test` against a server on a new runtime, under [`LIMIT`]; then shuts the server
/// down gracefully and checks that it returns.
fn with_server<F, Fut>(header_read_timeout: Duration, test: F)
where
    F: FnOnce(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<()>>,
{
    epoll_rt::block_on(async {
        let listener = AsyncTcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shutdown = Shutdown::default();
        let server = epoll_rt::spawn(serve(listener, shutdown.clone(), header_read_timeout));
        timeout(LIMIT, test(addr))
            .await
            .expect("the test timed out")?;
        shutdown.trigger();
        timeout(LIMIT, server)
            .await
            .expect("the server did not shut down")
            .expect("the server task")?;
        Ok::<(), io::Error>(())
    })
    .unwrap();
}

/// A request for `path`: `POST` with `body`, or `GET` if it is empty.
fn request(path: &str, body: Bytes) -> Request<Full<Bytes>> {
    let method = if body.is_empty() {
        Method::GET
    } else {
        Method::POST
    };
    Request::builder()
        .method(method)
        .uri(path)
        .header("host", "127.0.0.1")
        .body(Full::new(body))
        .unwrap()
}

/// Sends each request over one HTTP/1.1 connection; returns the response bodies.
async fn fetch_http1(
    addr: SocketAddr,
    requests: Vec<Request<Full<Bytes>>>,
) -> io::Result<Vec<Bytes>> {
    let stream = AsyncTcpStream::connect(addr).await?;
    let (mut sender, conn) = http1::handshake(Io::new(stream))
        .await
        .map_err(io::Error::other)?;
    let conn = epoll_rt::spawn(conn);
    let mut bodies = Vec::new();
    for request in requests {
        let response = sender
            .send_request(request)
            .await
            .map_err(io::Error::other)?;
        assert_eq!(response.status(), 200);
        bodies.push(
            response
                .into_body()
                .collect()
                .await
                .map_err(io::Error::other)?
                .to_bytes(),
        );
    }
    drop(sender); // the connection ends once it has no sender left
    conn.await
        .expect("the connection task")
        .map_err(io::Error::other)?;
    Ok(bodies)
}

/// Sends the requests concurrently over one HTTP/2 connection (h2c, prior knowledge);
/// returns the response bodies, in order.
async fn fetch_http2(
    addr: SocketAddr,
    requests: Vec<Request<Full<Bytes>>>,
) -> io::Result<Vec<Bytes>> {
    let stream = AsyncTcpStream::connect(addr).await?;
    let (sender, conn) = http2::Builder::new(Executor)
        .timer(Timer)
        .handshake(Io::new(stream))
        .await
        .map_err(io::Error::other)?;
    let conn = epoll_rt::spawn(conn);
    let streams: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let mut sender = sender.clone();
            epoll_rt::spawn(async move {
                let response = sender
                    .send_request(request)
                    .await
                    .map_err(io::Error::other)?;
                assert_eq!(response.status(), 200);
                Ok::<_, io::Error>(
                    response
                        .into_body()
                        .collect()
                        .await
                        .map_err(io::Error::other)?
                        .to_bytes(),
                )
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for stream in streams {
        bodies.push(stream.await.expect("the stream task")?);
    }
    drop(sender);
    conn.await
        .expect("the connection task")
        .map_err(io::Error::other)?;
    Ok(bodies)
}

/// 64 KiB that are not all alike, so that a reordered or dropped chunk shows.
fn big_body() -> Bytes {
    (0..64 * 1024)
        .map(|i| (i % 251) as u8)
        .collect::<Vec<u8>>()
        .into()
}

#[test]
fn http1_get_and_64_kib_each_way() {
    with_server(HEADER_READ_TIMEOUT, |addr| async move {
        let requests = vec![
            request("/", Bytes::new()),
            request("/echo", big_body()),
            request("/big", Bytes::new()),
        ];
        let bodies = fetch_http1(addr, requests).await?;
        assert_eq!(bodies[0], HELLO.as_bytes());
        assert_eq!(bodies[1], big_body(), "64 KiB sent and echoed back");
        assert_eq!(bodies[2].len(), 64 * 1024);
        Ok(())
    });
}

#[test]
fn http2_get_and_64_kib_each_way_on_concurrent_streams() {
    with_server(HEADER_READ_TIMEOUT, |addr| async move {
        let mut requests = vec![request("/", Bytes::new()), request("/big", Bytes::new())];
        requests.extend((0..4).map(|_| request("/echo", big_body())));
        let bodies = fetch_http2(addr, requests).await?;
        assert_eq!(bodies[0], HELLO.as_bytes());
        assert_eq!(bodies[1].len(), 64 * 1024);
        for body in &bodies[2..] {
            assert_eq!(*body, big_body(), "64 KiB sent and echoed back");
        }
        Ok(())
    });
}

/// A client that sends half a request head and then nothing is disconnected once the
/// header read timeout has passed, not before: hyper's timer runs on epoll-rt.
#[test]
fn header_read_timeout_closes_a_silent_connection() {
    let limit = Duration::from_millis(200);
    with_server(limit, |addr| async move {
        // hyper's clock starts when the connection is accepted, or later.
        let start = Instant::now();
        let mut stream = AsyncTcpStream::connect(addr).await?;
        stream
            .write_all(b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\n")
            .await?;
        let mut buf = [0; 1024];
        // hyper may answer 408 before closing; read until end of file.
        while stream.read(&mut buf).await? > 0 {}
        let waited = start.elapsed();
        assert!(waited >= limit, "closed after {waited:?}");
        assert!(waited < Duration::from_secs(5), "closed after {waited:?}");
        Ok(())
    });
}
