"""Label quality: suspected label errors by confident learning, the ranked disagreements, and the kNN label check.

Probabilities come from the user's model when given (--probs-prefix / --probs), else from a cheap model fitted
out-of-fold on the scan's thumbnails (or on --embeddings vectors): see label_model.py for the features, the model
and the measurements that chose them, confident_learning.py for the detection rule.

Honesty: the rule is only as good as the probabilities. The model's out-of-fold accuracy is compared with the
class prior (always answering the largest class) as skill = (accuracy - prior) / (1 - prior). Below min_skill
the flagged rows are shown as low-confidence candidates (severity info) and labels.issue_count stays 0, so a gate
on it does not fail on a weak model's noise; labels.candidate_count keeps the rule's raw count.

Settings: SETTINGS below; the embedding analyser's dims, k and knn_max settings define the kNN check's space and
search.

Cost: features O(n); out-of-fold model O(folds x n x d^2); confident learning O(n x classes); kNN check
O(min(n, knn_max) x n x dims), blocked. `make bench` (bench/bench_labels.py) measures the out-of-fold accuracy,
rows flagged and seconds on MNIST and CIFAR-10, and how many of MNIST's human-confirmed label errors are flagged.
"""

from __future__ import annotations

import time
from collections import Counter

import numpy as np

from ..confident_learning import ConfidentLearning, find_label_issues, ranked_disagreements
from ..dataset import trimmed
from ..incremental import Step
from ..label_model import (
    FIT_MAX,
    FeatureSource,
    calibrated,
    embedding_features,
    fold_average_scores,
    out_of_fold_probabilities,
    out_of_fold_scores,
    thumbnail_features_of,
)
from ..model import Analyser, AuditInput, Chart, Finding, Montage, MontageItem, Section, TableBlock
from ..settings import Setting, resolve
from ..text import count as plural_count
from . import embedding

NAME = "labels"
MIN_ROWS = 8
HEATMAP_CLASSES = 40  # the confusion matrix shows at most this many classes (the largest)
PAIR_ROWS = 20
IN_MEMORY_MAX = 125_000  # above this many labelled images the model's features are computed on demand (2.8 KB each)


def run(data: AuditInput) -> Section:
    section = Section(name=NAME, title="Label quality")
    features = data.features
    assert features is not None
    labels_all = data.table.labels()
    assert labels_all is not None  # declared need
    labels = np.array(labels_all, dtype=object)
    usable = np.flatnonzero(features.ok & (labels != ""))
    if len(usable) < MIN_ROWS:
        section.skipped = f"fewer than {MIN_ROWS} decoded, labelled images"
        return section
    _knn_check(section, data, labels)
    predictions = _predictions(section, data, labels, usable)
    if predictions is None:
        section.summary = section.summary or "Too few images per class for a label model."
        return section
    rows, given, probabilities, classes = predictions
    if probabilities is not None:
        _confident_learning(section, data, rows, given, probabilities, classes)
    return section


# ------------------------------------------------------------------------------------------ predictions


def _predictions(section: Section, data: AuditInput, labels: np.ndarray, usable: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, list[str]] | None:
    """(rows, given class index, probabilities or None, class names) from the user's outputs or the cheap model."""
    outputs = data.table.outputs
    config = data.config
    if outputs.probabilities is not None:
        classes = list(outputs.probability_classes)
        index = {name: i for i, name in enumerate(classes)}
        rows = usable
        given = np.array([index[label] for label in labels[rows]], dtype=np.int64)
        section.notes.append(f"Probabilities: your model ({outputs.probability_source}), {len(classes)} classes.")
        _user_prediction_views(section, data, rows, given, outputs.probabilities[rows], classes)
        return rows, given, outputs.probabilities[rows], classes
    if outputs.pred_col is not None:
        _predicted_label_views(section, data, labels, usable)
    folds = data.settings.folds
    names, counts = np.unique(labels[usable].astype(str), return_counts=True)
    kept = set(names[counts >= folds].tolist())
    if len(kept) < 2:
        section.notes.append(f"No label model: fewer than two classes have {folds} decoded images (labels.folds).")
        return None
    left_out = sorted(set(names.tolist()) - kept)
    if left_out:
        section.notes.append(f"Left out of the label model (fewer than {folds} images): "
                             f"{', '.join(left_out[:20])}{' ...' if len(left_out) > 20 else ''}.")
    rows = usable[np.isin(labels[usable].astype(str), sorted(kept))]
    classes = sorted(kept)
    index = {name: i for i, name in enumerate(classes)}
    given = np.array([index[label] for label in labels[rows]], dtype=np.int64)
    started = time.perf_counter()
    if data.reuse is not None and data.table.outputs.embeddings is None:
        probabilities, space = _updated_probabilities(section, data, rows, given, classes, labels)
    else:
        vectors, space = _model_features(data, rows)
        probabilities = out_of_fold_probabilities(vectors, given, folds, config.seed)
    section.timings["model"] = time.perf_counter() - started
    section.notes.append(f"Probabilities: a cheap model (linear discriminant analysis) on {space}, each image "
                         f"predicted by a model fitted on the other {folds - 1} of {folds} folds (seed {config.seed}).")
    return rows, given, probabilities, classes


