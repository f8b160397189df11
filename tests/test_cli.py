"""End-to-end runs of `audit run`: files written, findings by row and path, exit codes, cache, escaping."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from imagetools import random_rgb, write_bad_files
from typer.testing import CliRunner

from dataset_audit.analysers import REGISTRY
from dataset_audit.baseline import BASELINE_METRICS
from dataset_audit.cli import app

runner = CliRunner()

XSS = "</script><script>alert(1)</script>"


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """A CSV over good images in two classes plus every bad-file kind, rows in a known order."""
    images = tmp_path / "data" / "images"
    bad = write_bad_files(images)
    rows = ["path,label,split"]
    for i in range(12):
        name = f"img_{i:02d}.png"
        random_rgb(100 + i, (48, 40)).save(images / name)
        rows.append(f"images/{name},{'cat' if i < 8 else 'dog'},{'train' if i < 10 else 'test'}")
    for kind, path in sorted(bad.items()):
        rows.append(f"images/{path.name},{'cat' if kind != 'good' else 'dog'},train")
    rows.append(",cat,train")  # an empty path cell
    csv = tmp_path / "data" / "images.csv"
    csv.write_text("\n".join(rows) + "\n")
    return csv


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["run", *args])
    return result.exit_code, result.output


def load_findings(out: Path) -> dict:
    return json.loads((out / "findings.json").read_text())


def rows_by_path(csv: Path) -> dict[str, int]:
    lines = csv.read_text().splitlines()[1:]
    return {line.split(",")[0]: i for i, line in enumerate(lines)}


def test_end_to_end_finds_integrity_problems_by_row_and_path(dataset, tmp_path):
    out = tmp_path / "report"
    code, output = run(str(dataset), "--label-col", "label", "--out", str(out), "--no-cache")
    assert code == 0, output
    assert (out / "report.html").is_file()
    doc = load_findings(out)
    assert doc["schema_version"] == 3
    assert all(f["id"].startswith(f"{f['analyser']}/{f['kind']}/") for f in doc["findings"])
    assert doc["tool"]["name"] == "dataset-audit"
    assert doc["dataset"]["rows"] == 12 + 15 + 1
    assert doc["dataset"]["columns"]["label"] == "label"
    where = rows_by_path(dataset)
    by_kind: dict[str, set[str]] = {}
    for finding in doc["findings"]:
        assert len(finding["rows"]) == len(finding["paths"])
        for row, path in zip(finding["rows"], finding["paths"], strict=True):
            if path:  # the empty path cell is the one row whose path cannot identify it
                assert where[path] == row
            by_kind.setdefault(finding["kind"], set()).add(path)
    assert {"images/does_not_exist.jpg", ""} <= by_kind["missing"]
    assert {"images/empty.jpg", "images/text.jpg", "images/bomb.png"} <= by_kind["unreadable"]
    assert {"images/truncated.jpg", "images/truncated.png"} <= by_kind["truncated"]
    assert by_kind["format_mismatch"] == {"images/png_named.jpg"}
    metrics = doc["metrics"]
    assert metrics["integrity.missing_count"] == 2
    assert metrics["integrity.unreadable_count"] == 5
    assert metrics["integrity.format_mismatch_count"] == 1
    html = (out / "report.html").read_text()
    for analyser in REGISTRY:
        assert f'id="section-{analyser.name}"' in html
    assert "http://" not in html.split("<script>")[0]  # nothing fetched before the inline scripts
    assert "data:image/webp;base64," in html  # the explorer's sprite sheets


def test_breached_gate_exits_1_and_passing_gate_exits_0(dataset, tmp_path):
    code, output = run(str(dataset), "--out", str(tmp_path / "a"), "--no-cache",
                       "--fail-on", "integrity.unreadable_rate>0", "--fail-on", "integrity.missing_count>100")
    assert code == 1, output
    gates = load_findings(tmp_path / "a")["gates"]
    assert [g["passed"] for g in gates] == [False, True]
    assert "FAIL" in output
    code, output = run(str(dataset), "--out", str(tmp_path / "b"), "--no-cache", "--fail-on", "integrity.missing_count>100")
    assert code == 0, output


def test_gates_from_config_file(dataset, tmp_path):
    config = tmp_path / "audit.toml"
    config.write_text('label_col = "label"\nfail_on = ["balance.imbalance_ratio > 1.5"]\n')
    code, output = run(str(dataset), "--config", str(config), "--out", str(tmp_path / "o"), "--no-cache")
    assert code == 1, output
    gate = load_findings(tmp_path / "o")["gates"][0]
    assert gate["metric"] == "balance.imbalance_ratio" and gate["passed"] is False


@pytest.mark.parametrize(("args", "message"), [
    (["--label-col", "nope"], "'nope' is not a column"),
    (["--fail-on", "made.up>1"], "unknown metric 'made.up'"),
    (["--only", "nothing"], "unknown analyser"),
    (["--label-col", "label", "--probs", "missing.npy"], "--probs missing.npy: file not found"),
    (["--label-col", "label", "--probs-prefix", "p_"], "--probs-prefix 'p_': need one column per class"),
    (["--pred-col", "nope"], "--pred-col 'nope' is not a column"),
])
def test_usage_errors_exit_2(dataset, tmp_path, args, message):
    code, output = run(str(dataset), "--out", str(tmp_path / "o"), "--no-cache", *args)
    assert code == 2
    assert message in " ".join(output.split())


def test_missing_input_and_empty_csv_exit_2(tmp_path):
    assert run(str(tmp_path / "none.csv"), "--out", str(tmp_path / "o"))[0] == 2
    (tmp_path / "empty.csv").write_text("")
    code, output = run(str(tmp_path / "empty.csv"), "--out", str(tmp_path / "o"))
    assert code == 2 and "empty" in output


def test_cache_hit_on_second_run_and_grown_dataset(dataset, tmp_path):
    cache = tmp_path / "cache"
    args = [str(dataset), "--label-col", "label", "--cache-dir", str(cache)]
    assert run(*args, "--out", str(tmp_path / "r1"))[0] == 0
    assert run(*args, "--out", str(tmp_path / "r2"))[0] == 0
    first, second = load_findings(tmp_path / "r1"), load_findings(tmp_path / "r2")
    present = first["scan"]["unique_files"] - 2  # the missing file and the empty cell are never cached
    assert first["scan"]["decoded"] == first["scan"]["unique_files"]
    assert second["scan"]["from_cache"] == present
    assert second["scan"]["decoded"] == 2
    assert first["findings"] == second["findings"]
    assert first["metrics"] == second["metrics"]
    # Grow the dataset by one image: only that one is decoded.
    random_rgb(999).save(dataset.parent / "images" / "new.png")
    with dataset.open("a") as handle:
        handle.write("images/new.png,dog,train\n")
    assert run(*args, "--out", str(tmp_path / "r3"))[0] == 0
    assert load_findings(tmp_path / "r3")["scan"]["decoded"] == 3


def test_input_strings_are_escaped_everywhere(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    random_rgb(1).save(folder / "a.png")
    random_rgb(2).save(folder / "b.png")
    (folder / "t.csv").write_text(f'path,label,"{XSS}"\na.png,"{XSS}",1\nb.png,ok,2\nmissing.png,ok,3\n')
    out = tmp_path / "o"
    code, output = run(str(folder / "t.csv"), "--label-col", "label", "--out", str(out), "--no-cache")
    assert code == 0, output
    html = (out / "report.html").read_text()
    assert XSS not in html
    assert "alert(1)" in html  # still shown, as text
    assert json.loads((out / "findings.json").read_text())["dataset"]["columns"]["other"] == [XSS]


def test_refuses_to_overwrite_a_report_it_did_not_write(dataset, tmp_path):
    out = tmp_path / "o"
    out.mkdir()
    (out / "report.html").write_text("<html>my own notes</html>")
    code, output = run(str(dataset), "--out", str(out), "--no-cache")
    assert code == 2 and "not written by dataset-audit" in " ".join(output.split())
    assert (out / "report.html").read_text() == "<html>my own notes</html>"
    assert run(str(dataset), "--out", str(out), "--no-cache", "--force")[0] == 0
    # Our own report is overwritten without asking.
    assert run(str(dataset), "--out", str(out), "--no-cache")[0] == 0


def test_writes_nothing_into_the_dataset_folder(dataset, tmp_path):
    before = sorted(p.name for p in dataset.parent.rglob("*"))
    assert run(str(dataset), "--out", str(tmp_path / "o"), "--cache-dir", str(tmp_path / "c"))[0] == 0
    assert sorted(p.name for p in dataset.parent.rglob("*")) == before


def test_folder_layout_run(tmp_path):
    for split, cls, count in [("train", "cat", 6), ("train", "dog", 4), ("test", "cat", 2), ("test", "dog", 2)]:
        (tmp_path / "d" / split / cls).mkdir(parents=True)
        for i in range(count):
            random_rgb(hash((split, cls, i)) % 1000).save(tmp_path / "d" / split / cls / f"{i}.png")
    code, output = run(str(tmp_path / "d"), "--out", str(tmp_path / "o"), "--no-cache")
    assert code == 0, output
    doc = load_findings(tmp_path / "o")
    assert doc["dataset"]["columns"] == {"path": "path", "label": "label", "split": "split", "other": []}
    assert doc["metrics"]["balance.num_classes"] == 2
    assert doc["metrics"]["balance.imbalance_ratio"] == pytest.approx(8 / 6)


def test_tabular_only_csv_is_audited_with_a_note(tmp_path):
    (tmp_path / "t.csv").write_text("age,label\n" + "".join(f"{20 + i},{'a' if i % 2 else 'b'}\n" for i in range(20)))
    code, output = run(str(tmp_path / "t.csv"), "--label-col", "label", "--out", str(tmp_path / "o"), "--no-cache")
    assert code == 0, output
    doc = load_findings(tmp_path / "o")
    assert doc["dataset"]["tabular_only"] is True
    statuses = {a["name"]: a["status"] for a in doc["analysers"]}
    assert statuses["integrity"] == "skipped" and statuses["balance"] == "ok"
    assert "tabular-only" in (tmp_path / "o" / "report.html").read_text()


def test_sample_reports_input_row_numbers(dataset, tmp_path):
    code, _ = run(str(dataset), "--out", str(tmp_path / "o"), "--no-cache", "--sample", "20", "--seed", "1")
    assert code == 0
    doc = load_findings(tmp_path / "o")
    where = rows_by_path(dataset)
    assert doc["dataset"]["audited_rows"] == 20 and doc["dataset"]["rows"] == 28
    for finding in doc["findings"]:
        for row, path in zip(finding["rows"], finding["paths"], strict=True):
            if path:
                assert where[path] == row


def test_metrics_command_lists_every_metric():
    result = runner.invoke(app, ["metrics", "--markdown"])
    assert result.exit_code == 0
    listed = {line.split("`")[1] for line in result.output.splitlines() if line.startswith("| `")}
    assert listed == {metric for analyser in REGISTRY for metric in analyser.metrics} | set(BASELINE_METRICS)


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "dataset_audit", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "run" in result.stdout and "metrics" in result.stdout


@pytest.mark.skipif(shutil.which("audit") is None and not Path(sys.executable).with_name("audit").exists(),
                    reason="console script not installed")
def test_console_script_version():
    script = shutil.which("audit") or str(Path(sys.executable).with_name("audit"))
    result = subprocess.run([script, "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "dataset-audit" in result.stdout


def test_row_numbers_in_messages_are_input_rows_under_sample(tmp_path):
    lines = ["id,label,value"] + [f"r{i},{'a' if i % 2 else 'b'},{i}" for i in range(200)]
    lines += ["dup,a,7", "dup,a,7"]  # input rows 200 and 201: identical
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    code, output = run(str(tmp_path / "t.csv"), "--label-col", "label", "--out", str(tmp_path / "o"), "--no-cache",
                       "--sample", "150", "--seed", "1")
    assert code == 0, output
    duplicates = [f for f in load_findings(tmp_path / "o")["findings"] if f["kind"] == "duplicate_rows"]
    assert duplicates  # seed 1 samples both copies
    assert duplicates[0]["rows"] == [200, 201]
    assert "200, 201" in duplicates[0]["message"]


def test_unknown_analyser_table_in_config_is_a_usage_error(dataset, tmp_path):
    config = tmp_path / "audit.toml"
    config.write_text("[qualty]\ndark_max = 20\n")
    code, output = run(str(dataset), "--config", str(config), "--out", str(tmp_path / "o"), "--no-cache")
    assert code == 2 and "no analyser is called qualty" in " ".join(output.split())


def test_unwritable_output_exits_2_and_unwritable_cache_runs_without_it(dataset, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, output = run(str(dataset), "--out", str(blocker / "sub"), "--no-cache")
    assert code == 2 and "cannot be written" in " ".join(output.split())
    code, output = run(str(dataset), "--out", str(tmp_path / "o"), "--cache-dir", str(blocker))
    assert code == 0 and "running without the scan cache" in " ".join(output.split())


def test_misspelt_analyser_setting_is_a_usage_error(dataset, tmp_path):
    config = tmp_path / "audit.toml"
    config.write_text("[quality]\ndark_maxx = 20\n")
    code, output = run(str(dataset), "--config", str(config), "--out", str(tmp_path / "o"), "--no-cache")
    assert code == 2 and "[quality] has no setting dark_maxx" in " ".join(output.split())


def test_brackets_in_messages_are_printed_not_eaten(tmp_path):
    (tmp_path / "t.csv").write_text("path,label\na.png,x\n")
    code, output = run(str(tmp_path / "t.csv"), "--label-col", "[bold]y[/bold]", "--out", str(tmp_path / "o"))
    assert code == 2 and "[bold]y[/bold]" in output


@pytest.mark.skipif(shutil.which("audit") is None and not Path(sys.executable).with_name("audit").exists(),
                    reason="console script not installed")
def test_shell_completion_completes_commands_and_options():
    script = shutil.which("audit") or str(Path(sys.executable).with_name("audit"))
    env = {**os.environ, "_AUDIT_COMPLETE": "complete_bash", "COMP_WORDS": "audit run x.csv --fail", "COMP_CWORD": "3"}
    result = subprocess.run([script], env=env, capture_output=True, text=True, check=False)
    assert "--fail-on" in result.stdout.split()
    env |= {"COMP_WORDS": "audit ba", "COMP_CWORD": "1"}
    result = subprocess.run([script], env=env, capture_output=True, text=True, check=False)
    assert result.stdout.split() == ["baseline"]
