"""Private subnets for an account's Lambdas: where they run, and the VPC endpoints that let them reach AWS without the internet.

The VPC and its subnets are the platform team's (`mlgov:network`); mlgov adds a security group for the
functions when none is given, and, with `create_endpoints`, one interface endpoint per service the
stack's Lambdas call (a gateway endpoint for DynamoDB, which is free and attaches to route tables).
"""

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import ComponentArgs

HTTPS = 443
GATEWAY_SERVICES = frozenset({"dynamodb"})
"""Services reached through a gateway endpoint (route tables), not an interface endpoint (subnets, security group)."""


@dataclass
class FunctionNetwork:
    """Where a Lambda runs: its `vpc_config`."""

    subnet_ids: Sequence[pulumi.Input[str]]
    security_group_ids: Sequence[pulumi.Input[str]]


@dataclass
class NetworkArgs(ComponentArgs):
    vpc_id: str
    subnet_ids: Sequence[str]
    """Private subnets, in at least two availability zones for a highly available function."""
    region: str
    services: Sequence[str] = ()
    """Endpoint service names the Lambdas call (`sagemaker.runtime`, `events`, `dynamodb`, ...)."""
    security_group_ids: Optional[Sequence[str]] = None
    """The functions' security groups; None creates one allowing HTTPS out to the endpoints only."""
    route_table_ids: Optional[Sequence[str]] = None
    """The private subnets' route tables, for the gateway endpoints."""
    create_endpoints: Optional[bool] = True
    """False when the VPC already has the endpoints (or a NAT the platform team accepts)."""


class PrivateNetwork(pulumi.ComponentResource):
    placement: FunctionNetwork
    endpoints: dict[str, aws.ec2.VpcEndpoint]

    def __init__(self, name: str, args: NetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:private_network:PrivateNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = {"mlgov:component": "private-network", **args.tags}
        interface = [s for s in args.services if s not in GATEWAY_SERVICES] if args.create_endpoints else []
        gateway = [s for s in args.services if s in GATEWAY_SERVICES] if args.create_endpoints else []
        if gateway and not args.route_table_ids:
            raise ValueError(f"{name}: {', '.join(gateway)} is reached through a gateway endpoint: give the private "
                             "subnets' route_table_ids")

        self.endpoints = {}
        for service in gateway:
            self.endpoints[service] = aws.ec2.VpcEndpoint(
                f"{name}-{service}", vpc_id=args.vpc_id, service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Gateway", route_table_ids=list(args.route_table_ids or ()), tags=tags, opts=child)
        endpoint_group = None
        if interface:
            endpoint_group = aws.ec2.SecurityGroup(
                f"{name}-endpoints", vpc_id=args.vpc_id, description="mlgov: interface endpoints, HTTPS from the Lambdas",
                tags=tags, opts=child)
        groups: list[pulumi.Input[str]] = list(args.security_group_ids or ())
        if not groups:
            functions = aws.ec2.SecurityGroup(
                f"{name}-functions", vpc_id=args.vpc_id, description="mlgov: Lambdas, HTTPS out to AWS APIs only",
                tags=tags, opts=child)
            groups = [functions.id]
            if endpoint_group is not None:
                aws.vpc.SecurityGroupEgressRule(
                    f"{name}-functions-to-endpoints", security_group_id=functions.id, ip_protocol="tcp", from_port=HTTPS,
                    to_port=HTTPS, referenced_security_group_id=endpoint_group.id, description="HTTPS to the interface endpoints",
                    opts=child)
            for service in gateway:
                aws.vpc.SecurityGroupEgressRule(
                    f"{name}-functions-to-{service}", security_group_id=functions.id, ip_protocol="tcp", from_port=HTTPS,
                    to_port=HTTPS, prefix_list_id=self.endpoints[service].prefix_list_id,
                    description=f"HTTPS to {service} through its gateway endpoint", opts=child)
            if not args.create_endpoints:
                # Not restricted to endpoints: without create_endpoints the VPC reaches AWS through endpoints or a NAT
                # mlgov does not know, so the group allows HTTPS out to any address; the subnets' routes decide where.
                aws.vpc.SecurityGroupEgressRule(
                    f"{name}-functions-https-out", security_group_id=functions.id, ip_protocol="tcp", from_port=HTTPS,
                    to_port=HTTPS, cidr_ipv4="0.0.0.0/0", description="HTTPS to AWS APIs through the VPC's own routes", opts=child)
        if endpoint_group is not None:
            for i, group in enumerate(groups):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-endpoints-from-functions-{i}", security_group_id=endpoint_group.id, ip_protocol="tcp",
                    from_port=HTTPS, to_port=HTTPS, referenced_security_group_id=group, description="HTTPS from the Lambdas",
                    opts=child)
        # No endpoint policy (AWS's default allows any call through the endpoint): what a Lambda may do is decided by
        # its role, scoped to its resources; a policy here would repeat those grants and drift from them.
        for service in interface:
            self.endpoints[service] = aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}", vpc_id=args.vpc_id, service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface", subnet_ids=list(args.subnet_ids), security_group_ids=[endpoint_group.id],
                private_dns_enabled=True, tags=tags, opts=child)
        self.placement = FunctionNetwork(subnet_ids=list(args.subnet_ids), security_group_ids=groups)
        self.register_outputs({"security_group_ids": groups})
