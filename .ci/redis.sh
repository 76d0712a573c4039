#!/usr/bin/env bash
# Tests examples/kv_server with the real Redis clients: `redis-cli` and `redis-benchmark`
# from Debian's redis-tools (installed here with apt-get if missing), plus python3 probes
# (standard library only) for what those clients never send: inline commands typed by
# hand, pipelined bursts, and malformed requests.
#
# Every wait is bounded (`timeout`, socket timeouts, counted retry loops) and every server
# started here is killed on exit. Prints one line per check, then `N passed, M failed`;
# exits non-zero if any check failed.
set -euo pipefail
cd "$(dirname "$0")/.."

# Seconds allowed for one probe, and for the server to print its address.
readonly PROBE_LIMIT=30
readonly START_LIMIT=10

passed=0
failed=0
step_failed=0
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

# check NAME COMMAND...: runs COMMAND, prints one line, counts the result. The command's
# own output is shown only on failure. A check made of several steps fails if any of its
# `expect` steps failed, even when a later step passed: `set -e` does not apply inside a
# command tested by `if`, so each failed `expect` also sets `step_failed`.
check() {
    local name=$1
    shift
    step_failed=0
    if "$@" >"$tmp/check.log" 2>&1 && [ "$step_failed" -eq 0 ]; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        sed 's/^/     | /' "$tmp/check.log"
    fi
}

