"""Shared column profiling for the metadata analysers: missing tokens, inferred types, parsed numbers and dates.

Every profile is computed from `value_counts` (distinct values) plus a few vectorised passes over the column, so
its cost grows linearly with the rows and never pairs rows up. Profiles are cached per table frame so the
columns, categories and target-leakage analysers share one pass.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..dataset import MISSING_TOKENS, Table

# Words inside a cell (letters and digits, no underscores), and the seams between letters and digits ("img12").
TOKEN = re.compile(r"[^\W_]+")
LETTER_DIGIT = re.compile(r"(?<=\D)(?=\d)|(?<=\d)(?=\D)")
TEXT_SUFFIXES = {".csv", ".tsv", ".txt", ".psv"}
# A text column is read as numbers (or dates) when at least this share of its non-missing cells parse.
PARSE_SHARE = 0.95
# ... and as a column that mixes types when the share is at least this but not 100%.
MIXED_SHARE = 0.5
DATE_FORMATS = [
    "%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y", "%d-%m-%Y", "%m-%d-%Y",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%SZ", "%d/%m/%Y %H:%M",
    "%m/%d/%Y %H:%M", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f",
]
DATE_SHAPE = re.compile(r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?Z?)?$")
EPOCH = np.datetime64("1970-01-01", "D")


@dataclass
class ColumnProfile:
    """What one column holds, inferred from its values (not from its dtype alone)."""

    name: str
    dtype: str
    n: int
    missing: np.ndarray  # bool per row: empty, NaN/None or a missing token
    missing_forms: Counter  # how the missing cells are written: {"(empty)": 3, "N/A": 2}
    kind: str  # empty | number | date | boolean | text | nested
    stored_as_text: bool  # the values are strings (always true for CSV)
    counts: pd.Series  # non-missing distinct values (as they are) -> rows, most frequent first
    numeric: np.ndarray | None = None  # float per row (NaN where missing or not a number); for dates: days
    integer: bool = False  # every number is a whole number
    date_format: str | None = None  # detected strptime format for dates held as text
    date_formats: dict[str, int] = field(default_factory=dict)  # format -> rows, most used first
    minority_date_values: list = field(default_factory=list)  # values written in another format than the main one
    odd_rows: np.ndarray | None = None  # rows whose value does not fit the column's kind (mixed types)
    odd_examples: list[str] = field(default_factory=list)
    python_types: dict[str, int] = field(default_factory=dict)  # for object columns: type name -> rows

    @property
    def present(self) -> int:
        return int(self.n - self.missing.sum())

    @property
    def distinct(self) -> int:
        return int(len(self.counts))

    @property
    def unique_share(self) -> float:
        return self.distinct / self.present if self.present else 0.0

    def values_present(self) -> np.ndarray:
        """Numbers of the non-missing cells that parsed (or days, for dates)."""
        assert self.numeric is not None
        return self.numeric[np.isfinite(self.numeric)]


def is_text_source(table: Table) -> bool:
    """True when every cell arrived as text (CSV/TSV, folder listing): types cannot be 'wrong' there."""
    return table.delimiter is not None or Path(table.source).suffix.lower() in TEXT_SUFFIXES \
        or Path(table.source).suffix == ""


def profile_table(table: Table) -> dict[str, ColumnProfile]:
    """One profile per column. The pipeline calls this once and hands the result to every table analyser
    (AuditInput.profiles); tests call it directly."""
    return {str(c): profile_column(table.frame[c], str(c)) for c in table.frame.columns}


def _is_missing_scalar(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    if isinstance(value, str):
        return value.strip().casefold() in MISSING_TOKENS
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # lists, arrays
        return False


def _missing_form(value: object) -> str:
    if isinstance(value, str):
        return "(whitespace)" if value and not value.strip() else (value if value else "(empty)")
    return "(null)"


def profile_column(series: pd.Series, name: str) -> ColumnProfile:
    dtype = str(series.dtype)
    kind_code = series.dtype.kind
    if kind_code == "b" or dtype == "boolean":
        return _native_profile(series, name, "boolean")
    if kind_code in "iuf" or dtype in {"Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64",
                                       "Float32", "Float64"}:
        profile = _native_profile(series, name, "number")
        profile.numeric = series.to_numpy(dtype=np.float64, na_value=np.nan)
        finite = profile.numeric[np.isfinite(profile.numeric)]
        profile.integer = kind_code in "iu" or dtype.startswith(("Int", "UInt")) or bool(
            finite.size and np.all(finite == np.round(finite)))
        return profile
    if kind_code == "M":
        profile = _native_profile(series, name, "date")
        days = series.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
        profile.numeric = np.where(series.isna().to_numpy(), np.nan,
                                   (days - EPOCH).astype(np.float64))
        return profile
    return _text_profile(series, name)


def _native_profile(series: pd.Series, name: str, kind: str) -> ColumnProfile:
    missing = series.isna().to_numpy()
    counts = series[~missing].value_counts(sort=True)
    return ColumnProfile(name=name, dtype=str(series.dtype), n=len(series), missing=missing,
                         missing_forms=Counter({"(null)": int(missing.sum())}) if missing.any() else Counter(),
                         kind=kind if len(counts) else "empty", stored_as_text=False, counts=counts)


def _text_profile(series: pd.Series, name: str) -> ColumnProfile:
    """Strings (CSV), or an object column that may mix Python types (JSON lines, Parquet)."""
    python_types: dict[str, int] = {}
    values = series
    if series.dtype == object:
        types = series.map(lambda v: type(v).__name__)
        python_types = {str(k): int(v) for k, v in types.value_counts().items() if k != "NoneType"}
        if any(t in python_types for t in ("list", "dict", "ndarray", "tuple")):
            values = series.map(lambda v: v if v is None or isinstance(v, str) else repr(v))
    all_counts = values.value_counts(dropna=False, sort=True)
    missing_keys = _missing_keys(all_counts.index)
    token_values = [v for v in all_counts.index[missing_keys] if not _is_nan_key(v)]
    nulls = values.isna().to_numpy()
    missing = nulls | values.isin(token_values).to_numpy() if token_values else nulls.copy()
    forms: Counter = Counter()
    for v in token_values:
        forms[_missing_form(v)] += int(all_counts[v])
    if nulls.any():
        forms["(null)"] = int(nulls.sum())
    counts = all_counts[~missing_keys]
    string_types = {t: c for t, c in python_types.items() if t in ("str", "str_")}
    profile = ColumnProfile(name=name, dtype=str(series.dtype), n=len(series), missing=missing,
                            missing_forms=forms, kind="text", counts=counts, python_types=python_types,
                            stored_as_text=not python_types or sum(string_types.values()) == sum(python_types.values()))
    if not len(counts):
        profile.kind = "empty"
        return profile
    if any(t in python_types for t in ("list", "dict", "ndarray", "tuple")):
        profile.kind = "nested"
        return profile
    if python_types and not string_types and set(python_types) <= {"bool", "bool_"}:
        profile.kind = "boolean"
        return profile
    _infer_numbers(profile, values)
    if profile.kind == "text":
        _infer_dates(profile, values)
    return profile


def _missing_keys(index: pd.Index) -> np.ndarray:
    """Which distinct values are missing (null or a token), vectorised for string columns."""
    if index.dtype == object:
        return np.array([_is_missing_scalar(v) for v in index], dtype=bool)
    keys = pd.Series(index.astype(str), dtype=str).str.strip().str.casefold()
    return (keys.isin(MISSING_TOKENS).to_numpy() & ~index.isna()) | index.isna()


def _is_nan_key(value: object) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _as_text(values: pd.Series) -> pd.Series:
    if values.dtype == object and not pd.api.types.is_string_dtype(values):
        return values.map(lambda v: v if isinstance(v, str) else ("" if _is_nan_key(v) else str(v)))
    return values.astype(str)


def _row_sample(profile: ColumnProfile, values: pd.Series, size: int = 2000) -> pd.Series:
    """A seeded sample of the non-missing cells, to rule a column out cheaply before parsing all of it."""
    present = np.flatnonzero(~profile.missing)
    if present.size > size:
        present = np.sort(np.random.default_rng(0).choice(present, size, replace=False))
    return _as_text(values.iloc[present]).str.strip()


def _infer_numbers(profile: ColumnProfile, values: pd.Series) -> None:
    sample = _row_sample(profile, values)
    if pd.to_numeric(sample, errors="coerce").notna().mean() < MIXED_SHARE - 0.1:
        return
    distinct = pd.Series(profile.counts.index)
    texts = _as_text(distinct).str.strip()
    parsed = pd.to_numeric(texts, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    ok = np.isfinite(parsed)
    share = float(profile.counts.to_numpy()[ok].sum()) / profile.present
    if share < MIXED_SHARE:
        return
    profile.kind = "number"
    numeric = pd.to_numeric(_as_text(values).str.strip(), errors="coerce").to_numpy(dtype=np.float64, copy=True)
    numeric[profile.missing] = np.nan
    profile.numeric = numeric
    finite = parsed[ok]
    profile.integer = bool(finite.size and np.all(finite == np.round(finite)))
    if share < 1.0:
        odd = ~profile.missing & ~np.isfinite(numeric)
        profile.odd_rows = np.flatnonzero(odd)
        profile.odd_examples = [str(v) for v in distinct[~ok].tolist()[:5]]
    elif profile.python_types and len(profile.python_types) > 1 and "str" in profile.python_types:
        # JSON lines: 5 and "5" in one column both parse, but they are not the same type.
        odd = values.map(lambda v: isinstance(v, str)).to_numpy() & ~profile.missing
        minority_is_text = odd.sum() * 2 <= profile.present
        profile.odd_rows = np.flatnonzero(odd if minority_is_text else (~odd & ~profile.missing))
        profile.odd_examples = [str(v) for v in values.iloc[profile.odd_rows[:5]].tolist()]


def _infer_dates(profile: ColumnProfile, values: pd.Series) -> None:
    """Dates written as text: pick the format that covers most rows; note when several formats are used."""
    if _row_sample(profile, values, 500).str.match(DATE_SHAPE).mean() < MIXED_SHARE - 0.1:
        return
    distinct = _as_text(pd.Series(profile.counts.index)).str.strip()
    weights = profile.counts.to_numpy()
    coverage: dict[str, np.ndarray] = {}
    for fmt in DATE_FORMATS:
        parsed = pd.to_datetime(distinct, format=fmt, errors="coerce")
        coverage[fmt] = parsed.notna().to_numpy()
    ranked = sorted(coverage, key=lambda f: -float(weights[coverage[f]].sum()))
    best = ranked[0]
    total = float(weights.sum())
    if weights[coverage[best]].sum() == 0:
        return
    # Each distinct value goes to the first format (best first) that reads it.
    assigned = np.full(len(distinct), "", dtype=object)
    for fmt in ranked:
        take = coverage[fmt] & (assigned == "")
        assigned[take] = fmt
    parsed_share = float(weights[assigned != ""].sum()) / total
    if parsed_share < MIXED_SHARE:
        return
    profile.kind = "date"
    profile.date_format = best
    used = Counter()
    for fmt, weight in zip(assigned, weights, strict=True):
        if fmt:
            used[fmt] += int(weight)
    profile.date_formats = dict(used.most_common())
    days = np.full(len(distinct), np.nan)
    for fmt in used:
        take = assigned == fmt
        stamps = pd.to_datetime(distinct[take], format=fmt, errors="coerce").to_numpy(dtype="datetime64[ns]")
        days[take] = (stamps.astype("datetime64[D]") - EPOCH).astype(np.float64)
    lookup = dict(zip(profile.counts.index.tolist(), days.tolist(), strict=True))
    numeric = values.map(lookup).to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    numeric[profile.missing] = np.nan
    profile.numeric = numeric
    profile.minority_date_values = [v for v, fmt in zip(profile.counts.index.tolist(), assigned, strict=True)
                                    if fmt and fmt != best]
    if parsed_share < 1.0:
        odd_values = [v for v, fmt in zip(profile.counts.index.tolist(), assigned, strict=True) if not fmt]
        profile.odd_rows = np.flatnonzero(values.isin(odd_values).to_numpy() & ~profile.missing)
        profile.odd_examples = [str(v) for v in odd_values[:5]]


def rows_with_values(series: pd.Series, wanted: list) -> np.ndarray:
    """Row positions whose cell is one of `wanted` (vectorised)."""
    return np.flatnonzero(series.isin(wanted).to_numpy())


def format_number(value: float) -> str:
    if not np.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return f"{int(value):,}".replace(",", "")
    return f"{value:.4g}"


def repair_mojibake(text: str) -> str | None:
    """The text its author meant when `text` is UTF-8 read with the wrong codec (cp1252, Latin-1, Mac Roman, cp437,
    cp1250, or twice), by ftfy's encoding repair; None when there is nothing to repair. Pure ASCII never is."""
    if text.isascii():
        return None
    import ftfy  # here, not at the top: a warm run (every section cached) need not import it

    repaired = ftfy.fix_encoding(text)
    return repaired if repaired != text else None
