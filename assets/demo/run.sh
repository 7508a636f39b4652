#!/usr/bin/env bash
# The `make run` demo, all on loopback: our intercom-proxy as the house proxy on 127.0.0.1:5070
# (registrar with digest auth, the route `everyone` = alice, and the early-media relay), a baresip
# resident "alice" registered with it by digest (answers with early media, then picks up), and
# the door station with simulated hardware. After the station registers, the demo presses the
# button; alice sees the early video through the relay, answers after a few seconds and sends
# `#`, which opens the door (the simulated relay logs its edges). The station's JSON events are
# printed as they happen. Ctrl-C stops everything.
#
#   assets/demo/run.sh BIN_DIR        e.g. target/release (holds door-station and intercom-proxy)
#
# While it runs, press the button again or look at the status from another terminal:
#   echo "press 1" | socat - UNIX-CONNECT:<socket printed below>
set -euo pipefail

BIN_DIR=${1:?usage: $0 BIN_DIR (e.g. target/release)}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PEERS=$ROOT/tests/peers
STATION=$BIN_DIR/door-station
PROXY=$BIN_DIR/intercom-proxy
PROXY_PORT=5070
STATION_PORT=15090
ANSWER_AFTER_S=${ANSWER_AFTER_S:-5}

need() { command -v "$1" >/dev/null 2>&1 || { echo "demo: '$1' is missing: install the Debian package '$2'" >&2; exit 1; }; }
need baresip baresip
need socat socat
need python3 python3
for bin in "$STATION" "$PROXY"; do
    [ -x "$bin" ] || { echo "demo: $bin not found: build it first (make build)" >&2; exit 1; }
done

RUN=$(mktemp -d /tmp/door-station-demo.XXXXXX)
PIDS=()
cleanup() { # STATUS: 0 after Ctrl-C, else the demo failed and keeps its logs
    trap - INT TERM EXIT
    echo
    echo "demo: stopping"
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[$i]}" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    if [ "$1" = 0 ]; then
        rm -rf "$RUN"
    else
        echo "demo: failed; logs kept in $RUN. The station's last lines:" >&2
        tail -n 20 "$RUN/station.log" >&2 2>/dev/null || true
    fi
    exit "$1"
}
trap 'cleanup 0' INT TERM
trap 'cleanup $?' EXIT

wait_for() { # FILE REGEX SECONDS WHAT
    for _ in $(seq $(($3 * 10))); do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "demo: timed out waiting for $4 (see $1)" >&2
    return 1
}
ctl() { printf '%s\n' "$*" | socat -t 2 - "UNIX-CONNECT:$RUN/control.sock"; }
alice() { python3 "$PEERS/tools/baresip_ctrl.py" 127.0.0.1:4444 "$@" >> "$RUN/alice-ctrl.log" 2>&1; }

echo "demo: house proxy (intercom-proxy) on udp:127.0.0.1:$PROXY_PORT, logs in $RUN"
printf '<sip:everyone@home> <sip:alice@home>\n' > "$RUN/routes"
cat > "$RUN/proxy.toml" <<EOF
domains = ["home"]

[listen]
udp = ["127.0.0.1:$PROXY_PORT"]
tcp = ["127.0.0.1:$PROXY_PORT"]

[auth]
enabled = true
# the sample users (alice, bob, carol, door @home), password "secret"
passwd = "$ROOT/assets/passwd"

[registrar]
store = "$RUN/bindings.jsonl"

[routing]
routes = "$RUN/routes"

[relay]
enabled = true
address = "127.0.0.1"
port_min = 40000
port_max = 40099
EOF
"$PROXY" --config "$RUN/proxy.toml" --check-config
RUST_LOG=${RUST_LOG:-info} NO_COLOR=1 "$PROXY" --config "$RUN/proxy.toml" > "$RUN/proxy.log" 2>&1 &
PIDS+=($!)
wait_for "$RUN/proxy.log" 'intercom-proxy up' 10 "intercom-proxy"

echo "demo: resident alice (baresip, digest, early media + video) on 127.0.0.1:15066"
SIP_USER=alice PORT=15066 CTRL_PORT=4444 DOMAIN=127.0.0.1:$PROXY_PORT AUTH_PASS=secret ANSWERMODE=early VIDEO=1 \
    RTP_PORTS=17000-17099 TIMEOUT=86400 RUNDIR=$RUN/alice sh "$PEERS/baresip/run.sh" > "$RUN/alice.log" 2>&1 &
PIDS+=($!)
wait_for "$RUN/bindings.jsonl" '"aor":"alice@home"' 15 "alice to register"

cat > "$RUN/station.toml" <<EOF
[sip]
user = "door"
domain = "home"
display_name = "Front door (demo)"
password = "secret"
registrar = "127.0.0.1:$PROXY_PORT"
outbound_proxy = "127.0.0.1:$PROXY_PORT"
listen = "127.0.0.1:$STATION_PORT"
transport = "udp"
register_expires = 300

[[button]]
target = "sip:everyone@home"
gpio = 17

[calls]
ring_timeout_s = 30
max_call_s = 120
rtp_timeout_s = 30
early_media_limit = 4
allow_callers = ["*@127.0.0.1", "*@home"]

[media]
rtp_port_min = 20900
rtp_port_max = 20999
video = true

[unlock]
code = "#"
allow = ["*@127.0.0.1", "*@home"]

[relay]
backend = "sim"
pulse_ms = 3000

[buttons]
backend = "sim"

[control]
socket = "$RUN/control.sock"
EOF

echo "demo: door station on 127.0.0.1:$STATION_PORT (simulated camera, button and relay)"
"$STATION" --check-config --config "$RUN/station.toml"
DOOR_STATION_RELAY_LOG=$RUN/relay.log RUST_LOG=${RUST_LOG:-info} NO_COLOR=1 \
    "$STATION" --config "$RUN/station.toml" > "$RUN/station.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -S "$RUN/control.sock" ] && break; sleep 0.1; done
[ -S "$RUN/control.sock" ] || { echo "demo: the station did not open its control socket (see $RUN/station.log)" >&2; exit 1; }

echo "demo: control socket $RUN/control.sock; events follow (Ctrl-C stops)"
echo "----------------------------------------------------------------------"
# The event stream: keep the writing side open so socat does not close the connection. The
# stopping side waits for the whole pipeline, so the sleep holding it open is stopped too.
( echo "$BASHPID" > "$RUN/events.pid"; echo events; exec sleep 86400 ) \
    | socat - "UNIX-CONNECT:$RUN/control.sock" | sed -u "1{/^ok\$/d}" | tee "$RUN/events.jsonl" &
PIDS+=($!)
wait_for "$RUN/events.pid" '^[0-9]+$' 5 "the event stream"
PIDS+=("$(cat "$RUN/events.pid")")

wait_for "$RUN/events.jsonl" '"event" *: *"registered"' 20 "the station to register"
echo "demo: pressing the button: $(ctl press 1)"
if wait_for "$RUN/events.jsonl" '"event" *: *"early_media"' 15 "early media at alice"; then
    sleep "$ANSWER_AFTER_S"
    echo "demo: alice answers"
    alice accept
    sleep 2
    echo "demo: alice presses # (RFC 4733): the door opens"
    alice "sndcode #"
fi
echo "demo: press again with: echo 'press 1' | socat - UNIX-CONNECT:$RUN/control.sock"
wait
