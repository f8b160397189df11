"""The run: select analysers, scan once, analyse, attach paths, evaluate gates. No printing, no files."""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from . import __version__, settings
from .analysers import REGISTRY
from .analysers._tabular import profile_table
from .analysers.embedding import forget_neighbourhood
from .analysis_cache import AnalysisCache, input_digest, section_key
from .baseline import BASELINE_METRICS, BaselineOutcome
from .config import Config
from .dataset import Table
from .errors import AuditUsageError
from .finding_ids import assign_ids
from .gates import Gate, GateResult, evaluate, parse_gate
from .incremental import FOLDER as INCREMENTAL_FOLDER
from .incremental import Reuse
from .lanes import lane_count, run_lanes
from .model import NEEDS, Analyser, AuditInput, Finding, Section
from .scan import Features, scan_images
from .scan.backend import scan_backend
from .scan.runner import ProgressCallback, resolve_jobs
from .scan.safe_read import ScanLimits
from .settings import SettingValues

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
    # Metrics an analyser defines but could not compute, with why ("no labels ..."); a gate on one fails.
    not_computed: dict[str, str] = field(default_factory=dict)
    # Analysers whose section came from the analysis cache (same inputs, settings and code as a previous run).
    from_cache: list[str] = field(default_factory=list)

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
    return [a for a in registry if (not config.only or a.name in config.only) and a.name not in config.skip]


def resolve_settings(config: Config, registry: list[Analyser] = REGISTRY) -> dict[str, SettingValues]:
    """Every analyser's settings, checked: an unknown table or key, or a value of the wrong type, is a usage error.
    All analysers are checked, selected or not, so a typo in a config file never waits for the day it is used."""
    names = [a.name for a in registry]
    where = config.config_source or "config"
    unknown_tables = sorted(set(config.analysers) - set(names))
    if unknown_tables:
        raise AuditUsageError(f"{where}: no analyser is called {', '.join(unknown_tables)} (settings tables must be "
                              f"analyser names: {', '.join(names)})")
    return {a.name: settings.resolve(a.settings, config.analysers.get(a.name, {}), f"{where}: [{a.name}]")
            for a in registry}


def missing_needs(needs: tuple[str, ...], table: Table, features: Features | None) -> str | None:
    """Why `needs` are not met (the first missing one), or None when they are."""
    for need in needs:
        if need in ("images", "decoded") and features is None:
            return "tabular-only audit: no image path column" if table.tabular_only else NEEDS["images"]
        if need == "decoded" and features is not None and not features.ok.any():
            return NEEDS["decoded"]
        if need == "labels":
            labels = table.labels()
            if labels is None:
                return NEEDS["labels"]
            if not any(labels):
                return f"the label column {table.label_col!r} is empty in every row"
        if need == "split" and table.split_col is None:
            return NEEDS["split"]
        if need == "two_classes":
            labels = table.labels()
            decoded = features.ok.tolist() if features is not None else [True] * len(table)
            if labels is None or len({label for label, ok in zip(labels, decoded, strict=True) if label and ok}) < 2:
                return NEEDS["two_classes"]
    return None
def parse_gates(config: Config, registry: list[Analyser] = REGISTRY) -> list[Gate]:
    catalogue = {name: metric.meaning for analyser in registry for name, metric in analyser.metrics.items()}
    catalogue |= BASELINE_METRICS
    return [parse_gate(expr, catalogue) for expr in config.fail_on]


