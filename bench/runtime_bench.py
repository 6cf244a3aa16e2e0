"""Runtime figures for the governance Lambdas: throughput against moto, package size, cold imports.

    .venv/bin/python bench/runtime_bench.py [--events 200] [--decisions 100]

Throughput is moto's (an in-process fake, with the tests' moto adjustments: the numbers compare code
paths, not AWS latency); the
calls per operation are what AWS would see. Import times come from `python -X importtime` in fresh
interpreters, each beside `import boto3` alone measured in the same run.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ACCOUNT, REGION, TABLE = "123456789012", "us-east-1", "mlgov-bench"
DS = f"arn:aws:sts::{ACCOUNT}:assumed-role/DataScientist/alice"
OWNER = f"arn:aws:iam::{ACCOUNT}:role/ModelOwner"
OWNER_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ModelOwner/bob"


def _env() -> None:
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled", "GOVERNANCE_TABLE": TABLE, "AUDIT_SIGNING_KEY": "alias/mlgov-bench-signing",
        "POWERTOOLS_SERVICE_NAME": "mlgov-bench",
        "POWERTOOLS_LOG_LEVEL": "ERROR", "APPROVERS": json.dumps({"development": [OWNER]}), "HUB_ACCOUNT_ID": ACCOUNT, "HUB_REGION": REGION,
    })


def _event(group: str, version: int) -> dict:
    from govctl.fakeaws import events

    ms = 1_724_904_598_000 + version * 1000
    detail = events.model_package_detail(group, version, account=ACCOUNT, region=REGION, created=ms, created_by=DS,
                                         arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/{version}")
    return events.model_package_event(detail, account=ACCOUNT, region=REGION, time="2024-08-29T04:09:58Z",
                                      event_id=f"bench-{group}-{version}")


def _api_event(path: str, body: dict) -> dict:
    from govctl.fakeaws import events

    return events.rest_api_event("POST", path, body=json.dumps(body), identity=events.iam_identity(OWNER_SESSION), account=ACCOUNT,
                                 host="bench.execute-api.us-east-1.amazonaws.com", source_ip="10.0.0.1")


def seed_world(models: int = 4) -> list[str]:
    """Inside `mock_aws`: the table, the signing key, and the `bench` use case (minimal tier) with its groups."""
    import boto3

    from governance import schema
    from governance.store import to_ddb

    setup = boto3.session.Session(region_name=REGION).client("dynamodb")
    setup.create_table(**schema.TABLE.create_table_request(TABLE))
    kms = boto3.client("kms", region_name=REGION)
    kms.create_alias(AliasName="alias/mlgov-bench-signing",
                     TargetKeyId=kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"])
    groups = [f"bench-model-{i}" for i in range(models)]
    setup.put_item(TableName=TABLE, Item=to_ddb(schema.use_case_config_item(
        use_case_id="bench", name="Bench", risk_tier="minimal", owner="o", line_of_business="l", project="p", groups=groups, thresholds=[])))
    for g in groups:
        setup.put_item(TableName=TABLE, Item=to_ddb(schema.group_config_item(
            group=g, use_case_id="bench", owner="o", line_of_business="l", project="p", risk="low", use_case_name="Bench")))
    return groups


def approve_use_case() -> None:
    """The use case into DEVELOPMENT: model approvals wait for it (the stage gate)."""
    from governance.handlers import api

    approved = api.handler(_api_event("/use-cases/bench/decision", {"action": "approve"}), None)
    assert approved["statusCode"] == 200, approved


def throughput(n_events: int, n_decisions: int) -> dict:
    _env()
    import boto3
    from moto import mock_aws

    from governance import runtime
    from governance.handlers import api, sync

    from govctl.fakeaws.moto import install
    install()  # the tests' moto adjustments: serialised requests, per-item (not deep) rollback backups

    with mock_aws():
        runtime.reset()
        groups = seed_world()

        calls: list[str] = []
        boto3.setup_default_session(region_name=REGION)
        boto3.DEFAULT_SESSION.events.register("provide-client-params.*.*", lambda params, model=None, **kw: calls.append(model.name))

        events = [_event(groups[i % len(groups)], i // len(groups) + 1) for i in range(n_events)]
        start = time.perf_counter()
        for event in events:
            assert sync.handler(event, None)["result"] == "written"
        sync_s = time.perf_counter() - start
        sync_calls = len(calls) / n_events
        calls.clear()

        approve_use_case()
        calls.clear()
        start = time.perf_counter()
        for i in range(n_decisions):
            g, v = groups[i % len(groups)], i // len(groups) + 1
            response = api.handler(_api_event(f"/use-cases/bench/models/{g}/versions/{v}/decision",
                                              {"stage": "development", "action": "approve"}), None)
            assert response["statusCode"] == 200, response
        decide_s = time.perf_counter() - start
        decide_calls = len(calls) / n_decisions
        runtime.reset()
    return {"sync_per_s": n_events / sync_s, "sync_calls": sync_calls, "decide_per_s": n_decisions / decide_s, "decide_calls": decide_calls}


def package_size() -> tuple[int, int]:
    buffer = io.BytesIO()
    files = [p for p in sorted((ROOT / "governance").rglob("*.py")) if "__pycache__" not in p.parts]
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            zf.write(path, path.relative_to(ROOT).as_posix())
    return len(buffer.getvalue()), len(files)


def import_ms(module: str, runs: int = 7) -> float:
    """Median cumulative import time of `module` in fresh interpreters (`-X importtime`, microseconds → ms)."""
    samples = []
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "0"}
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True,
                             cwd=ROOT, env=env, check=True).stderr
        top = [line for line in out.splitlines() if re.search(rf"\|\s*{re.escape(module)}$", line)]
        samples.append(int(top[-1].split("|")[1]) / 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--decisions", type=int, default=100)
    args = parser.parse_args()
    _env()
    figures = throughput(args.events, args.decisions)
    size, files = package_size()
    boto3_ms = import_ms("boto3")
    rows = [
        ("sync events/s (moto)", f"{figures['sync_per_s']:.1f}", f"{figures['sync_calls']:.2f} AWS calls/event"),
        ("decisions/s (moto)", f"{figures['decide_per_s']:.1f}", f"{figures['decide_calls']:.2f} AWS calls/decision "
                                                                            "(no package in moto: the registry write fails and its "
                                                                            "marker is one more; 4 with it, test_call_budget)"),
        ("governance package, zipped", f"{size / 1024:.1f} KB", f"{files} files"),
        ("import boto3 alone", f"{boto3_ms:.0f} ms", "baseline, same run"),
    ]
    for handler in ("sync", "api", "metrics"):
        ms = import_ms(f"governance.handlers.{handler}")
        rows.append((f"import governance.handlers.{handler}", f"{ms:.0f} ms", f"{ms - boto3_ms:+.0f} ms vs boto3"))
    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'value':>12}  note")
    print("-" * (width + 40))
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>12}  {note}")


if __name__ == "__main__":
    main()
