"""Tampering with a version's chain and records directly in the table: every case is detected by verification
with a reason that names the entry, including forgeries with recomputed hashes and moved heads, truncation
below a checkpoint, replayed and re-signed entries, a changed signing key id; and the stream consumer raises
the unsigned-change metric for a direct write. The use case chains: `test_tamper_use_case`.
"""
from __future__ import annotations

import copy
import json

import pytest

from governance import audit, schema

from .conftest import OFFICER_SESSION
from .tampering import (ATTACKER, G, build, delete, entries, forge_append, move_head, put, rehash, set_fields, sign_with_attacker,
                        state_of, tampering_is_detected)

# --- the cases: each tampers, then says which seq (None: any) the reason must name ---

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


CASES = {name[2:]: fn for name, fn in sorted(globals().items()) if name.startswith("t_")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampering_is_detected_with_a_reason_naming_the_entry(world, case):
    tampering_is_detected(world, case, CASES[case])


def test_the_suite_has_at_least_sixty_cases():
    from .test_tamper_use_case import CASES as USE_CASE_CASES
    assert len(CASES) + len(USE_CASE_CASES) >= 60


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
