#!/usr/bin/env bash
# bench/scaling.sh: do per-operation costs stay flat as work grows? epoll-rt next to tokio
# current_thread, at the same sizes.
#
#   bench/scaling.sh                                   # about 2 minutes on a 2-core machine
#   TIMER_SIZES="1000 10000" TASK_SIZES="1000 10000" CONN_SIZES="100 1000" ROUNDS=3 bench/scaling.sh
#
# Three families of measures, each at every size, each figure the median of ROUNDS runs
# taken in turn (epoll-rt, tokio, epoll-rt, tokio, ...):
#
# - pending timers (TIMER_SIZES): ns per insert, cancel and fire with SIZE timers pending
#   (`scaling RUNTIME timers SIZE`, bench/src/bin/scaling.rs);
# - live tasks (TASK_SIZES): ns per spawn, wake and poll with SIZE tasks alive
#   (`scaling RUNTIME tasks SIZE`);
# - idle connections (CONN_SIZES): the echo server (examples/echo_server.rs, or
#   bench/src/bin/tokio_echo.rs) holds SIZE connections that each made one round trip and
#   then stay idle, while one more connection makes COUNT round trips: the server's CPU time
#   per request (µs, all its threads, user and system, from /proc/<pid>/task/*/schedstat),
#   and its RSS growth per idle connection (bytes). Server and loadgen share SERVER_CPU, as
#   in run.sh's one-connection rows: on this 2-vCPU virtual machine a ping-pong across the
#   two CPUs charges the server about 30 µs per request for the cross-CPU wake-ups (3 µs on
#   one CPU), which would hide everything else.
#
# Every time is CPU time, not wall time: the thread's CPU clock in `scaling`, the server's
# scheduler run time for the connections. Time spent waiting for a CPU, which a loaded
# machine adds at random, is in neither; each figure is still a median, of the batches
# within a run and then of the runs. "Flat" means the figure at the largest size is at most
# 1.5 times the figure at the smallest.
#
# Settings (environment variables, defaults in brackets):
#   TIMER_SIZES ["1000 10000 100000 1000000"]   TASK_SIZES [the same]
#   CONN_SIZES ["100 1000 10000"]   (needs SIZE + 100 descriptors on each side)
#   ROUNDS [5]           runs per figure; the median is reported
#   BATCH [1000]         operations per timed batch of `scaling`
#   COUNT [10000]        round trips of the active connection per run
#   RUNTIMES ["epoll-rt tokio"]
#   SERVER_CPU [0]       the CPU of everything measured
#   NICE [-10]           niceness of every measured process, as in run.sh (below 0 needs
#                        root; 0 is used if it cannot be set): on a shared machine it keeps
#                        the round trips of the connection measure from crawling
#   RESULTS [bench/results/scaling-<date>.md]   the report (replaced if it exists)
#   SVG [bench/results/scaling-<date>.svg]      the plot (python3, standard library only)
#
# Everything runs on 127.0.0.1 only, and every server started is stopped on exit.

set -uo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
TIMER_SIZES=${TIMER_SIZES:-"1000 10000 100000 1000000"}
TASK_SIZES=${TASK_SIZES:-"1000 10000 100000 1000000"}
CONN_SIZES=${CONN_SIZES:-"100 1000 10000"}
ROUNDS=${ROUNDS:-5}
BATCH=${BATCH:-1000}
COUNT=${COUNT:-10000}
RUNTIMES=${RUNTIMES:-"epoll-rt tokio"}
SERVER_CPU=${SERVER_CPU:-0}
NICE=${NICE:--10}
DATE=$(date +%F)
RESULTS=${RESULTS:-$BENCH/results/scaling-$DATE.md}
SVG=${SVG:-$BENCH/results/scaling-$DATE.svg}

BEGIN=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
TMP=$(mktemp -d /tmp/epoll-rt-scaling.XXXXXX)
SERVER_PID=""

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# Kills the server if one is running, removes the scratch folder.
cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
# Tools, limits and builds
# ---------------------------------------------------------------------------------------

for tool in cargo python3 taskset timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found"
done

# Descriptors: the largest connection count on each side, within the hard limit.
largest=0
for n in $CONN_SIZES; do ((n > largest)) && largest=$n; done
hard=$(ulimit -Hn)
if [[ $hard == unlimited ]]; then ulimit -n 65536; else ulimit -n "$hard"; fi
(($(ulimit -n) >= largest + 100)) ||
    die "ulimit -n $(ulimit -n) (hard limit $hard) is too low for $largest connections"

BIN=$TMP/bin
mkdir -p "$BIN"
MAIN_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
log "building examples/echo_server.rs (target dir $MAIN_TARGET)"
(cd "$ROOT" && cargo build --release --quiet --example echo_server) || die "cannot build echo_server"
log "building the bench crate's scaling, loadgen and tokio_echo"
(cd "$BENCH" && CARGO_TARGET_DIR="$BENCH/target" cargo build --release --quiet \
    --bin scaling --bin loadgen --bin tokio_echo) || die "cannot build the bench crate"
