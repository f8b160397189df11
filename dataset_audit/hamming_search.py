"""Find every pair of 64-bit hashes within a Hamming radius, and group matches, without quadratic work.

Multi-index hashing (Norouzi et al., "Fast search in Hamming space with multi-index hashing"): the 64 bits are cut
into CHUNKS = 3 chunks of 22/21/21 bits. By the pigeonhole principle two hashes within distance r agree to within
floor(r / 3) bits on at least one chunk, so for each chunk we sort the distinct hashes into a dense bucket table
(counting sort) and, for every hash, look up the buckets of all chunk values within that small radius (1 + 21 + 210
of them for radius 2), then verify each candidate with XOR + popcount on the full 64 bits.

Growth: identical hashes are collapsed first (np.unique, O(n log n)); each distinct hash probes a fixed number of
buckets (232 per chunk at r = 8) and verifies the hashes it finds there, so the work is O(u * probes + candidates)
where the candidate count is ~u^2 * 3 * 232 / 2^21 for uniform hashes (~1.7e8 for u = 1e6) and in general grows
with how crowded hash space is. Candidates are produced in blocks sized to a fixed budget, so memory stays bounded
(a few hundred MB) however skewed the hashes are. Pure numpy, no Python loop over items.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

HASH_BITS = 64
CHUNKS = 3
DEFAULT_RADIUS = 8  # pHash: <= 8 of 64 bits is the usual "same picture" cut-off
CANDIDATE_BUDGET = 8_000_000  # candidate pairs materialised at once (~ 8 bytes x a few arrays each)


@dataclass
class HammingPairs:
    """Matches among `n` hashes.

    left/right/distance: pairs of row indices (left < right) whose hashes are within the radius. Rows with identical
    hashes are linked to the first row carrying that hash (a star of n-1 edges, not all n^2/2 pairs, so a thousand
    blank images cost a thousand edges), and matches between different hashes are reported between those first rows.
    Connected components of these edges are exactly the components of the full "within radius" graph.
    """

    n: int
    left: np.ndarray
    right: np.ndarray
    distance: np.ndarray

    def __len__(self) -> int:
        return len(self.left)


def to_uint64(hashes: np.ndarray) -> np.ndarray:
    """The same 64 bits as unsigned integers (the scan stores them as int64)."""
    array = np.ascontiguousarray(hashes)
    if array.dtype == np.uint64:
        return array
    if array.dtype != np.int64:
        array = array.astype(np.int64)
    return array.view(np.uint64)


def popcount(values: np.ndarray) -> np.ndarray:
    return np.bitwise_count(values).astype(np.int8)


def _chunk_layout(bits: int = HASH_BITS, chunks: int = CHUNKS) -> list[tuple[int, int]]:
    """(shift, width) of each chunk, widest first: 64 bits -> 22, 21, 21."""
    widths = [bits // chunks + (1 if i < bits % chunks else 0) for i in range(chunks)]
    layout, shift = [], bits
    for width in widths:
        shift -= width
        layout.append((shift, width))
    return layout


def _flip_masks(width: int, radius: int) -> np.ndarray:
    """Every value of `width` bits with at most `radius` bits set (XOR masks of the probed neighbours)."""
    masks = [0]
    for k in range(1, radius + 1):
        masks.extend(sum(1 << b for b in bits) for bits in combinations(range(width), k))
    return np.array(masks, dtype=np.int32)


def _chunk_values(values: np.ndarray, shift: int, width: int) -> np.ndarray:
    # int32 keys and tables halve the memory traffic of the probing loop (chunks are at most 22 bits).
    return ((values >> np.uint64(shift)) & np.uint64((1 << width) - 1)).astype(np.int32)


def _distinct_pairs(values: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs (i < j) of DISTINCT uint64 values within Hamming `radius`, each pair once."""
    empty = np.zeros(0, dtype=np.int64)
    if len(values) < 2:
        return empty, empty, empty.astype(np.int8)
    layout = _chunk_layout()
    chunk_radius = radius // CHUNKS
    keys = [_chunk_values(values, shift, width) for shift, width in layout]
    found_left, found_right, found_dist = [empty], [empty], [empty.astype(np.int8)]
    for c, (_, width) in enumerate(layout):
        for left, right in _chunk_candidates(keys[c], width, chunk_radius):
            dist = popcount(values[left] ^ values[right])
            keep = dist <= radius
            left, right, dist = left[keep], right[keep], dist[keep]
            # A pair close on several chunks is a candidate once per chunk: keep it only on the first such chunk.
            for earlier in range(c):
                near_earlier = popcount((keys[earlier][left] ^ keys[earlier][right]).astype(np.uint64)) <= chunk_radius
                left, right, dist = left[~near_earlier], right[~near_earlier], dist[~near_earlier]
            found_left.append(left)
            found_right.append(right)
            found_dist.append(dist)
    left, right = np.concatenate(found_left), np.concatenate(found_right)
    return np.minimum(left, right), np.maximum(left, right), np.concatenate(found_dist)


