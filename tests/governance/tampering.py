"""The table as someone with write access to it (not through the API) sees it: a governed world to tamper with,
and the writes a tamperer makes (edit, delete, append with recomputed hashes, move heads, re-sign with their own
key). Shared by the tamper suites of the model chains (`test_tamper`) and the use case chains
(`test_tamper_use_case`).
"""
from __future__ import annotations

import copy
import json
from typing import Any, Callable

from governance import audit, schema, signing
from governance.store import to_ddb

from .conftest import DEV_SESSION, TABLE

UC, G = "credit-risk", "credit-risk-xgb"
VPATH = f"/use-cases/{UC}/models/{G}/versions/1/audit/verify"
UPATH = f"/use-cases/{UC}/audit/verify"
ATTACKER = signing.LocalSigner(key_id="arn:aws:kms:us-east-1:123456789012:key/attacker")


def build(world) -> None:
    """Version 1 with four entries (register, dev approve, test deploy, monitoring) and a use case chain of two."""
    world.onboard(UC, groups=(G,), risk_tier="minimal", thresholds=())
    assert world.sync(world.package_event(G, 1))["result"] == "written"
    assert world.api("POST", f"/use-cases/{UC}/decision", {"action": "approve", "reason": "go"}, caller=DEV_SESSION)[0] == 200
    code, body = world.api("POST", f"/use-cases/{UC}/models/{G}/versions/1/decision",
                           {"stage": "development", "action": "approve"}, caller=DEV_SESSION)
    assert code == 200, body
    assert world.report(world.member_event("Model Deployed", G, 1, "test"))["result"] == "written"
    assert world.report(world.member_event("Model Metrics", G, 1, "test", metrics={"auc": 0.9}, reported_ms=1_725_000_000_000))["result"] == "written"
    assert world.checkpoint()["unsignedChanges"] == 0


def entries(world, pk: str = schema.model_pk(G)) -> list[dict[str, Any]]:
    return sorted((i for i in world.items() if i[schema.PK] == pk and i[schema.SK].startswith(schema.AUDIT_PREFIX)),
                  key=lambda e: e[schema.ENTRY_SEQ])


def put(world, item: dict[str, Any]) -> None:
    world.ddb.put_item(TableName=TABLE, Item=to_ddb(item))


def delete(world, item: dict[str, Any]) -> None:
    world.ddb.delete_item(TableName=TABLE, Key={schema.PK: {"S": item[schema.PK]}, schema.SK: {"S": item[schema.SK]}})


def dev(world) -> dict[str, Any]:
    return world.record(G, 1, "development")


def set_fields(world, pk: str, sk: str, **fields: Any) -> None:
    item = world.item(pk, sk)
    item.update(fields)
    put(world, item)


def move_head(world, entry: dict[str, Any], *, state: bool = False) -> None:
    """Point the version's chain head at `entry` (and, with `state`, make the records say what it says)."""
    set_fields(world, schema.model_pk(G), schema.stage_record_sk(1, "development"),
               **{schema.CHAIN_SEQ: entry[schema.ENTRY_SEQ], schema.CHAIN_HASH: entry[schema.ENTRY_HASH]})
    if state:
        said = json.loads(entry[schema.ENTRY_STATE])
        for stage in ("development", "test", "production"):
            record = world.record(G, 1, stage)
            if stage not in said and record is not None:
                delete(world, record)
            elif stage in said:
                set_fields(world, schema.model_pk(G), schema.stage_record_sk(1, stage), **{
                    schema.MODEL_STATUS: said[stage]["status"], schema.APPROVALS: said[stage]["approvals"]})


def rehash(entry: dict[str, Any], prev: str) -> dict[str, Any]:
    entry[schema.ENTRY_PREV_HASH] = prev
    entry[schema.ENTRY_HASH] = audit.entry_hash(entry)
    return entry


def forge_append(world, *, sign: Callable[[dict[str, Any]], None] | None = None, **fields: Any) -> dict[str, Any]:
    """Append an entry with a recomputed hash and move the head to it: what a table writer can do."""
    last = entries(world)[-1]
    forged = copy.deepcopy(last)
    forged.update({schema.SK: f"{schema.AUDIT_PREFIX}2030-01-01T00:00:00.000Z#forged", schema.ENTRY_SEQ: last[schema.ENTRY_SEQ] + 1,
                   schema.ENTRY_ACTION: "approve", schema.ENTRY_ACTOR: "arn:aws:iam::123456789012:role/Intruder", **fields})
    rehash(forged, last[schema.ENTRY_HASH])
    if sign is not None:
        sign(forged)
    put(world, forged)
    move_head(world, forged)
    return forged


def sign_with_attacker(entry: dict[str, Any]) -> None:
    signing.sign_entries([entry], ATTACKER)


def state_of(world, **stages: str) -> str:
    items = {s: world.record(G, 1, s) for s in ("development", "test", "production")}
    state = audit.model_state(items)
    for stage, status in stages.items():
        state.setdefault(stage, {"status": status, "approvals": [], "validation": None})["status"] = status
    return audit.dump_state(state)


# --- the cases: each tampers, then says which path is verified and which seq (None: any) the reason must name ---


def uc_state(w) -> dict[str, Any]:
    return w.item(schema.use_case_pk(UC), schema.STATE_SK)


def set_approved(w, approved: Any) -> None:
    set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, approved=approved)


def tampering_is_detected(world, case: str, tamper: Callable[[Any], Any]) -> None:
    """Build, tamper, verify: the chain the case names fails verification, naming the seq it says (None: any).

    A case returns the seq for the version's chain, or ("uc", seq) for the use case's chain.
    """
    build(world)
    before = {p: world.api("GET", p)[1] for p in (VPATH, UPATH)}
    assert all(v["ok"] for v in before.values()), before
    where = tamper(world)
    path, seq = (UPATH, where[1]) if isinstance(where, tuple) else (VPATH, where)
    code, verdict = world.api("GET", path)
    assert code == 200 and verdict["ok"] is False, (case, verdict)
    assert verdict["problems"] and all(p["problem"] for p in verdict["problems"])
    if seq is not None:
        assert seq in [p["seq"] for p in verdict["problems"]], (case, verdict["problems"])
