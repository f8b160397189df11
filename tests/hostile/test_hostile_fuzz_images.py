"""A bounded fuzz run: truncated and bit-flipped files of every supported image format go through the scan's
decoder and the report's thumbnail loader. Each must give a record (or no thumbnail), never an exception, never a
hang: every call runs under the scan's own per-image time limit, and a timeout counts as a failure here.

7 formats x (16 truncations + 134 bit-flip variants) = 1,050 inputs, each decoded twice (scan and thumbnail); no
warning may escape either (Pillow's complaints about a damaged file belong in its record, not on stderr).
"""

from __future__ import annotations

import io
import time
import warnings

import numpy as np
import pytest
from PIL import Image

from dataset_audit.scan.decode import RECORD_COLUMNS, load_preview, scan_one
from dataset_audit.scan.safe_read import ScanLimits

FORMATS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp",
           "PPM": ".ppm"}
TRUNCATIONS = 16
FLIPPED = 134
LIMITS = ScanLimits(seconds_per_image=10)
STATUSES = {"ok", "missing", "unreadable", "skipped"}


def _seed_image(fmt: str) -> bytes:
    rng = np.random.default_rng(len(fmt))
    image = Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8))
    if fmt == "GIF":
        image = image.convert("P")
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def _variants(data: bytes, seed: int) -> list[bytes]:
    """Truncations spread over the whole file (the header most densely), then copies with 1-8 flipped bits."""
    rng = np.random.default_rng(seed)
    cuts = sorted({1, 2, 8, 16, 32, 64} | {int(x) for x in np.linspace(1, len(data) - 1, TRUNCATIONS)})
    out = [data[:cut] for cut in cuts[:TRUNCATIONS]]
    while len(out) < TRUNCATIONS:
        out.append(data[: int(rng.integers(1, len(data)))])
    for i in range(FLIPPED):
        flipped = bytearray(data)
        # Half the variants hit the first 64 bytes, where headers (sizes, counts, offsets) live.
        span = min(64, len(data)) if i % 2 else len(data)
        for _ in range(int(rng.integers(1, 9))):
            position = int(rng.integers(0, span))
            flipped[position] ^= 1 << int(rng.integers(0, 8))
        out.append(bytes(flipped))
    return out


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_truncated_and_bit_flipped_files_never_crash_or_hang(fmt, tmp_path):
    seed_bytes = _seed_image(fmt)
    variants = _variants(seed_bytes, seed=sorted(FORMATS).index(fmt))
    assert len(variants) == TRUNCATIONS + FLIPPED
    started = time.monotonic()
    outcomes: dict[str, int] = {}
    for i, data in enumerate(variants):
        path = tmp_path / f"v{i:03d}{FORMATS[fmt]}"
        path.write_bytes(data)
        with warnings.catch_warnings(record=True) as escaped:
            warnings.simplefilter("always")
            record, thumb = scan_one(str(path), LIMITS)
            preview = load_preview(str(path), 48, LIMITS)
        assert escaped == [], (i, [str(w.message) for w in escaped])
        assert set(record) == set(RECORD_COLUMNS)
        assert record["status"] in STATUSES and record["error_kind"] != "timeout", (i, record["error"])
        assert (record["status"] == "ok") == (len(thumb) == 16 * 16 * 3)
        if record["status"] != "ok":
            assert record["error"], i
        assert preview is None or preview.mode == "RGB"
        outcomes[record["status"]] = outcomes.get(record["status"], 0) + 1
    assert sum(outcomes.values()) == len(variants)
    assert outcomes.get("unreadable", 0) >= TRUNCATIONS // 2  # the cut files were noticed, not silently passed
    assert time.monotonic() - started < 120
