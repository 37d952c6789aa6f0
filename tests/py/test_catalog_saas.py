"""The bundled SaaS catalog folders (catalog/grafana, datadog, pagerduty, opsgenie, slack, jira), each
called through the real binary (`toolwright call`) against a local fake of its API.

Each fake is a Python http.server on 127.0.0.1 (a fresh port each) whose docstring says which documented
behaviour of the real API it mirrors. It records every request, checks the auth header the API needs and
the documented request shape (method, path, query parameters, JSON body), and answers with the documented
shape of the API's JSON answer. A folder is copied to tmp with only its `base_url` pointed at the fake (plus
`allow_private_networks: true`); secrets come from environment variables. Every test asserts on the tool's
answer and on what the fake received."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from conftest import _env
from helpers import LocalHttpServer, QuietHandler

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ["grafana", "datadog", "pagerduty", "opsgenie", "slack", "jira"]

SECRETS = {
    "GRAFANA_TOKEN": "glsa_test-grafana-token-0001",
    "DD_API_KEY": "dd-api-key-0002",
    "DD_APP_KEY": "dd-app-key-0003",
    "PAGERDUTY_TOKEN": "pd-rest-key-0004",
    "OPSGENIE_API_KEY": "og-genie-key-0005",
    "SLACK_BOT_TOKEN": "xoxb-test-slack-0006",
    "JIRA_EMAIL": "bot@example.com",
    "JIRA_API_TOKEN": "jira-api-token-0007",
}


# --------------------------------------------------------------------------- the fakes


@dataclass
class Received:
    method: str
    path: str  # decoded path, without the query
    raw: str  # the request target as sent
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: object


class Fake(LocalHttpServer):
    """Base of the fakes: records every request and answers with `answer(req) -> (status, json)`."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Received] = []
        fake = self

        class Handler(QuietHandler):
            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw_body = self.rfile.read(n) if n else b""
                split = urlsplit(self.path)
                req = Received(
                    method=self.command,
                    path=unquote(split.path),
                    raw=self.path,
                    query=parse_qs(split.query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=json.loads(raw_body) if raw_body else None,
                )
                with fake.lock:
                    fake.requests.append(req)
                status, value = fake.answer(req)
                self._json(status, value)

            do_GET = do_POST = do_PUT = _any

        super().__init__(Handler)

    def answer(self, req: Received) -> tuple[int, object]:
        raise NotImplementedError

    def received(self) -> list[Received]:
        with self.lock:
            return list(self.requests)

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()


def one(query: dict[str, list[str]], name: str) -> str:
    values = query.get(name)
    assert values is not None and len(values) == 1, (name, query)
    return values[0]


class GrafanaFake(Fake):
    """Grafana HTTP API: a service-account token as `Authorization: Bearer <token>` (else 401
    `{"message": "invalid API key"}`). `GET /api/search` (query, type=dash-db, limit) answers an array of
    hits {id, uid, title, uri, url, slug, type: "dash-db", tags, isStarred, folderUid, folderTitle};
    `GET /api/annotations` (from and to in epoch milliseconds, tags, dashboardUID, limit) answers an array
    of annotations {id, alertId, dashboardUID, panelId, newState, time, timeEnd, text, tags, ...}."""

    def answer(self, req):
        if req.headers.get("authorization") != f"Bearer {SECRETS['GRAFANA_TOKEN']}":
            return 401, {"message": "invalid API key"}
        if req.method == "GET" and req.path == "/api/search":
            assert one(req.query, "type") == "dash-db"
            text = one(req.query, "query").lower()
            hits = [
                {"id": 7, "uid": "checkout-overview", "title": "Checkout overview", "uri": "db/checkout-overview",
                 "url": "/d/checkout-overview/checkout-overview", "slug": "", "type": "dash-db", "tags": ["checkout"],
                 "isStarred": False, "folderUid": "svc", "folderTitle": "Services"},
                {"id": 8, "uid": "payments-db", "title": "Payments database", "uri": "db/payments-database",
                 "url": "/d/payments-db/payments-database", "slug": "", "type": "dash-db", "tags": [],
                 "isStarred": False},
            ]
            hits = [h for h in hits if text in h["title"].lower()][: int(one(req.query, "limit"))]
            return 200, hits
        if req.method == "GET" and req.path == "/api/annotations":
            start, end = int(one(req.query, "from")), int(one(req.query, "to"))
            t = (start + end) // 2
            return 200, [
                {"id": 1, "alertId": 0, "dashboardId": 7, "dashboardUID": "checkout-overview", "panelId": 2, "userId": 1,
                 "newState": "", "prevState": "", "created": t, "updated": t, "time": t, "timeEnd": t,
                 "text": "deploy checkout v42", "tags": ["deploy"], "login": "ci", "email": "ci@example.com",
                 "avatarUrl": "", "data": {}},
                {"id": 2, "alertId": 3, "dashboardId": 7, "dashboardUID": "checkout-overview", "panelId": 4, "userId": 0,
                 "newState": "alerting", "prevState": "ok", "created": t, "updated": t, "time": t - 1000,
                 "timeEnd": t - 1000, "text": "5xx above 1%", "tags": [], "login": "", "email": "", "avatarUrl": "",
                 "data": {}},
            ]
        return 404, {"message": "Not found"}


class DatadogFake(Fake):
    """Datadog API v1: headers `DD-API-KEY` and `DD-APPLICATION-KEY` (else 403 `{"errors": ["Forbidden"]}`).
    `GET /api/v1/query` (from and to in epoch seconds, query) answers {status: "ok", res_type: "time_series",
    query, from_date, to_date (milliseconds), series: [{metric, scope, expression, pointlist: [[ms, value]],
    unit, interval, length, ...}]}; `GET /api/v1/monitor` (monitor_tags, name, group_states, page, page_size)
    answers an array of monitors {id, name, type, query, tags, overall_state, priority, state: {groups}}."""

    QUERY = re.compile(r"^(avg|sum|min|max):([A-Za-z][A-Za-z0-9_.]*)\{([^{}]*)\}(?: by \{([^{}]*)\})?$")

    def answer(self, req):
        if (req.headers.get("dd-api-key"), req.headers.get("dd-application-key")) != (SECRETS["DD_API_KEY"], SECRETS["DD_APP_KEY"]):
            return 403, {"errors": ["Forbidden"]}
        if req.method == "GET" and req.path == "/api/v1/query":
            start, end, q = int(one(req.query, "from")), int(one(req.query, "to")), one(req.query, "query")
            m = self.QUERY.match(q)
            if not m:
                return 400, {"status": "error", "error": f"Error parsing query: {q}"}
            _, metric, scope, by = m.groups()
            groups = ["host:web-1", "host:web-2"] if by == "host" else [None]
            series = []
            for i, g in enumerate(groups):
                s = ",".join(x for x in [scope if scope != "*" else "", g] if x) or "*"
                series.append({"metric": metric, "display_name": metric, "scope": s, "expression": q, "aggr": m.group(1),
                               "pointlist": [[start * 1000, 1.5 + i], [end * 1000, 2.5 + i]], "length": 2, "interval": 60,
                               "start": start * 1000, "end": end * 1000, "tag_set": [g] if g else [],
                               "unit": [{"family": "percentage", "name": "percent", "short_name": "%", "plural": "percent",
                                         "scale_factor": 1.0}, None]})
            return 200, {"status": "ok", "res_type": "time_series", "resp_version": 1, "query": q, "message": "",
                         "from_date": start * 1000, "to_date": end * 1000, "group_by": [by] if by else [], "series": series}
        if req.method == "GET" and req.path == "/api/v1/monitor":
            monitors = [
                {"id": 101, "name": "checkout latency", "type": "metric alert", "query": "avg(last_5m):avg:trace.x{*} > 1",
                 "tags": ["team:payments", "env:prod"], "overall_state": "OK", "priority": 3, "message": "",
                 "state": {"groups": {}}},
                {"id": 102, "name": "checkout errors", "type": "metric alert", "query": "sum(last_5m):sum:errors{*} > 10",
                 "tags": ["team:payments", "env:prod"], "overall_state": "Alert", "priority": 1, "message": "",
                 "state": {"groups": {"host:web-1": {"status": "Alert", "name": "host:web-1"},
                                      "host:web-2": {"status": "OK", "name": "host:web-2"}}}},
            ]
            wanted = [t for t in one(req.query, "monitor_tags").split(",")] if "monitor_tags" in req.query else []
            monitors = [m for m in monitors if all(t in m["tags"] for t in wanted)]
            return 200, monitors
        return 404, {"errors": ["Not found"]}


class PagerDutyFake(Fake):
    """PagerDuty REST API v2: `Authorization: Token token=<key>` (else 401 `{"error": {"message":
    "Unauthenticated", "code": 2006}}`) and `Accept: application/vnd.pagerduty+json;version=2`. `GET
    /incidents` (statuses[], service_ids[], since, until, limit, offset) answers {incidents: [...], limit,
    offset, more, total} (classic offset pagination); `PUT /incidents/{id}` needs a `From` header with a
    user's email and the body {incident: {type: "incident_reference", status}}, and answers {incident: {...}}."""

    def __init__(self, count: int = 30) -> None:
        super().__init__()
        self.incidents = [
            {"id": f"Q{n:013d}", "type": "incident", "summary": f"[#{n}] disk full", "title": f"disk full {n}",
             "incident_number": n, "status": "triggered" if n % 2 else "acknowledged", "urgency": "high",
             "created_at": "2026-12-06T10:00:00Z", "html_url": f"https://example.pagerduty.com/incidents/Q{n:013d}",
             "service": {"id": "PX1234A", "type": "service_reference", "summary": "checkout"},
             "assignments": [{"at": "2026-12-06T10:00:00Z", "assignee": {"id": "PU1", "type": "user_reference", "summary": "Ada"}}]}
            for n in range(1, count + 1)
        ]

    def answer(self, req):
        if req.headers.get("authorization") != f"Token token={SECRETS['PAGERDUTY_TOKEN']}":
            return 401, {"error": {"message": "Unauthenticated", "code": 2006}}
        if req.headers.get("accept") != "application/vnd.pagerduty+json;version=2":
            return 406, {"error": {"message": "Not Acceptable"}}
        if req.method == "GET" and req.path == "/incidents":
            limit, offset = int(one(req.query, "limit")), int(one(req.query, "offset"))
            page = self.incidents[offset: offset + limit]
            return 200, {"incidents": page, "limit": limit, "offset": offset, "total": None,
                         "more": offset + limit < len(self.incidents)}
        m = re.fullmatch(r"/incidents/([A-Z0-9]+)", req.path)
        if req.method == "PUT" and m:
            if not req.headers.get("from"):
                return 400, {"error": {"message": "You must specify a user's email address in the \"From\" header", "code": 2001}}
            if req.body != {"incident": {"type": "incident_reference", "status": "acknowledged"}}:
                return 400, {"error": {"message": "Invalid Input Provided", "code": 2001}}
            return 200, {"incident": {"id": m.group(1), "type": "incident", "incident_number": 7, "title": "disk full",
                                      "status": "acknowledged", "html_url": f"https://example.pagerduty.com/incidents/{m.group(1)}",
                                      "acknowledgements": [{"at": "2026-12-06T10:01:00Z"}]}}
        return 404, {"error": {"message": "Not Found", "code": 2100}}


class OpsgenieFake(Fake):
    """Opsgenie Alert API v2: `Authorization: GenieKey <key>` (else 401 {message, took, requestId}).
    `GET /v2/alerts` (query in Opsgenie's search syntax, limit, sort, order) answers {data: [{id, tinyId,
    alias, message, status, acknowledged, isSeen, tags, snoozed, count, lastOccurredAt, createdAt, updatedAt,
    source, owner, priority}], paging, took, requestId}; `POST /v2/alerts/{id}/acknowledge?identifierType=id`
    with an optional JSON body {user, source, note} answers 202 {result: "Request will be processed", took,
    requestId}."""

    def answer(self, req):
        if req.headers.get("authorization") != f"GenieKey {SECRETS['OPSGENIE_API_KEY']}":
            return 401, {"message": "Could not authenticate", "took": 0.0, "requestId": "r-401"}
        if req.method == "GET" and req.path == "/v2/alerts":
            return 200, {"data": [
                {"id": "70413a06-38d6-4c85-92b8-5ebc900d42e2", "tinyId": "1791", "alias": "db-disk", "message": "db disk 95%",
                 "status": "open", "acknowledged": False, "isSeen": True, "tags": ["database"], "snoozed": False, "count": 3,
                 "lastOccurredAt": "2026-12-06T10:05:00.000Z", "createdAt": "2026-12-06T10:00:00.000Z",
                 "updatedAt": "2026-12-06T10:05:00.000Z", "source": "prometheus", "owner": "", "priority": "P1",
                 "responders": [], "integration": {"id": "i1", "name": "API", "type": "API"}}],
                "paging": {"first": "", "last": ""}, "took": 0.01, "requestId": "r-1"}
        m = re.fullmatch(r"/v2/alerts/([A-Za-z0-9-]+)/acknowledge", req.path)
        if req.method == "POST" and m:
            if one(req.query, "identifierType") != "id":
                return 422, {"message": "identifierType must be id, tiny or alias", "took": 0.0, "requestId": "r-422"}
            return 202, {"result": "Request will be processed", "took": 0.02, "requestId": "r-ack-1"}
        return 404, {"message": "Not found", "took": 0.0, "requestId": "r-404"}


class SlackFake(Fake):
    """Slack Web API `chat.postMessage`: `POST /chat.postMessage` with `Authorization: Bearer <bot token>`
    and a JSON body {channel, text}. Slack answers HTTP 200 in every case: {ok: true, channel, ts, message}
    on success, {ok: false, error: "invalid_auth"} for a wrong token, {ok: false, error: "not_in_channel"}
    when the bot is not a member of the channel."""

    MEMBER_OF = {"C0123INCID"}

    def answer(self, req):
        if req.method != "POST" or req.path != "/chat.postMessage":
            return 404, {"ok": False, "error": "unknown_method"}
        if req.headers.get("authorization") != f"Bearer {SECRETS['SLACK_BOT_TOKEN']}":
            return 200, {"ok": False, "error": "invalid_auth"}
        if not req.headers.get("content-type", "").startswith("application/json"):
            return 200, {"ok": False, "error": "invalid_form_data"}
        body = req.body
        if not isinstance(body, dict) or not body.get("text"):
            return 200, {"ok": False, "error": "no_text"}
        if body.get("channel") not in self.MEMBER_OF:
            return 200, {"ok": False, "error": "not_in_channel"}
        return 200, {"ok": True, "channel": body["channel"], "ts": "1765015500.000100",
                     "message": {"type": "message", "text": body["text"], "user": "U0BOT", "ts": "1765015500.000100"}}


def jql_parse(jql: str) -> list[tuple[str, str, str]]:
    """Parses the JQL this catalog builds: `field op "literal"` clauses joined by AND, then `ORDER BY f DESC`.
    String literals follow JQL's grammar: double quotes, with `\\"` and `\\\\` escaping `"` and `\\`.
    Raises ValueError on anything else (as Jira answers 400 to invalid JQL)."""
    i, clauses = 0, []

    def skip_ws():
        nonlocal i
        while i < len(jql) and jql[i] == " ":
            i += 1

    def word():
        nonlocal i
        m = re.compile(r"[A-Za-z]+|=|~").match(jql, i)
        if not m:
            raise ValueError(f"expected a word at {i}: {jql[i:]!r}")
        i = m.end()
        return m.group(0)

    def literal():
        nonlocal i
        if jql[i:i + 1] != '"':
            raise ValueError(f"expected a string literal at {i}")
        i += 1
        out = []
        while True:
            if i >= len(jql):
                raise ValueError("unterminated string literal")
            c = jql[i]
            if c == "\\":
                if i + 1 >= len(jql) or jql[i + 1] not in '"\\':
                    raise ValueError(f"bad escape at {i}")
                out.append(jql[i + 1])
                i += 2
            elif c == '"':
                i += 1
                return "".join(out)
            else:
                out.append(c)
                i += 1

    while True:
        skip_ws()
        field = word()
        if field == "ORDER":
            skip_ws()
            if word() != "BY":
                raise ValueError("expected BY")
            skip_ws()
            word()
            skip_ws()
            if word() not in ("ASC", "DESC"):
                raise ValueError("expected ASC or DESC")
            if i != len(jql):
                raise ValueError(f"trailing text {jql[i:]!r}")
            return clauses
        skip_ws()
        op = word()
        skip_ws()
        clauses.append((field, op, literal()))
        skip_ws()
        if jql.startswith("AND ", i):
            i += 4
        elif not jql.startswith("ORDER", i):
            raise ValueError(f"expected AND or ORDER at {i}: {jql[i:]!r}")


class JiraFake(Fake):
    """Jira Cloud REST API v3: basic auth with the account email and an API token (else 401
    `{"errorMessages": ["..."]}`). `POST /rest/api/3/search/jql` with {jql, maxResults, fields,
    nextPageToken?} answers {issues: [{id, key, self, fields}], nextPageToken?, isLast} (token pagination;
    invalid JQL is 400 with errorMessages); `POST /rest/api/3/issue` with {fields: {project: {key},
    issuetype: {name}, summary, description (an Atlassian document)}} answers 201 {id, key, self}."""

    def __init__(self) -> None:
        super().__init__()
        self.parsed: list[list[tuple[str, str, str]]] = []

    def answer(self, req):
        expected = base64.b64encode(f"{SECRETS['JIRA_EMAIL']}:{SECRETS['JIRA_API_TOKEN']}".encode()).decode()
        if req.headers.get("authorization") != f"Basic {expected}":
            return 401, {"errorMessages": ["Client must be authenticated to access this resource."], "errors": {}}
        if req.method == "POST" and req.path == "/rest/api/3/search/jql":
            try:
                clauses = jql_parse(req.body["jql"])
            except (ValueError, KeyError, TypeError) as e:
                return 400, {"errorMessages": [f"Error in the JQL Query: {e}"], "errors": {}}
            with self.lock:
                self.parsed.append(clauses)
            key = dict((f, v) for f, _, v in clauses)["project"]
            page = 2 if req.body.get("nextPageToken") == "page-2-token" else 1

            def issue(n):
                return {"id": str(10000 + n), "key": f"{key}-{n}", "self": f"https://x/rest/api/3/issue/{10000 + n}",
                        "fields": {"summary": f"issue {n}", "status": {"name": "In Progress"}, "issuetype": {"name": "Task"},
                                   "priority": {"name": "High"}, "assignee": {"displayName": "Ada"},
                                   "updated": "2026-12-06T10:00:00.000+0000"}}

            if page == 1:
                return 200, {"issues": [issue(1), issue(2)], "nextPageToken": "page-2-token", "isLast": False}
            return 200, {"issues": [issue(3)], "isLast": True}
        if req.method == "POST" and req.path == "/rest/api/3/issue":
            f = req.body["fields"]
            return 201, {"id": "10042", "key": f"{f['project']['key']}-42", "self": "https://x/rest/api/3/issue/10042"}
        return 404, {"errorMessages": ["Not found"], "errors": {}}


# --------------------------------------------------------------------------- copying and calling


def copy_folder(folder: str, base_url: str, dest: Path) -> Path:
    """The catalog folder with its connections' base_url pointed at `base_url`, nothing else changed."""
    dest.mkdir(parents=True, exist_ok=True)
    for spec in (ROOT / "catalog" / folder).glob("*.yaml"):
        text, n = re.subn(r"(?m)^  base_url: https://\S+$", f"  base_url: {base_url}\n  allow_private_networks: true", spec.read_text())
        if spec.name == "connections.yaml":
            assert n >= 1, spec
        (dest / spec.name).write_text(text)
    return dest


@pytest.fixture
def fake_catalog(tmp_path):
    """Starts a fake (a fresh port), copies the folder pointed at it; stops every fake at teardown."""
    started = []

    def make(folder: str, fake: Fake) -> tuple[Fake, Path]:
        fake.start()
        started.append(fake)
        return fake, copy_folder(folder, fake.base_url, tmp_path / f"{folder}-{fake.port}")

    yield make
    for f in started:
        f.stop()


def run(toolwright_bin, tools: Path, tool: str, args: dict, **secrets) -> subprocess.CompletedProcess:
    env = {k: v for k, v in _env().items() if k != "TOOLWRIGHT_SECRETS_DIR"}
    env.update(SECRETS)
    env.update(secrets)
    return subprocess.run([toolwright_bin, "call", tool, "--args", json.dumps(args), "--tools", str(tools)],
                          capture_output=True, text=True, timeout=60, env=env)


def call(toolwright_bin, tools: Path, tool: str, args: dict) -> dict:
    p = run(toolwright_bin, tools, tool, args)
    assert p.returncode == 0, (tool, p.stderr)
    return json.loads(p.stdout)


def now_ms() -> int:
    return int(time.time() * 1000)


# --------------------------------------------------------------------------- lint


@pytest.mark.parametrize("folder", FOLDERS)
def test_the_folder_lints_clean_on_its_own(toolwright_bin, folder):
    p = subprocess.run([toolwright_bin, "lint", str(ROOT / "catalog" / folder), "--deny-warnings"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 errors, 0 warnings" in p.stdout + p.stderr


def test_every_catalog_folder_lints_clean_together_with_tools_d(toolwright_bin):
    folders = sorted(str(d) for d in (ROOT / "catalog").iterdir() if d.is_dir())
    assert {Path(f).name for f in folders} >= set(FOLDERS) | {"aws"}
    p = subprocess.run([toolwright_bin, "lint", *folders, str(ROOT / "tools.d"), "--deny-warnings"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr


def test_every_file_starts_with_the_schema_comment():
    for folder in FOLDERS:
        for spec in (ROOT / "catalog" / folder).glob("*.yaml"):
            assert spec.read_text().startswith("# yaml-language-server: $schema=../../schemas/toolwright.schema.json\n"), spec


BASE_URLS = {
    "grafana": "https://grafana.example.com",
    "datadog": "https://api.datadoghq.com",
    "pagerduty": "https://api.pagerduty.com",
    "opsgenie": "https://api.opsgenie.com",
    "slack": "https://slack.com/api",
    "jira": "https://your-site.atlassian.net",
}


@pytest.mark.parametrize("folder", FOLDERS)
def test_the_connection_points_at_the_api_and_is_prefixed(folder):
    """The tests below replace base_url; this pins what the folder ships (Slack's tool URL is relative to
    `https://slack.com/api`, so pointing base_url at a fake redirects it too)."""
    text = (ROOT / "catalog" / folder / "connections.yaml").read_text()
    assert re.findall(r"(?m)^  base_url: (\S+)$", text) == [BASE_URLS[folder]]
    assert re.findall(r"(?m)^name: (\S+)$", text) == [f"{folder}-api"]
    for spec in (ROOT / "catalog" / folder).glob("*.yaml"):
        assert "https://" not in "".join(re.findall(r"(?m)^    url: .*$", spec.read_text())), spec


# --------------------------------------------------------------------------- Grafana


def test_grafana_search_dashboards(toolwright_bin, fake_catalog):
    fake, tools = fake_catalog("grafana", GrafanaFake())
    out = call(toolwright_bin, tools, "grafana_search_dashboards", {"query": "checkout", "limit": 5})
    assert out == {"dashboards": [{"uid": "checkout-overview", "title": "Checkout overview", "folder": "Services",
                                   "tags": ["checkout"], "url": "/d/checkout-overview/checkout-overview"}]}
    [req] = fake.received()
    assert (req.method, req.path) == ("GET", "/api/search")
    assert req.query == {"query": ["checkout"], "type": ["dash-db"], "limit": ["5"]}
    assert req.headers["authorization"] == "Bearer " + SECRETS["GRAFANA_TOKEN"]


def test_grafana_annotations_of_a_time_window(toolwright_bin, fake_catalog):
    fake, tools = fake_catalog("grafana", GrafanaFake())
    before = now_ms()
    out = call(toolwright_bin, tools, "grafana_annotations", {"minutes": 30, "tag": "deploy", "dashboard_uid": "checkout-overview"})
    after = now_ms()
    [req] = fake.received()
    assert (req.method, req.path) == ("GET", "/api/annotations")
    start, end = int(one(req.query, "from")), int(one(req.query, "to"))
    assert before - 60_000 <= end <= after + 60_000, (end, before)
    assert abs((end - start) - 30 * 60_000) <= 60_000, (start, end)
    assert one(req.query, "tags") == "deploy" and one(req.query, "dashboardUID") == "checkout-overview"
    assert one(req.query, "limit") == "50"
    assert req.headers["authorization"] == "Bearer " + SECRETS["GRAFANA_TOKEN"]
    notes = out["annotations"]
    assert [n["text"] for n in notes] == ["deploy checkout v42", "5xx above 1%"]
    assert notes[0]["alert_state"] is None and notes[1]["alert_state"] == "alerting"
    assert start <= notes[0]["time"] <= end

    # Without the optional filters, neither parameter is sent (an empty `tags=` would filter).
    fake.clear()
    call(toolwright_bin, tools, "grafana_annotations", {})
    [req] = fake.received()
    assert "tags" not in req.query and "dashboardUID" not in req.query, req.raw
    assert abs((int(one(req.query, "to")) - int(one(req.query, "from"))) - 60 * 60_000) <= 60_000


# --------------------------------------------------------------------------- Datadog


def test_datadog_query_metric(toolwright_bin, fake_catalog):
    fake, tools = fake_catalog("datadog", DatadogFake())
    before = time.time()
    out = call(toolwright_bin, tools, "datadog_query_metric",
               {"metric": "system.cpu.user", "tags": "env:prod,service:checkout", "group_by": "host", "minutes": 15})
    [req] = fake.received()
    assert (req.method, req.path) == ("GET", "/api/v1/query")
    assert one(req.query, "query") == "avg:system.cpu.user{env:prod,service:checkout} by {host}"
    start, end = int(one(req.query, "from")), int(one(req.query, "to"))
    assert abs(end - before) <= 60, (end, before)
    assert abs((end - start) - 15 * 60) <= 60
    assert req.headers["dd-api-key"] == SECRETS["DD_API_KEY"] and req.headers["dd-application-key"] == SECRETS["DD_APP_KEY"]
    assert out["status"] == "ok"
    assert [s["scope"] for s in out["series"]] == ["env:prod,service:checkout,host:web-1", "env:prod,service:checkout,host:web-2"]
    assert out["series"][0]["unit"] == "percent" and out["series"][0]["points"] == [[start * 1000, 1.5], [end * 1000, 2.5]]

    fake.clear()
    call(toolwright_bin, tools, "datadog_query_metric", {"metric": "trace.http.request.errors", "aggregation": "sum"})
    [req] = fake.received()
    assert one(req.query, "query") == "sum:trace.http.request.errors{*}"


@pytest.mark.parametrize("args", [
    {"metric": "system.cpu.user", "tags": "env:prod} by {host"},
    {"metric": "system.cpu.user", "tags": "env:prod,service:a}+avg:secret.metric{*"},
    {"metric": "cpu{*}+avg:other"},
    {"metric": "system.cpu.user", "group_by": "host} + avg:x{*"},
])
def test_datadog_query_parts_outside_the_patterns_are_refused(toolwright_bin, fake_catalog, args):
    fake, tools = fake_catalog("datadog", DatadogFake())
    p = run(toolwright_bin, tools, "datadog_query_metric", args)
    assert p.returncode == 1 and "invalid arguments" in p.stderr, p.stderr
    assert fake.received() == []


def test_datadog_monitors(toolwright_bin, fake_catalog):
    fake, tools = fake_catalog("datadog", DatadogFake())
    out = call(toolwright_bin, tools, "datadog_monitors", {"monitor_tags": "team:payments,env:prod", "limit": 20})
    [req] = fake.received()
    assert (req.method, req.path) == ("GET", "/api/v1/monitor")
    assert req.query == {"page": ["0"], "monitor_tags": ["team:payments,env:prod"], "group_states": ["alert,warn,no data"],
                         "page_size": ["20"]}
    assert req.headers["dd-api-key"] == SECRETS["DD_API_KEY"] and req.headers["dd-application-key"] == SECRETS["DD_APP_KEY"]
    assert [(m["id"], m["state"]) for m in out["monitors"]] == [(102, "Alert"), (101, "OK")]
    assert out["monitors"][0]["groups_not_ok"] == [{"group": "host:web-1", "status": "Alert"}]

    fake.clear()
    call(toolwright_bin, tools, "datadog_monitors", {})
    [req] = fake.received()
    assert "monitor_tags" not in req.query and "name" not in req.query, req.raw

    fake.clear()
    call(toolwright_bin, tools, "datadog_monitors", {"name": "checkout & co=1", "group_states": "all"})
    [req] = fake.received()
    assert one(req.query, "name") == "checkout & co=1" and one(req.query, "group_states") == "all", req.raw


# --------------------------------------------------------------------------- PagerDuty


def test_pagerduty_open_incidents_follow_offset_pages(toolwright_bin, fake_catalog):
    fake, tools = fake_catalog("pagerduty", PagerDutyFake(count=30))
    before = datetime.now(timezone.utc)
    out = call(toolwright_bin, tools, "pagerduty_open_incidents", {"hours": 24, "service_ids": ["PX1234A", "PY5678B"]})
    reqs = fake.received()
    assert [(r.method, r.path) for r in reqs] == [("GET", "/incidents")] * 2
    assert [one(r.query, "offset") for r in reqs] == ["0", "25"]
    for r in reqs:
        assert r.query["statuses[]"] == ["triggered", "acknowledged"]
        assert r.query["service_ids[]"] == ["PX1234A", "PY5678B"]
        assert one(r.query, "limit") == "25"
        assert r.headers["authorization"] == "Token token=" + SECRETS["PAGERDUTY_TOKEN"]
        assert r.headers["accept"] == "application/vnd.pagerduty+json;version=2"
        since = one(r.query, "since")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", since), since
        age = before - datetime.fromisoformat(since.replace("Z", "+00:00"))
        assert abs(age.total_seconds() - 24 * 3600) <= 60, since
        until = datetime.fromisoformat(one(r.query, "until").replace("Z", "+00:00"))
        assert abs((until - before).total_seconds()) <= 60
    incidents = out["items"]
    assert out["pages"] == 2 and len(incidents) == 30
    assert incidents[0] == {"id": "Q0000000000001", "number": 1, "title": "disk full 1", "status": "triggered", "urgency": "high",
                            "created_at": "2026-12-06T10:00:00Z", "service": "checkout", "service_id": "PX1234A",
                            "assigned_to": ["Ada"], "url": "https://example.pagerduty.com/incidents/Q0000000000001"}

    fake.clear()
    call(toolwright_bin, tools, "pagerduty_open_incidents", {"statuses": ["resolved"]})
    assert "service_ids[]" not in fake.received()[0].query
    assert fake.received()[0].query["statuses[]"] == ["resolved"]


def test_pagerduty_acknowledge_incident(toolwright_bin, fake_catalog):
    fake, tools = fake_catalog("pagerduty", PagerDutyFake())
    out = call(toolwright_bin, tools, "pagerduty_acknowledge_incident", {"incident_id": "Q2J3K4L5M6N7O8"})
    assert out == {"id": "Q2J3K4L5M6N7O8", "number": 7, "status": "acknowledged", "title": "disk full",
                   "url": "https://example.pagerduty.com/incidents/Q2J3K4L5M6N7O8"}
    [req] = fake.received()
    assert (req.method, req.path) == ("PUT", "/incidents/Q2J3K4L5M6N7O8")
    assert req.body == {"incident": {"type": "incident_reference", "status": "acknowledged"}}
    assert req.headers["content-type"].startswith("application/json")
    assert re.fullmatch(r"[^@\s]+@[^@\s]+", req.headers["from"])
    assert req.headers["authorization"] == "Token token=" + SECRETS["PAGERDUTY_TOKEN"]
    assert req.headers["accept"] == "application/vnd.pagerduty+json;version=2"


# --------------------------------------------------------------------------- Opsgenie


def test_opsgenie_open_alerts(toolwright_bin, fake_catalog):
    fake, tools = fake_catalog("opsgenie", OpsgenieFake())
    out = call(toolwright_bin, tools, "opsgenie_open_alerts", {"priority": "P1", "tag": "database", "unacknowledged_only": True})
    [req] = fake.received()
    assert (req.method, req.path) == ("GET", "/v2/alerts")
    assert req.query == {"query": ["status:open AND priority:P1 AND tag:database AND acknowledged:false"], "limit": ["50"],
                         "sort": ["createdAt"], "order": ["desc"]}
    assert req.headers["authorization"] == "GenieKey " + SECRETS["OPSGENIE_API_KEY"]
    assert out == {"alerts": [{"id": "70413a06-38d6-4c85-92b8-5ebc900d42e2", "tiny_id": "1791", "message": "db disk 95%",
                               "priority": "P1", "acknowledged": False, "tags": ["database"], "count": 3, "source": "prometheus",
                               "owner": "", "created_at": "2026-12-06T10:00:00.000Z", "last_occurred_at": "2026-12-06T10:05:00.000Z"}]}

    fake.clear()
    call(toolwright_bin, tools, "opsgenie_open_alerts", {})
    assert one(fake.received()[0].query, "query") == "status:open"


@pytest.mark.parametrize("args", [{"tag": "db OR status:closed"}, {"tag": "a\"b"}, {"priority": "P1 OR x"}])
def test_opsgenie_query_values_outside_the_patterns_are_refused(toolwright_bin, fake_catalog, args):
    fake, tools = fake_catalog("opsgenie", OpsgenieFake())
    p = run(toolwright_bin, tools, "opsgenie_open_alerts", args)
    assert p.returncode == 1 and "invalid arguments" in p.stderr, p.stderr
    assert fake.received() == []


def test_opsgenie_acknowledge_alert(toolwright_bin, fake_catalog):
    fake, tools = fake_catalog("opsgenie", OpsgenieFake())
    alert = "70413a06-38d6-4c85-92b8-5ebc900d42e2"
    out = call(toolwright_bin, tools, "opsgenie_acknowledge_alert", {"alert_id": alert, "note": "Looking into it."})
    assert out == {"result": "Request will be processed", "request_id": "r-ack-1"}
    [req] = fake.received()
    assert (req.method, req.path) == ("POST", f"/v2/alerts/{alert}/acknowledge")
    assert req.query == {"identifierType": ["id"]}
    assert req.body == {"source": "toolwright", "note": "Looking into it."}
    assert req.headers["authorization"] == "GenieKey " + SECRETS["OPSGENIE_API_KEY"]


# --------------------------------------------------------------------------- Slack


def test_slack_post_message(toolwright_bin, fake_catalog):
    fake, tools = fake_catalog("slack", SlackFake())
    text = 'Checkout degraded: "5xx" at 2% \\ investigating <!here>'
    out = call(toolwright_bin, tools, "slack_post_message", {"channel": "C0123INCID", "text": text})
    assert out == {"ok": True, "error": None, "warning": None, "channel": "C0123INCID", "ts": "1765015500.000100"}
    [req] = fake.received()
    assert (req.method, req.path) == ("POST", "/chat.postMessage")
    assert req.body == {"channel": "C0123INCID", "text": text}
    assert req.headers["content-type"] == "application/json; charset=utf-8"
    assert req.headers["authorization"] == "Bearer " + SECRETS["SLACK_BOT_TOKEN"]


def test_slack_ok_false_reaches_the_model(toolwright_bin, fake_catalog):
    fake, tools = fake_catalog("slack", SlackFake())
    out = call(toolwright_bin, tools, "slack_post_message", {"channel": "C0123DEPLY", "text": "deploy v42 done"})
    assert out["ok"] is False and out["error"] == "not_in_channel", out
    assert len(fake.received()) == 1

    fake.clear()
    p = run(toolwright_bin, tools, "slack_post_message", {"channel": "C0123DEPLY", "text": "x"}, SLACK_BOT_TOKEN="xoxb-wrong")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["error"] == "invalid_auth"
    assert fake.received()[0].headers["authorization"] == "Bearer xoxb-wrong"


@pytest.mark.parametrize("args", [{"channel": "C999OTHER1", "text": "hi"}, {"channel": "C0123INCID", "text": "x" * 3001},
                                  {"channel": "C0123INCID", "text": ""}])
def test_slack_channel_and_text_are_scoped(toolwright_bin, fake_catalog, args):
    fake, tools = fake_catalog("slack", SlackFake())
    p = run(toolwright_bin, tools, "slack_post_message", args)
    assert p.returncode == 1 and "invalid arguments" in p.stderr, p.stderr
    assert fake.received() == []


# --------------------------------------------------------------------------- Jira


def test_jira_search_text_stays_inside_its_literal(toolwright_bin, fake_catalog):
    fake, tools = fake_catalog("jira", JiraFake())
    text = 'timeout" OR project = "SECRET\\" \\\\ end'
    out = call(toolwright_bin, tools, "jira_search_issues", {"project": "OPS", "status": "In Progress", "text": text, "page_size": 2})
    reqs = fake.received()
    assert [(r.method, r.path) for r in reqs] == [("POST", "/rest/api/3/search/jql")] * 2
    assert fake.parsed[0] == [("project", "=", "OPS"), ("status", "=", "In Progress"), ("text", "~", text)]
    assert reqs[0].body["jql"].endswith(" ORDER BY updated DESC")
    assert reqs[0].body["maxResults"] == 2
    assert reqs[0].body["fields"] == ["summary", "status", "issuetype", "priority", "assignee", "updated"]
    assert "nextPageToken" not in reqs[0].body and reqs[1].body["nextPageToken"] == "page-2-token"
    assert reqs[1].body["jql"] == reqs[0].body["jql"]
    basic = base64.b64encode(f"{SECRETS['JIRA_EMAIL']}:{SECRETS['JIRA_API_TOKEN']}".encode()).decode()
    assert reqs[0].headers["authorization"] == "Basic " + basic
    assert out["pages"] == 2
    assert [i["key"] for i in out["items"]] == ["OPS-1", "OPS-2", "OPS-3"]
    assert out["items"][0] == {"key": "OPS-1", "summary": "issue 1", "status": "In Progress", "type": "Task", "priority": "High",
                               "assignee": "Ada", "updated": "2026-12-06T10:00:00.000+0000"}

    fake.clear()
    fake.parsed.clear()
    call(toolwright_bin, tools, "jira_search_issues", {"project": "OPS"})
    assert fake.parsed[0] == [("project", "=", "OPS")]


def test_jira_create_issue(toolwright_bin, fake_catalog):
    fake, tools = fake_catalog("jira", JiraFake())
    out = call(toolwright_bin, tools, "jira_create_issue",
               {"project": "OPS", "summary": "Follow-up: checkout 5xx", "description": 'Root cause: "pool" exhausted\nAction: raise it'})
    assert out == {"key": "OPS-42", "id": "10042"}
    [req] = fake.received()
    assert (req.method, req.path) == ("POST", "/rest/api/3/issue")
    assert req.body == {"fields": {
        "project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "Follow-up: checkout 5xx",
        "description": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": 'Root cause: "pool" exhausted\nAction: raise it'}]}]}}}
    assert req.headers["authorization"].startswith("Basic ")


# --------------------------------------------------------------------------- wrong credentials

WRONG = [
    ("grafana", GrafanaFake, "grafana_search_dashboards", {}, {"GRAFANA_TOKEN": "wrong"}, 401),
    ("datadog", DatadogFake, "datadog_monitors", {}, {"DD_APP_KEY": "wrong"}, 403),
    ("pagerduty", PagerDutyFake, "pagerduty_open_incidents", {}, {"PAGERDUTY_TOKEN": "wrong"}, 401),
    ("opsgenie", OpsgenieFake, "opsgenie_open_alerts", {}, {"OPSGENIE_API_KEY": "wrong"}, 401),
    ("jira", JiraFake, "jira_search_issues", {"project": "OPS"}, {"JIRA_API_TOKEN": "wrong"}, 401),
]


@pytest.mark.parametrize("folder,fake_type,tool,args,secrets,status", WRONG, ids=[w[0] for w in WRONG])
def test_a_wrong_credential_is_an_error_naming_the_status(toolwright_bin, fake_catalog, folder, fake_type, tool, args, secrets, status):
    fake, tools = fake_catalog(folder, fake_type())
    p = run(toolwright_bin, tools, tool, args, **secrets)
    assert p.returncode == 1, p.stdout
    assert f"HTTP {status}" in p.stderr, p.stderr
    assert len(fake.received()) == 1
