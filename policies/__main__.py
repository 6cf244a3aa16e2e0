"""The mlgov CrossGuard policy pack: `pulumi preview --policy-pack policies`.

Only this file builds the `PolicyPack` (constructing it starts the analyzer's gRPC server and blocks), so
tests and the offline check (`python -m mlgov.check`) import `policies.rules` instead, never this file.

Config: inside this repository the pack reads the organization's accounts and the high-risk use cases
from `Pulumi.shared.yaml` as its initial config; `--policy-pack-config <file>` overrides it per rule.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.config import for_policy, from_stack_config, read_yaml_config  # noqa: E402
from policies.rules import ALL_POLICIES  # noqa: E402


def initial_config() -> dict:
    hub = ROOT / "Pulumi.shared.yaml"
    if not hub.exists():
        return {}
    settings = from_stack_config(read_yaml_config(hub))
    return {p.name: config for p in ALL_POLICIES if (config := for_policy(settings, p))}


PolicyPack(
    name="mlgov-policies",
    policies=ALL_POLICIES,
    enforcement_level=EnforcementLevel.ADVISORY,
    initial_config=initial_config() or None,
    description="mlgov: governance, sharing, data, compute and edge rules for every stack of the program",
)
