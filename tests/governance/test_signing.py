"""Signatures: one per transaction over the co-signed hashes; the plain-Python verifier agrees with `cryptography`."""
from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization

from governance import p256, schema, signing


def entries(n: int) -> list[dict]:
    return [{schema.ENTRY_HASH: f"{i:064x}"} for i in range(n)]


def der(signer: signing.LocalSigner) -> bytes:
    return signer.private_key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def test_one_signature_covers_every_entry_of_a_transaction_and_each_verifies_alone():
    signer, batch = signing.LocalSigner(), entries(3)
    signing.sign_entries(batch, signer)
    assert len({e[schema.ENTRY_SIGNATURE] for e in batch}) == 1
    verifier = signer.verifier()
    assert [verifier.problem(e) for e in batch] == [None, None, None]


@pytest.mark.parametrize("seed", range(6))
def test_the_plain_python_verifier_agrees_with_cryptography(seed):
    signer, other = signing.LocalSigner(), signing.LocalSigner()
    msg = signing.message([f"{seed:064x}"])
    sig, _ = signer.sign(msg)
    fast, plain = signing.Verifier(signer.private_key.public_key()), signing.Verifier(p256.public_point(der(signer)))
    assert fast.valid(sig, msg) and plain.valid(sig, msg)
    assert not plain.valid(sig, signing.message([f"{seed + 1:064x}"]))
    assert not plain.valid(other.sign(msg)[0], msg)
    assert not plain.valid(sig[:-1], msg) and not plain.valid(b"\x30\x06\x02\x01\x00\x02\x01\x01", msg)


def test_a_point_off_the_curve_is_refused():
    good = der(signing.LocalSigner())
    with pytest.raises(ValueError):
        p256.public_point(good[:-1] + bytes([good[-1] ^ 1]))


def test_an_entry_whose_signature_is_not_base64_is_refused_with_a_reason():
    signer, [entry] = signing.LocalSigner(), entries(1)
    signing.sign_entries([entry], signer)
    entry[schema.ENTRY_SIGNATURE] = base64.b64encode(b"x").decode() + "!"
    assert "base64" in signer.verifier().problem(entry)
