# Sends 50 RTP packets from 127.0.0.1:16700 to the relay port 41000 after
# argv[1] seconds (early media), then 50 more argv[2] seconds later.
# argv[3], argv[4]: packets per burst and the gap between them (load runs).
import socket, struct, time, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 16700))
N = int(sys.argv[3]) if len(sys.argv) > 3 else 50        # packets per burst
GAP = float(sys.argv[4]) if len(sys.argv) > 4 else 0.02   # seconds between packets
def burst(n, seq0):
    for i in range(n):
        pkt = struct.pack("!BBHII", 0x80, 0, (seq0 + i) & 0xffff, (seq0 + i) * 160, 0x1234) + b"\xff" * 160
        s.sendto(pkt, ("127.0.0.1", 41000))
        if GAP: time.sleep(GAP)
time.sleep(float(sys.argv[1])); burst(N, 0)       # during early media
time.sleep(float(sys.argv[2])); burst(N, 30000)   # after the answer
