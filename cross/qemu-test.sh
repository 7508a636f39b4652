#!/bin/sh
# Build the sans-IO test suites for aarch64 and run them under qemu-user.
#   cross/qemu-test.sh [extra cargo test arguments]
# The test binaries are linked by zig against glibc 2.36 and run with
# qemu-aarch64-static (Debian qemu-user-static), which finds the dynamic loader
# and libc of the arm64 multiarch packages under -L / (no binfmt needed).
# QEMU_TEST_PACKAGES overrides the packages tested (default: ds-sip ds-hw).
# QEMU_TEST_SKIP lists test-name filters not run: by default the Wiegand sender
# test, which drives real-time pulses and cannot meet their widths under
# emulation (its frames all overrun).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
DS_TARGET=aarch64-unknown-linux-gnu
. "$here/env.sh"
qemu=$(command -v qemu-aarch64-static || true)
[ -n "$qemu" ] || { echo "qemu-aarch64-static missing: run cross/setup-sysroot.sh" >&2; exit 1; }
[ -e /lib/ld-linux-aarch64.so.1 ] || { echo "arm64 libc6 missing: run cross/setup-sysroot.sh" >&2; exit 1; }

pkgs=""
for p in ${QEMU_TEST_PACKAGES:-ds-sip ds-hw}; do pkgs="$pkgs -p $p"; done
# cargo runs each test binary through the runner, in its package's directory.
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER="$qemu -L /"

skips=""
for t in ${QEMU_TEST_SKIP-wiegand::sender::tests::frames_reported_sent_are_on_the_lines_and_decode}; do
	skips="$skips --skip $t"
done

cd "$root"
start=$(date +%s)
# Unit and integration tests only: doctests are host-side examples.
# shellcheck disable=SC2086 # $pkgs is a list of arguments
cargo-zigbuild test --locked -j "${CARGO_BUILD_JOBS:-2}" --target "$DS_ZIG_TARGET" $pkgs --lib --tests --no-run
built=$(date +%s)
# shellcheck disable=SC2086
cargo-zigbuild test --locked -j "${CARGO_BUILD_JOBS:-2}" --target "$DS_ZIG_TARGET" $pkgs --lib --tests \
	--no-fail-fast "$@" -- $skips
echo "qemu-test: built in $((built - start)) s, ran in $(($(date +%s) - built)) s under $qemu"