def _model_features(data: AuditInput, rows: np.ndarray) -> tuple[np.ndarray | FeatureSource, str]:
    """The label model's features of `rows` (a matrix, or a function of positions above IN_MEMORY_MAX) and what
    they are."""
    assert data.features is not None
    if data.table.outputs.embeddings is not None:
        vectors = embedding_features(data.table.outputs.embeddings[rows], data.config.seed)
        return vectors, f"your vectors ({data.table.outputs.embedding_source}, {vectors.shape[1]} dimensions)"
    if len(rows) > IN_MEMORY_MAX:  # features on demand, each fold fitted on a sample (label_model.FIT_MAX)
        thumbs = data.features.thumbs
        return lambda positions: thumbnail_features_of(thumbs, rows[positions]), _thumbnail_space(len(rows))
    return thumbnail_features_of(data.features.thumbs, rows), _thumbnail_space(len(rows))


def _thumbnail_space(n: int) -> str:
    sampled = f" (each fold's model fitted on a seeded sample of {FIT_MAX:,} images)" if n > IN_MEMORY_MAX else ""
    return f"16x16 thumbnails{sampled}: grey pixels, gradient-orientation histograms (HOG-like), 4x4 colour layout"


def _updated_probabilities(section: Section, data: AuditInput, rows: np.ndarray, given: np.ndarray,
                           classes: list[str], labels: np.ndarray) -> tuple[np.ndarray, str]:
    """--incremental: the stored run's out-of-fold scores for its images, and for the new ones the mean score of
    the stored fold models (none of which saw them, so they are held out too); one temperature fitted on all,
    as in a full run. A full run (nothing reusable) stores its scores and fold models for the next."""
    assert data.features is not None and data.reuse is not None
    folds, seed, m = data.settings.folds, data.config.seed, len(classes)
    step = Step(data.reuse, "labels.model", (folds, seed, tuple(classes), data.features.thumbs.shape[1:],
                                             len(rows) > IN_MEMORY_MAX), data.features, labels=labels)
    recalled = step.recall(rows)
    if recalled is None:
        vectors, _ = _model_features(data, rows)
        scores, models = out_of_fold_scores(vectors, given, folds, seed)
        del vectors
    else:
        stored = recalled.arrays
        models = [(np.flatnonzero(present), coef[present], intercept[present])
                  for present, coef, intercept in zip(stored["present"], stored["coef"], stored["intercept"],
                                                      strict=True)]
        scores = np.empty((len(rows), m))
        scores[recalled.kept] = stored["scores"][recalled.old_of_new[recalled.kept]]
        fresh = recalled.fresh
        scores[fresh] = fold_average_scores(thumbnail_features_of(data.features.thumbs, rows[fresh]), models, m)
    width = models[0][1].shape[1]
    present = np.zeros((len(models), m), dtype=bool)
    coef, intercept = np.zeros((len(models), m, width)), np.full((len(models), m), -np.inf)
    for fold, (classes_present, fold_coef, fold_intercept) in enumerate(models):
        present[fold, classes_present] = True
        coef[fold, classes_present], intercept[fold, classes_present] = fold_coef, fold_intercept
    step.keep(rows, {"scores": scores, "present": present, "coef": coef, "intercept": intercept})
    section.notes.append(step.note("label model"))
    return calibrated(scores, given, seed), _thumbnail_space(len(rows))


def _skill(accuracy: float, given: np.ndarray) -> tuple[float, float]:
    prior = float(np.bincount(given).max() / len(given))
    return prior, (accuracy - prior) / (1.0 - prior) if prior < 1.0 else 0.0


# --------------------------------------------------------------------------------------- detection


