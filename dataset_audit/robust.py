"""Robust statistics shared by the analysers: median and MAD-based spread, robust z-scores."""

from __future__ import annotations

import numpy as np

# MAD x 1.4826 estimates the standard deviation of normally distributed values.
MAD_TO_SIGMA = 1.4826


def median_and_sigma(values: np.ndarray) -> tuple[float, float]:
    """Median and MAD-based standard deviation of the finite values (nan, 0.0 when there are none)."""
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return float("nan"), 0.0
    median = float(np.median(finite))
    return median, float(np.median(np.abs(finite - median))) * MAD_TO_SIGMA


def robust_z(values: np.ndarray, min_sigma: float = 1e-9) -> np.ndarray:
    """(value - median) / MAD-based sigma, with sigma at least min_sigma."""
    median, sigma = median_and_sigma(values)
    return (np.asarray(values, dtype=np.float64) - median) / max(sigma, min_sigma)
