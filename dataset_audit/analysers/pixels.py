"""Pixel statistics: per-channel mean and std for normalisation, brightness/contrast and colour histograms by class.

The dataset mean is the mean of per-image channel means (every image weighs the same, as after a resize). The std
follows the law of total variance: Var = E[per-image variance] + Var(per-image means), so it is the std of all pixels
pooled, not the mean of per-image stds (which understates it). Per-image statistics are measured by the scan at
its working size (long side <= 256 px). Colour histograms come from the 16x16 thumbnails.

Cost: O(n) over per-image columns, plus bincounts over the n x 768 thumbnail values, BLOCK images at a time
(memory: a few MB whatever n).
"""

from __future__ import annotations

import numpy as np

from ..charts import share_lines_chart
from ..dataset import class_groups
from ..model import Analyser, AuditInput, Chart, Section, TableBlock
from ..settings import Setting

NAME = "pixels"
CHANNELS = ("r", "g", "b")
COLOUR_BINS = 32
MAX_TABLE_CLASSES = 50
DISTRIBUTION_BINS = 40
BLOCK = 2048  # thumbnails binned at once (~10 MB of bin codes and owners)


def channel_stats(means: np.ndarray, stds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dataset mean and std per channel (0-1 scale) from per-image means and stds (n, 3) on the 0-255 scale."""
    means = np.asarray(means, dtype=np.float64) / 255.0
    stds = np.asarray(stds, dtype=np.float64) / 255.0
    mean = means.mean(axis=0)
    variance = (stds ** 2).mean(axis=0) + means.var(axis=0)
    return mean, np.sqrt(variance)


def normalize_line(mean: np.ndarray, std: np.ndarray) -> str:
    fmt = lambda values: "(" + ", ".join(f"{v:.4f}" for v in values) + ")"  # noqa: E731
    return f"transforms.Normalize(mean={fmt(mean)}, std={fmt(std)})"


def _class_groups(labels: list[str] | None, ok_rows: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """(class, positions into ok_rows), largest class first; empty labels are left out."""
    if labels is None:
        return []
    return class_groups(np.asarray(labels, dtype=object)[ok_rows])


def _shared_edges(values: np.ndarray, bins: int) -> np.ndarray:
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return np.linspace(low, high if high > low else low + 1, bins + 1)


def _per_class_distribution(title: str, values: np.ndarray, groups: list[tuple[str, np.ndarray]], axis: str,
                            max_classes: int) -> Chart:
    """One line per class: the share of its images in each bin (bins shared by all classes)."""
    edges = _shared_edges(values, DISTRIBUTION_BINS)
    centres = np.round((edges[:-1] + edges[1:]) / 2, 3).tolist()
    series = {}
    for cls, positions in groups[:max_classes]:
        counts, _ = np.histogram(values[positions], bins=edges)
        series[str(cls)] = np.round(counts / max(len(positions), 1), 4).tolist()
    shown = min(len(groups), max_classes)
    caption = "Share of each class's images per bin." + (
        f" The {shown} largest of {len(groups)} classes are drawn." if len(groups) > shown else "")
    return share_lines_chart(title, centres, series, axis, "share of class", caption=caption)


def _class_channel_counts(thumbs: np.ndarray, rows: np.ndarray, class_of: np.ndarray, classes: int) -> np.ndarray:
    """(3, classes, COLOUR_BINS) pixel counts per channel, class and bin of thumbs[rows] (class_of[i] for rows[i]),
    counted in blocks of BLOCK images on uint8 bin codes: the n x 768 int64 copies cost 12 KiB per image."""
    counts = np.zeros((3, classes * COLOUR_BINS), dtype=np.int64)
    pixels_per_image = thumbs[0].size // 3 if len(thumbs) else 0
    for lo in range(0, len(rows), BLOCK):
        block = thumbs[rows[lo:lo + BLOCK]].reshape(-1, 3) >> 3  # 256 levels -> 32 bins, still uint8
        owner = np.repeat(class_of[lo:lo + BLOCK] * COLOUR_BINS, pixels_per_image)
        for channel in range(3):
            counts[channel] += np.bincount(owner + block[:, channel], minlength=classes * COLOUR_BINS)
    return counts.reshape(3, classes, COLOUR_BINS)


def _colour_histograms(thumbs: np.ndarray, rows: np.ndarray, groups: list[tuple[str, np.ndarray]],
                       max_classes: int) -> list[Chart]:
    """Per channel, one line per class: share of thumbnail pixels in each of 32 intensity bins. groups hold
    positions into `rows` (the decoded rows of thumbs)."""
    shown = groups[:max_classes]
    if not shown:
        return []
    class_of = np.full(len(rows), -1, dtype=np.int64)
    for index, (_, positions) in enumerate(shown):
        class_of[positions] = index
    keep = np.flatnonzero(class_of >= 0)
    channel_counts = _class_channel_counts(thumbs, rows[keep], class_of[keep], len(shown))
    centres = (np.arange(COLOUR_BINS) * 8 + 4).tolist()
    colours = {"r": "red", "g": "green", "b": "blue"}
    charts = []
    for channel_index, channel in enumerate(CHANNELS):
        counts = channel_counts[channel_index]
        shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        charts.append(share_lines_chart(
            f"{colours[channel].capitalize()} channel histogram by class", centres,
            {str(cls): np.round(shares[i], 4).tolist() for i, (cls, _) in enumerate(shown)},
            f"{colours[channel]} value (0-255)", "share of pixels", x_format="d",
            caption=f"Share of each class's pixels (16x16 thumbnails) in {COLOUR_BINS} bins of the {colours[channel]} "
                    "channel: classes that look alike may still differ in colour."
                    + (f" The {len(shown)} largest of {len(groups)} classes are drawn." if len(groups) > len(shown)
                       else "")))
    return charts


def run(data: AuditInput) -> Section:
    features = data.features
    assert features is not None
    section = Section(name=NAME, title="Pixel statistics")
    ok_rows = np.flatnonzero(features.ok)
    stat_columns = [f"{stat}_{c}" for stat in ("mean", "std") for c in CHANNELS] + ["brightness", "contrast"]
    frame = features.frame[stat_columns].iloc[ok_rows]  # not the whole frame: its text columns cost per row
    means = frame[[f"mean_{c}" for c in CHANNELS]].to_numpy(dtype=np.float64)
    stds = frame[[f"std_{c}" for c in CHANNELS]].to_numpy(dtype=np.float64)
    mean, std = channel_stats(means, stds)
    for index, channel in enumerate(CHANNELS):
        section.metrics[f"pixels.mean_{channel}"] = float(mean[index])
        section.metrics[f"pixels.std_{channel}"] = float(std[index])
    line = normalize_line(mean, std)
    section.summary = (f"Over {len(ok_rows):,} decoded images (0-1 scale): mean {tuple(np.round(mean, 4).tolist())}, "
                       f"std {tuple(np.round(std, 4).tolist())}.")
    section.notes.append(f"For normalisation (copy): {line}")
    section.notes.append("Every image weighs the same; std = sqrt(mean per-image variance + variance of per-image "
                         "means), i.e. the std of all pixels pooled.")

    groups = _class_groups(data.table.labels(), ok_rows)
    max_classes = data.settings.max_classes
    rows = [["(all images)", len(ok_rows), *np.round(mean, 4).tolist(), *np.round(std, 4).tolist()]]
    for cls, positions in groups[:MAX_TABLE_CLASSES]:
        class_mean, class_std = channel_stats(means[positions], stds[positions])
        rows.append([cls, len(positions), *np.round(class_mean, 4).tolist(), *np.round(class_std, 4).tolist()])
    section.tables.append(TableBlock(
        title="Channel mean and std (0-1 scale)",
        columns=["class", "images", "mean R", "mean G", "mean B", "std R", "std G", "std B"], rows=rows,
        caption=(f"The {MAX_TABLE_CLASSES} largest of {len(groups)} classes are listed."
                 if len(groups) > MAX_TABLE_CLASSES else ""),
    ))
    brightness = frame["brightness"].to_numpy(dtype=np.float64)
    contrast = frame["contrast"].to_numpy(dtype=np.float64)
    everything = [("all images", np.arange(len(ok_rows)))]
    chart_groups = groups if groups else everything
    section.charts.append(_per_class_distribution("Brightness by class" if groups else "Brightness", brightness,
                                                  chart_groups, "mean luma (0-255)", max_classes))
    section.charts.append(_per_class_distribution("Contrast by class" if groups else "Contrast", contrast,
                                                  chart_groups, "std of luma (0-255)", max_classes))
    section.charts.extend(_colour_histograms(features.thumbs, ok_rows, chart_groups, max_classes))
    return section


ANALYSER = Analyser(
    name=NAME,
    title="Pixel statistics",
    run=run,
    settings=(Setting("max_classes", 20, "classes drawn in the per-class charts (the largest ones); the table "
                      "lists 50", minimum=1),),
    metrics={
        "pixels.mean_r": "dataset mean of the red channel, 0-1 scale (for transforms.Normalize)",
        "pixels.mean_g": "dataset mean of the green channel, 0-1 scale",
        "pixels.mean_b": "dataset mean of the blue channel, 0-1 scale",
        "pixels.std_r": "dataset std of the red channel, 0-1 scale (pooled over all pixels)",
        "pixels.std_g": "dataset std of the green channel, 0-1 scale",
        "pixels.std_b": "dataset std of the blue channel, 0-1 scale",
    },
)
