"""Policy config from a stack's `mlgov:` config: the organization's accounts and the hub's high-risk use cases.

The offline check derives it from the stack being checked (and the hub's stack file for the use cases);
`policies/__main__.py` derives the pack's initial config from `Pulumi.shared.yaml` when the pack runs
inside this repository. Elsewhere the CLI's `--policy-pack-config` file or the pack's defaults apply.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Optional

from policies.common import DEFAULTS


def _decode(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _ids(value: Any) -> list[str]:
    value = _decode(value)
    if value is None:
        return []
    if isinstance(value, (str, int)):
        return [str(value)]
    return [str(v) for v in value]


def from_stack_config(config: Mapping[str, Any], hub_config: Optional[Mapping[str, Any]] = None) -> dict[str, Any]:
    """Settings for every rule: defaults, then what the stack's (and the hub's) config says."""
    out = {k: (list(v) if isinstance(v, list) else v) for k, v in DEFAULTS.items()}
    organization = _decode(config.get("mlgov:organization")) or {}
    if isinstance(organization, Mapping):
        out["organizationId"] = str(organization.get("id") or "")
        accounts = organization.get("accounts") or {}
        if isinstance(accounts, Mapping):
            shared = _ids(accounts.get("shared"))
            out["sharedAccount"] = shared[0] if shared else ""
            for role in ("dev", "test", "prod"):
                out[f"{role}Accounts"] = _ids(accounts.get(role))
    hub = hub_config if hub_config is not None else config
    use_cases = _decode(hub.get("mlgov:useCases")) or []
    out["highRiskUseCases"] = sorted(
        str(u.get("id")) for u in use_cases if isinstance(u, Mapping) and str(u.get("riskTier", "")).lower() == "high"
    )
    return out


def read_yaml_config(path: Path) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(path.read_text()) or {}
    return dict(data.get("config") or {})


def for_policy(settings: Mapping[str, Any], policy: Any) -> dict[str, Any]:
    """The part of `settings` a policy declares in its config schema (the CLI refuses unknown keys)."""
    schema = getattr(policy, "config_schema", None)
    if schema is None:
        return {}
    return {k: settings[k] for k in schema.properties if k in settings}
