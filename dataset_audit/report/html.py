"""report.html: build a view model from the AuditResult, then let the Jinja templates lay it out.

Nothing here computes a statistic; it only chooses what to show, loads thumbnails for it and formats. The page
opens on a verdict and the top fixes, then one section per analyser (charts, a compact findings list that opens
into montages), then the samples explorer: every row (see explorer.py for the cap) with a sprite-sheet thumbnail,
its values, scores and findings, filtered, searched, sorted and paged by report.js.

Every text that reaches plotly is HTML-escaped first (plotly renders a subset of HTML in labels, so a label
`<a href=...>` would otherwise become a live link), and a Content-Security-Policy lets the page run only its own
inline scripts (by hash) and show only data: images: nothing is fetched or sent anywhere.

Size: plotly.js (~4.8 MB) + one ~0.25 KB tile and ~0.1 KB of values per explorer row + the capped montages.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import importlib.resources
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jinja2
from plotly.offline import get_plotlyjs

from ..dataset import ImagePath
from ..model import Finding, Section
from ..pipeline import AuditResult
from ..scan.runner import resolve_jobs
from . import explorer as explorer_module
from .base import ProgressFactory
from .explorer import ExplorerRows, choose_rows, explorer_document, interleave_splits, ordered_findings
from .sprites import TILE_SIDE, StoredTiles, make_sprites
from .thumbnails import array_uri, make_thumbnails

FINDINGS_SHOWN_PER_SECTION = 500  # the rest are in the explorer, the section's CSV and findings.json
TOP_FIXES = 5
MONTAGE_SIDE = 96
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
GENERATOR = "dataset-audit"
# Keys whose string values plotly reads as templates we wrote: escaped like the rest, then our own tags restored.
PLOTLY_TEMPLATE_KEYS = {"hovertemplate", "texttemplate"}
PLOTLY_OWN_TAGS = ("<extra>", "</extra>", "<br>")
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True, "showSendToCloud": False, "showEditInChartStudio": False,
                 "modeBarButtonsToRemove": ["sendDataToCloud", "editInChartStudio", "toImage"]}


def _environment() -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(str(importlib.resources.files("dataset_audit.templates")))
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    # Compact JSON: the default ", " separators alone cost ~0.8 MB in a 60,000-row explorer.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "separators": (",", ":")}
    env.filters["num"] = _format_number
    env.filters["pct"] = _percent
    env.filters["plural"] = _plural
    return env


def _format_number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return str(value)


def _percent(value: float) -> str:
    """One decimal, but never "0.0%" for a share that is not zero (2 rows of 10,000 read 0.02%)."""
    return f"{value:.2%}" if 0 < value < 0.001 else f"{value:.1%}"


def _plural(count: int, noun: str, plural: str | None = None) -> str:
    """'1 image', '2 images' (noun given in the singular; irregular plurals as `plural`)."""
    return f"{_format_number(count)} {noun if count == 1 else plural or noun + 's'}"


def plotly_safe(value: Any, key: str = "") -> Any:
    """A chart spec with every string HTML-escaped, so plotly shows user text as text, never as markup."""
    if isinstance(value, dict):
        return {k: plotly_safe(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plotly_safe(v, key) for v in value]
    if isinstance(value, str):
        escaped = html.escape(value, quote=False)
        if key in PLOTLY_TEMPLATE_KEYS:
            for tag in PLOTLY_OWN_TAGS:
                escaped = escaped.replace(html.escape(tag), tag)
        return escaped
    return value


class _RowInfo:
    """Captions for table rows: input row number, path as written, label, split, explorer index."""

    def __init__(self, result: AuditResult, rows: ExplorerRows) -> None:
        table = result.table
        self.table = table
        self.rows = rows
        self.paths = table.paths()
        self.labels = table.labels()
        self.splits = table.column_values(table.split_col)
        self.errors = result.features.frame["error"].tolist() if result.features is not None else None

    def describe(self, position: int, caption: str = "") -> dict[str, Any]:
        return {
            "index": self.rows.index_of.get(position),
            "row": self.table.original_row(position),
            "path": self.paths[position] if self.paths else "",
            "label": self.labels[position] if self.labels is not None else None,
            "split": self.splits[position] if self.splits is not None else None,
            "error": self.errors[position] if self.errors is not None else "",
            "caption": caption,
        }


def _pictured_positions(result: AuditResult) -> set[int]:
    """Rows the page shows a picture of (montages, maps): the explorer lists all of them."""
    shown: set[int] = set()
    for section in result.sections:
        shown.update(item.row for montage in section.montages for item in montage.items)
        shown.update(row for explorer in section.explorers for row in explorer.rows)
    return shown


def _stored_tiles(result: AuditResult, positions: list[int]) -> StoredTiles | None:
    """The scan's tiles for explorer tile indices (tile i shows the row at positions[i]), when the scan kept them."""
    features = result.features
    if features is None or features.tiles is None:
        return None
    tiles, file_ids = features.tiles, features.file_ids

    def lookup(indices: Sequence[int]) -> dict[int, tuple[int, int, bytes]]:
        files = {index: int(file_ids[positions[index]]) for index in indices}
        found = tiles.get_raw(sorted(set(files.values())))
        return {index: found[file] for index, file in files.items() if file in found}

    return lookup


