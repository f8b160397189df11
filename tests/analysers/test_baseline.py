"""Human baseline: a seeded sample of decoded, labelled images and the classes to choose from."""

from __future__ import annotations

from features_by_hand import audit_input, typical_records

from dataset_audit.analysers import baseline
from dataset_audit.pipeline import run_analyser


def labels(n: int) -> list[str]:
    return [["cat", "dog", "dog", "bird"][i % 4] for i in range(n)]


def test_sample_is_seeded_distinct_and_only_decoded_labelled_rows():
    y = labels(200)
    y[3] = ""
    records = typical_records(200, seed=1)
    records[5] = {"status": "unreadable"}
    first = run_analyser(baseline.ANALYSER, audit_input(records, {"label": y}, options={"baseline": {"images": 30}}))
    rows = [item.row for item in first.montages[0].items]
    assert len(rows) == 30 == len(set(rows))
    assert 3 not in rows and 5 not in rows
    again = run_analyser(baseline.ANALYSER, audit_input(records, {"label": y}, options={"baseline": {"images": 30}}))
    assert [item.row for item in again.montages[0].items] == rows
    other_seed = run_analyser(baseline.ANALYSER, audit_input(records, {"label": y}, options={"baseline": {"images": 30}}, seed=1))
    assert [item.row for item in other_seed.montages[0].items] != rows
    classes = first.tables[0]
    assert [row[0] for row in classes.rows] == ["dog", "cat", "bird"]  # largest first: the page's buttons
    assert first.montages[0].total == 198
    assert "'dog'" in first.summary and "50.0%" in first.summary


def test_small_dataset_gives_every_image():
    section = run_analyser(baseline.ANALYSER, audit_input(typical_records(12, seed=2), {"label": labels(12)}))
    assert sorted(item.row for item in section.montages[0].items) == list(range(12))


def test_skips_without_labels_or_with_too_many_classes():
    records = typical_records(20, seed=3)
    assert "no labels" in run_analyser(baseline.ANALYSER, audit_input(records, {}, label_col=None)).skipped
    many = run_analyser(baseline.ANALYSER, audit_input(records, {"label": [f"c{i}" for i in range(20)]},
                                    options={"baseline": {"max_classes": 10}}))
    assert "20 classes" in many.skipped
