"""The mlgov CrossGuard policy pack: `pulumi preview --policy-pack <this folder> --policy-pack-config <file>`.

Only this file builds the `PolicyPack` (constructing it starts the analyzer's gRPC server and blocks), so
tests and the offline check import the rules (`rules.ALL_POLICIES`) instead, never this file.

The folder is self-contained: it imports nothing outside itself but its requirements.txt, under whatever
name it is copied. The Pulumi policy host runs this file as a script (`runpy.run_path` on the folder), where
relative imports do not work, so it then loads the folder as a package under a fixed name first.

Config comes only from Pulumi's policy config (`--policy-pack-config`, or a policy group's config in
Pulumi Cloud); `python -m mlgov.policy_config STACK` writes it from a stack's config. Without it every rule
uses its schema's defaults, and the rules that need the organization's accounts do not apply.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys

from pulumi_policy import EnforcementLevel, PolicyPack

PACKAGE = "mlgov_policy_pack"


def _rules():
    if __package__:
        return importlib.import_module(".rules", __package__)
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(PACKAGE, os.path.join(here, "__init__.py"),
                                                  submodule_search_locations=[here])
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    return importlib.import_module(f"{PACKAGE}.rules")


PolicyPack(
    name="mlgov-policies",
    policies=_rules().ALL_POLICIES,
    enforcement_level=EnforcementLevel.ADVISORY,
    description="mlgov: governance, sharing, data, compute and edge rules for every stack of the program",
)
