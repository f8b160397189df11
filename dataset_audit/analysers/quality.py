"""Image quality flags: too dark, too bright, blurry, low information, odd size, odd aspect ratio, grayscale.

Every flag compares one per-image score from the scan with a threshold. By default the threshold comes from the
dataset itself: median -/+ z x MAD (MAD scaled by 1.4826 to match a standard deviation) on a scale where the score
is roughly symmetric, so a dataset of night photos does not flag every image as dark. Each robust threshold is then
clamped by an absolute limit, and the MAD has a floor, so a clean homogeneous dataset (tiny MAD) flags nothing that
is not really dark, bright, blurry, ... The defaults were chosen by looking at what CIFAR-10 flags (the truly
extreme images: roughly 0.03-0.3% per flag, plus CIFAR's ~1.7% real grayscale pictures) and checked on MNIST (white
digits on black: nothing flagged).

Scores (what each flag ranks by; all from dataset_audit/scan/decode.py):
- dark / bright: brightness, mean luma 0-255, on a linear scale. A dark image must also be dark throughout: its
  brightest 1% of pixels (luma_p99) at most DARK_HIGHLIGHTS_MAX; a bright one must have its darkest 1% (luma_p01) at
  least BRIGHT_SHADOWS_MIN. A white digit on black (MNIST: mean luma ~13 for a thin '1') or a lit subject on a black
  background is a dark scene, not an underexposed picture; a dark object on white is not washed out.
- blurry: relative sharpness = Laplacian variance / luma variance, log10 scale. Raw Laplacian variance mostly
  ranks plain backgrounds (a small plane in a blue sky), not blur; dividing by the contrast leaves how much of the
  image's variation is fine detail. Images with almost no contrast are left to "low information".
  `blurry_score = "laplacian"` ranks by raw Laplacian variance instead.
- low_information: luma entropy in bits, ranked on the scale ln(8.1 - entropy) (distance from the 8-bit maximum).
- odd_size: log2 of the geometric mean side sqrt(width x height).
- odd_aspect: ln(width / height).
- grayscale: colourfulness (mean absolute difference between channels, 0-255); only when most images are colour.

Settings, `[tool.dataset-audit.quality]` (every key optional):
- z (float): robust z cut-off for every dataset-derived threshold; default per flag: dark 3.0, others 3.5.
- dark_max (float, 0-255): brightness at or below which an image is dark, instead of the derived threshold.
- bright_min (float, 0-255): brightness at or above which an image is too bright.
- dark_highlights_max (float, 0-255, default 128): a dark image's brightest 1% of pixels are at most this (255
  turns the check off); bright_shadows_min (default 128): a too-bright image's darkest 1% are at least this (0: off).
- blurry_max (float): blur score at or below which an image is blurry (relative sharpness, or Laplacian variance
  when blurry_score = "laplacian").
- blurry_score ("relative" | "laplacian"): which blur score to use, default "relative".
- low_information_max (float, bits): entropy at or below which an image carries little information.
- min_side / max_side (int, pixels): an image whose shorter side is below min_side, or whose longer side is above
  max_side, has an odd size (either replaces the derived size limits).
- aspect_min / aspect_max (float, width/height): aspect ratios outside this range are odd (either replaces the
  derived aspect limits).
- grayscale_max (float, default 2.0): colourfulness at or below which an image counts as grayscale (JPEG chroma
  noise keeps real grayscale pictures stored as RGB under ~2).
- colour_share_min (float, default 0.5): flag grayscale images only when at least this share of images is colour.

Cost: a few vectorised passes over the per-image columns, O(n) time and memory.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..charts import histogram_trace
from ..model import Analyser, AuditInput, Chart, Finding, Montage, MontageItem, Section, TableBlock
from ..robust import median_and_sigma

NAME = "quality"
DEFAULT_Z = {"dark": 3.0, "bright": 3.5, "blurry": 3.5, "low_information": 3.5, "odd_size": 3.5, "odd_aspect": 3.5}
# Floors for the MAD on each flag's scale: the least spread we assume, so near-identical images are not outliers.
MIN_SCALE = {"brightness": 10.0, "relative_sharpness": 0.1, "laplacian": 0.1, "entropy": 0.1, "size": 0.3,
             "aspect": 0.12}
# Absolute clamps: an image is never "dark" above DARK_CEILING, never "bright" below BRIGHT_FLOOR, ...
DARK_CEILING = 60.0
BRIGHT_FLOOR = 200.0
# ... and, when the dataset's spread is so wide that the derived threshold falls outside 0-255, an image darker
# than DARK_FLOOR (or brighter than BRIGHT_CEILING) is still flagged: it is nearly black (white) whatever the data.
DARK_FLOOR = 12.0
BRIGHT_CEILING = 240.0
DARK_HIGHLIGHTS_MAX = 128.0  # luma of the brightest 1% of a dark image's pixels: below mid-grey
BRIGHT_SHADOWS_MIN = 128.0  # luma of the darkest 1% of a too-bright image's pixels: above mid-grey
RELATIVE_SHARPNESS_CEILING = 0.25
LAPLACIAN_CEILING = 100.0
ENTROPY_CEILING = 5.0  # bits; a full-range photo has 7-8
MIN_CONTRAST_FOR_BLUR = 2.0  # luma std; below this an image is flat, and blur is not defined
GRAYSCALE_MAX = 2.0
COLOUR_SHARE_MIN = 0.5
ENTROPY_TOP = 8.1  # a little above the 8-bit maximum so the log scale stays finite

FLAG_TEXT = {
    "dark": ("too dark", "warning"),
    "bright": ("too bright", "warning"),
    "blurry": ("blurry", "warning"),
    "low_information": ("low information (nearly uniform)", "warning"),
    "odd_size": ("an unusual size", "info"),
    "odd_aspect": ("an unusual aspect ratio", "info"),
    "grayscale": ("grayscale in a colour dataset", "warning"),
}


@dataclass
class Flag:
    kind: str
    rows: np.ndarray  # table rows, most extreme first
    scores: np.ndarray  # the score of each row, same order
    score_name: str
    rule: str  # e.g. "brightness <= 36.1"
    derivation: str  # how the threshold was chosen
    thresholds: dict[str, float]


def _robust_centre_scale(values: np.ndarray, min_scale: float) -> tuple[float, float]:
    median, sigma = median_and_sigma(values)
    return median, max(sigma, min_scale)


def _z(data: AuditInput, kind: str) -> float:
    return float(data.config.option(NAME, "z", DEFAULT_Z[kind]))


def _option(data: AuditInput, key: str) -> float | None:
    value = data.config.option(NAME, key, None)
    return None if value is None else float(value)


def _flag_below(kind: str, rows: np.ndarray, scores: np.ndarray, transformed: np.ndarray, data: AuditInput,
                override_key: str, clamp: float, to_score, scale_key: str, score_name: str,
                eligible: np.ndarray | None = None, floor: float | None = None,
                also: tuple[np.ndarray, str] | None = None) -> Flag:
    """Flag rows whose score is at or below a threshold: config override, else median - z*MAD clamped.
    `eligible` limits both the rows that can be flagged and the statistics; `also` = (mask, rule text) is one more
    condition a flagged row must meet, with no say in the threshold."""
    override = _option(data, override_key)
    if override is not None:
        threshold = override
        derivation = f"set in config (quality.{override_key} = {override:g})"
    else:
        z = _z(data, kind)
        centre, scale = _robust_centre_scale(transformed if eligible is None else transformed[eligible],
                                             MIN_SCALE[scale_key])
        derived = to_score(centre - z * scale)
        threshold = min(derived, clamp)
        if floor is not None:
            threshold = max(threshold, floor)
        derivation = (f"median {to_score(centre):.4g} and {z:g} robust deviations below it = {derived:.4g} "
                      f"(from this dataset)" + (f", capped at {clamp:g}" if derived > clamp else "")
                      + (f", raised to {floor:g} (the data spread is too wide to derive one)"
                         if floor is not None and derived < floor else ""))
    hit = scores <= threshold
    if eligible is not None:
        hit &= eligible
    rule = f"{score_name} <= {threshold:.4g}"
    if also is not None:
        hit &= also[0]
        rule += f" and {also[1]}"
    order = np.argsort(scores[hit], kind="stable")
    return Flag(kind, rows[hit][order], scores[hit][order], score_name, rule, derivation, {"max": float(threshold)})


def _dark_bright(data: AuditInput, rows: np.ndarray, brightness: np.ndarray, luma_p01: np.ndarray,
                 luma_p99: np.ndarray) -> list[Flag]:
    highlights_max = float(data.config.option(NAME, "dark_highlights_max", DARK_HIGHLIGHTS_MAX))
    shadows_min = float(data.config.option(NAME, "bright_shadows_min", BRIGHT_SHADOWS_MIN))
    dark = _flag_below("dark", rows, brightness, brightness, data, "dark_max", DARK_CEILING, lambda v: v,
                       "brightness", "brightness", floor=DARK_FLOOR,
                       also=(luma_p99 <= highlights_max, f"brightest 1% <= {highlights_max:g}"))
    override = _option(data, "bright_min")
    if override is not None:
        threshold, derivation = override, f"set in config (quality.bright_min = {override:g})"
    else:
        z = _z(data, "bright")
        centre, scale = _robust_centre_scale(brightness, MIN_SCALE["brightness"])
        derived = centre + z * scale
        threshold = min(max(derived, BRIGHT_FLOOR), BRIGHT_CEILING)
        derivation = (f"median {centre:.4g} and {z:g} robust deviations above it = {derived:.4g} (from this dataset)"
                      + (f", raised to {BRIGHT_FLOOR:g}" if derived < BRIGHT_FLOOR else "")
                      + (f", lowered to {BRIGHT_CEILING:g} (the data spread is too wide to derive one)"
                         if derived > BRIGHT_CEILING else ""))
    hit = (brightness >= threshold) & (luma_p01 >= shadows_min)
    order = np.argsort(-brightness[hit], kind="stable")
    bright = Flag("bright", rows[hit][order], brightness[hit][order], "brightness",
                  f"brightness >= {threshold:.4g} and darkest 1% >= {shadows_min:g}", derivation,
                  {"min": float(threshold)})
    return [dark, bright]


def _blurry(data: AuditInput, rows: np.ndarray, sharpness: np.ndarray, contrast: np.ndarray) -> Flag:
    measure = str(data.config.option(NAME, "blurry_score", "relative"))
    eligible = contrast >= MIN_CONTRAST_FOR_BLUR
    if measure == "laplacian":
        scores = sharpness
        clamp, scale_key, score_name = LAPLACIAN_CEILING, "laplacian", "Laplacian variance"
    else:
        scores = sharpness / np.maximum(contrast, 1e-6) ** 2
        clamp, scale_key, score_name = RELATIVE_SHARPNESS_CEILING, "relative_sharpness", "relative sharpness"
    transformed = np.log10(np.maximum(scores, 1e-9))
    return _flag_below("blurry", rows, scores, transformed, data, "blurry_max", clamp, lambda v: 10.0 ** v,
                       scale_key, score_name, eligible=eligible)


def _low_information(data: AuditInput, rows: np.ndarray, entropy: np.ndarray) -> Flag:
    # Ranked on -ln(8.1 - entropy): the left tail of entropy is long, this scale makes it roughly symmetric.
    transformed = -np.log(np.maximum(ENTROPY_TOP - entropy, 1e-6))
    return _flag_below("low_information", rows, entropy, transformed, data, "low_information_max", ENTROPY_CEILING,
                       lambda v: ENTROPY_TOP - float(np.exp(-v)), "entropy", "entropy (bits)")


def _two_sided(kind: str, rows: np.ndarray, log_values: np.ndarray, data: AuditInput, scale_key: str,
               score_name: str, unit_from_log, overrides: dict[str, tuple[float | None, np.ndarray]]) -> Flag:
    """Flag values far from the median on either side (odd size, odd aspect).

    overrides: {"low"|"high": (configured limit or None, rows hit by that limit)}; a configured limit replaces the
    derived limit on its side.
    """
    z = _z(data, kind)
    centre, scale = _robust_centre_scale(log_values, MIN_SCALE[scale_key])
    low, high = centre - z * scale, centre + z * scale
    low_limit, low_hit = overrides["low"]
    high_limit, high_hit = overrides["high"]
    hit = (log_values < low if low_limit is None else low_hit) | (log_values > high if high_limit is None else high_hit)
    deviation = np.abs(log_values - centre) / scale
    order = np.argsort(-deviation[hit], kind="stable")
    derivation = (f"median {unit_from_log(centre):.4g}, limits {unit_from_log(low):.4g} to {unit_from_log(high):.4g} "
                  f"({z:g} robust deviations, from this dataset)")
    rule = f"{score_name} outside {unit_from_log(low):.4g}-{unit_from_log(high):.4g}"
    configured = [f"{side} limit {limit:g} set in config" for side, (limit, _) in overrides.items() if limit is not None]
    if configured:
        derivation += "; " + ", ".join(configured) + " (replaces that side)"
        rule = f"{score_name} outside the limits (see how chosen)"
    return Flag(kind, rows[hit][order], deviation[hit][order], f"robust deviations of {score_name}", rule,
                derivation, {"low": float(unit_from_log(low)), "high": float(unit_from_log(high))})


def _odd_size(data: AuditInput, rows: np.ndarray, width: np.ndarray, height: np.ndarray) -> Flag:
    side = np.log2(np.sqrt(np.maximum(width, 1) * np.maximum(height, 1)))
    min_side, max_side = _option(data, "min_side"), _option(data, "max_side")
    return _two_sided("odd_size", rows, side, data, "size", "geometric mean side (px)", lambda v: 2.0 ** v, {
        "low": (min_side, np.minimum(width, height) < (min_side or 0)),
        "high": (max_side, np.maximum(width, height) > (max_side or np.inf)),
    })


def _odd_aspect(data: AuditInput, rows: np.ndarray, width: np.ndarray, height: np.ndarray) -> Flag:
    aspect = np.log(np.maximum(width, 1) / np.maximum(height, 1))
    aspect_min, aspect_max = _option(data, "aspect_min"), _option(data, "aspect_max")
    return _two_sided("odd_aspect", rows, aspect, data, "aspect", "aspect ratio (w/h)", np.exp, {
        "low": (aspect_min, aspect < np.log(aspect_min or 1e-9)),
        "high": (aspect_max, aspect > np.log(aspect_max or 1e9)),
    })


def _grayscale(data: AuditInput, rows: np.ndarray, colourfulness: np.ndarray) -> tuple[Flag | None, str]:
    limit = float(data.config.option(NAME, "grayscale_max", GRAYSCALE_MAX))
    share_min = float(data.config.option(NAME, "colour_share_min", COLOUR_SHARE_MIN))
    grey = colourfulness <= limit
    colour_share = 1.0 - float(grey.mean()) if grey.size else 0.0
    if colour_share < share_min:
        return None, (f"Grayscale check not applied: only {colour_share:.1%} of images are colour (colourfulness > "
                      f"{limit:g}); it flags grayscale images only when at least {share_min:.0%} are colour.")
    order = np.argsort(colourfulness[grey], kind="stable")
    flag = Flag("grayscale", rows[grey][order], colourfulness[grey][order], "colourfulness",
                f"colourfulness <= {limit:g}",
                f"absolute limit (quality.grayscale_max = {limit:g}); {colour_share:.1%} of images are colour",
                {"max": limit})
    return flag, ""


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


def _threshold_chart(title: str, values: np.ndarray, axis: str, lines: list[float], log_x: bool = False,
                     caption: str = "") -> Chart:
    trace = histogram_trace(values, bins=50, log_x=log_x)
    shapes = [{"type": "line", "x0": v, "x1": v, "y0": 0, "y1": 1, "yref": "paper",
               "line": {"color": "#d62728", "dash": "dash", "width": 1.5}}
              for v in lines if np.isfinite(v) and (v > 0 or not log_x)]
    return Chart(title=title, traces=[trace], caption=caption,
                 layout={"xaxis": {"title": {"text": axis}, "type": "log" if log_x else "linear"},
                         "yaxis": {"title": {"text": "images"}}, "bargap": 0.02, "shapes": shapes})


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
    section = Section(name=NAME, title="Image quality")
    ok_rows = np.flatnonzero(features.ok)
    n = len(ok_rows)
    if n == 0:
        section.skipped = "no image could be decoded"
        return section
    frame = features.frame.iloc[ok_rows]
    column = {c: frame[c].to_numpy(dtype=np.float64) for c in
              ("brightness", "luma_p01", "luma_p99", "contrast", "sharpness", "entropy", "colourfulness", "width",
               "height")}
    flags = _dark_bright(data, ok_rows, column["brightness"], column["luma_p01"], column["luma_p99"])
    flags.append(_blurry(data, ok_rows, column["sharpness"], column["contrast"]))
    flags.append(_low_information(data, ok_rows, column["entropy"]))
    flags.append(_odd_size(data, ok_rows, column["width"], column["height"]))
    flags.append(_odd_aspect(data, ok_rows, column["width"], column["height"]))
    grayscale, grayscale_note = _grayscale(data, ok_rows, column["colourfulness"])
    if grayscale is not None:
        flags.append(grayscale)
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
    if grayscale is None:
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
    if grayscale is not None:
        table = _grayscale_by_class(data, ok_rows, grayscale.rows)
        if table is not None:
            section.tables.append(table)
    section.charts.extend(_charts(column, by_kind, data))
    return section


def _charts(column: dict[str, np.ndarray], by_kind: dict[str, Flag], data: AuditInput) -> list[Chart]:
    relative = str(data.config.option(NAME, "blurry_score", "relative")) != "laplacian"
    blur_values = (column["sharpness"] / np.maximum(column["contrast"], 1e-6) ** 2 if relative
                   else column["sharpness"])
    dashed = "Dashed lines: the thresholds."
    charts = [
        _threshold_chart("Brightness", column["brightness"], "mean luma (0-255)",
                         [by_kind["dark"].thresholds["max"], by_kind["bright"].thresholds["min"]],
                         caption=dashed + " Beyond them, a dark image must also have no bright parts and a bright "
                                          "one no dark parts (see the thresholds table)."),
        _threshold_chart("Sharpness", blur_values[column["contrast"] >= MIN_CONTRAST_FOR_BLUR],
                         "Laplacian variance / luma variance" if relative else "Laplacian variance",
                         [by_kind["blurry"].thresholds["max"]], log_x=True,
                         caption="Lower is blurrier. " + dashed),
        _threshold_chart("Entropy", column["entropy"], "luma entropy (bits)",
                         [by_kind["low_information"].thresholds["max"]], caption="Lower is plainer. " + dashed),
        _threshold_chart("Colourfulness", column["colourfulness"], "mean absolute channel difference (0-255)",
                         [by_kind["grayscale"].thresholds["max"]] if "grayscale" in by_kind else [],
                         caption="Near 0: grayscale. " + dashed),
    ]
    return charts


ANALYSER = Analyser(
    name=NAME,
    title="Image quality",
    run=run,
    settings=("z", "dark_max", "bright_min", "dark_highlights_max", "bright_shadows_min", "blurry_max", "blurry_score",
              "low_information_max", "min_side", "max_side", "aspect_min", "aspect_max", "grayscale_max",
              "colour_share_min"),
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
