"""Policy tests run the rules in-process (never `policies/__main__.py`, which starts a server and blocks)."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_cloud(monkeypatch):
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1", "AWS_REGION": "eu-west-1", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }.items():
        monkeypatch.setenv(key, value)
