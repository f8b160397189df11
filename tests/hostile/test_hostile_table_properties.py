"""Property tests over table cells: whatever text a CSV cell or JSON-lines value holds, loading either gives a
clear usage error or a table that the whole audit (scan, every analyser, both reporters) gets through without an
analyser error or an exception."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataset_audit.config import Config
from dataset_audit.dataset import load_table
from dataset_audit.errors import AuditUsageError
from dataset_audit.pipeline import run_audit
from dataset_audit.report.html import HtmlReporter
from dataset_audit.report.json_report import JsonReporter

# Cells people and tools really produce, mixed with arbitrary text (NUL and control characters included).
SPECIAL = st.sampled_from(["", " ", "NA", "null", "?", "-", ",", ";", "\t", "|", '"', "'", "\n", "\r\n", "\x00",
                           "a.jpg", " b.png ", "../up.png", "/etc/passwd.png", "C:\\x\\y.jpg", "<b>x</b>", "1e309",
                           "-0", "2024-13-45", "café", "CafÃ©", "\u202e", "\ufeff", "💥", "9" * 40])
CELL = st.one_of(SPECIAL, st.text(max_size=12))
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                            HealthCheck.too_slow])


def _audit(source: Path, tmp_path: Path, **options) -> None:
    """Load and audit; a usage error is an allowed answer, anything else must complete cleanly."""
    config = Config(use_cache=False, jobs=1, out=tmp_path / "out", tsne_max=50, **options)
    try:
        table = load_table(source, config)
    except AuditUsageError as exc:
        assert str(exc)  # says what is wrong
        return
    result = run_audit(table, config)
    assert [s.name for s in result.analyser_errors] == [], [s.error for s in result.analyser_errors]
    JsonReporter().render(result)
    HtmlReporter().render(result)


@SETTINGS
@given(rows=st.lists(st.tuples(CELL, CELL, CELL), min_size=1, max_size=6), label=st.booleans())
def test_any_csv_cells(tmp_path_factory, rows, label):
    tmp_path = tmp_path_factory.mktemp("csv")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["path", "label", "note"])
    writer.writerows(rows)
    source = tmp_path / "t.csv"
    source.write_text(buffer.getvalue(), encoding="utf-8")
    _audit(source, tmp_path, path_col="path", label_col="label" if label else None)


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | CELL,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6,
)


@SETTINGS
@given(records=st.lists(st.fixed_dictionaries({"path": st.sampled_from(["a.png", "b.jpg", "", "c.png"]),
                                               "label": JSON_VALUE, "extra": JSON_VALUE}), min_size=2, max_size=6))
def test_any_json_lines_values(tmp_path_factory, records):
    tmp_path = tmp_path_factory.mktemp("jsonl")
    source = tmp_path / "t.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    _audit(source, tmp_path, label_col="label")
    _audit(source, tmp_path)  # no label: the list cells are only audited as metadata
