"""Offline policy check time: the four sample stacks, split into planning (mock engine) and policy evaluation.

The plan time is the Pulumi SDK's mock engine running the program; the policy time is the 35 rules on
the declared resources. Medians of `--repeat` runs in one process (the hub's outputs, which member
stacks read, are planned once and cached, as in `python -m mlgov.check`).

    python bench/check_bench.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlgov import check, offline  # noqa: E402
from policies.rules import ALL_POLICIES  # noqa: E402

STACKS = ("shared", "dev", "test", "prod")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    totals, rows = [], {s: ([], [], 0, 0) for s in STACKS}
    for _ in range(args.repeat):
        started = time.perf_counter()
        for stack in STACKS:
            config = offline.read_stack_config(stack)
            t0 = time.perf_counter()
            plan = offline.plan_stack(stack, config)
            t1 = time.perf_counter()
            violations = check.check_plan(plan, check.policy_settings(stack, config), account_id=offline.account_for(config),
                                          region=str(config.get("aws:region", "eu-west-1")))
            t2 = time.perf_counter()
            plans, evals, _, _ = rows[stack]
            plans.append(t1 - t0)
            evals.append(t2 - t1)
            rows[stack] = (plans, evals, len(plan.custom_resources), len(violations))
        totals.append(time.perf_counter() - started)
    print(f"{len(ALL_POLICIES)} rules, median of {args.repeat} runs")
    print(f"{'stack':8} {'resources':>9} {'violations':>10} {'plan ms':>8} {'policies ms':>11}")
    for stack, (plans, evals, n, v) in rows.items():
        print(f"{stack:8} {n:9d} {v:10d} {statistics.median(plans) * 1000:8.0f} {statistics.median(evals) * 1000:11.0f}")
    print(f"all four stacks: {statistics.median(totals):.2f} s (min {min(totals):.2f} s)")


if __name__ == "__main__":
    main()
