"""Near duplicates among the user's own image vectors (--embeddings): cosine similarity of L2-normalised vectors.

Each vector's SHORTLIST most similar others are found with the thumbnail search's coarse cells
(dataset_audit.thumbnail_search: k-means cells, each query probing its PROBE_CELLS nearest cells; one cell, i.e. an
exact search, below EXACT_BELOW vectors), on the unit vectors themselves or, when they are wider than PCA_DIMS and
there are more than EXACT_BELOW of them, on their projection onto the top PCA_DIMS principal axes. The shortlists
are then re-ranked on the full unit vectors, and a pair is similar when its cosine similarity is at least the
threshold. On unit vectors the Euclidean ranking is the cosine ranking, so the cell search applies unchanged.

Growth: linear in n for a fixed cell size (see thumbnail_search). Memory: the norms (4 bytes per row), the points
searched (256 bytes per row at 64 dimensions; the unit vectors themselves below EXACT_BELOW rows or at most
PCA_DIMS dimensions), the candidates (~900 bytes per row) and blocks of fixed size; the user's array is never
copied whole.
"""

from __future__ import annotations

import numpy as np

from . import thumbnail_search
from .thumbnail_search import EXACT_BELOW, PCA_DIMS, RERANK_BLOCK, ROW_BLOCK, SEED

FIT_MAX = 20_000  # vectors the PCA projection is fitted on


def row_norms(vectors: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Euclidean norm of each of vectors[rows], float32, block by block."""
    out = np.empty(len(rows), dtype=np.float32)
    for lo in range(0, len(rows), ROW_BLOCK):
        out[lo:lo + ROW_BLOCK] = np.linalg.norm(vectors[rows[lo:lo + ROW_BLOCK]].astype(np.float32), axis=1)
    return out


def _units(vectors: np.ndarray, rows: np.ndarray, norms: np.ndarray) -> np.ndarray:
    return vectors[rows].astype(np.float32) / norms[:, None]


def _search_points(vectors: np.ndarray, rows: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """The points the cells are built on: the unit vectors, or their PCA projection when that is smaller."""
    if len(rows) <= EXACT_BELOW or vectors.shape[1] <= PCA_DIMS:
        return _units(vectors, rows, norms)
    rng = np.random.default_rng(SEED)
    fit = np.sort(rng.choice(len(rows), min(len(rows), FIT_MAX), replace=False))
    mean, axes = thumbnail_search.principal_axes(_units(vectors, rows[fit], norms[fit]), PCA_DIMS)
    points = np.empty((len(rows), PCA_DIMS), dtype=np.float32)
    for lo in range(0, len(rows), ROW_BLOCK):
        block = slice(lo, lo + ROW_BLOCK)
        points[block] = (_units(vectors, rows[block], norms[block]) - mean) @ axes
    return points


def _similarities(vectors: np.ndarray, rows: np.ndarray, norms: np.ndarray,
                  shortlist: np.ndarray) -> np.ndarray:
    """(m, SHORTLIST) cosine similarity of each row with its shortlisted rows (positions into rows; -inf for -1)."""
    out = np.full(shortlist.shape, -np.inf, dtype=np.float32)
    for lo in range(0, len(rows), RERANK_BLOCK):
        block = shortlist[lo:lo + RERANK_BLOCK]
        present = block >= 0
        safe = np.where(present, block, 0)
        queries = _units(vectors, rows[lo:lo + RERANK_BLOCK], norms[lo:lo + RERANK_BLOCK])
        others = vectors[rows[safe]].astype(np.float32) / norms[safe][..., None]
        similarity = np.einsum("ikd,id->ik", others, queries)
        out[lo:lo + RERANK_BLOCK] = np.where(present, similarity, -np.inf)
    return out


def similar_pairs(vectors: np.ndarray, rows: np.ndarray,
                  min_similarity: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (left < right, row indices into vectors) among `rows` whose cosine similarity is at least
    min_similarity, each once, with that similarity (float32), found among each row's SHORTLIST most similar rows.
    Zero vectors have no direction and match nothing."""
    empty = np.zeros(0, dtype=np.int64)
    rows = np.asarray(rows, dtype=np.int64)
    norms = row_norms(vectors, rows)
    rows, norms = rows[norms > 0], norms[norms > 0]
    if len(rows) < 2:
        return empty, empty, np.zeros(0, dtype=np.float32)
    cells = thumbnail_search.coarse_cells(_search_points(vectors, rows, norms), np.random.default_rng(SEED))
    everyone = np.arange(len(rows))
    shortlist = thumbnail_search.cell_search(cells, cells.points, everyone)
    del cells
    similarity = _similarities(vectors, rows, norms, shortlist)
    source, slot = np.nonzero(similarity >= min_similarity)
    target = shortlist[source, slot]
    left, right, distance = thumbnail_search.unique_pairs(rows[source], rows[target], 1.0 - similarity[source, slot])
    return left, right, (1.0 - distance).astype(np.float32)

