"""properties: sizes, modes and formats of the decoded images, with counts people can check."""

from __future__ import annotations

from image_audit import audit_input, photo
from PIL import Image

from dataset_audit.analysers import properties
from dataset_audit.pipeline import run_analyser


def test_sizes_and_modes_are_counted(tmp_path):
    images = [(photo(i, (64, 48)), "a") for i in range(6)] + [(photo(9, (32, 32)), "b")]
    images.append((photo(10, (64, 48)).convert("L"), "b"))
    section = run_analyser(properties.ANALYSER, audit_input(tmp_path, images))
    assert section.metrics["properties.distinct_sizes"] == 2
    assert (section.metrics["properties.median_width"], section.metrics["properties.median_height"]) == (64, 48)
    assert section.metrics["properties.distinct_modes"] == 2
    modes = next(t for t in section.tables if t.title.startswith("Colour modes"))
    assert modes.rows[0][:2] == ["RGB", 7] and modes.rows[1][:2] == ["L", 1]
    assert any(c.title == "Width and height" for c in section.charts)


def test_one_size_draws_no_size_scatter(tmp_path):
    section = run_analyser(properties.ANALYSER, audit_input(tmp_path, [(photo(i), "a") for i in range(4)]))
    assert section.metrics["properties.distinct_sizes"] == 1
    assert not any(c.title == "Width and height" for c in section.charts)


def test_nothing_decoded_is_skipped(tmp_path):
    (tmp_path / "images").mkdir()
    data = audit_input(tmp_path, [(Image.new("RGB", (8, 8)), "a")])
    (tmp_path / "images" / "0000.png").write_bytes(b"not an image")
    from dataset_audit.scan import scan_images
    data.features = scan_images(data.table.resolved_paths(), jobs=1, cache_dir=None)
    section = run_analyser(properties.ANALYSER, data)
    assert section.skipped == "no image could be decoded"
