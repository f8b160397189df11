"""Drift between splits: do train and test (or val) differ in their image properties, metadata or labels?

Two views, as deepchecks and evidently give them:
- Per property and column, a two-sample distance between the reference split (train, else the largest) and each
  other split: the Kolmogorov-Smirnov statistic for numbers (with the Wasserstein distance in pooled standard
  deviations beside it), the total variation distance for categories (label included), each with a seeded
  permutation p-value. A property or column drifts when its distance is at least `min_distance` and p <= `alpha`.
- A domain classifier: gradient-boosted trees, cross-validated, told to tell the two splits apart from the cheap
  image features (the properties, the per-channel statistics and 8 principal components of the 16x16 thumbnails).
  AUC near 0.5 means the splits look alike; metadata is left out of it because a split by date or source differs
  in those columns by design (their own tests still show it).

Cost: each side is a seeded sample of at most `max_rows_per_split` rows for the tests (permutations are vectorised:
O(permutations x sample)) and at most `max_rows` rows in all for the classifier, so the work is bounded whatever n;
collecting the rows is O(n).

Settings: SETTINGS below.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from ..charts import drawable, histogram_trace
from ..model import Analyser, AuditInput, Chart, Finding, Montage, MontageItem, Section, TableBlock
from ..settings import Setting
from ._image_properties import category_codes, image_properties

NAME = "drift"
MIN_ROWS_PER_SPLIT = 10
SETTINGS = (
    Setting("auc_threshold", 0.65, "a domain-classifier AUC at or above this is a warning", minimum=0.5, maximum=1),
    Setting("min_distance", 0.1, "KS or total-variation distance at or above which a property can count as drifted",
            minimum=0, maximum=1),
    Setting("alpha", 0.01, "permutation p-value at or below which it does", minimum=0, maximum=1),
    Setting("permutations", 200, "permutations per test (p-values are at least 1 / (permutations + 1))", minimum=1),
    Setting("max_rows_per_split", 5000, "rows sampled per split for the per-property tests", minimum=MIN_ROWS_PER_SPLIT),
    Setting("max_rows", 20_000, "rows sampled (both splits together) for the domain classifier", minimum=MIN_ROWS_PER_SPLIT),
    Setting("folds", 5, "cross-validation folds of the domain classifier", minimum=2),
    Setting("max_columns", 200, "metadata columns compared (in table order), so a very wide table stays bounded",
            minimum=0),
)
MAX_CATEGORIES = 30
CATEGORICAL_MAX_UNIQUE_SHARE = 0.5  # text columns with more distinct values than this share are ids, not categories
CHARTS_PER_PAIR = 4
THUMB_COMPONENTS = 8
STAT_COLUMNS = ("mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b", "luma_p01", "luma_p99")



@dataclass
class Variable:
    """One thing compared between splits: values for every decoded row with a split (NaN / "" where missing)."""

    name: str
    source: str  # "image" | "metadata" | "label"
    axis: str
    values: np.ndarray
    categorical: bool


@dataclass
class Comparison:
    variable: Variable
    distance: float  # KS statistic (numbers) or total variation distance (categories), 0-1
    p_value: float
    wasserstein_sd: float | None  # numbers only: Wasserstein distance / pooled standard deviation
    drifted: bool


def ks_statistic_permutations(a: np.ndarray, b: np.ndarray, permutations: int,
                              rng: np.random.Generator) -> tuple[float, float]:
    """KS statistic of a vs b and its permutation p-value. Ties are handled by reading the two empirical CDFs only
    at the end of each run of equal values."""
    pooled = np.concatenate([a, b])
    order = np.argsort(pooled, kind="stable")
    values = pooled[order]
    ends = np.r_[values[1:] != values[:-1], True]
    from_a = np.r_[np.ones(len(a), dtype=bool), np.zeros(len(b), dtype=bool)][order]

    def statistic(masks: np.ndarray) -> np.ndarray:
        cdf_a = np.cumsum(masks, axis=-1)[..., ends] / len(a)
        cdf_b = np.cumsum(~masks, axis=-1)[..., ends] / len(b)
        return np.abs(cdf_a - cdf_b).max(axis=-1)

    observed = float(statistic(from_a))
    shuffled = np.stack([rng.permutation(from_a) for _ in range(permutations)])
    null = statistic(shuffled)
    return observed, float((1 + (null >= observed - 1e-12).sum()) / (1 + permutations))


def tv_distance_permutations(codes_a: np.ndarray, codes_b: np.ndarray, permutations: int,
                             rng: np.random.Generator) -> tuple[float, float]:
    """Total variation distance between two category distributions and its permutation p-value."""
    pooled = np.concatenate([codes_a, codes_b])
    k = int(pooled.max()) + 1
    one_hot = np.zeros((len(pooled), k), dtype=np.float64)
    one_hot[np.arange(len(pooled)), pooled] = 1.0
    from_a = np.r_[np.ones(len(codes_a)), np.zeros(len(codes_b))]
    totals = one_hot.sum(axis=0)

    def distance(masks: np.ndarray) -> np.ndarray:
        counts_a = masks @ one_hot
        return 0.5 * np.abs(counts_a / len(codes_a) - (totals - counts_a) / len(codes_b)).sum(axis=-1)

    observed = float(distance(from_a))
    shuffled = np.stack([rng.permutation(from_a) for _ in range(permutations)])
    null = distance(shuffled)
    return observed, float((1 + (null >= observed - 1e-12).sum()) / (1 + permutations))


def _variables(data: AuditInput, rows: np.ndarray) -> list[Variable]:
    variables = [Variable(p.name, "image", p.axis, p.values, p.categorical) for p in image_properties(data, rows)]
    table = data.table
    labels = table.labels()
    if labels is not None:
        variables.append(Variable(f"label ({table.label_col})", "label", "class",
                                  np.asarray(labels, dtype=object)[rows], True))
    skip = {table.path_col, table.label_col, table.split_col}
    columns = [name for name in table.frame.columns if name not in skip][: data.settings.max_columns]
    profiles = data.profiles
    for name in columns:
        profile = profiles[name]
        if profile.distinct < 2:
            continue
        if profile.kind in {"number", "date"} and profile.numeric is not None:
            variables.append(Variable(name, "metadata", name + (" (days)" if profile.kind == "date" else ""),
                                      profile.numeric[rows], False))
        elif profile.kind in {"text", "boolean"} and profile.unique_share <= CATEGORICAL_MAX_UNIQUE_SHARE:
            values = table.frame[name].astype(str).to_numpy(dtype=object)
            values[profile.missing] = "(missing)"
            variables.append(Variable(name, "metadata", name, values[rows], True))
    return variables


def _compare(variable: Variable, side_a: np.ndarray, side_b: np.ndarray, data: AuditInput,
             rng: np.random.Generator) -> Comparison | None:
    permutations = data.settings.permutations
    if variable.categorical:
        codes, _ = category_codes(variable.values[np.r_[side_a, side_b]], MAX_CATEGORIES)
        if len(np.unique(codes)) < 2:
            return None
        distance, p_value = tv_distance_permutations(codes[:len(side_a)], codes[len(side_a):], permutations, rng)
        wasserstein = None
    else:
        a, b = variable.values[side_a], variable.values[side_b]
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if min(len(a), len(b)) < MIN_ROWS_PER_SPLIT or np.ptp(np.r_[a, b]) == 0:
            return None
        distance, p_value = ks_statistic_permutations(a, b, permutations, rng)
        spread = float(np.std(np.r_[a, b]))
        from scipy.stats import wasserstein_distance  # imported where used: a warm run needs no scipy.stats

        wasserstein = float(wasserstein_distance(a, b)) / spread if spread > 0 else 0.0
    drifted = distance >= data.settings.min_distance and p_value <= data.settings.alpha
    return Comparison(variable, distance, p_value, wasserstein, drifted)


def _domain_features(data: AuditInput, rows: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA

    assert data.features is not None
    columns = [p.values if not p.categorical else category_codes(p.values, MAX_CATEGORIES)[0].astype(np.float64)
               for p in image_properties(data, rows)]
    frame = data.features.frame.iloc[rows]
    columns += [frame[c].to_numpy(dtype=np.float64) for c in STAT_COLUMNS]
    thumbs = data.features.thumbs[rows].reshape(len(rows), -1).astype(np.float32) / 255.0
    components = min(THUMB_COMPONENTS, len(rows) - 1, thumbs.shape[1])
    if components >= 1 and float(thumbs.var(axis=0).sum()) > 0:
        projected = PCA(n_components=components, random_state=data.config.seed,
                        svd_solver="randomized").fit_transform(thumbs)
        columns += list(projected.T.astype(np.float64))
    return np.column_stack(columns)


def domain_classifier_auc(data: AuditInput, reference: np.ndarray, other: np.ndarray,
                          rng: np.random.Generator) -> tuple[float, np.ndarray, np.ndarray] | None:
    """Out-of-fold AUC of telling `other` rows from `reference` rows; also the rows used and, per row, the
    out-of-fold probability of belonging to `other`."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    half = data.settings.max_rows // 2
    reference, other = _cap(reference, half, rng), _cap(other, half, rng)
    folds = min(data.settings.folds, len(reference), len(other))
    if folds < 2 or min(len(reference), len(other)) < MIN_ROWS_PER_SPLIT:
        return None
    rows = np.r_[reference, other]
    target = np.r_[np.zeros(len(reference)), np.ones(len(other))]
    features = _domain_features(data, rows)
    model = HistGradientBoostingClassifier(max_iter=60, learning_rate=0.15, max_leaf_nodes=15, min_samples_leaf=20,
                                           early_stopping=False, random_state=data.config.seed)
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=data.config.seed)
    # One thread: the trees are small, so thread start-up and syncing outweigh the work; on this 2-core machine
    # under load, OpenMP's default threads made a 20,000-row run 13x slower (134 s against 10 s).
    with threadpool_limits(limits=1, user_api="openmp"):
        probability = cross_val_predict(model, features, target, cv=cv, method="predict_proba")[:, 1]
    return float(roc_auc_score(target, probability)), rows, probability


