#!/bin/sh
# Prepare a Debian 12 host to cross-compile door-station for the Raspberry Pi.
#
# - adds the arm64 and armhf Debian architectures (multiarch) and installs the
#   target -dev packages (GStreamer, ALSA, Opus, V4L) next to the host ones, so
#   pkg-config finds them under /usr/lib/<triplet>/pkgconfig;
# - libgstreamer-plugins-base1.0-dev is not "Multi-Arch: same" in Debian 12, so
#   it cannot sit beside the host's copy: it is unpacked into an overlay,
#   $TOOLS/overlay/<arch>, whose .pc files point back at the multiarch libraries;
# - installs qemu-user-static to run aarch64 test binaries;
# - installs cargo-zigbuild (and zig, from PyPI's ziglang) in a virtualenv;
# - adds the Rust targets with rustup, for the user who runs it.
#
# Safe to run again: every step checks first, and root (sudo) is asked for only
# when something is missing. Usage: cross/setup-sysroot.sh [arm64] [armhf]
# (default: both).
set -eu

ARCHES=${*:-arm64 armhf}
TOOLS=${DS_TOOLS:-/opt/door-station-tools}
# Target packages the media and hardware crates may link against, and the
# arm64/armhf libc that qemu-user loads test binaries with.
DEV_PKGS="libc6 libgstreamer1.0-dev libgstreamer-plugins-base1.0-0 liborc-0.4-dev libasound2-dev libopus-dev libv4l-dev libudev-dev"
# Not co-installable across architectures: unpacked into the overlay instead.
OVERLAY_PKGS="libgstreamer-plugins-base1.0-dev"
HOST_PKGS="dpkg-dev pkg-config qemu-user-static python3 python3-venv ca-certificates"
# The distribution's python, so that every user can run the virtualenv.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

installed() { dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q 'install ok installed'; }

triplet_of() {
	case $1 in arm64) echo aarch64-linux-gnu ;; armhf) echo arm-linux-gnueabihf ;; esac
}

# What needs root: prints the missing packages (and markers), nothing if none.
missing() {
	for p in $HOST_PKGS; do installed "$p" || echo "$p"; done
	for a in $ARCHES; do
		dpkg --print-foreign-architectures | grep -qx "$a" || echo "arch:$a"
		for p in $DEV_PKGS; do installed "$p:$a" || echo "$p:$a"; done
		for p in $OVERLAY_PKGS; do [ -e "$TOOLS/overlay/$a/.$p" ] || echo "overlay:$p:$a"; done
	done
	[ -x "$TOOLS/venv/bin/cargo-zigbuild" ] || echo "venv"
}

# Rust targets for the calling user (not root's toolchain under sudo).
if [ -z "${DS_SETUP_AS_ROOT:-}" ]; then
	for a in $ARCHES; do
		case $a in arm64) t=aarch64-unknown-linux-gnu ;; armhf) t=armv7-unknown-linux-gnueabihf ;; esac
		if command -v rustup >/dev/null 2>&1; then
			rustup target list --installed | grep -qx "$t" || rustup target add "$t"
		else
			echo "rustup not found: install Rust with rustup, then: rustup target add $t" >&2
		fi
	done
fi

todo=$(missing)
if [ -z "$todo" ]; then
	echo "cross toolchain ready: PATH=$TOOLS/venv/bin:\$PATH"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	exec sudo DS_SETUP_AS_ROOT=1 DS_TOOLS="$TOOLS" "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive

for a in $ARCHES; do
	dpkg --print-foreign-architectures | grep -qx "$a" || dpkg --add-architecture "$a"
done
pkgs=$(echo "$todo" | grep -v -e '^arch:' -e '^overlay:' -e '^venv$' || true)
# apt-get update first, always: the new architectures need their lists.
apt-get update -q
if [ -n "$pkgs" ]; then
	# --no-remove: a multiarch package whose version differs from the host's
	# would otherwise make apt remove host packages; stop instead.
	# shellcheck disable=SC2086 # a list of package names
	apt-get install -y -q --no-install-recommends --no-remove $pkgs
fi

# The overlay: unpack, point prefix= and libdir= at the overlay (headers, .pc
# files and the unversioned .so links), and the .so links at the multiarch
# runtime libraries.
for a in $ARCHES; do
	triplet=$(triplet_of "$a")
	dir="$TOOLS/overlay/$a"
	for p in $OVERLAY_PKGS; do
		[ -e "$dir/.$p" ] && continue
		tmp=$(mktemp -d) && mkdir -p "$dir"
		# apt downloads as user _apt when it can write there.
		chown _apt "$tmp" 2>/dev/null || chmod 777 "$tmp"
		(cd "$tmp" && apt-get download -q "$p:$a")
		dpkg-deb -x "$tmp"/*.deb "$dir"
		rm -rf "$tmp"
		for pc in "$dir/usr/lib/$triplet/pkgconfig/"*.pc; do
			sed -i "s|^prefix=.*|prefix=$dir/usr|; s|^libdir=.*|libdir=$dir/usr/lib/$triplet|" "$pc"
		done
		for so in "$dir/usr/lib/$triplet/"*.so; do
			[ -L "$so" ] && ln -sf "/usr/lib/$triplet/$(basename "$(readlink "$so")")" "$so"
		done
		touch "$dir/.$p"
	done
done

# cargo-zigbuild and zig, pinned, in their own virtualenv.
if [ ! -x "$TOOLS/venv/bin/cargo-zigbuild" ]; then
	"$PY" -m venv "$TOOLS/venv"
	"$TOOLS/venv/bin/pip" install -q 'cargo-zigbuild==0.24.1' 'ziglang==0.17.1'
fi
echo "cross toolchain ready: PATH=$TOOLS/venv/bin:\$PATH"
