"""URL image paths: read through fsspec (memory://, a local HTTP server), cached by ETag or time, errors per row."""

from __future__ import annotations

import http.server
import socket
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest
from imagetools import jpeg_bytes, png_bytes, random_rgb, write_small_dataset
from typer.testing import CliRunner

from dataset_audit import audit
from dataset_audit.cli import app
from dataset_audit.report.thumbnails import make_thumbnails
from dataset_audit.scan import remote, scan_images
from dataset_audit.scan.decode import load_preview, scan_one
from dataset_audit.scan.safe_read import ScanLimits

fsspec = pytest.importorskip("fsspec", reason="the remote extra is not installed")


@pytest.fixture
def memory_images(request):
    """memory://<test>/img_i.png for six small PNGs, removed afterwards; returns (urls, {url: bytes})."""
    fs = fsspec.filesystem("memory")
    folder = f"/{request.node.name}"
    contents = {}
    for i in range(6):
        data = png_bytes(random_rgb(400 + i, (48, 40)))
        fs.pipe(f"{folder}/img_{i}.png", data)
        contents[f"memory:/{folder}/img_{i}.png"] = data
    yield list(contents), contents
    fs.rm(folder, recursive=True)


@pytest.mark.parametrize(("text", "url"), [
    ("s3://bucket/a.jpg", True), ("gs://b/c/d.png", True), ("https://example.org/x.jpg", True),
    ("memory://x/y.png", True), ("simplecache::s3://bucket/a.jpg", True), ("az://c/a.png", True),
    ("file:///data/a.png", False), ("local:///data/a.png", False), ("images/a.png", False),
    ("/abs/a.png", False), ("C://a.png", False), ("weird name://x", False), ("", False),
])
def test_is_url(text, url):
    assert remote.is_url(text) is url


def test_file_urls_are_local_paths():
    assert remote.local_path_of("file:///data/a b.png") == "/data/a b.png"
    assert remote.local_path_of("file://localhost/data/a.png") == "/data/a.png"
    assert remote.local_path_of("local://images/a.png") == "images/a.png"
    assert remote.local_path_of("s3://bucket/a.png") is None


def test_a_url_decodes_to_the_same_record_as_the_local_file(tmp_path, memory_images):
    urls, contents = memory_images
    local = tmp_path / "img_0.png"
    local.write_bytes(contents[urls[0]])
    from_url, thumb_url = scan_one(urls[0])
    from_file, thumb_file = scan_one(str(local))
    assert from_url["status"] == "ok"
    assert from_url == from_file and thumb_url == thumb_file


def test_missing_and_oversized_remote_files_are_findings_for_their_row(memory_images):
    urls, contents = memory_images
    missing, _ = scan_one(urls[0].replace("img_0", "gone"))
    assert (missing["status"], missing["error_kind"]) == ("missing", "missing")
    too_large, _ = scan_one(urls[0], ScanLimits(max_file_bytes=len(contents[urls[0]]) - 1))
    assert too_large["error_kind"] == "file_too_large"


def test_remote_files_are_cached_by_their_key_and_rescanned_when_they_change(tmp_path, memory_images):
    urls, _ = memory_images
    first = scan_images(urls, jobs=1, cache_dir=tmp_path / "cache")
    assert first.stats.decoded == 6 and first.ok.all()
    again = scan_images(urls, jobs=1, cache_dir=tmp_path / "cache")
    assert (again.stats.decoded, again.stats.from_cache) == (0, 6)
    pd.testing.assert_frame_equal(again.frame, first.frame)
    changed = jpeg_bytes(random_rgb(999, (30, 30)))
    fsspec.filesystem("memory").pipe(urls[2].removeprefix("memory://"), changed)  # a new object: new key
    third = scan_images(urls, jobs=1, cache_dir=tmp_path / "cache")
    assert (third.stats.decoded, third.stats.from_cache) == (1, 5)
    assert third.frame["file_bytes"][2] == len(changed)


def test_cache_key_prefers_a_checksum_then_a_time_then_nothing():
    etag = remote.key_of({"type": "file", "size": 10, "ETag": '"abc"', "LastModified": "2024-01-01"})
    other_time = remote.key_of({"type": "file", "size": 10, "ETag": '"abc"', "LastModified": "2025-01-01"})
    other_etag = remote.key_of({"type": "file", "size": 10, "ETag": '"abd"', "LastModified": "2024-01-01"})
    assert etag == other_time != other_etag and etag[0] == 10
    assert remote.key_of({"type": "file", "size": 10, "mtime": 1.5}) != remote.key_of(
        {"type": "file", "size": 10, "mtime": 2.5})
    assert remote.key_of({"type": "file", "size": 10}) is None  # nothing to tell a change by: never cached
    assert remote.key_of({"type": "directory", "size": 0, "ETag": "x"}) is None


def test_one_listing_keys_a_folder_of_files(memory_images, monkeypatch):
    urls, _ = memory_images
    calls = []
    memory_fs = type(fsspec.filesystem("memory"))
    original = memory_fs.info
    monkeypatch.setattr(memory_fs, "info", lambda self, path, **kw: calls.append(path) or original(self, path, **kw))
    keys = remote.cache_keys([*urls, urls[0].replace("img_0", "gone")])
    assert all(keys[url] is not None for url in urls)
    assert keys[urls[0].replace("img_0", "gone")] is None
    assert len(calls) == 1  # only the file the listing did not hold got its own request


def test_report_thumbnails_read_urls(memory_images):
    urls, _ = memory_images
    assert load_preview(urls[0], 32).size == (48, 40)
    thumbs = make_thumbnails({0: 64, 1: 64}, [urls[0], None], jobs=1)
    assert thumbs[0].startswith("data:image/jpeg;base64,") and thumbs[1] is None


