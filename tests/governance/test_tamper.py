"""Tampering with the table directly (someone with write access to it, not through the API): every case is
detected by verification with a reason that names the entry, including forgeries with recomputed hashes and
moved heads, truncation below a checkpoint, replayed and re-signed entries; and the stream consumer raises
the unsigned-change metric for a direct write.
"""
from __future__ import annotations

import copy
import json
from typing import Any, Callable

import pytest

from governance import audit, schema, signing
from governance.store import to_ddb

from .conftest import DEV_SESSION, OFFICER_SESSION, TABLE

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

def t_edit_actor(w):
    e = entries(w)[1]; set_fields(w, e[schema.PK], e[schema.SK], actor="arn:aws:iam::123456789012:role/Intruder"); return 2


def t_edit_reason(w):
    e = entries(w)[1]; set_fields(w, e[schema.PK], e[schema.SK], reason="approved by the board"); return 2


def t_edit_detail(w):
    e = entries(w)[0]; set_fields(w, e[schema.PK], e[schema.SK], detail='{"modelPackageArn":"arn:aws:sagemaker:us-east-1:999999999999:model-package/x/1"}'); return 1


def t_edit_at(w):
    e = entries(w)[2]; set_fields(w, e[schema.PK], e[schema.SK], at="2020-01-01T00:00:00.000Z"); return 3


def t_edit_to(w):
    e = entries(w)[1]; set_fields(w, e[schema.PK], e[schema.SK], to="rejected"); return 2


def t_edit_state(w):
    e = entries(w)[-1]; set_fields(w, e[schema.PK], e[schema.SK], recordState=state_of(w, production="approved")); return 4


def t_edit_and_rehash(w):
    es = entries(w); e = es[1]; e[schema.ENTRY_ACTOR] = "arn:aws:iam::123456789012:role/Intruder"; put(w, rehash(e, es[0][schema.ENTRY_HASH])); return 2


def t_rehash_whole_tail(w):
    es, prev = entries(w), None
    for i, e in enumerate(es):
        if i == 1:
            e[schema.ENTRY_REASON] = "rewritten"
        prev = rehash(e, prev or audit.GENESIS)[schema.ENTRY_HASH] if i else e[schema.ENTRY_HASH]
        put(w, e)
    move_head(w, es[-1]); return 2


def t_rehash_tail_and_resign_with_other_key(w):
    es, prev = entries(w), audit.GENESIS
    for e in es:
        e[schema.ENTRY_REASON] = "rewritten"
        prev = rehash(e, prev)[schema.ENTRY_HASH]
        sign_with_attacker(e); put(w, e)
    move_head(w, es[-1]); return 1


def t_delete_middle(w):
    delete(w, entries(w)[1]); return 3


def t_delete_first(w):
    delete(w, entries(w)[0]); return 2


def t_delete_last(w):
    delete(w, entries(w)[-1]); return 4


def t_truncate_and_move_head(w):
    es = entries(w); delete(w, es[-1]); move_head(w, es[-2], state=True); return 4


def t_truncate_two_and_move_head(w):
    es = entries(w); delete(w, es[-1]); delete(w, es[-2]); move_head(w, es[-3], state=True); return 4


def t_truncate_to_one_and_move_head(w):
    es = entries(w)
    for e in es[1:]:
        delete(w, e)
    move_head(w, es[0], state=True); return 4


def t_delete_everything(w):
    for e in entries(w):
        delete(w, e)
    set_fields(w, schema.model_pk(G), schema.stage_record_sk(1, "development"), chainSeq=0); return None


def t_swap_seq(w):
    es = entries(w)
    set_fields(w, es[1][schema.PK], es[1][schema.SK], seq=3); set_fields(w, es[2][schema.PK], es[2][schema.SK], seq=2); return 2


def t_reorder_and_rehash(w):
    es = entries(w); a, b = es[1], es[2]
    a[schema.ENTRY_SEQ], b[schema.ENTRY_SEQ] = 3, 2
    rehash(b, es[0][schema.ENTRY_HASH]); rehash(a, b[schema.ENTRY_HASH]); put(w, a); put(w, b)
    rehash(es[3], a[schema.ENTRY_HASH]); put(w, es[3]); move_head(w, es[3]); return 2


