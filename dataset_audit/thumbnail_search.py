"""Near-duplicate search on normalised thumbnails: nearest neighbours and a Lowe-style ratio score per image.

Signature: the 16x16 RGB scan thumbnail with each channel's mean removed (brightness and colour casts) and divided by
its overall RMS (contrast), as a unit vector (768 numbers). Distances are Euclidean between those unit vectors
(0 = same picture up to brightness/contrast/tint, sqrt(2) = uncorrelated).

Search, in three stages so that nothing is quadratic in the number of images n:
1. project the signatures onto their top PCA_DIMS principal axes (fit on a seeded sample): O(n * 768 * PCA_DIMS);
2. coarse cells: k-means on the projections (~CELL_SIZE images per cell, trained on a sample), and every image is
   compared, by one matrix product per cell, with the images of its cell's PROBE_CELLS nearest cells, keeping the
   SHORTLIST closest: O(n * PROBE_CELLS * CELL_SIZE * PCA_DIMS), linear in n for fixed cell size;
3. re-rank each shortlist on the full signatures: O(n * SHORTLIST * 768).
Below EXACT_BELOW images stage 2 uses one cell (every image against every other; that is quadratic but at most
EXACT_BELOW^2 distances, done in blocks). Memory: the thumbnails plus O(n * PCA_DIMS) floats plus bounded blocks.

The score of image i is ratio = d(i, nearest) / d(i, RATIO_RANK-th nearest): a re-used shot sits much closer to its
copy than to anything else, whereas an image in a dense region (plain sky, a white car on white) has many close
neighbours and a ratio near 1, however small its absolute distance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PCA_DIMS = 64
SHORTLIST = 16  # candidates kept per image and probed cell, re-ranked on the full signature
RATIO_RANK = 10  # the ratio's denominator: distance to the 10th nearest neighbour
CELL_SIZE = 500
PROBE_CELLS = 6  # recall of the true nearest image against brute force: make bench, duplicates_thumbnail_search
EXACT_BELOW = 5_000
BLOCK = 2048
RERANK_BLOCK = 512  # shortlist vectors gathered at once: 512 x 24 x 768 floats = 38 MB
SEED = 0


@dataclass
class Neighbours:
    """For each of n images, its shortlist of nearest other images (closest first, -1 = none) on full signatures."""

    candidates: np.ndarray  # (n, SHORTLIST) int64 row indices, -1 padding
    distance: np.ndarray  # (n, SHORTLIST) float32 distances to them, inf padding
    reference: np.ndarray  # (n,) float32 distance to the RATIO_RANK-th nearest (inf when undefined)

    @property
    def ratio(self) -> np.ndarray:
        """(n,) distance to the nearest / distance to the RATIO_RANK-th nearest; 1.0 where undefined."""
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = self.distance[:, 0] / self.reference
        return np.where(np.isfinite(ratio), ratio, 1.0).astype(np.float32)

    @property
    def typical_distance(self) -> float:
        """Median distance from an image to its nearest other image (inf when no image was searched)."""
        nearest = self.distance[:, 0]
        nearest = nearest[np.isfinite(nearest)]
        return float(np.median(nearest)) if len(nearest) else float("inf")

    def pairs(self, max_ratio: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs (i < j) where j is in i's shortlist (or i in j's) with d(i, j) / reference(i) <= max_ratio,
        and that score (the smaller of the two directions)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            score = self.distance / self.reference[:, None]
        source, slot = np.nonzero(score <= max_ratio)
        target = self.candidates[source, slot]
        left, right = np.minimum(source, target), np.maximum(source, target)
        order = np.lexsort((score[source, slot], right, left))
        left, right, best = left[order], right[order], score[source, slot][order]
        first = np.ones(len(left), dtype=bool)
        first[1:] = (left[1:] != left[:-1]) | (right[1:] != right[:-1])
        return left[first], right[first], best[first].astype(np.float32)


def signatures(thumbs: np.ndarray) -> np.ndarray:
    """(n, 768) float32 unit vectors: per-channel mean removed, divided by the RMS over all channels."""
    pixels = thumbs.astype(np.float32).reshape(len(thumbs), -1, 3)
    pixels -= pixels.mean(axis=1, keepdims=True)
    flat = pixels.reshape(len(thumbs), -1)
    norms = np.linalg.norm(flat, axis=1, keepdims=True)
    # Flat images (a blank frame) have no structure to compare: they become the zero vector, far from every
    # unit vector (distance 1); exact-equal blank images are caught by the pixel hash instead.
    np.divide(flat, norms, out=flat, where=norms > 1e-3 * np.sqrt(flat.shape[1]))
    flat[norms[:, 0] <= 1e-3 * np.sqrt(flat.shape[1])] = 0.0
    return flat


def _project(thumbs: np.ndarray, dims: int, rng: np.random.Generator) -> np.ndarray:
    """Signatures projected on their top `dims` principal axes (fit on a sample), computed block by block so the
    full (n, 768) float matrix never exists at once."""
    sample = signatures(thumbs[np.sort(rng.choice(len(thumbs), min(len(thumbs), 20_000), replace=False))])
    mean = sample.mean(axis=0)
    _, axes = np.linalg.eigh(np.cov((sample - mean).T))
    axes = axes[:, ::-1][:, :dims].astype(np.float32)
    return np.concatenate([(signatures(thumbs[lo:lo + 65536]) - mean) @ axes for lo in range(0, len(thumbs), 65536)])


def _squared_distances(queries: np.ndarray, targets: np.ndarray, target_sq: np.ndarray,
                       with_query_norm: bool = True) -> np.ndarray:
    """|q - t|^2 for every pair; without the |q|^2 term (constant per row) when only the ranking per row matters."""
    out = queries @ targets.T
    out *= -2.0
    out += target_sq[None, :]
    if with_query_norm:
        out += (queries * queries).sum(axis=1)[:, None]
    return out


def _kmeans(points: np.ndarray, cells: int, rng: np.random.Generator, iterations: int = 8) -> np.ndarray:
    """Cell of each point: Lloyd's k-means trained on a sample, then every point assigned to its nearest centre."""
    sample = points[rng.choice(len(points), min(len(points), cells * 40), replace=False)]
    centres = sample[rng.choice(len(sample), cells, replace=False)].copy()
    for _ in range(iterations):
        assigned = _nearest_centre(sample, centres)
        sums = np.zeros_like(centres)
        np.add.at(sums, assigned, sample)
        counts = np.bincount(assigned, minlength=cells)
        filled = counts > 0
        centres[filled] = sums[filled] / counts[filled, None]
    return _nearest_centre(points, centres), centres


