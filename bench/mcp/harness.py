#!/usr/bin/env python3
"""The MCP benchmark of issue 7: toolwright against MCP Toolbox, FastMCP, the awslabs CloudWatch
MCP server and nginx, side by side on this machine, in one run. Usually run through bench/run.sh.

    bench/mcp/harness.py --toolwright BIN --toolbox BIN --loadgen BIN --fastmcp-python PY
                         --awslabs-server BIN --aws-python PY --ministack-script SH
                         [--lint-json FILE] [--duration 10] [--rounds 2] [--connections 1,16,64]
                         [--out bench/results/DATE.json] [--markdown BENCHMARKS.md]

What it measures (each server holds the same 1,000 generated tools, bench/gen_specs.py):
  1. tools/call throughput and latency over Streamable HTTP at 1, 16 and 64 connections, for
     2026-07-28 requests (per-request _meta and MCP-Protocol-Version/Mcp-Method/Mcp-Name headers)
     and 2025-11-25 requests, against nginx serving a static JSON file; plus the ceilings: nginx
     called directly and nginx as a reverse proxy in front of itself. Fixed duration per point,
     rounds alternating between the targets (A B C ... A B C ...), medians over the rounds.
  2. Server CPU time per call: utime + stime from /proc/PID/stat over each measured window.
  3. Start to first answer (tools/list listing every tool) and resident memory (VmRSS, VmHWM).
  4. Reload latency: toolwright, write a spec file -> notifications/tools/list_changed on a
     connected client's stream (a 2025-11-25 session's GET stream and a 2026-07-28
     subscriptions/listen stream); Toolbox, rewrite its config -> the new tool in tools/list.
  5. lint of 1,000 and 10,000 specs: read from bench/lint.sh's results (--lint-json).
  6. CloudWatch: a Logs Insights and a metrics call through toolwright and through the awslabs
     server (both over stdio) against the same MiniStack: start, per-call latency, memory.
Writes the raw samples, medians, machine, versions and commands to --out, and the table to
--markdown.

Only 127.0.0.1 is listened on or contacted. Every loop is bounded in time or count. Every child
runs in its own process group and is stopped on any exit (TERM, then KILL); children also get
SIGKILL if this process dies (PR_SET_PDEATHSIG). Standard library only.
"""

import argparse
import atexit
import ctypes
import datetime
import json
import os
import platform
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, BENCH)
import gen_specs  # noqa: E402

N_TOOLS = 1000
CALLED = 504  # the generated tool that every load point calls (3 arguments: a pattern, a bounded integer, an enum)
V_NEW = "2026-07-28"
V_OLD = "2025-11-25"
READY_BUDGET = 60.0  # s for a server to answer its first request
POLL = 0.005  # s between start-up polls
RELOAD_BUDGET = 15.0  # s for one reload to be seen
RELOAD_POLL = 0.005  # s between Toolbox polls (a tools/call of the new tool) while waiting for a reload
CLIENT_INFO = {"name": "toolwright-bench", "version": "1.0"}

# --------------------------------------------------------------------------------------------
# processes


class Children:
    """Every process this harness starts, each in its own process group, stopped on exit."""

    def __init__(self):
        self.procs = []

    @staticmethod
    def _preexec():
        os.setsid()
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the harness
        except OSError:
            pass

    def start(self, cmd, log_path, env=None, cwd=None, stdin=None, stdout=None):
        log = open(log_path, "ab")
        p = subprocess.Popen(
            cmd,
            stdin=stdin if stdin is not None else subprocess.DEVNULL,
            stdout=stdout if stdout is not None else log,
            stderr=log,
            env=env,
            cwd=cwd,
            preexec_fn=self._preexec,
        )
        p._bench_log = log  # noqa: SLF001
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, grace=5.0):
        if p.poll() is None:
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + grace
            while p.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
        # The whole group: nginx's workers, or anything a child left behind.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if p.poll() is None:
            p.kill()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:
            p._bench_log.close()  # noqa: SLF001
        except Exception:  # noqa: BLE001
            pass
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in list(reversed(self.procs)):
            self.stop(p, grace=2.0)


CHILDREN = Children()
atexit.register(CHILDREN.stop_all)


def _on_signal(signum, _frame):
    CHILDREN.stop_all()
    sys.exit(128 + signum)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_mem(pid):
    """(VmRSS, VmHWM) in KiB, or (None, None)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            text = fh.read()
    except OSError:
        return None, None
    out = {}
    for line in text.splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            k, v = line.split(":", 1)
            out[k] = int(v.split()[0])
    return out.get("VmRSS"), out.get("VmHWM")


def proc_cpu(pid):
    """utime + stime in seconds."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    f = stat[stat.rfind(")") + 2 :].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def tree_pids(pid):
    """pid and its descendants (nginx master and workers)."""
    out = [pid]
    try:
        for child in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{child}/children") as fh:
                for c in fh.read().split():
                    out.extend(tree_pids(int(c)))
    except OSError:
        pass
    return sorted(set(out))


# --------------------------------------------------------------------------------------------
# MCP over HTTP (plain urllib; the load itself comes from the Rust load generator)


def mcp_headers(version, method=None, name=None, session=None):
    h = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": version,
    }
    if version >= V_NEW and method:
        h["Mcp-Method"] = method
        if name:
            h["Mcp-Name"] = name
    if session:
        h["Mcp-Session-Id"] = session
    return h


def rpc_body(method, params=None, version=V_OLD, rid=1):
    params = dict(params or {})
    if version >= V_NEW:
        params["_meta"] = {
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": CLIENT_INFO,
        }
    body = {"jsonrpc": "2.0", "id": rid, "method": method}
    if params:
        body["params"] = params
    return body


def first_json(body, ctype):
    """The JSON-RPC message of a JSON or SSE reply."""
    if ctype.startswith("text/event-stream"):
        for line in body.decode().splitlines():
            if line.startswith("data:") and line[5:].strip():
                msg = json.loads(line[5:])
                if "result" in msg or "error" in msg:
                    return msg
        raise ValueError("no JSON-RPC reply in the event stream")
    return json.loads(body)


def http_rpc(url, method, params=None, version=V_OLD, timeout=10.0, name=None, session=None):
    body = json.dumps(rpc_body(method, params, version)).encode()
    req = urllib.request.Request(url, data=body, method="POST", headers=mcp_headers(version, method, name, session))
    with urllib.request.urlopen(req, timeout=timeout) as r:
        data = r.read()
        return first_json(data, r.headers.get("Content-Type", "")), r.headers


def tools_list(url, version):
    msg, _ = http_rpc(url, "tools/list", version=version)
    if "result" not in msg:
        raise ValueError(f"tools/list failed: {msg}")
    return [t["name"] for t in msg["result"]["tools"]]


def wait_first_answer(p, url, version, n_tools, budget=READY_BUDGET):
    """Polls tools/list until it lists n_tools tools; returns the seconds since `p` started."""
    t0 = p._bench_t0  # noqa: SLF001
    deadline = time.monotonic() + budget
    last = None
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise RuntimeError(f"server exited with {p.returncode} before answering ({last})")
        try:
            names = tools_list(url, version)
            t = time.perf_counter() - t0
            if len(names) != n_tools:
                raise RuntimeError(f"it lists {len(names)} tools, expected {n_tools}")
            return t
        except (urllib.error.URLError, ConnectionError, OSError, ValueError) as e:
            last = e
            time.sleep(POLL)
    raise RuntimeError(f"no answer within {budget:.0f} s ({last})")


# --------------------------------------------------------------------------------------------
# the servers


