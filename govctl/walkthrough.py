"""The source design's walkthrough (steps 1-10) for the credit-risk use case, played through the real handlers.

Decisions and validation metrics go through the sandbox's governance API, signed as the persona who
makes them. Registrations are MLflow runs (a local tracking store) registered by `govctl register`'s code;
they reach the `sync` handler and member-account reports the `metrics` handler as the events
EventBridge delivers. Afterwards the table also holds work in progress for the
dashboard and the gate: a challenger (credit-risk-xgb v2) deployed beside v1 in production and
awaiting its decision, a churn model awaiting deployment to test and another awaiting review.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from governance.contract import endpoint_name

from govctl.client import ApiError

if TYPE_CHECKING:
    from govctl.sandbox import Sandbox

UC = "credit-risk"
XGB, FRAUD = "credit-risk-xgb", "fraud-detection"
CHURN_UC, CHURN = "customer-churn", "customer-churn-model"


@dataclass
class Walkthrough:
    steps: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def play(sb: "Sandbox", say: Callable[[str], None] = lambda _: None) -> Walkthrough:
    w = Walkthrough()

    def step(text: str) -> None:
        w.steps.append(text)
        say(text)

    owner, qa, officer, risk = (sb.api(p) for p in ("model-owner", "qa-lead", "governance-officer", "risk-officer"))

    # 1. The DS team lead's use case is onboarded (CONFIG from Pulumi.shared.yaml) as a POC and approved into development.
    owner.decide_use_case(UC, "approve", "feasibility shown in the POC")
    step("1  credit-risk (high risk) onboarded as POC; the model owner approves it into DEVELOPMENT")

    # 2-5. The data scientist's best MLflow runs become versions in the shared groups (`govctl register`'s code);
    # the registry events reach the sync handler, which links each version to its run.
    for group, auc in ((XGB, 0.88), (FRAUD, 0.92)):
        sb.register(group, "data-scientist", description="candidate from the MLflow experiment", metrics={"auc": auc, "ks": 0.42})
    step(f"2-5 the data scientist registers MLflow runs {sb.runs[XGB, 1]} and {sb.runs[FRAUD, 1]} as {XGB} v1 and {FRAUD} v1 "
         "in the shared groups; sync records development/pending, linked to the runs")

    # 6. Approved in development, deployed into the test account.
    for group in (XGB, FRAUD):
        owner.decide(group, 1, stage="development", action="approve", use_case_id=UC)
        sb.deployed(group, 1, "test")
    step("6  the model owner approves both in development; the test account reports them deployed (use case -> QA)")

    # 7. Integration tests: monitoring from the test endpoint, validation metrics recorded by the QA lead.
    for group, auc in ((XGB, 0.87), (FRAUD, 0.91)):
        sb.monitoring(group, 1, "test", {"latencyP99Ms": 41 if group == XGB else 35, "invocations": 1200, "errorRate": 0.0})
        qa.record_metrics(group, 1, stage="test", kind="validation", metrics={"validation-auc": auc, "ks": 0.41}, use_case_id=UC)
    step("7  test metrics recorded: monitoring from the test endpoints, validation-auc 0.87 / 0.91 by the QA lead")

    # 8. High risk: the QA lead alone may not approve past development; the governance officer does.
    try:
        qa.decide(XGB, 1, stage="test", action="approve", use_case_id=UC)
    except ApiError as exc:
        w.refused.append(exc.message)
        step(f"8  the QA lead's approval is refused ({exc.status}): {exc.message}")
    for group in (XGB, FRAUD):
        officer.decide(group, 1, stage="test", action="approve", reason="integration tests passed", use_case_id=UC)
        sb.deployed(group, 1, "production")
    step("8  the governance officer approves both in test; the prod account reports them deployed (use case -> PREPRODUCTION)")

    # 9. A/B test in production; two distinct approvers, one of them an officer.
    for group in (XGB, FRAUD):
        sb.monitoring(group, 1, "production", {"auc": 0.86, "invocations": 48000, "latencyP99Ms": 52}, variant="AllTraffic")
        risk.decide(group, 1, stage="production", action="approve", reason="A/B results within tolerance", use_case_id=UC)
        officer.decide(group, 1, stage="production", action="approve", reason="rolled out after the A/B test", use_case_id=UC)
    step("9  A/B metrics from production; the risk officer and the governance officer approve (use case -> PRODUCTION)")

    # Work in progress: a challenger through test into production, and the churn use case starting out.
    v2 = sb.register(XGB, "data-scientist", description="challenger: retrained on Q3 data")
    owner.decide(XGB, v2, stage="development", action="approve", use_case_id=UC)
    sb.deployed(XGB, v2, "test")
    qa.record_metrics(XGB, v2, stage="test", kind="validation", metrics={"validation-auc": 0.89, "ks": 0.44}, use_case_id=UC)
    officer.decide(XGB, v2, stage="test", action="approve", reason="better AUC than v1 in test", use_case_id=UC)
    sb.deployed(XGB, v2, "production", endpoint=endpoint_name("prod", UC, XGB), variant="challenger")  # beside v1
    sb.monitoring(XGB, v2, "production", {"auc": 0.88, "invocations": 5300, "latencyP99Ms": 49}, variant="challenger")
    step(f"    {XGB} v{v2} (challenger) approved in test, deployed beside v1 in production, awaiting its decision")

    owner.decide_use_case(CHURN_UC, "approve", "low-risk retention use case")
    c1 = sb.register(CHURN, "data-scientist")
    owner.decide(CHURN, c1, stage="development", action="approve", use_case_id=CHURN_UC)
    sb.register(CHURN, "data-scientist", description="shadow candidate")
    step(f"    customer-churn approved into development; {CHURN} v1 approved for test, v2 awaiting review")

    # 10. The compliance officer's dashboard (GET /dashboard) shows all of it.
    step("10 the governance dashboard (GET /dashboard) shows use cases, queues, paths, metrics and the audit trail")
    return w


def clear_churn_for_production(sb: "Sandbox", say: Callable[[str], None] = lambda _: None) -> None:
    """The decisions that let the prod stack's churn pins through the gate: v1 and its shadow v2 approved in test."""
    owner, officer = sb.api("model-owner"), sb.api("governance-officer")
    owner.decide(CHURN, 2, stage="development", action="approve", use_case_id=CHURN_UC)
    for version in (1, 2):
        sb.deployed(CHURN, version, "test")
        officer.decide(CHURN, version, stage="test", action="approve", reason="integration tests passed", use_case_id=CHURN_UC)
    say(f"    {CHURN} v2 approved in development; v1 and v2 deployed to test and approved there by the governance officer")