def _nearest_centre(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    centre_sq = (centres * centres).sum(axis=1)
    return np.concatenate([
        np.argmin(_squared_distances(points[lo:lo + 16384], centres, centre_sq), axis=1)
        for lo in range(0, len(points), 16384)
    ])


def _shortlist(points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(n, SHORTLIST) indices of each point's closest other points in projected space (-1 where fewer exist).

    Each point probes its own PROBE_CELLS nearest cells (query-side multi-probe: a copy just across a cell border is
    still found), keeping the SHORTLIST closest members of each probed cell; m = PROBE_CELLS * SHORTLIST.
    """
    n = len(points)
    if n <= EXACT_BELOW:
        cells, cell_of, probes = 1, np.zeros(n, dtype=np.int64), np.zeros((n, 1), dtype=np.int64)
    else:
        cells = max(2, n // CELL_SIZE)
        cell_of, centres = _kmeans(points, cells, rng)
        centre_sq = (centres * centres).sum(axis=1)
        probes = np.concatenate([
            np.argpartition(_squared_distances(points[lo:lo + 16384], centres, centre_sq), PROBE_CELLS, axis=1)
            [:, :PROBE_CELLS] for lo in range(0, n, 16384)
        ])
    width = probes.shape[1]
    found = np.full((n, width, SHORTLIST), -1, dtype=np.int32)
    found_sq = np.full((n, width, SHORTLIST), np.inf, dtype=np.float32)
    members_order = np.argsort(cell_of, kind="stable")
    member_starts = np.searchsorted(cell_of[members_order], np.arange(cells + 1))
    position_in_cell = np.empty(n, dtype=np.int64)
    position_in_cell[members_order] = np.arange(n) - member_starts[cell_of[members_order]]
    point_sq = (points * points).sum(axis=1)
    probe_cell = probes.ravel()
    probe_order = np.argsort(probe_cell, kind="stable")  # (query, slot) pairs grouped by the cell they probe
    probe_starts = np.searchsorted(probe_cell[probe_order], np.arange(cells + 1))
    for cell in range(cells):
        targets = members_order[member_starts[cell]:member_starts[cell + 1]]
        asking = probe_order[probe_starts[cell]:probe_starts[cell + 1]]
        if len(targets) < 2 or len(asking) == 0:
            continue
        target_points = points[targets]
        target_sq = (target_points * target_points).sum(axis=1)
        take = min(SHORTLIST, len(targets) - 1)
        for lo in range(0, len(asking), BLOCK):
            queries, slots = np.divmod(asking[lo:lo + BLOCK], width)
            squared = _squared_distances(points[queries], target_points, target_sq, with_query_norm=False)
            own = np.flatnonzero(cell_of[queries] == cell)
            squared[own, position_in_cell[queries[own]]] = np.inf  # not my own neighbour
            best = np.argpartition(squared, take, axis=1)[:, :take]
            found[queries, slots, :take] = targets[best]
            found_sq[queries, slots, :take] = np.take_along_axis(squared, best, axis=1) + point_sq[queries, None]
    # Merge the probed cells' candidates: the SHORTLIST closest overall.
    found, found_sq = found.reshape(n, -1), found_sq.reshape(n, -1)
    if found.shape[1] > SHORTLIST:
        best = np.argpartition(found_sq, SHORTLIST, axis=1)[:, :SHORTLIST]
        found, found_sq = np.take_along_axis(found, best, axis=1), np.take_along_axis(found_sq, best, axis=1)
    found[~np.isfinite(found_sq)] = -1
    return found.astype(np.int64)


def quantised_signatures(thumbs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signatures as int8 codes and a scale per row (signature ~= code * scale): the thumbnails' size again, where
    float32 signatures would take four times that (3 GB at a million images). Error ~0.5% of a distance."""
    codes = np.empty((len(thumbs), thumbs[0].size if len(thumbs) else 0), dtype=np.int8)
    scales = np.empty(len(thumbs), dtype=np.float32)
    for lo in range(0, len(thumbs), 16384):
        vectors = signatures(thumbs[lo:lo + 16384])
        peak = np.abs(vectors).max(axis=1)
        scale = np.where(peak > 0, peak / 127.0, 1.0).astype(np.float32)
        codes[lo:lo + 16384] = np.rint(vectors / scale[:, None]).astype(np.int8)
        scales[lo:lo + 16384] = scale
    return codes, scales


def _is_structured(thumbs: np.ndarray) -> np.ndarray:
    return np.concatenate([np.abs(signatures(thumbs[lo:lo + 65536])).sum(axis=1) > 0
                           for lo in range(0, len(thumbs), 65536)]) if len(thumbs) else np.zeros(0, dtype=bool)


def nearest_neighbours(thumbs: np.ndarray, valid: np.ndarray | None = None) -> Neighbours:
    """Each thumbnail's shortlist of nearest others on the full signature (rows not `valid`, and flat images, get none)."""
    n = len(thumbs)
    candidates = np.full((n, SHORTLIST), -1, dtype=np.int64)
    distance = np.full((n, SHORTLIST), np.inf, dtype=np.float32)
    reference = np.full(n, np.inf, dtype=np.float32)
    rows = np.flatnonzero(valid) if valid is not None else np.arange(n)
    rows = rows[_is_structured(thumbs[rows])]  # flat images have nothing to match on
    if len(rows) < 2:
        return Neighbours(candidates, distance, reference)
    rng = np.random.default_rng(SEED)
    kept_thumbs = thumbs[rows]
    shortlist = _shortlist(_project(kept_thumbs, PCA_DIMS, rng), rng)
    codes, scales = quantised_signatures(kept_thumbs)
    for lo in range(0, len(rows), RERANK_BLOCK):
        block = shortlist[lo:lo + RERANK_BLOCK]
        present = block >= 0
        safe = np.where(present, block, 0)
        others = codes[safe].astype(np.float32)
        dot = np.einsum("ikd,id->ik", others, codes[lo:lo + RERANK_BLOCK].astype(np.float32))
        dot *= scales[safe] * scales[lo:lo + RERANK_BLOCK, None]
        squared = np.where(present, np.maximum(0.0, 2.0 - 2.0 * dot), np.inf)
        ranked = np.argsort(squared, axis=1)
        block_rows = rows[lo:lo + RERANK_BLOCK]
        block_distance = np.sqrt(np.take_along_axis(squared, ranked, axis=1))
        ranked_ids = np.take_along_axis(block, ranked, axis=1)
        candidates[block_rows] = np.where(ranked_ids >= 0, rows[np.maximum(ranked_ids, 0)], -1)
        distance[block_rows] = block_distance
        # Small sets have fewer than RATIO_RANK others: compare with the farthest one there is (none with one other).
        available = present.sum(axis=1)
        rank = np.minimum(RATIO_RANK, available) - 1
        reference[block_rows] = np.where(available >= 2, block_distance[np.arange(len(block)), np.maximum(rank, 0)],
                                         np.inf)
    return Neighbours(candidates, distance, reference)


def pair_distances(thumbs: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Full-signature distance of each given pair of rows (to confirm matches found by another signature)."""
    out = np.empty(len(left), dtype=np.float32)
    for lo in range(0, len(left), 8192):
        a, b = signatures(thumbs[left[lo:lo + 8192]]), signatures(thumbs[right[lo:lo + 8192]])
        out[lo:lo + 8192] = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * (a * b).sum(axis=1)))
    return out
