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
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .dataset import Table
from .model import Finding

SUBJECT_KEYS = ("column", "class")
HASH_CHARS = 12


def finding_id(analyser: str, kind: str, subject: dict[str, str], member_keys: Iterable[str]) -> str:
    """`analyser/kind/<12 hex digits>`: readable in a baseline file, stable across runs."""
    head = "\0".join([analyser, kind, *(f"{key}={value}" for key, value in sorted(subject.items()))])
    digest = hashlib.sha256(head.encode("utf-8", "surrogatepass") + b"\1")
    digest.update("\0".join(sorted(member_keys)).encode("utf-8", "surrogatepass"))
    return f"{analyser}/{kind}/{digest.hexdigest()[:HASH_CHARS]}"


def subject_of(finding: Finding) -> dict[str, str]:
    return {key: str(finding.detail[key]) for key in SUBJECT_KEYS if finding.detail.get(key) is not None}


def assign_ids(findings: list[Finding], table: Table) -> None:
    """Set `finding.id` on every finding (its `positions` index the audited frame, as the pipeline sets them)."""
    if not findings:
        return
    keys = np.array(table.paths() or [""] * len(table), dtype=object)
    pathless = np.flatnonzero([not key.strip() for key in keys.tolist()])
    if pathless.size:
        named = np.concatenate([np.asarray(f.positions or f.rows, dtype=np.int64) for f in findings])
        needed = np.intersect1d(pathless, named)
        if needed.size:
            keys[needed] = _row_content_keys(table.frame, needed.tolist())
    for finding in findings:
        members = keys[np.asarray(finding.positions or finding.rows, dtype=np.int64)].tolist()
        finding.id = finding_id(finding.analyser, finding.kind, subject_of(finding), members)


def _row_content_keys(frame: pd.DataFrame, positions: list[int]) -> list[str]:
    """A key per row from its cells (pandas' row hash), for rows that have no image path to name them."""
    if not positions:
        return []
    subset = frame.iloc[positions]
    try:
        hashes = pd.util.hash_pandas_object(subset, index=False)
    except TypeError:  # unhashable cells (lists from JSON lines): hash their text
        hashes = pd.util.hash_pandas_object(subset.astype(str), index=False)
    return [f"row:{value:016x}" for value in hashes.to_numpy().tolist()]
