from __future__ import annotations

import pytest

from governance.domain import Approvers, BadInput, Stage, check_version, principal_key


@pytest.mark.parametrize("arn,key", [
    ("arn:aws:sts::123456789012:assumed-role/Approver/alice", "aws:123456789012:role/Approver"),
    ("arn:aws:iam::123456789012:role/team/Approver", "aws:123456789012:role/Approver"),
    ("arn:aws:iam::123456789012:user/bob", "aws:123456789012:user/bob"),
    ("arn:aws:iam::123456789012:root", None),
    ("alice", None),
    (None, None),
])
def test_principal_key(arn, key):
    assert principal_key(arn) == key


def test_an_assumed_role_session_matches_its_configured_role_only_in_its_account():
    approvers = Approvers.from_mapping({"production": ["arn:aws:iam::123456789012:role/Approver"]})
    assert approvers.may_decide(Stage.production, "arn:aws:sts::123456789012:assumed-role/Approver/s")
    assert not approvers.may_decide(Stage.production, "arn:aws:sts::999999999999:assumed-role/Approver/s")
    assert not approvers.may_decide(Stage.test, "arn:aws:sts::123456789012:assumed-role/Approver/s")


@pytest.mark.parametrize("bad", [{"prod": []}, {"test": "arn"}, {"test": ["not-an-arn"]}, []])
def test_bad_approvers_config_is_refused(bad):
    with pytest.raises(ValueError):
        Approvers.from_mapping(bad)


@pytest.mark.parametrize("bad", ["abc", "0", "1e3", True, 1_000_000, -1, "１"])
def test_bad_versions(bad):
    with pytest.raises(BadInput):
        check_version(bad)
