"""Duplicates analyser: planted exact, re-encoded, near (shifted, re-cropped, colour-shifted), conflicting-label and
cross-split copies are found with the right rows; distinct images are not flagged."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image, ImageDraw

from dataset_audit.analysers import duplicates
from dataset_audit.config import Config
from dataset_audit.dataset import Table
from dataset_audit.model import AuditInput, Section
from dataset_audit.pipeline import run_analyser
from dataset_audit.scan import scan_images

DISTINCT = 30  # unrelated images around the planted ones, so the ratio test has neighbours to compare with


def scene(seed: int, size: int = 64) -> Image.Image:
    """A photo-like image: most energy in large shapes, less in finer detail (like real photos, unlike pure noise)."""
    rng = np.random.default_rng(seed)
    layers = [(5, 1.0), (9, 0.45), (17, 0.2)]  # (grid cells across, amplitude)
    pixels = np.zeros((size, size, 3))
    for cells, amplitude in layers:
        grid = rng.uniform(0, 255, size=(cells, cells, 3)).astype(np.uint8)
        pixels += amplitude * np.asarray(Image.fromarray(grid).resize((size, size), Image.Resampling.BICUBIC), float)
    pixels = (pixels - pixels.mean()) / pixels.std() * 50 + 128
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def shifted(image: Image.Image, dx: int, dy: int) -> Image.Image:
    """The same shot moved by (dx, dy) pixels (a 2-pixel border is cut off so nothing has to be invented)."""
    width, height = image.size
    return image.crop((2 + dx, 2 + dy, width - 2 + dx, height - 2 + dy))


def recropped(image: Image.Image, keep: float = 0.92) -> Image.Image:
    width, height = image.size
    box = (0, 0, int(width * keep), int(height * keep))
    return image.crop(box).resize(image.size, Image.Resampling.BICUBIC)


def jittered(image: Image.Image) -> Image.Image:
    pixels = np.asarray(image, dtype=np.float64) * np.array([1.15, 0.95, 0.85]) + 12
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def build(tmp_path: Path, entries: list[tuple[str, str, str]], options: dict | None = None) -> AuditInput:
    """entries: (file name, label, split); files must already exist under tmp_path/images."""
    frame = pd.DataFrame({"path": [f"images/{name}" for name, _, _ in entries],
                          "label": [label for _, label, _ in entries],
                          "split": [split for _, _, split in entries]})
    table = Table(frame=frame, source=str(tmp_path / "t.csv"), root=tmp_path, path_col="path", label_col="label",
                  split_col="split")
    features = scan_images(table.resolved_paths(), jobs=1, cache_dir=None)
    return AuditInput(table=table, features=features, config=Config(analysers={"duplicates": options or {}}))


def distinct_images(folder: Path, count: int = DISTINCT, first_seed: int = 1000) -> list[tuple[str, str, str]]:
    entries = []
    for index in range(count):
        name = f"distinct_{index:03d}.png"
        scene(first_seed + index).save(folder / name)
        entries.append((name, f"class{index % 3}", "train" if index % 4 else "test"))
    return entries


def findings(section: Section, kind: str) -> list[list[int]]:
    return [sorted(f.rows) for f in section.findings if f.kind == kind]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "images"
    path.mkdir()
    return path


def test_distinct_images_are_not_flagged(tmp_path: Path, folder: Path) -> None:
    section = run_analyser(duplicates.ANALYSER, build(tmp_path, distinct_images(folder, 40)))
    assert section.findings == []
    assert section.metrics["duplicates.near_count"] == 0
    assert section.metrics["duplicates.exact_count"] == 0
    assert section.metrics["leakage.cross_split_rate"] == 0.0


def test_exact_copy_and_re_encoded_copy(tmp_path: Path, folder: Path) -> None:
    entries = distinct_images(folder)
    original = scene(1)
    original.save(folder / "a.png")
    shutil.copy(folder / "a.png", folder / "a_copy.png")  # same bytes, another name
    original.save(folder / "a_recompressed.png", compress_level=1)  # other bytes, same pixels
    scene(2).save(folder / "b.png")
    entries += [("a.png", "cat", "train"), ("a_copy.png", "cat", "train"), ("a_recompressed.png", "cat", "train"),
                ("b.png", "dog", "train")]
    section = run_analyser(duplicates.ANALYSER, build(tmp_path, entries))
    base = DISTINCT
    assert findings(section, "exact_duplicate") == [[base, base + 1, base + 2]]
    assert section.metrics["duplicates.exact_count"] == 2
    assert section.metrics["duplicates.exact_rate"] == pytest.approx(2 / len(entries))
    assert findings(section, "near_duplicate") == []
    assert findings(section, "conflicting_labels") == []
    assert len(section.montages) == 1 and [item.row for item in section.montages[0].items] == [base, base + 1, base + 2]


@pytest.mark.parametrize("variant", [
    lambda image: shifted(image, 1, 0),
    lambda image: shifted(image, 2, -2),
    recropped,
    jittered,
    lambda image: image.convert("RGB").resize((48, 48), Image.Resampling.BILINEAR),  # re-scaled
], ids=["shift-1px", "shift-2px", "re-cropped", "colour-jittered", "re-scaled"])
def test_near_duplicate_variants_are_found(tmp_path: Path, folder: Path, variant) -> None:
    entries = distinct_images(folder)
    original = scene(7)
    original.save(folder / "original.png")
    variant(original).save(folder / "variant.jpg", quality=85)
    entries += [("original.png", "cat", "train"), ("variant.jpg", "cat", "train")]
    section = run_analyser(duplicates.ANALYSER, build(tmp_path, entries))
    assert findings(section, "near_duplicate") == [[DISTINCT, DISTINCT + 1]]
    assert section.metrics["duplicates.near_count"] == 1
    assert section.metrics["duplicates.near_rate"] == pytest.approx(1 / len(entries))
    assert findings(section, "exact_duplicate") == []


def test_conflicting_labels_and_leakage(tmp_path: Path, folder: Path) -> None:
    entries = distinct_images(folder)
    scene(11).save(folder / "x_train.png")
    shifted(scene(11), 1, 1).save(folder / "x_test.jpg", quality=90)  # a near copy in test, labelled differently
    scene(12).save(folder / "y_train.png")
    shutil.copy(folder / "y_train.png", folder / "y_val.png")  # an exact copy in val
    entries += [("x_train.png", "cat", "train"), ("x_test.jpg", "dog", "test"),
                ("y_train.png", "bird", "train"), ("y_val.png", "bird", "val")]
    section = run_analyser(duplicates.ANALYSER, build(tmp_path, entries))
    x, y = [DISTINCT, DISTINCT + 1], [DISTINCT + 2, DISTINCT + 3]
    assert findings(section, "conflicting_labels") == [x]
    assert sorted(findings(section, "leakage")) == [x, y]
    leak = next(f for f in section.findings if f.kind == "leakage" and f.rows == x)
    assert leak.detail == {"train_rows": [x[0]], "other_rows": [x[1]]}
    non_train = sum(1 for _, _, split in entries if split != "train")
    assert section.metrics["leakage.cross_split_count"] == 2
    assert section.metrics["leakage.cross_split_rate"] == pytest.approx(2 / non_train)
    assert section.metrics["duplicates.conflicting_label_groups"] == 1


def test_same_path_twice_is_its_own_kind(tmp_path: Path, folder: Path) -> None:
    entries = distinct_images(folder)
    entries += [(entries[1][0], entries[1][1], "train")]
    section = run_analyser(duplicates.ANALYSER, build(tmp_path, entries))
    assert findings(section, "same_file") == [[1, len(entries) - 1]]
    assert findings(section, "exact_duplicate") == [] and findings(section, "near_duplicate") == []
    assert section.metrics["duplicates.same_file_count"] == 1
    assert section.metrics["duplicates.exact_count"] == 0


def test_unreadable_rows_are_ignored_and_near_search_can_be_turned_off(tmp_path: Path, folder: Path) -> None:
    entries = distinct_images(folder)
    (folder / "broken.png").write_bytes(b"not an image")
    (folder / "broken2.png").write_bytes(b"not an image")
    scene(7).save(folder / "o.png")
    shifted(scene(7), 1, 0).save(folder / "v.png")
    entries += [("broken.png", "a", "train"), ("broken2.png", "a", "test"), ("o.png", "a", "train"),
                ("v.png", "a", "train")]
    section = run_analyser(duplicates.ANALYSER, build(tmp_path, entries, {"max_ratio": 0, "phash_radius": -1}))
    assert section.findings == []
    section = run_analyser(duplicates.ANALYSER, build(tmp_path, entries))
    assert [f.kind for f in section.findings] == ["near_duplicate"]


def stroke(seed: int) -> Image.Image:
    """A digit-like stroke on black (a '1' by some writer): where pHash is not selective, as on MNIST."""
    rng = np.random.default_rng(seed)
    image = Image.new("L", (28, 28))
    angle, half = np.radians(rng.uniform(65, 115)), rng.uniform(8, 11)
    cx, cy = 14 + rng.uniform(-2, 2), 14 + rng.uniform(-1.5, 1.5)
    dx, dy = half * np.cos(angle), half * np.sin(angle)
    ImageDraw.Draw(image).line([(cx - dx, cy - dy), (cx + dx, cy + dy)], fill=255, width=int(rng.integers(2, 5)))
    return image


def test_look_alike_strokes_are_not_chained_into_one_group(tmp_path: Path, folder: Path) -> None:
    entries = []
    for index in range(300):
        stroke(index).save(folder / f"{index}.png")
        entries.append((f"{index}.png", "one", "train"))
    # A mirrored stroke is another stroke: the mirror search doubles the look-alikes any test lets through, so the
    # pHash limits are checked without it, and the default (with it) must still not chain.
    data = build(tmp_path, entries, {"flipped": False})

    def largest_group(section: Section) -> int:
        return max((len(rows) for rows in findings(section, "near_duplicate")), default=0)

    section = run_analyser(duplicates.ANALYSER, data)
    data.config.analysers = {"duplicates": {"phash_max_ratio": 0, "flipped": False}}  # relative limits off
    without_relative_limits = run_analyser(duplicates.ANALYSER, data)
    assert largest_group(without_relative_limits) >= 20  # pHash alone links stroke after stroke
    assert largest_group(section) <= 8
    assert section.metrics["duplicates.near_count"] < without_relative_limits.metrics["duplicates.near_count"] / 2
    data.config.analysers = {}
    with_mirrors = run_analyser(duplicates.ANALYSER, data)
    assert largest_group(with_mirrors) < largest_group(without_relative_limits)
    assert with_mirrors.metrics["duplicates.near_count"] < without_relative_limits.metrics["duplicates.near_count"]


def test_a_dense_cluster_of_near_copies_stays_together(tmp_path: Path, folder: Path, monkeypatch) -> None:
    """Two dozen re-saves of one shot, each with its own amount of blotchy damage: inside the cluster an image's
    10th-nearest neighbour is itself a copy, so the plain ratio d1/d10 is high and the cluster falls apart. Counting
    the 10th neighbour outside the copies already matched keeps more of it together, and no other image joins."""
    entries = distinct_images(folder, count=60)
    rng = np.random.default_rng(5)
    base = np.asarray(scene(21, size=72), dtype=np.float64)[4:68, 4:68]
    copies = []
    for index in range(24):
        damage = np.kron(rng.normal(0, 30 * (index + 1) / 24, (16, 16, 3)), np.ones((4, 4, 1)))
        Image.fromarray(np.clip(base + damage, 0, 255).astype(np.uint8)).save(folder / f"copy{index}.png")
        copies.append(len(entries))
        entries.append((f"copy{index}.png", "car", "train"))
    data = build(tmp_path, entries)

    def grouped_copies(section: Section) -> int:
        return max((len(set(rows) & set(copies)) for rows in findings(section, "near_duplicate")), default=0)

    section = run_analyser(duplicates.ANALYSER, data)
    assert all(set(rows) <= set(copies) for rows in findings(section, "near_duplicate"))  # no distinct image joins
    monkeypatch.setattr(duplicates, "GROUP_ROUNDS", 0)  # the plain ratio test
    plain = grouped_copies(run_analyser(duplicates.ANALYSER, data))
    assert grouped_copies(section) >= plain + 4 and grouped_copies(section) >= len(copies) // 2


def test_flipped_recropped_and_grayscale_copies_are_found_and_named(tmp_path: Path, folder: Path) -> None:
    entries = distinct_images(folder)
    original = scene(31)
    variants = {"original": original, "flipped": original.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
                "recropped": recropped(original, 0.94), "grey": original.convert("L")}
    rows = {}
    for name, image in variants.items():
        image.save(folder / f"{name}.png")
        rows[name] = len(entries)
        entries.append((f"{name}.png", "a", "train" if name == "original" else "test"))
    data = build(tmp_path, entries)
    section = run_analyser(duplicates.ANALYSER, data)
    (group,) = [f for f in section.findings if f.kind == "near_duplicate"]
    assert sorted(group.rows) == sorted(rows.values())
    changes = {frozenset(p["rows"]): p["change"] for p in group.detail["pairs"]}
    assert changes[frozenset((rows["original"], rows["flipped"]))] == "flipped"
    assert changes[frozenset((rows["original"], rows["grey"]))] == "recoloured"
    assert "flipped" in group.message and "recoloured" in group.message
    assert section.metrics["leakage.cross_split_count"] == 3
    data.config.analysers = {"duplicates": {"flipped": False, "recoloured": False}}
    (plain,) = [f for f in run_analyser(duplicates.ANALYSER, data).findings if f.kind == "near_duplicate"]
    assert sorted(plain.rows) == sorted([rows["original"], rows["recropped"]])


def test_embeddings_replace_thumbnails_for_near_duplicates_but_not_for_exact_copies(tmp_path: Path,
                                                                                    folder: Path) -> None:
    """With --embeddings, near duplicates are the planted near-identical vectors (of different pictures), a
    shifted copy whose vectors differ is not one, and an exact copy still comes from the hashes."""
    from dataset_audit.model_outputs import ModelOutputs

    entries = distinct_images(folder)
    scene(7).save(folder / "o.png")
    shifted(scene(7), 1, 0).save(folder / "v.png")
    shutil.copy(folder / "distinct_003.png", folder / "copy.png")
    entries += [("o.png", "a", "train"), ("v.png", "a", "train"), ("copy.png", "class0", "train")]
    rng = np.random.default_rng(3)
    vectors = rng.normal(0, 1, (len(entries), 64)).astype(np.float32)
    vectors[20] = vectors[4] * 2.0 + rng.normal(0, 0.01, 64).astype(np.float32)  # two different pictures
    data = build(tmp_path, entries)
    data.table.outputs = ModelOutputs(embeddings=vectors, embedding_source="--embeddings clip.npy")
    section = run_analyser(duplicates.ANALYSER, data)
    near = [f for f in section.findings if f.kind == "near_duplicate"]
    assert [sorted(f.rows) for f in near] == [[4, 20]]
    assert near[0].detail["pairs"][0]["by"] == "embedding" and near[0].detail["pairs"][0]["score"] < 0.03
    assert findings(section, "exact_duplicate") == [[3, len(entries) - 1]]
    assert any("your vectors (--embeddings clip.npy), cosine similarity >= 0.97" in n for n in section.notes)

    data = build(tmp_path, entries, {"use_embeddings": False})
    data.table.outputs = ModelOutputs(embeddings=vectors, embedding_source="--embeddings clip.npy")
    section = run_analyser(duplicates.ANALYSER, data)
    assert findings(section, "near_duplicate") == [[len(entries) - 3, len(entries) - 2]]
