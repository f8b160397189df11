"""The metadata analysers survive every column type pandas hands them (Parquet and JSON lines keep native types)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dataset_audit.analysers import categories, columns, rows, target_leakage
from dataset_audit.config import Config
from dataset_audit.dataset import Table
from dataset_audit.model import AuditInput
from dataset_audit.pipeline import run_analyser


def odd_frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "label": rng.choice(["a", "b"], n),
        "category": pd.Categorical(rng.choice(["x", "y", "z"], n)),
        "nullable_int": pd.array(rng.integers(0, 5, n), dtype="Int64"),
        "flag": rng.integers(0, 2, n).astype(bool),
        "object_bool": pd.Series([True, False, None] * (n // 3), dtype=object),
        "when": pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 100, n), unit="D"),
        "duration": pd.to_timedelta(rng.integers(0, 100, n), unit="s"),
        "all_null": pd.Series([None] * n, dtype=object),
        "all_empty": [""] * n,
        "nested": pd.Series([{"k": i % 3} for i in range(n)], dtype=object),
        "floats": rng.normal(0, 1, n),
    })


@pytest.mark.parametrize("module", [columns, categories, rows, target_leakage])
@pytest.mark.parametrize("source", ["t.parquet", "t.jsonl"])
def test_odd_dtypes_do_not_break_the_analysers(module, source):
    table = Table(frame=odd_frame(), source=source, root=Path("."), label_col="label")
    section = run_analyser(module.ANALYSER, AuditInput(table=table, features=None, config=Config()))
    assert section.error is None
    expected = {columns: "missing.column_count", categories: "categories.inconsistent_groups",
                rows: "rows.duplicate_count", target_leakage: "leakage.target_max_score"}[module]
    assert expected in section.metrics  # it did its job, not merely survived
    if module is columns:
        missing = {f.detail["column"] for f in section.findings if f.kind == "missing"}
        assert {"all_null", "all_empty"} <= missing
    assert all(isinstance(v, (int, float)) for v in section.metrics.values())
