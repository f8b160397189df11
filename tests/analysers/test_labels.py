"""Labels: planted label flips are found, clean data is left alone, a weak model is not trusted; the user's
probabilities (--probs-prefix, --probs .npy), predicted labels and embeddings are used; the kNN check moved here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dataset_audit.analysers import embedding
from dataset_audit.analysers import labels as labels_analyser
from dataset_audit.confident_learning import (
    confident_joint,
    find_label_issues,
    per_class_thresholds,
    ranked_disagreements,
    round_keeping_row_totals,
)
from dataset_audit.config import Config
from dataset_audit.dataset import Table, load_table
from dataset_audit.errors import AuditUsageError
from dataset_audit.label_model import out_of_fold_probabilities
from dataset_audit.model import AuditInput, Section
from dataset_audit.model_outputs import ModelOutputs
from dataset_audit.pipeline import run_analyser
from dataset_audit.scan import Features

PER_CLASS = 60
CLASSES = ["stripes", "bars", "disc", "checker", "diagonal"]
COLOURS = [(200, 40, 40), (40, 180, 60), (40, 60, 210), (210, 190, 40), (160, 60, 190)]


def pattern(rng: np.random.Generator, cls: int) -> np.ndarray:
    """A 16x16 RGB thumbnail of class cls: its own shape and colour, with random phase, contrast and noise."""
    y, x = np.mgrid[0:16, 0:16].astype(np.float64)
    phase = rng.uniform(0, 2 * np.pi)
    shapes = [np.sin(y * 1.6 + phase), np.sin(x * 1.6 + phase),
              ((y - 7.5 - rng.uniform(-1, 1)) ** 2 + (x - 7.5 - rng.uniform(-1, 1)) ** 2 < 25) * 2.0 - 1,
              np.sign(np.sin(y * 1.6 + phase) * np.sin(x * 1.6 + phase)), np.sin((x + y) * 1.1 + phase)]
    shade = shapes[cls][..., None] * rng.uniform(50, 80)
    base = np.array(COLOURS[cls], dtype=np.float64)[None, None, :] * rng.uniform(0.7, 1.1)
    return np.clip(base * 0.6 + 50 + shade + rng.normal(0, 12, size=(16, 16, 3)), 0, 255).astype(np.uint8)


def dataset(seed: int = 0, flips: int = 0) -> tuple[np.ndarray, list[str], list[int]]:
    """Thumbnails, labels (with `flips` planted wrong labels) and the flipped positions."""
    rng = np.random.default_rng(seed)
    true = np.repeat(np.arange(len(CLASSES)), PER_CLASS)
    thumbs = np.stack([pattern(rng, c) for c in true])
    given = true.copy()
    flipped = sorted(rng.choice(len(true), size=flips, replace=False).tolist()) if flips else []
    for i in flipped:
        given[i] = (true[i] + rng.integers(1, len(CLASSES))) % len(CLASSES)
    return thumbs, [CLASSES[c] for c in given], flipped


def make_input(thumbs: np.ndarray, labels: list[str], extra: dict | None = None,
               outputs: ModelOutputs | None = None, **config) -> AuditInput:
    n = len(labels)
    features = Features.from_records([{"status": "ok"}] * n, thumbs=thumbs)
    frame = pd.DataFrame({"path": [f"img/{i:03d}.png" for i in range(n)], "label": labels, **(extra or {})})
    table = Table(frame=frame, source="t.csv", root=Path("."), path_col="path", label_col="label")
    if outputs is not None:
        table.outputs = outputs
    return AuditInput(table=table, features=features, config=Config(**config))


def rows_of(section: Section, kind: str, severity: str | None = None) -> list[int]:
    return [r for f in section.findings if f.kind == kind and severity in (None, f.severity) for r in f.rows]


@pytest.fixture(scope="module")
def planted() -> tuple[Section, list[int]]:
    thumbs, labels, flipped = dataset(seed=0, flips=12)
    return run_analyser(labels_analyser.ANALYSER, make_input(thumbs, labels, montage_max=8)), flipped


# ------------------------------------------------------------------------------------- cheap model


def test_planted_flips_are_found_with_high_recall(planted):
    section, flipped = planted
    flagged = rows_of(section, "label_issue", "warning")
    assert len(set(flagged) & set(flipped)) >= 11, (flipped, flagged)
    assert len(set(flagged) - set(flipped)) <= 3
    assert section.metrics["labels.issue_count"] == len(flagged)
    assert section.metrics["labels.oof_accuracy"] > 0.9
    assert section.metrics["labels.model_skill"] > 0.8
    assert 0.01 < section.metrics["labels.estimated_noise_rate"] < 0.1


def test_findings_show_given_and_suggested_labels(planted):
    section, flipped = planted
    finding = next(f for f in section.findings if f.kind == "label_issue")
    assert len(finding.detail["given"]) == len(finding.detail["suggested"]) == len(finding.rows)
    assert all(g != s for g, s in zip(finding.detail["given"], finding.detail["suggested"], strict=True))
    montage = next(m for m in section.montages if m.title == "Suspected label errors")
    assert len(montage.items) == 8 and montage.total == len(finding.rows)
    assert " -> " in montage.items[0].caption
    ranked = next(f for f in section.findings if f.kind == "ranked_disagreement")
    assert set(ranked.rows[:10]) <= set(flipped) | set(finding.rows)


def test_report_has_confusion_matrix_pairs_and_noise_per_class(planted):
    section, _ = planted
    titles = [c.title for c in section.charts]
    heatmap = next(c for c in section.charts if c.title.startswith("Confusion matrix"))
    assert heatmap.traces[0]["type"] == "heatmap" and len(heatmap.traces[0]["z"]) == len(CLASSES)
    assert "Estimated label noise per class" in titles
    tables = {t.title: t for t in section.tables}
    assert tables["Most confused class pairs: given label vs predicted (out of fold)"].rows
    assert len(tables["Estimated noise rate per class"].rows) == len(CLASSES)
    assert len(tables["Per-class precision and recall: predicted (out of fold)"].rows) == len(CLASSES)


def test_clean_dataset_yields_few_flags():
    thumbs, labels, _ = dataset(seed=1)
    section = run_analyser(labels_analyser.ANALYSER, make_input(thumbs, labels))
    assert section.metrics["labels.issue_count"] <= 3  # 1% of 300
    assert section.metrics["labels.oof_accuracy"] > 0.97


def test_weak_model_is_not_trusted_on_random_labels():
    thumbs, _, _ = dataset(seed=2)
    rng = np.random.default_rng(5)
    labels = [CLASSES[c] for c in rng.integers(0, len(CLASSES), size=len(thumbs))]
    section = run_analyser(labels_analyser.ANALYSER, make_input(thumbs, labels))
    assert not [f for f in section.findings if f.severity in {"error", "warning"}]
    assert section.metrics["labels.issue_count"] == 0 and section.metrics["labels.issue_rate"] == 0
    assert section.metrics["labels.model_skill"] < 0.3
    assert "labels.oof_accuracy" in section.metrics and "labels.candidate_count" in section.metrics
    assert "too weak" in section.summary
    candidates = [f for f in section.findings if f.kind == "label_issue"]
    assert all(f.message.startswith("low confidence") for f in candidates)


def test_rare_classes_are_left_out_of_the_model_not_crashing():
    thumbs, labels, _ = dataset(seed=3)
    labels = list(labels)
    labels[0] = "unique"
    section = run_analyser(labels_analyser.ANALYSER, make_input(thumbs, labels))
    assert any("unique" in note for note in section.notes)
    assert section.metrics["labels.oof_accuracy"] > 0.9


def test_no_label_column_is_skipped():
    thumbs, labels, _ = dataset(seed=0)
    data = make_input(thumbs, labels)
    data.table.label_col = None
    assert run_analyser(labels_analyser.ANALYSER, data).skipped


# ----------------------------------------------------------------------------------- user outputs


def planted_probabilities(labels: list[str], flipped: list[int], classes: list[str]) -> np.ndarray:
    """A good model: 0.9 on the true class, which differs from the label on the flipped rows."""
    rng = np.random.default_rng(7)
    index = {c: i for i, c in enumerate(classes)}
    probs = np.full((len(labels), len(classes)), 0.1 / (len(classes) - 1))
    for i, label in enumerate(labels):
        true = index[label] if i not in flipped else (index[label] + 1) % len(classes)
        probs[i, true] = 0.9
    probs += rng.uniform(0, 0.01, size=probs.shape)
    return probs / probs.sum(axis=1, keepdims=True)


def test_probability_columns_are_used_and_top_losses_shown(tmp_path):
    _, labels, flipped = dataset(seed=0, flips=10)
    probs = planted_probabilities(labels, flipped, CLASSES)
    frame = pd.DataFrame({"path": [f"img/{i:03d}.png" for i in range(len(labels))], "label": labels})
    for j, cls in enumerate(CLASSES):
        frame[f"p_{cls}"] = np.round(probs[:, j], 6)
    frame.to_csv(tmp_path / "t.csv", index=False)
    table = load_table(tmp_path / "t.csv", Config(probs_prefix="p_", label_col="label"))
    assert table.outputs.probability_classes == CLASSES
    features = Features.from_records([{"status": "ok"}] * len(labels),
                                     thumbs=np.zeros((len(labels), 16, 16, 3), np.uint8))
    section = run_analyser(labels_analyser.ANALYSER, AuditInput(table=table, features=features, config=Config(montage_max=6)))
    assert set(rows_of(section, "label_issue", "warning")) == set(flipped)
    assert any("your model (--probs-prefix p_)" in note for note in section.notes)
    losses = next(m for m in section.montages if m.title == "Top losses")
    assert {item.row for item in losses.items} <= set(flipped)
    prediction, actual, loss, probability = losses.items[0].caption.split(" / ")
    assert prediction != actual and float(loss) > 2 and float(probability) < 0.1
    assert section.metrics["labels.oof_accuracy"] == pytest.approx(1 - 10 / len(labels))
    assert any(t.title == "Per-class precision and recall: your model's prediction" for t in section.tables)


def test_npy_probabilities_follow_numeric_class_order(tmp_path):
    labels = [str(v) for v in [2, 10, 1] * 20]
    classes = ["1", "2", "10"]
    probs = planted_probabilities(labels, [4], classes)
    np.save(tmp_path / "p.npy", probs)
    pd.DataFrame({"path": [f"{i}.png" for i in range(60)], "label": labels}).to_csv(tmp_path / "t.csv", index=False)
    table = load_table(tmp_path / "t.csv", Config(probs=tmp_path / "p.npy", label_col="label"))
    assert table.outputs.probability_classes == classes
    features = Features.from_records([{"status": "ok"}] * 60, thumbs=np.zeros((60, 16, 16, 3), np.uint8))
    section = run_analyser(labels_analyser.ANALYSER, AuditInput(table=table, features=features, config=Config()))
    assert rows_of(section, "label_issue", "warning") == [4]


@pytest.mark.parametrize(("array", "message"), [
    (np.full((60, 2), 0.5), "2 columns, but the labels have 3 classes"),
    (np.full((59, 3), 1 / 3), "expected an array of 60 rows"),
    (np.full((60, 3), 0.5), "row 0 sums to 1.5"),
])
def test_bad_probability_files_are_usage_errors(tmp_path, array, message):
    pd.DataFrame({"path": [f"{i}.png" for i in range(60)], "label": ["a", "b", "c"] * 20}).to_csv(
        tmp_path / "t.csv", index=False)
    np.save(tmp_path / "p.npy", array)
    with pytest.raises(AuditUsageError, match=message):
        load_table(tmp_path / "t.csv", Config(probs=tmp_path / "p.npy", label_col="label"))


def test_sampling_keeps_probabilities_aligned(tmp_path):
    labels = ["a", "b", "c"] * 20
    probs = planted_probabilities(labels, [], ["a", "b", "c"])
    np.save(tmp_path / "p.npy", probs)
    pd.DataFrame({"path": [f"{i}.png" for i in range(60)], "label": labels}).to_csv(tmp_path / "t.csv", index=False)
    table = load_table(tmp_path / "t.csv", Config(probs=tmp_path / "p.npy", label_col="label", sample=20))
    assert table.outputs.probabilities is not None
    np.testing.assert_allclose(table.outputs.probabilities, probs[table.original_rows])


def test_predicted_label_column_gives_precision_and_recall():
    thumbs, labels, _ = dataset(seed=0)
    predicted = list(labels)
    predicted[:6] = ["bars"] * 6  # six "stripes" predicted as bars
    data = make_input(thumbs, labels, extra={"pred": predicted}, outputs=ModelOutputs(pred_col="pred"))
    section = run_analyser(labels_analyser.ANALYSER, data)
    assert section.metrics["labels.prediction_accuracy"] == pytest.approx(1 - 6 / len(labels))
    table = next(t for t in section.tables if t.title == "Per-class precision and recall: your prediction (pred)")
    recall = {row[0]: row[3] for row in table.rows}
    assert recall["stripes"] == "90.0%"
    assert any(c.title.endswith("your prediction (pred)") for c in section.charts)


def test_user_embeddings_drive_the_model():
    """Thumbnails carry no class signal; the user's vectors do, so the flips are found through them."""
    _, labels, flipped = dataset(seed=4, flips=8)
    rng = np.random.default_rng(9)
    true = np.repeat(np.arange(len(CLASSES)), PER_CLASS)
    centres = rng.normal(0, 1, size=(len(CLASSES), 32)) * 4
    vectors = (centres[true] + rng.normal(0, 1, size=(len(true), 32))).astype(np.float32)
    noise = np.random.default_rng(1).integers(0, 255, size=(len(true), 16, 16, 3), dtype=np.uint8)
    data = make_input(noise, labels, outputs=ModelOutputs(embeddings=vectors, embedding_source="--embeddings v.npy"))
    section = run_analyser(labels_analyser.ANALYSER, data)
    assert set(flipped) <= set(rows_of(section, "label_issue", "warning"))
    assert any("your vectors (--embeddings v.npy" in note for note in section.notes)


