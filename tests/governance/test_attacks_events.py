"""An outsider's attacks on the sync handler: registry events that must be refused, with a reason, writing nothing.

Each case starts from a registered version (v1) and sends one forged or malformed `SageMaker Model Package
State Change`; the table is compared item by item before and after. Provenance faults (a package outside the
hub registry, or another ARN for a recorded version) are also counted as a metric and logged as errors.
"""
from __future__ import annotations

import json
import time
from typing import Any, Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import ACCOUNT, DS_SESSION, OFFICER_SESSION, REGION

G = "credit-risk-xgb"
NOW_MS = int(time.time() * 1000)
LATER_MS = 1_724_990_000_000  # after v1's registration: a change that would be applied were it genuine
FOREIGN = {
    "account": f"arn:aws:sagemaker:{REGION}:999999999999:model-package/",
    "region": f"arn:aws:sagemaker:eu-west-3:{ACCOUNT}:model-package/",
    "partition": f"arn:aws-cn:sagemaker:{REGION}:{ACCOUNT}:model-package/",
    "near-account": f"arn:aws:sagemaker:{REGION}:{ACCOUNT[:-1]}3:model-package/",
}


@pytest.fixture
def registered(world):
    world.onboard(groups=(G,))
    assert world.sync(world.package_event(G, 1))["result"] == "written"
    return world


def refused(world, event: Any, reason: str, result: str = "rejected") -> dict[str, str]:
    before = world.snapshot()
    outcome = world.sync(event)
    assert outcome["result"] == result, outcome
    assert reason in outcome["message"], outcome["message"]
    assert world.snapshot() == before
    return outcome


# --- provenance: packages that are not the hub's ---

@pytest.mark.parametrize("status", ["PendingManualApproval", "Approved", "Rejected"])
@pytest.mark.parametrize("version", [1, 2], ids=["recorded-version", "new-version"])
@pytest.mark.parametrize("whose", sorted(FOREIGN))
def test_a_package_outside_the_hub_registry_is_a_provenance_fault(registered, whose, version, status, capsys):
    event = registered.package_event(G, version, status=status, modified_ms=LATER_MS, modified_by=OFFICER_SESSION,
                                     arn=f"{FOREIGN[whose]}{G}/{version}")
    refused(registered, event, "provenance fault")
    out = capsys.readouterr().out
    assert '"ProvenanceFault":[1.0]' in out and '"Namespace":"mlgov/governance"' in out


@pytest.mark.parametrize("status", ["PendingManualApproval", "Approved", "Rejected"])
def test_the_envelope_cannot_vouch_for_a_foreign_arn(registered, status):
    """The event's `account`/`region` say hub; the package ARN says otherwise: the ARN decides."""
    event = registered.package_event(G, 2, status=status, arn=f"{FOREIGN['account']}{G}/2")
    assert event["account"] == ACCOUNT and event["region"] == REGION
    refused(registered, event, "not of the hub registry")


@pytest.mark.parametrize("arn", [
    f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/CREDIT-RISK-XGB/1",
    f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/Credit-Risk-Xgb/1",
], ids=["upper-case", "mixed-case"])
@pytest.mark.parametrize("status", ["PendingManualApproval", "Rejected"])
def test_the_arn_first_recorded_is_never_replaced(registered, arn, status):
    event = registered.package_event(G, 1, status=status, modified_ms=LATER_MS, arn=arn)
    refused(registered, event, "cannot replace it")


