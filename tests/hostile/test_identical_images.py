"""One image listed hundreds of times: the embedding analyser skips with a reason instead of killing the process
(t-SNE on the NaN coordinates of a zero-variance PCA segfaulted, exit 139, and no report was written)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from imagetools import random_rgb


def test_one_image_many_times_is_a_skip_not_a_crash(tmp_path: Path):
    random_rgb(3).save(tmp_path / "same.png")
    lines = ["path,label"] + [f"same.png,{'ab'[i % 2]}" for i in range(300)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    done = subprocess.run([sys.executable, "-m", "dataset_audit", "run", str(tmp_path / "t.csv"), "--label-col",
                           "label", "--only", "embedding", "--out", str(tmp_path / "out"), "--no-cache", "--quiet"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Warning" not in done.stderr
    [embedding] = json.loads((tmp_path / "out" / "findings.json").read_text())["analysers"]
    assert embedding["status"] == "skipped" and "same vector" in embedding["reason"]
