//! Guide, chapter 2, exercise 2: make `seed_server`'s listener edge-triggered.
//!
//! Three clients connect before the loop looks. An edge-triggered listener reports one
//! event for the three; a loop that accepts once per event, as `seed_server` does, leaves
//! two in the kernel's queue, and epoll stays silent about them. Accepting until
//! `WouldBlock` takes all three: with `EPOLLET`, the accept loop must drain too.
//!
//! ```text
//! cargo run --example guide_ex02_2_edge_accept
//! ```

use std::io::{self, ErrorKind};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use epoll_rt::epoll::{Epoll, EventFlags, Events};

fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let epoll = Epoll::new()?;
    epoll.register(&listener, EventFlags::IN | EventFlags::ET)?;
    let mut events = Events::with_capacity(8);

    // On loopback, `connect` returns once the kernel has queued the connection for
    // `accept`: all three are waiting before we look.
    let clients: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(listener.local_addr()?))
        .collect::<io::Result<_>>()?;

    let first = epoll.poll(&mut events, Some(Duration::from_millis(100)))?;
    let _one = listener.accept()?; // seed_server's one accept per event
    let silent = epoll.poll(&mut events, Some(Duration::from_millis(100)))?;
    println!("3 connections: {first} event; after one accept, {silent} events while 2 wait");

    // The fix: accept until the queue is empty.
    let mut drained = 0;
    loop {
        match listener.accept() {
            Ok(_) => drained += 1,
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) => return Err(e),
        }
    }
    println!("accepting until WouldBlock took the other {drained}");

    assert_eq!((first, silent, drained), (1, 0, 2));
    drop(clients);
    Ok(())
}
