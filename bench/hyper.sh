#!/usr/bin/env bash
# bench/hyper.sh: hyper 1.x on epoll-rt (feature `hyper`) against hyper on tokio
# current_thread (hyper-util's TokioIo and TokioTimer): the same HTTP/1.1 service, the same
# hyper, only the runtime glue differs (bench/src/bin/hyper_epoll.rs, hyper_tokio.rs).
#
#   bench/hyper.sh                     # about 2 minutes after the build
#   RUNS=5 SECS=5 bench/hyper.sh
#
# Rows (each timing the median of RUNS runs, the two servers taking turns in each run):
#   - user-space instructions per request, `Hello, world!`, 50 connections (callgrind;
#     measured once, they barely move): (I(N2) - I(N1)) / (N2 - N1), as instructions.sh;
#   - `wrk -t1 -c50` requests per second, `Hello, world!`;
#   - a 64 KiB body: `wrk -t1 -c50` requests per second, the server's user CPU per request
#     (utime from /proc, over the requests wrk counted: /proc counts in 10 ms ticks, so a
#     run of SECS seconds measures it within a few percent at best), and, exact, the
#     user-space instructions per request (callgrind, as above).
#
# Settings (environment variables, defaults in brackets):
#   RUNS [5], SECS [5]          runs, and seconds of each wrk run
#   N1 [2000], N2 [12000]       requests of the two callgrind runs
#   SERVER_CPU [0], CLIENT_CPU [1]
#   NICE [-10]                  niceness of the servers and clients, as in run.sh (below 0
#                               needs root; 0 leaves priorities alone)
#
# The table is printed and appended to bench/results/hyper-<date>.md. Everything runs on
# 127.0.0.1 only, and every server started is stopped on exit.

