"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from imagetools import write_bad_files, write_small_dataset
from typer.testing import CliRunner

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(autouse=True)
def own_cache_folder(tmp_path_factory, monkeypatch) -> None:
    """Each test gets its own default cache folder: no test reads what another one (or the developer's own runs)
    left in ~/.cache/dataset-audit, scan records or analyser sections."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    return write_bad_files(tmp_path / "images")


@pytest.fixture(scope="session")
def sample_report(tmp_path_factory) -> Path:
    """The folder holding report.html and findings.json of the bundled sample dataset (audited once per session)."""
    from dataset_audit.cli import app

    out = tmp_path_factory.mktemp("sample-report")
    result = CliRunner().invoke(app, ["run", str(SAMPLE / "images.csv"), "--label-col", "label", "--out", str(out),
                                      "--no-cache"])
    assert result.exit_code == 0, result.output
    return out

@pytest.fixture
def small_dataset(tmp_path: Path) -> Path:
    return write_small_dataset(tmp_path / "data")