class Env:
    """Paths, ports and generated files shared by every part of the run."""

    def __init__(self, a, work):
        self.a = a
        self.work = work
        self.logs = os.path.join(work, "logs")
        os.makedirs(self.logs, exist_ok=True)
        self.backend_port = free_port()
        self.proxy_port = free_port()
        self.backend = f"http://127.0.0.1:{self.backend_port}"
        self.tools_dir = os.path.join(work, "tools.d")
        self.toolbox_cfg = os.path.join(work, "toolbox.yaml")
        gen_specs.main([str(N_TOOLS), self.tools_dir, "--toolbox", self.toolbox_cfg, "--port", str(self.backend_port)])
        # The same catalog with every request signed (SigV4 with static keys; nginx does not check):
        # what signing costs per call, against the unsigned default server in the same run.
        self.signed_tools_dir = os.path.join(work, "tools-signed.d")
        gen_specs.main([str(N_TOOLS), self.signed_tools_dir, "--port", str(self.backend_port), "--sign"])
        m = gen_specs.tool_model(CALLED)
        self.tool = m["name"]
        self.args = {"id": m["example_id"], "limit": m["limit"]["default"]}
        if m["filter"]:
            self.args[m["filter"]["name"]] = m["filter"]["example"]
        self.backend_path = f"/{m['noun']}/{m['example_id']}?limit={m['limit']['default']}"
        if m["filter"]:
            self.backend_path += f"&{m['filter']['name']}={m['filter']['example']}"

    def log(self, name):
        return os.path.join(self.logs, name)


