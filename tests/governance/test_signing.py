"""Signatures: one per transaction over the co-signed hashes and the key id the entries name; verified with
`cryptography` (the Powertools layer's in the Lambdas), with no slower path to fall back on.
"""
from __future__ import annotations

import base64
import hashlib

import boto3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from moto import mock_aws

from governance import schema, signing

KEY = "arn:aws:kms:us-east-1:123456789012:key/governance"


def entries(n: int) -> list[dict]:
    return [{schema.ENTRY_HASH: f"{i:064x}"} for i in range(n)]


def der(signer: signing.LocalSigner) -> bytes:
    return signer.private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_one_signature_covers_every_entry_of_a_transaction_and_each_verifies_alone():
    signer, batch = signing.LocalSigner(key_id=KEY), entries(3)
    signing.sign_entries(batch, signer)
    assert len({e[schema.ENTRY_SIGNATURE] for e in batch}) == 1
    assert {e[schema.ENTRY_SIGNING_KEY] for e in batch} == {KEY}
    verifier = signer.verifier()
    assert [verifier.problem(e) for e in batch] == [None, None, None]


@pytest.mark.parametrize("other", ["arn:aws:kms:us-east-1:123456789012:key/attacker", KEY + " ", "", None, 7])
def test_an_entry_whose_signing_key_id_alone_is_changed_fails_verification(other):
    signer, [entry] = signing.LocalSigner(key_id=KEY), entries(1)
    signing.sign_entries([entry], signer)
    entry[schema.ENTRY_SIGNING_KEY] = other
    problem = signer.verifier().problem(entry)
    assert problem and ("sigKey" in problem or "names no signing key" in problem)


def test_the_key_id_is_part_of_the_signed_message():
    hashes = [f"{1:064x}"]
    assert signing.message(hashes, KEY) != signing.message(hashes, KEY + "x")
    assert signing.message(hashes, KEY) == signing.message(list(reversed(hashes)), KEY)


@pytest.mark.parametrize("seed", range(4))
def test_valid_tampered_forged_and_malformed_signatures(seed):
    signer, attacker = signing.LocalSigner(key_id=KEY), signing.LocalSigner(key_id=KEY)
    msg = signing.message([f"{seed:064x}"], KEY)
    sig = signer.sign(msg)
    verifier = signing.Verifier.from_der(der(signer), KEY)
    assert verifier.valid(sig, msg)
    assert not verifier.valid(sig, signing.message([f"{seed + 1:064x}"], KEY))
    assert not verifier.valid(attacker.sign(msg), msg)
    assert not verifier.valid(sig[:-1], msg) and not verifier.valid(b"\x30\x06\x02\x01\x00\x02\x01\x01", msg) and not verifier.valid(b"", msg)


def test_the_fingerprint_is_the_sha256_of_the_der_public_key_an_auditor_holds():
    key_der = der(signing.LocalSigner())
    verifier = signing.Verifier.from_der(key_der, KEY)
    assert verifier.fingerprint == f"SHA256:{hashlib.sha256(key_der).hexdigest()}"
    assert signing.Verifier.from_pem(verifier.pem().encode()).fingerprint == verifier.fingerprint


@pytest.mark.parametrize("curve", [ec.SECP384R1(), ec.SECP256K1()])
def test_a_public_key_on_another_curve_is_refused(curve):
    other = ec.generate_private_key(curve).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with pytest.raises(ValueError, match="not an EC P-256 key"):
        signing.Verifier.from_der(other, KEY)


def test_a_point_off_the_curve_is_refused():
    good = der(signing.LocalSigner())
    with pytest.raises(ValueError):
        signing.Verifier.from_der(good[:-1] + bytes([good[-1] ^ 1]))


def test_an_entry_whose_signature_is_not_base64_is_refused_with_a_reason():
    signer, [entry] = signing.LocalSigner(), entries(1)
    signing.sign_entries([entry], signer)
    entry[schema.ENTRY_SIGNATURE] = base64.b64encode(b"x").decode() + "!"
    assert "base64" in signer.verifier().problem(entry)


def test_kms_signatures_name_the_configured_key_and_verify_with_its_public_key(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        kms = boto3.client("kms", region_name="us-east-1")
        key = kms.create_key(KeySpec=signing.KEY_SPEC, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/governance", TargetKeyId=key)
        signer, batch = signing.KmsSigner(kms, "alias/governance"), entries(2)
        signing.sign_entries(batch, signer)
        verifier = signer.verifier()
    assert {e[schema.ENTRY_SIGNING_KEY] for e in batch} == {"alias/governance"}
    assert [verifier.problem(e) for e in batch] == [None, None]
    batch[0][schema.ENTRY_SIGNING_KEY] = verifier.key_id
    assert verifier.problem(batch[0]) is not None and verifier.problem(batch[1]) is None
