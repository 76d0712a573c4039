#!/usr/bin/env bash
# The guide's strace excerpts (chapters 7 and 10) against a traced session of the echo
# server: tests/guide.rs's `strace_excerpts_match_a_session`, with strace installed and
# EPOLL_RT_REQUIRE_STRACE=1, so that a missing strace, or one the machine does not let
# trace, fails this step instead of skipping the check. About 2 s after the build.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v strace >/dev/null; then
    echo "installing strace"
    (apt-get update -qq && apt-get install -y -qq strace) >/dev/null
fi
strace -V | head -n1

# The test runs the example binaries that cargo builds next to it.
cargo build --examples --quiet
EPOLL_RT_REQUIRE_STRACE=1 cargo test --quiet --test guide strace_excerpts_match_a_session
