"""Quality flag rules: how each flag's threshold is derived from the dataset (or set), and which images it flags.

Scores (what each flag ranks by; all from dataset_audit/scan/decode.py):
- dark / bright: brightness, mean luma 0-255, on a linear scale. A dark image must also be dark throughout: its
  brightest 1% of pixels (luma_p99) at most DARK_HIGHLIGHTS_MAX; a bright one must have its darkest 1% (luma_p01) at
  least BRIGHT_SHADOWS_MIN, or, when nearly white throughout (brightness >= BRIGHT_CEILING), its darkest 5%
  (luma_p05). A white digit on black (a thin MNIST '1' is almost all black) or a lit subject on a black
  background is a dark scene, not an underexposed picture; a dark object on white is not washed out. Overexposure is
  about how much of the picture is washed out, not whether any dark pixel is left: a washed-out photo that keeps a
  thin dark line or edge (a few % of its pixels) is still too bright, whereas a dark subject or a digit on white
  mostly covers more than 5% (checked on inverted MNIST digits: only the thinnest pass the 5% condition). On
  CIFAR-10 the 5% condition alone, at the derived threshold, flagged many pale or small subjects on white (product
  shots), so it applies only above BRIGHT_CEILING, where it adds only nearly white pictures (bench/DETECTION.md).
- blurry: relative sharpness = Laplacian variance / luma variance, log10 scale. Raw Laplacian variance mostly
  ranks plain backgrounds (a small plane in a blue sky), not blur; dividing by the contrast leaves how much of the
  image's variation is fine detail. Images with almost no contrast are left to "low information".
  `blurry_score = "laplacian"` ranks by raw Laplacian variance instead.
- low_information: luma entropy in bits, ranked on the scale ln(8.1 - entropy) (distance from the 8-bit maximum).
- odd_size: log2 of the geometric mean side sqrt(width x height).
- odd_aspect: ln(width / height).
- grayscale: colourfulness (mean absolute difference between channels, 0-255); only when most images are colour.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..robust import median_and_sigma
from ..settings import SettingValues

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
BRIGHT_SHADOWS_MIN = 128.0  # luma of the darkest 1% (5% when nearly white) of a too-bright image: above mid-grey
RELATIVE_SHARPNESS_CEILING = 0.25
LAPLACIAN_CEILING = 100.0
ENTROPY_CEILING = 5.0  # bits; a full-range photo has 7-8
MIN_CONTRAST_FOR_BLUR = 2.0  # luma std; below this an image is flat, and blur is not defined
GRAYSCALE_MAX = 2.0
COLOUR_SHARE_MIN = 0.5
ENTROPY_TOP = 8.1  # a little above the 8-bit maximum so the log scale stays finite


@dataclass
class Flag:
    """One quality flag's result: the rows it flags (most extreme first), and how its threshold was chosen."""

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


def _z(settings: SettingValues, kind: str) -> float:
    return DEFAULT_Z[kind] if settings.z is None else settings.z


