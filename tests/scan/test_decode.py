"""Every awkward file becomes a record, never an exception; odd modes decode; pHash matches imagehash."""

from __future__ import annotations

import imagehash
import numpy as np
import pytest
from imagetools import random_rgb
from PIL import Image

from dataset_audit.scan.decode import bits_to_int64, phash_bits, scan_one


@pytest.mark.parametrize(("kind", "status", "error_kind"), [
    ("missing", "missing", "missing"),
    ("empty_file", "unreadable", "empty_file"),
    ("not_an_image", "unreadable", "not_an_image"),
    ("truncated_jpeg", "unreadable", "truncated"),
    ("truncated_png", "unreadable", "truncated"),
    ("decompression_bomb", "unreadable", "decompression_bomb"),
])
def test_bad_files_become_records(bad_files, kind, status, error_kind):
    record, thumb = scan_one(str(bad_files[kind]))
    assert record["status"] == status
    assert record["error_kind"] == error_kind
    assert record["error"]
    assert thumb == b""


def test_empty_path_is_missing():
    record, _ = scan_one(None)
    assert (record["status"], record["error_kind"]) == ("missing", "empty_path")


@pytest.mark.parametrize(("kind", "mode", "fmt"), [
    ("cmyk", "CMYK", "JPEG"), ("palette", "P", "PNG"), ("sixteen_bit", "I;16", "PNG"), ("la", "LA", "PNG"),
    ("rgba", "RGBA", "PNG"), ("animated_gif", "P", "GIF"), ("good", "RGB", "JPEG"),
])
def test_odd_modes_decode(bad_files, kind, mode, fmt):
    record, thumb = scan_one(str(bad_files[kind]))
    assert record["status"] == "ok", record["error"]
    assert record["mode"] == mode
    assert record["format"] == fmt
    assert len(thumb) == 16 * 16 * 3
    assert 0 <= record["brightness"] <= 255


def test_sixteen_bit_is_rescaled_not_clipped(bad_files):
    record, _ = scan_one(str(bad_files["sixteen_bit"]))
    # A 0..65535 ramp rescales to a 0..255 ramp: mean near the middle, not clipped to white.
    assert 100 < record["brightness"] < 155
    assert record["colourfulness"] == 0.0


def test_format_mismatch_detected(bad_files):
    record, _ = scan_one(str(bad_files["format_mismatch"]))
    assert record["status"] == "ok"
    assert record["format"] == "PNG"
    assert record["format_mismatch"] is True
    good, _ = scan_one(str(bad_files["good"]))
    assert good["format_mismatch"] is False


def test_exif_orientation_applied(bad_files):
    record, _ = scan_one(str(bad_files["exif_rotated"]))
    assert record["exif_transposed"] is True
    assert (record["width"], record["height"]) == (20, 60)  # stored 60x20, displayed rotated


def test_animated_gif_counts_frames(bad_files):
    record, _ = scan_one(str(bad_files["animated_gif"]))
    assert record["frames"] == 3


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_phash_matches_imagehash(seed):
    image = random_rgb(seed, (64, 48))
    reference = imagehash.phash(image).hash.ravel()
    gray = np.asarray(image.convert("L").resize((32, 32), Image.Resampling.LANCZOS))
    assert np.array_equal(phash_bits(gray), reference)


def test_bits_to_int64_round_trip():
    bits = np.zeros(64, dtype=bool)
    bits[0] = True  # the top bit: a negative int64
    assert bits_to_int64(bits) == -(1 << 63)
    bits[:] = False
    bits[-1] = True
    assert bits_to_int64(bits) == 1


def test_identical_pixels_share_pixel_hash_across_formats(tmp_path):
    image = random_rgb(7)
    image.save(tmp_path / "a.png")
    image.save(tmp_path / "b.bmp")
    a, _ = scan_one(str(tmp_path / "a.png"))
    b, _ = scan_one(str(tmp_path / "b.bmp"))
    assert a["byte_hash"] != b["byte_hash"]
    assert a["pixel_hash"] == b["pixel_hash"]


def test_large_jpeg_decoded_in_draft_mode_has_no_pixel_hash(tmp_path):
    random_rgb(8, (900, 700)).save(tmp_path / "big.jpg", quality=90)
    record, thumb = scan_one(str(tmp_path / "big.jpg"))
    assert record["status"] == "ok" and (record["width"], record["height"]) == (900, 700)
    assert record["pixel_hash"] == 0  # not computed: reduced-size decoding cannot match another format
    random_rgb(8, (300, 200)).save(tmp_path / "small.jpg")
    assert scan_one(str(tmp_path / "small.jpg"))[0]["pixel_hash"] != 0
