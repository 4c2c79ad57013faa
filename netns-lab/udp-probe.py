#!/usr/bin/python3
"""A 1 ms UDP prober and its echo server, for benches/bfd-failover.sh.

  udp-probe.py serve [--port 7]          # in each balancer: echo every datagram
  udp-probe.py probe ADDR [--port 7]     # in the client: until SIGTERM/SIGINT

The prober sends a numbered datagram every --period (1 ms) on a fixed
schedule and notes which come back (each has --timeout to). At the end it
prints one line of JSON: sent, answered, `outage_ms` — the longest run of
unanswered datagrams, from the send time of the answered one before it to
that of the answered one after it, less one period (0 when none was lost;
null when the last ones went unanswered: no recovery) — and `max_send_gap_ms`, the longest time the prober itself went without
sending (a starved prober: the round is not to be trusted).
"""

import argparse
import json
import selectors
import signal
import socket
import struct
import sys
import time


def serve(port: int) -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    while True:
        try:
            data, peer = s.recvfrom(64)
            s.sendto(data, peer)
        except OSError:
            # The balancer's links are down (it "died"): answer nothing
            # until they come back, but stay alive for the next round.
            time.sleep(0.001)


def probe(addr: str, port: int, period: float, timeout: float) -> int:
    stop = False

    def on_signal(_sig, _frm):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ)
    sent = []  # monotonic send time per sequence number
    answered = set()
    t0 = time.monotonic()
    max_gap = 0.0
    while not stop:
        now = time.monotonic()
        due = t0 + len(sent) * period
        if now >= due:
            if sent:
                max_gap = max(max_gap, now - sent[-1])
            try:
                s.sendto(struct.pack("!Q", len(sent)), (addr, port))
            except OSError:
                pass  # no route / unreachable: counts as unanswered
            sent.append(now)
            continue
        for _key, _ in sel.select(timeout=max(0.0, due - now)):
            while True:
                try:
                    data = s.recv(64)
                except (BlockingIOError, ConnectionRefusedError):
                    break
                if len(data) == 8:
                    n = struct.unpack("!Q", data)[0]
                    if n < len(sent) and time.monotonic() - sent[n] <= timeout:
                        answered.add(n)
    # Datagrams sent in the last `timeout` may still be on their way: leave
    # them out.
    end = time.monotonic() - timeout
    last = max((i for i, t in enumerate(sent) if t <= end), default=-1)
    outage, prev = 0.0, None
    for i in range(last + 1):
        if i in answered:
            if prev is not None and i - prev > 1:
                outage = max(outage, sent[i] - sent[prev] - period)
            prev = i
    if prev is None or prev < last:
        outage = float("nan")  # never answered again: no recovery seen
    print(json.dumps({
        "recovered": outage == outage,
        "sent": last + 1,
        "answered": sum(1 for i in answered if i <= last),
        "outage_ms": round(outage * 1000, 1) if outage == outage else None,
        "max_send_gap_ms": round(max_gap * 1000, 1),
    }))
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=["serve", "probe"])
    p.add_argument("addr", nargs="?")
    p.add_argument("--port", type=int, default=7)
    p.add_argument("--period", type=float, default=0.001)
    p.add_argument("--timeout", type=float, default=0.2)
    a = p.parse_args()
    if a.mode == "serve":
        return serve(a.port)
    if not a.addr:
        p.error("probe needs ADDR")
    return probe(a.addr, a.port, a.period, a.timeout)


if __name__ == "__main__":
    sys.exit(main())
