"""integrity: every missing, empty, unreadable, truncated or mislabelled file becomes one finding naming its row."""

from __future__ import annotations

import pandas as pd

from dataset_audit.analysers import integrity
from dataset_audit.config import Config
from dataset_audit.dataset import Table
from dataset_audit.model import AuditInput
from dataset_audit.pipeline import run_analyser
from dataset_audit.scan import scan_images


def _audit(tmp_path, files: dict, empty_path_row: bool = True) -> tuple:
    kinds = sorted(files)
    frame = pd.DataFrame({"path": [str(files[k].relative_to(tmp_path)) for k in kinds] + [""] * empty_path_row})
    table = Table(frame=frame, source=str(tmp_path / "t.csv"), root=tmp_path, path_col="path")
    features = scan_images(table.resolved_paths(), jobs=1, cache_dir=None)
    section = run_analyser(integrity.ANALYSER, AuditInput(table=table, features=features, config=Config()))
    return section, {kind: row for row, kind in enumerate(kinds)} | {"empty_path": len(kinds)}


def test_each_bad_file_is_a_finding_on_its_row(tmp_path, bad_files):
    section, row_of = _audit(tmp_path, bad_files)
    by_row: dict[int, set] = {}
    for finding in section.findings:
        for row in finding.rows:
            by_row.setdefault(row, set()).add(finding.kind)
    assert by_row[row_of["missing"]] == {"missing"}
    assert by_row[row_of["empty_path"]] == {"missing"}
    assert by_row[row_of["empty_file"]] == {"unreadable"}
    assert by_row[row_of["not_an_image"]] == {"unreadable"}
    assert "truncated" in by_row[row_of["truncated_png"]] | by_row.get(row_of["truncated_jpeg"], set())
    assert by_row[row_of["format_mismatch"]] == {"format_mismatch"}
    assert "animated" in by_row[row_of["animated_gif"]]
    assert row_of["good"] not in by_row and row_of["cmyk"] not in by_row and row_of["exif_rotated"] not in by_row
    decompression = [f for f in section.findings if f.detail.get("error_kind") == "decompression_bomb"]
    assert [f.rows for f in decompression] == [[row_of["decompression_bomb"]]]


def test_counts_and_rate_match_the_findings(tmp_path, bad_files):
    section, _ = _audit(tmp_path, bad_files)
    metrics = section.metrics
    missing = sum(len(f.rows) for f in section.findings if f.kind == "missing")
    unreadable = sum(len(f.rows) for f in section.findings if f.kind in {"unreadable", "truncated"})
    assert metrics["integrity.missing_count"] == missing == 2
    assert metrics["integrity.unreadable_count"] == unreadable
    assert metrics["integrity.format_mismatch_count"] == 1
    rows = len(bad_files) + 1
    assert metrics["integrity.unreadable_rate"] == (missing + unreadable) / rows
    assert f"of {rows:,} images decoded" in section.summary


def test_clean_files_give_no_findings(tmp_path, bad_files):
    section, _ = _audit(tmp_path, {k: bad_files[k] for k in ("good", "palette", "rgba", "la")}, empty_path_row=False)
    assert section.findings == []
    assert section.metrics["integrity.unreadable_rate"] == 0.0
