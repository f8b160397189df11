"""Embedding explorer and outliers: PCA of the thumbnails (or of --embeddings vectors), t-SNE of a sample, outliers.

The vector of an image is its 16x16x3 thumbnail (768 values), or the user's own vector when --embeddings is given,
standardised per value and projected by PCA to at most 32 dimensions (fitted on a seeded sample, applied to every
row in blocks). In that space (the labels analyser runs its kNN label check in the same space):
- outliers: images far from their own class (distance to the class centroid, robust z within the class) or from
  the whole set (mean distance to the k nearest neighbours, robust z over all images). Both robust z are taken on
  a scale where the bulk of the distances is symmetric: distances of a compact class are right-skewed (an MNIST
  digit has a long tail of bold or slanted strokes), and a median/MAD z on the raw scale flags that ordinary tail.
  Each class (and the global score) takes the power of the distance, among 1, 1/2 and log, whose quartile skewness
  (Bowley: (Q3 + Q1 - 2 Q2) / (Q3 - Q1), blind to the few far images themselves) is closest to 0;
- the explorer: a t-SNE map of a seeded sample of at most config.tsne_max images, coloured by label.

t-SNE: openTSNE's Barnes-Hut t-SNE when it is installed (the optional `tsne` extra), else scikit-learn's. On the
3,000-point CIFAR-10 and MNIST maps openTSNE with 100 early-exaggeration iterations and 100 more, its Barnes-Hut
accuracy theta at 0.8 (not 0.5), is as trustworthy as scikit-learn's 350 (250 of them early exaggeration, which
scikit-learn does not let us shorten) for less CPU time (bench/TSNE.md, `bench/bench_tsne.py`). scikit-learn runs
with the learning rate at n/12 (not its n/48), which reaches the trustworthiness of 500 iterations at the default
rate in less time. The map is the analyser's side part (model.SidePart): it fits the same PCA, maps the sampled rows
and runs in a lane of its own, beside the kNN search and the outliers.

Cost: PCA O(n x 768 x dims); kNN O(min(n, knn_max) x n x dims), blocked; t-SNE on at most tsne_max points.
"""

from __future__ import annotations

import importlib.util
import warnings
import weakref
from dataclasses import dataclass

import numpy as np

from ..dataset import class_groups
from ..incremental import Step
from ..lanes import thread_budget
from ..model import Analyser, AuditInput, Explorer, Finding, Montage, MontageItem, Section, SidePart
from ..robust import robust_z
from ..settings import Setting, resolve
from ..text import are, count

NAME = "embedding"
NEIGHBOURHOOD = "embedding.neighbourhood"  # Analyser.shares of the analysers that use neighbourhood()
PCA_FIT_MAX = 10000  # rows used to fit the standardisation and PCA
BLOCK = 8192  # rows transformed at once, to bound memory
MIN_ROWS = 8  # below this there is nothing to embed
MAP_TITLE = "t-SNE map of the images"
HOVER_COLUMNS = 4
HOVER_CHARS = 40
SKLEARN_EXAGGERATION = 250  # scikit-learn's fixed early-exaggeration length
OPEN_TSNE_EXAGGERATION = 100  # openTSNE's, shortened: as trustworthy on CIFAR-10 and MNIST (bench/TSNE.md)
OPEN_TSNE_SAVING = 150  # openTSNE stops this many iterations before scikit-learn: 100 + 100 for the default 350
OPEN_TSNE_THETA = 0.8  # Barnes-Hut accuracy (default 0.5): with 100 + 100, as trustworthy, 36-38% less CPU (TSNE.md)
# Up to this many points openTSNE finds the perplexity neighbours by exact search (scikit-learn's, one distance
# block of at most 5,000^2 x 8 bytes = 200 MB) instead of building an Annoy index, which costs more than it saves
# at that size (the commit that added this gives the timings).
OPEN_TSNE_EXACT_MAX = 5_000


