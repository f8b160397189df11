"""Metadata columns: a per-column profile plus missing, disguised-missing, mistyped, outlying and garbled values.

Works on any table (with or without images). Each column is profiled once from its distinct values
(`_tabular.profile_table`); the checks below are vectorised passes over one column at a time, so the cost grows
linearly with rows x columns.
"""

from __future__ import annotations

import re
from statistics import NormalDist

import numpy as np
import pandas as pd

from ..charts import histogram_trace
from ..model import Analyser, AuditInput, Chart, Finding, Section, TableBlock
from ..robust import median_and_sigma
from ._tabular import (
    EPOCH,
    ColumnProfile,
    format_number,
    is_text_source,
    profile_table,
    repair_mojibake,
    rows_with_values,
)

NAME = "columns"

# Values that often stand for "not recorded" when they sit apart from the rest of a numeric column.
SENTINEL_NUMBERS = (0.0, -1.0, 999.0, 9999.0, 99999.0, -9.0, -99.0, -999.0, -9999.0)
# Codes made of nines are suspicious even inside the column's range when they form a spike.
NINES = (999.0, 9999.0, 99999.0, -999.0, -9999.0)
SENTINEL_DATES = ("1900-01-01", "1970-01-01", "9999-12-31", "2099-12-31")
DTYPE_LIMITS = [("int8", -(2**7), 2**7 - 1, 1), ("uint8", 0, 2**8 - 1, 1), ("int16", -(2**15), 2**15 - 1, 2),
                ("uint16", 0, 2**16 - 1, 2), ("int32", -(2**31), 2**31 - 1, 4), ("uint32", 0, 2**32 - 1, 4)]
TYPE_ISSUE_KINDS = ("mixed_types", "mixed_date_formats", "numbers_as_text", "dates_as_text")
# A number a parser cannot read because of a unit or a decimal comma: "12ms", "20 ms", "16,5", "3.5 kg".
NUMBER_WITH_UNIT = re.compile(r"^\s*[-+]?\d+(?:[.,]\d+)?\s*[^\W\d_%]{0,6}%?\s*$")
# Columns where at least this share of non-missing values is distinct are identifiers.
ID_UNIQUE_SHARE = 0.98

DEFAULTS = {
    "sentinel_min_count": 3,  # a sentinel value must appear at least this often to be called disguised missing
    "outlier_iqr_k": 3.0,  # outliers lie beyond Q1 - k*IQR or Q3 + k*IQR ...
    "outlier_robust_z": 3.5,  # ... and a robust z-score (median/MAD) above this (raised for long columns)
    "outlier_max_share": 0.01,  # more than this share beyond the fences = a heavy tail, noted, not listed
    "near_constant_share": 0.99,  # one value in at least this share of the non-missing cells
    "scale_ratio": 1000.0,  # numeric columns whose spreads differ by at least this factor get a scaling hint
    "dtype_min_saving_bytes": 1_000_000,  # typed inputs: suggest a smaller dtype when it saves at least this
    "max_charts": 12,  # distribution charts drawn (one per numeric column)
}


def _option(data: AuditInput, key: str):
    return data.config.option(NAME, key, DEFAULTS[key])


