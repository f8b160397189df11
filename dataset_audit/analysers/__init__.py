"""The analyser registry: one ordered, explicit list. Adding an analyser = one module + one entry here."""

from __future__ import annotations

from ..model import Analyser
from . import (
    balance,
    baseline,
    bias,
    categories,
    classes,
    columns,
    drift,
    duplicates,
    embedding,
    integrity,
    pixels,
    properties,
    quality,
    rows,
    target_leakage,
)


def build_registry(entries: list[Analyser]) -> list[Analyser]:
    names: set[str] = set()
    metrics: set[str] = set()
    for analyser in entries:
        if analyser.name in names:
            raise ValueError(f"two analysers are registered as {analyser.name!r}")
        names.add(analyser.name)
        for metric in analyser.metrics:
            if metric in metrics:
                raise ValueError(f"metric {metric!r} is defined by two analysers")
            metrics.add(metric)
    return entries


REGISTRY: list[Analyser] = build_registry([
    integrity.ANALYSER,
    balance.ANALYSER,
    properties.ANALYSER,
    columns.ANALYSER,
    categories.ANALYSER,
    rows.ANALYSER,
    target_leakage.ANALYSER,
    quality.ANALYSER,
    bias.ANALYSER,
    duplicates.ANALYSER,
    drift.ANALYSER,
    pixels.ANALYSER,
    classes.ANALYSER,
    embedding.ANALYSER,
    baseline.ANALYSER,
])


def metric_catalogue() -> dict[str, str]:
    """Every metric name with its one-line meaning, in registry order (README and `audit metrics` use this)."""
    return {name: metric.meaning for analyser in REGISTRY for name, metric in analyser.metrics.items()}


def by_name() -> dict[str, Analyser]:
    return {analyser.name: analyser for analyser in REGISTRY}
