#!/usr/bin/env python3
"""Seeds MiniStack for the CloudWatch part of the MCP benchmark: a log group /bench/checkout with
200 events over the last 30 minutes (every fifth an ERROR line), and 60 one-minute points of the
metric Bench/App Latency{Service=checkout} over the last hour, all with the same value (so the
average of any window is that value, which the harness looks for in both servers' answers).

Run with a Python that has boto3, with AWS_ENDPOINT_URL pointing at MiniStack on 127.0.0.1 and
static test credentials in the environment. Prints a JSON object describing what it wrote.
"""

import datetime
import json
import os
import sys

import boto3

VALUE = 42.4242


def main():
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint.startswith("http://127.0.0.1:"):
        sys.exit("AWS_ENDPOINT_URL must point at MiniStack on 127.0.0.1")
    logs = boto3.client("logs", endpoint_url=endpoint, region_name="us-east-1")
    cw = boto3.client("cloudwatch", endpoint_url=endpoint, region_name="us-east-1")
    now = datetime.datetime.now(datetime.timezone.utc)
    now_ms = int(now.timestamp() * 1000)

    group, stream = "/bench/checkout", "web-1"
    try:
        logs.create_log_group(logGroupName=group)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    try:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    except logs.exceptions.ResourceAlreadyExistsException:
        pass
    events = []
    for i in range(200):
        ts = now_ms - (200 - i) * 9_000  # one every 9 s over the last 30 minutes
        if i % 5 == 0:
            msg = f"ERROR payment gateway timeout after 3000 ms order=o-{i:04d} request_id=req-{i:06d}"
        else:
            msg = f"INFO order o-{i:04d} checked out in {100 + i} ms request_id=req-{i:06d}"
        events.append({"timestamp": ts, "message": msg})
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)

    data = []
    for m in range(60):
        t = now - datetime.timedelta(minutes=60 - m)
        data.append({
            "MetricName": "Latency",
            "Dimensions": [{"Name": "Service", "Value": "checkout"}],
            "Timestamp": t,
            "Value": VALUE,
            "Unit": "Milliseconds",
        })
    for i in range(0, len(data), 20):
        cw.put_metric_data(Namespace="Bench/App", MetricData=data[i : i + 20])

    print(json.dumps({"log_group": group, "log_events": len(events), "error_events": 40,
                      "metric": "Bench/App Latency Service=checkout", "metric_points": len(data),
                      "metric_marker": str(VALUE)}))


if __name__ == "__main__":
    main()