def run_audit(table: Table, config: Config, progress: ProgressFactory | None = None,
              registry: list[Analyser] = REGISTRY) -> AuditResult:
    """The whole run. `registry` is the analysers to choose from (tests pass their own)."""
    started = time.perf_counter()
    gates = parse_gates(config, registry)  # fail on a bad gate or setting before the long scan
    settings_by_name = resolve_settings(config, registry)
    analysers = select_analysers(config, registry)
    timings: dict[str, float] = {}
    features: Features | None = None
    if not table.tabular_only and any(a.needs_images for a in analysers):
        paths = table.resolved_paths()
        callback = progress("Scanning images", len(set(map(str, paths)))) if progress else None
        with scan_backend(config.jobs, config.dask) as backend:  # --dask: a wrong address fails before the scan
            features = scan_images(paths, jobs=backend.jobs, cache_dir=config.cache_dir if config.use_cache else None,
                                   progress=callback, limits=ScanLimits(config.max_file_bytes, config.image_timeout),
                                   refused=table.outside_root(paths, urls=True) if config.confine_to_root else None,
                                   map_items=backend.map_items)
        del paths  # a path string per row: not kept through the analysers
        table.notes.extend(features.stats.warnings)  # e.g. a corrupt cache rebuilt: the report says so too
        timings["scan"] = features.stats.seconds
    profiles = profile_table(table) if any(a.uses_profiles for a in analysers) else None
    not_computed: dict[str, str] = {}
    from_cache: list[str] = []
    stored = _AnalysisStore(table, features, config)
    advance = progress("Analysing", len(analysers)) if progress else None
    found: list[Section | None] = [None] * len(analysers)
    seconds: list[float] = [0.0] * len(analysers)
    for position, analyser in enumerate(analysers):
        t0 = time.perf_counter()
        section = stored.get(analyser, settings_by_name[analyser.name])
        if section is not None:
            from_cache.append(analyser.name)
            section.timings = {}  # the stored run's step timings are not this run's
            found[position], seconds[position] = section, time.perf_counter() - t0
            if advance:
                advance(1)
    # The rest run side by side (lanes.py), the costliest first, analysers that share a search as one task and an
    # analyser's side part (SidePart) as a task of its own (lane_tasks); sections keep the registry's order.
    pending = sorted((p for p, s in enumerate(found) if s is None), key=lambda p: -analysers[p].cost)
    reuse = Reuse(config.cache_dir / INCREMENTAL_FOLDER) if config.incremental and config.use_cache else None
    inputs = {p: prepared_input(analysers[p], AuditInput(table=table, features=features, config=config,
                                                          settings=settings_by_name[analysers[p].name],
                                                          profiles=profiles, reuse=reuse)) for p in pending}
    tasks = lane_tasks([analysers[p] for p in pending], pending)
    mains: dict[int, Section] = {}
    sides: dict[int, SideOutcome] = {}

    def run_task(task: int) -> list[tuple[Section | SideOutcome, float]]:
        out: list[tuple[Section | SideOutcome, float]] = []
        for position, part in tasks[task]:
            started = time.perf_counter()
            analyser, data = analysers[position], inputs[position]
            result = run_side(analyser, data) if part == SIDE else run_main(analyser, data)
            out.append((result, time.perf_counter() - started))
        return out

    def finished(task: int, results: list[tuple[Section | SideOutcome, float]], _: float) -> None:
        for (position, part), (result, took) in zip(tasks[task], results, strict=True):
            analyser = analysers[position]
            if part == SIDE:
                assert isinstance(result, SideOutcome)
                sides[position] = result
            else:
                assert isinstance(result, Section)
                mains[position], seconds[position] = result, took
            if position not in mains or (analyser.side is not None and position not in sides):
                continue  # the other part is still running
            section = mains.pop(position)
            if analyser.side is not None:
                merge_side(analyser, section, sides.pop(position))
            stored.put(analyser, settings_by_name[analyser.name], section)
            found[position] = section
            if advance:
                advance(1)

    t0 = time.perf_counter()
    costly = sum(max(_task_cost(analysers[p], part) for p, part in task) > 1 for task in tasks)  # worth a helper
    cores = resolve_jobs(config.jobs)
    # One costly task more than the cores gets a lane of its own: the tasks all start at once and the OS shares the
    # cores, where with a lane per core one lane stands idle while the other works through two tasks. With more
    # tasks than that, the short ones fill the gaps of a lane per core. On 2 cores (3 interleaved runs each): the
    # CIFAR-10 test folder (duplicates, t-SNE map, labels + embedding) took 8.0-8.3 s of analysers in 3 lanes
    # against 8.3-9.3 in 2; 10,000 synthetic images with splits (drift too) 9.1-10.1 in 2 against 9.4-10.8 in 3.
    extra = int(cores > 1 and costly == cores + 1)
    try:
        run_lanes(run_task, len(tasks), lane_count(cores + extra, costly), finished, movable=costly, cores=cores)
    finally:
        forget_neighbourhood()  # shared by the embedding and labels analysers; not kept past them
    timings["analyse"] = time.perf_counter() - t0
    sections = [s for s in found if s is not None]
    for analyser, section, took in zip(analysers, sections, seconds, strict=True):
        not_computed.update(_drop_uncomputable(analyser, section, table, features))
        timings[f"analyse.{analyser.name}"] = took
        timings.update({f"analyse.{analyser.name}.{step}": s for step, s in section.timings.items()})
    stored.close()
    table.notes.extend(stored.notes)
    _attach_paths(sections, table)
    assign_ids([f for s in sections for f in s.findings], table)
    metrics = {k: v for s in sections for k, v in s.metrics.items()}
    results = [evaluate(g, metrics) for g in gates]
    return AuditResult(table=table, features=features, sections=sections, metrics=metrics, gates=results,
                       config=config, seconds=time.perf_counter() - started, timings=timings,
                       not_computed=not_computed, from_cache=from_cache)


