"""The bundled AWS catalog (catalog/aws) against moto's server with Signature V4 checks on: every
tool is called signed with the key of the `moto` fixture, on resources made with boto3 (moto
mirrors the documented APIs: ECS and CodeDeploy JSON 1.1, RDS, EC2 and CloudWatch Query protocol
with XML answers). The folder is copied and its connections pointed at moto; nothing else changes."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from conftest import MOTO_PYTHON, _env

ROOT = Path(__file__).resolve().parents[2]

SETUP = """
import boto3, json, sys
url, key, secret = sys.argv[1:4]
kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id=key, aws_secret_access_key=secret)
ecs = boto3.client("ecs", **kw)
ecs.create_cluster(clusterName="production")
ecs.create_cluster(clusterName="staging")  # no task ever stopped there
ecs.register_task_definition(family="checkout", containerDefinitions=[{"name": "app", "image": "nginx", "memory": 128}])
ecs.create_service(cluster="production", serviceName="checkout", taskDefinition="checkout", desiredCount=2)
rds = boto3.client("rds", **kw)
rds.create_db_instance(DBInstanceIdentifier="orders-primary", DBInstanceClass="db.t3.micro", Engine="postgres",
                       MasterUsername="admin", MasterUserPassword="not-a-secret-1", AllocatedStorage=20)
ec2 = boto3.client("ec2", **kw)
image = ec2.describe_images()["Images"][0]["ImageId"]
instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
cd = boto3.client("codedeploy", **kw)
cd.create_application(applicationName="checkout")
cd.create_deployment_group(applicationName="checkout", deploymentGroupName="production",
                           serviceRoleArn="arn:aws:iam::123456789012:role/codedeploy")
cw = boto3.client("cloudwatch", **kw)
cw.put_metric_alarm(AlarmName="checkout-5xx", MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
                    Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=10, ComparisonOperator="GreaterThanThreshold")
cw.set_alarm_state(AlarmName="checkout-5xx", StateValue="ALARM", StateReason="Threshold crossed: 42 errors")
deployment = cd.create_deployment(applicationName="checkout", deploymentGroupName="production",
                                  revision={"revisionType": "S3", "s3Location": {"bucket": "b", "key": "k", "bundleType": "zip"}},
                                  description="v42 canary")["deploymentId"]
# A stopped task (moto runs FARGATE tasks without container instances; its awsvpc path is broken).
ecs.register_task_definition(family="worker", containerDefinitions=[{"name": "worker", "image": "busybox", "essential": True,
                                                                     "memory": 512, "cpu": 256}])
