"""t-SNE for the embedding explorer: scikit-learn (the analyser's settings and cheaper ones) against openTSNE (its
Barnes-Hut and FFT-interpolation gradients) and a plain PCA map, on the points the analyser maps: the PCA vectors of the 16x16 thumbnails of the
CIFAR-10 test set and of the MNIST test set (10,000 each), a seeded sample of 3,000 (config.tsne_max).

Figures per method: seconds and CPU seconds (median of 3 runs), trustworthiness (sklearn.manifold.trustworthiness, 10 neighbours:
how many of each point's map neighbours are true neighbours), and kNN-label agreement (the share of each point's
10 nearest neighbours with its label, in the map and in the 32-D space it came from). Both cores, under `nice`.
Run: .venv/bin/python bench/bench_tsne.py   (needs openTSNE: pip install 'dataset-audit[tsne]'); writes bench/TSNE.md.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.manifold import TSNE, trustworthiness
from sklearn.neighbors import NearestNeighbors

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cifar import cifar10_folder  # noqa: E402
from mnist import mnist_test_csv  # noqa: E402

from dataset_audit.analysers.embedding import image_vectors  # noqa: E402
from dataset_audit.scan import scan_images  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "bench" / "TSNE.md"
CACHE = ROOT / "bench" / ".data" / "cache"
POINTS = 3000  # config.tsne_max
DIMS = 32  # embedding.dims
SEED = 0
REPEATS = int(os.environ.get("TSNE_REPEATS", 3))
JOBS = 2


def sklearn_tsne(iterations: int, rate_divisor: float, angle: float, perplexity: float = 30.0) -> Callable:
    def embed(points: np.ndarray) -> np.ndarray:
        return TSNE(n_components=2, init="pca", perplexity=perplexity,
                    learning_rate=max(len(points) / rate_divisor, 50.0), angle=angle, max_iter=iterations,
                    random_state=SEED, n_jobs=JOBS).fit_transform(points.astype(np.float64))
    return embed


def open_tsne(exaggeration_iterations: int, iterations: int, gradient: str = "fft", perplexity: float = 30.0,
              jobs: int = JOBS, neighbors: str = "auto", theta: float = 0.5) -> Callable:
    def embed(points: np.ndarray) -> np.ndarray:
        from openTSNE import TSNE as OpenTSNE

        return np.asarray(OpenTSNE(n_components=2, perplexity=perplexity, initialization="pca",
                                   early_exaggeration_iter=exaggeration_iterations, n_iter=iterations,
                                   negative_gradient_method=gradient, n_jobs=jobs, neighbors=neighbors,
                                   theta=theta, random_state=SEED).fit(points.astype(np.float64)))
    return embed


def pca_map(points: np.ndarray) -> np.ndarray:
    return PCA(n_components=2, random_state=SEED).fit_transform(points)


# name -> (embedding, runs): the full-length reference runs once (it takes minutes on a busy machine).
METHODS: dict[str, tuple[Callable, int]] = {
    "scikit-learn, analyser now (350 it = 250 EE + 100, lr n/12, angle 0.6)": (sklearn_tsne(350, 12, 0.6), REPEATS),
    "scikit-learn, 300 it (250 EE + 50), lr n/12, angle 0.8, perplexity 15": (sklearn_tsne(300, 12, 0.8, 15.0),
                                                                              REPEATS),
    "openTSNE Barnes-Hut, 250 EE + 100": (open_tsne(250, 100, "bh"), REPEATS),
    "openTSNE Barnes-Hut, 125 EE + 125": (open_tsne(125, 125, "bh"), REPEATS),
    "openTSNE FFT, 250 EE + 100": (open_tsne(250, 100), REPEATS),
    # How the analyser runs it on 2 cores: in a lane (1 thread), exact neighbours up to 5,000 points.
    "openTSNE Barnes-Hut, 125 EE + 125, 1 thread, exact neighbours (the analyser before theta 0.8)": (
        open_tsne(125, 125, "bh", jobs=1, neighbors="exact"), REPEATS),
    "openTSNE Barnes-Hut, 125 EE + 125, theta 0.8, 1 thread, exact neighbours": (
        open_tsne(125, 125, "bh", jobs=1, neighbors="exact", theta=0.8), REPEATS),
    "openTSNE Barnes-Hut, 100 EE + 100, theta 0.8, 1 thread, exact neighbours (the analyser in a lane)": (
        open_tsne(100, 100, "bh", jobs=1, neighbors="exact", theta=0.8), REPEATS),
    "openTSNE FFT, 125 EE + 125, 1 thread, exact neighbours": (open_tsne(125, 125, "fft", jobs=1, neighbors="exact"),
                                                              REPEATS),
    "PCA to 2-D (no t-SNE)": (pca_map, REPEATS),
    "reference: openTSNE Barnes-Hut, its default length (250 EE + 500), 1 run": (open_tsne(250, 500, "bh"), 1),
}


def label_agreement(points: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Mean share of each point's k nearest neighbours (itself left out) that carry its label."""
    _, indices = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    return float((labels[indices[:, 1:]] == labels[:, None]).mean())