def run(data: AuditInput) -> Section:
    table = data.table
    frame = table.frame
    n = len(frame)
    section = Section(name=NAME, title="Metadata columns")
    profiles = profile_table(table)
    roles = {c: r for r, c in table.roles().items() if c is not None}
    typed = not is_text_source(table)
    findings = section.findings

    if table.encoding.lower().replace("_", "-") not in {"utf-8", "utf8", "ascii"}:
        confidence = table.encoding_confidence
        findings.append(Finding(
            analyser=NAME, kind="encoding", severity="info",
            message=(f"the file is not UTF-8: it was read as {table.encoding}"
                     + (f" (detected, confidence {confidence:.0%})" if confidence is not None else " (as told)")
                     + "; check a few accented values, and save it as UTF-8 to avoid surprises elsewhere"),
            detail={"encoding": table.encoding, "confidence": confidence},
        ))

    disguised_cells = 0
    disguised_masks: dict[str, np.ndarray] = {}
    outlier_cells = 0
    mojibake_cells = 0
    id_like: list[str] = []
    constant: list[str] = []
    near_constant: list[str] = []
    for name, profile in profiles.items():
        role = roles.get(name)
        findings.extend(_missing_findings(profile, role))
        findings.extend(_type_findings(profile, frame[name], typed))
        if _is_id_like(profile, role):
            id_like.append(name)
        garbled = _mojibake_finding(profile, frame[name])
        if garbled is not None:
            findings.append(garbled)
            mojibake_cells += len(garbled.rows)
        if role in {"path", "label", "split"} or name in id_like:
            continue
        sentinel_findings, mask = _disguised_missing(profile, int(_option(data, "sentinel_min_count")))
        findings.extend(sentinel_findings)
        disguised_cells += int(mask.sum())
        disguised_masks[name] = mask
        outliers, note = _outliers(profile, mask, data)
        if outliers is not None:
            findings.append(outliers)
            outlier_cells += len(outliers.rows)
        if note:
            section.notes.append(note)
        flat = _constant_finding(profile, frame[name], float(_option(data, "near_constant_share")))
        if flat is not None:
            findings.append(flat)
            (constant if flat.kind == "constant" else near_constant).append(name)
    scale = _scale_finding(profiles, roles, id_like, disguised_masks, float(_option(data, "scale_ratio")))
    if scale is not None:
        findings.append(scale)
    if typed:
        findings.extend(_dtype_findings(profiles, frame, int(_option(data, "dtype_min_saving_bytes"))))

    total_cells = n * len(profiles)
    missing_cells = sum(int(p.missing.sum()) for p in profiles.values())
    token_cells = sum(c for p in profiles.values() for form, c in p.missing_forms.items()
                      if form not in {"(empty)", "(null)", "(whitespace)"})
    section.metrics = {
        "missing.cell_rate": missing_cells / total_cells if total_cells else 0.0,
        "missing.column_count": sum(1 for p in profiles.values() if p.missing.any()),
        "missing.token_count": token_cells,
        "missing.disguised_count": disguised_cells,
        "columns.type_issue_count": len({f.detail["column"] for f in findings if f.kind in TYPE_ISSUE_KINDS
                                         and f.detail.get("counts_as_type_issue", True)}),
        "columns.outlier_count": outlier_cells,
        "columns.constant_count": len(constant),
        "columns.near_constant_count": len(near_constant),
        "columns.id_like_count": len(id_like),
        "columns.mojibake_count": mojibake_cells,
    }
    for name in id_like:
        profile = profiles[name]
        findings.append(Finding(
            analyser=NAME, kind="id_like", severity="info",
            message=(f"column {name!r} is an identifier ({profile.distinct:,} distinct values in {profile.present:,} "
                     "filled cells): keep it out of model inputs (the target-leakage check tests whether it "
                     "predicts the label)"),
            detail={"column": name, "distinct": profile.distinct, "filled": profile.present},
        ))
    section.tables.append(_overview(profiles, roles, id_like, typed))
    section.charts.extend(_distribution_charts(profiles, roles, id_like, int(_option(data, "max_charts"))))
    problems = sum(1 for f in findings if f.severity != "info")
    section.summary = (
        f"{len(profiles)} columns x {n:,} rows; {missing_cells:,} missing cells ({section.metrics['missing.cell_rate']:.1%}), "
        f"{disguised_cells:,} disguised-missing values, {section.metrics['columns.type_issue_count']} type issues, "
        f"{outlier_cells:,} outlying values; {problems} warning(s)."
    )
    return section


# ------------------------------------------------------------------------------------------- missing


def _missing_findings(profile: ColumnProfile, role: str | None) -> list[Finding]:
    count = int(profile.missing.sum())
    if count == 0:
        return []
    plain = {"(empty)", "(null)", "(whitespace)"}
    tokens = {form: c for form, c in profile.missing_forms.items() if form not in plain}
    # Empty paths and labels are already reported by the integrity and balance analysers.
    if role in {"path", "label"} and not tokens:
        return []
    forms = ", ".join(f"{form!r} x{c}" if form not in plain else f"{form} x{c}"
                      for form, c in profile.missing_forms.most_common())
    severity = "warning" if tokens or len(profile.missing_forms) > 1 else "info"
    rate = count / profile.n
    why = (" Tokens like these are read as real values by most loaders; write missing cells one way (empty)."
           if tokens else "")
    return [Finding(
        analyser=NAME, kind="missing", severity=severity,
        message=f"column {profile.name!r}: {count:,} of {profile.n:,} cells missing ({rate:.1%}), written as {forms}.{why}",
        rows=np.flatnonzero(profile.missing).tolist(),
        detail={"column": profile.name, "count": count, "rate": rate, "forms": dict(profile.missing_forms)},
    )]


