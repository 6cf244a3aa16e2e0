"""The compliance officer's governance dashboard: one self-contained HTML page (step 10 of the source design).

`collect` reads what it shows through the `Governance` service's own queries (the use case catalogue,
each use case's models through the by-use-case index, the officer queues through the by-stage-status
index, the audit trails and their chain verification): no Scan. `render` turns that into HTML with the
standard library only (it runs in the API Lambda). The page loads nothing from anywhere (inline CSS, no
scripts, a CSP that forbids every fetch), fits a laptop screen, and says everything in words and
symbols, so it reads the same without colour.
"""
from __future__ import annotations

import html
import json
import re
from datetime import datetime, timezone
from typing import Any, Callable, Mapping

from . import obligations, schema

STAGES = ("development", "test", "production")
USE_CASE_STAGES = ("POC", "DEVELOPMENT", "QA", "PREPRODUCTION", "PRODUCTION", "RETIRED")
RISK_TIERS = ("high", "limited", "minimal")
# What waits on people, per stage: development versions await review; in test and production a version
# awaits deployment (pending) and then, deployed and measured, the approval decision.
QUEUES = (("development", "pending"), ("test", "deployed"), ("test", "pending"), ("production", "deployed"), ("production", "pending"))
QUEUE_LABEL = {"pending": "awaiting review", "deployed": "deployed, awaiting decision"}
QUEUE_LABEL_LATER = {"pending": "approved for this stage, awaiting deployment", "deployed": "deployed, awaiting decision"}
SYMBOL = {"approved": "✓", "rejected": "✗", "pending": "…", "deployed": "▶", "retired": "■"}
PAGE = 100
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def pages(fetch: Callable[[str | None], Mapping[str, Any]], key: str, cap: int | None = None) -> tuple[list[Any], bool]:
    """Every item of a paginated service query (up to `cap`); also whether items were left unread."""
    out: list[Any] = []
    token = None
    while True:
        page = fetch(token)
        out.extend(page.get(key) or [])
        token = page.get("next")
        if not token:
            return out, False
        if cap is not None and len(out) >= cap:
            return out, True


