"""The sandbox's people: one access key each, mapped to the IAM principal the governance API sees.

The ARNs follow `Pulumi.shared.yaml`'s `mlgov:approvers` (the sandbox reads its approvers from there):
the model owner decides in development, the ML engineer (QA lead) in test, the governance and risk
officers in test and production. The data scientist registers versions and decides nothing. The outsider
signs correctly from an account outside the organization: the API's resource policy refuses it. The keys
are not secrets: they open only the local sandbox, which checks the SigV4 signature made with them.
"""
from __future__ import annotations

from dataclasses import dataclass

SANDBOX_REGION = "eu-west-1"
SANDBOX_PORT = 8642
SANDBOX_ENDPOINT = f"http://127.0.0.1:{SANDBOX_PORT}"


@dataclass(frozen=True)
class Persona:
    name: str
    title: str
    access_key: str
    secret_key: str
    arn: str

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]


def _p(name: str, title: str, account: str, role: str, session: str) -> Persona:
    key = "AKIASANDBOX" + name.upper().replace("-", "")[:9].ljust(9, "X")
    return Persona(name, title, key, f"sandbox-secret-{name}", f"arn:aws:sts::{account}:assumed-role/{role}/{session}")


PERSONAS: dict[str, Persona] = {p.name: p for p in (
    _p("data-scientist", "data scientist (registers versions)", "222222222222", "mlgov-data-scientist", "alice"),
    _p("model-owner", "model owner (development approver)", "222222222222", "mlgov-model-owner", "bob"),
    _p("qa-lead", "QA lead (test approver)", "333333333333", "mlgov-ml-engineer", "carol"),
    _p("governance-officer", "governance officer", "111111111111", "mlgov-governance-officer", "erin"),
    _p("risk-officer", "risk officer (second production approver)", "111111111111", "mlgov-risk-officer", "frank"),
    _p("outsider", "a caller from an account outside the organization", "999999999999", "mlgov-governance-officer", "mallory"),
)}

BY_ACCESS_KEY: dict[str, Persona] = {p.access_key: p for p in PERSONAS.values()}


def persona(name: str) -> Persona:
    try:
        return PERSONAS[name]
    except KeyError:
        raise KeyError(f"unknown sandbox persona {name!r}; known: {', '.join(PERSONAS)}") from None