def _format_value(profile: ColumnProfile, value: float) -> str:
    if profile.kind == "date":
        return str(EPOCH + np.timedelta64(int(value), "D"))
    return format_number(value)


def _disguised_missing(profile: ColumnProfile, min_count: int) -> tuple[list[Finding], np.ndarray]:
    """Sentinels (0, -1, 999, 1900-01-01, ...) that sit apart from the rest of the column or form a spike."""
    mask = np.zeros(profile.n, dtype=bool)
    if profile.kind not in {"number", "date"} or profile.numeric is None:
        return [], mask
    numeric = profile.numeric
    finite = numeric[np.isfinite(numeric)]
    if finite.size < 20:
        return [], mask
    if profile.kind == "date":
        candidates = [float((np.datetime64(d, "D") - EPOCH).astype(np.int64)) for d in SENTINEL_DATES]
    else:
        candidates = list(SENTINEL_NUMBERS)
    present, present_counts = np.unique(finite, return_counts=True)
    count_of = dict(zip(present.tolist(), present_counts.tolist(), strict=True))
    findings: list[Finding] = []
    for value in candidates:
        count = count_of.get(value, 0)
        if count < min_count:
            continue
        reason = _sentinel_reason(finite, value, count, profile)
        if reason is None:
            continue
        rows = np.flatnonzero(numeric == value)
        mask[rows] = True
        share = count / finite.size
        rest = finite[finite != value]
        shown = _format_value(profile, value)
        findings.append(Finding(
            analyser=NAME, kind="disguised_missing", severity="warning",
            message=(f"column {profile.name!r}: {shown} appears {count:,} times ({share:.1%}) while the rest of the "
                     f"column lies in {_format_value(profile, rest.min())}-{_format_value(profile, rest.max())}; "
                     f"{reason}, so it probably means 'not recorded'"),
            rows=rows.tolist(),
            detail={"column": profile.name, "value": shown, "count": count, "share": share,
                    "rest_min": _format_value(profile, rest.min()), "rest_max": _format_value(profile, rest.max()),
                    "reason": reason},
        ))
    return findings, mask


def _sentinel_reason(finite: np.ndarray, value: float, count: int, profile: ColumnProfile) -> str | None:
    rest = finite[finite != value]
    distinct_rest, rest_counts = np.unique(rest, return_counts=True)
    if distinct_rest.size < 3:
        return None  # a flag or a code column: 0 is one of its few legitimate values
    low, high = distinct_rest[0], distinct_rest[-1]
    spacing = float(np.median(np.diff(distinct_rest)))
    q1, q3 = np.percentile(rest, [25, 75])
    spread = float(q3 - q1) or float(high - low)
    gap = float(low - value) if value < low else float(value - high) if value > high else 0.0
    spike = count / int(rest_counts.max())
    share = count / finite.size
    apart = gap >= 3 * spacing  # not merely the next step of a count (0 children next to 1, 2, 3 ...)
    unit = " days" if profile.kind == "date" else ""
    if apart and gap >= 0.5 * spread:
        side = "below" if value < low else "above"
        return f"it sits {side} the rest, {format_number(gap)}{unit} away from the nearest other value"
    if apart and spike >= 3 and share >= 0.01:
        return f"it is {spike:.0f}x more frequent than any other value and lies outside the rest"
    if value in NINES and spike >= 5 and share >= 0.01:
        return f"it is a code made of nines and {spike:.0f}x more frequent than any other value"
    return None


# --------------------------------------------------------------------------------------------- types


def _type_findings(profile: ColumnProfile, series: pd.Series, typed: bool) -> list[Finding]:
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


def _dtype_findings(profiles: dict[str, ColumnProfile], frame: pd.DataFrame, min_saving: int) -> list[Finding]:
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


# ------------------------------------------------------------------------------- outliers and shape


