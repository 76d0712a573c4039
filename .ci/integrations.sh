#!/usr/bin/env bash
# The crate integrations/ (epoll-rt with hyper): lints, tests (HTTP/1.1 and HTTP/2 served
# and fetched with hyper on epoll-rt, 64 KiB bodies, header_read_timeout), the main
# crate's `hyper` feature (its doc examples and tests/hyper.rs), and the example
# hyper_hello driven by curl over HTTP/1.1 and h2c, then stopped with SIGTERM, which must
# end it cleanly (exit status 0).
#
# A crate of its own, with its own target dir (target/integrations): hyper, h2 and their
# dependencies take a minute or two to build on 2 cores, once. Every wait is bounded and
# the server is killed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v curl >/dev/null; then
    apt-get update -qq && apt-get install -y -qq curl >/dev/null
fi

export CARGO_TARGET_DIR=${INTEGRATIONS_TARGET_DIR:-$PWD/target/integrations}
SERVER_PID=""
tmp=$(mktemp -d)
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

echo "--- the main crate with --features hyper: clippy, tests/hyper.rs, doc examples"
cargo clippy --features hyper --all-targets --quiet -- -D warnings
cargo test --features hyper --quiet --test hyper
cargo test --features hyper --quiet --doc hyper

cd integrations
echo "--- integrations/: fmt, clippy, tests"
cargo fmt --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --quiet

echo "--- hyper_hello against curl"
cargo build --quiet --example hyper_hello
"$CARGO_TARGET_DIR/debug/examples/hyper_hello" 127.0.0.1:0 >"$tmp/out" 2>"$tmp/err" &
SERVER_PID=$!
addr=""
for _ in $(seq 100); do
    addr=$(sed -n '1s/^listening on //p' "$tmp/out")
    [ -n "$addr" ] && break
    sleep 0.1
done
[ -n "$addr" ] || { echo "hyper_hello did not start: $(cat "$tmp/err")"; exit 1; }

for mode in --http1.1 --http2-prior-knowledge; do
    reply=$(curl -sS --max-time 10 "$mode" -o - -w ' %{http_version}' "http://$addr/")
    echo "curl $mode: $reply"
    case $mode in
    --http1.1) [ "$reply" = "Hello, world! 1.1" ] ;;
    *) [ "$reply" = "Hello, world! 2" ] ;;
    esac || { echo "unexpected reply"; exit 1; }
done

kill -TERM "$SERVER_PID"
for _ in $(seq 100); do
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
done
status=0
wait "$SERVER_PID" || status=$?
SERVER_PID=""
[ "$status" -eq 0 ] || { echo "hyper_hello exited with status $status after SIGTERM"; exit 1; }
echo "hyper_hello: answered HTTP/1.1 and h2c, shut down on SIGTERM"
