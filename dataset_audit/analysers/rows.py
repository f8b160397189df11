"""Duplicate rows, and the same record listed with different labels (conflicting labels).

"Duplicate" = every column equal, cell for cell as written. "Same record" = every column except the label and the
split equal; the path column is part of the record, so one image listed twice with two labels is a conflict, while
two different images with the same metadata are not compared unless the table has no path column.
Rows are hashed once per check (64-bit per row, vectorised), then grouped by sorting: O(n log n), no row pairs.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..dataset import Table, trimmed_column
from ..model import Analyser, AuditInput, Finding, Metric, Montage, MontageItem, Section, TableBlock
from ..settings import Setting

NAME = "rows"
SETTINGS = (
    Setting("max_group_findings", 200, "one finding per duplicate/conflicting group up to this many; the rest are "
            "listed in one finding", minimum=1),
    Setting("min_record_uniqueness", 0.5, "compare records without an image column only if the non-label columns "
            "tell at least this share of rows apart", minimum=0, maximum=1),
)
# When more than this share of labelled rows conflict, the table is probably multi-label in long format.
LONG_FORMAT_SHARE = 0.2


def row_hashes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One 64-bit hash per row over `columns` (collisions: about n^2 / 2^65, negligible below 1e8 rows)."""
    subset = frame[columns]
    try:
        return pd.util.hash_pandas_object(subset, index=False).to_numpy()
    except TypeError:  # unhashable cells (lists, dicts from JSON lines): hash their text instead
        return pd.util.hash_pandas_object(subset.astype(str), index=False).to_numpy()


def groups_of_equal(keys: np.ndarray, rows: np.ndarray | None = None) -> list[np.ndarray]:
    """Row positions sharing a key, for every key held by two or more rows; groups ordered by first row."""
    rows = np.arange(len(keys)) if rows is None else rows
    keys = keys[rows]
    order = np.lexsort((rows, keys))
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    sizes = np.diff(np.r_[starts, len(sorted_keys)])
    groups = [rows[order[s:s + k]] for s, k in zip(starts, sizes, strict=True) if k > 1]
    groups.sort(key=lambda g: g[0])
    return groups


def run(data: AuditInput) -> Section:
    table = data.table
    frame = table.frame
    n = len(frame)
    section = Section(name=NAME, title="Duplicate and conflicting rows")
    cap = data.settings.max_group_findings
    all_columns = [str(c) for c in frame.columns]

    duplicate_groups = groups_of_equal(row_hashes(frame, all_columns)) if n else []
    duplicate_extra = sum(len(g) - 1 for g in duplicate_groups)
    for group in duplicate_groups[:cap]:
        section.findings.append(Finding(
            analyser=NAME, kind="duplicate_rows", severity="warning",
            message=f"{len(group)} identical rows (every column equal): rows {_list_rows(group, table)}",
            rows=group.tolist(), detail={"size": len(group)},
        ))
    _overflow(section, duplicate_groups[cap:], "duplicate_rows", "more groups of identical rows")

    conflicts, conflict_rows = _conflicting_labels(data, section)
    section.metrics = {
        "rows.duplicate_count": duplicate_extra,
        "rows.duplicate_group_count": len(duplicate_groups),
        "rows.conflicting_label_count": conflict_rows,
        "rows.conflicting_group_count": len(conflicts),
    }
    if duplicate_groups:
        section.tables.append(TableBlock(
            title="Identical rows", columns=["rows", "copies"],
            rows=[[_list_rows(g, table), len(g)] for g in duplicate_groups[:50]],
            caption=f"{len(duplicate_groups):,} group(s); the first 50 shown."))
    section.summary = (
        f"{duplicate_extra:,} row(s) repeat an earlier row ({len(duplicate_groups):,} group(s)); "
        f"{conflict_rows:,} row(s) in {len(conflicts):,} record(s) carry conflicting labels."
    )
    return section


def _list_rows(rows: np.ndarray, table: Table, shown: int = 8) -> str:
    """Input row numbers (they differ from frame positions under --sample)."""
    text = ", ".join(str(table.original_row(int(r))) for r in rows[:shown])
    return text + (f" and {len(rows) - shown} more" if len(rows) > shown else "")