def _outliers(profile: ColumnProfile, disguised: np.ndarray, data: AuditInput) -> tuple[Finding | None, str]:
    if profile.kind != "number" or profile.numeric is None:
        return None, ""
    numeric = np.where(disguised, np.nan, profile.numeric)
    usable = np.isfinite(numeric)
    values = numeric[usable]
    if values.size < 20 or np.unique(values[:10000]).size < 3:
        return None, ""
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    iqr = q3 - q1
    if iqr <= 0:
        return None, ""  # most cells hold one value: the near-constant check speaks for it
    k = float(_option(data, "outlier_iqr_k"))
    low, high = q1 - k * iqr, q3 + k * iqr
    _, sigma = median_and_sigma(values)
    mad = sigma
    robust_z = np.zeros(profile.n)
    if mad > 0:
        robust_z[usable] = (values - median) / sigma
    beyond = usable & ((numeric < low) | (numeric > high))
    if mad > 0:
        # The z limit grows with the column so a clean normal column of 1M values expects < 0.01 flags.
        z_limit = max(float(_option(data, "outlier_robust_z")), NormalDist().inv_cdf(1 - 0.005 / values.size))
        beyond &= np.abs(robust_z) > z_limit
    rows = np.flatnonzero(beyond)
    if rows.size == 0:
        return None, ""
    share = rows.size / values.size
    if share > float(_option(data, "outlier_max_share")):
        return None, (f"Column {profile.name!r} has a heavy tail: {rows.size:,} values ({share:.1%}) lie beyond "
                      f"{format_number(low)}-{format_number(high)}; consider a log scale rather than dropping them.")
    order = rows[np.argsort(-np.abs(robust_z[rows]))] if mad > 0 else rows
    extremes = {data.table.original_row(int(r)): float(profile.numeric[r]) for r in order[:20]}
    shown = ", ".join(f"{format_number(v)} (row {r})" for r, v in list(extremes.items())[:5])
    return Finding(
        analyser=NAME, kind="outliers", severity="warning",
        message=(f"column {profile.name!r}: {rows.size:,} value(s) far outside the middle half "
                 f"{format_number(q1)}-{format_number(q3)} (median {format_number(median)}): {shown}"),
        rows=rows.tolist(),
        detail={"column": profile.name, "q1": float(q1), "median": float(median), "q3": float(q3),
                "fence_low": float(low), "fence_high": float(high), "most_extreme": extremes},
    ), ""


def _constant_finding(profile: ColumnProfile, series: pd.Series, near_share: float) -> Finding | None:
    if profile.present < 2 or profile.kind == "empty":
        return None
    top_value = profile.counts.index[0]
    top_count = int(profile.counts.iloc[0])
    if profile.distinct == 1:
        return Finding(
            analyser=NAME, kind="constant", severity="info",
            message=f"column {profile.name!r} holds one value ({top_value!r}) in every filled cell: it carries no information",
            detail={"column": profile.name, "value": str(top_value)},
        )
    share = top_count / profile.present
    if share >= near_share and profile.present >= 100:
        rows = np.flatnonzero(~profile.missing & (series != top_value).to_numpy())
        return Finding(
            analyser=NAME, kind="near_constant", severity="info",
            message=(f"column {profile.name!r} is {share:.1%} {top_value!r}; only {profile.present - top_count:,} "
                     f"cell(s) differ"),
            rows=rows.tolist(),
            detail={"column": profile.name, "value": str(top_value), "share": share,
                    "other_values": {str(k): int(v) for k, v in profile.counts.iloc[1:21].items()}},
        )
    return None


def _is_id_like(profile: ColumnProfile, role: str | None) -> bool:
    if role in {"path", "label", "split"} or profile.present < 20 or profile.unique_share < ID_UNIQUE_SHARE:
        return False
    if profile.kind == "number" and profile.integer and profile.numeric is not None:
        # Unique whole numbers are ids when they are dense (1..n) or run in row order; a measurement is neither.
        values = profile.numeric[np.isfinite(profile.numeric)]
        dense = values.max() - values.min() + 1 <= 2 * values.size
        ordered = bool(np.all(np.diff(values) > 0) or np.all(np.diff(values) < 0))
        return bool(dense or ordered)
    return profile.kind == "text"


