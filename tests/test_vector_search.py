"""Vector search: planted near-identical vectors are found by cosine similarity, exactly below EXACT_BELOW rows and
through the coarse cells above it; unrelated and zero vectors are not paired."""

from __future__ import annotations

import numpy as np
import pytest

from dataset_audit import thumbnail_search, vector_search


def planted(n: int, dims: int, copies: int, seed: int = 0) -> tuple[np.ndarray, set[tuple[int, int]]]:
    """n random vectors (not centred: like ReLU features, all in one orthant-ish cone) with `copies` of them
    repeated, slightly perturbed, at the end; and the planted (original, copy) pairs."""
    rng = np.random.default_rng(seed)
    vectors = np.abs(rng.normal(0, 1, (n, dims))).astype(np.float32) + rng.normal(0, 1, (n, dims)).astype(np.float32)
    originals = rng.choice(n - copies, copies, replace=False)
    copy_rows = np.arange(n - copies, n)
    vectors[copy_rows] = vectors[originals] * 1.7 + rng.normal(0, 0.02, (copies, dims)).astype(np.float32)
    return vectors, {(int(a), int(b)) for a, b in zip(originals, copy_rows, strict=True)}


def brute_force(vectors: np.ndarray, min_similarity: float) -> set[tuple[int, int]]:
    units = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = units @ units.T
    left, right = np.nonzero(np.triu(similarity >= min_similarity, k=1))
    return set(zip(left.tolist(), right.tolist(), strict=True))


def test_small_set_is_searched_exactly():
    vectors, pairs = planted(400, 32, 12)
    left, right, similarity = vector_search.similar_pairs(vectors, np.arange(len(vectors)), 0.97)
    found = set(zip(left.tolist(), right.tolist(), strict=True))
    assert found == pairs == brute_force(vectors, 0.97)
    assert np.all(similarity >= 0.97) and np.all(left < right)


@pytest.mark.parametrize("dims", [48, 200])  # as they are, and projected by PCA before the cell search
def test_large_set_finds_the_planted_copies_through_the_cells(dims):
    n = thumbnail_search.EXACT_BELOW + 1500
    vectors, pairs = planted(n, dims, 60, seed=dims)
    left, right, _ = vector_search.similar_pairs(vectors, np.arange(n), 0.97)
    assert set(zip(left.tolist(), right.tolist(), strict=True)) == pairs


def test_only_the_given_rows_are_searched_and_zero_vectors_match_nothing():
    vectors, pairs = planted(300, 16, 5)
    vectors[10] = 0.0
    vectors[11] = 0.0  # two zero vectors: identical, but without a direction
    a, b = sorted(pairs)[0]
    rows = np.array([r for r in range(300) if r != b])
    left, right, _ = vector_search.similar_pairs(vectors, rows, 0.97)
    found = set(zip(left.tolist(), right.tolist(), strict=True))
    assert found == pairs - {(a, b)}
    assert not {10, 11} & set(left.tolist() + right.tolist())


def test_cell_search_in_query_chunks_gives_the_same_shortlists(monkeypatch):
    """Queries are searched QUERY_CHUNK at a time (memory at a million images); chunks change nothing."""
    rng = np.random.default_rng(3)
    points = rng.normal(0, 1, (thumbnail_search.EXACT_BELOW + 2000, 16)).astype(np.float32)
    cells = thumbnail_search.coarse_cells(points, np.random.default_rng(0))
    owners = np.arange(len(points))
    whole = thumbnail_search.cell_search(cells, points, owners)
    monkeypatch.setattr(thumbnail_search, "QUERY_CHUNK", 1000)
    chunked = thumbnail_search.cell_search(cells, points, owners)
    assert cells.count > 1 and whole.shape == (len(points), thumbnail_search.SHORTLIST)
    np.testing.assert_array_equal(chunked, whole)
    assert not np.any(whole == owners[:, None])  # never its own neighbour


def test_smallest_finds_each_rows_smallest_values_even_with_ties():
    rng = np.random.default_rng(0)
    for trial in range(60):
        values = rng.random((int(rng.integers(1, 200)), int(rng.integers(2, 300))), dtype=np.float32)
        if trial % 2:
            values = np.round(values, 1)  # ties at the boundary, as exact copies give
        values[:, int(rng.integers(values.shape[1]))] = np.inf  # a query's own column
        take = int(rng.integers(1, values.shape[1]))
        found = thumbnail_search.smallest(values, take)
        assert found.shape == (len(values), take)
        assert all(len(set(row)) == take for row in found.tolist())
        assert np.array_equal(np.sort(np.take_along_axis(values, found, axis=1), axis=1),
                              np.sort(np.partition(values, take - 1, axis=1)[:, :take], axis=1))
