"""The metadata-columns analyser: each planted problem is found on the right rows; clean tables stay quiet."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dataset_audit.analysers import columns
from dataset_audit.analysers._tabular import repair_mojibake
from dataset_audit.config import Config
from dataset_audit.dataset import Table, load_table
from dataset_audit.model import AuditInput, Section
from dataset_audit.pipeline import run_analyser


def clean_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    """A sensible metadata table with nothing wrong in it, as a CSV would give it (all strings)."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "label": rng.choice(["cat", "dog", "bird"], n),
        "city": rng.choice(["Paris", "London", "Berlin", "Madrid"], n),
        "age": np.clip(rng.normal(40, 10, n), 18, 80).round().astype(int).astype(str),
        "weight": rng.normal(70, 8, n).round(1).astype(str),
    })


def audit(frame: pd.DataFrame, source: str = "t.csv", label_col: str | None = "label", path_col: str | None = None,
          **options) -> Section:
    table = Table(frame=frame, source=source, root=Path("."), label_col=label_col, path_col=path_col)
    config = Config(analysers={"columns": options} if options else {})
    return run_analyser(columns.ANALYSER, AuditInput(table=table, features=None, config=config))


def only(section: Section, kind: str, column: str | None = None):
    found = [f for f in section.findings if f.kind == kind and (column is None or f.detail.get("column") == column)]
    assert len(found) == 1, [f.message for f in section.findings]
    return found[0]


def test_clean_table_has_no_findings():
    section = audit(clean_frame())
    assert section.findings == []
    assert section.metrics["missing.cell_rate"] == 0
    assert section.metrics["missing.disguised_count"] == 0
    assert section.metrics["columns.type_issue_count"] == 0
    overview = {row[0]: row for row in section.tables[0].rows}
    assert overview["age"][2] == "integer" and overview["weight"][2] == "decimal" and overview["city"][2] == "text"
    assert [c.title for c in section.charts] == ["age", "weight"]


def test_clean_table_with_native_dtypes_has_no_findings():
    frame = clean_frame()
    frame["age"] = frame["age"].astype(np.int64)
    frame["weight"] = frame["weight"].astype(float)
    assert audit(frame, source="t.parquet").findings == []


def test_missing_tokens_are_found_with_their_forms():
    frame = clean_frame()
    for row, token in ((3, "NA"), (7, "?"), (9, ""), (11, "  "), (12, "null"), (13, "N/A")):
        frame.loc[row, "age"] = token
    finding = only(audit(frame), "missing", "age")
    assert finding.rows == [3, 7, 9, 11, 12, 13]
    assert finding.severity == "warning"
    assert finding.detail["forms"] == {"NA": 1, "?": 1, "(empty)": 1, "(whitespace)": 1, "null": 1, "N/A": 1}


def test_plain_empty_cells_are_info_and_feed_the_cell_rate():
    frame = clean_frame()
    frame.loc[[5, 6], "city"] = ""
    section = audit(frame)
    finding = only(section, "missing", "city")
    assert finding.rows == [5, 6] and finding.severity == "info"
    assert section.metrics["missing.cell_rate"] == pytest.approx(2 / (200 * 4))
    assert section.metrics["missing.token_count"] == 0