def t_insert_middle(w):
    es = entries(w); forged = copy.deepcopy(es[1]); forged[schema.SK] += "#x"; forged[schema.ENTRY_REASON] = "inserted"
    put(w, rehash(forged, es[0][schema.ENTRY_HASH])); return 2


def t_insert_and_renumber(w):
    es = entries(w); forged = copy.deepcopy(es[1]); forged[schema.SK] += "#x"; forged[schema.ENTRY_ACTION] = "approve-partial"
    put(w, rehash(forged, es[0][schema.ENTRY_HASH])); prev = forged[schema.ENTRY_HASH]
    for e in es[1:]:
        e[schema.ENTRY_SEQ] += 1; prev = rehash(e, prev)[schema.ENTRY_HASH]; put(w, e)
    move_head(w, es[-1]); return 2


def t_append_unsigned(w):
    forge_append(w, **{k: None for k in schema.ENTRY_SIGNATURE_FIELDS}); return 5


def t_append_keep_old_signature(w):
    forge_append(w); return 5


def t_append_attacker_key(w):
    forge_append(w, sign=sign_with_attacker); return 5


def t_append_attacker_key_and_state(w):
    forged = forge_append(w, sign=sign_with_attacker, recordState=state_of(w, test="approved"))
    set_fields(w, schema.model_pk(G), schema.stage_record_sk(1, "test"), modelStatus="approved"); return forged[schema.ENTRY_SEQ]


def t_append_garbage_signature(w):
    forge_append(w, sign=lambda e: e.update(sig="not base64!")); return 5


def t_append_signature_of_random_bytes(w):
    forge_append(w, sign=lambda e: e.update(sig="MEUCIQDeadBeefDeadBeefDeadBeefDeadBeefDeadBeefDeadBeefDeadBeQIgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")); return 5


def t_append_cosigned_lie(w):
    """Claim the new hash is co-signed with an old signature: the signature does not cover the changed list."""
    last = entries(w)[-1]

    def lie(e):
        e[schema.ENTRY_SIGNATURE] = last[schema.ENTRY_SIGNATURE]
        e[schema.ENTRY_COSIGNED] = sorted([*last[schema.ENTRY_COSIGNED], e[schema.ENTRY_HASH]])
    forge_append(w, sign=lie); return 5


def t_swap_signatures(w):
    es = entries(w); a, b = es[1], es[2]
    fields = {k: a[k] for k in schema.ENTRY_SIGNATURE_FIELDS}
    a.update({k: b[k] for k in schema.ENTRY_SIGNATURE_FIELDS}); b.update(fields); put(w, a); put(w, b); return 2


def t_strip_signature(w):
    e = entries(w)[2]; set_fields(w, e[schema.PK], e[schema.SK], sig=""); return 3


def t_strip_cosigned(w):
    e = entries(w)[2]; e.pop(schema.ENTRY_COSIGNED); put(w, e); return 3


def t_edit_signing_key_id(w):
    e = entries(w)[1]; set_fields(w, e[schema.PK], e[schema.SK], sigKey=ATTACKER.key_id); return 2


def t_edit_signing_key_id_of_head(w):
    e = entries(w)[-1]; set_fields(w, e[schema.PK], e[schema.SK], sigKey=e[schema.ENTRY_SIGNING_KEY] + "-rotated"); return 4


def t_strip_signing_key_id(w):
    e = entries(w)[0]; e.pop(schema.ENTRY_SIGNING_KEY); put(w, e); return 1


def t_uc_edit_signing_key_id(w):
    e = entries(w, schema.use_case_pk(UC))[0]; set_fields(w, e[schema.PK], e[schema.SK], sigKey="alias/other"); return ("uc", 1)


def t_resign_one_with_attacker(w):
    e = entries(w)[1]; sign_with_attacker(e); put(w, e); return 2


def t_replay_old_entry(w):
    es = entries(w); replay = copy.deepcopy(es[1]); replay[schema.SK] = f"{schema.AUDIT_PREFIX}2031-01-01T00:00:00.000Z#replay"
    put(w, replay); return 2


def t_replay_old_entry_as_head(w):
    es = entries(w); replay = copy.deepcopy(es[1]); replay[schema.SK] = f"{schema.AUDIT_PREFIX}2031-01-01T00:00:00.000Z#replay"
    put(w, replay); move_head(w, replay); return 2


