"""The samples explorer's data: one record per table row (values, image measurements, scores) and every finding.

Nothing is computed here: the values come from the table, the scan's Features.frame and the analysers' Sections
(findings and `row_scores`); this module picks the rows and packs them into a compact, columnar JSON document that
report.js filters, sorts and pages. Text columns with repeated values are stored as levels + codes.

Size grows with the rows listed: all of them up to EXPLORER_MAX_ROWS; beyond that at most EXPLORER_MAX_ROWS, chosen
by choose_rows (pictured rows, the first members of every finding, then seeded samples).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..model import Finding, Section
from ..pipeline import AuditResult

EXPLORER_MAX_ROWS = 100_000
TEXT_CHARS = 300  # longer cells are cut (findings.json and the table keep them whole)
# Image measurements from the scan shown as columns: (frame column, header, kind).
IMAGE_COLUMNS = [
    ("status", "image status", "cat"), ("error", "image error", "cat"), ("format", "format", "cat"),
    ("width", "width", "num"), ("height", "height", "num"), ("file_bytes", "file bytes", "num"),
    ("brightness", "brightness", "num"), ("contrast", "contrast", "num"), ("sharpness", "sharpness", "num"),
    ("entropy", "entropy", "num"), ("colourfulness", "colourfulness", "num"),
]
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass
class ExplorerRows:
    """Which table rows (positions in the audited frame) the explorer lists, in table order, and why."""

    positions: list[int]
    index_of: dict[int, int]  # position -> explorer index
    note: str
    cap: int  # the most rows the explorer lists
    complete: bool = True  # every row of every finding is listed


HEAD_DEPTHS = (2, 5)  # above the cap: the first 2 members of every finding, then up to 5 (a strip's tiles)
LARGE_NUMBER = 2.0 ** 53  # from here on a float has no exact integer neighbours: written as the float


def choose_rows(total: int, pictured: set[int], groups: Sequence[Sequence[int]], seed: int,
                cap: int = EXPLORER_MAX_ROWS) -> ExplorerRows:
    """Every row up to `cap`; above it, in this order until the cap is reached: every row the page pictures
    (montages, maps), the first members of every finding (`groups`, each finding's rows in the order its pictures
    show them, in report order), a seeded sample of the findings' other rows, then a seeded sample of the rest.

    Grows with the cap, not with the table: at 1,000,000 rows with 376,000 flagged the page stays at ~100,000 rows
    (a page of every flagged row was 297 MB). findings.json keeps every row of every finding.
    """
    if total <= cap:
        return ExplorerRows(list(range(total)), {p: p for p in range(total)}, f"All {total:,} rows.", cap)
    rng = np.random.default_rng(seed)
    chosen: set[int] = set(pictured)
    for depth in HEAD_DEPTHS:
        for members in groups:
            for p in members[:depth]:
                if len(chosen) >= cap:
                    break
                chosen.add(p)
    heads = len(chosen)
    flagged = np.unique(np.fromiter((p for members in groups for p in members), dtype=np.int64))
    pool = np.setdiff1d(flagged, np.fromiter(chosen, dtype=np.int64, count=len(chosen)), assume_unique=True)
    complete = len(pool) <= cap - len(chosen)  # every flagged row fits (the heads loop never stopped early)
    others = len(pool)
    _fill(chosen, pool, cap, rng)
    after_flagged = len(chosen)
    if len(chosen) < cap:
        taken = np.fromiter(chosen, dtype=np.int64, count=len(chosen))
        _fill(chosen, np.setdiff1d(np.arange(total), taken, assume_unique=False), cap, rng)
    positions = sorted(chosen)
    if complete:
        why = (f"every row with a finding or shown in a picture ({after_flagged:,}), plus a seeded random sample of "
               f"the others (seed {seed})")
    else:
        why = (f"every row shown in a picture and the first rows of each finding ({heads:,}), plus "
               f"{after_flagged - heads:,} of the other {others:,} rows with a finding (a seeded random sample, seed "
               f"{seed}); findings.json lists every row of every finding")
    note = f"{len(positions):,} of {total:,} rows: {why}. The explorer lists at most {cap:,} rows."
    return ExplorerRows(positions, {p: i for i, p in enumerate(positions)}, note, cap, complete)


def _fill(chosen: set[int], pool: np.ndarray, cap: int, rng: np.random.Generator) -> None:
    """Add all of `pool` to `chosen`, or a seeded sample of it that fills `chosen` up to `cap`."""
    room = cap - len(chosen)
    if room <= 0 or not len(pool):
        return
    chosen.update((pool if len(pool) <= room else rng.choice(pool, size=room, replace=False)).tolist())


def ordered_findings(sections: list[Section]) -> list[tuple[Section, Finding]]:
    """Findings of each section, errors first, then by rows involved (the order the report lists them in)."""
    return [(section, finding) for section in sections for finding in
            sorted(section.findings, key=lambda f: (SEVERITY_ORDER[f.severity], -len(f.rows)))]


def explorer_document(result: AuditResult, rows: ExplorerRows, findings: list[tuple[Section, Finding]]) -> dict:
    """The JSON the page's explorer reads (see report.js: Explorer)."""
    table = result.table
    positions = rows.positions
    columns: list[dict[str, Any]] = [_row_column([table.original_row(p) for p in positions])]
    if table.path_col is not None:
        paths = table.paths()
        columns.append(_path_column([paths[p] for p in positions]))
    for role, column in (("label", table.label_col), ("split", table.split_col)):
        if column is not None:
            values = table.column_values(column) or []
            columns.append(_text_column(role, [values[p] for p in positions], "table", "cat"))
    roles = {table.path_col, table.label_col, table.split_col}
    for column in table.frame.columns:
        if column not in roles:
            columns.append(_constant_or(_table_column(str(column), table.frame[column], positions)))
    if result.features is not None:
        frame = result.features.frame
        decoded = (frame["status"] == "ok").to_numpy()[positions]
        for source, header, kind in IMAGE_COLUMNS:
            values = frame[source].to_numpy()[positions]
            if kind == "num":  # the scan's placeholders (0 wide, -1 bytes) for images it could not read
                values = values.astype(np.float64)
                values[~decoded if source != "file_bytes" else values < 0] = np.nan
            columns.append(_constant_or(_number_column(header, values, "image") if kind == "num"
                                        else _text_column(header, [str(v) for v in values], "image", "cat")))
    for section in result.sections:
        for name, scores in section.row_scores.items():
            values = np.array([scores.get(p, np.nan) for p in positions], dtype=np.float64)
            columns.append(_number_column(name, values, "score") | {"analyser": section.name})
    splits = table.column_values(table.split_col)  # once: per finding it cost O(findings x rows)
    return {
        "count": len(positions),
        "total": len(table),
        "cap": rows.cap,
        "note": rows.note,
        "columns": columns,
        "findings": [_finding_entry(i, section, finding, rows, splits) for i, (section, finding) in enumerate(findings)],
    }


