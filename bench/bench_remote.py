"""What --dask and URL paths cost: the scan of CIFAR-10's 10,000 test JPEGs, locally, on a Dask LocalCluster, and
read through fsspec from memory://, with the features checked equal to the local scan's.

    nice .venv/bin/python bench/bench_remote.py [--workers 2]

Prints one line per way of scanning (no cache, so every image is decoded). Not part of `make bench`: it measures
the overhead of the two optional extras, not the audit.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cifar import cifar10_folder  # noqa: E402

from dataset_audit.scan import scan_images  # noqa: E402
from dataset_audit.scan.dask_backend import DaskMap  # noqa: E402


def _timed(label: str, run) -> pd.DataFrame:
    started = time.perf_counter()
    features = run()
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds:.2f} s, {len(features) / seconds:,.0f} images/s", flush=True)
    return features.frame


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    paths = sorted((cifar10_folder() / "test").rglob("*.jpg"))
    print(f"{len(paths):,} CIFAR-10 test JPEGs, {args.workers} workers, no cache")
    local = _timed(f"local processes (--jobs {args.workers})", lambda: scan_images(paths, jobs=args.workers))

    import distributed
    import fsspec

    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None, worker_dashboard_address=None) as cluster:
        dask_map = DaskMap.connect(cluster.scheduler_address)
        try:
            on_dask = _timed(f"Dask LocalCluster ({args.workers} worker processes, 1 thread each)",
                             lambda: scan_images(paths, map_items=dask_map, jobs=dask_map.threads))
        finally:
            dask_map.close()
    pd.testing.assert_frame_equal(on_dask, local)

    memory = fsspec.filesystem("memory")
    urls = []
    for path in paths:
        name = f"/bench/{path.parent.name}/{path.name}"
        memory.pipe(name, path.read_bytes())
        urls.append(f"memory:/{name}")
    from_urls = _timed(f"memory:// URLs through fsspec (--jobs {args.workers}, forked workers share the store)",
                       lambda: scan_images(urls, jobs=args.workers))
    pd.testing.assert_frame_equal(from_urls, local)
    print("features identical to the local scan: yes")


if __name__ == "__main__":
    main()
