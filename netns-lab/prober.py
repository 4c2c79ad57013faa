#!/usr/bin/python3
"""The client-side prober of the failover benchmark: opens a TCP connection
to ADDR:PORT every 10 ms (each attempt independent, non-blocking, given
--timeout to complete) until SIGTERM or --duration, then prints one line of
JSON: attempts, failures, `outage_ms` — the longest run of failed
attempts, from the success before it to the success after it, less one
period (an unbroken run prints 0) — and `gap_start` / `gap_end`, the
wall-clock times (seconds since the epoch, as tcpdump -tt prints them) of
those two successful attempts.

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
    p.add_argument("--timeout", type=float, default=0.100,
                   help="an attempt not connected by then counts as failed")
    p.add_argument("--duration", type=float, default=600.0)
    a = p.parse_args()

    stop = False

    def on_term(_sig, _frm):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    sel = selectors.DefaultSelector()
    pending = {}  # socket -> (monotonic, wall-clock) start time
    results = []  # (monotonic start, wall-clock start, connected)
    attempts = failures = 0
    t0 = time.monotonic()
    next_at = t0

    def finish(sock, good):
        nonlocal failures
        start, wall = pending.pop(sock)
        sel.unregister(sock)
        sock.close()
        results.append((start, wall, good))
        if not good:
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
            pending[s] = (now, time.time())
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
        for s, (start, _) in list(pending.items()):
            if now - start > a.timeout:
                finish(s, False)

    # The outage: the longest run of failed attempts, measured from the last
    # success before it to the first success after it, less one period. A
    # stretch without any attempt (the prober itself not scheduled on a
    # loaded machine) is not an outage; its longest length is reported as
    # `max_attempt_gap_ms` so that a starved round can be recognised.
    results.sort()
    outage, around = 0.0, (float("nan"), float("nan"))
    last_ok = None
    failed_since = False
    max_attempt_gap = 0.0
    prev = None
    for start, wall, good in results:
        if prev is not None:
            max_attempt_gap = max(max_attempt_gap, start - prev)
        prev = start
        if not good:
            failed_since = True
            continue
        if last_ok is not None and failed_since:
            g = max(0.0, start - last_ok[0] - a.period)
            if g > outage:
                outage, around = g, (last_ok[1], wall)
        last_ok = (start, wall)
        failed_since = False
    if last_ok is None:
        outage = float("nan")
    print(json.dumps({
        "attempts": attempts,
        "failures": failures,
        "outage_ms": round(outage * 1000, 1),
        "gap_start": round(around[0], 6),
        "gap_end": round(around[1], 6),
        "max_attempt_gap_ms": round(max_attempt_gap * 1000, 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
