"""Audit signature verification per signature: `cryptography` (what the Lambdas use, from the Powertools V3
layer) against the plain-Python P-256 verifier they used before (`p256_reference`), in one run.

    .venv/bin/python bench/verify_bench.py [--signatures 200]

Both verifiers first check the same valid, tampered and forged signatures and must agree; then each verifies
the same valid signatures, and the bench prints microseconds per signature for each and their ratio.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import p256_reference  # noqa: E402

from governance import signing  # noqa: E402


def samples(n: int) -> tuple[signing.Verifier, list[tuple[bytes, bytes]]]:
    signer = signing.LocalSigner(key_id="arn:aws:kms:us-east-1:123456789012:key/bench")
    out = []
    for i in range(n):
        msg = signing.message([f"{i:064x}"], signer.key_id)
        out.append((signer.sign(msg), msg))
    return signer.verifier(), out


def agree(verifier: signing.Verifier, point: tuple[int, int], pairs: list[tuple[bytes, bytes]]) -> int:
    """Valid, wrong-message, forged-by-another-key and malformed signatures: both verifiers say the same."""
    attacker = signing.LocalSigner()
    cases = []
    for sig, msg in pairs[:20]:
        cases += [(sig, msg, True), (sig, msg + b"x", False), (attacker.sign(msg), msg, False), (sig[:-1], msg, False)]
    for sig, msg, expected in cases:
        assert verifier.valid(sig, msg) is expected and p256_reference.verify(point, msg, sig) is expected
    return len(cases)


def per_signature(check, pairs: list[tuple[bytes, bytes]]) -> float:
    start = time.perf_counter()
    for sig, msg in pairs:
        assert check(sig, msg)
    return (time.perf_counter() - start) / len(pairs) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signatures", type=int, default=200)
    args = parser.parse_args()
    verifier, pairs = samples(args.signatures)
    point = p256_reference.public_point(verifier.der)
    checked = agree(verifier, point, pairs)
    fast = per_signature(verifier.valid, pairs)
    plain = per_signature(lambda sig, msg: p256_reference.verify(point, msg, sig), pairs)
    print(f"signatures verified per way: {len(pairs)}; cases on which both agree: {checked}")
    print(f"cryptography (Lambda, govctl): {fast:8.1f} us/signature")
    print(f"plain-Python p256 (before):    {plain:8.1f} us/signature")
    print(f"ratio plain / cryptography:    {plain / fast:8.1f}x")


if __name__ == "__main__":
    main()