def pima_like(n: int = 768, seed: int = 1) -> tuple[pd.DataFrame, dict[str, list[int]]]:
    """Columns shaped like the Pima diabetes data, with zeros planted where Pima has them."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "Pregnancies": rng.poisson(3.8, n),  # 0 is a real value here: next to 1, 2, 3
        "Glucose": np.clip(rng.normal(121, 30, n), 44, 199).round(),
        "BloodPressure": np.clip(rng.normal(72, 12, n), 24, 122).round(),
        "SkinThickness": np.clip(rng.normal(29, 10, n), 7, 99).round(),
        "Insulin": np.clip(rng.lognormal(4.8, 0.5, n), 14, 846).round(),
        "BMI": np.clip(rng.normal(32, 7, n), 18.2, 67.1).round(1),
        "Outcome": rng.integers(0, 2, n),
    })
    frame.loc[0, "Glucose"] = 44  # so the rest of the column lies in exactly 44-199
    frame.loc[1, "Glucose"] = 199
    planted = {}
    for column, count in (("Glucose", 5), ("BloodPressure", 35), ("SkinThickness", 227), ("Insulin", 374),
                          ("BMI", 11)):
        rows = sorted(rng.choice(np.arange(2, n), count, replace=False).tolist())
        frame.loc[rows, column] = 0
        planted[column] = rows
    return frame, planted


@pytest.mark.parametrize("as_csv", [True, False])
def test_pima_zeros_are_disguised_missing(as_csv):
    frame, planted = pima_like()
    if as_csv:
        frame = frame.astype(str)
    section = audit(frame, source="pima.csv" if as_csv else "pima.parquet", label_col="Outcome")
    found = {f.detail["column"]: f for f in section.findings if f.kind == "disguised_missing"}
    assert set(found) == set(planted)  # Pregnancies keeps its zeros: 0 children is a real value
    for column, rows in planted.items():
        assert found[column].rows == rows
        assert found[column].detail["value"] == "0"
    glucose = found["Glucose"].message
    assert "0 appears 5 times (0.7%)" in glucose and "lies in 44 to 199" in glucose and "not recorded" in glucose
    assert section.metrics["missing.disguised_count"] == sum(len(r) for r in planted.values())
    # The zeros are not also reported as outliers.
    assert not any(f.kind == "outliers" and 0 in f.detail["most_extreme"].values() for f in section.findings)


def test_sentinel_dates_and_nines():
    rng = np.random.default_rng(2)
    n = 300
    days = pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    frame = pd.DataFrame({
        "label": rng.choice(["a", "b"], n),
        "captured": days.strftime("%Y-%m-%d"),
        "height_cm": rng.normal(170, 8, n).round().astype(int).astype(str),
    })
    frame.loc[[4, 40, 77], "captured"] = "1900-01-01"
    frame.loc[[8, 9, 10, 11], "height_cm"] = "999"
    section = audit(frame)
    assert only(section, "disguised_missing", "captured").rows == [4, 40, 77]
    assert only(section, "disguised_missing", "height_cm").rows == [8, 9, 10, 11]


def test_the_limits_of_machine_types_are_disguised_missing():
    """Loggers write the largest float (or float32's, or 65535 for a 16-bit reading) for 'no reading': flagged from
    three cells on, as other sentinels; a legitimate 65535 inside a column's range is not flagged."""
    rng = np.random.default_rng(5)
    n = 300
    frame = pd.DataFrame({
        "label": rng.choice(["a", "b"], n),
        "temp_c": rng.normal(22, 3, n).round(2).astype(str),
        "pressure": rng.normal(1013, 8, n).round(1).astype(str),
        "raw_counts": rng.integers(60000, 70000, n).astype(str),
        "adc": rng.integers(100, 4000, n).astype(str),
    })
    frame.loc[[3, 33, 63], "temp_c"] = "1.7976931348623157e+308"
    frame.loc[[4, 44, 84], "temp_c"] = "-1.7976931348623157e+308"
    frame.loc[[5, 6, 7], "pressure"] = "3.4028235e+38"  # float32's largest, as float32 prints it
    frame.loc[[1, 2], "raw_counts"] = "65535"  # inside the range: a value like any other
    frame.loc[[10, 20, 30], "adc"] = "65535"
    section = audit(frame)
    found = {(f.detail["column"], f.detail["value"]): f.rows for f in section.findings if f.kind == "disguised_missing"}
    assert found == {("temp_c", "1.798e+308"): [3, 33, 63], ("temp_c", "-1.798e+308"): [4, 44, 84],
                     ("pressure", "3.403e+38"): [5, 6, 7], ("adc", "65535"): [10, 20, 30]}, found
    assert not any(f.kind == "outliers" and f.detail.get("column") in {"temp_c", "pressure", "adc"}
                   for f in section.findings)  # what is disguised missing is not also an outlier
    assert section.error is None


def test_mixed_types_and_numbers_with_units():
    frame = clean_frame()
    frame.loc[[2, 50], "age"] = ["unknown", "forty"]
    frame.loc[[20, 30], "weight"] = ["71 kg", "68,5"]
    section = audit(frame)
    mixed = only(section, "mixed_types", "age")
    assert mixed.rows == [2, 50] and "'forty'" in mixed.message
    units = only(section, "numbers_as_text", "weight")
    assert units.rows == [20, 30]
    assert section.metrics["columns.type_issue_count"] == 2


def test_mixed_date_formats_name_the_formats():
    rng = np.random.default_rng(3)
    dates = (pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 365, 100), unit="D")).strftime("%Y-%m-%d")
    frame = pd.DataFrame({"label": rng.choice(["a", "b"], 100), "taken": dates})
    frame.loc[[10, 60], "taken"] = ["25/12/2022", "31/01/2022"]
    section = audit(frame)
    finding = only(section, "mixed_date_formats", "taken")
    assert finding.rows == [10, 60]
    assert finding.detail["main_format"] == "%Y-%m-%d"
    assert finding.detail["formats"] == {"%Y-%m-%d": 98, "%d/%m/%Y": 2}
    # A CSV date column is a parsing hint (info), not a type issue; mixed formats are.
    assert only(section, "dates_as_text", "taken").severity == "info"
    assert section.metrics["columns.type_issue_count"] == 1


