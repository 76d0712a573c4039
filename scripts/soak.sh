#!/usr/bin/env bash
# Soak test of the echo server: churns connections against the release build of
# examples/echo_server for DURATION seconds (ten minutes by default), samples the server's
# resident memory (RSS) and open descriptors every SAMPLE seconds, prints them as a table,
# and fails if either grows after warm-up, or if a single echo comes back wrong.
#
# Not run by CI: it takes ten minutes. Loopback only; every loop ends at DURATION.
#
#   scripts/soak.sh                  # 10 minutes
#   DURATION=60 scripts/soak.sh      # one minute
#
# Settings (environment): DURATION (s, 600), SAMPLE (s, 10), WARMUP (s, 20: the first
# sample at or after it is the reference), CLIENTS (client threads, 16), RSS_SLACK_KIB
# (RSS growth allowed over the reference, 1024 KiB or 5 % of it, whichever is larger).
#
# Each client thread loops: connect, then one of
#   - 8 in 10: one to three round trips of 1 byte to 16 KiB, each echo checked, then close;
#   - 1 in 10: send, shut down its writing half, read the whole echo and end of file;
#   - 1 in 10: send, then reset (SO_LINGER 0) without reading the echo.
# Each holds one connection at a time, so the server never has more than CLIENTS clients.
# At the end the clients stop, the server must be back to the descriptors it had before
# the first client, and it must exit with status 0 on Ctrl-C (graceful shutdown).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-600}
SAMPLE=${SAMPLE:-10}
WARMUP=${WARMUP:-20}
CLIENTS=${CLIENTS:-16}
RSS_SLACK_KIB=${RSS_SLACK_KIB:-1024}

tmp=$(mktemp -d)
server_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "==> cargo build --release --example echo_server"
cargo build --release --example echo_server --quiet
bin="${CARGO_TARGET_DIR:-target}/release/examples/echo_server"

"$bin" 127.0.0.1:0 >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
addr=""
for _ in $(seq 100); do
    if IFS= read -r line <"$tmp/server.out" && [[ $line == "listening on "* ]]; then
        addr=${line#listening on }
        break
    fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/server.err"; exit 1; }
    sleep 0.1
done
[ -n "$addr" ] || { echo "the server printed no address"; exit 1; }
echo "==> echo_server (pid $server_pid) on $addr; ${DURATION}s with $CLIENTS client threads"

cat >"$tmp/churn.py" <<'EOF'
import os, random, socket, struct, sys, threading, time

addr, pid = sys.argv[1], int(sys.argv[2])
duration, sample, warmup, clients, slack_kib = map(int, sys.argv[3:8])
host, port = addr.rsplit(":", 1)
port = int(port)

def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")

def fds():
    return len(os.listdir(f"/proc/{pid}/fd"))

def recv_exactly(s, n):
    data = bytearray()
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError(f"end of file after {len(data)} of {n} bytes")
        data += chunk
    return bytes(data)

lock = threading.Lock()
totals = {"connections": 0, "round_trips": 0, "half_closes": 0, "resets": 0, "bytes": 0}
errors = []
stop_at = time.monotonic() + duration

def client(seed):
    rng = random.Random(seed)
    mine = dict.fromkeys(totals, 0)
    while time.monotonic() < stop_at and not errors:
        kind = rng.randrange(10)
        try:
            s = socket.create_connection((host, port), timeout=10)
        except OSError as e:
            # Out of local ports (every one in TIME_WAIT) is the client's limit, not a
            # server fault: wait for ports to free up.
            if e.errno == 99:  # EADDRNOTAVAIL
                time.sleep(0.01)
                continue
            with lock:
                errors.append(f"connect: {e!r}")
            return
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            payload = rng.randbytes(rng.randint(1, 16 << 10))
            if kind < 8:
                for _ in range(rng.randint(1, 3)):
                    s.sendall(payload)
                    if recv_exactly(s, len(payload)) != payload:
                        raise ValueError("echo differs")
                    mine["round_trips"] += 1
                    mine["bytes"] += len(payload)
                s.close()
            elif kind == 8:
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
                echoed = recv_exactly(s, len(payload))
                if echoed != payload or s.recv(1) != b"":
                    raise ValueError("half-close echo differs or does not end")
                mine["half_closes"] += 1
                mine["bytes"] += len(payload)
                s.close()
            else:
                s.sendall(payload)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                s.close()
                mine["resets"] += 1
            mine["connections"] += 1
        except Exception as e:
            s.close()
            with lock:
                errors.append(f"client {seed}: {e!r}")
            return
    with lock:
        for k, v in mine.items():
            totals[k] += v

idle_fds, idle_rss = fds(), rss_kib()
print(f"idle before the clients: {idle_fds} descriptors, {idle_rss} KiB RSS")
threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
start = time.monotonic()
for t in threads:
    t.start()

print(f"{'time':>6} {'RSS KiB':>9} {'fds':>5}")
samples = []
next_sample = start + sample
while time.monotonic() < stop_at and not errors:
    time.sleep(max(0.0, min(next_sample, stop_at) - time.monotonic()))
    if time.monotonic() >= next_sample:
        row = (round(time.monotonic() - start), rss_kib(), fds())
        samples.append(row)
        print(f"{row[0]:>5}s {row[1]:>9} {row[2]:>5}", flush=True)
        next_sample += sample
for t in threads:
    t.join()
elapsed = time.monotonic() - start

# The server closes each connection when its client does; give it a moment.
for _ in range(50):
    if fds() == idle_fds:
        break
    time.sleep(0.1)
end_fds, end_rss = fds(), rss_kib()
print(f"after the clients: {end_fds} descriptors, {end_rss} KiB RSS")
print(f"{totals['connections']} connections in {elapsed:.0f}s "
      f"({totals['connections'] / elapsed:.0f}/s): {totals['round_trips']} checked round trips, "
      f"{totals['half_closes']} half-closes, {totals['resets']} resets, "
      f"{totals['bytes'] / 2**20:.0f} MiB echoed")

failures = list(errors)
after_warmup = [row for row in samples if row[0] >= warmup]
if not after_warmup:
    failures.append(f"no sample after the {warmup}s warm-up: run longer")
else:
    reference = after_warmup[0][1]
    allowed = max(slack_kib, reference // 20)
    top = max(row[1] for row in after_warmup)
    print(f"RSS after warm-up: {reference} KiB at first, {top} KiB at most "
          f"(allowed: +{allowed} KiB)")
    if top > reference + allowed:
        failures.append(f"RSS grew from {reference} to {top} KiB after warm-up")
for t, _, n in samples:
    if n > idle_fds + 2 * clients:
        failures.append(f"{n} descriptors at {t}s, with at most {clients} clients connected")
if end_fds != idle_fds:
    failures.append(f"{end_fds} descriptors after the clients left, {idle_fds} before")
if totals["connections"] == 0:
    failures.append("no connection completed")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
EOF

status=0
python3 "$tmp/churn.py" "$addr" "$server_pid" "$DURATION" "$SAMPLE" "$WARMUP" "$CLIENTS" \
    "$RSS_SLACK_KIB" || status=$?

# Ctrl-C: the server shuts down gracefully and exits 0.
kill -INT "$server_pid"
exit_status=0
wait "$server_pid" || exit_status=$?
server_pid=""
if [ "$exit_status" -ne 0 ]; then
    echo "FAIL: the server exited with status $exit_status after Ctrl-C"
    cat "$tmp/server.err"
    status=1
fi
if [ "$status" -eq 0 ]; then
    echo "soak: PASS"
else
    echo "soak: FAIL"
fi
exit "$status"
