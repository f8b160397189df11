"""--dask: the scan on a Dask distributed cluster the test starts gives exactly a local run's results."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from imagetools import write_small_dataset
from PIL import Image
from typer.testing import CliRunner

from dataset_audit.cli import app
from dataset_audit.errors import AuditUsageError
from dataset_audit.scan import dask_backend, runner, scan_images
from dataset_audit.scan.backend import scan_backend
from dataset_audit.scan.dask_backend import DaskMap
from dataset_audit.scan.runner import ScanInterrupted, _scan_chunk

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")


@pytest.fixture(scope="module")
def cluster():
    """Two in-process workers of one thread each: fast to start, and enough to complete chunks out of order."""
    with distributed.LocalCluster(n_workers=2, processes=False, threads_per_worker=1,
                                  dashboard_address=None) as local_cluster:
        yield local_cluster


def _audit(csv: Path, out: Path, *extra: str) -> dict:
    result = CliRunner().invoke(app, ["run", str(csv), "--label-col", "label", "--out", str(out), "--no-cache",
                                      "--quiet", *extra])
    assert result.exit_code in (0, 1), result.output
    return json.loads((out / "findings.json").read_text())


def _scan_on(address: str, paths: list[Path], **options) -> runner.Features:
    """scan_images on the cluster at `address`, connected and closed as `audit run --dask` does."""
    with scan_backend(0, address) as backend:
        return scan_images(paths, map_items=backend.map_items, jobs=backend.jobs, **options)


def _scan_paths(folder: Path) -> list[Path]:
    paths = sorted((folder / "images").iterdir())
    # Enough files for several chunks (completion order differs from submission order), and a repeated row.
    return [*paths * 20, paths[0], folder / "images" / "gone.jpg"]


def test_cli_dask_run_gives_the_same_findings_and_metrics_as_a_local_run(tmp_path, cluster):
    csv = write_small_dataset(tmp_path / "data")
    local = _audit(csv, tmp_path / "local")
    remote = _audit(csv, tmp_path / "dask", "--dask", cluster.scheduler_address)
    assert remote["metrics"] == local["metrics"]
    assert remote["findings"] == local["findings"]
    assert any(f["kind"] == "missing" for f in remote["findings"])  # the broken files were scanned too
    assert remote["scan"]["decoded"] == local["scan"]["decoded"] == 16
    assert remote["scan"]["jobs"] == 2  # the cluster's worker threads, as the report says


def test_features_are_identical_row_for_row(tmp_path, cluster):
    csv = write_small_dataset(tmp_path / "data")
    paths = _scan_paths(csv.parent)
    local = scan_images(paths, jobs=1)
    remote = _scan_on(cluster.scheduler_address, paths)
    pd.testing.assert_frame_equal(remote.frame, local.frame)
    np.testing.assert_array_equal(remote.thumbs, local.thumbs)
    np.testing.assert_array_equal(remote.file_ids, local.file_ids)


def test_worker_processes_give_the_same_features(tmp_path):
    """processes=True: the work and its results really cross a process boundary (pickled, not shared)."""
    csv = write_small_dataset(tmp_path / "data")
    paths = _scan_paths(csv.parent)
    local = scan_images(paths, jobs=1)
    with distributed.LocalCluster(n_workers=1, processes=True, threads_per_worker=1, dashboard_address=None,
                                  worker_dashboard_address=None) as process_cluster:
        remote = _scan_on(process_cluster.scheduler_address, paths)
    pd.testing.assert_frame_equal(remote.frame, local.frame)
    np.testing.assert_array_equal(remote.thumbs, local.thumbs)


def test_the_cache_is_written_by_the_client_and_serves_a_local_run(tmp_path, cluster):
    csv = write_small_dataset(tmp_path / "data")
    paths = _scan_paths(csv.parent)
    first = _scan_on(cluster.scheduler_address, paths, cache_dir=tmp_path / "cache")
    again = scan_images(paths, jobs=1, cache_dir=tmp_path / "cache")
    # 15 files on disk (gone.jpg is missing: never cached), 13 of them readable or cacheable failures.
    assert first.stats.decoded == 16 and again.stats.decoded == 1 and again.stats.from_cache == 15
    pd.testing.assert_frame_equal(again.frame, first.frame)


def _slow_item(item: int) -> int:
    time.sleep(0.05)
    return item


def test_closing_the_results_early_cancels_the_tasks_left(cluster):
    """What Ctrl-C does: the scan's loop stops, the generator closes, and the cluster drops the tasks not gathered."""
    dask_map = DaskMap.connect(cluster.scheduler_address)
    try:
        results = dask_map(_slow_item, list(range(400)), chunksize=4)
        assert next(results) in range(400)
        results.close()
        deadline = time.monotonic() + 10
        while cluster.scheduler.tasks and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not cluster.scheduler.tasks
    finally:
        dask_map.close()


SCANNED: list[int] = []  # items _slow_scan_chunk ran on (in-process workers share this list)


def _slow_scan_chunk(items, limits):
    time.sleep(0.1)
    SCANNED.extend(index for index, _ in items)
    return _scan_chunk(items, limits)


