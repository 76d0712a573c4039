"""The Python epoll tutorial's server with its three bugs fixed (guide, chapter 6).

The Rust port, examples/seed_server.rs, makes the same fixes line for line: accept on
the listening socket, not on the `socket` module; forget and close a client that hung
up, so that level-triggered epoll does not report it forever; and echo what arrives.

    python3 docs/guide/python/seed_server_fixed.py              # 127.0.0.1:33445
    python3 docs/guide/python/seed_server_fixed.py 127.0.0.1:0  # any free port

The first line of output is `listening on <address>`, with the real port.
"""

import select
import socket
import sys


def main():
    host, port = (sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:33445").rsplit(":", 1)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind((host, int(port)))
    server.listen(128)
    # Not in the tutorial: if another thread or process accepts the connection between
    # the event and our accept(), a blocking accept() would stop the whole loop.
    server.setblocking(False)
    print("listening on %s:%d" % server.getsockname(), flush=True)

    clients = {}  # descriptor -> socket; the listener is kept apart
    epoll = select.epoll()
    # Level-triggered, as in the tutorial: a socket that stays readable is reported at
    # every poll, so one accept() or one recv() per event is enough.
    epoll.register(server.fileno(), select.EPOLLIN)

    while True:
        for fd, mask in epoll.poll(1):
            if fd == server.fileno():
                try:
                    # Bug 1 fixed: accept() belongs to the listening socket.
                    client, address = server.accept()
                except BlockingIOError:
                    continue  # someone else took it: nothing to do
                print("<----- fd %d ---- %s ----->" % (client.fileno(), address), flush=True)
                client.setblocking(False)
                epoll.register(client.fileno(), select.EPOLLIN)
                clients[client.fileno()] = client
            elif fd in clients:
                client = clients[fd]
                if not (mask & (select.EPOLLHUP | select.EPOLLERR)) and serve(client, fd):
                    continue
                # Bug 2 fixed: a closed client is unregistered and closed. Left
                # registered, it would read as end of file at every poll, forever.
                epoll.unregister(fd)
                del clients[fd]
                client.close()
                print("client %d closed" % fd, flush=True)


def serve(client, fd):
    """Reads once, prints, echoes. Returns whether the connection stays open."""
    try:
        data = client.recv(4096)
    except (BlockingIOError, InterruptedError):
        return True  # a spurious event: nothing to read after all
    except OSError:
        return False  # connection reset, and the like
    if not data:
        return False  # end of file: the tutorial printed this and went on
    print("client %d: %s" % (fd, data.decode(errors="replace").rstrip("\r\n")), flush=True)
    try:
        # Bug 3 fixed: echo. The socket is non-blocking: a client that never reads its
        # echoes fills the buffers, sendall() raises, and we drop that client rather than
        # block every other one (examples/seed_server.rs makes the same choice).
        client.sendall(data)
    except OSError:
        return False
    return True


if __name__ == "__main__":
    main()
