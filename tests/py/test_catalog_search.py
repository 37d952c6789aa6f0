"""The bundled search catalog (catalog/search) against a fake OpenSearch on 127.0.0.1. The folder is
copied and its connection pointed at the fake; nothing else changes. Each test checks what the fake
received (method, path, basic auth header, the query DSL with the caller's text as a JSON string)
and what the tool made of the answer."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import _env
from helpers import LocalHttpServer, QuietHandler

ROOT = Path(__file__).resolve().parents[2]
FOLDER = ROOT / "catalog" / "search"
USER, PASSWORD = "sre-bot", "pa:ss w0rd-é"
# Text that would break out of a JSON string, or of a query_string query, if it were pasted in.
NASTY = 'pool" } }, "match_all": {}, "x": "\\ OR *:* AND title:*'

SERVICES = [
    {"service": "checkout", "calls": ["payments", "inventory"], "team": "shop", "tier": "1", "oncall": "shop-oncall"},
    {"service": "web", "calls": ["checkout", "search"], "team": "frontend", "tier": "1"},
    {"service": "mobile-bff", "calls": "checkout", "team": "mobile", "tier": "2"},
    {"service": "payments", "calls": ["bank-gateway"], "team": "payments", "tier": "1"},
]


def _ago(days: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


INCIDENTS = [
    {"_id": "pm-1", "title": "Checkout 5xx: connection pool exhausted", "service": "checkout", "severity": "SEV2",
     "started_at": _ago(20), "summary": "DB connection pool exhausted after payments deploy", "root_cause": "pool size 10"},
    {"_id": "pm-2", "title": "Search latency", "service": "search", "severity": "SEV3",
     "started_at": _ago(40), "summary": "slow queries", "root_cause": "missing index"},
    {"_id": "pm-3", "title": "Payments connection timeout", "service": "payments", "severity": "SEV1",
     "started_at": _ago(400), "summary": "bank gateway connection timeouts", "root_cause": "expired certificate"},
]


def _values(v) -> list:
    return v if isinstance(v, list) else [v]


def _words(text: str) -> set[str]:
    return {w for w in "".join(c.lower() if c.isalnum() else " " for c in text).split()}


class FakeOpenSearch(LocalHttpServer):
    """Mirrors the documented OpenSearch / Elasticsearch Search API, `POST /<index>/_search` with a
    JSON query DSL body: HTTP basic auth (`Authorization: Basic base64(user:password)`, else 401
    with `WWW-Authenticate: Basic`), an unknown index is 404 `index_not_found_exception`, and the
    answer is `{"took", "timed_out", "_shards", "hits": {"total": {"value", "relation"},
    "max_score", "hits": [{"_index", "_id", "_score", "_source", "matched_queries"}]}}`, where
    `matched_queries` names the named queries (`_name`) a hit matched and `_source` is filtered
    by the request's `_source` list. It evaluates the DSL the catalog sends (bool must / should /
    filter with minimum_should_match, term on a keyword or keyword array, multi_match as any word
    of any field, range gte on a date, size) and answers 400 `parsing_exception` to any other
    query, such as query_string."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        fake = self

        class Handler(QuietHandler):
            def do_POST(self):  # noqa: N802 (stdlib naming)
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length)
                with fake.lock:
                    fake.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "raw": raw})
                expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    return self._send(401, b'{"error":{"type":"security_exception","reason":"authentication failed"},"status":401}',
                                      "application/json", {"WWW-Authenticate": 'Basic realm="security"'})
                index, _, rest = self.path.lstrip("/").partition("/")
                docs = {"service-catalog": [(str(i), d) for i, d in enumerate(SERVICES)],
                        "incidents": [(d["_id"], {k: v for k, v in d.items() if k != "_id"}) for d in INCIDENTS]}.get(index)
                if rest != "_search":
                    return self._json(405, {"error": "only _search here"})
                if docs is None:
                    return self._json(404, {"error": {"type": "index_not_found_exception", "reason": f"no such index [{index}]"}, "status": 404})
                try:
                    body = json.loads(raw)
                    hits = []
                    for doc_id, doc in docs:
                        ok, score, named = fake.evaluate(body["query"], doc)
                        if ok:
                            hits.append({"_index": index, "_id": doc_id, "_score": score, "_source": doc, "matched_queries": named})
                except (ValueError, KeyError, TypeError) as e:
                    return self._json(400, {"error": {"type": "parsing_exception", "reason": str(e)}, "status": 400})
                hits.sort(key=lambda h: -h["_score"])
                total = len(hits)
                hits = hits[: body.get("size", 10)]
                for h in hits:
                    if "_source" in body:
                        h["_source"] = {k: v for k, v in h["_source"].items() if k in body["_source"]}
                    if not h["matched_queries"]:
                        del h["matched_queries"]
                self._json(200, {"took": 1, "timed_out": False, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                                 "hits": {"total": {"value": total, "relation": "eq"},
                                          "max_score": max((h["_score"] for h in hits), default=None), "hits": hits}})

        super().__init__(Handler)

    def evaluate(self, q: dict, doc: dict) -> tuple[bool, float, list[str]]:
        """(matches, score, matched named queries) of one query clause on one document."""
        [(kind, spec)] = q.items()
        if kind == "bool":
            named: list[str] = []
            score = 0.0
            for clause in spec.get("must", []) + spec.get("filter", []):
                ok, s, n = self.evaluate(clause, doc)
                if not ok:
                    return False, 0.0, []
                score, named = score + s, named + n
            should = [self.evaluate(c, doc) for c in spec.get("should", [])]
            hit = [r for r in should if r[0]]
            if len(hit) < spec.get("minimum_should_match", 0 if spec.get("must") or spec.get("filter") else 1):
                return False, 0.0, []
            return True, score + sum(r[1] for r in hit), named + [n for r in hit for n in r[2]]
        if kind == "term":
            [(fld, cond)] = spec.items()
            ok = cond["value"] in _values(doc.get(fld, []))
            return ok, 1.0, [cond["_name"]] if ok and "_name" in cond else []
        if kind == "multi_match":
            want = _words(spec["query"])
            score = 0.0
            for f in spec["fields"]:
                fld, _, boost = f.partition("^")
                score += len(want & _words(str(doc.get(fld, "")))) * float(boost or 1)
            return score > 0, score, []
        if kind == "range":
            [(fld, cond)] = spec.items()
            return str(doc.get(fld, "")) >= cond["gte"], 0.0, []
        raise ValueError(f"unknown query [{kind}]")

    def take(self) -> list[dict]:
        with self.lock:
            out, self.requests = self.requests, []
        return out


