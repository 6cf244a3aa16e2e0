"""sync handler: a version registered from an MLflow run keeps the run id; the version view and the dashboard show it."""
from __future__ import annotations

import html

from governance import schema
from governance.contract import MLFLOW_RUN_ID_KEY
from governance.handlers import api as api_handler

from ..conftest import DEV_SESSION, api_event

UC, G = "credit-risk", "credit-risk-xgb"
RUN = "4f6c1e0a9b2d4c3e8f7a6b5c4d3e2f1a"


def from_run(world, version: int, run_id: str | None = RUN) -> dict:
    event = world.package_event(G, version)
    event["detail"]["CustomerMetadataProperties"] = {"auc": "0.88", **({MLFLOW_RUN_ID_KEY: run_id} if run_id else {})}
    return event


def test_sync_stores_the_run_id_on_the_development_record_and_in_the_register_entry(world):
    world.onboard(UC, groups=(G,))
    assert world.sync(from_run(world, 1))["result"] == "written"
    assert world.record(G, 1, "development")[schema.MLFLOW_RUN_ID] == RUN
    code, trail = world.api("GET", f"/use-cases/{UC}/models/{G}/versions/1/audit")
    register = next(e for e in trail["entries"] if e["action"] == "register")
    assert code == 200 and register["detail"][schema.MLFLOW_RUN_ID] == RUN


def test_a_version_without_a_run_has_no_run_id(world):
    world.onboard(UC, groups=(G,))
    assert world.sync(from_run(world, 1, run_id=None))["result"] == "written"
    assert schema.MLFLOW_RUN_ID not in world.record(G, 1, "development")
    code, view = world.api("GET", f"/use-cases/{UC}/models/{G}/versions/1")
    assert code == 200 and view[schema.MLFLOW_RUN_ID] is None


def test_the_version_view_shows_the_run_after_the_version_moves_on(world):
    world.onboard(UC, groups=(G,), risk_tier="minimal", thresholds=())
    world.approve_use_case(UC)
    world.sync(from_run(world, 1))
    code, _ = world.api("POST", f"/use-cases/{UC}/models/{G}/versions/1/decision", {"stage": "development", "action": "approve"},
                        caller=DEV_SESSION)
    assert code == 200
    code, view = world.api("GET", f"/use-cases/{UC}/models/{G}/versions/1")
    assert (code, view["currentStage"], view[schema.MLFLOW_RUN_ID]) == (200, "test", RUN)
    development = next(r for r in view["records"] if r["modelStage"] == "development")
    assert development[schema.MLFLOW_RUN_ID] == RUN


def test_the_dashboard_shows_the_run_with_its_version(world):
    world.onboard(UC, groups=(G,))
    world.sync(from_run(world, 1))
    world.sync(from_run(world, 2, run_id=None))
    response = api_handler.handler(api_event("GET", "/dashboard", caller=DEV_SESSION), None)
    assert response["statusCode"] == 200
    rows = {row.split('"', 1)[0]: row for row in response["body"].split('<tr data-version="')[1:] if 'data-chain=' in row.split(">", 1)[0]}
    assert f'MLflow run <code class="run" data-run-id="{RUN}">{html.escape(RUN)}</code>' in rows[f"{G}/1"]
    assert "MLflow run" not in rows[f"{G}/2"]
