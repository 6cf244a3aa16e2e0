"""Contract tests: the offline plans against what the code really does under moto.

Fake credentials and region, and the account id of an ARN not resolved by endpoint (moto).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from mlgov import check, offline

REGION = "eu-west-1"


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION,
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled", "POWERTOOLS_LOG_LEVEL": "WARNING",
    }.items():
        monkeypatch.setenv(key, value)


@dataclass
class PlannedStack:
    plan: offline.Plan
    outputs: dict[str, dict[str, Any]]
    """Outputs by URN, as the offline engine computes them (ARNs, ids)."""


_PLANS: dict[str, PlannedStack] = {}


def planned(stack: str) -> PlannedStack:
    """The offline plan of a sample stack and its resources' outputs (cached per test session)."""
    if stack not in _PLANS:
        config = offline.read_stack_config(stack)
        plan = offline.plan_stack(stack, config)
        _PLANS[stack] = PlannedStack(plan, check.plan_outputs(plan, offline.account_for(config), str(config.get("aws:region", REGION))))
    return _PLANS[stack]


def statements_of(resource: offline.DeclaredResource, key: str = "policy") -> list[dict[str, Any]]:
    statements = json.loads(resource.inputs[key])["Statement"]
    return statements if isinstance(statements, list) else [statements]
