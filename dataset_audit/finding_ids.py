"""Stable finding ids: the same problem gets the same id on every run, so baselines and diffs can match findings.

An id is a hash of what the finding is about, never of where it sits in the file:
  - the analyser and the kind (`duplicates`, `near_duplicate`);
  - its subject when it has one: the column or the class it names (`detail["column"]`, `detail["class"]`);
  - its members, sorted: each row's image path as written in the input, or, for a row without a path (an empty
    cell, or a table with no image column), a hash of the row's cells.
Row numbers are left out on purpose: inserting, deleting or reordering other rows leaves the id unchanged. A
finding whose members change (a duplicate group that gains a copy, one more dark image) is a different finding and
gets a new id; under --sample a group finding sees only the sampled members. Cost: one hash per member row,
O(rows named by findings).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

import pandas as pd

from .dataset import Table
from .model import Finding

SUBJECT_KEYS = ("column", "class")
HASH_CHARS = 12


def finding_id(analyser: str, kind: str, subject: dict[str, str], member_keys: Iterable[str]) -> str:
    """`analyser/kind/<12 hex digits>`: readable in a baseline file, stable across runs."""
    payload = json.dumps([analyser, kind, sorted(subject.items()), sorted(member_keys)], ensure_ascii=False)
    digest = hashlib.sha256(payload.encode("utf-8")).hexdigest()[:HASH_CHARS]
    return f"{analyser}/{kind}/{digest}"


def subject_of(finding: Finding) -> dict[str, str]:
    return {key: str(finding.detail[key]) for key in SUBJECT_KEYS if finding.detail.get(key) is not None}


def assign_ids(findings: list[Finding], table: Table) -> None:
    """Set `finding.id` on every finding (its `positions` index the audited frame, as the pipeline sets them)."""
    paths = table.paths()
    pathless = sorted({p for f in findings for p in (f.positions or f.rows) if not paths or not paths[p].strip()})
    content = _row_content_keys(table.frame, pathless)
    for finding in findings:
        keys = [paths[p] if paths and paths[p].strip() else content[p] for p in (finding.positions or finding.rows)]
        finding.id = finding_id(finding.analyser, finding.kind, subject_of(finding), keys)


def _row_content_keys(frame: pd.DataFrame, positions: list[int]) -> dict[int, str]:
    """A key per row from its cells (pandas' row hash), for rows that have no image path to name them."""
    if not positions:
        return {}
    subset = frame.iloc[positions].astype(str)
    hashes = pd.util.hash_pandas_object(subset, index=False)
    return {position: f"row:{int(value):016x}" for position, value in zip(positions, hashes.tolist(), strict=True)}
