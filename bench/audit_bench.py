"""Figures of tamper evidence: tamper cases tried / detected, AWS calls per sync event and decision with signing,
decisions/s before vs after signing (ratio in one run), verification cost per entry, the bytes a checkpoint adds.

    .venv/bin/python bench/audit_bench.py [--decisions 200] [--entries 200]

Throughput is moto's (in-process; the numbers compare code paths, not AWS latency). "Before" is the same
service with a store that does not sign (signer None), measured in the same run against the same moto.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ACCOUNT, REGION, TABLE, KEY = "123456789012", "us-east-1", "mlgov-audit-bench", "alias/mlgov-audit-bench"
DS = f"arn:aws:sts::{ACCOUNT}:assumed-role/DataScientist/alice"
OWNER = f"arn:aws:iam::{ACCOUNT}:role/ModelOwner"
OWNER_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ModelOwner/bob"


def _env() -> None:
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": REGION,
                       "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled", "POWERTOOLS_LOG_LEVEL": "ERROR"})


def tamper_cases() -> tuple[int, int]:
    """Run the tamper suite: cases tried (collected) and detected (passed)."""
    out = subprocess.run([sys.executable, "-m", "pytest", "tests/governance/test_tamper.py", "tests/governance/test_tamper_use_case.py", "-o", "addopts=", "-q", "-p", "no:cacheprovider",
                          "--import-mode=importlib", "-k", "tampering", "-n", "2"], cwd=ROOT, capture_output=True, text=True).stdout
    passed = int((re.search(r"(\d+) passed", out) or [0, 0])[1])
    failed = int((re.search(r"(\d+) failed", out) or [0, 0])[1])
    return passed + failed, passed


def _event(group: str, version: int, started_ms: int) -> dict:
    """A registration dated within the accepted clock skew (older events are judged stale against newer ones)."""
    from govctl.fakeaws import events
    ms = started_ms + version * 1000
    detail = events.model_package_detail(group, version, account=ACCOUNT, region=REGION, created=ms, created_by=DS,
                                         arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{group}/{version}")
    return events.model_package_event(detail, account=ACCOUNT, region=REGION, time=events.iso(ms), event_id=f"b-{group}-{version}")


class _Registry:
    """The registry write each decision makes (`UpdateModelPackage`), counted like the boto3 calls; moto holds no
    packages for the bench's versions, so a real client would fail and write a failure marker instead."""

    def __init__(self, calls: list[str]):
        self.calls = calls

    def update_model_package(self, **_: object) -> dict:
        self.calls.append("UpdateModelPackage")
        return {}