def _cap(rows: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    return rows if len(rows) <= cap else np.sort(rng.choice(rows, cap, replace=False))


def run(data: AuditInput) -> Section:
    section = Section(name=NAME, title="Drift between splits")
    splits = data.table.splits()
    assert splits is not None and data.features is not None  # declared needs
    split_of = np.asarray(splits, dtype=object)
    decoded = np.flatnonzero(data.features.ok & (split_of != ""))
    names, counts = np.unique(split_of[decoded].astype(str), return_counts=True)
    if len(names) < 2:
        only = f" ({names[0]})" if len(names) else ""
        section.skipped = f"only one split{only} among the decoded images: nothing to compare"
        return section
    reference = "train" if "train" in names else str(names[np.argmax(counts)])
    others = [str(n) for n in names if n != reference]
    variables = _variables(data, decoded)
    index_of = {split: np.flatnonzero(split_of[decoded] == split) for split in names}
    rng = np.random.default_rng(data.config.seed)
    cap = data.settings.max_rows_per_split
    all_rows: list[list] = []
    aucs: dict[str, float] = {}
    drifted_total = 0
    started = time.perf_counter()
    for other in others:
        side_a, side_b = _cap(index_of[reference], cap, rng), _cap(index_of[other], cap, rng)
        comparisons = [c for v in variables if (c := _compare(v, side_a, side_b, data, rng)) is not None]
        comparisons.sort(key=lambda c: (-c.drifted, -c.distance))
        drifted = [c for c in comparisons if c.drifted]
        drifted_total += len(drifted)
        section.timings[f"tests_{other}"] = time.perf_counter() - started
        started = time.perf_counter()
        classifier = domain_classifier_auc(data, decoded[index_of[reference]], decoded[index_of[other]], rng)
        section.timings[f"classifier_{other}"] = time.perf_counter() - started
        started = time.perf_counter()
        auc = None
        if classifier is not None:
            auc, used_rows, probability = classifier
            aucs[other] = auc
        all_rows += [[f"{reference} vs {other}", c.variable.name, c.variable.source,
                      "KS" if not c.variable.categorical else "TV", round(c.distance, 3),
                      "" if c.wasserstein_sd is None else round(c.wasserstein_sd, 3), _p_text(c.p_value, data),
                      "yes" if c.drifted else ""] for c in comparisons]
        for comparison in drifted[:CHARTS_PER_PAIR]:
            section.charts.append(_side_by_side(comparison, decoded, side_a, side_b, reference, other))
        finding = _pair_finding(data, reference, other, auc, drifted, len(index_of[reference]), len(index_of[other]))
        if finding is not None:
            if classifier is not None:
                unlike = _least_like_reference(used_rows, probability, split_of, other)
                finding.rows = unlike
                chance = dict(zip(used_rows.tolist(), probability.tolist(), strict=True))
                section.montages.append(Montage(
                    title=f"{other} images least like {reference} (domain classifier)",
                    items=[MontageItem(row=r, caption=f"p({other}) {chance[r]:.2f}")
                           for r in unlike[:data.config.montage_max]],
                    total=len(unlike)))
            section.findings.append(finding)
    section.metrics["drift.drifted_count"] = drifted_total
    if aucs:
        section.metrics["drift.max_split_auc"] = max(aucs.values())
    else:
        section.notes.append(f"Each split needs at least {MIN_ROWS_PER_SPLIT} decoded images for the domain "
                             "classifier; drift.max_split_auc was not computed.")
    section.tables.append(TableBlock(
        title="Distribution distance per property and column",
        columns=["splits", "property or column", "from", "test", "distance (0-1)", "Wasserstein / SD",
                 "permutation p", "drifted"],
        rows=all_rows,
        caption=(f"KS = Kolmogorov-Smirnov statistic (numbers), TV = total variation distance (categories); "
                 f"drifted when distance >= {data.settings.min_distance:g} and p <= "
                 f"{data.settings.alpha:g} ({data.settings.permutations} seeded permutations, at "
                 f"most {cap:,} rows per split)."),
    ))
    section.summary = _summary(reference, others, counts, names, aucs, drifted_total)
    return section


def _least_like_reference(rows: np.ndarray, probability: np.ndarray, split_of: np.ndarray, other: str,
                          cap: int = 100) -> list[int]:
    """The other split's rows the classifier is surest do not come from the reference split, most sure first."""
    mine = (split_of[rows] == other) & (probability > 0.5)
    order = np.argsort(-probability[mine], kind="stable")
    return [int(r) for r in rows[mine][order][:cap]]


def _p_text(p_value: float, data: AuditInput) -> str:
    floor = 1.0 / (data.settings.permutations + 1)
    return f"<= {floor:.3f}" if p_value <= floor + 1e-12 else f"{p_value:.3f}"


def _summary(reference: str, others: list[str], counts: np.ndarray, names: np.ndarray, aucs: dict[str, float],
             drifted: int) -> str:
    sizes = ", ".join(f"{n} {c:,}" for n, c in zip(names, counts, strict=True))
    if aucs:
        worst = max(aucs, key=aucs.get)
        auc_text = (f"a classifier tells {worst} from {reference} with AUC {aucs[worst]:.2f} "
                    "(0.5 = indistinguishable, 1 = fully separable)")
    else:
        auc_text = "the domain classifier did not run (too few images)"
    return (f"Splits ({sizes}) compared with {reference}: {auc_text}; {drifted} propert"
            f"{'y or column differs' if drifted == 1 else 'ies or columns differ'} in distribution.")


def _pair_finding(data: AuditInput, reference: str, other: str, auc: float | None, drifted: list[Comparison],
                  n_reference: int, n_other: int) -> Finding | None:
    threshold = data.settings.auc_threshold
    separable = auc is not None and auc >= threshold
    if not separable and not drifted:
        return None
    named = "; ".join(_describe(c) for c in drifted[:3]) or "no single property or column stands out"
    if separable:
        message = (f"{other} differs from {reference}: a classifier on cheap image features tells them apart with "
                   f"AUC {auc:.2f} (0.5 = alike; {n_reference:,} vs {n_other:,} images). Most drifted: {named}")
    else:
        auc_text = f" (domain classifier AUC {auc:.2f})" if auc is not None else ""
        message = f"{other} differs from {reference} in {len(drifted)} propert{'y' if len(drifted) == 1 else 'ies'} or column(s){auc_text}: {named}"
    return Finding(analyser=NAME, kind="split_drift", severity="warning" if separable else "info", message=message,
                   detail={"reference": reference, "split": other, "auc": auc,
                           "drifted": [{"name": c.variable.name, "source": c.variable.source,
                                        "distance": c.distance, "p_value": c.p_value,
                                        "wasserstein_sd": c.wasserstein_sd} for c in drifted]})


def _describe(comparison: Comparison) -> str:
    kind = "TV" if comparison.variable.categorical else "KS"
    return f"{comparison.variable.name} ({kind} {comparison.distance:.2f})"


def _side_by_side(comparison: Comparison, decoded: np.ndarray, side_a: np.ndarray, side_b: np.ndarray,
                  reference: str, other: str) -> Chart:
    variable = comparison.variable
    title = f"{variable.name}: {reference} vs {other}"
    caption = (f"Share of each split's images; {'TV' if variable.categorical else 'KS'} distance "
               f"{comparison.distance:.2f}, permutation p {comparison.p_value:.3g}.")
    if variable.categorical:
        values = variable.values[np.r_[side_a, side_b]].astype(str)
        categories, counts = np.unique(values, return_counts=True)
        categories = categories[np.argsort(-counts, kind="stable")][:20]
        traces = [{"type": "bar", "name": split, "x": categories.tolist(),
                   "y": [round(float((variable.values[side].astype(str) == c).mean()), 4) for c in categories]}
                  for split, side in ((reference, side_a), (other, side_b))]
        layout = {"barmode": "group", "xaxis": {"type": "category", "title": {"text": variable.axis}},
                  "yaxis": {"title": {"text": "share of split"}, "tickformat": ".0%"}}
        return Chart(title=title, traces=traces, layout=layout, caption=caption)
    values, axis = drawable(variable.values, variable.axis)
    a, b = values[side_a], values[side_b]
    finite = np.r_[a, b][np.isfinite(np.r_[a, b])]
    value_range = (float(finite.min()), float(finite.max()))
    traces = []
    for split, values in ((reference, a), (other, b)):
        trace = histogram_trace(values, bins=30, name=split, value_range=value_range)
        total = max(int(np.isfinite(values).sum()), 1)
        trace["y"] = [round(count / total, 5) for count in trace["y"]]
        trace["opacity"] = 0.55
        trace["hovertemplate"] = "%{x:.3g}: %{y:.1%}<extra>" + split + "</extra>"
        traces.append(trace)
    layout = {"barmode": "overlay", "xaxis": {"title": {"text": axis}},
              "yaxis": {"title": {"text": "share of split"}, "tickformat": ".0%"}}
    return Chart(title=title, traces=traces, layout=layout, caption=caption)


ANALYSER = Analyser(
    name=NAME,
    title="Drift between splits",
    run=run,
    cost=2,  # CIFAR-10 60k timings (make bench): the slowest analysers start first
    needs=("images", "decoded", "split"),
    uses_profiles=True,
    settings=SETTINGS,
    metrics={
        "drift.max_split_auc": "highest cross-validated AUC of a classifier telling a split from train on cheap image "
                               "features (0.5 = the splits look alike, 1 = fully separable; needs a split column)",
        "drift.drifted_count": "image properties, metadata columns and label distributions that differ between "
                               "train and another split (distance >= min_distance, permutation p <= alpha), summed "
                               "over splits",
    },
)
