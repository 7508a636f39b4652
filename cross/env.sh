# Source this file to cross-compile for one Raspberry Pi target:
#   . cross/env.sh aarch64-unknown-linux-gnu      (or armv7-unknown-linux-gnueabihf)
# (shells whose "." takes no arguments: DS_TARGET=<triple> . cross/env.sh)
# It puts cargo-zigbuild on PATH and points pkg-config at the target's Debian
# multiarch libraries (cross/setup-sysroot.sh installs both).
#
# DS_TOOLS     where setup-sysroot.sh put the virtualenv and the overlay
#              (default /opt/door-station-tools)
# DS_SYSROOT   optional: a full target root file system (debootstrap, an SD card
#              image) to use instead of the host's multiarch directories
# DS_GLIBC     the oldest glibc the binaries may need (default 2.36, Debian 12
#              and Raspberry Pi OS bookworm)
# Exports DS_TARGET (the Rust triple) and DS_ZIG_TARGET (triple.glibc).

ds_target=${1:-${DS_TARGET:-aarch64-unknown-linux-gnu}}
case $ds_target in
aarch64-unknown-linux-gnu) ds_arch=arm64 ds_triplet=aarch64-linux-gnu ;;
armv7-unknown-linux-gnueabihf) ds_arch=armhf ds_triplet=arm-linux-gnueabihf ;;
*) echo "env.sh: unsupported target $ds_target" >&2; return 1 ;;
esac
DS_TOOLS=${DS_TOOLS:-/opt/door-station-tools}
export DS_TARGET=$ds_target
export DS_ZIG_TARGET="$ds_target.${DS_GLIBC:-2.36}"
case ":$PATH:" in *":$DS_TOOLS/venv/bin:"*) ;; *) PATH="$DS_TOOLS/venv/bin:$PATH" ;; esac
export PATH
export PKG_CONFIG_ALLOW_CROSS=1
if [ -n "${DS_SYSROOT:-}" ]; then
	export PKG_CONFIG_SYSROOT_DIR="$DS_SYSROOT"
	export PKG_CONFIG_LIBDIR="$DS_SYSROOT/usr/lib/$ds_triplet/pkgconfig:$DS_SYSROOT/usr/share/pkgconfig"
else
	# Multiarch: the target's files live in the host's own tree, so no sysroot
	# prefix is added to -I/-L.
	unset PKG_CONFIG_SYSROOT_DIR
	export PKG_CONFIG_LIBDIR="$DS_TOOLS/overlay/$ds_arch/usr/lib/$ds_triplet/pkgconfig:/usr/lib/$ds_triplet/pkgconfig:/usr/share/pkgconfig"
fi
unset ds_target ds_arch ds_triplet
