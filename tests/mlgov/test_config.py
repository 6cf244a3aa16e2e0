"""The stack config schema: the sample files validate, and each bad config is one clear error."""
from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from mlgov.config import AccountRole, ConfigError, RiskTier, parse
from tests.infra import namespace, sample

Mutation = Callable[[dict[str, Any]], None]


def shared() -> dict[str, Any]:
    return namespace(sample("shared"))


def credit(ns: dict[str, Any]) -> dict[str, Any]:
    return ns["useCases"][0]


@pytest.mark.parametrize("stack", ["shared", "dev", "test", "prod"])
def test_sample_stack_files_validate(stack: str) -> None:
    config = parse(namespace(sample(stack)))
    assert config.account_role is AccountRole(stack)
    assert config.organization.accounts.shared == "111111111111"


def test_sample_use_cases_match_the_source_design() -> None:
    config = parse(shared())
    credit_risk = config.use_case("credit-risk")
    assert credit_risk.risk_tier is RiskTier.high
    assert [m.group for m in credit_risk.models] == ["credit-risk-xgb", "fraud-detection"]
    assert [(t.metric, t.min) for t in credit_risk.approval_thresholds] == [("validation-auc", 0.75)]
    churn = config.use_case("customer-churn")
    assert churn.risk_tier is RiskTier.minimal and len(churn.models) == 1
    assert credit_risk.model_risk(credit_risk.models[0]).value == "high"
    assert churn.model_risk(churn.models[0]).value == "low"


def test_single_account_is_read_as_a_list() -> None:
    ns = shared()
    ns["organization"]["accounts"]["test"] = ["333333333333", "555555555555"]
    config = parse(ns)
    assert config.organization.accounts.test == ("333333333333", "555555555555")
    assert config.organization.accounts.dev == ("222222222222",)


def _set(path: str, value: Any) -> Mutation:
    def mutate(ns: dict[str, Any]) -> None:
        node: Any = ns
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        last = parts[-1]
        node[int(last) if last.isdigit() else last] = value
    return mutate


def _delete(path: str) -> Mutation:
    def mutate(ns: dict[str, Any]) -> None:
        node: Any = ns
        parts = path.split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[parts[-1]]
    return mutate


def _duplicate_use_case(ns: dict[str, Any]) -> None:
    ns["useCases"].append(copy.deepcopy(ns["useCases"][1]))


def _duplicate_group_across_use_cases(ns: dict[str, Any]) -> None:
    ns["useCases"][1]["models"].append({"group": "credit-risk-xgb"})