def _finding_entry(number: int, section: Section, finding: Finding, rows: ExplorerRows,
                   splits: list[str] | None) -> dict:
    positions = finding.positions or finding.rows
    members = [rows.index_of[p] for p in interleave_splits(positions, splits) if p in rows.index_of]
    return {"id": number, "section": section.name, "analyser": finding.analyser, "kind": finding.kind,
            "severity": finding.severity, "message": finding.message, "members": members,
            "rows": len(positions)}


def interleave_splits(positions: list[int], splits: list[str] | None) -> list[int]:
    """A group's members with the splits taking turns, the least common split first, so a strip of its first few
    images shows every split it spans (a test/train duplicate group shows its test member, not only train ones)."""
    if not splits or len(positions) < 2:
        return list(positions)
    by_split: dict[str, list[int]] = {}
    for p in positions:
        by_split.setdefault(splits[p], []).append(p)
    if len(by_split) < 2:
        return list(positions)
    queues = sorted(by_split.values(), key=len)
    out: list[int] = []
    for turn in range(len(queues[-1])):
        out += [queue[turn] for queue in queues if turn < len(queue)]
    return out


# Compact encodings (report.js: value() reads them): runs of row numbers, folder codes + names for paths.
def _row_column(rows: list[int]) -> dict:
    """Input row numbers; a plain run (no --sample) is stored as its first number."""
    column: dict[str, Any] = {"name": "row", "kind": "num", "group": "table"}
    if rows and rows == list(range(rows[0], rows[0] + len(rows))):
        return column | {"start": rows[0]}
    return column | {"values": rows}


def _path_column(paths: list[str]) -> dict:
    """Paths as folder levels + codes + file names: a dataset's paths share a few folders."""
    folders, names = zip(*(path.rpartition("/")[::2] for path in paths), strict=True) if paths else ((), ())
    prefixes = [f"{folder}/" if folder else "" for folder in folders]
    levels = sorted(set(prefixes))
    code = {level: i for i, level in enumerate(levels)}
    return {"name": "path", "kind": "text", "group": "table", "folders": levels,
            "folderCodes": [code[p] for p in prefixes], "names": list(names)}


def _constant_or(column: dict) -> dict:
    """A column holding one value in every row is stored once (CIFAR-10's width, height, format, status)."""
    values = column.get("values")
    if column["kind"] == "cat" and len(column["levels"]) == 1:
        constant = column["levels"][0]
    elif values is not None and len(values) > 1 and all(v == values[0] for v in values):
        constant = values[0]
    else:
        return column
    return {k: v for k, v in column.items() if k not in {"values", "levels", "codes"}} | {"constant": constant}


def _table_column(name: str, series: pd.Series, positions: list[int]) -> dict:
    picked = series.iloc[positions]
    numbers = pd.to_numeric(picked, errors="coerce")
    filled = picked.notna() & (picked.astype(str).str.strip() != "")
    if filled.any() and numbers[filled].notna().all():
        return _number_column(name, numbers.to_numpy(dtype=np.float64), "table")
    texts = ["" if _is_missing(v) else str(v)[:TEXT_CHARS] for v in picked.tolist()]
    return _text_column(name, texts, "table", "cat")


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists and other non-scalar cells
        return False


def _text_column(name: str, values: list[str], group: str, kind: str) -> dict:
    values = [v[:TEXT_CHARS] for v in values]
    levels = sorted(set(values))
    if kind == "cat" and len(levels) <= max(1, len(values) // 2):
        code = {level: i for i, level in enumerate(levels)}
        return {"name": name, "kind": "cat", "group": group, "levels": levels, "codes": [code[v] for v in values]}
    return {"name": name, "kind": "text", "group": group, "values": values}


def _number_column(name: str, values: np.ndarray, group: str) -> dict:
    return {"name": name, "kind": "num", "group": group, "values": [_round(v) for v in values.tolist()]}


def _round(value: float) -> float | int | None:
    """Three significant digits (whole numbers from 100 up): enough to read and sort by, ~0.3 MB less at 60k rows.
    From LARGE_NUMBER on, the float as it is (JSON writes its shortest form, 1.7e+308): round(1.7e308) is a
    309-digit integer, and no JavaScript number holds more digits than the float anyway."""
    if value is None or not math.isfinite(value):
        return None
    if abs(value) >= LARGE_NUMBER:
        return float(value)
    if float(value).is_integer() or abs(value) >= 100:
        return round(value)
    return float(f"{value:.3g}")