def _confident_learning(section: Section, data: AuditInput, rows: np.ndarray, given: np.ndarray,
                        probabilities: np.ndarray, classes: list[str]) -> None:
    predicted = probabilities.argmax(axis=1)
    accuracy = float((predicted == given).mean())
    prior, skill = _skill(accuracy, given)
    trusted = skill >= data.settings.min_skill
    result = find_label_issues(probabilities, given)
    flagged = np.flatnonzero(result.issue_mask)
    flagged = flagged[np.argsort(result.normalised_margin[flagged], kind="stable")]
    ranked = ranked_disagreements(probabilities, given)
    n = len(rows)
    section.metrics.update({
        "labels.issue_count": len(flagged) if trusted else 0,
        "labels.issue_rate": len(flagged) / n if trusted else 0.0,
        "labels.candidate_count": len(flagged),
        "labels.estimated_noise_rate": result.estimated_noise_rate,
        "labels.oof_accuracy": accuracy,
        "labels.prior_accuracy": prior,
        "labels.model_skill": skill,
        "labels.disagreement_count": len(ranked),
    })
    model_text = (f"The model is right on {accuracy:.1%} of the {n:,} images (always answering the largest class: "
                  f"{prior:.1%}; skill {skill:.2f})")
    if trusted:
        section.summary = (f"{len(flagged):,} images ({len(flagged) / n:.2%}) are suspected label errors; "
                           f"estimated noise {result.estimated_noise_rate:.2%}. {model_text}.")
    else:
        section.summary = (f"{model_text}: too weak to tell label errors from its own mistakes. The "
                           f"{len(flagged):,} rows confident learning flags ({len(flagged) / n:.0%}) are "
                           "low-confidence candidates, not findings.")
        section.notes.append(f"{model_text}. Below labels.min_skill {data.settings.min_skill:g} "
                             "the flagged rows are listed at severity info and labels.issue_count is 0; give "
                             "your own model's probabilities (--probs) or embeddings (--embeddings) for a "
                             "stronger check.")
    _issue_finding(section, data, rows, flagged, result, classes, trusted, model_text)
    _ranked_finding(section, data, rows, ranked, result, classes, predicted)
    user_model = data.table.outputs.probabilities is not None
    _confusion_views(section, given, predicted, classes,
                     "your model's prediction" if user_model else "predicted (out of fold)")
    _noise_table(section, result, given, classes)


def _issue_finding(section: Section, data: AuditInput, rows: np.ndarray, flagged: np.ndarray,
                   result: ConfidentLearning, classes: list[str], trusted: bool, model_text: str) -> None:
    if not len(flagged):
        return
    given = [classes[c] for c in result.given[flagged]]
    suggested = [classes[c] for c in result.suggested[flagged]]
    scores = np.round(result.normalised_margin[flagged], 3)
    n = len(rows)
    message = (f"{len(flagged):,} images ({len(flagged) / n:.2%}) look mislabelled (confident learning: the "
               "model is confidently sure of another class)" if trusted else
               f"low confidence: {len(flagged):,} images ({len(flagged) / n:.1%}) are flagged by confident learning, "
               f"but {model_text[0].lower() + model_text[1:]}, so most are the model's mistakes")
    section.findings.append(Finding(
        analyser=NAME, kind="label_issue", severity="warning" if trusted else "info", message=message,
        rows=rows[flagged].tolist(),
        detail={"given": given, "suggested": suggested, "normalised_margin": scores.tolist(),
                "trusted": trusted, "method": "confident learning, prune by noise rate"}))
    cap = data.config.montage_max
    section.montages.append(Montage(
        title="Suspected label errors" if trusted else "Confident-learning candidates (low confidence)",
        items=[MontageItem(int(rows[i]), f"{g} -> {s} ({score:+.2f})")
               for i, g, s, score in zip(flagged[:cap], given[:cap], suggested[:cap], scores[:cap], strict=True)],
        caption="Caption: given label -> suggested label (normalised margin: p(given) - max p(other); -1 is the "
                "surest error). Most likely errors first.", total=len(flagged)))


