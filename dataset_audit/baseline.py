"""Baselines: accept the findings a dataset already has, and report and gate only on new ones.

`audit baseline create findings.json` writes the ids (finding_ids.py) of every finding in a findings.json to a
baseline file; `audit run --baseline FILE` then removes the findings the file lists from the report (counting them as
known), lists the baseline entries that no longer occur, and gates on `findings.new_count` (errors and warnings not
in the file). Matching is by id only, so it costs O(findings).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import AuditUsageError, read_json_file
from .model import Finding, Section

BASELINE_VERSION = 1
BASELINE_METRICS = {
    "findings.new_count": "error and warning findings not listed in the --baseline file (what a baseline gates on)",
    "findings.new_info_count": "info findings not listed in the --baseline file",
    "findings.known_count": "findings left out of the report because the --baseline file lists them",
    "findings.resolved_count": "--baseline entries that no longer occur (fixed, or changed into a new finding)",
}
DEFAULT_BASELINE_GATE = "findings.new_count>0"
MESSAGE_CHARS = 300


@dataclass
class BaselineEntry:
    """One accepted finding: its id, plus enough words for a person reviewing the baseline file."""

    id: str
    analyser: str = ""
    kind: str = ""
    severity: str = ""
    message: str = ""


@dataclass
class Baseline:
    path: str
    entries: dict[str, BaselineEntry]


@dataclass
class BaselineOutcome:
    """What comparing a run with a baseline found: the findings it suppressed and the entries that are gone."""

    path: str
    known: list[Finding] = field(default_factory=list)
    resolved: list[BaselineEntry] = field(default_factory=list)
    new: list[Finding] = field(default_factory=list)

    def metrics(self) -> dict[str, float]:
        serious = sum(1 for f in self.new if f.severity in {"error", "warning"})
        return {"findings.new_count": serious, "findings.new_info_count": len(self.new) - serious,
                "findings.known_count": len(self.known), "findings.resolved_count": len(self.resolved)}

    def document(self) -> dict[str, Any]:
        """The `baseline` block of findings.json (known entries included, so a baseline can be re-created)."""
        return {"path": self.path, "known_count": len(self.known), "new_count": len(self.new),
                "known": [asdict(entry_of(f)) for f in self.known],
                "resolved": [asdict(entry) for entry in self.resolved]}


def entry_of(finding: Finding | dict[str, Any]) -> BaselineEntry:
    get = finding.get if isinstance(finding, dict) else lambda key, default="": getattr(finding, key, default)
    return BaselineEntry(id=str(get("id", "")), analyser=str(get("analyser", "")), kind=str(get("kind", "")),
                         severity=str(get("severity", "")), message=str(get("message", ""))[:MESSAGE_CHARS])


def baseline_from_findings_document(document: dict[str, Any], source: str) -> dict[str, Any]:
    """A baseline file's content from a findings.json: its findings plus those a previous baseline suppressed."""
    findings = list(document.get("findings", []))
    if findings and any("id" not in f for f in findings):
        raise AuditUsageError(f"{source} has findings without ids (schema_version "
                              f"{document.get('schema_version')}); re-run `audit run` with this version first")
    entries = [asdict(entry_of(f)) for f in findings]
    entries += list((document.get("baseline") or {}).get("known", []))
    unique = {entry["id"]: entry for entry in entries}
    return {
        "baseline_version": BASELINE_VERSION,
        "tool": document.get("tool", {}),
        "created": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "dataset": (document.get("dataset") or {}).get("source"),
        "findings": sorted(unique.values(), key=lambda e: e["id"]),
    }


def read_baseline(path: Path) -> Baseline:
    """A baseline file, or a usage error naming what is wrong with it."""
    document = read_json_file(path, "baseline file", " (create it with `audit baseline create`)")
    if not isinstance(document, dict) or not isinstance(document.get("findings"), list):
        raise AuditUsageError(f"{path} is not a dataset-audit baseline (no 'findings' list)")
    if document.get("baseline_version", 0) > BASELINE_VERSION:
        raise AuditUsageError(f"{path} has baseline_version {document['baseline_version']}; this dataset-audit "
                              f"reads up to {BASELINE_VERSION}")
    entries: dict[str, BaselineEntry] = {}
    for number, item in enumerate(document["findings"]):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise AuditUsageError(f"{path}: findings[{number}] has no 'id'")
        entries[item["id"]] = entry_of(item)
    return Baseline(path=str(path), entries=entries)


def apply_baseline(sections: list[Section], baseline: Baseline) -> BaselineOutcome:
    """Remove the findings the baseline lists from `sections` (in place); say what was known, new and gone."""
    outcome = BaselineOutcome(path=baseline.path)
    seen: set[str] = set()
    for section in sections:
        kept = []
        for finding in section.findings:
            seen.add(finding.id)
            if finding.id in baseline.entries and finding.kind != "analyser_error":
                outcome.known.append(finding)
            else:
                kept.append(finding)
                outcome.new.append(finding)
        section.findings = kept
    outcome.resolved = [entry for key, entry in baseline.entries.items() if key not in seen]
    return outcome


def wants_default_gate(fail_on: list[str]) -> bool:
    """A baseline gates on new findings unless the user already gates on a baseline metric."""
    return not any(expr.strip().startswith("findings.") for expr in fail_on)