def start_nginx(env):
    prefix = os.path.join(env.work, "nginx")
    os.makedirs(prefix, exist_ok=True)
    with open(os.path.join(HERE, "nginx.conf.in")) as fh:
        conf = fh.read()
    for k, v in {
        "@PREFIX@": prefix,
        "@DOCROOT@": HERE,
        "@BACKEND_PORT@": str(env.backend_port),
        "@PROXY_PORT@": str(env.proxy_port),
        "@WORKERS@": str(env.a.nginx_workers),
    }.items():
        conf = conf.replace(k, v)
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as fh:
        fh.write(conf)
    p = CHILDREN.start([env.a.nginx, "-p", prefix, "-c", path], env.log("nginx.log"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(env.backend + "/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.02)
    else:
        raise RuntimeError("nginx did not come up; see " + env.log("nginx.log"))
    with urllib.request.urlopen(env.backend + env.backend_path, timeout=2) as r:
        if b"bench-item-ok" not in r.read():
            raise RuntimeError("nginx does not serve item.json")
    with urllib.request.urlopen(f"http://127.0.0.1:{env.proxy_port}{env.backend_path}", timeout=2) as r:
        if b"bench-item-ok" not in r.read():
            raise RuntimeError("the nginx proxy does not serve item.json")
    return p


class Server:
    """One MCP server under test over Streamable HTTP."""

    def __init__(self, key, label, cmd, port, env_vars=None, cwd=None, list_version=V_NEW):
        self.key = key
        self.label = label
        self.cmd = cmd
        self.port = port
        self.url = f"http://127.0.0.1:{port}/mcp"
        self.env_vars = env_vars
        self.cwd = cwd
        self.list_version = list_version
        self.p = None

    def start(self, env, tag):
        e = dict(os.environ)
        e.update(self.env_vars or {})
        t0 = time.perf_counter()
        self.p = CHILDREN.start(self.cmd, env.log(f"{self.key}-{tag}.log"), env=e, cwd=self.cwd)
        self.p._bench_t0 = t0  # noqa: SLF001
        return self

    def ready(self):
        return wait_first_answer(self.p, self.url, self.list_version, N_TOOLS)

    def stop(self):
        if self.p:
            CHILDREN.stop(self.p)
            self.p = None


def make_servers(env, ports=None):
    a = env.a
    ports = ports or {}

    def port(k):
        return ports.get(k) or free_port()

    tw_common = ["serve", "--tools", env.tools_dir]
    tw_env = {"TOOLWRIGHT_LOG": a.toolwright_log} if a.toolwright_log else {}
    return {
        "toolwright": Server(
            "toolwright", "toolwright serve --http (default)",
            [a.toolwright, *tw_common, "--http", f"127.0.0.1:{(p := port('toolwright'))}"], p, tw_env,
        ),
        "toolwright-stateless": Server(
            "toolwright-stateless", "toolwright serve --http --stateless",
            [a.toolwright, *tw_common, "--http", f"127.0.0.1:{(p := port('toolwright-stateless'))}", "--stateless"], p, tw_env,
        ),
        "toolwright-signed": Server(
            "toolwright-signed", "toolwright serve --http, every backend request signed (SigV4)",
            [a.toolwright, "serve", "--tools", env.signed_tools_dir, "--http", f"127.0.0.1:{(p := port('toolwright-signed'))}"], p,
            tw_env | gen_specs.SIGNING_ENV,
        ),
        "toolbox": Server(
            "toolbox", "MCP Toolbox 1.12 (default)",
            [a.toolbox, "--config", env.toolbox_cfg, "--address", "127.0.0.1", "--port", str(p := port("toolbox")),
             "--disable-version-check"], p, cwd=env.work,
        ),
        "fastmcp": Server(
            "fastmcp", "FastMCP 2 (stateless_http, json_response)",
            [a.fastmcp_python, os.path.join(HERE, "fastmcp_server.py"), "--tools", str(N_TOOLS), "--port",
             str(p := port("fastmcp")), "--backend", env.backend], p, list_version=V_OLD,
        ),
    }


# --------------------------------------------------------------------------------------------
# 1-2. throughput, latency, CPU per call


class Target:
    """One load point's target: a server (or nginx) and the request style sent to it."""

    def __init__(self, key, label, url, method="GET", body=None, headers=None, pids=None, extra_pids=None,
                 session=None, style=None, server=None):
        self.key = key
        self.label = label
        self.url = url
        self.method = method
        self.body = body
        self.headers = headers or {}
        self.pids = pids or []  # the server's process(es): CPU per call, memory
        self.extra_pids = extra_pids or []  # the backend's processes, for reference
        self.session = session  # (initialize body, initialized notification body) per connection
        self.style = style
        self.server = server


def loadgen_cmd(env, t, connections, duration, warmup, check=False):
    cmd = [env.a.loadgen, "--url", t.url, "--method", t.method, "--threads", str(env.a.loadgen_threads),
           "--expect", "bench-item-ok", "--reject", '"isError":true']
    files = os.path.join(env.work, "bodies")
    os.makedirs(files, exist_ok=True)
    fname = t.key.replace("/", "_")
    if t.body is not None:
        path = os.path.join(files, f"{fname}.json")
        with open(path, "w") as fh:
            json.dump(t.body, fh)
        cmd += ["--body-file", path]
    if t.session:
        ip, np_ = os.path.join(files, f"{fname}-init.json"), os.path.join(files, f"{fname}-initialized.json")
        with open(ip, "w") as fh:
            json.dump(t.session[0], fh)
        with open(np_, "w") as fh:
            json.dump(t.session[1], fh)
        cmd += ["--init-body-file", ip, "--init-notify-file", np_]
    for k, v in t.headers.items():
        cmd += ["-H", f"{k}: {v}"]
    if check:
        return cmd + ["--check"]
    for pid in t.pids + t.extra_pids:
        cmd += ["--pid", str(pid)]
    return cmd + ["--connections", str(connections), "--duration", str(duration), "--warmup", str(warmup)]


def check_target(env, t):
    """One request; returns (ok, detail)."""
    r = subprocess.run(loadgen_cmd(env, t, 1, 0, 0, check=True), capture_output=True, text=True, timeout=30)
    if r.returncode == 0:
        return True, json.loads(r.stdout)
    detail = (r.stdout or "") + (r.stderr or "")
    return False, detail.strip()[:600]


def run_point(env, t, connections):
    cmd = loadgen_cmd(env, t, connections, env.a.duration, env.a.warmup)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=env.a.duration + env.a.warmup + 60)
    try:
        out = json.loads(r.stdout)
    except json.JSONDecodeError:
        return {"failed": True, "stderr": r.stderr[-600:], "stdout": r.stdout[-600:]}
    procs = out.get("processes", {})
    server = [procs.get(str(p), {}) for p in t.pids]
    backend = [procs.get(str(p), {}) for p in t.extra_pids]

    def total(rows, field):
        vals = [row.get(field) for row in rows if row.get(field) is not None]
        return sum(vals) if vals else None

    n = out["requests"]
    cpu = total(server, "cpu_s")
    bcpu = total(backend, "cpu_s")
    return {
        "rps": out["rps"],
        "requests": n,
        "errors": out["errors"],
        "errors_total": out["errors_total"],
        "error_samples": out["error_samples"],
        "p50_ms": out["latency_us"]["p50"] / 1000,
        "p90_ms": out["latency_us"]["p90"] / 1000,
        "p99_ms": out["latency_us"]["p99"] / 1000,
        "max_ms": out["latency_us"]["max"] / 1000,
        "cpu_us_per_call": cpu * 1e6 / n if (cpu is not None and n) else None,
        "backend_cpu_us_per_call": bcpu * 1e6 / n if (bcpu is not None and n) else None,
        "rss_kib_max": total(server, "rss_kib_max"),
        "hwm_kib": total(server, "hwm_kib_end"),
        "loadgen_cpu_s": out.get("loadgen_cpu_s"),
        "window_s": out["window_s"],
    }


def throughput(env, nginx, servers):
    """Starts every server, checks every target with one request, then runs the load points."""
    for s in servers.values():
        s.start(env, "load")
    idle = {}
    for s in servers.values():
        s.ready()
    time.sleep(2.0)
    for k, s in servers.items():
        rss, hwm = proc_mem(s.p.pid)
        idle[k] = {"rss_kib": rss, "hwm_kib": hwm}
    nginx_pids = [p for p in tree_pids(nginx.pid) if p != nginx.pid]

    def mcp_target(server_key, style, label_mode, session=False):
        s = servers[server_key]
        body = rpc_body("tools/call", {"name": env.tool, "arguments": env.args}, style, rid=7)
        headers = mcp_headers(style, "tools/call", env.tool)
        sess = None
        if session:
            sess = (
                rpc_body("initialize", {"protocolVersion": style, "capabilities": {}, "clientInfo": CLIENT_INFO}, V_OLD),
                {"jsonrpc": "2.0", "method": "notifications/initialized"},
            )
        return Target(f"{server_key}/{style}{'/session' if session else ''}", f"{s.label}: {label_mode}", s.url, "POST",
                      body, headers, pids=[s.p.pid], extra_pids=nginx_pids, session=sess, style=style, server=server_key)

    targets = [
        Target("nginx-direct", "nginx direct (GET the backend)", env.backend + env.backend_path, pids=nginx_pids, style="http"),
        Target("nginx-proxy", "nginx as reverse proxy (GET through it)", f"http://127.0.0.1:{env.proxy_port}{env.backend_path}",
               pids=nginx_pids, style="http"),
        mcp_target("toolwright", V_NEW, "2026-07-28, no session (per-request metadata)"),
        mcp_target("toolwright-stateless", V_NEW, "2026-07-28, --stateless (JSON replies)"),
        mcp_target("toolwright-signed", V_NEW, "2026-07-28, no session, every backend request signed (SigV4)"),
        mcp_target("toolbox", V_NEW, "2026-07-28"),
        mcp_target("fastmcp", V_NEW, "2026-07-28"),
        mcp_target("toolwright-stateless", V_OLD, "2025-11-25, --stateless (JSON replies, no session)"),
        mcp_target("toolwright", V_OLD, "2025-11-25, a session per connection (initialize first)", session=True),
        mcp_target("toolbox", V_OLD, "2025-11-25, no session (Toolbox needs none)"),
        mcp_target("fastmcp", V_OLD, "2025-11-25, stateless_http + json_response (no session)"),
    ]
    checks = {}
    live = []
    for t in targets:
        ok, detail = check_target(env, t)
        checks[t.key] = {"ok": ok, "detail": detail if not ok else {"status": detail["status"], "latency_us": detail["latency_us"],
                                                                      "content_type": detail["headers"].get("content-type"),
                                                                      "body_excerpt": detail["body"][:400]}}
        if ok:
            live.append(t)
        else:
            print(f"  {t.key}: not measured: {str(detail)[:200]}", file=sys.stderr)

    points = {t.key: {str(c): [] for c in env.a.connections} for t in live}
    total = len(env.a.connections) * env.a.rounds * len(live)
    done = 0
    started = time.monotonic()
    for c in env.a.connections:
        for r in range(env.a.rounds):
            order = live if r % 2 == 0 else list(reversed(live))  # A B C, C B A: no target always first
            for t in order:
                res = run_point(env, t, c)
                res["round"] = r + 1
                points[t.key][str(c)].append(res)
                done += 1
                if res.get("failed"):
                    print(f"  [{done}/{total}] {t.key} c={c}: FAILED {res.get('stderr', '')[:200]}", file=sys.stderr)
                else:
                    cpu = res["cpu_us_per_call"]
                    print(f"  [{done}/{total}] {t.key:44s} c={c:<3d} {res['rps']:9.0f}/s  p50 {res['p50_ms']:7.2f} ms  "
                          f"p99 {res['p99_ms']:7.2f} ms  cpu {cpu if cpu is None else round(cpu)} us/call  errors {res['errors']}"
                          f"  ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    for s in servers.values():
        s.stop()
    return {
        "targets": {t.key: {"label": t.label, "style": t.style, "server": t.server, "url": t.url, "method": t.method,
                            "body": t.body, "headers": t.headers, "session": bool(t.session)} for t in targets},
        "checks": checks,
        "idle_memory_before_load": idle,
        "points": points,
    }


# --------------------------------------------------------------------------------------------
# 3. start to first answer, memory


def startup(env, rounds):
    keys = ["toolwright", "toolbox", "fastmcp"]
    samples = {k: [] for k in keys}
    for r in range(rounds):
        for k in (keys if r % 2 == 0 else list(reversed(keys))):
            s = make_servers(env)[k]
            s.start(env, f"start{r + 1}")
            try:
                t = s.ready()
                time.sleep(1.0)
                rss, hwm = proc_mem(s.p.pid)
                cpu = proc_cpu(s.p.pid)
            finally:
                s.stop()
            samples[k].append({"first_answer_s": t, "idle_rss_kib": rss, "hwm_kib": hwm, "cpu_s_to_idle": cpu})
            print(f"  start {k:12s} round {r + 1}: {t:.3f} s, {rss / 1024:.1f} MiB idle", file=sys.stderr)
    return samples


# --------------------------------------------------------------------------------------------
# 4. reload


class SseReader(threading.Thread):
    """Reads a server-sent event stream and records when a message with `method` arrives."""

    def __init__(self, resp, method):
        super().__init__(daemon=True)
        self.resp = resp
        self.method = method
        self.events = []  # perf_counter times
        self.cond = threading.Condition()
        self.closed = False

    def run(self):
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    break
                if line.startswith(b"data:") and self.method.encode() in line:
                    with self.cond:
                        self.events.append(time.perf_counter())
                        self.cond.notify_all()
        except (OSError, ValueError, AttributeError):  # AttributeError: the connection was closed under us
            pass
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def wait_for(self, n, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.events) < n and not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return self.events[n - 1] if len(self.events) >= n else None


def open_stream(url, body, headers, timeout=RELOAD_BUDGET + 30):
    import http.client

    host, port = url.split("//")[1].split("/")[0].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    if body is None:
        conn.request("GET", "/mcp", headers=headers)
    else:
        conn.request("POST", "/mcp", body=json.dumps(body), headers=headers)
    resp = conn.getresponse()
    if resp.status != 200 or not resp.getheader("Content-Type", "").startswith("text/event-stream"):
        raise RuntimeError(f"stream refused: {resp.status} {resp.read()[:300]!r}")
    return conn, resp


def toolwright_session_stream(url):
    """A 2025-11-25 session with its standalone GET stream, as a legacy client keeps it."""
    init = rpc_body("initialize", {"protocolVersion": V_OLD, "capabilities": {}, "clientInfo": CLIENT_INFO}, V_OLD)
    req = urllib.request.Request(url, data=json.dumps(init).encode(), method="POST", headers=mcp_headers(V_OLD))
    with urllib.request.urlopen(req, timeout=10) as r:
        sid = r.headers["Mcp-Session-Id"]
        r.read()
    note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    req = urllib.request.Request(url, data=json.dumps(note).encode(), method="POST", headers=mcp_headers(V_OLD, session=sid))
    with urllib.request.urlopen(req, timeout=10) as r:
        r.read()
    h = {"Accept": "text/event-stream", "MCP-Protocol-Version": V_OLD, "Mcp-Session-Id": sid}
    return open_stream(url, None, h)


def toolwright_listen_stream(url):
    """A 2026-07-28 subscriptions/listen stream asking for tool list changes."""
    body = rpc_body("subscriptions/listen", {"notifications": {"toolsListChanged": True}}, V_NEW, rid=99)
    return open_stream(url, body, mcp_headers(V_NEW, "subscriptions/listen"))


def reload_spec(i):
    m = gen_specs.tool_model(1)
    m = dict(m, name=f"reload_{i:03d}", description=f"A tool added by the reload benchmark ({i}).")
    return "# written by bench/mcp/harness.py (reload benchmark)\n" + gen_specs.toolwright_tool(m)


def reload_args():
    m = gen_specs.tool_model(1)
    return {"id": m["example_id"], "limit": m["limit"]["default"]}


def reload_toolbox_doc(i):
    m = gen_specs.tool_model(1)
    m = dict(m, name=f"reload_{i:03d}", description=f"A tool added by the reload benchmark ({i}).")
    return "---\n" + gen_specs.toolbox_tool(m)


def reload_bench(env, rounds):
    work = os.path.join(env.work, "reload")
    tw_dir = os.path.join(work, "tools.d")
    shutil.copytree(env.tools_dir, tw_dir)
    tb_cfg = os.path.join(work, "toolbox.yaml")
    shutil.copy(env.toolbox_cfg, tb_cfg)
    with open(tb_cfg) as fh:
        tb_base = fh.read()
    port_tw, port_tb = free_port(), free_port()
    tw = Server("toolwright-reload", "toolwright serve --http (default, watching)",
                [env.a.toolwright, "serve", "--tools", tw_dir, "--http", f"127.0.0.1:{port_tw}"], port_tw,
                {"TOOLWRIGHT_LOG": env.a.toolwright_log} if env.a.toolwright_log else {})
    tb = Server("toolbox-reload", "MCP Toolbox 1.12 (watching its config)",
                [env.a.toolbox, "--config", tb_cfg, "--address", "127.0.0.1", "--port", str(port_tb), "--disable-version-check"],
                port_tb, cwd=work)
    out = {"toolwright_session": [], "toolwright_listen": [], "toolbox": [], "notes": []}
    tw.start(env, "reload")
    tb.start(env, "reload")
    try:
        tw.ready()
        tb.ready()
        c1, legacy = toolwright_session_stream(tw.url)
        c2, listen = toolwright_listen_stream(tw.url)
        readers = {"toolwright_session": SseReader(legacy, "notifications/tools/list_changed"),
                   "toolwright_listen": SseReader(listen, "notifications/tools/list_changed")}
        for rd in readers.values():
            rd.start()
        time.sleep(0.5)
        n_tb = N_TOOLS
        for r in range(rounds):
            # toolwright: a new spec file; both connected clients must be told.
            path = os.path.join(tw_dir, f"reload_{r:03d}.yaml")
            t0 = time.perf_counter()
            with open(path, "w") as fh:
                fh.write(reload_spec(r))
            for k, rd in readers.items():
                t = rd.wait_for(r + 1, RELOAD_BUDGET)
                out[k].append(None if t is None else t - t0)
            names = tools_list(tw.url, V_NEW)
            if f"reload_{r:03d}" not in names:
                out["notes"].append(f"round {r + 1}: toolwright did not list reload_{r:03d} after the notification")
            time.sleep(0.3)
            # Toolbox: the same tool appended to its config file. Polling tools/list (445 KB for
            # 1,000 tools, about 10 ms each) would slow Toolbox's own reload, so a cheap
            # tools/call of the new tool is polled; once it answers, one tools/list confirms it.
            tb_base += reload_toolbox_doc(r)
            name = f"reload_{r:03d}"
            t0 = time.perf_counter()
            with open(tb_cfg, "w") as fh:
                fh.write(tb_base)
            seen = None
            polls = 0
            deadline = time.monotonic() + RELOAD_BUDGET
            while time.monotonic() < deadline:
                polls += 1
                try:
                    msg, _ = http_rpc(tb.url, "tools/call", {"name": name, "arguments": reload_args()}, V_OLD, timeout=5)
                    if "result" in msg:
                        seen = time.perf_counter() - t0
                        break
                except (OSError, ValueError):
                    pass
                time.sleep(RELOAD_POLL)
            if seen is not None and name not in tools_list(tb.url, V_OLD):
                out["notes"].append(f"round {r + 1}: Toolbox answered a call of {name} but did not list it")
                seen = None
            out["toolbox"].append(seen)
            print(f"  reload round {r + 1}: toolwright session {fmt_s(out['toolwright_session'][-1])}, "
                  f"listen {fmt_s(out['toolwright_listen'][-1])}, toolbox {fmt_s(seen)} ({polls} polls)", file=sys.stderr)
            time.sleep(0.3)
        for c in (c1, c2):
            c.close()
    finally:
        tw.stop()
        tb.stop()
    return out


def fmt_s(v):
    return "-" if v is None else f"{v * 1000:.0f} ms"


# --------------------------------------------------------------------------------------------
# 6. CloudWatch over stdio


class StdioClient:
    """A minimal MCP client over stdio (newline-delimited JSON-RPC); every wait is bounded."""

    def __init__(self, cmd, env, log_path):
        self.t0 = time.perf_counter()
        self.p = CHILDREN.start(cmd, log_path, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.buf = b""
        self.next_id = 1

    def _line(self, deadline):
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer in time")
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 1 << 16)
                if not chunk:
                    raise RuntimeError(f"server closed stdout (exit {self.p.poll()})")
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def send(self, msg):
        self.p.stdin.write(json.dumps(msg).encode() + b"\n")
        self.p.stdin.flush()

    def request(self, method, params=None, timeout=60.0):
        rid = self.next_id
        self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)
        deadline = time.monotonic() + timeout
        while True:
            line = self._line(deadline)
            if not line.strip():
                continue
            try:
                reply = json.loads(line)
            except json.JSONDecodeError:
                continue
            if reply.get("id") == rid and ("result" in reply or "error" in reply):
                return reply

    def initialize(self):
        r = self.request("initialize", {"protocolVersion": V_OLD, "capabilities": {}, "clientInfo": CLIENT_INFO}, timeout=READY_BUDGET)
        self.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return r

    def close(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        CHILDREN.stop(self.p, grace=3.0)


CW_SPEC = """\
kind: connection
name: bench-aws
aws: {{region: us-east-1, endpoint_url: "{endpoint}"}}
---
kind: tool
name: bench_recent_errors
description: ERROR lines of one service in the last hour (CloudWatch Logs Insights).
input:
  type: object
  properties:
    service: {{type: string, enum: [checkout, payments]}}
  required: [service]
action:
  logs_insights:
    connection: bench-aws
    log_groups: ["/bench/{{{{ service }}}}"]
    query: |
      fields @timestamp, @message
      | filter @message like /ERROR/
      | sort @timestamp desc
      | limit 20
    since: 1h
    limit: 20
---
kind: tool
name: bench_latency
description: Average latency of one service over the last hour, per minute (CloudWatch metrics).
input:
  type: object
  properties:
    service: {{type: string, enum: [checkout, payments]}}
  required: [service]
action:
  metrics:
    connection: bench-aws
    queries:
      - {{id: lat, namespace: Bench/App, metric: Latency, dimensions: {{Service: "{{{{ service }}}}"}}, stat: Average}}
    period: 60s
    since: 1h
"""


def cloudwatch(env, rounds, calls):
    a = env.a
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    ms = CHILDREN.start(["bash", a.ministack_script, "run", str(port)], env.log("ministack.log"))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(endpoint + "/_ministack/health", timeout=1):
                break
        except OSError:
            if ms.poll() is not None:
                raise RuntimeError("MiniStack exited; see " + env.log("ministack.log"))
            time.sleep(0.1)
    else:
        raise RuntimeError("MiniStack did not come up")
    aws_env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test",
                   AWS_REGION="us-east-1", AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    aws_env.pop("AWS_PROFILE", None)
    seed = subprocess.run([a.aws_python, os.path.join(HERE, "seed_ministack.py")], env=aws_env, capture_output=True,
                          text=True, timeout=120)
    if seed.returncode != 0:
        raise RuntimeError(f"seeding MiniStack failed: {seed.stderr[-800:]}")
    seeded = json.loads(seed.stdout)

    # toolwright twice: with only the two CloudWatch tools (the same job as the awslabs server),
    # and with the 1,000 generated HTTP tools beside them.
    tw_dir = os.path.join(env.work, "cw-tools.d")
    shutil.copytree(env.tools_dir, tw_dir)
    with open(os.path.join(tw_dir, "cloudwatch.yaml"), "w") as fh:
        fh.write(CW_SPEC.format(endpoint=endpoint))
    tw_small = os.path.join(env.work, "cw-only-tools.d")
    os.makedirs(tw_small, exist_ok=True)
    with open(os.path.join(tw_small, "cloudwatch.yaml"), "w") as fh:
        fh.write(CW_SPEC.format(endpoint=endpoint))

    now = datetime.datetime.now(datetime.timezone.utc)
    start = (now - datetime.timedelta(hours=1)).isoformat(timespec="seconds")
    end = (now + datetime.timedelta(minutes=5)).isoformat(timespec="seconds")
    query = "fields @timestamp, @message | filter @message like /ERROR/ | sort @timestamp desc | limit 20"
    servers = {
        "toolwright": {
            "cmd": [a.toolwright, "serve", "--tools", tw_small, "--no-watch"],
            "logs": ("bench_recent_errors", {"service": "checkout"}),
            "metrics": ("bench_latency", {"service": "checkout"}),
        },
        "toolwright-1000": {
            "cmd": [a.toolwright, "serve", "--tools", tw_dir, "--no-watch"],
            "logs": ("bench_recent_errors", {"service": "checkout"}),
            "metrics": ("bench_latency", {"service": "checkout"}),
        },
        "awslabs": {
            "cmd": [a.awslabs_server],
            "logs": ("execute_log_insights_query", {"log_group_names": ["/bench/checkout"], "query_string": query,
                                                    "start_time": start, "end_time": end, "limit": 20}),
            "metrics": ("get_metric_data", {"namespace": "Bench/App", "metric_name": "Latency",
                                            "dimensions": [{"name": "Service", "value": "checkout"}],
                                            "statistic": "Average", "start_time": start, "end_time": end}),
        },
    }
    out = {k: [] for k in servers}
    checks = {}
    for r in range(rounds):
        for k in (list(servers) if r % 2 == 0 else list(reversed(list(servers)))):
            s = servers[k]
            e = dict(aws_env)
            if a.toolwright_log:
                e["TOOLWRIGHT_LOG"] = a.toolwright_log
            c = StdioClient(s["cmd"], e, env.log(f"cw-{k}-{r + 1}.log"))
            try:
                init = c.initialize()
                t_init = time.perf_counter() - c.t0
                lst = c.request("tools/list")
                t_list = time.perf_counter() - c.t0
                n_tools = len(lst.get("result", {}).get("tools", []))
                rss_idle, _ = proc_mem(c.p.pid)
                lat = {"logs": [], "metrics": []}
                for i in range(calls):
                    for kind in ("logs", "metrics"):
                        name, args = s[kind]
                        t0 = time.perf_counter()
                        reply = c.request("tools/call", {"name": name, "arguments": args}, timeout=60)
                        dt = time.perf_counter() - t0
                        res = reply.get("result", {})
                        ok = "result" in reply and not res.get("isError")
                        text = json.dumps(res)
                        if kind == "logs":
                            ok = ok and "ERROR" in text
                        else:
                            ok = ok and seeded["metric_marker"] in text
                        if not ok:
                            checks.setdefault(f"{k}/{kind}", json.dumps(reply)[:600])
                        lat[kind].append({"s": dt, "ok": ok})
                        if i == 0 and r == 0:
                            checks.setdefault(f"{k}/{kind}/first", text[:400])
                rss_end, hwm = proc_mem(c.p.pid)
            finally:
                c.close()
            out[k].append({"initialize_s": t_init, "tools_list_s": t_list, "tools": n_tools,
                           "server_info": init.get("result", {}).get("serverInfo"),
                           "idle_rss_kib": rss_idle, "rss_kib_end": rss_end, "hwm_kib": hwm, "calls": lat})
            med = {kind: statistics.median(x["s"] for x in v) for kind, v in lat.items()}
            print(f"  cloudwatch {k:10s} round {r + 1}: start {t_list:.3f} s, {rss_end / 1024:.1f} MiB, "
                  f"logs {med['logs'] * 1000:.1f} ms, metrics {med['metrics'] * 1000:.1f} ms, "
                  f"failures {sum(not x['ok'] for v in lat.values() for x in v)}", file=sys.stderr)
    CHILDREN.stop(ms)
    return {"runs": out, "checks": checks, "endpoint": "MiniStack on 127.0.0.1", "seeded": seeded,
            "calls_per_round": calls,
            "requests": {k: {"logs": s["logs"], "metrics": s["metrics"]} for k, s in servers.items()}}


# --------------------------------------------------------------------------------------------
# summary, markdown


def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def summarize(res, env):
    s = {}
    tp = res.get("throughput")
    if tp:
        s["points"] = {}
        for key, by_c in tp["points"].items():
            s["points"][key] = {}
            for c, rows in by_c.items():
                rows = [r for r in rows if not r.get("failed")]
                s["points"][key][c] = {
                    f: med(r[f] for r in rows)
                    for f in ("rps", "p50_ms", "p99_ms", "cpu_us_per_call", "backend_cpu_us_per_call", "rss_kib_max")
                } | {"errors": sum(r["errors"] for r in rows), "rounds": len(rows)}
    st = res.get("startup")
    if st:
        s["startup"] = {k: {"first_answer_s": med(x["first_answer_s"] for x in v), "idle_rss_kib": med(x["idle_rss_kib"] for x in v),
                            "hwm_kib": med(x["hwm_kib"] for x in v)} for k, v in st.items()}
    rl = res.get("reload")
    if rl:
        s["reload"] = {k: {"median_s": med(v), "delivered": sum(x is not None for x in v), "rounds": len(v)}
                       for k, v in rl.items() if k != "notes"}
    cw = res.get("cloudwatch")
    if cw:
        s["cloudwatch"] = {}
        for k, runs in cw["runs"].items():
            s["cloudwatch"][k] = {
                "start_s": med(r["tools_list_s"] for r in runs),
                "initialize_s": med(r["initialize_s"] for r in runs),
                "rss_kib": med(r["rss_kib_end"] for r in runs),
                "hwm_kib": med(r["hwm_kib"] for r in runs),
                "logs_ms": med(x["s"] * 1000 for r in runs for x in r["calls"]["logs"]),
                "metrics_ms": med(x["s"] * 1000 for r in runs for x in r["calls"]["metrics"]),
                "failures": sum(not x["ok"] for r in runs for v in r["calls"].values() for x in v),
                "tools": runs[0]["tools"] if runs else None,
            }
    lint = res.get("lint")
    if lint:
        s["lint"] = lint
    return s


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def goals(s, conns):
    """Each goal of issue 7, judged on this run's medians."""
    g = []
    P = s.get("points", {})

    def pt(key, c, f):
        return P.get(key, {}).get(str(c), {}).get(f)

    pairs = [("toolwright/2026-07-28", "toolbox/2026-07-28", "2026-07-28, toolwright default"),
             ("toolwright-stateless/2026-07-28", "toolbox/2026-07-28", "2026-07-28, toolwright --stateless"),
             ("toolwright-stateless/2025-11-25", "toolbox/2025-11-25", "2025-11-25, toolwright --stateless")]
    high = [c for c in conns if c in (16, 64)]
    for tw, tb, what in pairs:
        for c in high:
            r = ratio(pt(tw, c, "rps"), pt(tb, c, "rps"))
            g.append(("calls/s >= 3x MCP Toolbox", f"{what}, {c} connections", r, r is not None and r >= 3.0, f"{fmtx(r)}"))
    for tw, _, what in pairs:
        for c in high:
            r = ratio(pt(tw, c, "rps"), pt("nginx-proxy", c, "rps"))
            g.append(("calls/s >= 40% of nginx as reverse proxy", f"{what}, {c} connections", r, r is not None and r >= 0.40,
                      fmtp(r)))
    for tw, tb, what in pairs:
        for c in high:
            r = ratio(pt(tw, c, "p99_ms"), pt(tb, c, "p99_ms"))
            g.append(("p99 <= 0.5x MCP Toolbox", f"{what}, {c} connections", r, r is not None and r <= 0.5, fmtx(r)))
    for c in high:
        r = ratio(pt("toolwright-signed/2026-07-28", c, "cpu_us_per_call"), pt("toolwright/2026-07-28", c, "cpu_us_per_call"))
        g.append(("signed call CPU <= 1.15x the same unsigned call (issue 16)", f"2026-07-28, {c} connections", r,
                  r is not None and r <= 1.15, fmtx(r)))
    st = s.get("startup", {})
    r = ratio(st.get("toolwright", {}).get("first_answer_s"), st.get("toolbox", {}).get("first_answer_s"))
    g.append(("start with 1,000 tools <= 0.1x MCP Toolbox", "start to first tools/list", r, r is not None and r <= 0.1, fmtx(r)))
    r = ratio(st.get("toolwright", {}).get("idle_rss_kib"), st.get("toolbox", {}).get("idle_rss_kib"))
    g.append(("resident memory <= 0.2x MCP Toolbox", "idle after start", r, r is not None and r <= 0.2, fmtx(r)))
    c_max = max(high) if high else None
    if c_max:
        r = ratio(pt("toolwright/2026-07-28", c_max, "rss_kib_max"), pt("toolbox/2026-07-28", c_max, "rss_kib_max"))
        g.append(("resident memory <= 0.2x MCP Toolbox", f"under load ({c_max} connections, 2026-07-28)", r,
                  r is not None and r <= 0.2, fmtx(r)))
    rl = s.get("reload", {})
    tb = rl.get("toolbox", {}).get("median_s")
    for k, what in (("toolwright_session", "2025-11-25 session GET stream"), ("toolwright_listen", "2026-07-28 subscriptions/listen")):
        x = rl.get(k, {})
        r = ratio(x.get("median_s"), tb)
        delivered = x.get("delivered") == x.get("rounds") and x.get("rounds")
        g.append(("reload <= 0.5x MCP Toolbox, notification delivered", what, r, bool(r is not None and r <= 0.5 and delivered),
                  f"{fmtx(r)}, delivered {x.get('delivered')}/{x.get('rounds')}"))
    lint = s.get("lint")
    if lint:
        r = lint.get("ratio_small_to_toolbox")
        g.append(("lint of 1,000 specs <= 0.1x Toolbox's load of the same tools", "lint.sh", r, r is not None and r <= 0.1, fmtx(r)))
        r = lint.get("ratio_large_to_small")
        g.append(("lint of 10,000 specs <= 12x the 1,000 figure", "lint.sh", r, r is not None and r <= 12, fmtx(r)))
    cw = s.get("cloudwatch", {})
    tw, aw = cw.get("toolwright", {}), cw.get("awslabs", {})
    r = ratio(aw.get("start_s"), tw.get("start_s"))
    g.append(("CloudWatch: start >= 20x faster than awslabs", "spawn to first tools/list (stdio)", r, r is not None and r >= 20,
              f"{fmtx(r)} faster"))
    r = ratio(aw.get("rss_kib"), tw.get("rss_kib"))
    g.append(("CloudWatch: memory >= 10x smaller than awslabs", "VmRSS after the calls", r, r is not None and r >= 10,
              f"{fmtx(r)} smaller"))
    t1k = cw.get("toolwright-1000", {})
    r = ratio(aw.get("start_s"), t1k.get("start_s"))
    g.append(("CloudWatch: start >= 20x faster than awslabs", "the same, toolwright with 1,000 more tools", r,
              r is not None and r >= 20, f"{fmtx(r)} faster"))
    r = ratio(aw.get("rss_kib"), t1k.get("rss_kib"))
    g.append(("CloudWatch: memory >= 10x smaller than awslabs", "the same, toolwright with 1,000 more tools", r,
              r is not None and r >= 10, f"{fmtx(r)} smaller"))
    for kind in ("logs", "metrics"):
        r = ratio(tw.get(f"{kind}_ms"), aw.get(f"{kind}_ms"))
        g.append(("CloudWatch: per-call latency no worse than awslabs", f"{'Logs Insights' if kind == 'logs' else 'metrics'} call", r,
                  r is not None and r <= 1.0, fmtx(r)))
    return [{"goal": a, "where": b, "ratio": c, "met": d, "shown": e} for a, b, c, d, e in g]


def fmtx(r):
    return "n/a" if r is None else f"{r:.2f}x"


def fmtp(r):
    return "n/a" if r is None else f"{r * 100:.0f}%"


def fnum(v, nd=0):
    if v is None:
        return "n/a"
    return f"{v:,.{nd}f}"


def mib(kib):
    return "n/a" if kib is None else f"{kib / 1024:.1f}"


def markdown(res, s, g):
    a = res["args"]
    m = res["machine"]
    L = []
    L.append("# Benchmarks")
    L.append("")
    L.append(f"Measured by `bench/run.sh` on {res['date_utc']} (UTC); raw samples, medians, versions and commands: "
             f"`{res['result_file']}`. Every figure below comes from that one run; ratios compare medians of the same run. "
             "Regenerate this file by running `bench/run.sh` again (it is not part of CI).")
    L.append("")
    L.append("## The machine")
    L.append("")
    L.append(f"- {m['cpu_model']}, {m['cpus']} logical CPUs, {m['mem_gib']:.0f} GiB memory, {m['kernel']}; a shared machine "
             f"(load average at the start: {m['loadavg_start']}, at the end: {res.get('loadavg_end')}).")
    v = res["versions"]
    L.append(f"- toolwright {v.get('toolwright')}; MCP Toolbox {v.get('toolbox')}; FastMCP {v.get('fastmcp')} "
             f"(mcp {v.get('fastmcp_mcp')}); awslabs.cloudwatch-mcp-server {v.get('awslabs')}; nginx {v.get('nginx')}; "
             f"MiniStack {v.get('ministack')}; Python {v.get('python')}.")
    L.append(f"- Load generator: `bench/mcp/loadgen` (Rust, hyper 1, {a['loadgen_threads']} tokio worker thread(s)), closed loop, "
             f"kept-alive connections, every response read to its end and checked (status 200, the backend's marker present, "
             f"no `\"isError\":true`). {a['duration']} s measured per point after {a['warmup']} s of warm-up, "
             f"{a['rounds']} rounds per point, targets alternated (A B C … then … C B A). Figures are medians over the rounds.")
    L.append(f"- Every server holds the same {N_TOOLS:,} generated tools (`bench/gen_specs.py`); the tool called is "
             f"`{res['called_tool']}` with arguments `{json.dumps(res['called_args'])}`, which makes "
             f"`GET {res['backend_path']}` to nginx serving a static {res['item_bytes']}-byte JSON file "
             f"(nginx {a['nginx_workers']} worker process(es), shared by the backend and the proxy).")
    L.append("- Every server runs with its default logging, stderr to a file: toolwright writes one audit line per call, "
             "Toolbox one access-log line per request. All processes (servers, nginx, load generator) share the 2 cores.")
    L.append("")

    P = s.get("points", {})
    conns = a["connections"]
    L.append("## 1–2. tools/call over Streamable HTTP: throughput, latency, server CPU per call")
    L.append("")
    L.append("CPU per call is the server process's utime + stime over the measured window divided by the calls completed in it "
             "(for the nginx rows: nginx's own processes per request). The backend's CPU is not included in the MCP rows.")
    L.append("")
    hdr = "| target | mode | " + " | ".join(f"{c} conn: calls/s | p50 ms | p99 ms | CPU µs/call" for c in conns) + " |"
    L.append(hdr)
    L.append("|" + "---|" * (2 + 4 * len(conns)))
    tg = res.get("throughput", {}).get("targets", {})
    for key, info in tg.items():
        if key not in P:
            continue
        name, mode = info["label"].split(": ", 1) if ": " in info["label"] else (info["label"], "HTTP GET")
        cells = []
        for c in conns:
            x = P[key].get(str(c), {})
            cells += [fnum(x.get("rps")), fnum(x.get("p50_ms"), 2), fnum(x.get("p99_ms"), 2), fnum(x.get("cpu_us_per_call"))]
        L.append(f"| {name} | {mode} | " + " | ".join(cells) + " |")
    not_measured = [(k, c) for k, c in res.get("throughput", {}).get("checks", {}).items() if not c["ok"]]
    if not_measured:
        L.append("")
        for k, c in not_measured:
            L.append(f"- Not measured: {tg[k]['label']}: the check request failed: `{str(c['detail'])[:220]}`")
    L.append("")
    L.append("Ratios at the same connection count (toolwright / peer; for latency and CPU lower is better):")
    L.append("")
    L.append("| toolwright row | against | " + " | ".join(f"{c} conn: calls/s | p99 | CPU/call" for c in conns) + " |")
    L.append("|" + "---|" * (2 + 3 * len(conns)))
    comps = [("toolwright/2026-07-28", "toolbox/2026-07-28"), ("toolwright-stateless/2026-07-28", "toolbox/2026-07-28"),
             ("toolwright-stateless/2025-11-25", "toolbox/2025-11-25"), ("toolwright/2025-11-25/session", "toolbox/2025-11-25"),
             ("toolwright-stateless/2025-11-25", "fastmcp/2025-11-25"), ("toolwright/2026-07-28", "nginx-proxy"),
             ("toolwright-stateless/2026-07-28", "nginx-proxy"), ("toolwright-stateless/2025-11-25", "nginx-proxy")]
    for tw, peer in comps:
        if tw not in P or peer not in P:
            continue
        cells = []
        for c in conns:
            x, y = P[tw].get(str(c), {}), P[peer].get(str(c), {})
            cells += [fmtx(ratio(x.get("rps"), y.get("rps"))), fmtx(ratio(x.get("p99_ms"), y.get("p99_ms"))),
                      fmtx(ratio(x.get("cpu_us_per_call"), y.get("cpu_us_per_call")))]
        L.append(f"| {tw} | {peer} | " + " | ".join(cells) + " |")
    L.append("")

    L.append("## 3. Start to first answer and resident memory (1,000 tools)")
    L.append("")
    L.append("Start: from spawning the process to the first answered `tools/list` that lists all 1,000 tools (polled every "
             f"{POLL * 1000:.0f} ms over HTTP), median of {a['start_rounds']} alternating rounds. Idle: VmRSS 1 s after that answer. "
             f"Under load: the largest VmRSS sampled while serving {max(conns)} connections (2026-07-28 requests; FastMCP 2025-11-25).")
    L.append("")
    L.append("| server | start s | idle RSS MiB | RSS under load MiB | peak (VmHWM) MiB |")
    L.append("|---|---|---|---|---|")
    st = s.get("startup", {})
    load_key = {"toolwright": "toolwright/2026-07-28", "toolbox": "toolbox/2026-07-28", "fastmcp": "fastmcp/2025-11-25"}
    for k in ("toolwright", "toolbox", "fastmcp"):
        x = st.get(k, {})
        under = P.get(load_key[k], {}).get(str(max(conns)), {}).get("rss_kib_max")
        hwm = max([r.get("hwm_kib") or 0 for r in res.get("throughput", {}).get("points", {}).get(load_key[k], {}).get(str(max(conns)), [])] or [0]) or None
        L.append(f"| {k} | {fnum(x.get('first_answer_s'), 3)} | {mib(x.get('idle_rss_kib'))} | {mib(under)} | {mib(hwm)} |")
    L.append("")

    L.append("## 4. Reload latency (1,000 tools loaded)")
    L.append("")
    L.append("toolwright (`serve --http`, watching its directory): from writing a new spec file to "
             "`notifications/tools/list_changed` arriving on a connected client's stream (two clients at once: a 2025-11-25 "
             "session's GET stream and a 2026-07-28 `subscriptions/listen` stream). MCP Toolbox (watching its config file, "
             "which it does not announce: `listChanged: false`): from rewriting its config with one more tool to that tool "
             f"being served (a `tools/call` of it polled every {RELOAD_POLL * 1000:.0f} ms: polling the 445 KB `tools/list` "
             "would slow Toolbox's own reload), then confirmed in `tools/list`. "
             f"Median of {a['reload_rounds']} rounds, toolwright and Toolbox alternating.")
    L.append("")
    L.append("| server | how it is seen | median ms | delivered |")
    L.append("|---|---|---|---|")
    rl = s.get("reload", {})
    for k, what in (("toolwright_session", "notification on the session's GET stream"),
                    ("toolwright_listen", "notification on subscriptions/listen"), ("toolbox", "new tool served (then listed in tools/list)")):
        x = rl.get(k, {})
        name = "toolwright" if k.startswith("toolwright") else "MCP Toolbox"
        L.append(f"| {name} | {what} | {fnum(x['median_s'] * 1000 if x.get('median_s') is not None else None, 1)} | "
                 f"{x.get('delivered')}/{x.get('rounds')} |")
    L.append("")

    L.append("## 5. lint")
    L.append("")
    lint = s.get("lint")
    if lint:
        L.append(f"From `bench/lint.sh` in the same run (`{lint['file']}`, {lint.get('rounds')} rounds, medians): "
                 "wall time of the whole `toolwright lint` process, and MCP Toolbox's time from start to its first answered "
                 "`tools/list` with the same 1,000 tools.")
        L.append("")
        L.append("| what | seconds | peak RSS MiB |")
        L.append("|---|---|---|")
        for label, key in (("toolwright lint, 1,000 specs", "lint_small"), ("toolwright lint, 10,000 specs", "lint_large"),
                           ("MCP Toolbox load of the same 1,000 tools", "toolbox_small")):
            x = lint.get(key, {})
            L.append(f"| {label} | {fnum(x.get('wall_s'), 3)} | {mib(x.get('rss_kib'))} |")
    else:
        L.append("Not measured in this run (no lint results given).")
    L.append("")

    L.append("## 6. CloudWatch: a Logs Insights call and a metrics call, over stdio, against the same MiniStack")
    L.append("")
    cw = res.get("cloudwatch")
    if cw:
        L.append(f"Both servers are spawned by the benchmark's own stdio client. Start: spawn to the first answered `tools/list`. "
                 f"Latency: median of {cw['calls_per_round']} calls of each kind per round, {a['cw_rounds']} alternating rounds, "
                 "measured at the client. Memory: VmRSS after the calls. toolwright runs twice: with only the two CloudWatch tools "
                 "(the same job as the awslabs server; the goals are judged on this row) and with the 1,000 generated HTTP "
                 "tools beside them; the awslabs server holds its own tools.")
        L.append("")
        L.append("| server | tools | start s | RSS MiB | Logs Insights call ms | metrics call ms | failed calls |")
        L.append("|---|---|---|---|---|---|---|")
        for k, name in (("toolwright", "toolwright serve (stdio), the 2 CloudWatch tools"),
                        ("toolwright-1000", "toolwright serve (stdio), the 2 CloudWatch tools + 1,000 HTTP tools"),
                        ("awslabs", "awslabs.cloudwatch-mcp-server (stdio)")):
            x = s["cloudwatch"].get(k, {})
            L.append(f"| {name} | {x.get('tools')} | {fnum(x.get('start_s'), 3)} | {mib(x.get('rss_kib'))} | "
                     f"{fnum(x.get('logs_ms'), 1)} | {fnum(x.get('metrics_ms'), 1)} | {x.get('failures')} |")
    else:
        L.append("Not measured in this run.")
    L.append("")

    L.append("## Goals of issue 7, judged on this run")
    L.append("")
    L.append("| goal | where | this run | met |")
    L.append("|---|---|---|---|")
    for x in g:
        L.append(f"| {x['goal']} | {x['where']} | {x['shown']} | {'yes' if x['met'] else '**no**'} |")
    L.append("")

    L.append("## The commands")
    L.append("")
    L.append("```sh")
    L.append("bench/run.sh            # everything: installs, builds, lint.sh, then bench/mcp/harness.py")
    L.append("bench/run.sh --quick    # a short smoke of the same steps (not a measurement)")
    L.append("```")
    L.append("")
    L.append("What the run started (ports vary per run):")
    L.append("")
    L.append("```sh")
    for c in res.get("commands", []):
        L.append(c)
    L.append("```")
    L.append("")
    L.append("A load point, for example (the request bodies are in the JSON results):")
    L.append("")
    L.append("```sh")
    L.append(res.get("example_loadgen", ""))
    L.append("```")
    L.append("")
    return "\n".join(L) + "\n"


# --------------------------------------------------------------------------------------------


def cmd_out(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        return (r.stdout or r.stderr).strip()
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unknown ({e})"


def pip_version(python, pkg):
    out = cmd_out([python, "-c", f"import importlib.metadata as m; print(m.version({pkg!r}))"])
    return out.splitlines()[-1] if out else None


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) / 1024 / 1024
    return {"cpu_model": model, "cpus": os.cpu_count(), "mem_gib": mem, "kernel": f"{platform.system()} {platform.release()}",
            "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()), "python": platform.python_version()}


def read_lint(path):
    """The three lint figures from lint_bench.py's JSON (bench/lint.sh ran it in this same run)."""
    if not path or not os.path.exists(path):
        return None
    with open(path) as fh:
        d = json.load(fh)
    samples, rss, cpu = d.get("samples_s", {}), d.get("peak_rss_kib", {}), d.get("cpu_s", {})

    def fig(key):
        return {"wall_s": med(samples.get(key, [])), "rss_kib": med(rss.get(key, [])), "cpu_s": med(cpu.get(key, [])),
                "samples_s": samples.get(key, [])}

    out = {
        "file": os.path.relpath(path, ROOT),
        "rounds": d.get("method", {}).get("rounds"),
        "started_utc": d.get("started_utc"),
        "toolwright_version": d.get("versions", {}).get("toolwright"),
        "lint_small": fig("toolwright_lint_small"),
        "lint_large": fig("toolwright_lint_large"),
        "toolbox_small": fig("toolbox_first_answer_small"),
        "catalogs": d.get("catalogs"),
        "other_cpu_use_during_rounds": d.get("other_cpu_use_during_rounds"),
    }
    out["ratio_small_to_toolbox"] = ratio(out["lint_small"]["wall_s"], out["toolbox_small"]["wall_s"])
    out["ratio_large_to_small"] = ratio(out["lint_large"]["wall_s"], out["lint_small"]["wall_s"])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--toolwright", required=True)
    ap.add_argument("--toolwright-source", default="")
    ap.add_argument("--toolbox", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--fastmcp-python", required=True)
    ap.add_argument("--awslabs-server", required=True, help="the awslabs.cloudwatch-mcp-server executable")
    ap.add_argument("--aws-python", required=True, help="a Python with boto3 (seeds MiniStack)")
    ap.add_argument("--ministack-script", default=os.path.join(ROOT, "scripts", "ministack.sh"))
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--nginx-workers", default="2")
    ap.add_argument("--lint-json", default=None)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--connections", default="1,16,64")
    ap.add_argument("--loadgen-threads", type=int, default=1)
    ap.add_argument("--start-rounds", type=int, default=3)
    ap.add_argument("--reload-rounds", type=int, default=5)
    ap.add_argument("--cw-rounds", type=int, default=2)
    ap.add_argument("--cw-calls", type=int, default=10)
    ap.add_argument("--toolwright-log", default="",
                    help="TOOLWRIGHT_LOG for the toolwright servers (default: unset, toolwright's own default, which writes "
                         "one audit line per call, as Toolbox writes one access-log line per request)")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: throughput,startup,reload,cloudwatch")
    ap.add_argument("--out", default=None)
    ap.add_argument("--markdown", default=None)
    a = ap.parse_args(argv)
    a.connections = [int(c) for c in a.connections.split(",") if c]
    for k in ("toolwright", "toolbox", "loadgen", "fastmcp_python", "awslabs_server", "aws_python", "ministack_script", "nginx"):
        setattr(a, k, os.path.abspath(getattr(a, k)))
    skip = set(filter(None, a.skip.split(",")))
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)

    now = datetime.datetime.now(datetime.timezone.utc)
    date = now.strftime("%Y-%m-%d")
    out_path = a.out or os.path.join(BENCH, "results", f"{date}.json")
    work = os.path.join(BENCH, "results", "tmp", f"mcp-{now.strftime('%Y%m%dT%H%M%S')}")
    os.makedirs(work, exist_ok=True)
    env = Env(a, work)
    with open(os.path.join(HERE, "item.json"), "rb") as fh:
        item_bytes = len(fh.read())

    res = {
        "date_utc": now.isoformat(timespec="seconds"),
        "result_file": os.path.relpath(out_path, ROOT),
        "machine": machine(),
        "args": {k: getattr(a, k) for k in ("duration", "warmup", "rounds", "connections", "loadgen_threads", "start_rounds",
                                            "reload_rounds", "cw_rounds", "cw_calls", "nginx_workers", "toolwright_log")},
        "called_tool": env.tool,
        "called_args": env.args,
        "backend_path": env.backend_path,
        "item_bytes": item_bytes,
        "versions": {
            "toolwright": cmd_out([a.toolwright, "--version"]) + (f" ({a.toolwright_source})" if a.toolwright_source else ""),
            "toolbox": cmd_out([a.toolbox, "--version"]),
            "fastmcp": pip_version(a.fastmcp_python, "fastmcp"),
            "fastmcp_mcp": pip_version(a.fastmcp_python, "mcp"),
            "awslabs": pip_version(os.path.join(os.path.dirname(a.awslabs_server), "python"), "awslabs.cloudwatch-mcp-server"),
            "ministack": pip_version(os.path.join(ROOT, ".venv-ministack", "bin", "python"), "ministack"),
            "nginx": cmd_out([a.nginx, "-v"]).replace("nginx version: ", ""),
            "python": platform.python_version(),
        },
    }
    servers = make_servers(env)
    res["commands"] = [
        f"nginx -p {env.work}/nginx -c {env.work}/nginx/nginx.conf   # from bench/mcp/nginx.conf.in",
        *[" ".join(s.cmd).replace(ROOT + "/", "") for s in servers.values()],
        f"bash scripts/ministack.sh run PORT; {a.aws_python} bench/mcp/seed_ministack.py",
        f"{a.toolwright} serve --tools TOOLS_WITH_CLOUDWATCH --no-watch   # stdio",
        f"{a.awslabs_server}   # stdio, AWS_ENDPOINT_URL=http://127.0.0.1:PORT",
    ]
    res["commands"] = [c.replace(ROOT + "/", "") for c in res["commands"]]

    nginx = start_nginx(env)
    try:
        if "startup" not in skip:
            print("start to first answer, memory ...", file=sys.stderr)
            res["startup"] = startup(env, a.start_rounds)
        if "throughput" not in skip:
            print("tools/call load points ...", file=sys.stderr)
            res["throughput"] = throughput(env, nginx, servers)
            t = next((Target(k, v["label"], v["url"], v["method"], v["body"], v["headers"])
                      for k, v in res["throughput"]["targets"].items() if k == "toolwright/2026-07-28"), None)
            if t:
                res["example_loadgen"] = " ".join(
                    (f"'{x}'" if (" " in x or '"' in x) else x) for x in loadgen_cmd(env, t, 16, a.duration, a.warmup)
                ).replace(ROOT + "/", "")
        if "reload" not in skip:
            print("reload latency ...", file=sys.stderr)
            res["reload"] = reload_bench(env, a.reload_rounds)
    finally:
        CHILDREN.stop(nginx)
    if "cloudwatch" not in skip:
        print("CloudWatch (MiniStack) ...", file=sys.stderr)
        res["cloudwatch"] = cloudwatch(env, a.cw_rounds, a.cw_calls)
    res["lint"] = read_lint(a.lint_json)
    res["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    s = summarize(res, env)
    g = goals(s, a.connections)
    res["summary"] = s
    res["goals"] = g
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w") as fh:
        json.dump(res, fh, indent=1)
        fh.write("\n")
    print(f"wrote {out_path}", file=sys.stderr)
    if a.markdown:
        with open(a.markdown, "w") as fh:
            fh.write(markdown(res, s, g))
        print(f"wrote {a.markdown}", file=sys.stderr)
    for x in g:
        print(f"  [{'met' if x['met'] else 'NOT met'}] {x['goal']} ({x['where']}): {x['shown']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
