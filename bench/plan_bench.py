"""Offline plan time of the shared stack: sample config, and 200 use cases × 2 models, against bare programs.

A bare program declares the resources mlgov's plan declared, with none of mlgov's code: no config validation,
no components' logic, no policy building, no provider classes (each resource is a plain `CustomResource` of the
same type and name, with the inputs the plan sent, already resolved). Two of them:

- `bare` (the baseline the figures are judged on): the same stack. Each component is an empty
  `ComponentResource` of the same type and name, so every resource keeps its parent and URN, and each resource
  waits for the ones it waited for in the plan (`depends_on`), with the same `protect`/`retain_on_delete`:
  `pulumi up` of it would write the same state, aliases and component outputs aside.
- `flat`: the custom resources alone, all at the root, waiting for nothing (the first baseline of this bench).
  It leaves out the engine's work for the component tree that gives the resources their URNs, so its ratio
  counts that work as mlgov's.

Ratio = mlgov program time / bare program time, in one run. Runs are interleaved (mlgov, bare, flat, mlgov, …)
and timed in CPU time of this process (its threads included: the mock engine registers resources on a worker
thread), so that other processes on a shared machine weigh less; medians. Garbage is collected, untimed, before
each timed run, so that no run pays for what another left. "fixed ms" is mlgov minus bare on the sample: what
mlgov adds once per stack, before any use case.

    python bench/plan_bench.py [--use-cases 200] [--repeat 5]
"""
from __future__ import annotations

import argparse
import copy
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi  # noqa: E402

from mlgov import offline  # noqa: E402

ENGINE_CONFIG = {"aws:region": "eu-west-1"}


def generated_config(use_cases: int, models: int = 2) -> dict:
    config = copy.deepcopy(offline.read_stack_config("shared"))
    tiers = ("high", "limited", "minimal")
    config["mlgov:useCases"] = [
        {
            "id": f"use-case-{i:03d}",
            "name": f"Use case {i}",
            "riskTier": tiers[i % 3],
            "owner": f"team-{i}@example.com",
            "lineOfBusiness": f"lob-{i % 7}",
            "project": f"project-{i}",
            "models": [{"group": f"use-case-{i:03d}-model-{m}"} for m in range(models)],
            "approvalThresholds": [{"metric": "validation-auc", "min": 0.75}],
        }
        for i in range(use_cases)
    ]
    return config


def bare_program(plan: offline.Plan) -> Callable[[], dict]:
    """The same stack as `plan`: component shells, resources under the same parents, waiting for the same resources."""
    declared = [(r.urn, r.custom, r.type, r.name, r.parent, dict(r.inputs), r.dependencies, r.protect, r.retain_on_delete)
                for r in plan.resources]

    def declare() -> dict:
        made: dict[str, pulumi.Resource] = {}
        for urn, custom, type_, name, parent, inputs, dependencies, protect, retain in declared:
            opts = pulumi.ResourceOptions(parent=made.get(parent or ""), depends_on=[made[d] for d in dependencies if d in made],
                                          protect=protect or None, retain_on_delete=retain or None)
            made[urn] = (pulumi.CustomResource(type_, name, inputs, opts) if custom
                         else pulumi.ComponentResource(type_, name, None, opts))
        return {}

    return declare


def flat_program(plan: offline.Plan) -> Callable[[], dict]:
    """The custom resources of `plan` alone, at the root, waiting for nothing."""
    resources = [(r.type, r.name, dict(r.inputs)) for r in plan.custom_resources]

    def declare() -> dict:
        for type_, name, inputs in resources:
            pulumi.CustomResource(type_, name, inputs)
        return {}

    return declare


def cpu_seconds(fn: Callable[[], object]) -> float:
    started = time.process_time()
    fn()
    return time.process_time() - started


def measure(config: dict, repeat: int) -> dict[str, float]:
    """Median CPU seconds of the mlgov plan of `config` and of its bare and flat programs, interleaved."""
    plan = offline.plan_stack("shared", config)
    runs: dict[str, Callable[[], object]] = {
        "mlgov": lambda: offline.plan_stack("shared", config),
        "bare": lambda: offline.run(bare_program(plan), ENGINE_CONFIG, stack="shared"),
        "flat": lambda: offline.run(flat_program(plan), ENGINE_CONFIG, stack="shared"),
    }
    assert len(offline.run(bare_program(plan), ENGINE_CONFIG, stack="shared").resources) == len(plan.resources)
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(repeat):
        for label, run in runs.items():
            gc.collect()
            times[label].append(cpu_seconds(run))
    medians = {k: statistics.median(v) for k, v in times.items()}
    return {**medians, "resources": len(plan.custom_resources), "components": len(plan.resources) - len(plan.custom_resources)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--use-cases", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    cases = {
        "sample (2 use cases, 3 models)": offline.read_stack_config("shared"),
        f"generated ({args.use_cases} use cases x 2 models)": generated_config(args.use_cases),
    }
    offline.plan_stack("shared")  # warm imports
    rows = {label: measure(config, args.repeat) for label, config in cases.items()}

    print(f"{'config':40} {'resources':>9} {'components':>10} {'mlgov ms':>9} {'bare ms':>8} {'flat ms':>8} "
          f"{'ratio':>6} {'flat ratio':>10}")
    for label, m in rows.items():
        print(f"{label:40} {m['resources']:9d} {m['components']:10d} {m['mlgov'] * 1000:9.0f} {m['bare'] * 1000:8.0f} "
              f"{m['flat'] * 1000:8.0f} {m['mlgov'] / m['bare']:6.2f} {m['mlgov'] / m['flat']:10.2f}")
    sample = next(iter(rows.values()))
    print(f"fixed ms (sample, mlgov - bare): {(sample['mlgov'] - sample['bare']) * 1000:.0f}")
    print(f"(CPU time, median of {args.repeat} interleaved runs each; ratio = mlgov / bare, flat ratio = mlgov / flat)")


if __name__ == "__main__":
    main()