BAD_CONFIGS: list[tuple[str, Mutation, list[str]]] = [
    ("unknown top-level key", _set("useCase", []), ["mlgov:useCase", "unknown key"]),
    ("unknown nested key", _set("useCases.0.riskLevel", "high"), ["mlgov:useCases[0:credit-risk].riskLevel", "unknown key", "'high'"]),
    ("duplicate use case", _duplicate_use_case, ["duplicate use case id 'customer-churn'"]),
    ("duplicate model group", _duplicate_group_across_use_cases, ["duplicate model group 'credit-risk-xgb'"]),
    ("duplicate group inside a use case", _set("useCases.0.models.1.group", "credit-risk-xgb"), ["mlgov:useCases[0:credit-risk]", "duplicate model group 'credit-risk-xgb'"]),
    ("group name with underscore", _set("useCases.0.models.0.group", "credit_risk_xgb"), ["mlgov:useCases[0:credit-risk].models[0:credit_risk_xgb].group", "SageMaker refuses", "'credit_risk_xgb'", "letters, digits and hyphens"]),
    ("group name too long", _set("useCases.0.models.0.group", "m" * 64), ["models[0:" , "SageMaker refuses", "1 to 63"]),
    ("group name ending in hyphen", _set("useCases.0.models.0.group", "credit-risk-"), ["SageMaker refuses", "'credit-risk-'"]),
    ("account id of 11 digits", _set("organization.accounts.dev", "22222222222"), ["mlgov:organization.accounts.dev", "12 digits", "'22222222222'"]),
    ("account id written as a number", _set("organization.accounts.shared", 111111111111), ["mlgov:organization.accounts.shared", "12 digits", "111111111111"]),
    ("account id with letters", _set("organization.accounts.prod", ["44444444444x"]), ["mlgov:organization.accounts.prod[0]", "12 digits"]),
    ("stage account missing", _delete("organization.accounts.test"), ["mlgov:organization.accounts.test", "required key is missing"]),
    ("stage account list empty", _set("organization.accounts.prod", []), ["mlgov:organization.accounts.prod", "needs at least 1 entry"]),
    ("one account in two roles", _set("organization.accounts.prod", "333333333333"), ["mlgov:organization.accounts", "333333333333", "both test and prod"]),
    ("risk tier unacceptable", _set("useCases.1.riskTier", "unacceptable"), ["mlgov:useCases[1:customer-churn].riskTier", "'unacceptable' is refused", "EU AI Act", "may not be onboarded"]),
    ("risk tier unknown", _set("useCases.1.riskTier", "medium"), ["mlgov:useCases[1:customer-churn].riskTier", "'medium' is not allowed", "'high', 'limited' or 'minimal'"]),
    ("threshold as text", _set("useCases.0.approvalThresholds.0.min", "0.75"), ["mlgov:useCases[0:credit-risk].approvalThresholds[0].min: '0.75' is not a number"]),
    ("threshold as a word", _set("useCases.0.approvalThresholds.0.min", "high"), ["approvalThresholds[0].min", "'high' is not a number"]),
    ("threshold as a boolean", _set("useCases.0.approvalThresholds.0.min", True), ["approvalThresholds[0].min", "True is not a number"]),
    ("threshold without bound", _delete("useCases.0.approvalThresholds.0.min"), ["approvalThresholds[0]", "needs a number for min, max or both"]),
    ("high risk without thresholds", _set("useCases.0.approvalThresholds", []), ["mlgov:useCases[0:credit-risk]", "high-risk use case needs approvalThresholds"]),
    ("use case without models", _set("useCases.1.models", []), ["mlgov:useCases[1:customer-churn].models", "needs at least 1 entry"]),
    ("use case id with capitals", _set("useCases.1.id", "Customer-Churn"), ["mlgov:useCases[1:Customer-Churn].id", "lowercase"]),
    ("account role unknown", _set("accountRole", "staging"), ["mlgov:accountRole", "'staging' is not allowed", "'shared', 'dev', 'test' or 'prod'"]),
    ("organization id malformed", _set("organization.id", "org-123"), ["mlgov:organization.id", "o-abcd123456", "'org-123'"]),
    ("custom permission with unknown action", _set("useCases.1.sharePermissions", {"register": {"actions": ["sagemaker:DeleteModelPackageGroup"]}}),
     ["mlgov:useCases[1:customer-churn].sharePermissions.register.actions", "sagemaker:DeleteModelPackageGroup not allowed"]),
    ("approver that is not an ARN", _set("approvers.production", ["governance-officer"]), ["mlgov:approvers.production", "'governance-officer' is not an IAM principal ARN"]),
    ("shared stack without use cases", _set("useCases", []), ["mlgov", "at least one entry under useCases"]),
    ("reserved concurrency of 0", _set("lambdaConcurrency", {"api": 0}), ["mlgov:lambdaConcurrency.api", "greater than or equal to 1"]),
    ("reserved concurrency above 1000", _set("lambdaConcurrency", {"api": 1001}), ["mlgov:lambdaConcurrency.api", "less than or equal to 1000"]),
    ("reserved concurrency as text", _set("lambdaConcurrency", {"api": "50"}), ["mlgov:lambdaConcurrency.api", "'50' is not a number"]),
    ("reserved concurrency of a member Lambda on the hub", _set("lambdaConcurrency", {"invoke": 5}),
     ["lambdaConcurrency names invoke", "the shared stack's Lambdas are sync, api, metrics"]),
    ("network with a malformed VPC id", _set("network", {"vpcId": "vpc-1", "subnetIds": ["subnet-0a1b2c3d4e5f60718"],
                                                          "routeTableIds": ["rtb-0a1b2c3d4e5f60718"]}),
     ["mlgov:network.vpcId", "vpc-0a1b2c3d4e5f60718", "'vpc-1'"]),
    ("network without subnets", _set("network", {"vpcId": "vpc-0a1b2c3d4e5f60718", "subnetIds": []}), ["mlgov:network.subnetIds", "at least 1"]),
    ("hub network without route tables", _set("network", {"vpcId": "vpc-0a1b2c3d4e5f60718", "subnetIds": "subnet-0a1b2c3d4e5f60718"}),
     ["network.routeTableIds is required", "gateway endpoint"]),
    ("access logs kept 0 days", _set("accessLogRetentionDays", 0), ["mlgov:accessLogRetentionDays"]),
    ("notification over plain http", _set("notifications", [{"protocol": "https", "endpoint": "http://hooks.example.com/x"}]),
     ["mlgov:notifications[0]", "is not an https:// URL"]),
    ("notification to a malformed address", _set("notifications", [{"protocol": "email", "endpoint": "ml-platform"}]),
     ["mlgov:notifications[0]", "is not an e-mail address"]),
    ("notification by sms", _set("notifications", [{"protocol": "sms", "endpoint": "+3312345678"}]),
     ["mlgov:notifications[0].protocol", "'email' or 'https'"]),
    ("deployments in the shared stack", _set("deployments", [{"useCase": "credit-risk", "group": "credit-risk-xgb", "version": 1}]),
     ["deployments are pinned in the test and prod stacks only, not in the shared stack"]),
]


