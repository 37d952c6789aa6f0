#!/usr/bin/env python3
"""The quick A/B of the tools/call path: two toolwright binaries serve the same catalog (one HTTP
tool in front of nginx serving a static JSON file), measured in alternating rounds on this machine,
and B is reported relative to A (calls/s and the server's CPU per call; the machine is shared and
noisy, so only the ratio in one run means anything).

    bench/ab.py --a OLD_BINARY --b NEW_BINARY [--rounds 4] [--duration 8] [--connections 16]
    bench/ab.py --a BINARY --signed [...]    # B is the same binary with every request signed (SigV4)

Needs nginx and the load generator that bench/run.sh installs and builds (`--loadgen`, default
$HOME/.cache/toolwright/loadgen-target/release/mcp-loadgen). Only 127.0.0.1 is used; every
load point is bounded in time; every child is stopped on exit. Not part of CI.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = "2026-07-28"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, what, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1.0) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not answer {url} within {seconds:.0f} s")


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="the baseline binary")
    ap.add_argument("--b", help="the binary compared with it (default: --a)")
    ap.add_argument("--signed", action="store_true",
                    help="B's connection signs every request with SigV4 (static keys; nginx does not check them)")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--duration", type=float, default=8.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--loadgen", default=os.path.expanduser("~/.cache/toolwright/loadgen-target/release/mcp-loadgen"))
    a = ap.parse_args()
    a.b = a.b or a.a
    if not 1 <= a.rounds <= 20 or not 1 <= a.duration <= 120:
        sys.exit("--rounds must be 1 to 20 and --duration 1 to 120 seconds")

    work = tempfile.mkdtemp(prefix="toolwright-ab-")
    # nginx's workers (run as an unprivileged user when started as root) read the document root.
    os.chmod(work, 0o755)
    children = []
    try:
        # The backend: nginx serving item.json for every GET /<collection>/<id>.
        docroot = os.path.join(work, "www")
        os.makedirs(docroot)
        shutil.copy(os.path.join(HERE, "mcp", "item.json"), os.path.join(docroot, "item.json"))
        backend_port, proxy_port = free_port(), free_port()
        with open(os.path.join(HERE, "mcp", "nginx.conf.in")) as fh:
            conf = fh.read()
        for k, v in {"@PREFIX@": work, "@DOCROOT@": docroot, "@BACKEND_PORT@": str(backend_port),
                     "@PROXY_PORT@": str(proxy_port), "@WORKERS@": "1"}.items():
            conf = conf.replace(k, v)
        with open(os.path.join(work, "nginx.conf"), "w") as fh:
            fh.write(conf)
        nginx = subprocess.Popen([a.nginx, "-p", work, "-c", os.path.join(work, "nginx.conf")],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        children.append(nginx)
        wait_http(f"http://127.0.0.1:{backend_port}/items/x", "nginx")

        catalogs = {}
        for which in ("a", "b"):
            tools = catalogs[which] = os.path.join(work, f"tools-{which}.d")
            os.makedirs(tools)
            auth = ", auth: {aws_sigv4: {service: execute-api, region: us-east-1}}" if which == "b" and a.signed else ""
            with open(os.path.join(tools, "bench.yaml"), "w") as fh:
                fh.write(f"""kind: connection
name: bench
http: {{base_url: "http://127.0.0.1:{backend_port}", allow_private_networks: true{auth}}}
---
kind: tool
name: get_item
description: One item of the benchmark backend.
input:
  type: object
  properties:
    id: {{type: string, maxLength: 64}}
  required: [id]
action:
  http: {{connection: bench, method: GET, url: "/items/{{{{ id }}}}"}}
""")
        signing_env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIDBENCHMARK0000000", "AWS_SECRET_ACCESS_KEY": "benchmark-only",
                       "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
                       "AWS_CONFIG_FILE": "/nonexistent/toolwright-bench", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/toolwright-bench"}
        body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "get_item", "arguments": {"id": "checkout-7"},
                           "_meta": {"io.modelcontextprotocol/protocolVersion": VERSION,
                                     "io.modelcontextprotocol/clientCapabilities": {},
                                     "io.modelcontextprotocol/clientInfo": {"name": "ab", "version": "1"}}}}
        body_file = os.path.join(work, "call.json")
        with open(body_file, "w") as fh:
            json.dump(body, fh)

        results = {"a": [], "b": []}
        for r in range(a.rounds):
            order = ("a", "b") if r % 2 == 0 else ("b", "a")
            for which in order:
                port = free_port()
                server = subprocess.Popen([getattr(a, which), "serve", "--http", f"127.0.0.1:{port}", "--tools", catalogs[which],
                                           "--no-watch"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=signing_env)
                children.append(server)
                wait_http(f"http://127.0.0.1:{port}/healthz", f"toolwright ({which})")
                cmd = [a.loadgen, "--url", f"http://127.0.0.1:{port}/mcp", "--method", "POST", "--body-file", body_file,
                       "-H", "Content-Type: application/json", "-H", "Accept: application/json, text/event-stream",
                       "-H", f"MCP-Protocol-Version: {VERSION}", "-H", "Mcp-Method: tools/call", "-H", "Mcp-Name: get_item",
                       "--expect", "bench-item-ok", "--reject", '"isError":true', "--pid", str(server.pid),
                       "--connections", str(a.connections), "--duration", str(a.duration), "--warmup", str(a.warmup)]
                out = subprocess.run(cmd, capture_output=True, text=True, timeout=a.duration + a.warmup + 60)
                stop(server)
                children.remove(server)
                try:
                    o = json.loads(out.stdout)
                except json.JSONDecodeError:
                    raise RuntimeError(f"the load generator failed: {out.stderr[-500:]}")
                cpu = o["processes"][str(server.pid)]["cpu_s"]
                point = {"rps": o["rps"], "cpu_us_per_call": cpu * 1e6 / o["requests"], "errors": o["errors"]}
                results[which].append(point)
                print(f"round {r + 1} {which}: {point['rps']:.0f} calls/s, {point['cpu_us_per_call']:.1f} us CPU per call, "
                      f"{point['errors']} errors", flush=True)

        def med(which, key):
            return statistics.median(p[key] for p in results[which])

        summary = {
            "connections": a.connections, "rounds": a.rounds, "duration_s": a.duration,
            "a": {"rps": med("a", "rps"), "cpu_us_per_call": med("a", "cpu_us_per_call")},
            "b": {"rps": med("b", "rps"), "cpu_us_per_call": med("b", "cpu_us_per_call")},
        }
        summary["b_over_a"] = {"rps": summary["b"]["rps"] / summary["a"]["rps"],
                               "cpu_us_per_call": summary["b"]["cpu_us_per_call"] / summary["a"]["cpu_us_per_call"]}
        print(json.dumps(summary, indent=2))
    finally:
        for p in reversed(children):
            stop(p)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
