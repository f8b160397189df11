"""Helpers for analyser tests that need no image files: a Features frame and a table built by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dataset_audit.config import Config
from dataset_audit.dataset import Table
from dataset_audit.model import AuditInput
from dataset_audit.scan import Features


def typical_records(n: int, seed: int) -> list[dict]:
    """n decoded colour JPEGs whose properties vary like a real dataset's, independent of any label."""
    rng = np.random.default_rng(seed)
    return [{
        "status": "ok", "format": "JPEG", "mode": "RGB", "width": 64, "height": 64,
        "file_bytes": int(rng.normal(3000, 400)), "brightness": float(rng.normal(120, 25)),
        "contrast": float(rng.normal(50, 10)), "sharpness": float(rng.lognormal(6, 0.5)),
        "entropy": float(rng.normal(7, 0.3)), "colourfulness": float(rng.normal(30, 8)),
        "mean_r": float(rng.normal(120, 20)), "mean_g": float(rng.normal(115, 20)), "mean_b": float(rng.normal(100, 20)),
        "std_r": float(rng.normal(50, 8)), "std_g": float(rng.normal(50, 8)), "std_b": float(rng.normal(50, 8)),
        "luma_p01": float(rng.normal(10, 5)), "luma_p99": float(rng.normal(240, 5)),
    } for _ in range(n)]


def audit_input(records: list[dict], columns: dict[str, list], label_col: str | None = "label",
                split_col: str | None = None, options: dict | None = None, thumbs: np.ndarray | None = None,
                **config_fields) -> AuditInput:
    frame = pd.DataFrame({"path": [f"images/{i}.jpg" for i in range(len(records))], **columns})
    table = Table(frame=frame, source="by-hand.csv", root=Path("."), path_col="path", label_col=label_col,
                  split_col=split_col)
    features = Features.from_records(records, thumbs=thumbs)
    return AuditInput(table=table, features=features, config=Config(analysers=options or {}, **config_fields))
