"""Pixel statistics: pooled channel mean/std by the law of total variance, per class, and bounded charts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from image_audit import audit_input
from PIL import Image

from dataset_audit.analysers import pixels
from dataset_audit.config import Config
from dataset_audit.dataset import Table
from dataset_audit.model import AuditInput
from dataset_audit.pipeline import run_analyser
from dataset_audit.scan import Features


def test_dataset_std_is_the_pooled_std_not_the_mean_of_stds():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, size=(8, 8, 3)).astype(np.float64) * scale + shift
              for scale, shift in ((0.2, 10), (0.5, 100), (0.1, 200))]
    means = np.array([im.reshape(-1, 3).mean(axis=0) for im in images])
    stds = np.array([im.reshape(-1, 3).std(axis=0) for im in images])
    mean, std = pixels.channel_stats(means, stds)
    pooled = np.concatenate([im.reshape(-1, 3) for im in images]) / 255.0
    np.testing.assert_allclose(mean, pooled.mean(axis=0), rtol=1e-9)
    np.testing.assert_allclose(std, pooled.std(axis=0), rtol=1e-9)
    assert np.all(std > (stds / 255.0).mean(axis=0) * 1.5)  # the mean of stds would be far too small


def test_per_class_numbers_on_a_tiny_case(tmp_path: Path):
    red = Image.new("RGB", (8, 8), (255, 0, 0))
    half = Image.fromarray(np.tile(np.array([0, 255], dtype=np.uint8)[None, :, None], (8, 4, 3)))  # 0/255 stripes
    data = audit_input(tmp_path, [(red, "red"), (red, "red"), (half, "stripes")])
    section = run_analyser(pixels.ANALYSER, data)
    rows = {row[0]: row for row in section.tables[0].rows}
    assert rows["red"][1:] == [2, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert rows["stripes"][1:] == [1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    # All three images: R is 1, 1, 0.5 with variances 0, 0, 0.25 -> mean 0.8333, var 0.25/3 + var(1, 1, .5)
    expected_std = np.sqrt(0.25 / 3 + np.var([1.0, 1.0, 0.5]))
    assert abs(section.metrics["pixels.mean_r"] - 2.5 / 3) < 1e-6
    assert abs(section.metrics["pixels.std_r"] - expected_std) < 1e-6
    assert any("transforms.Normalize(mean=(0.8333, 0.1667, 0.1667)" in note for note in section.notes)


def test_charts_hold_bins_not_images_and_cap_classes():
    n, classes = 3000, 30
    rng = np.random.default_rng(1)
    records = [{"status": "ok", "width": 32, "height": 32, "mean_r": m, "mean_g": m, "mean_b": m, "std_r": 40.0,
                "std_g": 40.0, "std_b": 40.0, "brightness": m, "contrast": 40.0} for m in rng.uniform(20, 230, n)]
    thumbs = rng.integers(0, 256, size=(n, 16, 16, 3), dtype=np.uint8)
    features = Features.from_records(records, thumbs=thumbs)
    frame = pd.DataFrame({"path": [f"{i}.jpg" for i in range(n)], "label": [f"c{i % classes}" for i in range(n)]})
    table = Table(frame=frame, source="t.csv", root=Path("."), path_col="path", label_col="label")
    section = run_analyser(pixels.ANALYSER, AuditInput(table=table, features=features, config=Config()))
    for chart in section.charts:
        assert len(chart.traces) == 20
        assert all(len(trace["x"]) <= 40 for trace in chart.traces)
    colour = next(c for c in section.charts if c.title.startswith("Red"))
    assert all(abs(sum(trace["y"]) - 1) < 1e-2 for trace in colour.traces)
    assert len(section.tables[0].rows) == 1 + classes
