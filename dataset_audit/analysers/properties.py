"""Image properties: width, height, aspect ratio, colour mode, format and file size distributions."""

from __future__ import annotations

import numpy as np

from ..charts import counted_points_chart, histogram
from ..model import Analyser, AuditInput, Section, TableBlock

NAME = "properties"


def _share_table(title: str, values: list[str], n: int) -> TableBlock:
    unique, counts = np.unique(np.array(values, dtype=object), return_counts=True)
    order = np.argsort(-counts)
    return TableBlock(title=title, columns=["value", "images", "share"],
                      rows=[[str(unique[i]), int(counts[i]), f"{counts[i] / n:.1%}"] for i in order[:20]])


def run(data: AuditInput) -> Section:
    features = data.features
    assert features is not None
    ok = features.ok
    frame = features.frame[ok]
    n = len(frame)
    section = Section(name=NAME, title="Image properties")
    width = frame["width"].to_numpy(dtype=np.float64)
    height = frame["height"].to_numpy(dtype=np.float64)
    aspect = width / np.maximum(height, 1)
    size_kb = frame["file_bytes"].to_numpy(dtype=np.float64) / 1024
    distinct_sizes = len(set(zip(width.tolist(), height.tolist(), strict=True)))
    section.metrics = {
        "properties.distinct_sizes": distinct_sizes,
        "properties.median_width": float(np.median(width)),
        "properties.median_height": float(np.median(height)),
        "properties.distinct_modes": int(frame["mode"].nunique()),
    }
    section.summary = (
        f"{n:,} decoded images; {distinct_sizes:,} distinct sizes, median {np.median(width):.0f}x"
        f"{np.median(height):.0f}; modes: {', '.join(sorted(frame['mode'].unique()))}; formats: "
        f"{', '.join(sorted(frame['format'].unique()))}."
    )
    stats_rows = []
    for label, values in (("width (px)", width), ("height (px)", height), ("aspect (w/h)", aspect),
                          ("file size (KiB)", size_kb)):
        q = np.percentile(values, [0, 5, 50, 95, 100])
        stats_rows.append([label, *[round(float(v), 2) for v in q]])
    section.tables.append(TableBlock(title="Distributions", columns=["", "min", "5%", "median", "95%", "max"],
                                     rows=stats_rows))
    section.tables.append(_share_table("Colour modes (as stored)", frame["mode"].tolist(), n))
    section.tables.append(_share_table("Formats (as detected, not by extension)", frame["format"].tolist(), n))
    if distinct_sizes > 1:
        pairs, counts = np.unique(np.stack([width, height], axis=1), axis=0, return_counts=True)
        section.charts.append(counted_points_chart(
            "Width and height", pairs[:, 0].tolist(), pairs[:, 1].tolist(), counts.tolist(), "width (px)",
            "height (px)", caption="One point per distinct size; marker area grows with the count."))
        section.charts.append(histogram("Aspect ratio", aspect, "width / height"))
    section.charts.append(histogram("File size", size_kb, "KiB", log_x=bool(size_kb.max() > 50 * max(size_kb.min(), 1e-3))))
    return section


ANALYSER = Analyser(
    name=NAME,
    title="Image properties",
    run=run,
    metrics={
        "properties.distinct_sizes": "number of distinct (width, height) pairs among decoded images",
        "properties.median_width": "median width in pixels",
        "properties.median_height": "median height in pixels",
        "properties.distinct_modes": "number of distinct colour modes as stored (RGB, L, RGBA, P, CMYK, ...)",
    },
)
