"""The label model's out-of-fold probabilities with features given as a matrix or computed on demand."""

from __future__ import annotations

import numpy as np
import pytest

from dataset_audit import label_model


def test_features_on_demand_fit_each_fold_on_a_bounded_sample(monkeypatch):
    """Above ~125,000 images the labels analyser passes a feature function instead of the whole matrix: the same
    probabilities while the fit rows fit under FIT_MAX, and a bounded sample (still a useful model) above it."""
    rng = np.random.default_rng(0)
    features = rng.normal(size=(3000, 20)).astype(np.float32)
    classes = rng.integers(0, 3, 3000)
    features[:, 0] += classes * 2
    whole = label_model.out_of_fold_probabilities(features, classes, 5, 0)
    asked: list[int] = []

    def on_demand(rows):
        asked.append(len(rows))
        return features[rows]

    assert np.allclose(label_model.out_of_fold_probabilities(on_demand, classes, 5, 0), whole)
    monkeypatch.setattr(label_model, "FIT_MAX", 500)
    monkeypatch.setattr(label_model, "PREDICT_BLOCK", 100)
    asked.clear()
    sampled = label_model.out_of_fold_probabilities(on_demand, classes, 5, 0)
    fitted, scored = asked[:3], asked[3:]  # one request per class for the fit rows, then the held-out blocks
    assert sum(fitted) == 5 * 125 and max(scored) == 100 and sum(scored) == 3000  # 125 of each part: 500 per fold
    assert np.isfinite(sampled).all()
    assert (sampled.argmax(1) == classes).mean() > (whole.argmax(1) == classes).mean() - 0.05


@pytest.mark.parametrize("classes_count", [2, 4])
def test_each_folds_model_is_scikit_learns_shrunk_lda(classes_count):
    """lda_fold_models computes every fold at once from per-part statistics; each fold's decision function is the
    one LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto") fitted on that fold's rows gives."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

    rng = np.random.default_rng(3)
    n, d, folds = 1200, 12, 4
    classes = rng.integers(0, classes_count, n)
    features = (rng.normal(size=(n, d)) * rng.uniform(0.1, 5, d) + classes[:, None] * rng.normal(size=d)
                ).astype(np.float32)
    features[:, 3] = 2.5  # a constant feature, as blank thumbnail corners give
    part_of = rng.integers(0, folds, n)
    fit = rng.random(n) > 0.1
    models = label_model.lda_fold_models(features.__getitem__, classes, part_of, fit, folds, classes_count)
    for fold, (present, coef, intercept) in enumerate(models):
        train = fit & (part_of != fold)
        reference = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto").fit(features[train], classes[train])
        expected = reference.decision_function(features)
        ours = features @ coef.T + intercept
        assert list(present) == list(range(classes_count))
        if classes_count == 2:  # scikit-learn gives the difference of the two classes' scores
            ours = ours[:, 1] - ours[:, 0]
        assert np.allclose(ours, expected, rtol=1e-4, atol=1e-3 * np.abs(expected).max())


def test_the_temperature_fitted_on_a_sample_of_many_rows_is_the_one_all_rows_give(monkeypatch):
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (150_000, 3))
    shown = label_model.softmax_in_place(logits / 4.0)  # the labels follow softmax(logits / 4)
    classes = (shown.cumsum(axis=1) < rng.random((len(shown), 1))).sum(axis=1)
    sampled = label_model.fitted_temperature(logits, classes, seed=1)
    monkeypatch.setattr(label_model, "TEMPERATURE_SAMPLE", 10**9)
    every = label_model.fitted_temperature(logits, classes, seed=1)
    assert 3.0 < every < 5.5 and abs(np.log(sampled / every)) <= np.log(10 ** 0.1) + 1e-9  # one grid step
    expected = np.exp(logits[:5] - logits[:5].max(axis=1, keepdims=True))
    assert np.allclose(label_model.softmax_in_place(logits[:5].copy()), expected / expected.sum(axis=1, keepdims=True))