set -uo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUNS=${RUNS:-5}
SECS=${SECS:-5}
N1=${N1:-2000}
N2=${N2:-12000}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
NICE=${NICE:--10}
BODY=65536
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
TMP=$(mktemp -d /tmp/epoll-rt-hyper.XXXXXX)
SERVER_PID=""

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}
stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}
cleanup() {
    stop_server
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

need() { command -v "$1" >/dev/null 2>&1; }
if ! need wrk || ! need valgrind; then
    log "installing wrk and valgrind"
    (apt-get update -qq && apt-get install -y -qq wrk valgrind) >/dev/null ||
        die "cannot install wrk/valgrind"
fi
for tool in cargo taskset wrk valgrind timeout; do
    need "$tool" || die "$tool not found"
done
if ! nice -n "$NICE" true 2>/dev/null; then
    log "cannot run at niceness $NICE (not root?): using 0"
    NICE=0
fi

log "building hyper_epoll, hyper_tokio and loadgen (bench crate)"
(cd "$BENCH" && CARGO_TARGET_DIR="$BENCH/target" cargo build --release --quiet \
    --bin hyper_epoll --bin hyper_tokio --bin loadgen) || die "cannot build the bench crate"
# Copied aside, so that a rebuild during the run cannot change what is measured.
BIN=$TMP/bin
mkdir -p "$BIN"
for b in hyper_epoll hyper_tokio loadgen; do
    cp "$BENCH/target/release/$b" "$BIN/$b" || die "no $b"
done
declare -A SERVER_BIN=([epoll-rt]=$BIN/hyper_epoll [tokio]=$BIN/hyper_tokio)
SERVERS=(epoll-rt tokio)

# start_server PREFIX... -- ARGS: runs the server (under PREFIX, e.g. valgrind) pinned to
# SERVER_CPU, and waits for its `listening on` line (in SERVER_ADDR).
start_server() {
    : >"$TMP/server.out"
    nice -n "$NICE" taskset -c "$SERVER_CPU" "$@" >"$TMP/server.out" 2>"$TMP/server.err" &
    SERVER_PID=$!
    SERVER_ADDR=""
    for _ in $(seq 600); do
        SERVER_ADDR=$(sed -n 's/^listening on //p' "$TMP/server.out")
        [[ -n $SERVER_ADDR ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    [[ -n $SERVER_ADDR ]] || die "server did not start: $* ($(tail -n3 "$TMP/server.err"))"
    [[ $SERVER_ADDR == 127.0.0.1:* ]] || die "server listens on $SERVER_ADDR, not 127.0.0.1"
}

# utime PID: the process's user CPU time, in clock ticks (field 14 of /proc/PID/stat).
utime() { awk '{print $14}' "/proc/$1/stat"; }

# wrk_run: wrk -t1 -c50 for SECS against SERVER_ADDR, pinned to CLIENT_CPU; prints
# "REQUESTS REQ_PER_SEC USER_TICKS" (the server's user CPU over the run).
wrk_run() {
    local before after out
    before=$(utime "$SERVER_PID")
    out=$(nice -n "$NICE" taskset -c "$CLIENT_CPU" wrk -t1 -c50 -d"${SECS}s" "http://$SERVER_ADDR/") || die "wrk failed"
    after=$(utime "$SERVER_PID")
    grep -q 'Non-2xx\|Socket errors' <<<"$out" && die "wrk saw errors: $out"
    printf '%s %s %s\n' \
        "$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' <<<"$out")" \
        "$(sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p' <<<"$out")" \
        "$((after - before))"
}

declare -A RPS BIG_RPS BIG_CPU IR
TICK_US=$((1000000 / $(getconf CLK_TCK)))
for run in $(seq "$RUNS"); do
    for s in "${SERVERS[@]}"; do
        log "run $run/$RUNS: $s, Hello world"
        start_server "${SERVER_BIN[$s]}" 127.0.0.1:0
        read -r _ rps _ <<<"$(wrk_run)"
        RPS[$s]+="$rps "
        stop_server
        log "run $run/$RUNS: $s, 64 KiB body"
        start_server "${SERVER_BIN[$s]}" 127.0.0.1:0 "$BODY"
        read -r reqs rps ticks <<<"$(wrk_run)"
        BIG_RPS[$s]+="$rps "
        BIG_CPU[$s]+="$(awk -v t="$ticks" -v us="$TICK_US" -v n="$reqs" 'BEGIN { printf "%.3f", t * us / n }') "
        stop_server
    done
done

# Instructions: callgrind's total for N1 and for N2 requests, with the small body ("")
# and with the 64 KiB one.
for s in "${SERVERS[@]}"; do
    for body in "" "$BODY"; do
        for count in "$N1" "$N2"; do
            log "$s under callgrind, $count requests, body ${body:-Hello world}"
            out=$TMP/callgrind.$s.$count.$body
            start_server valgrind --tool=callgrind --callgrind-out-file="$out" "${SERVER_BIN[$s]}" 127.0.0.1:0 $body
            line=$(timeout 900 taskset -c "$CLIENT_CPU" "$BIN/loadgen" --addr "$SERVER_ADDR" --http \
                --conns 50 --count "$count" 2>"$TMP/loadgen.err")
            msgs=$(sed -n 's/.* msgs=\([0-9]*\) .*/\1/p' <<<"$line")
            [[ $msgs == "$count" ]] || die "loadgen made ${msgs:-no} requests, not $count ($(cat "$TMP/loadgen.err"))"
            stop_server
            IR[$s|$count|$body]=$(sed -n 's/^summary: *//p' "$out")
        done
    done
done

median() { tr ' ' '\n' <<<"$1" | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
per_request() { echo $(((IR[$1|$N2|${2:-}] - IR[$1|$N1|${2:-}]) / (N2 - N1))); }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

ir_e=$(per_request epoll-rt)
ir_t=$(per_request tokio)
big_ir_e=$(per_request epoll-rt "$BODY")
big_ir_t=$(per_request tokio "$BODY")
rps_e=$(median "${RPS[epoll-rt]}")
rps_t=$(median "${RPS[tokio]}")
big_e=$(median "${BIG_RPS[epoll-rt]}")
big_t=$(median "${BIG_RPS[tokio]}")
cpu_e=$(median "${BIG_CPU[epoll-rt]}")
cpu_t=$(median "${BIG_CPU[tokio]}")

table=$(
    cat <<EOF
| hyper 1.x, HTTP/1.1, 50 connections | epoll-rt | tokio | epoll-rt / tokio |
|---|---:|---:|---:|
| user-space instructions per request (callgrind) | $ir_e | $ir_t | $(ratio "$ir_e" "$ir_t") |
| \`wrk -t1 -c50\`, req/s | $rps_e | $rps_t | $(ratio "$rps_e" "$rps_t") |
| 64 KiB body, \`wrk -t1 -c50\`, req/s | $big_e | $big_t | $(ratio "$big_e" "$big_t") |
| 64 KiB body, server user CPU per request, µs | $cpu_e | $cpu_t | $(ratio "$cpu_e" "$cpu_t") |
| 64 KiB body, user-space instructions per request (callgrind) | $big_ir_e | $big_ir_t | $(ratio "$big_ir_e" "$big_ir_t") |
EOF
)
mkdir -p "$BENCH/results"
{
    printf '\n## %s, %s runs of %ss (load average before: %s)\n\n' "$(date -u '+%F %T UTC')" "$RUNS" "$SECS" "$LOAD_BEFORE"
    printf '%s\n\n' "$table"
    printf 'Raw: req/s %s | %s; 64 KiB req/s %s | %s; µs/request %s | %s; Ir %s %s | %s %s\n' \
        "${RPS[epoll-rt]}" "${RPS[tokio]}" "${BIG_RPS[epoll-rt]}" "${BIG_RPS[tokio]}" \
        "${BIG_CPU[epoll-rt]}" "${BIG_CPU[tokio]}" \
        "${IR[epoll-rt|$N1|]}" "${IR[epoll-rt|$N2|]}" "${IR[tokio|$N1|]}" "${IR[tokio|$N2|]}"
} >>"$BENCH/results/hyper-$(date -u +%F).md"
printf '%s\n' "$table"
