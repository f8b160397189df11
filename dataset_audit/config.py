"""One Config object, built once from defaults < config file < command line, and passed down."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import AuditUsageError

CONFIG_TABLE = "dataset-audit"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dataset-audit"


@dataclass
class Config:
    path_col: str | None = None
    label_col: str | None = None
    split_col: str | None = None
    pred_col: str | None = None  # the user's model's predicted labels
    probs_prefix: str | None = None  # the user's predicted probabilities, one column per class: <prefix><class>
    probs: Path | None = None  # the same as an .npy array (rows x classes) aligned with the table's rows
    embeddings: Path | None = None  # the user's image vectors (.npy or Parquet) aligned with the table's rows
    root: Path | None = None
    out: Path = Path("audit-report")
    jobs: int = 0  # 0: one worker per core
    dask: str | None = None  # address of a Dask scheduler to scan on instead of local worker processes
    cache_dir: Path = field(default_factory=default_cache_dir)
    use_cache: bool = True
    # Reuse the stored fits and per-image results of the costly searches when a few images were added (incremental.py)
    incremental: bool = False
    sample: int | None = None
    seed: int = 0
    only: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    fail_on: list[str] = field(default_factory=list)
    quiet: bool = False
    force: bool = False  # overwrite an existing report folder we did not create
    encoding: str | None = None  # of the input table; None: UTF-8, else detected
    delimiter: str | None = None  # of a CSV; None: detected
    tsne_max: int = 3000
    montage_max: int = 24  # images per montage
    max_file_bytes: int = 256 * 1024 * 1024  # image files larger than this are not read (a finding instead)
    image_timeout: int = 60  # seconds to read and decode one image before it is stopped (a finding instead)
    confine_to_root: bool = False  # refuse image paths that lead outside --root (absolute elsewhere, or '..')
    # `audit baseline create` file: findings it lists are known, reported as suppressed and not gated on. Not
    # `baseline`: that name is the human-baseline analyser's settings table.
    baseline_file: Path | None = None
    # Per-analyser settings, e.g. {"duplicates": {"near_threshold": 0.9}, "quality": {"dark_max": 20}}.
    analysers: dict[str, dict[str, Any]] = field(default_factory=dict)
    config_source: str | None = None


_PATH_FIELDS = {"root", "out", "cache_dir", "probs", "embeddings", "baseline_file"}
_LIST_FIELDS = {"only", "skip", "fail_on"}
_INT_FIELDS = {"jobs", "sample", "seed", "tsne_max", "montage_max", "max_file_bytes", "image_timeout"}
_BOOL_FIELDS = {"use_cache", "incremental", "quiet", "force", "confine_to_root"}
_SCALAR_KEYS = {f.name for f in fields(Config)} - {"analysers", "config_source"}
# Option spellings that name a setting differently in the file: `no-cache = true` means use_cache = false.
_NEGATED = {"no_cache": "use_cache"}


def _normalise_key(key: str) -> str:
    return key.replace("-", "_")


def read_config_file(path: Path) -> dict[str, Any]:
    """Settings from an audit.toml (top level) or a pyproject.toml ([tool.dataset-audit])."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AuditUsageError(f"config file not found: {path}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise AuditUsageError(f"config file {path} is not valid TOML: {exc}") from exc
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get(CONFIG_TABLE, {})
    elif CONFIG_TABLE in data.get("tool", {}):
        data = data["tool"][CONFIG_TABLE]
    return data


def find_config_file(start: Path) -> Path | None:
    """audit.toml, or a pyproject.toml that has a [tool.dataset-audit] table, in the current folder."""
    audit_toml = start / "audit.toml"
    if audit_toml.is_file():
        return audit_toml
    pyproject = start / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError):
            return None
        if CONFIG_TABLE in data.get("tool", {}):
            return pyproject
    return None


def _coerce(name: str, value: Any, source: str) -> Any:
    """The value as the type the setting needs, or a usage error naming the setting."""
    if name in _PATH_FIELDS:
        return Path(str(value)).expanduser()
    if name in _INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise AuditUsageError(f"{source}: '{name}' must be a whole number, got {value!r}")
        try:
            return int(value)
        except ValueError as exc:
            raise AuditUsageError(f"{source}: '{name}' must be a whole number, got {value!r}") from exc
    if name in _BOOL_FIELDS:
        if not isinstance(value, bool):
            raise AuditUsageError(f"{source}: '{name}' must be true or false, got {value!r}")
        return value
    if name in _LIST_FIELDS:
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            raise AuditUsageError(f"{source}: '{name}' must be a list of strings")
        return [str(v) for v in value]
    if value is not None and not isinstance(value, str):
        raise AuditUsageError(f"{source}: '{name}' must be a string, got {value!r}")
    return value


def build_config(file_settings: dict[str, Any], cli_settings: dict[str, Any], source: str | None = None) -> Config:
    """defaults < file < command line. `cli_settings` holds only what the user actually gave (no None)."""
    config = Config()
    config.config_source = source
    where = source or "config"
    for raw_key, value in file_settings.items():
        key = _normalise_key(raw_key)
        if key in _NEGATED:
            key, value = _NEGATED[key], not _coerce(_NEGATED[key], value, where)
        if key in _SCALAR_KEYS:
            setattr(config, key, _coerce(key, value, where))
        elif isinstance(value, dict):
            config.analysers[key] = dict(value)
        else:
            known = ", ".join(sorted(_SCALAR_KEYS))
            raise AuditUsageError(f"{where}: unknown setting '{raw_key}'. Known settings: {known}, no-cache, "
                                  "and one [table] per analyser")
    for key, value in cli_settings.items():
        if value is None:
            continue
        if key in _LIST_FIELDS and not value:
            continue  # an empty repeatable option means "not given": keep the file's list
        setattr(config, key, _coerce(key, value, "command line"))
    if config.jobs < 0:
        raise AuditUsageError("--jobs must be 0 (one per core) or a positive number")
    if config.sample is not None and config.sample <= 0:
        raise AuditUsageError("--sample must be a positive number of rows")
    if config.max_file_bytes <= 0 or config.image_timeout <= 0:
        raise AuditUsageError("--max-file-bytes and --image-timeout must be positive numbers")
    if config.incremental and not config.use_cache:
        raise AuditUsageError("--incremental keeps its state in the cache folder: it cannot be used with --no-cache")
    return config
