//! Guide, chapter 2, exercise 1: register `seed_server`'s clients with `EPOLLONESHOT`.
//!
//! With `IN | ONESHOT`, a client's registration reports one event and is then disabled:
//! the loop must re-arm it with `modify` after serving it, or never hear from that client
//! again. The program plays both cases on one connection: the second message is silent
//! until `modify`, and reported at once after it.
//!
//! ```text
//! cargo run --example guide_ex02_1_oneshot
//! ```

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use epoll_rt::epoll::{Epoll, EventFlags, Events};

/// Waits up to 100 ms and returns how many events came.
fn look(epoll: &Epoll, events: &mut Events) -> io::Result<usize> {
    epoll.poll(events, Some(Duration::from_millis(100)))
}

fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let mut client = TcpStream::connect(listener.local_addr()?)?;
    let (mut served, _) = listener.accept()?;
    served.set_nonblocking(true)?;

    let epoll = Epoll::new()?;
    let mut events = Events::with_capacity(8);
    // What seed_server would write instead of `register(&client, EventFlags::IN)`.
    let oneshot = EventFlags::IN | EventFlags::ONESHOT;
    epoll.register(&served, oneshot)?;

    let mut buf = [0u8; 64];
    client.write_all(b"one")?;
    let first = look(&epoll, &mut events)?;
    let n = served.read(&mut buf)?;
    served.write_all(&buf[..n])?;
    println!(
        "message 1: {first} event, served {:?}",
        String::from_utf8_lossy(&buf[..n])
    );

    // The loop forgot to re-arm: the registration is disabled, the message waits unseen.
    client.write_all(b"two")?;
    let forgotten = look(&epoll, &mut events)?;
    println!("message 2 before modify: {forgotten} events in 100 ms");

    // Re-arm, as seed_server's loop must after every `serve`: the waiting data is
    // reported at once.
    epoll.modify(&served, oneshot)?;
    let rearmed = look(&epoll, &mut events)?;
    let n = served.read(&mut buf)?;
    println!(
        "message 2 after modify: {rearmed} event, served {:?}",
        String::from_utf8_lossy(&buf[..n])
    );

    assert_eq!((first, forgotten, rearmed), (1, 0, 1));
    assert_eq!(&buf[..n], b"two");
    Ok(())
}
