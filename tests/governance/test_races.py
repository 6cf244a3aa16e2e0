"""Concurrency: one winner among simultaneous decisions; shuffled, duplicated sync events converge."""
from __future__ import annotations

import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from governance import mirror, audit, schema

from .conftest import ACCOUNT, DEV_SESSION, OFFICER_SESSION, OFFICER2_SESSION, TABLE, iso

UC, G = "credit-risk", "credit-risk-xgb"


def test_sixteen_simultaneous_decisions_one_wins(world):
    world.onboard(UC, groups=(G,), risk_tier="minimal", thresholds=())
    world.approve_use_case(UC)  # so approvals pass the stage gate and race the rejections on the record
    world.sync(world.package_event(G, 1))
    barrier = threading.Barrier(16)
    callers = [DEV_SESSION, OFFICER_SESSION, OFFICER2_SESSION, f"arn:aws:iam::{ACCOUNT}:role/ModelOwner"]

    def decide(i: int) -> tuple[int, Any]:
        body = ({"stage": "development", "action": "approve", "expectedRev": 1} if i % 2 else
                {"stage": "development", "action": "reject", "reason": f"thread {i}", "expectedRev": 1})
        barrier.wait()
        return world.api("POST", f"/use-cases/{UC}/models/{G}/versions/1/decision", body, caller=callers[i % len(callers)])

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(decide, range(16)))
    codes = sorted(code for code, _ in results)
    assert codes == [200] + [409] * 15, results
    entries = [i for i in world.items() if i["pk"] == schema.model_pk(G) and i["sk"].startswith(schema.AUDIT_PREFIX)]
    assert sorted(e["action"] for e in entries if e["action"] != "register") in (["approve"], ["reject"])
    dev = world.record(G, 1, "development")
    assert dev["rev"] == 2 and audit.verify(entries, head_seq=dev["chainSeq"], head_hash=dev["chainHash"]).ok


def distinct_events(world, groups: tuple[str, ...], versions: int) -> list[dict[str, Any]]:
    """Registrations (some with ModelLifeCycle, some epoch-ms) and, for every other version, a later registry rejection."""
    events = []
    base = 1_724_904_598_000
    for g_index, group in enumerate(groups):
        for v in range(1, versions + 1):
            t1 = base + (g_index * versions + v) * 60_000
            events.append(world.package_event(group, v, created_ms=t1, epoch=v % 3 == 0,
                                              lifecycle={"Stage": "development", "StageStatus": "pending"} if v % 4 == 0 else None))
            if v % 2 == 0:
                events.append(world.package_event(group, v, status="Rejected", created_ms=t1, modified_ms=t1 + 5_000,
                                                  modified_by=OFFICER_SESSION, epoch=v % 3 == 1))
    return events


def reset_table(world) -> None:
    world.ddb.delete_table(TableName=TABLE)
    world._create_table()


def test_thousand_shuffled_duplicated_sync_events_converge(world):
    groups = ("credit-risk-xgb", "credit-risk-fraud")
    world.onboard(UC, groups=groups)
    events = distinct_events(world, groups, 60)  # 180 distinct events
    # Reference: each distinct event once, in order.
    ordered = sorted(events, key=_modified_ms)
    for event in ordered:
        assert world.sync(event)["result"] == "written"
    reference = unsigned(world.snapshot())

    reset_table(world)
    world.onboard(UC, groups=groups)
    rng = random.Random(20240901)
    delivered = [rng.choice(events) for _ in range(1000 - len(events))] + events
    rng.shuffle(delivered)
    assert len(delivered) == 1000
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(world.sync, delivered))
    counts = {r: sum(1 for x in results if x["result"] == r) for r in ("written", "duplicate", "stale", "rejected")}
    assert counts["rejected"] == 0 and counts["written"] <= len(events)
    assert counts["written"] + counts["duplicate"] + counts["stale"] == 1000
    after = unsigned(world.snapshot())
    extra = [x for x in after if x not in reference]
    missing = [x for x in reference if x not in after]
    for a, b in zip(extra, missing):
        da, db = json.loads(a[2]), json.loads(b[2])
        print("DIFF", a[0], a[1], {k: (da.get(k), db.get(k)) for k in set(da) | set(db) if da.get(k) != db.get(k)})
    assert extra == missing == []

    items = world.items()
    for group in groups:
        for v in range(1, 61):
            entries = [i for i in items if i["pk"] == schema.model_pk(group) and i["sk"].startswith("AUDIT#") and i["modelVersion"] == v]
            dev = world.record(group, v, "development")
            verdict = audit.verify(entries, head_seq=dev["chainSeq"], head_hash=dev["chainHash"])
            assert verdict.ok, (group, v, verdict)
            code, signed = world.api("GET", f"/use-cases/{UC}/models/{group}/versions/{v}/audit/verify")
            assert signed["ok"], signed
            assert len(entries) == (2 if v % 2 == 0 else 1)


def unsigned(snapshot: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Items without their signatures: ECDSA signatures are randomised, and how many entries one signature covers
    depends on delivery order (a rejection that arrives before its registration is written with it)."""
    out = []
    for pk, sk, raw in snapshot:
        if sk.startswith(mirror.MARKER_PREFIX):
            continue  # the queued registry write's marker carries the time it was queued
        data = {k: v for k, v in json.loads(raw).items() if k not in schema.ENTRY_SIGNATURE_FIELDS}
        out.append((pk, sk, json.dumps(data, sort_keys=True)))
    return out


def _modified_ms(event: dict[str, Any]) -> int:
    from governance.events import to_millis
    return to_millis(event["detail"]["LastModifiedTime"], "t")


def test_iso_helper_round_trips():
    from governance.events import to_millis
    assert to_millis(iso(1_724_904_598_123), "t") == 1_724_904_598_123
