"""Property tests over table cells: whatever text a CSV cell or JSON-lines value holds, loading either gives a
clear usage error or a table that the whole audit (scan, every analyser, both reporters) gets through without an
analyser error or an exception."""

from __future__ import annotations

import csv
import io
import json
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dataset_audit.config import Config
from dataset_audit.dataset import load_table
from dataset_audit.errors import AuditUsageError
from dataset_audit.pipeline import run_audit
from dataset_audit.report.html import HtmlReporter
from dataset_audit.report.json_report import JsonReporter

# Cells people and tools really produce, mixed with arbitrary text (NUL and control characters included).
SPECIAL = st.sampled_from(["", " ", "NA", "null", "?", "-", ",", ";", "\t", "|", '"', "'", "\n", "\r\n", "\x00",
                           "a.jpg", " b.png ", "../up.png", "/etc/passwd.png", "C:\\x\\y.jpg", "<b>x</b>", "1e309",
                           "-0", "2024-13-45", "café", "CafÃ©", "\u202e", "\ufeff", "💥", "9" * 40])
CELL = st.one_of(SPECIAL, st.text(max_size=12))
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                            HealthCheck.too_slow])


def _audit(source: Path, tmp_path: Path, **options) -> None:
    """Load and audit; a usage error is an allowed answer, anything else must complete cleanly."""
    config = Config(use_cache=False, jobs=1, out=tmp_path / "out", tsne_max=50, **options)
    try:
        table = load_table(source, config)
    except AuditUsageError as exc:
        assert str(exc)  # says what is wrong
        return
    result = run_audit(table, config)
    assert [s.name for s in result.analyser_errors] == [], [s.error for s in result.analyser_errors]
    JsonReporter().render(result)
    HtmlReporter().render(result)


@SETTINGS
@given(rows=st.lists(st.tuples(CELL, CELL, CELL), min_size=1, max_size=6), label=st.booleans())
def test_any_csv_cells(tmp_path_factory, rows, label):
    tmp_path = tmp_path_factory.mktemp("csv")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["path", "label", "note"])
    writer.writerows(rows)
    source = tmp_path / "t.csv"
    source.write_text(buffer.getvalue(), encoding="utf-8")
    _audit(source, tmp_path, path_col="path", label_col="label" if label else None)


JSON_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | CELL,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6,
)


@SETTINGS
@given(records=st.lists(st.fixed_dictionaries({"path": st.sampled_from(["a.png", "b.jpg", "", "c.png"]),
                                               "label": JSON_VALUE, "extra": JSON_VALUE}), min_size=2, max_size=6))
def test_any_json_lines_values(tmp_path_factory, records):
    tmp_path = tmp_path_factory.mktemp("jsonl")
    source = tmp_path / "t.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    _audit(source, tmp_path, label_col="label")
    _audit(source, tmp_path)  # no label: the list cells are only audited as metadata


def test_extreme_numbers_in_a_column_leave_every_analyser_working(tmp_path):
    """A numeric column holding values near the largest float (-1.7e308, 1.7e308) once made the columns
    analyser fail (its range ratio overflowed) and target_leakage fail (sklearn's float32 tree), and numpy printed
    overflow warnings on the terminal. Now every analyser completes without a floating-point warning, charts hold
    finite numbers, and the scale hint names the column."""
    source = _sixty_images(tmp_path, big=lambda i: ["-1.7e308", "1.7e308", str(i)][i % 3],
                           temp=lambda i: str(20 + (i % 7) * 0.5))
    config = Config(use_cache=False, jobs=1, out=tmp_path / "out", tsne_max=50, label_col="label", split_col="split")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a numpy overflow warning fails the analyser that raised it
        result = run_audit(load_table(source, config), config)
    assert [s.name for s in result.analyser_errors] == [], [s.error for s in result.analyser_errors]
    sections = {section.name: section for section in result.sections}
    assert not sections["columns"].skipped and not sections["target_leakage"].skipped
    scale = [f for f in sections["columns"].findings if f.kind == "scale"]
    assert len(scale) == 1 and "'big' about -1.7e+308 to 1.7e+308" in scale[0].message
    assert "(308 orders of magnitude)" in scale[0].message and scale[0].detail["ratio"] is None
    for section in result.sections:
        for chart in section.charts:
            for trace in chart.traces:
                for axis in ("x", "width"):
                    values = [v for v in trace.get(axis, []) if isinstance(v, float)]
                    assert np.isfinite(values).all(), (section.name, chart.title, axis)
    document = json.loads(JsonReporter().render(result))  # allow_nan=False inside: a non-finite number raises
    assert document["findings"]
    HtmlReporter().render(result)


