"""The gate's reading of the record: a retired version or use case is refused whatever its stage records say."""
from __future__ import annotations

from govctl.client import ApiError
from govctl.gate import Pin, check_pin
from governance import mirror, schema
from governance.domain import Stage

APPROVED_FOR_TEST = [{"modelStage": "development", "modelStatus": "approved"}, {"modelStage": "test", "modelStatus": "deployed"}]


class FakeApi:
    def __init__(self, view):
        self.view = view

    def version(self, group, version, use_case_id=None):
        if self.view is None:
            raise ApiError(404, "not_found", f"model version {group}/{version} is not registered")
        items = {stage: None for stage in Stage}
        items.update({Stage(r["modelStage"]): {schema.MODEL_STATUS: r["modelStatus"]} for r in self.view["records"]})
        return {**self.view, "registryView": mirror.desired(items).as_dict()}  # what the API derives from the records


PIN = Pin("credit-risk", "credit-risk-xgb", 3, "version")


def test_an_approved_version_of_a_live_use_case_passes():
    assert check_pin(FakeApi({"useCaseStage": "QA", "retired": False, "records": APPROVED_FOR_TEST}), Stage.test, PIN) is None


def test_pins_of_retired_use_cases_and_versions_are_refused():
    assert check_pin(FakeApi({"useCaseStage": "RETIRED", "retired": False, "records": APPROVED_FOR_TEST}), Stage.test, PIN) == \
        "its use case credit-risk is retired"
    retired = [{"modelStage": s, "modelStatus": "retired"} for s in ("development", "test")]
    assert check_pin(FakeApi({"useCaseStage": "QA", "retired": True, "records": retired}), Stage.test, PIN) == "the version is retired"
    assert "unknown to governance" in check_pin(FakeApi(None), Stage.test, PIN)
