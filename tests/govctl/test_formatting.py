"""What `govctl show` prints of a version."""
from __future__ import annotations

from govctl.formatting import version_line

VIEW = {"useCaseId": "credit-risk", "useCaseStage": "QA", "currentStage": "test", "registryStatus": "Approved", "mlflowRunId": None}


def test_a_version_line_names_a_failed_registry_write_until_it_is_repaired():
    assert version_line("credit-risk-xgb", 1, {**VIEW, "registryMirror": None}) == (
        "credit-risk-xgb v1  use case credit-risk (QA)  at stage test  registry Approved")
    failed = version_line("credit-risk-xgb", 1, {**VIEW, "registryMirror": {"state": "failed", "error": "ThrottlingException",
                                                                             "at": "2024-09-02T10:00:00.000Z"}})
    assert "registry write failed at 2024-09-02T10:00:00.000Z: ThrottlingException" in failed
