"""Analysers side by side (lanes.py): every task's result arrives exactly once, in this process, whatever happens
to a helper; and an audit in lanes reports what the serial audit reports."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from dataset_audit.lanes import MAX_LANES, lane_count, run_lanes

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="lanes fork helpers only on Linux")


def collect(work, tasks: int, lanes: int) -> dict[int, tuple[object, int]]:
    got: dict[int, tuple[object, int]] = {}

    def done(index: int, result: object, seconds: float) -> None:
        assert index not in got, f"task {index} delivered twice"
        assert seconds >= 0
        got[index] = (result, os.getpid())

    run_lanes(work, tasks, lanes, done)
    return got


def test_lane_count() -> None:
    assert lane_count(1, 10) == 1
    assert lane_count(8, 1) == 1
    if sys.platform.startswith("linux"):
        assert lane_count(2, 10) == 2
        assert lane_count(64, 64) == MAX_LANES


@linux_only
def test_every_result_once_here_and_helpers_do_work(tmp_path) -> None:
    parent = os.getpid()

    def work(index: int) -> tuple[int, int]:
        time.sleep(0.05)
        return index * index, os.getpid()

    got = collect(work, 12, 3)
    assert sorted(got) == list(range(12))
    assert all(result[0] == index * index for index, (result, _) in got.items())
    assert {pid for _, pid in got.values()} == {parent}  # done() always runs in the calling process
    assert {result[1] for result, _ in got.values()} - {parent}, "no task ran in a helper"


@linux_only
def test_the_first_and_costliest_task_always_runs_here() -> None:
    """Not a race between lanes: the caller's process takes task 0 before any helper starts (at 1M images the
    duplicate search in a helper cost 1.2 GB more of all processes' memory)."""
    parent = os.getpid()

    def work(index: int) -> int:
        time.sleep(0.3 if index == 0 else 0.01)
        return os.getpid()

    for _ in range(3):
        got = collect(work, 6, 3)
        assert got[0][0] == parent


@linux_only
def test_a_helper_killed_mid_task_loses_nothing() -> None:
    parent = os.getpid()

    def work(index: int) -> int:
        if os.getpid() != parent:
            os._exit(9)  # as if the kernel's OOM killer took the helper
        time.sleep(0.02)
        return index + 100

    got = collect(work, 6, 2)
    assert {index: result for index, (result, _) in got.items()} == {i: i + 100 for i in range(6)}


@linux_only
def test_a_result_that_does_not_pickle_is_computed_again_here() -> None:
    parent = os.getpid()

    def work(index: int) -> object:
        time.sleep(0.05)
        if os.getpid() != parent:
            return lambda: index  # a lambda cannot be pickled back
        return index

    got = collect(work, 6, 2)
    assert {index: result for index, (result, _) in got.items()} == {i: i for i in range(6)}


def test_one_lane_runs_in_order_here() -> None:
    order: list[int] = []
    got = collect(lambda index: order.append(index) or index, 5, 1)
    assert order == list(range(5)) and sorted(got) == list(range(5))


@linux_only
def test_audit_in_lanes_reports_what_the_serial_audit_reports(sample_report, tmp_path) -> None:
    from typer.testing import CliRunner

    from dataset_audit.cli import app

    out = tmp_path / "serial"
    result = CliRunner().invoke(app, ["run", str(SAMPLE / "images.csv"), "--label-col", "label", "--out", str(out),
                                      "--no-cache", "--jobs", "1", "--quiet"])
    assert result.exit_code == 0, result.output
    serial = json.loads((out / "findings.json").read_text())
    lanes = json.loads((sample_report / "findings.json").read_text())  # the default: one lane per core
    assert [f["id"] for f in lanes["findings"]] == [f["id"] for f in serial["findings"]]
    assert [f["message"] for f in lanes["findings"]] == [f["message"] for f in serial["findings"]]
    assert [a["name"] for a in lanes["analysers"]] == [a["name"] for a in serial["analysers"]]
    assert lanes["timings"]["analyse"] > 0
    # Model metrics may differ in their last digits (BLAS and OpenMP pools are one thread per lane); counts may not.
    for name, value in serial["metrics"].items():
        assert lanes["metrics"][name] == pytest.approx(value, rel=0.02, abs=0.01), name


