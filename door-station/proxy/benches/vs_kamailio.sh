#!/bin/sh
# intercom-proxy and kamailio 5.6 side by side under the same SIPp load, on
# loopback: digest REGISTER throughput, then INVITE/200/ACK/hold/BYE/200
# through the record-routing proxy to one registered SIPp UAS. Prints a table.
# Usage: vs_kamailio.sh path/to/intercom-proxy [workdir]
# Env: RATE=1000 calls/s, LOAD_S=10 s of load, HOLD_MS=1000, REG_N=5000 REGISTERs, SHM_MB=256.
# Needs sipp (Debian: sip-tester), kamailio (Debian: kamailio) and python3. Every process
# is bounded by `timeout` and stopped by SIGTERM to its own wrapper's pid.
set -eu
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); W=${2:-/tmp/intercom-proxy-bench}
RATE=${RATE:-1000}; LOAD_S=${LOAD_S:-10}; HOLD_MS=${HOLD_MS:-1000}; REG_N=${REG_N:-5000}
SHM_MB=${SHM_MB:-256}  # kamailio shared memory; 64 MB runs out of tm cells at 1000 calls/s
HERE=$(cd "$(dirname "$0")" && pwd); ASSETS=$(cd "$HERE/../../../assets" && pwd)
for tool in sipp:sip-tester kamailio:kamailio python3:python3; do
  command -v "${tool%%:*}" >/dev/null || { echo "missing ${tool%%:*}: apt-get install ${tool#*:}" >&2; exit 2; }