@pytest.fixture(scope="module")
def fake():
    f = FakeOpenSearch().start()
    try:
        yield f
    finally:
        f.stop()


@pytest.fixture(scope="module")
def catalog(fake, tmp_path_factory) -> Path:
    dest = tmp_path_factory.mktemp("catalog") / "search"
    dest.mkdir()
    for spec in FOLDER.glob("*.yaml"):
        text = spec.read_text().replace("base_url: https://opensearch.logging:9200", f"base_url: {fake.base_url}")
        text = re.sub(r"allow_private_networks: \[.*\]", "allow_private_networks: true", text)
        (dest / spec.name).write_text(text)
    assert fake.base_url in (dest / "connections.yaml").read_text() and "allow_private_networks: true" in (dest / "connections.yaml").read_text()
    return dest


def run(toolwright_bin, tools, tool, args, secrets=(USER, PASSWORD)) -> subprocess.CompletedProcess:
    env = {k: v for k, v in _env().items() if k not in ("SEARCH_USERNAME", "SEARCH_PASSWORD", "TOOLWRIGHT_SECRETS_DIR")}
    if secrets:
        env.update(SEARCH_USERNAME=secrets[0], SEARCH_PASSWORD=secrets[1])
    return subprocess.run([toolwright_bin, "call", tool, "--args", json.dumps(args), "--tools", str(tools)],
                          capture_output=True, text=True, timeout=60, env=env)


def call(toolwright_bin, tools, tool, args) -> dict:
    p = run(toolwright_bin, tools, tool, args)
    assert p.returncode == 0, (tool, p.stdout, p.stderr)
    return json.loads(p.stdout)


def only_request(fake) -> tuple[dict, dict]:
    [req] = fake.take()
    assert req["headers"]["authorization"] == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode(), req
    assert req["headers"]["content-type"].startswith("application/json"), req
    return req, json.loads(req["raw"])


def lint(toolwright_bin, *paths) -> subprocess.CompletedProcess:
    return subprocess.run([toolwright_bin, "lint", *map(str, paths), "--deny-warnings"], capture_output=True, text=True, timeout=60, env=_env())


def test_the_folder_lints_clean_on_its_own(toolwright_bin):
    p = lint(toolwright_bin, FOLDER)
    assert p.returncode == 0, p.stdout + p.stderr


