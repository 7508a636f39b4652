#!/bin/sh
# Cross-compile the daemons for a Raspberry Pi with cargo-zigbuild.
#   cross/build.sh aarch64-unknown-linux-gnu      (default)
#   cross/build.sh armv7-unknown-linux-gnueabihf
# Builds the release binaries of the workspace's daemons that exist
# (door-station, intercom-proxy) and prints their sizes. Binaries land in
# $CARGO_TARGET_DIR/<target>/release (default target/<target>/release).
# CARGO_BUILD_JOBS limits parallel jobs (default 2). Extra arguments go to cargo.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
target=${1:-aarch64-unknown-linux-gnu}
[ $# -gt 0 ] && shift
DS_TARGET=$target
. "$here/env.sh"
command -v cargo-zigbuild >/dev/null || { echo "cargo-zigbuild missing: run cross/setup-sysroot.sh" >&2; exit 1; }

cd "$root"
meta=$(cargo metadata --no-deps --format-version 1 --offline)
pkgs=""
for p in door-station intercom-proxy; do
	case $meta in *"\"name\":\"$p\""*) pkgs="$pkgs -p $p" ;; esac
done
[ -n "$pkgs" ] || { echo "no daemon package in the workspace" >&2; exit 1; }
start=$(date +%s)
# shellcheck disable=SC2086 # $pkgs is a list of arguments
cargo zigbuild --release --locked -j "${CARGO_BUILD_JOBS:-2}" --target "$DS_ZIG_TARGET" $pkgs "$@"
end=$(date +%s)
out="${CARGO_TARGET_DIR:-$root/target}/$DS_TARGET/release"
echo "cross build for $DS_ZIG_TARGET took $((end - start)) s"
for p in door-station intercom-proxy; do
	[ -x "$out/$p" ] && echo "$p: $(wc -c <"$out/$p") bytes ($(file -b "$out/$p" | cut -d, -f1-2))"
done
exit 0
