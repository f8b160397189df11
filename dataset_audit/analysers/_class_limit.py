"""The classes of the decoded, labelled images, and the skip reason when there are more than an analyser handles."""

from __future__ import annotations

import numpy as np

from ..dataset import class_groups
from ..model import AuditInput


def decoded_classes(data: AuditInput, max_classes: int, analyser: str,
                    advice: str) -> tuple[list[tuple[str, np.ndarray]], str | None]:
    """(class, decoded rows) largest first, and why to skip when there are more than `max_classes` (else None)."""
    assert data.features is not None
    groups = class_groups(data.table.labels() or [], np.flatnonzero(data.features.ok))
    if len(groups) > max_classes:
        return groups, f"{len(groups):,} classes, more than {analyser}.max_classes = {max_classes}{advice}"
    return groups, None