def t_replay_with_new_seq(w):
    es = entries(w); replay = copy.deepcopy(es[1]); replay[schema.SK] = f"{schema.AUDIT_PREFIX}2031-01-01T00:00:00.000Z#replay"
    replay[schema.ENTRY_SEQ] = 5; put(w, replay); move_head(w, replay); return 5


def t_replay_other_version_entry(w):
    assert w.sync(w.package_event(G, 2, created_ms=1_724_904_599_000))["result"] == "written"
    other = next(e for e in entries(w) if e[schema.MODEL_VERSION] == 2)
    other[schema.MODEL_VERSION] = 1; other[schema.SK] += "#moved"; put(w, other); return 1


def t_replay_other_version_entry_as_head(w):
    assert w.sync(w.package_event(G, 2, created_ms=1_724_904_599_000))["result"] == "written"
    other = next(e for e in entries(w) if e[schema.MODEL_VERSION] == 2)
    for e in entries(w):
        if e[schema.MODEL_VERSION] == 1:
            delete(w, e)
    other[schema.MODEL_VERSION] = 1; other[schema.SK] += "#moved"; put(w, other); move_head(w, other); return None


def t_hide_entry_by_version(w):
    e = entries(w)[-1]; set_fields(w, e[schema.PK], e[schema.SK], modelVersion=7); return 4


def t_approve_record_without_entry(w):
    set_fields(w, schema.model_pk(G), schema.stage_record_sk(1, "test"), modelStatus="approved"); return 4


def t_approve_production_without_entry(w):
    item = copy.deepcopy(w.record(G, 1, "test")); item[schema.SK] = schema.stage_record_sk(1, "production")
    item.update(modelStage="production", modelStatus="approved"); put(w, item); return 4


def t_reject_to_pending_without_entry(w):
    set_fields(w, schema.model_pk(G), schema.stage_record_sk(1, "development"), modelStatus="pending"); return 4


def t_add_approver_without_entry(w):
    set_fields(w, schema.model_pk(G), schema.stage_record_sk(1, "test"), approvals=[OFFICER_SESSION]); return 4


def t_edit_validation_metrics(w):
    set_fields(w, schema.model_pk(G), schema.stage_record_sk(1, "test"), validationMetrics='{"auc":0.99}'); return 4


def t_replace_package_arn(w):
    set_fields(w, schema.model_pk(G), schema.stage_record_sk(1, "development"),
               modelPackageArn="arn:aws:sagemaker:us-east-1:999999999999:model-package/credit-risk-xgb/1"); return 4


def t_delete_test_record(w):
    delete(w, w.record(G, 1, "test")); return 4


def t_approve_and_forge_state_entry(w):
    set_fields(w, schema.model_pk(G), schema.stage_record_sk(1, "test"), modelStatus="approved")
    forge_append(w, recordState=state_of(w)); return 5


def t_head_hash_only(w):
    set_fields(w, schema.model_pk(G), schema.stage_record_sk(1, "development"), chainHash="f" * 64); return 4


def t_head_seq_back(w):
    set_fields(w, schema.model_pk(G), schema.stage_record_sk(1, "development"), chainSeq=2); return 2


def t_head_seq_forward(w):
    set_fields(w, schema.model_pk(G), schema.stage_record_sk(1, "development"), chainSeq=9); return 9


def t_entry_subject_changed(w):
    e = entries(w)[0]; e[schema.ENTRY_SUBJECT] = audit.model_subject(G, 2); put(w, rehash(e, audit.GENESIS)); return 1


def t_edit_prev_hash(w):
    e = entries(w)[2]; set_fields(w, e[schema.PK], e[schema.SK], prevHash="0" * 64); return 3


def t_edit_source(w):
    e = entries(w)[0]; set_fields(w, e[schema.PK], e[schema.SK], source="api"); return 1


def t_retire_without_entry(w):
    for stage in ("development", "test"):
        set_fields(w, schema.model_pk(G), schema.stage_record_sk(1, stage), modelStatus="retired")
    return 4


def t_seq_as_string(w):
    e = entries(w)[1]; e[schema.ENTRY_SEQ] = "2"; put(w, e); return None


# use case chain

def t_uc_stage_without_entry(w):
    set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, stage="PRODUCTION"); return ("uc", 2)


def t_uc_stage_back_to_poc(w):
    set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, stage="POC"); return ("uc", 2)


def t_uc_delete_last_entry(w):
    delete(w, entries(w, schema.use_case_pk(UC))[-1]); return ("uc", 2)


