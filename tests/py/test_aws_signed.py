"""Connection `auth.aws_sigv4` against moto's server with Signature V4 checks on
(INITIAL_NO_AUTH_ACTION_COUNT: the first 3 actions create an IAM user, an allow-all policy
and an access key; every request after them must be signed with that key). ECS speaks JSON 1.1
(`X-Amz-Target`), X-Ray REST-JSON. A wrong secret is a clear tool error, not a panic."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest

from conftest import _env, free_port

ROOT = Path(__file__).resolve().parents[2]
MOTO_PYTHON = os.environ.get("TOOLWRIGHT_MOTO_PYTHON", str(ROOT / ".venv-moto" / "bin" / "python"))

CREATE_KEY = """
import boto3, json, sys
iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="toolwright")
iam.put_user_policy(UserName="toolwright", PolicyName="all",
                    PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="toolwright")["AccessKey"]
print(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
"""


@pytest.fixture(scope="module")
def moto(tmp_path_factory):
    if not Path(MOTO_PYTHON).exists():
        pytest.fail(f"moto is not installed at {MOTO_PYTHON}: run scripts/setup-moto.sh (test.sh does)")
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3", "MOTO_ALLOW_NONEXISTENT_REGION": "false"}
    with open(log, "w") as fh:
        proc = subprocess.Popen([MOTO_PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=fh, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("moto did not start: " + log.read_text()[-2000:])
                time.sleep(0.2)
        url = f"http://127.0.0.1:{port}"
        out = subprocess.run([MOTO_PYTHON, "-c", CREATE_KEY, url], capture_output=True, text=True, timeout=120, check=True)
        key = json.loads(out.stdout.strip().splitlines()[-1])
        yield url, key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


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
