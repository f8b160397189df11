"""Embedding explorer and outliers: PCA of the thumbnails, t-SNE of a sample, kNN label disagreement, outliers.

The vector of an image is its 16x16x3 thumbnail (768 values), standardised per value and projected by PCA to at most
32 dimensions (fitted on a seeded sample, applied to every row in blocks). In that space:
- label disagreement: an image whose k nearest neighbours mostly carry one other label, and almost never its own
  (a possible mislabel, or a look-alike of another class in pixel space);
- outliers: images far from their own class (distance to the class centroid, robust z within the class) or from
  the whole set (mean distance to the k nearest neighbours, robust z over all images);
- the explorer: a t-SNE map of a seeded sample of at most config.tsne_max images, coloured by label.

t-SNE: 350 iterations (250 of them early exaggeration) with the learning rate at n/12 (not scikit-learn's n/48)
reach the trustworthiness of 500 iterations at the default rate in less time (checked on CIFAR-10; `make bench`
reports the t-SNE seconds).

Cost: PCA O(n x 768 x dims); kNN O(min(n, knn_max) x n x dims), blocked; t-SNE on at most tsne_max points.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE
from sklearn.neighbors import NearestNeighbors

from ..dataset import class_groups
from ..model import Analyser, AuditInput, Explorer, Finding, Metric, Montage, MontageItem, Section, TableBlock
from ..robust import robust_z
from ..settings import Setting

NAME = "embedding"
PCA_FIT_MAX = 10000  # rows used to fit the standardisation and PCA
BLOCK = 8192  # rows transformed at once, to bound memory
MIN_ROWS = 8  # below this there is nothing to embed
HOVER_COLUMNS = 4
HOVER_CHARS = 40


def image_vectors(thumbs: np.ndarray, dims: int, seed: int) -> tuple[np.ndarray, float]:
    """(n, <=dims) float32 PCA coordinates of standardised thumbnails, and the share of variance they keep."""
    n = len(thumbs)
    flat = thumbs.reshape(n, -1)
    rng = np.random.default_rng(seed)
    fit_rows = np.sort(rng.choice(n, size=min(n, PCA_FIT_MAX), replace=False))
    sample = flat[fit_rows].astype(np.float32)
    centre = sample.mean(axis=0)
    scale = sample.std(axis=0) + 1.0  # +1 grey level: constant pixels do not blow up
    components = max(1, min(dims, len(fit_rows) - 1, flat.shape[1]))
    pca = PCA(n_components=components, svd_solver="randomized", random_state=seed)
    pca.fit((sample - centre) / scale)
    vectors = np.empty((n, components), dtype=np.float32)
    for start in range(0, n, BLOCK):
        block = (flat[start:start + BLOCK].astype(np.float32) - centre) / scale
        vectors[start:start + BLOCK] = pca.transform(block)
    return vectors, float(pca.explained_variance_ratio_.sum())


def neighbours(vectors: np.ndarray, queries: np.ndarray, k: int, jobs: int) -> tuple[np.ndarray, np.ndarray]:
    """k nearest neighbours (positions into vectors, distances) of vectors[queries], the query itself left out."""
    k = min(k, len(vectors) - 1)
    search = NearestNeighbors(n_neighbors=k + 1, algorithm="brute", n_jobs=jobs).fit(vectors)
    distances, indices = search.kneighbors(vectors[queries])
    # Drop the query itself; with exact duplicates it need not come first, so remove it by identity.
    own = indices == queries[:, None]
    no_self = ~own.any(axis=1)
    own[no_self, -1] = True  # the query was crowded out by duplicates: drop the farthest instead
    keep = ~own
    return indices[keep].reshape(len(queries), k), distances[keep].reshape(len(queries), k)


def label_disagreement(own: np.ndarray, neighbour_labels: np.ndarray, other_share: float,
                       own_share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per query: flagged?, the most common other label, its share among the neighbours."""
    k = neighbour_labels.shape[1]
    same = (neighbour_labels == own[:, None]).sum(axis=1) / k
    top_label = np.empty(len(own), dtype=object)
    top_share = np.zeros(len(own))
    for i, row in enumerate(neighbour_labels):
        counts = Counter(label for label in row.tolist() if label != own[i] and label != "")
        if counts:
            top_label[i], count = counts.most_common(1)[0]
            top_share[i] = count / k
        else:
            top_label[i] = ""
    flagged = (own != "") & (same <= own_share + 1e-9) & (top_share >= other_share - 1e-9)
    return flagged, top_label, top_share


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
    config = data.config
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
    jobs = config.jobs if config.jobs > 0 else -1
    rng = np.random.default_rng(config.seed)

    vectors, kept_variance = image_vectors(features.thumbs[ok_rows], dims, config.seed)
    section.notes.append(f"Image vector: 16x16 thumbnail, standardised, PCA to {vectors.shape[1]} dimensions "
                         f"({kept_variance:.0%} of the variance).")
    labels_all = data.table.labels()
    labels = (np.array([labels_all[r] for r in ok_rows], dtype=object) if labels_all is not None
              else np.full(n, "", dtype=object))

    queries = np.arange(n) if n <= knn_max else np.sort(rng.choice(n, size=knn_max, replace=False))
    if len(queries) < n:
        section.notes.append(f"Neighbours searched for a seeded sample of {len(queries):,} of {n:,} images "
                             f"(embedding.knn_max); label disagreement and global outliers cover that sample.")
    neighbour_index, neighbour_distance = neighbours(vectors, queries, k, jobs)

    disagreement_rows = _label_disagreement(section, data, ok_rows, labels, queries, neighbour_index, labels_all)
    outlier_rows = _outliers(section, data, ok_rows, labels, vectors, queries, neighbour_distance, z_cut,
                             labels_all is not None)
    section.metrics["embedding.label_disagreement_count"] = len(disagreement_rows)
    section.metrics["embedding.label_disagreement_rate"] = len(disagreement_rows) / len(queries)
    section.metrics["embedding.outlier_count"] = len(outlier_rows)
    section.metrics["embedding.outlier_rate"] = len(outlier_rows) / n

    flags = {row: "outlier" for row in outlier_rows}
    for finding in section.findings:
        if finding.kind == "label_disagreement":
            for row, label in zip(finding.rows, finding.detail["neighbour_label"], strict=True):
                flags[row] = f"neighbours carry: {label}"
    points = _explorer(section, data, ok_rows, vectors, labels, rng, flags)
    section.metrics["embedding.tsne_points"] = points
    section.summary = (
        f"{n:,} images embedded; {len(outlier_rows):,} outliers"
        + (f", {len(disagreement_rows):,} images whose neighbours carry another label" if labels_all is not None
           else "")
        + (f"; t-SNE map of {points:,} images." if points else ".")
    )
    return section


