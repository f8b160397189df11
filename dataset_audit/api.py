"""The Python API for notebooks and scripts, and the one code path behind `audit run`.

    from dataset_audit import audit
    report = audit("images.csv", label_col="label", fail_on=["duplicates.near_rate>0.01"])
    report.passed, report.metrics["duplicates.near_rate"], report.findings.head()
    report.save_html("report.html")

`audit` takes a path (CSV/TSV/Parquet/JSON lines, or an image folder) or a pandas DataFrame, and the options of
`audit run` as keyword arguments (`label_col`, `split_col`, `fail_on`, `only`, `skip`, `sample`, `no_cache`, `baseline_file`, ...).
Settings are read as the CLI reads them: defaults < ./audit.toml or [tool.dataset-audit] in ./pyproject.toml (or
`config_file=`) < the keyword arguments. The CLI calls `make_config` and `run` below, so both give the same result.
"""

from __future__ import annotations

import importlib.resources
from collections import Counter
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from .baseline import (
    DEFAULT_BASELINE_GATE,
    BaselineOutcome,
    apply_baseline,
    read_baseline,
    wants_default_gate,
)
from .config import Config, build_config, find_config_file, read_config_file
from .dataset import Table, load_frame, load_table
from .errors import AuditUsageError
from .gates import evaluate, exit_code
from .pipeline import AuditResult, ProgressFactory, run_audit
from .report.base import write_atomically
from .report.html import HtmlReporter
from .report.json_report import JsonReporter, findings_document

# Keyword options `audit()` takes: the Config fields, plus `no_cache` as the CLI spells it.
OPTION_NAMES = frozenset({f.name for f in fields(Config)} - {"analysers", "config_source"} | {"no_cache"})
FINDING_COLUMNS = ["id", "analyser", "kind", "severity", "message", "rows", "paths", "detail"]
NOTEBOOK_FINDINGS_SHOWN = 10


def make_config(config_file: str | Path | None = None, settings: dict[str, dict[str, Any]] | None = None,
                use_config_file: bool = True, **options: Any) -> Config:
    """The Config for a run: defaults < config file < `options` (None means "not given").

    `config_file` defaults to ./audit.toml or ./pyproject.toml's [tool.dataset-audit] (as the CLI does; pass
    use_config_file=False to ignore them); `settings` holds per-analyser settings, e.g. {"quality": {"dark_max": 20}}.
    """
    unknown = sorted(set(options) - OPTION_NAMES)
    if unknown:
        raise AuditUsageError(f"unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(OPTION_NAMES))}")
    file_path = Path(config_file) if config_file else (find_config_file(Path.cwd()) if use_config_file else None)
    file_settings = read_config_file(file_path) if file_path else {}
    given = dict(options)
    if given.pop("no_cache", None):
        given["use_cache"] = False
    for name in ("only", "skip", "fail_on"):
        if isinstance(given.get(name), str):
            given[name] = [given[name]]
    config = build_config(file_settings, given, source=str(file_path) if file_path else None)
    for analyser, values in (settings or {}).items():
        config.analysers.setdefault(analyser, {}).update(values)
    return config


def run(data: str | Path | pd.DataFrame, config: Config, progress: ProgressFactory | None = None,
        on_table: Callable[[Table], None] | None = None) -> AuditReport:
    """Load, scan, analyse, compare with the baseline (if any) and gate. Writes nothing but the scan cache.
    `on_table` sees the loaded table before the scan (the CLI prints its notes then)."""
    baseline = read_baseline(config.baseline_file) if config.baseline_file else None  # a bad file fails before the scan
    if baseline is not None and wants_default_gate(config.fail_on):
        config.fail_on = [*config.fail_on, DEFAULT_BASELINE_GATE]
    table = load_frame(data, config) if isinstance(data, pd.DataFrame) else load_table(Path(data), config)
    if on_table is not None:
        on_table(table)
    result = run_audit(table, config, progress)
    if baseline is not None:
        result.baseline = apply_baseline(result.sections, baseline)
        result.metrics.update(result.baseline.metrics())
        result.gates = [evaluate(g.gate, result.metrics) for g in result.gates]
    return AuditReport(result)


