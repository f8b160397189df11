"""Duplicate rows and conflicting labels: found with their rows, and nothing on a clean table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from dataset_audit.analysers import rows
from dataset_audit.config import Config
from dataset_audit.dataset import Table, load_table
from dataset_audit.model import AuditInput, Section
from dataset_audit.pipeline import run_analyser


def clean_frame(n: int = 200, seed: int = 0, with_path: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "label": rng.choice(["cat", "dog", "bird"], n),
        "split": rng.choice(["train", "val", "test"], n),
        "camera": rng.choice(["Camera A", "Camera B", "Phone"], n),
        "temp": rng.normal(24, 2, n).round(2).astype(str),
    })
    if with_path:
        frame.insert(0, "path", [f"img/{i:04d}.jpg" for i in range(n)])
    return frame


def audit(frame: pd.DataFrame, label_col: str | None = "label", path_col: str | None = "path",
          split_col: str | None = "split", **options) -> Section:
    table = Table(frame=frame, source="t.csv", root=Path("."), label_col=label_col, path_col=path_col,
                  split_col=split_col)
    config = Config(analysers={"rows": options} if options else {})
    return run_analyser(rows.ANALYSER, AuditInput(table=table, features=None, config=config))


def test_clean_table_has_no_findings():
    section = audit(clean_frame())
    assert section.findings == []
    assert section.metrics["rows.duplicate_count"] == 0
    assert section.metrics["rows.conflicting_label_count"] == 0


def test_duplicate_rows_are_grouped():
    frame = clean_frame()
    frame.iloc[50] = frame.iloc[10]
    frame.iloc[120] = frame.iloc[10]
    frame.iloc[199] = frame.iloc[3]
    section = audit(frame)
    groups = [f.rows for f in section.findings if f.kind == "duplicate_rows"]
    assert groups == [[3, 199], [10, 50, 120]]
    assert section.metrics["rows.duplicate_count"] == 3
    assert section.metrics["rows.duplicate_group_count"] == 2
    assert section.metrics["rows.conflicting_label_count"] == 0


def test_same_image_with_two_labels_conflicts():
    frame = clean_frame()
    frame.iloc[77] = frame.iloc[7]
    frame.loc[77, "label"] = "dog" if frame.loc[7, "label"] != "dog" else "cat"
    frame.loc[77, "split"] = "test"  # the split is not part of the record
    section = audit(frame)
    [finding] = section.findings
    assert finding.kind == "conflicting_labels" and finding.rows == [7, 77]
    assert sorted(finding.detail["labels"]) == sorted({frame.loc[7, "label"], frame.loc[77, "label"]})
    assert section.metrics["rows.conflicting_label_count"] == 2
    assert section.montages and [i.row for i in section.montages[0].items] == [7, 77]


def test_different_images_with_equal_metadata_do_not_conflict():
    frame = clean_frame()
    frame.loc[[1, 2], ["camera", "temp"]] = ["Phone", "24.0"]
    frame.loc[1, "label"], frame.loc[2, "label"] = "cat", "dog"
    assert audit(frame).findings == []


def test_tabular_records_conflict_without_a_path_column():
    frame = clean_frame(with_path=False)
    frame["id"] = [f"P{i}" for i in range(200)]
    frame.loc[150, ["camera", "temp", "id"]] = frame.loc[15, ["camera", "temp", "id"]]
    frame.loc[150, "label"] = "dog" if frame.loc[15, "label"] != "dog" else "bird"
    section = audit(frame, path_col=None)
    [finding] = section.findings
    assert finding.rows == [15, 150] and "same record" in finding.message


def test_low_information_records_are_not_compared():
    frame = clean_frame(with_path=False)[["label", "camera"]]
    section = audit(frame, path_col=None, split_col=None)
    assert section.metrics["rows.conflicting_label_count"] == 0
    assert not [f for f in section.findings if f.kind == "conflicting_labels"]
    assert any("not checked" in note for note in section.notes)


def test_groups_beyond_the_cap_go_into_one_finding():
    frame = pd.DataFrame({"a": [str(i // 2) for i in range(20)], "label": ["x"] * 20})
    section = audit(frame, path_col=None, split_col=None, max_group_findings=3)
    duplicates = [f for f in section.findings if f.kind == "duplicate_rows"]
    assert [len(f.rows) for f in duplicates] == [2, 2, 2, 14]
    assert duplicates[-1].detail["overflow"] is True
    assert section.metrics["rows.duplicate_count"] == 10


def test_unhashable_cells_from_json_lines():
    frame = pd.DataFrame({"tags": pd.Series([["a"], ["b"], ["a"]], dtype=object), "label": ["x", "y", "x"]})
    section = audit(frame, path_col=None, split_col=None)
    assert [f.rows for f in section.findings if f.kind == "duplicate_rows"] == [[0, 2]]


def test_sample_data_rows_are_found():
    root = Path(__file__).resolve().parents[2] / "sample_data"
    table = load_table(root / "images.csv", Config(label_col="label"))
    section = run_analyser(rows.ANALYSER, AuditInput(table=table, features=None, config=Config()))
    planted = {e["kind"]: e["rows"] for e in json.loads((root / "planted.json").read_text())["planted"]}
    assert [f.rows for f in section.findings if f.kind == "duplicate_rows"] == [planted["duplicate_row"]]
    assert [f.rows for f in section.findings if f.kind == "conflicting_labels"] == [planted["conflicting_row"]]
