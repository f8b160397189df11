"""Spurious correlations: does one image property (grayscale, brightness, size, format, ...) predict the label?

Example: photos labelled "old" because they happen to be grayscale; a model learns the shortcut, not the content.
For each property of _image_properties (grayscale, colourfulness, brightness, contrast, sharpness, entropy, width,
height, aspect, file size, format, mode) the label is predicted from that property alone, out of fold: numbers are
cut into quantile bins (edges from the values, never the labels), categories keep their most common values, and
each fold's class shares per bin (smoothed towards the class prior) score the held-out rows. Per class, the
one-vs-rest AUC of those scores says how well the property singles the class out (0.5 = no better than the class
prior, 1 = the property alone identifies it); the property's score is its best class's AUC. The chance-adjusted
balanced accuracy of the argmax is shown beside it (0 = prior, 1 = perfect).

Properties of how an image was captured or stored (grayscale, mode, format, width, height, aspect) are warnings
when flagged; statistics of its pixels (brightness, contrast, sharpness, entropy, colourfulness) and the file size
are info, because they may be the content itself (stripes are sharp, snow is bright, MNIST's '1's make the smallest
PNGs: file size singles them out with AUC 0.96).

Cost: one bincount per property over (fold, bin, class), so O(n) time and O(folds x bins x classes) memory; the AUC
is exact and computed on the (fold, bin) cells, not the rows.

Settings: SETTINGS below. A yes/no property scores 0.5 + (share of the class with it - share of the others with
it) / 2, so the default score_threshold 0.8 is e.g. 60% of a class grayscale against none of the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..model import Analyser, AuditInput, Chart, Finding, Montage, MontageItem, Section, TableBlock
from ..settings import Setting
from ._class_limit import decoded_classes
from ._image_properties import ImageProperty, category_codes, image_properties, quantile_bins

NAME = "bias"
SETTINGS = (
    Setting("score_threshold", 0.8, "a property whose best one-vs-rest AUC reaches this is flagged", minimum=0.5,
            maximum=1),
    Setting("bins", 20, "quantile bins per numeric property", minimum=2),
    Setting("folds", 5, "cross-validation folds (seeded with --seed)", minimum=2),
    Setting("min_class_rows", 20, "classes smaller than this are scored but never flagged (their AUC is noisy)",
            minimum=1),
    Setting("max_classes", 1000, "above this many classes the analyser skips (the per-class tables grow with it)",
            minimum=2),
)
MAX_CATEGORIES = 30  # categorical properties keep this many values; the rest are "(other)"
PRIOR_WEIGHT = 2.0  # pseudo-rows of the class prior added to every bin (an empty bin predicts the prior)
OVER_REPRESENTED = 2.0  # images "carrying" a correlation: class share in their bin >= this x the class's share
CHART_CLASSES = 30



@dataclass
class PropertyScore:
    """How well one property alone predicts the label, out of fold."""

    prop: ImageProperty
    codes: np.ndarray  # bin or category code per row
    bin_names: list[str] | None  # category names (categorical properties only)
    auc: np.ndarray  # one-vs-rest AUC per class (nan for classes that cannot be scored)
    balanced_accuracy: float
    adjusted_accuracy: float  # chance-adjusted: 0 = prior, 1 = perfect

    def best_class(self, eligible: np.ndarray) -> int:
        scores = np.where(eligible & np.isfinite(self.auc), self.auc, -1.0)
        return int(np.argmax(scores))


def stratified_folds(y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold index per row: each class's rows shuffled (seeded) and dealt round-robin, so folds are stratified."""
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(y)), y))
    rank_in_class = np.empty(len(y), dtype=np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(y[order])) + 1]
    lengths = np.diff(np.r_[starts, len(y)])
    rank_in_class[order] = np.arange(len(y)) - np.repeat(starts, lengths)
    return rank_in_class % folds


def out_of_fold_cells(codes: np.ndarray, y: np.ndarray, fold: np.ndarray, classes: int,
                      folds: int) -> tuple[np.ndarray, np.ndarray]:
    """(counts, probabilities), both (folds, bins, classes): rows per cell and class, and the class probabilities
    that the other folds' rows of the same bin give the held-out rows of that cell."""
    bins = int(codes.max()) + 1
    flat = (fold * bins + codes) * classes + y
    counts = np.bincount(flat, minlength=folds * bins * classes).reshape(folds, bins, classes).astype(np.float64)
    train = counts.sum(axis=0, keepdims=True) - counts
    prior = train.sum(axis=1, keepdims=True)
    prior = prior / np.maximum(prior.sum(axis=2, keepdims=True), 1.0)
    probabilities = (train + PRIOR_WEIGHT * prior) / (train.sum(axis=2, keepdims=True) + PRIOR_WEIGHT)
    return counts, probabilities


