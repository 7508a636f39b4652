#!/usr/bin/env python3
"""An OSDP control panel (PyPI `libosdp`) for testing the station's reader.

Creates a pseudo-terminal pair, prints `PTY <slave path>` for the reader to
open, then plays one scenario as the panel and prints one result line per
step on stdout (diagnostics go to stderr). The Rust integration test
`tests/panel.rs` reads these lines.

Scenarios:
  card KEY      Secure Channel with KEY; prints SECURE, waits for one card read
                (prints CARD ...), then sends OUT, LED, BUZ, LSTAT and COMSET and
                prints what came back; ends with the reply latency figures.
  install KEY   Joins with SCBK-D (the reader is in install mode), sends
                KEYSET with KEY, and waits for the session under the new key.
  join KEY      Joins with KEY; prints SECURE or NO_SC.
  latency KEY   Joins with KEY, lets the panel poll for 5 s, prints LATENCY.
  plain KEY     A panel without Secure Channel (KEY unused): READY, then
                CARD or NO_CARD.
  station KEY   The whole station as the reader (tests/osdp_unlock.rs at the
                repository root): Secure Channel with KEY; prints SECURE, waits
                up to 60 s for the card read an unlock sends (CARD ...), then
                orders the door relay on for 2 s (OUT 0, temporary on) and
                prints OUT_SENT.
"""
import os
import select
import subprocess
import sys
import threading
import time
import tty


def ensure_libosdp():
    """Imports libosdp, installing it with pip first if it is missing."""
    try:
        import osdp  # noqa: F401
    except ImportError:
        print("libosdp is missing: pip install libosdp", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "libosdp"])
    import osdp
    return osdp


osdp = ensure_libosdp()
ADDRESS = 101


def say(line):
    print(line, flush=True)


class PtyChannel(osdp.Channel):
    """The master side of the pty. A thread timestamps every byte the reader
    sends, so the reply latency is measured at the byte, not at the panel's
    20 ms refresh."""

    def __init__(self, fd):
        super().__init__()
        self.fd = fd
        self.lock = threading.Lock()
        self.rx = bytearray()
        self.sent_at = None
        self.latencies = []
        self.writes = 0
        self.running = True
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        while self.running:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            if not ready:
                continue
            try:
                data = os.read(self.fd, 4096)
            except OSError:
                return
            now = time.monotonic()
            with self.lock:
                if self.sent_at is not None and data:
                    self.latencies.append(now - self.sent_at)
                    self.sent_at = None
                self.rx.extend(data)

    def read(self, max_bytes):
        with self.lock:
            data = bytes(self.rx[:max_bytes])
            del self.rx[:max_bytes]
        return data

    def write(self, buf):
        with self.lock:
            self.sent_at = time.monotonic()
            self.writes += 1
        return os.write(self.fd, buf)

    def flush(self):
        pass


def open_pty():
    master, slave = os.openpty()
    tty.setraw(master)
    tty.setraw(slave)
    return master, slave, os.ttyname(slave)


def panel(channel, scbk, enforce=True):
    flags = [osdp.LibFlag.EnforceSecure] if enforce else []
    info = osdp.PDInfo(ADDRESS, channel, scbk=scbk, flags=flags)
    cp = osdp.ControlPanel([info], log_level=osdp.LogLevel.Warning)
    cp.start()
    return cp


def wait_event(cp, kind, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        event = cp.get_event(ADDRESS, timeout=1)
        if event and event.get("event") == kind:
            return event
    return None


def latency_line(channel):
    values = sorted(channel.latencies)
    if not values:
        return "LATENCY n=0"
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))] * 1000
    return "LATENCY n=%d writes=%d min=%.3f p50=%.3f p99=%.3f max=%.3f ms" % (
        len(values), channel.writes, values[0] * 1000, pick(0.5), pick(0.99), values[-1] * 1000)


