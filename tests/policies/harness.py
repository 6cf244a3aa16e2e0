"""Run one rule on hand-made resources, exactly as the offline check runs it (same `evaluate`)."""
from __future__ import annotations

import json
from typing import Any, Mapping, Optional

from mlgov.check import Violation, evaluate
from mlgov.offline import DeclaredResource
from policies.common import DEFAULTS

ORG = {
    **DEFAULTS,
    "organizationId": "o-a1b2c3d4e5",
    "sharedAccount": "111111111111",
    "devAccounts": ["222222222222"],
    "testAccounts": ["333333333333"],
    "prodAccounts": ["444444444444"],
    "highRiskUseCases": ["credit-risk"],
}


def res(type_: str, name: str = "r", parent: Optional[str] = None, /, **props: Any) -> DeclaredResource:
    return DeclaredResource(urn=f"urn:pulumi:unit::mlgov::{type_}::{name}", type=type_, name=name,
                            parent=parent, inputs=props, custom=True)


def run(policy: Any, *resources: DeclaredResource, settings: Optional[Mapping[str, Any]] = None) -> list[Violation]:
    return evaluate(list(resources), {**ORG, **(settings or {})}, policies=[policy])


def messages(policy: Any, *resources: DeclaredResource, settings: Optional[Mapping[str, Any]] = None) -> list[str]:
    return [v.message for v in run(policy, *resources, settings=settings)]


def doc(*statements: Mapping[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "arn:aws:dynamodb:eu-west-1:111111111111:table/t", **extra: Any) -> dict[str, Any]:
    return {"Sid": extra.pop("Sid", "S"), "Effect": "Allow", "Action": action, "Resource": resource, **extra}
