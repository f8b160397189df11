"""Config precedence: defaults < file < command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataset_audit.config import build_config, find_config_file, read_config_file
from dataset_audit.errors import AuditUsageError


def test_precedence(tmp_path):
    (tmp_path / "audit.toml").write_text(
        'label-col = "y"\njobs = 3\nfail_on = ["balance.imbalance_ratio>5"]\n[duplicates]\nmax_ratio = 0.7\n')
    found = find_config_file(tmp_path)
    settings = read_config_file(found)
    config = build_config(settings, {"jobs": 1, "label_col": None, "fail_on": []})
    assert config.label_col == "y"  # from the file
    assert config.jobs == 1  # command line wins
    assert config.fail_on == ["balance.imbalance_ratio>5"]  # empty CLI list keeps the file's
    assert config.analysers == {"duplicates": {"max_ratio": 0.7}}  # checked and typed by tests/test_settings.py
    assert build_config({}, {}).jobs == 0


def test_pyproject_table_is_found(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname="x"\n[tool.dataset-audit]\nsample = 5\n')
    found = find_config_file(tmp_path)
    assert found == tmp_path / "pyproject.toml"
    assert build_config(read_config_file(found), {}).sample == 5


def test_pyproject_without_table_is_ignored(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname="x"\n')
    assert find_config_file(tmp_path) is None


def test_unknown_setting_is_an_error(tmp_path):
    with pytest.raises(AuditUsageError, match="unknown setting 'colour'"):
        build_config({"colour": "red"}, {})


def test_bad_toml_is_an_error(tmp_path):
    bad = tmp_path / "audit.toml"
    bad.write_text("label_col = \n")
    with pytest.raises(AuditUsageError, match="not valid TOML"):
        read_config_file(bad)
    with pytest.raises(AuditUsageError, match="not found"):
        read_config_file(Path(tmp_path / "nope.toml"))


@pytest.mark.parametrize(("settings", "message"), [
    ({"jobs": "abc"}, "'jobs' must be a whole number"),
    ({"tsne-max": 1.5}, "'tsne_max' must be a whole number"),
    ({"quiet": "yes"}, "'quiet' must be true or false"),
    ({"label-col": 3}, "'label_col' must be a string"),
])
def test_wrong_types_are_usage_errors(settings, message):
    with pytest.raises(AuditUsageError, match=message):
        build_config(settings, {})


def test_option_spellings_from_the_command_line_work_in_files():
    config = build_config({"no-cache": True, "delimiter": ";", "encoding": "latin-1", "tsne-max": "500"}, {})
    assert config.use_cache is False
    assert (config.delimiter, config.encoding, config.tsne_max) == (";", "latin-1", 500)
