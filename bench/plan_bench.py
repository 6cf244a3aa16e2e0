"""Offline plan time of the shared stack: sample config, and 200 use cases × 2 models.

Beside each, a bare program declares the same resources (same types, same inputs) as plain
`CustomResource`s with no components, no config validation and no policy building: the ratio is
what mlgov's own code adds on top of the Pulumi engine. Ratios within one run, not absolute times,
are what to compare across machines.

    python bench/plan_bench.py [--use-cases 200] [--repeat 3]
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi  # noqa: E402

from mlgov import offline  # noqa: E402


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


def bare_program(plan: offline.Plan):
    resources = [(r.type, r.name, dict(r.inputs)) for r in plan.custom_resources]

    def declare():
        for type_, name, inputs in resources:
            pulumi.CustomResource(type_, name, inputs)
        return {}

    return declare


def timed(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--use-cases", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    cases = {
        "sample (2 use cases, 3 models)": offline.read_stack_config("shared"),
        f"generated ({args.use_cases} use cases x 2 models)": generated_config(args.use_cases),
    }
    offline.plan_stack("shared")  # warm imports
    rows = []
    for label, config in cases.items():
        mlgov_s, plan = timed(lambda: offline.plan_stack("shared", config), args.repeat)
        count = len(plan.custom_resources)
        bare_s, bare = timed(lambda: offline.run(bare_program(plan), {"aws:region": "eu-west-1"}, stack="bare"), args.repeat)
        assert len(bare.custom_resources) == count
        rows.append((label, count, len(plan.resources) - count, mlgov_s, bare_s))

    print(f"{'config':40} {'resources':>9} {'components':>10} {'mlgov ms':>9} {'ms/res':>7} {'bare ms':>8} {'ms/res':>7} {'ratio':>6}")
    for label, count, components, mlgov_s, bare_s in rows:
        print(f"{label:40} {count:9d} {components:10d} {mlgov_s * 1000:9.0f} {mlgov_s * 1000 / count:7.2f} "
              f"{bare_s * 1000:8.0f} {bare_s * 1000 / count:7.2f} {mlgov_s / bare_s:6.2f}")
    print(f"(median of {args.repeat} runs each; ratio = mlgov program time / bare program time)")


if __name__ == "__main__":
    main()