def throughput(n: int) -> dict:
    import boto3
    from moto import mock_aws

    from governance import checkpoints, schema, trails
    from governance.api_models import ModelDecision, UseCaseDecision
    from governance.domain import Approvers
    from governance.evidence import Evidence, Hub
    from governance.service import Governance
    from governance.signing import KmsSigner, SigningStore
    from governance.store import to_ddb
    from govctl.fakeaws.moto import install
    install()
    out: dict = {}
    with mock_aws():
        setup = boto3.session.Session(region_name=REGION)
        ddb, kms = setup.client("dynamodb"), setup.client("kms")
        ddb.create_table(**schema.TABLE.create_table_request(TABLE))
        kms.create_alias(AliasName=KEY, TargetKeyId=kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"])
        groups = {"signed": "bench-signed", "unsigned": "bench-unsigned"}
        ddb.put_item(TableName=TABLE, Item=to_ddb(schema.use_case_config_item(
            use_case_id="bench", name="Bench", risk_tier="minimal", owner="o", line_of_business="l", project="p",
            groups=list(groups.values()), thresholds=[])))
        for g in groups.values():
            ddb.put_item(TableName=TABLE, Item=to_ddb(schema.group_config_item(
                group=g, use_case_id="bench", owner="o", line_of_business="l", project="p", risk="low", use_case_name="Bench")))
        boto3.setup_default_session(region_name=REGION)
        calls: list[str] = []
        boto3.DEFAULT_SESSION.events.register("provide-client-params.*.*", lambda params, model=None, **kw: calls.append(model.name))
        client = boto3.client("dynamodb")
        signer = KmsSigner(boto3.client("kms"), KEY)
        approvers = Approvers.from_mapping({"development": [OWNER]})
        evidence = Evidence(hub=Hub(ACCOUNT, REGION))  # the hub's own packages only (provenance)
        registry = _Registry(calls)
        services = {"signed": Governance(SigningStore(client, TABLE, signer), registry, approvers, evidence=evidence),
                    "unsigned": Governance(SigningStore(client, TABLE, None), registry, approvers, evidence=evidence)}
        services["signed"].decide_use_case("bench", UseCaseDecision(action="approve"), OWNER_SESSION)  # the stage gate
        started_ms = int(time.time() * 1000) - (n + 1) * 1000
        for kind, gov in services.items():
            calls.clear()
            for v in range(1, n + 1):
                assert gov.sync_registry_event(_event(groups[kind], v, started_ms)).wrote
            out[f"{kind}_sync_calls"] = len(calls) / n
        seconds = {"signed": 0.0, "unsigned": 0.0}
        for v in range(1, n + 1):  # interleaved, so both see the same table size and machine load
            for kind, gov in services.items():
                calls.clear()
                start = time.perf_counter()
                gov.decide("bench", groups[kind], v, ModelDecision(stage="development", action="approve"), OWNER_SESSION)
                seconds[kind] += time.perf_counter() - start
                out[f"{kind}_decide_calls"] = len(calls)
        out["decide_per_s"] = {k: n / s for k, s in seconds.items()}
        trail = trails.model_trail(services["signed"].store, groups["signed"], 1)
        out["checkpoint_bytes"] = len(checkpoints.body(trail.entries[-1]))
        out["entry_bytes"] = len(json.dumps(trail.entries[-1], default=str))
    return out


def verification_cost(n: int) -> dict:
    from governance import audit, schema, signing
    signer = signing.LocalSigner()
    entries, prev = [], audit.GENESIS
    for seq in range(1, n + 1):
        e = audit.build_entry(pk="MODEL#g", subject="MODEL#g#V#000001", seq=seq, prev_hash=prev, at="2024-09-01T00:00:00.000Z",
                              event_id=f"e{seq}", action="approve", actor="arn:aws:iam::1:role/R", source="api",
                              state={"development": {"status": "approved"}})
        signing.sign_entries([e], signer)
        prev = e[schema.ENTRY_HASH]
        entries.append(e)
    trail = audit.Trail("MODEL#g#V#000001", tuple(entries), n, prev, {"development": {"status": "approved"}})
    start = time.perf_counter()
    assert audit.verify(entries, head_seq=n, head_hash=prev).ok
    chain = time.perf_counter() - start
    start = time.perf_counter()
    assert audit.verify_trail(trail, signer.verifier()).ok
    full = time.perf_counter() - start
    return {"chain_us": chain / n * 1e6, "full_us": full / n * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=200)
    parser.add_argument("--entries", type=int, default=500)
    args = parser.parse_args()
    _env()
    tried, detected = tamper_cases()
    t = throughput(args.decisions)
    v = verification_cost(args.entries)
    rows = [
        ("tamper cases detected / tried", f"{detected} / {tried}", "direct table writes, tests/governance/test_tamper*.py"),
        ("AWS calls per sync event", f"{t['signed_sync_calls']:.2f}", f"without signing {t['unsigned_sync_calls']:.2f} (bar 3)"),
        ("AWS calls per decision", f"{t['signed_decide_calls']}", f"without signing {t['unsigned_decide_calls']}; "
                                                                    "registry mirror included (bar 4)"),
        ("decisions/s signed (moto)", f"{t['decide_per_s']['signed']:.1f}",
         f"unsigned {t['decide_per_s']['unsigned']:.1f}: ratio {t['decide_per_s']['signed'] / t['decide_per_s']['unsigned']:.2f}"),
        ("verification per entry", f"{v['full_us']:.0f} us", f"signature check included; chain only {v['chain_us']:.0f} us "
                                                               f"(x{v['full_us'] / v['chain_us']:.0f})"),
        ("checkpoint object", f"{t['checkpoint_bytes']} B", f"per chain head; an entry is ~{t['entry_bytes']} B"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>14}  {note}")


if __name__ == "__main__":
    main()