def test_ctrl_c_during_a_dask_scan_stops_it_and_cancels_the_tasks_left(tmp_path, cluster, monkeypatch):
    csv = write_small_dataset(tmp_path / "data")
    SCANNED.clear()
    monkeypatch.setattr(runner, "_scan_chunk", _slow_scan_chunk)
    monkeypatch.setattr(runner, "CHUNK", 2)  # 8 tasks of 2 images: most are queued when the first one arrives

    def interrupt(done: int) -> None:
        if done:  # the first image gathered (the scan first reports the 0 served by the cache)
            raise KeyboardInterrupt

    dask_map = DaskMap.connect(cluster.scheduler_address)
    try:
        with pytest.raises(ScanInterrupted, match="interrupted after decoding 1 of 16 images"):
            scan_images(_scan_paths(csv.parent), map_items=dask_map, progress=interrupt)
        deadline = time.monotonic() + 10
        while cluster.scheduler.tasks and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not cluster.scheduler.tasks
        time.sleep(1.0)  # uncancelled, the 16 images would all be decoded by now
        assert len(SCANNED) < 16
    finally:
        dask_map.close()


def test_progress_is_reported_once_per_image(tmp_path, cluster):
    csv = write_small_dataset(tmp_path / "data")
    paths = _scan_paths(csv.parent)
    ticks: list[int] = []
    dask_map = DaskMap.connect(cluster.scheduler_address)
    try:
        scan_images(paths, map_items=dask_map, progress=ticks.append)
    finally:
        dask_map.close()
    assert sum(ticks) == len(set(map(str, paths)))


def test_an_unreachable_scheduler_is_a_usage_error_naming_the_address(small_dataset, tmp_path):
    started = time.monotonic()
    result = CliRunner().invoke(app, ["run", str(small_dataset), "--out", str(tmp_path / "out"), "--no-cache",
                                      "--dask", "tcp://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "--dask tcp://127.0.0.1:9: cannot reach the Dask scheduler" in result.output
    assert time.monotonic() - started < 60


def test_without_distributed_installed_the_error_says_what_to_install(small_dataset, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    result = CliRunner().invoke(app, ["run", str(small_dataset), "--out", str(tmp_path / "out"), "--no-cache",
                                      "--dask", "tcp://127.0.0.1:8786"])
    assert result.exit_code == 2
    assert "pip install 'dataset-audit[dask]'" in " ".join(result.output.split())


def test_workers_with_another_version_are_refused(cluster, monkeypatch):
    monkeypatch.setattr(dask_backend, "_worker_identity", lambda: ("0.0.1", 1))
    with pytest.raises(AuditUsageError, match=r"2 worker\(s\) run dataset-audit 0.0.1"):
        DaskMap.connect(cluster.scheduler_address)


def test_dask_is_a_config_setting_and_an_api_keyword(small_dataset, cluster):
    from dataset_audit import audit

    report = audit(small_dataset, label_col="label", no_cache=True, use_config_file=False, only=["integrity"],
                   dask=cluster.scheduler_address)
    assert report.result.features.stats.jobs == 2
    assert report.metrics["integrity.missing_count"] == 1


def test_urls_are_read_by_the_workers(cluster):
    """memory:// is visible to in-process workers: the fsspec path runs on the cluster, missing file and all."""
    fsspec = pytest.importorskip("fsspec", reason="the remote extra is not installed")
    from imagetools import png_bytes, random_rgb

    fs = fsspec.filesystem("memory")
    urls = []
    for i in range(5):
        fs.pipe(f"/dask-urls/img_{i}.png", png_bytes(random_rgb(500 + i)))
        urls.append(f"memory://dask-urls/img_{i}.png")
    urls.append("memory://dask-urls/gone.png")
    try:
        local = scan_images(urls, jobs=1)
        dask_map = DaskMap.connect(cluster.scheduler_address)
        try:
            remote = scan_images(urls, map_items=dask_map)
        finally:
            dask_map.close()
    finally:
        fs.rm("/dask-urls", recursive=True)
    pd.testing.assert_frame_equal(remote.frame, local.frame)
    assert remote.frame["status"].tolist() == ["ok"] * 5 + ["missing"]


def test_worker_threads_leave_the_warning_filters_as_they_were_plus_two_narrow_ones(tmp_path):
    """catch_warnings in worker threads is not thread-safe: a Dask worker of 4 threads was left with a blanket
    'ignore every warning' filter after a scan. Now worker threads keep two narrow filters (Pillow's modules and
    dataset_audit.scan's) in the filters, and Pillow's DecompressionBombWarning from a worker thread is not shown."""
    import warnings

    from imagetools import write_blank_png

    from dataset_audit.scan.safe_read import _WORKER_FILTER_MODULES

    def module(entry: tuple) -> object:
        return getattr(entry[3], "pattern", entry[3])  # a compiled pattern, None, or a string some library put there

    def others(filters: list) -> list:
        return [f for f in filters if module(f) not in _WORKER_FILTER_MODULES]

    csv = write_small_dataset(tmp_path / "data")
    bomb = write_blank_png(tmp_path / "bomb.png", 9_500, 9_500)  # 90 M pixels: above Pillow's warning size
    paths = [*_scan_paths(csv.parent) * 4, bomb]
    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=4, dashboard_address=None,
                                  worker_dashboard_address=None) as threads:  # workers share this process's filters
        with warnings.catch_warnings(record=True) as shown:
            warnings.simplefilter("default")
            before = others(warnings.filters)
            features = _scan_on(threads.scheduler_address, paths)
            after = list(warnings.filters)
    assert features.frame["status"].iloc[-1] == "skipped"  # too many pixels to decode: a finding, as locally
    assert others(after) == before  # nothing else added or lost (the old code left ('ignore', None, Warning, None))
    assert {module(f) for f in after if f[0] == "ignore"} >= set(_WORKER_FILTER_MODULES)
    assert [str(w.message)[:60] for w in shown if issubclass(w.category, Image.DecompressionBombWarning)] == []