def test_embeddings_parquet_is_read(tmp_path):
    vectors = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    pd.DataFrame({"v": list(vectors)}).to_parquet(tmp_path / "e.parquet")
    pd.DataFrame(vectors, columns=list("abcd")).to_parquet(tmp_path / "f.parquet")
    pd.DataFrame({"path": [f"{i}.png" for i in range(6)], "label": list("aabbcc")}).to_csv(tmp_path / "t.csv",
                                                                                         index=False)
    for name in ("e.parquet", "f.parquet"):
        table = load_table(tmp_path / "t.csv", Config(embeddings=tmp_path / name, label_col="label"))
        np.testing.assert_allclose(table.outputs.embeddings, vectors)


# -------------------------------------------------------------------------------------- kNN check


def test_knn_check_finds_a_look_alike_under_another_label():
    thumbs, labels, _ = dataset(seed=0)
    labels = list(labels)
    labels[3] = "disc"  # a stripes image labelled disc: all its neighbours are stripes
    section = run_analyser(labels_analyser.ANALYSER, make_input(thumbs, labels))
    finding = next(f for f in section.findings if f.kind == "label_disagreement")
    assert 3 in finding.rows
    assert finding.detail["neighbour_label"][finding.rows.index(3)] == "stripes"
    assert section.metrics["labels.knn_disagreement_count"] >= 1


