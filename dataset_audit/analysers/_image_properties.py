"""The cheap per-image properties the bias and drift analysers compare: one value per decoded row, from the scan.

Everything here is a column of the scan's Features frame or a one-line function of them, so building the table is
one vectorised pass, O(n) in time and memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import AuditInput

# Same default as quality.grayscale_max: JPEG chroma noise keeps real grayscale pictures stored as RGB under ~2.
GRAYSCALE_MAX = 2.0


@dataclass
class ImageProperty:
    """One property of every decoded image: numbers (float) or categories (str)."""

    name: str  # short key, e.g. "brightness"
    axis: str  # what a chart's axis says, with units
    values: np.ndarray  # float64 for numbers, object (str) for categories; one per decoded row
    categorical: bool = False
    # How the image was captured or stored (size, format, grayscale), as opposed to a statistic of its pixels
    # (brightness, sharpness), which may be the content itself: striped things are sharp, snow is bright.
    acquisition: bool = True


def image_properties(data: AuditInput, rows: np.ndarray) -> list[ImageProperty]:
    """The properties of the images at `rows` (positions of decoded rows in the table)."""
    assert data.features is not None
    frame = data.features.frame.iloc[rows]
    # The quality analyser's grayscale limit, so "grayscale" means the same in every section (the pipeline has
    # already checked the config file's value).
    limit = float(data.config.analysers.get("quality", {}).get("grayscale_max", GRAYSCALE_MAX))

    def number(column: str) -> np.ndarray:
        return frame[column].to_numpy(dtype=np.float64)

    width, height = number("width"), number("height")
    colourfulness = number("colourfulness")
    return [
        ImageProperty("grayscale", f"grayscale (colourfulness <= {limit:g})",
                      np.where(colourfulness <= limit, "grayscale", "colour").astype(object), categorical=True),
        ImageProperty("colourfulness", "colourfulness (mean |R-G|, |G-B|, |B-R|, 0-255)", colourfulness,
                      acquisition=False),
        ImageProperty("brightness", "brightness (mean luma, 0-255)", number("brightness"), acquisition=False),
        ImageProperty("contrast", "contrast (std of luma)", number("contrast"), acquisition=False),
        ImageProperty("sharpness", "sharpness (variance of the Laplacian, log10)",
                      np.log10(1.0 + np.maximum(number("sharpness"), 0.0)), acquisition=False),
        ImageProperty("entropy", "entropy (bits, luma histogram)", number("entropy"), acquisition=False),
        ImageProperty("width", "width (px)", width),
        ImageProperty("height", "height (px)", height),
        ImageProperty("aspect", "aspect ratio (width / height)", width / np.maximum(height, 1.0)),
        # File size follows the content too (MNIST's '1's are the smallest PNGs), so it counts with the pixels.
        ImageProperty("file_size", "file size (bytes, log10)", np.log10(np.maximum(number("file_bytes"), 1.0)),
                      acquisition=False),
        ImageProperty("format", "format (as detected)", frame["format"].astype(str).to_numpy(dtype=object),
                      categorical=True),
        ImageProperty("mode", "colour mode (as stored)", frame["mode"].astype(str).to_numpy(dtype=object),
                      categorical=True),
    ]


def quantile_bins(values: np.ndarray, bins: int) -> np.ndarray:
    """Bin index per value (0..k-1) on the values' quantile edges; ties share a bin, non-finite values get bin k.

    The edges come from the values alone (no labels), so using every row's values does not leak a label into
    cross-validation.
    """
    finite = np.isfinite(values)
    if not finite.any():
        return np.zeros(len(values), dtype=np.int64)
    edges = np.unique(np.quantile(values[finite], np.linspace(0, 1, bins + 1)[1:-1]))
    index = np.searchsorted(edges, values, side="right")
    index[~finite] = len(edges) + 1
    return index.astype(np.int64)


def category_codes(values: np.ndarray, keep: int) -> tuple[np.ndarray, list[str]]:
    """Integer code per value for the `keep` most common values; the rest share one last code ("other")."""
    names, inverse, counts = np.unique(values.astype(str), return_inverse=True, return_counts=True)
    order = np.argsort(-counts, kind="stable")
    kept = order[:keep]
    code_of = np.full(len(names), len(kept), dtype=np.int64)
    code_of[kept] = np.arange(len(kept))
    labels = [str(names[i]) for i in kept] + (["(other)"] if len(names) > keep else [])
    return code_of[inverse], labels
