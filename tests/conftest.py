"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest
from imagetools import write_bad_files, write_small_dataset


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    return write_bad_files(tmp_path / "images")



@pytest.fixture
def small_dataset(tmp_path: Path) -> Path:
    return write_small_dataset(tmp_path / "data")
