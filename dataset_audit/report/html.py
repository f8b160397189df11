"""report.html: build a view model from the AuditResult, then let the Jinja templates lay it out.

Nothing here computes a statistic; it only chooses what to show (capped), loads thumbnails for it and formats.
Size grows with the caps (montage_max, findings shown per section, the explorer sample), not with the dataset.
"""

from __future__ import annotations

import datetime as dt
import importlib.resources
from collections import Counter
from collections.abc import Callable
from typing import Any

import jinja2
from plotly.offline import get_plotlyjs

from ..pipeline import AuditResult
from ..scan.runner import resolve_jobs
from .base import ProgressFactory
from .thumbnails import array_uri, make_thumbnails

FINDINGS_SHOWN_PER_SECTION = 100
THUMBS_PER_FINDING = 8
MONTAGE_SIDE = 96
EXPLORER_SIDE = 40
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
GENERATOR = "dataset-audit"


def _environment() -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(str(importlib.resources.files("dataset_audit.templates")))
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _format_number
    env.filters["pct"] = lambda v: f"{v:.1%}"
    return env


def _format_number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return str(value)


class _RowInfo:
    """Captions for table rows: input row number, path as written, label, split."""

    def __init__(self, result: AuditResult) -> None:
        table = result.table
        self.table = table
        self.paths = table.paths()
        self.labels = table.labels()
        self.splits = table.column_values(table.split_col)
        self.errors = result.features.frame["error"].tolist() if result.features is not None else None

    def describe(self, position: int) -> dict[str, Any]:
        return {
            "row": self.table.original_row(position),
            "path": self.paths[position] if self.paths else "",
            "label": self.labels[position] if self.labels is not None else None,
            "split": self.splits[position] if self.splits is not None else None,
            "error": self.errors[position] if self.errors is not None else "",
            "caption": "",
        }


def build_view(result: AuditResult, progress: Callable[[str, int], Callable[[int], None]] | None = None) -> dict:
    rows = _RowInfo(result)
    thumb_requests: dict[int, int] = {}

    def want(position: int, side: int = MONTAGE_SIDE) -> int:
        thumb_requests[position] = max(side, thumb_requests.get(position, 0))
        return position

    sections = []
    for section in result.sections:
        findings = sorted(section.findings, key=lambda f: (SEVERITY_ORDER[f.severity], -len(f.rows)))
        shown = []
        for finding in findings[:FINDINGS_SHOWN_PER_SECTION]:
            positions = finding.positions or finding.rows
            shown.append({
                "finding": finding,
                "items": [rows.describe(want(p)) | {"position": p} for p in positions[:THUMBS_PER_FINDING]]
                if not result.table.tabular_only else [],
                "more": max(0, len(positions) - THUMBS_PER_FINDING),
            })
        montages = [{
            "montage": montage,
            "items": [rows.describe(want(item.row)) | {"position": item.row, "caption": item.caption}
                      for item in montage.items],
        } for montage in section.montages] if not result.table.tabular_only else []
        explorers = [_explorer_view(explorer, rows, want) for explorer in section.explorers]
        sections.append({
            "section": section,
            "severity": Counter(f.severity for f in section.findings),
            "findings": shown,
            "hidden_findings": max(0, len(findings) - FINDINGS_SHOWN_PER_SECTION),
            "montages": montages,
            "galleries": [{"gallery": g, "images": [{"block": b, "src": array_uri(b.pixels)} for b in g.images]}
                          for g in section.galleries],
            "charts": [{"id": f"chart-{section.name}-{i}", "chart": c,
                        "spec": {"data": c.traces, "layout": _layout(c)}} for i, c in enumerate(section.charts)],
            "explorers": explorers,
            "metrics": {k: v for k, v in section.metrics.items()},
        })

    thumbs: dict[int, str | None] = {}
    if thumb_requests and not result.table.tabular_only:
        callback = progress("Drawing thumbnails", len(thumb_requests)) if progress else None
        thumbs = make_thumbnails(thumb_requests, result.table.resolved_paths(), jobs=resolve_jobs(result.config.jobs),
                                 progress=callback)
    for view in sections:
        for explorer in view["explorers"]:
            explorer["data"]["images"] = [thumbs.get(p) for p in explorer["positions"]]
    return {
        "result": result,
        "generator": GENERATOR,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "summary": _summary(result),
        "sections": sections,
        "thumbs": thumbs,
        "table": result.table,
        "scan": result.features.stats if result.features is not None else None,
    }


def _layout(chart) -> dict:
    # The top margin leaves room for plotly's mode bar, which would otherwise cover the legend's first entry.
    layout = {"title": {"text": ""}, "margin": {"l": 55, "r": 15, "t": 30, "b": 45}, "height": 320,
              "template": None, "font": {"size": 11}}
    layout.update(chart.layout)
    return layout


def _explorer_view(explorer, rows: _RowInfo, want: Callable[[int, int], int]) -> dict:
    for position in explorer.rows:
        want(position, EXPLORER_SIDE)
    return {
        "explorer": explorer,
        "positions": list(explorer.rows),
        "data": {"x": explorer.x, "y": explorer.y, "colour": explorer.colour, "hover": explorer.hover,
                 "flags": explorer.flags,
                 "rows": [rows.table.original_row(p) for p in explorer.rows]},
    }


def _summary(result: AuditResult) -> dict:
    counts = []
    for section in result.sections:
        severity = Counter(f.severity for f in section.findings)
        counts.append({"name": section.name, "title": section.title, "errors": severity.get("error", 0),
                       "warnings": severity.get("warning", 0), "infos": severity.get("info", 0),
                       "status": "error" if section.error else "skipped" if section.skipped else "ok",
                       "reason": section.error or section.skipped,
                       "rows": len({r for f in section.findings for r in f.rows})})
    look_first = sorted((c for c in counts if c["errors"] or c["warnings"]),
                        key=lambda c: (-c["errors"], -c["warnings"], -c["rows"]))[:5]
    return {"sections": counts, "look_first": look_first,
            "failed_gates": [g for g in result.gates if not g.passed]}


def render_html(result: AuditResult, progress=None) -> str:
    env = _environment()
    view = build_view(result, progress)
    templates = importlib.resources.files("dataset_audit.templates")
    view["css"] = (templates / "report.css").read_text(encoding="utf-8")
    view["script"] = (templates / "report.js").read_text(encoding="utf-8")
    view["plotly_js"] = get_plotlyjs()
    view["partial_for"] = lambda name: (f"_{name}.html.j2" if (templates / f"_{name}.html.j2").is_file()
                                        else "_section.html.j2")
    return env.get_template("base.html.j2").render(**view)


class HtmlReporter:
    """report.html: one self-contained page (see the module docstring)."""

    name = "html"
    filename = "report.html"

    def render(self, result: AuditResult, progress: ProgressFactory | None = None) -> str:
        return render_html(result, progress)

