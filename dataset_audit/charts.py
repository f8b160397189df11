"""Chart helpers for analysers: pre-binned so a report's size does not grow with the number of images."""

from __future__ import annotations

import numpy as np

from .model import Chart

DRAWABLE_MAX = 1e307  # larger values are drawn rescaled (drawable): a range of -8e307 to 8e307 still draws


def histogram(title: str, values: np.ndarray, axis: str, bins: int = 40, log_x: bool = False,
              caption: str = "", name: str | None = None) -> Chart:
    """A histogram drawn from at most `bins` bars, whatever the number of values."""
    return Chart(title=title, traces=[histogram_trace(values, bins=bins, log_x=log_x, name=name)],
                 layout={"xaxis": {"title": {"text": axis}, "type": "log" if log_x else "linear"},
                         "yaxis": {"title": {"text": "images"}}, "bargap": 0.02},
                 caption=caption)


def histogram_trace(values: np.ndarray, bins: int = 40, log_x: bool = False, name: str | None = None,
                    value_range: tuple[float, float] | None = None) -> dict:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if log_x:
        values = values[values > 0]
    if values.size == 0:
        return {"type": "bar", "x": [], "y": [], "name": name or ""}
    if log_x:
        exponents = _edges(float(np.log10(values.min())), float(np.log10(values.max())), bins)
        with np.errstate(over="ignore"):
            edges = np.minimum(10.0 ** exponents, np.finfo(np.float64).max)
        edges[0], edges[-1] = min(edges[0], values.min()), max(edges[-1], values.max())
        edges = np.maximum.accumulate(np.maximum(edges, values.min()))
    else:
        low, high = value_range or (float(values.min()), float(values.max()))
        edges = _edges(low, high, bins)
    counts, edges = np.histogram(values, bins=edges)
    centres = edges[:-1] / 2 + edges[1:] / 2
    widths = edges[1:] - edges[:-1]
    trace = {"type": "bar", "x": _rounded(centres, _digits_for(centres, widths)).tolist(), "y": counts.tolist(),
             "width": _rounded(widths, 6).tolist(),
             "hovertemplate": "%{x:.3g}: %{y} images<extra></extra>"}
    if name is not None:
        trace["name"] = name
    return trace


def drawable(values: np.ndarray, axis: str) -> tuple[np.ndarray, str]:
    """values and their axis title, rescaled by a power of ten (said in the title) when their magnitude passes
    DRAWABLE_MAX: Plotly cannot draw an axis whose range spans more than the largest float (its tick code throws a
    TypeError in the browser for a column holding -1.7e308 and 1.7e308)."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    peak = float(np.abs(finite).max()) if finite.size else 0.0
    if peak <= DRAWABLE_MAX:
        return values, axis
    exponent = int(np.floor(np.log10(peak)))
    return values / 10.0 ** exponent, f"{axis} (x 1e{exponent})"


def _digits_for(centres: np.ndarray, widths: np.ndarray) -> int:
    """Significant digits that place every bar centre to a hundredth of the narrowest bar: 1,700,000,068.67 for
    timestamps an hour apart needs 12, not 6 (six put all 30 bars of such a column at one x)."""
    positive = widths[widths > 0]
    magnitude = float(np.abs(centres).max()) if centres.size else 0.0
    if not positive.size or magnitude == 0.0:
        return 17
    return int(np.clip(np.ceil(np.log10(magnitude) - np.log10(positive.min())) + 3, 4, 17))


def _rounded(values: np.ndarray, digits: int) -> np.ndarray:
    """values to `digits` significant digits (fixed decimals would turn 1e-7 into 0, which a log axis cannot place,
    or overflow above ~1e304)."""
    rounded = np.array([float(f"{value:.{digits}g}") for value in values.tolist()], dtype=np.float64)
    return np.where(np.isfinite(rounded), rounded, values)  # near the largest float, rounding up overflows


def _edges(low: float, high: float, bins: int) -> np.ndarray:
    """bins + 1 non-decreasing bin edges from low to high, finite for any finite low and high: the edges are weighted
    means of the ends (a plain linspace overflows when high - low exceeds the largest float, e.g. for a column holding
    -1.7e308 and 1.7e308); a single value gets a bin around it (beside it at the ends of the float range)."""
    if not high > low:
        value, step = low, max(1.0, abs(low) * 1e-6)
        low, high = value - step / 2, value + step / 2
        if not np.isfinite(high):
            low, high = value - step, value
        elif not np.isfinite(low):
            low, high = value, value + step
    weights = np.linspace(0.0, 1.0, bins + 1)
    edges = low * (1.0 - weights) + high * weights
    edges[0], edges[-1] = low, high
    return np.maximum.accumulate(edges)  # rounding never puts an edge below the one before


# Presentation choices live here, not in analysers: colours, hover texts, marker sizes.
THRESHOLD_LINE = {"color": "#d62728", "dash": "dash", "width": 1.5}
POINT_COLOUR = "#4c78a8"


def bar_chart(title: str, categories: list, values: list, value_axis: str, category_axis: str = "",
              shares: list[float] | None = None, horizontal: bool = False, value_range: list[float] | None = None,
              caption: str = "") -> Chart:
    """Bars per category (classes, columns); `shares` adds each bar's share of the total to its hover text."""
    trace: dict = {"type": "bar", "x": list(values), "y": [str(c) for c in categories], "orientation": "h"} \
        if horizontal else {"type": "bar", "x": [str(c) for c in categories], "y": list(values)}
    unit = value_axis.split(" (")[0]
    if shares is not None:
        trace["text"] = [f"{s:.1%}" for s in shares]
        trace["hovertemplate"] = "%{x}: %{y} " + unit + " (%{text})<extra></extra>"
        trace["textposition"] = "none"
    value = {"title": {"text": value_axis}, **({"range": value_range} if value_range else {})}
    category = {"title": {"text": category_axis}, "type": "category", "automargin": True}
    layout = {"xaxis": value, "yaxis": category, "height": 120 + 22 * len(categories)} if horizontal \
        else {"xaxis": category, "yaxis": value}
    return Chart(title=title, traces=[trace], layout=layout, caption=caption)


