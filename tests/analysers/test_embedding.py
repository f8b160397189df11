"""Embedding: planted outliers are found; the t-SNE explorer shows the capped sample; --embeddings replace thumbnails."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dataset_audit.analysers import embedding
from dataset_audit.config import Config
from dataset_audit.dataset import Table
from dataset_audit.model import AuditInput, Section
from dataset_audit.model_outputs import ModelOutputs
from dataset_audit.pipeline import prepared_input, run_analyser
from dataset_audit.scan import Features

PER_CLASS = 40
COLOURS = {"red": (200, 50, 40), "blue": (40, 60, 200), "green": (50, 190, 60)}


def thumb(rng: np.random.Generator, colour: tuple[int, int, int]) -> np.ndarray:
    base = np.array(colour, dtype=np.float64)[None, None, :]
    gradient = np.linspace(-30, 30, 16)[None, :, None] * rng.uniform(0.5, 1.5)
    return np.clip(base + gradient + rng.normal(0, 12, size=(16, 16, 3)), 0, 255).astype(np.uint8)


def make_input(thumbs: list[np.ndarray], labels: list[str], **config) -> AuditInput:
    n = len(labels)
    features = Features.from_records([{"status": "ok"}] * n, thumbs=np.stack(thumbs))
    frame = pd.DataFrame({"path": [f"img/{i:03d}.png" for i in range(n)], "label": labels,
                          "camera": ["A long camera name that should be cut short in the hover text" * 2] * n})
    table = Table(frame=frame, source="t.csv", root=Path("."), path_col="path", label_col="label")
    return AuditInput(table=table, features=features, config=Config(**config))


def planted_input(**config) -> tuple[AuditInput, dict[str, int]]:
    rng = np.random.default_rng(0)
    thumbs, labels = [], []
    for name, colour in COLOURS.items():
        for _ in range(PER_CLASS):
            thumbs.append(thumb(rng, colour))
            labels.append(name)
    rows = {"mislabelled": len(labels)}
    thumbs.append(thumb(rng, COLOURS["blue"]))  # looks blue, labelled red
    labels.append("red")
    rows["outlier"] = len(labels)
    checker = np.zeros((16, 16, 3), dtype=np.uint8)
    checker[::2, ::2] = 255
    checker[1::2, 1::2] = 255
    thumbs.append(checker)  # unlike anything
    labels.append("green")
    return make_input(thumbs, labels, **config), rows


@pytest.fixture(scope="module")
def planted() -> tuple[Section, dict[str, int]]:
    data, rows = planted_input(tsne_max=50, montage_max=12)
    return run_analyser(embedding.ANALYSER, data), rows


def rows_of(section: Section, kind: str) -> list[int]:
    return [row for finding in section.findings if finding.kind == kind for row in finding.rows]


def test_planted_outlier_is_found(planted):
    section, rows = planted
    assert rows["outlier"] in rows_of(section, "outlier")
    scopes = {f.detail["scope"] for f in section.findings if f.kind == "outlier" and rows["outlier"] in f.rows}
    assert scopes == {"global", "class"}
    assert section.metrics["embedding.outlier_count"] >= 1


def test_typical_images_are_not_flagged(planted):
    section, rows = planted
    assert set(rows_of(section, "outlier")) <= set(rows.values())


def test_explorer_holds_the_capped_seeded_sample(planted):
    section, _ = planted
    explorer = section.explorers[0]
    n = 3 * PER_CLASS + 2
    assert len(explorer.rows) == len(explorer.x) == len(explorer.y) == len(explorer.hover) == 50
    assert len(set(explorer.rows)) == 50 and max(explorer.rows) < n
    assert section.metrics["embedding.tsne_points"] == 50
    assert "50 of 122" in explorer.caption
    assert all(len(text) < 200 for text in explorer.hover)
    assert set(explorer.colour) <= set(COLOURS)


def test_neighbours_skip_the_query_even_among_exact_duplicates():
    vectors = np.zeros((5, 2), dtype=np.float32)
    indices, distances = embedding.neighbours(vectors, np.arange(5), k=3, jobs=1)
    assert all(i not in row for i, row in enumerate(indices.tolist()))
    assert distances.shape == (5, 3)


def test_unlabelled_data_gets_outliers_and_a_map():
    rng = np.random.default_rng(1)
    thumbs = [thumb(rng, COLOURS["red"]) for _ in range(30)]
    data = make_input(thumbs, [""] * 30)
    data.table.label_col = None
    section = run_analyser(embedding.ANALYSER, data)
    assert "embedding.outlier_count" in section.metrics
    assert len(section.explorers[0].rows) == 30


def test_explorer_rings_the_flagged_images_and_times_tsne():
    data, rows = planted_input(tsne_max=1000)
    section = run_analyser(embedding.ANALYSER, data)
    explorer = section.explorers[0]
    flags = dict(zip(explorer.rows, explorer.flags, strict=True))
    assert flags[rows["outlier"]] == "outlier"
    # The blue image labelled red is far from the red class too; nothing unplanted is ringed.
    assert {row for row, flag in flags.items() if flag} == set(rows.values())
    assert "outlier" in explorer.hover[explorer.rows.index(rows["outlier"])]
    assert "Ringed: the 2 sampled images" in explorer.caption
    assert section.timings["tsne"] > 0


def test_the_map_is_the_side_part_and_its_points_are_the_sampled_pca_vectors_of_the_fit():
    """The side part fits the analyser's PCA and maps the sampled rows only: the same points as the analyser's
    vectors at those rows, and the coordinates run_analyser puts into the explorer."""
    data, _ = planted_input(tsne_max=40, jobs=1)  # one thread: the two t-SNE runs below are the same run
    data = prepared_input(embedding.ANALYSER, data)  # its settings, as the pipeline gives them
    section = run_analyser(embedding.ANALYSER, data)
    explorer = section.explorers[0]
    points = embedding.map_points(data)
    assert points is not None and points.rows == explorer.rows and len(points.x) == 40
    assert (points.x, points.y) == (explorer.x, explorer.y)
    ok_rows = np.flatnonzero(data.features.ok)
    sample = embedding.map_sample(len(ok_rows), data)
    full, _, _ = embedding.vectors_for(data, ok_rows, data.settings.dims)
    alone, _, _ = embedding.vectors_for(data, ok_rows, data.settings.dims, only=sample)
    np.testing.assert_allclose(alone, full[sample], rtol=1e-5, atol=1e-5)


def test_a_failing_map_fails_the_section_but_keeps_its_outliers(monkeypatch):
    def broken(*args, **kwargs):
        raise MemoryError("no room for the map")

    monkeypatch.setattr(embedding, "tsne_map", broken)
    data, rows = planted_input(tsne_max=1000)
    section = run_analyser(embedding.ANALYSER, data)
    assert section.explorers == [] and section.metrics["embedding.tsne_points"] == 0
    assert section.error == "its tsne step: MemoryError: no room for the map"
    error = next(f for f in section.findings if f.kind == "analyser_error")
    assert error.message == "the embedding analyser's tsne step failed: MemoryError: no room for the map"
    assert any(rows["outlier"] in f.rows for f in section.findings if f.kind == "outlier")


def test_explorer_rings_the_images_the_knn_label_check_flags():
    """The blue image labelled red: its neighbours carry blue, in the map's hover text as in the label section."""
    from dataset_audit.analysers import labels

    data, rows = planted_input(tsne_max=1000)
    explorer = run_analyser(embedding.ANALYSER, data).explorers[0]
    flags = dict(zip(explorer.rows, explorer.flags, strict=True))
    assert "neighbours carry: blue" in flags[rows["mislabelled"]]
    assert "neighbours carry: blue" in explorer.hover[explorer.rows.index(rows["mislabelled"])]
    disagreement = next(f for f in run_analyser(labels.ANALYSER, data).findings if f.kind == "label_disagreement")
    assert {row for row, flag in flags.items() if "neighbours carry" in flag} == set(disagreement.rows)


