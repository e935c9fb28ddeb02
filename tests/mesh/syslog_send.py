#!/usr/bin/env python3
"""Sends each line of FILE over TCP to HOST:PORT inside a syslog frame, as a forwarder would:
  syslog_send.py HOST PORT FRAMING APP FILE
FRAMING: 5424 (RFC 5424 header, newline-terminated), 3164 (BSD header: no year, one-digit days
space-padded, newline-terminated) or 5424-octet (RFC 5424 with RFC 6587 octet counting). The
header's time is the sending time, as a forwarder stamps it; the payload keeps its own."""
import socket, sys, time
host, port, framing, app, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
s = socket.create_connection((host, port))
buf = bytearray()
n = 0
with open(path, "rb") as f:
    for raw in f:
        line = raw.rstrip(b"\r\n")
        if not line:
            continue
        now = time.gmtime()
        if framing.startswith("5424"):
            head = "<134>1 %s sensor %s 4242 - - " % (time.strftime("%Y-%m-%dT%H:%M:%SZ", now), app)
        else:
            head = "<134>%s %2d %s sensor %s[4242]: " % (months[now.tm_mon - 1], now.tm_mday,
                                                        time.strftime("%H:%M:%S", now), app)
        frame = head.encode() + line
        if framing.endswith("octet"):
            buf += str(len(frame)).encode() + b" " + frame
        else:
            buf += frame + b"\n"
        n += 1
        if len(buf) > 1 << 16:
            s.sendall(buf)
            buf.clear()
s.sendall(buf)
s.shutdown(socket.SHUT_WR)  # the rest is delivered, then FIN
s.close()
print("sent %d lines" % n, file=sys.stderr)