def grouped_bar_chart(title: str, categories: list, series: dict[str, list], value_axis: str,
                      caption: str = "") -> Chart:
    """One bar per (category, series), series side by side: rows per class and split, say."""
    traces = [{"type": "bar", "name": name, "x": [str(c) for c in categories], "y": list(values)}
              for name, values in series.items()]
    return Chart(title=title, traces=traces, caption=caption,
                 layout={"barmode": "group", "xaxis": {"type": "category"}, "yaxis": {"title": {"text": value_axis}}})


def share_lines_chart(title: str, x: list, series: dict[str, list], x_axis: str, y_axis: str,
                      caption: str = "", x_format: str = ".3g") -> Chart:
    """One line per group (a class, say) of shares over shared x bins."""
    traces = [{"type": "scatter", "mode": "lines", "name": name, "x": x, "y": list(y),
               "hovertemplate": f"{name}: " + "%{x:" + x_format + "}: %{y:.1%}<extra></extra>"}
              for name, y in series.items()]
    return Chart(title=title, traces=traces, caption=caption,
                 layout={"xaxis": {"title": {"text": x_axis}}, "yaxis": {"title": {"text": y_axis},
                                                                     "tickformat": ".0%"}})


def counted_points_chart(title: str, x: list, y: list, counts: list[int], x_axis: str, y_axis: str,
                         caption: str = "") -> Chart:
    """Distinct (x, y) points whose marker area grows with how many images share them."""
    counts_array = np.asarray(counts, dtype=np.float64)
    size = 6 + 24 * np.sqrt(counts_array / max(counts_array.max(), 1))
    trace = {"type": "scatter", "mode": "markers", "x": list(x), "y": list(y),
             "marker": {"size": size.round(1).tolist(), "color": POINT_COLOUR, "opacity": 0.7},
             "text": [f"{int(c)} images" for c in counts], "hovertemplate": "%{x}x%{y}: %{text}<extra></extra>"}
    return Chart(title=title, traces=[trace], caption=caption,
                 layout={"xaxis": {"title": {"text": x_axis}}, "yaxis": {"title": {"text": y_axis}}})


def threshold_histogram(title: str, values: np.ndarray, axis: str, thresholds: list[float], log_x: bool = False,
                        caption: str = "") -> Chart:
    """A histogram with a dashed line at each threshold (lines outside a log axis's domain are left out)."""
    chart = histogram(title, values, axis, bins=50, log_x=log_x, caption=caption)
    chart.layout["shapes"] = [{"type": "line", "x0": v, "x1": v, "y0": 0, "y1": 1, "yref": "paper",
                               "line": THRESHOLD_LINE}
                              for v in thresholds if np.isfinite(v) and (v > 0 or not log_x)]
    return chart
