"""Quality flags: planted dark, bright, blurry, plain, odd-size, odd-aspect and grayscale images are found."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from image_audit import audit_input, blurred, bright, dark, flat, grayscale, photo
from PIL import Image

from dataset_audit.analysers import quality
from dataset_audit.model import Section
from dataset_audit.pipeline import run_analyser

CLEAN = 60


def clean_images(n: int = CLEAN) -> list:
    return [(photo(seed), "ab"[seed % 2]) for seed in range(n)]


def flagged(section: Section, kind: str) -> list[int]:
    return [row for finding in section.findings if finding.kind == kind for row in finding.rows]


@pytest.fixture(scope="module")
def planted(tmp_path_factory) -> tuple[Section, dict[str, int]]:
    images = clean_images()
    extra = {
        "dark": dark(photo(100)),
        "bright": bright(photo(101)),
        "blurry": blurred(photo(102)),
        "low_information": flat(),
        "odd_size": photo(103, size=(256, 256)),
        "odd_aspect": photo(104, size=(160, 40)),
        "grayscale": grayscale(photo(105)),
    }
    rows = {}
    for kind, image in extra.items():
        rows[kind] = len(images)
        images.append((image, "a"))
    data = audit_input(tmp_path_factory.mktemp("quality"), images)
    return run_analyser(quality.ANALYSER, data), rows


def test_clean_images_are_not_flagged(tmp_path: Path):
    section = run_analyser(quality.ANALYSER, audit_input(tmp_path, clean_images()))
    assert section.findings == []
    assert all(section.metrics[f"quality.{kind}_count"] == 0 for kind in quality.FLAG_TEXT)


@pytest.mark.parametrize("kind", list(quality.FLAG_TEXT))
def test_planted_image_is_flagged(planted, kind: str):
    section, rows = planted
    assert rows[kind] in flagged(section, kind)
    assert section.metrics[f"quality.{kind}_count"] >= 1


def test_no_clean_image_is_flagged_next_to_planted_ones(planted):
    section, _ = planted
    assert not [row for finding in section.findings for row in finding.rows if row < CLEAN]


def test_finding_detail_has_scores_and_threshold_source(planted):
    section, rows = planted
    finding = next(f for f in section.findings if f.kind == "dark")
    assert len(finding.detail["scores"]) == len(finding.rows)
    assert "from this dataset" in finding.detail["threshold_from"]
    montage = next(m for m in section.montages if "dark" in m.title)
    assert montage.items[0].row == rows["dark"]


def test_dark_threshold_follows_the_dataset(tmp_path: Path):
    """A dataset of dark photos does not flag every image as dark: the threshold is relative."""
    images = [(dark(photo(seed), factor=0.3 + 0.005 * seed), "a") for seed in range(40)]
    section = run_analyser(quality.ANALYSER, audit_input(tmp_path, images))
    assert flagged(section, "dark") == []


def test_config_override_replaces_the_derived_threshold(tmp_path: Path):
    data = audit_input(tmp_path, clean_images(20), options={"quality": {"dark_max": 250, "dark_highlights_max": 255}})
    section = run_analyser(quality.ANALYSER, data)
    assert len(flagged(section, "dark")) == 20
    finding = next(f for f in section.findings if f.kind == "dark")
    assert "config" in finding.detail["threshold_from"]


def test_grayscale_dataset_is_not_flagged_as_grayscale(tmp_path: Path):
    images = [(grayscale(photo(seed)), "a") for seed in range(20)] + [(photo(99), "a")]
    section = run_analyser(quality.ANALYSER, audit_input(tmp_path, images))
    assert flagged(section, "grayscale") == []
    assert any("Grayscale check not applied" in note for note in section.notes)


def test_grayscale_concentration_by_class(tmp_path: Path):
    images = clean_images(30) + [(grayscale(photo(200 + i)), "c") for i in range(3)]
    section = run_analyser(quality.ANALYSER, audit_input(tmp_path, images))
    table = next(t for t in section.tables if t.title == "Grayscale images by class")
    assert table.rows[0][:3] == ["c", 3, 3]


def test_charts_are_pre_binned(planted):
    section, _ = planted
    for chart in section.charts:
        assert all(len(trace["x"]) <= 50 for trace in chart.traces)
    assert np.isfinite(section.metrics["quality.dark_rate"])


def stroke_on_black(seed: int) -> Image.Image:
    """A thin white stroke on black, like an MNIST '1': a mean luma near 10, yet its stroke is fully lit."""
    pixels = np.zeros((28, 28, 3), dtype=np.uint8)
    column = 10 + seed % 8
    pixels[4:24, column:column + 2] = 255
    return Image.fromarray(pixels)


def test_a_lit_stroke_on_black_is_not_dark_and_a_dark_object_on_white_is_not_bright(tmp_path: Path):
    images = clean_images(20) + [(stroke_on_black(seed), "a") for seed in range(3)]
    object_on_white = np.full((64, 64, 3), 250, dtype=np.uint8)
    object_on_white[20:44, 20:44] = 30
    images += [(dark(photo(100)), "a"), (Image.fromarray(object_on_white), "a"), (bright(photo(101)), "a")]
    strokes, underexposed, on_white, washed_out = [20, 21, 22], 23, 24, 25
    data = audit_input(tmp_path, images)
    section = run_analyser(quality.ANALYSER, data)
    assert flagged(section, "dark") == [underexposed]
    assert flagged(section, "bright") == [washed_out]
    finding = next(f for f in section.findings if f.kind == "dark")
    assert "brightest 1% <= 128" in finding.message
    data.config.analysers = {"quality": {"dark_highlights_max": 255, "bright_shadows_min": 0}}
    unguarded = run_analyser(quality.ANALYSER, data)
    assert set(strokes) <= set(flagged(unguarded, "dark"))
    assert on_white in flagged(unguarded, "bright")