def _label_disagreement(section: Section, data: AuditInput, ok_rows: np.ndarray, labels: np.ndarray,
                        queries: np.ndarray, neighbour_index: np.ndarray, labels_all: list[str] | None) -> list[int]:
    if labels_all is None:
        return []
    config = data.config
    other_share = data.settings.disagreement_other_share
    own_share = data.settings.disagreement_own_share
    flagged, top_label, top_share = label_disagreement(labels[queries], labels[neighbour_index], other_share,
                                                       own_share)
    hits = np.flatnonzero(flagged)
    hits = hits[np.argsort(-top_share[hits], kind="stable")]
    rows = ok_rows[queries[hits]]
    k = neighbour_index.shape[1]
    if len(hits):
        section.findings.append(Finding(
            analyser=NAME, kind="label_disagreement", severity="info",
            message=(f"{len(hits):,} images ({len(hits) / len(queries):.2%}) have at least {other_share:.0%} of their "
                     f"{k} nearest neighbours with one other label and "
                     + (f"at most {own_share:.0%}" if own_share > 0 else "none") + " with their own: "
                     "possible mislabels, or look-alikes of another class"),
            rows=rows.tolist(),
            detail={"neighbour_label": [str(top_label[i]) for i in hits],
                    "neighbour_share": [round(float(top_share[i]), 3) for i in hits], "k": k,
                    "space": "PCA of 16x16 thumbnails"},
        ))
        cap = config.montage_max
        section.montages.append(Montage(
            title="Neighbours carry another label",
            items=[MontageItem(int(r), f"{labels[queries[i]]} -> {top_label[i]} ({top_share[i]:.0%})")
                   for r, i in zip(rows[:cap], hits[:cap], strict=True)],
            caption="Caption: own label -> the label most of its neighbours carry (share of neighbours).",
            total=len(hits)))
        pairs = Counter(zip(labels[queries[hits]].tolist(), top_label[hits].tolist(), strict=True))
        section.tables.append(TableBlock(
            title="Label disagreement: own label -> neighbours' label", columns=["own label", "neighbours' label",
                                                                                 "images"],
            rows=[[a, b, c] for (a, b), c in pairs.most_common(20)]))
    return rows.tolist()