def _ranked_finding(section: Section, data: AuditInput, rows: np.ndarray, ranked: np.ndarray,
                    result: ConfidentLearning, classes: list[str], predicted: np.ndarray) -> None:
    top_k = data.settings.top_k
    top = ranked[:top_k]
    if not len(top):
        return
    given = [classes[c] for c in result.given[top]]
    suggested = [classes[c] for c in predicted[top]]
    scores = np.round(result.normalised_margin[top], 3)
    section.findings.append(Finding(
        analyser=NAME, kind="ranked_disagreement", severity="info",
        message=(f"the {len(top):,} images whose predicted class differs most surely from their label "
                 f"(of {len(ranked):,} disagreements; labels.top_k): review from the top"),
        rows=rows[top].tolist(),
        detail={"given": given, "predicted": suggested, "normalised_margin": scores.tolist()}))


def _confusion_views(section: Section, given: np.ndarray, predicted: np.ndarray, classes: list[str],
                     axis: str) -> None:
    m = len(classes)
    matrix = np.zeros((m, m), dtype=np.int64)
    np.add.at(matrix, (given, predicted), 1)
    shown = np.argsort(-matrix.sum(axis=1), kind="stable")[:HEATMAP_CLASSES]
    shown = np.sort(shown)
    names = [classes[i] for i in shown]
    sub = matrix[np.ix_(shown, shown)]
    shares = sub / np.maximum(sub.sum(axis=1, keepdims=True), 1)
    section.charts.append(Chart(
        title="Confusion matrix: given label vs " + axis,
        traces=[{"type": "heatmap", "z": np.round(shares, 4).tolist(), "x": names, "y": names,
                 "text": sub.tolist(), "colorscale": "Blues", "zmin": 0, "zmax": 1,
                 "hovertemplate": "given %{y}, predicted %{x}: %{text} images (%{z:.1%} of the class)"
                                  "<extra></extra>"}],
        layout={"xaxis": {"title": {"text": axis}, "type": "category"},
                "yaxis": {"title": {"text": "given label"}, "type": "category", "autorange": "reversed"},
                "height": max(360, 18 * len(names) + 160)},
        caption="Each row is one given label; colour = share of its images predicted as each class"
                + (f" (the {HEATMAP_CLASSES} largest of {m} classes)" if m > HEATMAP_CLASSES else "") + "."))
    off = matrix.copy()
    np.fill_diagonal(off, 0)
    pairs = np.dstack(np.unravel_index(np.argsort(-off, axis=None, kind="stable"), off.shape))[0][:PAIR_ROWS]
    class_sizes = matrix.sum(axis=1)
    table_rows = [[classes[i], classes[j], int(off[i, j]), f"{off[i, j] / class_sizes[i]:.1%}",
                   int(off[j, i])] for i, j in pairs if off[i, j] > 0]
    if table_rows:
        section.tables.append(TableBlock(
            title=f"Most confused class pairs: given label vs {axis}", columns=["given", "predicted", "images",
                                                        "share of the given class", "the other way round"],
            rows=table_rows, caption="Pairs the model mixes up most: look-alike classes, or a labelling rule "
                                     "that is not clear."))
    precision = np.diag(matrix) / np.maximum(matrix.sum(axis=0), 1)
    recall = np.diag(matrix) / np.maximum(class_sizes, 1)
    section.tables.append(TableBlock(
        title=f"Per-class precision and recall: {axis}", columns=["class", "images", "precision", "recall"],
        rows=[[classes[i], int(class_sizes[i]), f"{precision[i]:.1%}", f"{recall[i]:.1%}"] for i in range(m)],
        caption="Of the images predicted as the class, the share labelled so (precision); of the images labelled "
                "so, the share predicted so (recall)."))


def _noise_table(section: Section, result: ConfidentLearning, given: np.ndarray, classes: list[str]) -> None:
    rates = result.noise_rate_per_class
    counts = np.bincount(given, minlength=len(classes))
    flagged = np.bincount(given[result.issue_mask], minlength=len(classes))
    order = np.argsort(-rates, kind="stable")
    section.charts.append(Chart(
        title="Estimated label noise per class",
        traces=[{"type": "bar", "x": [classes[i] for i in order], "y": np.round(rates[order], 4).tolist(),
                 "hovertemplate": "%{x}: %{y:.1%} of its labels estimated wrong<extra></extra>"}],
        layout={"xaxis": {"type": "category"}, "yaxis": {"title": {"text": "estimated noise rate"},
                                                         "tickformat": ".0%"}},
        caption="Confident learning's estimate of the share of each class's labels that belong to another class "
                "(1 - Q[i][i] / sum_j Q[i][j])."))
    section.tables.append(TableBlock(
        title="Estimated noise rate per class", columns=["class", "images", "estimated noise rate", "flagged"],
        rows=[[classes[i], int(counts[i]), f"{rates[i]:.2%}", int(flagged[i])] for i in order]))


