"""The bundled Prometheus catalog (catalog/prometheus) against a real Prometheus (the `prometheus`
session fixture: it scrapes itself, a `toolwright serve --http` and a closed port every second).
The folder is copied and its connection pointed at that Prometheus; nothing else changes, except
in `signals_catalog`, where the metric names of the tool-built queries are Prometheus's own so
that they find data."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.parse
from pathlib import Path

import anyio
import pytest

from conftest import _env
from helpers import mcp_session, text_of

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "catalog" / "prometheus"
# A label value that would end its PromQL string literal if it were pasted in.
NASTY = 'no"such\\job'


def copy_catalog(dest: Path, url: str, rename: dict[str, str] | None = None) -> Path:
    dest.mkdir()
    for spec in FOLDER.glob("*.yaml"):
        text = spec.read_text()
        text = text.replace("base_url: http://prometheus.monitoring:9090", f"base_url: {url}")
        text = re.sub(r"allow_private_networks: \[.*\]", "allow_private_networks: true", text)
        for old, new in (rename or {}).items():
            text = text.replace(old, new)
        (dest / spec.name).write_text(text)
    assert url in (dest / "connections.yaml").read_text()
    return dest


@pytest.fixture(scope="module")
def catalog(prometheus, tmp_path_factory) -> Path:
    return copy_catalog(tmp_path_factory.mktemp("catalog") / "prometheus", prometheus.url)


@pytest.fixture(scope="module")
def signals_catalog(prometheus, tmp_path_factory) -> Path:
    """The same folder with the service tools' metrics renamed to the ones Prometheus exports
    about its own HTTP API (`prometheus_http_requests_total{code, handler}` and its duration
    histogram), scraped as job "prometheus"."""
    return copy_catalog(
        tmp_path_factory.mktemp("signals") / "prometheus",
        prometheus.url,
        {"http_request": "prometheus_http_request"},
    )


def run(toolwright_bin, tools, *args) -> subprocess.CompletedProcess:
    return subprocess.run([toolwright_bin, *args, "--tools", str(tools)], capture_output=True, text=True, timeout=60, env=_env())


def call(toolwright_bin, tools, tool, arguments) -> dict:
    p = run(toolwright_bin, tools, "call", tool, "--args", json.dumps(arguments))
    assert p.returncode == 0, (tool, p.stdout, p.stderr)
    return json.loads(p.stdout)


def lint(toolwright_bin, *paths) -> subprocess.CompletedProcess:
    return subprocess.run([toolwright_bin, "lint", *map(str, paths), "--deny-warnings"], capture_output=True, text=True, timeout=60, env=_env())


def test_the_folder_lints_clean_on_its_own(toolwright_bin):
    p = lint(toolwright_bin, FOLDER)
    assert p.returncode == 0, p.stdout + p.stderr


def test_the_folder_combines_with_aws_and_the_example_catalog(toolwright_bin):
    # tests/fixtures/tools.d is the tests' copy of tools.d (the suite never reads tools.d itself).
    p = lint(toolwright_bin, ROOT / "catalog" / "aws", FOLDER, ROOT / "tests" / "fixtures" / "tools.d")
    assert p.returncode == 0, p.stdout + p.stderr


def test_instant_query_of_up_returns_the_scraped_targets(toolwright_bin, prometheus, catalog):
    out = call(toolwright_bin, catalog, "prometheus_query", {"query": "up"})
    assert out["result_type"] == "vector", out
    up = {(s["labels"]["job"], s["labels"]["instance"]): s["value"] for s in out["series"]}
    assert up == {
        ("prometheus", prometheus.url.removeprefix("http://")): "1",
        ("toolwright", prometheus.toolwright_target): "1",
        ("closed-port", prometheus.down_target): "0",
    }, out
    assert all(s["labels"]["__name__"] == "up" for s in out["series"]), out


def test_instant_query_minutes_ago_is_evaluated_in_the_past(toolwright_bin, catalog):
    # An hour ago this Prometheus had not started: no sample of `up` within the lookback.
    out = call(toolwright_bin, catalog, "prometheus_query", {"query": "up", "minutes_ago": 60})
    assert out["series"] == [], out


def test_instant_query_scalar(toolwright_bin, catalog):
    out = call(toolwright_bin, catalog, "prometheus_query", {"query": "1 + 2"})
    assert out["result_type"] == "scalar" and out["value"] == "3", out


def test_range_query_returns_several_points(toolwright_bin, prometheus, catalog):
    out = call(toolwright_bin, catalog, "prometheus_query_range", {"query": 'up{job="toolwright"}', "minutes": 1, "step_seconds": 1})
    assert out["result_type"] == "matrix" and len(out["series"]) == 1, out
    series = out["series"][0]
    assert series["labels"]["instance"] == prometheus.toolwright_target, out
    assert series["points"] == len(series["values"]) >= 3, out
    times = [t for t, _ in series["values"]]
    assert times == sorted(times) and all(b - a == 1 for a, b in zip(times, times[1:])), out
    assert {v for _, v in series["values"]} == {"1"}, out


def test_targets_down_lists_the_closed_port_only(toolwright_bin, prometheus, catalog):
    out = call(toolwright_bin, catalog, "prometheus_targets_down", {})
    assert out["active"] == 3, out
    [down] = out["down"]
    assert down["job"] == "closed-port" and down["instance"] == prometheus.down_target, out
    assert down["url"] == f"http://{prometheus.down_target}/metrics", out
    assert "connection refused" in down["error"], out


def test_a_label_value_with_quote_and_backslash_stays_one_string_literal(toolwright_bin, signals_catalog):
    args = {"service": NASTY, "window": "1m"}
    rendered = run(toolwright_bin, signals_catalog, "render", "prometheus_service_error_rate", "--args", json.dumps(args))
    assert rendered.returncode == 0, rendered.stderr
    # The value is one PromQL string literal, its `"` and `\` escaped, in all four matchers.
    url = urllib.parse.urlsplit(json.loads(rendered.stdout)["url"])
    [promql] = urllib.parse.parse_qs(url.query)["query"]
    assert promql.count('{job="no\\"such\\\\job"}') == 2 and promql.count('{job="no\\"such\\\\job", code=~"5.."}') == 2, promql
    # Prometheus parses the expression (a parse error would fail the call) and finds no such job.
    assert call(toolwright_bin, signals_catalog, "prometheus_service_error_rate", args) == {"found": False}
    assert call(toolwright_bin, signals_catalog, "prometheus_service_latency", args) == {"found": False}


def test_tool_built_queries_find_a_real_service(toolwright_bin, signals_catalog):
    out = call(toolwright_bin, signals_catalog, "prometheus_service_error_rate", {"service": "prometheus", "window": "1m"})
    assert out["found"] is True, out
    assert float(out["requests_per_second"]) > 0, out  # the scrapes of its own /metrics
    assert out["errors_per_second"] == "0" and out["error_ratio"] == "0", out
    out = call(toolwright_bin, signals_catalog, "prometheus_service_latency", {"service": "prometheus", "window": "1m", "quantile": 0.5})
    assert out["found"] is True and 0 < float(out["seconds"]) < 10, out


def test_a_bad_raw_query_is_an_error_result_with_prometheus_message(toolwright_bin, catalog):
    p = run(toolwright_bin, catalog, "call", "prometheus_query", "--args", json.dumps({"query": "sum(rate(up[5m])"}))
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert "400" in p.stderr and "bad_data" in p.stderr and "parse error" in p.stderr, p.stderr


@pytest.mark.anyio
async def test_a_bad_raw_query_over_mcp_is_an_is_error_result(toolwright_bin, catalog):
    with anyio.fail_after(60):
        async with mcp_session("stdio", toolwright_bin=toolwright_bin, tools_dir=str(catalog)) as session:
            result = await session.call_tool("prometheus_query_range", {"query": "rate(up)", "minutes": 5})
            assert result.is_error is True, result
            text = text_of(result)
            assert "bad_data" in text and "expected type range vector" in text, text
            result = await session.call_tool("prometheus_query", {"query": "up"})
            assert result.is_error is not True and result.structured_content["result_type"] == "vector", result