def _tile_identities(result: AuditResult, positions: list[int],
                     resolved: Mapping[int, ImagePath | None]) -> list[str] | None:
    """What each explorer tile shows, for the sprite cache: the scan's hash of the image file's bytes (the tile is
    made from them), or the path of a file the scan did not read (a tile drawn now from whatever is there)."""
    if result.features is None:
        return None
    byte_hash = result.features.frame["byte_hash"].to_numpy()[positions].tolist()
    return [f"b{value}" if value else f"p{resolved[p]}" for value, p in zip(byte_hash, positions, strict=True)]


def build_view(result: AuditResult, progress: Callable[[str, int], Callable[[int], None]] | None = None) -> dict:
    table = result.table
    images = not table.tabular_only
    findings = ordered_findings(result.sections)
    number_of = {id(finding): i for i, (_, finding) in enumerate(findings)}
    splits = table.column_values(table.split_col)
    groups = [interleave_splits(finding.positions or finding.rows, splits) for _, finding in findings]
    explorer_rows = choose_rows(len(table), _pictured_positions(result), groups, result.config.seed,
                                explorer_module.EXPLORER_MAX_ROWS)
    del groups
    rows = _RowInfo(result, explorer_rows)
    jobs = resolve_jobs(result.config.jobs)

    sprites = None
    if images:
        resolved = table.resolved_paths_at(explorer_rows.positions)  # montage rows are among them (pictured)
        callback = progress("Drawing thumbnails", len(explorer_rows.positions)) if progress else None
        config = result.config
        sprites = make_sprites([resolved[p] for p in explorer_rows.positions], jobs=jobs, progress=callback,
                               stored=_stored_tiles(result, explorer_rows.positions),
                               cache_dir=config.cache_dir if config.use_cache else None,
                               identities=_tile_identities(result, explorer_rows.positions, resolved))

    sections = [_section_view(section, rows, number_of, images) for section in result.sections]
    # Montage rows get a larger thumbnail ({position: data URI}, for partials that draw their own pictures); the
    # explorer data carries it only where the image is larger than a sprite tile (else the tile is as sharp).
    thumbs: dict[int, str | None] = {}
    big: dict[int, str] = {}
    if images and result.features is not None:
        wanted = {item["position"]: MONTAGE_SIDE for view in sections for m in view["montages"] for item in m["items"]}
        if wanted:
            thumbs = make_thumbnails(wanted, resolved, jobs=jobs)
        larger = (result.features.frame[["width", "height"]].max(axis=1) > TILE_SIDE).to_numpy()
        big = {explorer_rows.index_of[p]: uri for p, uri in thumbs.items() if uri and larger[p]}
    document = explorer_document(result, explorer_rows, findings)
    document["sprites"] = sprites.as_json() if sprites is not None else None
    document["big"] = big
    document["plotlyConfig"] = PLOTLY_CONFIG
    return {
        "result": result,
        "generator": GENERATOR,
        "generated": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "summary": _summary(result, findings, rows),
        "sections": sections,
        "explorer": document,
        "explorer_note": explorer_rows.note,
        "thumbs": thumbs,
        "images": images,
        "table": table,
        "scan": result.features.stats if result.features is not None else None,
    }