# ---------------------------------------------------------------------------------- the user's model


def _user_prediction_views(section: Section, data: AuditInput, rows: np.ndarray, given: np.ndarray,
                           probabilities: np.ndarray, classes: list[str]) -> None:
    """Top losses, as fastai's plot_top_losses: prediction / actual / loss / probability of the actual class."""
    rows_given = probabilities[np.arange(len(given)), given]
    loss = -np.log(np.clip(rows_given, 1e-12, 1.0))
    predicted = probabilities.argmax(axis=1)
    cap = data.config.montage_max
    top = np.argsort(-loss, kind="stable")[:cap]
    section.montages.append(Montage(
        title="Top losses",
        items=[MontageItem(int(rows[i]), f"{classes[predicted[i]]} / {classes[given[i]]} / {loss[i]:.2f} / "
                                         f"{rows_given[i]:.2f}") for i in top],
        caption="Caption: prediction / actual (given label) / loss (-log p(actual)) / probability of the actual "
                "class. Highest loss first.", total=len(rows)))
    section.metrics["labels.mean_loss"] = float(loss.mean())


def _predicted_label_views(section: Section, data: AuditInput, labels: np.ndarray, usable: np.ndarray) -> None:
    """--pred-col without probabilities: accuracy, precision and recall, the confusion matrix."""
    predicted_all = data.table.column_values(data.table.outputs.pred_col)
    assert predicted_all is not None
    predicted = np.array([trimmed(value) for value in predicted_all], dtype=object)[usable]
    given = labels[usable]
    classes = sorted(set(given.tolist()) | set(predicted.tolist()) - {""})
    index = {name: i for i, name in enumerate(classes)}
    has_prediction = predicted != ""
    given_index = np.array([index[v] for v in given[has_prediction]], dtype=np.int64)
    predicted_index = np.array([index[v] for v in predicted[has_prediction]], dtype=np.int64)
    accuracy = float((given_index == predicted_index).mean()) if len(given_index) else 0.0
    section.metrics["labels.prediction_accuracy"] = accuracy
    section.notes.append(f"Your predictions (--pred-col {data.table.outputs.pred_col}) agree with the labels on "
                         f"{accuracy:.1%} of {len(given_index):,} images.")
    if len(given_index):
        _confusion_views(section, given_index, predicted_index, classes,
                         f"your prediction ({data.table.outputs.pred_col})")


# ------------------------------------------------------------------------------------------ kNN check


def _knn_check(section: Section, data: AuditInput, labels: np.ndarray) -> None:
    """Images whose nearest neighbours mostly carry one other label (moved here from the embedding analyser)."""
    features = data.features
    assert features is not None
    config = data.config
    ok_rows = np.flatnonzero(features.ok)
    n = len(ok_rows)
    if n < MIN_ROWS:
        return
    # The embedding analyser's space and search settings (already checked by the pipeline).
    space_settings = resolve(embedding.ANALYSER.settings, config.analysers.get(embedding.NAME, {}), embedding.NAME)
    dims, knn_max = space_settings.dims, space_settings.knn_max
    k = min(space_settings.k, n - 1)
    shared = embedding.neighbourhood(data, ok_rows, dims, k, knn_max)  # the embedding analyser's, when it ran here
    if not shared.usable:  # every image the same: no neighbours to compare (the embedding section says so)
        return
    space, queries, neighbour_index = shared.space, shared.queries, shared.index
    own = labels[ok_rows]
    other_share = data.settings.knn_other_share
    own_share = data.settings.knn_own_share
    flagged, top_label, top_share = label_disagreement(own[queries], own[neighbour_index], other_share, own_share)
    hits = np.flatnonzero(flagged)
    hits = hits[np.argsort(-top_share[hits], kind="stable")]
    rows = ok_rows[queries[hits]]
    section.metrics["labels.knn_disagreement_count"] = len(hits)
    section.metrics["labels.knn_disagreement_rate"] = len(hits) / len(queries)
    if not len(hits):
        return
    section.findings.append(Finding(
        analyser=NAME, kind="label_disagreement", severity="info",
        message=(f"{plural_count(len(hits), 'image')} ({len(hits) / len(queries):.2%} of the {len(queries):,} whose neighbours "
                 f"were searched) {'has' if len(hits) == 1 else 'have'} at least {other_share:.0%} of their "
                 f"{k} nearest neighbours with one other label and "
                 + (f"at most {own_share:.0%}" if own_share > 0 else "none") + " with their own: "
                 "possible mislabels, or look-alikes of another class"),
        rows=rows.tolist(),
        detail={"neighbour_label": [str(top_label[i]) for i in hits],
                "neighbour_share": [round(float(top_share[i]), 3) for i in hits], "k": k, "space": space}))
    cap = config.montage_max
    section.montages.append(Montage(
        title="Neighbours carry another label",
        items=[MontageItem(int(r), f"{own[queries[i]]} -> {top_label[i]} ({top_share[i]:.0%})")
               for r, i in zip(rows[:cap], hits[:cap], strict=True)],
        caption="Caption: own label -> the label most of its neighbours carry (share of neighbours).",
        total=len(hits)))
    pairs = Counter(zip(own[queries[hits]].tolist(), top_label[hits].tolist(), strict=True))
    section.tables.append(TableBlock(
        title="Neighbours' label disagreement: own label -> neighbours' label",
        columns=["own label", "neighbours' label", "images"],
        rows=[[a, b, c] for (a, b), c in pairs.most_common(20)]))