def audit(data: str | Path | pd.DataFrame, *, config_file: str | Path | None = None,
          settings: dict[str, dict[str, Any]] | None = None, use_config_file: bool = True,
          progress: ProgressFactory | None = None, **options: Any) -> AuditReport:
    """Audit a table of image paths (a file, an image folder, or a DataFrame) with `audit run`'s options."""
    config = make_config(config_file, settings, use_config_file=use_config_file, **options)
    return run(data, config, progress)


class AuditReport:
    """One audit's outcome: metrics, findings and gates as plain Python / pandas, plus the report files."""

    def __init__(self, result: AuditResult) -> None:
        self.result = result

    @property
    def metrics(self) -> dict[str, float]:
        return dict(self.result.metrics)

    @property
    def findings(self) -> pd.DataFrame:
        """One row per finding (known ones removed under a baseline); `rows` are 0-based input row numbers."""
        records = [{"id": f.id, "analyser": f.analyser, "kind": f.kind, "severity": f.severity, "message": f.message,
                    "rows": list(f.rows), "paths": list(f.paths), "detail": f.detail} for f in self.result.findings]
        return pd.DataFrame.from_records(records, columns=FINDING_COLUMNS)

    @property
    def gates(self) -> pd.DataFrame:
        return pd.DataFrame.from_records(
            [{"expr": g.gate.expr, "metric": g.gate.metric, "op": g.gate.op, "threshold": g.gate.threshold,
              "value": g.value, "passed": g.passed} for g in self.result.gates],
            columns=["expr", "metric", "op", "threshold", "value", "passed"])

    @property
    def exit_code(self) -> int:
        """What `audit run` exits with: 0 all gates pass and every analyser ran, 1 otherwise."""
        return exit_code(self.result.gates, analyser_errors=len(self.result.analyser_errors))

    @property
    def passed(self) -> bool:
        return self.exit_code == 0

    @property
    def baseline(self) -> BaselineOutcome | None:
        return self.result.baseline

    def to_dict(self) -> dict[str, Any]:
        """The findings.json document."""
        return findings_document(self.result)

    def save_html(self, path: str | Path) -> Path:
        """Write the self-contained report.html (thumbnails inlined) to `path`."""
        return write_atomically(Path(path), HtmlReporter().render(self.result))

    def save_json(self, path: str | Path) -> Path:
        return write_atomically(Path(path), JsonReporter().pieces(self.result))

    def __repr__(self) -> str:
        failed = sum(1 for g in self.result.gates if not g.passed)
        return (f"<AuditReport {self.result.table.source}: {len(self.result.table):,} rows, "
                f"{len(self.result.findings):,} findings, {failed} of {len(self.result.gates)} gates failed>")

    def _repr_html_(self) -> str:
        return _notebook_summary(self)


def _notebook_summary(report: AuditReport) -> str:
    """The inline Jupyter summary: gates, per-analyser counts and the first findings (escaped by Jinja)."""
    result = report.result
    loader = jinja2.FileSystemLoader(str(importlib.resources.files("dataset_audit.templates")))
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined)
    sections = [{"name": s.name, "status": "error" if s.error else "skipped" if s.skipped else "ok",
                 "reason": s.error or s.skipped or "", "counts": Counter(f.severity for f in s.findings)}
                for s in result.sections]
    order = {"error": 0, "warning": 1, "info": 2}
    top = sorted(result.findings, key=lambda f: (order[f.severity], -len(f.rows)))[:NOTEBOOK_FINDINGS_SHOWN]
    return env.get_template("notebook.html.j2").render(
        report=report, result=result, sections=sections, top=top, total_findings=len(result.findings))
