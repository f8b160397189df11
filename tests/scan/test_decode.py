"""Every awkward file becomes a record, never an exception; odd modes decode; pHash matches imagehash."""

from __future__ import annotations

import signal
import time

import imagehash
import numpy as np
import pytest
from imagetools import random_rgb
from PIL import Image

from dataset_audit.scan import decode
from dataset_audit.scan.decode import (
    bits_to_int64,
    measure_many,
    phash_bits,
    pillow_luma,
    scan_many,
    scan_one,
    scan_with_tile,
)


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


def test_statistics_of_several_images_match_the_plain_formulas():
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(5, 20, 24, 3), dtype=np.uint8)
    images[1] = images[1, :, :, :1]  # a grey picture, as a one-channel source gives
    single = np.array([False, True, False, False, False])
    got = measure_many(images, single)
    for i, image in enumerate(images):
        pixels = image.reshape(-1, 3).astype(np.float64)
        luma = pixels @ np.array([0.299, 0.587, 0.114])
        grid = luma.reshape(20, 24)
        laplacian = grid[:-2, 1:-1] + grid[2:, 1:-1] + grid[1:-1, :-2] + grid[1:-1, 2:] - 4 * grid[1:-1, 1:-1]
        histogram = np.bincount(np.rint(luma).astype(int), minlength=256)
        share = histogram[histogram > 0] / luma.size
        cumulative = np.cumsum(histogram)
        expected = {
            "mean_r": pixels[:, 0].mean(), "mean_g": pixels[:, 1].mean(), "mean_b": pixels[:, 2].mean(),
            "std_r": pixels[:, 0].std(), "std_g": pixels[:, 1].std(), "std_b": pixels[:, 2].std(),
            "brightness": luma.mean(), "contrast": luma.std(), "sharpness": laplacian.var(),
            "entropy": -(share * np.log2(share)).sum(),
            "luma_p01": np.searchsorted(cumulative, 0.01 * luma.size),
            "luma_p05": np.searchsorted(cumulative, 0.05 * luma.size),
            "luma_p99": np.searchsorted(cumulative, 0.99 * luma.size),
            "colourfulness": 0.0 if single[i] else 2 * (pixels.max(axis=1) - pixels.min(axis=1)).mean() / 3,
        }
        for name, value in expected.items():
            assert got[name][i] == pytest.approx(value, rel=1e-9, abs=1e-9), (i, name)


def _comparable(result):
    record, thumb, tile = result
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in record.items()}, thumb, tile


def test_images_scanned_together_get_the_values_they_get_alone(tmp_path, bad_files):
    paths = []
    for seed in range(4):  # a group of one size ...
        random_rgb(seed, (24, 24)).save(tmp_path / f"same_{seed}.png")
        paths.append(str(tmp_path / f"same_{seed}.png"))
    paths.append(str(bad_files["truncated_jpeg"]))  # ... a file that fails in the middle of the group ...
    for seed in range(2):  # ... another size, in JPEG ...
        random_rgb(10 + seed, (30, 20)).save(tmp_path / f"other_{seed}.jpg", quality=90)
        paths.append(str(tmp_path / f"other_{seed}.jpg"))
    random_rgb(20, (120, 90)).save(tmp_path / "large.png")  # ... one above BATCH_PIXELS, measured at once ...
    random_rgb(21, (24, 24)).convert("L").save(tmp_path / "grey.png")  # ... a one-channel image ...
    paths += [str(tmp_path / "large.png"), str(tmp_path / "grey.png"), str(bad_files["missing"]), None]
    together = scan_many(paths)
    assert [r[0]["status"] for r in together] == ["ok"] * 4 + ["unreadable", "ok", "ok", "ok", "ok", "missing",
                                                                "missing"]
    assert together[8][0]["colourfulness"] == 0.0 and together[0][0]["colourfulness"] > 0
    assert [_comparable(r) for r in together] == [_comparable(scan_with_tile(p)) for p in paths]


def test_statistics_that_fail_make_their_rows_unreadable_not_a_crash(tmp_path, monkeypatch):
    def failing(pixels, single_channel):
        raise MemoryError("no room")

    monkeypatch.setattr(decode, "measure_many", failing)
    random_rgb(1, (24, 24)).save(tmp_path / "small.png")
    random_rgb(2, (120, 90)).save(tmp_path / "large.png")
    # A missing file first: the failed rows are found by their records, not by how many images came before.
    missing, *results = scan_many([str(tmp_path / "gone.png"), str(tmp_path / "small.png"),
                                   str(tmp_path / "large.png")])
    assert missing[0]["status"] == "missing"
    for record, thumb, tile in results:
        assert (record["status"], record["error_kind"]) == ("unreadable", "decode_error")
        assert record["error"] and thumb == b"" and tile == b""