def dataset_points(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The analyser's PCA vectors of a seeded 3,000 sample, and their labels."""
    if name == "CIFAR-10 test":
        files = sorted((cifar10_folder() / "test").rglob("*.jpg"))
        labels = np.array([path.parent.name for path in files])
    else:
        csv = mnist_test_csv()
        table = pd.read_csv(csv)
        files = [csv.parent / p for p in table["path"]]
        labels = table["label"].astype(str).to_numpy()
    features = scan_images(files, jobs=0, cache_dir=CACHE)
    ok = np.flatnonzero(features.ok)
    vectors, _ = image_vectors(features.thumbs[ok], DIMS, SEED)
    sample = np.sort(np.random.default_rng(SEED).choice(len(ok), size=POINTS, replace=False))
    return vectors[sample], labels[ok][sample]


def measure(points: np.ndarray, labels: np.ndarray, embed: Callable, runs: int) -> dict:
    times, cpu_times, coordinates = [], [], None
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        coordinates = embed(points)
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
    assert coordinates is not None
    return {"seconds": round(statistics.median(times), 2), "cpu_seconds": round(statistics.median(cpu_times), 2),
            "trustworthiness": round(float(trustworthiness(points, coordinates, n_neighbors=10)), 3),
            "label_agreement": round(label_agreement(coordinates, labels), 3)}


def main() -> None:
    os.nice(10)
    lines = [f"Measured by `.venv/bin/python bench/bench_tsne.py` on {time.strftime('%Y-%m-%d', time.gmtime())}, "
             f"{os.cpu_count()} cores (n_jobs={JOBS} unless the row says 1 thread), a shared machine under `nice` "
             f"(other work may have run at the same time: compare rows, not machines): seconds are the median of {REPEATS} run(s) (TSNE_REPEATS; "
             "3 by default) unless the row says 1. Points: the embedding analyser's 32-D PCA vectors of the 16x16 thumbnails, a seeded "
             f"sample of {POINTS:,} (tsne_max). Trustworthiness: sklearn.manifold.trustworthiness, 10 neighbours. "
             "CPU seconds: the process's CPU time, all threads (less sensitive to other work than wall seconds). "
             "Label agreement: mean share of a point's 10 nearest neighbours with its label (in the 2-D map; "
             "the first row of each set gives it in the 32-D space for reference). EE = early-exaggeration "
             "iterations.", ""]
    for dataset in ("CIFAR-10 test", "MNIST test"):
        points, labels = dataset_points(dataset)
        lines += [f"### {dataset} ({POINTS:,} points)", "",
                  "| method | seconds | CPU seconds | trustworthiness | label agreement |",
                  "| --- | ---: | ---: | ---: | ---: |",
                  f"| (the 32-D vectors themselves) | | | | {label_agreement(points, labels):.3f} |"]
        for name, (embed, runs) in METHODS.items():
            figures = measure(points, labels, embed, runs)
            print(f"{dataset}: {name}: {figures}", flush=True)
            lines.append(f"| {name} | {figures['seconds']} | {figures['cpu_seconds']} | {figures['trustworthiness']} | "
                         f"{figures['label_agreement']} |")
        lines.append("")
    lines += ["What the analyser runs (dataset_audit/analysers/embedding.py, tsne_map): openTSNE Barnes-Hut, 100 EE + "
              "100 with theta (its Barnes-Hut accuracy) 0.8 instead of 0.5, when openTSNE is installed "
              "(`pip install 'dataset-audit[tsne]'`; `make install` installs it), else scikit-learn with the settings "
              "of the first row. scikit-learn's early exaggeration is fixed at 250 iterations, so it cannot be "
              "shortened the same way; its cheaper settings lose trustworthiness.", ""]
    TABLE.write_text("\n".join(lines))
    print(f"Written to {TABLE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
