"""Dataclasses that cross module boundaries: findings, sections, charts, montages, analysers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .config import Config
    from .dataset import Table
    from .scan.features import Features

SEVERITIES = ("error", "warning", "info")


@dataclass
class Finding:
    """One problem, tied to the rows (0-based positions in the input table) that show it.

    A group finding (a duplicate group, an inconsistent category) lists every member row.
    `paths` is filled in by the pipeline from the table, exactly as written in the input.
    """

    analyser: str
    kind: str
    severity: str
    message: str
    rows: list[int] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    # Positions in the audited frame (equal to rows unless --sample picked a subset); set by the pipeline.
    positions: list[int] = field(default_factory=list)
    # Stable across runs (finding_ids.py): what baselines and `audit diff` match on; set by the pipeline.
    id: str = ""

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        self.rows = [int(r) for r in self.rows]


@dataclass
class Chart:
    """A plot described as plotly traces and layout (plain JSON-able dicts); the HTML reporter draws it."""

    title: str
    traces: list[dict[str, Any]]
    layout: dict[str, Any] = field(default_factory=dict)
    caption: str = ""


@dataclass
class TableBlock:
    """A small table for the report: column headers and rows of plain values."""

    title: str
    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""


@dataclass
class MontageItem:
    row: int
    caption: str = ""


@dataclass
class Montage:
    """A strip or grid of the actual images behind a finding or a view (rows of the input table)."""

    title: str
    items: list[MontageItem]
    caption: str = ""
    total: int | None = None  # how many there were before the cap, when the montage is a sample


@dataclass
class ImageBlock:
    """A computed picture (a per-class mean image, say): uint8 array HxW or HxWx3, encoded by the reporter."""

    title: str
    pixels: np.ndarray
    caption: str = ""


@dataclass
class ImageGallery:
    title: str
    images: list[ImageBlock]
    caption: str = ""


@dataclass
class Explorer:
    """Points of a 2-D embedding with the table rows behind them, drawn as an interactive scatter with thumbnails."""

    title: str
    rows: list[int]
    x: list[float]
    y: list[float]
    colour: list[str]
    hover: list[str]
    caption: str = ""
    # Per point: why it stands out ("" for most), e.g. "neighbours carry: cat"; flagged points are ringed.
    flags: list[str] = field(default_factory=list)


@dataclass
class Section:
    """What one analyser returns: metrics, findings and what the report shows for it."""

    name: str
    title: str
    summary: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    tables: list[TableBlock] = field(default_factory=list)
    montages: list[Montage] = field(default_factory=list)
    galleries: list[ImageGallery] = field(default_factory=list)
    explorers: list[Explorer] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None  # why the analyser did not run, when it did not
    # Seconds spent in named steps of the analyser (e.g. {"tsne": 2.1}); findings.json lists them under timings.
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None  # traceback summary when the analyser raised


@dataclass
class AuditInput:
    """Everything an analyser may look at. Analysers never open images or write files."""

    table: Table
    features: Features | None  # None in tabular-only mode
    config: Config


@dataclass(frozen=True)
class Analyser:
    """One registered analyser: a pure function of AuditInput -> Section, plus the metrics it defines."""

    name: str
    title: str
    run: Callable[[AuditInput], Section]
    metrics: dict[str, str]  # metric name -> one-line meaning
    needs_images: bool = True
    settings: tuple[str, ...] = ()  # keys its [tool.dataset-audit.<name>] table may set (anything else is a typo)
