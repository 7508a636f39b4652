#!/bin/sh
# Install the recipe linter oelint-adv (pinned, from PyPI) in a virtualenv.
# Usage: meta-intercom/scripts/install-oelint.sh    prints the oelint-adv path
# Safe to run again. Installs Debian's python3-venv first when the system
# python has no venv module (a fresh Debian 12), as root or through sudo.
set -eu
# The distribution's python, so that every user can run the virtualenv.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if ! "$PY" -c 'import ensurepip, venv' 2>/dev/null; then
	SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -q >&2
	$SUDO apt-get install -y -q --no-install-recommends python3 python3-venv >&2
	PY=/usr/bin/python3
fi
TOOLS=${DS_TOOLS:-/opt/door-station-tools}
# A user-owned location when the shared one cannot be written.
if ! mkdir -p "$TOOLS" 2>/dev/null || [ ! -w "$TOOLS" ]; then
	TOOLS=${XDG_CACHE_HOME:-$HOME/.cache}/door-station-tools
fi
venv="$TOOLS/venv-oelint"
if [ ! -x "$venv/bin/oelint-adv" ]; then
	"$PY" -m venv "$venv" >&2
	"$venv/bin/pip" install -q 'oelint-adv==9.11.2' 'oelint-parser==8.13.2' 'oelint-data==1.5.26' >&2
fi
echo "$venv/bin/oelint-adv"
