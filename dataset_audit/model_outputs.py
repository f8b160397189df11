"""The user's own model outputs, aligned with the table's rows: predicted labels, probabilities, embeddings.

Read once when the table is loaded (before --sample picks rows, so the arrays are subset with the rows), checked,
and carried on the Table as `ModelOutputs`. Every problem is a usage error naming the option, file, row or column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import AuditUsageError

SUM_TOLERANCE = 0.02  # a probability row may sum to 1 +- this (rounding in a CSV); it is then renormalised
EMBEDDING_PEAK_MAX = 1e6  # vectors whose largest magnitude is above this (or below its inverse) are scaled
SCALE_BLOCK = 8_192  # rows scaled at once (two float64 copies of a block: 100 MB at 768 dimensions)


@dataclass
class ModelOutputs:
    """What the user's model said about each row (None where not given)."""

    pred_col: str | None = None
    probabilities: np.ndarray | None = None  # (n, classes) float64, rows sum to 1
    probability_classes: list[str] = field(default_factory=list)  # class name of each probability column
    probability_source: str = ""  # "--probs FILE" or "--probs-prefix p_", for messages
    embeddings: np.ndarray | None = None  # (n, d) float32
    embedding_source: str = ""

    def subset(self, rows: np.ndarray) -> ModelOutputs:
        return ModelOutputs(
            pred_col=self.pred_col,
            probabilities=None if self.probabilities is None else self.probabilities[rows],
            probability_classes=self.probability_classes, probability_source=self.probability_source,
            embeddings=None if self.embeddings is None else self.embeddings[rows],
            embedding_source=self.embedding_source)


def class_order(labels: list[str]) -> list[str]:
    """The order of the columns of an --probs array: sorted names, numerically when every label is a number
    (as scikit-learn's classes_ and most training code produce)."""
    names = sorted({label for label in labels if label != ""})
    try:
        return sorted(names, key=float)
    except ValueError:
        return names


def load_model_outputs(frame: pd.DataFrame, labels: list[str] | None, pred_col: str | None,
                       probs_prefix: str | None, probs: Path | None, embeddings: Path | None) -> ModelOutputs:
    """Read and check every given output against the table (n rows, its labels)."""
    n = len(frame)
    outputs = ModelOutputs()
    if pred_col is not None:
        if pred_col not in frame.columns:
            raise AuditUsageError(f"--pred-col {pred_col!r} is not a column of the input")
        outputs.pred_col = pred_col
    if probs_prefix is not None and probs is not None:
        raise AuditUsageError("give the predicted probabilities once: --probs-prefix or --probs, not both")
    if (probs_prefix is not None or probs is not None) and labels is None:
        raise AuditUsageError("predicted probabilities need a label column (--label-col) to compare with")
    if probs_prefix is not None:
        outputs.probabilities, outputs.probability_classes = _probability_columns(frame, probs_prefix)
        outputs.probability_source = f"--probs-prefix {probs_prefix}"
    elif probs is not None:
        assert labels is not None
        outputs.probability_classes = class_order(labels)
        outputs.probabilities = _probability_array(_load_npy(probs, "--probs"), n, probs,
                                                   outputs.probability_classes)
        outputs.probability_source = f"--probs {probs.name}"
    if outputs.probabilities is not None and labels is not None:
        unknown = sorted({label for label in labels if label} - set(outputs.probability_classes))
        if unknown:
            raise AuditUsageError(f"{outputs.probability_source}: no probability for the label(s) "
                                  f"{', '.join(map(repr, unknown[:10]))}; classes given: "
                                  f"{', '.join(map(repr, outputs.probability_classes[:20]))}")
    if embeddings is not None:
        outputs.embeddings = _embedding_array(embeddings, n)
        outputs.embedding_source = f"--embeddings {embeddings.name}"
    return outputs


def _load_npy(path: Path, option: str) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError as exc:
        raise AuditUsageError(f"{option} {path}: file not found") from exc
    except (OSError, ValueError) as exc:
        raise AuditUsageError(f"{option} {path} is not a readable .npy array: {exc}") from exc


def _probability_columns(frame: pd.DataFrame, prefix: str) -> tuple[np.ndarray, list[str]]:
    columns = [str(c) for c in frame.columns if str(c).startswith(prefix) and len(str(c)) > len(prefix)]
    if len(columns) < 2:
        raise AuditUsageError(f"--probs-prefix {prefix!r}: need one column per class named {prefix}<class>, "
                              f"found {len(columns)} ({', '.join(map(repr, columns)) or 'none'})")
    values = np.empty((len(frame), len(columns)))
    for j, column in enumerate(columns):
        numbers = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(numbers))
        if len(bad):
            raise AuditUsageError(f"--probs-prefix {prefix!r}: column {column!r} row {bad[0]} is not a number "
                                  f"({frame[column].iloc[bad[0]]!r})")
        values[:, j] = numbers
    return _normalised(values, f"--probs-prefix {prefix!r}"), [c[len(prefix):] for c in columns]


