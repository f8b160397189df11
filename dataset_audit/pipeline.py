"""The run: select analysers, scan once, analyse, attach paths, evaluate gates. No printing, no files."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

from . import __version__
from .analysers import REGISTRY, metric_catalogue
from .baseline import BASELINE_METRICS, BaselineOutcome
from .config import Config
from .dataset import Table
from .errors import AuditUsageError
from .finding_ids import assign_ids
from .gates import Gate, GateResult, evaluate, parse_gate
from .model import Analyser, AuditInput, Finding, Section
from .scan import Features, scan_images
from .scan.runner import ProgressCallback

ProgressFactory = Callable[[str, int], ProgressCallback]


@dataclass
class AuditResult:
    table: Table
    features: Features | None
    sections: list[Section]
    metrics: dict[str, float]
    gates: list[GateResult]
    config: Config
    seconds: float = 0.0
    tool_version: str = __version__
    timings: dict[str, float] = field(default_factory=dict)
    baseline: BaselineOutcome | None = None  # set when findings were compared with a --baseline file

    @property
    def findings(self) -> list[Finding]:
        return [f for s in self.sections for f in s.findings]

    @property
    def analyser_errors(self) -> list[Section]:
        return [s for s in self.sections if s.error]


def select_analysers(config: Config, registry: list[Analyser] = REGISTRY) -> list[Analyser]:
    names = [a.name for a in registry]
    for option, chosen in (("--only", config.only), ("--skip", config.skip)):
        unknown = [n for n in chosen if n not in names]
        if unknown:
            raise AuditUsageError(f"{option}: unknown analyser(s) {', '.join(unknown)}. Known: {', '.join(names)}")
    where = config.config_source or "config"
    unknown_tables = sorted(set(config.analysers) - set(names))
    if unknown_tables:
        raise AuditUsageError(f"{where}: no analyser is called {', '.join(unknown_tables)} (settings tables must be "
                              f"analyser names: {', '.join(names)})")
    for analyser in registry:
        unknown = sorted(set(config.analysers.get(analyser.name, {})) - set(analyser.settings))
        if unknown:
            known = ", ".join(analyser.settings) or "none"
            raise AuditUsageError(f"{where}: [{analyser.name}] has no setting {', '.join(unknown)} (known: {known})")
    return [a for a in registry if (not config.only or a.name in config.only) and a.name not in config.skip]


def parse_gates(config: Config) -> list[Gate]:
    catalogue = metric_catalogue() | BASELINE_METRICS
    return [parse_gate(expr, catalogue) for expr in config.fail_on]


def run_audit(table: Table, config: Config, progress: ProgressFactory | None = None) -> AuditResult:
    started = time.perf_counter()
    gates = parse_gates(config)  # fail on a bad gate before the long scan
    analysers = select_analysers(config)
    timings: dict[str, float] = {}
    features: Features | None = None
    wants_images = any(a.needs_images for a in analysers)
    if not table.tabular_only and wants_images:
        paths = table.resolved_paths()
        callback = progress("Scanning images", len(set(map(str, paths)))) if progress else None
        features = scan_images(paths, jobs=config.jobs, cache_dir=config.cache_dir if config.use_cache else None,
                               progress=callback)
        timings["scan"] = features.stats.seconds
    data = AuditInput(table=table, features=features, config=config)
    sections = []
    advance = progress("Analysing", len(analysers)) if progress else None
    for analyser in analysers:
        t0 = time.perf_counter()
        section = _run_one(analyser, data)
        sections.append(section)
        timings[f"analyse.{analyser.name}"] = time.perf_counter() - t0
        timings.update({f"analyse.{analyser.name}.{step}": s for step, s in section.timings.items()})
        if advance:
            advance(1)
    _attach_paths(sections, table)
    assign_ids([f for s in sections for f in s.findings], table)
    metrics = {k: v for s in sections for k, v in s.metrics.items()}
    results = [evaluate(g, metrics) for g in gates]
    return AuditResult(table=table, features=features, sections=sections, metrics=metrics, gates=results,
                       config=config, seconds=time.perf_counter() - started, timings=timings)


def _run_one(analyser: Analyser, data: AuditInput) -> Section:
    if analyser.needs_images and data.features is None:
        reason = ("tabular-only audit: no image path column" if data.table.tabular_only
                  else "images were not scanned")
        return Section(name=analyser.name, title=analyser.title, skipped=reason)
    try:
        section = analyser.run(data)
    except Exception as exc:  # noqa: BLE001 - one failing analyser must not sink the audit
        detail = traceback.format_exc(limit=6)
        section = Section(name=analyser.name, title=analyser.title, error=f"{type(exc).__name__}: {exc}")
        section.findings.append(Finding(
            analyser=analyser.name, kind="analyser_error", severity="error",
            message=f"the {analyser.name} analyser failed: {type(exc).__name__}: {exc}", detail={"traceback": detail},
        ))
    section.name, section.title = analyser.name, section.title or analyser.title
    return section


def _attach_paths(sections: list[Section], table: Table) -> None:
    """Turn frame positions into input row numbers (they differ under --sample) and add the paths as written."""
    paths = table.paths()
    for section in sections:
        for finding in section.findings:
            positions = finding.rows
            finding.positions = list(positions)
            finding.rows = [table.original_row(p) for p in positions]
            finding.paths = [paths[p] for p in positions] if paths else []
