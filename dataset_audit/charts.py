"""Chart helpers for analysers: pre-binned so a report's size does not grow with the number of images."""

from __future__ import annotations

import numpy as np

from .model import Chart


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
        low, high = np.log10(values.min()), np.log10(values.max())
        edges = np.logspace(low, high if high > low else low + 1, bins + 1)
    else:
        low, high = value_range or (float(values.min()), float(values.max()))
        edges = np.linspace(low, high if high > low else low + 1, bins + 1)
    counts, edges = np.histogram(values, bins=edges)
    centres = (edges[:-1] + edges[1:]) / 2
    widths = edges[1:] - edges[:-1]
    trace = {"type": "bar", "x": np.round(centres, 4).tolist(), "y": counts.tolist(),
             "width": np.round(widths, 6).tolist(),
             "hovertemplate": "%{x:.3g}: %{y} images<extra></extra>"}
    if name is not None:
        trace["name"] = name
    return trace
