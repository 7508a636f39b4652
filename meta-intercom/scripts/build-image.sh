#!/bin/sh
# Build the SD-card image with kas, from the sources of this checkout.
#   meta-intercom/scripts/build-image.sh [raspberrypi4-64|raspberrypi5]
# Needs internet access (layers, sources) and a build host prepared by
# setup-build-host.sh; runs as a user other than root (bitbake refuses root).
# KAS_WORK_DIR: where the layers are checked out and the build goes
# (default ~/intercom-yocto; tens of GB).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
machine=${1:-raspberrypi4-64}
TOOLS=${DS_TOOLS:-/opt/door-station-tools}
kas=$(command -v kas || echo "$TOOLS/venv-kas/bin/kas")

[ -f "$here/../kas/$machine.yml" ] || { echo "no kas file for machine $machine" >&2; exit 1; }
[ "$(id -u)" != 0 ] || { echo "bitbake does not run as root: build as an unprivileged user" >&2; exit 1; }
[ -x "$kas" ] || { echo "kas missing: run meta-intercom/scripts/setup-build-host.sh as root" >&2; exit 1; }

export LANG=en_US.UTF-8
export KAS_WORK_DIR=${KAS_WORK_DIR:-$HOME/intercom-yocto}
export KAS_BUILD_DIR=${KAS_BUILD_DIR:-$KAS_WORK_DIR/build-$machine}
export INTERCOM_SRC=$root
mkdir -p "$KAS_WORK_DIR"
cd "$root"
"$kas" build "meta-intercom/kas/$machine.yml:meta-intercom/kas/local-source.yml"
echo "image: $KAS_BUILD_DIR/tmp/deploy/images/$machine/intercom-image-$machine.rootfs.wic.bz2 (and .wic.bmap)"
