"""Work on saved findings.json files without rescanning: re-apply gates (`audit check`) and compare two dataset
versions (`audit diff`: metrics side by side, new and resolved findings, regression gates).

Findings are matched by their stable ids (finding_ids.py), so the diff is O(findings) whatever the dataset size.
"""

from __future__ import annotations

import importlib.resources
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from .analysers import metric_catalogue
from .baseline import BASELINE_METRICS
from .errors import AuditUsageError, read_json_file
from .finding_ids import SUBJECT_KEYS
from .gates import GateResult, evaluate, parse_gate

# `METRIC` (fails when it rose at all) or `METRIC>TOLERANCE` (fails when it rose by more than TOLERANCE).
_REGRESSION = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(?:>\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))?\s*$")


def read_findings_document(path: Path) -> dict[str, Any]:
    """A findings.json written by `audit run`, or a usage error saying what is wrong with the file."""
    document = read_json_file(path, "findings file")
    if not isinstance(document, dict) or (document.get("tool") or {}).get("name") != "dataset-audit" \
            or not isinstance(document.get("metrics"), dict):
        raise AuditUsageError(f"{path} is not a findings.json written by dataset-audit")
    return document


def regate(document: dict[str, Any], expressions: list[str]) -> list[GateResult]:
    """The gates evaluated on a findings.json's metrics (unknown metrics are usage errors, as in `audit run`)."""
    catalogue = metric_catalogue() | BASELINE_METRICS
    metrics = {k: float(v) for k, v in document["metrics"].items() if v is not None}
    return [evaluate(parse_gate(expr, catalogue), metrics) for expr in expressions]


def analyser_errors(document: dict[str, Any]) -> list[str]:
    return [a["name"] for a in document.get("analysers", []) if a.get("status") == "error"]


