#!/usr/bin/env bash
# bench/breakdown.sh: where epoll-rt's instructions per echo request (KIND=http: per HTTP request) go,
# by part of the runtime (epoll dispatch, timers, waker, run queue, task poll, read and
# write paths, budget...),
# from callgrind's per-function costs.
#
#   bench/breakdown.sh                  # at 1 and 50 connections
#   CONNS=500 bench/breakdown.sh
#   KIND=http bench/breakdown.sh        # examples/http_hello.rs (see instructions.sh)
#
# It runs bench/instructions.sh for epoll-rt alone (same builds, same loads: N1 and N2
# round trips, the server under callgrind), keeps callgrind's output files, and subtracts
# callgrind_annotate's self cost of each (source file, function) pair in the N1 run from
# the N2 run's, divided by N2 - N1: what each pair spends per request, start-up and
# connects cancelled out, as in instructions.sh. Code inlined from one file into a function
# of another is its own pair (callgrind attributes each instruction to the source line it
# came from), so the readiness check of `driver/registration.rs` inlined into
# `tcp_stream::poll_read` counts apart from the rest of the read.
#
# Each pair goes to one part, by the first rule of `classify` below that matches. The
# table of parts is followed by the 40 costliest pairs, so any part can be checked.
#
# Settings (environment variables, defaults in brackets): CONNS ["1 50"], N1 [5000],
# N2 [45000], SERVER_CPU, CLIENT_CPU (see instructions.sh). Needs python3 and valgrind's
# callgrind_annotate (installed with valgrind by instructions.sh).
#
# The report is printed and appended to bench/results/instructions-breakdown-<date>.md
# (KIND=http: instructions-breakdown-http-<date>.md).

set -euo pipefail

BENCH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$BENCH")
CONNS=${CONNS:-"1 50"}
N1=${N1:-5000}
N2=${N2:-45000}
KIND=${KIND:-echo}
export CONNS N1 N2 KIND

command -v python3 >/dev/null || {
    echo "python3 not found" >&2
    exit 1
}

KEEP=$(mktemp -d /tmp/epoll-rt-breakdown.XXXXXX)
trap 'rm -rf "$KEEP"' EXIT

# The whole run's totals go to the table of instructions.sh's results as usual; the
# breakdown needs only the kept files.
KEEP=$KEEP SERVERS=epoll-rt RESULTS=/dev/null bash "$BENCH/instructions.sh" >"$KEEP/totals.md"

COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git -C "$ROOT" status --porcelain 2>/dev/null) ]] && COMMIT+=" (with uncommitted changes)"

{
    echo
    echo "## $(date '+%F %T'), commit $COMMIT"
    echo
    echo "Settings: KIND=$KIND CONNS=\"$CONNS\" N1=$N1 N2=$N2; $(valgrind --version), $(rustc --version | cut -d' ' -f1-2)."
    echo "Self cost per $KIND request of each part of the server, (I(N2) - I(N1)) / (N2 - N1), by"
    echo "source file and function (callgrind_annotate); bench/breakdown.sh assigns each to a part."
    for conns in $CONNS; do
        python3 - "$KEEP/callgrind.out.epoll-rt.$conns.$N1" "$KEEP/callgrind.out.epoll-rt.$conns.$N2" \
            "$N1" "$N2" "$conns" "$ROOT" <<'PYTHON'
import re
import subprocess
import sys

small, large, n1, n2, conns, root = sys.argv[1:]
requests = int(n2) - int(n1)


def costs(path):
    """Self cost of each (file, function) pair in one callgrind output file."""
    out = subprocess.run(
        ["callgrind_annotate", "--inclusive=no", "--auto=no", "--threshold=100", path],
        capture_output=True, text=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+)\s+(?:\(\s*[\d.]+%\)\s+)?(\S.*?)(?: \[[^]]*\])?$", line)
        if not m or ":" not in m.group(2) or "PROGRAM TOTALS" in line:
            continue
        file, _, function = m.group(2).partition(":")
        file = file.replace(root + "/", "")
        file = re.sub(r"^/rustc/[0-9a-f]+/library/", "std:", file)
        file = re.sub(r"^.*/\.cargo/registry/src/[^/]+/", "", file)
        key = (file, function)
        table[key] = table.get(key, 0) + int(m.group(1).replace(",", ""))
    return table


