#!/bin/sh
# The early-media relay with real SIPp callees, captured with tshark (root).
# Three registered SIPp UAS answer 183 with SDP; alice answers 200 after 4 s.
# A fake door (rtp_burst.py) sends 50 RTP packets during early media and 50
# after the answer. Expected counts: 100 in; 100 to alice's 16600; 50 each
# to bob's 16620 and carol's 16640 (copies stop at the 200).
# Usage: relay_sipp.sh path/to/intercom-proxy [workdir]
# Load: BURST_N=20000 BURST_GAP=0 relay_sipp.sh ... (then count per second).
set -eu
BIN=$1; W=${2:-/tmp/intercom-proxy-relay}
HERE=$(cd "$(dirname "$0")" && pwd); P=$HERE/sipp
ASSETS=$(cd "$HERE/../../../../assets" && pwd)
rm -rf "$W"; mkdir -p "$W"
printf '<sip:everyone@home> <sip:alice@home>, <sip:bob@home>, <sip:carol@home>\n' > "$W/routes"
cat > "$W/proxy.toml" <<EOT
domains = ["home"]
[listen]
udp = ["127.0.0.1:15200"]
tcp = ["127.0.0.1:15200"]
[auth]
passwd = "$ASSETS/passwd"
[registrar]
store = "$W/bindings.jsonl"
[routing]
routes = "$W/routes"
[relay]
enabled = true
port_min = 41000
port_max = 41099
EOT
timeout 40 "$BIN" -c "$W/proxy.toml" > "$W/proxy.log" 2>&1 &
PROXY=$!
sleep 0.5
timeout 25 tshark -i lo -a duration:14 -w "$W/cap.pcapng" -f "udp and (portrange 41000-41099 or portrange 16600-16645 or port 16700)" > "$W/tshark.out" 2>&1 &
sleep 1.5
for spec in "alice 15202 16600 4000" "bob 15204 16620 -1" "carol 15206 16640 -1"; do
  set -- $spec
  REGISTRAR=127.0.0.1:15200 SIP_USER=$1 AUTH_PASS=secret PORT=$2 MEDIA_PORT=$3 WAIT_MS=$4 ECHO=0 TIMEOUT=12 \
    LOGDIR="$W" "$P/run_uas.sh" > "$W/$1.out" 2>&1 &
done
sleep 1
python3 "$HERE/rtp_burst.py" 0.8 2.6 "${BURST_N:-50}" "${BURST_GAP:-0.02}" &
TARGET=127.0.0.1:15200 CALLEE=everyone DTMF_MODE=none TALK_MS=3000 PORT=15208 MEDIA_PORT=16660 TIMEOUT=10 \
  LOGDIR="$W" "$P/run_uac.sh" > "$W/uac.out" 2>&1
echo "call: ok"
sleep 4
kill "$PROXY" 2>/dev/null || true
sleep 1
tshark -r "$W/cap.pcapng" -T fields -e udp.srcport -e udp.dstport 2>/dev/null | sort | uniq -c
