"""Warm re-runs: analyser sections come from the analysis cache only when nothing they read has changed."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
from typer.testing import CliRunner

from dataset_audit import analysis_cache
from dataset_audit.analysers import REGISTRY
from dataset_audit.cli import app
from dataset_audit.model import Chart, Finding, ImageBlock, Section


def _run(csv, out, cache, *extra):
    result = CliRunner().invoke(app, ["run", str(csv), "--label-col", "label", "--out", str(out), "--force",
                                      "--cache-dir", str(cache), *extra])
    assert result.exit_code in (0, 1), result.output
    return json.loads((out / "findings.json").read_text())


def _stable(document):
    return {"metrics": document["metrics"], "findings": [(f["id"], f["message"]) for f in document["findings"]]}


def test_warm_run_serves_every_analyser_from_the_cache_with_the_same_findings(small_dataset, tmp_path):
    cold = _run(small_dataset, tmp_path / "a", tmp_path / "cache")
    warm = _run(small_dataset, tmp_path / "b", tmp_path / "cache")
    ran = [a["name"] for a in cold["analysers"] if a["status"] == "ok"]
    assert cold["analysis_cache"]["from_cache"] == []
    assert sorted(warm["analysis_cache"]["from_cache"]) == sorted(ran)
    assert _stable(warm) == _stable(cold)
    # the report is drawn from the cached sections as from fresh ones
    assert (tmp_path / "b" / "report.html").read_text().count("data-finding") == \
        (tmp_path / "a" / "report.html").read_text().count("data-finding")


def test_a_changed_image_a_changed_label_or_a_setting_reruns(small_dataset, tmp_path):
    cache = tmp_path / "cache"
    _run(small_dataset, tmp_path / "a", cache)
    rows = small_dataset.read_text().splitlines()
    rows[2] = rows[2].replace(",cat", ",dog")
    small_dataset.write_text("\n".join(rows) + "\n")
    relabelled = _run(small_dataset, tmp_path / "a", cache)
    assert relabelled["analysis_cache"]["from_cache"] == []

    config = tmp_path / "audit.toml"
    config.write_text("[tool.dataset-audit.quality]\ndark_max = 3\n")
    _run(small_dataset, tmp_path / "a", cache)
    changed = _run(small_dataset, tmp_path / "a", cache, "--config", str(config))
    assert "quality" not in changed["analysis_cache"]["from_cache"]
    assert "integrity" in changed["analysis_cache"]["from_cache"]


def test_no_cache_means_no_analysis_cache_either(small_dataset, tmp_path):
    result = CliRunner().invoke(app, ["run", str(small_dataset), "--out", str(tmp_path / "a"), "--no-cache"])
    assert result.exit_code in (0, 1), result.output
    again = CliRunner().invoke(app, ["run", str(small_dataset), "--out", str(tmp_path / "a"), "--no-cache",
                                     "--force"])
    assert json.loads((tmp_path / "a" / "findings.json").read_text())["analysis_cache"]["from_cache"] == []
    assert again.exit_code in (0, 1)


def test_sections_round_trip_through_the_encoding():
    section = Section(name="x", title="X", metrics={"x.count": 3, "x.rate": 0.5},
                      findings=[Finding("x", "k", "warning", "m", rows=[1, 2], detail={"pair": (1, 2), "nan": np.nan})],
                      charts=[Chart("c", [{"x": np.arange(3), "y": [1.5, None]}])],
                      row_scores={"score": {4: 0.25, 7: 1.0}})
    section.galleries = []
    block = ImageBlock("mean", np.arange(12, dtype=np.uint8).reshape(2, 2, 3))
    back = analysis_cache._loads(analysis_cache._dumps(section))
    assert back.metrics == section.metrics and back.row_scores == {"score": {4: 0.25, 7: 1.0}}
    assert back.findings[0].detail["pair"] == (1, 2) and np.isnan(back.findings[0].detail["nan"])
    assert np.array_equal(back.charts[0].traces[0]["x"], np.arange(3))
    image = analysis_cache.decode(analysis_cache.encode(block))
    assert np.array_equal(image.pixels, block.pixels) and image.pixels.dtype == np.uint8


def test_a_foreign_or_damaged_row_is_a_miss_never_code(small_dataset, tmp_path):
    cache = tmp_path / "cache"
    _run(small_dataset, tmp_path / "a", cache)
    with sqlite3.connect(cache / analysis_cache.FILE_NAME) as db:
        bodies = [b"not zlib", analysis_cache.zlib.compress(b'{"__dc__": "Popen", "fields": {}}')]
        keys = [k for (k,) in db.execute("SELECT key FROM sections LIMIT 2")]
        for key, body in zip(keys, bodies, strict=True):
            db.execute("UPDATE sections SET body = ? WHERE key = ?", (body, key))
    warm = _run(small_dataset, tmp_path / "b", cache)
    ran = [a["name"] for a in warm["analysers"] if a["status"] == "ok"]
    assert len(warm["analysis_cache"]["from_cache"]) == len(ran) - 2


def test_only_the_packages_own_analysers_are_cached():
    assert all(a.run.__module__.startswith("dataset_audit.") for a in REGISTRY)


def test_incremental_run_reuses_the_searches_and_finds_what_a_full_run_finds(tmp_path):
    """--incremental on the sample data, first without its last 24 rows, then with them: the second run updates
    the duplicate search, the kNN search and the label model, and finds the same duplicates and leakage as a
    full run on all rows (the planted copies are clear-cut)."""
    import shutil
    from pathlib import Path

    sample = Path(__file__).resolve().parents[1] / "sample_data"
    data = tmp_path / "sample"
    shutil.copytree(sample / "images", data / "images")
    rows = (sample / "images.csv").read_text().splitlines()
    (data / "all.csv").write_text("\n".join(rows) + "\n")
    (data / "most.csv").write_text("\n".join(rows[:-24]) + "\n")
    cache = tmp_path / "cache"
    first = _run(data / "most.csv", tmp_path / "a", cache, "--incremental")
    second = _run(data / "all.csv", tmp_path / "b", cache, "--incremental")
    full = _run(data / "all.csv", tmp_path / "c", tmp_path / "other-cache")
    def notes(document):
        return {a["name"]: " ".join(a["notes"]) for a in document["analysers"]}

    for name, step in [("duplicates", "thumbnail neighbour search"), ("embedding", "kNN search"),
                       ("labels", "label model")]:
        assert f"the {step} ran in full" in notes(first)[name]
        assert f"the {step} reused the stored run of" in notes(second)[name], notes(second)[name]
        assert "new images" in notes(second)[name]
    assert "the t-SNE map is the stored run's; the" in notes(second)["embedding"]
    assert (tmp_path / "cache" / "incremental").is_dir()

    def duplicates(document):
        return sorted(f["id"] for f in document["findings"] if f["analyser"] == "duplicates")

    assert duplicates(second) == duplicates(full)
    for metric in ("duplicates.near_count", "duplicates.exact_count", "leakage.cross_split_count"):
        assert second["metrics"][metric] == full["metrics"][metric]


def test_incremental_needs_the_cache(small_dataset, tmp_path):
    result = CliRunner().invoke(app, ["run", str(small_dataset), "--out", str(tmp_path / "a"), "--no-cache",
                                      "--incremental"])
    assert result.exit_code == 2
    assert "--incremental keeps its state in the cache folder" in result.output
