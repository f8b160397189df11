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
