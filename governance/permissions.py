"""The AWS actions each handler calls: the infrastructure grants exactly these to each Lambda role.

DynamoDB has no IAM action for a transaction as such: `TransactWriteItems` is authorised item by item
as `PutItem` / `UpdateItem` (the only kinds of action our transactions contain). So `HANDLER_ACTIONS`
lists IAM actions, `HANDLER_OPERATIONS` lists the API operations botocore sees, and `iam_actions`
maps one to the other; the tests record every call and check both.
"""
from __future__ import annotations

from typing import Iterable

# API operations as "<service>:<Operation>", what a botocore event hook records.
# Every handler that writes signs its audit entries (kms:Sign); the api verifies trails (the public key, the
# checkpoints); the checkpoint consumer reads chains, verifies them and writes checkpoints.
HANDLER_OPERATIONS: dict[str, frozenset[str]] = {
    "sync": frozenset({"dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:TransactWriteItems", "sagemaker:UpdateModelPackage",
                       "kms:Sign"}),
    "api": frozenset({"dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:TransactWriteItems", "sagemaker:UpdateModelPackage",
                      "kms:Sign", "kms:GetPublicKey", "s3:ListObjectsV2", "s3:GetObject"}),
    "metrics": frozenset({"dynamodb:BatchGetItem", "dynamodb:TransactWriteItems", "kms:Sign"}),
    "checkpoint": frozenset({"dynamodb:BatchGetItem", "dynamodb:Query", "kms:GetPublicKey", "s3:ListObjectsV2", "s3:GetObject",
                             "s3:PutObject"}),
}
# API operations whose IAM action has another name (https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html).
OPERATION_ACTIONS = {"s3:ListObjectsV2": "s3:ListBucket"}

# Which IAM actions the items of our transactions need (Put → PutItem, Update → UpdateItem).
TRANSACT_ITEM_ACTIONS = {"Put": "dynamodb:PutItem", "Update": "dynamodb:UpdateItem",
                         "Delete": "dynamodb:DeleteItem", "ConditionCheck": "dynamodb:ConditionCheckItem"}
# The kinds of transaction item each handler writes.
HANDLER_TRANSACT_ITEMS: dict[str, frozenset[str]] = {
    "sync": frozenset({"Put", "Update"}),
    "api": frozenset({"Put", "Update"}),
    "metrics": frozenset({"Put", "Update"}),
    "checkpoint": frozenset(),
}


def iam_actions(operations: Iterable[str], transact_items: Iterable[str] = ()) -> frozenset[str]:
    """IAM actions for API operations: a transaction becomes the per-item actions it contains."""
    out = {OPERATION_ACTIONS.get(op, op) for op in operations if op != "dynamodb:TransactWriteItems"}
    out |= {TRANSACT_ITEM_ACTIONS[k] for k in transact_items}
    return frozenset(out)


# What the infrastructure grants to each Lambda role (table and its indexes; the registry's model packages).
HANDLER_ACTIONS: dict[str, frozenset[str]] = {
    name: iam_actions(ops, HANDLER_TRANSACT_ITEMS[name]) for name, ops in HANDLER_OPERATIONS.items()
}
