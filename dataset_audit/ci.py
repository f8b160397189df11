"""CI integration: GitHub Actions annotations and the step summary, detected from the environment.

Annotations are workflow commands printed on stdout (`::error title=...::message`); GitHub shows them on the run
and the pull request. They are capped (GitHub itself shows only 10 errors and 10 warnings per step): failed gates
and failed analysers first, then the most severe findings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .pipeline import AuditResult
from .report.offenders import SEVERITY_ORDER, describe_gate, findings_behind, top_paths

ANNOTATION_LIMIT = 10
PATHS_PER_ANNOTATION = 5


def in_github_actions(environ: Mapping[str, str] | None = None) -> bool:
    return (os.environ if environ is None else environ).get("GITHUB_ACTIONS") == "true"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(level: str, title: str, message: str) -> str:
    """One workflow command, e.g. `::error title=gate failed::...` (level: error, warning or notice)."""
    return f"::{level} title={_escape_property(title)}::{_escape_data(message)}"


def github_annotations(result: AuditResult, limit: int = ANNOTATION_LIMIT) -> list[str]:
    lines = []
    for gate in result.gates:
        if not gate.passed:
            paths = top_paths(findings_behind(result, gate.gate.metric), PATHS_PER_ANNOTATION)
            message = f"{gate.gate.expr}: {describe_gate(gate.value, gate.gate.op, gate.gate.threshold)}"
            if paths:
                message += "\ntop offending paths: " + ", ".join(paths)
            lines.append(annotation("error", f"dataset-audit gate failed: {gate.gate.metric}", message))
    for section in result.analyser_errors:
        lines.append(annotation("error", f"dataset-audit analyser {section.name} failed", section.error or ""))
    findings = sorted((f for f in result.findings if f.severity != "info" and f.kind != "analyser_error"),
                      key=lambda f: (SEVERITY_ORDER[f.severity], -len(f.rows)))
    for finding in findings[:max(0, limit - len(lines))]:
        paths = top_paths([finding], PATHS_PER_ANNOTATION)
        message = finding.message + (f"\npaths: {', '.join(paths)}" if paths else "")
        lines.append(annotation(finding.severity, f"dataset-audit {finding.analyser}: {finding.kind}", message))
    return lines


def append_step_summary(markdown: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Append to $GITHUB_STEP_SUMMARY when it is set (GitHub renders it on the run's page); the path, or None."""
    target = (os.environ if environ is None else environ).get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    with open(target, "a", encoding="utf-8") as stream:
        stream.write(markdown if markdown.endswith("\n") else markdown + "\n")
    return Path(target)