def cell_auc(scores: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> float:
    """Exact AUC of rows grouped in cells that share a score (ties count one half)."""
    total_pos, total_neg = positives.sum(), negatives.sum()
    if total_pos == 0 or total_neg == 0:
        return float("nan")
    unique, inverse = np.unique(np.round(scores, 12), return_inverse=True)
    pos = np.bincount(inverse, weights=positives, minlength=len(unique))
    neg = np.bincount(inverse, weights=negatives, minlength=len(unique))
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / (total_pos * total_neg))


def score_property(prop: ImageProperty, y: np.ndarray, fold: np.ndarray, classes: int, folds: int,
                   bins: int) -> PropertyScore | None:
    if prop.categorical:
        codes, names = category_codes(prop.values, MAX_CATEGORIES)
    else:
        codes, names = quantile_bins(prop.values, bins), None
    if len(np.unique(codes)) < 2:
        return None  # a constant property predicts nothing
    counts, probabilities = out_of_fold_cells(codes, y, fold, classes, folds)
    cells = counts.reshape(-1, classes)
    scores = probabilities.reshape(-1, classes)
    per_cell = cells.sum(axis=1)
    auc = np.array([cell_auc(scores[:, c], cells[:, c], per_cell - cells[:, c]) for c in range(classes)])
    predicted = scores.argmax(axis=1)
    class_sizes = cells.sum(axis=0)
    hits = np.bincount(predicted, weights=cells[np.arange(len(cells)), predicted], minlength=classes)
    recall = hits / np.maximum(class_sizes, 1.0)
    balanced = float(recall[class_sizes > 0].mean())
    chance = 1.0 / max(int((class_sizes > 0).sum()), 1)
    adjusted = max(0.0, (balanced - chance) / (1.0 - chance)) if chance < 1 else 0.0
    return PropertyScore(prop=prop, codes=codes, bin_names=names, auc=auc, balanced_accuracy=balanced,
                         adjusted_accuracy=adjusted)


def run(data: AuditInput) -> Section:
    section = Section(name=NAME, title="Bias and spurious correlations")
    groups, too_many = decoded_classes(data, data.settings.max_classes, NAME, " (raise it to score them)")
    if too_many:
        section.skipped = too_many
        return section
    class_names = [name for name, _ in groups]
    rows = np.concatenate([members for _, members in groups])
    y = np.concatenate([np.full(len(members), index, dtype=np.int64) for index, (_, members) in enumerate(groups)])
    order = np.argsort(rows, kind="stable")
    rows, y = rows[order], y[order]
    classes = len(class_names)
    folds = data.settings.folds
    fold = stratified_folds(y, folds, data.config.seed)
    class_sizes = np.bincount(y, minlength=classes)
    eligible = class_sizes >= data.settings.min_class_rows
    threshold = data.settings.score_threshold

    results = [score for prop in image_properties(data, rows)
               if (score := score_property(prop, y, fold, classes, folds, data.settings.bins)) is not None]
    ranked = sorted(results, key=lambda s: -_best_auc(s, eligible))
    max_score = _best_auc(ranked[0], eligible) if ranked else 0.5
    flagged = [s for s in ranked if _best_auc(s, eligible) >= threshold]
    capture_scores = [_best_auc(s, eligible) for s in ranked if s.prop.acquisition]
    section.metrics = {"bias.max_property_score": max_score,
                       "bias.max_capture_score": max(capture_scores, default=0.5)}
    section.tables.append(_score_table(ranked, class_names, eligible, threshold, folds, len(rows)))
    leads = _flag_by_class(flagged, eligible)
    for lead, others in leads:
        section.findings.append(_finding(lead, others, rows, y, class_names, eligible, folds))
    if ranked:
        shown = leads[0][0] if leads else ranked[0]
        target = shown.best_class(eligible)
        section.charts.append(_distribution_chart(shown, y, class_names, target))
        if leads:
            carriers = section.findings[0].rows
            section.montages.append(Montage(
                title=f"Images carrying the correlation: '{class_names[target]}' with {shown.prop.name} typical of "
                      "that class",
                items=[MontageItem(row=int(r), caption=_value_text(shown, int(np.searchsorted(rows, r))))
                       for r in carriers[:data.config.montage_max]],
                total=len(carriers)))
    if not eligible.all():
        section.notes.append(f"{int((~eligible).sum())} class(es) with fewer than "
                             f"{data.settings.min_class_rows} images are scored but never flagged.")
    if ranked:
        worst = ranked[0]
        best_class = class_names[worst.best_class(eligible)]
        section.summary = (
            f"Best single-property score: {worst.prop.name} singles out '{best_class}' with one-vs-rest AUC "
            f"{max_score:.2f} (0.5 = no better than the class prior, 1 = perfect), {folds}-fold cross-validation "
            f"on {len(rows):,} labelled images; {len(flagged)} propert{'y' if len(flagged) == 1 else 'ies'} at or "
            f"above {threshold:g}.")
    else:
        section.summary = "Every image property is constant: none can predict the label."
    return section