def _section_view(section: Section, rows: _RowInfo, number_of: dict[int, int], images: bool) -> dict:
    findings = sorted(section.findings, key=lambda f: (SEVERITY_ORDER[f.severity], -len(f.rows)))
    shown = []
    for finding in findings[:FINDINGS_SHOWN_PER_SECTION]:
        positions = interleave_splits(finding.positions or finding.rows, rows.splits)
        shown.append({"finding": finding, "id": number_of[id(finding)],
                      "splits": sorted({rows.splits[p] for p in positions}) if rows.splits else []})
    montages = [{"montage": montage, "items": [rows.describe(item.row, item.caption) | {"position": item.row}
                                               for item in montage.items]}
                for montage in section.montages] if images else []
    return {
        "section": section,
        "severity": Counter(f.severity for f in section.findings),
        "rows_involved": len({r for f in section.findings for r in f.rows}),
        "findings": shown,
        "hidden_findings": max(0, len(findings) - FINDINGS_SHOWN_PER_SECTION),
        "montages": montages,
        "galleries": [{"gallery": g, "images": [{"block": b, "src": array_uri(b.pixels)} for b in g.images]}
                      for g in section.galleries],
        "charts": [{"id": f"chart-{section.name}-{i}", "chart": c,
                    "spec": plotly_safe({"data": c.traces, "layout": _layout(c)})}
                   for i, c in enumerate(section.charts)],
        "explorers": [_map_view(explorer, rows) for explorer in section.explorers],
        "metrics": dict(section.metrics),
    }


def _layout(chart) -> dict:
    # automargin: long category names (target leakage's one-column chart) get room instead of being clipped.
    layout = {"title": {"text": ""}, "margin": {"l": 55, "r": 15, "t": 30, "b": 45}, "height": 320,
              "template": None, "font": {"size": 11}, "xaxis": {"automargin": True}, "yaxis": {"automargin": True}}
    for key, value in chart.layout.items():
        if isinstance(value, dict) and isinstance(layout.get(key), dict):
            layout[key] = {**layout[key], **value}
        else:
            layout[key] = value
    return layout


def _map_view(explorer, rows: _RowInfo) -> dict:
    """A 2-D map (t-SNE) as points tied to explorer rows; report.js escapes its text for plotly."""
    return {
        "explorer": explorer,
        "data": {"x": explorer.x, "y": explorer.y, "colour": explorer.colour, "hover": explorer.hover,
                 "flags": explorer.flags, "index": [rows.rows.index_of[p] for p in explorer.rows]},
    }


def _summary(result: AuditResult, findings: list[tuple[Section, Finding]], rows: _RowInfo) -> dict:
    total = len(result.table)
    counts = []
    for section in result.sections:
        severity = Counter(f.severity for f in section.findings)
        counts.append({"name": section.name, "title": section.title, "errors": severity.get("error", 0),
                       "warnings": severity.get("warning", 0), "infos": severity.get("info", 0),
                       "ran": "failed" if section.error else "skipped" if section.skipped else "ran",
                       "reason": section.error or section.skipped,
                       "rows": len({r for f in section.findings for r in f.rows})})
    failed_gates = [g for g in result.gates if not g.passed]
    severity = Counter(f.severity for _, f in findings)
    problem_rows = {r for _, f in findings if f.severity != "info" for r in f.rows}
    fixes = _fixes(findings, rows, total, result.table.tabular_only)
    return {"sections": counts, "failed_gates": failed_gates, "verdict": _verdict(result, severity, failed_gates),
            "errors": severity.get("error", 0), "warnings": severity.get("warning", 0),
            "infos": severity.get("info", 0), "problem_rows": len(problem_rows), "total": total,
            "fixes": fixes[:TOP_FIXES], "more_fixes": max(0, len(fixes) - TOP_FIXES)}


