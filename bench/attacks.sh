#!/usr/bin/env bash
# bench/attacks.sh: the attacks of .ci/attacks.sh at full sizes, with
# redis-server beside kv_server where it applies, measured in one run; writes the results
# to bench/results/attacks-DATE.md, which the "Hardening" table of docs/reliability.md
# quotes.
#
#   bench/attacks.sh                          # about 3 minutes on a 2-core machine
#   BEFORE=<commit> bench/attacks.sh          # also runs the attacks against the examples
#                                             # of <commit> (built in a scratch worktree)
#
# Full sizes: 200,000 unknown commands; 2,000,000 keys with a 100 ms expiry (and 500,000
# with 1-2000 ms); a chat room of 2,000; 60,000 lines; 1,100 idle connections. The
# kv_expiry bounds are the full ones (3 s, 10 ms), not the relaxed ones of CI. Installs
# redis-server with apt-get if missing. Loopback only; every server started is stopped.
set -uo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
cd "$ROOT"

if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing redis-server" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server) \
        >/dev/null 2>&1 || { echo "cannot install redis-server" >&2; exit 1; }
fi

stamp=$(date -u '+%Y-%m-%d %H:%M:%S')
out="$BENCH/results/attacks-$(date -u +%F).md"
raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date +%s)

export REDIS=1 COMMANDS=200000 KEYS=2000000 ROOM=2000 LINES=60000 HOLD=1100 SIZE_MIB=32
export EXPIRY_WAIT_S=3 PING_LIMIT_MS=10 ATTACK_LIMIT=900 CHAT_LIMIT=600

RESULTS="$raw" bash .ci/attacks.sh
status=$?

if [ -n "${BEFORE:-}" ]; then
    before_tree=$(mktemp -d)
    git worktree add -f "$before_tree" "$BEFORE" >/dev/null 2>&1
    echo "the examples of $BEFORE:"
    # Only kv_server's own figures are wanted from the old build (no redis-server again).
    (cd "$before_tree" && cp "$ROOT/.ci/attacks.py" "$ROOT/.ci/attacks.sh" .ci/ &&
        REDIS=0 RESULTS="$raw.before" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}-before" \
            bash .ci/attacks.sh)
    git worktree remove --force "$before_tree"
fi

{
    echo "# Attacks on the example servers, $stamp UTC"
    echo
    echo "Commit $(git rev-parse --short HEAD); $(nproc) CPUs, $(uname -sr);" \
        "$(redis-server --version | cut -d' ' -f1-3); load average before $load_before," \
        "after $(cut -d' ' -f1-3 /proc/loadavg); took $(($(date +%s) - started)) s."
    echo "Sizes: COMMANDS=$COMMANDS KEYS=$KEYS ROOM=$ROOM LINES=$LINES HOLD=$HOLD" \
        "SIZE_MIB=$SIZE_MIB EXPIRY_WAIT_S=$EXPIRY_WAIT_S PING_LIMIT_MS=$PING_LIMIT_MS."
    echo
    echo "One line per attack: its measured result, or \`FAIL:\` and what was measured."
    echo
    sed 's/^/- /' "$raw"
    if [ -s "$raw.before" ]; then
        echo
        echo "The same attacks against the examples of $BEFORE (unfixed):"
        echo
        sed 's/^/- /' "$raw.before"
        rm -f "$raw.before"
    fi
} >>"$out"
echo "results appended to $out"
exit "$status"
