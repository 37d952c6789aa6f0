#!/usr/bin/env python3
"""Timing harness of the lint benchmark (issue 2). Usually run through bench/lint.sh.

    bench/lint_bench.py --toolwright BIN --toolbox BIN [--rounds 5] [--small 1000] [--large 10000]
                        [--wait-quiet SECONDS] [--toolwright-source TEXT]

Measures, in one run and alternating (A B C A B C ...):
  A  `toolwright lint` wall time on the small catalog (whole process, exit 0 required);
  B  MCP Toolbox: from process start until it answers its first request with the small
     catalog's tools loaded (an MCP `tools/list` POST to /mcp, polled every 10 ms);
  C  `toolwright lint` wall time on the large catalog.
Peak RSS and CPU time (user + system) of every process come from os.wait4 (that one child).
Other work on the machine during the rounds is measured from /proc/stat and reported (a shared
machine inflates wall times; `--wait-quiet SECONDS` waits for a quiet moment first).
Writes bench/results/lint-<UTC date>.json and prints a short table.

Only 127.0.0.1 is listened on or contacted; every loop is bounded; child processes are
killed on any exit (and get SIGKILL from the kernel if this process dies: PR_SET_PDEATHSIG).
Standard library only.
"""

import argparse
import ctypes
import datetime
import hashlib
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import gen_specs  # noqa: E402

POLL_INTERVAL = 0.010  # s between Toolbox polls
POLL_BUDGET = 30.0  # s before Toolbox counts as failed to start
HTTP_TIMEOUT = 5.0  # s per poll request once connected

_children = []  # Popen objects still to be cleaned up


def _cleanup():
    for p in list(_children):
        if p.returncode is None:
            try:
                p.kill()
            except ProcessLookupError:
                pass
            try:
                os.waitpid(p.pid, 0)
            except ChildProcessError:
                pass
            p.returncode = -9
        _children.remove(p)


def _on_signal(signum, _frame):
    _cleanup()
    sys.exit(128 + signum)


def _pdeathsig():
    """Runs in the child before exec: die with the parent (Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _reap(p):
    """Wait for p; return (exit code, peak RSS in KiB, CPU seconds) from wait4."""
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p in _children:
        _children.remove(p)
    return p.returncode, ru.ru_maxrss, ru.ru_utime + ru.ru_stime


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- measurements


def run_lint(bin_, catalog, check_json=False):
    """One `toolwright lint CATALOG`; returns (seconds, peak RSS KiB, CPU seconds)."""
    cmd = [bin_, "lint", catalog] + (["--format", "json"] if check_json else [])
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out if check_json else subprocess.DEVNULL, stderr=err)
        _children.append(p)
        code, rss, cpu = _reap(p)
        dt = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if code != 0:
        raise SystemExit(f"toolwright lint {catalog} exited {code}:\n{stdout.decode()[:2000]}{stderr.decode()[:2000]}")
    if check_json:
        diags = json.loads(stdout)
        if diags:
            raise SystemExit(f"toolwright lint {catalog}: {len(diags)} diagnostics, expected 0: {diags[:3]}")
    return dt, rss, cpu


TOOLS_LIST = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}).encode()


def _tools_list(url):
    req = urllib.request.Request(
        url,
        data=TOOLS_LIST,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
    )
    with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as r:
        body = r.read()
        ctype = r.headers.get("Content-Type", "")
    if ctype.startswith("text/event-stream"):  # take the first data: line
        for line in body.decode().splitlines():
            if line.startswith("data:"):
                body = line[5:].encode()
                break
    return json.loads(body)


def run_toolbox(bin_, config, n_tools, logdir, tag):
    """Start Toolbox, poll tools/list until it lists n_tools tools, kill it.
    Returns (seconds to first answer, peak RSS KiB, CPU seconds until killed, polls)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    cmd = [bin_, "--config", config, "--address", "127.0.0.1", "--port", str(port), "--disable-version-check"]
    log_path = os.path.join(logdir, f"toolbox-{tag}.log")
    with open(log_path, "wb") as log:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_pdeathsig)
        _children.append(p)
        deadline = t0 + POLL_BUDGET
        polls = 0
        answer = None
        last_err = None
        try:
            while True:
                polls += 1
                try:
                    answer = _tools_list(url)
                    if "result" in answer:
                        break
                    last_err = f"JSON-RPC error: {answer.get('error')}"
                except (ConnectionError, urllib.error.URLError, OSError, ValueError) as e:
                    last_err = repr(e)
                now = time.perf_counter()
                if p.poll() is not None:
                    raise SystemExit(f"toolbox exited {p.returncode} before answering; see {log_path}")
                if now >= deadline:
                    raise SystemExit(f"toolbox did not answer within {POLL_BUDGET:.0f} s ({last_err}); see {log_path}")
                time.sleep(POLL_INTERVAL)
            dt = time.perf_counter() - t0
        finally:
            if p.returncode is None:
                p.kill()
        _, rss, cpu = _reap(p)
    tools = answer["result"].get("tools", [])
    if len(tools) != n_tools or answer["result"].get("nextCursor"):
        raise SystemExit(f"toolbox listed {len(tools)} tools (nextCursor={answer['result'].get('nextCursor')!r}), expected {n_tools}")
    return dt, rss, cpu, polls


