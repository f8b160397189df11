"""Dataclasses that cross module boundaries: findings, sections, charts, montages, analysers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .settings import Setting, SettingValues

if TYPE_CHECKING:
    from .analysers._tabular import ColumnProfile
    from .config import Config
    from .dataset import Table
    from .incremental import Reuse
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
    # Per-image scores the analyser computed, for the report's samples explorer: score name -> {position in the
    # audited frame (like Finding.rows before the pipeline maps them) -> value}. Rows without a score are left out.
    row_scores: dict[str, dict[int, float]] = field(default_factory=dict)
    skipped: str | None = None  # why the analyser did not run, when it did not
    # Seconds spent in named steps of the analyser (e.g. {"tsne": 2.1}); findings.json lists them under timings.
    timings: dict[str, float] = field(default_factory=dict)
    error: str | None = None  # traceback summary when the analyser raised


# What an analyser (or one of its metrics) can need. The pipeline checks these before running it and skips it, or
# leaves the metric "not computed", with the reason given here.
NEEDS = {
    "images": "images were not scanned",
    "decoded": "no image could be decoded",
    "labels": "no labels (pass --label-col, or a label column with values)",
    "split": "no split column (pass --split-col, or a column named 'split')",
    "two_classes": "fewer than two classes among the decoded, labelled images: nothing to tell apart",
}


@dataclass
class AuditInput:
    """Everything an analyser may look at. Analysers never open images or write files, except that with
    --incremental their costly steps keep state through `reuse` (incremental.py), in the cache folder only.

    settings: this analyser's settings (declared defaults overlaid with the config file), set by the pipeline.
    profiles: one ColumnProfile per table column, computed once by the pipeline and shared by the table analysers.
    """

    table: Table
    features: Features | None  # None in tabular-only mode
    config: Config
    settings: SettingValues = field(default_factory=lambda: SettingValues({}))
    profiles: dict[str, ColumnProfile] | None = None
    reuse: Reuse | None = None  # --incremental: where the costly searches keep their state (incremental.py)


@dataclass(frozen=True)
class Metric:
    """A metric's one-line meaning, and what it needs beyond its analyser's needs (it is "not computed" without)."""

    meaning: str
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class SidePart:
    """A slow step of an analyser that needs only the AuditInput, not the rest of the analyser's run (the embedding
    analyser's t-SNE map): the pipeline runs it as a lane task of its own, side by side with the analyser and the
    others, and calls merge(section, result) in the calling process once both are done: result is the step's
    return value, or None when it failed (the pipeline records the error). merge is not called when the analyser
    itself was skipped or failed. run_analyser does the same in order.

    name: the step's name in the section's timings (e.g. "tsne"). cost: as Analyser.cost, for the step alone.
    """

    name: str
    run: Callable[[AuditInput], Any]
    merge: Callable[[Section, Any], None]
    cost: int


@dataclass(frozen=True)
class Analyser:
    """One registered analyser: a pure function of AuditInput -> Section, declared in one place.

    metrics: name -> one-line meaning, or a Metric when the metric needs more than the analyser (labels, say).
    needs: what must be there for the analyser to run (keys of NEEDS); the pipeline skips it with one uniform
    reason otherwise. settings: its `[tool.dataset-audit.<name>]` keys, typed, with defaults and meanings.
    uses_profiles: it reads AuditInput.profiles (the pipeline computes them once for all such analysers).
    cost: how long it runs relative to the others (1: a pass over columns or features; the slowest analysers say
    more). Analysers with a cost above 1 run side by side in lanes (lanes.py), the costliest first so the lanes end
    together; the others run in the calling process.
    shares: analysers with the same non-empty value compute one intermediate result that each keeps for the next
    in its process (embedding.neighbourhood, the kNN search); the pipeline runs them one after the other in one lane.
    side: a slow step that may run in another lane at the same time (SidePart).
    """

    name: str
    title: str
    run: Callable[[AuditInput], Section]
    metrics: dict[str, str | Metric]
    needs: tuple[str, ...] = ("images", "decoded")
    settings: tuple[Setting, ...] = ()
    uses_profiles: bool = False
    cost: int = 1
    shares: str = ""
    side: SidePart | None = None

    def __post_init__(self) -> None:
        unknown = [n for n in self.needs if n not in NEEDS]
        metrics = {name: m if isinstance(m, Metric) else Metric(m) for name, m in self.metrics.items()}
        unknown += [n for m in metrics.values() for n in m.needs if n not in NEEDS]
        if unknown:
            raise ValueError(f"analyser {self.name!r}: unknown needs {unknown} (known: {', '.join(NEEDS)})")
        names = [s.name for s in self.settings]
        if len(names) != len(set(names)):
            raise ValueError(f"analyser {self.name!r} declares a setting twice")
        object.__setattr__(self, "metrics", metrics)

    @property
    def needs_images(self) -> bool:
        return "images" in self.needs or "decoded" in self.needs

    def metric_needs(self, metric: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.needs + self.metrics[metric].needs))
