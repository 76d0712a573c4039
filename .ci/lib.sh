#!/usr/bin/env bash
# Shared by the smoke-test scripts of .ci/ (sourced, not run): the `check` helper that runs
# one check, prints one line and counts it. The sourcing script defines `passed`, `failed`
# and `tmp` (a scratch directory) and prints "N passed, M failed" at the end.

# check NAME COMMAND...: runs COMMAND, prints one line, counts the result. The command's
# own output is shown only on failure.
check() {
    local name=$1
    shift
    if "$@" >"$tmp/check.log" 2>&1; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name"
        sed 's/^/     | /' "$tmp/check.log"
    fi
}
