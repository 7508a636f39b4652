#!/bin/sh
# Prepare a Debian 12 host for building the intercom image with bitbake/kas.
#
# - installs the host tools bitbake's sanity checks ask for;
# - generates the en_US.UTF-8 locale bitbake requires;
# - installs kas (pinned, from PyPI) in a virtualenv under $DS_TOOLS;
# - with a user name argument, creates that unprivileged user: bitbake refuses
#   to run as root.
#
# Run as root. Safe to run again.
# Usage: meta-intercom/scripts/setup-build-host.sh [build-user]
set -eu

TOOLS=${DS_TOOLS:-/opt/door-station-tools}
KAS_VERSION=5.5
PKGS="build-essential chrpath cpio debianutils diffstat file gawk gcc git \
iputils-ping libacl1 lz4 locales python3 python3-git python3-jinja2 \
python3-pexpect python3-subunit python3-venv socat texinfo unzip wget xz-utils zstd"

if [ "$(id -u)" != 0 ]; then
	exec sudo -E "$0" "$@"
fi
export DEBIAN_FRONTEND=noninteractive

want=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || want="$want $p"
done
if [ -n "$want" ]; then
	apt-get update -q
	# shellcheck disable=SC2086 # a list of package names
	apt-get install -y -q --no-install-recommends $want
fi

if ! locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
	sed -i 's/^# *\(en_US.UTF-8 UTF-8\)/\1/' /etc/locale.gen
	grep -q '^en_US.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' >>/etc/locale.gen
	locale-gen
fi

# The distribution's python, so that the unprivileged build user can run the
# virtualenv too (a root-only python, e.g. under /root, would not do).
py=/usr/bin/python3
[ -x "$py" ] || py=python3
if [ ! -x "$TOOLS/venv-kas/bin/kas" ] || ! grep -qx "home = $(dirname "$(command -v "$py")")" "$TOOLS/venv-kas/pyvenv.cfg"; then
	rm -rf "$TOOLS/venv-kas"
	"$py" -m venv "$TOOLS/venv-kas"
	"$TOOLS/venv-kas/bin/pip" install -q "kas==$KAS_VERSION"
fi

if [ $# -gt 0 ] && ! id "$1" >/dev/null 2>&1; then
	useradd --create-home --shell /bin/bash "$1"
fi
echo "build host ready: kas is $TOOLS/venv-kas/bin/kas; build as a user other than root, LANG=en_US.UTF-8"
