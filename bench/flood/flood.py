#!/usr/bin/env python3
"""Helpers of bench/flood.sh (`make flood`); stdlib and PyYAML only.

    flood.py configs OUTDIR WASM          the two benchmark configs with a public route
    flood.py kid CONFIG                   the kid of jwt_authn's first local key
    flood.py epk TOKENS OUT               base64url ECDH-ES headers, one per minted token's epk
    flood.py probe PORT SECONDS INTERVAL OUT        GET /public/x every INTERVAL s, new connection each
    flood.py fresh PORT SECONDS SOURCE TOKENS OUT   fresh valid tokens one after another from SOURCE
    flood.py stats ADMIN_PORT OUT         Envoy's counters (name: value per line), gauges to OUT.gauges
    flood.py report WORK OUT_JSON         bench/flood-results.json and the Markdown table
"""
import base64
import copy
import json
import os
import re
import socket
import statistics
import sys
import threading
import time
import urllib.request


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- configurations -------------------------------------------------------


def configs(outdir, wasm):
    """envoy/bench/{jwe,jwt}-authn.yaml with the filter's code at WASM and a
    public route: a request to /public/... needs no token."""
    import yaml

    jwe = yaml.safe_load(open("envoy/bench/jwe-authn.yaml"))
    (wasm_filter,) = [f for f in http_filters(jwe) if f["name"] == "envoy.filters.http.wasm"]
    config = wasm_filter["typed_config"]["config"]
    config["vm_config"]["code"]["local"]["filename"] = os.path.abspath(wasm)
    settings = json.loads(config["configuration"]["value"])
    assert "rules" not in settings, "envoy/bench/jwe-authn.yaml has rules already"
    settings["rules"] = [{"match": {"path_separated_prefix": "/public"}, "requires": "allow"}]
    config["configuration"]["value"] = json.dumps(settings, indent=1)
    yaml.safe_dump(jwe, open(os.path.join(outdir, "jwe-authn.yaml"), "w"))

    jwt = yaml.safe_load(open("envoy/bench/jwt-authn.yaml"))
    (jwt_filter,) = [f for f in http_filters(jwt) if f["name"] == "envoy.filters.http.jwt_authn"]
    rules = jwt_filter["typed_config"]["rules"]
    rules.insert(0, {"match": {"path_separated_prefix": "/public"}})  # no `requires`: no check
    yaml.safe_dump(jwt, open(os.path.join(outdir, "jwt-authn.yaml"), "w"))


def http_filters(envoy_config):
    api = envoy_config["static_resources"]["listeners"][0]
    return api["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"]


def kid(config):
    import yaml

    (jwt_filter,) = [f for f in http_filters(yaml.safe_load(open(config))) if f["name"] == "envoy.filters.http.jwt_authn"]
    (provider,) = jwt_filter["typed_config"]["providers"].values()
    print(json.loads(provider["local_jwks"]["inline_string"])["keys"][0]["kid"])


def epk(tokens, out):
    """Each minted ECDH-ES token's epk (a valid P-256 point the CLI made) in
    the header the flood sends, base64url-encoded, one a line."""
    with open(out, "w") as f:
        seen = set()
        for line in open(tokens):
            header = json.loads(unb64(line.split(".")[0]))
            assert header["alg"] == "ECDH-ES" and header["epk"]["crv"] == "P-256", header
            forged = {"alg": "ECDH-ES", "enc": "A256GCM", "kid": "enc-p256", "epk": header["epk"]}
            text = b64(json.dumps(forged, separators=(",", ":")).encode())
            if text not in seen:
                seen.add(text)
                f.write(text + "\n")
    assert seen, "no tokens"


# --- clients ---------------------------------------------------------------


def percentile(values, p):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(round(p / 100 * len(values) + 0.5)) - 1))]


def latency_summary(latencies_ms):
    r = lambda v: None if v is None else round(v, 3)
    return {
        "p50_ms": r(percentile(latencies_ms, 50)),
        "p99_ms": r(percentile(latencies_ms, 99)),
        "max_ms": r(max(latencies_ms) if latencies_ms else None),
    }


