"""Audit verification walks a trail and names the first broken link."""
from __future__ import annotations

import copy

from governance import audit


def chain(n: int) -> list[dict]:
    entries, prev = [], audit.GENESIS
    for seq in range(1, n + 1):
        e = audit.build_entry(pk="MODEL#g", subject="MODEL#g#V#000001", seq=seq, prev_hash=prev, at=f"2024-09-01T00:00:0{seq}.000Z",
                              event_id=f"e{seq}", action="approve", actor="arn:aws:iam::1:role/R", source="api", detail={"n": seq})
        prev = e["hash"]
        entries.append(e)
    return entries


def test_an_intact_chain_verifies_in_any_storage_order():
    entries = chain(5)
    result = audit.verify(list(reversed(entries)), head_seq=5, head_hash=entries[-1]["hash"])
    assert result.ok and result.entries == 5


def test_an_edited_entry_is_the_first_broken_link():
    entries = chain(5)
    entries[2]["reason"] = "rewritten"
    result = audit.verify(entries)
    assert (result.ok, result.broken_at, result.problem) == (False, 3, "hash does not match the entry's content (edited)")


def test_a_missing_entry_breaks_the_chain_where_it_was():
    entries = chain(5)
    del entries[1]
    result = audit.verify(entries)
    assert (result.ok, result.broken_at) == (False, 2) and "missing" in result.problem


def test_a_relinked_entry_breaks_at_its_prev_hash():
    entries = chain(4)
    forged = copy.deepcopy(entries[2])
    forged["prevHash"] = audit.GENESIS
    forged["hash"] = audit.entry_hash(forged)
    entries[2] = forged
    result = audit.verify(entries)
    assert (result.ok, result.broken_at) == (False, 3) and "prevHash" in result.problem


def test_a_truncated_tail_is_caught_by_the_head():
    entries = chain(4)
    result = audit.verify(entries[:3], head_seq=4, head_hash=entries[-1]["hash"])
    assert not result.ok and "chain head" in result.problem


def test_a_duplicate_entry_is_reported():
    entries = chain(3)
    result = audit.verify(entries + [copy.deepcopy(entries[1])])
    assert not result.ok and "duplicate" in result.problem


def test_verification_through_the_api_reports_a_tampered_table(world):
    from governance import schema
    from .conftest import TABLE
    world.onboard("credit-risk", groups=("credit-risk-xgb",))
    world.sync(world.package_event("credit-risk-xgb", 1))
    world.sync(world.package_event("credit-risk-xgb", 1, status="Rejected", modified_ms=1_724_905_000_000))
    path = "/use-cases/credit-risk/models/credit-risk-xgb/versions/1/audit/verify"
    verdict = world.api("GET", path)[1]
    assert (verdict["ok"], verdict["entries"], verdict["head"]["seq"]) == (True, 2, 2)
    entry = next(i for i in world.items() if i["sk"].startswith("AUDIT#") and i["seq"] == 2)
    world.ddb.update_item(TableName=TABLE, Key={"pk": {"S": entry["pk"]}, "sk": {"S": entry["sk"]}},
                          UpdateExpression="SET actor = :a", ExpressionAttributeValues={":a": {"S": "someone-else"}})
    code, verdict = world.api("GET", path)
    assert code == 200 and verdict["ok"] is False and verdict["firstBroken"]["seq"] == 2
    assert schema.AUDIT_PREFIX in verdict["firstBroken"]["sk"]


def test_verification_names_the_signing_key_by_the_fingerprint_of_its_public_key(world):
    import hashlib
    from .conftest import SIGNING_KEY
    world.onboard("credit-risk", groups=("credit-risk-xgb",))
    world.sync(world.package_event("credit-risk-xgb", 1))
    verdict = world.api("GET", "/use-cases/credit-risk/models/credit-risk-xgb/versions/1/audit/verify")[1]
    der = world.kms.get_public_key(KeyId=SIGNING_KEY)["PublicKey"]
    assert verdict["ok"] is True
    assert verdict["publicKeyFingerprint"] == f"SHA256:{hashlib.sha256(der).hexdigest()}"
