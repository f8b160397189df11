"""Issue 9, item 12: a gate on a metric whose input is absent (no labels, no split column) fails as "not computed"
instead of passing with a made-up 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from imagetools import random_rgb
from typer.testing import CliRunner

from dataset_audit.cli import app

LABEL_OR_SPLIT_METRICS = ["leakage.cross_split_rate", "rows.conflicting_label_count",
                          "duplicates.conflicting_label_groups", "categories.label_inconsistent_groups"]


@pytest.fixture
def unlabelled(tmp_path: Path) -> Path:
    (tmp_path / "img").mkdir()
    lines = ["path,camera"]
    for i in range(8):
        random_rgb(i).save(tmp_path / "img" / f"{i}.png")
        lines.append(f"img/{i}.png,cam{i % 2}")
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    return tmp_path / "t.csv"


@pytest.mark.parametrize("metric", LABEL_OR_SPLIT_METRICS)
def test_a_gate_on_a_metric_without_its_input_fails(unlabelled, tmp_path, metric):
    result = CliRunner().invoke(app, ["run", str(unlabelled), "--out", str(tmp_path / "out"), "--no-cache",
                                      "--fail-on", f"{metric}>0"])
    assert result.exit_code == 1, result.output
    document = json.loads((tmp_path / "out" / "findings.json").read_text())
    [gate] = document["gates"]
    assert gate["value"] is None and gate["passed"] is False
    assert gate["not_computed"].startswith(("no labels", "no split column"))
    assert metric not in document["metrics"] and metric in document["not_computed"]
    assert "not computed" in result.output


def test_the_same_gates_pass_when_the_inputs_are_there(unlabelled, tmp_path):
    text = unlabelled.read_text().splitlines()
    rows = [text[0] + ",label,split"] + [f"{line},{'ab'[i % 2]},{'train' if i < 6 else 'test'}"
                                          for i, line in enumerate(text[1:])]
    unlabelled.write_text("\n".join(rows) + "\n")
    gates = [arg for metric in LABEL_OR_SPLIT_METRICS for arg in ("--fail-on", f"{metric}>0")]
    result = CliRunner().invoke(app, ["run", str(unlabelled), "--label-col", "label", "--out",
                                      str(tmp_path / "out"), "--no-cache", *gates])
    assert result.exit_code == 0, result.output