def t_uc_truncate_and_move_head(w):
    es = entries(w, schema.use_case_pk(UC)); delete(w, es[-1])
    set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, chainSeq=1, chainHash=es[0][schema.ENTRY_HASH], stage="DEVELOPMENT")
    return ("uc", 2)


def t_uc_forge_retire(w):
    es = entries(w, schema.use_case_pk(UC)); forged = copy.deepcopy(es[-1])
    forged.update(sk=f"{schema.AUDIT_PREFIX}2030-01-01T00:00:00.000Z#f", seq=3, action="retire", to="RETIRED",
                  recordState=audit.dump_state(audit.use_case_state({**uc_state(w), "stage": "RETIRED"})))
    rehash(forged, es[-1][schema.ENTRY_HASH]); sign_with_attacker(forged); put(w, forged)
    set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, chainSeq=3, chainHash=forged[schema.ENTRY_HASH], stage="RETIRED")
    return ("uc", 3)


def uc_state(w) -> dict[str, Any]:
    return w.item(schema.use_case_pk(UC), schema.STATE_SK)


def set_approved(w, approved: Any) -> None:
    set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, approved=approved)


def t_uc_approve_group_at_test_without_entry(w):
    set_approved(w, {**uc_state(w)["approved"], "test": [G]}); return ("uc", 2)


def t_uc_approve_group_at_production_without_entry(w):
    set_approved(w, {"development": [G], "test": [G], "production": [G]}); return ("uc", 2)


def t_uc_add_unknown_group_without_entry(w):
    set_approved(w, {"development": [G, "credit-risk-lgbm"]}); return ("uc", 2)


def t_uc_unapprove_group_without_entry(w):
    set_approved(w, {}); return ("uc", 2)


def t_uc_approved_malformed(w):
    set_approved(w, "development"); return ("uc", 2)


def t_uc_approved_group_list_malformed(w):
    set_approved(w, {"development": G}); return ("uc", 2)


def t_uc_remove_approved_attribute(w):
    item = uc_state(w); item.pop("approved"); put(w, item); return ("uc", 2)


def t_uc_approved_and_stage_without_entry(w):
    set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, stage="PREPRODUCTION", approved={"development": [G], "test": [G]})
    return ("uc", 2)


def t_uc_approved_and_forged_entry_with_attacker_key(w):
    es = entries(w, schema.use_case_pk(UC)); forged = copy.deepcopy(es[-1]); state = {**uc_state(w), "approved": {"development": [G], "test": [G]}}
    forged.update(sk=f"{schema.AUDIT_PREFIX}2030-01-01T00:00:00.000Z#g", seq=3, action="approve-group", recordState=audit.dump_state(audit.use_case_state(state)))
    rehash(forged, es[-1][schema.ENTRY_HASH]); sign_with_attacker(forged); put(w, forged)
    set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, chainSeq=3, chainHash=forged[schema.ENTRY_HASH], approved=state["approved"])
    return ("uc", 3)


def t_uc_approved_and_edited_entry_state(w):
    e = entries(w, schema.use_case_pk(UC))[-1]; state = {**uc_state(w), "approved": {"development": [G], "test": [G]}}
    set_fields(w, e[schema.PK], e[schema.SK], recordState=audit.dump_state(audit.use_case_state(state))); set_approved(w, state["approved"])
    return ("uc", 2)


def t_uc_edit_entry(w):
    e = entries(w, schema.use_case_pk(UC))[0]; set_fields(w, e[schema.PK], e[schema.SK], actor="someone"); return ("uc", 1)


def t_uc_swap_signature_with_model_entry(w):
    e = entries(w, schema.use_case_pk(UC))[0]; m = entries(w)[0]
    e.update({k: m[k] for k in schema.ENTRY_SIGNATURE_FIELDS}); put(w, e); return ("uc", 1)


def t_uc_replay_model_entry(w):
    m = entries(w)[0]; m[schema.PK] = schema.use_case_pk(UC); m[schema.SK] += "#x"; put(w, m); return ("uc", 1)


