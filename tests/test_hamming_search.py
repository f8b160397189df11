"""The Hamming-radius search must find exactly what brute force finds, and group matches correctly."""

from __future__ import annotations

import numpy as np
import pytest

from dataset_audit import graph_groups, hamming_search


def _hashes_with_planted_pairs(n: int, planted: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)
    pairs = rng.choice(n, (planted, 2), replace=False)
    for (source, target), flips in zip(pairs, rng.integers(0, 13, planted), strict=True):
        noise = np.uint64(0)
        for bit in rng.choice(64, flips, replace=False):
            noise |= np.uint64(1) << np.uint64(bit)
        values[target] = values[source] ^ noise
    values[10:20] = values[3]  # a block of identical hashes (blank images, say)
    return values.view(np.int64)


def _as_set(left, right, dist) -> set[tuple[int, int, int]]:
    return {(int(a), int(b), int(d)) for a, b, d in zip(left, right, dist, strict=True)}


@pytest.mark.parametrize("radius", [0, 2, 5, 8, 11])
def test_distinct_pairs_equal_brute_force(radius: int) -> None:
    values = np.unique(hamming_search.to_uint64(_hashes_with_planted_pairs(8_000, 300)))
    found = hamming_search._distinct_pairs(values, radius)
    expected = hamming_search.brute_force_pairs(values, radius)
    assert _as_set(*found) == _as_set(*expected)
    assert len(found[0]) == len(expected[0])  # each pair exactly once
    if radius >= 5:
        assert len(expected[0]) > 100  # the planted pairs are there to be found


def test_components_equal_brute_force_with_repeated_hashes() -> None:
    hashes = _hashes_with_planted_pairs(5_000, 200, seed=1)
    pairs = hamming_search.hamming_pairs(hashes, 8)
    assert np.all(pairs.left < pairs.right)
    assert np.all(pairs.distance <= 8)
    reference = hamming_search.brute_force_pairs(hashes, 8)
    ours = graph_groups.connected_groups(len(hashes), pairs.left, pairs.right)
    theirs = graph_groups.connected_groups(len(hashes), reference[0], reference[1])
    # Same partition: each of our groups maps to exactly one reference group and vice versa.
    assert len(set(zip(ours.tolist(), theirs.tolist(), strict=True))) == len(set(ours.tolist())) == len(set(theirs.tolist()))
    # Eleven identical hashes cost ten edges (a star on the first row), not 55.
    assert sum(1 for a, b in zip(pairs.left, pairs.right, strict=True) if b in range(10, 20)) == 10


def test_distances_are_popcounts_and_far_hashes_are_not_paired() -> None:
    hashes = np.array([0, 0b111, 0b1111_1111_1, -1, -1], dtype=np.int64)
    pairs = hamming_search.hamming_pairs(hashes, 3)
    assert _as_set(pairs.left, pairs.right, pairs.distance) == {(0, 1, 3), (3, 4, 0)}


def test_group_members_largest_first_without_singletons() -> None:
    labels = graph_groups.connected_groups(7, np.array([0, 4, 5]), np.array([6, 5, 2]))
    groups = graph_groups.group_members(labels)
    assert [g.tolist() for g in groups] == [[2, 4, 5], [0, 6]]


def test_far_apart_hashes_give_no_pairs() -> None:
    pairs = hamming_search.hamming_pairs(np.array([0, -1, 0x00FF_00FF_00FF_00FF], dtype=np.int64), 8)
    assert len(pairs) == 0 and pairs.left.dtype == np.int64


def test_rejects_a_radius_outside_the_hash() -> None:
    with pytest.raises(ValueError):
        hamming_search.hamming_pairs(np.zeros(3, dtype=np.int64), 64)


def test_pairs_with_finds_every_match_of_the_queries():
    """--incremental's search for new images: every pair (query, any) within the radius, each once, as the
    brute-force reference lists them, copies of a query included."""
    rng = np.random.default_rng(4)
    base = rng.integers(0, 2**63, size=3000, dtype=np.int64)
    flips = np.bitwise_or.reduce(np.left_shift(np.int64(1), rng.integers(0, 63, size=(60, 3))), axis=1)
    values = np.concatenate([base, base[:60] ^ flips, base[:4], base[:4]])  # near copies, then exact ones twice
    queries = np.arange(2990, len(values))
    got = hamming_search.pairs_with(values, queries, 8)
    left, right, distance = hamming_search.brute_force_pairs(values, 8)
    involved = np.isin(left, queries) | np.isin(right, queries)
    found = zip(got.left.tolist(), got.right.tolist(), got.distance.tolist(), strict=True)
    wanted = zip(left[involved].tolist(), right[involved].tolist(), distance[involved].tolist(), strict=True)
    assert sorted(found) == sorted(wanted)
    assert len(got) >= 60 + 4 * 3