def test_typed_input_with_numbers_and_dates_stored_as_text():
    frame = clean_frame()  # every column is str: fine for a CSV, wrong for Parquet
    frame["taken"] = "2023-05-01"
    frame.loc[::2, "taken"] = "2023-06-02"
    section = audit(frame, source="t.parquet")
    assert {f.detail["column"] for f in section.findings if f.kind == "numbers_as_text"} == {"age", "weight"}
    assert only(section, "dates_as_text", "taken").detail["format"] == "%Y-%m-%d"
    assert section.metrics["columns.type_issue_count"] == 3
    # The same table from a CSV has no type issue: everything in a CSV is text.
    assert audit(frame).metrics["columns.type_issue_count"] == 0


def test_json_column_mixing_numbers_and_strings():
    frame = clean_frame(40)
    frame["count"] = pd.Series([int(i) for i in range(40)], dtype=object)
    frame.loc[[5, 6], "count"] = ["5", "6"]
    finding = only(audit(frame, source="t.jsonl"), "mixed_types", "count")
    assert finding.rows == [5, 6] and "str x2" in finding.message


def test_oversized_dtype_suggests_a_smaller_one():
    n = 5000
    frame = pd.DataFrame({"label": np.where(np.arange(n) % 2, "a", "b"), "grade": np.arange(n, dtype=np.int64) % 100})
    section = audit(frame, source="t.parquet", dtype_min_saving_bytes=10_000)
    finding = only(section, "oversized_dtype", "grade")
    assert finding.detail["suggested"] == "int8" and finding.detail["bytes_saved"] == n * 7
    assert audit(frame, source="t.parquet").findings == []  # below the default 1 MB threshold


def test_numeric_outlier_found_on_its_row():
    frame = clean_frame()
    frame.loc[17, "weight"] = "700.0"
    section = audit(frame)
    finding = only(section, "outliers", "weight")
    assert finding.rows == [17]
    assert finding.detail["most_extreme"] == {17: 700.0}


def test_heavy_tail_is_a_note_not_a_list_of_outliers():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"label": rng.choice(["a", "b"], 1000), "size": rng.pareto(1.0, 1000).round(3).astype(str)})
    section = audit(frame)
    assert not [f for f in section.findings if f.kind == "outliers"]
    assert any("heavy tail" in note for note in section.notes)


def test_scale_hint_names_both_columns():
    frame = clean_frame()
    rng = np.random.default_rng(5)
    frame["income"] = rng.normal(60000, 15000, 200).round().astype(str)
    frame["ratio"] = rng.uniform(0, 0.01, 200).round(5).astype(str)
    finding = only(audit(frame), "scale")
    assert "'income'" in finding.message and "'ratio'" in finding.message


def test_constant_near_constant_and_id_like_columns():
    frame = clean_frame()
    frame["licence"] = "CC-BY"
    frame["camera"] = "Canon"
    frame.loc[[8, 99], "camera"] = "Nikon"
    frame["sample_id"] = [f"S{i:05d}" for i in range(200)]
    frame["row_number"] = [str(i + 1) for i in range(200)]
    section = audit(frame)
    assert only(section, "constant", "licence").severity == "info"
    near = only(section, "near_constant", "camera")
    assert near.rows == [8, 99]
    assert only(section, "id_like", "sample_id").severity == "info"
    assert only(section, "id_like", "row_number").severity == "info"
    assert not [f for f in section.findings if f.severity != "info"]
    overview = {row[0]: row for row in section.tables[0].rows}
    assert overview["sample_id"][1] == "id-like"


