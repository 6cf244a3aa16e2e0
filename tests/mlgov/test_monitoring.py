"""`mlgov:monitoring`: validated with clear errors, and carried onto each use case's CONFIG item."""
from __future__ import annotations

from typing import Any

import pytest

from mlgov import catalog
from mlgov.config import ConfigError, parse
from tests.infra import namespace, sample


def shared(monitoring: Any = None) -> dict[str, Any]:
    ns = namespace(sample("shared"))
    if monitoring is not None:
        ns["monitoring"] = monitoring
    return ns


def use_case_item(ns: dict[str, Any], use_case: str = "credit-risk") -> dict[str, Any]:
    return {(pk, sk): item for pk, sk, item in catalog.config_items(parse(ns))}[(f"USECASE#{use_case}", "CONFIG")]


def test_without_the_key_every_use_case_carries_the_defaults() -> None:
    assert use_case_item(shared())["monitoring"] == {"staleAfterHours": 24, "limits": [{"metric": "predictionPsi", "max": 0.2}]}


def test_limits_apply_to_their_use_case_only_and_a_use_case_may_set_its_own_psi_limit() -> None:
    ns = shared({"staleAfterHours": 6, "predictionPsiMax": 0.25,
                 "limits": {"credit-risk": [{"metric": "accuracy", "min": 0.8}, {"metric": "predictionPsi", "max": 0.1}]}})
    assert use_case_item(ns)["monitoring"] == {
        "staleAfterHours": 6, "limits": [{"metric": "accuracy", "min": 0.8}, {"metric": "predictionPsi", "max": 0.1}]}
    assert use_case_item(ns, "customer-churn")["monitoring"] == {
        "staleAfterHours": 6, "limits": [{"metric": "predictionPsi", "max": 0.25}]}


@pytest.mark.parametrize("monitoring, message", [
    ({"staleAfterHours": 0}, "mlgov:monitoring.staleAfterHours"),
    ({"staleAfterHours": "24"}, "mlgov:monitoring.staleAfterHours"),
    ({"predictionPsiMax": -0.1}, "mlgov:monitoring.predictionPsiMax"),
    ({"limits": {"nope": [{"metric": "accuracy", "min": 0.8}]}}, "monitoring.limits names nope, not under useCases"),
    ({"limits": {"credit-risk": [{"metric": "accuracy"}]}}, "needs a number for min, max or both"),
    ({"limits": {"credit-risk": [{"metric": "accuracy", "min": 0.9, "max": 0.1}]}}, "min 0.9 above max 0.1"),
    ({"limits": {"credit-risk": [{"metric": "a", "min": 1}, {"metric": "a", "max": 2}]}}, "name a twice"),
    ({"staleAfterHour": 24}, "mlgov:monitoring.staleAfterHour: unknown key"),
])
def test_a_bad_monitoring_config_is_one_clear_error(monitoring: Any, message: str) -> None:
    with pytest.raises(ConfigError, match="invalid stack config") as exc:
        parse(shared(monitoring))
    assert message in str(exc.value)


def test_monitoring_belongs_in_the_shared_stack() -> None:
    ns = namespace(sample("prod"))
    ns["monitoring"] = {"staleAfterHours": 12}
    with pytest.raises(ConfigError, match="monitoring belongs in the shared stack's config"):
        parse(ns)
