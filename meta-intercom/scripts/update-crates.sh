#!/bin/sh
# Regenerate the crate list the recipes fetch, from the workspace's Cargo.lock.
#
#   meta-intercom/scripts/update-crates.sh           rewrite the .inc file
#   meta-intercom/scripts/update-crates.sh --check   exit 1 if it is out of date
#
# The output has the format of oe-core's `bitbake -c update_crates`
# (cargo-update-recipe-crates.bbclass): one crate://crates.io/<name>/<version>
# entry per registry package and SRC_URI[<name>-<version>.sha256sum] set to the
# checksum Cargo.lock records. Both daemons are built from the one workspace,
# so both recipes share this one file. Needs python3 >= 3.11 (tomllib).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
lock=${CARGO_LOCK:-$root/Cargo.lock}
inc=${CRATES_INC:-$here/../recipes-intercom/intercom/intercom-crates.inc}

generate() {
	python3 - "$lock" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    lock = tomllib.load(f)
crates = [p for p in lock.get("package", []) if "crates.io" in p.get("source", "")]
others = [p["name"] for p in lock.get("package", []) if p.get("source") and "crates.io" not in p["source"]]
if others:
    sys.exit("update-crates: sources other than crates.io need SRC_URI entries by hand: " + ", ".join(others))
out = ["# Generated from Cargo.lock by meta-intercom/scripts/update-crates.sh; do not edit.", "",
       "# from Cargo.lock",
       "# nooelint: oelint.vars.inconspaces,oelint.vars.notneededspace - the layout of bitbake -c update_crates",
       'SRC_URI += " \\']
out += ["    crate://crates.io/%s/%s \\" % (p["name"], p["version"]) for p in crates]
out.append('"')
out.append("")
out += ['SRC_URI[%s-%s.sha256sum] = "%s"' % (p["name"], p["version"], p["checksum"]) for p in crates if "checksum" in p]
print("\n".join(out))
PY
}

if [ "${1:-}" = "--check" ]; then
	if generate | cmp -s - "$inc"; then
		echo "crates.inc matches Cargo.lock"
	else
		echo "$inc does not match $lock: run meta-intercom/scripts/update-crates.sh" >&2
		generate | diff -u "$inc" - >&2 || true
		exit 1
	fi
else
	tmp="$inc.tmp"
	generate >"$tmp"
	mv "$tmp" "$inc"
	echo "wrote $inc"
fi
