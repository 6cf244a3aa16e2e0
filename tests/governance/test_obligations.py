"""The tier obligations table, and the obligations it makes real: the high tier's approval rules read from it, the
limited tier's transparency statement before production."""
from __future__ import annotations

import pytest

from governance.contract import endpoint_name
from governance import obligations, rules, schema
from governance.domain import ModelRisk, RiskTier
from governance.obligations import Obligation
from mlgov.config import ConfigError, parse
from mlgov.offline import read_stack_config
from mlgov.program import namespace_config

from .conftest import DEV_SESSION, PROD_SESSION, TEST_SESSION

UC, GROUP = "claims-triage", "claims-bert"


def test_each_tier_maps_to_what_the_platform_enforces():
    assert obligations.as_table() == {
        "high": ["data-capture", "four-eyes", "model-card", "officer-approval", "validation-thresholds"],
        "limited": ["transparency-statement"],
        "minimal": [],
    }
    assert set(obligations.DESCRIPTION) == set(Obligation)
    assert obligations.tiers_with(Obligation.data_capture) == ("high",)


@pytest.mark.parametrize("tier, risk, high", [
    (RiskTier.high, ModelRisk.low, True), (RiskTier.limited, ModelRisk.high, True), (RiskTier.minimal, ModelRisk.high, True),
    (RiskTier.limited, ModelRisk.medium, False), (RiskTier.minimal, ModelRisk.low, False),
])
def test_officer_and_four_eyes_follow_the_table(tier, risk, high, monkeypatch):
    assert rules.is_high_risk(tier, risk) is high
    monkeypatch.setitem(obligations.TIER_OBLIGATIONS, RiskTier.limited, frozenset({Obligation.officer, Obligation.four_eyes}))
    assert rules.is_high_risk(RiskTier.limited, ModelRisk.low) is True


def config_with(**use_case):
    raw = namespace_config(read_stack_config("shared"))
    raw["useCases"][1].update(use_case)
    return raw


def test_the_stack_config_reads_the_table_and_validates_the_statement(monkeypatch):
    with pytest.raises(ConfigError, match="needs approvalThresholds"):
        parse(config_with(riskTier="high"))
    monkeypatch.setitem(obligations.TIER_OBLIGATIONS, RiskTier.limited, frozenset({Obligation.thresholds}))
    with pytest.raises(ConfigError, match="limited-risk use case needs approvalThresholds"):
        parse(config_with(riskTier="limited"))
    monkeypatch.undo()
    statement = "Customers are told a model triages their claim and may ask for a person."
    assert parse(config_with(riskTier="limited", transparencyStatement=statement)).use_cases[1].transparency_statement == statement
    for bad in ("", "   ", "x" * 4001, 7):
        with pytest.raises(ConfigError, match="transparencyStatement"):
            parse(config_with(transparencyStatement=bad))


def to_production(world, tier="limited"):
    """A use case of `tier` with one model, its version approved through test and deployed in production."""
    world.onboard(UC, groups=(GROUP,), risk_tier=tier, thresholds=())
    assert world.api("POST", f"/use-cases/{UC}/decision", {"action": "approve", "reason": "go"}, caller=DEV_SESSION)[0] == 200
    world.register_package(GROUP)
    assert world.sync(world.package_event(GROUP, 1))["result"] == "written"
    for stage, caller in (("development", DEV_SESSION), ("test", TEST_SESSION)):
        if stage == "test":
            assert world.report(world.member_event("Model Deployed", GROUP, 1, "test", endpoint=endpoint_name("test", UC, GROUP)))["result"] == "written"
        assert decide(world, stage, caller)[0] == 200
    assert world.report(world.member_event("Model Deployed", GROUP, 1, "production", endpoint=endpoint_name("prod", UC, GROUP)))["result"] == "written"


def decide(world, stage, caller):
    return world.api("POST", f"/use-cases/{UC}/models/{GROUP}/versions/1/decision", {"stage": stage, "action": "approve"}, caller=caller)


def test_a_limited_use_case_is_not_approved_for_production_without_its_transparency_statement(world):
    to_production(world)
    before = world.snapshot()
    code, body = decide(world, "production", PROD_SESSION)
    assert code == 409 and "transparency-statement" in body["message"]
    assert world.snapshot() == before
    item = world.item(schema.use_case_pk(UC), schema.CONFIG_SK)
    world.put_config({**item, schema.CONFIG_TRANSPARENCY_STATEMENT: "Claimants are told a model triages their claim."})
    code, body = decide(world, "production", PROD_SESSION)
    assert (code, body["status"]) == (200, "approved")
    assert world.api("GET", f"/use-cases/{UC}")[1]["obligations"] == ["transparency-statement"]


def test_a_minimal_use_case_has_no_such_obligation(world):
    to_production(world, tier="minimal")
    assert decide(world, "production", PROD_SESSION)[0] == 200
