#!/usr/bin/env bash
# bench/run.sh: the whole benchmark suite of epoll-rt in one command.
#
#   bench/run.sh                       # about 8 minutes on a 2-core machine
#   RUNS=5 SECS=5 bench/run.sh         # longer, steadier
#   SERVERS="epoll-rt tokio" bench/run.sh
#   ECHO=0 MICRO=0 bench/run.sh        # the HTTP rows only
#   BASELINE=main bench/run.sh         # on a branch: also epoll-rt at main, as epoll-rt@main
#
# It builds everything in release mode (the crate's examples, the bench crate's tokio
# servers and load generator, the C epoll loops), then measures each server (epoll-rt,
# tokio current_thread, smol's LocalExecutor, C) the same way, RUNS times, and prints one
# Markdown table of medians, also appended to bench/results/<date>.md. The same-CPU
# 1-connection ping-pong (echo and HTTP), where drift of a shared machine decides most, is
# measured apart: ROUNDS_1CPU rounds, each running every server once in turn, and its rows
# are the medians of those rounds. What each row means: bench/README.md.
#
# Settings (environment variables, defaults in brackets):
#   RUNS [3]            runs of everything; each figure is the median
#   ROUNDS_1CPU [5]     rounds of the same-CPU 1-connection echo and HTTP ping-pong
#   SECS [3]            measured seconds of each load run (loadgen and wrk)
#   WARMUP [0.5]        unmeasured seconds before each loadgen run
#   STRACE_COUNT [20000] round trips counted under strace (syscalls per request)
#   IDLE_CONNS [5000]   idle connections for the memory figure
#   LOADGEN_THREADS [1] client threads of loadgen (it runs on CPU 1 alone)
#   SERVERS ["epoll-rt tokio smol C"]
#   BASELINE [""]       a git revision of epoll-rt to measure as one more server,
#                       epoll-rt@BASELINE: its examples (and, with MICRO, its
#                       micro-benchmarks) are built from a temporary git worktree (removed on
#                       exit) into a target dir of their own, and measured in every run,
#                       in turn with the others (right after epoll-rt); the table gets its
#                       column and a ratio epoll-rt/epoll-rt@BASELINE
#   MICRO [1]           0 skips the spawn/wake/timer micro-benchmarks
#   HTTP [auto]         0 skips HTTP; by default on if examples/http_hello.rs exists
#   ECHO [1]            0 skips the echo measurements (ping-pong, throughput, syscalls,
#                       the memory of idle connections, echo_server --threads)
#   HYPER [0]           1 also runs bench/hyper.sh (hyper 1.x on epoll-rt against hyper on
#                       tokio current_thread) with the same RUNS, SECS, CPUs and NICE: a
#                       table of its own, appended to bench/results/hyper-<date>.md
#   SERVER_CPU [0], CLIENT_CPU [1]
#   NICE [-10]          niceness of every measured process (servers, clients, micro);
#                       below 0 needs root, and keeps other work on a shared machine
#                       from taking the pinned CPUs. 0 leaves priorities alone.
#
# Everything runs on 127.0.0.1 only, and every server started is stopped on exit.

set -uo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
RUNS=${RUNS:-3}
ROUNDS_1CPU=${ROUNDS_1CPU:-5}
SECS=${SECS:-3}
WARMUP=${WARMUP:-0.5}
STRACE_COUNT=${STRACE_COUNT:-20000}
IDLE_CONNS=${IDLE_CONNS:-5000}
LOADGEN_THREADS=${LOADGEN_THREADS:-1}
SERVERS=${SERVERS:-"epoll-rt tokio smol C"}
BASELINE=${BASELINE:-}
MICRO=${MICRO:-1}
ECHO=${ECHO:-1}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
NICE=${NICE:--10}
if [[ -z ${HTTP:-} ]]; then
    if [[ -f $ROOT/examples/http_hello.rs ]]; then HTTP=1; else HTTP=0; fi
fi

