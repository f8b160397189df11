"""Column values: outliers (IQR fences and robust z), constant and near-constant columns, identifier columns,
numeric columns on very different scales, and the distribution charts."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

from ..charts import drawable, histogram_trace
from ..dataset import Table
from ..model import Chart, Finding
from ..robust import median_and_sigma
from ..settings import SettingValues
from ._tabular import ColumnProfile, format_number

NAME = "columns"  # the analyser these findings belong to
# Columns where at least this share of non-missing values is distinct are identifiers.
ID_UNIQUE_SHARE = 0.98



def outlier_finding(profile: ColumnProfile, disguised: np.ndarray, settings: SettingValues, table: Table) -> tuple[Finding | None, str]:
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
    k = settings.outlier_iqr_k
    low, high = q1 - k * iqr, q3 + k * iqr
    _, sigma = median_and_sigma(values)
    mad = sigma
    robust_z = np.zeros(profile.n)
    if mad > 0:
        robust_z[usable] = (values - median) / sigma
    beyond = usable & ((numeric < low) | (numeric > high))
    if mad > 0:
        # The z limit grows with the column so a clean normal column of 1M values expects < 0.01 flags.
        z_limit = max(settings.outlier_robust_z, NormalDist().inv_cdf(1 - 0.005 / values.size))
        beyond &= np.abs(robust_z) > z_limit
    rows = np.flatnonzero(beyond)
    if rows.size == 0:
        return None, ""
    share = rows.size / values.size
    if share > settings.outlier_max_share:
        return None, (f"Column {profile.name!r} has a heavy tail: {rows.size:,} values ({share:.1%}) lie beyond "
                      f"{format_number(low)}-{format_number(high)}; consider a log scale rather than dropping them.")
    order = rows[np.argsort(-np.abs(robust_z[rows]))] if mad > 0 else rows
    extremes = {table.original_row(int(r)): float(profile.numeric[r]) for r in order[:20]}
    shown = ", ".join(f"{format_number(v)} (row {r})" for r, v in list(extremes.items())[:5])
    return Finding(
        analyser=NAME, kind="outliers", severity="warning",
        message=(f"column {profile.name!r}: {rows.size:,} value(s) far outside the middle half "
                 f"{format_number(q1)}-{format_number(q3)} (median {format_number(median)}): {shown}"),
        rows=rows.tolist(),
        detail={"column": profile.name, "q1": float(q1), "median": float(median), "q3": float(q3),
                "fence_low": float(low), "fence_high": float(high), "most_extreme": extremes},
    ), ""


def constant_finding(profile: ColumnProfile, series: pd.Series, near_share: float) -> Finding | None:
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


def is_id_like(profile: ColumnProfile, role: str | None) -> bool:
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


def scale_finding(profiles: dict[str, ColumnProfile], roles: dict[str, str], id_like: list[str],
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
    # Compared by log10 of each spread, halved first: -1.7e308 to 1.7e308 spans more than the largest float.
    log_widths = {name: float(np.log10(high / 2 - low / 2) + np.log10(2)) for name, (low, high) in spreads.items()}
    widest = max(log_widths, key=log_widths.get)
    narrowest = min(log_widths, key=log_widths.get)
    with np.errstate(over="ignore"):
        ratio = (spreads[widest][1] - spreads[widest][0]) / (spreads[narrowest][1] - spreads[narrowest][0])
    if ratio < ratio_limit:
        return None
    log_ratio = float(np.log10(ratio)) if np.isfinite(ratio) else log_widths[widest] - log_widths[narrowest]
    orders = int(np.floor(log_ratio))
    ratio = float(ratio) if np.isfinite(ratio) else None  # findings.json holds finite numbers only
    return Finding(
        analyser=NAME, kind="scale", severity="info",
        message=(f"numeric columns span very different ranges: {widest!r} about "
                 f"{format_number(spreads[widest][0])} to {format_number(spreads[widest][1])} vs {narrowest!r} about "
                 f"{format_number(spreads[narrowest][0])} to {format_number(spreads[narrowest][1])} ({orders} orders of "
                 "magnitude); standardise them before a distance-based or linear model uses them"),
        detail={"ratio": ratio, "ranges_5_95": {k: [v[0], v[1]] for k, v in spreads.items()}},
    )


def distribution_charts(profiles: dict[str, ColumnProfile], roles: dict[str, str], id_like: list[str],
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
        values, axis = drawable(values, name)
        charts.append(Chart(
            title=f"{name}", traces=[histogram_trace(values, bins=30)],
            layout={"xaxis": {"title": {"text": axis}}, "yaxis": {"title": {"text": "rows"}}, "bargap": 0.02,
                    "height": 220},
        ))
    return charts