def _chunk_candidates(keys: np.ndarray, width: int, chunk_radius: int):
    """Yield (left, right) item pairs whose chunk keys differ in at most `chunk_radius` bits, each unordered pair once.

    Mask-major: for one XOR mask at a time, every item (in key order, so bucket look-ups walk memory almost in
    order) probes key ^ mask. A pair of different keys is taken from the end with the smaller key only; a pair
    sharing a bucket from the earlier position only. Pieces are cut to CANDIDATE_BUDGET candidates.
    """
    count = np.bincount(keys, minlength=1 << width).astype(np.int32)
    start = np.zeros(len(count), dtype=np.int64)
    np.cumsum(count[:-1], out=start[1:])
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    positions = np.arange(len(keys), dtype=np.int64)
    # Same bucket (mask 0): the members after me in my bucket.
    after_me = start[sorted_keys] + count[sorted_keys] - positions - 1
    yield from _expand(order, positions, positions + 1, after_me)
    for mask in _flip_masks(width, chunk_radius)[1:]:
        probed = sorted_keys ^ mask
        mine = np.flatnonzero(probed > sorted_keys)
        probed = probed[mine]
        found = count[probed]
        hit = found > 0
        mine, probed, found = mine[hit], probed[hit], found[hit]
        yield from _expand(order, mine, start[probed], found)


def _expand(order: np.ndarray, sources: np.ndarray, first: np.ndarray, counts: np.ndarray):
    """Pairs (order[source], order[first + k]) for k < count, in pieces of about CANDIDATE_BUDGET pairs."""
    counts = counts.astype(np.int64)
    cumulative = np.cumsum(counts)
    if len(cumulative) == 0 or cumulative[-1] == 0:
        return
    cuts = np.searchsorted(cumulative, np.arange(CANDIDATE_BUDGET, cumulative[-1], CANDIDATE_BUDGET), side="left")
    bounds = np.unique(np.concatenate([[0], cuts + 1, [len(counts)]]).clip(0, len(counts)))
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        piece_counts = counts[lo:hi]
        total = int(piece_counts.sum())
        if total == 0:
            continue
        ends = np.cumsum(piece_counts)
        # Position of each candidate inside its run: a running index minus where its run began.
        offsets = np.arange(total, dtype=np.int64) - np.repeat(ends - piece_counts, piece_counts)
        left = order[np.repeat(sources[lo:hi], piece_counts)]
        right = order[np.repeat(first[lo:hi], piece_counts) + offsets]
        yield left, right


