"""The one Pulumi program of every stack: read and validate the config, compose for the account role."""
from __future__ import annotations

import json
from typing import Any, Mapping

import pulumi
from pulumi.runtime import config as runtime_config

from mlgov.config import NAMESPACE, AccountRole, ConfigError, StackConfig, parse


def _decode(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def namespace_config(values: Mapping[str, Any], namespace: str = NAMESPACE) -> dict[str, Any]:
    """The keys of one config namespace without their prefix, object values decoded from JSON."""
    prefix = f"{namespace}:"
    return {k[len(prefix):]: _decode(v) for k, v in values.items() if k.startswith(prefix)}


def engine_config() -> dict[str, Any]:
    """Every config key the engine passed to this program (process environment and runtime store)."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def load_config() -> StackConfig:
    return parse(namespace_config(engine_config()))


def region() -> str:
    value = pulumi.Config("aws").get("region")
    if not value:
        raise ConfigError("aws:region: required key is missing; set it with `pulumi config set aws:region eu-west-1`")
    return value


def build(config: StackConfig) -> dict[str, Any]:
    """Declare the stack's resources; returns the stack outputs."""
    if config.account_role is AccountRole.shared:
        from components.central_registry import CentralRegistry, CentralRegistryArgs

        registry = CentralRegistry("mlgov", CentralRegistryArgs.from_config(config, region()))
        return registry.exports()
    return {
        "accountRole": config.account_role.value,
        "hubStack": config.hub_stack,
        "deployments": [d.model_dump(by_alias=True, exclude_none=True) for d in config.deployments],
    }


def main() -> dict[str, Any]:
    """Entry point for `__main__.py` and the offline engine: validate first, then declare."""
    outputs = build(load_config())
    for key, value in outputs.items():
        pulumi.export(key, value)
    return outputs
