#!/usr/bin/env bash
# bench/lateness.sh: how late a sleep wakes, on epoll-rt and on tokio current_thread, at
# nice 0 and at nice 19 (the kernel adds more slack to a niced process's waits).
#
#   bench/lateness.sh                    # about a minute once built
#   SLEEPERS=200 ROUNDS=5 bench/lateness.sh
#
# It builds the bench crate's `lateness` binary (src/bin/lateness.rs: sleeps of 100 µs,
# 1 ms, 10 ms, 100 ms and 1 s, SLEEPERS concurrent sleepers, each with a thread and runtime
# of its own, doing ROUNDS sleeps each; both runtimes in one process, and plain sleeping
# threads as the floor), runs it once at each nice value, and appends a Markdown table of
# p50 / p99 / max lateness and early wakes to bench/results/lateness-<date>.md, which also
# records the machine, the kernel and the load average.
#
# Timer precision is what a busy machine spoils first, so the script waits for a quiet
# one: while the 1-minute load average is above MAX_LOAD, it waits 60 s, at most
# WAIT_TRIES times, then runs anyway and says so in the results.
#
# Settings (environment variables, defaults in brackets):
#   SLEEPERS [200]   concurrent sleepers per length
#   ROUNDS [5]       sleeps per sleeper
#   NICES ["0 19"]   nice values to run at
#   MAX_LOAD [1.5]   the 1-minute load average to wait for
#   WAIT_TRIES [10]  how many times to wait 60 s for it

set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
SLEEPERS=${SLEEPERS:-200}
ROUNDS=${ROUNDS:-5}
NICES=${NICES:-"0 19"}
MAX_LOAD=${MAX_LOAD:-1.5}
WAIT_TRIES=${WAIT_TRIES:-10}

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

load1() { cut -d' ' -f1 /proc/loadavg; }
loads() { cut -d' ' -f1-3 /proc/loadavg; }
# quiet: whether the 1-minute load average is at most MAX_LOAD.
quiet() { awk -v l="$(load1)" -v max="$MAX_LOAD" 'BEGIN { exit !(l <= max) }'; }

log "building the lateness benchmark"
(cd "$BENCH" && CARGO_TARGET_DIR="$BENCH/target" cargo build --release --quiet --bin lateness)
# Copied aside, so that a rebuild during the run cannot change the binary measured.
TMP=$(mktemp -d /tmp/epoll-rt-lateness.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
cp "$BENCH/target/release/lateness" "$TMP/lateness"

# run_at NICE: waits for a quiet machine, runs the benchmark at NICE; its output goes to
# $TMP/out-NICE, the load averages before and after to $TMP/load-NICE.
run_at() {
    local nice=$1 tries=0 note=""
    until quiet; do
        if ((tries >= WAIT_TRIES)); then
            note=" (still above $MAX_LOAD after $WAIT_TRIES waits: ran anyway)"
            break
        fi
        tries=$((tries + 1))
        log "load average $(load1) > $MAX_LOAD; waiting 60 s ($tries/$WAIT_TRIES)"
        sleep 60
    done
    local before
    before=$(loads)
    log "nice $nice: running (load average $before)"
    nice -n "$nice" "$TMP/lateness" --sleepers "$SLEEPERS" --rounds "$ROUNDS" >"$TMP/out-$nice"
    echo "nice $nice: load average (1, 5, 15 min) $before before, $(loads) after$note" >"$TMP/load-$nice"
}

for nice in $NICES; do
    run_at "$nice"
done

# field NAME LINE: the value of NAME=... in LINE.
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# The table: one row per length and nice value, the two runtimes side by side.
table() {
    echo "| sleep | nice | epoll-rt p50 / p99 / max, µs | tokio p50 / p99 / max, µs | threads (floor) p50 / p99 / max, µs | early wakes, epoll-rt / tokio |"
    echo "|---|---:|---:|---:|---:|---:|"
    local nice label ours theirs floor
    for label in 100us 1ms 10ms 100ms 1s; do
        for nice in $NICES; do
            ours=$(grep " runtime=epoll-rt length=$label " "$TMP/out-$nice")
            theirs=$(grep " runtime=tokio length=$label " "$TMP/out-$nice")
            floor=$(grep " runtime=threads length=$label " "$TMP/out-$nice")
            printf '| %s | %s | %s / %s / %s | %s / %s / %s | %s / %s / %s | %s / %s of %s |\n' \
                "$(sed 's/us$/ µs/; s/ms$/ ms/; s/\([0-9]\)s$/\1 s/' <<<"$label")" "$nice" \
                "$(field p50_us "$ours")" "$(field p99_us "$ours")" "$(field max_us "$ours")" \
                "$(field p50_us "$theirs")" "$(field p99_us "$theirs")" "$(field max_us "$theirs")" \
                "$(field p50_us "$floor")" "$(field p99_us "$floor")" "$(field max_us "$floor")" \
                "$(field early "$ours")" "$(field early "$theirs")" "$(field samples "$ours")"
        done
    done
}

mkdir -p "$BENCH/results"
RESULTS=$BENCH/results/lateness-$(date +%F).md
{
    echo
    echo "## Sleep lateness, $(date '+%F %T')"
    echo
    echo "\`bench/lateness.sh\` (SLEEPERS=$SLEEPERS ROUNDS=$ROUNDS) at commit" \
        "$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
        "$(nproc) CPUs ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)), Linux $(uname -r)."
    for nice in $NICES; do
        echo "$(cat "$TMP/load-$nice")."
    done
    echo
    table
    echo
    echo "Raw output:"
    echo
    echo '```text'
    for nice in $NICES; do
        echo "# nice $nice"
        cat "$TMP/out-$nice"
    done
    echo '```'
} | tee -a "$RESULTS"
log "appended to $RESULTS"
