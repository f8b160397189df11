"""Analyser settings: each analyser declares its settings once (typed, with a default and a one-line meaning); the
pipeline checks and coerces what a config file gives before any scan, and README's settings reference is generated
from the same declarations (`settings_markdown`, kept in sync by tests/test_docs.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import AuditUsageError

_TYPE_NAMES = {float: "number", int: "whole number", bool: "true or false", str: "text"}


@dataclass(frozen=True)
class Setting:
    """One setting of one analyser, as a `[tool.dataset-audit.<analyser>]` key.

    default None means "derived from the data" (the meaning says how); `kind` is then required.
    """

    name: str
    default: Any
    meaning: str
    kind: type | None = None  # float, int, bool or str; inferred from the default when not given
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        kind = self.kind or type(self.default)
        if kind not in _TYPE_NAMES:
            raise TypeError(f"setting {self.name!r}: give kind= (float, int, bool or str) when the default is None")
        object.__setattr__(self, "kind", kind)

    def coerce(self, value: Any, where: str) -> Any:
        """The value as this setting's type, or a usage error naming the setting and what it expects."""
        kind = self.kind
        wrong = AuditUsageError(f"{where}: '{self.name}' must be {self._expects()}, got {value!r}")
        if value is None:
            return None
        if kind is bool:
            if not isinstance(value, bool):
                raise wrong
            return value
        if kind is str:
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                raise wrong
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise wrong
        if kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise wrong
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise wrong
        if (self.minimum is not None and value < self.minimum) or (self.maximum is not None and value > self.maximum):
            raise wrong
        return value

    def _expects(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        text = "a " + _TYPE_NAMES[self.kind] if self.kind is not bool else _TYPE_NAMES[bool]
        if self.minimum is not None and self.maximum is not None:
            text += f" from {self.minimum:g} to {self.maximum:g}"
        elif self.minimum is not None:
            text += f" >= {self.minimum:g}"
        elif self.maximum is not None:
            text += f" <= {self.maximum:g}"
        return text

    def describe_default(self) -> str:
        if self.default is None:
            return "from the data"
        if isinstance(self.default, bool):
            return str(self.default).lower()
        if isinstance(self.default, str):
            return f'"{self.default}"'
        return f"{self.default:g}" if isinstance(self.default, float) else f"{self.default:,}"


class SettingValues(Mapping[str, Any]):
    """An analyser's settings after defaults and the config file: read as `settings.dark_max` or `settings["k"]`."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no setting {name!r}") from None

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"SettingValues({self._values!r})"


def resolve(declared: Iterable[Setting], given: Mapping[str, Any], where: str) -> SettingValues:
    """Defaults overlaid with `given` (a config file's table), each value checked. Unknown keys are usage errors."""
    declared = {s.name: s for s in declared}
    unknown = sorted(set(given) - set(declared))
    if unknown:
        known = ", ".join(declared) or "none"
        raise AuditUsageError(f"{where} has no setting {', '.join(unknown)} (known: {known})")
    return SettingValues({name: setting.coerce(given[name], where) if name in given else setting.default
                          for name, setting in declared.items()})


def settings_markdown(analysers: Iterable[Any]) -> str:
    """Every analyser's settings as Markdown (README's settings reference)."""
    lines = ["| analyser | setting | default | meaning |", "| --- | --- | --- | --- |"]
    for analyser in analysers:
        for setting in analyser.settings:
            meaning = setting.meaning + (f" (one of {', '.join(setting.choices)})" if setting.choices else "")
            lines.append(f"| {analyser.name} | `{setting.name}` | {setting.describe_default()} | {meaning} |")
    return "\n".join(lines)
