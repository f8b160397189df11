"""The label check on real data: out-of-fold accuracy, rows flagged, CPU seconds of the model, and on MNIST how many
of the 15 human-confirmed test-set label errors are found.

The 15 are the MNIST rows of cleanlab/label-errors (mturk/mnist_mturk.json, Northcutt, Athalye and Mueller 2021,
"Pervasive Label Errors in Test Sets") where fewer than 3 of 5 reviewers kept the given label.
Run: .venv/bin/python bench/bench_labels.py   (extracts MNIST and CIFAR-10 under bench/.data on first use)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cifar import cifar10_folder  # noqa: E402
from mnist import mnist_test_csv  # noqa: E402

from dataset_audit.confident_learning import find_label_issues, ranked_disagreements  # noqa: E402
from dataset_audit.label_model import out_of_fold_probabilities, thumbnail_features  # noqa: E402
from dataset_audit.scan import scan_images  # noqa: E402

MNIST_CONFIRMED_ERRORS = {947, 1621, 1901, 2130, 2462, 2597, 2654, 3520, 3558, 5937, 6651, 6783, 8527, 9679, 9729}


def measure(name: str, paths: list[Path], labels: list[str], known: set[int] | None = None) -> dict:
    features = scan_images(paths, jobs=0, cache_dir=Path(__file__).resolve().parent / ".data" / "cache")
    classes, given = np.unique(np.array(labels), return_inverse=True)
    cpu, wall = time.process_time(), time.perf_counter()
    with threadpool_limits(1):
        probabilities = out_of_fold_probabilities(thumbnail_features(features.thumbs), given, 5, 0)
        result = find_label_issues(probabilities, given)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    flagged = set(np.flatnonzero(result.issue_mask).tolist())
    ranked = ranked_disagreements(probabilities, given)
    accuracy = float((probabilities.argmax(axis=1) == given).mean())
    prior = float(np.bincount(given).max() / len(given))
    line = (f"{name}: {len(given):,} images, out-of-fold accuracy {accuracy:.1%} (prior {prior:.1%}), flagged "
            f"{len(flagged):,} ({len(flagged) / len(given):.2%}), features + 5-fold model + confident learning "
            f"{cpu:.1f} s CPU on 1 thread ({wall:.1f} s wall)")
    if known:
        line += (f"; confirmed errors: {len(flagged & known)} of {len(known)} flagged, "
                 f"{len(set(ranked[:100].tolist()) & known)} in the top 100 of the ranked list")
    print(f"  {line}", flush=True)
    figures = {"images": len(given), "oof_accuracy": round(accuracy, 4), "prior": round(prior, 4),
               "flagged": len(flagged), "cpu_s": round(cpu, 1), "wall_s": round(wall, 1)}
    if known:
        figures.update({"confirmed_flagged": len(flagged & known), "confirmed_in_top100":
                        len(set(ranked[:100].tolist()) & known), "confirmed_known": len(known)})
    return figures


def run(report: dict) -> None:
    """Adds the label-check figures to `report` (keys starting with "labels_")."""
    mnist = mnist_test_csv()
    table = pd.read_csv(mnist)
    report["labels_mnist10k"] = measure("MNIST test set", [mnist.parent / p for p in table["path"]],
                                        table["label"].astype(str).tolist(), MNIST_CONFIRMED_ERRORS)
    test = sorted((cifar10_folder() / "test").glob("*/*.jpg"))
    report["labels_cifar10_test10k"] = measure("CIFAR-10 test set", test, [p.parent.name for p in test])


if __name__ == "__main__":
    run({})
