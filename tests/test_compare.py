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
    assert f"findings: {ADDED} new, 0 resolved" in text
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