def test_mojibake_is_found_and_repaired_in_the_detail():
    frame = clean_frame()
    frame.loc[[4, 44], "city"] = "CafÃ©"
    frame.loc[60, "city"] = "Zürich"  # correct non-ASCII text is not flagged
    finding = only(audit(frame), "mojibake", "city")
    assert finding.rows == [4, 44]
    assert finding.detail["repairs"] == {"CafÃ©": "Café"}
    assert repair_mojibake("donâ€™t") == "don’t"
    assert repair_mojibake("Zürich") is None


@pytest.mark.parametrize("codec", ["cp1252", "mac_roman", "cp437"])
def test_mojibake_from_other_codecs_and_double_encoding_is_repaired(codec):
    """ftfy's repair: the cp1252/Latin-1 round trip alone missed Mac Roman, DOS and doubly garbled text."""
    for text in ("crème brûlée", "Ångström", "smörgåsbord"):
        garbled = text.encode("utf-8").decode(codec)
        assert repair_mojibake(garbled) == text
    twice = "naïve".encode().decode("cp1252").encode("utf-8").decode("cp1252")
    assert repair_mojibake(twice) == "naïve"
    assert repair_mojibake("Zoë’s “quote”") is None  # clean typography is left alone


def test_latin1_csv_gets_an_encoding_finding(tmp_path):
    rng = np.random.default_rng(6)
    lines = ["name,city,label"] + [
        f"{rng.choice(['Renée', 'José', 'Zoë', 'Anaïs'])},{rng.choice(['Montréal', 'Zürich', 'Köln'])},"
        f"{rng.choice(['a', 'b'])}" for _ in range(60)]
    csv = tmp_path / "people.csv"
    csv.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    table = load_table(csv, Config(label_col="label"))
    assert table.path_col is None  # tabular only
    section = run_analyser(columns.ANALYSER, AuditInput(table=table, features=None, config=Config()))
    finding = only(section, "encoding")
    assert finding.detail["encoding"] == table.encoding != "utf-8"
    assert finding.detail["confidence"] == table.encoding_confidence
    assert "Zürich" in set(table.frame["city"])  # read correctly, so no mojibake either
    assert not [f for f in section.findings if f.kind == "mojibake"]


def test_path_column_is_profiled_but_not_treated_as_a_feature():
    frame = clean_frame()
    frame["path"] = [f"img/{i}.jpg" for i in range(200)]
    section = audit(frame, path_col="path")
    assert section.findings == []
    overview = {row[0]: row for row in section.tables[0].rows}
    assert overview["path"][1] == "path"


def test_sample_data_metadata_problems_are_found():
    root = Path(__file__).resolve().parents[2] / "sample_data"
    table = load_table(root / "images.csv", Config(label_col="label"))
    section = run_analyser(columns.ANALYSER, AuditInput(table=table, features=None, config=Config()))
    by_kind: dict[str, set[int]] = {}
    for finding in section.findings:
        by_kind.setdefault(finding.kind, set()).update(finding.rows)
    planted = json.loads((root / "planted.json").read_text())["planted"]
    expected = {"missing_value": "missing", "disguised_missing": "disguised_missing",
                "numbers_as_text": "numbers_as_text", "numeric_outlier": "outliers", "mojibake": "mojibake"}
    for entry in planted:
        if entry["kind"] in expected:
            assert set(entry["rows"]) <= by_kind[expected[entry["kind"]]], entry
    columns_by_kind = {(f.kind, f.detail.get("column")) for f in section.findings}
    assert ("constant", "licence") in columns_by_kind
    assert ("id_like", "sample_id") in columns_by_kind
    assert ("dates_as_text", "capture_date") in columns_by_kind


@pytest.mark.parametrize("values", [1_700_000_000 + np.random.default_rng(0).integers(0, 3600, 500),  # unix seconds
                                    np.arange(1_000_000, 1_000_030), np.array([1e-7, 2e-7, 5e-6, 3e-6])])
def test_histogram_bars_keep_distinct_positions_for_large_offsets_and_small_values(values):
    """Bar centres rounded to 6 significant digits put all 30 bars of an hour of unix timestamps at one x; they are
    rounded relative to the bar width now."""
    from dataset_audit.charts import histogram_trace

    trace = histogram_trace(values.astype(np.float64), bins=30)
    assert len(set(trace["x"])) == len(trace["x"])
    assert np.all(np.diff(trace["x"]) > 0) and sum(trace["y"]) == len(values)
