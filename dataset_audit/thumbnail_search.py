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
EXACT_BELOW^2 distances, done in blocks). Memory, beyond the thumbnails and the results (~400 bytes per image with
both changes): per image 256 bytes of projections, 768 of int8 codes and a 64-byte shortlist for the query set being
searched (plain, flipped or recoloured, one after the other), plus blocks of fixed size (QUERY_CHUNK queries at a
time); nothing copies all the thumbnails or grows faster than n.

The score of image i is ratio = d(i, nearest) / d(i, RATIO_RANK-th nearest): a re-used shot sits much closer to its
copy than to anything else, whereas an image in a dense region (plain sky, a white car on white) has many close
neighbours and a ratio near 1, however small its absolute distance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

PCA_DIMS = 64
SHORTLIST = 16  # candidates kept per image and probed cell, re-ranked on the full signature
RATIO_RANK = 10  # the ratio's denominator: distance to the 10th nearest neighbour
CELL_SIZE = 500
PROBE_CELLS = 6  # recall of the true nearest image against brute force: make bench, duplicates_thumbnail_search
EXACT_BELOW = 5_000
BLOCK = 2048  # queries compared with one cell's members at once
PROBE_BLOCK = 4096  # queries compared with all cell centres at once: 4096 x 2,000 cells x 12 bytes at 1M images
ROW_BLOCK = 8192  # thumbnails turned into signatures at once: 8192 x 768 float32 = 25 MB
RERANK_BLOCK = 128  # shortlists re-ranked at once: 128 x 16 x 768 floats = 6 MB (smaller blocks ran faster)
QUERY_CHUNK = 131_072  # queries searched at once: their candidates are 131,072 x 6 x 16 x 8 bytes = 100 MB
SEED = 0