def read_response(sock):
    """(status, whether the server closes) of one HTTP/1.1 response read to
    its end (the body ends at Content-Length, or the server closes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the headers")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ", 2)[1])
    m = re.search(rb"(?im)^content-length:\s*(\d+)", head)
    if m:
        while len(body) < int(m.group(1)):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return status, bool(re.search(rb"(?im)^connection:\s*close", head)) or not m


def probe(port, seconds, interval, out):
    """GET /public/x with no token every INTERVAL seconds on a fixed
    schedule, each on its own new connection and thread (a slow answer does
    not delay the next probe); latency from connect to the end of the
    answer, connect included."""
    port, seconds, interval = int(port), float(seconds), float(interval)
    results, lock = [], threading.Lock()

    def one():
        t0 = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET /public/x HTTP/1.1\r\nHost: flood\r\nConnection: close\r\n\r\n")
                status, _ = read_response(s)
        except OSError as e:  # timeouts included
            status = type(e).__name__
        with lock:
            results.append((status, (time.monotonic() - t0) * 1000))

    threads, start, i = [], time.monotonic(), 0
    while True:
        due = start + i * interval
        if due >= start + seconds:
            break
        time.sleep(max(0, due - time.monotonic()))
        t = threading.Thread(target=one, daemon=True)
        t.start()
        threads.append(t)
        i += 1
    for t in threads:
        t.join(timeout=12)
    ok = [ms for status, ms in results if status == 200]
    by_status = {}
    for status, _ in results:
        by_status[str(status)] = by_status.get(str(status), 0) + 1
    json.dump({"sent": i, "answered": len(results), "status": by_status, "connection": "new per request", **latency_summary(ok)}, open(out, "w"))


def fresh(port, seconds, source, tokens, out):
    """Fresh valid tokens, each used once, one request after another on a
    keep-alive connection whose socket is bound to SOURCE (a second client
    address) before connecting; reconnects when Envoy closes it."""
    port, seconds = int(port), float(seconds)
    pool = [line.strip() for line in open(tokens) if line.strip()]
    by_status, latencies, errors, connects, used = {}, [], {}, 0, 0
    sock, deadline = None, time.monotonic() + seconds
    local = None
    while time.monotonic() < deadline and used < len(pool):
        token = pool[used]
        used += 1
        t0 = time.monotonic()
        try:
            if sock is None:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.settimeout(max(0.1, min(10, deadline - time.monotonic() + 1)))
                sock.bind((source, 0))
                sock.connect(("127.0.0.1", port))
                local = sock.getsockname()[0]
                connects += 1
            sock.sendall(f"GET /orders HTTP/1.1\r\nHost: flood\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
            status, closing = read_response(sock)
        except OSError as e:
            errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
            if sock:
                sock.close()
            sock = None
            continue
        by_status[str(status)] = by_status.get(str(status), 0) + 1
        if status == 200:
            latencies.append((time.monotonic() - t0) * 1000)
        if closing:
            sock.close()
            sock = None
    if sock:
        sock.close()
    json.dump({
        "source": local, "sent": used, "pool": len(pool), "exhausted": used >= len(pool),
        "served": by_status.get("200", 0), "shed": by_status.get("503", 0),
        "status": by_status, "errors": errors, "connections": connects,
        **latency_summary(latencies),
    }, open(out, "w"))


def stats(admin_port, out):
    """Envoy's counters to OUT, its gauges to OUT with .gauges added."""
    for kind, path in (("Counters", out), ("Gauges", out + ".gauges")):
        url = f"http://127.0.0.1:{admin_port}/stats?type={kind}"
        with open(path, "w") as f:
            f.write(urllib.request.urlopen(url, timeout=10).read().decode())


# --- report ----------------------------------------------------------------

# Counters kept per phase (deltas): the filter's, jwt_authn's, the API
# listener's answers, and what reached the upstream.
KEEP = re.compile(r"^(wasmcustom\.|http\.api\.(jwt_authn\.|downstream_rq_)|http\.upstream\.downstream_rq_total$|cluster\.upstream\.upstream_rq_total$|listener\.127\.0\.0\.1_10000\.downstream_cx_total$|wasm\.)")


def read_stats(path):
    out = {}
    for line in open(path):
        m = re.match(r"^([^:]+): (\d+)$", line.strip())
        if m and KEEP.match(m.group(1)):
            out[m.group(1)] = int(m.group(2))
    return out


def parse_wrk(path):
    text = open(path).read()

    def ms(label):
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if not m:
            return None
        v, u = float(m.group(1)), m.group(2)
        return v / 1000 if u == "us" else v * 1000 if u == "s" else v

    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    n = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    status = re.search(r"^FLOOD_STATUS (\{.*\})$", text, re.M)
    return {
        "rps": float(rps.group(1)) if rps else None,
        "requests": int(n.group(1)) if n else None,
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "status": json.loads(status.group(1)) if status else {},
        "socket_errors": dict(zip(["connect", "read", "write", "timeout"], map(int, errors.groups()))) if errors else {},
    }


def two_xx(status):
    return sum(n for s, n in status.items() if str(s).startswith("2"))