CASES = {name[2:]: fn for name, fn in sorted(globals().items()) if name.startswith("t_")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampering_is_detected_with_a_reason_naming_the_entry(world, case):
    build(world)
    before = {p: world.api("GET", p)[1] for p in (VPATH, UPATH)}
    assert all(v["ok"] for v in before.values()), before
    where = CASES[case](world)
    path, seq = (UPATH, where[1]) if isinstance(where, tuple) else (VPATH, where)
    code, verdict = world.api("GET", path)
    assert code == 200 and verdict["ok"] is False, (case, verdict)
    assert verdict["problems"] and all(p["problem"] for p in verdict["problems"])
    if seq is not None:
        assert seq in [p["seq"] for p in verdict["problems"]], (case, verdict["problems"])


def test_the_suite_has_at_least_sixty_cases():
    assert len(CASES) >= 60


def metric(stdout: str) -> list[float]:
    values = []
    for line in stdout.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            values += json.loads(line).get("UnsignedChanges", [])
    return values


def test_a_direct_table_write_raises_the_unsigned_change_metric_and_is_not_checkpointed(world, capsys):
    build(world)
    capsys.readouterr()
    set_fields(world, schema.model_pk(G), schema.stage_record_sk(1, "test"), modelStatus="approved")
    result = world.checkpoint()
    assert result["unsignedChanges"] >= 1 and result["checkpoints"] == 0
    assert metric(capsys.readouterr().out) == [float(result["unsignedChanges"])]


def test_a_direct_write_to_the_approved_groups_is_an_unsigned_change_for_the_consumer(world):
    build(world)
    set_approved(world, {"development": [G], "test": [G]})
    result = world.checkpoint()
    assert result["unsignedChanges"] >= 1 and result["checkpoints"] == 0


def test_a_group_approval_that_does_not_advance_the_use_case_is_a_signed_entry_of_its_chain(world):
    """Two groups, one approved at development: the use case stays in DEVELOPMENT, but its approved groups
    changed, so its chain says so (and a later direct write to them is caught)."""
    other = "credit-risk-lgbm"
    world.onboard(UC, groups=(G, other), risk_tier="minimal", thresholds=())
    assert world.sync(world.package_event(G, 1))["result"] == "written"
    assert world.api("POST", f"/use-cases/{UC}/decision", {"action": "approve", "reason": "go"}, caller=DEV_SESSION)[0] == 200
    code, body = world.api("POST", f"/use-cases/{UC}/models/{G}/versions/1/decision",
                           {"stage": "development", "action": "approve"}, caller=DEV_SESSION)
    assert code == 200 and body["useCaseStage"] == "DEVELOPMENT", body
    last = entries(world, schema.use_case_pk(UC))[-1]
    assert (last[schema.ENTRY_ACTION], last[schema.ENTRY_FROM], last[schema.ENTRY_TO]) == ("approve-group", "DEVELOPMENT", "DEVELOPMENT")
    assert json.loads(last[schema.ENTRY_STATE])["approved"] == {"development": [G]}
    assert json.loads(last[schema.ENTRY_DETAIL]) == {"approvedAdded": {"development": [G]}}
    assert world.api("GET", UPATH)[1]["ok"] is True and world.checkpoint()["unsignedChanges"] == 0
    set_approved(world, {"development": [G, other]})
    verdict = world.api("GET", UPATH)[1]
    assert verdict["ok"] is False and "approved" in verdict["problems"][0]["problem"]


def test_signed_writes_are_checkpointed_with_a_zero_metric(world, capsys):
    build(world)
    capsys.readouterr()
    assert world.report(world.member_event("Model Metrics", G, 1, "test", metrics={"auc": 0.91}, reported_ms=1_725_000_100_000))["result"] == "written"
    assert world.checkpoint() == {"checkpoints": 1, "unsignedChanges": 0, "refused": 0}
    assert metric(capsys.readouterr().out) == [0.0]
    key = f"checkpoints/MODEL/{G}/V/000001/0000000005.json"
    body = json.loads(world.s3.get_object(Bucket="mlgov-audit-checkpoints", Key=key)["Body"].read())
    assert body["seq"] == 5 and body["hash"] == entries(world)[-1]["hash"]


@pytest.mark.parametrize("event", [None, "x", {}, {"Records": "x"}, {"Records": [{"eventName": "INSERT"}, 7, None]}])
def test_the_consumer_refuses_malformed_batches_without_raising(world, event):
    from governance.handlers import checkpoint
    result = checkpoint.handler(event, None)
    assert result["checkpoints"] == 0 and result["unsignedChanges"] == 0
