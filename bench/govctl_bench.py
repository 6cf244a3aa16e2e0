"""`govctl list` against the sandbox with 1,000 model versions in the governance table.

    .venv/bin/python bench/govctl_bench.py [--versions 1000] [--runs 3]

The table is filled with stage records shaped exactly as the handlers write them (one version per model
group is registered through the sync handler and its record copied, with the keys and index keys of
`governance.schema` for each version, stage and status), spread over the sample config's model
groups and over the queues `govctl list` reads: 60 % awaiting review in development, 20 % approved for
test and awaiting deployment, 10 % deployed in test and 10 % deployed in production, both awaiting a
decision. They are written with BatchWriteItem: going through the sync handler one event at a time
would measure moto's transactions, not `govctl list`. Audit entries are not written: `list` does not
read them.

Measured: wall time of `govctl --as governance-officer list` (in-process through typer's CliRunner, and
as a separate process, interpreter start included), the HTTP requests govctl made, and the AWS calls
the API handler made in the sandbox process, counted with botocore's `before-call` event hook.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from governance import schema  # noqa: E402
from governance.domain import Stage, Status  # noqa: E402
from governance.store import to_ddb  # noqa: E402
from govctl.sandbox import Sandbox  # noqa: E402

MIX = ((0.6, "development"), (0.2, "test-pending"), (0.1, "test-deployed"), (0.1, "production-deployed"))


def _templates(sb: Sandbox, groups: list[str]) -> dict[str, dict]:
    """A development record per group, written by the sync handler for a registered version."""
    for group in groups:
        sb.register(group)
    records = [i for i in sb.items() if i[schema.SK] == schema.stage_record_sk(1, Stage.development.value)]
    return {r[schema.MODEL_GROUP]: r for r in records}


def _record(template: dict, version: int, stage: Stage, status: Status, at: str) -> dict:
    group = template[schema.MODEL_GROUP]
    return {**template, schema.SK: schema.stage_record_sk(version, stage.value), schema.MODEL_VERSION: version,
            schema.MODEL_STAGE: stage.value, schema.MODEL_STATUS: status.value, schema.AUDIT_TIMESTAMP: at,
            schema.MODEL_PACKAGE_ARN: template[schema.MODEL_PACKAGE_ARN].rsplit("/", 1)[0] + f"/{version}", schema.REV: 1,
            schema.BY_STAGE_STATUS.partition_key: schema.stage_status_key(stage.value, status.value),
            schema.BY_STAGE_STATUS.sort_key: schema.stage_record_gsi1sk(at, group, version),
            schema.BY_USE_CASE.sort_key: schema.stage_record_gsi2sk(group, version, stage.value)}


def fill(sb: Sandbox, versions: int) -> dict[str, int]:
    templates = _templates(sb, sb.hub.groups)
    groups = sorted(templates)
    plan: list[str] = []
    for share, kind in MIX:
        plan += [kind] * round(share * versions)
    plan = (plan + ["development"] * versions)[:versions]
    items, counts = [], {}
    base = int(time.time() * 1000) - versions * 1000
    for n, kind in enumerate(plan):
        template = templates[groups[n % len(groups)]]
        version = n // len(groups) + 1  # replaces the registered v1 of each group (a development record too)
        at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((base + n * 1000) / 1000)) + f".{n % 1000:03d}Z"
        stages = {"development": [(Stage.development, Status.pending)],
                  "test-pending": [(Stage.development, Status.approved), (Stage.test, Status.pending)],
                  "test-deployed": [(Stage.development, Status.approved), (Stage.test, Status.deployed)],
                  "production-deployed": [(Stage.development, Status.approved), (Stage.test, Status.approved),
                                          (Stage.production, Status.deployed)]}[kind]
        items += [_record(template, version, stage, status, at) for stage, status in stages]
        counts[kind] = counts.get(kind, 0) + 1
    for i in range(0, len(items), 25):
        request = {sb.table: [{"PutRequest": {"Item": to_ddb({k: v for k, v in item.items() if v is not None})}} for item in items[i:i + 25]]}
        while request:
            request = sb.ddb.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}
    counts["records"] = len(items)
    return counts


def _time_split(sb: Sandbox) -> dict[str, float]:
    """Requests reaching the API, time spent in its handler and, within it, in moto (wrapping both for the rest of the run)."""
    from moto.moto_server import werkzeug_app

    spent = {"handler": 0.0, "moto": 0.0, "requests": 0}
    moto_call = werkzeug_app.DomainDispatcherApplication.__call__
    invoke = sb.invoke_api

    def timed_moto(self, environ, start_response):
        t = time.perf_counter()
        try:
            return moto_call(self, environ, start_response)
        finally:
            spent["moto"] += time.perf_counter() - t

    def timed_invoke(event):
        spent["requests"] += 1
        t = time.perf_counter()
        try:
            return invoke(event)
        finally:
            spent["handler"] += time.perf_counter() - t

    werkzeug_app.DomainDispatcherApplication.__call__ = timed_moto
    sb.gateway.invoke = timed_invoke
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from typer.testing import CliRunner

    import govctl.cli as cli

    with Sandbox(ROOT) as sb:
        started = time.perf_counter()
        counts = fill(sb, args.versions)
        print(f"table: {args.versions} model versions, {counts['records']} stage records "
              f"({', '.join(f'{k} {v}' for k, v in counts.items() if k != 'records')}), loaded in {time.perf_counter() - started:.1f} s")
        spent = _time_split(sb)
        runner = CliRunner()
        walls, listed = [], 0
        for _ in range(args.runs):
            before = sb.calls.snapshot()
            spent.update(handler=0.0, moto=0.0, requests=0)
            t0 = time.perf_counter()
            result = runner.invoke(cli.app, ["--as", "governance-officer", "--endpoint", sb.endpoint, "list", "-o", "json"])
            walls.append(time.perf_counter() - t0)
            assert result.exit_code == 0, result.output
            listed = len(json.loads(result.stdout))
            aws = sb.calls.since(before)
            http = spent["requests"]
        print(f"govctl list (in-process): {listed} versions listed; wall {min(walls):.2f} s best, {statistics.median(walls):.2f} s median "
              f"of {args.runs}; {http} HTTP requests to the API; {sum(aws.values())} AWS calls by the handler "
              f"({', '.join(f'{k} {v}' for k, v in sorted(aws.items()))})")
        print(f"  of the last run's {walls[-1]:.2f} s: {spent['moto']:.2f} s inside moto (standing in for DynamoDB), "
              f"{spent['handler'] - spent['moto']:.2f} s in the API handler, {walls[-1] - spent['handler']:.2f} s in govctl and HTTP")
        env = {**os.environ, "GOVCTL_ENDPOINT": sb.endpoint}
        for key in ("AWS_ENDPOINT_URL", "GOVERNANCE_TABLE", "APPROVERS"):
            env.pop(key, None)
        before = sb.calls.snapshot()
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "govctl", "--as", "governance-officer", "list"], env=env, cwd=ROOT,
                              capture_output=True, text=True)
        wall = time.perf_counter() - t0
        assert proc.returncode == 0, proc.stderr
        aws = sb.calls.since(before)
        print(f"govctl list (separate process, table output, interpreter start included): wall {wall:.2f} s; "
              f"{sum(aws.values())} AWS calls by the handler")
        print(f"host: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