def test_pillow_luma_is_pillows_grey_for_every_colour():
    # All 2^24 RGB colours, as a 4096 x 4096 image made a strip at a time: the 32x32 images' pHash uses this, not
    # convert("L").
    for top in range(0, 4096, 256):
        colours = np.arange(top * 4096, (top + 256) * 4096, dtype=np.uint32)
        strip = np.stack([colours >> 16, (colours >> 8) & 255, colours & 255], axis=-1).astype(np.uint8)
        strip = strip.reshape(256, 4096, 3)
        assert np.array_equal(pillow_luma(strip), np.asarray(Image.fromarray(strip).convert("L"))), top


@pytest.mark.parametrize("size", [(32, 32), (20, 16), (48, 40)])
def test_phash_thumbnail_and_tile_are_pillows(tmp_path, size):
    # 32x32: luma from the array (no resize); 20x16: the tile is the array's bytes; 48x40: Pillow for both.
    path = tmp_path / "image.jpg"
    random_rgb(7, size).save(path, quality=90)
    record, thumb, tile = scan_with_tile(str(path))
    decoded = Image.open(path).convert("RGB")
    assert record["phash"] == bits_to_int64(imagehash.phash(decoded).hash.ravel())
    assert thumb == decoded.resize((16, 16), Image.Resampling.BOX).tobytes()
    shown = decoded.copy()
    shown.thumbnail((32, 32), Image.Resampling.LANCZOS)
    assert tile == bytes(shown.size) + shown.tobytes()


def test_a_stuck_image_times_out_alone_and_the_alarm_handler_is_restored(tmp_path, monkeypatch):
    paths = []
    for i in range(3):
        random_rgb(30 + i, (24, 24)).save(tmp_path / f"image_{i}.png")
        paths.append(str(tmp_path / f"image_{i}.png"))
    real = decode._decode_into

    def stuck_on_the_second(record, data, path, batch):
        if path == paths[1]:
            time.sleep(30)  # stands for a decoder that does not come back
        return real(record, data, path, batch)

    def mine(signum, frame):  # noqa: ARG001
        pass

    monkeypatch.setattr(decode, "_decode_into", stuck_on_the_second)
    previous = signal.signal(signal.SIGALRM, mine)
    try:
        started = time.monotonic()
        results = scan_many(paths, decode.ScanLimits(seconds_per_image=0.3))
        assert time.monotonic() - started < 10
        assert signal.getsignal(signal.SIGALRM) is mine
        assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    finally:
        signal.signal(signal.SIGALRM, previous)
    assert [(r[0]["status"], r[0]["error_kind"]) for r in results] == [("ok", ""), ("unreadable", "timeout"),
                                                                       ("ok", "")]
    assert results[0][1] and results[2][1]


@pytest.mark.parametrize("size", [(24, 24), (120, 90)])  # queued for the chunk's measuring, measured at once
def test_a_time_limit_striking_after_an_image_was_queued_leaves_no_statistics(tmp_path, monkeypatch, size):
    paths = []
    for i in range(3):
        random_rgb(40 + i, size).save(tmp_path / f"image_{i}.png")
        paths.append(str(tmp_path / f"image_{i}.png"))
    real_add = decode._Batch.add

    def slow_after_the_second(self, record, *args):
        real_add(self, record, *args)
        if record["byte_hash"] == second_hash:
            time.sleep(30)  # the time limit strikes after the image was queued (or measured)

    second_hash = scan_one(paths[1])[0]["byte_hash"]
    monkeypatch.setattr(decode._Batch, "add", slow_after_the_second)
    results = scan_many(paths, decode.ScanLimits(seconds_per_image=0.3))
    first, second, third = (r[0] for r in results)
    assert (second["status"], second["error_kind"]) == ("unreadable", "timeout")
    assert np.isnan(second["mean_r"]) and np.isnan(second["sharpness"]) and second["phash"] == 0
    assert results[1][1] == b"" and results[1][2] == b""
    alone = [scan_one(p)[0] for p in (paths[0], paths[2])]
    assert [first, third] == alone


def test_quiet_warnings_in_a_thread_survives_another_threads_catch_warnings(capsys):
    """A worker thread's filters live in the process's filter list; a catch_warnings elsewhere (pytest wraps every
    test in one) may put back a list without them. The next read adds them again, so Pillow's warnings from a
    worker thread stay silent (they were printed once the filters had been lost behind a 'set once' flag)."""
    import threading
    import warnings

    from dataset_audit.scan.safe_read import quiet_warnings

    def pillow_warns() -> None:  # a warning raised from a PIL module, as Pillow's own are
        exec(compile("import warnings\nwarnings.warn('Corrupt EXIF data', UserWarning)", "x", "exec"),
             {"__name__": "PIL.TiffImagePlugin"})

    def read_in_a_thread() -> None:
        def work() -> None:
            with quiet_warnings():
                pillow_warns()
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        with warnings.catch_warnings():  # the filters the thread adds are dropped when this exits
            read_in_a_thread()
        read_in_a_thread()
    assert "Corrupt EXIF data" not in capsys.readouterr().err
