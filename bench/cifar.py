"""CIFAR-10 from ../shared/datasets/cifar10-jpg.zip, extracted once under bench/.data/ (gitignored)."""

from __future__ import annotations

import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ZIP = ROOT.parent / "shared" / "datasets" / "cifar10-jpg.zip"
TARGET = ROOT / "bench" / ".data" / "cifar10"
EXPECTED_FILES = 60_000


def cifar10_folder() -> Path:
    """The folder holding train/<class>/*.jpg and test/<class>/*.jpg; extracts the zip on first use."""
    marker = TARGET / ".complete"
    if marker.exists():
        return _root_of(TARGET)
    if TARGET.is_dir() and any(TARGET.iterdir()):
        root = _root_of(TARGET)
        if sum(1 for _ in root.rglob("*.jpg")) == EXPECTED_FILES:
            marker.write_text("ok\n")
            return root
    if not ZIP.exists():
        raise SystemExit(f"CIFAR-10 not found at {ZIP}: the benchmarks need ../shared/datasets beside the project")
    TARGET.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(ZIP) as archive:
        archive.extractall(TARGET)
    root = _root_of(TARGET)
    count = sum(1 for _ in root.rglob("*.jpg"))
    if count != EXPECTED_FILES:
        raise SystemExit(f"expected {EXPECTED_FILES} JPEGs in {ZIP}, found {count}")
    marker.write_text("ok\n")
    return root


def _root_of(folder: Path) -> Path:
    """The zip may or may not wrap everything in one top folder."""
    if (folder / "train").is_dir():
        return folder
    inner = [p for p in folder.iterdir() if p.is_dir() and (p / "train").is_dir()]
    if len(inner) != 1:
        raise SystemExit(f"cannot find train/ and test/ under {folder}")
    return inner[0]
