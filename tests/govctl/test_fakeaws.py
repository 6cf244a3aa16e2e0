"""The shared fake AWS pieces build what the handlers accept, as AWS would deliver it."""
from __future__ import annotations

import pytest

from governance.events import parse_member_event, parse_registry_event
from govctl.fakeaws import events

ACCOUNT, REGION = "111111111111", "eu-west-1"
DS = "arn:aws:sts::222222222222:assumed-role/mlgov-data-scientist/alice"


@pytest.mark.parametrize("created", [1_724_904_598_000, events.iso(1_724_904_598_000)])
def test_a_model_package_event_is_what_the_sync_handler_parses(created):
    detail = events.model_package_detail("credit-risk-xgb", 3, account=ACCOUNT, region=REGION, created=created, created_by=DS,
                                         lifecycle={"Stage": "Development", "StageStatus": "PendingApproval"})
    parsed = parse_registry_event(events.model_package_event(detail, account=ACCOUNT, region=REGION))
    assert (parsed.group, parsed.version, parsed.created_ms, parsed.created_by) == ("credit-risk-xgb", 3, 1_724_904_598_000, DS)
    assert parsed.arn == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:model-package/credit-risk-xgb/3"
    assert parsed.lifecycle == {"Stage": "Development", "StageStatus": "PendingApproval"}


def test_describe_model_package_datetimes_become_eventbridge_times():
    from datetime import datetime, timezone

    at = datetime(2024, 8, 29, 4, 9, 58, 123000, tzinfo=timezone.utc)
    described = {"ModelPackageArn": "arn:x", "CreationTime": at, "ResponseMetadata": {"RequestId": "r"}}
    event = events.model_package_event(described, account=ACCOUNT, region=REGION)
    assert event["detail"] == {"ModelPackageArn": "arn:x", "CreationTime": "2024-08-29T04:09:58.123Z"}
    assert (event["time"], event["resources"], event["source"]) == ("2024-08-29T04:09:58Z", ["arn:x"], "aws.sagemaker")


def test_a_member_report_is_what_the_metrics_handler_parses():
    detail = events.member_detail("credit-risk-xgb", 2, "production", reported_at=events.iso(1_725_000_000_000),
                                  variant="challenger", metrics={"auc": 0.88})
    parsed = parse_member_event(events.member_event("Model Metrics", detail, account="333333333333", region=REGION,
                                                    time="2024-08-30T06:40:00Z"))
    assert (parsed.kind, parsed.account, parsed.endpoint, parsed.variant) == (
        "Model Metrics", "333333333333", "mlgov-prod-credit-risk-credit-risk-xgb", "challenger")
    assert (parsed.reported_ms, dict(parsed.metrics)) == (1_725_000_000_000, {"auc": 0.88})
    with pytest.raises(ValueError):
        events.member_event("Model Retired", detail, account="333333333333", region=REGION, time="2024-08-30T06:40:00Z")


def test_an_endpoint_state_change_matches_the_member_rule():
    from governance import contract

    event = events.endpoint_state_change("credit-risk-xgb-prod", account="333333333333", region=REGION, time="2026-03-02T11:58:00Z")
    assert (event["source"], event["detail-type"]) == (contract.SOURCE_SAGEMAKER, contract.DETAIL_TYPE_ENDPOINT)
    assert event["detail"] == {"EndpointName": "credit-risk-xgb-prod", "EndpointStatus": "IN_SERVICE",
                               "EndpointArn": f"arn:aws:sagemaker:{REGION}:333333333333:endpoint/credit-risk-xgb-prod"}
    assert events.scheduled_event(account="333333333333", region=REGION, time="t")["detail"] == {}


def test_a_rest_api_event_carries_the_query_body_and_signer():
    identity = events.iam_identity("arn:aws:sts::111111111111:assumed-role/mlgov-governance-officer/erin")
    event = events.rest_api_event("GET", "/use-cases/a%2Db", query="stage=test&status=pending&stage=x", body='{"a": 1}',
                                  base64_body=True, identity=identity, account=ACCOUNT, host="api.example",
                                  resource="/use-cases/{use_case_id}", path_parameters={"use_case_id": "a-b"})
    assert event["queryStringParameters"] == {"stage": "x", "status": "pending"}
    assert event["multiValueQueryStringParameters"] == {"stage": ["test", "x"], "status": ["pending"]}
    assert (event["path"], event["resource"], event["pathParameters"]) == ("/use-cases/a%2Db", "/use-cases/{use_case_id}", {"use_case_id": "a-b"})
    who = event["requestContext"]["identity"]
    assert who["userArn"].endswith("/erin") and who["accountId"] == ACCOUNT and who["principalOrgId"] == "o-a1b2c3d4e5"
    assert event["requestContext"]["resourcePath"] == "/use-cases/{use_case_id}" and event["requestContext"]["stage"] == "api"
    assert event["isBase64Encoded"] and event["body"] == "eyJhIjogMX0="
    unsigned = events.rest_api_event("POST", "/x", query={"limit": "1"}, identity=None, account=ACCOUNT, host="api.example")
    assert unsigned["requestContext"]["identity"]["userArn"] is None and unsigned["body"] is None
    assert unsigned["queryStringParameters"] == {"limit": "1"}
