"""The offline engine as a harness: what a plan leaves behind once it has returned."""
import gc
import weakref

import pulumi

from mlgov import offline


def test_a_plan_keeps_none_of_its_resources_once_it_returns() -> None:
    """Test suites and the plan bench run hundreds of plans in one process: each must be freed, not kept until the next."""
    declared: list[weakref.ref] = []

    def program() -> dict:
        parent = pulumi.ComponentResource("test:index:Parent", "parent")
        child = pulumi.CustomResource("aws:s3/bucket:Bucket", "child", {"bucket": "b"}, pulumi.ResourceOptions(parent=parent))
        declared[:] = [weakref.ref(r) for r in (parent, child)]
        pulumi.export("bucket", child.urn)
        return {"bucket": child.urn}

    offline.run(program, {"aws:region": "eu-west-1"}, stack="unit")  # the first run of a process also starts its event loop
    plan = offline.run(program, {"aws:region": "eu-west-1"}, stack="unit")
    gc.collect()

    assert [r.type for r in plan.resources] == ["test:index:Parent", "aws:s3/bucket:Bucket"]
    assert plan.outputs["bucket"].endswith("::child")
    assert [ref() for ref in declared] == [None, None]
