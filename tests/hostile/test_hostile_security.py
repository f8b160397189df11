"""Issue 9, items 5, 7, 8: a shared cache cannot run code, paths outside --root are reported (or refused), and a
symlink in --out cannot make the tool write elsewhere."""

from __future__ import annotations

import os
import pickle
import sqlite3

from conftest import by_kind, findings, run_cli, write_csv

from dataset_audit.scan.cache import ScanCache
from dataset_audit.scan.decode import FEATURE_VERSION, RECORD_COLUMNS


class _Payload:
    """Unpickling this creates a file: the stand-in for any shell command an attacker would run."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_5_cache_rows_are_never_unpickled(good_images, tmp_path):
    image = good_images / "good_0.png"
    csv = write_csv(good_images, ["good_0.png"])
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Payload(str(marker)))
    st = os.stat(image)
    cache = tmp_path / "cache"
    cache.mkdir()
    with sqlite3.connect(cache / "scan-cache.sqlite") as db:
        # The layout earlier versions read with pickle.loads, and today's table, both holding a crafted row.
        db.execute("CREATE TABLE images (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, version INTEGER, "
                   "record BLOB, thumb BLOB)")
        db.execute("CREATE TABLE records (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, version INTEGER, "
                   "record TEXT, thumb BLOB)")
        for table, version in (("images", 3), ("images", FEATURE_VERSION), ("records", FEATURE_VERSION)):
            db.execute(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?, ?, ?, ?)",
                       (str(image.resolve()), st.st_size, st.st_mtime_ns, version, payload, b""))
    code, output = run_cli(str(csv), "--out", str(tmp_path / "o"), "--cache-dir", str(cache))
    assert not marker.exists(), "a cached row ran code"  # the old cache unpickled the row: the file appeared
    assert code == 0, output
    assert findings(tmp_path / "o")["scan"]["decoded"] == 1  # the crafted row was a miss, decoded afresh


def test_5_cache_keeps_only_checked_data(tmp_path):
    cache = ScanCache(tmp_path)
    # One value of the right type per record column, whatever columns the scan records today.
    values = [{"status": "ok", "format": "PNG", "mode": "RGB"}.get(name, default) for name, default in
              RECORD_COLUMNS.items()]
    values = [1.5 if isinstance(v, float) else 4 if isinstance(v, int) and not isinstance(v, bool) else v
              for v in values]
    cache.store([("/a.png", 10, 1, tuple(values), b"\0" * 768, b"")])
    assert cache.lookup({"/a.png": (10, 1)})["/a.png"][0] == tuple(values)
    with sqlite3.connect(tmp_path / "scan-cache.sqlite") as db:
        stored = db.execute("SELECT record FROM records").fetchone()[0]
        assert isinstance(stored, str) and stored.startswith('["ok"')
        db.execute("UPDATE records SET record = ?", ('["ok", {"__reduce__": 1}]',))
    assert cache.lookup({"/a.png": (10, 1)}) == {}
    cache.close()


def test_7_paths_outside_the_root_are_reported_and_can_be_refused(good_images, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (good_images / "good_0.png").rename(elsewhere / "secret.png")
    table = good_images / "sub"
    table.mkdir()
    csv = write_csv(table, ["../good_1.png", str(elsewhere / "secret.png"), "../../elsewhere/secret.png"])
    # --root is the table's folder (sub/): all three leave it.
    out = tmp_path / "o"
    code, output = run_cli(str(csv), "--out", str(out), "--no-cache")
    assert code == 0, output
    document = findings(out)
    assert [f["rows"] for f in by_kind(document, "outside_root")] == [[0, 1, 2]]
    assert document["metrics"]["integrity.outside_root_count"] == 3
    assert by_kind(document, "unreadable") == []  # read, as before
    out = tmp_path / "o2"
    code, output = run_cli(str(csv), "--out", str(out), "--no-cache", "--confine-to-root")
    assert code == 0, output
    refused = by_kind(findings(out), "unreadable")
    assert sorted(f["rows"][0] for f in refused) == [0, 1, 2]
    assert {f["detail"]["error_kind"] for f in refused} == {"outside_root"}
    inside = write_csv(good_images, [str(good_images / "good_1.png"), "good_2.png"], name="inside.csv")
    assert run_cli(str(inside), "--out", str(tmp_path / "o3"), "--no-cache")[0] == 0
    assert findings(tmp_path / "o3")["metrics"]["integrity.outside_root_count"] == 0  # absolute, but inside


def test_8_dangling_symlink_in_out_is_replaced_not_followed(good_images, tmp_path):
    csv = write_csv(good_images, ["good_0.png", "good_1.png"])
    out = tmp_path / "o"
    out.mkdir()
    outside = tmp_path / "outside" / "planted.json"
    outside.parent.mkdir()
    os.symlink(outside, out / "findings.json")
    code, output = run_cli(str(csv), "--out", str(out), "--no-cache")
    assert code == 0, output
    assert not outside.exists()
    assert not (out / "findings.json").is_symlink() and findings(out)["dataset"]["rows"] == 2
