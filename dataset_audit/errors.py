"""Errors that end a run with exit code 2 (usage or input problems), each with a message for people."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


class AuditUsageError(Exception):
    """Bad arguments, bad config, or an input table we cannot use. The CLI prints it and exits 2."""


def read_json_file(path: Path, what: str, missing_hint: str = "") -> Any:
    """The JSON document in `path`, or a usage error naming the file and `what` it should have been."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AuditUsageError(f"{what} not found: {path}{missing_hint}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AuditUsageError(f"cannot read {what} {path}: {exc}") from exc
