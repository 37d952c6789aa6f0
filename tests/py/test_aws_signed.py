"""Connection `auth.aws_sigv4` against moto's server with Signature V4 checks on
(INITIAL_NO_AUTH_ACTION_COUNT: the first 3 actions create an IAM user, an allow-all policy
and an access key; every request after them must be signed with that key). ECS speaks JSON 1.1
(`X-Amz-Target`), X-Ray REST-JSON. A wrong secret is a clear tool error, not a panic."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import _env

ROOT = Path(__file__).resolve().parents[2]
SPECS = """\
kind: connection
name: aws-test
aws: {{region: us-east-1}}
---
kind: connection
name: ecs
http:
  base_url: {url}
  allow_private_networks: true
  auth:
    aws_sigv4: {{service: ecs, connection: aws-test}}
---
kind: connection
name: xray
http:
  base_url: {url}
  allow_private_networks: true
  auth:
    aws_sigv4: {{service: xray, region: us-east-1}}
---
kind: tool
name: ecs_clusters
description: The ECS clusters of the account (ListClusters).
annotations: {{read_only: true}}
input: {{type: object}}
action:
  http:
    connection: ecs
    method: POST
    url: /
    headers: {{X-Amz-Target: AmazonEC2ContainerServiceV20141113.ListClusters, Content-Type: application/x-amz-json-1.1}}
    body: {{}}
---
kind: tool
name: trace_summaries
description: X-Ray trace summaries of the last hour.
annotations: {{read_only: true}}
input: {{type: object}}
action:
  http:
    connection: xray
    method: POST
    url: /TraceSummaries
    headers: {{Content-Type: application/json}}
    body: {{StartTime: 1, EndTime: 2000000000}}
"""


def call(toolwright_bin: str, tools: Path, tool: str, key: dict) -> subprocess.CompletedProcess:
    env = {**_env(), "AWS_ACCESS_KEY_ID": key["id"], "AWS_SECRET_ACCESS_KEY": key["secret"], "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": "/nonexistent/toolwright", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/toolwright", "AWS_REGION": "us-east-1"}
    return subprocess.run([toolwright_bin, "call", tool, "--tools", str(tools)], capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture
def tools(moto, tmp_path) -> Path:
    url, _ = moto
    d = tmp_path / "tools.d"
    d.mkdir()
    (d / "aws.yaml").write_text(SPECS.format(url=url))
    return d


def test_signed_json_1_1_and_rest_json_calls(toolwright_bin, moto, tools):
    _, key = moto
    p = call(toolwright_bin, tools, "ecs_clusters", key)
    assert p.returncode == 0, p.stderr
    assert "clusterArns" in json.loads(p.stdout), p.stdout
    p = call(toolwright_bin, tools, "trace_summaries", key)
    assert p.returncode == 0, p.stderr
    assert "TraceSummaries" in json.loads(p.stdout), p.stdout


def test_a_wrong_secret_is_a_clear_tool_error(toolwright_bin, moto, tools):
    _, key = moto
    p = call(toolwright_bin, tools, "ecs_clusters", {"id": key["id"], "secret": "not-the-secret"})
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "403" in p.stderr or "401" in p.stderr, p.stderr
    assert "not-the-secret" not in p.stderr and "panicked" not in p.stderr, p.stderr
