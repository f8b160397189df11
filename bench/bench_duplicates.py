"""Duplicate-search benchmark: 1,000,000 synthetic 64-bit hashes through the multi-index search, and the duplicates
analyser on the 60,000 CIFAR-10 images and the 10,000 MNIST test digits (scans cached under bench/.data/cache),
compared with plain pHash.

Run alone (`python bench/bench_duplicates.py [--skip-cifar]`) or from run_bench.py through run(report), which adds
keys starting with "duplicates_".
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cifar import ROOT, cifar10_folder  # noqa: E402

from dataset_audit import graph_groups, hamming_search  # noqa: E402

HASHES = 1_000_000
PLANTED = 5_000
REPEAT_IF_UNDER_S = 30.0  # median of three runs when one run is at most this long


def synthetic_hashes(n: int = HASHES, planted: int = PLANTED, seed: int = 0) -> np.ndarray:
    """Uniform random 64-bit hashes, `planted` of them overwritten by a copy of another with 1-8 bits flipped, and
    a block of 1,000 identical hashes (blank images)."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)
    pairs = rng.choice(n, (planted, 2), replace=False)
    flips = rng.integers(1, 9, planted)
    noise = np.zeros(planted, dtype=np.uint64)
    for column in range(8):
        bit = np.uint64(1) << rng.integers(0, 64, planted).astype(np.uint64)
        noise |= np.where(column < flips, bit, np.uint64(0))
    values[pairs[:, 1]] = values[pairs[:, 0]] ^ noise
    values[-1000:] = values[-1001]
    return values.view(np.int64)


def bench_hashes(report: dict) -> None:
    hashes = synthetic_hashes()
    times = []
    while True:
        started = time.perf_counter()
        pairs = hamming_search.hamming_pairs(hashes, hamming_search.DEFAULT_RADIUS)
        groups = graph_groups.group_members(graph_groups.connected_groups(len(hashes), pairs.left, pairs.right))
        times.append(time.perf_counter() - started)
        if len(times) == 3 or times[0] > REPEAT_IF_UNDER_S:
            break
    report["duplicates_1m_hash_search_s"] = round(statistics.median(times), 2)
    report["duplicates_1m_hash_runs"] = len(times)
    report["duplicates_1m_hash_pairs"] = len(pairs)
    report["duplicates_1m_hash_groups"] = len(groups)
    print(f"  1,000,000 hashes, radius {hamming_search.DEFAULT_RADIUS}: {report['duplicates_1m_hash_search_s']} s "
          f"({'median of 3' if len(times) == 3 else 'one run'}), {len(pairs):,} edges, {len(groups):,} groups",
          flush=True)


def scanned(source: Path, config) -> tuple:
    """(table, features) for a dataset, the scan cached under bench/.data/cache."""
    from dataset_audit.dataset import load_table
    from dataset_audit.scan import scan_images

    table = load_table(source, config)
    features = scan_images(table.resolved_paths(), jobs=0, cache_dir=ROOT / "bench" / ".data" / "cache")
    return table, features


SETTINGS = {
    "default": {},
    "high_recall": {"max_ratio": 0.7, "phash_confirm_distance": 0.6},
    # Plain 64-bit pHash at Hamming distance <= 8, nothing else: the usual baseline.
    "phash_only_8": {"max_ratio": 0, "phash_radius": 8, "phash_confirm_distance": 2.0, "phash_max_ratio": 0},
}


def bench_dataset(report: dict, name: str, source: Path, label_col: str | None, settings: tuple[str, ...]) -> None:
    from dataset_audit.analysers import duplicates
    from dataset_audit.config import Config
    from dataset_audit.model import AuditInput
    from dataset_audit.pipeline import run_analyser

    config = Config(label_col=label_col)
    table, features = scanned(source, config)
    for setting in settings:
        config.analysers = {"duplicates": SETTINGS[setting]}
        started = time.perf_counter()
        section = run_analyser(duplicates.ANALYSER, AuditInput(table=table, features=features, config=config))
        seconds = time.perf_counter() - started
        near = [f for f in section.findings if f.kind == "near_duplicate"]
        figures = {
            "seconds": round(seconds, 2),
            "near_groups": len(near),
            "rows_in_near_groups": sum(len(f.rows) for f in near),
            "largest_group": max((len(f.rows) for f in near), default=0),
            "near_count": section.metrics["duplicates.near_count"],
            "conflicting_label_groups": section.metrics["duplicates.conflicting_label_groups"],
            "leakage_rows": section.metrics["leakage.cross_split_count"],
            "leakage_rate": round(section.metrics["leakage.cross_split_rate"], 4),
        }
        report[f"duplicates_{name}_{setting}"] = figures
        print(f"  {name}, {setting}: {figures}", flush=True)


def bench_thumbnail_search_recall(report: dict, queries: int = 6000) -> None:
    """How often the cell-based thumbnail search returns the true nearest image (brute force over all 60,000 on
    full signatures), for all sampled queries and for those whose true ratio passes the default max_ratio."""
    from dataset_audit import thumbnail_search
    from dataset_audit.analysers.duplicates import SETTINGS as DUPLICATE_SETTINGS
    from dataset_audit.config import Config

    _, features = scanned(cifar10_folder(), Config())
    started = time.perf_counter()
    found = thumbnail_search.nearest_neighbours(features.thumbs)
    seconds = time.perf_counter() - started
    vectors = thumbnail_search.signatures(features.thumbs)
    sample = np.random.default_rng(1).choice(len(vectors), queries, replace=False)
    nearest, ratio = np.empty(queries, dtype=np.int64), np.empty(queries, dtype=np.float32)
    for lo in range(0, queries, 1000):
        block = sample[lo:lo + 1000]
        squared = 2.0 - 2.0 * vectors[block] @ vectors.T
        squared[np.arange(len(block)), block] = np.inf
        top = np.sort(np.partition(squared, 10, axis=1)[:, :10], axis=1)
        nearest[lo:lo + 1000] = np.argmin(squared, axis=1)
        ratio[lo:lo + 1000] = np.sqrt(np.maximum(top[:, 0], 0)) / np.sqrt(np.maximum(top[:, 9], 1e-12))
    hit = found.candidates[sample, 0] == nearest
    matches = ratio <= next(s.default for s in DUPLICATE_SETTINGS if s.name == "max_ratio")
    report["duplicates_thumbnail_search"] = {
        "seconds": round(seconds, 2), "queries": queries, "recall_at_1": round(float(hit.mean()), 3),
        "ratio_matches": int(matches.sum()), "recall_at_1_on_ratio_matches": round(float(hit[matches].mean()), 3)}
    print(f"  thumbnail search on CIFAR-10 60k: {report['duplicates_thumbnail_search']}", flush=True)


def bench_real(report: dict) -> None:
    from mnist import mnist_test_csv

    bench_thumbnail_search_recall(report)
    bench_dataset(report, "cifar60k", cifar10_folder(), None, tuple(SETTINGS))
    bench_dataset(report, "mnist10k", mnist_test_csv(), "label", ("default", "phash_only_8"))
    report["duplicates_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run(report: dict, cifar: bool = True) -> None:
    """Adds the duplicate-search figures to `report` (keys starting with "duplicates_")."""
    bench_hashes(report)
    if cifar:
        bench_real(report)


if __name__ == "__main__":
    figures: dict = {}
    run(figures, cifar="--skip-cifar" not in sys.argv)
    for key, value in figures.items():
        print(f"{key:<35}: {value}")
