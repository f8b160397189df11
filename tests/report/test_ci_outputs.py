"""CI outputs of `audit run`: JUnit XML (validated against the JUnit schema), the Markdown summary, GitHub Actions
annotations and step summary, --format json on stdout, and plain output when not on a terminal."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from imagetools import write_small_dataset
from lxml import etree
from typer.testing import CliRunner

from dataset_audit.analysers import REGISTRY
from dataset_audit.ci import annotation
from dataset_audit.cli import app

SCHEMA = Path(__file__).with_name("junit.xsd")
FAST = ["--only", "integrity", "--only", "duplicates", "--only", "balance", "--no-cache"]
GATES = ["--fail-on", "integrity.unreadable_count>0", "--fail-on", "balance.num_classes>5"]


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["run", *args], env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory) -> dict:
    """One run with a failing and a passing gate, under a simulated GitHub Actions environment."""
    tmp_path = tmp_path_factory.mktemp("ci")
    csv = write_small_dataset(tmp_path / "data")
    step_summary = tmp_path / "step_summary.md"
    step_summary.write_text("## an earlier step\n")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(step_summary)}
    code, stdout, stderr = invoke(str(csv), "--label-col", "label", "--out", str(tmp_path / "o"),
                                  "--junit", str(tmp_path / "ci" / "junit.xml"), "--summary",
                                  str(tmp_path / "summary.md"), *FAST, *GATES, env=env)
    return {"code": code, "stdout": stdout, "stderr": stderr, "junit": tmp_path / "ci" / "junit.xml",
            "summary": tmp_path / "summary.md", "step_summary": step_summary}


def test_junit_validates_against_the_schema_and_carries_the_failure(ci_run):
    assert ci_run["code"] == 1
    document = etree.parse(str(ci_run["junit"]))
    schema = etree.XMLSchema(etree.parse(str(SCHEMA)))
    assert schema.validate(document), schema.error_log
    suites = {s.get("name"): s for s in document.getroot()}
    gates = suites["dataset-audit.gates"].findall("testcase")
    assert [g.get("name") for g in gates] == ["integrity.unreadable_count>0", "balance.num_classes>5"]
    failure = gates[0].find("failure")
    assert failure is not None and gates[1].find("failure") is None
    assert "integrity.unreadable_count" in failure.get("message") and "> 0" in failure.get("message")
    assert "value: 2" in failure.text and "threshold: fails when > 0" in failure.text
    assert "images/empty.jpg" in failure.text and "images/truncated.jpg" in failure.text
    analysers = {c.get("name"): c for c in suites["dataset-audit.analysers"].findall("testcase")}
    assert set(analysers) == {"integrity", "balance", "duplicates"}
    assert "copy_of_03.png" in analysers["duplicates"].find("system-out").text
    assert document.getroot().get("failures") == "1"


def test_junit_marks_a_failed_analyser_as_an_error_and_stays_valid(small_dataset, tmp_path, broken_balance):
    code, _, _ = invoke(str(small_dataset), "--label-col", "label", "--out", str(tmp_path / "o"),
                        "--junit", str(tmp_path / "junit.xml"), *FAST)
    assert code == 1
    document = etree.parse(str(tmp_path / "junit.xml"))
    assert etree.XMLSchema(etree.parse(str(SCHEMA))).validate(document)
    case = [c for c in document.iter("testcase") if c.get("name") == "balance"][0]
    assert "RuntimeError: boom" in case.find("error").get("message")  # the bell character did not break the XML
    assert document.getroot().get("errors") == "1"


@pytest.fixture
def broken_balance():
    """The balance analyser raises (with a character XML cannot hold in its message) for one test."""
    def broken(data):
        raise RuntimeError("boom \x07 <&>")

    index = next(i for i, a in enumerate(REGISTRY) if a.name == "balance")
    original = REGISTRY[index]
    REGISTRY[index] = dataclasses.replace(original, run=broken)
    yield
    REGISTRY[index] = original


def test_summary_file_and_step_summary_under_github_actions(ci_run):
    summary = ci_run["summary"].read_text()
    assert "FAILED: 1 of 2 gate(s)" in summary
    assert "| `integrity.unreadable_count>0` | 2 | **FAIL** |" in summary
    assert "| integrity |" in summary and "### Look first" in summary
    step = ci_run["step_summary"].read_text()
    assert step.startswith("## an earlier step\n")  # appended, not overwritten
    assert summary in step


def test_annotations_under_github_actions(ci_run):
    lines = [line for line in ci_run["stdout"].splitlines() if line.startswith("::")]
    assert lines[0].startswith("::error title=dataset-audit gate failed%3A integrity.unreadable_count::")
    assert "images/empty.jpg" in lines[0]
    assert any(line.startswith("::error title=dataset-audit integrity%3A missing::") for line in lines)
    assert any("copy_of_03.png" in line for line in lines if line.startswith("::warning"))
    assert len(lines) <= 10


def test_no_annotations_and_no_step_summary_outside_github_actions(small_dataset, tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    code, stdout, stderr = invoke(str(small_dataset), "--label-col", "label", "--out", str(tmp_path / "o"), *FAST,
                                  *GATES)
    assert code == 1
    assert "::error" not in stdout + stderr
    assert "\x1b[" not in stdout + stderr  # not a terminal: no colour codes, no progress bars
    assert "FAIL" in stdout and "1 of 2 gate(s) failed" in stderr


def test_annotation_escapes_newlines_and_separators():
    line = annotation("warning", "a: b, c", "50% of\nrows")
    assert line == "::warning title=a%3A b%2C c::50%25 of%0Arows"


def test_format_json_prints_only_the_findings_document(small_dataset, tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code, stdout, _ = invoke(str(small_dataset), "--label-col", "label", "--out", str(tmp_path / "o"), "--format",
                             "json", *FAST, *GATES)
    assert code == 1
    document = json.loads(stdout)
    assert document == json.loads((tmp_path / "o" / "findings.json").read_text())
    assert {f["kind"] for f in document["findings"]} >= {"missing", "unreadable", "truncated", "exact_duplicate"}
