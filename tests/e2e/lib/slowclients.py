"""Slow-client probe for the trademl daemon, loopback only: opens --conns connections that send an
unfinished request head ("GET /health HTTP/1.1\\r\\n", then nothing) from the source addresses
127.0.0.2, 127.0.0.3, ... (--sources of them, connections spread evenly), then measures /health from
127.0.0.1 on fresh connections while they are held. Prints one JSON line: connections opened, held
open by the daemon, closed at once (over the per-client cap), /health latencies (ms), and after
--idle-wait seconds how many held connections the daemon had closed. Exit 1 when a /health probe
fails, the median latency is above --max-ms or the slowest above --worst-ms (a loaded machine delays
single answers; an unreachable daemon fails probes); the whole run is bounded by --deadline seconds.

    python3 slowclients.py --port PORT --conns 512 --sources 8 --probes 50 [--max-ms 100] [--worst-ms 1000]
                           [--idle-wait 4]
"""
import argparse, http.client, json, select, socket, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--conns", type=int, default=512)
ap.add_argument("--sources", type=int, default=8)
ap.add_argument("--probes", type=int, default=50)
ap.add_argument("--max-ms", type=float, default=100.0, help="median /health latency allowed")
ap.add_argument("--worst-ms", type=float, default=1000.0, help="slowest /health answer allowed")
ap.add_argument("--idle-wait", type=float, default=0.0, help="then wait this long and count closed connections")
ap.add_argument("--deadline", type=float, default=60.0)
a = ap.parse_args()
if a.conns > 4000 or a.sources > 200:
    sys.exit("refusing: at most 4000 connections from 200 loopback addresses")
t_start = time.monotonic()


def closed_by_peer(s):
    """True when the daemon closed s (readable with EOF or reset), without blocking."""
    p = select.poll()
    p.register(s, select.POLLIN | select.POLLHUP | select.POLLERR)
    if not p.poll(0):
        return False
    try:
        return s.recv(4096) == b""
    except OSError:
        return True


socks, connect_errors = [], 0
for i in range(a.conns):
    src = "127.0.0.%d" % (2 + i % a.sources)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(2.0)
    try:
        s.bind((src, 0))
        s.connect(("127.0.0.1", a.port))
        s.sendall(b"GET /health HTTP/1.1\r\n")
        socks.append(s)
    except OSError:
        connect_errors += 1
        s.close()
time.sleep(0.3)  # let the daemon accept (or refuse) them all
held = [s for s in socks if not closed_by_peer(s)]
refused = len(socks) - len(held)

lat, failures = [], []
t_probes = time.monotonic()
for i in range(a.probes):
    if time.monotonic() - t_start > a.deadline:
        failures.append("deadline reached")
        break
    t0 = time.perf_counter()
    try:
        c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=5, source_address=("127.0.0.1", 0))
        c.request("GET", "/health")
        r = c.getresponse()
        body = r.read()
        c.close()
        ms = (time.perf_counter() - t0) * 1000
        lat.append(ms)
        if r.status != 200 or b'"status"' not in body:
            failures.append("HTTP %d %r" % (r.status, body[:120]))
    except Exception as e:  # refused, reset or timed out: the daemon was unreachable
        failures.append("probe %d: %r after %.0f ms" % (i, e, (time.perf_counter() - t0) * 1000))
    time.sleep(0.01)
probe_seconds = time.monotonic() - t_probes
still_held = sum(1 for s in held if not closed_by_peer(s))

closed_after_wait = None
if a.idle_wait > 0:
    time.sleep(min(a.idle_wait, max(0.0, a.deadline - (time.monotonic() - t_start))))
    closed_after_wait = sum(1 for s in held if closed_by_peer(s))
for s in socks:
    s.close()

lat.sort()
pick = lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 2) if lat else None
out = {
    "connections_opened": len(socks), "connect_errors": connect_errors, "sources": a.sources,
    "held_open": len(held), "closed_at_once": refused, "held_through_probes": still_held,
    "health_probes": len(lat), "health_ms": {"min": pick(0), "median": pick(0.5), "p99": pick(0.99),
                                             "max": round(lat[-1], 2) if lat else None},
    "probe_seconds": round(probe_seconds, 2), "failures": failures[:5], "closed_after_idle_wait": closed_after_wait,
    "seconds": round(time.monotonic() - t_start, 2),
}
print(json.dumps(out))
median = lat[len(lat) // 2] if lat else float("inf")
if failures or len(lat) < a.probes or median > a.max_ms or lat[-1] > a.worst_ms:
    sys.exit("health failed or slow: %d failures, median %.1f ms (limit %.0f), max %.1f ms (limit %.0f)"
             % (len(failures), median, a.max_ms, lat[-1] if lat else float("inf"), a.worst_ms))
