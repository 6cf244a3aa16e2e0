"""govctl against AWS through an approver role: AssumeRole as the person, signing with the role's credentials."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import boto3
import botocore.session
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from typer.testing import CliRunner

import govctl.options
from govctl.cli import app
from govctl.client import GovctlError, person_from_arn, resolve_target
from tests.govctl.conftest import one_line_error

ENDPOINT = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
ROLE = "arn:aws:iam::123456789012:role/governance/approver"
SSO_ARN = "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Approvers_0123abcd/alice@example.com"
TEMP = {"AccessKeyId": "ASIATEMPORARYKEY0001", "SecretAccessKey": "temp-secret", "SessionToken": "temp-token",
        "Expiration": datetime(2030, 1, 1, tzinfo=timezone.utc)}


@pytest.fixture
def sts(monkeypatch):
    """A stubbed STS client handed to resolve_target; `made` counts the clients it asked boto3 for."""
    client = botocore.session.get_session().create_client(
        "sts", region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing")
    stubber = Stubber(client)
    made: list[str] = []

    def fake_client(self, service, *args, **kwargs):
        made.append(service)
        return client

    monkeypatch.setattr(boto3.Session, "client", fake_client)
    with stubber:
        stubber.made = made
        yield stubber


def _assumed(person: str) -> dict:
    return {"Credentials": TEMP, "SourceIdentity": person,
            "AssumedRoleUser": {"AssumedRoleId": "AROAEXAMPLEID:" + person, "Arn": f"arn:aws:sts::123456789012:assumed-role/approver/{person}"}}


def test_assumes_the_role_as_the_caller_and_signs_with_the_temporary_credentials(sts):
    sts.add_response("get_caller_identity", {"UserId": "AROAX:alice@example.com", "Account": "111122223333", "Arn": SSO_ARN})
    sts.add_response("assume_role", _assumed("alice@example.com"),
                     {"RoleArn": ROLE, "RoleSessionName": "alice@example.com", "SourceIdentity": "alice@example.com"})
    target = resolve_target(endpoint=ENDPOINT, role_arn=ROLE)
    sts.assert_no_pending_responses()
    assert (target.credentials.access_key, target.credentials.secret_key, target.credentials.token) == (
        "ASIATEMPORARYKEY0001", "temp-secret", "temp-token")
    assert (target.endpoint, target.region) == (ENDPOINT, "eu-west-1")


def test_an_explicit_source_identity_is_used_without_asking_who_the_caller_is(sts, monkeypatch):
    monkeypatch.setenv("GOVCTL_ROLE_ARN", ROLE)
    monkeypatch.setenv("GOVCTL_SOURCE_IDENTITY", "bob.smith")
    sts.add_response("assume_role", _assumed("bob.smith"),
                     {"RoleArn": ROLE, "RoleSessionName": "bob.smith", "SourceIdentity": "bob.smith"})
    target = resolve_target(endpoint=ENDPOINT)
    sts.assert_no_pending_responses()
    assert target.credentials.token == "temp-token"


def test_without_a_role_the_base_credentials_sign_and_sts_is_not_called(sts):
    target = resolve_target(endpoint=ENDPOINT)
    assert sts.made == []
    assert target.credentials.access_key == "testing"


@pytest.mark.parametrize("role_arn", [
    "approver",
    "arn:aws:iam::123456789012:user/alice",
    "arn:aws:sts::123456789012:assumed-role/approver/alice",
    "arn:aws:iam::12345:role/approver",
    "arn:aws:iam::123456789012:role/",
    "arn:aws:iam::123456789012:role/has space",
])
def test_a_malformed_role_arn_is_refused_before_any_aws_call(sts, role_arn):
    with pytest.raises(GovctlError, match="not an IAM role ARN"):
        resolve_target(endpoint=ENDPOINT, role_arn=role_arn)
    assert sts.made == []


@pytest.mark.parametrize("identity", ["a", "alice smith", "aws:alice", "AWS:alice", "x" * 65, "alice/ops", "ålice"])
def test_a_source_identity_aws_would_refuse_is_refused_before_any_aws_call(sts, identity):
    with pytest.raises(GovctlError, match="would be refused by AWS"):
        resolve_target(endpoint=ENDPOINT, role_arn=ROLE, source_identity=identity)
    assert sts.made == []


def test_a_refused_assume_role_names_the_role_and_aws_message(sts):
    message = "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: sts:SetSourceIdentity"
    sts.add_client_error("assume_role", "AccessDenied", message, 403)
    with pytest.raises(GovctlError) as refused:
        resolve_target(endpoint=ENDPOINT, role_arn=ROLE, source_identity="alice")
    assert str(refused.value) == f"cannot assume role {ROLE}: AccessDenied: {message}"


@pytest.mark.parametrize("arn, person", [
    (SSO_ARN, "alice@example.com"),
    ("arn:aws:iam::111122223333:user/ops/bob", "bob"),
    ("arn:aws:sts::111122223333:federated-user/carol", "carol"),
    ("arn:aws:sts::111122223333:assumed-role/dev/botocore-session-1700000000", "botocore-session-1700000000"),
    ("arn:aws:iam::111122223333:user/" + "d" * 70, "d" * 64),
])
def test_the_person_is_the_last_part_of_the_caller_arn(arn, person):
    assert person_from_arn(arn) == person


def test_moto_assumes_the_role_and_the_target_holds_its_credentials():
    with mock_aws():
        iam = boto3.client("iam", region_name="eu-west-1")
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                                          "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"]}]}
        role = iam.create_role(RoleName="approver", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        target = resolve_target(endpoint=ENDPOINT, role_arn=role)
        assert target.credentials.access_key != "testing" and target.credentials.token
        who = boto3.client("sts", region_name="eu-west-1", aws_access_key_id=target.credentials.access_key,
                           aws_secret_access_key=target.credentials.secret_key,
                           aws_session_token=target.credentials.token).get_caller_identity()["Arn"]
        assert who == "arn:aws:sts::123456789012:assumed-role/approver/moto"


@pytest.mark.parametrize("args, env", [
    (["--role-arn", ROLE, "--source-identity", "alice"], {}),
    ([], {"GOVCTL_ROLE_ARN": ROLE, "GOVCTL_SOURCE_IDENTITY": "alice"}),
])
def test_the_cli_option_and_env_var_reach_resolve_target(sts, monkeypatch, args, env):
    sts.add_response("assume_role", _assumed("alice"), {"RoleArn": ROLE, "RoleSessionName": "alice", "SourceIdentity": "alice"})
    targets = []

    def resolve_then_stop(**kwargs):
        targets.append(resolve_target(**kwargs))
        raise GovctlError("stopped before any request")

    monkeypatch.setattr(govctl.options, "resolve_target", resolve_then_stop)
    result = CliRunner().invoke(app, ["--endpoint", ENDPOINT, *args, "use-cases"], env=env, catch_exceptions=False)
    assert one_line_error(result) == "error: stopped before any request"
    sts.assert_no_pending_responses()
    assert [t.credentials.token for t in targets] == ["temp-token"]


def test_the_cli_refuses_a_malformed_role_arn_in_one_line():
    result = CliRunner().invoke(app, ["--endpoint", ENDPOINT, "--role-arn", "arn:aws:iam::123456789012:user/alice", "use-cases"],
                                catch_exceptions=False)
    assert "not an IAM role ARN" in one_line_error(result)