def send_commands(cp):
    """OUT, LED, BUZ, LSTAT, COMSET; prints STATUS with the LSTATR bytes."""
    cmds = [
        {"command": osdp.Command.Output, "output_no": 0, "control_code": 5, "timer_count": 30},
        {"command": osdp.Command.LED, "reader": 0, "led_number": 0, "temporary": False,
         "control_code": 1, "on_count": 10, "off_count": 0,
         "on_color": osdp.CommandLEDColor.Green, "off_color": osdp.CommandLEDColor.Black},
        {"command": osdp.Command.Buzzer, "reader": 0, "control_code": 2,
         "on_count": 2, "off_count": 1, "rep_count": 3},
        {"command": osdp.Command.Status, "type": osdp.StatusReportType.Local},
        {"command": osdp.Command.Comset, "address": ADDRESS, "baud_rate": 115200},
    ]
    for cmd in cmds:
        if not cp.submit_command(ADDRESS, cmd):
            say("SUBMIT_FAILED %r" % cmd["command"])
    status = wait_event(cp, osdp.Event.Status, timeout=5)
    if status:
        say("STATUS type=%d report=%s" % (status["type"], status["report"].hex()))
    time.sleep(1.0)
    say("COMMANDS_SENT")


def scenario_card(channel, key):
    cp = panel(channel, key)
    say("SECURE" if cp.sc_wait(ADDRESS, timeout=10) else "NO_SC")
    card = wait_event(cp, osdp.Event.CardRead, timeout=10)
    if card:
        say("CARD format=%d bits=%d data=%s sc=%d" % (
            card["format"], card["length"], card["data"].hex(), cp.is_sc_active(ADDRESS)))
    else:
        say("NO_CARD")
    send_commands(cp)
    time.sleep(2.0)  # more polls for the latency figures
    say(latency_line(channel))
    return cp


def scenario_install(channel, key):
    """libosdp's panel tries KEY, falls back to SCBK-D, then sends KEYSET with
    KEY by itself and restarts the session under it."""
    cp = panel(channel, key, enforce=False)
    if not cp.sc_wait(ADDRESS, timeout=10):
        say("NO_SC")
        return cp
    say("SECURE_FIRST")
    time.sleep(3.0)  # KEYSET, ACK, both sides drop the session and rejoin
    say("SECURE_NEW_KEY" if cp.sc_wait(ADDRESS, timeout=10) else "NO_SC")
    return cp


def scenario_join(channel, key):
    cp = panel(channel, key)
    say("SECURE" if cp.sc_wait(ADDRESS, timeout=6) else "NO_SC")
    return cp


def scenario_plain(channel, _key):
    """No Secure Channel on the panel's side: prints READY after 3 s, then CARD
    or NO_CARD."""
    info = osdp.PDInfo(ADDRESS, channel, scbk=None, flags=[])
    cp = osdp.ControlPanel([info], log_level=osdp.LogLevel.Warning)
    cp.start()
    time.sleep(3.0)
    say("READY online=%d" % cp.is_online(ADDRESS))
    card = wait_event(cp, osdp.Event.CardRead, timeout=4)
    say("CARD bits=%d data=%s" % (card["length"], card["data"].hex()) if card else "NO_CARD")
    return cp


def scenario_station(channel, key):
    """The station's unlock, seen from the panel, and the panel's own OUT."""
    cp = panel(channel, key)
    say("SECURE" if cp.sc_wait(ADDRESS, timeout=15) else "NO_SC")
    card = wait_event(cp, osdp.Event.CardRead, timeout=60)
    if not card:
        say("NO_CARD")
        return cp
    say("CARD format=%d bits=%d data=%s sc=%d" % (
        card["format"], card["length"], card["data"].hex(), cp.is_sc_active(ADDRESS)))
    time.sleep(3.0)  # the unlock's relay pulse and its cooldown are over
    out = {"command": osdp.Command.Output, "output_no": 0, "control_code": 5, "timer_count": 20}
    say("OUT_SENT" if cp.submit_command(ADDRESS, out) else "SUBMIT_FAILED")
    time.sleep(4.0)
    return cp


def scenario_latency(channel, key):
    """Joins with KEY and lets the panel poll for a few seconds."""
    cp = panel(channel, key)
    say("SECURE" if cp.sc_wait(ADDRESS, timeout=10) else "NO_SC")
    with channel.lock:
        channel.latencies.clear()
    time.sleep(5.0)
    say(latency_line(channel))
    return cp


def main():
    scenario, key = sys.argv[1], bytes.fromhex(sys.argv[2])
    master, slave, path = open_pty()
    channel = PtyChannel(master)
    say("PTY " + path)
    sys.stdin.readline()  # the reader has opened the port
    run = {"card": scenario_card, "install": scenario_install, "join": scenario_join,
           "latency": scenario_latency, "plain": scenario_plain, "station": scenario_station}[scenario]
    cp = run(channel, key)
    cp.teardown()
    channel.running = False
    say("DONE")
    os.close(slave)


if __name__ == "__main__":
    main()
