"""DynamoDB access for the governance table: key reads, index queries, one-transaction writes. No Scan.

A thin layer over the low-level client so every AWS call is explicit (and countable): `batch_get`
(BatchGetItem), `query` (Query, one page per call), `transact` (TransactWriteItems).
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterable, Mapping, Sequence

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from . import schema
from .domain import BadInput

_ser = TypeSerializer()
_de = TypeDeserializer()

Key = tuple[str, str]
MAX_PAGE = 100
KEY_ATTRS = frozenset({schema.PK, schema.SK} | {a for i in schema.TABLE.indexes for a in (i.partition_key, i.sort_key)})


def to_ddb(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(_numbers(v)) for k, v in item.items() if v is not None}


def from_ddb(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(_de.deserialize(v)) for k, v in item.items()}


def _numbers(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_numbers(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)
    return value


class TransactionConflict(Exception):
    """A condition in the transaction failed (someone else wrote first) or DynamoDB saw a conflicting transaction."""

    def __init__(self, reasons: Sequence[str]):
        super().__init__(f"transaction cancelled: {list(reasons)}")
        self.reasons = list(reasons)


@dataclass
class Op:
    """One action of a TransactWriteItems call."""

    kind: str  # "Put" | "Update"
    key: Key
    item: dict[str, Any] | None = None
    set_fields: dict[str, Any] = field(default_factory=dict)
    condition: str | None = None
    values: dict[str, Any] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)


def put(item: Mapping[str, Any], *, condition: str | None = "attribute_not_exists(pk)") -> Op:
    return Op("Put", (item[schema.PK], item[schema.SK]), item=dict(item), condition=condition)


def update(key: Key, set_fields: Mapping[str, Any], *, condition: str | None = None,
           values: Mapping[str, Any] | None = None, names: Mapping[str, str] | None = None) -> Op:
    """An UpdateItem that SETs `set_fields`; conditions refer to attributes as `#name` (declared in names) and `:values`."""
    return Op("Update", key, set_fields=dict(set_fields), condition=condition, values=dict(values or {}), names=dict(names or {}))


class Store:
    def __init__(self, client: Any, table: str):
        self.client = client
        self.table = table

    # --- reads ---

    def batch_get(self, keys: Iterable[Key]) -> dict[Key, dict[str, Any]]:
        """Items by key (absent keys are missing from the result); one BatchGetItem unless DynamoDB defers keys."""
        wanted = list(dict.fromkeys(keys))
        out: dict[Key, dict[str, Any]] = {}
        request = {self.table: {"Keys": [{schema.PK: {"S": pk}, schema.SK: {"S": sk}} for pk, sk in wanted], "ConsistentRead": True}}
        for _ in range(8):
            response = self.client.batch_get_item(RequestItems=request)
            for raw in response.get("Responses", {}).get(self.table, []):
                item = from_ddb(raw)
                out[(item[schema.PK], item[schema.SK])] = item
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return out
        raise RuntimeError("DynamoDB kept deferring keys of a BatchGetItem")

    def query(
        self,
        *,
        partition: tuple[str, str],
        sort_prefix: str | None = None,
        sort_between: tuple[str, str] | None = None,
        index: schema.Index | None = None,
        limit: int = 50,
        start: Mapping[str, Any] | None = None,
        filter_eq: Mapping[str, Any] | None = None,
        forward: bool = True,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of a Query (one call); returns the items and the key to continue from (or None)."""
        pk_name, pk_value = partition
        sk_name = index.sort_key if index else schema.SK
        names = {"#p": pk_name}
        values: dict[str, Any] = {":p": {"S": pk_value}}
        condition = "#p = :p"
        if sort_prefix is not None:
            names["#s"] = sk_name
            values[":s"] = {"S": sort_prefix}
            condition += " AND begins_with(#s, :s)"
        elif sort_between is not None:
            names["#s"] = sk_name
            values[":lo"], values[":hi"] = {"S": sort_between[0]}, {"S": sort_between[1]}
            condition += " AND #s BETWEEN :lo AND :hi"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "Limit": max(1, min(int(limit), MAX_PAGE)),
            "ScanIndexForward": forward,
        }
        if filter_eq:
            parts = []
            for i, (attr, val) in enumerate(filter_eq.items()):
                names[f"#f{i}"] = attr
                values[f":f{i}"] = _ser.serialize(_numbers(val))
                parts.append(f"#f{i} = :f{i}")
            kwargs["FilterExpression"] = " AND ".join(parts)
        if index is not None:
            kwargs["IndexName"] = index.name
        if start:
            kwargs["ExclusiveStartKey"] = start
        response = self.client.query(**kwargs)
        items = [from_ddb(i) for i in response.get("Items", [])]
        return items, response.get("LastEvaluatedKey")

    def query_all(self, **kwargs: Any) -> list[dict[str, Any]]:
        """Every page of a query (for trails that must be read whole, e.g. chain verification)."""
        items: list[dict[str, Any]] = []
        start = None
        while True:
            page, start = self.query(limit=MAX_PAGE, start=start, **kwargs)
            items.extend(page)
            if not start:
                return items

    # --- writes ---

    def transact(self, ops: Sequence[Op]) -> None:
        """All `ops` in one TransactWriteItems; TransactionConflict if any condition fails."""
        actions = []
        for op in ops:
            key = {schema.PK: {"S": op.key[0]}, schema.SK: {"S": op.key[1]}}
            if op.kind == "Put":
                body: dict[str, Any] = {"TableName": self.table, "Item": to_ddb(op.item or {})}
                names = dict(op.names)
            else:
                names = dict(op.names)
                values_set: dict[str, Any] = {}
                sets = []
                for i, (attr, val) in enumerate((a, v) for a, v in op.set_fields.items() if v is not None):
                    names[f"#u{i}"] = attr
                    values_set[f":u{i}"] = val
                    sets.append(f"#u{i} = :u{i}")
                body = {"TableName": self.table, "Key": key, "UpdateExpression": "SET " + ", ".join(sets)}
                if values_set or op.values:
                    body["ExpressionAttributeValues"] = to_ddb({**values_set, **op.values})
            if op.condition:
                body["ConditionExpression"] = op.condition
                if op.kind == "Put" and op.values:
                    body["ExpressionAttributeValues"] = to_ddb(op.values)
            if names:
                body["ExpressionAttributeNames"] = names
            actions.append({op.kind: body})
        try:
            self.client.transact_write_items(TransactItems=actions)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                reasons = [r.get("Code", "None") for r in exc.response.get("CancellationReasons", [])]
                if not reasons:
                    reasons = _reasons_from_message(exc.response.get("Error", {}).get("Message", ""))
                if any(r in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons):
                    raise TransactionConflict(reasons) from None
            raise