task = ecs.run_task(cluster="production", taskDefinition="worker", launchType="FARGATE", group="service:checkout")["tasks"][0]["taskArn"]
ecs.stop_task(cluster="production", task=task, reason="Essential container in task exited: OutOfMemoryError")
import time
now = time.time()
trace = "1-%08x-0123456789abcdef01234567" % int(now)
segments = [
    {"name": "checkout", "id": "70de5b6f19ff9a0a", "trace_id": trace, "start_time": now - 30, "end_time": now - 28.5,
     "fault": True, "http": {"request": {"method": "POST", "url": "https://checkout/pay"}, "response": {"status": 502}},
     "cause": {"exceptions": [{"message": "upstream payments timed out"}]}, "subsegments": [{"name": "payments", "id": "70de5b6f19ff9a0b",
     "start_time": now - 30, "end_time": now - 28.6}]},
]
xray = boto3.client("xray", **kw)
xray.put_trace_segments(TraceSegmentDocuments=[json.dumps(s) for s in segments])
print(json.dumps({"instance": instance, "deployment": deployment, "task": task, "trace": trace}))
"""


@pytest.fixture(scope="module")
def aws_catalog(moto, tmp_path_factory):
    url, key = moto
    out = subprocess.run([MOTO_PYTHON, "-c", SETUP, url, key["id"], key["secret"]], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    made = json.loads(out.stdout.strip().splitlines()[-1])
    tools = tmp_path_factory.mktemp("catalog") / "aws"
    tools.mkdir()
    for spec in (ROOT / "catalog" / "aws").glob("*.yaml"):
        text = re.sub(r"base_url: https://[a-z0-9.-]+\.amazonaws\.com", f"base_url: {url}", spec.read_text())
        text = text.replace("  timeout: 15s\n", "  timeout: 15s\n  allow_private_networks: true\n")
        (tools / spec.name).write_text(text)
    return tools, key, made


def call(toolwright_bin, tools, key, tool, args) -> dict:
    env = {**_env(), "AWS_ACCESS_KEY_ID": key["id"], "AWS_SECRET_ACCESS_KEY": key["secret"], "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": "/nonexistent/toolwright", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/toolwright"}
    p = subprocess.run([toolwright_bin, "call", tool, "--args", json.dumps(args), "--tools", str(tools)],
                       capture_output=True, text=True, timeout=60, env=env)
    assert p.returncode == 0, (tool, p.stderr)
    return json.loads(p.stdout)


def test_the_folder_lints_clean_on_its_own(toolwright_bin):
    p = subprocess.run([toolwright_bin, "lint", str(ROOT / "catalog" / "aws"), "--deny-warnings"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout


def test_ecs_service_deployments(toolwright_bin, aws_catalog):
    tools, key, _ = aws_catalog
    out = call(toolwright_bin, tools, key, "aws_ecs_service_deployments", {"cluster": "production", "services": ["checkout"]})
    service = out["services"][0]
    assert service["name"] == "checkout" and service["desired"] == 2, out


def test_rds_instance_status(toolwright_bin, aws_catalog):
    tools, key, _ = aws_catalog
    out = call(toolwright_bin, tools, key, "aws_rds_instance_status", {"instance": "orders-primary"})
    assert out["id"] == "orders-primary" and out["engine"] == "postgres" and out["status"], out


def test_ec2_instance_status(toolwright_bin, aws_catalog):
    tools, key, made = aws_catalog
    out = call(toolwright_bin, tools, key, "aws_ec2_instance_status", {"instance": made["instance"]})
    assert out["result"][0]["id"] == made["instance"] and out["result"][0]["state"] == "running", out


def test_codedeploy_deployments(toolwright_bin, aws_catalog):
    tools, key, made = aws_catalog
    out = call(toolwright_bin, tools, key, "aws_codedeploy_deployments", {"application": "checkout", "group": "production"})
    assert out["deployments"] == [made["deployment"]], out
    out = call(toolwright_bin, tools, key, "aws_codedeploy_deployments", {"application": "checkout", "group": "production",
                                                                          "statuses": ["Failed"]})
    assert out["deployments"] == [], out


def test_cloudwatch_alarms_in_alarm(toolwright_bin, aws_catalog):
    tools, key, _ = aws_catalog
    out = call(toolwright_bin, tools, key, "aws_cloudwatch_alarms_in_alarm", {})
    alarms = out["result"]
    assert [a["name"] for a in alarms] == ["checkout-5xx"] and "42 errors" in alarms[0]["reason"], out


def test_codedeploy_deployment_details(toolwright_bin, aws_catalog):
    tools, key, made = aws_catalog
    listed = call(toolwright_bin, tools, key, "aws_codedeploy_deployments", {"application": "checkout", "group": "production",
                                                                             "statuses": ["Created", "Queued", "InProgress", "Succeeded"]})
    assert made["deployment"] in listed["deployments"], listed
    out = call(toolwright_bin, tools, key, "aws_codedeploy_deployment_details", {"deployments": [made["deployment"]]})
    d = out["deployments"][0]
    assert d["id"] == made["deployment"] and d["group"] == "production" and d["description"] == "v42 canary", out


def test_ecs_stopped_tasks_and_their_reasons(toolwright_bin, aws_catalog):
    tools, key, made = aws_catalog
    listed = call(toolwright_bin, tools, key, "aws_ecs_stopped_tasks", {"cluster": "production"})
    assert listed["tasks"] == [made["task"]], listed
    out = call(toolwright_bin, tools, key, "aws_ecs_task_stop_reasons", {"cluster": "production", "tasks": listed["tasks"]})
    task = out["tasks"][0]
    assert task["task"] == made["task"] and task["status"] == "STOPPED" and "OutOfMemoryError" in task["reason"], out


def test_xray_trace_summaries_and_one_trace(toolwright_bin, aws_catalog):
    tools, key, made = aws_catalog
    summaries = call(toolwright_bin, tools, key, "aws_xray_trace_summaries", {"minutes": 10})
    assert summaries["pages"] == 1, summaries
    mine = [t for t in summaries["items"] if t["id"] == made["trace"]]
    # moto fills the id, duration and fault flags of a summary (not its services or HTTP fields).
    assert mine and mine[0]["fault"] is True and mine[0]["error"] is False and mine[0]["duration"] >= 1, summaries
    out = call(toolwright_bin, tools, key, "aws_xray_trace", {"trace_id": made["trace"]})
    segment = out["traces"][0]["segments"][0]
    assert segment["name"] == "checkout" and segment["fault"] is True and segment["http"]["status"] == 502, out
    assert segment["cause"][0]["message"] == "upstream payments timed out" and segment["calls"] == ["payments"], out


def test_xray_window_is_the_last_minutes(toolwright_bin, aws_catalog, tmp_path):
    """The window is the call's time minus `minutes`: `render` shows StartTime and EndTime as JSON numbers
    (X-Ray's epoch-seconds timestamps), `minutes` apart and ending now, and how the answer is paginated."""
    tools, key, _ = aws_catalog
    p = subprocess.run([toolwright_bin, "render", "aws_xray_trace_summaries", "--args", '{"minutes": 15}', "--tools", str(tools)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    request = json.loads(p.stdout)
    body = request["body"]
    assert isinstance(body["StartTime"], int) and isinstance(body["EndTime"], int), body
    assert body["EndTime"] - body["StartTime"] == 900 and abs(body["EndTime"] - time.time()) < 60, body
    assert body["FilterExpression"] is None, body
    assert request["response"]["paginate"]["set"] == {"body": "NextToken"}, request


def test_ecs_why_tasks_stopped_in_one_call(toolwright_bin, aws_catalog):
    """A steps tool: ListTasks, then DescribeTasks of the ARNs it answered (a typed body leaf
    `{{ steps.stopped }}`), both signed; a cluster without stopped tasks skips the second step."""
    tools, key, made = aws_catalog
    out = call(toolwright_bin, tools, key, "aws_ecs_why_tasks_stopped", {"cluster": "production"})
    [task] = out["result"]
    assert task["task"] == made["task"] and "OutOfMemoryError" in task["reason"], out
    assert out["steps"]["stopped"] == [made["task"]], out
    out = call(toolwright_bin, tools, key, "aws_ecs_why_tasks_stopped", {"cluster": "staging"})
    assert out["steps"] == {"stopped": [], "reasons": None} and out["result"] == [], out
