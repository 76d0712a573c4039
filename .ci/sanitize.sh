#!/usr/bin/env bash
# The test suite under AddressSanitizer (with LeakSanitizer) and under valgrind memcheck.
#
#   bash .ci/sanitize.sh            # both
#   bash .ci/sanitize.sh asan       # AddressSanitizer only
#   bash .ci/sanitize.sh valgrind   # valgrind only
#
# AddressSanitizer. Only the stable toolchain is installed, and `-Zsanitizer` is a nightly
# flag; RUSTC_BOOTSTRAP=1 lets stable accept it (the sanitizer runtimes ship with stable).
# `--target` keeps build scripts and proc macros (which run on the host) uninstrumented,
# and the build goes to a target directory of its own, so the flags never mix with a
# normal build. Leak checking is on (the default on x86_64 Linux, set explicitly anyway);
# any report makes the test binary, and so this script, fail. The standard library is the
# prebuilt, uninstrumented one: its own memory errors would go unseen, ours do not, and
# every allocation (std's included) is still watched for leaks. The doc tests run too
# (RUSTDOCFLAGS carries the same flag; edition 2024 merges them into one binary, so they
# cost seconds).
#
# Valgrind memcheck. The test binaries are the normal debug build (target directory of its
# own). Each runs under `valgrind --leak-check=full`; invalid accesses, uses of
# uninitialised memory, and "definitely" or "indirectly" lost blocks fail it. ("Possibly
# lost" blocks are not errors: the test harness's own thread-local channel state shows up
# as one at exit.) Valgrind runs the threads of a program one at a time, 20 to 50 times
# slower; the suite still passes under it (the server side of the 10,000 connections, the
# signal storm, at one signal per millisecond there instead of one per 100 µs, and the
# fuzz included; doc tests are left to AddressSanitizer), with three
# exceptions: accept_exhaustion is skipped, because valgrind keeps
# descriptors of its own above the limit it shows the program, so the test cannot bring
# the process to exactly its descriptor limit; epoll_pwait2_denied and process_without_pidfd,
# because valgrind does not implement the `seccomp` call these tests install their filter
# with (ENOSYS; the one such test in alarm.rs returns at once there); and guide, which
# runs the example programs (not built here, and not run under valgrind). Valgrind has no
# `epoll_pwait2` or `pidfd_open` either, so the runtime runs there as on a kernel without
# them.
#
# Settings (environment): SANITIZE_TARGET_DIR (default target/sanitize), VALGRIND_TIMEOUT
# (seconds per test binary, default 900).
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-all}
target_dir=${SANITIZE_TARGET_DIR:-target/sanitize}
valgrind_timeout=${VALGRIND_TIMEOUT:-900}
host=x86_64-unknown-linux-gnu

step() { printf '\n==> %s\n' "$*"; }

asan() {
    step "AddressSanitizer + LeakSanitizer: cargo test (unit, integration and doc tests)"
    local start=$SECONDS
    RUSTC_BOOTSTRAP=1 \
        RUSTFLAGS="-Zsanitizer=address" \
        RUSTDOCFLAGS="-Zsanitizer=address" \
        ASAN_OPTIONS="detect_leaks=1:detect_stack_use_after_return=1" \
        CARGO_TARGET_DIR="$target_dir/asan" \
        cargo test --target "$host" --features futures-io
    echo "AddressSanitizer: clean, in $((SECONDS - start))s"
}

# Test binaries valgrind skips (see above), as cargo names the test targets.
readonly VALGRIND_SKIP="accept_exhaustion epoll_pwait2_denied process_without_pidfd guide"

valgrind_run() {
    command -v valgrind >/dev/null || { echo "valgrind is not installed"; return 1; }
    step "valgrind memcheck: building the test binaries"
    local start=$SECONDS bins
    bins=$(CARGO_TARGET_DIR="$target_dir/valgrind" \
        cargo test --features futures-io --tests --no-run --message-format=json |
        python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(m["target"]["name"], m["executable"])
')
    local passed=0 failed=0 skipped=0 name bin t0 status
    while read -r name bin; do
        if [[ " $VALGRIND_SKIP " == *" $name "* ]]; then
            echo "skip $name"
            skipped=$((skipped + 1))
            continue
        fi
        t0=$SECONDS
        status=0
        timeout "$valgrind_timeout" valgrind -q --error-exitcode=1 --leak-check=full \
            --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect \
            "$bin" >"$target_dir/valgrind-$name.log" 2>&1 || status=$?
        if [ "$status" -eq 0 ]; then
            echo "ok   $name ($((SECONDS - t0))s)"
            passed=$((passed + 1))
        else
            echo "FAIL $name (status $status, $((SECONDS - t0))s); log:"
            sed 's/^/     | /' "$target_dir/valgrind-$name.log" | tail -60
            failed=$((failed + 1))
        fi
    done <<<"$bins"
    echo "valgrind: $((SECONDS - start))s"
    echo "valgrind: $passed passed, $failed failed, $skipped skipped"
    [ "$failed" -eq 0 ]
}

mkdir -p "$target_dir"
case $what in
    asan) asan ;;
    valgrind) valgrind_run ;;
    all)
        asan
        valgrind_run
        ;;
    *)
        echo "usage: $0 [asan|valgrind|all]" >&2
        exit 2
        ;;
esac