def _reasons_from_message(message: str) -> list[str]:
    """boto3 keeps CancellationReasons only when the service returns them; the message lists them too."""
    if "[" not in message:
        return []
    inner = message[message.index("[") + 1: message.rindex("]")] if "]" in message else ""
    return [part.strip() for part in inner.split(",") if part.strip()]


# --- pagination tokens: opaque to callers, validated on the way back in ---

def encode_token(last_key: Mapping[str, Any] | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None, *, partition: tuple[str, str]) -> dict[str, Any] | None:
    """A continuation key from a `next` token, refused unless it is a key of the partition being listed."""
    if token is None or token == "":
        return None
    if not isinstance(token, str) or len(token) > 2048:
        raise BadInput("the next token is invalid")
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadInput("the next token is invalid") from None
    if not isinstance(data, dict) or not data or not set(data) <= KEY_ATTRS:
        raise BadInput("the next token is invalid")
    for value in data.values():
        if not isinstance(value, dict) or set(value) != {"S"} or not isinstance(value["S"], str) or not value["S"].isprintable():
            raise BadInput("the next token is invalid")
    if data.get(partition[0], {}).get("S") != partition[1]:
        raise BadInput("the next token belongs to a different listing")
    if set(data) != _page_key(partition[0]):
        raise BadInput("the next token is invalid: its key is incomplete")
    return data


def _page_key(partition_attr: str) -> frozenset[str]:
    """The attributes of a query's continuation key: the table's key, plus the index's when the query reads one."""
    index = next((i for i in schema.TABLE.indexes if i.partition_key == partition_attr), None)
    return frozenset({schema.PK, schema.SK} | ({index.partition_key, index.sort_key} if index else set()))
