"""Signatures on audit entries: one KMS `Sign` per transaction, verified anywhere with the public key alone.

A transaction may append several entries (a decision that also advances its use case). They are signed
together: the signed message is the digest of their sorted hashes, and each entry stores the signature,
the key and the co-signed hashes, so any one entry can be verified on its own. The table holds no secret:
whoever can write it can recompute hashes, but cannot produce a signature the public key accepts.

KMS is asked to sign the 32-byte digest as a RAW message (KMS hashes it again with SHA-256): moto ignores
`MessageType=DIGEST`, and RAW behaves the same on both
(https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html).

Signing needs only boto3; verification uses `cryptography` where it is installed (govctl, tests) and the
plain-Python `p256` where it is not (the Lambda package ships sources only).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Protocol, Sequence

from . import p256, schema
from .store import Op, Store

ALGORITHM = "ECDSA_SHA_256"
KEY_SPEC = "ECC_NIST_P256"
DOMAIN = b"mlgov-audit-v1\n"


def message(hashes_: Iterable[str]) -> bytes:
    """What is signed for a set of entry hashes: a fixed-size digest of their sorted list."""
    return hashlib.sha256(DOMAIN + "\n".join(sorted(hashes_)).encode("ascii")).digest()


class Signer(Protocol):
    key_id: str

    def sign(self, msg: bytes) -> tuple[bytes, str]:
        """A signature of `msg` and the id of the key that made it."""
        ...


class KmsSigner:
    """Signs with an asymmetric KMS key (`kms:Sign`); the public key is fetched once (`kms:GetPublicKey`)."""

    def __init__(self, kms: Any, key_id: str):
        self.kms, self.key_id = kms, key_id
        self._public: "Verifier | None" = None

    def sign(self, msg: bytes) -> tuple[bytes, str]:
        response = self.kms.sign(KeyId=self.key_id, Message=msg, MessageType="RAW", SigningAlgorithm=ALGORITHM)
        return response["Signature"], response["KeyId"]

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

    def sign(self, msg: bytes) -> tuple[bytes, str]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        return self.private_key.sign(msg, ec.ECDSA(hashes.SHA256())), self.key_id

    def verifier(self) -> "Verifier":
        public = self.private_key.public_key()
        return Verifier(public, key_id=self.key_id, der=_der(public))


@dataclass(frozen=True)
class Verifier:
    """The public half: checks an entry's signature locally (no AWS call)."""

    public_key: Any  # cryptography's EllipticCurvePublicKey, or the (x, y) point for `p256`
    key_id: str = ""
    der: bytes = b""  # SubjectPublicKeyInfo, what KMS GetPublicKey returns and the fingerprint is taken over

    @property
    def fingerprint(self) -> str | None:
        """`SHA256:<hex>` of the DER public key: what an auditor compares with the key file they were given."""
        return f"SHA256:{hashlib.sha256(self.der).hexdigest()}" if self.der else None

    @classmethod
    def from_der(cls, der: bytes, key_id: str = "") -> "Verifier":
        """With `cryptography` when it is installed; otherwise the plain-Python check (`p256`), e.g. in a Lambda."""
        try:
            from cryptography.hazmat.primitives import serialization
        except ImportError:
            return cls(p256.public_point(der), key_id, der)
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
        if not sig or not isinstance(sig, str):
            return "unsigned: the entry carries no signature"
        if not isinstance(cosigned, list) or not all(isinstance(h, str) for h in cosigned):
            return "unsigned: the entry does not list the hashes its signature covers"
        if entry.get(schema.ENTRY_HASH) not in cosigned:
            return "the signature does not cover this entry's hash (signature taken from another entry)"
        try:
            raw = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError):
            return "the signature is not base64"
        if not self.valid(raw, message(cosigned)):
            return "the signature does not verify with the governance public key (forged, or signed with another key)"
        return None

    def valid(self, sig: bytes, msg: bytes) -> bool:
        if isinstance(self.public_key, tuple):
            return p256.verify(self.public_key, msg, sig)
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
    sig, key = signer.sign(message(cosigned))
    for entry in entries:
        entry[schema.ENTRY_SIGNATURE] = base64.b64encode(sig).decode("ascii")
        entry[schema.ENTRY_SIGNING_KEY] = key
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
