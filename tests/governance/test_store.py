from __future__ import annotations

import pytest

from governance.domain import BadInput
from governance.store import decode_token, encode_token


def test_tokens_round_trip_within_their_partition():
    key = {"gsi1pk": {"S": "STAGE#test#STATUS#pending"}, "gsi1sk": {"S": "x"}, "pk": {"S": "MODEL#g"}, "sk": {"S": "V#000001#test"}}
    token = encode_token(key)
    assert decode_token(token, partition=("gsi1pk", "STAGE#test#STATUS#pending")) == key
    with pytest.raises(BadInput, match="different listing"):
        decode_token(token, partition=("gsi1pk", "STAGE#production#STATUS#pending"))


@pytest.mark.parametrize("token", ["!!", "e30", "W10", "eyJ4Ijp7IlMiOiJ5In19", "x" * 3000])
def test_malformed_tokens_are_bad_input(token):
    with pytest.raises(BadInput):
        decode_token(token, partition=("pk", "USECASE#a"))


def test_create_table_request_matches_the_declared_layout() -> None:
    from governance import schema

    request = schema.TABLE.create_table_request("t")
    assert request["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]
    assert {i["IndexName"]: [k["AttributeName"] for k in i["KeySchema"]] for i in request["GlobalSecondaryIndexes"]} == {
        "by-stage-status": ["gsi1pk", "gsi1sk"], "by-use-case": ["gsi2pk", "gsi2sk"]}
    assert {a["AttributeName"] for a in request["AttributeDefinitions"]} == {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"}