def test_an_audit_of_urls_reports_the_missing_one_by_its_row(memory_images):
    urls, _ = memory_images
    frame = pd.DataFrame({"path": [*urls, "memory://nowhere/gone.png"], "label": ["a", "b"] * 3 + ["a"]})
    report = audit(frame, label_col="label", no_cache=True, use_config_file=False, only=["integrity"])
    missing = report.findings[report.findings["kind"] == "missing"]
    assert missing["rows"].tolist() == [[6]] and missing["paths"].tolist() == [["memory://nowhere/gone.png"]]
    assert report.metrics["integrity.missing_count"] == 1 and report.result.features.ok.sum() == 6


def test_confine_to_root_refuses_urls(memory_images):
    urls, _ = memory_images
    frame = pd.DataFrame({"path": urls[:2], "label": ["a", "b"]})
    report = audit(frame, label_col="label", no_cache=True, use_config_file=False, only=["integrity"],
                   confine_to_root=True)
    features = report.result.features.frame
    assert features["error_kind"].tolist() == ["outside_root"] * 2
    assert features["error"][0] == "a URL is outside --root; not read (--confine-to-root)"
    without = audit(frame, label_col="label", no_cache=True, use_config_file=False, only=["integrity"])
    assert without.metrics["integrity.outside_root_count"] == 0  # a URL is not a stray path when allowed


def test_file_urls_are_read_as_local_files_and_confined_like_them(tmp_path):
    csv = write_small_dataset(tmp_path / "data")
    images = csv.parent / "images"
    outside = tmp_path / "elsewhere.png"
    outside.write_bytes((images / "img_00.png").read_bytes())
    frame = pd.DataFrame({"path": [f"file://{images / 'img_01.png'}", "file://images/img_02.png",
                                   f"file://{outside}"], "label": ["a", "b", "a"]})
    report = audit(frame, label_col="label", no_cache=True, use_config_file=False, only=["integrity"],
                   root=str(csv.parent))
    assert report.result.features.ok.all()
    assert report.metrics["integrity.outside_root_count"] == 1
    confined = audit(frame, label_col="label", no_cache=True, use_config_file=False, only=["integrity"],
                     root=str(csv.parent), confine_to_root=True)
    assert confined.result.features.frame["error_kind"].tolist() == ["", "", "outside_root"]


def _write_csv(folder: Path, paths: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    csv = folder / "images.csv"
    csv.write_text("path,label\n" + "".join(f"{p},{'a' if i % 2 else 'b'}\n" for i, p in enumerate(paths)))
    return csv


def _run(csv: Path, out: Path, *extra: str):
    return CliRunner().invoke(app, ["run", str(csv), "--out", str(out), "--no-cache", *extra])


def test_urls_without_fsspec_are_a_usage_error_naming_the_first_url_row(tmp_path, monkeypatch):
    csv = _write_csv(tmp_path, ["images/a.png", "s3://bucket/b.png", "s3://bucket/c.png"])
    monkeypatch.setitem(sys.modules, "fsspec", None)  # import fsspec -> ImportError
    result = _run(csv, tmp_path / "out")
    assert result.exit_code == 2
    message = " ".join(result.output.split())
    assert "row 1 of column 'path'" in message and "'s3://bucket/b.png'" in message
    assert "pip install 'dataset-audit[remote]'" in message


def test_a_protocol_whose_package_is_missing_is_a_usage_error(tmp_path, monkeypatch):
    def not_installed(protocol):
        raise ImportError(f"Install {protocol}fs to access {protocol}")

    monkeypatch.setattr(fsspec, "get_filesystem_class", not_installed)
    result = _run(_write_csv(tmp_path, ["images/a.png", "s3://bucket/b.png"]), tmp_path / "out")
    assert result.exit_code == 2
    assert "row 1 of column 'path': cannot read the URL 's3://bucket/b.png': Install s3fs to access s3" in " ".join(
        result.output.split())


def test_an_unknown_protocol_is_a_finding_for_its_row_not_a_failed_run(tmp_path):
    frame = pd.DataFrame({"path": ["nosuchfs://bucket/b.png"], "label": ["a"]})
    report = audit(frame, label_col="label", no_cache=True, use_config_file=False, only=["integrity"])
    record = report.result.features.frame.iloc[0]
    assert record["error_kind"] == "io_error" and "Protocol not known: nosuchfs" in record["error"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_folder(tmp_path):
    """A folder served over HTTP on 127.0.0.1 for the test's duration; yields (folder, base URL)."""
    pytest.importorskip("aiohttp", reason="fsspec's HTTP filesystem needs aiohttp")
    folder = tmp_path / "served"
    folder.mkdir()
    handler = lambda *args, **kwargs: _QuietHandler(*args, directory=str(folder), **kwargs)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_http_urls_read_miss_and_fail_as_a_person_would_expect(http_folder):
    folder, base = http_folder
    (folder / "a.png").write_bytes(png_bytes(random_rgb(7)))
    ok, _ = scan_one(f"{base}/a.png")
    assert ok["status"] == "ok" and ok["width"] == 40
    missing, _ = scan_one(f"{base}/gone.png")
    assert missing["error_kind"] == "missing"
    unreachable_url = f"http://127.0.0.1:{_closed_port()}/a.png"
    unreachable, _ = scan_one(unreachable_url)
    assert unreachable["error_kind"] == "io_error" and unreachable_url in unreachable["error"]
    # Last-Modified keys the cache when the server gives no ETag (python's http.server does not).
    assert remote.cache_keys([f"{base}/a.png"])[f"{base}/a.png"] is not None
