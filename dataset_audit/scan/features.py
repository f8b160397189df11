"""Features: what the scan learnt about each table row's image, as one frame plus compact arrays."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .decode import RECORD_COLUMNS, THUMB_SIZE

if TYPE_CHECKING:
    from .tiles import TileStore


@dataclass
class ScanStats:
    rows: int = 0
    unique_files: int = 0
    decoded: int = 0  # files opened and decoded in this run
    from_cache: int = 0
    seconds: float = 0.0
    jobs: int = 1
    warnings: list[str] = field(default_factory=list)  # e.g. the cache was corrupt and rebuilt, or not writable

    @property
    def images_per_second(self) -> float:
        return self.decoded / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Features:
    """Row i describes the image of table row i (rows sharing a path share a record).

    frame: the scalar columns of decode.RECORD_COLUMNS.
    thumbs: (n, THUMB_SIZE, THUMB_SIZE, 3) uint8, zeros where the image could not be decoded.
    file_ids: (n,) index of the unique file behind each row, so analysers can tell "same path twice" apart.
    tiles: each unique file's display tile (on disk), for the report; None for features built by hand.
    """

    frame: pd.DataFrame
    thumbs: np.ndarray
    file_ids: np.ndarray
    stats: ScanStats = field(default_factory=ScanStats)
    tiles: TileStore | None = None

    def __post_init__(self) -> None:
        if len(self.frame) != len(self.thumbs) or len(self.frame) != len(self.file_ids):
            raise ValueError("features frame, thumbs and file_ids must have one entry per row")

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of rows whose image decoded."""
        return (self.frame["status"] == "ok").to_numpy()

    @classmethod
    def from_records(cls, records: list[dict], thumbs: np.ndarray | None = None,
                     file_ids: np.ndarray | None = None) -> Features:
        """Build Features by hand (tests, tools): missing columns take their defaults."""
        rows = [{**RECORD_COLUMNS, **r} for r in records]
        frame = pd.DataFrame(rows, columns=list(RECORD_COLUMNS))
        n = len(frame)
        if thumbs is None:
            thumbs = np.zeros((n, THUMB_SIZE, THUMB_SIZE, 3), dtype=np.uint8)
        if file_ids is None:
            file_ids = np.arange(n)
        return cls(frame=frame, thumbs=thumbs, file_ids=np.asarray(file_ids))