def _spread(values: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(values, [5, 95])
    if high <= low:
        low, high = float(values.min()), float(values.max())
    return float(low), float(high)


def _scale_finding(profiles: dict[str, ColumnProfile], roles: dict[str, str], id_like: list[str],
                   disguised: dict[str, np.ndarray], ratio_limit: float) -> Finding | None:
    spreads: dict[str, tuple[float, float]] = {}
    for name, profile in profiles.items():
        if profile.kind != "number" or name in roles or name in id_like or profile.numeric is None:
            continue
        numeric = profile.numeric
        if name in disguised:
            numeric = np.where(disguised[name], np.nan, numeric)
        values = numeric[np.isfinite(numeric)]
        if values.size < 3 or np.unique(values[:10000]).size < 3:
            continue
        low, high = _spread(values)
        if high > low:
            spreads[name] = (low, high)
    if len(spreads) < 2:
        return None
    widths = {name: high - low for name, (low, high) in spreads.items()}
    widest = max(widths, key=widths.get)
    narrowest = min(widths, key=widths.get)
    ratio = widths[widest] / widths[narrowest]
    if ratio < ratio_limit:
        return None
    orders = int(np.floor(np.log10(ratio)))
    return Finding(
        analyser=NAME, kind="scale", severity="info",
        message=(f"numeric columns span very different ranges: {widest!r} about "
                 f"{format_number(spreads[widest][0])}-{format_number(spreads[widest][1])} vs {narrowest!r} about "
                 f"{format_number(spreads[narrowest][0])}-{format_number(spreads[narrowest][1])} ({orders} orders of "
                 "magnitude); standardise them before a distance-based or linear model uses them"),
        detail={"ratio": ratio, "ranges_5_95": {k: [v[0], v[1]] for k, v in spreads.items()}},
    )


# ------------------------------------------------------------------------------------------- mojibake


def _mojibake_finding(profile: ColumnProfile, series: pd.Series) -> Finding | None:
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


# --------------------------------------------------------------------------------------------- report


def _type_label(profile: ColumnProfile, typed: bool) -> str:
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


def _overview(profiles: dict[str, ColumnProfile], roles: dict[str, str], id_like: list[str], typed: bool) -> TableBlock:
    rows = []
    for name, profile in profiles.items():
        missing = int(profile.missing.sum())
        top = ", ".join(f"{str(v)[:30]} ({c:,}, {c / profile.present:.0%})"
                        for v, c in profile.counts.iloc[:3].items()) if profile.present else ""
        low = median = high = ""
        if profile.kind in {"number", "date"} and profile.numeric is not None:
            values = profile.values_present()
            if values.size:
                low, median, high = (_format_value(profile, float(v)) for v in
                                     (values.min(), np.median(values), values.max()))
        role = roles.get(name, "")
        if name in id_like:
            role = (role + ", id-like").lstrip(", ")
        rows.append([name, role, _type_label(profile, typed), f"{missing:,} ({missing / profile.n:.1%})" if profile.n else "0",
                     f"{profile.distinct:,}", top, low, median, high])
    return TableBlock(title="Columns", columns=["column", "role", "type", "missing", "distinct", "top values",
                                                "min", "median", "max"], rows=rows,
                      caption="Types are inferred from the values; missing includes tokens such as NA, N/A, null, ?, -.")


def _distribution_charts(profiles: dict[str, ColumnProfile], roles: dict[str, str], id_like: list[str],
                         cap: int) -> list[Chart]:
    charts = []
    for name, profile in profiles.items():
        if len(charts) >= cap:
            break
        if profile.kind != "number" or name in roles or name in id_like or profile.numeric is None:
            continue
        values = profile.values_present()
        if values.size == 0:
            continue
        charts.append(Chart(
            title=f"{name}", traces=[histogram_trace(values, bins=30)],
            layout={"xaxis": {"title": {"text": name}}, "yaxis": {"title": {"text": "rows"}}, "bargap": 0.02,
                    "height": 220},
        ))
    return charts


ANALYSER = Analyser(
    name=NAME,
    title="Metadata columns",
    run=run,
    settings=tuple(DEFAULTS),
    needs_images=False,
    metrics={
        "missing.cell_rate": "missing cells (empty, null or a token such as NA, N/A, ?, -) / all cells",
        "missing.column_count": "columns with at least one missing cell",
        "missing.token_count": "cells that spell 'missing' with a token (NA, null, ?, ...) rather than leaving it empty",
        "missing.disguised_count": "cells holding a sentinel (0, -1, 999, 1900-01-01, ...) that stands for a missing value",
        "columns.type_issue_count": "columns with a type problem (mixed types, mixed date formats, numbers/dates stored as text)",
        "columns.outlier_count": "numeric cells far outside their column's usual range (IQR fences and robust z-score)",
        "columns.constant_count": "columns holding a single value",
        "columns.near_constant_count": "columns where one value fills at least near_constant_share of the cells",
        "columns.id_like_count": "identifier columns (at least 98% distinct text, or unique whole numbers 1..n or in order)",
        "columns.mojibake_count": "cells with garbled text from a wrong decoding (e.g. 'CafÃ©')",
    },
)
