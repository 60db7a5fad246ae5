"""Loopback load client for the trademl daemon: N GET requests spread over C concurrent clients (one
keep-alive connection each) across the read routes; prints one JSON line with counts and latency
percentiles per route and overall. Exit 1 when any request failed (non-2xx or a socket error).

    python3 load.py --base http://127.0.0.1:PORT --requests 1000 --clients 8 [--paths /health,/api/models]
"""
import argparse, http.client, json, sys, threading, time, urllib.parse

ap = argparse.ArgumentParser()
ap.add_argument("--base", required=True)
ap.add_argument("--requests", type=int, default=1000)
ap.add_argument("--clients", type=int, default=8)
ap.add_argument("--paths", default="/health,/api/training/jobs,/api/training/jobs?status=running,/api/models,"
                "/api/queue,/api/schedule,/api/coverage,/metrics")
a = ap.parse_args()
u = urllib.parse.urlparse(a.base)
paths = a.paths.split(",")
lat = {p: [] for p in paths}
errors = []
lock = threading.Lock()
counter = iter(range(a.requests))


def client():
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    while True:
        with lock:
            i = next(counter, None)
        if i is None:
            break
        p = paths[i % len(paths)]
        t0 = time.perf_counter()
        try:
            conn.request("GET", p)
            r = conn.getresponse()
            body = r.read()
            dt = time.perf_counter() - t0
            with lock:
                lat[p].append(dt)
                if r.status // 100 != 2:
                    errors.append(f"{p}: HTTP {r.status} {body[:200]!r}")
        except Exception as e:  # a reset or timeout is a failure too
            with lock:
                errors.append(f"{p}: {e!r}")
            conn.close()
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.close()


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else 0.0


t0 = time.perf_counter()
threads = [threading.Thread(target=client) for _ in range(a.clients)]
for t in threads:
    t.start()
for t in threads:
    t.join()
wall = time.perf_counter() - t0
all_lat = [x for v in lat.values() for x in v]
out = {"requests": len(all_lat), "errors": len(errors), "clients": a.clients, "wall_s": round(wall, 3),
       "rps": round(len(all_lat) / wall, 1), "p50_ms": round(pct(all_lat, 0.50), 2),
       "p99_ms": round(pct(all_lat, 0.99), 2), "max_ms": round(max(all_lat) * 1000 if all_lat else 0, 2),
       "routes": {p: {"n": len(v), "p50_ms": round(pct(v, 0.5), 2), "p99_ms": round(pct(v, 0.99), 2)}
                  for p, v in lat.items()}}
print(json.dumps(out))
for e in errors[:10]:
    print("error:", e, file=sys.stderr)
sys.exit(1 if errors else 0)