def test_thread_budget_is_the_lanes_share_while_lanes_run() -> None:
    from dataset_audit.lanes import thread_budget

    assert thread_budget(0) == -1 and thread_budget(3) == 3
    parent = os.getpid()

    def work(index: int) -> tuple[int, bool]:
        time.sleep(0.05)
        return thread_budget(0), os.getpid() == parent

    got = collect(work, 6, 2)
    budgets = {here: budget for (budget, here), _ in got.values()}
    if sys.platform.startswith("linux"):
        assert budgets == {True: max(1, (os.cpu_count() or 1) // 2), False: 1}  # helpers: one OpenMP thread
    else:
        assert budgets == {True: -1}
    assert thread_budget(0) == -1  # restored afterwards


HANG_CHECK = """
import os
import sys

import numpy as np
from sklearn.cluster import KMeans
from dataset_audit.lanes import run_lanes, thread_budget
points = np.random.default_rng(0).normal(size=(3000, 8)).astype(np.float32)
KMeans(4, n_init=1, random_state=0).fit(points)  # this process has used OpenMP with every core


def work(index):
    try:
        from openTSNE import TSNE
        return TSNE(n_jobs=thread_budget(0), random_state=0, n_iter=30).fit(points[:1500]).shape
    except ImportError:
        from sklearn.manifold import TSNE
        return TSNE(n_jobs=thread_budget(0), random_state=0, max_iter=250).fit_transform(points[:1500]).shape


os.cpu_count = lambda: int(sys.argv[1])  # the machine's cores as the lanes see them
shapes = []
run_lanes(work, 2, 2, lambda index, result, seconds: shapes.append(result))
print(sorted(shapes))
"""


@linux_only
@pytest.mark.parametrize("cores", [2, 4])  # 4: two threads per lane, where only the helpers' OpenMP limit saves it
def test_an_openmp_map_in_a_helper_after_the_parent_used_openmp_does_not_hang(cores: int) -> None:
    """openTSNE sizes its OpenMP team itself; a team of two in a forked helper hung the audit in a test process
    that had used OpenMP before. With its n_jobs from thread_budget it runs (a hang fails the timeout)."""
    import subprocess

    result = subprocess.run([sys.executable, "-c", HANG_CHECK, str(cores)], capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[(1500, 2), (1500, 2)]"


def test_analysers_that_share_a_search_are_one_task_and_the_duplicate_search_stays_first() -> None:
    from dataset_audit.analysers import REGISTRY
    from dataset_audit.pipeline import lane_tasks

    pending = sorted(range(len(REGISTRY)), key=lambda p: -REGISTRY[p].cost)  # as run_audit orders them
    tasks = lane_tasks([REGISTRY[p] for p in pending], pending)
    names = [[REGISTRY[p].name + (" side" if part == "side" else "") for p, part in task] for task in tasks]
    assert names[0] == ["duplicates"]  # the first task runs in this process (its memory at 1M images)
    # The t-SNE map (the embedding analyser's side part) costs the same at any size: it starts beside the duplicate
    # search, and the lane that comes free first takes the shared kNN task next.
    assert names[1] == ["embedding side"]
    assert names[2] == ["labels", "embedding"]  # labels searches the neighbours, embedding reuses them
    assert sorted(p for task in tasks for p, part in task if part == "main") == list(range(len(REGISTRY)))


@linux_only
def test_the_neighbourhood_is_searched_once_when_lanes_run(tmp_path, monkeypatch) -> None:
    """Labels and embedding both use embedding.neighbourhood; in one lane the second reuses the first's search.
    When either lane could take either, the lane that came free first searched again (a third of 60k runs)."""
    from typer.testing import CliRunner

    from dataset_audit.analysers import embedding
    from dataset_audit.cli import app

    log = tmp_path / "searches.txt"
    real = embedding.neighbours

    def logged(*args, **kwargs):
        with open(log, "a") as handle:  # the helper is a forked process: a file sees both
            handle.write(f"{os.getpid()}\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(embedding, "neighbours", logged)
    result = CliRunner().invoke(app, ["run", str(SAMPLE / "images.csv"), "--label-col", "label", "--out",
                                      str(tmp_path / "out"), "--no-cache", "--jobs", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    assert len(log.read_text().split()) == 1
