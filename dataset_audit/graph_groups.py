"""Groups from matched pairs: connected components of the match graph (scipy) and the members of each group."""

from __future__ import annotations

import numpy as np


def connected_groups(n: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Component id per node (0..n-1) of the undirected graph with the given edges; singletons get their own id."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    from scipy.sparse import coo_matrix  # imported where used: a warm run needs no scipy
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(left), dtype=np.int8), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)


def group_members(labels: np.ndarray, min_size: int = 2) -> list[np.ndarray]:
    """Rows of each component with at least `min_size` members, each sorted, largest groups first."""
    sizes = np.bincount(labels)
    in_group = np.flatnonzero(sizes[labels] >= min_size)  # drop singletons before splitting: most rows are
    order = in_group[np.argsort(labels[in_group], kind="stable")]
    sorted_labels = labels[order]
    boundaries = np.flatnonzero(np.diff(sorted_labels)) + 1
    groups = [g for g in np.split(order, boundaries) if len(g) >= min_size]
    groups.sort(key=lambda g: (-len(g), int(g[0])))
    return groups
