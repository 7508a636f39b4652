#!/bin/sh
# Install the recipe linter oelint-adv (pinned, from PyPI) in a virtualenv.
# Usage: meta-intercom/scripts/install-oelint.sh    prints the oelint-adv path
# Safe to run again; needs python3 with venv (Debian: python3-venv).
set -eu
TOOLS=${DS_TOOLS:-/opt/door-station-tools}
# A user-owned location when the shared one cannot be written.
if ! mkdir -p "$TOOLS" 2>/dev/null || [ ! -w "$TOOLS" ]; then
	TOOLS=${XDG_CACHE_HOME:-$HOME/.cache}/door-station-tools
fi
venv="$TOOLS/venv-oelint"
if [ ! -x "$venv/bin/oelint-adv" ]; then
	python3 -m venv "$venv" >&2
	"$venv/bin/pip" install -q 'oelint-adv==9.11.2' 'oelint-parser==8.13.2' 'oelint-data==1.5.26' >&2
fi
echo "$venv/bin/oelint-adv"
