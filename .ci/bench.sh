#!/usr/bin/env bash
# .ci/bench.sh: the instruction-count script that writes the README's headline figures
# (bench/instructions.sh), run end to end at a tiny size, for echo and for HTTP: it builds
# the bench crate (tokio, smol, the floor and the load generator), compiles the C loops, runs every
# server under callgrind, and must produce a figure for each. The figures themselves are
# not checked (at this size they are start-up noise, and CI machines differ); what is
# checked is that the script still runs, so that every published figure can be
# reproduced. About a minute and a half on a 2-core machine, most of it the bench crate's
# build. Installs valgrind if missing (instructions.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."

results=$(mktemp)
log=$(mktemp)
trap 'rm -f "$results" "$log"' EXIT

for kind in echo http; do
    if ! KIND=$kind CONNS=1 N1=200 N2=600 RESULTS="$results" bash bench/instructions.sh >/dev/null 2>"$log"; then
        echo "FAIL bench/instructions.sh KIND=$kind:"
        tail -n 20 "$log"
        exit 1
    fi
    # The row for one connection: every server's column holds a number (the floor's only
    # for the echo: it has no HTTP server).
    row=$(grep '^| 1 |' "$results" | tail -n1)
    read -r c f e t m < <(awk -F'|' '{print $3, $4, $5, $6, $7}' <<<"$row")
    figures=("$c" "$e" "$t" "$m")
    [[ $kind == echo ]] && figures+=("$f")
    for figure in "${figures[@]}"; do
        if ! [[ $figure =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
            echo "FAIL bench/instructions.sh KIND=$kind: a server has no figure: $row"
            exit 1
        fi
    done
    echo "ok   bench/instructions.sh KIND=$kind: C $c, floor $f, epoll-rt $e, tokio $t, smol $m instructions per request (tiny run)"
done