def collect(gov: Any, *, viewer: str | None = None, max_versions: int = 200, max_queue: int = 500, recent: int = 25,
            now: datetime | None = None) -> dict[str, Any]:
    """Everything the page shows, as plain data (also what the tests compare with the table)."""
    use_cases, _ = pages(lambda t: gov.list_use_cases(limit=PAGE, token=t), "useCases")
    versions: dict[tuple[str, str, int], dict[str, Any]] = {}
    matrix = {s: {t: 0 for t in RISK_TIERS} for s in USE_CASE_STAGES}
    trails: list[dict[str, Any]] = []
    entries: list[dict[str, Any]] = []
    for uc in use_cases:
        matrix.setdefault(uc[schema.STATE_STAGE], {t: 0 for t in RISK_TIERS})
        row, tier = matrix[uc[schema.STATE_STAGE]], uc.get(schema.CONFIG_RISK_TIER) or "minimal"
        row[tier] = row.get(tier, 0) + 1
        first = gov.get_use_case(uc[schema.USE_CASE_ID], limit=PAGE)
        models = list(first.get("models") or [])
        token = first.get("next")
        while token:
            page = gov.get_use_case(uc[schema.USE_CASE_ID], limit=PAGE, token=token)
            models.extend(page.get("models") or [])
            token = page.get("next")
        uc["modelCount"] = len({(m[schema.MODEL_GROUP], m[schema.MODEL_VERSION]) for m in models})
        for record in models:
            key = (uc[schema.USE_CASE_ID], record[schema.MODEL_GROUP], int(record[schema.MODEL_VERSION]))
            versions.setdefault(key, {schema.USE_CASE_ID: key[0], schema.USE_CASE_NAME: uc.get(schema.CONFIG_NAME),
                                      schema.CONFIG_RISK_TIER: uc.get(schema.CONFIG_RISK_TIER), schema.MODEL_GROUP: key[1],
                                      schema.MODEL_VERSION: key[2], "records": {}})
            versions[key]["records"][record[schema.MODEL_STAGE]] = record
        uc_entries, _ = pages(lambda t: gov.audit_page(uc[schema.USE_CASE_ID], limit=PAGE, token=t), "entries")
        verdict = gov.verify_trail(uc[schema.USE_CASE_ID])
        uc["chain"] = verdict
        trails.append({schema.ENTRY_SUBJECT: f"use case {uc[schema.USE_CASE_ID]}", schema.USE_CASE_ID: uc[schema.USE_CASE_ID],
                       **_verdict(verdict)})
        entries.extend({**e, schema.USE_CASE_ID: uc[schema.USE_CASE_ID]} for e in uc_entries)

    ordered = sorted(versions.values(), key=lambda v: (v[schema.USE_CASE_ID], v[schema.MODEL_GROUP], -v[schema.MODEL_VERSION]))
    shown = ordered[:max_versions]
    for v in shown:
        uc_id, group, version = v[schema.USE_CASE_ID], v[schema.MODEL_GROUP], v[schema.MODEL_VERSION]
        trail, _ = pages(lambda t: gov.audit_page(uc_id, group, version, limit=PAGE, token=t), "entries")
        verdict = gov.verify_trail(uc_id, group, version)
        v["chain"] = verdict
        v["auditEntries"] = len(trail)
        trails.append({schema.ENTRY_SUBJECT: f"{group} v{version}", schema.USE_CASE_ID: uc_id, schema.MODEL_GROUP: group,
                       schema.MODEL_VERSION: version,
                       **_verdict(verdict)})
        entries.extend({**e, schema.USE_CASE_ID: uc_id} for e in trail)

    queues: dict[str, dict[str, Any]] = {}
    for stage, status in QUEUES:
        items, more = pages(lambda t: gov.queue(stage=stage, status=status, limit=PAGE, token=t), "items", cap=max_queue)
        queues[f"{stage}/{status}"] = {"stage": stage, "status": status, "items": items, "more": more}

    entries.sort(key=lambda e: (str(e.get(schema.ENTRY_AT) or ""), str(e.get(schema.ENTRY_SUBJECT) or "")), reverse=True)
    flags = [{schema.USE_CASE_ID: v[schema.USE_CASE_ID], schema.MODEL_GROUP: v[schema.MODEL_GROUP], schema.MODEL_VERSION: v[schema.MODEL_VERSION],
              "stage": stage, **r["monitoring"]}
             for v in ordered for stage, r in sorted(v["records"].items())
             if (r.get("monitoring") or {}).get("stale") or (r.get("monitoring") or {}).get("breaches")]
    return {
        "monitoringFlags": flags,
        "generatedAt": (now or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "viewer": viewer,
        "useCases": use_cases,
        "byStageAndTier": matrix,
        "obligations": obligations.as_table(),
        "queues": queues,
        "versions": shown,
        "versionCount": len(ordered),
        "versionsNotShown": len(ordered) - len(shown),
        "trails": trails,
        "broken": [t for t in trails if not t["ok"]],
        "recentAudit": entries[:recent],
    }


def _threshold(t: Mapping[str, Any]) -> str:
    """`auc ≥ 0.8`: a use case's approval threshold in words."""
    bounds = [f" {sign} {_e(t[key])}" for sign, key in (("≥", schema.THRESHOLD_MIN), ("≤", schema.THRESHOLD_MAX)) if t.get(key) is not None]
    return f"{_e(t.get(schema.THRESHOLD_METRIC))}" + "".join(bounds)


def _verdict(verdict: Mapping[str, Any]) -> dict[str, Any]:
    return {"ok": bool(verdict.get("ok")), "entries": verdict.get("entries"), "firstBroken": verdict.get("firstBroken")}


def page(gov: Any, viewer: str | None = None) -> str:
    return render(collect(gov, viewer=viewer))


# ------------------------------------------------------------------ HTML

def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _time(value: Any) -> str:
    text = str(value or "")
    return text[:19].replace("T", " ") + " UTC" if len(text) >= 19 else text


def _short_arn(arn: Any) -> str:
    """`arn:aws:sts::1:assumed-role/Role/session` → `Role/session (1)`; other actors as they are."""
    text = str(arn or "")
    if text.startswith("arn:") and text.count(":") >= 5:
        account, resource = text.split(":")[4], text.split(":", 5)[5]
        resource = resource.removeprefix("assumed-role/").removeprefix("role/").removeprefix("user/")
        return f"{resource} ({account})"
    return text


def _subject(subject: Any) -> str:
    """`MODEL#g#V#000002` → `g v2`; `USECASE#id` → `use case id`."""
    text = str(subject or "")
    m = re.match(r"^MODEL#(.+)#V#0*(\d+)$", text)
    if m:
        return f"{m.group(1)} v{m.group(2)}"
    return "use case " + text.removeprefix("USECASE#") if text.startswith("USECASE#") else text


def _status(status: Any, stage: str | None = None) -> str:
    s = str(status or "")
    stage_attr = f' data-stage="{_e(stage)}"' if stage else ""
    return (f'<span class="st st-{_e(s)}"{stage_attr} data-status="{_e(s)}">'
            f'<span aria-hidden="true">{SYMBOL.get(s, "?")}</span> {_e(s)}</span>')


def _metrics(value: Any) -> str:
    if not isinstance(value, Mapping) or not value:
        return ""
    parts = []
    for k, v in sorted(value.items()):
        if isinstance(v, float):
            v = f"{v:.4g}"
        elif isinstance(v, (dict, list)):
            v = json.dumps(v, separators=(",", ":"))[:60]
        parts.append(f"{_e(k)}&nbsp;{_e(v)}")
    return '<span class="metrics">' + ", ".join(parts) + "</span>"


def _monitoring(value: Any) -> str:
    if not isinstance(value, Mapping):
        return ""
    where = _e(value.get(schema.ENDPOINT_NAME))
    if value.get("variantName"):
        where += f" / {_e(value['variantName'])}"
    return (f'<span class="endpoint">endpoint {where}</span><br>{_metrics(value.get("metrics"))}'
            f'<br><span class="dim">reported {_e(_time(value.get("reportedAt")))}</span>')


def _deployments(value: Any) -> str:
    """Where a stage record's version is live, and where it was taken off (replaced or decommissioned)."""
    out = []
    for d in value or []:
        where = f'<span class="endpoint">{_e(d.get(schema.ENDPOINT_NAME))}</span>'
        if d.get("until"):
            out.append(f'<div class="small dim" data-off="{_e(d.get(schema.ENDPOINT_NAME))}">off {where} {_e(_time(d.get("until")))} '
                       f'({_e(d.get("ended"))})</div>')
        else:
            out.append(f'<div class="small" data-live="{_e(d.get(schema.ENDPOINT_NAME))}">live on {where} since {_e(_time(d.get("since")))}</div>')
    return "".join(out)


def _monitoring_flags(flags: Mapping[str, Any]) -> str:
    """A deployed record's monitoring flags in words: no recent report, metrics beyond the use case's limits."""
    out = []
    if flags.get("stale"):
        out.append(f'<div class="alert-inline" data-flag="stale"><span aria-hidden="true">⚠</span> STALE: no report for over '
                   f'{_e(flags.get("staleAfterHours"))} h (last {_e(_time(flags.get("lastReportAt")) or "never")})</div>')
    for b in flags.get("breaches") or []:
        bound = " or ".join(f"{sign} {_e(b[k])}" for sign, k in (("below", schema.THRESHOLD_MIN), ("above", schema.THRESHOLD_MAX))
                            if k in b)
        out.append(f'<div class="alert-inline" data-flag="breach" data-metric="{_e(b.get(schema.THRESHOLD_METRIC))}">'
                   f'<span aria-hidden="true">⚠</span> BEYOND LIMIT: {_e(b.get(schema.THRESHOLD_METRIC))} {_e(b.get("value"))} '
                   f'(allowed: not {bound})</div>')
    return "".join(out)


def _run(records: Mapping[str, Any]) -> str:
    """The MLflow run a version was registered from (on its development record), if any."""
    run_id = (records.get("development") or {}).get(schema.MLFLOW_RUN_ID)
    return f'<br><span class="dim">MLflow run <code class="run" data-run-id="{_e(run_id)}">{_e(run_id)}</code></span>' if run_id else ""


def _chain(verdict: Mapping[str, Any] | None) -> str:
    if not verdict:
        return '<span class="dim">not read</span>'
    if verdict.get("ok"):
        return f'<span class="chain-ok" data-chain="ok"><span aria-hidden="true">✓</span> verifies ({_e(verdict.get("entries"))} entries)</span>'
    broken = verdict.get("firstBroken") or {}
    return (f'<strong class="chain-broken" data-chain="broken"><span aria-hidden="true">⚠</span> BROKEN at entry '
            f'{_e(broken.get(schema.ENTRY_SEQ))}</strong><br><span class="small">{_e(broken.get("problem"))}</span>')


STYLE = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", sans-serif; color: #111; background: #fff; }
header { padding: 12px 24px; border-bottom: 3px solid #111; display: flex; flex-wrap: wrap; gap: 4px 24px; align-items: baseline; }
header h1 { margin: 0; font-size: 20px; }
header p { margin: 0; color: #333; }
main { padding: 8px 24px 32px; max-width: 1340px; }
h2 { font-size: 17px; margin: 22px 0 6px; border-bottom: 1px solid #999; padding-bottom: 2px; }
h3 { font-size: 15px; margin: 14px 0 4px; }
.summary { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0 0; padding: 0; }
.summary div { border: 1px solid #555; padding: 6px 12px; min-width: 150px; }
.summary dt { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.summary dd { margin: 0; font-size: 22px; font-weight: 700; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
caption { text-align: left; font-weight: 600; padding: 2px 0; }
th, td { border: 1px solid #888; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #eee; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.matrix { width: auto; min-width: 560px; } .matrix td { min-width: 90px; } .matrix td.zero { color: #666; }
.st { white-space: nowrap; font-weight: 600; padding: 0 3px; border-radius: 3px; }
.st-approved { background: #dcf2dc; } .st-rejected { background: #f9d9d9; }
.st-pending { background: #fff2c2; } .st-deployed { background: #d9e8fb; } .st-retired { background: #e4e4e4; }
.alert { border: 3px double #000; background: #fde4e4; padding: 8px 12px; margin: 12px 0; font-weight: 600; }
.alert-inline { border-left: 3px solid #000; background: #fde4e4; padding: 0 4px; margin: 2px 0; font-weight: 600; }
.allok { border: 1px solid #000; padding: 6px 12px; margin: 12px 0; }
.chain-broken { background: #fde4e4; outline: 2px solid #000; padding: 0 3px; }
.metrics, .small { font-size: 12.5px; } .dim { color: #555; font-size: 12px; }
.endpoint { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
.empty { color: #444; font-style: italic; margin: 2px 0 8px; }
footer { padding: 8px 24px 24px; color: #444; font-size: 12px; }
@media print { .scroll { overflow: visible; } }
"""


def render(data: Mapping[str, Any]) -> str:
    out: list[str] = []
    w = out.append
    broken = data.get("broken") or []
    queues = data.get("queues") or {}
    decisions = {s: sum(len(q["items"]) for q in queues.values() if q["stage"] == s) for s in STAGES}
    w("<!DOCTYPE html>")
    w('<html lang="en"><head><meta charset="utf-8">')
    w(f'<meta http-equiv="Content-Security-Policy" content="{_e(CSP)}">')
    w('<meta name="viewport" content="width=device-width, initial-scale=1">')
    w("<title>mlgov governance dashboard</title>")
    w(f"<style>{STYLE}</style></head><body>")
    w('<header><h1>mlgov governance dashboard</h1>')
    w(f'<p>generated <time id="generated" datetime="{_e(data.get("generatedAt"))}">{_e(_time(data.get("generatedAt")))}</time></p>')
    if data.get("viewer"):
        w(f'<p>viewer <code id="viewer">{_e(_short_arn(data["viewer"]))}</code></p>')
    w("</header><main>")

    if broken:
        listed = "; ".join(f"{_e(t[schema.ENTRY_SUBJECT])} at entry {_e((t.get('firstBroken') or {}).get(schema.ENTRY_SEQ))} "
                           f"({_e((t.get('firstBroken') or {}).get('problem'))})" for t in broken)
        w(f'<div class="alert" role="alert" id="chain-alert"><span aria-hidden="true">⚠</span> AUDIT CHAIN BROKEN: '
          f'<span id="broken-count" data-count="{len(broken)}">{len(broken)}</span> audit trail(s) do not verify: {listed}. '
          "Entries may have been edited or removed outside governance.</div>")
    else:
        w(f'<p class="allok" id="chain-ok"><span aria-hidden="true">✓</span> All {len(data.get("trails") or [])} audit trails read '
          "for this page verify (hash chain intact).</p>")

    w('<dl class="summary">')
    w(f'<div><dt>use cases</dt><dd id="use-case-count" data-count="{len(data.get("useCases") or [])}">{len(data.get("useCases") or [])}</dd></div>')
    w(f'<div><dt>model versions</dt><dd id="version-count" data-count="{data.get("versionCount", 0)}">{data.get("versionCount", 0)}</dd></div>')
    for stage in STAGES:
        w(f'<div><dt>waiting in {stage}</dt><dd id="waiting-{stage}" data-count="{decisions[stage]}">{decisions[stage]}</dd></div>')
    flagged = len(data.get("monitoringFlags") or [])
    w(f'<div><dt>monitoring flags</dt><dd id="monitoring-flags" data-count="{flagged}">{flagged}</dd></div>')
    w(f'<div><dt>broken audit chains</dt><dd id="broken-chains" data-count="{len(broken)}">{len(broken)}</dd></div>')
    w("</dl>")

    # --- use cases by stage and risk tier
    w('<section id="use-cases"><h2>Use cases by stage and risk tier</h2>')
    matrix = data.get("byStageAndTier") or {}
    tiers = list(RISK_TIERS)
    w('<div class="scroll"><table class="matrix" id="stage-tier-matrix"><caption>Number of use cases (EU AI Act risk tier)</caption>')
    w('<thead><tr><th scope="col">use case stage</th>' + "".join(f'<th scope="col" class="num">{_e(t)} risk</th>' for t in tiers)
      + '<th scope="col" class="num">total</th></tr></thead><tbody>')
    for stage in [s for s in USE_CASE_STAGES] + [s for s in matrix if s not in USE_CASE_STAGES]:
        row = matrix.get(stage, {})
        cells = "".join(f'<td class="num{" zero" if not row.get(t) else ""}" data-stage="{_e(stage)}" data-tier="{_e(t)}">{row.get(t, 0)}</td>'
                        for t in tiers)
        w(f'<tr><th scope="row">{_e(stage)}</th>{cells}<td class="num">{sum(row.get(t, 0) for t in tiers)}</td></tr>')
    w("</tbody></table></div>")
    w('<div class="scroll"><table id="tier-obligations"><caption>What each tier obliges the platform to enforce</caption><tbody>')
    for tier, duties in (data.get("obligations") or {}).items():
        w(f'<tr><th scope="row">{_e(tier)}</th><td>{", ".join(_e(d) for d in duties) or "<span class=dim>none</span>"}</td></tr>')
    w("</tbody></table></div>")
    w('<div class="scroll"><table id="use-case-list"><thead><tr><th scope="col">use case</th><th scope="col">risk tier</th>'
      '<th scope="col">stage</th><th scope="col">owner / line of business</th><th scope="col">models</th>'
      '<th scope="col">approval thresholds</th><th scope="col">audit chain</th></tr></thead><tbody>')
    for uc in data.get("useCases") or []:
        thresholds = ", ".join(_threshold(t) for t in uc.get(schema.CONFIG_THRESHOLDS) or [])
        w(f'<tr data-use-case="{_e(uc[schema.USE_CASE_ID])}"><td><strong>{_e(uc.get(schema.CONFIG_NAME))}</strong><br><code>{_e(uc[schema.USE_CASE_ID])}</code></td>'
          f'<td>{_e(uc.get(schema.CONFIG_RISK_TIER))}</td><td>{_e(uc.get(schema.STATE_STAGE))} <span class="dim">({_e(uc.get(schema.STATE_STAGE_STATUS))})</span>'
          f'{"<br>removed from config (offboarded)" if uc.get("offboarded") else ""}</td>'
          f'<td>{_e(uc.get(schema.CONFIG_OWNER))}<br><span class="dim">{_e(uc.get(schema.CONFIG_LINE_OF_BUSINESS))} / {_e(uc.get(schema.CONFIG_PROJECT))}</span></td>'
          f'<td>{", ".join(_e(g) for g in uc.get(schema.CONFIG_MODEL_GROUPS) or [])}<br><span class="dim">{_e(uc.get("modelCount", 0))} version(s)</span></td>'
          f'<td>{thresholds or "<span class=dim>none</span>"}</td><td>{_chain(uc.get("chain"))}</td></tr>')
    w("</tbody></table></div></section>")

    # --- pending decisions per stage
    w('<section id="pending"><h2>Waiting on a decision or a deployment, per stage (oldest first)</h2>')
    for stage in STAGES:
        w(f'<h3 id="pending-{stage}">{stage} <span class="dim">— {decisions[stage]} version(s)</span></h3>')
        any_items = False
        for (q_stage, status) in QUEUES:
            if q_stage != stage:
                continue
            q = queues.get(f"{stage}/{status}") or {"items": [], "more": False}
            label = (QUEUE_LABEL if stage == "development" else QUEUE_LABEL_LATER)[status]
            if not q["items"]:
                continue
            any_items = True
            w(f'<div class="scroll"><table class="queue" data-queue="{stage}/{status}" data-count="{len(q["items"])}">'
              f'<caption>{_status(status)} {_e(label)}: {len(q["items"])}{" (more not shown)" if q["more"] else ""}</caption>'
              '<thead><tr><th scope="col">since</th><th scope="col">model version</th><th scope="col">use case</th>'
              '<th scope="col">model risk</th><th scope="col">last change by</th><th scope="col">validation metrics</th>'
              '<th scope="col">approvals so far</th></tr></thead><tbody>')
            for r in q["items"]:
                w(f'<tr data-version="{_e(r.get(schema.MODEL_GROUP))}/{_e(r.get(schema.MODEL_VERSION))}"><td>{_e(_time(r.get(schema.AUDIT_TIMESTAMP)))}</td>'
                  f'<td><code>{_e(r.get(schema.MODEL_GROUP))}</code> v{_e(r.get(schema.MODEL_VERSION))}</td><td>{_e(r.get(schema.USE_CASE_ID))}</td>'
                  f'<td>{_e(r.get(schema.MODEL_RISK))}</td><td>{_e(_short_arn(r.get(schema.AUDIT_USER)))}</td>'
                  f'<td>{_metrics(r.get(schema.VALIDATION_METRICS))}</td><td>{_e(len(r.get(schema.APPROVALS) or []))}</td></tr>')
            w("</tbody></table></div>")
        if not any_items:
            w('<p class="empty">nothing waiting</p>')
    w("</section>")

    # --- each version's path
    w('<section id="versions"><h2>Model versions: path through the stages, metrics and endpoints</h2>')
    if data.get("versionsNotShown"):
        w(f'<p class="empty">{_e(data["versionsNotShown"])} older version(s) not shown (and their audit chains not read).</p>')
    w('<div class="scroll"><table id="version-table"><thead><tr><th scope="col">model version</th>'
      + "".join(f'<th scope="col">{s}</th>' for s in STAGES)
      + '<th scope="col">audit chain</th></tr></thead><tbody>')
    for v in data.get("versions") or []:
        records = v.get("records") or {}
        cells = []
        for stage in STAGES:
            r = records.get(stage)
            if r is None:
                cells.append('<td class="dim" data-stage="' + stage + '" data-status="none">— not reached</td>')
                continue
            parts = [_status(r.get(schema.MODEL_STATUS), stage)]
            if r.get(schema.VALIDATION_METRICS):
                parts.append(f'<div><span class="dim">validation:</span> {_metrics(r.get(schema.VALIDATION_METRICS))}</div>')
            if r.get(schema.MONITORING_METRICS):
                parts.append(f'<div><span class="dim">monitoring:</span> {_monitoring(r.get(schema.MONITORING_METRICS))}</div>')
            parts.append(_deployments(r.get(schema.DEPLOYMENTS)))
            if r.get("monitoring"):
                parts.append(_monitoring_flags(r["monitoring"]))
            if r.get(schema.APPROVALS):
                parts.append(f'<div class="dim">approved by {", ".join(_e(_short_arn(a)) for a in r[schema.APPROVALS])}</div>')
            if r.get(schema.LAST_REJECTION):
                rej = r[schema.LAST_REJECTION]
                parts.append(f'<div class="small">last rejection ({_e(rej.get("stage"))}): {_e(rej.get("reason"))}</div>')
            cells.append(f"<td>{''.join(parts)}</td>")
        w(f'<tr data-version="{_e(v[schema.MODEL_GROUP])}/{_e(v[schema.MODEL_VERSION])}" data-chain="{"ok" if (v.get("chain") or {}).get("ok") else "broken"}">'
          f'<th scope="row"><code>{_e(v[schema.MODEL_GROUP])}</code> v{_e(v[schema.MODEL_VERSION])}<br>'
          f'<span class="dim">{_e(v[schema.USE_CASE_ID])} · {_e(v.get(schema.CONFIG_RISK_TIER))} risk</span>{_run(records)}</th>'
          f'{"".join(cells)}<td>{_chain(v.get("chain"))}</td></tr>')
    w("</tbody></table></div></section>")

    # --- recent audit entries
    w('<section id="audit"><h2>Recent audit entries</h2>')
    w('<div class="scroll"><table id="audit-table"><thead><tr><th scope="col">time</th><th scope="col">subject</th><th scope="col">#</th>'
      '<th scope="col">action</th><th scope="col">stage</th><th scope="col">from → to</th><th scope="col">by</th>'
      '<th scope="col">reason</th></tr></thead><tbody>')
    for e in data.get("recentAudit") or []:
        subject = _subject(e.get(schema.ENTRY_SUBJECT))
        change = f"{_e(e.get(schema.ENTRY_FROM))} → {_e(e.get(schema.ENTRY_TO))}" if e.get(schema.ENTRY_FROM) or e.get(schema.ENTRY_TO) else ""
        w(f'<tr><td>{_e(_time(e.get(schema.ENTRY_AT)))}</td><td><code>{_e(subject)}</code></td><td class="num">{_e(e.get(schema.ENTRY_SEQ))}</td>'
          f'<td>{_e(e.get(schema.ENTRY_ACTION))}</td><td>{_e(e.get(schema.ENTRY_STAGE))}</td><td>{change}</td>'
          f'<td>{_e(_short_arn(e.get(schema.ENTRY_ACTOR)))}</td><td class="small">{_e(e.get(schema.ENTRY_REASON))}</td></tr>')
    w("</tbody></table></div></section>")
    w("</main><footer>Statuses: ✓ approved, ▶ deployed, … pending, ✗ rejected, ■ retired. Audit chains: ✓ verifies, "
      "⚠ BROKEN (an entry was edited, removed or reordered). Read through the governance API; nothing on this page is "
      "loaded from elsewhere.</footer></body></html>")
    return "\n".join(out)