@dataclass
class Neighbours:
    """For each of n images, its shortlist of nearest other images (closest first, -1 = none) on full signatures."""

    candidates: np.ndarray  # (n, SHORTLIST) int32 row indices, -1 padding (int64 would add 64 MB per million)
    distance: np.ndarray  # (n, SHORTLIST) float32 distances to them, inf padding
    reference: np.ndarray  # (n,) float32 distance to the RATIO_RANK-th nearest (inf when undefined)
    # The same for each image's changed version (name in CHANGES), when searched: see nearest_neighbours.
    changed: dict[str, Neighbours] = field(default_factory=dict)

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

    def matches(self, max_ratio: float, reference: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
        """(source, target, distance, score) for every shortlist entry with d(source, target) / reference(source) <=
        max_ratio (reference defaults to the RATIO_RANK-th neighbour's distance)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            score = self.distance / (self.reference if reference is None else reference)[:, None]
        source, slot = np.nonzero(score <= max_ratio)
        return source, self.candidates[source, slot], self.distance[source, slot], score[source, slot]

    def pairs(self, max_ratio: float, reference: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pairs (i < j) where j is in i's shortlist (or i in j's) with d(i, j) / reference(i) <= max_ratio,
        and that score (the smaller of the two directions)."""
        source, target, _, score = self.matches(max_ratio, reference)
        return unique_pairs(source, target, score)

    def reference_outside_groups(self, group: np.ndarray) -> np.ndarray:
        """(n,) distance to the RATIO_RANK-th nearest image that is not in the image's own group (group[i] = its
        group id; the last shortlisted distance when fewer are listed), never below the plain reference.

        In a dense cluster of copies (dozens of re-saves of one photo) the RATIO_RANK-th neighbour is itself a copy
        and the plain ratio fails; counting only images outside the copies already matched compares a pair with the
        pictures around the cluster instead.
        """
        listed = self.candidates >= 0
        inside = listed & (group[np.maximum(self.candidates, 0)] == group[:, None])
        outside = np.sort(np.where(listed & ~inside, self.distance, np.inf), axis=1)
        available = np.isfinite(outside).sum(axis=1)
        last = np.where(listed, self.distance, -np.inf).max(axis=1)
        rank = RATIO_RANK - 1
        reference = np.where(available > rank, outside[:, min(rank, outside.shape[1] - 1)], last)
        return np.maximum(self.reference, np.where(np.isfinite(reference), reference, self.reference)).astype(
            np.float32)


def unique_pairs(source: np.ndarray, target: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Directed matches as pairs (i < j), each once with the best (smallest) score of its two directions."""
    left, right = np.minimum(source, target), np.maximum(source, target)
    order = np.lexsort((score, right, left))
    left, right, best = left[order], right[order], score[order]
    first = np.ones(len(left), dtype=bool)
    first[1:] = (left[1:] != left[:-1]) | (right[1:] != right[:-1])
    return left[first], right[first], best[first].astype(np.float32)


def signatures(thumbs: np.ndarray) -> np.ndarray:
    """(n, 768) float32 unit vectors: per-channel mean removed, divided by the RMS over all channels."""
    pixels = thumbs.astype(np.float32).reshape(len(thumbs), -1, 3)
    # The channel means as one matrix product: numpy's mean along the pixel axis (3 values apart) is many times
    # slower (the commit that made this change gives the figures).
    # The sums are of integers below 2^24, exact in float32 in any order, so the result is the same.
    pixels -= (np.ones(pixels.shape[1], dtype=np.float32) @ pixels)[:, None, :] / pixels.shape[1]
    flat = pixels.reshape(len(thumbs), -1)
    norms = np.linalg.norm(flat, axis=1, keepdims=True)
    # Flat images (a blank frame) have no structure to compare: they become the zero vector, far from every
    # unit vector (distance 1); exact-equal blank images are caught by the pixel hash instead.
    np.divide(flat, norms, out=flat, where=norms > 1e-3 * np.sqrt(flat.shape[1]))
    flat[norms[:, 0] <= 1e-3 * np.sqrt(flat.shape[1])] = 0.0
    return flat


def _thumb_blocks(thumbs: np.ndarray, rows: np.ndarray, change=None):
    """(start, block) pieces of thumbs[rows], ROW_BLOCK images each, changed by `change` when given: never a copy of
    all the thumbnails at once."""
    for lo in range(0, len(rows), ROW_BLOCK):
        block = thumbs[rows[lo:lo + ROW_BLOCK]]
        yield lo, (change(block) if change is not None else block)


def _fit_projection(thumbs: np.ndarray, rows: np.ndarray, dims: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Mean and top `dims` principal axes of the signatures of thumbs[rows] (fit on a seeded sample)."""
    sample = signatures(thumbs[rows[np.sort(rng.choice(len(rows), min(len(rows), 20_000), replace=False))]])
    return principal_axes(sample, dims)


def principal_axes(sample: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and top `dims` principal axes (columns, float32) of the rows of `sample`."""
    mean = sample.mean(axis=0)
    _, axes = np.linalg.eigh(np.cov((sample - mean).T))
    return mean, axes[:, ::-1][:, :dims].astype(np.float32)


def _project(thumbs: np.ndarray, rows: np.ndarray, mean: np.ndarray, axes: np.ndarray, change=None) -> np.ndarray:
    """Signatures of thumbs[rows] (changed by `change`) projected on the axes, block by block so the full (n, 768)
    float matrix never exists."""
    out = np.empty((len(rows), axes.shape[1]), dtype=np.float32)
    for lo, block in _thumb_blocks(thumbs, rows, change):
        out[lo:lo + len(block)] = (signatures(block) - mean) @ axes
    return out


def _squared_distances(queries: np.ndarray, targets: np.ndarray, target_sq: np.ndarray) -> np.ndarray:
    """|q - t|^2 - |q|^2 for every pair: each query's ranking of the targets (what the callers need), without a
    pass adding the query's constant."""
    out = queries @ targets.T
    out *= -2.0
    out += target_sq[None, :]
    return out


def _kmeans(points: np.ndarray, cells: int, rng: np.random.Generator,
            iterations: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Cell of each point and the cell centres: Lloyd's k-means trained on a sample, then every point assigned to
    its nearest centre."""
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
        np.argmin(_squared_distances(points[lo:lo + PROBE_BLOCK], centres, centre_sq), axis=1)
        for lo in range(0, len(points), PROBE_BLOCK)
    ]) if len(points) else np.zeros(0, dtype=np.int64)


@dataclass
class Cells:
    """The searched images' projected signatures, grouped into coarse cells (one cell below EXACT_BELOW)."""

    points: np.ndarray  # (n, PCA_DIMS) float32
    cell_of: np.ndarray  # (n,) cell of each point
    centres: np.ndarray | None  # (cells, PCA_DIMS), None when there is one cell
    members_order: np.ndarray  # points sorted by cell
    member_starts: np.ndarray  # (cells + 1,) where each cell's members start in members_order
    position_in_cell: np.ndarray  # (n,) index of each point among its cell's members

    @property
    def count(self) -> int:
        return len(self.member_starts) - 1


def coarse_cells(points: np.ndarray, rng: np.random.Generator) -> Cells:
    n = len(points)
    if n <= EXACT_BELOW:
        cell_of, centres = np.zeros(n, dtype=np.int64), None
    else:
        cell_of, centres = _kmeans(points, max(2, n // CELL_SIZE), rng)
    return cells_of(points, cell_of, centres)


def cells_of(points: np.ndarray, cell_of: np.ndarray, centres: np.ndarray | None) -> Cells:
    """The Cells of points already assigned to cells (cell_of) with the given centres (None: one cell)."""
    n = len(points)
    count = 1 if centres is None else len(centres)
    members_order = np.argsort(cell_of, kind="stable")
    member_starts = np.searchsorted(cell_of[members_order], np.arange(count + 1))
    position_in_cell = np.empty(n, dtype=np.int64)
    position_in_cell[members_order] = np.arange(n) - member_starts[cell_of[members_order]]
    return Cells(points, cell_of, centres, members_order, member_starts, position_in_cell)


def _probes(cells: Cells, queries: np.ndarray) -> np.ndarray:
    """(m, PROBE_CELLS) the cells each query probes: its nearest cell centres (or (m, 1) zeros for one cell).
    Filled block by block: a slice of each block's argpartition would keep the whole (block x cells) array alive."""
    if cells.centres is None:
        return np.zeros((len(queries), 1), dtype=np.int64)
    centre_sq = (cells.centres * cells.centres).sum(axis=1)
    probes = np.empty((len(queries), PROBE_CELLS), dtype=np.int64)
    for lo in range(0, len(queries), PROBE_BLOCK):
        squared = _squared_distances(queries[lo:lo + PROBE_BLOCK], cells.centres, centre_sq)
        probes[lo:lo + PROBE_BLOCK] = np.argpartition(squared, PROBE_CELLS, axis=1)[:, :PROBE_CELLS]
    return probes


def cell_search(cells: Cells, queries: np.ndarray | Callable[[slice], np.ndarray], owners: np.ndarray,
                with_distance: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """(m, SHORTLIST) indices into cells.points of the closest points to each of the m queries (in projected space;
    -1 where fewer exist), m = len(owners). `queries` is the (m, PCA_DIMS) array, or a function giving the rows of
    it in a slice (so the changed images' projections never exist all at once: 256 MB at a million images). A query
    never returns its owner (the point it is, or was derived from: a mirrored image is not a copy of itself; -1:
    none). With `with_distance`, also the (m, SHORTLIST) float32 squared projected distances (inf where none).

    Each query probes its own PROBE_CELLS nearest cells (query-side multi-probe: a copy just across a cell border is
    still found), keeping the SHORTLIST closest members of each probed cell, then the SHORTLIST closest of those.
    Memory: the m x SHORTLIST int32 result, plus the int32 + float32 candidates of QUERY_CHUNK queries at a time
    (QUERY_CHUNK x PROBE_CELLS x SHORTLIST each; all m at once would be 768 MB at a million images) and one
    BLOCK x CELL_SIZE distance block. Queries are independent, so chunks give the same result.
    """
    total = len(owners)
    if total == 0:  # e.g. no colour image to search as grey
        empty = np.full((0, SHORTLIST), -1, dtype=np.int32)
        return (empty, np.zeros((0, SHORTLIST), dtype=np.float32)) if with_distance else empty
    rows_of = queries.__getitem__ if isinstance(queries, np.ndarray) else queries
    parts = [_cell_search(cells, rows_of(slice(lo, lo + QUERY_CHUNK)), owners[lo:lo + QUERY_CHUNK])
             for lo in range(0, total, QUERY_CHUNK)]
    found = np.concatenate([ids for ids, _ in parts])
    return (found, np.concatenate([squared for _, squared in parts])) if with_distance else found


def _cell_search(cells: Cells, queries: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    points, cell_of, position_in_cell = cells.points, cells.cell_of, cells.position_in_cell
    total = len(queries)
    probes = _probes(cells, queries)
    width = probes.shape[1]
    found = np.full((total, width, SHORTLIST), -1, dtype=np.int32)
    found_sq = np.full((total, width, SHORTLIST), np.inf, dtype=np.float32)
    query_sq = (queries * queries).sum(axis=1)
    # [q, 1] . [-2t, |t|^2] = |q - t|^2 - |q|^2: one matrix product gives the ranking, with no pass over its result
    augmented = np.empty((total, queries.shape[1] + 1), dtype=np.float32)
    augmented[:, :-1], augmented[:, -1] = queries, 1.0
    probe_cell = probes.ravel()
    del probes
    probe_order = np.argsort(probe_cell, kind="stable")  # (query, slot) pairs grouped by the cell they probe
    probe_starts = np.searchsorted(probe_cell[probe_order], np.arange(cells.count + 1))
    del probe_cell
    for cell in range(cells.count):
        targets = cells.members_order[cells.member_starts[cell]:cells.member_starts[cell + 1]]
        asking = probe_order[probe_starts[cell]:probe_starts[cell + 1]]
        if len(targets) < 2 or len(asking) == 0:
            continue
        target_points = points[targets]
        weights = np.empty((queries.shape[1] + 1, len(targets)), dtype=np.float32)
        weights[:-1], weights[-1] = -2.0 * target_points.T, (target_points * target_points).sum(axis=1)
        take = min(SHORTLIST, len(targets) - 1)
        for lo in range(0, len(asking), BLOCK):
            asked, slots = np.divmod(asking[lo:lo + BLOCK], width)
            squared = augmented[asked] @ weights
            own = np.flatnonzero((owners[asked] >= 0) & (cell_of[owners[asked]] == cell))
            squared[own, position_in_cell[owners[asked][own]]] = np.inf  # not my own neighbour
            best = smallest(squared, take)
            found[asked, slots, :take] = targets[best]
            found_sq[asked, slots, :take] = np.take_along_axis(squared, best, axis=1) + query_sq[asked, None]
    del probe_order
    return _merge(found.reshape(total, -1), found_sq.reshape(total, -1))


def smallest(values: np.ndarray, take: int) -> np.ndarray:
    """(rows, take) column indices of each row's `take` smallest values, in no particular order; as
    np.argpartition(values, take - 1, axis=1)[:, :take] but faster: np.partition finds each row's take-th smallest
    value about 4x faster than np.argpartition (2048 x 500 float32: 2.8 ms against 12.4), and the columns at or
    under that value are the answer, except in rows tied at it (exact copies), which argpartition settles."""
    kth = np.partition(values, take - 1, axis=1)[:, take - 1]
    under = values <= kth[:, None]
    plain = np.count_nonzero(under, axis=1) == take
    if plain.all():  # no ties: no copy of the rows that have none
        return (np.flatnonzero(under) % values.shape[1]).reshape(-1, take)  # 2-D nonzero is slower
    out = np.empty((len(values), take), dtype=np.intp)
    out[plain] = (np.flatnonzero(under[plain]) % values.shape[1]).reshape(-1, take)
    tied = ~plain
    out[tied] = np.argpartition(values[tied], take - 1, axis=1)[:, :take]
    return out


def _merge(found: np.ndarray, found_sq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The SHORTLIST closest of each row's candidates from all probed cells (-1 = none) and their squared
    distances (inf = none), block by block."""
    out = np.full((len(found), SHORTLIST), -1, dtype=np.int32)
    out_sq = np.full((len(found), SHORTLIST), np.inf, dtype=np.float32)
    for lo in range(0, len(found), ROW_BLOCK):
        ids, squared = found[lo:lo + ROW_BLOCK], found_sq[lo:lo + ROW_BLOCK]
        if ids.shape[1] > SHORTLIST:
            best = np.argpartition(squared, SHORTLIST, axis=1)[:, :SHORTLIST]
            ids, squared = np.take_along_axis(ids, best, axis=1), np.take_along_axis(squared, best, axis=1)
        out[lo:lo + ROW_BLOCK, :ids.shape[1]] = np.where(np.isfinite(squared), ids, -1)
        out_sq[lo:lo + ROW_BLOCK, :ids.shape[1]] = squared
    return out, out_sq


def quantised_signatures(thumbs: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Signatures of thumbs[rows] (all by default) as int8 codes and a scale per row (signature ~= code * scale):
    the thumbnails' size again, where float32 signatures would take four times that (3 GB at a million images).
    Error ~0.5% of a distance."""
    rows = np.arange(len(thumbs)) if rows is None else rows
    codes = np.empty((len(rows), thumbs[0].size if len(thumbs) else 0), dtype=np.int8)
    scales = np.empty(len(rows), dtype=np.float32)
    for lo, block in _thumb_blocks(thumbs, rows):
        codes[lo:lo + len(block)], scales[lo:lo + len(block)] = _quantise(signatures(block))
    return codes, scales


def _quantise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 codes and scales; a flat image's zero vector gets scale 0 (and codes 0)."""
    peak = np.abs(vectors).max(axis=1)
    scale = (peak / 127.0).astype(np.float32)
    return np.rint(vectors / np.where(peak > 0, scale, 1.0)[:, None]).astype(np.int8), scale


def mirrored(thumbs: np.ndarray) -> np.ndarray:
    """The thumbnails flipped left to right."""
    return thumbs[:, :, ::-1, :]


def greyed(thumbs: np.ndarray) -> np.ndarray:
    """The thumbnails as grey (luma in all three channels), as a grayscale re-save of the image would look."""
    luma = np.rint(thumbs.astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32))
    return np.repeat(luma.astype(np.uint8)[..., None], 3, axis=-1)


def _is_colour(thumbs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Which of thumbs[rows] have channels that differ (a grey version of them is another picture than themselves)."""
    out = np.zeros(len(rows), dtype=bool)
    for lo, block in _thumb_blocks(thumbs, rows):
        red, green, blue = block[..., 0], block[..., 1], block[..., 2]  # max(axis=-1) over 3 values is slower
        spread = (np.maximum(np.maximum(red, green), blue).astype(np.int16)
                  - np.minimum(np.minimum(red, green), blue))
        out[lo:lo + len(block)] = spread.reshape(len(block), -1).mean(axis=1) > GREY_SPREAD_MAX
    return out


# The changes searched for besides the plain picture: the query is the changed version of an image, searched
# against the unchanged others. A copy that is mirrored, or re-saved as grayscale, is as close to the changed query
# as an untouched copy is to the plain one.
CHANGES = {"flipped": mirrored, "recoloured": greyed}
GREY_SPREAD_MAX = 2.0  # mean max-min channel difference of a thumbnail that is grey already (JPEG noise)


def nearest_neighbours(thumbs: np.ndarray, valid: np.ndarray | None = None,
                       changes: tuple[str, ...] = (), step=None) -> Neighbours:
    """Each thumbnail's shortlist of nearest others on the full signature (rows not `valid`, and flat images, get
    none). With `changes` (names in CHANGES), also each image's changed version's shortlist of nearest other images,
    in Neighbours.changed[name] (a grey image is not searched again as grey).

    step: an incremental.Step (--incremental). When it recalls a stored search of the same images plus new ones,
    the stored PCA axes, cells and shortlists are kept: the new images are searched against all (their own
    shortlists), and every stored image's query (plain and changed) is compared with the new images in the cells
    it probes, a new image entering its shortlist when projected closer than the farthest member (as the search
    that picked the shortlist would have taken it); members are ranked on the full signatures as always. The
    result is what a full search with the stored fit gives (a test checks it). Growth: O(new x PROBE_CELLS x
    CELL_SIZE) for the new images plus O(stored x PROBE_CELLS x new / cells) for the stored ones, instead of
    O(n x PROBE_CELLS x CELL_SIZE). The search then stores its state for the next run (~1.5 KB per image).

    Memory: the results (132 bytes per image and query set, each set's allocated when it is searched), int8 codes
    (768 bytes per image), projections (256) and one shortlist (64); changed images are projected and searched
    QUERY_CHUNK at a time, and thumbnails are read in ROW_BLOCK pieces, never copied whole."""
    n = len(thumbs)
    result = Neighbours(*_empty(n))
    rows = np.flatnonzero(valid) if valid is not None else np.arange(n)
    codes, scales = quantised_signatures(thumbs, rows)
    structured = scales > 0  # flat images have nothing to match on
    rows, codes, scales = rows[structured], _compact(codes, structured), scales[structured]
    if len(rows) < 2:
        result.changed = {name: Neighbours(*_empty(n)) for name in changes}
        return result
    recalled = step.recall(rows) if step is not None else None
    if recalled is not None and (len(recalled.arrays["centres"]) == 0) != (len(rows) <= EXACT_BELOW):
        step.refuse(f"the dataset crossed {EXACT_BELOW:,} images, where the search changes from exact to cells")
        recalled = None
    everyone = np.arange(len(rows))
    if recalled is None:
        rng = np.random.default_rng(SEED)
        mean, axes = _fit_projection(thumbs, rows, PCA_DIMS, rng)
        cells = coarse_cells(_project(thumbs, rows, mean, axes), rng)
        fresh = everyone
    else:
        cells, mean, axes, fresh = _stored_cells(recalled, thumbs, rows)
    is_fresh = np.zeros(len(rows), dtype=bool)
    is_fresh[fresh] = True
    query_sets = [("plain", everyone, cells.points.__getitem__, None)]
    for name in changes:
        if name == "flipped":  # a mirrored thumbnail's signature is the signature with its columns permuted
            order = mirror_order(thumbs.shape[1:])
            query_sets.append((name, everyone, partial(_project_codes, codes, scales, mean, axes, order),
                               _reordered(codes, scales, order)))
        else:
            positions = np.flatnonzero(_is_colour(thumbs, rows)) if name == "recoloured" else everyone
            query_sets.append((name, positions, partial(_project_changed, thumbs, rows, mean, axes, CHANGES[name]),
                               _changed(thumbs, rows, CHANGES[name])))
    state: dict[str, np.ndarray] = {}
    for name, positions, project, query_codes in query_sets:
        out = result if name == "plain" else Neighbours(*_empty(n))  # 132 MB per million images and change
        if name != "plain":
            result.changed[name] = out
        new_queries = is_fresh[positions]
        searched = positions[new_queries]
        # All of them (a cold search): slices of the query set, which read the codes in place, not a copy of each
        # QUERY_CHUNK of them (100 MB at a time at a million images).
        queries = project if len(searched) == len(rows) else (lambda part, at=searched, of=project: of(at[part]))
        if step is None:
            _rerank(out, rows, searched, cell_search(cells, queries, searched), codes, scales, query_codes)
            continue
        # The state keeps each query's projection, probed cells and shortlist with its projected distances: a new
        # image enters a stored shortlist when it lies in a probed cell and is projected closer than the farthest
        # member, as the search that made the shortlist would have picked it.
        query_points = np.empty((len(positions), axes.shape[1]), dtype=np.float32)
        probes = np.empty((len(positions), 1 if cells.centres is None else PROBE_CELLS), dtype=np.int32)
        projected = np.full((len(positions), SHORTLIST), np.inf, dtype=np.float32)
        query_points[new_queries] = project(searched if len(searched) < len(rows) else slice(None))  # no copy
        probes[new_queries] = _probes(cells, query_points[new_queries])
        shortlist, shortlist_sq = cell_search(cells, query_points[new_queries], searched, with_distance=True)
        projected[new_queries] = _rerank(out, rows, searched, shortlist, codes, scales, query_codes, shortlist_sq)
        del shortlist, shortlist_sq
        if recalled is not None:
            _update_stored(out, (query_points, probes, projected), recalled, name, rows, positions, cells, fresh,
                           codes, scales, query_codes)
        state.update(_search_state(out, name, rows, positions, projected))
        state[f"{name}.probes"] = probes
        if name != "plain":  # the plain queries are the points
            state[f"{name}.queries"] = query_points
    if step is not None:
        centres = cells.centres if cells.centres is not None else np.zeros((0, axes.shape[1]), dtype=np.float32)
        step.keep(rows, {"mean": mean, "axes": axes, "centres": centres, "points": cells.points,
                         "cell_of": cells.cell_of.astype(np.int32), **state})
    return result


def _stored_cells(recalled, thumbs: np.ndarray, rows: np.ndarray) -> tuple[Cells, np.ndarray, np.ndarray, np.ndarray]:
    """The stored search's cells with the new images (recalled.fresh) projected and assigned to the nearest of the
    stored centres: (cells, mean, axes, fresh positions)."""
    stored = recalled.arrays
    mean, axes = stored["mean"], stored["axes"]
    centres = stored["centres"] if len(stored["centres"]) else None
    kept, fresh = recalled.kept, recalled.fresh
    points = np.empty((len(rows), axes.shape[1]), dtype=np.float32)
    cell_of = np.zeros(len(rows), dtype=np.int64)
    points[kept] = stored["points"][recalled.old_of_new[kept]]
    cell_of[kept] = stored["cell_of"][recalled.old_of_new[kept]]
    points[fresh] = _project(thumbs, rows[fresh], mean, axes)
    if centres is not None:
        cell_of[fresh] = _nearest_centre(points[fresh], centres)
    return cells_of(points, cell_of, centres), mean, axes, fresh


def _search_state(out: Neighbours, name: str, rows: np.ndarray, positions: np.ndarray,
                  projected: np.ndarray) -> dict[str, np.ndarray]:
    """A query set's shortlists for the state file, as positions into the searched rows (the table's row numbers
    change between runs), with their squared projected distances."""
    position_of = np.full(len(out.reference), -1, dtype=np.int64)
    position_of[rows] = np.arange(len(rows))
    candidates = out.candidates[rows[positions]]
    return {f"{name}.positions": positions,
            f"{name}.candidates": np.where(candidates >= 0, position_of[np.maximum(candidates, 0)], -1).astype(
                np.int32),
            f"{name}.distance": out.distance[rows[positions]], f"{name}.projected": projected}


def _update_stored(out: Neighbours, current: tuple[np.ndarray, np.ndarray, np.ndarray], recalled, name: str,
                   rows: np.ndarray, positions: np.ndarray, cells: Cells, fresh: np.ndarray, codes: np.ndarray,
                   scales: np.ndarray, query_codes) -> None:
    """The stored images' shortlists of query set `name` (queries `positions`), written into `out`, and their
    projections, probed cells and projected distances into `current` (rows aligned with positions). Each stored
    shortlist takes in the new images that lie in a cell its query probes and are projected closer than its
    farthest member: the shortlist the search would have picked from the stored images and the new ones with the
    stored fit. The members are then ranked on the full signatures as before. Work: one distance per (stored
    query, new image in a probed cell) pair, ~ stored x PROBE_CELLS x new / cells."""
    query_points, probes, projected = current
    stored = recalled.arrays
    new_of_old = recalled.new_of_old
    queries = new_of_old[stored[f"{name}.positions"]]
    index_in_set = np.full(len(rows), -1, dtype=np.int64)
    index_in_set[positions] = np.arange(len(positions))
    slots = index_in_set[queries]
    candidates = stored[f"{name}.candidates"]
    ids = np.where(candidates >= 0, rows[new_of_old[np.maximum(candidates, 0)]], -1)
    distance, stored_sq = stored[f"{name}.distance"], stored[f"{name}.projected"]
    out.candidates[rows[queries]], out.distance[rows[queries]] = ids, distance
    available = np.isfinite(distance).sum(axis=1)
    rank = np.minimum(RATIO_RANK, available) - 1
    out.reference[rows[queries]] = np.where(available >= 2, distance[np.arange(len(queries)), np.maximum(rank, 0)],
                                            np.inf)
    points = stored[f"{name}.queries"] if name != "plain" else cells.points[queries]
    query_points[slots], probes[slots], projected[slots] = points, stored[f"{name}.probes"], stored_sq
    if len(fresh) == 0 or len(queries) == 0:
        return
    query, entering, entering_sq = _probed_pairs(points, stored[f"{name}.probes"], cells, fresh)
    filled = np.isfinite(stored_sq).all(axis=1)
    farthest = np.where(filled, np.max(np.where(filled[:, None], stored_sq, 0.0), axis=1), np.inf)
    closer = entering_sq < farthest[query]
    query, entering, entering_sq = query[closer], entering[closer], entering_sq[closer]
    if len(query) == 0:
        return
    # Per touched query, its closest entering images (at most SHORTLIST) as one padded row each.
    order = np.lexsort((entering_sq, query))
    query, entering, entering_sq = query[order], entering[order], entering_sq[order]
    touched, starts, counts = np.unique(query, return_index=True, return_counts=True)
    rank_in = np.arange(len(query)) - np.repeat(starts, counts)
    keep = rank_in < SHORTLIST
    new_ids = np.full((len(touched), SHORTLIST), -1, dtype=np.int64)
    new_sq = np.full((len(touched), SHORTLIST), np.inf, dtype=np.float32)
    slot_of = np.repeat(np.arange(len(touched)), counts)[keep]
    new_ids[slot_of, rank_in[keep]] = entering[keep]
    new_sq[slot_of, rank_in[keep]] = entering_sq[keep]
    for lo in range(0, len(touched), RERANK_BLOCK):
        at = touched[lo:lo + RERANK_BLOCK]
        block_ids, block_sq = new_ids[lo:lo + RERANK_BLOCK], new_sq[lo:lo + RERANK_BLOCK]
        both_sq = np.concatenate([stored_sq[at], block_sq], axis=1)
        picked = np.argsort(both_sq, axis=1, kind="stable")[:, :SHORTLIST]  # the SHORTLIST closest projected
        full = np.concatenate([np.square(distance[at]),
                               _full_squared(block_ids, queries[at], codes, scales, query_codes)], axis=1)
        members = np.concatenate([ids[at], np.where(block_ids >= 0, rows[np.maximum(block_ids, 0)], -1)], axis=1)
        picked_sq = np.take_along_axis(both_sq, picked, 1)
        full = np.where(np.isfinite(picked_sq), np.take_along_axis(full, picked, 1), np.inf)
        ranked = _write_ranked(out, rows[queries[at]], np.take_along_axis(members, picked, 1), full)
        projected[slots[at]] = np.take_along_axis(picked_sq, ranked, 1)


def _probed_pairs(query_points: np.ndarray, probes: np.ndarray, cells: Cells,
                  fresh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(query, point, squared projected distance) for every query (row of query_points) and every point of `fresh`
    (positions into cells.points) that lies in a cell the query probes."""
    fresh_cells = cells.cell_of[fresh]
    fresh_order = np.argsort(fresh_cells, kind="stable")
    fresh_starts = np.searchsorted(fresh_cells[fresh_order], np.arange(cells.count + 1))
    width = probes.shape[1]
    probe_cell = probes.ravel()
    probe_order = np.argsort(probe_cell, kind="stable")
    probe_starts = np.searchsorted(probe_cell[probe_order], np.arange(cells.count + 1))
    found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for cell in np.flatnonzero(np.diff(fresh_starts)):
        members = fresh[fresh_order[fresh_starts[cell]:fresh_starts[cell + 1]]]
        asking = probe_order[probe_starts[cell]:probe_starts[cell + 1]] // width
        if len(asking) == 0:
            continue
        targets = cells.points[members]
        for lo in range(0, len(asking), BLOCK):
            ask = asking[lo:lo + BLOCK]
            squared = _squared_distances(query_points[ask], targets, (targets * targets).sum(axis=1))
            squared += (query_points[ask] * query_points[ask]).sum(axis=1)[:, None]
            found.append((np.repeat(ask, len(members)), np.tile(members, len(ask)), squared.ravel()))
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32)
    return tuple(np.concatenate(parts) for parts in zip(*found, strict=True))  # type: ignore[return-value]


def _reordered(codes: np.ndarray, scales: np.ndarray, order: np.ndarray):
    return lambda at: (codes[at][:, order], scales[at])


def _changed(thumbs: np.ndarray, rows: np.ndarray, change):
    return lambda at: _quantise(signatures(change(thumbs[rows[at]])))


def mirror_order(shape: tuple[int, ...]) -> np.ndarray:
    """Column order that turns the signature of an (h, w, 3) thumbnail into the signature of its mirror image (the
    per-channel means and the norm do not depend on where the pixels are)."""
    return np.arange(int(np.prod(shape))).reshape(shape)[:, ::-1, :].ravel()


def _compact(codes: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """codes[keep] in place, block by block (a fancy index would copy all the codes: 768 MB at a million images)."""
    if keep.all():
        return codes
    at = 0
    for lo in range(0, len(codes), ROW_BLOCK):
        block = codes[lo:lo + ROW_BLOCK][keep[lo:lo + ROW_BLOCK]]
        codes[at:at + len(block)] = block
        at += len(block)
    return codes[:at]


def _project_codes(codes: np.ndarray, scales: np.ndarray, mean: np.ndarray, axes: np.ndarray, order: np.ndarray,
                   at: np.ndarray) -> np.ndarray:
    """Projections of codes[at] (quantised signatures) with their columns in `order`: no thumbnail is read again."""
    codes, scales = codes[at], scales[at]
    out = np.empty((len(codes), axes.shape[1]), dtype=np.float32)
    for lo in range(0, len(codes), ROW_BLOCK):
        block = codes[lo:lo + ROW_BLOCK][:, order].astype(np.float32)
        block *= scales[lo:lo + ROW_BLOCK, None]
        out[lo:lo + len(block)] = (block - mean) @ axes
    return out


def _project_changed(thumbs: np.ndarray, rows: np.ndarray, mean: np.ndarray, axes: np.ndarray, change,
                     at: np.ndarray) -> np.ndarray:
    """Projections of the changed thumbs[rows[at]]."""
    return _project(thumbs, rows[at], mean, axes, change)


def _empty(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.full((n, SHORTLIST), -1, dtype=np.int32), np.full((n, SHORTLIST), np.inf, dtype=np.float32),
            np.full(n, np.inf, dtype=np.float32))


def _rerank(out: Neighbours, rows: np.ndarray, positions: np.ndarray, shortlist: np.ndarray, codes: np.ndarray,
            scales: np.ndarray, query_codes=None, projected: np.ndarray | None = None) -> np.ndarray | None:
    """Fills out's rows[positions] with their shortlists re-ranked on the full (quantised) signatures. The queries
    are codes[positions], or query_codes(positions) (codes and scales of changed images, RERANK_BLOCK at a time).
    With `projected` (the shortlist's squared projected distances), returns them in the re-ranked order."""
    ranked_projected = None if projected is None else np.empty_like(projected)
    for lo in range(0, len(positions), RERANK_BLOCK):
        block = shortlist[lo:lo + RERANK_BLOCK]
        squared = _full_squared(block, positions[lo:lo + RERANK_BLOCK], codes, scales, query_codes)
        ranked = _write_ranked(out, rows[positions[lo:lo + RERANK_BLOCK]],
                               np.where(block >= 0, rows[np.maximum(block, 0)], -1), squared)
        if ranked_projected is not None:
            ranked_projected[lo:lo + RERANK_BLOCK] = np.take_along_axis(projected[lo:lo + RERANK_BLOCK], ranked, 1)
    return ranked_projected


def _full_squared(block: np.ndarray, query: np.ndarray, codes: np.ndarray, scales: np.ndarray,
                  query_codes=None) -> np.ndarray:
    """Squared full-signature distances from each query position to its row of `block` (positions, -1 = none:
    inf)."""
    if query_codes is None:
        query_block, query_scales = codes[query], scales[query]
    else:
        query_block, query_scales = query_codes(query)
    present = block >= 0
    safe = np.where(present, block, 0)
    # Products of int8 codes summed over 768 values stay below 2^24, so float32 holds every partial sum exactly: a
    # batched matrix product gives the same dots as any other order. Blocks of 128 (6 MB of gathered vectors) ran
    # faster than 512 (the commit that made this change gives the figures).
    dot = np.matmul(codes[safe].astype(np.float32), query_block.astype(np.float32)[:, :, None])[:, :, 0]
    dot *= scales[safe] * query_scales[:, None]
    return np.where(present, np.maximum(0.0, 2.0 - 2.0 * dot), np.inf)


def _write_ranked(out: Neighbours, block_rows: np.ndarray, ids: np.ndarray, squared: np.ndarray) -> np.ndarray:
    """out's rows block_rows: the candidates `ids` (table rows, -1 = none) closest first by `squared`, their
    distances and the reference; returns the order taken (columns of ids)."""
    ranked = np.argsort(squared, axis=1)[:, :SHORTLIST]
    distance = np.sqrt(np.take_along_axis(squared, ranked, axis=1))
    out.candidates[block_rows] = np.take_along_axis(ids, ranked, axis=1)
    out.distance[block_rows] = distance
    # Small sets have fewer than RATIO_RANK others: compare with the farthest one there is (none with one other).
    available = np.isfinite(distance).sum(axis=1)
    rank = np.minimum(RATIO_RANK, available) - 1
    out.reference[block_rows] = np.where(available >= 2, distance[np.arange(len(ids)), np.maximum(rank, 0)], np.inf)
    return ranked


def pair_distances(thumbs: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Full-signature distance of each given pair of rows (to confirm matches found by another signature)."""
    out = np.empty(len(left), dtype=np.float32)
    for lo in range(0, len(left), 8192):
        a, b = signatures(thumbs[left[lo:lo + 8192]]), signatures(thumbs[right[lo:lo + 8192]])
        out[lo:lo + 8192] = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * (a * b).sum(axis=1)))
    return out