# Read before building, so the build itself does not count as other work.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
TMP=$(mktemp -d /tmp/epoll-rt-bench.XXXXXX)
SERVER_PID=""
BASE_WORKTREE=""

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# Stops the server (and, under strace, the traced server), removes the baseline's worktree
# and the scratch folder.
cleanup() {
    stop_server
    if [[ -n $BASE_WORKTREE ]]; then
        git -C "$ROOT" worktree remove --force "$BASE_WORKTREE" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------
# Tools and builds
# ---------------------------------------------------------------------------------------

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need strace; then
    log "installing wrk and strace"
    (apt-get update -qq && apt-get install -y -qq wrk strace) >/dev/null ||
        die "cannot install wrk/strace (apt-get update && apt-get install -y wrk strace)"
fi
for tool in cargo gcc taskset strace wrk; do
    need "$tool" || die "$tool not found"
done
[[ -z $BASELINE ]] || need git || die "git not found (needed for BASELINE)"

# Enough descriptors for IDLE_CONNS connections on each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
(($(ulimit -n) > IDLE_CONNS + 100)) || die "ulimit -n $(ulimit -n) is too low for IDLE_CONNS=$IDLE_CONNS"

MAIN_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
log "building epoll-rt examples (target dir $MAIN_TARGET)"
if ! (cd "$ROOT" && cargo build --release --examples --quiet); then
    # Another example may be half-written; the two measured here are enough.
    log "cargo build --examples failed; building only the examples measured here"
    examples=(--example echo_server)
    ((HTTP)) && examples+=(--example http_hello)
    (cd "$ROOT" && cargo build --release --quiet "${examples[@]}") || die "cannot build the examples"
fi
log "building the bench crate (tokio and smol servers, loadgen, tokio_micro, smol_micro)"
(cd "$BENCH" && CARGO_TARGET_DIR="$BENCH/target" cargo build --release --quiet) ||
    die "cannot build the bench crate"
MICRO_BENCHES=(--bench spawn --bench wake --bench timers --bench timer_precision)
if ((MICRO)); then
    log "building the micro-benchmarks"
    # cargo names each bench executable on a line "Executable benches/NAME.rs (PATH)".
    micro_build=$(cd "$ROOT" && cargo bench --no-run "${MICRO_BENCHES[@]}" 2>&1) ||
        die "cannot build the micro-benchmarks: $micro_build"
fi

# The baseline: the same examples and micro-benchmarks at BASELINE, built from a worktree of
# their own into a target dir of their own.
BASE=""
if [[ -n $BASELINE ]]; then
    BASE="epoll-rt@$BASELINE"
    base_commit=$(git -C "$ROOT" rev-parse --verify --quiet "$BASELINE^{commit}") ||
        die "BASELINE: no such revision: $BASELINE"
    BASE_TARGET=$TMP/target-baseline
    log "building epoll-rt examples at $BASELINE (${base_commit:0:7}) in a worktree (target dir $BASE_TARGET)"
    git -C "$ROOT" worktree add --quiet --detach "$TMP/baseline" "$base_commit" ||
        die "cannot add a worktree at $BASELINE"
    BASE_WORKTREE=$TMP/baseline
    examples=(--example echo_server)
    ((HTTP)) && examples+=(--example http_hello)
    (cd "$BASE_WORKTREE" && CARGO_TARGET_DIR=$BASE_TARGET cargo build --release --quiet "${examples[@]}") ||
        die "cannot build ${examples[*]} at $BASELINE (HTTP=0 skips http_hello)"
    if ((MICRO)); then
        log "building the micro-benchmarks at $BASELINE"
        base_micro_build=$(cd "$BASE_WORKTREE" && CARGO_TARGET_DIR=$BASE_TARGET cargo bench --no-run "${MICRO_BENCHES[@]}" 2>&1) ||
            die "cannot build the micro-benchmarks at $BASELINE (MICRO=0 skips them): $base_micro_build"
    fi
fi
log "compiling the C servers"
mkdir -p "$BENCH/target/c"
gcc -O2 -Wall -o "$BENCH/target/c/echo_epoll" "$BENCH/c/echo_epoll.c" || die "gcc echo_epoll.c"
gcc -O2 -Wall -o "$BENCH/target/c/http_epoll" "$BENCH/c/http_epoll.c" || die "gcc http_epoll.c"

# Everything measured is copied aside, so a rebuild while the suite runs (someone editing
# the crate) cannot change a binary between two runs.
BIN=$TMP/bin
mkdir -p "$BIN"
cp "$MAIN_TARGET/release/examples/echo_server" "$BIN/epoll-rt-echo" || die "no echo_server example"
((HTTP)) && { cp "$MAIN_TARGET/release/examples/http_hello" "$BIN/epoll-rt-http" || die "no http_hello example"; }
for b in tokio_echo tokio_http smol_echo smol_http loadgen tokio_micro smol_micro; do
    cp "$BENCH/target/release/$b" "$BIN/$b" || die "no $b"
done
cp "$BENCH/target/c/echo_epoll" "$BENCH/target/c/http_epoll" "$BIN/"

# copy_micro BUILD_DIR BUILD_OUTPUT PREFIX: copies the bench executables that `cargo bench
# --no-run` named in BUILD_OUTPUT (run in BUILD_DIR) to $BIN/PREFIX-NAME.
copy_micro() {
    local dir=$1 build=$2 prefix=$3 b exe
    for b in spawn wake timers timer_precision; do
        exe=$(sed -n "s|^ *Executable benches/$b\.rs (\(.*\))\$|\1|p" <<<"$build")
        [[ -n $exe && $exe != /* ]] && exe=$dir/$exe
        [[ -x $exe ]] || die "cannot find the $b bench executable in: $build"
        cp "$exe" "$BIN/$prefix-$b"
    done
}
((MICRO)) && copy_micro "$ROOT" "$micro_build" micro
if [[ -n $BASE ]]; then
    cp "$BASE_TARGET/release/examples/echo_server" "$BIN/base-echo" || die "no echo_server at $BASELINE"
    ((HTTP)) && { cp "$BASE_TARGET/release/examples/http_hello" "$BIN/base-http" || die "no http_hello at $BASELINE"; }
    ((MICRO)) && copy_micro "$BASE_WORKTREE" "$base_micro_build" base-micro
fi

LOADGEN=$BIN/loadgen
declare -A ECHO_BIN=([epoll-rt]=$BIN/epoll-rt-echo [tokio]=$BIN/tokio_echo [smol]=$BIN/smol_echo [C]=$BIN/echo_epoll)
declare -A HTTP_BIN=([epoll-rt]=$BIN/epoll-rt-http [tokio]=$BIN/tokio_http [smol]=$BIN/smol_http [C]=$BIN/http_epoll)
if [[ -n $BASE ]]; then
    ECHO_BIN[$BASE]=$BIN/base-echo
    HTTP_BIN[$BASE]=$BIN/base-http
    # The baseline takes its turn right after epoll-rt, so the two see the machine alike.
    servers=""
    for s in $SERVERS; do
        servers+="$s "
        [[ $s == epoll-rt ]] && servers+="$BASE "
    done
    [[ " $servers" == *" $BASE "* ]] || servers+="$BASE "
    SERVERS=${servers% }
fi
for s in $SERVERS; do
    [[ -x ${ECHO_BIN[$s]:-} ]] || die "no echo server for '$s' (${ECHO_BIN[$s]:-unknown name})"
    if ((HTTP)); then [[ -x ${HTTP_BIN[$s]} ]] || die "no HTTP server for '$s'"; fi
done

# on_cpu CPU CMD...: runs CMD pinned to CPU, at niceness NICE (in the foreground).
if ! nice -n "$NICE" true 2>/dev/null; then
    log "cannot run at niceness $NICE (not root?): using 0"
    NICE=0
fi
on_cpu() {
    local cpu=$1
    shift
    nice -n "$NICE" taskset -c "$cpu" "$@"
}

# ---------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------

# start_server CMD...: runs `CMD... 127.0.0.1:0` on SERVER_CPU, waits for its
# `listening on ADDR` line, sets SERVER_PID and SERVER_ADDR.
start_server() {
    : >"$TMP/server.out"
    # Not through on_cpu: `$!` must be the server's own process id, and nice and taskset
    # both exec the command, where a shell function would fork.
    nice -n "$NICE" taskset -c "${PIN_CPUS:-$SERVER_CPU}" "$@" 127.0.0.1:0 >"$TMP/server.out" 2>"$TMP/server.err" &
    SERVER_PID=$!
    SERVER_ADDR=""
    for _ in $(seq 200); do
        SERVER_ADDR=$(sed -n 's/^listening on //p' "$TMP/server.out")
        [[ -n $SERVER_ADDR ]] && break
        sleep 0.025
    done
    [[ -n $SERVER_ADDR ]] || die "server did not start: $* ($(cat "$TMP/server.err"))"
    # Only ever load loopback.
    [[ $SERVER_ADDR == 127.0.0.1:* ]] || die "server listens on $SERVER_ADDR, not 127.0.0.1"
}

stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    local child
    child=$(ps --ppid "$SERVER_PID" -o pid= 2>/dev/null | head -n1 | tr -d ' ')
    if [[ $(cat "/proc/$SERVER_PID/comm" 2>/dev/null) == strace && -n $child ]]; then
        # Ending the traced server makes strace write its summary and exit by itself.
        kill "$child" 2>/dev/null
    else
        kill "$SERVER_PID" 2>/dev/null
    fi
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}

# ---------------------------------------------------------------------------------------
# Measurements: each stores its figures with `put MEASURE SERVER VALUE`
# ---------------------------------------------------------------------------------------

declare -A VALUES # "measure|server" -> space-separated values, one per run
put() { VALUES["$1|$2"]+="${3:-NA} "; }

# kv KEY LINE: the value of KEY=... in a loadgen line.
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# loadgen CPU ARGS...: one loadgen run against SERVER_ADDR; prints its result line.
loadgen() {
    local cpu=$1
    shift
    timeout 300 nice -n "$NICE" taskset -c "$cpu" "$LOADGEN" --addr "$SERVER_ADDR" "$@" 2>>"$TMP/loadgen.err" |
        grep '^loadgen:' || log "loadgen failed: $* ($(tail -n1 "$TMP/loadgen.err"))"
}

# Same-CPU ping-pong: 1 connection, client and server on the same CPU, echo then (with
# HTTP) a keep-alive HTTP request. One call is one round's turn of server S.
measure_one_cpu() {
    local s=$1 line
    if ((ECHO)); then
        start_server "${ECHO_BIN[$s]}"
        line=$(loadgen "$SERVER_CPU" --conns 1 --secs "$SECS" --warmup "$WARMUP")
        put echo1_rate "$s" "$(kv msg_per_s "$line")"
        put echo1_p50 "$s" "$(kv p50_us "$line")"
        put echo1_p99 "$s" "$(kv p99_us "$line")"
        stop_server
    fi
    ((HTTP)) || return 0
    start_server "${HTTP_BIN[$s]}"
    line=$(loadgen "$SERVER_CPU" --http --conns 1 --secs "$SECS" --warmup "$WARMUP")
    put http1_rate "$s" "$(kv msg_per_s "$line")"
    put http1_p99 "$s" "$(kv p99_us "$line")"
    stop_server
}

# Echo ping-pong at 50 and 500 connections on separate CPUs (with the server's CPU time
# per message at 50).
measure_echo() {
    local s=$1 line
    start_server "${ECHO_BIN[$s]}"
    for conns in 50 500; do
        line=$(loadgen "$CLIENT_CPU" --conns "$conns" --threads "$LOADGEN_THREADS" \
            --secs "$SECS" --warmup "$WARMUP" --pid "$SERVER_PID")
        put "echo${conns}_rate" "$s" "$(kv msg_per_s "$line")"
        put "echo${conns}_p99" "$s" "$(kv p99_us "$line")"
        if ((conns == 50)); then
            put user_us "$s" "$(kv server_user_us_per_msg "$line")"
            put sys_us "$s" "$(kv server_sys_us_per_msg "$line")"
        fi
    done
    stop_server
}

# One runtime per core: epoll-rt's echo server (or the baseline's) with 1 and with 2
# threads (SO_REUSEPORT), nothing pinned, 200 connections from a 2-thread loadgen. On a
# 2-CPU machine the load generator competes with the server for the same CPUs, so this
# shows whether a second runtime helps at all here, not how far it scales.
measure_scaling() {
    local s=$1 threads line
    for threads in 1 2; do
        PIN_CPUS=0,1 start_server "${ECHO_BIN[$s]}" --threads "$threads"
        line=$(loadgen 0,1 --conns 200 --threads 2 --secs "$SECS" --warmup "$WARMUP")
        put "scale${threads}_rate" "$s" "$(kv msg_per_s "$line")"
        stop_server
    done
}

# wrk's p99 latency ("99%  1.23ms") in microseconds.
wrk_p99_us() {
    awk '$1 == "99%" {
        v = $2; u = v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u)
        f = (u == "us") ? 1 : (u == "ms") ? 1000 : (u == "s") ? 1000000 : 0
        printf "%.1f", v * f }' <<<"$1"
}

# HTTP: wrk -t1 at 50 and 500 connections.
measure_http() {
    local s=$1 out
    start_server "${HTTP_BIN[$s]}"
    for conns in 50 500; do
        out=$(timeout 300 nice -n "$NICE" taskset -c "$CLIENT_CPU" wrk -t1 -c"$conns" -d"${SECS}s" --latency \
            "http://$SERVER_ADDR/" 2>&1)
        grep -qE 'Socket errors|Non-2xx' <<<"$out" &&
            log "wrk reported errors for $s at $conns: $(grep -E 'Socket errors|Non-2xx' <<<"$out")"
        put "wrk${conns}_rate" "$s" "$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$out")"
        put "wrk${conns}_p99" "$s" "$(wrk_p99_us "$out")"
    done
    stop_server
}

# Syscalls per request: the server runs under `strace -f -c` while one keep-alive
# connection makes STRACE_COUNT round trips. The per-syscall breakdown of the last run is
# kept for the report.
measure_syscalls() {
    local s=$1 kind=$2 bin total
    # A baseline's name may hold a '/' (BASELINE=origin/main): not in a file name.
    local file="$TMP/strace.$kind.${s//\//_}"
    if [[ $kind == http ]]; then bin=${HTTP_BIN[$s]}; else bin=${ECHO_BIN[$s]}; fi
    start_server strace -f -c -o "$file" "$bin"
    local args=(--conns 1 --count "$STRACE_COUNT")
    [[ $kind == http ]] && args+=(--http)
    loadgen "$CLIENT_CPU" "${args[@]}" >/dev/null
    stop_server
    total=$(awk '$NF == "total" {print $4}' "$file")
    put "sys_$kind" "$s" "$(awk -v t="${total:-0}" -v n="$STRACE_COUNT" 'BEGIN {printf "%.2f", t / n}')"
    # "read 2.00, write 1.00, ...": calls per request of every syscall above 0.01.
    awk -v n="$STRACE_COUNT" 'NR > 2 && $1 ~ /^[0-9.]+$/ && $NF != "total" {
            r = $4 / n   # calls is the 4th column whether or not "errors" is empty
            if (r >= 0.01) { printf "%s%s %.2f", sep, $NF, r; sep = ", " } }' "$file" \
        >"$BENCH_BREAKDOWN_DIR/$kind.${s//\//_}"
}

# Memory per idle connection: a fresh server, IDLE_CONNS connections that each make one
# round trip and then stay open; the server's RSS growth divided by IDLE_CONNS.
measure_memory() {
    local s=$1 line
    start_server "${ECHO_BIN[$s]}"
    line=$(loadgen "$CLIENT_CPU" --idle --conns "$IDLE_CONNS" --pid "$SERVER_PID")
    put mem "$s" "$(kv bytes_per_conn "$line")"
    stop_server
}

# Micro-benchmarks: the top-level crate's benches/ (epoll-rt, and the baseline's),
# tokio_micro (tokio), smol_micro (smol).
MICRO_NAMES="spawn_join wake timer_insert timer_cancel sleep_1ms timer_insert_ordered timer_cancel_ordered late_100us_p50 late_100us_p99 late_1ms_p50 late_1ms_p99"
measure_micro() {
    local out name s prefix
    for s in epoll-rt $BASE; do
        if [[ $s == epoll-rt ]]; then prefix=micro; else prefix=base-micro; fi
        out=$(for b in spawn wake timers timer_precision; do on_cpu "$SERVER_CPU" "$BIN/$prefix-$b"; done)
        for name in $MICRO_NAMES; do
            put "$name" "$s" "$(awk -v k="$name:" '$1 == k {print $2}' <<<"$out")"
        done
    done
    for s in tokio smol; do
        out=$(on_cpu "$SERVER_CPU" "$BIN/${s}_micro")
        for name in $MICRO_NAMES; do
            put "$name" "$s" "$(awk -v k="$name:" '$1 == k {print $2}' <<<"$out")"
        done
    done
}

# ---------------------------------------------------------------------------------------
# The runs
# ---------------------------------------------------------------------------------------

BENCH_BREAKDOWN_DIR=$TMP/breakdown
mkdir -p "$BENCH_BREAKDOWN_DIR"
START=$(date +%s)
log "servers: $SERVERS; runs: $RUNS; ${SECS}s per load run; HTTP: $HTTP; load average: $LOAD_BEFORE"

# The same-CPU ping-pong first, in rounds: each round runs every server once, in turn.
for round in $(seq "$ROUNDS_1CPU"); do
    for s in $SERVERS; do
        log "same-CPU round $round/$ROUNDS_1CPU: $s"
        measure_one_cpu "$s"
    done
done

for run in $(seq "$RUNS"); do
    # Servers take turns within a run, so a slow spell of the machine hits them alike.
    for s in $SERVERS; do
        log "run $run/$RUNS: $s"
        ((ECHO)) && measure_echo "$s"
        ((HTTP)) && measure_http "$s"
        ((ECHO)) && measure_syscalls "$s" echo
        ((HTTP)) && measure_syscalls "$s" http
        ((ECHO)) && measure_memory "$s"
    done
    for s in epoll-rt $BASE; do
        if ((ECHO)) && [[ " $SERVERS " == *" $s "* ]]; then
            log "run $run/$RUNS: $s with 1 and 2 threads"
            measure_scaling "$s"
        fi
    done
    if ((MICRO)); then
        log "run $run/$RUNS: micro-benchmarks"
        measure_micro
    fi
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------

# median VALUES...: the median of the numbers given (NA if none).
median() {
    printf '%s\n' "$@" | grep -E '^-?[0-9.]+$' | sort -g |
        awk '{v[NR] = $1} END {
            if (NR == 0) print "NA"
            else if (NR % 2) print v[(NR + 1) / 2]
            else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ratio A B: A / B to two decimals, or – when either is missing or B is 0.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "NA" || b == "NA" || a == "" || b == "" || b + 0 == 0) print "–"
        else printf "%.2f", a / b }'
}

# fmt V: a figure rounded for reading (NA as –).
fmt() {
    awk -v v="$1" 'BEGIN {
        if (v == "NA" || v == "") print "–"
        else if (v >= 1000) printf "%.0f", v
        else if (v >= 10) printf "%.1f", v
        else printf "%.3g", v }'
}

# Rows: key, then label. ↑ means higher is better, ↓ lower is better.
ROWS=()
if ((ECHO)); then
    ROWS+=(
        "echo1_rate|echo, 1 conn, client+server on one CPU: msg/s (median of $ROUNDS_1CPU rounds) ↑"
        "echo1_p50|echo, 1 conn, one CPU: p50 latency µs ↓"
        "echo1_p99|echo, 1 conn, one CPU: p99 latency µs ↓"
        "echo50_rate|echo, 50 conns (server CPU 0, loadgen CPU 1): msg/s ↑"
        "echo50_p99|echo, 50 conns: p99 latency µs ↓"
        "echo500_rate|echo, 500 conns: msg/s ↑"
        "echo500_p99|echo, 500 conns: p99 latency µs ↓"
    )
fi
if ((HTTP)); then
    ROWS+=(
        "http1_rate|HTTP, 1 keep-alive conn, one CPU (loadgen): req/s (median of $ROUNDS_1CPU rounds) ↑"
        "http1_p99|HTTP, 1 conn, one CPU: p99 latency µs ↓"
        "wrk50_rate|HTTP, wrk -t1 -c50: req/s ↑"
        "wrk50_p99|HTTP, wrk -t1 -c50: p99 latency µs ↓"
        "wrk500_rate|HTTP, wrk -t1 -c500: req/s ↑"
        "wrk500_p99|HTTP, wrk -t1 -c500: p99 latency µs ↓"
    )
fi
((ECHO)) && ROWS+=("sys_echo|syscalls per echo request (strace, 1 conn) ↓")
((HTTP)) && ROWS+=("sys_http|syscalls per HTTP request (strace, 1 conn) ↓")
if ((ECHO)); then
    ROWS+=(
        "user_us|server user CPU per echo msg at 50 conns, µs ↓"
        "sys_us|server system CPU per echo msg at 50 conns, µs ↓"
        "mem|server memory per idle connection, bytes (RSS / $IDLE_CONNS) ↓"
        "scale1_rate|echo, 200 conns, nothing pinned, echo_server --threads 1: msg/s ↑"
        "scale2_rate|echo, 200 conns, nothing pinned, echo_server --threads 2: msg/s ↑"
    )
fi
if ((MICRO)); then
    ROWS+=(
        "spawn_join|micro: spawn + join one task, ns ↓"
        "wake|micro: one wake between two tasks, ns ↓"
        "timer_insert|micro: insert a timer among 1M, scattered deadlines, ns ↓"
        "timer_cancel|micro: cancel a timer among 1M, scattered deadlines, ns ↓"
        "sleep_1ms|micro: sleep(1 ms) with 1M timers pending, ms ↓"
        "timer_insert_ordered|micro: insert a timer among 1M, deadlines in order, ns ↓"
        "timer_cancel_ordered|micro: cancel a timer among 1M, deadlines in order, ns ↓"
        "late_100us_p50|micro: sleep(100 µs) lateness p50, µs ↓"
        "late_100us_p99|micro: sleep(100 µs) lateness p99, µs ↓"
        "late_1ms_p50|micro: sleep(1 ms) lateness p50, µs ↓"
        "late_1ms_p99|micro: sleep(1 ms) lateness p99, µs ↓"
    )
fi

# The baseline, if any, has a column after epoll-rt's and a last column epoll-rt/baseline.
table() {
    if [[ -n $BASE ]]; then
        echo "| measure | epoll-rt | $BASE | tokio | smol | C | ratio epoll-rt/tokio | ratio epoll-rt/smol | ratio epoll-rt/C | ratio epoll-rt/$BASE |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    else
        echo "| measure | epoll-rt | tokio | smol | C | ratio epoll-rt/tokio | ratio epoll-rt/smol | ratio epoll-rt/C |"
        echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    fi
    local row key label e b t m c
    for row in "${ROWS[@]}"; do
        key=${row%%|*}
        label=${row#*|}
        # shellcheck disable=SC2086 # the values are a space-separated list on purpose
        e=$(median ${VALUES["$key|epoll-rt"]:-})
        # shellcheck disable=SC2086
        t=$(median ${VALUES["$key|tokio"]:-})
        # shellcheck disable=SC2086
        m=$(median ${VALUES["$key|smol"]:-})
        # shellcheck disable=SC2086
        c=$(median ${VALUES["$key|C"]:-})
        if [[ -n $BASE ]]; then
            # shellcheck disable=SC2086
            b=$(median ${VALUES["$key|$BASE"]:-})
            echo "| $label | $(fmt "$e") | $(fmt "$b") | $(fmt "$t") | $(fmt "$m") | $(fmt "$c") |" \
                "$(ratio "$e" "$t") | $(ratio "$e" "$m") | $(ratio "$e" "$c") | $(ratio "$e" "$b") |"
        else
            echo "| $label | $(fmt "$e") | $(fmt "$t") | $(fmt "$m") | $(fmt "$c") |" \
                "$(ratio "$e" "$t") | $(ratio "$e" "$m") | $(ratio "$e" "$c") |"
        fi
    done
}

TABLE=$(table)
ELAPSED=$(($(date +%s) - START))
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]] && COMMIT+=" (with uncommitted changes)"

{
    echo
    echo "## $(date '+%F %T'), commit $COMMIT"
    echo
    echo "Machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1), Linux $(uname -r)."
    echo "Settings: ECHO=$ECHO HTTP=$HTTP MICRO=$MICRO RUNS=$RUNS ROUNDS_1CPU=$ROUNDS_1CPU SECS=$SECS WARMUP=$WARMUP STRACE_COUNT=$STRACE_COUNT" \
        "IDLE_CONNS=$IDLE_CONNS LOADGEN_THREADS=$LOADGEN_THREADS NICE=$NICE; took ${ELAPSED}s;" \
        "load average before $LOAD_BEFORE, after $LOAD_AFTER."
    [[ -n $BASE ]] && echo "Baseline: $BASE is commit ${base_commit:0:7}, measured in every run in turn with the others."
    echo "Each figure is the median of $RUNS runs, the same-CPU 1-connection rows of" \
        "$ROUNDS_1CPU rounds (each running every server once, in turn); ↑ higher is better, ↓ lower is better."
    if awk -v a="${LOAD_BEFORE%% *}" -v b="${LOAD_AFTER%% *}" 'BEGIN {exit !(a > 1 || b > 3)}'; then
        echo
        echo "**Warning: other work was running on the machine (load average above), so these"
        echo "figures are noisier than usual; compare the runs below before trusting a ratio.**"
    fi
    echo
    echo "$TABLE"
    echo
    echo "Syscalls per request by name (strace -c, last run):"
    echo
    for kind in echo http; do
        for s in $SERVERS; do
            f=$BENCH_BREAKDOWN_DIR/$kind.${s//\//_}
            [[ -e $f ]] && echo "- $s $kind: $(cat "$f")"
        done
    done
    echo
    echo "Every run's figures (measure|server: run 1, run 2, ...):"
    echo
    echo '```text'
    for k in $(printf '%s\n' "${!VALUES[@]}" | sort); do
        echo "$k: ${VALUES[$k]}"
    done
    echo '```'
} >"$TMP/report.md"

mkdir -p "$BENCH/results"
RESULTS=$BENCH/results/$(date +%F).md
[[ -e $RESULTS ]] || echo "# Benchmark results of $(date +%F)" >"$RESULTS"
cat "$TMP/report.md" >>"$RESULTS"
cat "$TMP/report.md"
log "appended to $RESULTS"

# hyper on both runtimes: its own servers, build and table (bench/hyper.sh).
if ((${HYPER:-0})); then
    log "hyper on epoll-rt and on tokio: bench/hyper.sh"
    RUNS=$RUNS SECS=$SECS SERVER_CPU=$SERVER_CPU CLIENT_CPU=$CLIENT_CPU NICE=$NICE \
        bash "$BENCH/hyper.sh" || die "bench/hyper.sh failed"
fi
