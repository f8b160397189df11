"""The pipeline on its own: declared needs, settings, a failing analyser, the registry, metrics not computed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dataset_audit.analysers import REGISTRY, build_registry
from dataset_audit.config import Config
from dataset_audit.dataset import Table
from dataset_audit.errors import AuditUsageError
from dataset_audit.gates import exit_code
from dataset_audit.model import Analyser, Metric, Section, SidePart
from dataset_audit.pipeline import run_audit
from dataset_audit.settings import Setting


def _table(label: bool = True, split: bool = False) -> Table:
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(6)], "size": [1, 2, 3, 4, 5, 6],
                          "y": ["a", "b"] * 3, "split": ["train"] * 4 + ["test"] * 2})
    return Table(frame=frame, source="t.csv", root=Path("."), label_col="y" if label else None,
                 split_col="split" if split else None)


def _audit(monkeypatch, registry: list[Analyser], table: Table, **config) -> tuple:
    result = run_audit(table, Config(**config), registry=registry)
    return result, {s.name: s for s in result.sections}


def _counting(name: str, seen: list, needs=(), metrics=None) -> Analyser:
    def run(data):
        seen.append(name)
        return Section(name=name, title=name, metrics={m: 1.0 for m in (metrics or {})})
    return Analyser(name=name, title=name, run=run, metrics=metrics or {}, needs=needs)


def test_an_analyser_that_raises_becomes_an_error_finding_and_exit_1(monkeypatch):
    def broken(data):
        raise ZeroDivisionError("boom")
    seen: list = []
    analysers = [Analyser(name="broken", title="Broken", run=broken, metrics={"broken.count": "x"}, needs=()),
                 _counting("after", seen)]
    result, sections = _audit(monkeypatch, analysers, _table(), fail_on=["broken.count>0"])
    assert sections["broken"].error == "ZeroDivisionError: boom"
    [finding] = sections["broken"].findings
    assert (finding.kind, finding.severity) == ("analyser_error", "error")
    assert "ZeroDivisionError" in finding.detail["traceback"]
    assert seen == ["after"]  # the run went on
    assert result.not_computed["broken.count"].startswith("the analyser failed")
    assert result.gates[0].value is None and not result.gates[0].passed
    assert exit_code(result.gates, analyser_errors=len(result.analyser_errors)) == 1


def _with_side(fail: bool = False) -> Analyser:
    def run(data):
        return Section(name="s", title="s", metrics={"s.main": 1.0})

    def side(data):
        if fail:
            raise ZeroDivisionError("boom")
        return 41

    def merge(section, result):
        section.metrics["s.side"] = None if result is None else result + 1
        section.notes.append(f"merged {result}")

    return Analyser(name="s", title="s", run=run, metrics={"s.main": "m", "s.side": "x"}, needs=(), cost=3,
                    side=SidePart(name="step", run=side, merge=merge, cost=3))


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_side_part_runs_as_a_task_of_its_own_and_is_merged_into_its_section(monkeypatch, jobs):
    other = Analyser(name="o", title="o", run=lambda d: Section(name="o", title="o"), metrics={}, needs=(), cost=2)
    result, sections = _audit(monkeypatch, [_with_side(), other], _table(), jobs=jobs)
    assert result.metrics["s.side"] == 42 and result.metrics["s.main"] == 1.0
    assert sections["s"].error is None and "step" in sections["s"].timings
    assert [s.name for s in result.sections] == ["s", "o"]


def test_a_failing_side_part_is_an_error_finding_and_the_main_part_keeps_its_metrics(monkeypatch):
    result, sections = _audit(monkeypatch, [_with_side(fail=True)], _table(), jobs=2)
    section = sections["s"]
    assert section.error == "its step step: ZeroDivisionError: boom"
    [finding] = section.findings
    assert finding.message == "the s analyser's step step failed: ZeroDivisionError: boom"
    assert "ZeroDivisionError" in finding.detail["traceback"]
    assert result.metrics["s.main"] == 1.0 and section.notes == ["merged None"]


def test_missing_needs_skip_with_one_uniform_reason(monkeypatch):
    seen: list = []
    analysers = [_counting("labelled", seen, needs=("labels",)), _counting("split", seen, needs=("split",)),
                 _counting("images", seen, needs=("images", "decoded")), _counting("table", seen)]
    _, sections = _audit(monkeypatch, analysers, _table(label=False))
    assert seen == ["table"]
    assert sections["labelled"].skipped.startswith("no labels (pass --label-col")
    assert sections["split"].skipped.startswith("no split column")
    assert sections["images"].skipped == "tabular-only audit: no image path column"


def test_an_empty_label_column_is_a_missing_need(monkeypatch):
    table = _table()
    table.frame["y"] = ["", "NA", " ", "", "null", ""]
    _, sections = _audit(monkeypatch, [_counting("labelled", [], needs=("labels",))], table)
    assert sections["labelled"].skipped == "the label column 'y' is empty in every row"


def test_a_metric_whose_input_is_absent_is_not_computed_and_fails_its_gate(monkeypatch):
    analyser = _counting("dups", [], metrics={
        "dups.count": "duplicates", "dups.conflicting": Metric("conflicting labels", needs=("labels",)),
        "dups.leaked": Metric("leaked rows", needs=("split",))})
    result, _ = _audit(monkeypatch, [analyser], _table(label=False, split=False),
                       fail_on=["dups.count>5", "dups.conflicting>0", "dups.leaked>0"])
    assert result.metrics == {"dups.count": 1.0}
    assert set(result.not_computed) == {"dups.conflicting", "dups.leaked"}
    assert [g.passed for g in result.gates] == [True, False, False]
    with_inputs, _ = _audit(monkeypatch, [analyser], _table(label=True, split=True),
                            fail_on=["dups.conflicting>5"])
    assert with_inputs.metrics["dups.conflicting"] == 1.0 and with_inputs.gates[0].passed


def test_a_wrong_setting_type_is_a_usage_error_before_the_scan(monkeypatch):
    analyser = Analyser(name="q", title="q", run=lambda data: Section(name="q", title="q"), metrics={},
                        needs=(), settings=(Setting("dark_max", 20.0, "x"),))
    monkeypatch.setattr("dataset_audit.pipeline.scan_images", lambda *a, **k: pytest.fail("scanned"))
    with pytest.raises(AuditUsageError, match="'dark_max' must be a number, got 'x'"):
        _audit(monkeypatch, [analyser], _table(), analysers={"q": {"dark_max": "x"}})


def test_settings_reach_the_analyser_typed(monkeypatch):
    got = {}

    def run(data):
        got.update(data.settings)
        return Section(name="q", title="q")
    analyser = Analyser(name="q", title="q", run=run, metrics={}, needs=(),
                        settings=(Setting("limit", 2.0, "x"), Setting("mode", "a", "y", choices=("a", "b"))))
    _audit(monkeypatch, [analyser], _table(), analysers={"q": {"limit": 3}})
    assert got == {"limit": 3.0, "mode": "a"} and isinstance(got["limit"], float)


def test_an_undeclared_metric_is_an_analyser_error(monkeypatch):
    analyser = Analyser(name="q", title="q", run=lambda data: Section(name="q", title="q", metrics={"q.typo": 1}),
                        metrics={"q.count": "x"}, needs=())
    result, sections = _audit(monkeypatch, [analyser], _table())
    assert "undeclared metrics: q.typo" in sections["q"].error
    assert "q.typo" not in result.metrics


def test_the_registry_refuses_a_duplicate_name_or_metric():
    one = Analyser(name="a", title="a", run=lambda d: Section(name="a", title="a"), metrics={"a.x": "x"})
    with pytest.raises(ValueError, match="two analysers are registered as 'a'"):
        build_registry([one, one])
    other = Analyser(name="b", title="b", run=lambda d: Section(name="b", title="b"), metrics={"a.x": "x"})
    with pytest.raises(ValueError, match="metric 'a.x' is defined by two analysers"):
        build_registry([one, other])
    with pytest.raises(ValueError, match="unknown needs"):
        Analyser(name="c", title="c", run=lambda d: None, metrics={}, needs=("gpu",))


def test_the_real_registry_is_valid_and_every_analyser_declares_its_needs():
    assert build_registry(list(REGISTRY)) == REGISTRY
    needs = {a.name: a.needs for a in REGISTRY}
    assert needs["balance"] == ("labels",) and needs["integrity"] == ("images",)
    assert needs["columns"] == () and needs["quality"] == ("images", "decoded")
