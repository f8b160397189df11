"""--incremental: stored state is matched to the rows by content, and an update with new images gives what a full
search with the stored fit gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from features_by_hand import audit_input, typical_records

from dataset_audit import thumbnail_search
from dataset_audit.analysers import embedding, labels
from dataset_audit.incremental import MAX_NEW_SHARE, Recalled, Reuse, Step, row_keys
from dataset_audit.label_model import fold_average_scores, out_of_fold_scores
from dataset_audit.pipeline import run_analyser
from dataset_audit.scan import Features


def smooth_thumbs(n: int, seed: int) -> np.ndarray:
    """n distinct 16x16 colour thumbnails with some structure (a few smooth blobs each)."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, size=(n, 4, 4, 3))
    thumbs = np.repeat(np.repeat(coarse, 4, axis=1), 4, axis=2) + rng.normal(0, 20, size=(n, 16, 16, 3))
    return np.clip(thumbs, 0, 255).astype(np.uint8)


def features_of(thumbs: np.ndarray) -> Features:
    records = [{"status": "ok", "byte_hash": int(h)} for h in
               np.random.default_rng(len(thumbs)).integers(-2**62, 2**62, size=len(thumbs))]
    return Features.from_records(records, thumbs=thumbs)


def test_row_keys_follow_content_not_position() -> None:
    thumbs = smooth_thumbs(6, seed=1)
    thumbs[5] = thumbs[4]
    features = features_of(thumbs)
    features.frame.loc[5, "byte_hash"] = features.frame.loc[4, "byte_hash"]  # row 5: a copy of row 4
    keys = row_keys(features, np.arange(6))
    assert len(set(keys.tolist())) == 6  # the copy is told apart by its order
    reordered = row_keys(features, np.array([3, 2, 1, 0, 4, 5]))
    assert reordered[:4].tolist() == keys[[3, 2, 1, 0]].tolist()
    labelled = row_keys(features, np.arange(6), labels=np.array(list("aabbcc")))
    relabelled = row_keys(features, np.arange(6), labels=np.array(list("aabbcd")))
    assert labelled[:5].tolist() == relabelled[:5].tolist() and labelled[5] != relabelled[5]


def test_recall_matches_rows_and_refuses_what_it_cannot_update(tmp_path: Path) -> None:
    reuse = Reuse(tmp_path / "incremental")
    keys = np.arange(100, dtype=np.uint64) * np.uint64(7919)
    assert "no stored run" in reuse.recall("search", (1,), keys)
    assert reuse.keep("search", (1,), keys, {"values": np.arange(100)}) is None
    assert "no stored run" in reuse.recall("search", (2,), keys)  # other settings: another state
    grown = np.concatenate([keys[::-1], np.array([5, 11], dtype=np.uint64)])
    recalled = reuse.recall("search", (1,), grown)
    assert isinstance(recalled, Recalled)
    assert recalled.fresh.tolist() == [100, 101]
    assert recalled.old_of_new[:100].tolist() == list(range(99, -1, -1))
    assert "1 of the stored run's 100 images are gone" in reuse.recall("search", (1,), grown[1:])
    many = np.concatenate([keys, np.arange(1, 2 + int(MAX_NEW_SHARE * 120), dtype=np.uint64)])
    assert "are new (more than 10%)" in reuse.recall("search", (1,), many)
    reuse.keep("search", (1,), grown, {"values": np.arange(102)})
    assert len(list((tmp_path / "incremental").glob("search-*.npz"))) == 1  # the older state went
    next((tmp_path / "incremental").glob("search-*.npz")).write_bytes(b"junk")
    assert "could not be read" in reuse.recall("search", (1,), grown)


def _fixed_fit(monkeypatch: pytest.MonkeyPatch, stored: dict[str, np.ndarray]) -> None:
    """A full search that uses the stored PCA axes and cell centres instead of fitting its own."""
    centres = stored["centres"] if len(stored["centres"]) else None
    monkeypatch.setattr(thumbnail_search, "_fit_projection", lambda *_: (stored["mean"], stored["axes"]))
    monkeypatch.setattr(thumbnail_search, "_kmeans",
                        lambda points, cells, rng: (thumbnail_search._nearest_centre(points, centres), centres))


@pytest.mark.parametrize("old_count, new_count", [(600, 40), (5200, 300)])  # one cell; k-means cells
def test_thumbnail_search_update_equals_a_full_search_with_the_stored_fit(tmp_path: Path, monkeypatch,
                                                                          old_count: int, new_count: int) -> None:
    thumbs = smooth_thumbs(old_count + new_count, seed=old_count)
    thumbs[-1] = thumbs[3][:, ::-1]  # a new image that is an old one mirrored
    thumbs[-2] = np.clip(thumbs[7].astype(int) + 3, 0, 255)  # and one brightened
    features = features_of(thumbs)
    changes = ("flipped", "recoloured")
    old = np.zeros(len(thumbs), dtype=bool)
    old[:old_count] = True
    reuse = Reuse(tmp_path)
    first = Step(reuse, "dup", (), features)
    thumbnail_search.nearest_neighbours(thumbs, old, changes, first)
    assert "ran in full" in first.note("search")
    update = Step(reuse, "dup", (), features)
    updated = thumbnail_search.nearest_neighbours(thumbs, None, changes, update)
    assert f"added {new_count} new images" in update.note("search")
    stored = np.load(next(tmp_path.glob("dup-*.npz")))
    _fixed_fit(monkeypatch, {k: stored[k] for k in ("mean", "axes", "centres")})
    full = thumbnail_search.nearest_neighbours(thumbs, None, changes)
    for got, want in [(updated, full)] + [(updated.changed[c], full.changed[c]) for c in changes]:
        # The same members at the same distances (members at exactly equal distances may swap places).
        np.testing.assert_array_equal(np.sort(got.candidates, axis=1), np.sort(want.candidates, axis=1))
        np.testing.assert_allclose(got.distance, want.distance, rtol=1e-5)
        np.testing.assert_allclose(got.reference, want.reference, rtol=1e-5)
    # The planted copies are each other's nearest, found from the new image's side and the old one's.
    assert updated.changed["flipped"].candidates[len(thumbs) - 1, 0] == 3
    assert updated.changed["flipped"].candidates[3, 0] == len(thumbs) - 1
    assert updated.candidates[7, 0] == len(thumbs) - 2


