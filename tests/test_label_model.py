"""The label model's out-of-fold probabilities with features given as a matrix or computed on demand."""

from __future__ import annotations

import numpy as np

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
    assert max(asked) == 500 and np.isfinite(sampled).all()
    assert (sampled.argmax(1) == classes).mean() > (whole.argmax(1) == classes).mean() - 0.05


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
