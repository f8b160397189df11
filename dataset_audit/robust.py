"""Robust statistics shared by the analysers: median and MAD-based spread, robust z-scores."""

from __future__ import annotations

import numpy as np
from scipy.stats import median_abs_deviation


def median_and_sigma(values: np.ndarray) -> tuple[float, float]:
    """Median and MAD-based standard deviation (MAD x 1.4826, scipy's scale="normal") of the finite values
    (nan, 0.0 when there are none)."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return float("nan"), 0.0
    return float(np.median(finite)), float(median_abs_deviation(finite, scale="normal"))


def robust_z(values: np.ndarray, min_sigma: float = 1e-9) -> np.ndarray:
    """(value - median) / MAD-based sigma, with sigma at least min_sigma."""
    median, sigma = median_and_sigma(values)
    return (np.asarray(values, dtype=np.float64) - median) / max(sigma, min_sigma)
