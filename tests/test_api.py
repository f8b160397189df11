"""The notebook API: `from dataset_audit import audit` gives what `audit run` gives, from a path or a DataFrame."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from dataset_audit import AuditReport, audit
from dataset_audit.cli import app
from dataset_audit.errors import AuditUsageError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "images.csv"
FAST = {"only": ["integrity", "duplicates", "balance"], "no_cache": True, "use_config_file": False}


def test_api_returns_the_same_metrics_as_the_cli_on_sample_data(tmp_path):
    cache = tmp_path / "cache"
    result = CliRunner().invoke(app, ["run", str(SAMPLE), "--label-col", "label", "--out", str(tmp_path / "o"),
                                      "--cache-dir", str(cache), "--fail-on", "duplicates.near_rate>0.5"])
    assert result.exit_code == 0, result.output
    cli = json.loads((tmp_path / "o" / "findings.json").read_text())
    report = audit(SAMPLE, label_col="label", cache_dir=cache, fail_on="duplicates.near_rate>0.5")
    assert report.metrics == pytest.approx(cli["metrics"])
    assert set(report.metrics) == set(cli["metrics"])
    assert report.findings["id"].tolist() == [f["id"] for f in cli["findings"]]
    assert report.passed and report.exit_code == 0
    assert report.gates.to_dict("records") == [
        {k: g[k] for k in ("expr", "metric", "op", "threshold", "value", "passed")} for g in cli["gates"]]


def test_dataframe_input_gives_the_same_audit_as_the_file(small_dataset):
    from_file = audit(small_dataset, label_col="label", **FAST)
    frame = pd.read_csv(small_dataset, dtype=str, keep_default_na=False)
    from_frame = audit(frame, label_col="label", root=small_dataset.parent, **FAST)
    assert from_frame.metrics == from_file.metrics
    assert from_frame.findings["id"].tolist() == from_file.findings["id"].tolist()
    assert from_frame.result.table.source == "DataFrame"
    assert list(frame.columns) == ["path", "label"] and len(frame) == 16  # the caller's frame is untouched


def test_result_object(small_dataset, tmp_path):
    report = audit(small_dataset, label_col="label", fail_on=["integrity.unreadable_count>0"], **FAST)
    assert isinstance(report, AuditReport)
    assert not report.passed and report.exit_code == 1
    findings = report.findings
    assert list(findings.columns) == ["id", "analyser", "kind", "severity", "message", "rows", "paths", "detail"]
    missing = findings[findings["kind"] == "missing"]
    assert missing["paths"].tolist() == [["images/gone.jpg"]] and missing["rows"].tolist() == [[15]]
    assert report.gates["passed"].tolist() == [False]
    assert report.metrics["integrity.unreadable_count"] == 2
    html = report.save_html(tmp_path / "report.html").read_text()
    assert "<html" in html[:500] and 'id="section-integrity"' in html
    inline = report._repr_html_()
    assert "integrity.unreadable_count&gt;0" in inline and "FAIL" in inline and "images/gone.jpg" in inline
    assert "failed" in inline and "exit code 1" in inline


def test_inline_summary_escapes_input_text(tmp_path):
    from imagetools import random_rgb

    random_rgb(1).save(tmp_path / "a.png")
    frame = pd.DataFrame({"path": ["a.png", "missing.png"], "label": ["<script>alert(1)</script>", "b"]})
    report = audit(frame, label_col="label", root=tmp_path, **FAST)
    inline = report._repr_html_()
    assert "<script>" not in inline


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"labelcol": "label"}, "unknown option(s) labelcol"),
    ({"label_col": "nope"}, "'nope' is not a column"),
    ({"fail_on": "made.up>1"}, "unknown metric 'made.up'"),
])
def test_bad_options_raise_usage_errors(small_dataset, kwargs, message):
    with pytest.raises(AuditUsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        audit(small_dataset, **(FAST | kwargs))


def test_not_a_dataframe_or_path(tmp_path):
    with pytest.raises(AuditUsageError, match="input not found"):
        audit(tmp_path / "none.csv", use_config_file=False)


def test_make_config_reads_the_file_then_the_keywords(tmp_path):
    from dataset_audit.api import make_config

    config_file = tmp_path / "audit.toml"
    config_file.write_text('baseline-file = "accepted.json"\njobs = 3\nlabel-col = "y"\n[quality]\ndark_max = 9\n'
                           '[baseline]\nimages = 30\n')  # the human-baseline analyser's table is another thing
    config = make_config(config_file, settings={"quality": {"bright_min": 250}}, jobs=1, no_cache=True)
    assert config.baseline_file == Path("accepted.json") and config.label_col == "y"
    assert config.jobs == 1 and config.use_cache is False
    assert config.analysers["quality"] == {"dark_max": 9, "bright_min": 250}
    assert config.analysers["baseline"] == {"images": 30}


def test_cli_defaults_do_not_override_the_config_file(tmp_path, monkeypatch):
    """Help shows real defaults (jobs 0, seed 0, out audit-report), but only options the user typed override the
    config file."""
    import typer

    import dataset_audit.cli as cli

    seen = {}

    def capture(source, config, progress=None, on_table=None):
        seen["config"] = config
        raise typer.Exit(0)

    monkeypatch.setattr(cli, "run_api", capture)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "audit.toml").write_text('jobs = 3\nseed = 5\nout = "from-file"\ntsne_max = 10\n')
    result = CliRunner().invoke(app, ["run", "x.csv", "--seed", "0", "-q"])
    assert result.exit_code == 0, result.output
    config = seen["config"]
    assert (config.jobs, config.seed, config.out, config.tsne_max, config.quiet) == (3, 0, Path("from-file"), 10, True)
