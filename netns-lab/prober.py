#!/usr/bin/python3
"""The client-side prober of the failover benchmark: opens a TCP connection
to ADDR:PORT every 10 ms (each attempt independent, non-blocking, given
--timeout to complete) until SIGTERM or --duration, then prints one line of
JSON: attempts, failures, and `outage_ms` — the longest time between two
successful attempts, less one period (so an unbroken run prints 0).

Runs inside the lab's client namespace (`ip netns exec tdm-...-client`).
"""

import argparse
import errno
import json
import selectors
import signal
import socket
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("addr")
    p.add_argument("--port", type=int, default=80)
    p.add_argument("--period", type=float, default=0.010)
    p.add_argument("--timeout", type=float, default=0.200)
    p.add_argument("--duration", type=float, default=600.0)
    a = p.parse_args()

    stop = False

    def on_term(_sig, _frm):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    sel = selectors.DefaultSelector()
    pending = {}  # socket -> start time
    ok_starts = []
    attempts = failures = 0
    t0 = time.monotonic()
    next_at = t0

    def finish(sock, good):
        nonlocal failures
        start = pending.pop(sock)
        sel.unregister(sock)
        sock.close()
        if good:
            ok_starts.append(start)
        else:
            failures += 1

    while True:
        now = time.monotonic()
        if (stop or now - t0 > a.duration) and not pending:
            break
        if not stop and now >= next_at and now - t0 <= a.duration:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            attempts += 1
            err = s.connect_ex((a.addr, a.port))
            pending[s] = now
            sel.register(s, selectors.EVENT_WRITE)
            if err not in (0, errno.EINPROGRESS):
                finish(s, False)
            next_at += a.period
            if next_at < now:  # fell behind: do not burst to catch up
                next_at = now + a.period
        wait = max(0.0, min(next_at - time.monotonic(), 0.005)) if not stop else 0.005
        for key, _ in sel.select(timeout=wait):
            s = key.fileobj
            good = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            finish(s, good)
        now = time.monotonic()
        for s, start in list(pending.items()):
            if now - start > a.timeout:
                finish(s, False)

    ok_starts.sort()
    gap = 0.0
    for x, y in zip(ok_starts, ok_starts[1:]):
        gap = max(gap, y - x)
    outage = max(0.0, gap - a.period) if len(ok_starts) > 1 else float("nan")
    print(json.dumps({
        "attempts": attempts,
        "failures": failures,
        "successes": len(ok_starts),
        "outage_ms": round(outage * 1000, 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
