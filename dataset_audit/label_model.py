"""The cheap model behind the label check: image features from the scan's thumbnails, and out-of-fold probabilities.

Features of a 16x16 RGB thumbnail (696 values): the grey-level pixels (256), a HOG-like descriptor (gradient
orientation histograms, 8 unsigned bins, over 4x4-pixel windows at stride 2: 7x7 windows, 392 values,
square-root-L2 normalised) and a 4x4 colour layout (48). The model is linear discriminant analysis with
Ledoit-Wolf shrinkage, fitted k times (stratified, seeded folds) so every row is predicted by a model that never saw
it; one temperature fitted on the out-of-fold scores undoes LDA's overconfidence so margins rank (accuracy is
unchanged). Chosen by measurement on the MNIST and CIFAR-10 test sets (5 folds, 1 thread): LDA or logistic
regression on raw pixels were clearly weaker than on HOG features; grey pixels + overlapping HOG beat HOG alone; kNN
was a little weaker, and averaging it with LDA gained a fraction of a point but put fewer of MNIST's
human-confirmed errors near the top of the ranking; a colour layout helps CIFAR-10. `make bench` reports the chosen
model's accuracy and seconds (bench/RESULTS.md, labels_* rows).

Cost: features O(n) (a few array passes); LDA O(n x d^2 + d^3) per fold with d = 696, so linear in n.
With the user's own embeddings, the same model runs on those vectors (reduced by PCA to at most EMBEDDING_DIMS).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
HOG_BINS, HOG_WINDOW, HOG_STRIDE = 8, 4, 2
EMBEDDING_DIMS = 256  # user vectors wider than this are reduced by PCA first (LDA cost grows as d^2)
PCA_FIT_MAX = 20000
BLOCK = 2048  # thumbnails turned into features at once: ~75 MB of gradient planes and integral images


def gradient_histograms(grey: np.ndarray) -> np.ndarray:
    """(n, windows x HOG_BINS) HOG-like features of (n, h, w) grey images: unsigned orientation histograms
    (linear interpolation between bins) of central-difference gradients over overlapping windows."""
    n, height, width = grey.shape
    gx = np.zeros_like(grey)
    gy = np.zeros_like(grey)
    gx[:, :, 1:-1] = grey[:, :, 2:] - grey[:, :, :-2]
    gy[:, 1:-1, :] = grey[:, 2:, :] - grey[:, :-2, :]
    magnitude = np.hypot(gx, gy)
    position = np.mod(np.arctan2(gy, gx), np.pi) / np.pi * HOG_BINS
    lower = np.floor(position).astype(np.int64) % HOG_BINS
    upper_weight = position - np.floor(position)
    upper = (lower + 1) % HOG_BINS
    planes = np.zeros((n, height, width, HOG_BINS), dtype=np.float32)
    for b in range(HOG_BINS):
        planes[..., b] = magnitude * ((lower == b) * (1 - upper_weight) + (upper == b) * upper_weight)
    # Window sums from an integral image: every window costs four lookups.
    integral = np.pad(planes.cumsum(axis=1).cumsum(axis=2), ((0, 0), (1, 0), (1, 0), (0, 0)))
    starts_y = range(0, height - HOG_WINDOW + 1, HOG_STRIDE)
    starts_x = range(0, width - HOG_WINDOW + 1, HOG_STRIDE)
    w = HOG_WINDOW
    windows = [integral[:, y + w, x + w] - integral[:, y, x + w] - integral[:, y + w, x] + integral[:, y, x]
               for y in starts_y for x in starts_x]
    histograms = np.maximum(np.stack(windows, axis=1).reshape(n, -1), 0.0)
    return np.sqrt(histograms / (np.linalg.norm(histograms, axis=1, keepdims=True) + 1e-6))


def thumbnail_features_of(thumbs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """thumbnail_features of thumbs[rows], BLOCK images at a time: the gradient planes and their integral image
    take ~35 KB per image while computed, the result 2.8 KB."""
    if len(rows) == 0:
        return thumbnail_features(thumbs[rows])
    first = thumbnail_features(thumbs[rows[:1]])
    out = np.empty((len(rows), first.shape[1]), dtype=np.float32)
    for lo in range(0, len(rows), BLOCK):
        out[lo:lo + BLOCK] = thumbnail_features(thumbs[rows[lo:lo + BLOCK]])
    return out


def thumbnail_features(thumbs: np.ndarray) -> np.ndarray:
    """(n, 696) float32 features of (n, 16, 16, 3) uint8 thumbnails: grey pixels, HOG-like, 4x4 colour layout."""
    n, height, width, _ = thumbs.shape
    grey = thumbs.astype(np.float32) @ LUMA
    colour = thumbs.reshape(n, 4, height // 4, 4, width // 4, 3).mean(axis=(2, 4), dtype=np.float32)
    return np.hstack([grey.reshape(n, -1) / 255.0, gradient_histograms(grey / 255.0),
                      colour.reshape(n, -1) / 255.0]).astype(np.float32)


def embedding_features(vectors: np.ndarray, seed: int) -> np.ndarray:
    """User vectors, standardised, reduced by PCA to at most EMBEDDING_DIMS (fitted on a seeded sample)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    scale = vectors.std(axis=0)
    vectors = (vectors - vectors.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    if vectors.shape[1] <= EMBEDDING_DIMS:
        return vectors
    rng = np.random.default_rng(seed)
    fit_rows = rng.choice(len(vectors), size=min(len(vectors), PCA_FIT_MAX), replace=False)
    from sklearn.decomposition import PCA  # imported where used: a warm run, every section cached, needs none

    pca = PCA(n_components=min(EMBEDDING_DIMS, len(fit_rows)), svd_solver="randomized", random_state=seed)
    pca.fit(vectors[fit_rows])
    return pca.transform(vectors).astype(np.float32)


FeatureSource = Callable[[np.ndarray], np.ndarray]  # positions (into classes) -> their feature rows
FIT_MAX = 100_000  # rows a fold's model is fitted on when the features are computed on demand (large datasets)
PREDICT_BLOCK = 20_000  # held-out rows scored at once on that path


def out_of_fold_probabilities(features: np.ndarray | FeatureSource, classes: np.ndarray, folds: int,
                              seed: int) -> np.ndarray:
    """(n, m) probabilities, each row from a model fitted without it (stratified folds, seeded), temperature-scaled.

    features: the (n, d) matrix, or a function giving the rows of it that are asked for. With a function (the
    caller's choice above ~125,000 images, where the whole matrix would cost 2.8 KB per image) each fold's model is
    fitted on a seeded sample of at most FIT_MAX of its rows and the held-out rows are scored PREDICT_BLOCK at a
    time, so memory stays bounded; with a matrix every row is used, as before.

    classes: (n,) class indices 0..m-1; every class needs at least `folds` members (the caller makes sure).
    LDA's own probabilities are far too sure (most rows 0 or 1 to float precision), which leaves the margins that
    rank suspected errors tied at -1; one temperature, fitted on the out-of-fold scores, restores an order
    (it never changes the predicted class)."""
    m = int(classes.max()) + 1
    scores = np.full((len(classes), m), -np.inf)
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    rows_of: FeatureSource = features if callable(features) else features.__getitem__
    lazy = callable(features)
    rng = np.random.default_rng(seed)
    for fit_rows, held_out in splitter.split(np.zeros(len(classes)), classes):
        if lazy and len(fit_rows) > FIT_MAX:
            fit_rows = np.sort(rng.choice(fit_rows, size=FIT_MAX, replace=False))
        model = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # collinear features (constant pixels) are expected here
            model.fit(rows_of(fit_rows), classes[fit_rows])
            step = PREDICT_BLOCK if lazy else max(len(held_out), 1)
            for lo in range(0, len(held_out), step):
                block = held_out[lo:lo + step]
                decision = model.decision_function(rows_of(block))
                if decision.ndim == 1:  # two classes: predict_proba is softmax([0, s])
                    decision = np.column_stack([np.zeros_like(decision), decision])
                scores[np.ix_(block, model.classes_)] = decision
    scores /= fitted_temperature(scores, classes, seed)
    return softmax_in_place(scores)


def softmax_in_place(scores: np.ndarray) -> np.ndarray:
    """softmax of each row, written over `scores` (at a million rows and 10 classes each copy is 80 MB)."""
    scores -= scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    return scores


TEMPERATURE_SAMPLE = 100_000  # rows the temperature is fitted on (a seeded sample above this; one number to fit)


def fitted_temperature(scores: np.ndarray, classes: np.ndarray, seed: int = 0) -> float:
    """The temperature T minimising the cross-entropy of softmax(scores / T) on the labels (log-spaced search), on
    a seeded sample of TEMPERATURE_SAMPLE rows when there are more: each of the 41 trials makes three copies of the
    scores, 240 MB at a million rows, for one number that 100,000 rows fit as well."""
    if len(classes) > TEMPERATURE_SAMPLE:
        pick = np.sort(np.random.default_rng(seed).choice(len(classes), TEMPERATURE_SAMPLE, replace=False))
        scores, classes = scores[pick], classes[pick]
    rows = np.arange(len(classes))
    finite = np.where(np.isfinite(scores), scores, np.nan)
    best, best_loss = 1.0, np.inf
    for temperature in np.geomspace(0.1, 1000.0, 41):
        scaled = finite / temperature
        top = np.nanmax(scaled, axis=1, keepdims=True)
        log_total = top[:, 0] + np.log(np.nansum(np.exp(scaled - top), axis=1))
        loss = float(np.mean(log_total - scaled[rows, classes]))
        if loss < best_loss:
            best, best_loss = float(temperature), loss
    return best
