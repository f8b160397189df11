"""Analyser settings: declared once, typed; a wrong key or type is a usage error before any scan."""

from __future__ import annotations

import pytest

from dataset_audit.analysers import REGISTRY
from dataset_audit.config import Config
from dataset_audit.errors import AuditUsageError
from dataset_audit.pipeline import resolve_settings
from dataset_audit.settings import Setting


def _resolved(tables: dict) -> dict:
    return resolve_settings(Config(analysers=tables, config_source="audit.toml"))


def test_defaults_come_from_the_declarations():
    settings = _resolved({})
    assert settings["duplicates"].max_ratio == 0.6
    assert settings["quality"].dark_max is None  # derived from the data
    assert settings["quality"].blurry_score == "relative"
    assert set(settings) == {a.name for a in REGISTRY}


def test_values_are_coerced_to_the_declared_type():
    settings = _resolved({"duplicates": {"max_ratio": 1}, "embedding": {"k": 12.0}, "quality": {"dark_max": 20}})
    assert settings["duplicates"].max_ratio == 1.0 and isinstance(settings["duplicates"].max_ratio, float)
    assert settings["embedding"].k == 12 and isinstance(settings["embedding"].k, int)
    assert settings["quality"].dark_max == 20.0


@pytest.mark.parametrize(("tables", "message"), [
    ({"quality": {"dark_max": "x"}}, r"audit.toml: \[quality\]: 'dark_max' must be a number from 0 to 255, got 'x'"),
    ({"quality": {"dark_max": 300}}, r"'dark_max' must be a number from 0 to 255"),
    ({"quality": {"blurry_score": "fft"}}, r"'blurry_score' must be one of 'relative', 'laplacian'"),
    ({"embedding": {"k": 2.5}}, r"'k' must be a whole number >= 1, got 2.5"),
    ({"embedding": {"k": True}}, r"'k' must be a whole number"),
    ({"duplicates": {"near_threshold": 0.9}}, r"\[duplicates\] has no setting near_threshold \(known: max_ratio"),
    ({"dupes": {"max_ratio": 0.9}}, r"no analyser is called dupes"),
])
def test_bad_settings_are_usage_errors(tables, message):
    with pytest.raises(AuditUsageError, match=message):
        _resolved(tables)


def test_every_setting_has_a_meaning_and_a_default_of_its_type():
    for analyser in REGISTRY:
        for setting in analyser.settings:
            assert setting.meaning and not setting.meaning.startswith("."), (analyser.name, setting.name)
            if setting.default is not None:
                assert setting.coerce(setting.default, "default") == setting.default, (analyser.name, setting.name)


def test_a_setting_without_a_default_needs_a_kind():
    with pytest.raises(TypeError, match="give kind="):
        Setting("limit", None, "a limit")
