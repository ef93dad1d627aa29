#!/usr/bin/env python3
"""Floods a memcached-protocol server with get lines that never end.

Usage: get-line-flood.py PORT PID CONNECTIONS SECONDS

Opens CONNECTIONS connections to 127.0.0.1:PORT, each sending "get" and then keys of misses
(" miss000000 miss000001 ...", 66 KB a write) with no newline, as fast as the server takes them,
for SECONDS; then prints the megabytes the server took and the server's VmRSS and VmHWM (kB, from
/proc/PID/status), closes the connections, waits 2 s and prints them again. memcached keeps such a
line whole for as long as it runs; `./arena serve` answers it a key at a time (docs/server.md).
"""
import socket
import sys
import time


def memory(pid):
    figures = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                figures[name] = int(value.split()[0])
    return figures


def main():
    port, pid, connections, seconds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    keys = "".join(" miss%06d" % i for i in range(6000)).encode()
    socks = []
    for _ in range(connections):
        s = socket.create_connection(("127.0.0.1", port))
        s.setblocking(False)
        s.send(b"get")
        socks.append(s)
    end = time.time() + seconds
    sent = 0
    while time.time() < end:
        for s in socks:
            try:
                sent += s.send(keys)
            except (BlockingIOError, OSError):
                pass
    print("taken_MB", sent >> 20, "open", memory(pid))
    for s in socks:
        s.close()
    time.sleep(2)
    print("after", memory(pid))


if __name__ == "__main__":
    main()
