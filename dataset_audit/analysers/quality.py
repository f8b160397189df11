"""Image quality flags: too dark, too bright, blurry, low information, odd size, odd aspect ratio, grayscale.

Every flag compares one per-image score from the scan with a threshold. By default the threshold comes from the
dataset itself: median -/+ z x MAD (MAD scaled by 1.4826 to match a standard deviation) on a scale where the score
is roughly symmetric, so a dataset of night photos does not flag every image as dark. Each robust threshold is then
clamped by an absolute limit, and the MAD has a floor, so a clean homogeneous dataset (tiny MAD) flags nothing that
is not really dark, bright, blurry, ... The defaults were chosen by looking at what CIFAR-10 flags (only the truly
extreme images, plus its real grayscale pictures) and checked on MNIST (white digits on black: nothing flagged).

The rules, scores and thresholds are in _quality_rules.py; the settings in SETTINGS below.

Cost: a few vectorised passes over the per-image columns, O(n) time and memory.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..charts import threshold_histogram
from ..model import Analyser, AuditInput, Chart, Finding, Montage, MontageItem, Section, TableBlock
from ..settings import Setting
from ._quality_rules import (
    BRIGHT_SHADOWS_MIN,
    COLOUR_SHARE_MIN,
    DARK_HIGHLIGHTS_MAX,
    GRAYSCALE_MAX,
    MIN_CONTRAST_FOR_BLUR,
    Flag,
    blurry,
    dark_bright,
    grayscale,
    low_information,
    odd_aspect,
    odd_size,
)

NAME = "quality"
FLAG_TEXT = {
    "dark": ("too dark", "warning"),
    "bright": ("too bright", "warning"),
    "blurry": ("blurry", "warning"),
    "low_information": ("low information (nearly uniform)", "warning"),
    "odd_size": ("an unusual size", "info"),
    "odd_aspect": ("an unusual aspect ratio", "info"),
    "grayscale": ("grayscale in a colour dataset", "warning"),
}


def _finding(flag: Flag, n: int) -> Finding:
    what, severity = FLAG_TEXT[flag.kind]
    count = len(flag.rows)
    return Finding(
        analyser=NAME, kind=flag.kind, severity=severity,
        message=f"{count:,} image{'s' if count != 1 else ''} ({count / n:.2%}) {'are' if count != 1 else 'is'} "
                f"{what}: {flag.rule}",
        rows=flag.rows.tolist(),
        detail={"score": flag.score_name, "scores": [round(float(s), 4) for s in flag.scores],
                "rule": flag.rule, "threshold": flag.thresholds, "threshold_from": flag.derivation},
    )


def _montage(flag: Flag, cap: int) -> Montage:
    what, _ = FLAG_TEXT[flag.kind]
    return Montage(
        title=f"Most extreme: {what}",
        items=[MontageItem(int(r), f"{flag.score_name} {s:.3g}") for r, s in zip(flag.rows[:cap], flag.scores[:cap],
                                                                                  strict=True)],
        caption=f"{flag.rule}; threshold: {flag.derivation}.",
        total=len(flag.rows),
    )


def _grayscale_by_class(data: AuditInput, ok_rows: np.ndarray, grey_rows: np.ndarray) -> TableBlock | None:
    labels = data.table.labels()
    if labels is None or len(grey_rows) == 0:
        return None
    totals = Counter(labels[r] for r in ok_rows)
    greys = Counter(labels[r] for r in grey_rows)
    ordered = sorted(totals, key=lambda c: (-greys.get(c, 0) / totals[c], c))
    return TableBlock(
        title="Grayscale images by class", columns=["class", "grayscale", "images", "share of class",
                                                    "share of all grayscale"],
        rows=[[c, greys.get(c, 0), totals[c], f"{greys.get(c, 0) / totals[c]:.1%}",
               f"{greys.get(c, 0) / len(grey_rows):.1%}"] for c in ordered[:50]],
        caption="Where the grayscale images concentrate" + (" (50 classes with the highest share shown)."
                                                            if len(ordered) > 50 else "."),
    )


def run(data: AuditInput) -> Section:
    features = data.features
    assert features is not None
    settings = data.settings
    section = Section(name=NAME, title="Image quality")
    ok_rows = np.flatnonzero(features.ok)
    n = len(ok_rows)
    frame = features.frame.iloc[ok_rows]
    column = {c: frame[c].to_numpy(dtype=np.float64) for c in
              ("brightness", "luma_p01", "luma_p99", "contrast", "sharpness", "entropy", "colourfulness", "width",
               "height")}
    flags = dark_bright(settings, ok_rows, column["brightness"], column["luma_p01"], column["luma_p99"])
    flags.append(blurry(settings, ok_rows, column["sharpness"], column["contrast"]))
    flags.append(low_information(settings, ok_rows, column["entropy"]))
    flags.append(odd_size(settings, ok_rows, column["width"], column["height"]))
    flags.append(odd_aspect(settings, ok_rows, column["width"], column["height"]))
    grey, grayscale_note = grayscale(settings, ok_rows, column["colourfulness"])
    if grey is not None:
        flags.append(grey)
    if grayscale_note:
        section.notes.append(grayscale_note)

    cap = data.config.montage_max
    for flag in flags:
        count = len(flag.rows)
        section.metrics[f"quality.{flag.kind}_count"] = count
        section.metrics[f"quality.{flag.kind}_rate"] = count / n
        if count:
            section.findings.append(_finding(flag, n))
            section.montages.append(_montage(flag, cap))
    if grey is None:
        section.metrics["quality.grayscale_count"] = 0
        section.metrics["quality.grayscale_rate"] = 0.0
    by_kind = {flag.kind: flag for flag in flags}
    flagged = sorted({int(r) for flag in flags for r in flag.rows})
    section.summary = (
        f"{n:,} decoded images; {len(flagged):,} ({len(flagged) / n:.2%}) carry at least one quality flag: "
        + ", ".join(f"{FLAG_TEXT[f.kind][0]} {len(f.rows):,}" for f in flags) + "."
    )
    section.tables.append(TableBlock(
        title="Thresholds", columns=["flag", "rule", "images", "how the threshold was chosen"],
        rows=[[FLAG_TEXT[f.kind][0], f.rule, len(f.rows), f.derivation] for f in flags],
    ))
    if grey is not None:
        table = _grayscale_by_class(data, ok_rows, grey.rows)
        if table is not None:
            section.tables.append(table)
    section.charts.extend(_charts(column, by_kind, data))
    return section


def _charts(column: dict[str, np.ndarray], by_kind: dict[str, Flag], data: AuditInput) -> list[Chart]:
    relative = data.settings.blurry_score != "laplacian"
    blur_values = (column["sharpness"] / np.maximum(column["contrast"], 1e-6) ** 2 if relative
                   else column["sharpness"])
    dashed = "Dashed lines: the thresholds."
    charts = [
        threshold_histogram("Brightness", column["brightness"], "mean luma (0-255)",
                         [by_kind["dark"].thresholds["max"], by_kind["bright"].thresholds["min"]],
                         caption=dashed + " Beyond them, a dark image must also have no bright parts and a bright "
                                          "one no dark parts (see the thresholds table)."),
        threshold_histogram("Sharpness", blur_values[column["contrast"] >= MIN_CONTRAST_FOR_BLUR],
                         "Laplacian variance / luma variance" if relative else "Laplacian variance",
                         [by_kind["blurry"].thresholds["max"]], log_x=True,
                         caption="Lower is blurrier. " + dashed),
        threshold_histogram("Entropy", column["entropy"], "luma entropy (bits)",
                         [by_kind["low_information"].thresholds["max"]], caption="Lower is plainer. " + dashed),
        threshold_histogram("Colourfulness", column["colourfulness"], "mean absolute channel difference (0-255)",
                         [by_kind["grayscale"].thresholds["max"]] if "grayscale" in by_kind else [],
                         caption="Near 0: grayscale. " + dashed),
    ]
    return charts


ANALYSER = Analyser(
    name=NAME,
    title="Image quality",
    run=run,
    settings=(
        Setting("z", None, "robust z cut-off for every dataset-derived threshold (default per flag: dark 3.0, "
                "others 3.5)", kind=float, minimum=0),
        Setting("dark_max", None, "brightness (mean luma 0-255) at or below which an image is dark, instead of the "
                "derived threshold", kind=float, minimum=0, maximum=255),
        Setting("bright_min", None, "brightness at or above which an image is too bright, instead of the derived "
                "threshold", kind=float, minimum=0, maximum=255),
        Setting("dark_highlights_max", DARK_HIGHLIGHTS_MAX, "a dark image's brightest 1% of pixels are at most this "
                "(255 turns the check off)", minimum=0, maximum=255),
        Setting("bright_shadows_min", BRIGHT_SHADOWS_MIN, "a too-bright image's darkest 1% of pixels are at least "
                "this (0 turns the check off)", minimum=0, maximum=255),
        Setting("blurry_max", None, "blur score at or below which an image is blurry (relative sharpness, or "
                "Laplacian variance with blurry_score = laplacian)", kind=float, minimum=0),
        Setting("blurry_score", "relative", "which blur score to use", choices=("relative", "laplacian")),
        Setting("low_information_max", None, "luma entropy (bits) at or below which an image carries little "
                "information", kind=float, minimum=0, maximum=8),
        Setting("min_side", None, "an image whose shorter side is below this (px) has an odd size (replaces the "
                "derived lower size limit)", kind=float, minimum=0),
        Setting("max_side", None, "an image whose longer side is above this (px) has an odd size (replaces the "
                "derived upper size limit)", kind=float, minimum=0),
        Setting("aspect_min", None, "aspect ratios (width/height) below this are odd (replaces the derived limit)",
                kind=float, minimum=0),
        Setting("aspect_max", None, "aspect ratios above this are odd (replaces the derived limit)", kind=float,
                minimum=0),
        Setting("grayscale_max", GRAYSCALE_MAX, "colourfulness (mean absolute channel difference, 0-255) at or below "
                "which an image counts as grayscale (JPEG chroma noise keeps real grayscale photos under ~2)",
                minimum=0),
        Setting("colour_share_min", COLOUR_SHARE_MIN, "flag grayscale images only when at least this share of images "
                "is colour", minimum=0, maximum=1),
    ),
    metrics={
        "quality.dark_count": "images darker than the dark threshold (robust, from the dataset, or quality.dark_max) "
                              "with no bright parts",
        "quality.dark_rate": "dark images / decoded images",
        "quality.bright_count": "images brighter than the bright threshold with no dark parts",
        "quality.bright_rate": "too-bright images / decoded images",
        "quality.blurry_count": "images whose relative sharpness (Laplacian / luma variance) is below the threshold",
        "quality.blurry_rate": "blurry images / decoded images",
        "quality.low_information_count": "nearly uniform images (luma entropy below the threshold)",
        "quality.low_information_rate": "low-information images / decoded images",
        "quality.odd_size_count": "images whose size is far from the dataset's usual size",
        "quality.odd_size_rate": "odd-size images / decoded images",
        "quality.odd_aspect_count": "images whose aspect ratio is far from the dataset's usual aspect ratio",
        "quality.odd_aspect_rate": "odd-aspect images / decoded images",
        "quality.grayscale_count": "grayscale images in a dataset that is mostly colour",
        "quality.grayscale_rate": "grayscale images / decoded images",
    },
)