def _probability_array(array: np.ndarray, n: int, path: Path, classes: list[str]) -> np.ndarray:
    where = f"--probs {path}"
    if array.ndim != 2 or array.shape[0] != n:
        raise AuditUsageError(f"{where}: expected an array of {n} rows (one per table row) x classes, "
                              f"got shape {array.shape}")
    if array.shape[1] != len(classes):
        raise AuditUsageError(f"{where}: {array.shape[1]} columns, but the labels have {len(classes)} classes "
                              f"({', '.join(map(repr, classes[:20]))}); columns must follow that order")
    if not np.issubdtype(array.dtype, np.number):
        raise AuditUsageError(f"{where}: expected numbers, got dtype {array.dtype}")
    return _normalised(array.astype(np.float64), where)


def _normalised(values: np.ndarray, where: str) -> np.ndarray:
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1) | (values < 0).any(axis=1))
    if len(bad):
        raise AuditUsageError(f"{where}: row {bad[0]} is not a probability vector (negative or missing values: "
                              f"[{', '.join(f'{value:.4g}' for value in values[bad[0]].tolist()[:10])}])")
    sums = values.sum(axis=1)
    off = np.flatnonzero(np.abs(sums - 1.0) > SUM_TOLERANCE)
    if len(off):
        raise AuditUsageError(f"{where}: row {off[0]} sums to {sums[off[0]]:.4g}, not 1 ({len(off):,} rows do "
                              "not sum to 1); give probabilities (softmax of the logits), not scores")
    return values / sums[:, None]


def _embedding_array(path: Path, n: int) -> np.ndarray:
    where = f"--embeddings {path}"
    if path.suffix.lower() in {".parquet", ".pq"}:
        array = _parquet_vectors(path, where)
    else:
        array = _load_npy(path, "--embeddings")
    if array.ndim != 2 or array.shape[0] != n or array.shape[1] < 1:
        raise AuditUsageError(f"{where}: expected an array of {n} rows (one per table row) x dimensions, "
                              f"got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number):
        raise AuditUsageError(f"{where}: expected numbers, got dtype {array.dtype}")
    bad = np.flatnonzero(~np.isfinite(array).all(axis=1))
    if len(bad):
        raise AuditUsageError(f"{where}: row {bad[0]} has missing or infinite values")
    # The audit holds vectors in float32, where squares and sums of vectors of 1e30 overflow and those of 1e-30
    # vanish. Such an array is scaled by a power of two (exact: every result is the one the same vectors at a
    # moderate scale give) that brings its largest magnitude into [0.5, 1).
    peak = max(float(array.max(initial=0)), -float(array.min(initial=0))) if array.size else 0.0
    if peak > EMBEDDING_PEAK_MAX or 0.0 < peak < 1.0 / EMBEDDING_PEAK_MAX:
        vectors = np.empty(array.shape, dtype=np.float32)
        shift = -int(np.frexp(peak)[1])
        for start in range(0, len(array), SCALE_BLOCK):  # a float64 copy of a block at a time, not of the array
            vectors[start:start + SCALE_BLOCK] = np.ldexp(array[start:start + SCALE_BLOCK].astype(np.float64), shift)
        return vectors
    return array.astype(np.float32, copy=False)


def _parquet_vectors(path: Path, where: str) -> np.ndarray:
    """One list-valued column (a vector per row), or every column numeric (one dimension each)."""
    try:
        frame = pd.read_parquet(path)
    except FileNotFoundError as exc:
        raise AuditUsageError(f"{where}: file not found") from exc
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise AuditUsageError(f"{where}: cannot read Parquet: {exc}") from exc
    if frame.shape[1] == 1 and frame.dtypes.iloc[0].kind == "O":
        try:
            return np.stack([np.asarray(v) for v in frame.iloc[:, 0]])  # their own dtype: no float64 copy
        except (ValueError, TypeError) as exc:
            raise AuditUsageError(f"{where}: column {frame.columns[0]!r} does not hold equal-length vectors") from exc
    non_numeric = [str(c) for c in frame.columns if frame[c].dtype.kind not in "biuf"]
    if non_numeric:
        raise AuditUsageError(f"{where}: columns {', '.join(map(repr, non_numeric[:5]))} are not numeric; give one "
                              "numeric column per dimension, or one column of vectors")
    dtype = np.result_type(*frame.dtypes) if len(frame.columns) else np.float32
    return frame.to_numpy(dtype=dtype if np.issubdtype(dtype, np.floating) else np.float64)  # checked, then float32