done
OURS=127.0.0.1:15280; KAM=127.0.0.1:15290; UAS_PORT=15282; UAC_PORT=15284; REG_PORT=15286
TCK=$(getconf CLK_TCK)
rm -rf "$W"; mkdir -p "$W/kam"
WRAPPERS=""
cleanup() { for p in $WRAPPERS; do kill -TERM "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# The process a `timeout` wrapper runs, and (for kamailio) that process's children.
tree() { main=$(ps -o pid= --ppid "$1" | head -n 1 | tr -d ' '); echo "$main $(ps -o pid= --ppid "$main" | tr '\n' ' ')"; }
cpu_ticks() { t=0; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo "$t"; }
pss_kb() { cat $(for p in "$@"; do echo "/proc/$p/smaps_rollup"; done) | awk '/^Pss:/ {s += $2} END {print s}'; }
rss_kb() { cat $(for p in "$@"; do echo "/proc/$p/status"; done) | awk '/^VmRSS:/ {s += $2} END {print s}'; }
now_ms() { date +%s%3N; }
# Column $2 of the last line of SIPp statistics file $1.
stat_col() { awk -F';' -v c="$2" 'NR == 1 {for (i = 1; i <= NF; i++) if ($i == c) k = i} END {print $k}' "$1"; }
# SIPp time "HH:MM:SS:frac" in ms.
to_ms() { echo "$1" | awk -F: '{f = $4; d = length(f) == 6 ? 1000 : 1; printf "%.2f", ($1 * 3600 + $2 * 60 + $3) * 1000 + f / d}'; }

start_ours() { # $1 = trusted hosts, $2 = relay on (true/false)
  printf 'domains = ["home"]\n[listen]\nudp = ["%s"]\ntcp = []\n[auth]\npasswd = "%s"\ntrusted_hosts = [%s]\n[registrar]\nmin_expires_s = 60\nstore = "%s"\n[routing]\nroutes = "%s"\n[relay]\nenabled = %s\nport_min = 41100\nport_max = 41199\n' \
    "$OURS" "$ASSETS/passwd" "$1" "$W/bindings.jsonl" "$W/routes" "${2:-false}" > "$W/proxy.toml"
  : > "$W/routes"
  RUST_LOG=warn timeout -k 5 300 "$BIN" --config "$W/proxy.toml" >> "$W/ours.log" 2>&1 &
  SUT=$!; WRAPPERS="$WRAPPERS $SUT"; sleep 0.5
}
start_kamailio() {
  timeout -k 5 300 kamailio -f "$HERE/kamailio_bench.cfg" -DD -E -m "$SHM_MB" -M 8 -Y "$W/kam" -w "$W/kam" \
    -A "LISTEN=udp:$KAM" >> "$W/kamailio.log" 2>&1 &
  SUT=$!; WRAPPERS="$WRAPPERS $SUT"; sleep 1.5
}
# SIGTERM to one wrapper we started, then reap it and forget its pid (so the
# exit trap never signals a pid the system has reused).
stop() {
  kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true
  WRAPPERS=$(echo " $WRAPPERS " | sed "s/ $1 / /")
}

# Digest REGISTERs, 50 outstanding at a time, as fast as the proxy answers.
bench_register() { # $1 name $2 addr
  pids=$(tree "$SUT"); c0=$(cpu_ticks $pids); t0=$(now_ms)
  timeout -k 5 60 sipp "$2" -sf "$HERE/bench_reg.xml" -s alice -au alice -ap secret -i 127.0.0.1 -p "$REG_PORT" \
    -bind_local -nostdin -r 20000 -l 50 -m "$REG_N" -recv_timeout 5000 -timeout 50s \
    -trace_stat -stf "$W/$1_reg.csv" -fd 60 > "$W/$1_reg.out" 2>&1 || true
  t1=$(now_ms); c1=$(cpu_ticks $pids)
  ok=$(stat_col "$W/$1_reg.csv" 'SuccessfulCall(C)')
  eval "${1}_reg_s=\$(echo $ok $t0 $t1 | awk '{printf \"%.0f\", \$1 * 1000 / (\$3 - \$2)}')"
  eval "${1}_reg_cpu=\$(echo $c0 $c1 $ok $TCK | awk '{printf \"%.2f\", (\$2 - \$1) / \$4 * 1000 / (\$3 > 0 ? \$3 : 1)}')"
}

# RATE calls/s for LOAD_S s to alice, registered at the proxy by a SIPp UAS.
bench_calls() { # $1 name $2 addr
  timeout -k 5 $((LOAD_S + 60)) sipp "$2" -sf "$HERE/../tests/peers/sipp/register.xml" -oocsf "$HERE/bench_uas.xml" \
    -m 1 -d $(((LOAD_S + 30) * 1000)) -s alice -au alice -ap secret -set expires 3600 -i 127.0.0.1 -p "$UAS_PORT" \
    -bind_local -nostdin -buff_size 8388608 -timeout $((LOAD_S + 50))s > "$W/$1_uas.out" 2>&1 &
  uas=$!; WRAPPERS="$WRAPPERS $uas"; sleep 1
  pids=$(tree "$SUT"); c0=$(cpu_ticks $pids)
  timeout -k 5 $((LOAD_S + 40)) sipp "$2" -sf "$HERE/bench_uac.xml" -s alice -i 127.0.0.1 -p "$UAC_PORT" -bind_local \
    -nostdin -r "$RATE" -m $((RATE * LOAD_S)) -l $((RATE * 5)) -d "$HOLD_MS" -recv_timeout 5000 \
    -timeout $((LOAD_S + 30))s -buff_size 8388608 -trace_stat -stf "$W/$1_calls.csv" -fd 60 > "$W/$1_uac.out" 2>&1 || true
  c1=$(cpu_ticks $pids)
  ok=$(stat_col "$W/$1_calls.csv" 'SuccessfulCall(C)'); failed=$(stat_col "$W/$1_calls.csv" 'FailedCall(C)')
  eval "${1}_ok=$ok ${1}_failed=$failed"
  eval "${1}_cpu=\$(echo $c0 $c1 $ok $TCK | awk '{printf \"%.2f\", (\$2 - \$1) / \$4 * 1000 / (\$3 > 0 ? \$3 : 1)}')"
  eval "${1}_rtd=$(to_ms "$(stat_col "$W/$1_calls.csv" 'ResponseTime1(C)')")"
  eval "${1}_pss=$(pss_kb $pids) ${1}_rss=$(rss_kb $pids) ${1}_procs=$(echo $pids | wc -w)"
  stop "$uas"
}

echo "intercom-proxy: $BIN; kamailio: $(kamailio -v | head -n 1)"
echo "load: $RATE calls/s for $LOAD_S s, hold $HOLD_MS ms; $REG_N digest REGISTERs; work dir $W"
start_ours ""; bench_register ours "$OURS"; stop "$SUT"
start_ours '"127.0.0.1"'; bench_calls ours "$OURS"; stop "$SUT"
# The media relay: one call, then RTP from the caller through the relay port.
start_ours '"127.0.0.1"' true
timeout 120 python3 "$HERE/relay_load.py" "${OURS#*:}" 15300 > "$W/relay.out" 2>&1 || true; stop "$SUT"
relay() { awk -v k="$1" '$1 == k {print $2}' "$W/relay.out"; }
start_kamailio; bench_register kam "$KAM"; bench_calls kam "$KAM"; stop "$SUT"

row() { printf '%-40s %16s %16s\n' "$@"; }
row "" "intercom-proxy" "kamailio"
row "calls ok / sent" "$ours_ok/$((RATE * LOAD_S))" "$kam_ok/$((RATE * LOAD_S))"
row "failed calls at $RATE calls/s" "$ours_failed" "$kam_failed"
row "CPU s per 1000 calls" "$ours_cpu" "$kam_cpu"
row "INVITE->200 via proxy, mean ms (1 ms res.)" "$ours_rtd" "$kam_rtd"
row "memory after load: PSS kB (processes)" "$ours_pss ($ours_procs)" "$kam_pss ($kam_procs)"
row "memory after load: RSS kB, summed" "$ours_rss" "$kam_rss"
row "digest REGISTER/s (50 outstanding)" "$ours_reg_s" "$kam_reg_s"
row "CPU s per 1000 digest REGISTERs" "$ours_reg_cpu" "$kam_reg_cpu"
row "relay added latency, median/p99 us" "$(relay added_median_us)/$(relay added_p99_us)" "no relay"
row "relay packets/s (flood, lost)" "$(relay flood_pps) ($(relay flood_lost))" "no relay"
