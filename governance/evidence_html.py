"""The evidence pack as one self-contained, printable HTML page that also carries the pack's JSON.

The page loads nothing (inline CSS, no scripts, a CSP that forbids every fetch and every script) and
prints on A4 with each model on its own pages. Every value from the record is HTML-escaped; the JSON
sits in a `<script type="application/json">` data block (never executed) with `<`, `>` and `&` written
as JSON escapes, so no reason or name can close the block. `extract` reads the JSON back from a page.
"""
from __future__ import annotations

import html
import json
import re
from typing import Any, Mapping

from . import schema

CSP = ("default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
       "form-action 'none'; frame-ancestors 'none'")
# A <meta> CSP cannot carry frame-ancestors; the page opened from a file gets the rest.
META_CSP = "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
JSON_ID = "evidence"
SYMBOL = {True: "✓ met", False: "✗ NOT met", None: "– not shown by the record"}

STYLE = """
body { font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111; margin: 1.5rem; max-width: 70rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; } h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; border-bottom: 2px solid #333; }
h3 { font-size: 1.05rem; margin: 1rem 0 .4rem; } h4 { font-size: .95rem; margin: .8rem 0 .3rem; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; margin: .3rem 0 .8rem; }
th, td { border: 1px solid #999; padding: .2rem .35rem; text-align: left; vertical-align: top; overflow-wrap: anywhere; word-break: break-word; }
th { background: #eee; } code { font-size: .85em; overflow-wrap: anywhere; }
.dim { color: #555; } .ok { color: #05591f; font-weight: 600; } .bad { color: #9b0000; font-weight: 700; }
dl { display: grid; grid-template-columns: 12rem 1fr; gap: .1rem .8rem; margin: .3rem 0; } dt { font-weight: 600; } dd { margin: 0; overflow-wrap: anywhere; }
.model { border-top: 1px solid #bbb; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { margin: 0; max-width: none; font-size: 9.5pt; }
  .model { break-before: page; border-top: none; }
  tr, .keep { break-inside: avoid; }
  h2, h3, h4 { break-after: avoid; }
  table.trail { font-size: 7.5pt; }
  th { background: #eee !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def embed_json(pack: Mapping[str, Any]) -> str:
    """The pack as JSON safe inside a script data block: no `<`, `>` or `&` appears literally."""
    text = json.dumps(pack, sort_keys=True, ensure_ascii=False, default=str)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def extract(page: str) -> dict[str, Any]:
    """The pack embedded in a page written by `render`."""
    m = re.search(r'<script type="application/json" id="evidence">(.*?)</script>', page, re.S)
    if not m:
        raise ValueError("no embedded evidence JSON in this page")
    return json.loads(m.group(1))


def _who(arn: Any) -> str:
    """`arn:aws:sts::1:assumed-role/Role/session` → `Role/session (1)`: the same principal, short enough for A4."""
    text = str(arn or "")
    if text.startswith("arn:") and text.count(":") >= 5:
        account, resource = text.split(":")[4], text.split(":", 5)[5]
        resource = resource.removeprefix("assumed-role/").removeprefix("role/").removeprefix("user/")
        return _e(f"{resource} ({account})")
    return _e(text)


def _num(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return _e(value)


def _metrics(value: Any, scope: str) -> str:
    if not isinstance(value, Mapping) or not value:
        return '<span class="dim">none</span>'
    return "<br>".join(f'{_e(k)} = <span data-metric="{_e(scope)}:{_e(k)}">{_num(v)}</span>' for k, v in sorted(value.items()))


def _verdict(v: Mapping[str, Any], subject: str) -> str:
    fp = v.get("publicKeyFingerprint")
    key = f' · signing key fingerprint <code>{_e(fp)}</code>' if fp else ' · <span class="dim">no signing key fingerprint reported</span>'
    if v.get("ok"):
        head = f'<span class="ok" data-chain="ok">✓ chain verifies</span> ({_e(v.get("entries"))} entries)'
    else:
        problems = "; ".join(f'entry {_e(p.get("seq"))}: {_e(p.get("problem"))}' for p in v.get("problems") or [])
        head = f'<span class="bad" data-chain="broken">⚠ CHAIN BROKEN</span> ({_e(v.get("entries"))} entries): {problems}'
    return f'<p class="verdict" data-trail="{_e(subject)}">{head}{key}</p>'


def _trail_table(trail: Mapping[str, Any], subject: str) -> str:
    rows = "".join(
        f'<tr><td>{_e(e.get("seq"))}</td><td>{_e(e.get("at"))}</td><td>{_e(e.get("action"))}</td><td>{_e(e.get("stage"))}</td>'
        f'<td>{_e(e.get("from"))} → {_e(e.get("to"))}</td><td>{_who(e.get("actor"))}</td><td class="reason">{_e(e.get("reason"))}</td>'
        f'<td><code>{_e(str(e.get("hash") or "")[:10])}…</code></td></tr>'
        for e in trail.get("entries") or [])
    return (_verdict(trail.get("verification") or {}, subject)
            + '<table class="trail" data-trail="' + _e(subject) + '"><colgroup><col style="width:4%"><col style="width:14%">'
            '<col style="width:12%"><col style="width:10%"><col style="width:15%"><col style="width:17%"><col style="width:19%">'
            '<col style="width:9%"></colgroup><thead><tr><th>#</th><th>at</th><th>action</th><th>stage</th><th>from → to</th>'
            f'<th>by</th><th>reason</th><th>hash</th></tr></thead><tbody>{rows}</tbody></table>')


def _drift(d: Any, key: str) -> str:
    """Prediction drift: the latest PSI against the limit, its history, and the reference it is measured against."""
    if not isinstance(d, Mapping):
        return ""
    ref = d.get("reference") or {}
    where = (f'reference {_e(str(ref.get("digest") or "")[:12])}… reported by {_who(ref.get("reportedBy"))} at {_e(ref.get("reportedAt"))}'
             if ref else '<span class="dim">no reference recorded at test</span>')
    beyond = d.get("beyondLimit")
    flag = (f' <span class="bad" data-drift="beyond">⚠ beyond limit {_e(beyond.get("max"))}</span>' if beyond
            else "" if d.get("latest") is None else ' <span class="ok" data-drift="within">within limit</span>')
    series = ", ".join(_num(h.get("predictionPsi")) for h in d.get("history") or []) or "none"
    refused = f' · {_e(d["refusedReports"])} refused (not against the reference)' if d.get("refusedReports") else ""
    return (f'<dt>prediction drift (PSI)</dt><dd>latest <span data-metric="{_e(key)}:drift:predictionPsi">{_num(d.get("latest"))}</span>{flag}'
            f'<br><span class="dim">history, newest first:</span> {series}{refused}<br>{where}</dd>')


def _stage(s: Mapping[str, Any], version_key: str) -> str:
    key = f"{version_key}:{s.get('stage')}"
    approvals = "".join(
        f'<tr class="approval"><td>{_who(a.get("who"))}</td><td>{_e(a.get("when"))}</td><td class="reason">{_e(a.get("why")) or "<span class=dim>–</span>"}</td>'
        f'<td>{"final" if a.get("final") else "first of two"}</td></tr>' for a in s.get("approvals") or [])
    eyes = s.get("fourEyes") or {}
    checks = "".join(
        f'<tr><td>{_e(c.get("metric"))}</td><td>{_e("≥ " + str(c["min"]) if c.get("min") is not None else "")}'
        f'{_e(" ≤ " + str(c["max"]) if c.get("max") is not None else "")}</td><td>{_num(c.get("value"))}</td>'
        f'<td class="{"ok" if c.get("met") else "bad"}">{SYMBOL[c.get("met")]}</td>'
        f'<td>{_e(s.get("thresholdMetricsFrom"))}</td></tr>' for c in s.get("thresholdChecks") or [])
    mon = s.get("monitoring") or {}
    monitoring = (f'endpoint {_e(mon.get(schema.ENDPOINT_NAME))}{" / " + _e(mon["variantName"]) if mon.get("variantName") else ""}, '
                  f'reported {_e(mon.get("reportedAt"))}<br>{_metrics(mon.get("metrics"), key + ":monitoring")}') if mon else '<span class="dim">none</span>'
    out = [f'<div class="keep stage" data-stage="{_e(s.get("stage"))}"><h4>{_e(s.get("stage"))}: '
           f'<span data-status="{_e(s.get("status"))}">{_e(s.get("status"))}</span> <span class="dim">(rev {_e(s.get("rev"))})</span></h4>',
           f'<dl><dt>approvals</dt><dd data-approvals="{len(s.get("approvals") or [])}">{len(s.get("approvals") or [])} · four-eyes: '
           f'{_e(eyes.get("distinctApprovers"))} distinct of {_e(eyes.get("required"))} required '
           f'{"✓" if eyes.get("met") else "✗"}</dd>',
           f'<dt>validation metrics</dt><dd>{_metrics(s.get("validationMetrics"), key + ":validation")}</dd>',
           f'<dt>monitoring (latest)</dt><dd>{monitoring} <span class="dim">({_e(s.get("monitoringReports"))} report(s) in the trail)</span></dd>'
           f'{_drift(s.get("drift"), key)}</dl>']
    if approvals:
        out.append('<table class="approvals"><thead><tr><th>who</th><th>when</th><th>why</th><th>kind</th></tr></thead>'
                   f'<tbody>{approvals}</tbody></table>')
    if checks:
        out.append('<table class="thresholds"><thead><tr><th>threshold metric</th><th>bound</th><th>value</th><th>result</th><th>metrics of</th></tr></thead>'
                   f'<tbody>{checks}</tbody></table>')
    if s.get("lastRejection"):
        out.append(f'<p>last rejection: <span class="reason">{_e(json.dumps(s["lastRejection"], ensure_ascii=False))}</span></p>')
    return "".join(out) + "</div>"


def _places(rows: list[Mapping[str, Any]], title: str) -> str:
    if not rows:
        return f'<p class="dim">{_e(title)}: none recorded</p>'
    body = "".join(f'<tr><td>{_e(r.get("stage"))}</td><td>{_e(r.get("at"))}</td><td>{_e(r.get("account"))}</td>'
                   f'<td>{_e(r.get(schema.ENDPOINT_NAME))}{" / " + _e(r["variantName"]) if r.get("variantName") else ""}</td>'
                   f'<td>{_who(r.get("by"))}</td></tr>' for r in rows)
    return (f'<h4>{_e(title)}</h4><table class="{_e(title)}"><thead><tr><th>stage</th><th>at</th><th>account</th><th>endpoint</th>'
            f'<th>reported by</th></tr></thead><tbody>{body}</tbody></table>')


def _compliance(value: Any) -> str:
    if not isinstance(value, Mapping):
        return '<span class="dim">not assessed</span>'
    if value.get("compliant"):
        return f'<span class="ok">✓ compliant</span> (registered from account {_e(value.get("account"))})'
    return '<span class="bad">✗ NON-COMPLIANT</span>: ' + "; ".join(_e(p) for p in value.get("problems") or [])


def _version(m: Mapping[str, Any], v: Mapping[str, Any]) -> str:
    group, number = m[schema.MODEL_GROUP], v[schema.MODEL_VERSION]
    key = f"{group}/{number}"
    path = " → ".join(f'{_e(p.get("stage"))}:{_e(p.get("to"))}' for p in v.get("stagePath") or []) or "–"
    cards = ", ".join(_e(c) for c in v.get("modelCards") or []) or '<span class="dim">none recorded</span>'
    return "".join([
        f'<section class="version" data-version="{_e(key)}"><h3>{_e(group)} v{_e(number)} — now at {_e(v.get("currentStage"))}</h3>',
        f'<dl><dt>model package</dt><dd><code>{_e(v.get(schema.MODEL_PACKAGE_ARN))}</code></dd>',
        f'<dt>MLflow run</dt><dd><code class="run" data-run-id="{_e(v.get(schema.MLFLOW_RUN_ID))}">{_e(v.get(schema.MLFLOW_RUN_ID) or "–")}</code></dd>',
        f'<dt>registered by</dt><dd>{_who(v.get("registeredBy"))}</dd><dt>model risk</dt><dd>{_e(v.get(schema.MODEL_RISK))}</dd>',
        f'<dt>registry status</dt><dd>{_e(v.get(schema.REGISTRY_STATUS))}</dd><dt>stage path</dt><dd>{path}</dd>',
        f'<dt>model cards</dt><dd>{cards}</dd>',
        f'<dt>registration compliance</dt><dd>{_compliance(v.get("registrationCompliance"))}</dd></dl>',
        *(_stage(s, key) for s in v.get("stages") or []),
        _places(v.get("deployments") or [], "deployments"), _places(v.get("decommissions") or [], "decommissions"),
        f'<h4>audit trail of {_e(group)} v{_e(number)}</h4>', _trail_table(v.get("audit") or {}, key), "</section>",
    ])


def render(pack: Mapping[str, Any]) -> str:
    uc, summary = pack.get("useCase") or {}, pack.get("summary") or {}
    uc_id = uc.get(schema.USE_CASE_ID)
    thresholds = ", ".join(f'{_e(t.get("metric"))}{" ≥ " + _e(t["min"]) if t.get("min") is not None else ""}'
                           f'{" ≤ " + _e(t["max"]) if t.get("max") is not None else ""}' for t in uc.get(schema.CONFIG_THRESHOLDS) or [])
    obligations = "".join(
        f'<tr data-obligation="{_e(o.get("obligation"))}"><td>{_e(o.get("obligation"))}</td><td>{_e(o.get("description"))}</td>'
        f'<td class="{"ok" if o.get("met") else ("bad" if o.get("met") is False else "dim")}">{SYMBOL[o.get("met")]}</td>'
        f'<td>{_e(o.get("evidence"))}</td></tr>' for o in pack.get("obligations") or [])
    counts = "".join(f'<dt>{_e(k)}</dt><dd id="summary-{_e(k)}" data-count="{_e(v)}">{_e(v)}</dd>' for k, v in summary.items())
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_e(META_CSP)}">',
        f'<title>EU AI Act evidence pack: {_e(uc_id)}</title><style>{STYLE}</style></head><body>',
        f'<h1>EU AI Act evidence pack: {_e(uc.get(schema.CONFIG_NAME))} (<code>{_e(uc_id)}</code>)</h1>',
        f'<p class="dim">generated {_e(pack.get("generatedAt"))} for {_e(pack.get("generatedBy") or "–")} · format {_e(pack.get("format"))}</p>',
        '<h2>Use case</h2><dl>',
        f'<dt>risk tier</dt><dd id="risk-tier">{_e(pack.get("riskTier"))}</dd>',
        f'<dt>stage</dt><dd id="use-case-stage">{_e(uc.get(schema.STATE_STAGE))} ({_e(uc.get(schema.STATE_STAGE_STATUS))})</dd>',
        f'<dt>owner</dt><dd>{_e(uc.get(schema.CONFIG_OWNER))}</dd><dt>line of business</dt><dd>{_e(uc.get(schema.CONFIG_LINE_OF_BUSINESS))}</dd>',
        f'<dt>project</dt><dd>{_e(uc.get(schema.CONFIG_PROJECT))}</dd><dt>approval thresholds</dt><dd>{thresholds or "none"}</dd>',
        f'{counts}</dl>',
        '<h2>Obligations of the tier</h2><table id="obligations"><colgroup><col style="width:18%"><col style="width:40%">'
        '<col style="width:14%"><col style="width:28%"></colgroup><thead><tr><th>obligation</th><th>what it means</th><th>met</th>'
        f'<th>evidence</th></tr></thead><tbody>{obligations or "<tr><td colspan=4>none for this tier</td></tr>"}</tbody></table>',
        '<h2>Use case audit trail</h2>', _trail_table(pack.get("useCaseAudit") or {}, f"use-case/{uc_id}"),
        f'<h2>Verifying offline</h2><p>{_e(pack.get("howToVerify"))} The whole pack is embedded in this page as JSON '
        f'(<code>script#{JSON_ID}</code>).</p>',
    ]
    for m in pack.get("models") or []:
        parts.append(f'<section class="model" data-group="{_e(m.get(schema.MODEL_GROUP))}"><h2>Model {_e(m.get(schema.MODEL_GROUP))}</h2>')
        parts.extend(_version(m, v) for v in m.get("versions") or [])
        if not m.get("versions"):
            parts.append('<p class="dim">no version registered</p>')
        parts.append("</section>")
    parts.append(f'<script type="application/json" id="{JSON_ID}">{embed_json(pack)}</script></body></html>')
    return "".join(parts)