def label_disagreement(own: np.ndarray, neighbour_labels: np.ndarray, other_share: float,
                       own_share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per query: flagged?, the most common other label, its share among the neighbours."""
    k = neighbour_labels.shape[1]
    same = (neighbour_labels == own[:, None]).sum(axis=1) / k
    top_label = np.empty(len(own), dtype=object)
    top_share = np.zeros(len(own))
    for i, row in enumerate(neighbour_labels):
        counts = Counter(label for label in row.tolist() if label != own[i] and label != "")
        if counts:
            top_label[i], count = counts.most_common(1)[0]
            top_share[i] = count / k
        else:
            top_label[i] = ""
    flagged = (own != "") & (same <= own_share + 1e-9) & (top_share >= other_share - 1e-9)
    return flagged, top_label, top_share


ANALYSER = Analyser(
    name=NAME,
    title="Label quality",
    run=run,
    # CIFAR-10 60k timings (make bench): the slowest analysers start first; below the t-SNE map's 5, which starts
    # beside the duplicate search (embedding.ANALYSER.side).
    cost=4,
    shares=embedding.NEIGHBOURHOOD,  # the kNN check searches the embedding analyser's neighbours
    needs=("images", "decoded", "labels"),
    settings=(
        Setting("folds", 5, "cross-validation folds of the cheap model; classes with fewer images are left out",
                minimum=2),
        Setting("min_skill", 0.8, "model skill (accuracy over the class prior) above which flagged rows are "
                "reported as suspected errors (warning) and counted in labels.issue_count", minimum=0, maximum=1),
        Setting("top_k", 100, "length of the ranked list of disagreements (predicted class differs from the label)",
                minimum=1),
        Setting("knn_other_share", 0.8, "the kNN check flags an image when at least this share of its neighbours "
                "carry one other label (and knn_own_share)", minimum=0, maximum=1),
        Setting("knn_own_share", 0.0, "the kNN check also needs at most this share of its neighbours with its own label", minimum=0, maximum=1),
    ),
    metrics={
        "labels.issue_count": "suspected label errors (confident learning); 0 when the model is too weak to trust "
                              "(labels.model_skill < min_skill)",
        "labels.issue_rate": "suspected label errors / images the label model saw (0 when the model is too weak)",
        "labels.candidate_count": "rows confident learning flags, whatever the model's skill",
        "labels.estimated_noise_rate": "estimated share of wrong labels (off-diagonal mass of the calibrated "
                                       "confident joint)",
        "labels.oof_accuracy": "accuracy of the out-of-fold (or your) predicted probabilities against the labels",
        "labels.prior_accuracy": "accuracy of always answering the largest class (the baseline a model must beat)",
        "labels.model_skill": "(oof_accuracy - prior_accuracy) / (1 - prior_accuracy): 0 = no better than the prior",
        "labels.disagreement_count": "images whose most probable class is not their label",
        "labels.mean_loss": "mean cross-entropy of your probabilities (--probs / --probs-prefix) on the labels",
        "labels.prediction_accuracy": "share of images whose --pred-col prediction equals the label",
        "labels.knn_disagreement_count": "images whose nearest neighbours mostly carry one other label",
        "labels.knn_disagreement_rate": "kNN label-disagreement images / images whose neighbours were searched",
    },
)
