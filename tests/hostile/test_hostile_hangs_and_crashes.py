"""Issue 9, items 1-4: input that used to hang the scan or end the run with a traceback."""

from __future__ import annotations

import json
import os
import sqlite3
import time

import pandas as pd
import pytest
from conftest import by_kind, findings, run_cli, run_subprocess, write_csv

from dataset_audit.scan.decode import scan_one

# ---------------------------------------------------------------------------------------------- item 1


@pytest.mark.skipif(not hasattr(os, "mkfifo") or not os.path.exists("/dev/zero"), reason="needs a FIFO and /dev/zero")
def test_1_fifo_and_dev_zero_become_findings_not_a_hang(good_images, tmp_path):
    os.mkfifo(good_images / "x.png")  # open() on it blocks until a writer appears: the old scan waited forever
    os.symlink("/dev/zero", good_images / "zero.png")  # read() never ends: the old scan ran out of memory
    csv = write_csv(good_images, ["good_0.png", "x.png", "zero.png", "good_1.png"])
    out = tmp_path / "out"
    done = run_subprocess(str(csv), "--out", str(out), "--no-cache", "--jobs", "1", timeout=120)
    assert done.returncode == 0, done.stderr
    rows = {f["rows"][0]: f for f in by_kind(findings(out), "unreadable")}
    assert rows[1]["detail"]["error_kind"] == "not_regular_file" and "named pipe" in rows[1]["detail"]["error"]
    assert rows[2]["detail"]["error_kind"] == "not_regular_file" and "character device" in rows[2]["detail"]["error"]


def test_1_file_over_the_byte_cap_is_a_finding(good_images):
    from dataset_audit.scan.safe_read import ScanLimits

    record, thumb = scan_one(str(good_images / "good_0.png"), ScanLimits(max_file_bytes=100))
    assert (record["status"], record["error_kind"], thumb) == ("unreadable", "file_too_large", b"")
    assert "--max-file-bytes" in record["error"]


def test_1_each_image_has_a_time_limit(good_images, monkeypatch):
    import dataset_audit.scan.decode as decode
    from dataset_audit.scan.safe_read import ImageTimeout, ScanLimits, time_limit

    def stuck_decoder(*args, **kwargs):
        time.sleep(30)  # stands for a decoder that does not come back

    monkeypatch.setattr(decode, "_decode_into", stuck_decoder)
    started = time.monotonic()
    record, _ = scan_one(str(good_images / "good_0.png"), ScanLimits(seconds_per_image=0.3))
    assert time.monotonic() - started < 10
    assert (record["status"], record["error_kind"]) == ("unreadable", "timeout")
    with pytest.raises(ImageTimeout), time_limit(0.05):
        time.sleep(5)


# ---------------------------------------------------------------------------------------------- item 2


def test_2_nul_byte_in_a_path_cell_is_a_finding(good_images, tmp_path):
    csv = good_images / "nul.csv"
    csv.write_text("path,label\ngood_0.png,cat\nbad\x00name.png,dog\ngood_1.png,dog\n")
    out = tmp_path / "out"
    code, output = run_cli(str(csv), "--out", str(out), "--no-cache")
    assert code == 0, output
    missing = by_kind(findings(out), "missing")
    assert [f["rows"] for f in missing] == [[1]] and missing[0]["detail"]["error_kind"] == "invalid_path"


# ---------------------------------------------------------------------------------------------- item 3


def _jsonl(path, records) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def _audit_cleanly(table, out, label: str) -> dict:
    """`audit run TABLE --label-col LABEL`: exit 0 and no analyser error; the findings document."""
    code, output = run_cli(str(table), "--label-col", label, "--out", str(out), "--no-cache")
    assert code == 0, output
    document = findings(out)
    assert [a["name"] for a in document["analysers"] if a["status"] == "error"] == []
    return document


def test_3_list_and_dict_cells_are_audited_as_text_and_refused_as_label(good_images, tmp_path):
    records = [{"path": f"good_{i}.png", "y": ["cat", "dog"][i % 2], "bbox": [i, i + 1, 10, 12],
                "meta": {"source": "cam", "id": i}, "tags": ["a", "b"] if i % 2 else "a"} for i in range(6)]
    table = good_images / "t.jsonl"
    _jsonl(table, records)
    out = tmp_path / "out"
    document = _audit_cleanly(table, out, "y")
    assert any("'bbox' holds lists or objects in 6 cell(s)" in n for n in document["dataset"]["notes"])
    non_scalar = {f["detail"]["column"]: f["detail"]["cells"] for f in document["findings"] if f["kind"] == "non_scalar"}
    assert non_scalar == {"bbox": 6, "meta": 6, "tags": 3}  # a type finding per column, not only a note
    assert (out / "report.html").stat().st_size > 0
    code, output = run_cli(str(table), "--label-col", "bbox", "--out", str(tmp_path / "o2"), "--no-cache")
    assert code == 2 and "holds lists or objects" in " ".join(output.split())