def _flag_below(kind: str, rows: np.ndarray, scores: np.ndarray, transformed: np.ndarray, settings: SettingValues,
                override_key: str, clamp: float, to_score, scale_key: str, score_name: str,
                eligible: np.ndarray | None = None, floor: float | None = None,
                also: tuple[np.ndarray, str] | None = None) -> Flag:
    """Flag rows whose score is at or below a threshold: config override, else median - z*MAD clamped.
    `eligible` limits both the rows that can be flagged and the statistics; `also` = (mask, rule text) is one more
    condition a flagged row must meet, with no say in the threshold."""
    override = settings[override_key]
    if override is not None:
        threshold = override
        derivation = f"set in config (quality.{override_key} = {override:g})"
    else:
        z = _z(settings, kind)
        centre, scale = _robust_centre_scale(transformed if eligible is None else transformed[eligible],
                                             MIN_SCALE[scale_key])
        derived = to_score(centre - z * scale)
        threshold = min(derived, clamp)
        if floor is not None:
            threshold = max(threshold, floor)
        derivation = (f"from this dataset: far below its typical {score_name} (median {to_score(centre):.4g} minus "
                      f"{z:g} robust deviations = {derived:.4g})"
                      + (f"; capped at {clamp:g}, so no image above that counts" if derived > clamp else "")
                      + (f"; the data are too spread out for a useful limit, so the fixed floor {floor:g} applies"
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


def dark_bright(settings: SettingValues, rows: np.ndarray, brightness: np.ndarray, luma_p01: np.ndarray,
                luma_p05: np.ndarray, luma_p99: np.ndarray) -> list[Flag]:
    highlights_max = settings.dark_highlights_max
    shadows_min = settings.bright_shadows_min
    dark = _flag_below("dark", rows, brightness, brightness, settings, "dark_max", DARK_CEILING, lambda v: v,
                       "brightness", "brightness", floor=DARK_FLOOR,
                       also=(luma_p99 <= highlights_max, f"brightest 1% <= {highlights_max:g}"))
    override = settings["bright_min"]
    if override is not None:
        threshold, derivation = override, f"set in config (quality.bright_min = {override:g})"
    else:
        z = _z(settings, "bright")
        centre, scale = _robust_centre_scale(brightness, MIN_SCALE["brightness"])
        derived = centre + z * scale
        threshold = min(max(derived, BRIGHT_FLOOR), BRIGHT_CEILING)
        derivation = (f"from this dataset: far above its typical brightness (median {centre:.4g} plus {z:g} robust "
                      f"deviations = {derived:.4g})"
                      + (f"; raised to {BRIGHT_FLOOR:g}, so no image below that counts" if derived < BRIGHT_FLOOR else "")
                      + (f"; the data are too spread out for a useful limit, so the fixed ceiling {BRIGHT_CEILING:g} "
                         "applies" if derived > BRIGHT_CEILING else ""))
    # Two ways to be washed out: bright with no shadows at all (the darkest 1%), or nearly white throughout (at or
    # above BRIGHT_CEILING) with at most a thin line or edge left dark (the darkest 5%). A small dark subject on a
    # white background, at a mean below BRIGHT_CEILING, is a product shot, not an overexposed one.
    washed_out_threshold = max(threshold, BRIGHT_CEILING)
    hit = ((brightness >= threshold) & (luma_p01 >= shadows_min)) | (
        (brightness >= washed_out_threshold) & (luma_p05 >= shadows_min))
    order = np.argsort(-brightness[hit], kind="stable")
    bright = Flag("bright", rows[hit][order], brightness[hit][order], "brightness",
                  f"brightness >= {threshold:.4g} and darkest 1% >= {shadows_min:g}, or brightness >= "
                  f"{washed_out_threshold:.4g} and darkest 5% >= {shadows_min:g}", derivation,
                  {"min": float(threshold)})
    return [dark, bright]


def blurry(settings: SettingValues, rows: np.ndarray, sharpness: np.ndarray, contrast: np.ndarray) -> Flag:
    measure = settings.blurry_score
    eligible = contrast >= MIN_CONTRAST_FOR_BLUR
    if measure == "laplacian":
        scores = sharpness
        clamp, scale_key, score_name = LAPLACIAN_CEILING, "laplacian", "Laplacian variance"
    else:
        scores = sharpness / np.maximum(contrast, 1e-6) ** 2
        clamp, scale_key, score_name = RELATIVE_SHARPNESS_CEILING, "relative_sharpness", "relative sharpness"
    transformed = np.log10(np.maximum(scores, 1e-9))
    return _flag_below("blurry", rows, scores, transformed, settings, "blurry_max", clamp, lambda v: 10.0 ** v,
                       scale_key, score_name, eligible=eligible)


def low_information(settings: SettingValues, rows: np.ndarray, entropy: np.ndarray) -> Flag:
    # Ranked on -ln(8.1 - entropy): the left tail of entropy is long, this scale makes it roughly symmetric.
    transformed = -np.log(np.maximum(ENTROPY_TOP - entropy, 1e-6))
    return _flag_below("low_information", rows, entropy, transformed, settings, "low_information_max", ENTROPY_CEILING,
                       lambda v: ENTROPY_TOP - float(np.exp(-v)), "entropy", "entropy (bits)")


def _two_sided(kind: str, rows: np.ndarray, log_values: np.ndarray, settings: SettingValues, scale_key: str,
               score_name: str, unit_from_log, overrides: dict[str, tuple[float | None, np.ndarray]]) -> Flag:
    """Flag values far from the median on either side (odd size, odd aspect).

    overrides: {"low"|"high": (configured limit or None, rows hit by that limit)}; a configured limit replaces the
    derived limit on its side.
    """
    z = _z(settings, kind)
    centre, scale = _robust_centre_scale(log_values, MIN_SCALE[scale_key])
    low, high = centre - z * scale, centre + z * scale
    low_limit, low_hit = overrides["low"]
    high_limit, high_hit = overrides["high"]
    hit = (log_values < low if low_limit is None else low_hit) | (log_values > high if high_limit is None else high_hit)
    deviation = np.abs(log_values - centre) / scale
    order = np.argsort(-deviation[hit], kind="stable")
    derivation = (f"from this dataset: far from its typical {score_name} (median {unit_from_log(centre):.4g}; "
                  f"{z:g} robust deviations either side = {unit_from_log(low):.4g} to {unit_from_log(high):.4g})")
    rule = f"{score_name} outside {unit_from_log(low):.4g}-{unit_from_log(high):.4g}"
    configured = [f"{side} limit {limit:g} set in config" for side, (limit, _) in overrides.items() if limit is not None]
    if configured:
        derivation += "; " + ", ".join(configured) + " (replaces that side)"
        rule = f"{score_name} outside the limits (see how chosen)"
    return Flag(kind, rows[hit][order], deviation[hit][order], f"robust deviations of {score_name}", rule,
                derivation, {"low": float(unit_from_log(low)), "high": float(unit_from_log(high))})


def odd_size(settings: SettingValues, rows: np.ndarray, width: np.ndarray, height: np.ndarray) -> Flag:
    side = np.log2(np.sqrt(np.maximum(width, 1) * np.maximum(height, 1)))
    min_side, max_side = settings["min_side"], settings["max_side"]
    return _two_sided("odd_size", rows, side, settings, "size", "geometric mean side (px)", lambda v: 2.0 ** v, {
        "low": (min_side, np.minimum(width, height) < (min_side or 0)),
        "high": (max_side, np.maximum(width, height) > (max_side or np.inf)),
    })


def odd_aspect(settings: SettingValues, rows: np.ndarray, width: np.ndarray, height: np.ndarray) -> Flag:
    aspect = np.log(np.maximum(width, 1) / np.maximum(height, 1))
    aspect_min, aspect_max = settings["aspect_min"], settings["aspect_max"]
    return _two_sided("odd_aspect", rows, aspect, settings, "aspect", "aspect ratio (w/h)", np.exp, {
        "low": (aspect_min, aspect < np.log(aspect_min or 1e-9)),
        "high": (aspect_max, aspect > np.log(aspect_max or 1e9)),
    })


def grayscale(settings: SettingValues, rows: np.ndarray, colourfulness: np.ndarray) -> tuple[Flag | None, str]:
    limit = settings.grayscale_max
    share_min = settings.colour_share_min
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

