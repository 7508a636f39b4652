#!/usr/bin/env python3
"""The media relay of a running intercom-proxy under load, on loopback.

Registers a callee (the proxy must trust 127.0.0.1), calls it with an SDP
offer, answers, then sends RTP from the caller to the relay port in the 200's
SDP and receives it at the callee: one-way latency (median, p99) paced at
PACED packets/s, compared with a direct loopback path, and the packets/s the
relay forwards under a flood of FLOOD packets (at most WINDOW in flight).
Prints "key value" lines. Usage: relay_load.py PROXY_PORT [BASE_PORT]
"""
import re
import socket
import struct
import sys
import time

PROXY = ("127.0.0.1", int(sys.argv[1]))
BASE = int(sys.argv[2]) if len(sys.argv) > 2 else 15300
PACED, PACED_N, FLOOD, WINDOW = 2000, 4000, 100000, 256
IP = "127.0.0.1"


def udp(port, rcvbuf=1 << 22):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.bind((IP, port))
    s.settimeout(5)
    return s


def recv_sip(sock, want):
    """The next message whose first line contains `want` (5 s at most)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = sock.recv(65535).decode(errors="replace")
        if want in text.split("\r\n", 1)[0]:
            return text
    raise SystemExit(f"no {want}")


def header(text, name):
    return [l.split(":", 1)[1].strip() for l in text.split("\r\n") if l.lower().startswith(name.lower() + ":")]


def sdp_port(text):
    m = re.search(r"m=audio (\d+)", text)
    return int(m.group(1)) if m else None


def request(method, uri, port, call, cseq, extra="", body=""):
    return (f"{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {IP}:{port};branch=z9hG4bK{call}{cseq}{method}\r\n"
            f"Max-Forwards: 70\r\nCall-ID: {call}\r\nCSeq: {cseq} {method}\r\n{extra}"
            f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


def sdp(port):
    return f"v=0\r\no=- 1 1 IN IP4 {IP}\r\ns=-\r\nc=IN IP4 {IP}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\n"


def rtp(seq):
    return struct.pack("!BBHIId", 0x80, 0, seq & 0xFFFF, seq, 0x1234, time.perf_counter()) + bytes(148)


def latencies(src, dst, target, n, rate):
    """One-way delays in µs of n packets paced at rate packets/s."""
    out, gap = [], 1.0 / rate
    dst.settimeout(0.5)
    start = time.perf_counter()
    for i in range(n):
        while time.perf_counter() < start + i * gap:
            pass
        src.sendto(rtp(i), target)
        try:
            data = dst.recv(2048)
            out.append((time.perf_counter() - struct.unpack("!d", data[12:20])[0]) * 1e6)
        except socket.timeout:
            pass
    return sorted(out)


def flood(src, dst, target, n):
    """Packets/s received at dst, sent in rounds of WINDOW; and how many were lost."""
    dst.settimeout(0.05)
    got = 0
    start = time.perf_counter()
    for r in range(n // WINDOW):
        for i in range(WINDOW):
            src.sendto(rtp(r * WINDOW + i), target)
        for _ in range(WINDOW):
            try:
                dst.recv(2048)
                got += 1
            except socket.timeout:
                break
    return got / (time.perf_counter() - start), n // WINDOW * WINDOW - got


def call():
    uas, uac = udp(BASE), udp(BASE + 2)
    caller_rtp, callee_rtp = udp(BASE + 4), udp(BASE + 6)
    uas.sendto(request("REGISTER", f"sip:{IP}:{PROXY[1]}", BASE, "bench-reg", 1,
                       f"From: <sip:alice@home>;tag=r1\r\nTo: <sip:alice@home>\r\n"
                       f"Contact: <sip:alice@{IP}:{BASE}>\r\nExpires: 600\r\n"), PROXY)
    recv_sip(uas, "200")
    uac.sendto(request("INVITE", "sip:alice@home", BASE + 2, "bench-call", 1,
                       f"From: <sip:door@home>;tag=c1\r\nTo: <sip:alice@home>\r\n"
                       f"Contact: <sip:door@{IP}:{BASE + 2}>\r\nContent-Type: application/sdp\r\n",
                       sdp(BASE + 4)), PROXY)
    invite = recv_sip(uas, "INVITE")
    to_caller_relay = sdp_port(invite)
    lines = [l for l in invite.split("\r\n") if l.split(":", 1)[0].lower() in ("via", "record-route", "from", "call-id", "cseq")]
    to = header(invite, "To")[0] + ";tag=a1"
    body = sdp(BASE + 6)
    ok = ("SIP/2.0 200 OK\r\n" + "\r\n".join(lines) + f"\r\nTo: {to}\r\nContact: <sip:alice@{IP}:{BASE}>\r\n"
          f"Content-Type: application/sdp\r\nContent-Length: {len(body)}\r\n\r\n{body}")
    uas.sendto(ok.encode(), PROXY)
    answer = recv_sip(uac, "200")
    relay_port = sdp_port(answer)
    routes = ", ".join(reversed(header(answer, "Record-Route")))
    dialog = f"From: <sip:door@home>;tag=c1\r\nTo: {header(answer, 'To')[0]}\r\nRoute: {routes}\r\n"
    uac.sendto(request("ACK", f"sip:alice@{IP}:{BASE}", BASE + 2, "bench-call", 1, dialog), PROXY)
    return uas, uac, caller_rtp, callee_rtp, relay_port, to_caller_relay, dialog


def main():
    uas, uac, caller_rtp, callee_rtp, relay_port, back_port, dialog = call()
    target = (IP, relay_port)
    latencies(caller_rtp, callee_rtp, target, 200, PACED)  # latch, warm up
    direct = latencies(caller_rtp, callee_rtp, (IP, BASE + 6), PACED_N, PACED)
    relayed = latencies(caller_rtp, callee_rtp, target, PACED_N, PACED)
    pps, lost = flood(caller_rtp, callee_rtp, target, FLOOD)
    med = lambda v: v[len(v) // 2] if v else float("nan")
    p99 = lambda v: v[int(len(v) * 0.99)] if v else float("nan")
    print(f"relay_ports {relay_port} {back_port}")
    print(f"direct_median_us {med(direct):.0f}")
    print(f"relayed_median_us {med(relayed):.0f}")
    print(f"added_median_us {med(relayed) - med(direct):.0f}")
    print(f"added_p99_us {p99(relayed) - p99(direct):.0f}")
    print(f"paced_received {len(relayed)}/{PACED_N}")
    print(f"flood_pps {pps:.0f}")
    print(f"flood_lost {lost}/{FLOOD}")
    uac.sendto(request("BYE", f"sip:alice@{IP}:{BASE}", BASE + 2, "bench-call", 2, dialog), PROXY)


if __name__ == "__main__":
    main()
