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
# - adds the two Rust targets with rustup.
#
# Run as root (or through sudo). Safe to run again: every step checks first.
# Usage: cross/setup-sysroot.sh [arm64] [armhf]      (default: both)
set -eu

ARCHES=${*:-arm64 armhf}
TOOLS=${DS_TOOLS:-/opt/door-station-tools}
# Target -dev packages the media and hardware crates may link against.
DEV_PKGS="libc6 libgstreamer1.0-dev libgstreamer-plugins-base1.0-0 libasound2-dev libopus-dev libv4l-dev libudev-dev"
# Not co-installable across architectures: unpacked into the overlay instead.
OVERLAY_PKGS="libgstreamer-plugins-base1.0-dev"
HOST_PKGS="dpkg-dev pkg-config qemu-user-static python3 python3-venv ca-certificates"

if [ "$(id -u)" != 0 ]; then
	exec sudo -E "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive

need_update=0
for a in $ARCHES; do
	if ! dpkg --print-foreign-architectures | grep -qx "$a"; then
		dpkg --add-architecture "$a"
		need_update=1
	fi
done

want=""
for p in $HOST_PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || want="$want $p"
done
for a in $ARCHES; do
	for p in $DEV_PKGS; do
		dpkg-query -W -f='${Status}\n' "$p:$a" 2>/dev/null | grep -q 'install ok installed' || want="$want $p:$a"
	done
done
if [ -n "$want" ] || [ "$need_update" = 1 ]; then
	apt-get update -q
fi
if [ -n "$want" ]; then
	# --no-remove: a multiarch -dev package whose version differs from the host's
	# would otherwise make apt remove host packages; stop instead.
	apt-get install -y -q --no-install-recommends --no-remove $want
fi

# The overlay: unpack, point prefix= at the overlay for headers and .pc files,
# and the unversioned .so links (kept in the overlay) at the multiarch runtime
# libraries.
for a in $ARCHES; do
	triplet=$(dpkg-architecture -a "$a" -qDEB_HOST_MULTIARCH 2>/dev/null)
	dir="$TOOLS/overlay/$a"
	for p in $OVERLAY_PKGS; do
		[ -e "$dir/.$p" ] && continue
		tmp=$(mktemp -d) && chmod 755 "$tmp" && mkdir -p "$dir"
		(cd "$tmp" && apt-get download -q "$p:$a")
		dpkg-deb -x "$tmp"/*.deb "$dir"
		rm -rf "$tmp"
		for pc in "$dir/usr/lib/$triplet/pkgconfig/"*.pc; do
			sed -i "s|^prefix=.*|prefix=$dir/usr|; s|^libdir=.*|libdir=$dir/usr/lib/$triplet|" "$pc"
		done
		for so in "$dir/usr/lib/$triplet/"*.so; do
			[ -L "$so" ] && ln -sf "/usr/lib/$triplet/$(readlink "$so")" "$so"
		done
		touch "$dir/.$p"
	done
done

# cargo-zigbuild and zig, pinned, in their own virtualenv.
if [ ! -x "$TOOLS/venv/bin/cargo-zigbuild" ]; then
	python3 -m venv "$TOOLS/venv"
	"$TOOLS/venv/bin/pip" install -q 'cargo-zigbuild==0.24.1' 'ziglang==0.17.1'
fi

# Rust targets, for the user who runs cargo (SUDO_USER when called through sudo).
rust_user=${SUDO_USER:-root}
for t in aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf; do
	if command -v rustup >/dev/null 2>&1 || su - "$rust_user" -c 'command -v rustup' >/dev/null 2>&1; then
		if [ "$rust_user" = root ]; then
			rustup target add "$t"
		else
			su - "$rust_user" -c "rustup target add $t"
		fi
	else
		echo "rustup not found: install Rust with rustup, then run: rustup target add $t" >&2
	fi
done
echo "cross toolchain ready: PATH=$TOOLS/venv/bin:\$PATH"
