#!/usr/bin/env python3
"""The 1,000-watches benchmark of issue 17: what N concurrent watches, each checking a local backend
every second, cost toolwright in CPU and memory. Usually run through bench/run.sh (after the MCP harness).

    bench/watches.py --toolwright BIN [--nginx BIN] [--watches 1000] [--rounds 3] [--window 30]
                     [--settle 5] [--spread 1] [--polls 200] [--perf SECONDS]
                     [--out FILE] [--markdown BENCHMARKS.md]

Each round, in order, with a fresh nginx and server (every step bounded in time):
  1. nginx (started as bench/mcp/harness.py starts it: its own prefix, 127.0.0.1, 1 worker) serves
     the static JSON `{"error_rate": 0.4}` at /rate/<w> and writes one access-log line per request
     of it (`$msec $request_uri $status`): the backend's own count of the checks, with their times.
  2. `toolwright serve --http 127.0.0.1:PORT --stateless --max-tasks 2N` on a generated catalog of
     one watch tool: `task: {after: 0s}`, `watch: {every: 1s, for: <the whole round plus a margin>,
     check: {http: GET /rate/{{ w }}}, fail_when: .error_rate > 2}` (never true). Once it answers
     tools/list, its idle memory and its idle CPU (over 3 s) are taken.
  3. N watches are started as MCP Tasks (2026-07-28 tools/call requests declaring
     `io.modelcontextprotocol/tasks`; each answer must be a task handle), spread evenly over
     `--spread` seconds, each with its own `w` (so each watch's checks are its own lines in the
     log), then the round waits `--settle` seconds and reads /status: N tasks must be running.
  4. The window (`--window` seconds): the server's CPU time (utime + stime of all its threads,
     plus every live descendant's, the jq workers that run `fail_when`, plus its cutime + cstime,
     the workers that ended and were reaped) as core-percent of the window; its memory (VmRSS of
     the server plus its descendants, sampled every second) minus the idle figure; the backend's
     requests in the window (nginx's log), which must come to at least `--min-rate` x N a second,
     or the round is invalid (it measured less work than N watches make).
     Meanwhile `--polls` tasks/get requests poll `--poll-sample` of the tasks, in bursts of
     `--poll-burst` back-to-back polls of one task spread over the window. tasks/get must be
     answered from the server's own state: during each burst, the polled watch's checks in the
     backend's log are compared with those of a watch nobody polled over the same interval (the
     mean over all of them); a tasks/get that reached the backend would add one per poll. A task
     polled over 2 s or more must show its check number moving in its status message.
  5. With --perf SECONDS, `perf record` of the server while the watches go on (not in the figures).
  6. Every task is cancelled (tasks/cancel). No check may reach the backend later than 2 s
     after the last cancel was acknowledged, /status must show no running task, and tasks/get
     on the cancelled tasks must say `cancelled` without any backend request meanwhile.
  7. Everything is stopped.
The figures of every round go to --out (JSON; default bench/results/watches-<UTC timestamp>.json)
and, with --markdown, the section "## 7. N watches" of that file is written (replaced, or put
before "## Goals of issue 7", or appended), invalid rounds included and marked. The exit status
is 1 when a round is invalid or the run could not be done.

Only 127.0.0.1 is listened on or contacted. Every child runs in its own process group and is
stopped on any exit (TERM, then KILL; children also get SIGKILL if this process dies). Standard
library only (it reuses bench/mcp/harness.py's process handling); --perf needs perf.
"""

import argparse
import bisect
import collections
import concurrent.futures
import datetime
import http.client
import json
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
sys.path.insert(0, os.path.join(BENCH, "mcp"))
import harness  # noqa: E402  (Children, free_port, first_json, machine, cmd_out)

V_NEW = "2026-07-28"
TASKS_EXT = "io.modelcontextprotocol/tasks"
TOOL = "watch_error_rate"
BACKEND_JSON = b'{"error_rate": 0.4}\n'
CLIENT_THREADS = 8  # connections that start, poll and cancel the tasks
HTTP_TIMEOUT = 30.0  # s for one MCP request (a server that fell behind answers slowly)
READY_BUDGET = 30.0  # s for nginx or toolwright to answer
DEFAULT_MAX_FAILED = 3  # a watch's `max_failed_checks` default: failed checks in a row that end it
CANCEL_QUIET = 2.0  # s after the last cancel by which the backend must have seen the last check
GOAL_CPU_PER_100 = 1.0  # core-% per 100 watches (issue 17)
GOAL_RSS_MIB = 20.0  # MiB for all the watches together (issue 17)

NGINX_CONF = """\
# Written by bench/watches.py: the watches' backend, 127.0.0.1 only, not a daemon.
daemon off;
master_process on;
worker_processes @WORKERS@;
pid @PREFIX@/nginx.pid;
error_log @PREFIX@/error.log warn;

events {
    worker_connections 8192;
    multi_accept on;
}

http {
    access_log off;
    client_body_temp_path @PREFIX@/client_body;
    proxy_temp_path @PREFIX@/proxy;
    fastcgi_temp_path @PREFIX@/fastcgi;
    uwsgi_temp_path @PREFIX@/uwsgi;
    scgi_temp_path @PREFIX@/scgi;
    keepalive_requests 10000000;
    keepalive_timeout 300s;
    tcp_nodelay on;
    server_tokens off;
    etag off;
    log_format checks '$msec $request_uri $status';

    server {
        listen 127.0.0.1:@PORT@;
        root @DOCROOT@;
        default_type application/json;
        # One line per check, written as each request ends (unbuffered): the backend's own count.
        location ~ ^/rate/[0-9]+$ {
            access_log @PREFIX@/checks.log checks;
            try_files /rate.json =404;
        }
        location = /health {
            return 200 "ok\\n";
        }
    }
}
"""


def say(msg):
    print(f"[watches.py {time.monotonic() - STARTED:6.1f}s] {msg}", file=sys.stderr, flush=True)


STARTED = time.monotonic()


class Failed(Exception):
    """A step of the run did not hold: the row is invalid."""


# --------------------------------------------------------------------------------------------
# /proc: CPU and memory of a process and its descendants


def descendants(pid):
    """The live descendants of pid (jq workers), from /proc/PID/task/*/children."""
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for t in tasks:
        try:
            with open(f"/proc/{pid}/task/{t}/children") as fh:
                kids = [int(c) for c in fh.read().split()]
        except OSError:
            continue
        for c in kids:
            out.append(c)
            out.extend(descendants(c))
    return sorted(set(out))


