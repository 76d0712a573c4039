#!/usr/bin/env bash
# bench/instructions.sh: user-space instructions per echo request (or, with KIND=http, per
# keep-alive HTTP request), server only, counted by valgrind's callgrind, for epoll-rt,
# tokio current_thread, smol (LocalExecutor on async-io), the C epoll loop and, for the
# echo, the floor (src/bin/floor_echo.rs: the echo on a bare executor of tasks and wakers
# that keeps none of a runtime's promises, a floor under what a runtime built of tasks
# and wakers spends).
#
#   bench/instructions.sh                       # all servers at 1, 50 and 500 connections
#   REV=817e8e7 bench/instructions.sh           # also epoll-rt at 817e8e7, as epoll-rt@817e8e7
#   CONNS=50 SERVERS=epoll-rt bench/instructions.sh
#   KIND=http bench/instructions.sh             # examples/http_hello.rs and its peers
#
# For each server and each connection count, the server runs under
# `valgrind --tool=callgrind` twice: once while loadgen makes N1 round trips of a 64-byte
# echo (KIND=http: a minimal keep-alive GET, answered with `Hello, world!`), once while it
# makes N2; then it is stopped, and callgrind's total of instructions
# executed (Ir) is read from its output file. Only the server runs under valgrind; loadgen
# runs natively. The two runs start, connect and shut down alike, so those costs cancel in
#
#     instructions per request = (I(N2) - I(N1)) / (N2 - N1)
#
# Instructions are counted in user space only: the kernel's work inside system calls is
# not in them. Unlike run.sh's timings they barely change from one run to the next, so a
# change of a few instructions per request shows.
#
# Settings (environment variables, defaults in brackets):
#   KIND [echo]             echo: examples/echo_server.rs, tokio_echo, smol_echo and
#                           c/echo_epoll.c; http: examples/http_hello.rs (timeouts at their
#                           defaults), tokio_http, smol_http and c/http_epoll.c
#   CONNS ["1 50 500"]      connection counts, one table row each
#   N1 [5000], N2 [45000]   round trips (all connections together) of the two runs
#   SERVERS ["C floor epoll-rt tokio smol"; with KIND=http "C epoll-rt tokio smol"]
#   REV [""]                git revisions of epoll-rt to measure besides the working tree,
#                           each built from a temporary git worktree (removed on exit) into
#                           its own target dir and reported as the column epoll-rt@REV
#   SERVER_CPU [0], CLIENT_CPU [1]
#   KEEP [""]              a folder to copy every callgrind output file into, named
#                           callgrind.out.<server>.<conns>.<count> (bench/breakdown.sh reads them)
#   RESULTS [bench/results/instructions-<date>.md, with KIND=http instructions-http-<date>.md]
#                           the file the report is appended to
#
# The table is printed and appended, with each raw I(N1) and I(N2), to RESULTS. Everything runs on 127.0.0.1 only, and every
# server started is stopped on exit.

set -uo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
CONNS=${CONNS:-"1 50 500"}
N1=${N1:-5000}
N2=${N2:-45000}
KIND=${KIND:-echo}
if [[ $KIND == echo ]]; then
    SERVERS=${SERVERS:-"C floor epoll-rt tokio smol"}
else
    SERVERS=${SERVERS:-"C epoll-rt tokio smol"}
fi
REV=${REV:-}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
KEEP=${KEEP:-}

# Bounds on every wait, in seconds. Valgrind starts a program in about a second and runs
# its user-space code many times slower than natively; these leave a wide margin.
START_SECS=60 # for the server's `listening on` line
LOAD_SECS=900 # for one loadgen run
STOP_SECS=30  # for the server to exit after its stop signal

BEGIN=$(date +%s)
TMP=$(mktemp -d /tmp/epoll-rt-instructions.XXXXXX)
SERVER_PID=""
WORKTREES=()

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() {
    log "error: $*"
    exit 1
}

# Kills the server if one is running, removes the revisions' worktrees and the scratch folder.
cleanup() {
    if [[ -n $SERVER_PID ]]; then
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
    fi
    local wt
    for wt in "${WORKTREES[@]}"; do
        git -C "$ROOT" worktree remove --force "$wt" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

((N2 > N1 && N1 > 0)) || die "need 0 < N1 < N2 (N1=$N1, N2=$N2)"

# What is measured: the example, the bench crate's peers, the C loop, loadgen's mode.
case $KIND in
echo) EXAMPLE=echo_server PEER=echo C_LOOP=echo_epoll LOADGEN_MODE=(--size 64) WHAT="64-byte echo request" ;;
http) EXAMPLE=http_hello PEER=http C_LOOP=http_epoll LOADGEN_MODE=(--http) WHAT="keep-alive HTTP request" ;;
*) die "KIND must be echo or http, not '$KIND'" ;;
esac

