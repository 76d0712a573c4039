#!/usr/bin/env bash
# Smoke test of the examples: builds them, starts each server on a free loopback port and
# talks to it with a small python3 probe (standard library only).
#
# Every wait is bounded (`timeout`, socket timeouts, counted retry loops) and every server
# started here is killed on exit. Prints one line per check, then `N passed, M failed`;
# exits non-zero if any check failed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Seconds allowed for one probe, and for a server to print its address.
readonly PROBE_LIMIT=20
readonly START_LIMIT=10

passed=0
failed=0
pids=()
tmp=$(mktemp -d)

cleanup() {
    local pid
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# check NAME COMMAND...: see .ci/lib.sh.
# shellcheck source=.ci/lib.sh
source .ci/lib.sh

# start_server NAME: starts examples/NAME on 127.0.0.1:0 and waits for its first line,
# `listening on ADDR`. Sets SERVER_PID and SERVER_ADDR. (start_command NAME PROGRAM...
# does the same for any program that takes the address last.)
start_server() {
    local name=$1
    shift
    start_command "$name" "$bin/$name" 127.0.0.1:0 "$@"
}

start_command() {
    local name=$1 line
    shift
    SERVER_ADDR=""
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    SERVER_PID=$!
    pids+=("$SERVER_PID")
    for _ in $(seq $((START_LIMIT * 10))); do
        # `read` fails until a whole line (with its newline) is there.
        if IFS= read -r line <"$tmp/$name.out" && [[ $line == "listening on "* ]]; then
            SERVER_ADDR=${line#listening on }
            echo "$name listening on $SERVER_ADDR"
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "$name exited before listening:"
            cat "$tmp/$name.err"
            return 1
        fi
        sleep 0.1
    done
    echo "$name printed no address within ${START_LIMIT}s"
    return 1
}

# stop_server: kills the last server started.
stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
}

# alive: whether the last server started still runs.
alive() {
    kill -0 "$SERVER_PID"
}

# client_refused ADDR: echo_client, pointed at a closed port, exits non-zero in time and
# says why.
client_refused() {
    local status=0
    timeout "$PROBE_LIMIT" "$bin/echo_client" "$1" 2>"$tmp/client.err" || status=$?
    cat "$tmp/client.err"
    # 124 is timeout's own status: the client hung.
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ] && grep -q "cannot connect" "$tmp/client.err"
}

# probe SCRIPT ARGS...: runs a python3 probe from the heredoc below, bounded in time.
# After SIGINT the echo server refuses new clients, ends a live one's connection after its
# echoes, and exits with status 0 once that client leaves.
graceful_shutdown() {
    timeout "$PROBE_LIMIT" python3 "$tmp/echo_graceful.py" "$SERVER_ADDR" "$SERVER_PID" || return 1
    local status=0
    for _ in $(seq 100); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    wait "$SERVER_PID" || status=$?
    echo "exit status $status"
    [ "$status" -eq 0 ]
}

# trace_json FILE PID TRACK...: FILE, written with EPOLL_RT_TRACE=FILE by process PID, is
# valid JSON (python's json.load) in Chrome trace format: every event has PID as its pid
# and a tid that a `thread_name` metadata event ("ph":"M") names, and a track is named
# "epoll-rt runtime, thread TRACK" for each TRACK given.
trace_json() {
    python3 - "$@" <<'EOF'
import json, sys
path, pid, wanted = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
events = json.load(open(path))
names = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
assert all(e["pid"] == pid for e in events), "an event with another pid than %d" % pid
assert all(e["tid"] in names for e in events), "an event on an unnamed track"
for track in wanted:
    assert "epoll-rt runtime, thread " + track in names.values(), (track, names)
print(len(events), "events on", len(names), "named tracks:", sorted(names.values()))
EOF
}