def _flag_by_class(flagged: list[PropertyScore],
                   eligible: np.ndarray) -> list[tuple[PropertyScore, list[PropertyScore]]]:
    """One (lead, others) per class that flagged properties single out. The lead is the best capture or storage
    property when there is one (the likelier shortcut), else the best pixel statistic; capture-led classes first."""
    by_class: dict[int, list[PropertyScore]] = {}
    for score in flagged:  # best first
        by_class.setdefault(score.best_class(eligible), []).append(score)
    leads = []
    for scores in by_class.values():
        lead = next((s for s in scores if s.prop.acquisition), scores[0])
        leads.append((lead, [s for s in scores if s is not lead]))
    return sorted(leads, key=lambda pair: (not pair[0].prop.acquisition, -_best_auc(pair[0], eligible)))


def _best_auc(score: PropertyScore, eligible: np.ndarray) -> float:
    values = score.auc[eligible & np.isfinite(score.auc)]
    return float(values.max()) if values.size else 0.5


def _score_table(ranked: list[PropertyScore], class_names: list[str], eligible: np.ndarray, threshold: float,
                 folds: int, n: int) -> TableBlock:
    return TableBlock(
        title="How well each image property predicts the label alone",
        columns=["property", "class it singles out best", "one-vs-rest AUC", "balanced accuracy (0 prior, 1 perfect)",
                 "flagged"],
        rows=[[s.prop.name, class_names[s.best_class(eligible)], round(_best_auc(s, eligible), 3),
               round(s.adjusted_accuracy, 3), "yes" if _best_auc(s, eligible) >= threshold else ""] for s in ranked],
        caption=(f"{folds}-fold cross-validation on {n:,} decoded, labelled images; AUC 0.5 = no better than the "
                 f"class prior; flagged at AUC >= {threshold:g}. Constant properties are left out."),
    )


def _carriers(score: PropertyScore, y: np.ndarray, target: int) -> np.ndarray:
    """Positions (into rows) of the target class's images whose bin holds the class at >= 2x its overall share."""
    bins = int(score.codes.max()) + 1
    in_bin = np.bincount(score.codes, minlength=bins).astype(np.float64)
    of_class = np.bincount(score.codes[y == target], minlength=bins).astype(np.float64)
    share = (y == target).mean()
    strong = of_class / np.maximum(in_bin, 1.0) >= OVER_REPRESENTED * share
    return np.flatnonzero((y == target) & strong[score.codes])


def _value_text(score: PropertyScore, index: int) -> str:
    value = score.prop.values[index]
    if score.prop.categorical:
        return f"{score.prop.name}: {value}"
    return f"{score.prop.name}: {value:.3g}"


