#!/usr/bin/env bash
# Smoke test of examples/chat_server.rs: builds it, starts it on a free loopback port and
# drives it with python3 clients (standard library only): a line reaches every other
# client, joins and departures are announced, an over-long line closes only its sender,
# and a client that stops reading is dropped after 5 s, then the others go on.
#
# Every wait is bounded (`timeout`, socket timeouts, counted retry loops) and the server
# is killed on exit. Prints one line per check, then `N passed, M failed`; exits non-zero
# if any check failed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Seconds allowed for one probe, and for the server to print its address.
readonly PROBE_LIMIT=30
readonly START_LIMIT=10

passed=0
failed=0
SERVER_PID=""
tmp=$(mktemp -d)

cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# check NAME COMMAND...: see .ci/lib.sh.
# shellcheck source=.ci/lib.sh
source .ci/lib.sh

# start_server: starts chat_server on 127.0.0.1:0 and waits for its first line,
# `listening on ADDR`. Sets SERVER_PID and SERVER_ADDR.
start_server() {
    local line
    "$bin" 127.0.0.1:0 >"$tmp/server.out" 2>"$tmp/server.err" &
    SERVER_PID=$!
    for _ in $(seq $((START_LIMIT * 10))); do
        if IFS= read -r line <"$tmp/server.out" && [[ $line == "listening on "* ]]; then
            SERVER_ADDR=${line#listening on }
            echo "chat_server listening on $SERVER_ADDR"
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "chat_server exited before listening:"
            cat "$tmp/server.err"
            return 1
        fi
        sleep 0.1
    done
    echo "chat_server printed no address within ${START_LIMIT}s"
    return 1
}

alive() {
    kill -0 "$SERVER_PID"
}

# probe NAME: runs the python3 probe NAME (below) against the server, bounded in time.
probe() {
    timeout "$PROBE_LIMIT" python3 "$tmp/chat_probe.py" "$SERVER_ADDR" "$1"
}

cat >"$tmp/chat_probe.py" <<'EOF'
import socket, sys

addr, step = sys.argv[1], sys.argv[2]
host, port = addr.rsplit(":", 1)


class Client:
    def __init__(self, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            # Before connect, so the window the server sees is small from the start.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect((host, int(port)))
        self.name = "%s:%d" % self.sock.getsockname()
        self.pending = b""

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        """The next line, without its newline; fails on end of file or timeout."""
        while b"\n" not in self.pending:
            chunk = self.sock.recv(65536)
            if not chunk:
                sys.exit(f"{self.name}: connection closed; unread: {self.pending[:200]!r}")
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode()

    def expect(self, want):
        got = self.line()
        if got != want:
            sys.exit(f"{self.name}: expected {want!r}, got {got!r}")

    def wait_for(self, want, limit=100000):
        """Skips lines until `want` (bounded by `limit` lines)."""
        for _ in range(limit):
            if self.line() == want:
                return
        sys.exit(f"{self.name}: {want!r} not among {limit} lines")

    def expect_silence(self):
        self.sock.settimeout(0.3)
        try:
            extra = self.pending or self.sock.recv(4096)
        except socket.timeout:
            extra = b""
        finally:
            self.sock.settimeout(10)
        if extra:
            sys.exit(f"{self.name}: unexpected {extra!r}")

    def expect_closed(self):
        """Reads until end of file (or a reset), within the socket timeout."""
        try:
            while self.sock.recv(65536):
                pass
        except ConnectionResetError:
            pass
        except socket.timeout:
            sys.exit(f"{self.name}: the server did not close the connection")


def join(*existing):
    """A new client; checks its welcome and that every existing client saw it join."""
    c = Client()
    c.expect(f"* welcome {c.name}, {len(existing)} other(s) here")
    for e in existing:
        e.expect(f"* {c.name} joined")
    return c


if step == "broadcast":
    a = join()
    b = join(a)
    c = join(a, b)
    a.send(b"hello from a\n")
    b.expect(f"{a.name}: hello from a")
    c.expect(f"{a.name}: hello from a")
    a.expect_silence()  # no echo to the sender
    # Two lines in one send, the second split across sends, a CRLF line ending.
    b.send(b"one\ntw")
    a.expect(f"{b.name}: one")
    c.expect(f"{b.name}: one")
    b.send(b"o\r\n")
    a.expect(f"{b.name}: two")
    c.expect(f"{b.name}: two")
    # Leaving is announced to those who stay.
    c.sock.close()
    a.expect(f"* {c.name} left")
    b.expect(f"* {c.name} left")

elif step == "too-long":
    a = join()
    b = join(a)
    b.send(b"x" * 9000 + b"\n")
    b.expect("* line too long (limit 8192 bytes), closing")
    b.expect_closed()
    a.expect(f"* {b.name} left")
    # The rest of the room goes on.
    c = join(a)
    c.send(b"still here\n")
    a.expect(f"{c.name}: still here")
    # A line of exactly the limit is fine.
    c.send(b"y" * 8192 + b"\n")
    a.expect(f"{c.name}: " + "y" * 8192)

elif step == "slow-client":
    # `slow` never reads. `fast` talks until the server has more than 1 MiB queued for
    # `slow` (beyond what the kernel buffers hold); the room stops reading (so `fast`'s
    # sends stall) until, 5 s later with no progress, `slow` is dropped; `fast` hears it
    # leave.
    fast = join()
    slow = Client(rcvbuf=4096)
    slow_name = slow.name
    fast.expect(f"* {slow_name} joined")
    line = b"z" * 4000 + b"\n"
    for _ in range(5000):  # 20 MB, far more than the buffers and the queue limit
        fast.send(line)
    fast.wait_for(f"* {slow_name} left", limit=10)
    # `slow` gets what was in flight, then the end of the connection.
    slow.expect_closed()
    # The room still works. The server may still be relaying the end of the flood, which
    # `other` (joined meanwhile) also receives: skip those lines until ours arrives.
    other = join(fast)
    fast.send(b"after\n")
    other.wait_for(f"{fast.name}: after")

else:
    sys.exit(f"unknown step {step}")
EOF

echo "building chat_server"
if ! cargo build --example chat_server --quiet; then
    echo "FAIL cargo build --example chat_server"
    echo "0 passed, 1 failed"
    exit 1
fi
bin=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/examples/chat_server

check "chat_server starts" start_server
check "a line reaches the two other clients; leaving is announced" probe broadcast
check "an over-long line closes only its sender" probe too-long
check "a client that stops reading is dropped; the room goes on" probe slow-client
check "chat_server survives all of the above" alive

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
