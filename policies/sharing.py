"""Sharing: RAM shares of the hub's model package groups, and who else may use the hub's resources."""
from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from typing import Any, Iterator, Optional

from .common import (
    DEPLOY_ACTIONS,
    DEPLOY_PERMISSION,
    GOVERNANCE_ONLY_ACTIONS,
    IAM_ROLE,
    KMS_KEY,
    MODEL_PACKAGE_GROUP_ACTIONS,
    MODEL_PACKAGE_GROUP_RESOURCE_TYPE,
    ORGANIZATION_CONFIG,
    PRINCIPAL_ASSOCIATION,
    RAM_PERMISSION,
    REGISTER_ACTIONS,
    REGISTER_PERMISSION,
    RESOURCE_ASSOCIATION,
    RESOURCE_POLICY_TYPES,
    RESOURCE_SHARE,
    actions,
    allow_statements,
    as_list,
    aws_principals,
    by_type,
    condition_values,
    ids,
    is_false,
    join_key,
    org_accounts,
    parent_urn,
    principal_account,
    prop,
    resource_rule,
    setting_rule,
    sid,
    stack_rule,
)

SHARE_TYPES = (RESOURCE_SHARE, RAM_PERMISSION)
MANAGED = {"register": REGISTER_PERMISSION, "deploy": DEPLOY_PERMISSION}


def _managed_name(arn: str) -> Optional[str]:
    """`arn:aws:ram::aws:permission/<Name>` → Name; None for a customer-managed permission."""
    parts = arn.split(":")
    if len(parts) >= 6 and parts[2] == "ram" and parts[4] == "aws" and parts[5].startswith("permission/"):
        return parts[5].split("/", 1)[1]
    return None


def template_actions(raw: Any) -> set[str]:
    """The actions a customer-managed RAM permission's policy template (JSON) grants."""
    try:
        template = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return set()
    out: set[str] = set()
    for statement in as_list(template.get("Statement") if isinstance(template, Mapping) and "Statement" in template else template):
        if isinstance(statement, Mapping):
            out |= set(actions(statement))
    return out


class ShareIndex:
    """Shares, their permissions and principals, joined by ARN (or, where an ARN is not known yet, by parent)."""

    def __init__(self, resources: list[Any]):
        self.shares = by_type(resources, RESOURCE_SHARE)
        self.by_arn = {join_key(s, "arn"): s for s in self.shares if join_key(s, "arn")}
        self.by_urn = {s.urn: s for s in self.shares}
        self.permissions = {join_key(p, "arn"): p for p in by_type(resources, RAM_PERMISSION) if join_key(p, "arn")}
        self.principal_associations = by_type(resources, PRINCIPAL_ASSOCIATION)
        self.resource_associations = by_type(resources, RESOURCE_ASSOCIATION)

    def share_of(self, association: Any) -> Optional[Any]:
        share = self.by_arn.get(join_key(association, "resourceShareArn"))
        return share if share is not None else self.by_urn.get(parent_urn(association) or "")

    def permission_arns(self, share: Any) -> list[str]:
        return [str(a) for a in as_list(prop(share, "permissionArns"))]

    def granted_actions(self, share: Any) -> Optional[set[str]]:
        """Actions a share grants; None when one of its permissions is neither managed-known nor declared here."""
        out: set[str] = set()
        for arn in self.permission_arns(share):
            managed = _managed_name(arn)
            if managed == REGISTER_PERMISSION:
                out |= DEPLOY_ACTIONS | REGISTER_ACTIONS
            elif managed == DEPLOY_PERMISSION:
                out |= DEPLOY_ACTIONS
            elif arn in self.permissions:
                out |= template_actions(prop(self.permissions[arn], "policyTemplate"))
            else:
                return None
        return out

    def kinds(self, share: Any) -> set[str]:
        """{"register"} when a share lets principals create versions, {"deploy"} when it only lets them read and
        deploy them, {} when it grants neither (or a permission this stack cannot read)."""
        granted = self.granted_actions(share) or set()
        if granted & REGISTER_ACTIONS:
            return {"register"}
        if granted & {"sagemaker:DescribeModelPackage", "sagemaker:CreateModel"}:
            return {"deploy"}
        return set()

    def principals(self, share: Any) -> list[Any]:
        return [a for a in self.principal_associations if self.share_of(a) is share]


