"""The committed sample dataset is exactly what its script writes, and planted.json describes it truthfully."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import PIL
import pytest

from dataset_audit.scan.decode import scan_one

SAMPLE = Path(__file__).resolve().parent.parent / "sample_data"
SCRIPT = SAMPLE / "make_sample_data.py"
METADATA_KINDS = {"missing_value", "disguised_missing", "numbers_as_text", "numeric_outlier", "inconsistent_category",
                  "inconsistent_label", "mojibake", "duplicate_row", "conflicting_row"}


def load_script():
    spec = importlib.util.spec_from_file_location("make_sample_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is being built
    spec.loader.exec_module(module)
    return module


def digests(folder: Path, outputs: tuple[str, ...]) -> dict[str, str]:
    files = [p for name in outputs for p in [folder / name, *(folder / name).rglob("*")] if p.is_file()]
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture(scope="module")
def planted() -> dict:
    return json.loads((SAMPLE / "planted.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    with open(SAMPLE / "images.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def entries(planted: dict, *kinds: str) -> list[dict]:
    return [e for e in planted["planted"] if e["kind"] in kinds]


def test_regenerating_gives_byte_identical_files(tmp_path: Path, planted: dict) -> None:
    if planted["generated_with"]["pillow"] != PIL.__version__:
        pytest.skip(f"sample data was written with Pillow {planted['generated_with']['pillow']}, this is "
                    f"{PIL.__version__}: its zlib/libjpeg may encode the same pixels differently")
    script = load_script()
    out = tmp_path / "regenerated"
    assert script.main(["--out", str(out)]) == 0
    committed, fresh = digests(SAMPLE, script.OUTPUTS), digests(out, script.OUTPUTS)
    assert sorted(fresh) == sorted(committed)
    assert [name for name in committed if committed[name] != fresh[name]] == []


def test_script_refuses_a_folder_holding_other_files(tmp_path: Path) -> None:
    script = load_script()
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(SystemExit):
        script.main(["--out", str(tmp_path)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_planted_rows_and_paths_agree_with_the_csv(planted: dict, rows: list[dict[str, str]]) -> None:
    assert planted["rows"] == len(rows)
    seen: dict[int, str] = {}
    for entry in planted["planted"]:
        assert entry["kind"] and entry["note"]
        assert len(entry["rows"]) == len(entry["paths"])
        for row, path in zip(entry["rows"], entry["paths"], strict=True):
            assert 0 <= row < len(rows)
            assert rows[row]["path"] == path, (entry["kind"], row)
            # Each row takes part in one planted entry, so a check for one kind is not muddled by another.
            assert row not in seen, f"row {row} is in both {seen[row]} and {entry['kind']}"
            seen[row] = entry["kind"]


def test_listed_files_exist_or_deliberately_do_not(planted: dict, rows: list[dict[str, str]]) -> None:
    absent = {p for e in entries(planted, "missing_file") for p in e["paths"]}
    assert len(absent) == 3 and all(p and not (SAMPLE / p).exists() for p in absent)
    assert [e["paths"] for e in entries(planted, "empty_path")] == [[""]]
    for entry in planted["planted"]:
        if entry["kind"] not in {"missing_file", "empty_path"}:
            assert all((SAMPLE / p).is_file() for p in entry["paths"]), entry["kind"]
    written = {p.relative_to(SAMPLE).as_posix() for p in (SAMPLE / "images").rglob("*") if p.is_file()}
    referenced = {r["path"] for r in rows if r["path"]}
    assert referenced - written == absent
    assert written - referenced == set(), "files nobody's row points at"


def test_metadata_plants_hold_the_values_they_claim(planted: dict, rows: list[dict[str, str]]) -> None:
    for entry in entries(planted, *METADATA_KINDS):
        detail = entry["detail"]
        if entry["kind"] in {"duplicate_row", "conflicting_row"}:
            first, second = (rows[r] for r in entry["rows"])
            differing = {k for k in first if first[k] != second[k]}
            assert differing == (set() if entry["kind"] == "duplicate_row" else {"label"})
            continue
        values = [rows[r][detail["column"]] for r in entry["rows"]]
        expected = detail.get("tokens") or detail.get("variants") or detail.get("values") or [detail["value"]] * len(values)
        assert sorted(values) == sorted(expected), entry["kind"]
    disguised = entries(planted, "disguised_missing")[0]["rows"]
    assert 0.06 <= len(disguised) / len(rows) <= 0.10


def test_labels_show_the_planted_imbalance_and_grayscale(planted: dict, rows: list[dict[str, str]]) -> None:
    labels = [r["label"] for r in rows]
    counts = {label: labels.count(label) for label in {"circle", "square", "triangle", "stripes", "blob", "star"}}
    assert counts["star"] == 8 and min(v for k, v in counts.items() if k != "star") >= 55
    (rare,) = entries(planted, "class_imbalance")
    assert sorted(rare["rows"]) == [i for i, label in enumerate(labels) if label == "star"]
    (gray,) = entries(planted, "grayscale_concentrated")
    assert {labels[r] for r in gray["rows"]} == {"stripes"}
    assert len(gray["rows"]) >= 0.6 * labels.count("stripes")  # most of the class: grayscale predicts the label


def test_bad_and_odd_files_decode_as_planted(planted: dict) -> None:
    def scan(path: str) -> dict:
        return scan_one(str(SAMPLE / path) if path else "")[0]

    for entry in entries(planted, "corrupt", "decompression_bomb"):
        assert scan(entry["paths"][0])["status"] == "unreadable", entry["detail"]
    for entry in entries(planted, "odd_mode"):
        assert scan(entry["paths"][0])["status"] == "ok", entry["detail"]
    for entry in entries(planted, "missing_file", "empty_path"):
        assert scan(entry["paths"][0])["status"] == "missing"
    (mismatch,) = entries(planted, "format_mismatch")
    assert scan(mismatch["paths"][0])["format_mismatch"]


def test_only_planted_pairs_look_alike(planted: dict, rows: list[dict[str, str]]) -> None:
    """No accidental near-duplicates: unplanted images are far apart in 64-bit pHash."""
    duplicate_kinds = {"exact_duplicate", "reencoded_duplicate", "near_duplicate", "leakage", "conflicting_labels",
                       "duplicate_row", "conflicting_row"}
    in_a_pair = {r for e in entries(planted, *duplicate_kinds) for r in e["rows"]}
    hashes = []
    for position, row in enumerate(rows):
        if position in in_a_pair or not row["path"]:
            continue
        record = scan_one(str(SAMPLE / row["path"]))[0]
        if record["status"] == "ok":
            hashes.append(record["phash"])
    bits = np.unpackbits(np.array(hashes, dtype=np.int64).view(np.uint8).reshape(-1, 8), axis=1).astype(bool)
    distances = (bits[:, None, :] != bits[None, :, :]).sum(axis=2)
    np.fill_diagonal(distances, 64)
    assert distances.min() > 10
