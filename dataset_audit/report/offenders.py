"""Which findings and image paths lie behind a metric: what CI outputs quote when a gate fails."""

from __future__ import annotations

from ..analysers import REGISTRY
from ..model import Finding
from ..pipeline import AuditResult

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def metric_owner(metric: str) -> str | None:
    """The analyser that computes `metric` (None for findings.* metrics, which come from the baseline)."""
    return next((a.name for a in REGISTRY if metric in a.metrics), None)


# Words of a metric name that say how it counts, not what: they do not tie a metric to a finding kind.
_COUNTING_WORDS = {"count", "rate", "ratio", "max", "min", "groups", "group", "rows", "score"}


def _words(name: str) -> set[str]:
    return set(name.replace(".", "_").split("_")) - _COUNTING_WORDS


def findings_behind(result: AuditResult, metric: str) -> list[Finding]:
    """The findings behind a metric: its analyser's (the new ones for findings.*), those whose kind shares a word
    with the metric first (`unreadable` for integrity.unreadable_count), then most severe and largest first."""
    if metric.startswith("findings.") and result.baseline is not None:
        chosen = list(result.baseline.new)
    else:
        owner = metric_owner(metric)
        chosen = [f for f in result.findings if f.analyser == owner]
    words = _words(metric.partition(".")[2])
    return sorted(chosen, key=lambda f: (not words & _words(f.kind), SEVERITY_ORDER[f.severity], -len(f.rows)))


def top_paths(findings: list[Finding], limit: int) -> list[str]:
    """Up to `limit` distinct image paths (or `row N` where a row has no path) from the findings, in order."""
    shown: list[str] = []
    for finding in findings:
        names = finding.paths if any(finding.paths) else [f"row {r}" for r in finding.rows]
        for name in names:
            name = name or "(empty path)"
            if name not in shown:
                shown.append(name)
            if len(shown) >= limit:
                return shown
    return shown


def describe_gate(value: float | None, op: str, threshold: float) -> str:
    shown = "not computed (its analyser was skipped or failed)" if value is None else f"{value:.6g}"
    return f"value {shown}; the gate fails when it is {op} {threshold:g}"
