"""Inconsistent categories: spelling variants are grouped with their counts; distinct codes are left apart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from dataset_audit.analysers import categories
from dataset_audit.analysers.categories import variant_groups
from dataset_audit.config import Config
from dataset_audit.dataset import Table, load_table
from dataset_audit.model import AuditInput, Section
from dataset_audit.pipeline import run_analyser


def clean_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "path": [f"img/{i:04d}.jpg" for i in range(n)],
        "label": rng.choice(["cat", "dog", "bird"], n),
        "split": rng.choice(["train", "val", "test"], n),
        "camera": rng.choice(["Camera A", "Camera B", "Phone"], n),
        "batch": rng.choice(["B01", "B02", "B03", "B10", "B11"], n),
        "grade": rng.choice(["class1", "class2", "class10", "class11"], n),
        "sex": rng.choice(["male", "female"], n),
        "age": rng.integers(18, 80, n).astype(str),
    })


def audit(frame: pd.DataFrame, label_col: str | None = "label", path_col: str | None = None, **options) -> Section:
    table = Table(frame=frame, source="t.csv", root=Path("."), label_col=label_col, path_col=path_col)
    config = Config(analysers={"categories": options} if options else {})
    return run_analyser(categories.ANALYSER, AuditInput(table=table, features=None, config=config))


def test_clean_table_has_no_findings():
    section = audit(clean_frame(), path_col="path")
    assert section.findings == []
    assert section.metrics["categories.inconsistent_groups"] == 0


def test_case_spacing_and_punctuation_variants_are_grouped_with_counts():
    frame = clean_frame()
    frame.loc[[3, 30], "camera"] = ["camera a", "CameraA"]
    frame.loc[40, "camera"] = "Camera A "
    frame.loc[41, "camera"] = "camera-a"
    section = audit(frame)
    [finding] = section.findings
    assert finding.detail["column"] == "camera"
    assert finding.detail["canonical"] == "Camera A"
    assert finding.rows == [3, 30, 40, 41]  # rows holding the less common spellings
    variants = finding.detail["variants"]
    assert variants["camera a"] == variants["CameraA"] == variants["Camera A "] == variants["camera-a"] == 1
    assert variants["Camera A"] == int((frame["camera"] == "Camera A").sum())
    assert "Camera B" not in variants
    assert section.metrics["categories.inconsistent_rows"] == 4


def test_label_variants_and_plural():
    frame = clean_frame()
    frame.loc[[5, 6], "label"] = "Dog"
    frame.loc[7, "label"] = "dogs"
    section = audit(frame)
    [finding] = section.findings
    assert finding.detail["is_label"] and finding.detail["canonical"] == "dog"
    assert finding.rows == [5, 6, 7]
    assert set(finding.detail["reasons"]) == {"case", "singular and plural"}
    assert section.metrics["categories.label_inconsistent_groups"] == 1


def test_abbreviation_and_typo():
    groups = variant_groups({"IT": 5, "I.T.": 2, "it ": 1, "Information Technology": 3, "Sales": 10,
                             "Germany": 30, "Germnay": 1, "HR": 2, "Human Resources": 4}, 0.85)
    as_sets = {frozenset(members): reasons for members, reasons in groups}
    assert frozenset({"IT", "I.T.", "it ", "Information Technology"}) in as_sets
    assert frozenset({"Germany", "Germnay"}) in as_sets
    assert frozenset({"HR", "Human Resources"}) in as_sets
    assert len(groups) == 3


def test_codes_that_differ_by_a_number_or_letter_stay_apart():
    counts = {"class1": 5, "class2": 5, "class10": 3, "class11": 3, "grade A": 4, "grade B": 3, "B01": 3,
              "B02": 4, "male": 3, "female": 4, "Camera A": 5, "Camera B": 5, "train": 5, "test": 5}
    assert variant_groups(counts, 0.85) == []


def test_high_cardinality_and_numeric_columns_are_not_checked():
    frame = clean_frame()
    frame["name"] = [f"Person {i}" for i in range(200)]
    frame.loc[9, "name"] = "person 1"  # would group with 'Person 1' if free text were checked
    section = audit(frame)
    assert section.findings == []
    assert any("'name'" in note for note in section.notes)


def test_path_column_is_skipped():
    frame = clean_frame(40)
    frame["path"] = ["a.jpg", "A.jpg"] * 20
    assert audit(frame, path_col="path").findings == []


def test_sample_data_variants_are_found():
    root = Path(__file__).resolve().parents[2] / "sample_data"
    table = load_table(root / "images.csv", Config(label_col="label"))
    section = run_analyser(categories.ANALYSER, AuditInput(table=table, features=None, config=Config()))
    by_column = {f.detail["column"]: f for f in section.findings}
    planted = {e["kind"]: e["rows"] for e in json.loads((root / "planted.json").read_text())["planted"]}
    assert by_column["source"].rows == planted["inconsistent_category"]
    assert by_column["label"].rows == planted["inconsistent_label"]
    assert by_column["annotator"].rows == planted["mojibake"]  # the mojibake spelling of 'José'
    assert len(section.findings) == 3