def _outliers(section: Section, data: AuditInput, ok_rows: np.ndarray, labels: np.ndarray, vectors: np.ndarray,
              queries: np.ndarray, neighbour_distance: np.ndarray, z_cut: float, labelled: bool) -> list[int]:
    cap = data.config.montage_max
    all_rows: set[int] = set()
    # Far from the whole set: mean distance to the k nearest neighbours.
    knn_score = robust_z(neighbour_distance.mean(axis=1))
    global_hits = np.flatnonzero(knn_score > z_cut)
    global_hits = global_hits[np.argsort(-knn_score[global_hits], kind="stable")]
    if len(global_hits):
        rows = ok_rows[queries[global_hits]]
        all_rows.update(rows.tolist())
        section.findings.append(Finding(
            analyser=NAME, kind="outlier", severity="info",
            message=f"{len(rows):,} images are far from every other image (kNN distance robust z > {z_cut:g})",
            rows=rows.tolist(),
            detail={"scope": "global", "scores": [round(float(knn_score[i]), 2) for i in global_hits],
                    "score": "robust z of the mean distance to the k nearest neighbours"}))
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
        class_score[members] = robust_z(distance)
    class_hits = np.flatnonzero(class_score > z_cut)
    class_hits = class_hits[np.argsort(-class_score[class_hits], kind="stable")]
    if len(class_hits):
        rows = ok_rows[class_hits]
        all_rows.update(rows.tolist())
        section.findings.append(Finding(
            analyser=NAME, kind="outlier", severity="info",
            message=(f"{len(rows):,} images are far from the rest of their class (distance to the class centroid, "
                     f"robust z > {z_cut:g} within the class)"),
            rows=rows.tolist(),
            detail={"scope": "class", "classes": [str(labels[i]) for i in class_hits],
                    "scores": [round(float(class_score[i]), 2) for i in class_hits],
                    "score": "robust z (within the class) of the distance to the class centroid"}))
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


def _explorer(section: Section, data: AuditInput, ok_rows: np.ndarray, vectors: np.ndarray, labels: np.ndarray,
              rng: np.random.Generator, flags: dict[int, str]) -> int:
    n = len(ok_rows)
    size = min(n, max(0, int(data.config.tsne_max)))
    if size < MIN_ROWS:
        section.notes.append("No t-SNE map: too few images (or tsne_max is 0).")
        return 0
    sample = np.sort(rng.choice(n, size=size, replace=False))
    perplexity = float(min(30.0, (size - 1) / 3.0))
    iterations = data.settings.tsne_iterations
    jobs = data.config.jobs if data.config.jobs > 0 else -1
    tsne = TSNE(n_components=2, init="pca", perplexity=perplexity, learning_rate=max(size / 12.0, 50.0), angle=0.6,
                max_iter=max(251, iterations), random_state=data.config.seed, n_jobs=jobs)
    started = time.perf_counter()
    coordinates = tsne.fit_transform(vectors[sample].astype(np.float64))
    section.timings["tsne"] = time.perf_counter() - started
    rows = ok_rows[sample]
    point_flags = [flags.get(row, "") for row in rows.tolist()]
    flagged = sum(1 for flag in point_flags if flag)
    section.explorers.append(Explorer(
        title="t-SNE map of the images",
        rows=rows.tolist(),
        x=np.round(coordinates[:, 0], 3).tolist(),
        y=np.round(coordinates[:, 1], 3).tolist(),
        colour=[str(label) if label else "(no label)" for label in labels[sample]],
        hover=[f"{text}\n{flag}" if flag else text for text, flag in zip(_hover(data, rows), point_flags,
                                                                          strict=True)],
        flags=point_flags,
        caption=(f"{size:,} of {n:,} decoded images" + (f" (seeded random sample, seed {data.config.seed}; "
                                                        "raise --tsne-max to show more)" if size < n else "")
                 + f"; t-SNE of the PCA vectors, perplexity {perplexity:.0f}. Nearby points look alike at 16x16."
                 + (f" Ringed: the {flagged:,} sampled images flagged above (outliers, neighbours carrying another "
                    "label); toggle them in the legend." if flagged else "")),
    ))
    return size


ANALYSER = Analyser(
    name=NAME,
    title="Embedding explorer and outliers",
    run=run,
    settings=(
        Setting("dims", 32, "PCA dimensions of the image vector", minimum=2),
        Setting("k", 10, "neighbours per image", minimum=1),
        Setting("knn_max", 20000, "images whose neighbours are searched (all rows are candidates); above this a "
                "seeded sample is searched, which bounds the kNN cost at knn_max x n x dims", minimum=1),
        Setting("disagreement_other_share", 0.8, "share of neighbours that must carry one other label",
                minimum=0, maximum=1),
        Setting("disagreement_own_share", 0.0, "share of neighbours with the image's own label at most",
                minimum=0, maximum=1),
        Setting("outlier_z", 4.0, "robust z (median/MAD of the distances) above which an image is an outlier",
                minimum=0),
        Setting("tsne_iterations", 350, "t-SNE iterations, 250 of them early exaggeration", minimum=251),
    ),
    metrics={
        "embedding.outlier_count": "images far from their class or from all images in thumbnail-PCA space",
        "embedding.outlier_rate": "outliers / decoded images",
        "embedding.label_disagreement_count": Metric("images whose nearest neighbours mostly carry one other label", needs=("labels",)),
        "embedding.label_disagreement_rate": Metric("label-disagreement images / images whose neighbours were searched", needs=("labels",)),
        "embedding.tsne_points": "images drawn in the t-SNE explorer (a seeded sample of at most tsne_max)",
    },
)
