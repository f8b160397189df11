"""Bias: a property that singles out a class (a mostly grayscale class, a brighter class) is flagged and named;
properties independent of the label are not."""

from __future__ import annotations

import numpy as np
import pytest
from features_by_hand import audit_input, typical_records

from dataset_audit.analysers import bias
from dataset_audit.pipeline import run_analyser

CLASSES = ["cat", "dog", "old_photo", "car"]
PER_CLASS = 80


def labels() -> list[str]:
    return [CLASSES[i % len(CLASSES)] for i in range(PER_CLASS * len(CLASSES))]


def test_independent_properties_are_not_flagged():
    y = labels()
    section = run_analyser(bias.ANALYSER, audit_input(typical_records(len(y), seed=1), {"label": y}))
    assert section.findings == []
    assert 0.5 <= section.metrics["bias.max_property_score"] < 0.7
    scored = {row[0] for row in section.tables[0].rows}
    assert {"brightness", "colourfulness", "file_size"} <= scored
    assert "grayscale" not in scored and "width" not in scored  # constant here, so left out


def test_mostly_grayscale_class_is_flagged_and_named():
    y = labels()
    records = typical_records(len(y), seed=2)
    rng = np.random.default_rng(3)
    grey_rows = [i for i, label in enumerate(y) if label == "old_photo" and rng.random() < 0.8]
    for i in grey_rows:
        records[i].update(colourfulness=0.0, mode="L")
    section = run_analyser(bias.ANALYSER, audit_input(records, {"label": y}))
    assert section.metrics["bias.max_property_score"] >= 0.85
    assert section.metrics["bias.max_capture_score"] >= 0.85  # grayscale and mode are capture properties
    finding = section.findings[0]
    assert finding.kind == "spurious_correlation" and finding.severity == "warning"
    assert finding.detail["property"] in {"grayscale", "colourfulness", "mode"}
    assert finding.detail["class"] == "old_photo"
    assert len(section.findings) == 1  # one finding per class, naming every property that singles it out
    assert finding.detail["property"] in {"grayscale", "mode"}  # capture properties lead over pixel statistics
    assert "colourfulness" in finding.detail["also"] and "colourfulness" in finding.message
    assert "old_photo" in finding.message and finding.detail["property"] in finding.message
    assert set(finding.rows) == set(grey_rows)  # the images that carry the correlation
    assert section.montages and section.montages[0].items[0].row in grey_rows
    assert section.charts[0].title.startswith(finding.detail["property"])
    assert section.summary.startswith(f"Best single-property score: {finding.detail['property']}")


def test_non_monotonic_numeric_property_is_found():
    """A class whose brightness sits in the middle of the others' range: bins catch what a threshold would not."""
    y = labels()
    records = typical_records(len(y), seed=4)
    rng = np.random.default_rng(5)
    for record, label in zip(records, y, strict=True):
        if label == "car":
            record["brightness"] = float(rng.normal(128, 3))
        else:
            record["brightness"] = float(rng.choice([rng.normal(60, 10), rng.normal(200, 10)]))
    section = run_analyser(bias.ANALYSER, audit_input(records, {"label": y}))
    finding = next(f for f in section.findings if f.detail["property"] == "brightness")
    assert finding.detail["class"] == "car" and finding.detail["auc"] > 0.9
    assert finding.severity == "info" and "may be the content itself" in finding.message  # a pixel statistic
    assert section.metrics["bias.max_capture_score"] == 0.5  # sizes, format, mode are constant here


def test_threshold_setting_and_small_classes():
    y = labels()
    records = typical_records(len(y), seed=6)
    for i, label in enumerate(y):
        if label == "dog":
            records[i]["width"] = 80
    loose = run_analyser(bias.ANALYSER, audit_input(records, {"label": y}, options={"bias": {"score_threshold": 0.999}}))
    assert loose.findings[0].detail["property"] == "width"  # perfectly predictive: AUC 1.0
    ignored = run_analyser(bias.ANALYSER, audit_input(records, {"label": y}, options={"bias": {"min_class_rows": 100}}))
    assert ignored.findings == [] and ignored.metrics["bias.max_property_score"] == 0.5
    assert "never flagged" in ignored.notes[0]


def test_skips_without_labels_or_with_one_class():
    records = typical_records(20, seed=7)
    assert "no labels" in run_analyser(bias.ANALYSER, audit_input(records, {}, label_col=None)).skipped
    assert "fewer than two classes" in run_analyser(bias.ANALYSER, audit_input(records, {"label": ["a"] * 20})).skipped


def test_undecoded_and_unlabelled_rows_are_left_out():
    y = labels()
    records = typical_records(len(y), seed=8)
    y[0] = ""
    records[1] = {"status": "unreadable"}
    section = run_analyser(bias.ANALYSER, audit_input(records, {"label": y}))
    assert f"on {len(y) - 2:,} decoded, labelled images" in section.tables[0].caption


@pytest.mark.parametrize("seed", [0, 1])
def test_cell_auc_matches_row_level_auc(seed):
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 6, 300).astype(float)
    truth = (rng.random(300) < 0.2 + 0.1 * scores).astype(int)
    cells = np.unique(scores)
    positives = np.array([truth[scores == s].sum() for s in cells], dtype=float)
    negatives = np.array([(1 - truth[scores == s]).sum() for s in cells], dtype=float)
    assert bias.cell_auc(cells, positives, negatives) == pytest.approx(roc_auc_score(truth, scores))