def share_index(resources: list[Any]) -> ShareIndex:
    return ShareIndex(resources)


# --- resource rules ---

ram_no_external_principals = setting_rule(
    "ram-no-external-principals", "RAM shares never allow principals outside the organization.", RESOURCE_SHARE,
    ("allowExternalPrincipals",), is_false,
    "RAM share {name} admits principals outside the organization: set allow_external_principals=False",
)


def _organization(cfg: dict[str, Any], args: Any, why: str) -> tuple[set[str], str]:
    """The organization's accounts and id; the rule does not apply (`why`) where neither is configured."""
    accounts, org = org_accounts(cfg), str(cfg.get("organizationId") or "")
    if not accounts and not org:
        args.not_applicable(why)
    return accounts, org


@resource_rule("ram-principals-in-organization", "RAM principals are accounts (or OUs) of the organization.",
               PRINCIPAL_ASSOCIATION, config=ORGANIZATION_CONFIG)
def ram_principals_in_organization(props, cfg, args) -> Iterator[str]:
    principal = str(props.get("principal") or "")
    accounts, org = _organization(cfg, args, "no organization configured (organizationId / account lists)")
    if principal_account(principal) is not None:
        if principal_account(principal) not in accounts:
            yield (f"RAM principal {principal} is not an account of the organization ({', '.join(sorted(accounts))}): "
                   "share only with the accounts under mlgov:organization.accounts")
    elif principal.startswith("arn:") and ":organizations::" in principal:
        if not org or f"/{org}" not in principal:
            yield f"RAM principal {principal} is not organization {org} or one of its OUs: share within the organization only"
    else:
        yield f"RAM principal {principal!r} is not an account id or an organization/OU ARN: share with accounts of the organization"


@resource_rule("ram-custom-permission-actions",
               "A custom RAM permission is for model package groups and grants only named model package group actions.",
               RAM_PERMISSION)
def ram_custom_permission_actions(props, cfg, args) -> Iterator[str]:
    if props.get("resourceType") != MODEL_PACKAGE_GROUP_RESOURCE_TYPE:
        yield (f"RAM permission {props.get('name', args.name)} is for {props.get('resourceType')!r}: "
               f"custom permissions here are for {MODEL_PACKAGE_GROUP_RESOURCE_TYPE} only")

    granted = template_actions(props.get("policyTemplate"))
    if not granted:
        yield f"RAM permission {props.get('name', args.name)} grants no readable actions: give policy_template an Action list"
    wild = sorted(a for a in granted if "*" in a)
    unknown = sorted(a for a in granted - MODEL_PACKAGE_GROUP_ACTIONS if "*" not in a)
    if wild:
        yield f"RAM permission {props.get('name', args.name)} grants wildcard action(s) {', '.join(wild)}: list the actions"
    if unknown:
        yield (f"RAM permission {props.get('name', args.name)} grants {', '.join(unknown)}, not allowed on a model package group; "
               f"allowed: {', '.join(sorted(MODEL_PACKAGE_GROUP_ACTIONS))}")


@resource_rule("ram-permission-no-approval-writes",
               "No RAM permission grants an action that writes a model version's approval status or lifecycle stage.",
               RAM_PERMISSION)
def ram_permission_no_approval_writes(props, cfg, args) -> Iterator[str]:
    granted = template_actions(props.get("policyTemplate"))
    writes = sorted(a for a in granted if any(fnmatch.fnmatchcase(w.lower(), a.lower()) for w in GOVERNANCE_ONLY_ACTIONS))
    if writes:
        yield (f"RAM permission {props.get('name', args.name)} grants {', '.join(writes)}, which writes a model version's "
               f"approval status and lifecycle stage ({', '.join(sorted(GOVERNANCE_ONLY_ACTIONS))}): only the hub's governance "
               "API decides them; remove it from the policy template")