def load_run(d):
    meta = json.load(open(os.path.join(d, "meta.json")))
    run = dict(meta)
    run["legit"] = parse_wrk(os.path.join(d, "legit.out"))
    run["flood"] = parse_wrk(os.path.join(d, "flood.out")) if os.path.exists(os.path.join(d, "flood.out")) else None
    run["public"] = json.load(open(os.path.join(d, "probe.json")))
    run["fresh"] = json.load(open(os.path.join(d, "fresh.json"))) if os.path.exists(os.path.join(d, "fresh.json")) else None
    before, after = read_stats(os.path.join(d, "stats-before.txt")), read_stats(os.path.join(d, "stats-after.txt"))
    run["counters"] = {k: after[k] - before.get(k, 0) for k in sorted(after) if after[k] - before.get(k, 0)}
    run["gauges_after"] = read_stats(os.path.join(d, "stats-after.txt.gauges"))
    upstream = run["counters"].get("http.upstream.downstream_rq_total", 0)
    legit_2xx = two_xx(run["legit"]["status"]) + (run["public"]["status"].get("200", 0)) + (run["fresh"]["served"] if run["fresh"] else 0)
    run["upstream_requests"] = upstream
    run["legitimate_2xx"] = legit_2xx
    # wrk stops with up to -c requests in flight: answered by the upstream,
    # never counted by the client. So a few here are the legitimate
    # requests wrk cut off; a forged token forwarded would show as 2xx in
    # the flood's own count (flood_2xx) and here by the thousand.
    run["forwarded_beyond_legitimate"] = upstream - legit_2xx
    run["flood_2xx"] = two_xx(run["flood"]["status"]) if run["flood"] else 0
    return run


NUMERIC = ["rps", "p50_ms", "p99_ms"]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def report(work, out_json):
    runs = []
    for name in sorted(os.listdir(work)):
        d = os.path.join(work, name)
        if name.startswith("run-") and os.path.exists(os.path.join(d, "stats-after.txt")):
            runs.append(load_run(d))
    runs.sort(key=lambda r: (r["round"], r["order"]))
    order = []
    for r in runs:
        if r["phase"] not in order:
            order.append(r["phase"])
    by = {(r["round"], r["phase"]): r for r in runs}

    def ratio(r, base_phase):
        base = by.get((r["round"], base_phase))
        if not base or not base["legit"]["rps"] or r["legit"]["rps"] is None:
            return None
        return r["legit"]["rps"] / base["legit"]["rps"]

    phases = {}
    for phase in order:
        rs = [r for r in runs if r["phase"] == phase]
        jwt = rs[0]["config"] == "jwt-authn"
        summed = lambda get: {k: sum(get(r).get(k, 0) for r in rs) for k in sorted({k for r in rs for k in get(r)})}
        p = {
            "config": rs[0]["config"],
            "flood": rs[0]["flood_kind"],
            "rounds": len(rs),
            "legit_rps": median(r["legit"]["rps"] for r in rs),
            "legit_p50_ms": median(r["legit"]["p50_ms"] for r in rs),
            "legit_p99_ms": median(r["legit"]["p99_ms"] for r in rs),
            "legit_status": summed(lambda r: r["legit"]["status"]),
            "legit_socket_errors": summed(lambda r: r["legit"]["socket_errors"]),
            # Paired: each round's ratio to the same round's baseline, median over rounds.
            "ratio_alone": median(ratio(r, "jwt_authn-alone" if jwt else "alone") for r in rs),
            "ratio_cheap": None if jwt else median(ratio(r, "cheap") for r in rs),
            "flood_rps": median(r["flood"]["rps"] for r in rs) if rs[0]["flood"] else None,
            "flood_status": summed(lambda r: r["flood"]["status"] if r["flood"] else {}),
            "flood_socket_errors": summed(lambda r: r["flood"]["socket_errors"] if r["flood"] else {}),
            "flood_2xx": sum(r["flood_2xx"] for r in rs),
            "public": {
                "p50_ms": median(r["public"]["p50_ms"] for r in rs),
                "p99_ms": median(r["public"]["p99_ms"] for r in rs),
                "max_ms": max((r["public"]["max_ms"] or 0) for r in rs),
                "sent": sum(r["public"]["sent"] for r in rs),
                "status": summed(lambda r: r["public"]["status"]),
            },
            "fresh": None,
            "upstream_requests": sum(r["upstream_requests"] for r in rs),
            "legitimate_2xx": sum(r["legitimate_2xx"] for r in rs),
            "forwarded_beyond_legitimate": sum(r["forwarded_beyond_legitimate"] for r in rs),
            "envoy_cpu_s": median(r.get("envoy_cpu_s") for r in rs),
            "counters": summed(lambda r: r["counters"]),
            "gauges_after": rs[-1]["gauges_after"],  # the last round's, at the phase's end
        }
        if rs[0]["fresh"]:
            p["fresh"] = {
                "source": rs[0]["fresh"]["source"],
                "sent": sum(r["fresh"]["sent"] for r in rs),
                "served": sum(r["fresh"]["served"] for r in rs),
                "shed": sum(r["fresh"]["shed"] for r in rs),
                "status": summed(lambda r: r["fresh"]["status"]),
                "errors": summed(lambda r: r["fresh"]["errors"]),
                "exhausted": any(r["fresh"]["exhausted"] for r in rs),
                "p50_ms": median(r["fresh"]["p50_ms"] for r in rs),
                "p99_ms": median(r["fresh"]["p99_ms"] for r in rs),
            }
        phases[phase] = p
    meta = json.load(open(os.path.join(work, "meta.json")))
    result = {"meta": meta, "phases": phases, "runs": runs}
    json.dump(result, open(out_json, "w"), indent=1)
    print_table(result)