def test_the_folder_combines_with_aws_prometheus_and_the_example_catalog(toolwright_bin):
    # tests/fixtures/tools.d is the tests' copy of tools.d (the suite never reads tools.d itself).
    p = lint(toolwright_bin, ROOT / "catalog" / "aws", ROOT / "catalog" / "prometheus", FOLDER, ROOT / "tests" / "fixtures" / "tools.d")
    assert p.returncode == 0, p.stdout + p.stderr


def test_service_dependencies_both_directions(toolwright_bin, fake, catalog):
    fake.take()
    out = call(toolwright_bin, catalog, "search_service_dependencies", {"service": "checkout"})
    assert out == {
        "found": True,
        "service": {"service": "checkout", "team": "shop", "tier": "1", "oncall": "shop-oncall"},
        "calls": ["payments", "inventory"],
        "called_by": ["web", "mobile-bff"],
    }, out
    req, body = only_request(fake)
    assert req["path"] == "/service-catalog/_search", req
    assert body == {
        "size": 200,
        "_source": ["service", "calls", "team", "tier", "oncall", "repository"],
        "query": {"bool": {
            "should": [{"term": {"service": {"value": "checkout", "_name": "self"}}},
                       {"term": {"calls": {"value": "checkout", "_name": "caller"}}}],
            "minimum_should_match": 1,
        }},
    }, body


def test_service_dependencies_of_a_leaf_and_of_an_unknown_service(toolwright_bin, fake, catalog):
    out = call(toolwright_bin, catalog, "search_service_dependencies", {"service": "bank-gateway"})
    assert out == {"found": False, "service": None, "calls": [], "called_by": ["payments"]}, out
    out = call(toolwright_bin, catalog, "search_service_dependencies", {"service": "nope"})
    assert out == {"found": False, "service": None, "calls": [], "called_by": []}, out


def test_service_names_outside_the_pattern_are_refused_before_sending(toolwright_bin, fake, catalog):
    fake.take()
    p = run(toolwright_bin, catalog, "search_service_dependencies", {"service": 'checkout" OR *'})
    assert p.returncode == 1 and "service" in p.stderr, p.stderr
    assert fake.take() == []


def test_past_incidents_full_text_within_the_window(toolwright_bin, fake, catalog):
    fake.take()
    out = call(toolwright_bin, catalog, "search_past_incidents", {"text": "connection pool", "days": 90})
    assert out["total"] == 1 and [i["id"] for i in out["incidents"]] == ["pm-1"], out
    assert out["incidents"][0]["title"].startswith("Checkout 5xx") and out["incidents"][0]["severity"] == "SEV2", out
    req, _ = only_request(fake)
    assert req["path"] == "/incidents/_search", req
    # A wider window finds the old payments incident too, best match first.
    out = call(toolwright_bin, catalog, "search_past_incidents", {"text": "connection pool", "days": 1000})
    assert [i["id"] for i in out["incidents"]] == ["pm-1", "pm-3"], out


def test_past_incidents_body_is_match_and_range_dsl_with_the_text_as_a_json_string(toolwright_bin, fake, catalog):
    fake.take()
    before = datetime.now(timezone.utc).replace(microsecond=0)
    out = call(toolwright_bin, catalog, "search_past_incidents", {"text": NASTY, "days": 30, "limit": 5})
    after = datetime.now(timezone.utc)
    # The text is words to look for: "pool" finds the incident of the last 30 days that has it, and
    # nothing matches everything (pm-2, 40 days old, and pm-3 stay out).
    assert [i["id"] for i in out["incidents"]] == ["pm-1"], out
    req, body = only_request(fake)
    gte = body["query"]["bool"]["filter"][0]["range"]["started_at"]["gte"]
    assert body == {
        "size": 5,
        "_source": ["title", "service", "severity", "started_at", "resolved_at", "summary", "root_cause", "url"],
        "query": {"bool": {
            "must": [{"multi_match": {"query": NASTY, "fields": ["title^3", "summary^2", "root_cause", "service"]}}],
            "filter": [{"range": {"started_at": {"gte": gte}}}],
        }},
    }, body
    start = datetime.strptime(gte, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert before - timedelta(days=30, seconds=1) <= start <= after - timedelta(days=30), gte
    assert "query_string" not in req["raw"].decode(), req


def test_wrong_or_missing_credentials(toolwright_bin, fake, catalog):
    p = run(toolwright_bin, catalog, "search_past_incidents", {"text": "pool"}, secrets=(USER, "wrong"))
    assert p.returncode == 1 and "401" in p.stderr, p.stderr
    fake.take()
    p = run(toolwright_bin, catalog, "search_past_incidents", {"text": "pool"}, secrets=None)
    assert p.returncode == 1 and "SEARCH_" in p.stderr, p.stderr
    assert fake.take() == []
