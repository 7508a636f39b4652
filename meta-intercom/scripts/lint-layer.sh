#!/bin/sh
# The layer's CI checks:
# 1. the shared crates .inc matches the workspace's Cargo.lock;
# 2. no crate of Cargo.lock needs a newer Rust than wrynose's (1.94.1);
# 3. oelint-adv --release wrynose reports nothing on any recipe or append.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
layer=$(dirname "$here")
root=$(dirname "$layer")

"$here/update-crates.sh" --check

# rust-version of every package the lock file resolves (cargo metadata).
(cd "$root" && cargo metadata --format-version 1 --locked --offline) | python3 -c '
import json, sys
limit = (1, 94, 1)
def ver(s):
    parts = [int(x) for x in s.split(".")]
    return tuple(parts + [0] * (3 - len(parts)))
pkgs = json.load(sys.stdin)["packages"]
over = ["%s %s needs %s" % (p["name"], p["version"], p["rust_version"])
        for p in pkgs if p.get("rust_version") and ver(p["rust_version"]) > limit]
if over:
    sys.exit("newer than the Rust of Yocto wrynose (1.94.1): " + "; ".join(over))
print("rust-version: all %d packages build with Rust 1.94.1" % len(pkgs))
'

oelint=$("$here/install-oelint.sh")
out=$(cd "$layer" && "$oelint" --release wrynose --quiet \
	recipes-*/*/*.bb recipes-*/*/*.bbappend 2>&1) || true
if [ -n "$out" ]; then
	echo "$out" >&2
	echo "oelint-adv: findings above" >&2
	exit 1
fi
echo "oelint-adv --release wrynose: clean"