@resource_rule("resource-policy-principals-in-organization",
               "Key, bucket, queue, bus, API and trust policies allow only accounts of the organization.",
               (*RESOURCE_POLICY_TYPES, KMS_KEY, IAM_ROLE), config=ORGANIZATION_CONFIG)
def resource_policy_principals_in_organization(props, cfg, args) -> Iterator[str]:
    accounts, org = _organization(cfg, args, "no organization configured")
    for label, i, statement in allow_statements(args.resource_type, props, kinds=("resource", "key", "trust")):
        org_bound = bool(org) and org in condition_values(statement, "aws:PrincipalOrgID")
        for principal in aws_principals(statement):
            account = principal_account(principal)
            if principal == "*" and not org_bound:
                yield (f"{args.name} {label} {sid(statement, i)} allows any AWS principal: name accounts of the organization "
                       f"or add Condition StringEquals aws:PrincipalOrgID={org or '<organization id>'}")
            elif account is not None and account not in accounts and not org_bound:
                yield (f"{args.name} {label} {sid(statement, i)} allows account {account}, outside the organization: "
                       "allow only the accounts under mlgov:organization.accounts")

# --- stack rules ---


@stack_rule("ram-register-only-to-dev", "The register permission is shared with dev accounts only.", config=("devAccounts",))
def ram_register_only_to_dev(resources, cfg) -> Iterator[tuple[str, Optional[str]]]:
    dev, index = ids(cfg, "devAccounts"), share_index(resources)
    for share in index.shares:
        if "register" not in index.kinds(share):
            continue
        for association in index.principals(share):
            principal = str(prop(association, "principal") or "")
            if principal not in dev:
                yield (f"RAM share {prop(share, 'name', share.name)} lets {principal} register model versions: the register "
                       f"permission goes to dev accounts only ({', '.join(sorted(dev)) or 'none configured'}); give "
                       "other accounts the deploy share", association.urn)


@stack_rule("ram-prod-deploy-only", "Prod accounts never get more than the deploy permission.", config=("prodAccounts",))
def ram_prod_deploy_only(resources, cfg) -> Iterator[tuple[str, Optional[str]]]:
    prod, index = ids(cfg, "prodAccounts"), share_index(resources)
    for association in index.principal_associations:
        principal = str(prop(association, "principal") or "")
        share = index.share_of(association)
        if principal not in prod or share is None:
            continue
        granted = index.granted_actions(share)
        extra = sorted(granted - DEPLOY_ACTIONS) if granted is not None else ["<an unknown permission>"]
        if extra:
            yield (f"prod account {principal} gets {', '.join(extra)} through RAM share {prop(share, 'name', share.name)}: "
                   f"prod never gets more than deploy; share {DEPLOY_PERMISSION} with it", association.urn)


@stack_rule("ram-managed-or-declared-permission",
            "RAM shares use the managed SageMaker permissions or a custom permission declared in the stack.",
            config=("managedPermissions",))
def ram_managed_or_declared_permission(resources, cfg) -> Iterator[tuple[str, Optional[str]]]:
    allowed, index = ids(cfg, "managedPermissions"), share_index(resources)
    for share in index.shares:
        arns = index.permission_arns(share)
        name = prop(share, "name", share.name)
        if not arns:
            yield (f"RAM share {name} names no permission, so RAM applies the resource type's default: set permission_arns to "
                   f"{' or '.join(sorted(allowed))}", share.urn)
        for arn in arns:
            managed = _managed_name(arn)
            if managed is not None and managed not in allowed:
                yield (f"RAM share {name} uses managed permission {managed}: use {' or '.join(sorted(allowed))}, "
                       "or a custom permission declared in this stack", share.urn)
            elif managed is None and arn not in index.permissions:
                yield (f"RAM share {name} uses permission {arn}, which this stack does not declare: use a managed SageMaker "
                       "permission or declare the custom one (mlgov:useCases[].sharePermissions)", share.urn)


POLICIES = [
    ram_no_external_principals,
    ram_principals_in_organization,
    ram_register_only_to_dev,
    ram_prod_deploy_only,
    ram_managed_or_declared_permission,
    ram_custom_permission_actions,
    ram_permission_no_approval_writes,
    resource_policy_principals_in_organization,
]
