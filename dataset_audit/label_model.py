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
    assert HOG_WINDOW == 2 * HOG_STRIDE and height % HOG_STRIDE == 0 and width % HOG_STRIDE == 0
    gx = np.zeros_like(grey)
    gy = np.zeros_like(grey)
    gx[:, :, 1:-1] = grey[:, :, 2:] - grey[:, :, :-2]
    gy[:, 1:-1, :] = grey[:, 2:, :] - grey[:, :-2, :]
    magnitude = np.hypot(gx, gy)
    position = np.mod(np.arctan2(gy, gx), np.pi) / np.pi * HOG_BINS
    floor = np.floor(position)
    lower = floor.astype(np.int64) % HOG_BINS
    upper_weight = position - floor
    upper = (lower + 1) % HOG_BINS
    # Each pixel's magnitude goes to its two nearest bins: two scattered writes, not a masked pass per bin, at flat
    # positions (pixel x HOG_BINS + bin: one index array instead of two to broadcast).
    planes = np.zeros(n * height * width * HOG_BINS, dtype=np.float32)
    first_bin = np.arange(0, planes.size, HOG_BINS)
    magnitude = magnitude.ravel()
    upper_weight = upper_weight.ravel()
    planes[first_bin + lower.ravel()] = magnitude * (1 - upper_weight)
    planes[first_bin + upper.ravel()] += magnitude * upper_weight
    planes = planes.reshape(n, height, width, HOG_BINS)
    # A window is 2 x 2 cells of HOG_STRIDE pixels (HOG_WINDOW = 2 x HOG_STRIDE): cell sums from strided views,
    # then window sums from the cells (faster than an integral image, and no cancellation).
    step = HOG_STRIDE
    cells = sum(planes[:, dy::step, dx::step] for dy in range(step) for dx in range(step))
    windows = cells[:, :-1, :-1] + cells[:, 1:, :-1] + cells[:, :-1, 1:] + cells[:, 1:, 1:]
    histograms = np.maximum(windows.reshape(n, -1), 0.0)
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
    # Mean colour of each of 4x4 cells: rows summed first, then the columns of each cell. One mean over both axes
    # (numpy's reduction over two strided axes) took longer; the sums are of integers, exact in any order.
    rows = thumbs.reshape(n * 4, height // 4, width * 3).astype(np.float32).sum(axis=1)
    colour = rows.reshape(n, 4, 4, width // 4, 3).sum(axis=3) / ((height // 4) * (width // 4))
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
PREDICT_BLOCK = 20_000  # held-out rows scored at once


def out_of_fold_probabilities(features: np.ndarray | FeatureSource, classes: np.ndarray, folds: int,
                              seed: int) -> np.ndarray:
    """(n, m) probabilities, each row from a model fitted without it (stratified folds, seeded), temperature-scaled.

    features: the (n, d) matrix, or a function giving the rows of it that are asked for. With a function (the
    caller's choice above ~125,000 images, where the whole matrix would cost 2.8 KB per image) each fold's model is
    fitted on a seeded sample of at most FIT_MAX of its rows (FIT_MAX / (folds - 1) from each fold's rows) and the
    held-out rows are scored PREDICT_BLOCK at a time, so memory stays bounded; with a matrix every row is used.

    classes: (n,) class indices 0..m-1; every class needs at least `folds` members (the caller makes sure).
    LDA's own probabilities are far too sure (most rows 0 or 1 to float precision), which leaves the margins that
    rank suspected errors tied at -1; one temperature, fitted on the out-of-fold scores, restores an order
    (it never changes the predicted class)."""
    scores, _ = out_of_fold_scores(features, classes, folds, seed)
    return calibrated(scores, classes, seed)


def calibrated(scores: np.ndarray, classes: np.ndarray, seed: int) -> np.ndarray:
    """Probabilities from decision scores: one fitted temperature (fitted_temperature), then softmax; in place."""
    scores /= fitted_temperature(scores, classes, seed)
    return softmax_in_place(scores)


def out_of_fold_scores(features: np.ndarray | FeatureSource, classes: np.ndarray, folds: int,
                       seed: int) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    """(n, m) out-of-fold decision scores (-inf for a class a fold never saw) and the fold models (classes present,
    coef, intercept) of out_of_fold_probabilities."""
    # Imported where used: a warm run, every section from the analysis cache, imports no scikit-learn.
    from sklearn.model_selection import StratifiedKFold

    m = int(classes.max()) + 1
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    held_outs = [held for _, held in splitter.split(np.zeros(len(classes)), classes)]
    part_of = np.empty(len(classes), dtype=np.int64)  # the fold that holds each row out
    for part, held in enumerate(held_outs):
        part_of[held] = part
    rows_of: FeatureSource = features if callable(features) else features.__getitem__
    fit = np.ones(len(classes), dtype=bool)
    if callable(features):
        rng = np.random.default_rng(seed)
        per_part = -(-FIT_MAX // max(folds - 1, 1))
        for held in held_outs:
            if len(held) > per_part:
                fit[held] = False
                fit[rng.choice(held, size=per_part, replace=False)] = True
    models = lda_fold_models(rows_of, classes, part_of, fit, folds, m)
    scores = np.full((len(classes), m), -np.inf)
    for held, (present, coef, intercept) in zip(held_outs, models, strict=True):
        for lo in range(0, len(held), PREDICT_BLOCK):
            block = held[lo:lo + PREDICT_BLOCK]
            scores[np.ix_(block, present)] = rows_of(block) @ coef.T + intercept
    return scores, models


def fold_average_scores(features: np.ndarray, models: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                        m: int) -> np.ndarray:
    """(n, m) decision scores of rows no fold model saw (new images of an --incremental run): the mean of the fold
    models' scores (-inf for a class some fold never saw)."""
    scores = np.zeros((len(features), m))
    for present, coef, intercept in models:
        fold = np.full((len(features), m), -np.inf)
        fold[:, present] = features @ coef.T + intercept
        scores += fold
    return scores / max(len(models), 1)


def lda_fold_models(rows_of: FeatureSource, classes: np.ndarray, part_of: np.ndarray, fit: np.ndarray, folds: int,
                    m: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """For each fold k: (classes present, coef, intercept) of scikit-learn's
    LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto") fitted on the `fit` rows outside part k; its
    decision function is features @ coef.T + intercept.

    The same model, computed once for all folds: each (class, part) block's count, mean and scatter are computed
    once, and each fold's per-class statistics are the sum of its parts' (Chan et al.'s pairwise update). Fitting
    each fold separately recomputed every row's scatter in folds - 1 folds, three times (scikit-learn standardises,
    then Ledoit-Wolf reads the data twice): with 5 folds, twelve d x d products
    per row where this does one. The decision functions equal scikit-learn's up to float32 rounding (a test
    compares them fold by fold).
    Ledoit-Wolf's shrinkage is scikit-learn's (ledoit_wolf_shrinkage on the standardised class, as LDA's _cov
    does): its two sums are the standardised covariance and the rows' squared norms, which need one pass over the
    class's rows per fold (O(n x d)), not a product. Scatter products are float32 on centred data (scikit-learn
    keeps float32 input too); the statistics are float64. Memory: a class's fit rows and 2 x folds d x d matrices."""
    from scipy import linalg  # imported where used, like scikit-learn

    counts = np.zeros((folds, m))
    means: np.ndarray | None = None
    pooled: np.ndarray | None = None  # per fold: sum over classes of count x that class's shrunk covariance
    for label in range(m):
        positions = np.flatnonzero((classes == label) & fit)
        if len(positions) == 0:
            continue
        rows = np.asarray(rows_of(positions), dtype=np.float32)
        parts = part_of[positions]
        d = rows.shape[1]
        if means is None or pooled is None:
            means, pooled = np.zeros((folds, m, d)), np.zeros((folds, d, d))
        blocks = []
        for part in range(folds):
            block = rows[parts == part]
            centre = block.mean(axis=0, dtype=np.float64) if len(block) else np.zeros(d)
            centred = block - centre.astype(np.float32)
            blocks.append((len(block), centre, (centred.T @ centred).astype(np.float64)))
        for fold in range(folds):
            kept = [b for part, b in enumerate(blocks) if part != fold and b[0] > 0]
            n = sum(b[0] for b in kept)
            if n == 0:
                continue
            mean = sum(b[0] * b[1] for b in kept) / n
            scatter = sum(b[2] + b[0] * np.outer(b[1] - mean, b[1] - mean) for b in kept)
            covariance = scatter / n
            scale = _standard_scale(np.diag(covariance).copy(), mean, n)
            standard = covariance / np.outer(scale, scale)
            norms = (((rows[parts != fold] - mean.astype(np.float32)) / scale.astype(np.float32)) ** 2).sum(
                axis=1, dtype=np.float64)
            shrinkage = _ledoit_wolf_shrinkage(standard, norms, n)
            average = float(np.trace(standard)) / d
            shrunk = (1.0 - shrinkage) * standard
            shrunk.flat[::d + 1] += shrinkage * average
            pooled[fold] += n * (shrunk * np.outer(scale, scale))
            counts[fold, label] = n
            means[fold, label] = mean
    assert means is not None and pooled is not None, "no rows to fit"
    models = []
    for fold in range(folds):
        present = np.flatnonzero(counts[fold] > 0)
        total = counts[fold].sum()
        priors = counts[fold, present] / total
        centres = means[fold, present]
        coef = linalg.lstsq(pooled[fold] / total, centres.T)[0].T
        intercept = -0.5 * np.einsum("ij,ij->i", centres, coef) + np.log(priors)
        models.append((present, coef, intercept))
    return models


def _standard_scale(variance: np.ndarray, mean: np.ndarray, n: int) -> np.ndarray:
    """StandardScaler's scale_: the standard deviation, 1 for a constant feature (its test, _is_constant_feature)."""
    eps = np.finfo(np.float64).eps
    constant = variance <= n * eps * variance + (n * mean * eps) ** 2
    return np.where(constant, 1.0, np.sqrt(np.maximum(variance, 0.0)))


def _ledoit_wolf_shrinkage(standard: np.ndarray, norms: np.ndarray, n: int) -> float:
    """scikit-learn's ledoit_wolf_shrinkage of n centred rows whose covariance is `standard` (X.T X / n) and whose
    squared norms are `norms`: its delta_ is the sum of the squared covariance entries, its beta_ the sum of the
    squared norms (every entry of X2.T X2 summed)."""
    d = standard.shape[0]
    if d == 1:
        return 0.0
    trace = np.diag(standard)
    mu = float(trace.sum()) / d
    delta_ = float(np.sum(standard * standard))
    beta_ = float(norms @ norms)
    beta = 1.0 / (d * n) * (beta_ / n - delta_)
    delta = (delta_ - 2.0 * mu * float(trace.sum()) + d * mu ** 2) / d
    beta = min(beta, delta)
    return 0.0 if beta == 0 or delta <= 0 else beta / delta


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