def test_a_registration_for_another_version_under_the_same_arn_is_malformed(registered):
    event = registered.package_event(G, 2, arn=f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/{G}/1")
    refused(registered, event, "does not name")


# --- time: the future is refused, nothing unparseable reaches a record ---

FIELDS: dict[str, Callable[[dict[str, Any], Any], None]] = {
    "time": lambda e, v: e.__setitem__("time", v),
    "CreationTime": lambda e, v: e["detail"].__setitem__("CreationTime", v),
    "LastModifiedTime": lambda e, v: e["detail"].__setitem__("LastModifiedTime", v),
}
FUTURE = {
    "year-3000": "3000-01-01T00:00:00Z",
    "a-day-ahead-ms": NOW_MS + 86_400_000,
    "a-day-ahead-iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW_MS / 1000 + 86_400)),
    "year-9999": "9999-12-31T23:59:59Z",
}
MALFORMED = {
    "1e30-ms": (10 ** 30, "out of range"),
    "nan": (float("nan"), "not a timestamp"),
    "infinity": (float("inf"), "not a timestamp"),
    "negative": (-1, "out of range"),
    "year-0": ("0000-01-01T00:00:00Z", "not ISO-8601"),
    "year-1": ("0001-01-01T00:00:00Z", "out of range"),
    "epoch-zero": (0, "out of range"),
    "empty": ("", "not a timestamp"),
    "words": ("yesterday", "not ISO-8601"),
    "month-13": ("2024-13-45T00:00:00Z", "not ISO-8601"),
    "unicode-digits": ("１７２４９０４５９８０００", "not ISO-8601"),
    "5000-digits": ("9" * 5000, "characters long"),
    "boolean": (True, "not a timestamp"),
    "list": ([1_724_904_598_000], "not a timestamp"),
    "object": ({"ms": 1}, "not a timestamp"),
}


@pytest.mark.parametrize("value", FUTURE.values(), ids=FUTURE.keys())
@pytest.mark.parametrize("field", FIELDS)
def test_timestamps_in_the_future_are_refused(registered, field, value):
    event = registered.package_event(G, 2)
    FIELDS[field](event, value)
    outcome = refused(registered, event, "")
    assert "in the future" in outcome["message"] or "out of range" in outcome["message"]


@pytest.mark.parametrize("value,reason", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("field", FIELDS)
def test_timestamps_that_cannot_be_read_are_refused(registered, field, value, reason):
    event = registered.package_event(G, 2)
    FIELDS[field](event, value)
    refused(registered, event, reason)


# --- text and structures ---

def _lifecycle(value: str) -> Callable[[dict[str, Any]], None]:
    return lambda e: e["detail"].__setitem__("ModelLifeCycle", {"Stage": "Development", "StageStatus": "Pending", "StageDescription": value})


def _created_by(value: str) -> Callable[[dict[str, Any]], None]:
    return lambda e: e["detail"].__setitem__("CreatedBy", {"IamIdentity": {"Arn": value}})


def _metadata(value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda e: e["detail"].__setitem__("CustomerMetadataProperties", value)


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"k": value}
    return value


TEXT = {
    "lifecycle-nul": (_lifecycle("ok\x00"), "control character U+0000"),
    "lifecycle-newline": (_lifecycle("line\nforged: entry"), "control character U+000A"),
    "lifecycle-escape": (_lifecycle("\x1b[31mred"), "control character U+001B"),
    "lifecycle-surrogate": (_lifecycle("\ud800"), "lone surrogate"),
    "lifecycle-stage-del": (lambda e: e["detail"].__setitem__("ModelLifeCycle", {"Stage": "Dev\x7f", "StageStatus": "x"}),
                            "control character U+007F"),
    "lifecycle-too-long": (_lifecycle("x" * 5000), "1 to 2048 characters"),
    "created-by-nul": (_created_by(DS_SESSION + "\x00"), "control character"),
    "created-by-surrogate": (_created_by(DS_SESSION + "\udfff"), "lone surrogate"),
    "created-by-c1": (_created_by(DS_SESSION + "\x85"), "control character U+0085"),
    "package-status-bell": (lambda e: e["detail"].__setitem__("ModelPackageStatus", "Completed\x07"), "control character"),
    "group-trailing-newline": (lambda e: e["detail"].__setitem__("ModelPackageGroupName", G + "\n"), "is invalid"),
    "metadata-too-deep": (_metadata({"a": _nested(5)}), "nests deeper than 4"),
    "metadata-10000-deep": (_metadata(_nested(10_000)), "nests deeper than 4"),
    "metadata-key-control": (_metadata({"run\x00id": "r"}), "control character"),
    "metadata-value-surrogate": (_metadata({"note": "\ud83d"}), "lone surrogate"),
    "metadata-nan": (_metadata({"score": float("nan")}), "numbers must be finite"),
}


@pytest.mark.parametrize("mutate,reason", TEXT.values(), ids=TEXT.keys())
def test_text_and_structures_are_refused(registered, mutate, reason):
    event = registered.package_event(G, 2)
    mutate(event)
    refused(registered, event, reason)


# --- nothing a handler receives makes it raise ---

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=10)
DETAIL_KEYS = ["ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn", "ModelApprovalStatus", "CreationTime",
               "LastModifiedTime", "CreatedBy", "LastModifiedBy", "ModelLifeCycle", "ModelPackageStatus", "CustomerMetadataProperties"]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.dictionaries(st.sampled_from(DETAIL_KEYS + ["time", "id", "source", "detail-type", "account", "detail"]),
                               JSON, min_size=1, max_size=3))
def test_the_sync_handler_never_raises_on_any_event(registered, changes):
    event = registered.package_event(G, 2)
    for key, value in sorted(changes.items(), key=lambda kv: kv[0] not in DETAIL_KEYS):
        (event["detail"] if key in DETAIL_KEYS else event)[key] = value
    outcome = registered.sync(event)
    assert outcome["result"] in ("written", "rejected", "ignored", "duplicate", "stale") and outcome["message"]
    json.dumps(outcome)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=JSON)
def test_the_handlers_never_raise_on_arbitrary_json(registered, event):
    for handler in (registered.sync, registered.report):
        outcome = handler(event)
        assert outcome["result"] == "rejected"
