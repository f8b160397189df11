"""Baselines of accepted findings: `audit baseline create` accepts today's findings; `audit run --baseline`
suppresses exactly those, gates on a new one, and lists the accepted findings that no longer occur."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from imagetools import jpeg_bytes, random_rgb
from typer.testing import CliRunner

from dataset_audit.cli import app

FAST = ["--only", "integrity", "--only", "duplicates", "--no-cache"]


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def findings(out: Path) -> dict:
    return json.loads((out / "findings.json").read_text())


@pytest.fixture
def accepted(small_dataset: Path, tmp_path: Path) -> dict:
    """A first run and a baseline made from it."""
    code, output = invoke("run", str(small_dataset), "--out", str(tmp_path / "first"), *FAST)
    assert code == 0, output
    baseline = tmp_path / "audit-baseline.json"
    code, output = invoke("baseline", "create", str(tmp_path / "first" / "findings.json"), "-o", str(baseline))
    assert code == 0, output
    return {"csv": small_dataset, "baseline": baseline, "first": findings(tmp_path / "first")}


def test_baseline_lists_every_finding_id(accepted):
    document = json.loads(accepted["baseline"].read_text())
    assert document["baseline_version"] == 1
    assert sorted(e["id"] for e in document["findings"]) == sorted(f["id"] for f in accepted["first"]["findings"])
    assert all(e["message"] for e in document["findings"])  # a person can review what was accepted


def test_baseline_suppresses_exactly_the_known_findings(accepted, tmp_path):
    code, output = invoke("run", str(accepted["csv"]), "--out", str(tmp_path / "again"), "--baseline",
                          str(accepted["baseline"]), *FAST)
    assert code == 0, output
    document = findings(tmp_path / "again")
    known = len(accepted["first"]["findings"])
    assert known >= 4  # missing, empty, truncated, the exact copy
    assert document["findings"] == []
    assert document["baseline"]["known_count"] == known and document["baseline"]["resolved"] == []
    assert document["metrics"]["findings.new_count"] == 0
    assert [g["expr"] for g in document["gates"]] == ["findings.new_count>0"]
    assert f"{known} known finding(s) suppressed" in " ".join(output.split())
    html = (tmp_path / "again" / "report.html").read_text()
    assert f"{known} known finding{'' if known == 1 else 's'} left out of this report" in html


def test_a_new_finding_fails_the_run_and_is_the_only_one_reported(accepted, tmp_path):
    images = accepted["csv"].parent / "images"
    (images / "new_truncated.jpg").write_bytes(jpeg_bytes(random_rgb(99, (200, 160)))[:500])
    with accepted["csv"].open("a") as handle:
        handle.write("images/new_truncated.jpg,cat\n")
    junit = tmp_path / "junit.xml"
    code, output = invoke("run", str(accepted["csv"]), "--out", str(tmp_path / "grown"), "--baseline",
                          str(accepted["baseline"]), "--junit", str(junit), *FAST)
    assert code == 1, output
    document = findings(tmp_path / "grown")
    assert [f["paths"] for f in document["findings"]] == [["images/new_truncated.jpg"]]
    assert document["baseline"]["known_count"] == len(accepted["first"]["findings"])
    assert document["metrics"]["findings.new_count"] == 1
    assert "images/new_truncated.jpg" in junit.read_text()  # the failing gate names the new finding


def test_rows_moved_around_keep_their_ids(accepted, tmp_path):
    lines = accepted["csv"].read_text().splitlines()
    accepted["csv"].write_text("\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    code, output = invoke("run", str(accepted["csv"]), "--out", str(tmp_path / "reordered"), "--baseline",
                          str(accepted["baseline"]), *FAST)
    assert code == 0, output
    assert findings(tmp_path / "reordered")["findings"] == []


def test_fixed_findings_are_listed_as_no_longer_occurring(accepted, tmp_path):
    lines = [line for line in accepted["csv"].read_text().splitlines() if "gone.jpg" not in line]
    accepted["csv"].write_text("\n".join(lines) + "\n")
    code, output = invoke("run", str(accepted["csv"]), "--out", str(tmp_path / "fixed"), "--baseline",
                          str(accepted["baseline"]), *FAST)
    assert code == 0, output
    resolved = findings(tmp_path / "fixed")["baseline"]["resolved"]
    assert len(resolved) == 1 and resolved[0]["kind"] == "missing"
    assert "no longer occurs: integrity/missing/" in output


def test_baseline_create_from_a_baselined_run_keeps_the_known_findings(accepted, tmp_path):
    invoke("run", str(accepted["csv"]), "--out", str(tmp_path / "again"), "--baseline", str(accepted["baseline"]),
           *FAST)
    code, _ = invoke("baseline", "create", str(tmp_path / "again" / "findings.json"), "-o", str(tmp_path / "b2.json"))
    assert code == 0
    ids = {e["id"] for e in json.loads((tmp_path / "b2.json").read_text())["findings"]}
    assert ids == {f["id"] for f in accepted["first"]["findings"]}


@pytest.mark.parametrize(("content", "message"), [
    (None, "baseline file not found"),
    ("{not json", "cannot read baseline file"),
    ('{"findings": [{"kind": "x"}]}', "has no 'id'"),
])
def test_bad_baseline_file_is_a_usage_error_before_the_scan(small_dataset, tmp_path, content, message):
    path = tmp_path / "b.json"
    if content is not None:
        path.write_text(content)
    code, output = invoke("run", str(small_dataset), "--out", str(tmp_path / "o"), "--baseline", str(path), *FAST)
    assert code == 2 and message in " ".join(output.split())
    assert not (tmp_path / "o" / "findings.json").exists()


def test_baseline_create_refuses_to_overwrite_another_file(accepted, tmp_path):
    other = tmp_path / "notes.json"
    other.write_text('{"mine": true}')
    code, output = invoke("baseline", "create", str(tmp_path / "first" / "findings.json"), "-o", str(other))
    assert code == 2 and "not a dataset-audit baseline" in output
    assert json.loads(other.read_text()) == {"mine": True}