# start_server [ARG...]: starts kv_server on 127.0.0.1:0 with ARGs (stopping the one
# before, if any) and waits for its first line, `listening on ADDR`. Sets SERVER_PID,
# SERVER_ADDR and PORT.
start_server() {
    local line
    stop_server
    "$bin" 127.0.0.1:0 "$@" >"$tmp/server.out" 2>"$tmp/server.err" &
    SERVER_PID=$!
    for _ in $(seq $((START_LIMIT * 10))); do
        if IFS= read -r line <"$tmp/server.out" && [[ $line == "listening on "* ]]; then
            SERVER_ADDR=${line#listening on }
            PORT=${SERVER_ADDR##*:}
            echo "kv_server listening on $SERVER_ADDR"
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "kv_server exited before listening:"
            cat "$tmp/server.err"
            return 1
        fi
        sleep 0.1
    done
    echo "kv_server printed no address within ${START_LIMIT}s"
    return 1
}

stop_server() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}

alive() {
    kill -0 "$SERVER_PID"
}

# cli ARGS...: redis-cli against the server, with typed output (`(integer) 1`, `(nil)`).
cli() {
    timeout "$PROBE_LIMIT" redis-cli -h 127.0.0.1 -p "$PORT" --no-raw "$@"
}

# expect WANT ARGS...: `cli ARGS...` prints exactly WANT.
expect() {
    local want=$1 got
    shift
    got=$(cli "$@")
    if [ "$got" != "$want" ]; then
        echo "redis-cli $*"
        echo "expected: $want"
        echo "got:      $got"
        step_failed=1
        return 1
    fi
}

# probe STEP: runs a step of the python3 probe below against the server, bounded in time.
probe() {
    timeout "$PROBE_LIMIT" python3 "$tmp/probe.py" "$SERVER_ADDR" "$1"
}

# ---------------------------------------------------------------------------------------
# The checks made with redis-cli and redis-benchmark

ping_and_echo() {
    expect "PONG" PING
    expect '"hello there"' PING "hello there"
    expect '"a b c"' ECHO "a b c"
}

set_get() {
    expect "OK" SET greeting hello
    expect '"hello"' GET greeting
    expect "(nil)" GET missing
    expect "OK" SET greeting "hello again"
    expect '"hello again"' GET greeting
}

set_options() {
    expect "(nil)" SET opt v XX
    expect "OK" SET opt v NX
    expect "(nil)" SET opt w NX
    expect '"v"' SET opt w XX GET
    expect '"w"' GET opt
    expect "(error) ERR syntax error" SET opt v EX 10 PX 10
    expect "(error) ERR invalid expire time in 'set' command" SET opt v EX 0
}

expiry() {
    expect "OK" SET short v PX 300
    expect "OK" SET long v EX 100
    expect '"v"' GET short
    expect "(integer) 100" TTL long
    expect "(integer) -1" TTL greeting
    expect "(integer) -2" TTL missing
    sleep 0.5
    expect "(nil)" GET short
    expect '"v"' GET long
    expect "(integer) 0" EXISTS short
}

del_exists() {
    expect "OK" SET d1 1
    expect "OK" SET d2 2
    expect "(integer) 3" EXISTS d1 d2 d1 missing
    expect "(integer) 2" DEL d1 missing d2
    expect "(integer) 0" DEL d1
    expect "(integer) 0" EXISTS d1 d2
}

incr() {
    expect "(integer) 1" INCR counter
    expect "(integer) 2" INCR counter
    expect '"2"' GET counter
    expect "OK" SET word abc
    expect "(error) ERR value is not an integer or out of range" INCR word
    expect "OK" SET max 9223372036854775807
    expect "(error) ERR increment or decrement would overflow" INCR max
}

unknown_command() {
    expect "(error) ERR unknown command 'FLY', with args beginning with: 'to' 'the moon' " \
        FLY to "the moon"
    # The logger thread writes it a moment later.
    for _ in $(seq 20); do
        grep -q "unknown command: 'FLY'" "$tmp/server.err" && return 0
        sleep 0.1
    done
    echo "not logged"
    return 1
}

# A 1 MiB value goes in through stdin (`-x`) and comes back intact.
large_value() {
    head -c 786432 /dev/urandom | base64 -w0 >"$tmp/big"
    test "$(wc -c <"$tmp/big")" -eq 1048576 || return 1
    expect "OK" -x SET big <"$tmp/big"
    timeout "$PROBE_LIMIT" redis-cli -h 127.0.0.1 -p "$PORT" --raw GET big | head -c 1048576 >"$tmp/big.back"
    cmp "$tmp/big" "$tmp/big.back"
}

# `redis-cli --pipe` sends everything at once (its replies are counted, not read in step),
# then an ECHO to know when the last reply is in.
pipe_mode() {
    local i
    for i in $(seq 10000); do
        printf 'SET pipe:%d %d\r\n' "$i" "$i"
    done >"$tmp/commands"
    timeout "$PROBE_LIMIT" redis-cli -h 127.0.0.1 -p "$PORT" --pipe <"$tmp/commands" >"$tmp/pipe.out"
    cat "$tmp/pipe.out"
    grep -q "errors: 0, replies: 10000" "$tmp/pipe.out" || return 1
    expect '"7777"' GET pipe:7777
}

# Keys that expire and are never read are removed by the sweep: DBSIZE counts them until
# then. Runs first, on a fresh server, so that DBSIZE counts only its keys.
sweep() {
    local i
    expect "(integer) 0" DBSIZE
    {
        for i in $(seq 1000); do printf 'SET exp:%d v PX 100\r\n' "$i"; done
        for i in $(seq 10); do printf 'SET keep:%d v\r\n' "$i"; done
    } >"$tmp/expiring"
    timeout "$PROBE_LIMIT" redis-cli -h 127.0.0.1 -p "$PORT" --pipe <"$tmp/expiring"
    expect "(integer) 1010" DBSIZE
    # The sweep runs every 100 ms: within a few seconds, only the 10 lasting keys remain.
    for _ in $(seq 50); do
        [ "$(cli DBSIZE)" = "(integer) 10" ] && return 0
        sleep 0.1
    done
    echo "DBSIZE after 5 s: $(cli DBSIZE)"
    return 1
}

# redis-benchmark runs unmodified (it starts with CONFIG GET) and every test gets replies.
benchmark() {
    timeout 120 redis-benchmark -h 127.0.0.1 -p "$PORT" -t ping,set,get -n 20000 -c 20 --csv \
        >"$tmp/bench.csv" 2>"$tmp/bench.err"
    cat "$tmp/bench.csv" "$tmp/bench.err"
    # Anything on stderr (such as "WARNING: Could not fetch server CONFIG") is a failure.
    test ! -s "$tmp/bench.err" || return 1
    python3 - "$tmp/bench.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
tests = {row["test"]: float(row["rps"]) for row in rows}
want = {"PING_INLINE", "PING_MBULK", "SET", "GET"}
if set(tests) != want:
    sys.exit(f"tests run: {sorted(tests)}, expected {sorted(want)}")
for test, rps in tests.items():
    if not rps > 0:
        sys.exit(f"{test}: {rps} requests per second")
EOF
}

# The same with 16 requests pipelined per connection (`-P 16`).
benchmark_pipelined() {
    timeout 120 redis-benchmark -h 127.0.0.1 -p "$PORT" -t set,get -n 20000 -c 20 -P 16 --csv \
        >"$tmp/bench.csv"
    cat "$tmp/bench.csv"
    grep -c '^"\(SET\|GET\)","[1-9]' "$tmp/bench.csv" | grep -qx 2
}

# `--spin` takes a number of microseconds, and nothing else.
bad_spin() {
    if timeout 10 "$bin" 127.0.0.1:0 --spin soon >"$tmp/bad.out" 2>"$tmp/bad.err"; then
        echo "kv_server --spin soon started"
        return 1
    fi
    cat "$tmp/bad.err"
    grep -q -- "--spin needs a number of microseconds" "$tmp/bad.err"
}

# ---------------------------------------------------------------------------------------
# The python3 probes: raw bytes on a socket.

cat >"$tmp/probe.py" <<'EOF'
import socket, sys

addr, step = sys.argv[1], sys.argv[2]
host, port = addr.rsplit(":", 1)


def connect():
    s = socket.create_connection((host, int(port)), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_until_closed(s):
    """Everything the server sends until it closes the connection."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            return data
        except socket.timeout:
            sys.exit(f"the server did not close the connection; got {data!r}")
        if not chunk:
            return data
        data += chunk


def read_exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            sys.exit(f"connection closed after {data!r}")
        data += chunk
    return data


def expect(got, want, what):
    if got != want:
        sys.exit(f"{what}: expected {want!r}, got {got!r}")


if step == "inline":
    # What a person types in nc or telnet, one line per request.
    s = connect()
    s.sendall(b"PING\r\n")
    expect(read_exactly(s, 7), b"+PONG\r\n", "inline PING")
    s.sendall(b"SET  typed   by-hand\r\nGET typed\n\r\nEXISTS typed\r\n")
    want = b"+OK\r\n$7\r\nby-hand\r\n:1\r\n"
    expect(read_exactly(s, len(want)), want, "inline SET, GET (bare \\n), blank line, EXISTS")

elif step == "pipelined":
    # 1000 requests in one send, some split across two sends mid-argument: replies come
    # back complete and in order.
    s = connect()
    requests, want = b"", b""
    for i in range(1000):
        key, value = b"p%d" % i, b"v%d" % i
        requests += b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(value), value)
        requests += b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(key), key)
        want += b"+OK\r\n$%d\r\n%s\r\n" % (len(value), value)
    half = len(requests) // 2 + 3
    s.sendall(requests[:half])
    s.sendall(requests[half:])
    expect(read_exactly(s, len(want)), want, "1000 pipelined SET+GET")

elif step == "quit":
    s = connect()
    s.sendall(b"PING\r\nQUIT\r\nPING\r\n")
    expect(read_until_closed(s), b"+PONG\r\n+OK\r\n", "QUIT closes after its +OK")

elif step == "malformed":
    # Each malformed request, after a good one, on its own connection: the good one's
    # reply, then a protocol error, then the connection closes.
    cases = [
        (b"*1\r\n!4\r\nPING\r\n", b"expected '$', got '!'"),
        (b"*x\r\n", b"invalid multibulk length"),
        (b"*2147483648\r\n", b"invalid multibulk length"),  # too many arguments
        (b"*1\r\n$-5\r\n", b"invalid bulk length"),
        (b"*1\r\n$abc\r\n", b"invalid bulk length"),
        (b"*1\r\n$04\r\n", b"invalid bulk length"),  # a leading zero
        (b"*1\r\n$1000000000\r\n", b"invalid bulk length"),  # longer than 512 MiB
        (b"*1\n$4\r\nPING\r\n", b"invalid multibulk length"),
        (b"GET " + b"k" * 70000, b"too big inline request"),  # no newline in 64 KiB
    ]
    for request, message in cases:
        s = connect()
        s.sendall(b"PING\r\n" + request)
        want = b"+PONG\r\n-ERR Protocol error: " + message + b"\r\n"
        expect(read_until_closed(s), want, f"reply to {request[:40]!r}")
        s.close()
    # The server is still there for everyone else.
    s = connect()
    s.sendall(b"PING\r\n")
    expect(read_exactly(s, 7), b"+PONG\r\n", "PING after the malformed requests")

elif step == "garbage":
    # Random bytes (a fixed seed: the same every run) never crash the server; each
    # connection ends with the server closing it or with the bytes used up.
    import random
    rng = random.Random(6)
    for _ in range(200):
        s = connect()
        s.settimeout(0.5)
        alphabet = b"*$:+-\r\n0123456789-abcPING "
        blob = bytes(rng.choice(alphabet) for _ in range(rng.randrange(1, 200)))
        try:
            s.sendall(blob)
            s.shutdown(socket.SHUT_WR)
            while s.recv(65536):
                pass
        except (ConnectionResetError, BrokenPipeError, socket.timeout):
            pass
        s.close()
    s = connect()
    s.sendall(b"PING\r\n")
    expect(read_exactly(s, 7), b"+PONG\r\n", "PING after 200 garbage connections")

else:
    sys.exit(f"unknown step {step}")
EOF

# ---------------------------------------------------------------------------------------

if ! command -v redis-cli >/dev/null || ! command -v redis-benchmark >/dev/null; then
    echo "installing redis-tools"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-tools) \
        >"$tmp/apt.log" 2>&1 || {
        cat "$tmp/apt.log"
        echo "FAIL install redis-tools"
        echo "0 passed, 1 failed"
        exit 1
    }
fi
echo "using $(redis-cli --version)"

echo "building kv_server"
if ! cargo build --example kv_server --quiet; then
    echo "FAIL cargo build --example kv_server"
    echo "0 passed, 1 failed"
    exit 1
fi
bin=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/examples/kv_server

check "kv_server starts" start_server
check "expired keys nobody reads are swept" sweep
check "PING, PING msg, ECHO" ping_and_echo
check "SET and GET" set_get
check "SET NX, XX, GET and bad options" set_options
check "EX and PX expiry, TTL" expiry
check "DEL and EXISTS with several keys" del_exists
check "INCR, and its errors on non-integers and overflow" incr
check "unknown commands get Redis's error and are logged" unknown_command
check "a 1 MiB value round-trips" large_value
check "redis-cli --pipe: 10000 commands" pipe_mode
check "inline commands, as typed in nc" probe inline
check "pipelined requests, split mid-argument" probe pipelined
check "QUIT replies, then closes" probe quit
check "malformed RESP gets an error, then a close" probe malformed
check "random bytes do not crash the server" probe garbage
check "redis-benchmark -t ping,set,get runs unmodified" benchmark
check "redis-benchmark -P 16" benchmark_pipelined
check "kv_server survives all of the above" alive
# The same server with the runtime spinning before it sleeps (`--spin`, src/driver/spin.rs).
check "kv_server --spin 50 starts" start_server --spin 50
check "PING, PING msg, ECHO, with --spin 50" ping_and_echo
check "redis-benchmark, with --spin 50" benchmark
check "redis-benchmark -P 16, with --spin 50" benchmark_pipelined
check "kv_server --spin 50 survives them" alive
check "--spin without a number is refused" bad_spin

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
