"""Hub outputs for member-side component tests: a hub in another region than the member, so ARNs show where they come from."""
from __future__ import annotations

import json
from typing import Any, Iterable

from mlgov import offline

HUB_ACCOUNT = "999999999999"
HUB_REGION = "eu-central-1"
GROUPS = {"credit-risk-xgb": "credit-risk", "Churn-Model": "customer-churn"}

HUB: dict[str, Any] = {
    "groupArns": {g: f"arn:aws:sagemaker:{HUB_REGION}:{HUB_ACCOUNT}:model-package-group/{g.lower()}" for g in GROUPS},
    "groupUseCases": dict(GROUPS),
    "useCaseRiskTiers": {"credit-risk": "high", "customer-churn": "minimal"},
    "registerShareArns": {g: f"arn:aws:ram:{HUB_REGION}:{HUB_ACCOUNT}:resource-share/register-{g.lower()}" for g in GROUPS},
    "deployShareArns": {g: f"arn:aws:ram:{HUB_REGION}:{HUB_ACCOUNT}:resource-share/deploy-{g.lower()}" for g in GROUPS},
    "busArn": f"arn:aws:events:{HUB_REGION}:{HUB_ACCOUNT}:event-bus/mlgov-governance",
    "busName": "mlgov-governance",
    "keyArn": f"arn:aws:kms:{HUB_REGION}:{HUB_ACCOUNT}:key/hub-key",
    "bucketName": "hub-artifacts",
    "tableName": "mlgov-governance",
    "tableArn": f"arn:aws:dynamodb:{HUB_REGION}:{HUB_ACCOUNT}:table/mlgov-governance",
    "sharedAccountId": HUB_ACCOUNT,
    "region": HUB_REGION,
}

POLICY_KEYS = ("policy", "assumeRolePolicy")


def policies(plan: offline.Plan) -> Iterable[tuple[offline.DeclaredResource, dict]]:
    """Every IAM / KMS / resource policy document the plan declares, parsed."""
    for resource in plan.resources:
        for key in POLICY_KEYS:
            if isinstance(resource.inputs.get(key), str):
                yield resource, json.loads(resource.inputs[key])


def actions(document: dict) -> list[str]:
    out: list[str] = []
    for s in document["Statement"]:
        value = s.get("Action", [])
        out += [value] if isinstance(value, str) else list(value)
    return out


def wildcard_actions(plan: offline.Plan) -> list[tuple[str, str]]:
    return [(r.name, a) for r, doc in policies(plan) for a in actions(doc) if "*" in a]


def statements_by_sid(resource: offline.DeclaredResource) -> dict[str, dict]:
    return {s["Sid"]: s for s in json.loads(resource.inputs["policy"])["Statement"]}
