"""Issue 9, items 9-11: a failed or interrupted run keeps what it had (the previous report, the scan so far)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import findings, run_cli, write_csv
from PIL import Image

from dataset_audit.report.html import HtmlReporter


def test_9_a_failing_run_keeps_the_previous_report(good_images, tmp_path, monkeypatch):
    csv = write_csv(good_images, [f"good_{i}.png" for i in range(4)])
    out = tmp_path / "o"
    assert run_cli(str(csv), "--out", str(out), "--no-cache")[0] == 0
    before = {name: (out / name).read_bytes() for name in ("report.html", "findings.json")}

    def killed_while_writing(self, result, progress=None):
        raise KeyboardInterrupt  # stands for a kill or a crash in the middle of rendering

    monkeypatch.setattr(HtmlReporter, "render", killed_while_writing)
    code, _ = run_cli(str(csv), "--out", str(out), "--no-cache")
    assert code == 130
    assert (out / "report.html").read_bytes() == before["report.html"]
    assert findings(out)["dataset"]["rows"] == 4  # whole, old or new: never a 0-byte file
    assert sorted(p.name for p in out.iterdir()) == ["findings.json", "report.html"]  # no temporary left


def _dataset(folder: Path, count: int) -> Path:
    """`count` hard links to one small PNG: distinct paths, each decoded, nothing big on disk."""
    folder.mkdir()
    pixels = np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / "noise.png")
    for i in range(count):
        os.link(folder / "noise.png", folder / f"n{i:04d}.png")
    return write_csv(folder, [f"n{i:04d}.png" for i in range(count)])


# The CLI with every decode slowed to 50 ms, so the scan takes seconds on any machine (workers are forked and
# inherit the patch): the test can act mid-scan without depending on the machine's speed.
SLOW_CLI = """
import sys, time
import dataset_audit.scan.decode as decode
real = decode._decode_into
decode._decode_into = lambda *args: (time.sleep(0.05), real(*args))[1]
from dataset_audit.cli import main
sys.argv = ["audit", *sys.argv[1:]]
main()
"""


def _cache_rows(cache: Path) -> int:
    try:
        with sqlite3.connect(f"file:{cache / 'scan-cache.sqlite'}?mode=ro", uri=True, timeout=1) as db:
            return db.execute("SELECT count(*) FROM records").fetchone()[0]
    except sqlite3.Error:
        return 0


def _start(*args: str) -> subprocess.Popen:
    # --only integrity: the analysers are not under test (and identical images are no dataset to embed).
    return subprocess.Popen([sys.executable, "-c", SLOW_CLI, "run", *args, "--quiet", "--jobs", "2",
                             "--only", "integrity"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.skipif(os.name != "posix", reason="sends POSIX signals to a process group")
def test_10_ctrl_c_keeps_the_scan_so_far_and_prints_one_line(tmp_path):
    csv = _dataset(tmp_path / "data", 600)
    cache = tmp_path / "cache"
    process = _start(str(csv), "--out", str(tmp_path / "o"), "--cache-dir", str(cache))
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and _cache_rows(cache) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        # The old scan wrote the cache only after the last image: the process ended before any row appeared.
        assert process.poll() is None and _cache_rows(cache) > 0, "no scan result reached the cache mid-scan"
        os.killpg(process.pid, signal.SIGINT)  # what a terminal does on Ctrl-C: the whole group
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "interrupted after decoding" in lines[0] and "re-run resumes" in lines[0], stderr
    kept = _cache_rows(cache)
    assert kept > 0
    out = tmp_path / "o2"
    done = subprocess.run([sys.executable, "-m", "dataset_audit", "run", str(csv), "--out", str(out),
                           "--cache-dir", str(cache), "--quiet", "--jobs", "2", "--only", "integrity"],
                          capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert findings(out)["scan"]["from_cache"] == kept
    assert findings(out)["scan"]["decoded"] == 600 - kept


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="workers die with their parent on Linux")
def test_10_killing_the_parent_leaves_no_worker_tracebacks(tmp_path):
    csv = _dataset(tmp_path / "data", 300)
    process = _start(str(csv), "--out", str(tmp_path / "o"), "--no-cache")
    try:
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        deadline = time.monotonic() + 120
        while process.poll() is None and not children.read_text().split() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2)  # workers are mid-task (300 images x 50 ms / 2 workers: 7.5 s of scanning)
        assert process.poll() is None, "the scan finished before it could be killed"
        process.kill()
        # stderr reaches EOF only when every worker (they share it) has exited.
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_11_unwritable_out_is_refused_before_the_scan(good_images, tmp_path):
    csv = write_csv(good_images, [f"good_{i}.png" for i in range(4)])
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    cache = tmp_path / "cache"
    code, output = run_cli(str(csv), "--out", str(blocker / "report"), "--cache-dir", str(cache))
    assert code == 2 and "cannot be written" in " ".join(output.split())
    assert not cache.exists()  # the scan never started