# --------------------------------------------------------------------------- reporting


def summary(xs):
    return {
        "n": len(xs),
        "median": statistics.median(xs),
        "min": min(xs),
        "max": max(xs),
        "mean": statistics.fmean(xs),
        "stdev": statistics.stdev(xs) if len(xs) > 1 else 0.0,
    }


def machine():
    info = {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    info["mem_total_mib"] = round(int(line.split()[1]) / 1024)
                    break
    except OSError:
        pass
    return info


def cmd_out(cmd, cwd=None):
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None


def cpu_busy_s():
    """Machine-wide busy CPU seconds so far (all CPUs, from /proc/stat), or None."""
    try:
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal ...
    busy = f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] if len(f) > 7 else 0)
    return busy / os.sysconf("SC_CLK_TCK")


def wait_quiet(budget, window=5.0, threshold=0.05):
    """Wait (at most `budget` s) until the machine's busy CPU share over `window` s is below `threshold`."""
    t0 = time.perf_counter()
    ncpu = len(os.sched_getaffinity(0))
    while True:
        b0 = cpu_busy_s()
        if b0 is None:
            return {"waited_s": 0.0, "quiet": None, "last_busy_fraction": None}
        time.sleep(window)
        frac = (cpu_busy_s() - b0) / (window * ncpu)
        waited = time.perf_counter() - t0
        if frac < threshold:
            print(f"machine quiet ({100 * frac:.0f}% busy) after {waited:.0f} s", file=sys.stderr)
            return {"waited_s": waited, "quiet": True, "last_busy_fraction": frac}
        if waited >= budget:
            print(f"machine still {100 * frac:.0f}% busy after {waited:.0f} s; measuring anyway", file=sys.stderr)
            return {"waited_s": waited, "quiet": False, "last_busy_fraction": frac}
        print(f"waiting for a quiet machine: {100 * frac:.0f}% busy ({waited:.0f}/{budget:.0f} s)", file=sys.stderr)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def catalog_stats(d):
    files = [os.path.join(d, f) for f in os.listdir(d) if f.endswith(".yaml")]
    return {"files": len(files), "bytes": sum(os.path.getsize(f) for f in files)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--toolwright", required=True, help="the toolwright release binary")
    ap.add_argument("--toolbox", required=True, help="the MCP Toolbox binary")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--small", type=int, default=1000, help="tools in the small catalog (both tools)")
    ap.add_argument("--large", type=int, default=10000, help="tools in the large catalog (toolwright)")
    ap.add_argument("--workdir", default=os.path.join(HERE, "results", "tmp"))
    ap.add_argument("--results", default=os.path.join(HERE, "results"))
    ap.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                    help="before the rounds, wait up to SECONDS for other processes to use under 5%% of the CPUs "
                         "(measured over 5 s windows); default 0: do not wait")
    ap.add_argument("--toolwright-source", default=None,
                    help="where the toolwright binary came from (recorded in the results)")
    a = ap.parse_args(argv)
    if not 1 <= a.rounds <= 1000:
        ap.error("--rounds must be between 1 and 1000")

    sys.stdout.reconfigure(line_buffering=True)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)

    started = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()
    tw_version = cmd_out([a.toolwright, "--version"])
    tb_version = cmd_out([a.toolbox, "--version"])
    git_rev = cmd_out(["git", "rev-parse", "HEAD"], cwd=ROOT)
    git_dirty = bool(cmd_out(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT))
    work = os.path.join(a.workdir, "lint")
    if os.path.isdir(work):
        subprocess.run(["rm", "-rf", "--", work], check=True)
    os.makedirs(work)
    small_dir = os.path.join(work, f"toolwright-{a.small}")
    large_dir = os.path.join(work, f"toolwright-{a.large}")
    toolbox_cfg = os.path.join(work, f"toolbox-{a.small}.yaml")
    logdir = os.path.join(work, "logs")
    os.makedirs(logdir)

    print(f"generating catalogs in {work} ...", file=sys.stderr)
    gen_specs.main([str(a.small), small_dir, "--toolbox", toolbox_cfg])
    gen_specs.main([str(a.large), large_dir])

    # Validity checks, and warm-up (page cache, binaries) outside the measurements.
    print("checking: toolwright lint (0 diagnostics), toolbox (all tools listed) ...", file=sys.stderr)
    warm = {
        "toolwright_lint_small": run_lint(a.toolwright, small_dir, check_json=True),
        "toolwright_lint_large": run_lint(a.toolwright, large_dir, check_json=True),
        "toolbox_first_answer_small": run_toolbox(a.toolbox, toolbox_cfg, a.small, logdir, "warmup")[:2],
    }

    quiet = wait_quiet(a.wait_quiet) if a.wait_quiet > 0 else None

    samples = {"toolwright_lint_small": [], "toolbox_first_answer_small": [], "toolwright_lint_large": []}
    rss = {k: [] for k in samples}
    cpu = {k: [] for k in samples}
    polls = []
    busy0, wall0, self0 = cpu_busy_s(), time.perf_counter(), sum(os.times()[:2])
    try:
        for r in range(a.rounds):
            for key, fn in (
                ("toolwright_lint_small", lambda: run_lint(a.toolwright, small_dir)),
                ("toolbox_first_answer_small", lambda: run_toolbox(a.toolbox, toolbox_cfg, a.small, logdir, f"round{r + 1}")),
                ("toolwright_lint_large", lambda: run_lint(a.toolwright, large_dir)),
            ):
                got = fn()
                samples[key].append(got[0])
                rss[key].append(got[1])
                cpu[key].append(got[2])
                if len(got) > 3:
                    polls.append(got[3])
            print(
                f"round {r + 1}/{a.rounds}: lint {a.small} {samples['toolwright_lint_small'][-1]:.3f} s, "
                f"toolbox {samples['toolbox_first_answer_small'][-1]:.3f} s, "
                f"lint {a.large} {samples['toolwright_lint_large'][-1]:.3f} s",
                file=sys.stderr,
            )
    finally:
        _cleanup()
    busy1, wall1, self1 = cpu_busy_s(), time.perf_counter(), sum(os.times()[:2])
    other = None
    if busy0 is not None and busy1 is not None:
        ours = sum(sum(v) for v in cpu.values()) + (self1 - self0)
        capacity = (wall1 - wall0) * len(os.sched_getaffinity(0))
        other = {
            "busy_cpu_s_machine": busy1 - busy0,
            "busy_cpu_s_benchmark": ours,
            "capacity_cpu_s": capacity,
            "other_fraction": max(0.0, (busy1 - busy0 - ours) / capacity),
        }

    stats = {k: summary(v) for k, v in samples.items()}
    rss_stats = {k: summary([x / 1024 for x in v]) for k, v in rss.items()}
    cpu_stats = {k: summary(v) for k, v in cpu.items()}
    r_tb = stats["toolwright_lint_small"]["median"] / stats["toolbox_first_answer_small"]["median"]
    r_scale = stats["toolwright_lint_large"]["median"] / stats["toolwright_lint_small"]["median"]


    result = {
        "benchmark": "lint (issue 2)",
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "loadavg_1_5_15_min": {"start": load_start, "end": os.getloadavg()},
        "wait_quiet": quiet,
        "other_cpu_use_during_rounds": other,
        "machine": machine(),
        "versions": {
            "toolwright": tw_version,
            "toolwright_source": a.toolwright_source,
            "checkout_git_at_start": git_rev,
            "checkout_dirty_at_start": git_dirty,
            "toolwright_bin": os.path.abspath(a.toolwright),
            "toolwright_bin_sha256": sha256_file(a.toolwright),
            "toolbox": tb_version,
        },
        "method": {
            "rounds": a.rounds,
            "order": "per round: toolwright lint small, Toolbox first answer small, toolwright lint large (A B C A B C ...)",
            "warmup": "one untimed run of each before the rounds (also the validity check)",
            "toolwright_lint": "wall time from Popen to wait4 of `toolwright lint DIR` (stdout to /dev/null); exit 0 required; "
            "the warm-up run with --format json must print [] (0 diagnostics)",
            "toolbox_first_request": "MCP `tools/list` JSON-RPC POST to http://127.0.0.1:PORT/mcp "
            "(Content-Type: application/json, Accept: application/json, text/event-stream; no initialize: Toolbox answers "
            "tools/list without a session), polled every 10 ms for at most 30 s from process start; the time is taken when "
            "the first successful answer arrives, which must list all tools (no nextCursor); then the process is killed. "
            "Toolbox is started as `toolbox --config FILE --address 127.0.0.1 --port P --disable-version-check`.",
            "other_cpu_use": "machine-wide busy CPU time (/proc/stat) during the rounds minus the benchmark's own "
            "(children and harness), as a fraction of nproc x wall time: how much other work disturbed the run",
            "peak_rss": "ru_maxrss of that one child from os.wait4 (KiB, reported in MiB)",
            "cpu": "ru_utime + ru_stime of that one child from os.wait4 (for Toolbox: until it was killed "
            "right after its first answer); less sensitive than wall time to other load on the machine",
            "catalogs": "bench/gen_specs.py: the same tools for both; toolwright gets 10 tools per file plus connections.yaml, "
            "Toolbox one flat multi-document file",
        },
        "catalogs": {
            "small": {"tools": a.small, **catalog_stats(small_dir), "toolbox_bytes": os.path.getsize(toolbox_cfg)},
            "large": {"tools": a.large, **catalog_stats(large_dir)},
        },
        "warmup_s": {k: v[0] for k, v in warm.items()},
        "samples_s": samples,
        "peak_rss_kib": rss,
        "cpu_s": cpu,
        "toolbox_polls": polls,
        "stats_s": stats,
        "peak_rss_mib": rss_stats,
        "cpu_stats_s": cpu_stats,
        "ratios": {
            "toolwright_lint_small_over_toolbox_first_answer_small": {
                "value": r_tb,
                "goal_issue_2": 1.0,
                "goal_long_term": 0.1,
                "meets_issue_2": r_tb <= 1.0,
                "meets_long_term": r_tb <= 0.1,
            },
            "toolwright_lint_large_over_small": {"value": r_scale, "goal": 12.0, "meets": r_scale <= 12.0},
        },
        "ratios_by_cpu_time": {
            "toolwright_lint_small_over_toolbox_first_answer_small":
                cpu_stats["toolwright_lint_small"]["median"] / cpu_stats["toolbox_first_answer_small"]["median"],
            "toolwright_lint_large_over_small":
                cpu_stats["toolwright_lint_large"]["median"] / cpu_stats["toolwright_lint_small"]["median"],
        },
    }

    os.makedirs(a.results, exist_ok=True)
    out = os.path.join(a.results, f"lint-{started.strftime('%Y-%m-%d')}.json")
    if os.path.exists(out):
        out = os.path.join(a.results, f"lint-{started.strftime('%Y-%m-%dT%H%M%SZ')}.json")
    with open(out, "w") as fh:
        json.dump(result, fh, indent=2)
        fh.write("\n")

    m = result["machine"]
    print()
    print(f"lint benchmark, {a.rounds} rounds; {m.get('cpu_model', '?')}, {m['nproc']} CPUs, {m.get('mem_total_mib', '?')} MiB")
    print(f"toolwright: {tw_version} ({a.toolwright_source or 'source not given'})")
    print(f"toolbox: {tb_version}")
    if other is not None and other["other_fraction"] > 0.05:
        print(f"warning: other processes used {100 * other['other_fraction']:.0f}% of the machine's CPU during the rounds: "
              "wall times are inflated (the CPU column is steadier)")
    print()
    rows = [
        (f"toolwright lint, {a.small:,} specs", "toolwright_lint_small"),
        (f"toolwright lint, {a.large:,} specs", "toolwright_lint_large"),
        (f"Toolbox start to first tools/list, {a.small:,} tools", "toolbox_first_answer_small"),
    ]
    print(f"{'what':<48} {'median s':>9} {'min s':>9} {'max s':>9} {'CPU s':>7} {'peak RSS MiB':>13}")
    for label, k in rows:
        s = stats[k]
        print(f"{label:<48} {s['median']:>9.3f} {s['min']:>9.3f} {s['max']:>9.3f} "
              f"{cpu_stats[k]['median']:>7.3f} {rss_stats[k]['median']:>13.1f}")
    print("(wall time: median, min, max; CPU s and peak RSS: medians)")
    print()
    print(f"toolwright lint {a.small:,} / Toolbox load {a.small:,}: {r_tb:.3f}  (goal <= 1.0 for issue 2: "
          f"{'met' if r_tb <= 1.0 else 'NOT met'}; <= 0.1 long-term: {'met' if r_tb <= 0.1 else 'not met'})")
    print(f"toolwright lint {a.large:,} / lint {a.small:,}:    {r_scale:.2f}   (goal <= 12: {'met' if r_scale <= 12 else 'NOT met'})")
    rc = result["ratios_by_cpu_time"]
    print(f"the same ratios by CPU time: {rc['toolwright_lint_small_over_toolbox_first_answer_small']:.3f} and "
          f"{rc['toolwright_lint_large_over_small']:.2f}")
    print(f"\nwrote {os.path.relpath(out, ROOT)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        _cleanup()
