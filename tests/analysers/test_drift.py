"""Drift: a test split that differs from train (darker images, another source, other labels) is flagged with the
drifted properties named; splits drawn from one distribution are not; no split column means a clear skip."""

from __future__ import annotations

import numpy as np
import pytest
from features_by_hand import audit_input, typical_records

from dataset_audit.analysers import drift
from dataset_audit.pipeline import run_analyser

N = 600


def splits(n: int = N) -> list[str]:
    return ["test" if i % 4 == 0 else "train" for i in range(n)]


def columns(n: int = N, **extra) -> dict:
    return {"label": [["a", "b", "c"][i % 3] for i in range(n)], "split": splits(n),
            "source": np.random.default_rng(0).choice(["cam1", "cam2"], n).tolist(), **extra}


def run(records, cols, **options):
    return run_analyser(drift.ANALYSER, audit_input(records, cols, split_col="split", options={"drift": options} if options else None))


def test_splits_from_one_distribution_do_not_drift():
    section = run(typical_records(N, seed=1), columns())
    assert section.findings == []
    assert abs(section.metrics["drift.max_split_auc"] - 0.5) < 0.1
    assert section.metrics["drift.drifted_count"] == 0
    assert section.charts == []
    assert "train" in section.summary and "test" in section.summary


def test_darker_test_split_is_flagged_with_brightness_named():
    records = typical_records(N, seed=2)
    for record, split in zip(records, splits(), strict=True):
        if split == "test":
            record["brightness"] -= 40
            record["luma_p99"] -= 40
    section = run(records, columns())
    assert section.metrics["drift.max_split_auc"] > 0.8
    (finding,) = section.findings
    assert finding.kind == "split_drift" and finding.severity == "warning"
    assert "brightness" in finding.message
    assert finding.detail["drifted"][0]["name"] == "brightness"
    assert all(splits()[r] == "test" for r in finding.rows) and finding.rows
    chart = section.charts[0]
    assert chart.title == "brightness: train vs test"
    assert [t["name"] for t in chart.traces] == ["train", "test"]  # the two distributions, overlaid
    assert all(abs(sum(t["y"]) - 1) < 1e-3 for t in chart.traces)  # shares of each split
    assert section.montages and section.montages[0].items[0].row in finding.rows


def test_metadata_and_label_drift_are_named():
    n = N
    cols = columns()
    cols["source"] = ["cam2" if s == "test" else ["cam1", "cam2"][i % 2] for i, s in enumerate(splits(n))]
    cols["label"] = ["a" if s == "test" and i % 3 else ["a", "b", "c"][i % 3] for i, s in enumerate(splits(n))]
    section = run(typical_records(n, seed=3), cols)
    drifted = {row[1] for row in section.tables[0].rows if row[-1] == "yes"}
    assert drifted == {"source", "label (label)"}
    assert section.metrics["drift.drifted_count"] == 2
    (finding,) = section.findings
    assert finding.severity == "info"  # the images themselves look alike
    assert "source" in finding.message
    narrow = run(typical_records(n, seed=3), cols, max_columns=0)  # metadata columns capped: only images and label
    assert {row[2] for row in narrow.tables[0].rows} == {"image", "label"}


def test_every_other_split_is_compared_with_train():
    cols = columns()
    cols["split"] = [["train", "train", "val", "test"][i % 4] for i in range(N)]
    section = run(typical_records(N, seed=4), cols)
    assert {row[0] for row in section.tables[0].rows} == {"train vs val", "train vs test"}


def test_permutation_p_values_are_seeded_and_bounded():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 300), rng.normal(0, 1, 300)
    first = drift.ks_statistic_permutations(a, b, 99, np.random.default_rng(1))
    assert first == drift.ks_statistic_permutations(a, b, 99, np.random.default_rng(1))
    assert first[1] > 0.05
    statistic, p_value = drift.ks_statistic_permutations(a, b + 1.0, 99, np.random.default_rng(1))
    assert statistic > 0.3 and p_value == pytest.approx(1 / 100)
    from scipy.stats import ks_2samp
    ties = np.round(a), np.round(b + 0.5)
    assert drift.ks_statistic_permutations(*ties, 9, rng)[0] == pytest.approx(ks_2samp(*ties).statistic)
    distance, p_tv = drift.tv_distance_permutations(np.array([0] * 50 + [1] * 50), np.array([0] * 90 + [1] * 10), 99, rng)
    assert distance == pytest.approx(0.4) and p_tv == pytest.approx(1 / 100)


def test_skips_without_split_column_or_with_one_split():
    records = typical_records(40, seed=5)
    no_split = run_analyser(drift.ANALYSER, audit_input(records, {"label": ["a"] * 40}))
    assert "no split column" in no_split.skipped
    one = run_analyser(drift.ANALYSER, audit_input(records, {"label": ["a"] * 40, "split": ["train"] * 40}, split_col="split"))
    assert one.skipped == "only one split (train) among the decoded images: nothing to compare"


def test_tiny_split_gets_tests_but_no_classifier():
    cols = columns(60)
    cols["split"] = ["test" if i < 5 else "train" for i in range(60)]
    section = run(typical_records(60, seed=6), cols)
    assert "drift.max_split_auc" not in section.metrics
    assert "not computed" in section.notes[0]
