"""Helpers for the hostile-input suite: a small CSV dataset, and running the CLI in-process or as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from imagetools import random_rgb
from typer.testing import CliRunner

from dataset_audit.cli import app

_runner = CliRunner()

# CI (CI=true) runs the property tests on a fixed set of examples, so a landing does not depend on the draw; a run
# elsewhere draws new ones each time, which is how the NUL-label case (140cd22) was found.
hypothesis_settings.register_profile("ci", derandomize=True)
if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
    hypothesis_settings.load_profile("ci")


def run_cli(*args: str) -> tuple[int, str]:
    """`audit run ARGS` in this process: (exit code, stdout and stderr)."""
    result = _runner.invoke(app, ["run", *args])
    return result.exit_code, result.output


def run_subprocess(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """`audit run ARGS` in a fresh interpreter (a hang becomes subprocess.TimeoutExpired, a failure of the test)."""
    return subprocess.run([sys.executable, "-m", "dataset_audit", "run", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "COLUMNS": "200"})


def findings(out: Path) -> dict:
    return json.loads((out / "findings.json").read_text())


def by_kind(document: dict, kind: str) -> list[dict]:
    return [f for f in document["findings"] if f["kind"] == kind]


@pytest.fixture
def good_images(tmp_path: Path) -> Path:
    """A folder with six small PNGs, good_0.png ... good_5.png."""
    folder = tmp_path / "data"
    folder.mkdir()
    for i in range(6):
        random_rgb(200 + i, (40, 32)).save(folder / f"good_{i}.png")
    return folder


def write_csv(folder: Path, paths: list[str], name: str = "images.csv") -> Path:
    """path,label rows over `paths` (labels alternate cat/dog), written with the csv module's quoting."""
    import csv

    target = folder / name
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label"])
        for i, path in enumerate(paths):
            writer.writerow([path, "cat" if i % 2 else "dog"])
    return target
