"""`govctl groups`: the groups shared with the caller's account, asked for as SageMaker lists shared groups."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from govctl import discovery
from govctl.cli import app

HUB = "111111111111"


class Paginator:
    def __init__(self, calls: list[dict]):
        self.calls = calls

    def paginate(self, **params):
        self.calls.append(params)
        arn = lambda g: f"arn:aws:sagemaker:eu-west-1:{HUB}:model-package-group/{g}"  # noqa: E731
        yield {"ModelPackageGroupSummaryList": [{"ModelPackageGroupName": "fraud-detection", "ModelPackageGroupArn": arn("fraud-detection"),
                                                 "ModelPackageGroupStatus": "Completed"}]}
        yield {"ModelPackageGroupSummaryList": [{"ModelPackageGroupName": "credit-risk-xgb", "ModelPackageGroupArn": arn("credit-risk-xgb"),
                                                 "ModelPackageGroupStatus": "Completed"}]}


class SageMaker:
    def __init__(self):
        self.calls: list[dict] = []

    def get_paginator(self, name):
        assert name == "list_model_package_groups"
        return Paginator(self.calls)


def test_lists_the_shared_groups_cross_account_every_page_sorted():
    sm = SageMaker()
    groups = discovery.shared_groups(sm, "credit")
    assert sm.calls == [{"CrossAccountFilterOption": "CrossAccount", "NameContains": "credit"}]
    assert [(g["name"], g["owner"]) for g in groups] == [("credit-risk-xgb", HUB), ("fraud-detection", HUB)]


def test_the_command_prints_them_as_json(monkeypatch):
    sm = SageMaker()
    monkeypatch.setattr("boto3.Session.client", lambda self, *a, **k: sm)
    result = CliRunner().invoke(app, ["--region", "eu-west-1", "groups", "-o", "json"])
    assert result.exit_code == 0, result.output
    assert [g["name"] for g in json.loads(result.output)] == ["credit-risk-xgb", "fraud-detection"]
    assert sm.calls == [{"CrossAccountFilterOption": "CrossAccount"}]
