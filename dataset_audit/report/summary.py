"""summary.md: a short Markdown summary (gates, per-analyser counts, what to look at first) for CI pages.

GitHub Actions shows it on the run's page when it is appended to $GITHUB_STEP_SUMMARY; GitLab and others can attach
it to a merge request. Size is capped (findings and paths listed), whatever the dataset size.
"""

from __future__ import annotations

from collections import Counter

from ..gates import exit_code
from ..pipeline import AuditResult
from .base import ProgressFactory
from .offenders import SEVERITY_ORDER, top_paths

FINDINGS_LISTED = 10
RESOLVED_LISTED = 10


def _text(value: object) -> str:
    """Plain text safe in a Markdown table cell or list item (no table breaks, no stray markup)."""
    text = " ".join(str(value).split())
    for char in "\\`*_[]<>|":
        text = text.replace(char, "\\" + char)
    return text


def _code(value: object) -> str:
    text = " ".join(str(value).split()).replace("|", "\\|")
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def render_summary(result: AuditResult) -> str:
    code = exit_code(result.gates, analyser_errors=len(result.analyser_errors))
    failed = [g for g in result.gates if not g.passed]
    counts = Counter(f.severity for f in result.findings)
    verdict = "passed" if code == 0 else (f"FAILED: {len(failed)} of {len(result.gates)} gate(s)" if failed
                                          else "FAILED: an analyser raised")
    lines = [f"## dataset-audit of {_code(result.table.source)}: {verdict}", "",
             f"{len(result.table):,} rows audited, {len(result.findings):,} findings ({counts['error']:,} errors, "
             f"{counts['warning']:,} warnings, {counts['info']:,} info) in {result.seconds:.1f} s.", ""]
    if result.gates:
        lines += ["| gate | value | result |", "| --- | ---: | --- |"]
        for gate in result.gates:
            value = "not computed" if gate.value is None else f"{gate.value:.6g}"
            lines.append(f"| {_code(gate.gate.expr)} | {value} | {'pass' if gate.passed else '**FAIL**'} |")
        lines.append("")
    if result.baseline is not None:
        baseline = result.baseline
        lines.append(f"Baseline {_code(baseline.path)}: {len(baseline.known):,} known finding(s) suppressed, "
                     f"{len(baseline.new):,} new, {len(baseline.resolved):,} baseline entr"
                     f"{'y' if len(baseline.resolved) == 1 else 'ies'} no longer occur.")
        for entry in baseline.resolved[:RESOLVED_LISTED]:
            lines.append(f"- gone: {_code(entry.id)} {_text(entry.message)}")
        lines.append("")
    lines += ["| analyser | errors | warnings | info | status |", "| --- | ---: | ---: | ---: | --- |"]
    for section in result.sections:
        severity = Counter(f.severity for f in section.findings)
        status = (f"failed: {_text(section.error)}" if section.error else
                  f"skipped: {_text(section.skipped)}" if section.skipped else "ok")
        lines.append(f"| {section.name} | {severity['error']} | {severity['warning']} | {severity['info']} | {status} |")
    serious = sorted((f for f in result.findings if f.severity != "info"),
                     key=lambda f: (SEVERITY_ORDER[f.severity], -len(f.rows)))
    if serious:
        lines += ["", "### Look first", ""]
        for finding in serious[:FINDINGS_LISTED]:
            paths = top_paths([finding], 3)
            where = f" ({', '.join(_code(p) for p in paths)}{', ...' if len(finding.rows) > 3 else ''})" if paths else ""
            lines.append(f"- **{finding.severity}** {finding.analyser}/{finding.kind}: {_text(finding.message)}{where}")
        if len(serious) > FINDINGS_LISTED:
            lines.append(f"- ... and {len(serious) - FINDINGS_LISTED:,} more in report.html / findings.json")
    return "\n".join(lines) + "\n"


class SummaryReporter:
    """summary.md (see the module docstring)."""

    name = "summary"
    filename = "summary.md"

    def render(self, result: AuditResult, progress: ProgressFactory | None = None) -> str:
        return render_summary(result)
