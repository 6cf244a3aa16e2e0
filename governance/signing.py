"""Signatures on audit entries: one KMS `Sign` per transaction, verified anywhere with the public key alone.

A transaction may append several entries (a decision that also advances its use case). They are signed
together: the signed message is the digest of their sorted hashes and the key id, and each entry stores the signature,
the key and the co-signed hashes, so any one entry can be verified on its own. The table holds no secret:
whoever can write it can recompute hashes, but cannot produce a signature the public key accepts.

KMS is asked to sign the 32-byte digest as a RAW message (KMS hashes it again with SHA-256): moto ignores
`MessageType=DIGEST`, and RAW behaves the same on both
(https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html).

Binding the key id the entries name (`sigKey`) into the message means that field cannot be
changed on its own either.

Signing needs only boto3. Verification needs `cryptography`, imported where it is used so handlers that only
sign do not load it. In the Lambdas it comes from the Powertools V3 layer (`components.function`): the layer
is built with `include_extras=True` (layer_v3/layer/layer_stack.py), i.e. `pip install
"aws-lambda-powertools[all]"` on the python3.12 x86_64 Lambda image, removing only boto3 and its
dependencies (layer_v3/docker/Dockerfile); the `all` extra includes aws-encryption-sdk, which requires
`cryptography` (aws-powertools/powertools-lambda-python pyproject.toml, from 3.0 through 3.37 around our
layer version; added to the layer in PR #4630). The handlers already rely on the same extra for pydantic,
so a Lambda without it would not start: a slower fallback would protect nothing and is not kept.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from . import schema
from .store import Op, Store

ALGORITHM = "ECDSA_SHA_256"
KEY_SPEC = "ECC_NIST_P256"
DOMAIN = b"mlgov-audit-v2\n"


def message(hashes_: Iterable[str], key_id: str) -> bytes:
    """What is signed for a set of entry hashes: a fixed-size digest of their sorted list and the key id they name."""
    body = json.dumps([key_id, sorted(hashes_)], separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(DOMAIN + body.encode("ascii")).digest()


class Signer(Protocol):
    key_id: str  # what entries name as their signing key (`sigKey`), bound into what is signed

    def sign(self, msg: bytes) -> bytes:
        """A DER ECDSA signature of `msg`."""
        ...


class KmsSigner:
    """Signs with an asymmetric KMS key (`kms:Sign`); the public key is fetched once (`kms:GetPublicKey`)."""

    def __init__(self, kms: Any, key_id: str):
        self.kms, self.key_id = kms, key_id
        self._public: "Verifier | None" = None

    def sign(self, msg: bytes) -> bytes:
        response = self.kms.sign(KeyId=self.key_id, Message=msg, MessageType="RAW", SigningAlgorithm=ALGORITHM)
        return response["Signature"]

    def verifier(self) -> "Verifier":
        if self._public is None:
            response = self.kms.get_public_key(KeyId=self.key_id)
            self._public = Verifier.from_der(response["PublicKey"], key_id=response["KeyId"])
        return self._public


class LocalSigner:
    """An EC P-256 private key in memory: tests (an attacker's own key) and offline tools, never the handlers."""

    def __init__(self, private_key: Any = None, key_id: str = "local"):
        from cryptography.hazmat.primitives.asymmetric import ec
        self.private_key = private_key or ec.generate_private_key(ec.SECP256R1())
        self.key_id = key_id

    def sign(self, msg: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        return self.private_key.sign(msg, ec.ECDSA(hashes.SHA256()))

    def verifier(self) -> "Verifier":
        public = self.private_key.public_key()
        return Verifier(public, key_id=self.key_id, der=_der(public))


@dataclass(frozen=True)
class Verifier:
    """The public half: checks an entry's signature locally (no AWS call)."""

    public_key: Any  # cryptography's EllipticCurvePublicKey (P-256)
    key_id: str = ""
    der: bytes = b""  # SubjectPublicKeyInfo, what KMS GetPublicKey returns and the fingerprint is taken over

    @property
    def fingerprint(self) -> str | None:
        """`SHA256:<hex>` of the DER public key: what an auditor compares with the key file they were given."""
        return f"SHA256:{hashlib.sha256(self.der).hexdigest()}" if self.der else None

    @classmethod
    def from_der(cls, der: bytes, key_id: str = "") -> "Verifier":
        """What KMS `GetPublicKey` returns; ValueError if it is not an EC P-256 public key."""
        from cryptography.hazmat.primitives import serialization
        return cls(_ec_key(serialization.load_der_public_key(der)), key_id, der)

    @classmethod
    def from_pem(cls, pem: bytes, key_id: str = "") -> "Verifier":
        """ValueError if `pem` is not an EC P-256 public key."""
        from cryptography.hazmat.primitives import serialization
        key = _ec_key(serialization.load_pem_public_key(pem))
        return cls(key, key_id, _der(key))

    def pem(self) -> str:
        from cryptography.hazmat.primitives import serialization
        return self.public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def problem(self, entry: Mapping[str, Any]) -> str | None:
        """Why an entry's signature does not hold (None when it does)."""
        sig, cosigned = entry.get(schema.ENTRY_SIGNATURE), entry.get(schema.ENTRY_COSIGNED)
        key_id = entry.get(schema.ENTRY_SIGNING_KEY)
        if not sig or not isinstance(sig, str):
            return "unsigned: the entry carries no signature"
        if not key_id or not isinstance(key_id, str):
            return "unsigned: the entry names no signing key"
        if not isinstance(cosigned, list) or not all(isinstance(h, str) for h in cosigned):
            return "unsigned: the entry does not list the hashes its signature covers"
        if entry.get(schema.ENTRY_HASH) not in cosigned:
            return "the signature does not cover this entry's hash (signature taken from another entry)"
        try:
            raw = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError):
            return "the signature is not base64"
        if not self.valid(raw, message(cosigned, key_id)):
            return ("the signature does not verify with the governance public key over the entry's hashes and key id "
                    "(forged, signed with another key, or its sigKey changed)")
        return None

    def valid(self, sig: bytes, msg: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        try:
            self.public_key.verify(sig, msg, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True


def _der(public_key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _ec_key(key: Any) -> Any:
    from cryptography.hazmat.primitives.asymmetric import ec
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("the signing public key is not an EC P-256 key")
    return key


def sign_entries(entries: Sequence[dict[str, Any]], signer: Signer) -> None:
    """Sign every entry of one transaction with one signature over all their hashes (in place)."""
    if not entries:
        return
    cosigned = sorted(str(e[schema.ENTRY_HASH]) for e in entries)
    sig = signer.sign(message(cosigned, signer.key_id))
    for entry in entries:
        entry[schema.ENTRY_SIGNATURE] = base64.b64encode(sig).decode("ascii")
        entry[schema.ENTRY_SIGNING_KEY] = signer.key_id
        entry[schema.ENTRY_COSIGNED] = cosigned


def is_entry(op: Op) -> bool:
    return op.kind == "Put" and op.key[1].startswith(schema.AUDIT_PREFIX)


class SigningStore(Store):
    """The table, where every transaction that appends audit entries signs them first (one `kms:Sign`)."""

    def __init__(self, client: Any, table: str, signer: Signer | None):
        super().__init__(client, table)
        self.signer = signer
        # What verification holds trails to (`trails.verify_online`): the public key, the checkpoint reader.
        self.verifier: Callable[[], Verifier] | None = None
        self.checkpoints: Any = None

    def transact(self, ops: Sequence[Op]) -> None:
        if self.signer is not None:
            sign_entries([op.item for op in ops if is_entry(op) and op.item is not None], self.signer)
        super().transact(ops)
