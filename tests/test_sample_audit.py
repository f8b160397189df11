"""The bundled sample dataset: the audit finds what sample_data/planted.json says was planted, by row and path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dataset_audit.cli import app

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


@pytest.fixture(scope="module")
def audit(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("sample-report")
    result = CliRunner().invoke(app, ["run", str(SAMPLE / "images.csv"), "--label-col", "label", "--out", str(out),
                                      "--no-cache"])
    assert result.exit_code == 0, result.output
    document = json.loads((out / "findings.json").read_text())
    document["_html"] = (out / "report.html").read_text()
    return document


@pytest.fixture(scope="module")
def planted() -> list[dict]:
    return json.loads((SAMPLE / "planted.json").read_text())["planted"]


def planted_of(planted: list[dict], kind: str) -> list[dict]:
    entries = [p for p in planted if p["kind"] == kind]
    assert entries, f"planted.json has no {kind!r}"
    return entries


def findings_of(audit: dict, analyser: str, *kinds: str) -> list[dict]:
    return [f for f in audit["findings"] if f["analyser"] == analyser and f["kind"] in kinds]


def covered(findings: list[dict], rows: list[int]) -> bool:
    """Some finding lists all these rows."""
    return any(set(rows) <= set(f["rows"]) for f in findings)


@pytest.mark.parametrize(("planted_kind", "finding_kinds"), [
    ("missing_file", ("missing",)),
    ("empty_path", ("missing",)),
    ("corrupt", ("unreadable", "truncated")),
    ("decompression_bomb", ("unreadable",)),
    ("format_mismatch", ("format_mismatch",)),
])
def test_planted_integrity_problems_found_by_row_and_path(audit, planted, planted_kind, finding_kinds):
    found = findings_of(audit, "integrity", *finding_kinds)
    for entry in planted_of(planted, planted_kind):
        matching = [f for f in found if f["rows"] == entry["rows"]]
        assert matching, f"{planted_kind} rows {entry['rows']} not found"
        assert matching[0]["paths"] == entry["paths"]


def test_truncated_files_are_reported_as_truncated(audit, planted):
    truncated = {r for f in findings_of(audit, "integrity", "truncated") for r in f["rows"]}
    for entry in planted_of(planted, "corrupt"):
        if entry["detail"]["variant"].startswith("truncated"):
            assert set(entry["rows"]) <= truncated


def test_odd_modes_decode_and_are_not_integrity_errors(audit, planted):
    error_rows = {r for f in audit["findings"] if f["analyser"] == "integrity" and f["severity"] == "error"
                  for r in f["rows"]}
    for entry in planted_of(planted, "odd_mode"):
        assert not set(entry["rows"]) & error_rows, entry


def test_rare_class_found(audit, planted):
    entry = planted_of(planted, "class_imbalance")[0]
    rare = [f for f in findings_of(audit, "balance", "rare_class") if f["detail"]["class"] == entry["detail"]["label"]]
    assert rare and set(rare[0]["rows"]) == set(entry["rows"])


def test_report_has_every_section_and_montages(audit):
    html = audit["_html"]
    for analyser in audit["analysers"]:
        assert f'id="section-{analyser["name"]}"' in html
    assert html.count('<figure class="tile"') >= 10


@pytest.mark.parametrize(("planted_kind", "analyser", "finding_kind"), [
    ("missing_value", "columns", "missing"),
    ("disguised_missing", "columns", "disguised_missing"),
    ("numbers_as_text", "columns", "numbers_as_text"),
    ("numeric_outlier", "columns", "outliers"),
    ("mojibake", "columns", "mojibake"),
    ("inconsistent_category", "categories", "inconsistent_category"),
    ("inconsistent_label", "categories", "inconsistent_category"),
    ("duplicate_row", "rows", "duplicate_rows"),
    ("conflicting_row", "rows", "conflicting_labels"),
])
def test_planted_metadata_problems_found_on_their_rows(audit, planted, planted_kind, analyser, finding_kind):
    found = findings_of(audit, analyser, finding_kind)
    for entry in planted_of(planted, planted_kind):
        column = entry["detail"].get("column")
        candidates = [f for f in found if column is None or f["detail"].get("column") == column]
        assert candidates, f"no {finding_kind} finding for column {column!r}"
        if planted_kind == "inconsistent_category" or planted_kind == "inconsistent_label":
            # The finding lists the minority spellings; the planted rows are those variants.
            assert any(set(f["rows"]) & set(entry["rows"]) for f in candidates)
        else:
            assert covered(candidates, entry["rows"]), (planted_kind, entry["rows"], [f["rows"] for f in candidates])


@pytest.mark.parametrize(("planted_kind", "finding_kind"), [
    ("leaky_column", "leaky_column"), ("constant_column", "constant"), ("id_column", "id_like"),
    ("dates_as_text", "dates_as_text"),
])
def test_planted_column_problems_name_the_column(audit, planted, planted_kind, finding_kind):
    column = planted_of(planted, planted_kind)[0]["detail"]["column"]
    kinds = {f["kind"] for f in audit["findings"] if f["detail"].get("column") == column}
    assert finding_kind in kinds, (column, kinds)


def test_nothing_reported_that_was_not_planted(audit):
    kinds = {f["kind"] for f in audit["findings"]}
    assert "label_order" not in kinds  # rows are shuffled
    assert "encoding" not in kinds  # the CSV is UTF-8


@pytest.mark.parametrize(("planted_kind", "finding_kind"), [
    ("dark", "dark"), ("bright", "bright"), ("blurry", "blurry"), ("low_information", "low_information"),
    ("odd_size", "odd_size"), ("grayscale_concentrated", "grayscale"),
])
def test_planted_quality_problems_found(audit, planted, planted_kind, finding_kind):
    found = findings_of(audit, "quality", finding_kind)
    for entry in planted_of(planted, planted_kind):
        assert covered(found, entry["rows"]), (planted_kind, entry["rows"], [f["rows"] for f in found])


def test_planted_outliers_and_most_mislabels_found(audit, planted):
    outliers = {r for f in findings_of(audit, "embedding", "outlier") for r in f["rows"]}
    for entry in planted_of(planted, "outlier"):
        assert set(entry["rows"]) <= outliers
    suspicious = outliers | {r for f in findings_of(audit, "embedding", "label_disagreement") for r in f["rows"]}
    mislabelled = [r for entry in planted_of(planted, "mislabelled") for r in entry["rows"]]
    assert sum(r in suspicious for r in mislabelled) >= 4, (mislabelled, sorted(suspicious))


def test_planted_grayscale_class_is_a_spurious_correlation(audit, planted):
    entry = planted_of(planted, "grayscale_concentrated")[0]
    found = [f for f in findings_of(audit, "bias", "spurious_correlation") if f["detail"]["property"] == "grayscale"]
    assert found, [f["message"] for f in findings_of(audit, "bias", "spurious_correlation")]
    assert found[0]["severity"] == "warning" and found[0]["detail"]["class"] == entry["detail"]["label"]
    assert set(entry["rows"]) <= set(found[0]["rows"])
    assert audit["metrics"]["bias.max_capture_score"] >= 0.8  # grayscale is a capture property


def test_random_splits_do_not_drift_and_baseline_offers_every_class(audit):
    assert audit["metrics"]["drift.max_split_auc"] < 0.65
    assert "split_drift" not in {f["kind"] for f in audit["findings"] if f["severity"] == "warning"}
    assert audit["_html"].count('class="hb-answer"') == 9  # the 6 classes, 3 variant spellings of 'circle'


@pytest.mark.parametrize(("planted_kind", "finding_kinds"), [
    ("exact_duplicate", ("exact_duplicate",)),
    ("reencoded_duplicate", ("exact_duplicate",)),
    ("near_duplicate", ("near_duplicate", "exact_duplicate")),
    ("leakage", ("leakage",)),
    ("conflicting_labels", ("conflicting_labels",)),
])
def test_planted_duplicates_and_leakage_found(audit, planted, planted_kind, finding_kinds):
    found = findings_of(audit, "duplicates", *finding_kinds)
    for entry in planted_of(planted, planted_kind):
        assert covered(found, entry["rows"]), (planted_kind, entry["rows"], [f["rows"] for f in found])


def test_leakage_finding_lists_rows_on_both_sides(audit, planted):
    splits = {i: row.split(",")[2] for i, row in enumerate((SAMPLE / "images.csv").read_text().splitlines()[1:])}
    for entry in planted_of(planted, "leakage"):
        finding = next(f for f in findings_of(audit, "duplicates", "leakage") if set(entry["rows"]) <= set(f["rows"]))
        train, other = finding["detail"]["train_rows"], finding["detail"]["other_rows"]
        assert train and other and set(train) | set(other) == set(finding["rows"])
        assert {splits[r] for r in train} == {"train"}
        assert "train" not in {splits[r] for r in other}