# ---------------------------------------------------------------------------------------
# Tools and builds
# ---------------------------------------------------------------------------------------

need() { command -v "$1" >/dev/null 2>&1; }
if ! need valgrind || ! need gcc; then
    log "installing valgrind and gcc"
    (apt-get update -qq && apt-get install -y -qq valgrind gcc) >/dev/null ||
        die "cannot install valgrind/gcc (apt-get update && apt-get install -y valgrind gcc)"
fi
for tool in cargo gcc git taskset timeout valgrind; do
    need "$tool" || die "$tool not found"
done

# Enough descriptors for the largest connection count on each side.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

BIN=$TMP/bin
mkdir -p "$BIN"
MAIN_TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
log "building examples/$EXAMPLE.rs (target dir $MAIN_TARGET)"
(cd "$ROOT" && cargo build --release --quiet --example "$EXAMPLE") || die "cannot build $EXAMPLE"
# The floor exists for the echo only.
FLOOR=()
[[ $KIND == echo ]] && FLOOR=(--bin floor_echo)
log "building the bench crate's loadgen, tokio_$PEER, smol_$PEER ${FLOOR[*]:+and floor_echo}"
(cd "$BENCH" && CARGO_TARGET_DIR="$BENCH/target" cargo build --release --quiet --bin loadgen --bin "tokio_$PEER" --bin "smol_$PEER" "${FLOOR[@]}") ||
    die "cannot build the bench crate"
log "compiling the C server"
mkdir -p "$BENCH/target/c"
gcc -O2 -Wall -o "$BENCH/target/c/$C_LOOP" "$BENCH/c/$C_LOOP.c" || die "gcc $C_LOOP.c"

# Everything measured is copied aside, so that a rebuild during the run cannot change it.
cp "$MAIN_TARGET/release/examples/$EXAMPLE" "$BIN/epoll-rt" || die "no $EXAMPLE example"
cp "$BENCH/target/release/tokio_$PEER" "$BIN/tokio" || die "no tokio_$PEER"
cp "$BENCH/target/release/smol_$PEER" "$BIN/smol" || die "no smol_$PEER"
cp "$BENCH/target/c/$C_LOOP" "$BIN/C" || die "no $C_LOOP"
if [[ $KIND == echo ]]; then
    cp "$BENCH/target/release/floor_echo" "$BIN/floor" || die "no floor_echo"
fi
cp "$BENCH/target/release/loadgen" "$BIN/loadgen" || die "no loadgen"
LOADGEN=$BIN/loadgen

# Each server: its binary, and the signal that stops it. epoll-rt's example servers block
# SIGINT and reads it from a signalfd (so it stops even though a background job of a
# script starts with SIGINT ignored), then shuts down gracefully and exits with status 0.
# The bench crate's servers and the C loops handle no signal: SIGTERM's default action ends them, and
# callgrind still writes its output file when the program dies of a signal.
declare -A SERVER_BIN=([C]=$BIN/C [epoll-rt]=$BIN/epoll-rt [tokio]=$BIN/tokio [smol]=$BIN/smol)
declare -A STOP_SIGNAL=([C]=TERM [epoll-rt]=INT [tokio]=TERM [smol]=TERM [floor]=TERM)
[[ $KIND == echo ]] && SERVER_BIN[floor]=$BIN/floor
declare -A REV_COMMIT=()
REV_NAMES=()

# Each revision: a worktree of its own, built into a target dir of its own.
i=0
for rev in $REV; do
    i=$((i + 1))
    commit=$(git -C "$ROOT" rev-parse --verify --quiet "$rev^{commit}") || die "no such revision: $rev"
    name="epoll-rt@$rev"
    wt=$TMP/rev$i
    log "building examples/$EXAMPLE.rs at $rev (${commit:0:7}) in a worktree"
    git -C "$ROOT" worktree add --quiet --detach "$wt" "$commit" || die "cannot add a worktree at $rev"
    WORKTREES+=("$wt")
    (cd "$wt" && CARGO_TARGET_DIR="$TMP/target-rev$i" cargo build --release --quiet --example "$EXAMPLE") ||
        die "cannot build $EXAMPLE at $rev"
    cp "$TMP/target-rev$i/release/examples/$EXAMPLE" "$BIN/rev$i" || die "no $EXAMPLE at $rev"
    SERVER_BIN[$name]=$BIN/rev$i
    STOP_SIGNAL[$name]=INT
    REV_COMMIT[$name]=${commit:0:7}
    REV_NAMES+=("$name")