@dataclass
class VectorFit:
    """A fitted standardisation + PCA: vector = ((value - centre) / scale - mean) @ axes."""

    centre: np.ndarray
    scale: np.ndarray
    mean: np.ndarray
    axes: np.ndarray  # (values, dims) float32
    kept_variance: float

    def transform(self, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
        """(len(wanted), dims) float32 vectors of values[wanted], BLOCK rows at a time."""
        flat = values.reshape(len(values), -1)
        vectors = np.empty((len(wanted), self.axes.shape[1]), dtype=np.float32)
        for start in range(0, len(wanted), BLOCK):
            block = (flat[wanted[start:start + BLOCK]].astype(np.float32) - self.centre) / self.scale
            vectors[start:start + BLOCK] = (block - self.mean) @ self.axes
        return vectors


def fit_vectors(values: np.ndarray, dims: int, seed: int, scale_floor: float, rows: np.ndarray) -> VectorFit:
    """The standardisation and PCA of values[rows] (thumbnails or any per-row vectors), fitted on a seeded sample
    of at most PCA_FIT_MAX rows. scale_floor is added to every standard deviation (1 grey level for thumbnails)."""
    n = len(rows)
    flat = values.reshape(len(values), -1)
    rng = np.random.default_rng(seed)
    fit_rows = np.sort(rng.choice(n, size=min(n, PCA_FIT_MAX), replace=False))
    sample = flat[rows[fit_rows]].astype(np.float32)
    centre = sample.mean(axis=0)
    scale = sample.std(axis=0) + scale_floor  # constant pixels do not blow up
    components = max(1, min(dims, len(fit_rows) - 1, flat.shape[1]))
    from sklearn.decomposition import PCA

    pca = PCA(n_components=components, svd_solver="randomized", random_state=seed)
    with warnings.catch_warnings():  # no variance at all (one image n times): run() skips, quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        pca.fit((sample - centre) / scale)
    return VectorFit(centre, scale, pca.mean_.astype(np.float32), pca.components_.T.astype(np.float32),
                     float(pca.explained_variance_ratio_.sum()))


def image_vectors(thumbs: np.ndarray, dims: int, seed: int, scale_floor: float = 1.0,
                  rows: np.ndarray | None = None, only: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """(len(rows), <=dims) float32 PCA coordinates of standardised thumbs[rows] (all rows by default; thumbnails or
    any per-row vectors), and the share of variance they keep (fit_vectors). Rows are read BLOCK at a time, never
    copied whole. With `only` (positions into rows), the same fit is applied to rows[only] alone (the t-SNE
    sample)."""
    rows = np.arange(len(thumbs)) if rows is None else rows
    fit = fit_vectors(thumbs, dims, seed, scale_floor, rows)
    return fit.transform(thumbs, rows if only is None else rows[only]), fit.kept_variance


def neighbours(vectors: np.ndarray, queries: np.ndarray, k: int, jobs: int) -> tuple[np.ndarray, np.ndarray]:
    """k nearest neighbours (positions into vectors, distances) of vectors[queries], the query itself left out."""
    k = min(k, len(vectors) - 1)
    from sklearn.neighbors import NearestNeighbors

    search = NearestNeighbors(n_neighbors=k + 1, algorithm="brute", n_jobs=jobs).fit(vectors)
    distances, indices = search.kneighbors(vectors[queries])
    # Drop the query itself; with exact duplicates it need not come first, so remove it by identity.
    own = indices == queries[:, None]
    no_self = ~own.any(axis=1)
    own[no_self, -1] = True  # the query was crowded out by duplicates: drop the farthest instead
    keep = ~own
    return indices[keep].reshape(len(queries), k), distances[keep].reshape(len(queries), k)


@dataclass
class Neighbourhood:
    """The image vectors of the decoded rows and the k nearest neighbours of the searched ones (queries): what the
    embedding analyser maps and the labels analyser checks labels against."""

    vectors: np.ndarray
    kept_variance: float
    space: str
    queries: np.ndarray  # positions into vectors (all of them up to knn_max, else a seeded sample)
    index: np.ndarray  # (len(queries), k) positions into vectors; k = 0 when not usable
    distance: np.ndarray
    usable: bool  # False when every vector is the same (one image n times: PCA keeps no variance, gives NaN)
    note: str = ""  # with --incremental: what the search reused


# The last neighbourhood computed in this process. The embedding and labels analysers ask for the same one; both
# declare shares=NEIGHBOURHOOD, so the pipeline runs them one after the other in one lane and the second gets the
# first's instead of searching again. (When each lane could take either, the lane that came free first sometimes
# took the embedding and searched again while the other stood idle; the commit that made this change gives a run.)
# Held for the features it was computed from only (a weak reference); the pipeline forgets it after the analysers.
_last: tuple[weakref.ref, tuple, np.ndarray, Neighbourhood] | None = None


def neighbourhood(data: AuditInput, ok_rows: np.ndarray, dims: int, k: int, knn_max: int) -> Neighbourhood:
    """Vectors of data's decoded rows (ok_rows) and the k nearest neighbours of every row, or of a seeded sample of
    knn_max rows; computed once per process for the same features, rows and settings."""
    global _last
    assert data.features is not None
    key = (dims, k, knn_max, data.config.seed, id(data.table.outputs.embeddings))
    if _last is not None:
        features_ref, last_key, last_rows, found = _last
        if features_ref() is data.features and last_key == key and np.array_equal(last_rows, ok_rows):
            return found
    if data.reuse is not None and data.table.outputs.embeddings is None:
        found = _updated_neighbourhood(data, ok_rows, dims, k, knn_max)
    else:
        found = _searched_neighbourhood(data, ok_rows, dims, k, knn_max)
    _last = (weakref.ref(data.features), key, ok_rows.copy(), found)
    return found


def _searched_neighbourhood(data: AuditInput, ok_rows: np.ndarray, dims: int, k: int, knn_max: int,
                            fit: VectorFit | None = None) -> Neighbourhood:
    """The full search: vectors of ok_rows (by `fit` when given, else fitted here) and the kNN of the queries."""
    n = len(ok_rows)
    if fit is None:
        vectors, kept_variance, space = vectors_for(data, ok_rows, dims)
    else:
        assert data.features is not None
        vectors, kept_variance, space = (fit.transform(data.features.thumbs, ok_rows), fit.kept_variance,
                                         "PCA of 16x16 thumbnails")
    rng = np.random.default_rng(data.config.seed)
    queries = np.arange(n) if n <= knn_max else np.sort(rng.choice(n, size=knn_max, replace=False))
    usable = bool(np.isfinite(kept_variance) and np.isfinite(vectors).all() and np.ptp(vectors, axis=0).any())
    if usable:
        index, distance = neighbours(vectors, queries, k, thread_budget(data.config.jobs))
    else:
        index, distance = np.zeros((len(queries), 0), dtype=np.int64), np.zeros((len(queries), 0))
    return Neighbourhood(vectors, kept_variance, space, queries, index, distance, usable)


def _updated_neighbourhood(data: AuditInput, ok_rows: np.ndarray, dims: int, k: int, knn_max: int) -> Neighbourhood:
    """--incremental (thumbnails only): the stored run's PCA and neighbour lists, updated with the new images.
    The new images are transformed by the stored fit and searched among all; each stored query's list takes in
    the new images closer than its k-th (a search among the new images alone): the lists a full search with that
    PCA gives. Above knn_max the new images are queried at the stored sampling rate. Then stored for the next
    run: PCA, vectors (4 x dims bytes per image), queries and lists."""
    assert data.features is not None and data.reuse is not None
    step = Step(data.reuse, "embedding.neighbourhood", (dims, k, knn_max, data.config.seed,
                                                         data.features.thumbs.shape[1:]), data.features)
    recalled = step.recall(ok_rows)
    jobs = thread_budget(data.config.jobs)
    space = "PCA of 16x16 thumbnails"
    if recalled is not None and int(recalled.arrays["k"]) != k:
        step.refuse("the stored lists have another length")
        recalled = None
    if recalled is None:
        fit = fit_vectors(data.features.thumbs, dims, data.config.seed, 1.0, ok_rows)
        found = _searched_neighbourhood(data, ok_rows, dims, k, knn_max, fit)
    else:
        stored = recalled.arrays
        fit = VectorFit(stored["centre"], stored["scale"], stored["mean"], stored["axes"],
                        float(stored["kept_variance"]))
        kept, fresh = recalled.kept, recalled.fresh
        vectors = np.empty((len(ok_rows), fit.axes.shape[1]), dtype=np.float32)
        vectors[kept] = stored["vectors"][recalled.old_of_new[kept]]
        vectors[fresh] = fit.transform(data.features.thumbs, ok_rows[fresh])
        new_of_old = recalled.new_of_old
        old_queries = new_of_old[stored["queries"]]
        index = new_of_old[stored["index"]] if stored["index"].size else stored["index"].astype(np.int64)
        distance = stored["distance"]
        usable = bool(stored["usable"]) and bool(np.isfinite(vectors[fresh]).all())
        rate = min(1.0, knn_max / max(len(ok_rows), 1))
        rng = np.random.default_rng(data.config.seed)
        new_queries = fresh if rate >= 1.0 else fresh[rng.random(len(fresh)) < rate]
        fresh_index = np.zeros((len(new_queries), index.shape[1]), dtype=np.int64)
        fresh_distance = np.zeros((len(new_queries), index.shape[1]))
        if usable and len(fresh) and len(old_queries):
            closer_index, closer_distance = _nearest_among(vectors, fresh, old_queries, k, jobs)
            index, distance = _merged(index, distance, closer_index, closer_distance, k)
        if usable and len(new_queries):  # above knn_max a few new images may all go unsampled
            fresh_index, fresh_distance = neighbours(vectors, new_queries, k, jobs)
        queries = np.concatenate([old_queries, new_queries])
        order = np.argsort(queries, kind="stable")
        found = Neighbourhood(vectors, fit.kept_variance, space, queries[order],
                              np.concatenate([index, fresh_index])[order],
                              np.concatenate([distance, fresh_distance])[order], usable)
    step.keep(ok_rows, {"centre": fit.centre, "scale": fit.scale, "mean": fit.mean, "axes": fit.axes,
                        "kept_variance": np.float64(fit.kept_variance), "vectors": found.vectors,
                        "queries": found.queries, "index": found.index, "distance": found.distance,
                        "usable": np.bool_(found.usable), "k": np.int64(k)})
    found.note = step.note("kNN search")
    return found


def _nearest_among(vectors: np.ndarray, targets: np.ndarray, queries: np.ndarray, k: int,
                   jobs: int) -> tuple[np.ndarray, np.ndarray]:
    """The min(k, len(targets)) nearest of `targets` (positions into vectors) to each of vectors[queries], as
    positions into vectors, and their distances."""
    from sklearn.neighbors import NearestNeighbors

    take = min(k, len(targets))
    search = NearestNeighbors(n_neighbors=take, algorithm="brute", n_jobs=jobs).fit(vectors[targets])
    distance, index = search.kneighbors(vectors[queries])
    return targets[index], distance


def _merged(index: np.ndarray, distance: np.ndarray, more_index: np.ndarray, more_distance: np.ndarray,
            k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's k closest of both lists (the first list's entries first among equal distances)."""
    both_index = np.concatenate([index, more_index], axis=1)
    both_distance = np.concatenate([distance, more_distance], axis=1)
    order = np.argsort(both_distance, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(both_index, order, axis=1), np.take_along_axis(both_distance, order, axis=1)


def forget_neighbourhood() -> None:
    global _last
    _last = None


def vectors_for(data: AuditInput, ok_rows: np.ndarray, dims: int,
                only: np.ndarray | None = None) -> tuple[np.ndarray, float, str]:
    """PCA vectors of the decoded rows (of ok_rows[only] alone with `only`; the fit is the same): the user's
    --embeddings when given, else the thumbnails; and their name."""
    user = data.table.outputs.embeddings
    if user is not None:
        scale = float(np.median(_column_std(user, ok_rows))) if len(ok_rows) else 1.0
        vectors, kept = image_vectors(user, dims, data.config.seed, scale_floor=1e-3 * scale + 1e-12, rows=ok_rows,
                                      only=only)
        return vectors, kept, f"PCA of your vectors ({data.table.outputs.embedding_source})"
    assert data.features is not None
    vectors, kept = image_vectors(data.features.thumbs, dims, data.config.seed, rows=ok_rows, only=only)
    return vectors, kept, "PCA of 16x16 thumbnails"


def _column_std(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Per-column std of values[rows], without copying values when rows are all of them."""
    return (values if len(rows) == len(values) else values[rows]).std(axis=0)


def _hover(data: AuditInput, rows: np.ndarray) -> list[str]:
    table = data.table
    frame = table.frame
    paths = table.paths()
    labels = table.labels()
    others = [c for c in frame.columns if c not in {table.path_col, table.label_col}][:HOVER_COLUMNS]
    columns = {c: table.column_values(c) for c in others}
    texts = []
    for r in rows.tolist():
        parts = [paths[r] if paths else f"row {r}"]
        if labels is not None:
            parts.append(f"label: {labels[r]}")
        parts += [f"{c}: {str(values[r])[:HOVER_CHARS]}" for c, values in columns.items()]
        texts.append("\n".join(parts))
    return texts


def run(data: AuditInput) -> Section:
    features = data.features
    assert features is not None
    section = Section(name=NAME, title="Embedding explorer and outliers")
    ok_rows = np.flatnonzero(features.ok)
    n = len(ok_rows)
    if n < MIN_ROWS:
        section.skipped = f"fewer than {MIN_ROWS} decoded images"
        return section
    dims = data.settings.dims
    k = min(data.settings.k, n - 1)
    knn_max = data.settings.knn_max
    z_cut = data.settings.outlier_z
    shared = neighbourhood(data, ok_rows, dims, k, knn_max)
    vectors, kept_variance, space = shared.vectors, shared.kept_variance, shared.space
    if shared.note:
        section.notes.append(shared.note + " The labels analyser's kNN check uses the same search.")
    if not shared.usable:
        # Every vector is the same (one image listed n times): PCA has no variance to keep, and t-SNE on NaN
        # coordinates crashes the process rather than raising.
        section.skipped = "every decoded image has the same vector: there is nothing to map or compare"
        return section
    section.notes.append(f"Image vector: {space}, standardised, PCA to {vectors.shape[1]} dimensions "
                         f"({kept_variance:.0%} of the variance). The labels analyser checks neighbours' labels "
                         "in this space.")
    labels_all = data.table.labels()
    labels = (np.array([labels_all[r] for r in ok_rows], dtype=object) if labels_all is not None
              else np.full(n, "", dtype=object))

    queries = shared.queries
    if len(queries) < n:
        section.notes.append(f"Neighbours searched for a seeded sample of {len(queries):,} of {n:,} images "
                             f"(embedding.knn_max); global outliers cover that sample.")
    neighbour_index, neighbour_distance = shared.index, shared.distance

    outlier_rows = _outliers(section, data, ok_rows, labels, vectors, queries, neighbour_distance, z_cut,
                             labels_all is not None)
    section.metrics["embedding.outlier_count"] = len(outlier_rows)
    section.metrics["embedding.outlier_rate"] = len(outlier_rows) / n

    flags = {row: "outlier" for row in outlier_rows}
    if labels_all is not None:
        for row, neighbour_label in _label_disagreements(data, ok_rows, labels, queries, neighbour_index).items():
            flags[row] = (flags[row] + "; " if row in flags else "") + f"neighbours carry: {neighbour_label}"
    points = _explorer(section, data, ok_rows, labels, flags)
    section.metrics["embedding.tsne_points"] = points
    section.summary = (f"{n:,} images embedded; {len(outlier_rows):,} outliers"
                       + (f"; t-SNE map of {points:,} images." if points else "."))
    return section


def _label_disagreements(data: AuditInput, ok_rows: np.ndarray, labels: np.ndarray, queries: np.ndarray,
                         neighbour_index: np.ndarray) -> dict[int, str]:
    """Row -> the label most of its neighbours carry, for the images the labels analyser's kNN check flags (the
    same space, queries and neighbours; its settings), so the map rings them too."""
    from . import labels as labels_analyser  # labels imports this module: import at call time

    settings = resolve(labels_analyser.ANALYSER.settings, data.config.analysers.get(labels_analyser.NAME, {}),
                       labels_analyser.NAME)
    flagged, top_label, _ = labels_analyser.label_disagreement(labels[queries], labels[neighbour_index],
                                                               settings.knn_other_share, settings.knn_own_share)
    hits = np.flatnonzero(flagged)
    return {int(ok_rows[queries[i]]): str(top_label[i]) for i in hits}


def _quartile_skewness(values: np.ndarray) -> float:
    q1, q2, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    return float((q3 + q1 - 2 * q2) / (q3 - q1)) if q3 > q1 else 0.0


def symmetric_scale(distance: np.ndarray) -> np.ndarray:
    """The distances raised to the power (1, 1/2 or log) that makes their bulk most symmetric; exact duplicates
    (distance 0) are held at a small fraction of the typical distance so the log stays finite."""
    positive = distance[distance > 0]
    floor = 1e-3 * float(np.median(positive)) if len(positive) else 1e-12
    kept = np.maximum(distance, floor)
    candidates = [kept, np.sqrt(kept), np.log(kept)]
    return min(candidates, key=lambda values: abs(_quartile_skewness(values)))


def _outliers(section: Section, data: AuditInput, ok_rows: np.ndarray, labels: np.ndarray, vectors: np.ndarray,
              queries: np.ndarray, neighbour_distance: np.ndarray, z_cut: float, labelled: bool) -> list[int]:
    cap = data.config.montage_max
    all_rows: set[int] = set()
    # Far from the whole set: mean distance to the k nearest neighbours.
    knn_score = robust_z(symmetric_scale(neighbour_distance.mean(axis=1)))
    section.row_scores["outlier z (all images)"] = dict(zip(ok_rows[queries].tolist(),
                                                            np.round(knn_score, 2).tolist(), strict=True))
    global_hits = np.flatnonzero(knn_score > z_cut)
    global_hits = global_hits[np.argsort(-knn_score[global_hits], kind="stable")]
    if len(global_hits):
        rows = ok_rows[queries[global_hits]]
        all_rows.update(rows.tolist())
        section.findings.append(Finding(
            analyser=NAME, kind="outlier", severity="info",
            message=(f"{count(len(rows), 'image')} {are(len(rows))} far from every other image (robust z of the kNN "
                     f"distance on a symmetric scale > {z_cut:g})"),
            rows=rows.tolist(),
            detail={"scope": "global", "scores": [round(float(knn_score[i]), 2) for i in global_hits],
                    "score": "robust z of the mean distance to the k nearest neighbours, on a symmetric scale"}))
        section.montages.append(Montage(
            title="Outliers of the whole set",
            items=[MontageItem(int(r), f"z {knn_score[i]:.1f}") for r, i in zip(rows[:cap], global_hits[:cap],
                                                                               strict=True)],
            total=len(rows)))
    if not labelled:
        return sorted(all_rows)
    # Far from their own class: distance to the class centroid, scored within the class.
    class_score = np.full(len(vectors), -np.inf)
    groups = class_groups(labels)
    classes = [cls for cls, _ in groups]
    for _, members in groups:
        if len(members) < MIN_ROWS:
            continue
        distance = np.linalg.norm(vectors[members] - vectors[members].mean(axis=0), axis=1)
        class_score[members] = robust_z(symmetric_scale(distance))
    scored = np.flatnonzero(np.isfinite(class_score))
    section.row_scores["outlier z (own class)"] = dict(zip(ok_rows[scored].tolist(),
                                                           np.round(class_score[scored], 2).tolist(), strict=True))
    class_hits = np.flatnonzero(class_score > z_cut)
    class_hits = class_hits[np.argsort(-class_score[class_hits], kind="stable")]
    if len(class_hits):
        rows = ok_rows[class_hits]
        all_rows.update(rows.tolist())
        section.findings.append(Finding(
            analyser=NAME, kind="outlier", severity="info",
            message=(f"{count(len(rows), 'image')} {are(len(rows))} far from the rest of their class (distance to the class centroid, "
                     f"robust z on a symmetric scale > {z_cut:g} within the class)"),
            rows=rows.tolist(),
            detail={"scope": "class", "classes": [str(labels[i]) for i in class_hits],
                    "scores": [round(float(class_score[i]), 2) for i in class_hits],
                    "score": "robust z (within the class) of the distance to the class centroid, on a symmetric scale"}))
    # The top of each class, flagged or not, so every class can be checked by eye.
    shown = classes[:50]
    per_class = max(1, cap // max(len(shown), 1))
    items = []
    for cls, members in groups[:len(shown)]:
        top = members[np.argsort(-class_score[members], kind="stable")[:per_class]]
        items += [MontageItem(int(ok_rows[i]), f"{cls}: z {class_score[i]:.1f}") for i in top
                  if np.isfinite(class_score[i])]
    if items:
        section.montages.append(Montage(
            title="Farthest from their class, per class", items=items[:max(cap, len(shown))],
            caption=f"The {per_class} image(s) of each class farthest from its centroid, with the robust z "
                    f"(flagged above {z_cut:g}).", total=len(class_hits)))
    return sorted(all_rows)


def tsne_map(points: np.ndarray, perplexity: float, iterations: int, seed: int,
             jobs: int) -> tuple[np.ndarray, str]:
    """(n, 2) t-SNE coordinates of points (PCA initialisation; random for 1-D points) and the name of the
    implementation that made them: openTSNE's Barnes-Hut when installed, else scikit-learn's. iterations counts
    scikit-learn's (250 of them early exaggeration); openTSNE runs 100 of early exaggeration and stops 150 sooner
    in all."""
    try:
        from openTSNE import TSNE as OpenTSNE
    except ImportError:
        OpenTSNE = None
    iterations = max(SKLEARN_EXAGGERATION + 1, iterations)
    start = "pca" if points.shape[1] >= 2 else "random"  # a PCA start needs 2 dimensions (--embeddings may have 1)
    if OpenTSNE is not None:
        embedding = OpenTSNE(n_components=2, perplexity=perplexity, initialization=start,
                             early_exaggeration_iter=OPEN_TSNE_EXAGGERATION,
                             n_iter=iterations - OPEN_TSNE_SAVING - OPEN_TSNE_EXAGGERATION,
                             negative_gradient_method="bh", theta=OPEN_TSNE_THETA, n_jobs=jobs, random_state=seed,
                             neighbors="exact" if len(points) <= OPEN_TSNE_EXACT_MAX else "auto").fit(points)
        return np.asarray(embedding), "openTSNE"
    from sklearn.manifold import TSNE

    tsne = TSNE(n_components=2, init=start, perplexity=perplexity, learning_rate=max(len(points) / 12.0, 50.0),
                angle=0.6, max_iter=iterations, random_state=seed, n_jobs=jobs)
    return tsne.fit_transform(points), "scikit-learn"


def map_sample(n: int, data: AuditInput, ok_rows: np.ndarray | None = None) -> np.ndarray | None:
    """Positions (into the decoded rows) of the t-SNE map's seeded sample of at most tsne_max, or None when there
    are too few. Drawn after the kNN sample (neighbourhood) from the same seed, as both always were. With
    --incremental and the decoded rows given, the stored map's sample when it can be reused (_map_step)."""
    size = min(n, max(0, int(data.config.tsne_max)))
    if size < MIN_ROWS:
        return None
    step = _map_step(data) if ok_rows is not None else None
    recalled = step.recall(ok_rows) if step is not None else None
    if recalled is not None:
        return _stored_map(recalled)[0]
    rng = np.random.default_rng(data.config.seed)
    if n > data.settings.knn_max:
        rng.choice(n, size=data.settings.knn_max, replace=False)
    return np.sort(rng.choice(n, size=size, replace=False))


def tsne_implementation() -> str:
    """The t-SNE tsne_map will use: openTSNE when it is installed, else scikit-learn."""
    return "openTSNE" if importlib.util.find_spec("openTSNE") is not None else "scikit-learn"


def _explorer(section: Section, data: AuditInput, ok_rows: np.ndarray, labels: np.ndarray,
              flags: dict[int, str]) -> int:
    """The map's explorer, all but its coordinates: the side part (map_points, in a lane of its own) computes them
    and place_map puts them in."""
    n = len(ok_rows)
    sample = map_sample(n, data, ok_rows)
    if sample is None:
        section.notes.append("No t-SNE map: too few images (or tsne_max is 0).")
        return 0
    size = len(sample)
    perplexity = _perplexity(size)
    rows = ok_rows[sample]
    point_flags = [flags.get(row, "") for row in rows.tolist()]
    flagged = sum(1 for flag in point_flags if flag)
    section.explorers.append(Explorer(
        title=MAP_TITLE,
        rows=rows.tolist(),
        x=[],
        y=[],
        colour=[str(label) if label else "(no label)" for label in labels[sample]],
        hover=[f"{text}\n{flag}" if flag else text for text, flag in zip(_hover(data, rows), point_flags,
                                                                          strict=True)],
        flags=point_flags,
        caption=(f"{size:,} of {n:,} decoded images" + (f" (seeded random sample, seed {data.config.seed}; "
                                                        "raise --tsne-max to show more)" if size < n else "")
                 + f"; t-SNE ({tsne_implementation()}) of the PCA vectors, perplexity {perplexity:.0f}. Nearby "
                   "points look alike"
                 + (" in your vectors." if data.table.outputs.embeddings is not None else " at 16x16.")
                 + (f" Ringed: the {flagged:,} sampled images flagged as outliers (above) or whose nearest "
                    "neighbours mostly carry another label (label quality section; hover names that label); they "
                    "stay with their class when it is isolated in the legend." if flagged else "")),
    ))
    return size


def _perplexity(size: int) -> float:
    return float(min(30.0, (size - 1) / 3.0))


@dataclass
class MapPoints:
    """The side part's result: the t-SNE coordinates of the sampled rows, and the implementation that made them."""

    rows: list[int]
    x: list[float]
    y: list[float]
    implementation: str
    note: str = ""  # with --incremental: whether the map is the stored one


def _map_step(data: AuditInput) -> Step | None:
    """--incremental (thumbnails only): the t-SNE map is kept and shown again while images are only added; the
    new images join it at the next run without --incremental (t-SNE places points relative to each other, so
    adding points means a new map)."""
    if data.reuse is None or data.table.outputs.embeddings is not None or data.features is None:
        return None
    settings = data.settings
    return Step(data.reuse, "embedding.map", (data.config.tsne_max, data.config.seed, settings.dims,
                                              settings.knn_max, settings.tsne_iterations, tsne_implementation(),
                                              data.features.thumbs.shape[1:]), data.features)


def _stored_map(recalled) -> tuple[np.ndarray, np.ndarray, str]:
    """The stored map's sample as positions into the current decoded rows (sorted), its coordinates in that order
    and the t-SNE that made it."""
    stored = recalled.arrays
    sample = recalled.new_of_old[stored["sample"]]
    order = np.argsort(sample, kind="stable")
    return sample[order], stored["coordinates"][order], str(stored["implementation"])


def map_points(data: AuditInput) -> MapPoints | None:
    """The t-SNE map of the seeded sample (the analyser's side part: it needs the PCA vectors of the sampled rows
    only, so it fits the same PCA and runs in a lane of its own while the kNN search and outliers run in another).
    None when there is nothing to map (run() skips or leaves the map out for the same reasons)."""
    features = data.features
    assert features is not None
    ok_rows = np.flatnonzero(features.ok)
    step = _map_step(data)
    recalled = step.recall(ok_rows) if step is not None else None
    if recalled is not None:
        sample, coordinates, implementation = _stored_map(recalled)
    else:
        sample = map_sample(len(ok_rows), data)
        if sample is None:
            return None
        vectors, kept_variance, _ = vectors_for(data, ok_rows, data.settings.dims, only=sample)
        if not (np.isfinite(kept_variance) and np.isfinite(vectors).all()):
            return None  # every vector the same: run() skips the section (t-SNE on NaN crashes the process)
        coordinates, implementation = tsne_map(vectors.astype(np.float64), _perplexity(len(sample)),
                                               data.settings.tsne_iterations, data.config.seed,
                                               thread_budget(data.config.jobs))
    note = ""
    if step is not None:
        step.keep(ok_rows, {"sample": sample, "coordinates": coordinates, "implementation": np.str_(implementation)})
        new = 0 if recalled is None else len(recalled.fresh)
        note = (f"Incremental (--incremental): the t-SNE map is the stored run's; the {new:,} new image"
                f"{'s are' if new != 1 else ' is'} not on it until a run without --incremental."
                if recalled is not None else step.note("t-SNE map"))
    return MapPoints(rows=ok_rows[sample].tolist(), x=np.round(coordinates[:, 0], 3).tolist(),
                     y=np.round(coordinates[:, 1], 3).tolist(), implementation=implementation, note=note)


def place_map(section: Section, points: MapPoints | None) -> None:
    """Put the side part's coordinates into the map's explorer; without them (it failed) the map is left out."""
    explorer = next((e for e in section.explorers if e.title == MAP_TITLE and not e.x), None)
    if explorer is None:
        return
    if points is None:
        section.explorers.remove(explorer)
        section.metrics["embedding.tsne_points"] = 0
        section.notes.append("No t-SNE map: the t-SNE step gave no coordinates.")
        return
    if points.rows != explorer.rows:  # both come from map_sample: a difference is a bug, an error finding
        raise ValueError("the t-SNE step mapped another sample than the explorer lists")
    explorer.x, explorer.y = points.x, points.y
    if points.note:
        section.notes.append(points.note)
    claimed = f"t-SNE ({tsne_implementation()})"
    explorer.caption = explorer.caption.replace(claimed, f"t-SNE ({points.implementation})")


ANALYSER = Analyser(
    name=NAME,
    title="Embedding explorer and outliers",
    run=run,
    cost=3,  # CIFAR-10 60k timings (make bench): the slowest analysers start first
    shares=NEIGHBOURHOOD,
    # The map costs the same few seconds at any size (tsne_max points): it starts beside the duplicate search, and
    # its lane may take the kNN task (labels, then this analyser's run) next. On the 10,000 CIFAR-10 test images the
    # analysers took 9.5-11.1 s with the map inside this analyser's run, 8.0-8.3 s with it beside (3 runs each,
    # interleaved; theta 0.8 in the second; 3 lanes on 2 cores, see pipeline.run_audit).
    side=SidePart(name="tsne", run=map_points, merge=place_map, cost=5),
    settings=(
        Setting("dims", 32, "PCA dimensions of the image vector", minimum=2),
        Setting("k", 10, "neighbours per image", minimum=1),
        Setting("knn_max", 20000, "images whose neighbours are searched (all rows are candidates); above this a "
                "seeded sample is searched, which bounds the kNN cost at knn_max x n x dims", minimum=1),
        Setting("outlier_z", 4.0, "robust z (median/MAD of the distances on a symmetric scale: power 1, 1/2 or "
                "log) above which an image is an outlier",
                minimum=0),
        Setting("tsne_iterations", 350, "t-SNE iterations, 250 of them early exaggeration (scikit-learn); with "
                "openTSNE installed (the tsne extra) 100 of early exaggeration and 150 fewer in all", minimum=251),
    ),
    metrics={
        "embedding.outlier_count": "images far from their class or from all images in thumbnail-PCA space",
        "embedding.outlier_rate": "outliers / decoded images",
        "embedding.tsne_points": "images drawn in the t-SNE explorer (a seeded sample of at most tsne_max)",
    },
)
