"""Tampering with a use case's chain and STATE directly in the table: its stage, the groups approved per model
stage (what auto-advance decides on), the rejection that sent it back, its entries and head, also after it was
rejected or retired through the API. Every case is detected by verification with a reason naming the entry; a
group approval that does not move the stage is itself a signed entry.
"""
from __future__ import annotations

import copy
import json

import pytest

from governance import audit, schema

from .conftest import DEV_SESSION, OFFICER_SESSION, TEST_SESSION
from .tampering import (G, UC, UPATH, build, delete, entries, put, rehash, set_approved, set_fields, sign_with_attacker,
                        tampering_is_detected, uc_state)

# --- the cases: each tampers, then returns ("uc", the seq the reason must name) ---

def t_uc_edit_signing_key_id(w):
    e = entries(w, schema.use_case_pk(UC))[0]; set_fields(w, e[schema.PK], e[schema.SK], sigKey="alias/other"); return ("uc", 1)


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


# --- after the use case's own decisions: sent back (reject) and retired, each made through the API first ---

def decided(w, action: str, caller: str) -> None:
    """The use case rejected (QA back to DEVELOPMENT) or retired through the API; its chain verifies and is checkpointed."""
    code, body = w.api("POST", f"/use-cases/{UC}/decision", {"action": action, "reason": "bias review failed"}, caller=caller)
    assert code == 200, body
    assert w.api("GET", UPATH)[1]["ok"] is True and w.checkpoint()["unsignedChanges"] == 0


def rejected(w) -> None:
    decided(w, "reject", TEST_SESSION)


def retired(w) -> None:
    decided(w, "retire", OFFICER_SESSION)


def t_uc_rejected_sent_back_cleared_without_entry(w):
    rejected(w); set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, sentBack="null"); return ("uc", 3)


def t_uc_rejected_sent_back_attribute_removed(w):
    rejected(w); item = uc_state(w); item.pop("sentBack"); put(w, item); return ("uc", 3)


def t_uc_rejected_sent_back_reason_edited(w):
    rejected(w); sent = json.loads(uc_state(w)["sentBack"]); sent["reason"] = "typo"
    set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, sentBack=json.dumps(sent)); return ("uc", 3)


def t_uc_rejected_sent_back_malformed(w):
    rejected(w); set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, sentBack="{not json"); return ("uc", 3)


def t_uc_rejected_stage_forward_without_entry(w):
    rejected(w); set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, stage="QA", sentBack="null"); return ("uc", 3)


def t_uc_rejected_approved_groups_edited(w):
    rejected(w); set_approved(w, {"development": [G], "test": [G]}); return ("uc", 3)


def t_uc_rejected_entry_deleted_and_head_state_moved_back(w):
    rejected(w); es = entries(w, schema.use_case_pk(UC)); delete(w, es[-1])
    set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, chainSeq=2, chainHash=es[1][schema.ENTRY_HASH], stage="QA", sentBack="null")
    return ("uc", 3)


def t_uc_retired_unretired_without_entry(w):
    retired(w); set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, stage="QA"); return ("uc", 3)


def t_uc_retired_approved_groups_edited(w):
    retired(w); set_approved(w, {"development": [G], "test": [G], "production": [G]}); return ("uc", 3)


def t_uc_retired_sent_back_set_without_entry(w):
    retired(w); set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, sentBack='{"from":"QA","reason":"x"}'); return ("uc", 3)


def t_uc_retired_entry_deleted_and_head_state_moved_back(w):
    retired(w); es = entries(w, schema.use_case_pk(UC)); delete(w, es[-1])
    set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, chainSeq=2, chainHash=es[1][schema.ENTRY_HASH], stage="QA")
    return ("uc", 3)


def t_uc_retired_forged_unretire_entry(w):
    retired(w); es = entries(w, schema.use_case_pk(UC)); forged = copy.deepcopy(es[-1]); state = {**uc_state(w), "stage": "QA"}
    forged.update(sk=f"{schema.AUDIT_PREFIX}2030-01-01T00:00:00.000Z#u", seq=4, action="approve", to="QA",
                  recordState=audit.dump_state(audit.use_case_state(state)))
    rehash(forged, es[-1][schema.ENTRY_HASH]); sign_with_attacker(forged); put(w, forged)
    set_fields(w, schema.use_case_pk(UC), schema.STATE_SK, chainSeq=4, chainHash=forged[schema.ENTRY_HASH], stage="QA")
    return ("uc", 4)


def t_uc_retired_version_unretired_without_entry(w):
    """The cascade retired version 1 in the same transaction: setting it back is caught on the version's chain."""
    retired(w)
    assert w.record(G, 1, "development")["modelStatus"] == "retired"
    set_fields(w, schema.model_pk(G), schema.stage_record_sk(1, "development"), modelStatus="approved")
    return entries(w)[-1][schema.ENTRY_SEQ]


CASES = {name[2:]: fn for name, fn in sorted(globals().items()) if name.startswith("t_")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampering_is_detected_with_a_reason_naming_the_entry(world, case):
    tampering_is_detected(world, case, CASES[case])


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
