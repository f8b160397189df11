"""Missing values in a column: empty cells and missing-value tokens, and disguised missing values (sentinel
numbers and dates such as 0, -1, 999 or 1900-01-01 that stand for "not recorded")."""

from __future__ import annotations

import numpy as np

from ..model import Finding
from ._tabular import EPOCH, ColumnProfile, format_number

NAME = "columns"  # the analyser these findings belong to
# Values that often stand for "not recorded" when they sit apart from the rest of a numeric column.
SENTINEL_NUMBERS = (0.0, -1.0, 999.0, 9999.0, 99999.0, -9.0, -99.0, -999.0, -9999.0)
# The limits of machine types, written by programs for "no reading": float64 and float32 (exact, and as float32
# prints it), and 16-, 32- and 64-bit integers.
TYPE_LIMITS = tuple(sign * value for value in (
    float(np.finfo(np.float64).max), float(np.finfo(np.float32).max), 3.4028235e38,
    32767.0, 65535.0, 2147483647.0, 4294967295.0, 9223372036854775807.0) for sign in (1.0, -1.0)) + (
    -32768.0, -2147483648.0)
# Codes made of nines are suspicious even inside the column's range when they form a spike.
NINES = (999.0, 9999.0, 99999.0, -999.0, -9999.0)
SENTINEL_DATES = ("1900-01-01", "1970-01-01", "9999-12-31", "2099-12-31")


def missing_findings(profile: ColumnProfile, role: str | None) -> list[Finding]:
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


def format_value(profile: ColumnProfile, value: float) -> str:
    if profile.kind == "date":
        return str(EPOCH + np.timedelta64(int(value), "D"))
    return format_number(value)


def disguised_missing(profile: ColumnProfile, min_count: int) -> tuple[list[Finding], np.ndarray]:
    """Sentinels (0, -1, 999, 1900-01-01, the largest float or integer, ...) that sit apart from the rest of the
    column or form a spike."""
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
        candidates = list(SENTINEL_NUMBERS) + list(TYPE_LIMITS)
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
        shown = format_value(profile, value)
        findings.append(Finding(
            analyser=NAME, kind="disguised_missing", severity="warning",
            message=(f"column {profile.name!r}: {shown} appears {count:,} times ({share:.1%}) while the rest of the "
                     f"column lies in {format_value(profile, rest.min())} to {format_value(profile, rest.max())}; "
                     f"{reason}, so it probably means 'not recorded'"),
            rows=rows.tolist(),
            detail={"column": profile.name, "value": shown, "count": count, "share": share,
                    "rest_min": format_value(profile, rest.min()), "rest_max": format_value(profile, rest.max()),
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