def test_user_embeddings_replace_the_thumbnails_for_outliers_and_the_map():
    """Thumbnails all alike; the user's vectors hold one far-away row: it is the outlier, and the notes say so."""
    rng = np.random.default_rng(3)
    n = 60
    data = make_input([thumb(rng, COLOURS["red"]) for _ in range(n)], ["red"] * n, tsne_max=40)
    vectors = rng.normal(0, 1, size=(n, 64)).astype(np.float32)
    vectors[17] += 40.0
    data.table.outputs = ModelOutputs(embeddings=vectors, embedding_source="--embeddings clip.npy")
    section = run_analyser(embedding.ANALYSER, data)
    assert 17 in rows_of(section, "outlier")
    assert any("your vectors (--embeddings clip.npy)" in note for note in section.notes)
    assert "in your vectors" in section.explorers[0].caption


def test_a_compact_class_with_a_skewed_spread_flags_only_the_real_outlier(monkeypatch):
    """Distances to a compact class's centroid are right-skewed (bold strokes of a digit): a robust z on the raw
    distance flags that ordinary tail, a robust z on a symmetric scale flags only the image far beyond it."""
    rng = np.random.default_rng(3)
    base = rng.uniform(90, 160, size=(16, 16, 3))
    thumbs, labels = [], []
    for spread in rng.lognormal(0.0, 0.6, 400):  # how far each image strays from the class's typical look
        direction = rng.normal(0, 1, size=(16, 16, 3))
        thumbs.append(np.clip(base + 3.0 * spread * direction, 0, 255).astype(np.uint8))
        labels.append("one")
    outlier = len(thumbs)
    thumbs.append(np.clip(base + 40.0 * rng.normal(0, 1, size=(16, 16, 3)), 0, 255).astype(np.uint8))
    labels.append("one")
    data = make_input(thumbs, labels, tsne_max=0)
    class_outliers = [row for f in run_analyser(embedding.ANALYSER, data).findings
                      if f.kind == "outlier" and f.detail["scope"] == "class" for row in f.rows]
    assert class_outliers[0] == outlier and len(class_outliers) <= 2  # at most the top draw of the tail besides
    monkeypatch.setattr(embedding, "symmetric_scale", lambda distance: distance)  # the raw scale
    raw = [row for f in run_analyser(embedding.ANALYSER, data).findings
           if f.kind == "outlier" and f.detail["scope"] == "class" for row in f.rows]
    assert outlier in raw and len(raw) >= 3 * len(class_outliers), raw


def test_tsne_map_keeps_apart_three_clusters_with_either_implementation(monkeypatch):
    """openTSNE (the tsne extra, installed by `make install`) and the scikit-learn fallback give the same shape of
    map, and both keep three well-separated clusters apart."""
    pytest.importorskip("openTSNE", reason="the tsne extra is not installed (make install installs it)")
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 10, size=(3, 32))
    labels = np.repeat(np.arange(3), 40)
    points = centres[labels] + rng.normal(0, 1, size=(len(labels), 32))
    maps = {}
    for blocked in (False, True):
        if blocked:
            monkeypatch.setitem(sys.modules, "openTSNE", None)  # the import fails: scikit-learn takes over
        coordinates, implementation = embedding.tsne_map(points, 10.0, 300, 0, 1)
        maps[implementation] = coordinates
    assert set(maps) == {"openTSNE", "scikit-learn"}
    for coordinates in maps.values():
        assert coordinates.shape == (len(points), 2) and np.isfinite(coordinates).all()
        nearest = np.argsort(np.linalg.norm(coordinates[:, None] - coordinates[None], axis=2), axis=1)[:, 1:6]
        assert (labels[nearest] == labels[:, None]).mean() > 0.95
