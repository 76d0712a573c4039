#!/usr/bin/env bash
# Portability check: a release binary built on epoll-rt must load wherever a plain Rust
# program built on the same machine loads. It must not need a newer glibc symbol version
# than `fn main() {}` does (epoll_pwait2@GLIBC_2.35, for one, would keep it from starting
# on RHEL 9's glibc 2.34), and must not import `epoll_pwait2` at all (the crate makes that
# call as a raw system call).
#
# Builds a trivial crate in a scratch directory and the echo_server example, both in
# release mode with the same toolchain, and compares the highest GLIBC_x.y version in
# `objdump -T` of each. Exits non-zero on a newer version or an `epoll_pwait2` import.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v objdump >/dev/null 2>&1; then
    echo "objdump not found: installing binutils"
    (apt-get update -qq && apt-get install -y -qq binutils) >/dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# highest_glibc BINARY: the highest GLIBC_x.y version BINARY's dynamic symbols need.
highest_glibc() {
    objdump -T "$1" | grep -o 'GLIBC_[0-9][0-9.]*' | sort -uV | tail -n 1
}

# The baseline: what any Rust binary needs on this machine.
mkdir -p "$tmp/trivial/src"
printf '[package]\nname = "trivial"\nversion = "0.0.0"\nedition = "2024"\n\n[workspace]\n' \
    >"$tmp/trivial/Cargo.toml"
echo 'fn main() {}' >"$tmp/trivial/src/main.rs"
cargo build --quiet --release --manifest-path "$tmp/trivial/Cargo.toml" \
    --target-dir "$tmp/target"
baseline=$(highest_glibc "$tmp/target/release/trivial")

# The crate, through an example that uses sockets and timers.
cargo build --quiet --release --example echo_server
binary=${CARGO_TARGET_DIR:-target}/release/examples/echo_server
needed=$(highest_glibc "$binary")

echo "fn main() {} needs $baseline; examples/echo_server needs $needed"
status=0
if objdump -T "$binary" | grep -q 'epoll_pwait2'; then
    echo "FAIL examples/echo_server imports epoll_pwait2 from the C library"
    objdump -T "$binary" | grep 'epoll_pwait2'
    status=1
fi
if [[ $(printf '%s\n%s\n' "$baseline" "$needed" | sort -V | tail -n 1) != "$baseline" ]]; then
    echo "FAIL examples/echo_server needs $needed, newer than $baseline:"
    objdump -T "$binary" | grep -F "($needed)"
    status=1
fi
if ((status == 0)); then
    echo "ok   no epoll_pwait2 import, no glibc version newer than a trivial binary's"
fi
exit "$status"
