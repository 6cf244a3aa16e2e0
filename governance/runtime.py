"""What every handler needs from its environment: one client per service, created once per container.

Built lazily (first invocation) so tests can set the environment (`contract.GovernanceSettings`) before
use and `reset()` between cases; the approvers are re-parsed only when their text changes.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import boto3
from botocore.config import Config

from .checkpoints import CheckpointReader
from .contract import CheckpointSettings, GovernanceSettings, SettingsError
from .domain import Approvers
from .evidence import Evidence, Hub, StageAccounts, Validators
from .service import Governance
from .signing import KmsSigner, SigningStore
from .store import Store

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=3, read_timeout=10)


class ConfigurationError(RuntimeError):
    """The function's environment is wrong (an operator problem, not the caller's)."""


@lru_cache(maxsize=None)
def client(service: str) -> Any:
    return boto3.client(service, config=CLIENT_CONFIG)


def settings() -> GovernanceSettings:
    try:
        return GovernanceSettings.from_env()
    except SettingsError as exc:
        raise ConfigurationError(str(exc)) from None


@lru_cache(maxsize=4)
def _approvers(text: str) -> Approvers:
    try:
        return Approvers.from_mapping(json.loads(text))
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"{GovernanceSettings.APPROVERS} is invalid: {exc}") from None


def approvers() -> Approvers:
    return _approvers(settings().approvers_json)


@lru_cache(maxsize=4)
def _evidence(s: GovernanceSettings) -> Evidence:
    try:
        return Evidence(Hub(s.hub_account, s.hub_region, s.hub_partition), Validators.from_mapping(json.loads(s.validators_json)),
                        StageAccounts.from_mapping(json.loads(s.stage_accounts_json)), s.max_event_skew_seconds * 1000)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"{GovernanceSettings.VALIDATORS} or {GovernanceSettings.STAGE_ACCOUNTS} is invalid: {exc}") from None


def evidence() -> Evidence:
    """Who may give evidence and which registry is the hub's, re-parsed only when the environment changes."""
    return _evidence(settings())


@lru_cache(maxsize=None)
def _signer(key_id: str) -> KmsSigner:
    """One per container: its public key is fetched once (cold start) and kept."""
    return KmsSigner(client("kms"), key_id)


@lru_cache(maxsize=None)
def governance(with_registry: bool = False) -> Governance:
    config = settings()
    store = SigningStore(client("dynamodb"), config.table_name, _signer(config.signing_key_id))
    store.verifier = store.signer.verifier
    if config.checkpoint_bucket:
        store.checkpoints = CheckpointReader(client("s3"), config.checkpoint_bucket)
    return Governance(store, client("sagemaker") if with_registry else None, approvers,
                      registry_writers=config.writers(), evidence=evidence)


@lru_cache(maxsize=None)
def checkpoint_consumer() -> tuple[Store, KmsSigner, CheckpointReader]:
    """The stream consumer's table (read only), key (public half) and bucket."""
    try:
        config = CheckpointSettings.from_env()
    except SettingsError as exc:
        raise ConfigurationError(str(exc)) from None
    return (Store(client("dynamodb"), config.table_name), KmsSigner(client("kms"), config.signing_key_id),
            CheckpointReader(client("s3"), config.checkpoint_bucket))


def reset() -> None:
    """Forget clients and configuration (tests: a new moto account, new environment)."""
    client.cache_clear()
    governance.cache_clear()
    checkpoint_consumer.cache_clear()
    _signer.cache_clear()
    _approvers.cache_clear()
    _evidence.cache_clear()
