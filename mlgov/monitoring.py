"""`mlgov:monitoring` (shared stack): how long a deployed version may go without a report, and metric limits.

Pulumi writes each use case's resulting policy onto its `USECASE#<id>/CONFIG` item (`catalog`), where
the hub's API reads it to flag stale versions and breached limits (`governance.monitoring`).
"""
from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictFloat, StrictInt, model_validator

from governance import schema
from governance.contract import PREDICTION_PSI_METRIC
from mlgov.fields import Strict, check_range


class Limit(Strict):
    """A monitoring metric's allowed range (`min <= value <= max`): beyond it the dashboard flags the version."""

    metric: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")]
    min: StrictFloat | StrictInt | None = None
    max: StrictFloat | StrictInt | None = None

    @model_validator(mode="after")
    def _bounded(self) -> "Limit":
        check_range("limit", self.metric, self.min, self.max)
        return self

    def as_item(self) -> dict[str, Any]:
        return {k: float(v) if k != schema.THRESHOLD_METRIC else v for k, v in
                {schema.THRESHOLD_METRIC: self.metric, schema.THRESHOLD_MIN: self.min, schema.THRESHOLD_MAX: self.max}.items()
                if v is not None}


class Monitoring(Strict):
    stale_after_hours: Annotated[StrictInt, Field(ge=1, le=8760)] = Field(default=schema.DEFAULT_STALE_AFTER_HOURS,
                                                                          alias="staleAfterHours")
    """A deployed version with no monitoring report for longer than this is flagged stale."""
    prediction_psi_max: Annotated[StrictFloat | StrictInt, Field(gt=0, le=10)] = Field(default=schema.DEFAULT_PSI_MAX,
                                                                                        alias="predictionPsiMax")
    """The prediction-drift limit of every use case (a use case's own `predictionPsi` limit replaces it)."""
    limits: dict[str, tuple[Limit, ...]] = Field(default_factory=dict)
    """Per use case id: the monitoring metrics' allowed ranges."""

    @model_validator(mode="after")
    def _unique(self) -> "Monitoring":
        for use_case, limits in self.limits.items():
            metrics = [limit.metric for limit in limits]
            duplicated = sorted({m for m in metrics if metrics.count(m) > 1})
            if duplicated:
                raise ValueError(f"limits of {use_case!r} name {', '.join(duplicated)} twice; one range per metric")
        return self

    def check_use_cases(self, use_case_ids: set[str]) -> None:
        unknown = sorted(set(self.limits) - use_case_ids)
        if unknown:
            raise ValueError(f"monitoring.limits names {', '.join(unknown)}, not under useCases; "
                             f"limits are set per use case id: {', '.join(sorted(use_case_ids))}")

    def policy(self, use_case_id: str) -> dict[str, Any]:
        """What the use case's CONFIG item carries: the staleness window and every limit, the PSI limit included."""
        own = [limit.as_item() for limit in self.limits.get(use_case_id, ())]
        psi = [] if any(limit[schema.THRESHOLD_METRIC] == PREDICTION_PSI_METRIC for limit in own) else [
            {schema.THRESHOLD_METRIC: PREDICTION_PSI_METRIC, schema.THRESHOLD_MAX: float(self.prediction_psi_max)}]
        return {schema.MONITORING_STALE_AFTER_HOURS: self.stale_after_hours, schema.MONITORING_LIMITS: psi + own}