# Everything measured is copied aside, so that a rebuild during the run cannot change it.
cp "$MAIN_TARGET/release/examples/echo_server" "$BIN/epoll-rt" || die "no echo_server"
for b in scaling loadgen tokio_echo; do
    cp "$BENCH/target/release/$b" "$BIN/$b" || die "no $b"
done
declare -A ECHO_BIN=([epoll-rt]=$BIN/epoll-rt [tokio]=$BIN/tokio_echo)
for rt in $RUNTIMES; do
    [[ -n ${ECHO_BIN[$rt]:-} ]] || die "unknown runtime '$rt' (known: epoll-rt tokio)"
done

if ! nice -n "$NICE" true 2>/dev/null; then
    log "cannot run at niceness $NICE (not root?): using 0"
    NICE=0
fi

# ---------------------------------------------------------------------------------------
# Measurements: every value goes to $TMP/values.tsv as "measure runtime size value"
# ---------------------------------------------------------------------------------------

put() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "${4:-NA}" >>"$TMP/values.tsv"; }
: >"$TMP/values.tsv"

# kv KEY LINE: the value of KEY=... in a result line.
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# micro RUNTIME KIND SIZE OP...: one `scaling` run, its figures stored as KIND_OP.
micro() {
    local rt=$1 kind=$2 size=$3 line op
    shift 3
    line=$(timeout 600 nice -n "$NICE" taskset -c "$SERVER_CPU" "$BIN/scaling" "$rt" "$kind" "$size" --batch "$BATCH" 2>"$TMP/scaling.err") ||
        die "scaling $rt $kind $size failed: $(cat "$TMP/scaling.err")"
    for op in "$@"; do
        put "${kind}_$op" "$rt" "$size" "$(kv "${op}_ns" "$line")"
    done
}

# connections RUNTIME SIZE: a fresh echo server, SIZE idle connections and one active.
connections() {
    local rt=$1 size=$2 addr="" line _
    : >"$TMP/server.out"
    # nice and taskset both exec the server, so `$!` is its own process id.
    nice -n "$NICE" taskset -c "$SERVER_CPU" "${ECHO_BIN[$rt]}" 127.0.0.1:0 >"$TMP/server.out" 2>"$TMP/server.err" &
    SERVER_PID=$!
    for _ in $(seq 200); do
        addr=$(sed -n 's/^listening on //p' "$TMP/server.out")
        [[ -n $addr ]] && break
        sleep 0.05
    done
    [[ -n $addr ]] || die "$rt did not start: $(cat "$TMP/server.err")"
    # Only ever load loopback.
    [[ $addr == 127.0.0.1:* ]] || die "$rt listens on $addr, not 127.0.0.1"
    line=$(timeout 600 nice -n "$NICE" taskset -c "$SERVER_CPU" "$BIN/loadgen" --addr "$addr" --idle-conns "$size" \
        --conns 1 --count "$COUNT" --pid "$SERVER_PID" 2>"$TMP/loadgen.err") ||
        die "loadgen against $rt with $size idle connections failed: $(cat "$TMP/loadgen.err")"
    put conn_cpu "$rt" "$size" "$(kv server_cpu_us_per_msg "$line")"
    put conn_rss "$rt" "$size" "$(kv idle_bytes_per_conn "$line")"
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}

START=$(date +%s)
log "runtimes: $RUNTIMES; rounds: $ROUNDS; load average: $LOAD_BEFORE"
for round in $(seq "$ROUNDS"); do
    for size in $TIMER_SIZES; do
        for rt in $RUNTIMES; do
            log "round $round/$ROUNDS: $rt, $size timers"
            micro "$rt" timers "$size" insert cancel fire
        done
    done
    for size in $TASK_SIZES; do
        for rt in $RUNTIMES; do
            log "round $round/$ROUNDS: $rt, $size tasks"
            micro "$rt" tasks "$size" spawn wake poll
        done
    done
    for size in $CONN_SIZES; do
        for rt in $RUNTIMES; do
            log "round $round/$ROUNDS: $rt, $size idle connections"
            connections "$rt" "$size"
        done
    done
done
MEASURING=$(($(date +%s) - START))
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------
# The report and the plot
# ---------------------------------------------------------------------------------------

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]] && COMMIT+=" (with uncommitted changes)"
HEADER="$(date '+%F %T'), commit $COMMIT. Machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1), Linux $(uname -r). Settings: ROUNDS=$ROUNDS BATCH=$BATCH COUNT=$COUNT NICE=$NICE SERVER_CPU=$SERVER_CPU; took $(($(date +%s) - BEGIN))s, builds included (${MEASURING}s measuring); load average before $LOAD_BEFORE, after $LOAD_AFTER."

mkdir -p "$(dirname "$RESULTS")" "$(dirname "$SVG")"
python3 "$BENCH/scaling_report.py" "$TMP/values.tsv" "$RESULTS" "$SVG" "$HEADER" "$(basename "$SVG")" ||
    die "cannot write the report"
cat "$RESULTS"
log "wrote $RESULTS and $SVG"