def _sixty_images(tmp_path: Path, **columns: Callable[[int], str]) -> Path:
    """60 random PNGs in tmp_path/data and images.csv over them (labels cat/dog, splits train/test) and a column per
    keyword, its cell in row i given by the keyword's function of i."""
    from imagetools import random_rgb

    folder = tmp_path / "data"
    folder.mkdir(exist_ok=True)
    source = folder / "images.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split", *columns])
        for i in range(60):
            random_rgb(300 + i, (24, 24)).save(folder / f"img_{i}.png")
            writer.writerow([f"img_{i}.png", "cat" if i % 2 else "dog", "train" if i % 3 else "test",
                             *(cell(i) for cell in columns.values())])
    return source


def _findings_and_metrics(tmp_path: Path, vectors: np.ndarray, name: str) -> tuple[dict, list]:
    source = _sixty_images(tmp_path)
    np.save(tmp_path / f"{name}.npy", vectors)
    config = Config(use_cache=False, jobs=1, out=tmp_path / name, tsne_max=50, label_col="label",
                    split_col="split", embeddings=tmp_path / f"{name}.npy",
                    only=["duplicates", "labels", "embedding"])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        result = run_audit(load_table(source, config), config)
    assert [s.name for s in result.analyser_errors] == [], [s.error for s in result.analyser_errors]
    return result.metrics, sorted((f.analyser, f.kind, tuple(f.rows)) for s in result.sections for f in s.findings)


def test_embeddings_of_any_magnitude_give_the_same_findings(tmp_path):
    """Vectors of 1e27 overflowed float32's squares (the standardisation's variance was inf) and vectors of 1e-30
    vanished in them; scaled by a power of two, every magnitude gives the findings of the moderate vectors."""
    rng = np.random.default_rng(5)
    vectors = rng.normal(0, 1, size=(60, 8))
    vectors[1::2] += 1.5  # the cats apart from the dogs
    vectors[7] += 12.0  # an outlier
    vectors[20] = vectors[21] * 1.0001  # a near duplicate pair
    plain = _findings_and_metrics(tmp_path, vectors, "plain")
    assert any(a == "embedding" and k == "outlier" and 7 in r for a, k, r in plain[1])
    assert any(a == "duplicates" and {20, 21} <= set(r) for a, k, r in plain[1])
    for exponent in (90, 500, -100, -1000):
        assert _findings_and_metrics(tmp_path, np.ldexp(vectors, exponent), f"e{exponent}") == plain, exponent


def test_one_dimensional_embeddings_get_a_map(tmp_path):
    """A t-SNE started from PCA needs two dimensions: 1-D vectors made the embedding analyser fail."""
    source = _sixty_images(tmp_path)
    np.save(tmp_path / "one.npy", np.random.default_rng(2).normal(size=(60, 1)))
    config = Config(use_cache=False, jobs=1, out=tmp_path / "out", tsne_max=50, label_col="label",
                    embeddings=tmp_path / "one.npy", only=["embedding"])
    result = run_audit(load_table(source, config), config)
    assert [s.name for s in result.analyser_errors] == [], [s.error for s in result.analyser_errors]
    explorer = result.sections[0].explorers[0]
    assert len(explorer.rows) == 50 and np.isfinite(explorer.x).all() and np.isfinite(explorer.y).all()
