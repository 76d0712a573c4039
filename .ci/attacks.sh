#!/usr/bin/env bash
# Attacks on the example servers (release builds, loopback only): a stalled stderr, signals
# mid-stream, descriptor exhaustion, floods, idle connections, hostile RESP. Each attack is
# one function of .ci/attacks.py, which starts the servers it needs, checks the outcome the
# examples promise and prints one `result:` line. Sizes are bounded for CI; bench/attacks.sh
# runs the same attacks at full size and records the results.
#
# Prints one line per attack, then `N passed, M failed`; exits non-zero if any failed.
# RESULTS=FILE appends each attack's `result:` (or `FAIL:`) line to FILE. ATTACKS="a b"
# runs a subset.
set -euo pipefail
cd "$(dirname "$0")/.."

# Seconds allowed for one attack.
readonly ATTACK_LIMIT=${ATTACK_LIMIT:-120}

passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# check NAME COMMAND...: see .ci/lib.sh.
# shellcheck source=.ci/lib.sh
source .ci/lib.sh

echo "building the examples (release)"
if ! cargo build --release --examples --quiet; then
    echo "FAIL cargo build --release --examples"
    echo "0 passed, 1 failed"
    exit 1
fi
bin=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/release/examples

# attack NAME: runs one attack of attacks.py, bounded in time; records its result line.
attack() {
    local status=0
    TMP=$tmp timeout "$ATTACK_LIMIT" python3 .ci/attacks.py "$bin" "$1" >"$tmp/$1.log" 2>&1 ||
        status=$?
    cat "$tmp/$1.log"
    if [ -n "${RESULTS:-}" ]; then
        sed -n -e "s/^result: /$1: /p" -e "s/^FAIL: /$1: FAIL: /p" "$tmp/$1.log" >>"$RESULTS"
        [ "$status" -ne 124 ] || echo "$1: FAIL: no result within ${ATTACK_LIMIT}s" >>"$RESULTS"
    fi
    [ "$status" -eq 0 ]
}

# kv_expiry's bounds (3 s, 10 ms) are wall-clock times, which a CI machine shared with
# other jobs cannot promise (at a load average of 14 on 2 cores, a PING took 325 ms); here
# they are relaxed, and bench/attacks.sh checks the full ones. What CI checks strictly,
# at the full size of 2,000,000 keys, is that 90 % of the PINGs sent during the purge are
# answered within 10 ms: the sweep that looked at the sockets only between its 25 ms
# cycles kept them at 23 to 24 ms, and passed the relaxed bounds.
export EXPIRY_WAIT_S=${EXPIRY_WAIT_S:-15} PING_LIMIT_MS=${PING_LIMIT_MS:-500}

all="kv_stalled_stderr kv_log_volume echo_sigterm second_signal sigterm_servers seed_emfile
    seed_closed_stdout chat_fast_readers chat_big_room kv_expiry kv_large_argument kv_resp_edges
    kv_idle_flood http_idle_flood timeouts"
for name in ${ATTACKS:-$all}; do
    check "$name" attack "$name"
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