done

MEASURED=()
for s in $SERVERS; do
    [[ -n ${SERVER_BIN[$s]:-} ]] || die "unknown server '$s' (known: ${!SERVER_BIN[*]})"
    MEASURED+=("$s")
done
MEASURED+=("${REV_NAMES[@]}")

# ---------------------------------------------------------------------------------------
# One measurement
# ---------------------------------------------------------------------------------------

# stop_server SIGNAL: sends SIGNAL to the server and waits for it to exit. If it has not
# after STOP_SECS, SIGTERM (whose default action ends it, with callgrind's output written);
# if not even then, SIGKILL, and the measurement fails.
stop_server() {
    local sig=$1 _
    kill -"$sig" "$SERVER_PID" 2>/dev/null
    for _ in $(seq $((STOP_SECS * 10))); do
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        log "the server did not exit ${STOP_SECS}s after SIG$sig: sending SIGTERM"
        kill -TERM "$SERVER_PID" 2>/dev/null
        for _ in $(seq 100); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
    fi
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -KILL "$SERVER_PID" 2>/dev/null
        wait "$SERVER_PID" 2>/dev/null
        SERVER_PID=""
        die "the server did not exit after SIGTERM either; killed it"
    fi
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
}

declare -A IR # "server|conns|count" -> instructions executed

# instructions SERVER CONNS COUNT: runs SERVER under callgrind while loadgen makes COUNT
# round trips over CONNS connections, stops it, and stores the instructions it executed in
# IR. (Not printed for a `$(...)`: that subshell would hide SERVER_PID from cleanup.)
instructions() {
    local s=$1 conns=$2 count=$3 addr="" line msgs total _
    local out=$TMP/callgrind.out.$conns.$count.${SERVER_BIN[$s]##*/}
    : >"$TMP/server.out"
    rm -f "$out"
    taskset -c "$SERVER_CPU" valgrind --tool=callgrind --callgrind-out-file="$out" \
        "${SERVER_BIN[$s]}" 127.0.0.1:0 >"$TMP/server.out" 2>"$TMP/server.err" &
    SERVER_PID=$!
    for _ in $(seq $((START_SECS * 10))); do
        addr=$(sed -n 's/^listening on //p' "$TMP/server.out")
        [[ -n $addr ]] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    [[ -n $addr ]] || die "$s did not start under valgrind: $(tail -n3 "$TMP/server.err")"
    # Only ever load loopback.
    [[ $addr == 127.0.0.1:* ]] || die "$s listens on $addr, not 127.0.0.1"

    line=$(timeout "$LOAD_SECS" taskset -c "$CLIENT_CPU" "$LOADGEN" --addr "$addr" \
        --conns "$conns" "${LOADGEN_MODE[@]}" --count "$count" 2>"$TMP/loadgen.err")
    msgs=$(sed -n 's/.* msgs=\([0-9]*\) .*/\1/p' <<<"$line")
    [[ $msgs == "$count" ]] ||
        die "loadgen against $s at $conns connections made ${msgs:-no} round trips, not $count ($(cat "$TMP/loadgen.err"))"

    stop_server "${STOP_SIGNAL[$s]}"
    total=$(sed -n 's/^summary: *//p' "$out" 2>/dev/null)
    [[ $total =~ ^[0-9]+$ ]] || die "no callgrind summary for $s in $out: $(tail -n3 "$TMP/server.err")"
    IR["$s|$conns|$count"]=$total
    if [[ -n $KEEP ]]; then
        cp "$out" "$KEEP/callgrind.out.$s.$conns.$count" || die "cannot copy $out to $KEEP"
    fi
}

# ---------------------------------------------------------------------------------------
# The runs
# ---------------------------------------------------------------------------------------

START=$(date +%s)
log "$KIND servers: ${MEASURED[*]}; connections: $CONNS; N1=$N1 N2=$N2"
for conns in $CONNS; do
    for s in "${MEASURED[@]}"; do
        for count in "$N1" "$N2"; do
            log "$s, $conns connections, $count round trips"
            instructions "$s" "$conns" "$count"
        done
    done
done
MEASURING=$(($(date +%s) - START))
ELAPSED=$(($(date +%s) - BEGIN))

# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------

# per_request SERVER CONNS: (I(N2) - I(N1)) / (N2 - N1), or NA if not measured.
per_request() {
    local a=${IR["$1|$2|$N1"]:-} b=${IR["$1|$2|$N2"]:-}
    [[ -n $a && -n $b ]] || {
        echo NA
        return
    }
    awk -v a="$a" -v b="$b" -v n1="$N1" -v n2="$N2" 'BEGIN {printf "%.1f", (b - a) / (n2 - n1)}'
}

# ratio A B: A / B to two decimals, or – when either is missing.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        if (a == "NA" || b == "NA" || b + 0 == 0) print "–"
        else printf "%.2f", a / b }'
}

