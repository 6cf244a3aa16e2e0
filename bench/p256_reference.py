"""ECDSA P-256 / SHA-256 signature verification in plain Python: what the Lambdas verified with before they used
the Powertools layer's `cryptography`. Kept only so `verify_bench.py` can measure the difference; no runtime
code imports it.

Only verification (public data, no secret to leak through timing). Curve constants from SEC 2 / FIPS 186-4
(secp256r1); the public key is the uncompressed point at the end of a DER SubjectPublicKeyInfo, which is
what KMS `GetPublicKey` returns for ECC_NIST_P256 keys.
"""
from __future__ import annotations

import hashlib

P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
A = P - 3
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
     0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5)

Point = "tuple[int, int] | None"


def public_point(der: bytes) -> tuple[int, int]:
    """The point of a DER SubjectPublicKeyInfo of a P-256 key; ValueError if it is not one on the curve."""
    if len(der) < 65 or der[-65] != 4:
        raise ValueError("not an uncompressed EC point")
    x, y = int.from_bytes(der[-64:-32], "big"), int.from_bytes(der[-32:], "big")
    if not (0 <= x < P and 0 <= y < P) or (y * y - (x * x * x + A * x + B)) % P:
        raise ValueError("the point is not on P-256")
    return x, y


def _der_signature(sig: bytes) -> tuple[int, int]:
    """(r, s) of a DER ECDSA-Sig-Value; ValueError if malformed."""
    def integer(data: bytes, at: int) -> tuple[int, int]:
        if at + 2 > len(data) or data[at] != 0x02 or data[at + 1] > 33 or at + 2 + data[at + 1] > len(data):
            raise ValueError("malformed signature")
        end = at + 2 + data[at + 1]
        return int.from_bytes(data[at + 2:end], "big"), end
    if len(sig) < 8 or sig[0] != 0x30 or sig[1] != len(sig) - 2:
        raise ValueError("malformed signature")
    r, at = integer(sig, 2)
    s, at = integer(sig, at)
    if at != len(sig):
        raise ValueError("malformed signature")
    return r, s


def _add(p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2:
        if (y1 + y2) % P == 0:
            return None
        slope = (3 * x1 * x1 + A) * pow(2 * y1, -1, P) % P
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, P) % P
    x3 = (slope * slope - x1 - x2) % P
    return x3, (slope * (x1 - x3) - y1) % P


def _combined(u1: int, u2: int, q: tuple[int, int]):
    """u1·G + u2·Q in one pass (Shamir's trick)."""
    both = _add(G, q)
    out = None
    for bit in range(max(u1.bit_length(), u2.bit_length()) - 1, -1, -1):
        out = _add(out, out)
        pick = ((u1 >> bit) & 1, (u2 >> bit) & 1)
        if pick == (1, 1):
            out = _add(out, both)
        elif pick == (1, 0):
            out = _add(out, G)
        elif pick == (0, 1):
            out = _add(out, q)
    return out


def verify(q: tuple[int, int], message: bytes, sig: bytes) -> bool:
    """Whether `sig` (DER) is an ECDSA_SHA_256 signature of `message` by the key whose public point is `q`."""
    try:
        r, s = _der_signature(sig)
    except ValueError:
        return False
    if not (1 <= r < N and 1 <= s < N):
        return False
    e = int.from_bytes(hashlib.sha256(message).digest(), "big")
    w = pow(s, -1, N)
    point = _combined(e * w % N, r * w % N, q)
    return point is not None and point[0] % N == r
