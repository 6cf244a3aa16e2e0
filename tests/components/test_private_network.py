"""PrivateNetwork: the Lambdas' security group and the endpoints of exactly the services they call."""
from __future__ import annotations

import pytest

from components.private_network import NetworkArgs, PrivateNetwork
from tests.infra import run_component

VPC, SUBNETS = "vpc-0a1b2c3d4e5f60718", ["subnet-0a1b2c3d4e5f60718", "subnet-0b2c3d4e5f6071829"]


def plan_of(**overrides):
    values = dict(vpc_id=VPC, subnet_ids=SUBNETS, region="eu-west-1", services=["sagemaker.runtime", "events", "xray"])
    values.update(overrides)
    holder = {}
    plan = run_component(lambda: holder.setdefault("net", PrivateNetwork("net", NetworkArgs(**values))))
    return plan, holder["net"]


def test_one_private_dns_interface_endpoint_per_service_in_the_subnets() -> None:
    plan, _ = plan_of()
    endpoints = {r.inputs["serviceName"]: r.inputs for r in plan.by_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert sorted(endpoints) == ["com.amazonaws.eu-west-1.events", "com.amazonaws.eu-west-1.sagemaker.runtime", "com.amazonaws.eu-west-1.xray"]
    for endpoint in endpoints.values():
        assert (endpoint["vpcEndpointType"], endpoint["subnetIds"], endpoint["privateDnsEnabled"]) == ("Interface", SUBNETS, True)
        assert endpoint["securityGroupIds"] == ["net-endpoints-id"]


def test_the_created_group_sends_https_only_to_the_endpoints_which_admit_only_it() -> None:
    plan, net = plan_of()
    [egress] = plan.by_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    [ingress] = plan.by_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert (egress.inputs["securityGroupId"], egress.inputs["referencedSecurityGroupId"], egress.inputs["fromPort"], egress.inputs["toPort"]) == (
        "net-functions-id", "net-endpoints-id", 443, 443)
    assert (ingress.inputs["securityGroupId"], ingress.inputs["referencedSecurityGroupId"], ingress.inputs["fromPort"]) == (
        "net-endpoints-id", "net-functions-id", 443)
    assert net.placement.subnet_ids == SUBNETS


def test_dynamodb_goes_through_a_gateway_endpoint_on_the_route_tables() -> None:
    plan, _ = plan_of(services=["dynamodb", "xray"], route_table_ids=["rtb-0a1b2c3d4e5f60718"])
    gateway = plan.named("net-dynamodb").inputs
    assert (gateway["vpcEndpointType"], gateway["routeTableIds"]) == ("Gateway", ["rtb-0a1b2c3d4e5f60718"])
    egress = {r.name: r.inputs for r in plan.by_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")}
    assert set(egress) == {"net-functions-to-endpoints", "net-functions-to-dynamodb"}
    with pytest.raises(Exception, match="route_table_ids"):
        plan_of(services=["dynamodb"])


def test_given_groups_are_used_and_without_endpoints_nothing_but_a_group_is_created() -> None:
    plan, net = plan_of(security_group_ids=["sg-0a1b2c3d4e5f60718"])
    assert [r.name for r in plan.by_type("aws:ec2/securityGroup:SecurityGroup")] == ["net-endpoints"]
    assert plan.named("net-endpoints-from-functions-0").inputs["referencedSecurityGroupId"] == "sg-0a1b2c3d4e5f60718"
    plan, net = plan_of(create_endpoints=False)
    assert plan.by_type("aws:ec2/vpcEndpoint:VpcEndpoint") == []
    [egress] = plan.by_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert egress.inputs["cidrIpv4"] == "0.0.0.0/0"
