"""The auditor's offline check: export a trail, fetch the public key, verify with no AWS access."""
from __future__ import annotations

import json

import pytest

from governance import signing

from .conftest import one_line_error
from .test_cli import FRAUD, XGB, new_fraud_version


@pytest.fixture
def exported(govctl, tmp_path):
    def export(*args: str) -> tuple:
        key = tmp_path / "key.pem"
        pem = govctl("audit", "public-key")
        assert pem.exit_code == 0 and pem.stdout.startswith("-----BEGIN PUBLIC KEY-----"), pem.output
        key.write_text(pem.stdout)
        result = govctl("audit", "export", *args)
        assert result.exit_code == 0, result.output
        trail = tmp_path / "trail.json"
        trail.write_text(result.stdout)
        return trail, key
    return export


def verify(govctl, trail, key, **kwargs):
    return govctl("audit", "verify", "--public-key", str(key), str(trail), persona=None,
                  env={"GOVCTL_ENDPOINT": "http://127.0.0.1:9", "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, **kwargs)


def test_an_exported_version_trail_verifies_offline(govctl, exported):
    trail, key = exported("credit-risk", "--group", XGB, "--version", "1")
    result = verify(govctl, trail, key)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"ok: MODEL#{XGB}#V#000001: ") and "signed entries" in result.stdout


def test_a_use_case_trail_verifies_offline(govctl, exported):
    trail, key = exported("credit-risk")
    assert verify(govctl, trail, key).exit_code == 0


@pytest.mark.parametrize("tamper", ["edit", "drop-last", "state", "resign"])
def test_a_tampered_export_fails_with_one_line_per_problem(govctl, exported, tamper):
    trail, key = exported("credit-risk", "--group", XGB, "--version", "1")
    doc = json.loads(trail.read_text())
    entries = sorted(doc["entries"], key=lambda e: e["seq"])
    if tamper == "edit":
        entries[1]["reason"] = "rewritten"
    elif tamper == "drop-last":
        entries.pop()
    elif tamper == "state":
        doc["recordState"]["production"]["status"] = "pending"
    else:
        signing.sign_entries([entries[2]], signing.LocalSigner())
    doc["entries"] = entries
    trail.write_text(json.dumps(doc))
    result = verify(govctl, trail, key)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines and all(line.startswith(f"tampered: MODEL#{XGB}#V#000001 ") for line in lines)


def test_a_key_that_did_not_sign_refuses_every_entry(govctl, exported, tmp_path):
    trail, _ = exported("credit-risk", "--group", XGB, "--version", "1")
    other = tmp_path / "other.pem"
    other.write_text(signing.LocalSigner().verifier().pem())
    result = verify(govctl, trail, other)
    entries = len(json.loads(trail.read_text())["entries"])
    assert result.exit_code == 1 and sum("another key" in line for line in result.stdout.splitlines()) == entries


@pytest.mark.parametrize("args, says", [
    (("audit", "verify", "trail.json"), "--public-key"),
    (("audit", "export"), "USE_CASE"),
    (("audit", XGB, "one"), "whole number"),
])
def test_misuse_is_one_line(govctl, args, says):
    assert says in one_line_error(govctl(*args))


def test_a_file_that_is_not_a_trail_or_a_key_is_one_line(govctl, tmp_path, exported):
    trail, key = exported("credit-risk", "--group", XGB, "--version", "1")
    junk = tmp_path / "junk.json"
    junk.write_text("[1, 2]")
    assert "not an exported trail" in one_line_error(verify(govctl, junk, key))
    assert "not an EC P-256 public key" in one_line_error(verify(govctl, trail, junk))


def test_online_verify_reports_an_unsigned_state_change(govctl, sandbox):
    version = new_fraud_version(sandbox, approve_dev=True)
    record = next(i for i in sandbox.items() if i["pk"] == f"MODEL#{FRAUD}" and i["sk"] == f"V#{version:06d}#development")
    record["modelStatus"] = "pending"
    sandbox.put_item(record)
    line = one_line_error(govctl("audit", FRAUD, str(version), "--verify"))
    assert "changed without a signed entry" in line