def _overflow(section: Section, groups: list[np.ndarray], kind: str, what: str) -> None:
    if not groups:
        return
    rows = np.sort(np.concatenate(groups))
    section.findings.append(Finding(
        analyser=NAME, kind=kind, severity="warning",
        message=f"{len(groups):,} {what} ({len(rows):,} rows), not listed one by one",
        rows=rows.tolist(), detail={"groups": len(groups), "overflow": True},
    ))


def _conflicting_labels(data: AuditInput, section: Section) -> tuple[list[np.ndarray], int]:
    table = data.table
    frame = table.frame
    if table.label_col is None:
        section.notes.append("No label column: conflicting labels were not checked.")
        return [], 0
    record_columns = [str(c) for c in frame.columns if c not in {table.label_col, table.split_col}]
    if not record_columns:
        section.notes.append("Only label/split columns: there is no record to compare, conflicting labels "
                             "were not checked.")
        return [], 0
    label_profile = data.profiles[table.label_col]
    labelled = np.flatnonzero(~label_profile.missing)
    if labelled.size < 2:
        return [], 0
    keys = row_hashes(frame, record_columns)
    distinct_records = len(np.unique(keys[labelled]))
    uniqueness = distinct_records / labelled.size
    if uniqueness < data.settings.min_record_uniqueness and table.path_col is None:
        section.notes.append(
            f"The columns other than the label tell only {distinct_records:,} records apart among "
            f"{labelled.size:,} labelled rows, so rows sharing them are not 'the same record': conflicting labels "
            "were not checked.")
        return [], 0
    labels = trimmed_column(frame[table.label_col]).to_numpy()
    conflicts = [g for g in groups_of_equal(keys, labelled) if len(set(labels[g].tolist())) > 1]
    cap = data.settings.max_group_findings
    what = "image" if table.path_col is not None else "record"
    for group in conflicts[:cap]:
        counts = pd.Series(labels[group]).value_counts()
        listed = ", ".join(f"{label!r} x{count}" for label, count in counts.items())
        section.findings.append(Finding(
            analyser=NAME, kind="conflicting_labels", severity="warning",
            message=f"the same {what} appears in rows {_list_rows(group, table)} with different labels: {listed}",
            rows=group.tolist(), detail={"labels": {str(k): int(v) for k, v in counts.items()}},
        ))
    _overflow(section, conflicts[cap:], "conflicting_labels", "more records with conflicting labels")
    conflict_rows = int(sum(len(g) for g in conflicts))
    if conflict_rows > LONG_FORMAT_SHARE * labelled.size:
        section.notes.append(
            f"{conflict_rows / labelled.size:.0%} of labelled rows share a record with another label: if this is a "
            "multi-label dataset written one row per (item, label), these conflicts are expected.")
    if conflicts:
        section.tables.append(TableBlock(
            title="Records with conflicting labels", columns=["rows", "labels"],
            rows=[[_list_rows(g, table), ", ".join(sorted(set(labels[g].tolist())))] for g in conflicts[:50]],
            caption=f"{len(conflicts):,} record(s); the first 50 shown. The split column is not part of the record.",
        ))
        if table.path_col is not None:
            items = [MontageItem(int(r), str(labels[r])) for g in conflicts for r in g][: data.config.montage_max]
            section.montages.append(Montage(title="Same image, different labels", items=items,
                                            total=conflict_rows))
    return conflicts, conflict_rows


ANALYSER = Analyser(
    name=NAME,
    title="Duplicate and conflicting rows",
    run=run,
    settings=SETTINGS,
    needs=(),
    uses_profiles=True,
    metrics={
        "rows.duplicate_count": "rows identical to an earlier row in every column (copies beyond the first)",
        "rows.duplicate_group_count": "groups of identical rows",
        "rows.conflicting_label_count": Metric("rows whose record (all columns but label and split) recurs with another label", needs=("labels",)),
        "rows.conflicting_group_count": Metric("records that carry more than one label", needs=("labels",)),
    },
)
