"""Decision latency through the api handler against moto: framework validation vs the hand-written checks it replaced.

    .venv/bin/python bench/api_bench.py [--decisions 200]

One world, one run: each development approval goes either through `governance.handlers.api.handler` (the REST
resolver with `enable_validation`, the pydantic models, the identity middleware) or through a copy, kept here
only, of the old path (a resolver without validation, the old hand-written body parser, the caller read by
hand); the two alternate version by version so moto's growth and the machine's load fall on both alike. The
service call and its DynamoDB writes are the same. Figures are moto's (an in-process fake): compare the two, not
with AWS.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from runtime_bench import ACCOUNT, OWNER_SESSION, REGION, _env, _event, approve_use_case, seed_world  # noqa: E402

# --- the old path, kept only to be measured against ---

MAX_REASON = 1024


def old_parse_decision(body: Any) -> dict[str, Any]:
    """The hand-written decision parser the models replaced (same checks, same messages)."""
    from governance.domain import BadInput, check_stage

    if not isinstance(body, dict):
        raise BadInput("the body must be a JSON object")
    unknown = sorted(set(body) - {"stage", "action", "reason", "expectedRev"})
    if unknown:
        raise BadInput(f"unknown field(s) {', '.join(map(repr, unknown))}")
    stage = check_stage(body.get("stage"))
    action = body.get("action")
    if action not in ("approve", "reject", "retire"):
        raise BadInput(f"action {action!r} is invalid; allowed: approve, reject, retire")
    reason = body.get("reason")
    if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON):
        raise BadInput(f"reason must be a string of at most {MAX_REASON} characters")
    if action != "approve" and not (reason or "").strip():
        raise BadInput("a reason is required")
    expected = body.get("expectedRev")
    if expected is not None and (isinstance(expected, bool) or not isinstance(expected, int) or expected < 0):
        raise BadInput("expectedRev must be a non-negative integer")
    return {"stage": stage, "action": action, "reason": (reason or "").strip(), "expectedRev": expected}


def old_handler() -> Any:
    """The old shape: no validation, the route parses its own body and reads its own caller."""
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver

    from governance import runtime
    from governance.api_models import ModelDecision
    from governance.requests import caller_arn, json_body, require_caller

    app = APIGatewayRestResolver()

    @app.post("/use-cases/<use_case_id>/models/<group>/versions/<version>/decision")
    def decide(use_case_id: str, group: str, version: str) -> dict[str, Any]:
        caller = require_caller(caller_arn(app.current_event.raw_event))
        parsed = old_parse_decision(json_body(app.current_event.body or ""))
        decision = ModelDecision.model_construct(stage=parsed["stage"], action=parsed["action"], reason=parsed["reason"],
                                                 expected_rev=parsed["expectedRev"])
        return runtime.governance(with_registry=True).decide(use_case_id, group, version, decision, caller)

    return lambda event: app.resolve(event, None)


def _decision_event(group: str, version: int) -> dict[str, Any]:
    from govctl.fakeaws import events

    path = f"/use-cases/bench/models/{group}/versions/{version}/decision"
    return events.rest_api_event("POST", path, body=json.dumps({"stage": "development", "action": "approve"}),
                                 identity=events.iam_identity(OWNER_SESSION), account=ACCOUNT,
                                 host="bench.execute-api.us-east-1.amazonaws.com", source_ip="10.0.0.1",
                                 resource="/use-cases/{use_case_id}/models/{group}/versions/{version}/decision",
                                 path_parameters={"use_case_id": "bench", "group": group, "version": str(version)})


def measure(n: int) -> dict[str, list[float]]:
    _env()
    import boto3
    from moto import mock_aws

    from governance import runtime
    from governance.handlers import api, sync
    from govctl.fakeaws.moto import install

    install()
    paths = {"new (resolver validation)": lambda event: api.handler(event, None), "old (hand-written checks)": old_handler()}
    out: dict[str, list[float]] = {name: [] for name in paths}
    with mock_aws():
        runtime.reset()
        boto3.setup_default_session(region_name=REGION)
        groups = seed_world()
        approve_use_case()
        versions = [(groups[i % len(groups)], i // len(groups) + 1) for i in range(2 * n)]
        for g, v in versions:
            assert sync.handler(_event(g, v), None)["result"] == "written"
        names = list(paths)
        for i, (g, v) in enumerate(versions):
            name = names[i % 2] if (i // 2) % 2 == 0 else names[1 - i % 2]  # ABBA: neither path always goes first
            event = _decision_event(g, v)
            began = time.perf_counter()
            response = paths[name](event)
            out[name].append(time.perf_counter() - began)
            assert response["statusCode"] == 200, response
        runtime.reset()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=200, help="per path")
    args = parser.parse_args()
    samples = measure(args.decisions)
    print(f"{'path':<28} {'median ms':>10} {'p90 ms':>8}  decisions")
    medians = {}
    for name, times in samples.items():
        ms = sorted(t * 1000 for t in times)
        medians[name] = statistics.median(ms)
        print(f"{name:<28} {medians[name]:>10.2f} {ms[int(len(ms) * 0.9)]:>8.2f}  {len(ms)}")
    new, old = medians["new (resolver validation)"], medians["old (hand-written checks)"]
    print(f"decision latency ratio new/old (median, same run, same world): {new / old:.2f}")


if __name__ == "__main__":
    main()