# traced_program NAME TRACK...: runs examples/NAME with EPOLL_RT_TRACE set and checks its
# trace file with trace_json.
traced_program() {
    local name=$1 pid status=0
    shift
    EPOLL_RT_TRACE="$tmp/$name.json" "$bin/$name" >/dev/null &
    pid=$!
    pids+=("$pid")
    for _ in $(seq $((PROBE_LIMIT * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    wait "$pid" || status=$?
    [ "$status" -eq 0 ] || return 1
    trace_json "$tmp/$name.json" "$pid" "$@"
}

probe() {
    local script=$1
    shift
    timeout "$PROBE_LIMIT" python3 "$tmp/$script.py" "$SERVER_ADDR" "$@"
}

# ---------------------------------------------------------------------------------------
# The probes. Each takes the server address first and exits 0 on success.

cat >"$tmp/common.py" <<'EOF'
import socket, sys

def connect(addr):
    host, port = addr.rsplit(":", 1)
    s = socket.create_connection((host, int(port)), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s

def recv_exactly(s, n):
    """Reads exactly n bytes (socket timeout applies to each recv); fails on early EOF."""
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            sys.exit(f"connection closed after {len(data)} of {n} bytes: {data!r}")
        data += chunk
    return data

def expect(got, want, what):
    if got != want:
        sys.exit(f"{what}: expected {want!r}, got {got!r}")

def expect_silence(s, what):
    """Nothing more arrives within a short while (a late extra byte would be a bug)."""
    s.settimeout(0.2)
    try:
        extra = s.recv(4096)
    except socket.timeout:
        return
    finally:
        s.settimeout(5)
    sys.exit(f"{what}: unexpected extra bytes {extra!r}")
EOF

# seed_echo ADDR MESSAGE: one client sends MESSAGE, checks the echo, closes.
cat >"$tmp/echo_graceful.py" <<'EOF'
import os, signal, sys, time
from common import connect, expect, recv_exactly

addr, pid = sys.argv[1], int(sys.argv[2])
live = connect(addr)
live.sendall(b"before")
expect(recv_exactly(live, 6), b"before", "echo before Ctrl-C")
os.kill(pid, signal.SIGINT)
time.sleep(0.3)
try:
    connect(addr)
    sys.exit("a new client was accepted after Ctrl-C")
except ConnectionRefusedError:
    pass
# The connection ends: its echoes were all sent, now end of file.
expect(live.recv(16), b"", "end of file after Ctrl-C")
live.close()
EOF

cat >"$tmp/seed_echo.py" <<'EOF'
import sys
sys.path.insert(0, sys.argv[0].rsplit("/", 1)[0])
from common import *
message = sys.argv[2].encode()
s = connect(sys.argv[1])
s.sendall(message)
expect(recv_exactly(s, len(message)), message, "echo")
s.sendall(message + message)
expect(recv_exactly(s, 2 * len(message)), message + message, "second echo")
s.close()
EOF

# seed_idle PID: after its clients closed, the server does not spin (the tutorial's bug:
# a closed client left registered is reported readable at every poll). Measures CPU time
# over one second; a spinning loop would use all of it, an idle one almost none.
cat >"$tmp/seed_idle.py" <<'EOF'
import os, sys, time
def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime
pid = sys.argv[2]
time.sleep(0.2)
before = cpu_ticks(pid)
time.sleep(1.0)
used = cpu_ticks(pid) - before
hz = os.sysconf("SC_CLK_TCK")
if used > hz // 2:
    sys.exit(f"server used {used} of {hz} ticks in one idle second: it is spinning")
EOF

# http_hello: one request, three pipelined in one send, then one more on the same
# (kept-alive) connection; and a request split inside its `\r\n\r\n`.
cat >"$tmp/http_keepalive.py" <<'EOF'
import sys, time
sys.path.insert(0, sys.argv[0].rsplit("/", 1)[0])
from common import *
REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, world!"
s = connect(sys.argv[1])
step = sys.argv[2]
if step == "one":
    s.sendall(REQUEST)
    expect(recv_exactly(s, len(RESPONSE)), RESPONSE, "response")
    expect_silence(s, "after one request")
elif step == "pipelined":
    s.sendall(REQUEST)
    expect(recv_exactly(s, len(RESPONSE)), RESPONSE, "first response")
    s.sendall(REQUEST * 3)
    expect(recv_exactly(s, 3 * len(RESPONSE)), RESPONSE * 3, "3 pipelined responses")
    expect_silence(s, "after 3 pipelined requests")
    s.sendall(REQUEST)
    expect(recv_exactly(s, len(RESPONSE)), RESPONSE, "keep-alive response")
elif step == "split":
    # Cut inside the final "\r\n\r\n", with a pause so the server sees two reads.
    s.sendall(REQUEST[:-1])
    time.sleep(0.1)
    expect_silence(s, "after a partial request")
    s.sendall(REQUEST[-1:] + REQUEST[:5])
    expect(recv_exactly(s, len(RESPONSE)), RESPONSE, "response to the split request")
    s.sendall(REQUEST[5:])
    expect(recv_exactly(s, len(RESPONSE)), RESPONSE, "response to the next request")
s.close()
EOF

# http_oversized ADDR: headers that never end are cut off after the 64 KiB limit.
cat >"$tmp/http_oversized.py" <<'EOF'
import socket, sys
sys.path.insert(0, sys.argv[0].rsplit("/", 1)[0])
from common import *
s = connect(sys.argv[1])
try:
    s.sendall(b"GET / HTTP/1.1\r\n" + b"X-Filler: " + b"a" * (100 * 1024))
    data = s.recv(4096)
except (ConnectionResetError, BrokenPipeError):
    data = b""  # closed with our bytes unread: the kernel answers with a reset
except socket.timeout:
    sys.exit("the server kept a 100 KiB header open")
expect(data, b"", "reply to an oversized header")
EOF

# ---------------------------------------------------------------------------------------

echo "building the examples"
if ! cargo build --examples --quiet; then
    echo "FAIL cargo build --examples"
    echo "0 passed, 1 failed"
    exit 1
fi
passed=$((passed + 1))
echo "ok   cargo build --examples"
bin=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/examples

# seed_server: echo, survive a client's close, serve the next client, stay idle.
check "seed_server starts" start_server seed_server
check "seed_server echoes a client" probe seed_echo "hello, seed"
check "seed_server survives the client's close" alive
check "seed_server serves a second client" probe seed_echo "second client"
check "seed_server serves echo_client" timeout "$PROBE_LIMIT" "$bin/echo_client" "$SERVER_ADDR"
check "seed_server prints what clients send" grep -q "hello, seed" "$tmp/seed_server.out"
check "seed_server idles after clients close" probe seed_idle "$SERVER_PID"
stop_server

# The same server in Python (guide chapter 6), checked the same way.
check "seed_server_fixed.py starts" start_command seed_server_fixed.py \
    python3 docs/guide/python/seed_server_fixed.py 127.0.0.1:0
check "seed_server_fixed.py echoes a client" probe seed_echo "hello, python"
check "seed_server_fixed.py serves a second client" probe seed_echo "second client"
check "seed_server_fixed.py prints what clients send" grep -q "hello, python" "$tmp/seed_server_fixed.py.out"
check "seed_server_fixed.py idles after clients close" probe seed_idle "$SERVER_PID"
stop_server

# echo_server + echo_client.
check "echo_server starts" start_server echo_server
check "echo_client gets 5 echoes" timeout "$PROBE_LIMIT" "$bin/echo_client" "$SERVER_ADDR"
check "echo_client gets 200 echoes" timeout "$PROBE_LIMIT" "$bin/echo_client" "$SERVER_ADDR" 200
check "echo_server shuts down gracefully on Ctrl-C" graceful_shutdown
stop_server
# With the server gone, the client must fail with a message, not hang.
check "echo_client fails cleanly without a server" client_refused "$SERVER_ADDR"
# Traced: EPOLL_RT_TRACE=FILE, three runtimes (main, and one per thread) in one file.
export EPOLL_RT_TRACE="$tmp/echo_server.json"
check "echo_server --threads 2 starts" start_server echo_server --threads 2
unset EPOLL_RT_TRACE
check "echo_server --threads 2 serves 200 echoes" timeout "$PROBE_LIMIT" "$bin/echo_client" "$SERVER_ADDR" 200
check "echo_server --threads 2 shuts down gracefully on Ctrl-C" graceful_shutdown
check "echo_server --threads 2: EPOLL_RT_TRACE=FILE is one valid Chrome trace" \
    trace_json "$tmp/echo_server.json" "$SERVER_PID" main epoll-rt-0 epoll-rt-1
stop_server

# http_hello.
check "http_hello starts" start_server http_hello
check "http_hello answers one request" probe http_keepalive one
check "http_hello answers pipelined and kept-alive requests" probe http_keepalive pipelined
check "http_hello waits for a split request" probe http_keepalive split
check "http_hello closes an oversized request" probe http_oversized
check "http_hello survives all of the above" alive
stop_server

# The readiness examples, one per socket type: each asserts what it prints and exits 0.
for name in readiness_tcp readiness_unix readiness_udp readiness_unix_datagram; do
    check "$name runs" timeout "$PROBE_LIMIT" "$bin/$name"
done

# The guide's programs (docs/guide/), and the solutions to its exercises: each checks its
# own claims and exits 0 if they hold.
for src in examples/guide_ch*.rs examples/guide_ex*.rs; do
    name=$(basename "$src" .rs)
    check "$name runs as the guide says" timeout "$PROBE_LIMIT" "$bin/$name"
done
check "guide_ch03_futures: EPOLL_RT_TRACE=FILE is one valid Chrome trace of both runtimes" \
    traced_program guide_ch03_futures main
check "docs/tools/trace_svg.py draws the guide's timeline picture from its committed trace" bash -c \
    "python3 docs/tools/trace_svg.py docs/guide/img/echo-session-trace.json | cmp - docs/guide/img/echo-session-timeline.svg"
check "EPOLL_RT_TRACE=1 prints the loop (guide chapter 10)" bash -c \
    "EPOLL_RT_TRACE=1 timeout $PROBE_LIMIT '$bin/guide_ch10_one_client' 2>&1 >/dev/null | grep -q 'epoll_wait('"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