def stat_cpu(pid):
    """(utime + stime, cutime + cstime) of pid in seconds, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    f = stat[stat.rfind(")") + 2 :].split()
    tck = os.sysconf("SC_CLK_TCK")
    return (int(f[11]) + int(f[12])) / tck, (int(f[13]) + int(f[14])) / tck


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def threads(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return None


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return [a.decode(errors="replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return []


class Tree:
    """CPU and memory of the server and its descendants."""

    def __init__(self, pid):
        self.pid = pid
        self.seen = set()  # every descendant pid seen by a sample

    def sample(self):
        kids = descendants(self.pid)
        self.seen.update(kids)
        own = stat_cpu(self.pid)
        if own is None:
            raise Failed("the toolwright server is gone")
        cpu = own[0] + own[1]  # its threads, and the children it reaped
        rss = status_kib(self.pid, "VmRSS") or 0
        pss = pss_kib(self.pid) or 0
        kid_rows = []
        for k in kids:
            c = stat_cpu(k)
            if c is None:
                continue  # ended between the listing and now: its time is in our cutime once reaped
            cpu += c[0] + c[1]
            krss = status_kib(k, "VmRSS") or 0
            kpss = pss_kib(k) or 0
            rss += krss
            pss += kpss
            kid_rows.append({"pid": k, "rss_kib": krss, "pss_kib": kpss, "cpu_s": c[0] + c[1], "cmd": " ".join(cmdline(k)[1:2])})
        return {
            "t": time.time(),
            "mono": time.monotonic(),
            "cpu_s": cpu,
            "server_cpu_s": own[0],
            "reaped_children_cpu_s": own[1],
            "rss_kib": rss,
            "server_rss_kib": status_kib(self.pid, "VmRSS"),
            "server_hwm_kib": status_kib(self.pid, "VmHWM"),
            "pss_kib": pss,
            "threads": threads(self.pid),
            "children": kid_rows,
        }


def machine_busy_s():
    """Machine-wide busy CPU seconds so far (all CPUs, /proc/stat)."""
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] if len(f) > 7 else 0)) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------------------------
# the backend and its log


def start_nginx(a, work):
    prefix = os.path.join(work, "nginx")
    docroot = os.path.join(work, "docroot")
    os.makedirs(prefix, exist_ok=True)
    os.makedirs(docroot, exist_ok=True)
    with open(os.path.join(docroot, "rate.json"), "wb") as fh:
        fh.write(BACKEND_JSON)
    port = harness.free_port()
    conf = NGINX_CONF
    for k, v in {"@PREFIX@": prefix, "@DOCROOT@": docroot, "@PORT@": str(port), "@WORKERS@": str(a.nginx_workers)}.items():
        conf = conf.replace(k, v)
    path = os.path.join(prefix, "nginx.conf")
    with open(path, "w") as fh:
        fh.write(conf)
    p = harness.CHILDREN.start([a.nginx, "-p", prefix, "-c", path], os.path.join(work, "nginx.log"))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_BUDGET
    while True:
        try:
            with urllib.request.urlopen(base + "/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if p.poll() is not None or time.monotonic() > deadline:
            raise Failed(f"nginx did not come up; see {work}/nginx.log and {prefix}/error.log")
        time.sleep(0.02)
    with urllib.request.urlopen(base + "/rate/0", timeout=2) as r:
        if json.loads(r.read()) != json.loads(BACKEND_JSON):
            raise Failed("nginx does not serve rate.json")
    return p, port, os.path.join(prefix, "checks.log"), path


class CheckLog:
    """nginx's access log of the checks: (time, watch number, status) per request."""

    LINE = re.compile(rb"^(\d+\.\d+) /rate/(\d+) (\d+)$")

    def __init__(self, path):
        self.path = path

    def read(self):
        rows = []
        bad = 0
        try:
            with open(self.path, "rb") as fh:
                for line in fh:
                    m = self.LINE.match(line.strip())
                    if m:
                        rows.append((float(m.group(1)), int(m.group(2)), int(m.group(3))))
                    elif line.strip():
                        bad += 1
        except FileNotFoundError:
            pass
        if bad:
            raise Failed(f"{bad} lines of {self.path} are not checks")
        return rows


# --------------------------------------------------------------------------------------------
# the server and its catalog


def catalog(backend_port, watch_for_s):
    timeout_s = watch_for_s + 1 + 60
    return {
        "backend.yaml": f"""\
# Written by bench/watches.py: the local backend (nginx serving a static JSON file).
kind: connection
name: backend
http:
  base_url: http://127.0.0.1:{backend_port}
  allow_private_networks: true
""",
        "watch.yaml": f"""\
# Written by bench/watches.py: one watch tool; every call is an MCP task (after: 0s).
kind: tool
name: {TOOL}
description: >-
  Watches the error rate of one service on the local backend every second, and fails the
  watch if it passes 2 (it never does: the backend always answers 0.4).
annotations: {{read_only: true}}
input:
  type: object
  properties:
    w: {{type: integer, minimum: 0, maximum: 1000000, description: "the watch's number (its URL)"}}
  required: [w]
  additionalProperties: false
timeout: {timeout_s}s
task: {{after: 0s, ttl: 1h, poll_interval: 1s}}
action:
  watch:
    every: 1s
    for: {watch_for_s}s
    check:
      http: {{connection: backend, url: "/rate/{{{{ w }}}}"}}
    fail_when: .error_rate > 2
examples:
  - args: {{w: 7}}
""",
    }


def meta():
    return {
        "io.modelcontextprotocol/protocolVersion": V_NEW,
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {TASKS_EXT: {}}},
        "io.modelcontextprotocol/clientInfo": {"name": "toolwright-bench-watches", "version": "1.0"},
    }