def test_labels_and_embedding_share_one_neighbour_search_per_features(monkeypatch):
    """Run one after the other in one process (as a lane does), the two analysers search neighbours once, and the
    labels analyser finds what it finds alone; other features (another audit in a notebook) search again."""
    thumbs, labels, _ = dataset(seed=0)
    labels = list(labels)
    labels[3] = "disc"
    searches: list[int] = []
    search = embedding.neighbours
    monkeypatch.setattr(embedding, "neighbours", lambda *a: searches.append(1) or search(*a))
    embedding.forget_neighbourhood()
    alone = run_analyser(labels_analyser.ANALYSER, make_input(thumbs, labels))
    assert len(searches) == 1
    embedding.forget_neighbourhood()
    data = make_input(thumbs, labels)
    mapped = run_analyser(embedding.ANALYSER, data)
    after = run_analyser(labels_analyser.ANALYSER, data)
    assert len(searches) == 2 and not mapped.skipped
    assert after.metrics == alone.metrics
    assert [f.rows for f in after.findings] == [f.rows for f in alone.findings]
    run_analyser(labels_analyser.ANALYSER, make_input(thumbs, labels))  # new features: a new search
    assert len(searches) == 3
    embedding.forget_neighbourhood()


# ---------------------------------------------------------------------------- confident learning


