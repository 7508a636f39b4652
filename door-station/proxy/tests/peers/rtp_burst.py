# Sends 50 RTP packets from 127.0.0.1:16700 to the relay port 41000 after
# argv[1] seconds (early media), then 50 more argv[2] seconds later.
import socket, struct, time, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 16700))
def burst(n, seq0):
    for i in range(n):
        pkt = struct.pack("!BBHII", 0x80, 0, seq0 + i, (seq0 + i) * 160, 0x1234) + b"\xff" * 160
        s.sendto(pkt, ("127.0.0.1", 41000)); time.sleep(0.02)
time.sleep(float(sys.argv[1])); burst(50, 0)      # during early media
time.sleep(float(sys.argv[2])); burst(50, 100)    # after the answer
