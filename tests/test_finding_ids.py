"""Stable finding ids: unchanged when other rows move or are added, changed when the finding's members change."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from dataset_audit.dataset import Table
from dataset_audit.finding_ids import assign_ids
from dataset_audit.model import Finding


def table(rows: list[dict], path_col: str | None = "path") -> Table:
    return Table(frame=pd.DataFrame(rows), source="t.csv", root=Path("."), path_col=path_col)


def ids(findings_rows: list[tuple[str, list[int], dict]], rows: list[dict], path_col: str | None = "path") -> list[str]:
    findings = [Finding("demo", kind, "warning", "m", rows=positions, positions=positions, detail=detail)
                for kind, positions, detail in findings_rows]
    assign_ids(findings, table(rows, path_col))
    return [f.id for f in findings]


ROWS = [{"path": "a.png", "x": "1"}, {"path": "b.png", "x": "2"}, {"path": "c.png", "x": "3"}]


def test_id_names_analyser_and_kind_and_ignores_row_numbers():
    (first,) = ids([("group", [0, 2], {})], ROWS)
    assert first.startswith("demo/group/") and len(first.rsplit("/", 1)[1]) == 12
    moved = [{"path": "new.png", "x": "0"}, ROWS[2], ROWS[1], ROWS[0]]  # a row inserted, the rest reversed
    assert ids([("group", [3, 1], {})], moved) == [first]


def test_id_changes_with_members_kind_and_subject():
    base = ids([("group", [0, 1], {})], ROWS)[0]
    assert ids([("group", [0, 1, 2], {})], ROWS)[0] != base
    assert ids([("other", [0, 1], {})], ROWS)[0] != base
    with_column = ids([("group", [0, 1], {"column": "x"})], ROWS)[0]
    assert with_column != base
    assert ids([("group", [0, 1], {"column": "y"})], ROWS)[0] != with_column
    assert ids([("group", [0, 1], {"column": "x", "count": 9})], ROWS)[0] == with_column  # other detail: no


def test_rows_without_a_path_are_named_by_their_cells():
    rows = [{"path": "", "x": "1"}, {"path": "a.png", "x": "2"}, {"path": " ", "x": "3"}]
    empty_first, empty_last = ids([("missing", [0], {}), ("missing", [2], {})], rows)
    assert empty_first != empty_last  # two empty paths are still two findings
    reordered = [rows[2], rows[1], rows[0]]
    assert ids([("missing", [2], {}), ("missing", [0], {})], reordered) == [empty_first, empty_last]


def test_tabular_only_tables_use_row_content():
    rows = [{"age": "20", "label": "a"}, {"age": "20", "label": "a"}, {"age": "31", "label": "b"}]
    (duplicate,) = ids([("duplicate_rows", [0, 1], {})], rows, path_col=None)
    shifted = [{"age": "99", "label": "c"}, *rows]
    assert ids([("duplicate_rows", [1, 2], {})], shifted, path_col=None) == [duplicate]
    assert ids([("duplicate_rows", [0, 2], {})], rows, path_col=None) != [duplicate]
