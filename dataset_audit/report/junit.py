"""junit.xml: one test case per gate and per analyser, for CI test-report views (GitLab, Jenkins, Azure, ...).

A test case fails exactly when it makes `audit run` exit non-zero: a gate that failed (`<failure>` with the metric,
its value, the threshold and the top offending paths) or an analyser that raised (`<error>`). A skipped analyser is
`<skipped>`; an analyser's findings are summarised in its `<system-out>`. Built with the standard library's
ElementTree (no string templates, so every value is escaped); the shape follows the Jenkins/Ant JUnit schema that
tests/junit.xsd checks. Size grows with gates and analysers, not with the dataset (paths are capped).
"""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections import Counter

from ..gates import GateResult
from ..model import Section
from ..pipeline import AuditResult
from .base import ProgressFactory
from .offenders import describe_gate, findings_behind, top_paths

SUITE = "dataset-audit"
PATHS_PER_FAILURE = 20
FINDINGS_PER_ANALYSER = 20
# Characters XML 1.0 cannot hold at all, even escaped (a path or a cell value may contain them).
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_safe(root: ET.Element) -> None:
    for element in root.iter():
        if element.text:
            element.text = _NOT_XML.sub("\ufffd", element.text)
        for key, value in element.attrib.items():
            element.attrib[key] = _NOT_XML.sub("\ufffd", value)


def _gate_case(result: AuditResult, gate: GateResult) -> ET.Element:
    case = ET.Element("testcase", {"classname": f"{SUITE}.gates", "name": gate.gate.expr, "time": "0"})
    if gate.passed:
        return case
    lines = [f"gate: {gate.gate.expr}", f"metric: {gate.gate.metric}",
             f"value: {'not computed' if gate.value is None else f'{gate.value:.6g}'}",
             f"threshold: fails when {gate.gate.op} {gate.gate.threshold:g}"]
    behind = findings_behind(result, gate.gate.metric)
    paths = top_paths(behind, PATHS_PER_FAILURE)
    if paths:
        lines += [f"top offending paths ({len(paths)} shown):", *(f"  {p}" for p in paths)]
    lines += [f"{f.severity}: {f.message}" for f in behind[:5]]
    failure = ET.SubElement(case, "failure", {
        "message": f"{gate.gate.metric}: {describe_gate(gate.value, gate.gate.op, gate.gate.threshold)}",
        "type": "gate"})
    failure.text = "\n".join(lines)
    return case


def _analyser_case(result: AuditResult, section: Section) -> ET.Element:
    seconds = result.timings.get(f"analyse.{section.name}", 0.0)
    case = ET.Element("testcase", {"classname": f"{SUITE}.analysers", "name": section.name, "time": f"{seconds:.3f}"})
    if section.error:
        error = ET.SubElement(case, "error", {"message": section.error, "type": "analyser_error"})
        error.text = next((str(f.detail.get("traceback", "")) for f in section.findings
                           if f.kind == "analyser_error"), section.error)
    elif section.skipped:
        ET.SubElement(case, "skipped", {"message": section.skipped})
    if section.findings:
        counts = Counter(f.severity for f in section.findings)
        lines = [f"{len(section.findings)} finding(s): " + ", ".join(f"{counts[s]} {s}" for s in
                                                                   ("error", "warning", "info") if counts[s])]
        for finding in section.findings[:FINDINGS_PER_ANALYSER]:
            paths = top_paths([finding], 5)
            lines.append(f"{finding.severity} {finding.kind}: {finding.message}"
                         + (f" [{', '.join(paths)}]" if paths else ""))
        ET.SubElement(case, "system-out").text = "\n".join(lines)
    return case


def _suite(name: str, cases: list[ET.Element], timestamp: str) -> ET.Element:
    suite = ET.Element("testsuite", {
        "name": name, "tests": str(len(cases)),
        "failures": str(sum(1 for c in cases if c.find("failure") is not None)),
        "errors": str(sum(1 for c in cases if c.find("error") is not None)),
        "skipped": str(sum(1 for c in cases if c.find("skipped") is not None)),
        "time": f"{sum(float(c.get('time', 0)) for c in cases):.3f}", "timestamp": timestamp,
    })
    suite.extend(cases)
    return suite


def render_junit(result: AuditResult) -> str:
    timestamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    suites = [_suite(f"{SUITE}.gates", [_gate_case(result, g) for g in result.gates], timestamp),
              _suite(f"{SUITE}.analysers", [_analyser_case(result, s) for s in result.sections], timestamp)]
    root = ET.Element("testsuites", {
        "name": f"{SUITE} {result.table.source}",
        "tests": str(sum(int(s.get("tests", 0)) for s in suites)),
        "failures": str(sum(int(s.get("failures", 0)) for s in suites)),
        "errors": str(sum(int(s.get("errors", 0)) for s in suites)),
        "time": f"{result.seconds:.3f}",
    })
    root.extend(suites)
    _xml_safe(root)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


class JunitReporter:
    """junit.xml for CI test-report views (see the module docstring)."""

    name = "junit"
    filename = "junit.xml"

    def render(self, result: AuditResult, progress: ProgressFactory | None = None) -> str:
        return render_junit(result)