def _fixes(findings: list[tuple[Section, Finding]], rows: _RowInfo, total: int, tabular_only: bool) -> list[dict]:
    """Errors and warnings grouped by (analyser, kind): one fix per kind of problem, the worst and widest first."""
    groups: dict[tuple[str, str], list[tuple[Section, Finding]]] = {}
    for section, finding in findings:
        if finding.severity != "info":
            groups.setdefault((finding.analyser, finding.kind), []).append((section, finding))
    fixes = []
    for (analyser, kind), members in groups.items():
        section, largest = max(members, key=lambda pair: (-SEVERITY_ORDER[pair[1].severity], len(pair[1].rows)))
        involved = {r for _, f in members for r in f.rows}
        positions = interleave_splits(largest.positions or largest.rows, rows.splits)
        fixes.append({"section": section, "analyser": analyser, "kind": kind, "severity": largest.severity,
                      "findings": len(members), "message": largest.message, "count": len(involved),
                      "share": len(involved) / total if total else 0.0,
                      "item": rows.describe(positions[0]) if positions and not tabular_only else None})
    fixes.sort(key=lambda f: (SEVERITY_ORDER[f["severity"]], -f["count"], -f["findings"]))
    return fixes


def _verdict(result: AuditResult, severity: Counter, failed_gates: list) -> dict:
    failed = [s.name for s in result.sections if s.error]
    if failed_gates or severity.get("error"):
        return {"level": "bad", "text": "Not fit to train on as it is: fix the errors below first."}
    if failed:
        return {"level": "warn", "text": f"Incomplete: {len(failed)} check(s) failed to run ({', '.join(failed)}), "
                                         "so this audit cannot vouch for the dataset."}
    if severity.get("warning"):
        return {"level": "warn", "text": "Usable with care: no errors, but the warnings below can skew training."}
    return {"level": "ok", "text": "Fit to train on, as far as these checks go: no errors or warnings."}


INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)  # executable inline scripts are bare <script> tags
CSP_PLACEHOLDER = "__content_security_policy__"


def content_security_policy(scripts: list[str]) -> str:
    """Only these inline scripts run; images only from data: URIs; nothing may be fetched, framed or posted."""
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode('utf-8')).digest()).decode()}'"
                      for s in scripts)
    return (f"default-src 'none'; script-src {hashes}; style-src 'unsafe-inline'; img-src data:; font-src data:; "
            "base-uri 'none'; form-action 'none'")


def render_html(result: AuditResult, progress=None) -> str:
    env = _environment()
    view = build_view(result, progress)
    templates = importlib.resources.files("dataset_audit.templates")
    view["css"] = (templates / "report.css").read_text(encoding="utf-8")
    view["script"] = (templates / "report.js").read_text(encoding="utf-8")
    view["plotly_js"] = get_plotlyjs()
    view["csp"] = CSP_PLACEHOLDER
    view["partial_for"] = lambda name: (f"_{name}.html.j2" if (templates / f"_{name}.html.j2").is_file()
                                        else "_section.html.j2")
    page = env.get_template("base.html.j2").render(**view)
    # The policy admits each bare <script> of the rendered page (report.js, plotly.js, a partial's own script) by
    # its hash. Autoescaping keeps user text from ever forming a tag; the policy stops what escaping cannot see:
    # event-handler attributes and javascript: links (plotly renders HTML in labels), eval, and any network access.
    return page.replace(CSP_PLACEHOLDER, content_security_policy(INLINE_SCRIPT.findall(page)), 1)


class HtmlReporter:
    """report.html: one self-contained page (see the module docstring)."""

    name = "html"
    filename = "report.html"

    def render(self, result: AuditResult, progress: ProgressFactory | None = None) -> str:
        return render_html(result, progress)
