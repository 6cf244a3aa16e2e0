"""Offline plan time and resource counts of the four sample stacks (member stacks with and without the hub's plan cached).

`python bench/member_plan_bench.py [RUNS]` — prints one line per stack. A member stack's StackReference is
answered by the shared stack's own offline plan: "cold" re-plans the hub each run, "cached" reuses it.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlgov import offline  # noqa: E402


def timed(stack: str, cold: bool) -> tuple[float, offline.Plan]:
    if cold:
        offline._HUB_OUTPUTS.clear()
    started = time.perf_counter()
    plan = offline.plan_stack(stack)
    return time.perf_counter() - started, plan


def main(runs: int = 5) -> None:
    offline.plan_stack("test")  # imports and first-run costs out of the way
    print(f"{'stack':7} {'resources':>9} {'components':>10} {'cold ms (median/min)':>21} {'cached ms (median/min)':>23}")
    for stack in ("shared", "dev", "test", "prod"):
        cold = [timed(stack, True) for _ in range(runs)]
        cached = [timed(stack, False) for _ in range(runs)]
        plan = cold[0][1]
        n_custom = len(plan.custom_resources)
        n_components = len(plan.resources) - n_custom
        fmt = lambda xs: f"{statistics.median(x for x, _ in xs) * 1000:.0f}/{min(x for x, _ in xs) * 1000:.0f}"  # noqa: E731
        print(f"{stack:7} {n_custom:>9} {n_components:>10} {fmt(cold):>21} {fmt(cached):>23}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