MAIN, SIDE = "main", "side"  # the two parts of an analyser as lane tasks name them (SIDE: its SidePart)


def _task_cost(analyser: Analyser, part: str) -> int:
    return analyser.side.cost if part == SIDE and analyser.side is not None else analyser.cost


def lane_tasks(analysers: list[Analyser], positions: list[int]) -> list[list[tuple[int, str]]]:
    """The lanes' tasks: each a list of (position, MAIN or SIDE) run one after the other in one lane. Analysers that
    share an intermediate result (Analyser.shares) form one task, in their given order; the others are one each, and
    an analyser's side part is a task of its own. Ordered by the costliest member, costliest first (the first task
    runs in this process: at 1M images the duplicate search's memory must stay here, see lanes.run_lanes)."""
    tasks: list[list[tuple[int, str]]] = []
    together: dict[str, list[tuple[int, str]]] = {}
    by_position = dict(zip(positions, analysers, strict=True))
    for analyser, position in zip(analysers, positions, strict=True):
        if analyser.shares:
            if analyser.shares not in together:
                together[analyser.shares] = []
                tasks.append(together[analyser.shares])
            together[analyser.shares].append((position, MAIN))
        else:
            tasks.append([(position, MAIN)])
        if analyser.side is not None:
            tasks.append([(position, SIDE)])
    return sorted(tasks, key=lambda task: -max(_task_cost(by_position[p], part) for p, part in task))


class _AnalysisStore:
    """The analysis cache as the run uses it: only when the scan cache is on, only for the package's own analysers
    (a test's or a plugin's analyser has no source digest), and only sections that ran cleanly."""

    def __init__(self, table: Table, features: Features | None, config: Config) -> None:
        self.cache = AnalysisCache(config.cache_dir) if config.use_cache else None
        self.inputs = input_digest(table, features, config) if self.cache is not None else None
        self.notes = list(self.cache.notes) if self.cache is not None else []

    def _key(self, analyser: Analyser, values: SettingValues) -> str | None:
        if self.cache is None or self.inputs is None or not analyser.run.__module__.startswith(f"{__package__}."):
            return None
        return section_key(self.inputs, analyser, values)

    def get(self, analyser: Analyser, values: SettingValues) -> Section | None:
        key = self._key(analyser, values)
        return self.cache.get(key) if key is not None and self.cache is not None else None

    def put(self, analyser: Analyser, values: SettingValues, section: Section) -> None:
        key = self._key(analyser, values)
        if key is not None and self.cache is not None and section.error is None and section.skipped is None:
            self.cache.put(key, analyser.name, section)

    def close(self) -> None:
        if self.cache is not None:
            self.notes.extend(n for n in self.cache.notes if n not in self.notes)
            self.cache.close()


def run_analyser(analyser: Analyser, data: AuditInput) -> Section:
    """One analyser as the pipeline runs it, its side part (if any) after it in this process: needs checked, an
    exception turned into an error finding. Settings and column profiles are filled in from data.config and
    data.table when the caller (a test, a tool) left them out."""
    data = prepared_input(analyser, data)
    section = run_main(analyser, data)
    if analyser.side is not None:
        merge_side(analyser, section, run_side(analyser, data))
    return section


def prepared_input(analyser: Analyser, data: AuditInput) -> AuditInput:
    """data with the analyser's settings and the column profiles filled in when the caller left them out."""
    if not data.settings and analyser.settings:
        data = replace(data, settings=resolve_settings(data.config, [analyser])[analyser.name])
    if data.profiles is None and analyser.uses_profiles:
        data = replace(data, profiles=profile_table(data.table))
    return data