def test_3_parquet_list_column_as_label_exits_2(good_images, tmp_path):
    frame = pd.DataFrame({"path": [f"good_{i}.png" for i in range(6)], "y": [["cat"], ["dog"]] * 3,
                          "box": [[1.0, 2.0]] * 6, "label": ["cat", "dog"] * 3})
    table = good_images / "t.parquet"
    frame.to_parquet(table)
    code, output = run_cli(str(table), "--label-col", "y", "--out", str(tmp_path / "o"), "--no-cache")
    assert code == 2 and "--label-col 'y' holds lists or objects" in " ".join(output.split())
    code, output = run_cli(str(table), "--label-col", "label", "--out", str(tmp_path / "o2"), "--no-cache")
    assert code == 0, output
    assert [a["name"] for a in findings(tmp_path / "o2")["analysers"] if a["status"] == "error"] == []


def test_3_parquet_binary_cells_are_audited_as_text_and_the_report_renders(good_images, tmp_path):
    """A Parquet binary column (non-UTF-8 bytes) crashed the HTML report (pandas decoding the bytes as UTF-8 in the
    explorer); an image stored in the table (a Hugging Face style {bytes, path} struct) is audited by size and digest,
    not as 4 characters per byte."""
    import hashlib

    blob = bytes(range(256)) * 400  # 100 KB, not UTF-8
    frame = pd.DataFrame({"path": [f"good_{i}.png" for i in range(6)], "label": ["cat", "dog"] * 3,
                          "digest": [bytes([0xDC, i, 0xFF]) for i in range(6)],
                          "code": [b"ab", "caf\u00e9".encode()] * 3,
                          "caption": [("a long caption " * 60).encode()] * 6,  # 900 bytes of UTF-8: kept as text
                          "image": [{"bytes": blob, "path": "x.png"}] * 6})
    table = good_images / "t.parquet"
    frame.to_parquet(table)
    out = tmp_path / "out"
    document = _audit_cleanly(table, out, "label")
    assert any("'digest' holds binary values in 6 cell(s)" in n for n in document["dataset"]["notes"])
    html = (out / "report.html").read_text()
    assert f"102,400 bytes, blake2b {hashlib.blake2b(blob, digest_size=8).hexdigest()}" in html
    assert "caf\u00e9" in html and "a long caption a long caption" in html
    assert html.count("x01") < 50  # str(bytes) of the blob would write \\x01 400 times per row


# ---------------------------------------------------------------------------------------------- item 4


def _cache_rows(cache) -> int:
    with sqlite3.connect(cache / "scan-cache.sqlite") as db:
        return db.execute("SELECT count(*) FROM records").fetchone()[0]


def test_4_garbage_cache_is_moved_aside_and_rebuilt(good_images, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "scan-cache.sqlite").write_bytes(b"this is not a database" * 500)
    csv = write_csv(good_images, [f"good_{i}.png" for i in range(6)])
    code, output = run_cli(str(csv), "--out", str(tmp_path / "o"), "--cache-dir", str(cache))
    assert code == 0, output
    assert "corrupt" in output and "rebuilt" in " ".join(output.split())
    assert len(list(cache.glob("scan-cache.sqlite.corrupt-*"))) == 1
    assert _cache_rows(cache) == 6


def test_4_cache_with_malformed_pages_is_rebuilt(good_images, tmp_path):
    cache = tmp_path / "cache"
    csv = write_csv(good_images, [f"good_{i}.png" for i in range(6)])
    assert run_cli(str(csv), "--out", str(tmp_path / "o1"), "--cache-dir", str(cache))[0] == 0
    database = cache / "scan-cache.sqlite"
    data = bytearray(database.read_bytes())
    data[4096:] = bytes((i * 37 + 11) % 256 for i in range(len(data) - 4096))  # every page past the header
    database.write_bytes(bytes(data))
    code, output = run_cli(str(csv), "--out", str(tmp_path / "o2"), "--cache-dir", str(cache))
    assert code == 0, output
    assert findings(tmp_path / "o2")["scan"]["decoded"] == 6
    assert _cache_rows(cache) == 6


def test_4_unusable_cache_means_running_without_it(good_images, tmp_path):
    cache = tmp_path / "cache"
    (cache / "scan-cache.sqlite").mkdir(parents=True)  # cannot be opened as a file (as a read-only folder cannot)
    csv = write_csv(good_images, [f"good_{i}.png" for i in range(6)])
    code, output = run_cli(str(csv), "--out", str(tmp_path / "o"), "--cache-dir", str(cache))
    assert code == 0, output
    assert "running without the scan cache" in " ".join(output.split())
    assert findings(tmp_path / "o")["scan"]["decoded"] == 6
