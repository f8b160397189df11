"""`audit diff` and `audit check` on saved findings.json files: sample_data before and after adding duplicates."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dataset_audit import audit
from dataset_audit.cli import app

ROOT = Path(__file__).resolve().parents[1]
ADDED = 4


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def audit_version(table: Path, target: Path) -> Path:
    """findings.json of one dataset version (through the API: these tests are about the saved files)."""
    report = audit(table, label_col="label", only=["integrity", "duplicates"], no_cache=True, use_config_file=False)
    assert report.passed
    return report.save_json(target)


@pytest.fixture(scope="module")
def versions(tmp_path_factory) -> dict:
    """findings.json of sample_data as shipped, and of a copy with ADDED byte-for-byte copies of clean images."""
    folder = tmp_path_factory.mktemp("compare")
    data = folder / "data"
    shutil.copytree(ROOT / "sample_data" / "images", data / "images")
    shutil.copy(ROOT / "sample_data" / "images.csv", data / "images.csv")
    first = audit_version(data / "images.csv", folder / "v1.json")
    v1 = json.loads(first.read_text())
    flagged = {p for f in v1["findings"] for p in f["paths"]}
    with (data / "images.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    clean = [r for r in rows if r["split"] == "train" and r["path"].endswith(".png") and r["path"] not in flagged
             and (data / r["path"]).is_file()][:ADDED]
    added = []
    for row in clean:
        copy = row["path"].replace(".png", "_copy.png")
        shutil.copy(data / row["path"], data / copy)
        added.append({**row, "path": copy})
    with (data / "images.csv").open("a", newline="") as handle:
        csv.DictWriter(handle, fieldnames=list(rows[0])).writerows(added)
    return {"folder": folder, "v1": first, "v2": audit_version(data / "images.csv", folder / "v2.json"),
            "added": [(r["path"], c["path"]) for r, c in zip(clean, added, strict=True)]}


def test_diff_shows_the_new_duplicates_and_fails_the_regression_gate(versions):
    html = versions["folder"] / "diff.html"
    code, output = invoke("diff", str(versions["v1"]), str(versions["v2"]), "--html", str(html),
                          "--fail-on-regression", "duplicates.exact_rate")
    assert code == 1, output
    text = " ".join(output.split())
    assert f"findings: {ADDED} new, 0 resolved, 0 changed" in text
    new_lines = [line for line in output.splitlines() if line.strip().startswith("new ")]
    assert len(new_lines) == ADDED
    for original, copy in versions["added"]:
        assert any(original in line and copy in line and "duplicates/exact_duplicate/" in line for line in new_lines)
    assert "duplicates.exact_count" in text and f"+{ADDED}" in text
    assert "regression gate duplicates.exact_rate" in text and "FAIL" in text
    page = html.read_text()
    assert page.startswith("<!doctype html>") and "<script" not in page
    assert versions["added"][0][1] in page and "FAIL" in page


def test_diff_gate_tolerance_and_unchanged_metrics(versions):
    code, output = invoke("diff", str(versions["v1"]), str(versions["v2"]),
                          "--fail-on-regression", "duplicates.exact_count>10",
                          "--fail-on-regression", "integrity.missing_count")
    assert code == 0, output
    code, output = invoke("diff", str(versions["v2"]), str(versions["v1"]), "--fail-on-regression",
                          "duplicates.exact_rate")
    assert code == 0 and f"0 new, {ADDED} resolved" in " ".join(output.split())


def test_diff_usage_errors(versions, tmp_path):
    code, output = invoke("diff", str(versions["v1"]), str(versions["v2"]), "--fail-on-regression", "made.up")
    assert code == 2 and "unknown metric 'made.up'" in output
    (tmp_path / "other.json").write_text('{"a": 1}')
    code, output = invoke("diff", str(versions["v1"]), str(tmp_path / "other.json"))
    assert code == 2 and "not a findings.json written by dataset-audit" in " ".join(output.split())


def test_check_regates_without_rescanning(versions):
    code, output = invoke("check", str(versions["v2"]), "--fail-on", "duplicates.exact_count>0")
    assert code == 1 and "FAIL" in output
    code, output = invoke("check", str(versions["v2"]), "--fail-on", "integrity.unreadable_count>1000")
    assert code == 0, output
    code, output = invoke("check", str(versions["v2"]), "--fail-on", "nope.metric>1")
    assert code == 2 and "unknown metric" in output


def _document(findings: list[dict], metrics: dict) -> dict:
    return {"schema_version": 2, "tool": {"name": "dataset-audit"}, "dataset": {"source": "t.csv", "rows": 10},
            "metrics": metrics, "findings": findings}


def test_a_finding_whose_members_changed_is_shown_as_changed_not_as_new_and_resolved():
    from dataset_audit.compare import diff_documents, render_diff_text

    dark_before = {"id": "quality/dark/a", "analyser": "quality", "kind": "dark", "severity": "warning",
                   "message": "2 images are dark", "paths": ["a.png", "b.png"], "detail": {}}
    dark_after = dark_before | {"id": "quality/dark/b", "message": "3 images are dark",
                                "paths": ["a.png", "b.png", "c.png"]}
    group_elsewhere = {"id": "duplicates/exact_duplicate/x", "analyser": "duplicates", "kind": "exact_duplicate",
                       "severity": "warning", "message": "copies", "paths": ["d.png", "e.png"], "detail": {}}
    other_dark_column = dark_after | {"id": "quality/dark/c", "paths": ["z.png"], "detail": {"class": "cat"}}
    diff = diff_documents(_document([dark_before], {"quality.dark_count": 2}),
                          _document([dark_after, group_elsewhere, other_dark_column], {"quality.dark_count": 3}))
    assert [(c.old["id"], c.new["id"], c.added_paths) for c in diff.changed] == [
        ("quality/dark/a", "quality/dark/b", ["c.png"])]
    assert [f["id"] for f in diff.new_findings] == ["duplicates/exact_duplicate/x", "quality/dark/c"]
    assert diff.resolved_findings == []
    assert "changed  warning quality/dark/b" in render_diff_text(diff, [])


def test_check_takes_its_gates_from_the_config_file_then_from_the_run(versions, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, output = invoke("check", str(versions["v2"]))
    assert code == 0 and "no gates to check" in output  # the run recorded none
    (tmp_path / "audit.toml").write_text('fail-on = ["duplicates.exact_count>0"]\n')
    code, output = invoke("check", str(versions["v2"]))
    assert code == 1 and "duplicates.exact_count>0" in output