def _knn_input(tmp_path: Path, thumbs: np.ndarray, ok: np.ndarray, knn_max: int | None = None):
    records = typical_records(len(thumbs), seed=3)
    for record, byte_hash, good in zip(records, np.arange(len(thumbs)) * 7 + 1, ok, strict=True):
        record.update(byte_hash=int(byte_hash), status="ok" if good else "error")
    return audit_input(records, {"label": ["a", "b"] * (len(thumbs) // 2)}, thumbs=thumbs, cache_dir=tmp_path,
                       incremental=True, options={"embedding": {"knn_max": knn_max}} if knn_max else {})


@pytest.mark.parametrize("knn_max", [10_000, 300])  # every image a query; a sample
def test_knn_update_equals_a_full_search_with_the_stored_fit(tmp_path: Path, knn_max: int) -> None:
    from dataclasses import replace

    thumbs = smooth_thumbs(800, seed=5)
    ok = np.ones(800, dtype=bool)
    ok[760:] = False  # the last 40 are new: not decoded in the first run
    data = replace(_knn_input(tmp_path, thumbs, ok, knn_max), reuse=Reuse(tmp_path / "incremental"))
    rows = np.flatnonzero(ok)
    embedding.forget_neighbourhood()
    first = embedding.neighbourhood(data, rows, 8, 5, knn_max)
    assert "ran in full" in first.note
    embedding.forget_neighbourhood()
    data.features.frame["status"] = "ok"
    all_rows = np.arange(800)
    updated = embedding.neighbourhood(data, all_rows, 8, 5, knn_max)
    embedding.forget_neighbourhood()
    assert "added 40 new images" in updated.note
    np.testing.assert_array_equal(updated.vectors[:760], first.vectors)  # the stored fit, unchanged
    # The same lists as an exact search over the updated vectors, for the stored queries and the new ones.
    index, distance = embedding.neighbours(updated.vectors, updated.queries, 5, 1)
    np.testing.assert_allclose(np.sort(updated.distance, axis=1), np.sort(distance, axis=1), rtol=1e-5)
    assert set(first.queries.tolist()) <= set(updated.queries.tolist())
    if knn_max >= 800:
        assert len(updated.queries) == 800
    else:
        assert 0 < len(updated.queries) - len(first.queries) <= 40


def test_new_rows_are_scored_by_the_mean_of_the_fold_models() -> None:
    rng = np.random.default_rng(0)
    classes = np.repeat(np.arange(3), 50)
    features = rng.normal(size=(150, 6)) + classes[:, None] * 1.5
    scores, models = out_of_fold_scores(features, classes, 5, 0)
    new = rng.normal(size=(4, 6)) + np.array([0, 1, 2, 2])[:, None] * 1.5
    averaged = fold_average_scores(new, models, 3)
    assert averaged.argmax(axis=1).tolist() == [0, 1, 2, 2]
    one = np.mean([new @ coef.T + intercept for _, coef, intercept in models], axis=0)
    np.testing.assert_allclose(averaged, one)


def test_labels_analyser_reuses_its_model_for_added_images(tmp_path: Path) -> None:
    from dataclasses import replace

    thumbs = smooth_thumbs(400, seed=9)
    labels_of = np.array(["a", "b"] * 200)
    thumbs[labels_of == "a", :, :8] = 250  # a learnable difference between the classes
    ok = np.ones(400, dtype=bool)
    ok[390:] = False
    data = replace(_knn_input(tmp_path, thumbs, ok), reuse=Reuse(tmp_path / "incremental"))
    first = run_analyser(labels.ANALYSER, data)
    assert any("label model ran in full" in note for note in first.notes)
    data.features.frame["status"] = "ok"
    second = run_analyser(labels.ANALYSER, data)
    assert any("label model reused the stored run of 390 images" in note for note in second.notes)
    assert second.metrics["labels.oof_accuracy"] > 0.9


def test_knn_update_with_no_new_query_drawn(tmp_path: Path) -> None:
    """Above knn_max the new images are queried at the stored rate: one new image among 800 with knn_max 10 is
    (almost surely) not drawn, and the update must still give the stored queries' lists, with the new image in
    them when it is close."""
    from dataclasses import replace

    thumbs = smooth_thumbs(800, seed=6)
    ok = np.ones(800, dtype=bool)
    ok[799] = False
    data = replace(_knn_input(tmp_path, thumbs, ok, 10), reuse=Reuse(tmp_path / "incremental"))
    embedding.forget_neighbourhood()
    first = embedding.neighbourhood(data, np.flatnonzero(ok), 8, 5, 10)
    data.features.thumbs[799] = thumbs[first.queries[0]]  # the new image: a copy of a stored query
    data.features.frame["status"] = "ok"
    embedding.forget_neighbourhood()
    updated = embedding.neighbourhood(data, np.arange(800), 8, 5, 10)
    embedding.forget_neighbourhood()
    assert "added 1 new image" in updated.note
    assert updated.queries[:len(first.queries)].tolist() == first.queries.tolist()
    assert updated.index[0, 0] == 799 and updated.distance[0, 0] == pytest.approx(0, abs=1e-4)
