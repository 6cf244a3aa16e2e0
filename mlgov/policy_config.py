"""The policy pack's config for a stack, from its `Pulumi.<stack>.yaml`: `python -m mlgov.policy_config STACK`.

The pack (`policies/`) reads nothing but Pulumi's policy config, so the organization's accounts and the hub's
high-risk use cases reach it through the JSON this prints: pass it to `pulumi preview --policy-pack policies
--policy-pack-config FILE`, or to `pulumi policy enable ORG/mlgov-policies VERSION --config FILE` for a policy
group. The offline check (`mlgov.check`) feeds each rule the same per-rule config (`for_policy`).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from governance import obligations
from mlgov import offline
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
    out["lambdaNetwork"] = bool(_decode(config.get("mlgov:network")))
    hub = hub_config if hub_config is not None else config
    use_cases = _decode(hub.get("mlgov:useCases")) or []
    capture_tiers = obligations.tiers_with(obligations.Obligation.data_capture)
    out["highRiskUseCases"] = sorted(
        str(u.get("id")) for u in use_cases if isinstance(u, Mapping) and str(u.get("riskTier", "")).lower() in capture_tiers
    )
    return out


def stack_settings(stack: str, config: Optional[Mapping[str, Any]] = None, root: Path = offline.ROOT) -> dict[str, Any]:
    """The rules' settings for a stack: its organization; the hub's use cases (the stack's own, or its hubStack's file)."""
    config = offline.read_stack_config(stack, root) if config is None else config
    hub_config = None
    hub_stack = config.get(f"{offline.PROJECT}:hubStack")
    if isinstance(hub_stack, str) and hub_stack:
        hub_name = hub_stack.rsplit("/", 1)[-1]
        if offline.stack_file(hub_name, root).exists():
            hub_config = offline.read_stack_config(hub_name, root)
    return from_stack_config(config, hub_config)


def for_policy(settings: Mapping[str, Any], policy: Any) -> dict[str, Any]:
    """The part of `settings` a policy declares in its config schema (the CLI refuses unknown keys)."""
    schema = getattr(policy, "config_schema", None)
    if schema is None:
        return {}
    return {k: settings[k] for k in schema.properties if k in settings}


def pack_config(settings: Mapping[str, Any], policies: Optional[Iterable[Any]] = None) -> dict[str, dict[str, Any]]:
    """The `--policy-pack-config` document: each configurable rule's keys, by rule name."""
    if policies is None:
        from policies.rules import ALL_POLICIES as policies
    return {p.name: config for p in policies if (config := for_policy(settings, p))}


def main(argv: Optional[list[str]] = None, root: Path = offline.ROOT) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m mlgov.policy_config STACK  (prints the policy pack config JSON for Pulumi.STACK.yaml)",
              file=sys.stderr)
        return 2
    try:
        settings = stack_settings(args[0], root=root)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(pack_config(settings), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