def hamming_pairs(hashes: np.ndarray, radius: int = DEFAULT_RADIUS) -> HammingPairs:
    """Every pair of `hashes` (int64 or uint64, 64 bits each) within Hamming `radius`; see HammingPairs."""
    if not 0 <= radius < HASH_BITS:
        raise ValueError(f"radius must be in [0, {HASH_BITS}), got {radius}")
    values = to_uint64(np.asarray(hashes))
    n = len(values)
    distinct, first_row, inverse = np.unique(values, return_index=True, return_inverse=True)
    # Rows sharing a hash: link each to the first row with that hash.
    rows = np.arange(n, dtype=np.int64)
    representative = first_row[inverse]
    repeated = rows != representative
    equal_left, equal_right = representative[repeated], rows[repeated]
    left, right, dist = _distinct_pairs(distinct, radius)
    left, right = first_row[left], first_row[right]
    swap = left > right
    left, right = np.where(swap, right, left), np.where(swap, left, right)
    return HammingPairs(
        n=n,
        left=np.concatenate([equal_left, left]).astype(np.int64),
        right=np.concatenate([equal_right, right]).astype(np.int64),
        distance=np.concatenate([np.zeros(len(equal_left), dtype=np.int8), dist]),
    )


def pairs_with(hashes: np.ndarray, queries: np.ndarray, radius: int = DEFAULT_RADIUS) -> HammingPairs:
    """Every pair (q, j) within Hamming `radius` where q is one of `queries` (positions into hashes) and j any other
    position: the pairs an --incremental run adds for its new images. Each unordered pair once (left < right),
    every match listed (no star: queries are few). Multi-index look-ups as above, with the queries as sources,
    candidates verified CANDIDATE_BUDGET at a time (_expand): O(n log n) to build each chunk's table,
    O(queries x probes + candidates) to search."""
    if not 0 <= radius < HASH_BITS:
        raise ValueError(f"radius must be in [0, {HASH_BITS}), got {radius}")
    values = to_uint64(np.asarray(hashes))
    n = len(values)
    queries = np.asarray(queries, dtype=np.int64)
    empty = np.zeros(0, dtype=np.int64)
    if n < 2 or len(queries) == 0:
        return HammingPairs(n=n, left=empty, right=empty, distance=empty.astype(np.int8))
    chunk_radius = radius // CHUNKS
    found_left, found_right, found_dist = [empty], [empty], [empty.astype(np.int8)]
    for shift, width in _chunk_layout():
        keys = _chunk_values(values, shift, width)
        count = np.bincount(keys, minlength=1 << width).astype(np.int32)
        start = np.zeros(len(count), dtype=np.int64)
        np.cumsum(count[:-1], out=start[1:])
        order = np.argsort(keys, kind="stable")
        rank = np.empty(n, dtype=np.int64)  # each hash's position in key order: _expand's sources
        rank[order] = np.arange(n)
        for mask in _flip_masks(width, chunk_radius):
            probed = keys[queries] ^ mask
            hit = count[probed] > 0
            for left, right in _expand(order, rank[queries[hit]], start[probed[hit]], count[probed[hit]]):
                dist = popcount(values[left] ^ values[right])
                keep = (dist <= radius) & (left != right)
                found_left.append(left[keep])
                found_right.append(right[keep])
                found_dist.append(dist[keep])
    left, right = np.concatenate(found_left), np.concatenate(found_right)
    left, right, distance = np.minimum(left, right), np.maximum(left, right), np.concatenate(found_dist)
    unique = np.unique(left * n + right, return_index=True)[1]
    return HammingPairs(n=n, left=left[unique], right=right[unique], distance=distance[unique])


def brute_force_pairs(hashes: np.ndarray, radius: int = DEFAULT_RADIUS,
                      block: int = 2048) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs i < j within `radius` by blocked vectorised comparison: O(n^2), the reference for tests."""
    values = to_uint64(np.asarray(hashes))
    lefts, rights, dists = [], [], []
    for lo in range(0, len(values), block):
        dist = popcount(values[lo:lo + block, None] ^ values[None, :])
        i, j = np.nonzero(dist <= radius)
        i = i + lo
        keep = i < j
        lefts.append(i[keep])
        rights.append(j[keep])
        dists.append(dist[i[keep] - lo, j[keep]])
    if not lefts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty.astype(np.int8)
    return np.concatenate(lefts), np.concatenate(rights), np.concatenate(dists)