def fmt(v, spec=",.0f"):
    return "—" if v is None else format(v, spec)


def ratio_fmt(v):
    if v is None:
        return "—"
    return f"{v:.3f}" if v >= 0.01 else f"{v:.4f}"


def print_table(result):
    m = result["meta"]
    print(f"\nflood: {m['flood_seconds']} s per phase, {m['rounds']} round(s), one Envoy worker; filter {m['wasm']} (sha256 {m['wasm_sha256'][:12]})\n")
    print("| phase | legit req/s | ÷ alone | ÷ cheap | legit p50 ms | legit p99 ms | flood req/s | flood answers | public p50 / p99 ms (n) | fresh valid 200 / 503 | forwarded beyond legit |")
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for name, p in result["phases"].items():
        answers = ", ".join(f"{s}: {n:,}" for s, n in sorted(p["flood_status"].items())) or "—"
        errs = {k: v for k, v in p["flood_socket_errors"].items() if v}
        if errs:
            answers += " (socket errors " + ", ".join(f"{k} {v}" for k, v in errs.items()) + ")"
        legit_errs = {k: v for k, v in p["legit_socket_errors"].items() if v}
        legit_bad = {s: n for s, n in p["legit_status"].items() if not str(s).startswith("2")}
        pub = p["public"]
        pub_bad = sum(n for s, n in pub["status"].items() if s != "200")
        fresh = p["fresh"]
        fresh_txt = "—" if not fresh else f"{fresh['served']:,} / {fresh['shed']:,}" + (" (pool exhausted)" if fresh["exhausted"] else "") + (f" (other {sum(n for s, n in fresh['status'].items() if s not in ('200', '503'))})" if set(fresh["status"]) - {"200", "503"} else "")
        legit_note = ""
        if legit_errs or legit_bad:
            legit_note = " (" + ", ".join([f"{s}: {n}" for s, n in legit_bad.items()] + [f"{k} {v}" for k, v in legit_errs.items()]) + ")"
        print(f"| {name} | {fmt(p['legit_rps'])}{legit_note} | {ratio_fmt(p['ratio_alone'])} | {ratio_fmt(p['ratio_cheap'])} | {fmt(p['legit_p50_ms'], '.2f')} | {fmt(p['legit_p99_ms'], '.2f')} | {fmt(p['flood_rps'])} | {answers} | {fmt(pub['p50_ms'], '.1f')} / {fmt(pub['p99_ms'], '.1f')} ({pub['sent']}{f', {pub_bad} not 200' if pub_bad else ''}) | {fresh_txt} | {p['forwarded_beyond_legitimate']} |")
    print("\nforwarded beyond legit: upstream requests − 2xx counted by the legitimate clients (wrk, probe, fresh); up to 4 are the"
          " legitimate wrk's requests in flight when it stops (answered, never counted); a forwarded forgery would also be a 2xx"
          " among the flood's answers.")
    print("\n| phase | Envoy CPU s | counter deltas (`wasmcustom.jwe_authn.` / `http.api.jwt_authn.` left off) |")
    print("|---|---:|---|")
    for name, p in result["phases"].items():
        shown = []
        for k, v in p["counters"].items():
            for prefix in ("wasmcustom.jwe_authn.", "http.api.jwt_authn."):
                if k.startswith(prefix):
                    shown.append(f"{k[len(prefix):]} {v:,}")
        print(f"| {name} | {fmt(p['envoy_cpu_s'], '.1f')} | {', '.join(shown) or '—'} |")


if __name__ == "__main__":
    commands = {"configs": configs, "kid": kid, "epk": epk, "probe": probe, "fresh": fresh, "stats": stats, "report": report}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        sys.exit(__doc__)
    commands[sys.argv[1]](*sys.argv[2:])