# show V: the figure, or – if not measured.
show() { if [[ $1 == NA ]]; then echo "–"; else echo "$1"; fi; }

table() {
    local header="| connections | C loop | floor | epoll-rt | tokio current_thread | smol (LocalExecutor) |"
    local rule="|---:|---:|---:|---:|---:|---:|"
    local name conns c f e t m row
    for name in "${REV_NAMES[@]}"; do
        header+=" $name |"
        rule+="---:|"
    done
    header+=" epoll-rt/C | epoll-rt/floor | epoll-rt/tokio | epoll-rt/smol |"
    rule+="---:|---:|---:|---:|"
    for name in "${REV_NAMES[@]}"; do
        header+=" epoll-rt/$name |"
        rule+="---:|"
    done
    echo "$header"
    echo "$rule"
    for conns in $CONNS; do
        c=$(per_request C "$conns")
        f=$(per_request floor "$conns")
        e=$(per_request epoll-rt "$conns")
        t=$(per_request tokio "$conns")
        m=$(per_request smol "$conns")
        row="| $conns | $(show "$c") | $(show "$f") | $(show "$e") | $(show "$t") | $(show "$m") |"
        for name in "${REV_NAMES[@]}"; do
            row+=" $(show "$(per_request "$name" "$conns")") |"
        done
        row+=" $(ratio "$e" "$c") | $(ratio "$e" "$f") | $(ratio "$e" "$t") | $(ratio "$e" "$m") |"
        for name in "${REV_NAMES[@]}"; do
            row+=" $(ratio "$e" "$(per_request "$name" "$conns")") |"
        done
        echo "$row"
    done
}

raw_table() {
    echo "| server | connections | I(N1 = $N1) | I(N2 = $N2) |"
    echo "|---|---:|---:|---:|"
    local s conns
    for conns in $CONNS; do
        for s in "${MEASURED[@]}"; do
            echo "| $s | $conns | ${IR["$s|$conns|$N1"]} | ${IR["$s|$conns|$N2"]} |"
        done
    done
}

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]] && COMMIT+=" (with uncommitted changes)"
{
    echo
    echo "## $(date '+%F %T'), commit $COMMIT"
    echo
    echo "Machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1), Linux $(uname -r);" \
        "$(valgrind --version), $(rustc --version 2>/dev/null | cut -d' ' -f1-2), glibc $(ldd --version 2>/dev/null | awk 'NR == 1 {print $NF}')."
    echo "Settings: KIND=$KIND CONNS=\"$CONNS\" N1=$N1 N2=$N2 SERVER_CPU=$SERVER_CPU CLIENT_CPU=$CLIENT_CPU; took ${ELAPSED}s, builds included (${MEASURING}s measuring)."
    for name in "${REV_NAMES[@]}"; do
        echo "$name is commit ${REV_COMMIT[$name]}."
    done
    echo "User-space instructions per $WHAT, server only: (I(N2) - I(N1)) / (N2 - N1)."
    echo
    table
    echo
    echo "Instructions of each whole run (callgrind's Ir):"
    echo
    raw_table
} >"$TMP/report.md"

mkdir -p "$BENCH/results"
if [[ $KIND == echo ]]; then
    RESULTS=${RESULTS:-$BENCH/results/instructions-$(date +%F).md}
else
    RESULTS=${RESULTS:-$BENCH/results/instructions-$KIND-$(date +%F).md}
fi
[[ -e $RESULTS ]] || echo "# Instructions per $WHAT, $(date +%F)" >"$RESULTS"
cat "$TMP/report.md" >>"$RESULTS"
cat "$TMP/report.md"
log "appended to $RESULTS"