class Client:
    """One kept-alive HTTP connection to the server, used by one thread at a time."""

    def __init__(self, port):
        self.port = port
        self.conn = None
        self.rid = 0

    def rpc(self, method, params, name=None):
        self.rid += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self.rid, "method": method, "params": {**params, "_meta": meta()}})
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": V_NEW,
            "Mcp-Method": method,
        }
        if name is not None:
            headers["Mcp-Name"] = name
        for attempt in range(2):  # a kept-alive connection the server closed is opened again once
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=HTTP_TIMEOUT)
            try:
                self.conn.request("POST", "/mcp", body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise
        if r.status != 200:
            raise Failed(f"{method}: HTTP {r.status}: {data[:300]!r}")
        return harness.first_json(data, r.headers.get("Content-Type", ""))

    def close(self):
        if self.conn is not None:
            self.conn.close()


def start_server(a, work, tools_dir):
    port = harness.free_port()
    cmd = [a.toolwright, "serve", "--tools", tools_dir, "--http", f"127.0.0.1:{port}", "--stateless",
           "--max-tasks", str(max(2 * a.watches, 1000))]
    p = harness.CHILDREN.start(cmd, os.path.join(work, "toolwright.log"))
    c = Client(port)
    deadline = time.monotonic() + READY_BUDGET
    while True:
        if p.poll() is not None:
            raise Failed(f"toolwright exited with {p.returncode}; see {work}/toolwright.log")
        try:
            msg = c.rpc("tools/list", {})
            names = {t["name"] for t in msg["result"]["tools"]}
            if TOOL not in names:
                raise Failed(f"toolwright does not list {TOOL}: {sorted(names)}")
            break
        except (OSError, http.client.HTTPException, ValueError):
            if time.monotonic() > deadline:
                raise Failed(f"toolwright did not answer within {READY_BUDGET:.0f} s; see {work}/toolwright.log") from None
            time.sleep(0.05)
    c.close()
    return p, port, cmd


def server_status(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=HTTP_TIMEOUT) as r:
        return json.loads(r.read())


# --------------------------------------------------------------------------------------------
# the client side: start, poll, cancel


def per_thread(port, items, fn, threads=CLIENT_THREADS):
    """Runs fn(client, item) for every item on `threads` threads, each with its own kept-alive
    connection; items are dealt round-robin. Returns the results in the order of items."""
    out = [None] * len(items)

    def work(k):
        c = Client(port)
        try:
            for i in range(k, len(items), threads):
                out[i] = fn(c, items[i])
        finally:
            c.close()

    with concurrent.futures.ThreadPoolExecutor(threads) as ex:
        for f in [ex.submit(work, k) for k in range(threads)]:
            f.result()
    return out


def start_watches(port, n, spread):
    """N tools/call requests, request i sent at t0 + i * spread / n; returns their task ids."""
    t0 = time.monotonic() + 0.2

    def one(c, i):
        delay = t0 + i * spread / n - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent = time.time()
        msg = c.rpc("tools/call", {"name": TOOL, "arguments": {"w": i}}, name=TOOL)
        res = msg.get("result") or {}
        if res.get("resultType") != "task" or res.get("status") != "working":
            raise Failed(f"watch {i}: expected a working task handle, got {json.dumps(msg)[:400]}")
        return {"w": i, "task_id": res["taskId"], "sent": sent, "answered": time.time()}

    return per_thread(port, list(range(n)), one)


CHECK_NO = re.compile(r"check (\d+)/(\d+)")


def poll_tasks(port, sample, polls, window_s, burst, rows, stop_at):
    """`polls` tasks/get requests on the tasks of `sample` in bursts of `burst` back-to-back
    polls of one task, the bursts spread evenly over window_s; appends one row per poll to
    `rows` (a failed poll is a row with its error). No poll starts after `stop_at` (monotonic)."""
    bursts = [sample[k % len(sample)] for k in range(math.ceil(polls / burst))]
    gap = window_s / len(bursts)
    t0 = time.monotonic()
    c = Client(port)
    try:
        left = polls
        for k, task in enumerate(bursts):
            delay = t0 + k * gap - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            for _ in range(min(burst, left)):
                if time.monotonic() > stop_at:
                    return
                left -= 1
                sent = time.time()
                s = time.perf_counter()
                try:
                    msg = c.rpc("tasks/get", {"taskId": task["task_id"]}, name=task["task_id"])
                except (OSError, http.client.HTTPException, ValueError, Failed) as e:
                    msg = {"error": f"no answer: {e!r}"}
                ms = (time.perf_counter() - s) * 1000
                res = msg.get("result") or {}
                m = CHECK_NO.search(res.get("statusMessage") or "")
                rows.append({"w": task["w"], "burst": k, "sent": sent, "t": time.time(), "ms": ms, "status": res.get("status"),
                             "message": res.get("statusMessage"), "check": int(m.group(1)) if m else None,
                             "error": msg.get("error")})
    finally:
        c.close()


def cancel_all(port, tasks):
    def one(c, t):
        msg = c.rpc("tasks/cancel", {"taskId": t["task_id"]}, name=t["task_id"])
        if "error" in msg:
            raise Failed(f"tasks/cancel of watch {t['w']}: {msg['error']}")
        return {"w": t["w"], "acked": time.time()}

    return per_thread(port, tasks, one)


def get_all(port, tasks):
    def one(c, t):
        msg = c.rpc("tasks/get", {"taskId": t["task_id"]}, name=t["task_id"])
        return (msg.get("result") or {}).get("status")

    return per_thread(port, tasks, one)


def perf_profile(a, work, pid):
    """After the window (so that it does not weigh on the figures): `perf record` of the server for
    a.perf seconds while the watches go on, and the top of `perf report`. The jq workers it starts
    meanwhile are recorded too (perf's inheritance); the ones already running are not (attaching
    to them races with their ending)."""
    pids = [pid]
    data = os.path.join(work, "perf.data")
    say(f"perf record of the server for {a.perf:g} s ...")
    rec = subprocess.run(["perf", "record", "-F", "999", "-p", str(pid), "-o", data, "--",
                          "sleep", f"{a.perf:g}"], capture_output=True, text=True, timeout=a.perf + 60)
    if rec.returncode != 0:
        return {"error": (rec.stderr or rec.stdout)[-600:]}
    rep = subprocess.run(["perf", "report", "-i", data, "--stdio", "--sort", "comm,dso,sym", "--percent-limit", "0.5"],
                         capture_output=True, text=True, timeout=300)
    path = os.path.join(work, "perf-report.txt")
    with open(path, "w") as fh:
        fh.write(rep.stdout)
    top = [line for line in rep.stdout.splitlines() if line.strip() and not line.startswith("#")][:60]
    return {"seconds": a.perf, "pids": pids, "report": os.path.relpath(path, ROOT), "top": top}


# --------------------------------------------------------------------------------------------
# the run


def pct(vals, q):
    vals = sorted(vals)
    return vals[min(len(vals) - 1, int(q * len(vals)))] if vals else None


def run_round(a, rnd):
    """One round: a fresh nginx and server, N watches, the window, the cancels. Returns its figures
    and the problems that make it invalid (an exception: the run could not be done at all)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    work = os.path.join(BENCH, "results", "tmp", f"watches-{now.strftime('%Y-%m-%dT%H%M%SZ')}-r{rnd}")
    os.makedirs(work, exist_ok=True)
    watch_for_s = math.ceil(a.spread + a.settle + a.window + a.perf + 60)
    res = {
        "round": rnd,
        "started_utc": now.isoformat(timespec="seconds"),
        "loadavg_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "work_dir": os.path.relpath(work, ROOT),
        "args_min_rate": a.min_rate,
    }

    nginx, backend_port, log_path, nginx_conf = start_nginx(a, work)
    checks = CheckLog(log_path)
    tools_dir = os.path.join(work, "tools.d")
    os.makedirs(tools_dir)
    for name, text in catalog(backend_port, watch_for_s).items():
        with open(os.path.join(tools_dir, name), "w") as fh:
            fh.write(text)
    server, port, cmd = start_server(a, work, tools_dir)
    res["commands"] = [
        f"{a.nginx} -p {work}/nginx -c {nginx_conf}",
        " ".join(cmd),
    ]
    res["catalog"] = catalog(backend_port, watch_for_s)
    say(f"round {rnd}: toolwright pid {server.pid} on port {port}, nginx on port {backend_port}")
    tree = Tree(server.pid)

    # Idle: the server answered tools/list; give it a moment, then take its memory, and its CPU
    # over 3 s (what it costs with no watch: the reload watcher, the runtime's timers).
    time.sleep(2.0)
    i0 = tree.sample()
    time.sleep(3.0)
    idle = tree.sample()
    res["idle"] = {k: idle[k] for k in ("rss_kib", "pss_kib", "server_rss_kib", "server_hwm_kib", "threads")}
    res["idle"]["children"] = len(idle["children"])
    res["idle"]["core_percent"] = (idle["cpu_s"] - i0["cpu_s"]) / (idle["mono"] - i0["mono"]) * 100
    say(f"toolwright idle: {idle['rss_kib'] / 1024:.1f} MiB RSS, {res['idle']['core_percent']:.2f} core-%, "
        f"{idle['threads']} threads, {len(idle['children'])} children")

    # Start the watches.
    say(f"starting {a.watches} watches over {a.spread:g} s ...")
    t_start = time.time()
    tasks = start_watches(port, a.watches, a.spread)
    started_s = time.time() - t_start
    ids = {t["task_id"] for t in tasks}
    if len(ids) != a.watches:
        raise Failed(f"{a.watches} calls gave {len(ids)} distinct task ids")
    res["start"] = {
        "seconds": started_s,
        "answer_ms_p50": statistics.median((t["answered"] - t["sent"]) * 1000 for t in tasks),
        "answer_ms_max": max((t["answered"] - t["sent"]) * 1000 for t in tasks),
    }
    say(f"started {a.watches} watches in {started_s:.2f} s (answer p50 {res['start']['answer_ms_p50']:.1f} ms); "
        f"settling {a.settle:g} s ...")
    time.sleep(a.settle)
    st = server_status(port)
    running = st.get("tasks", {}).get("running")
    if running != a.watches:
        raise Failed(f"/status says {running} tasks are running, expected {a.watches}: {json.dumps(st.get('tasks'))[:400]}")

    # The window.
    rnd = random.Random(17)
    sample = rnd.sample(tasks, min(a.poll_sample, len(tasks)))
    sampled = {t["w"] for t in sample}
    polls = []  # filled by the poller thread; read after it ended
    stop_polls = time.monotonic() + a.window + 5.0

    def poller():
        poll_tasks(port, sample, a.polls, a.window * 0.9, a.poll_burst, polls, stop_polls)

    say(f"measuring for {a.window:g} s ({a.polls} tasks/get polls on {len(sample)} tasks meanwhile) ...")
    busy0 = machine_busy_s()
    s0 = tree.sample()
    samples = [s0]
    poll_thread = threading.Thread(target=poller, daemon=True)
    poll_thread.start()
    end = s0["mono"] + a.window
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(1.0, left))
        samples.append(tree.sample())
    s1 = samples[-1]
    running_at_end = server_status(port).get("tasks", {}).get("running")  # watches that ended early are not
    busy1 = machine_busy_s()
    poll_thread.join(timeout=max(0.0, stop_polls - time.monotonic()) + HTTP_TIMEOUT * 2 + 5)
    if poll_thread.is_alive():
        raise Failed("the tasks/get poller did not end")  # cannot happen: every poll is bounded
    wall = s1["mono"] - s0["mono"]
    cpu = s1["cpu_s"] - s0["cpu_s"]
    core_pct = cpu / wall * 100
    per_100 = core_pct / (a.watches / 100)
    rss_mib = [(s["rss_kib"] - idle["rss_kib"]) / 1024 for s in samples]
    pss_mib = [(s["pss_kib"] - idle["pss_kib"]) / 1024 for s in samples]
    ncpu = len(os.sched_getaffinity(0))
    other = max(0.0, (busy1 - busy0) - cpu) / (wall * ncpu)

    # The backend's view of the window.
    rows = checks.read()
    in_window = [r for r in rows if s0["t"] <= r[0] < s1["t"]]
    rate = len(in_window) / (s1["t"] - s0["t"])
    non_200 = sum(1 for r in in_window if r[2] != 200)
    per_watch = {}
    for t_, w, _ in in_window:
        per_watch[w] = per_watch.get(w, 0) + 1
    counts_polled = [per_watch.get(w, 0) for w in sampled]
    counts_other = [per_watch.get(t["w"], 0) for t in tasks if t["w"] not in sampled]
    per_second = {}
    for t_, _, _ in in_window:
        k = int(t_ - s0["t"])
        per_second[k] = per_second.get(k, 0) + 1
    # Polls: every answer must be a working task whose status message moves.
    bad_polls = [p for p in polls if p["error"] or p["status"] != "working"]
    # During each burst of back-to-back polls of one task (a few ms when the server keeps up), the
    # polled watch's own checks in the backend's log, against what a watch nobody polled made in the
    # same interval (the mean over them): a tasks/get that reached the backend would add one request
    # per poll to the polled watch; its regular checks fall in a burst now and then, as the others' do.
    by_burst = {}
    for p in polls:
        by_burst.setdefault(p["burst"], []).append(p)
    times_of = {}
    for t_, w_, _ in rows:
        times_of.setdefault(w_, []).append(t_)
    all_times = sorted(t_ for t_, w_, _ in rows if w_ not in sampled)
    n_control = a.watches - len(sampled)
    in_bursts = []
    for ps in by_burst.values():
        lo, hi, w_ = min(p["sent"] for p in ps), max(p["t"] for p in ps) + 0.05, ps[0]["w"]
        own = sum(1 for t_ in times_of.get(w_, []) if lo <= t_ <= hi)
        control = (bisect.bisect_right(all_times, hi) - bisect.bisect_left(all_times, lo)) / n_control
        in_bursts.append({"polls": len(ps), "seconds": hi - lo, "checks": own, "control": control})
    burst_polls = sum(b["polls"] for b in in_bursts)
    burst_excess = sum(b["checks"] for b in in_bursts) - sum(b["control"] for b in in_bursts)
    # A task polled over 2 s or more must show a later check number at its last poll than at its first.
    spans = {}
    for p in polls:
        if p["check"] is not None:
            first, last = spans.get(p["w"], (p, p))
            spans[p["w"]] = (first, p if p["t"] >= last["t"] else last)
    spanned = {w: (f, l) for w, (f, l) in spans.items() if l["t"] - f["t"] >= 2.0}
    moved = sum(1 for f, l in spanned.values() if l["check"] > f["check"])
    res["window"] = {
        "seconds": wall,
        "cpu_s": cpu,
        "core_percent": core_pct,
        "core_percent_per_100_watches": per_100,
        "cpu_us_per_check": cpu * 1e6 / len(in_window) if in_window else None,
        "server_threads_cpu_s": s1["server_cpu_s"] - s0["server_cpu_s"],
        "reaped_children_cpu_s": s1["reaped_children_cpu_s"] - s0["reaped_children_cpu_s"],
        "rss_above_idle_mib": {"end": rss_mib[-1], "max": max(rss_mib), "median": statistics.median(rss_mib)},
        "pss_above_idle_mib": {"end": pss_mib[-1], "max": max(pss_mib), "median": statistics.median(pss_mib)},
        "server_rss_end_kib": s1["server_rss_kib"],
        "server_hwm_end_kib": s1["server_hwm_kib"],
        "threads_end": s1["threads"],
        "tasks_running_at_end": running_at_end,
        "children_end": len(s1["children"]),
        "children_end_rss_kib": sum(k["rss_kib"] for k in s1["children"]),
        "children_end_first": s1["children"][:8],
        "descendants_seen": len(tree.seen),
        "other_cpu_use": {"machine_busy_s": busy1 - busy0, "cpus": ncpu, "fraction_of_machine": other},
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "samples": [{"t": s["t"] - s0["t"], "cpu_s": s["cpu_s"] - s0["cpu_s"], "rss_kib": s["rss_kib"], "pss_kib": s["pss_kib"],
                     "children": len(s["children"])} for s in samples],
    }
    res["backend"] = {
        "requests_in_window": len(in_window),
        "rate_per_s": rate,
        "expected_per_s": a.watches,
        "rate_ratio": rate / a.watches,
        "non_200": non_200,
        "watches_seen": len(per_watch),
        "per_second": [per_second.get(k, 0) for k in range(int(s1["t"] - s0["t"]))],  # whole seconds of the window
        "per_watch_counts": {"min": min(counts_other + counts_polled), "max": max(counts_other + counts_polled)},
    }
    poll_ms = [p["ms"] for p in polls]
    res["tasks_get"] = {
        "method": "tasks/get polled during the window on a random sample of the watches, in bursts of "
        f"{a.poll_burst} back-to-back polls of one task; each watch's checks are its own URL (/rate/<w>), so the "
        "backend's log counts them per watch: a watch whose tasks/get reached the backend would show more "
        "requests in the window than the watches nobody polled (every watch checks once a second)",
        "polls": len(polls),
        "tasks_polled": len(sample),
        "latency_ms": {"p50": pct(poll_ms, 0.5), "p99": pct(poll_ms, 0.99), "max": max(poll_ms) if poll_ms else None},
        "bad_answers": bad_polls[:5],
        "bad_answer_count": len(bad_polls),
        "polls_per_polled_task": {str(w): sum(1 for p in polls if p["w"] == w) for w in sorted(sampled)},
        "backend_requests_per_polled_watch": {"min": min(counts_polled), "max": max(counts_polled),
                                              "mean": statistics.mean(counts_polled)},
        "backend_requests_per_other_watch": {"min": min(counts_other) if counts_other else None,
                                             "max": max(counts_other) if counts_other else None,
                                             "mean": statistics.mean(counts_other) if counts_other else None},
        "status_message_example": next((p["message"] for p in polls if p["message"]), None),
        "bursts": len(in_bursts),
        "burst_seconds_max": max((b["seconds"] for b in in_bursts), default=None),
        "checks_during_bursts": {"polled_watch": sum(b["checks"] for b in in_bursts),
                                 "a_watch_nobody_polled": sum(b["control"] for b in in_bursts),
                                 "excess": burst_excess, "polls": burst_polls,
                                 "max_in_one_burst": max((b["checks"] for b in in_bursts), default=0)},
        "tasks_polled_over_2s": len(spanned),
        "check_numbers_moved": moved,
    }
    say(f"window: {core_pct:.2f} core-% ({per_100:.3f} per 100 watches), RSS +{rss_mib[-1]:.1f} MiB "
        f"(max +{max(rss_mib):.1f}), backend {rate:.0f} req/s, other load {other * 100:.0f}% of the machine")

    if a.perf > 0:
        res["perf"] = perf_profile(a, work, server.pid)

    # Cancel every task.
    say("cancelling every task ...")
    t_c0 = time.time()
    acks = cancel_all(port, tasks)
    t_last_ack = max(x["acked"] for x in acks)
    time.sleep(CANCEL_QUIET + 1.0)
    st = server_status(port)
    running_after = st.get("tasks", {}).get("running")
    rows = checks.read()
    ack_of = {x["w"]: x["acked"] for x in acks}
    after_last = [r for r in rows if r[0] > t_last_ack]
    late_per_watch = [r[0] - ack_of[r[1]] for r in rows if r[1] in ack_of and r[0] > ack_of[r[1]]]
    last_check = max((r[0] for r in rows), default=None)
    # tasks/get on the cancelled tasks: all cancelled, and the backend sees nothing meanwhile.
    n_before = len(rows)
    g0 = time.time()
    statuses = get_all(port, sample * max(1, a.polls // max(len(sample), 1)))
    rows2 = checks.read()
    res["cancel"] = {
        "seconds_to_cancel_all": t_last_ack - t_c0,
        "running_after": running_after,
        "checks_after_last_ack": len(after_last),
        "last_check_after_last_ack_s": (last_check - t_last_ack) if last_check else None,
        "checks_after_own_ack": len(late_per_watch),
        "max_s_after_own_ack": max(late_per_watch) if late_per_watch else 0.0,
        "tasks_get_after_cancel": {"polls": len(statuses), "not_cancelled": sum(1 for s in statuses if s != "cancelled"),
                                   "statuses": dict(collections.Counter(str(s) for s in statuses)),
                                   "still_working": sum(1 for s in statuses if s not in ("cancelled", "completed", "failed")),
                                   "backend_requests_meanwhile": len(rows2) - n_before,
                                   "seconds": time.time() - g0},
    }
    say(f"cancelled in {t_last_ack - t_c0:.2f} s; {len(after_last)} checks after the last ack "
        f"(the last {res['cancel']['last_check_after_last_ack_s']:+.3f} s after it)")

    # Idle again: what the server costs once the watches are gone.
    i0 = tree.sample()
    time.sleep(3.0)
    i1 = tree.sample()
    res["after_cancel"] = {"core_percent": (i1["cpu_s"] - i0["cpu_s"]) / (i1["mono"] - i0["mono"]) * 100,
                           "rss_above_idle_mib": (i1["rss_kib"] - idle["rss_kib"]) / 1024,
                           "children": len(i1["children"])}

    harness.CHILDREN.stop(server)
    harness.CHILDREN.stop(nginx)
    res["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    res["finished_utc"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")

    # Validity: fail loudly when the row measured something else than N watches checking once a second.
    problems = []
    valid_rate = rate >= a.min_rate * a.watches
    if not valid_rate:
        problems.append(f"the backend saw {rate:,.0f} checks/s in the window, below {a.min_rate:.0%} of the {a.watches:,}/s "
                        "that the watches should make")
    if running_at_end != a.watches:
        problems.append(f"{a.watches - running_at_end} watches had ended by the end of the window (/status: "
                        f"{running_at_end} running; a watch ends when {DEFAULT_MAX_FAILED} checks in a row fail, as checks that time out do)")
    if non_200:
        problems.append(f"{non_200} checks in the window were not answered 200")
    if len(per_watch) != a.watches:
        problems.append(f"{len(per_watch)} of the {a.watches} watches reached the backend in the window")
    if bad_polls:
        problems.append(f"{len(bad_polls)} tasks/get answers were not a working task: {json.dumps(bad_polls[:2])[:300]}")
    if len(polls) != a.polls:
        problems.append(f"{len(polls)} tasks/get polls ran by 5 s after the window, {a.polls} were asked")
    if burst_excess >= burst_polls / 2:
        problems.append(f"during the bursts of tasks/get polls the polled watches made {burst_excess:.1f} more backend "
                        f"requests than watches nobody polled ({burst_polls} polls): tasks/get reached the backend")
    if valid_rate and counts_other and max(counts_polled) > max(counts_other):
        problems.append(f"a polled watch made {max(counts_polled)} backend requests in the window, more than any unpolled "
                        f"one ({max(counts_other)}): tasks/get reached the backend")
    if moved < len(spanned):
        problems.append(f"the check number in the status message of only {moved} of the {len(spanned)} tasks polled over "
                        "2 s or more moved: the watches are not checking")
    if running_after != 0:
        problems.append(f"/status says {running_after} tasks still run after every cancel")
    if last_check is not None and last_check - t_last_ack > CANCEL_QUIET:
        problems.append(f"a check reached the backend {last_check - t_last_ack:.2f} s after the last cancel (limit {CANCEL_QUIET:g} s)")
    tg = res["cancel"]["tasks_get_after_cancel"]
    # A watch may have ended on its own before the cancel (`max_failed_checks` when its checks time out):
    # then it reads `completed`; none may still be working.
    if tg["still_working"] or tg["backend_requests_meanwhile"]:
        problems.append(f"after the cancels: {tg['still_working']} tasks/get answers were neither `cancelled` nor ended "
                        f"({tg['statuses']}), "
                        f"{tg['backend_requests_meanwhile']} backend requests arrived while polling")
    res["problems"] = problems
    res["valid"] = not problems
    # A run whose watches fell behind measured less work than N watches make: its CPU figure
    # cannot meet the goal (the goal is about N watches checking every second).
    res["goals_met"] = {
        "cpu": per_100 <= GOAL_CPU_PER_100 and rate >= a.min_rate * a.watches,
        "memory": max(rss_mib) <= GOAL_RSS_MIB,
    }
    return res


# --------------------------------------------------------------------------------------------
# output


def fnum(v, nd=1):
    return "n/a" if v is None else f"{v:,.{nd}f}"


def summarize(rounds):
    valid = [r for r in rounds if r["valid"]]
    kept_up = [r for r in rounds if r["backend"]["rate_ratio"] >= r["args_min_rate"]]
    return {
        "rounds": len(rounds),
        "valid_rounds": len(valid),
        "rounds_that_kept_up": len(kept_up),
        "core_percent_per_100_valid": [round(r["window"]["core_percent_per_100_watches"], 3) for r in kept_up],
        "core_percent_per_100_median_of_rounds_that_kept_up": (
            statistics.median(r["window"]["core_percent_per_100_watches"] for r in kept_up) if kept_up else None),
        "rss_above_idle_mib_max": max(r["window"]["rss_above_idle_mib"]["max"] for r in rounds),
        "rss_above_idle_mib_max_of_rounds_that_kept_up": (
            max(r["window"]["rss_above_idle_mib"]["max"] for r in kept_up) if kept_up else None),
        "pss_above_idle_mib_max": max(r["window"]["pss_above_idle_mib"]["max"] for r in rounds),
        "rate_per_s": [round(r["backend"]["rate_per_s"]) for r in rounds],
        "tasks_get_backend_excess": [round(r["tasks_get"]["checks_during_bursts"]["excess"], 1) for r in rounds],
        "checks_after_last_cancel": [r["cancel"]["checks_after_last_ack"] for r in rounds],
    }


def markdown(res, out_rel):
    a = res["args"]
    n = a["watches"]
    rounds = res["rounds"]
    sm = res["summary"]
    first = rounds[0]
    other = [r["window"]["other_cpu_use"]["fraction_of_machine"] * 100 for r in rounds]
    lines = [
        f"## 7. {n:,} watches",
        "",
        f"From `bench/watches.py` on {res['started_utc'].replace('+00:00', '')} UTC (`{out_rel}`; toolwright: "
        f"{res['versions']['toolwright_source'] or res['versions']['toolwright']}), {len(rounds)} round(s), each with a "
        f"fresh server: {n:,} watches started as MCP Tasks (2026-07-28 requests declaring `io.modelcontextprotocol/tasks`) "
        f"over {a['spread']:g} s on one `toolwright serve --http --stateless`, each checking nginx (1 worker, a static "
        f"`{{\"error_rate\": 0.4}}`, one access-log line per check) every second and judging the answer with "
        f"`fail_when: .error_rate > 2` (a bounded filter on a small input: run in the server, not in a jq worker process; "
        f"docs/spec.md `response.jq`); measured over {a['window']:g} s after {a['settle']:g} s of "
        f"settling. CPU: the server's utime + stime (all threads) plus its jq workers' (alive, or ended and reaped), "
        f"as a share of one core. Memory: VmRSS of the server and its children, at most over the window (sampled "
        f"every second), minus the server's VmRSS before the first watch ({fnum(first['idle']['rss_kib'] / 1024)} MiB). "
        f"The figures are absolute (no peer serves watches). A round in which the backend saw fewer than "
        f"{a['min_rate'] * 100:.0f}% of the {n:,} checks a second the watches should make is invalid: it measured "
        f"less work than {n:,} watches. The machine is shared: other work used {min(other):.0f}–{max(other):.0f}% of its "
        f"{first['window']['other_cpu_use']['cpus']} CPUs during the windows.",
        "",
        "| round | checks/s at the backend | server CPU, core-% | core-% per 100 watches | CPU µs per check | "
        "memory above idle, MiB (PSS) | jq workers: alive at the end / seen | tasks/get p50 / p99 ms | cancel all, s | valid |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rounds:
        w, b, tg, c = r["window"], r["backend"], r["tasks_get"], r["cancel"]
        lines.append(
            f"| {r['round']} | {fnum(b['rate_per_s'], 0)} ({b['rate_ratio'] * 100:.0f}%) | {fnum(w['core_percent'], 1)} | "
            f"{fnum(w['core_percent_per_100_watches'], 2)} | {fnum(w['cpu_us_per_check'], 0)} | "
            f"{fnum(w['rss_above_idle_mib']['max'], 1)} ({fnum(w['pss_above_idle_mib']['max'], 1)}) | "
            f"{w['children_end']} / {w['descendants_seen']:,} | {fnum(tg['latency_ms']['p50'], 2)} / "
            f"{fnum(tg['latency_ms']['p99'], 0)} | {fnum(c['seconds_to_cancel_all'], 2)} | "
            f"{'yes' if r['valid'] else '**no**'} |")
    kept = sm["core_percent_per_100_valid"]
    if kept:
        cpu_shown = (f"{', '.join(fnum(x, 2) for x in kept)} core-% per 100 watches in the round(s) that kept up "
                     f"({fnum(statistics.median(kept) / GOAL_CPU_PER_100, 1)}x the goal, median)")
    else:
        least = min(r["window"]["core_percent_per_100_watches"] for r in rounds)
        cpu_shown = (f"no round kept up: at least {fnum(least, 2)} core-% per 100 watches ({fnum(least / GOAL_CPU_PER_100, 0)}x "
                     f"the goal) while checking at only {', '.join(str(x) for x in sm['rate_per_s'])} checks/s")
    if kept and sm["rounds_that_kept_up"] < len(rounds):
        cpu_shown += (f"; {len(rounds) - sm['rounds_that_kept_up']} of {len(rounds)} fell behind "
                      f"(backend {', '.join(str(x) for x in sm['rate_per_s'])} checks/s)")
    mem = sm["rss_above_idle_mib_max"]
    lines += [
        "",
        "| goal (issue 17) | this run | met |",
        "|---|---|---|",
        f"| server CPU <= {GOAL_CPU_PER_100:g} core-% per 100 watches ({GOAL_CPU_PER_100 * 100:g} µs per check) | {cpu_shown} | "
        f"{'yes' if res['goals_met']['cpu'] else '**no**'} |",
        f"| memory <= {GOAL_RSS_MIB:g} MiB for all the watches | {fnum(mem, 1)} MiB at most"
        + (f" ({fnum(mem / GOAL_RSS_MIB, 1)}x the goal)" if mem > GOAL_RSS_MIB else "")
        + (f" ({fnum(sm['rss_above_idle_mib_max_of_rounds_that_kept_up'], 1)} in the rounds that kept up)"
           if sm["rss_above_idle_mib_max_of_rounds_that_kept_up"] is not None and sm["rounds_that_kept_up"] < len(rounds) else "")
        + f" | {'yes' if res['goals_met']['memory'] else '**no**'} |",
        "",
    ]
    for r in rounds:
        for p in r["problems"]:
            lines.append(f"- Round {r['round']} is invalid: {p}.")
    behind = []
    for r in rounds:
        per_s = r["backend"]["per_second"]
        low = next((i for i, x in enumerate(per_s) if x < a["min_rate"] * n), None)
        if low is None or r["backend"]["rate_ratio"] >= a["min_rate"]:
            continue
        alive = [x["children"] for x in r["window"]["samples"]]
        behind.append(f"in round {r['round']} from second {low} of the window (jq worker processes alive: {alive[0]} at its "
                      f"start, up to {max(alive)} later)")
    if behind:
        lines.append(f"- Falling behind: the backend's checks per second first dropped below {a['min_rate'] * 100:.0f}% of "
                     f"{n:,} {'; '.join(behind)}. Each second's count is in the JSON (`backend.per_second`).")
    tg_polls = sum(r["tasks_get"]["polls"] for r in rounds)
    excess = [r["tasks_get"]["checks_during_bursts"]["excess"] for r in rounds]
    bursts = sum(r["tasks_get"]["bursts"] for r in rounds)
    touched = any(r["tasks_get"]["checks_during_bursts"]["excess"] >= r["tasks_get"]["checks_during_bursts"]["polls"] / 2
                  for r in rounds)
    after = [r["cancel"]["tasks_get_after_cancel"] for r in rounds]
    lines += [
        f"- Where the CPU goes (per round): the server's own threads used "
        f"{', '.join(fnum(r['window']['server_threads_cpu_s'], 2) for r in rounds)} s of the windows' "
        f"{', '.join(fnum(r['window']['cpu_s'], 2) for r in rounds)} CPU seconds; jq workers that were started for a run "
        f"and ended within the window, {', '.join(fnum(r['window']['reaped_children_cpu_s'], 2) for r in rounds)} s. "
        f"The server alone, idle before the watches: {', '.join(fnum(r['idle']['core_percent'], 2) for r in rounds)} core-%.",
        f"- `tasks/get` {'**reached the backend**' if touched else 'never reached the backend'}: "
        f"{', '.join(str(r['tasks_get']['polls']) for r in rounds)} polls per round ({tg_polls} in all) of "
        f"{a['poll_sample']} tasks during the windows, in {bursts} bursts of up to {a['poll_burst']} back-to-back polls "
        f"of one task. Each watch checks its own URL: during the bursts, the polled watches' checks minus those of a "
        f"watch nobody polled over the same intervals came to {', '.join(fnum(x, 1) for x in excess)} per round (a tasks/get "
        f"that touched the backend would make it the number of polls, "
        f"{', '.join(str(r['tasks_get']['checks_during_bursts']['polls']) for r in rounds)}). After the cancels, "
        f"{sum(x['polls'] for x in after)} polls read `cancelled` {sum(x['polls'] - x['not_cancelled'] for x in after)} "
        f"times"
        + (f" (the others: a watch that had ended on its own before, {sum(x['not_cancelled'] for x in after)} times)"
           if any(x["not_cancelled"] for x in after) else "")
        + f", with {sum(x['backend_requests_meanwhile'] for x in after)} backend requests meanwhile.",
        f"- Cancel: the backend saw {', '.join(str(r['cancel']['checks_after_last_ack']) for r in rounds)} checks after "
        f"the last `tasks/cancel` was acknowledged (a round fails on any later than {CANCEL_QUIET:g} s after it), and "
        f"/status then showed {', '.join(str(r['cancel']['running_after']) for r in rounds)} tasks running.",
        "",
        "```sh",
        f"bench/watches.py --toolwright BIN --watches {n} --rounds {len(rounds)} --window {a['window']:g}   "
        "# bench/run.sh runs it after the harness",
        "```",
        "",
    ]
    return "\n".join(lines)


def put_section(path, section):
    """Replaces the "## 7. " section of path, or puts it before "## Goals of issue 7", or appends it."""
    text = ""
    if os.path.exists(path):
        with open(path) as fh:
            text = fh.read()
    m = re.search(r"^## 7\. .*?(?=^## |\Z)", text, flags=re.M | re.S)
    g = re.search(r"^## Goals of issue 7", text, flags=re.M)
    if m:
        rest = text[m.end():]
        text = text[: m.start()] + section + ("\n" + rest if rest else "")
    elif g:
        text = text[: g.start()] + section + "\n" + text[g.start():]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    with open(path, "w") as fh:
        fh.write(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--toolwright", required=True, help="the toolwright binary to measure (a release build)")
    ap.add_argument("--toolwright-source", default="", help="where the binary came from, for the record")
    ap.add_argument("--nginx", default=shutil.which("nginx") or "/usr/sbin/nginx")
    ap.add_argument("--nginx-workers", type=int, default=1)
    ap.add_argument("--watches", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3, help="rounds, each with a fresh nginx and server")
    ap.add_argument("--pause", type=float, default=10.0, help="seconds between rounds")
    ap.add_argument("--spread", type=float, default=1.0, help="seconds over which the watches are started")
    ap.add_argument("--settle", type=float, default=5.0, help="seconds between the last start and the window")
    ap.add_argument("--window", type=float, default=30.0, help="seconds measured")
    ap.add_argument("--polls", type=int, default=200, help="tasks/get polls during the window")
    ap.add_argument("--poll-sample", type=int, default=20, help="how many tasks are polled")
    ap.add_argument("--poll-burst", type=int, default=5, help="back-to-back polls of one task per burst")
    ap.add_argument("--min-rate", type=float, default=0.9,
                    help="the backend's request rate must be at least this share of --watches per second")
    ap.add_argument("--perf", type=float, default=0.0, metavar="SECONDS",
                    help="after the window, `perf record` the server and its jq workers this long (not in the figures)")
    ap.add_argument("--out", default=None, help="JSON results (default bench/results/watches-<UTC timestamp>.json)")
    ap.add_argument("--render", default=None, metavar="JSON",
                    help="measure nothing: write the section of these results to --markdown")
    ap.add_argument("--markdown", default=None, help="a file whose section '## 7. ...' is written (BENCHMARKS.md)")
    a = ap.parse_args(argv)
    if a.render:
        if not a.markdown:
            ap.error("--render needs --markdown")
        with open(a.render) as fh:
            put_section(a.markdown, markdown(json.load(fh), os.path.relpath(os.path.abspath(a.render), ROOT)))
        return 0
    if a.rounds < 1:
        ap.error("--rounds must be at least 1")
    if a.watches < 2 or a.window <= 0 or a.polls < 1 or a.poll_sample < 1 or a.poll_burst < 1:
        ap.error("--watches must be at least 2, --window positive, --polls, --poll-sample and --poll-burst at least 1")
    a.poll_sample = min(a.poll_sample, a.watches - 1)  # at least one watch nobody polls, to compare with
    a.toolwright = os.path.abspath(a.toolwright)
    a.nginx = os.path.abspath(a.nginx)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, harness._on_signal)  # noqa: SLF001  (stops every child, then exits)

    now = datetime.datetime.now(datetime.timezone.utc)
    res = {
        "benchmark": "concurrent watches (issue 17)",
        "started_utc": now.isoformat(timespec="seconds"),
        "machine": harness.machine(),
        "versions": {
            "toolwright": harness.cmd_out([a.toolwright, "--version"]),
            "toolwright_source": a.toolwright_source,
            "toolwright_bin": a.toolwright,
            "nginx": harness.cmd_out([a.nginx, "-v"]).replace("nginx version: ", ""),
        },
        "args": {k: getattr(a, k) for k in ("watches", "rounds", "spread", "settle", "window", "polls", "poll_sample",
                                            "poll_burst", "nginx_workers", "min_rate", "perf")},
        "goals": {"cpu_core_percent_per_100_watches": GOAL_CPU_PER_100, "rss_mib": GOAL_RSS_MIB},
        "rounds": [],
    }
    try:
        for rnd in range(1, a.rounds + 1):
            if rnd > 1:
                time.sleep(a.pause)
            r = run_round(a, rnd)
            res["rounds"].append(r)
            w = r["window"]
            say(f"round {rnd}: {'valid' if r['valid'] else 'INVALID'}: {w['core_percent']:.2f} core-% "
                f"({w['core_percent_per_100_watches']:.3f} per 100 watches), memory +{w['rss_above_idle_mib']['max']:.1f} MiB, "
                f"backend {r['backend']['rate_per_s']:.0f}/s")
    except (Failed, OSError, http.client.HTTPException, ValueError) as e:
        harness.CHILDREN.stop_all()
        print(f"bench/watches.py: FAILED: {e if isinstance(e, Failed) else repr(e)}", file=sys.stderr)
        return 1
    finally:
        harness.CHILDREN.stop_all()
    res["finished_utc"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    res["loadavg_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rounds = res["rounds"]
    res["valid"] = all(r["valid"] for r in rounds)
    res["summary"] = summarize(rounds)
    res["goals_met"] = {"cpu": all(r["goals_met"]["cpu"] for r in rounds), "memory": all(r["goals_met"]["memory"] for r in rounds)}

    stamp = res["started_utc"].replace("+00:00", "Z").replace(":", "")
    out = a.out or os.path.join(BENCH, "results", f"watches-{stamp}.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as fh:
        json.dump(res, fh, indent=1)
        fh.write("\n")
    out_rel = os.path.relpath(os.path.abspath(out), ROOT)
    say(f"wrote {out_rel}")
    if a.markdown:  # invalid rounds too: the section says so, and this script fails
        put_section(a.markdown, markdown(res, out_rel))
        say(f"wrote the section to {a.markdown}")
    sm = res["summary"]
    print(f"  {a.watches} watches, {len(rounds)} rounds ({sm['valid_rounds']} valid): CPU goal "
          f"{'met' if res['goals_met']['cpu'] else 'NOT met'} (valid rounds: {sm['core_percent_per_100_valid'] or 'none'} "
          f"core-% per 100 watches); memory goal {'met' if res['goals_met']['memory'] else 'NOT met'} "
          f"(+{sm['rss_above_idle_mib_max']:.1f} MiB at most)", file=sys.stderr)
    for r in rounds:
        for p in r["problems"]:
            print(f"bench/watches.py: round {r['round']} INVALID: {p}", file=sys.stderr)
    return 0 if res["valid"] else 1


if __name__ == "__main__":
    sys.exit(main())
