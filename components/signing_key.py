"""The audit signing key: an asymmetric KMS key (ECC_NIST_P256, SIGN_VERIFY) only the governance handlers sign with.

The key policy gives signing to the handler roles that write audit entries and the public half (GetPublicKey,
Verify) to the roles and auditors that verify trails; the account administers the key but cannot sign with it
unless the principal is one of the signers. Principals are matched with `aws:PrincipalArn` under the account
root, so the policy is valid before the roles exist (KMS refuses a policy naming an unknown principal:
https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.args import ComponentArgs
from components.policy_documents import KMS_ADMIN_ACTIONS, account_roots, document, statement

KEY_SPEC = "ECC_NIST_P256"
KEY_USAGE = "SIGN_VERIFY"
SIGN_ACTIONS = ("kms:Sign",)
VERIFY_ACTIONS = ("kms:DescribeKey", "kms:GetPublicKey", "kms:Verify")
# Administering the key; signing and key-material changes are not among these.
ADMIN_ACTIONS = tuple(a for a in KMS_ADMIN_ACTIONS if a not in ("kms:EnableKeyRotation",))


@dataclass
class SigningKeyArgs(ComponentArgs):
    alias: str
    """The key's alias without `alias/`."""
    account_id: str
    signer_role_arns: Sequence[str]
    """The roles that sign audit entries (the governance handlers that write)."""
    verifier_role_arns: Sequence[str] = field(default_factory=list)
    """Roles and auditors that read the public key and verify signatures."""
    partition: Optional[str] = "aws"
    deletion_window_days: Optional[int] = 30


def key_statements(args: SigningKeyArgs) -> list[dict[str, Any]]:
    root = account_roots([args.account_id], args.partition or "aws")
    out = [statement("AccountAdministersTheKey", ADMIN_ACTIONS, "*", principals={"AWS": root})]
    if args.signer_role_arns:
        out.append(statement("GovernanceHandlersSign", SIGN_ACTIONS, "*", principals={"AWS": root},
                             conditions={"ArnEquals": {"aws:PrincipalArn": sorted(args.signer_role_arns)},
                                         "StringEquals": {"kms:SigningAlgorithm": "ECDSA_SHA_256"}}))
    verifiers = sorted({*args.signer_role_arns, *args.verifier_role_arns})
    if verifiers:
        out.append(statement("VerifiersReadThePublicKey", VERIFY_ACTIONS, "*", principals={"AWS": root},
                             conditions={"ArnEquals": {"aws:PrincipalArn": verifiers}}))
    return out


class SigningKey(pulumi.ComponentResource):
    key: aws.kms.Key
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: SigningKeyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("mlgov:signing_key:SigningKey", name, None, opts)
        self.key = aws.kms.Key(
            f"{name}-key",
            description="mlgov: signs governance audit entries (verify with the public key)",
            customer_master_key_spec=KEY_SPEC,
            key_usage=KEY_USAGE,
            deletion_window_in_days=args.deletion_window_days,
            policy=document(key_statements(args)),
            tags=dict(args.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.kms.Alias(f"{name}-alias", name=f"alias/{args.alias}", target_key_id=self.key.key_id,
                      opts=pulumi.ResourceOptions(parent=self.key))
        self.arn = self.key.arn
        self.register_outputs({"arn": self.key.arn})
