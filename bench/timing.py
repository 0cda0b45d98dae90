#!/usr/bin/env python3
"""make timing: does the rejection time depend on where the check failed?

Against Envoy with the benchmark configuration (one worker, loopback), send
interleaved, in random order over one keep-alive connection:

  bad-tag      an RSA-OAEP-256 token whose GCM tag is altered: the RSA
               decryption succeeds, the tag check fails;
  bad-key      the same token with its encrypted key altered: RSA-OAEP
               decoding fails, the filter goes on with a random CEK, and the
               tag check fails;
  malformed    a token cut short (a parse failure, no cryptography): the
               reference for what a measurable difference looks like.

Prints percentiles per class and the difference of medians relative to the
spread. Numbers go to the README's Security section. Not a test: nothing
here asserts a time.

    bench/timing.py [SAMPLES_PER_CLASS]
"""
import http.client
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
CLI = os.path.join(ROOT, "target/release/jwe-authn")
ENVOY = os.path.join(ROOT, ".venv/bin/envoy")
KEYS = os.path.join(ROOT, "envoy/bench/keys")


def mint():
    claims = '{"iss":"https://idp.demo.example","sub":"timing","aud":"orders-api"}'
    return subprocess.check_output(
        [CLI, "mint", "--claims", claims, "--expires-in", "2h",
         "--sign-key", f"{KEYS}/sig-rs256.jwk", "--sig-alg", "RS256",
         "--encrypt-key", f"{KEYS}/enc-rsa.pub.jwk", "--alg", "RSA-OAEP-256", "--enc", "A256GCM"],
        cwd=ROOT, text=True).strip()


def flip(token, segment):
    """Alter the first character of a segment (no base64 padding bits)."""
    parts = token.split(".")
    s = parts[segment]
    parts[segment] = ("B" if s[0] == "A" else "A") + s[1:]
    return ".".join(parts)


def percentiles(xs):
    xs = sorted(xs)
    at = lambda q: xs[min(len(xs) - 1, int(q * len(xs)))]
    return {"p10": at(0.10), "p50": at(0.50), "p90": at(0.90), "p99": at(0.99), "mean": statistics.fmean(xs)}


def main():
    token = mint()
    classes = {
        "bad-tag": flip(token, 4),
        "bad-key": flip(token, 1),
        "malformed": token[: len(token) // 2],
    }
    work = tempfile.mkdtemp()
    config = os.path.join(work, "envoy.yaml")
    with open(os.path.join(ROOT, "envoy/bench/jwe-authn.yaml")) as f:
        text = f.read().replace("target/wasm32-wasip1/release/jwe_authn.wasm",
                                os.path.join(ROOT, "target/wasm32-wasip1/release/jwe_authn.wasm"))
    with open(config, "w") as f:
        f.write(text)
    envoy = subprocess.Popen([ENVOY, "-c", config, "--concurrency", "1", "--use-dynamic-base-id", "-l", "error"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=work)
    try:
        for _ in range(100):
            try:
                c = http.client.HTTPConnection("127.0.0.1", 9901, timeout=1)
                c.request("GET", "/ready")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        conn = http.client.HTTPConnection("127.0.0.1", 10000, timeout=10)

        def once(value):
            start = time.perf_counter_ns()
            conn.request("GET", "/orders", headers={"authorization": "Bearer " + value})
            r = conn.getresponse()
            r.read()
            elapsed = time.perf_counter_ns() - start
            if r.status != 401:
                raise SystemExit(f"expected 401, got {r.status}")
            return elapsed / 1000.0

        order = [name for name in classes for _ in range(SAMPLES)]
        for name in classes:  # warm-up
            for _ in range(50):
                once(classes[name])
        random.shuffle(order)
        samples = {name: [] for name in classes}
        for name in order:
            samples[name].append(once(classes[name]))
    finally:
        envoy.terminate()
        envoy.wait()

    print(f"Rejection latency over loopback, µs ({SAMPLES} interleaved requests per class, one keep-alive connection):\n")
    print("| class | p10 | p50 | p90 | p99 | mean |")
    print("|---|---:|---:|---:|---:|---:|")
    stats = {}
    for name, xs in samples.items():
        stats[name] = percentiles(xs)
        s = stats[name]
        print(f"| {name} | {s['p10']:.0f} | {s['p50']:.0f} | {s['p90']:.0f} | {s['p99']:.0f} | {s['mean']:.0f} |")
    a, b = samples["bad-tag"], samples["bad-key"]
    spread = statistics.median([abs(x - statistics.median(a)) for x in a])  # MAD
    diff = statistics.median(a) - statistics.median(b)
    print(f"\nmedian(bad-tag) − median(bad-key) = {diff:+.1f} µs; median absolute deviation of bad-tag = {spread:.1f} µs")


if __name__ == "__main__":
    main()