# (part, test on the file, test on the function): the first match wins.
RULES = [
    ("budget", r"util/budget\.rs", r""),
    ("timers (clock reads, deadline arithmetic, heap, sleep, the examples' watchdog)",
     r"driver/timers\.rs|driver/slack\.rs|time/sleep\.rs|common/idle\.rs|(^|/)time\.rs$|clock_gettime",
     r""),
    ("waiter entries (register, wake, release)", r"driver/waiters\.rs", r""),
    ("run queue", r"run_queue\.rs|vec_deque", r"ArcWake|block_on|run_task"),
    ("task state machine", r"scheduler/state\.rs", r""),
    ("waker (wake, clone, drop)", r"", r"ArcWake|_arc_raw|arc_wake"),
    ("task poll (scheduler, Spawned wrapper)", r"", r"Scheduler::run_task|Scheduler::poll_as"),
    ("task poll (scheduler, Spawned wrapper)", r"scheduler/spawned\.rs", r"Spawned|Detached"),
    ("epoll dispatch (epoll_wait, events, readiness)", r"", r"Reactor::turn|Core::park|Epoll::poll|on_event|epoll_wait"),
    # The reads and writes are inlined into the handler's future (`util/poll_inline.rs`):
    # there, what their files' lines cost is theirs; std's lines inlined with them count
    # as the handler's.
    ("read and write paths (readiness, recv, send)",
     r"net/tcp_stream\.rs|net/byte_stream\.rs|async_fd/|driver/registration\.rs|driver/readiness\.rs|sys/socket\.rs|sys/mod\.rs|util/poll_inline\.rs",
     r""),
    ("read and write paths (readiness, recv, send)", r"", r"tcp_stream::poll_(read|write)|^recv$|^send$"),
    ("the handler's future (its loop, the std code inlined in it)", r"", r"Spawned|Detached"),
    ("executor loop (block_on)", r"", r"block_on"),
]


def classify(file, function):
    for part, file_re, function_re in RULES:
        if (not file_re or re.search(file_re, file)) and (
                not function_re or re.search(function_re, function)):
            return part
    return "other"


a, b = costs(small), costs(large)
pairs = {key: (b.get(key, 0) - a.get(key, 0)) / requests for key in set(a) | set(b)}
parts = {}
for (file, function), cost in pairs.items():
    part = classify(file, function)
    parts[part] = parts.get(part, 0) + cost
total = sum(pairs.values())

print(f"\n### {conns} connection{'s' if conns != '1' else ''}: {total:.1f} instructions per request\n")
print("| part | instructions per request | share |")
print("|---|---:|---:|")
order = [part for part, _, _ in RULES] + ["other"]
for part in dict.fromkeys(order):
    if part in parts:
        print(f"| {part} | {parts[part]:.1f} | {100 * parts[part] / total:.0f}% |")
print(f"| **total** | **{total:.1f}** | |")
print("\nThe costliest (source file, function) pairs:\n")
print("| instructions per request | part | source file | function |")
print("|---:|---|---|---|")
for (file, function), cost in sorted(pairs.items(), key=lambda kv: -kv[1])[:40]:
    function = function.replace("|", "\\|")
    print(f"| {cost:.1f} | {classify(file, function)} | `{file}` | `{function}` |")
PYTHON
    done
} >"$KEEP/report.md"

if [[ $KIND == echo ]]; then
    RESULTS=$BENCH/results/instructions-breakdown-$(date +%F).md
else
    RESULTS=$BENCH/results/instructions-breakdown-$KIND-$(date +%F).md
fi
[[ -e $RESULTS ]] || echo "# Where the instructions of an $KIND request go, $(date +%F)" >"$RESULTS"
cat "$KEEP/report.md" >>"$RESULTS"
cat "$KEEP/report.md"
echo "appended to $RESULTS" >&2
