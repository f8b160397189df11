"""Column types: mixed types, numbers and dates stored as text, over-wide integer dtypes, and mojibake (text
decoded with the wrong encoding)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..model import Finding
from ._tabular import ColumnProfile, repair_mojibake, rows_with_values

NAME = "columns"  # the analyser these findings belong to
DTYPE_LIMITS = [("int8", -(2**7), 2**7 - 1, 1), ("uint8", 0, 2**8 - 1, 1), ("int16", -(2**15), 2**15 - 1, 2),
                ("uint16", 0, 2**16 - 1, 2), ("int32", -(2**31), 2**31 - 1, 4), ("uint32", 0, 2**32 - 1, 4)]
TYPE_ISSUE_KINDS = ("mixed_types", "mixed_date_formats", "numbers_as_text", "dates_as_text")
# A number a parser cannot read because of a unit or a decimal comma: "12ms", "20 ms", "16,5", "3.5 kg".
NUMBER_WITH_UNIT = re.compile(r"^\s*[-+]?\d+(?:[.,]\d+)?\s*[^\W\d_%]{0,6}%?\s*$")


def type_findings(profile: ColumnProfile, series: pd.Series, typed: bool) -> list[Finding]:
    findings: list[Finding] = []
    name = profile.name
    odd_rows = profile.odd_rows if profile.odd_rows is not None else np.array([], dtype=np.int64)
    mixed_python_types = bool(profile.python_types) and len(profile.python_types) > 1
    if len(odd_rows) and profile.kind == "number" and not mixed_python_types:
        odd_values = series.iloc[odd_rows].astype(str)
        with_unit = odd_values.str.match(NUMBER_WITH_UNIT).to_numpy()
        if with_unit.any():
            examples = sorted(set(odd_values[with_unit].tolist()))[:5]
            findings.append(Finding(
                analyser=NAME, kind="numbers_as_text", severity="warning",
                message=(f"column {name!r} holds numbers, but {int(with_unit.sum()):,} cell(s) write them with a unit "
                         f"or a decimal comma that a parser cannot read: " + ", ".join(repr(v) for v in examples)),
                rows=odd_rows[with_unit].tolist(), detail={"column": name, "examples": examples},
            ))
            odd_rows = odd_rows[~with_unit]
    if len(odd_rows):
        what = "numbers" if profile.kind == "number" else "dates"
        examples = sorted(set(series.iloc[odd_rows[:200]].astype(str).tolist()))[:5]
        if mixed_python_types:
            types = ", ".join(f"{t} x{c}" for t, c in profile.python_types.items())
            message = f"column {name!r} mixes value types ({types}); {len(odd_rows):,} cell(s) differ from the rest"
        else:
            message = (f"column {name!r} holds {what} but {len(odd_rows):,} cell(s) are not {what}: "
                       + ", ".join(repr(v) for v in examples))
        findings.append(Finding(
            analyser=NAME, kind="mixed_types", severity="warning", message=message, rows=odd_rows.tolist(),
            detail={"column": name, "kind": profile.kind, "examples": examples,
                    "python_types": profile.python_types},
        ))
    if profile.kind == "date" and profile.minority_date_values:
        rows = rows_with_values(series, profile.minority_date_values)
        formats = ", ".join(f"{fmt} x{c}" for fmt, c in profile.date_formats.items())
        findings.append(Finding(
            analyser=NAME, kind="mixed_date_formats", severity="warning",
            message=(f"column {name!r} writes dates in {len(profile.date_formats)} formats ({formats}); "
                     f"{len(rows):,} cells differ from the main format {profile.date_format}"),
            rows=rows.tolist(),
            detail={"column": name, "formats": profile.date_formats, "main_format": profile.date_format,
                    "examples": [str(v) for v in profile.minority_date_values[:5]]},
        ))
    if typed and profile.stored_as_text and profile.kind == "number":
        target = "an integer" if profile.integer else "a float"
        findings.append(Finding(
            analyser=NAME, kind="numbers_as_text", severity="warning",
            message=f"column {name!r} stores numbers as text (dtype {profile.dtype}); store it as {target} dtype",
            detail={"column": name, "dtype": profile.dtype, "suggested": "int64" if profile.integer else "float64"},
        ))
    if profile.stored_as_text and profile.kind == "date":
        # In a CSV every value is text, so this is a parsing hint there; in Parquet/JSON it is a real type issue.
        advice = ("store it as a timestamp so it sorts and compares as dates" if typed else
                  f"parse it with format {profile.date_format!r} when loading (e.g. pandas parse_dates)")
        findings.append(Finding(
            analyser=NAME, kind="dates_as_text", severity="info",
            message=f"column {name!r} holds dates as text in format {profile.date_format}; {advice}",
            detail={"column": name, "dtype": profile.dtype, "format": profile.date_format,
                    "counts_as_type_issue": typed},
        ))
    return findings


def _smallest_int(low: float, high: float) -> tuple[str, int] | None:
    for name, lo, hi, size in DTYPE_LIMITS:
        if lo <= low and high <= hi:
            return name, size
    return None


def dtype_findings(profiles: dict[str, ColumnProfile], frame: pd.DataFrame, min_saving: int) -> list[Finding]:
    """Typed inputs (Parquet, JSON lines): columns whose dtype is wider than their values need."""
    findings: list[Finding] = []
    for name, profile in profiles.items():
        series = frame[name]
        itemsize = series.dtype.itemsize if hasattr(series.dtype, "itemsize") else None
        current = int(series.memory_usage(index=False, deep=series.dtype == object))
        suggestion: str | None = None
        new_bytes = current
        if profile.kind == "number" and not profile.stored_as_text and itemsize and profile.numeric is not None:
            finite = profile.values_present()
            if finite.size == 0:
                continue
            has_missing = bool(profile.missing.any())
            if profile.integer:
                fit = _smallest_int(float(finite.min()), float(finite.max()))
                if fit is not None and fit[1] < itemsize:
                    suggestion = fit[0].capitalize() if has_missing else fit[0]
                    if has_missing:
                        suggestion = suggestion.replace("Uint", "UInt")
                    new_bytes = profile.n * (fit[1] + (1 if has_missing else 0))
            elif itemsize == 8 and np.array_equal(finite.astype(np.float32).astype(np.float64), finite):
                suggestion, new_bytes = "float32", profile.n * 4
        elif profile.kind == "text" and profile.stored_as_text and str(series.dtype) != "category":
            if profile.n >= 1000 and profile.distinct <= min(1000, profile.n // 10):
                suggestion = "category"
                labels_bytes = sum(len(str(v)) + 50 for v in profile.counts.index)
                new_bytes = profile.n * (1 if profile.distinct < 128 else 2) + labels_bytes
        if suggestion is None:
            continue
        saved = current - new_bytes
        if saved < min_saving or saved < 0.25 * current:
            continue
        findings.append(Finding(
            analyser=NAME, kind="oversized_dtype", severity="info",
            message=(f"column {name!r} is {series.dtype} but its values fit {suggestion}: about "
                     f"{saved / 1e6:.1f} MB saved in memory ({saved / current:.0%})"),
            detail={"column": name, "dtype": str(series.dtype), "suggested": suggestion, "bytes_now": current,
                    "bytes_saved": int(saved)},
        ))
    return findings


def mojibake_finding(profile: ColumnProfile, series: pd.Series) -> Finding | None:
    if not len(profile.counts) or profile.kind in {"number", "boolean", "empty"}:
        return None
    distinct = [v for v in profile.counts.index.tolist() if isinstance(v, str) and not v.isascii()]
    repairs = {v: fixed for v in distinct if (fixed := repair_mojibake(v)) is not None}
    if not repairs:
        return None
    rows = rows_with_values(series, list(repairs))
    examples = dict(list(repairs.items())[:10])
    shown = ", ".join(f"{k!r} (meant {v!r})" for k, v in list(examples.items())[:3])
    return Finding(
        analyser=NAME, kind="mojibake", severity="warning",
        message=(f"column {profile.name!r}: {len(rows):,} cell(s) hold garbled text from a wrong decoding, "
                 f"e.g. {shown}"),
        rows=rows.tolist(), detail={"column": profile.name, "repairs": examples},
    )


def type_label(profile: ColumnProfile, typed: bool) -> str:
    if profile.kind == "number":
        label = "integer" if profile.integer else "decimal"
    elif profile.kind == "date":
        label = f"date ({profile.date_format})" if profile.date_format else "date"
    else:
        label = profile.kind
    if typed and profile.stored_as_text and profile.kind in {"number", "date"}:
        label += " as text"
    if profile.odd_rows is not None and len(profile.odd_rows):
        label += f", {len(profile.odd_rows)} odd"
    return label
