"""Each reporter on a hand-built AuditResult: report.html lays out what a Section holds, findings.json matches a
saved copy (volatile fields removed), and every report file is written atomically."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pandas as pd
import pytest

from dataset_audit.config import Config
from dataset_audit.dataset import Table
from dataset_audit.finding_ids import assign_ids
from dataset_audit.gates import GateResult, parse_gate
from dataset_audit.model import Chart, Finding, Section, TableBlock
from dataset_audit.pipeline import AuditResult
from dataset_audit.report.base import write_atomically, write_report
from dataset_audit.report.html import HtmlReporter
from dataset_audit.report.json_report import JsonReporter, findings_document, render_findings_json

GOLDEN = Path(__file__).with_name("golden_findings.json")
VOLATILE = ("timings", "tool")


def hand_built_result() -> AuditResult:
    frame = pd.DataFrame({"id": ["a1", "a2", "b1", "b2"], "y": ["cat", "cat", "dog", "<b>dog</b>"]})
    table = Table(frame=frame, source="pets.csv", root=Path("/data"), label_col="y")
    section = Section(
        name="rows", title="Table rows", summary="4 rows; 1 duplicate group.",
        metrics={"rows.duplicate_count": 1, "rows.conflicting_label_count": 2},
        findings=[Finding(analyser="rows", kind="duplicate_rows", severity="warning",
                          message="rows 0 and 1 are identical", rows=[0, 1], detail={"columns": ["id", "y"]}),
                  Finding(analyser="rows", kind="conflicting_labels", severity="error",
                          message="record b carries 'dog' and '<b>dog</b>'", rows=[2, 3])],
        charts=[Chart(title="Rows per class", traces=[{"type": "bar", "x": ["cat", "dog"], "y": [2, 2]}])],
        tables=[TableBlock(title="Groups", columns=["group", "rows"], rows=[["a", 2], ["b", 2]])],
        notes=["Compared on every column but the label."],
    )
    assign_ids(section.findings, table)  # as the pipeline does: findings.json carries stable ids
    skipped = Section(name="balance", title="Class balance", skipped="no labels (pass --label-col)")
    gate = parse_gate("rows.duplicate_count>0", {"rows.duplicate_count": ""})
    missing = parse_gate("balance.num_classes>1", {"balance.num_classes": ""})
    return AuditResult(table=table, features=None, sections=[section, skipped],
                       metrics=dict(section.metrics), config=Config(), seconds=1.5,
                       gates=[GateResult(gate=gate, value=1.0, passed=False),
                              GateResult(gate=missing, value=None, passed=False)],
                       timings={"analyse.rows": 0.25}, not_computed={"balance.num_classes": "no labels"})


def _stable(document: dict) -> dict:
    return {k: v for k, v in document.items() if k not in VOLATILE}


def test_findings_json_matches_the_saved_copy():
    document = json.loads(JsonReporter().render(hand_built_result()))
    assert document["tool"]["name"] == "dataset-audit"
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(json.dumps(_stable(document), indent=1, ensure_ascii=False) + "\n")
    assert _stable(document) == json.loads(GOLDEN.read_text()), \
        "findings.json changed: if on purpose, bump SCHEMA_VERSION when readers break, and UPDATE_GOLDEN=1"


def test_findings_json_in_pieces_is_the_same_text_as_one_json_dumps(tmp_path):
    # write_report writes findings.json one finding at a time (at a million images the one string was the peak).
    for result in (hand_built_result(), dataclasses.replace(hand_built_result(), sections=[])):
        whole = json.dumps(findings_document(result), indent=1, ensure_ascii=False, allow_nan=False) + "\n"
        assert render_findings_json(result) == whole
        assert write_report(JsonReporter(), result, tmp_path).read_text(encoding="utf-8") == whole


def test_html_lays_out_a_hand_built_section():
    html = HtmlReporter().render(hand_built_result())
    assert 'id="section-rows"' in html and "Table rows" in html
    assert "rows 0 and 1 are identical" in html
    assert "Compared on every column but the label." in html
    assert "Rows per class" in html and "Groups" in html
    assert "Skipped: no labels (pass --label-col)" in html
    assert "rows.duplicate_count&gt;0" in html or "rows.duplicate_count>0" in html
    assert "<b>dog</b>" not in html  # escaped everywhere, markup and embedded JSON alike
    assert "&lt;b&gt;dog&lt;/b&gt;" in html


def test_write_report_replaces_atomically_and_keeps_the_old_file_on_failure(tmp_path):
    target = write_report(JsonReporter(), hand_built_result(), tmp_path)
    assert target == tmp_path / "findings.json" and json.loads(target.read_text())["schema_version"] >= 2
    before = target.read_text()

    class Failing:
        name, filename = "json", "findings.json"

        def render(self, result, progress=None):
            raise KeyboardInterrupt  # interrupted while rendering

    with pytest.raises(KeyboardInterrupt):
        write_report(Failing(), hand_built_result(), tmp_path)
    assert target.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["findings.json"]  # no temporary file left behind


def test_a_symlink_at_the_target_is_replaced_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    report = tmp_path / "report"
    report.mkdir()
    (report / "findings.json").symlink_to(outside / "stolen.json")  # dangling
    write_atomically(report / "findings.json", "{}\n")
    assert not (outside / "stolen.json").exists()
    assert not (report / "findings.json").is_symlink() and (report / "findings.json").read_text() == "{}\n"
