"""How govctl shows things to people: the CLI, the demo and the dashboard server all render through here.

Records come from the governance API as JSON; these turn its fields into short cells (a principal's
role/session rather than the whole ARN, times to the second, metrics as `name=value`), and its errors
into the one line govctl prints.
"""
from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Mapping, Sequence

from rich.console import Console
from rich.table import Table


def console() -> Console:
    """stdout for people: the terminal's width, or 160 columns when piped."""
    return Console(width=None if sys.stdout.isatty() else 160, highlight=False, soft_wrap=False)


def json_text(data: Any) -> str:
    """JSON for scripts (`--output json`): indented, keys sorted."""
    return json.dumps(data, indent=2, sort_keys=True, default=str)


def one_line(message: Any) -> str:
    """A message on one line (API answers and exceptions may span several)."""
    return "; ".join(line.strip() for line in str(message).splitlines() if line.strip())


def table(columns: Sequence[str], rows: Iterable[Sequence[str]], title: str | None = None, *, fold: bool = False) -> Table:
    """A table of strings; `fold` wraps long cells instead of cutting them short."""
    out = Table(title=title, show_lines=False)
    for column in columns:
        out.add_column(column, overflow="fold" if fold else "ellipsis")
    for row in rows:
        out.add_row(*row)
    return out


def timestamp(value: Any) -> str:
    """An ISO-8601 time to the second: `2024-09-02 10:00:00`."""
    text = str(value or "")
    return text[:19].replace("T", " ") if len(text) >= 19 else text


def who(arn: Any) -> str:
    """A principal as people name it: `role/session` of an ARN, anything else as it is."""
    text = str(arn or "")
    if text.startswith("arn:") and text.count(":") >= 5:
        resource = text.split(":", 5)[5]
        return resource.removeprefix("assumed-role/").removeprefix("role/").removeprefix("user/")
    return text


def metrics(value: Any) -> str:
    if not isinstance(value, Mapping) or not value:
        return ""
    return ", ".join(f"{k}={v}" for k, v in sorted(value.items()))


def monitoring(value: Any) -> str:
    """Monitoring metrics with the endpoint (and variant) they came from: `auc=0.86 (endpoint/variant)`."""
    if not isinstance(value, Mapping):
        return ""
    where = str(value.get("endpointName") or "")
    if value.get("variantName"):
        where += f"/{value['variantName']}"
    return metrics(value.get("metrics")) + (f" ({where})" if where else "")


def version_line(group: str, version: int, view: Mapping[str, Any]) -> str:
    """A version in one line: its use case, the stage it is at, the registry's status and the MLflow run it came from."""
    line = (f"{group} v{version}  use case {view['useCaseId']} ({view['useCaseStage']})  at stage {view['currentStage']}"
            f"  registry {view.get('registryStatus') or '-'}")
    failed = view.get("registryMirror")
    if isinstance(failed, Mapping):
        line += f" (registry write failed at {failed.get('at')}: {failed.get('error')}; repaired by the next decision or registry event)"
    return line + (f"  MLflow run {view['mlflowRunId']}" if view.get("mlflowRunId") else "")


STAGE_ORDER = {"development": 0, "test": 1, "production": 2}


def governance_table(use_cases: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> Table:
    """Every model stage record per use case, from (catalogue entry, `GET /use-cases/{id}`) pairs."""
    rows = []
    for uc, detail in use_cases:
        records = sorted(detail["models"], key=lambda r: (r["modelGroup"], int(r["modelVersion"]), STAGE_ORDER.get(r["modelStage"], 3)))
        for r in records:
            rows.append((f"{uc['useCaseId']} ({detail['stage']}, {uc.get('riskTier')})", f"{r['modelGroup']} v{r['modelVersion']}",
                         r["modelStage"], r["modelStatus"], r.get("modelRisk") or "", metrics(r.get("validationMetrics")),
                         monitoring(r.get("monitoringMetrics")), who(r.get("auditUser")), timestamp(r.get("auditTimestamp"))[11:]))
    return table(("use case (stage)", "model version", "stage", "status", "risk", "validation metrics", "monitoring (endpoint)",
                  "audit user", "audit time"), rows, title="governance table: model stage records", fold=True)
