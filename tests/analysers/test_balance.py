"""balance: class counts, the imbalance ratio, rare and unlabelled rows, classes missing from a split."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dataset_audit.analysers import balance
from dataset_audit.config import Config
from dataset_audit.dataset import Table
from dataset_audit.model import AuditInput
from dataset_audit.pipeline import run_analyser


def _run(labels: list[str], splits: list[str] | None = None):
    columns = {"y": labels} | ({"split": splits} if splits else {})
    table = Table(frame=pd.DataFrame(columns), source="t.csv", root=Path("."), label_col="y",
                  split_col="split" if splits else None)
    return run_analyser(balance.ANALYSER, AuditInput(table=table, features=None, config=Config()))


def test_counts_ratio_and_a_rare_class():
    section = _run(["cat"] * 50 + ["dog"] * 40 + ["eel"] * 2 + [""] * 3)
    assert section.metrics == {"balance.num_classes": 3, "balance.imbalance_ratio": 25.0,
                               "balance.min_class_count": 2, "balance.max_class_count": 50,
                               "balance.unlabelled_count": 3}
    rare = [f for f in section.findings if f.kind == "rare_class"]
    assert [f.detail["class"] for f in rare] == ["eel"] and rare[0].rows == [90, 91]
    [unlabelled] = [f for f in section.findings if f.kind == "unlabelled"]
    assert unlabelled.rows == [92, 93, 94]


def test_a_balanced_dataset_has_no_findings():
    section = _run(["a", "b", "c"] * 20)
    assert section.findings == [] and section.metrics["balance.imbalance_ratio"] == 1.0


def test_a_class_absent_from_a_split_is_found():
    labels = ["cat", "dog", "cat", "dog", "cat", "cat"]
    splits = ["train", "train", "train", "train", "test", "test"]
    section = _run(labels, splits)
    [missing] = [f for f in section.findings if f.kind == "class_missing_from_split"]
    assert missing.detail == {"class": "dog", "present": ["train"], "absent": ["test"]}
    assert section.metrics["balance.classes_missing_from_a_split"] == 1


def test_without_labels_it_is_skipped_with_the_uniform_reason():
    table = Table(frame=pd.DataFrame({"x": [1, 2]}), source="t.csv", root=Path("."))
    section = run_analyser(balance.ANALYSER, AuditInput(table=table, features=None, config=Config()))
    assert section.skipped.startswith("no labels") and not section.metrics