@pytest.mark.parametrize("mutate, expected", [(m, e) for _, m, e in BAD_CONFIGS], ids=[n for n, _, _ in BAD_CONFIGS])
def test_bad_config_is_one_clear_error(mutate: Mutation, expected: list[str]) -> None:
    ns = shared()
    mutate(ns)
    with pytest.raises(ConfigError) as raised:
        parse(ns)
    message = str(raised.value)
    assert message.startswith("invalid stack config: ")
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_member_stack_needs_the_hub_stack() -> None:
    ns = namespace(sample("dev"))
    del ns["hubStack"]
    with pytest.raises(ConfigError, match="the dev stack needs hubStack"):
        parse(ns)


def test_member_stack_may_not_declare_use_cases() -> None:
    ns = namespace(sample("test"))
    ns["useCases"] = shared()["useCases"]
    with pytest.raises(ConfigError, match="useCases belong in the shared stack's config, not in the test stack's"):
        parse(ns)


def test_every_problem_is_reported_not_just_the_first() -> None:
    ns = shared()
    ns["organization"]["accounts"]["dev"] = "123"
    ns["useCases"][1]["riskTier"] = "unacceptable"
    message = str(pytest.raises(ConfigError, parse, ns).value)
    assert "accounts.dev" in message and "also: mlgov:useCases[1:customer-churn].riskTier" in message


def test_dev_stack_may_declare_a_tracking_server() -> None:
    ns = namespace(sample("dev"))
    ns["experimentation"] = {"size": "Medium", "mlflowVersion": "2.16", "maintenanceWindow": "Sat:03:30"}
    e = parse(ns).experimentation
    assert e is not None and (e.size, e.mlflow_version, e.maintenance_window) == ("Medium", "2.16", "Sat:03:30")


def test_experimentation_is_optional() -> None:
    ns = namespace(sample("dev"))
    ns.pop("experimentation", None)
    assert parse(ns).experimentation is None


@pytest.mark.parametrize("stack", ["shared", "test", "prod"])
def test_tracking_server_outside_the_dev_stack_is_refused_naming_the_key(stack: str) -> None:
    ns = namespace(sample(stack))
    ns["experimentation"] = {"size": "Small"}
    with pytest.raises(ConfigError, match=rf"experimentation \(the MLflow tracking server\) belongs in the dev stack's config, not in the {stack} stack's"):
        parse(ns)


def test_tracking_server_size_aws_does_not_offer_names_the_key_and_the_allowed_values() -> None:
    ns = namespace(sample("dev"))
    ns["experimentation"] = {"size": "XLarge"}
    message = str(pytest.raises(ConfigError, parse, ns).value)
    assert message.startswith("invalid stack config: mlgov:experimentation.size: ")
    assert "allowed: Small, Medium, Large" in message


def test_notifications_accept_email_and_https_endpoints_and_default_to_none() -> None:
    ns = shared()
    assert parse({k: v for k, v in ns.items() if k != "notifications"}).notifications == ()
    ns["notifications"] = [{"protocol": "email", "endpoint": "ml-platform@example.com"},
                           {"protocol": "https", "endpoint": "https://hooks.example.com/alarms"}]
    assert [(n.protocol, n.endpoint) for n in parse(ns).notifications] == [
        ("email", "ml-platform@example.com"), ("https", "https://hooks.example.com/alarms")]


def test_validators_and_event_skew_reach_the_handlers_settings() -> None:
    from mlgov import catalog

    config = parse(shared())
    assert catalog.validators(config)["test"] == ["arn:aws:iam::333333333333:role/mlgov-ml-engineer"]
    assert catalog.stage_accounts(config) == {"test": ["333333333333"], "production": ["444444444444"]}
    assert config.max_event_skew_seconds == 300


@pytest.mark.parametrize("key,value,expected", [
    ("validators", {"test": ["not-an-arn"]}, "mlgov:validators.test: 'not-an-arn' is not an IAM principal ARN"),
    ("validators", {"staging": []}, "mlgov:validators.staging: unknown key"),
    ("maxEventSkewSeconds", -1, "mlgov:maxEventSkewSeconds"),
    ("maxEventSkewSeconds", 86_400, "mlgov:maxEventSkewSeconds"),
    ("maxEventSkewSeconds", "300", "mlgov:maxEventSkewSeconds"),
])
def test_bad_validators_or_skew_is_one_clear_error(key: str, value: Any, expected: str) -> None:
    ns = shared()
    ns[key] = value
    with pytest.raises(ConfigError, match="invalid stack config") as err:
        parse(ns)
    assert expected in str(err.value)