def run_main(analyser: Analyser, data: AuditInput) -> Section:
    """analyser.run(data) as a section: skipped when its needs are missing, an error finding when it raises."""
    reason = missing_needs(analyser.needs, data.table, data.features)
    if reason is not None:
        return Section(name=analyser.name, title=analyser.title, skipped=reason)
    try:
        # A table cell of 1e308 overflows sums and differences to inf (or inf - inf to NaN); analysers test for
        # finite values where it matters, so numpy's floating-point warnings would only be noise on the terminal.
        with np.errstate(over="ignore", invalid="ignore"):
            section = analyser.run(data)
        undeclared = sorted(set(section.metrics) - set(analyser.metrics))
        if undeclared:  # a gate could not name it, and README would not list it
            raise ValueError(f"set undeclared metrics: {', '.join(undeclared)}")
    except Exception as exc:  # noqa: BLE001 - one failing analyser must not sink the audit
        section = Section(name=analyser.name, title=analyser.title, error=f"{type(exc).__name__}: {exc}")
        section.findings.append(_error_finding(analyser.name, exc))
    section.name, section.title = analyser.name, section.title or analyser.title
    return section


@dataclass
class SideOutcome:
    """What an analyser's side part gave: its result, or the error that stopped it (and its traceback)."""

    result: Any = None
    seconds: float = 0.0
    error: str | None = None
    traceback: str = ""


def run_side(analyser: Analyser, data: AuditInput) -> SideOutcome:
    """analyser.side.run(data), guarded like run_main; nothing to do when the analyser's needs are missing."""
    assert analyser.side is not None
    if missing_needs(analyser.needs, data.table, data.features) is not None:
        return SideOutcome()
    started = time.perf_counter()
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            result = analyser.side.run(data)
    except Exception as exc:  # noqa: BLE001 - the analyser's other findings still count
        return SideOutcome(error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc(limit=6))
    return SideOutcome(result=result, seconds=time.perf_counter() - started)


def merge_side(analyser: Analyser, section: Section, outcome: SideOutcome) -> None:
    """Give the side part's result to the analyser's section. A failed side part fails the section (an error
    finding; never cached), and the analyser is told with result None."""
    side = analyser.side
    assert side is not None
    if section.skipped is not None or section.error is not None:
        return
    try:
        if outcome.error is not None:
            section.error = f"its {side.name} step: {outcome.error}"
            section.findings.append(Finding(
                analyser=analyser.name, kind="analyser_error", severity="error",
                message=f"the {analyser.name} analyser's {side.name} step failed: {outcome.error}",
                detail={"traceback": outcome.traceback}))
            side.merge(section, None)
        else:
            side.merge(section, outcome.result)
            section.timings[side.name] = outcome.seconds
    except Exception as exc:  # noqa: BLE001 - as in run_main
        section.error = f"{type(exc).__name__}: {exc}"
        section.findings.append(_error_finding(analyser.name, exc))


def _error_finding(name: str, exc: Exception) -> Finding:
    return Finding(analyser=name, kind="analyser_error", severity="error",
                   message=f"the {name} analyser failed: {type(exc).__name__}: {exc}",
                   detail={"traceback": traceback.format_exc(limit=6)})


def _drop_uncomputable(analyser: Analyser, section: Section, table: Table,
                       features: Features | None) -> dict[str, str]:
    """Remove metrics whose input is absent (a conflicting-label count without labels is not 0, it is unknown) and
    say why each declared metric is missing."""
    reasons: dict[str, str] = {}
    for metric in analyser.metrics:
        why = missing_needs(analyser.metric_needs(metric), table, features)
        if why is not None:
            section.metrics.pop(metric, None)
        elif metric not in section.metrics:
            why = section.error and f"the analyser failed: {section.error}" or section.skipped or "not computed"
        if why is not None:
            reasons[metric] = why
    return reasons


def _attach_paths(sections: list[Section], table: Table) -> None:
    """Turn frame positions into input row numbers (they differ under --sample) and add the paths as written."""
    paths = table.paths()
    for section in sections:
        for finding in section.findings:
            positions = finding.rows
            finding.positions = list(positions)
            finding.rows = [table.original_row(p) for p in positions]
            finding.paths = [paths[p] for p in positions] if paths else []
