"""Class views: per-class mean/std images are right, samples are seeded and capped, classes are capped."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dataset_audit.analysers import classes
from dataset_audit.config import Config
from dataset_audit.dataset import Table
from dataset_audit.model import AuditInput
from dataset_audit.pipeline import run_analyser
from dataset_audit.scan import Features


def make_input(labels: list[str], thumbs: np.ndarray, status: list[str] | None = None, **config) -> AuditInput:
    status = status or ["ok"] * len(labels)
    features = Features.from_records([{"status": s} for s in status], thumbs=thumbs)
    frame = pd.DataFrame({"path": [f"{i}.png" for i in range(len(labels))], "label": labels})
    table = Table(frame=frame, source="t.csv", root=Path("."), path_col="path", label_col="label")
    return AuditInput(table=table, features=features, config=Config(**config))


def test_mean_image_per_class_on_a_tiny_case():
    thumbs = np.zeros((5, 16, 16, 3), dtype=np.uint8)
    thumbs[0], thumbs[1] = 100, 200  # class a: mean 150, std 50
    thumbs[2, :, :, 0] = 90  # class b: red 90 / 30 -> mean 60
    thumbs[3, :, :, 0] = 30
    thumbs[4] = 255  # unreadable: must not count
    section = run_analyser(classes.ANALYSER, make_input(["a", "a", "b", "b", "a"], thumbs, status=["ok"] * 4 + ["unreadable"]))
    means = {block.title: block.pixels for block in section.galleries[0].images}
    assert means["a"].shape == (16, 16, 3) and means["a"].dtype == np.uint8
    assert np.all(means["a"] == 150)
    assert np.all(means["b"][:, :, 0] == 60) and np.all(means["b"][:, :, 1:] == 0)
    stds = {block.title: block.pixels for block in section.galleries[1].images}
    assert stds["a"].max() == 255  # class a varies most (std 50): the top of the shared scale


def test_random_sample_per_class_is_seeded_and_capped():
    rng = np.random.default_rng(0)
    labels = [f"c{i % 3}" for i in range(300)]
    thumbs = rng.integers(0, 256, size=(300, 16, 16, 3), dtype=np.uint8)
    first = run_analyser(classes.ANALYSER, make_input(labels, thumbs, seed=5))
    again = run_analyser(classes.ANALYSER, make_input(labels, thumbs, seed=5))
    other = run_analyser(classes.ANALYSER, make_input(labels, thumbs, seed=6))
    rows = lambda s: [[item.row for item in m.items] for m in s.montages]  # noqa: E731
    assert rows(first) == rows(again) != rows(other)
    assert [len(m.items) for m in first.montages] == [8, 8, 8]
    for montage in first.montages:
        assert all(labels[item.row] == montage.title for item in montage.items)


def test_classes_are_capped_and_the_rest_named():
    labels = [f"class{i:02d}" for i in range(60)] * 2
    thumbs = np.zeros((120, 16, 16, 3), dtype=np.uint8)
    data = make_input(labels, thumbs, analysers={"classes": {"max_classes": 10, "per_class": 2}})
    section = run_analyser(classes.ANALYSER, data)
    assert len(section.montages) == 10 and len(section.galleries[0].images) == 10
    assert any("10 largest of 60 classes" in note for note in section.notes)