def test_thresholds_and_confident_joint_by_hand():
    probs = np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.6, 0.4], [0.1, 0.9]])
    given = np.array([0, 0, 1, 1, 1])
    thresholds = per_class_thresholds(probs, given)
    np.testing.assert_allclose(thresholds, [0.8, (0.8 + 0.4 + 0.9) / 3])
    # Row 3 (given 1): p0 = 0.6 < 0.8 and p1 = 0.4 < 0.7: counted nowhere. Row 1: 0.7 < 0.8, 0.3 < 0.7: nowhere.
    np.testing.assert_array_equal(confident_joint(probs, given, thresholds), [[1, 0], [0, 2]])


def test_off_diagonal_joint_flags_the_confident_disagreement():
    rng = np.random.default_rng(0)
    given = np.repeat([0, 1, 2], 50)
    probs = np.eye(3)[given] * 0.8 + 0.1 + rng.uniform(0, 0.02, size=(150, 3))
    probs[7] = [0.05, 0.9, 0.05]  # given 0, surely 1
    probs /= probs.sum(axis=1, keepdims=True)
    result = find_label_issues(probs, given)
    assert np.flatnonzero(result.issue_mask).tolist() == [7]
    assert result.suggested[7] == 1 and result.normalised_margin[7] < -0.5
    assert result.confident_joint[0, 1] == 1
    assert result.estimated_noise_rate == pytest.approx(1 / 150, abs=1e-9)
    assert ranked_disagreements(probs, given).tolist() == [7]


def test_rounding_keeps_every_row_total():
    counts = np.array([[3.4, 0.3, 0.3], [0.5, 0.5, 1.0]])
    rounded = round_keeping_row_totals(counts)
    np.testing.assert_array_equal(rounded.sum(axis=1), [4, 2])
    np.testing.assert_array_equal(rounded[0], [4, 0, 0])  # plain rounding would lose the row's fourth count


def test_two_classes_get_probabilities_from_the_one_dimensional_lda_score():
    rng = np.random.default_rng(0)
    classes = np.repeat([0, 1], 50)
    vectors = rng.normal(size=(100, 5)) + classes[:, None] * 2.0
    probabilities = out_of_fold_probabilities(vectors, classes, folds=5, seed=0)
    assert probabilities.shape == (100, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0)
    assert (probabilities.argmax(axis=1) == classes).mean() > 0.9