def _finding(score: PropertyScore, others: list[PropertyScore], rows: np.ndarray, y: np.ndarray,
             class_names: list[str], eligible: np.ndarray, folds: int) -> Finding:
    target = score.best_class(eligible)
    name = class_names[target]
    auc = float(score.auc[target])
    carriers = _carriers(score, y, target)
    in_class = y == target
    if score.prop.categorical:
        values, counts = np.unique(score.prop.values[in_class].astype(str), return_counts=True)
        typical = str(values[np.argmax(counts)])
        share_in = float((score.prop.values[in_class] == typical).mean())
        share_out = float((score.prop.values[~in_class] == typical).mean())
        contrast = f"{share_in:.0%} of '{name}' images are {typical!r} against {share_out:.1%} of the other classes"
        detail_extra = {"value": typical, "share_in_class": share_in, "share_in_other_classes": share_out}
    else:
        inside = np.nanmedian(score.prop.values[in_class])
        outside = np.nanmedian(score.prop.values[~in_class])
        contrast = f"median {score.prop.name} {inside:.3g} in '{name}' against {outside:.3g} in the other classes"
        detail_extra = {"median_in_class": float(inside), "median_in_other_classes": float(outside)}
    if score.prop.acquisition:
        advice = (f"A model can learn the {score.prop.name} instead of the content; {len(carriers):,} '{name}' images "
                  "carry it")
    else:
        advice = (f"This may be the content itself, or how the class was collected (one camera, "
                  f"one place, one processing step); look at the {len(carriers):,} '{name}' images that carry it")
    also = ""
    if others:
        also = (" It is also singled out by " + ", ".join(f"{o.prop.name} (AUC {o.auc[target]:.2f})" for o in others)
                + ".")
    message = (f"{score.prop.name} alone singles out class '{name}': one-vs-rest AUC {auc:.2f} ({folds}-fold CV; "
               f"0.5 = the class prior); {contrast}. {advice}.{also}")
    severity = "warning" if score.prop.acquisition else "info"
    return Finding(analyser=NAME, kind="spurious_correlation", severity=severity, message=message,
                   rows=rows[carriers].tolist(),
                   detail={"property": score.prop.name, "class": name, "auc": auc,
                           "balanced_accuracy_adjusted": score.adjusted_accuracy,
                           "acquisition": score.prop.acquisition,
                           "also": {o.prop.name: float(o.auc[target]) for o in others}, **detail_extra})


def _chart_classes(y: np.ndarray, class_names: list[str], target: int) -> list[int]:
    sizes = np.bincount(y, minlength=len(class_names))
    others = [int(c) for c in np.argsort(-sizes, kind="stable") if c != target]
    return [target, *others[:CHART_CLASSES - 1]]


def _distribution_chart(score: PropertyScore, y: np.ndarray, class_names: list[str], target: int) -> Chart:
    shown = _chart_classes(y, class_names, target)
    names = [class_names[c] for c in shown]
    caption = (f"{score.prop.axis} per class; '{class_names[target]}' (first) is the class it singles out best"
               + (f"; the {CHART_CLASSES - 1} largest other classes shown" if len(class_names) > CHART_CLASSES else "")
               + ".")
    height = 120 + 24 * len(shown)
    if score.prop.categorical:
        values = score.prop.values.astype(str)
        categories, counts = np.unique(values, return_counts=True)
        categories = categories[np.argsort(-counts, kind="stable")][:8]
        traces = []
        for category in categories:
            shares = [float((values[y == c] == category).mean()) for c in shown]
            traces.append({"type": "bar", "orientation": "h", "name": str(category), "y": names,
                           "x": [round(s, 4) for s in shares],
                           "hovertemplate": "%{y}: %{x:.1%}<extra>" + str(category) + "</extra>"})
        layout = {"barmode": "stack", "xaxis": {"title": {"text": "share of the class"}, "tickformat": ".0%"},
                  "yaxis": {"type": "category", "autorange": "reversed"}, "height": height}
        return Chart(title=f"{score.prop.name} by class", traces=traces, layout=layout, caption=caption)
    stats = {key: [] for key in ("lowerfence", "q1", "median", "q3", "upperfence")}
    for c in shown:
        values = score.prop.values[y == c]
        values = values[np.isfinite(values)]
        quantiles = np.percentile(values, [5, 25, 50, 75, 95]) if values.size else [np.nan] * 5
        for key, value in zip(stats, quantiles, strict=True):
            stats[key].append(round(float(value), 4))
    trace = {"type": "box", "orientation": "h", "y": names, **stats, "name": score.prop.name,
             "hoverinfo": "y+x", "marker": {"color": "#4c78a8"}}
    layout = {"xaxis": {"title": {"text": score.prop.axis}}, "yaxis": {"type": "category", "autorange": "reversed"},
              "height": height, "showlegend": False}
    return Chart(title=f"{score.prop.name} by class (box: 25-75%, whiskers: 5-95%)", traces=[trace], layout=layout,
                 caption=caption)


ANALYSER = Analyser(
    name=NAME,
    title="Bias and spurious correlations",
    run=run,
    needs=("images", "decoded", "labels", "two_classes"),
    settings=SETTINGS,
    metrics={
        "bias.max_property_score": "highest cross-validated one-vs-rest AUC with which one image property alone "
                                   "(grayscale, brightness, size, format, ...) singles out a class (0.5 = no better "
                                   "than the class prior, 1 = the property identifies the class)",
        "bias.max_capture_score": "the same, over how images were captured or stored only (grayscale, mode, format, "
                                  "width, height, aspect): the likelier shortcuts, since pixel statistics and file "
                                  "size follow the content too (on MNIST the strokes alone make the first near 1)",
    },
)