@dataclass(frozen=True)
class MetricChange:
    name: str
    old: float | None
    new: float | None

    @property
    def delta(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old


@dataclass(frozen=True)
class RegressionResult:
    metric: str
    tolerance: float
    change: MetricChange
    passed: bool

    @property
    def expr(self) -> str:
        return self.metric if self.tolerance == 0 else f"{self.metric}>{self.tolerance:g}"


@dataclass
class ChangedFinding:
    """A new finding that continues an old one (same analyser, kind and subject, shared members): a duplicate group
    that gained a copy, the dark-images finding with one more image."""

    old: dict[str, Any]
    new: dict[str, Any]

    @property
    def added_paths(self) -> list[str]:
        before = set(self.old.get("paths", []))
        return [p for p in self.new.get("paths", []) if p and p not in before]

    @property
    def removed_paths(self) -> list[str]:
        after = set(self.new.get("paths", []))
        return [p for p in self.old.get("paths", []) if p and p not in after]


@dataclass
class DatasetDiff:
    old_source: str
    new_source: str
    old_rows: int
    new_rows: int
    metrics: list[MetricChange]
    new_findings: list[dict[str, Any]]  # not in old at all (changed ones are in `changed`)
    resolved_findings: list[dict[str, Any]]  # gone (changed ones are in `changed`)
    unchanged_count: int
    changed: list[ChangedFinding] = field(default_factory=list)

    @property
    def changed_metrics(self) -> list[MetricChange]:
        return [m for m in self.metrics if m.old != m.new]


def _metric(value: Any) -> float | None:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def _finding_ids(document: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    findings = document.get("findings", [])
    if any("id" not in f for f in findings):
        raise AuditUsageError(f"{where} has findings without ids (schema_version {document.get('schema_version')}); "
                              "re-run `audit run` with this version to compare it")
    return {f["id"]: f for f in findings}


def diff_documents(old: dict[str, Any], new: dict[str, Any], old_name: str = "old",
                   new_name: str = "new") -> DatasetDiff:
    """What got better or worse from `old` to `new` (two findings.json documents)."""
    names = list(dict.fromkeys([*old["metrics"], *new["metrics"]]))
    changes = [MetricChange(n, _metric(old["metrics"].get(n)), _metric(new["metrics"].get(n))) for n in names]
    old_findings, new_findings = _finding_ids(old, old_name), _finding_ids(new, new_name)
    # Findings a baseline suppressed in a run still occurred: count them as present.
    for document, found in ((old, old_findings), (new, new_findings)):
        for entry in (document.get("baseline") or {}).get("known", []):
            found.setdefault(entry["id"], entry)
    appeared = [f for key, f in new_findings.items() if key not in old_findings]
    gone = [f for key, f in old_findings.items() if key not in new_findings]
    changed = _pair_changed(appeared, gone)
    paired_new, paired_old = {id(c.new) for c in changed}, {id(c.old) for c in changed}
    return DatasetDiff(
        old_source=str((old.get("dataset") or {}).get("source", old_name)),
        new_source=str((new.get("dataset") or {}).get("source", new_name)),
        old_rows=int((old.get("dataset") or {}).get("rows", 0)), new_rows=int((new.get("dataset") or {}).get("rows", 0)),
        metrics=changes,
        new_findings=[f for f in appeared if id(f) not in paired_new],
        resolved_findings=[f for f in gone if id(f) not in paired_old],
        unchanged_count=len(set(old_findings) & set(new_findings)),
        changed=changed,
    )


def _family(finding: dict[str, Any]) -> tuple:
    detail = finding.get("detail") or {}
    return (finding.get("analyser"), finding.get("kind"), tuple(str(detail.get(k)) for k in SUBJECT_KEYS))


def _pair_changed(appeared: list[dict[str, Any]], gone: list[dict[str, Any]]) -> list[ChangedFinding]:
    """Pair each new finding with the gone finding of its family that shares the most member paths (if any).
    Cost: O(findings x members) through one index of gone findings by (family, path)."""
    by_member: dict[tuple, list[int]] = {}
    for index, finding in enumerate(gone):
        for path in set(finding.get("paths", [])) - {""}:
            by_member.setdefault((_family(finding), path), []).append(index)
    taken: set[int] = set()
    pairs = []
    for finding in appeared:
        overlap: dict[int, int] = {}
        for path in set(finding.get("paths", [])) - {""}:
            for index in by_member.get((_family(finding), path), []):
                if index not in taken:
                    overlap[index] = overlap.get(index, 0) + 1
        if overlap:
            best = max(overlap, key=lambda i: (overlap[i], -i))
            taken.add(best)
            pairs.append(ChangedFinding(old=gone[best], new=finding))
    return pairs


def parse_regression(expr: str) -> tuple[str, float]:
    match = _REGRESSION.match(expr)
    if not match:
        raise AuditUsageError(f"cannot read regression gate {expr!r}: write METRIC (fails when it rises) or "
                              "METRIC>TOLERANCE (fails when it rises by more than TOLERANCE)")
    metric, tolerance = match.group(1), float(match.group(2) or 0)
    known = metric_catalogue() | BASELINE_METRICS
    if metric not in known:
        raise AuditUsageError(f"unknown metric {metric!r} in --fail-on-regression {expr!r} (see `audit metrics`)")
    return metric, tolerance


def regressions(diff: DatasetDiff, expressions: list[str]) -> list[RegressionResult]:
    """Each gate fails when its metric rose by more than the tolerance, or is missing from either file."""
    by_name = {m.name: m for m in diff.metrics}
    results = []
    for expr in expressions:
        metric, tolerance = parse_regression(expr)
        change = by_name.get(metric, MetricChange(metric, None, None))
        passed = change.delta is not None and change.delta <= tolerance
        results.append(RegressionResult(metric=metric, tolerance=tolerance, change=change, passed=passed))
    return results


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{int(value):,}" if float(value).is_integer() and abs(value) < 1e15 else f"{value:.6g}"


def _signed(value: float | None) -> str:
    if value is None:
        return ""
    return ("+" if value > 0 else "") + _number(value)


def render_diff_text(diff: DatasetDiff, gates: list[RegressionResult], all_metrics: bool = False) -> str:
    lines = [f"old: {diff.old_source} ({diff.old_rows:,} rows)", f"new: {diff.new_source} ({diff.new_rows:,} rows)", ""]
    shown = diff.metrics if all_metrics else diff.changed_metrics
    lines.append(f"metrics ({len(diff.changed_metrics)} of {len(diff.metrics)} changed):" if shown
                 else "metrics: none changed")
    width = max((len(m.name) for m in shown), default=0)
    for change in shown:
        lines.append(f"  {change.name:<{width}}  {_number(change.old):>12} -> {_number(change.new):<12} "
                     f"{_signed(change.delta)}")
    lines += ["", f"findings: {len(diff.new_findings)} new, {len(diff.resolved_findings)} resolved, "
                  f"{len(diff.changed)} changed, {diff.unchanged_count} in both"]
    for change in diff.changed:
        added, removed = change.added_paths, change.removed_paths
        lines.append(f"  changed  {change.new.get('severity', ''):<7} {change.new['id']}  {change.new.get('message', '')}"
                     f"  (was {change.old['id']}; +{len(added)} -{len(removed)} paths"
                     + (f": +{', +'.join(added[:3])}" if added else "")
                     + (f" -{', -'.join(removed[:3])}" if removed else "") + ")")
    for label, findings in (("new", diff.new_findings), ("resolved", diff.resolved_findings)):
        for finding in findings:
            paths = [p for p in finding.get("paths", []) if p][:3]
            lines.append(f"  {label:<8} {finding.get('severity', ''):<7} {finding['id']}  {finding.get('message', '')}"
                         + (f"  [{', '.join(paths)}{', ...' if len(finding.get('paths', [])) > 3 else ''}]"
                            if paths else ""))
    if gates:
        lines.append("")
        for gate in gates:
            lines.append(f"regression gate {gate.expr}: {_signed(gate.change.delta) or 'not computed'} "
                         f"({'pass' if gate.passed else 'FAIL'})")
    return "\n".join(lines) + "\n"


def render_diff_html(diff: DatasetDiff, gates: list[RegressionResult]) -> str:
    """A self-contained page (no scripts, nothing fetched); Jinja escapes every value."""
    loader = jinja2.FileSystemLoader(str(importlib.resources.files("dataset_audit.templates")))
    env = jinja2.Environment(loader=loader, autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _number
    env.filters["signed"] = _signed
    return env.get_template("diff.html.j2").render(diff=diff, gates=gates)
