"""Target leakage in the table: one column that predicts the label, names that spell the class, rows sorted by class.

Each column is scored alone by cross-validation (a small decision tree for numbers and dates, a per-value majority
vote for categories) on a seeded sample of at most `max_rows` labelled rows, so the cost is O(columns x max_rows)
whatever the table's size. The row-order check is one vectorised pass over the labels.

Scores are balanced accuracy adjusted for chance (scikit-learn's `adjusted=True`): 0 = no better than guessing,
1 = every row right, whatever the number and sizes of classes.
"""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..dataset import trimmed_column
from ..model import Analyser, AuditInput, Chart, Finding, Section, TableBlock
from ..settings import Setting
from ._tabular import LETTER_DIGIT, TOKEN, ColumnProfile

if TYPE_CHECKING:
    from sklearn import model_selection

NAME = "target_leakage"
SETTINGS = (
    Setting("max_rows", 20_000, "labelled rows sampled (seeded) for the per-column scores", minimum=10),
    Setting("score_threshold", 0.9, "a column scoring at least this (0 = chance, 1 = perfect) leaks the label",
            minimum=0, maximum=1),
    Setting("folds", 5, "cross-validation folds", minimum=2),
    Setting("order_runs_ratio", 0.5, "label runs in file order / runs expected in random order below this means "
            "the rows are sorted by label", minimum=0),
    Setting("max_columns", 200, "columns scored (in table order)", minimum=0),
)
LAST_NUMBER = re.compile(r"(\d+)(?!.*\d)")
# Class names at least this long also count when they are part of a longer word ("cat" in "cat001" is split
# already; "golden_retriever" in "goldenretriever12" needs the substring test).
SUBSTRING_MIN_LENGTH = 4
SUBSTRING_MAX_CLASSES = 50
FLOAT32_SAFE = float(np.finfo(np.float32).max) / 4


def adjusted_score(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Balanced accuracy rescaled so chance is 0 and perfect is 1 (negative values clipped to 0)."""
    return max(0.0, _balanced_accuracy(y_true, y_pred, adjusted=True))


def _balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray, adjusted: bool = False) -> float:
    # Imported where used: a warm run, every section from the analysis cache, imports no scikit-learn.
    from sklearn.metrics import balanced_accuracy_score

    with warnings.catch_warnings():  # a rule's "no class found" is a prediction outside y_true: a miss, not news
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true", category=UserWarning)
        return float(balanced_accuracy_score(y_true, y_pred, adjusted=adjusted))


def _normal(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def run(data: AuditInput) -> Section:
    table = data.table
    frame = table.frame
    section = Section(name=NAME, title="Target leakage")
    profiles = data.profiles
    label_missing = profiles[table.label_col].missing
    all_labels = trimmed_column(frame[table.label_col]).to_numpy(dtype=object)
    labelled = np.flatnonzero(~label_missing)
    classes = pd.Series(all_labels[labelled]).value_counts()
    if len(classes) < 2:
        section.skipped = "fewer than two classes: nothing to predict"
        return section
    from_folders = table.from_folder

    sample = _sample(labelled, all_labels, data.settings.max_rows, data.config.seed)
    y = all_labels[sample]
    if sample.size == 0 or len(set(y.tolist())) < 2:
        section.skipped = "fewer than two classes with two or more labelled rows: nothing to cross-validate"
        return section
    folds = int(min(data.settings.folds, pd.Series(y).value_counts().min()))
    threshold = data.settings.score_threshold
    scores: list[dict] = []
    skip = {table.label_col, table.split_col, table.path_col}
    candidates = [c for c in profiles if c not in skip][: data.settings.max_columns]
    if folds >= 2:
        for name in candidates:
            scores.extend(_score_column(profiles[name], frame[name], sample, y, folds, data.config.seed))
    name_hits = []
    for name in [table.path_col, *candidates] if table.path_col else candidates:
        profile = profiles[name]
        if profile.kind != "text" or (name != table.path_col and profile.unique_share <= 0.5):
            continue
        hit = _names_the_class(frame[name], sample, y, list(classes.index))
        if hit is not None:
            hit["column"] = name
            name_hits.append(hit)

    leaky = [s for s in scores if s["score"] >= threshold]
    best_by_column: dict[str, dict] = {}
    for entry in leaky:
        if entry["score"] > best_by_column.get(entry["column"], {"score": -1})["score"]:
            best_by_column[entry["column"]] = entry
    for entry in best_by_column.values():
        section.findings.append(_leaky_finding(entry, len(sample), folds))
    counted_names = 0
    for hit in name_hits:
        if hit["score"] < threshold:
            continue
        layout = hit["column"] == table.path_col and (from_folders or hit["where"] == "folder")
        counted_names += 0 if layout else 1
        section.findings.append(_name_finding(hit, layout, from_folders))

    order = _row_order(all_labels[labelled], np.array([table.original_row(int(r)) for r in labelled]), data.settings.order_runs_ratio, from_folders,
                       section)
    max_entry = max(scores, key=lambda s: s["score"], default=None)
    name_scores = [h["score"] for h in name_hits
                   if not (h["column"] == table.path_col and (from_folders or h["where"] == "folder"))]
    max_score = max([max_entry["score"] if max_entry else 0.0, *name_scores])
    section.metrics = {
        "leakage.target_max_score": max_score,
        "leakage.target_column_count": len(best_by_column),
        "leakage.label_in_name_count": counted_names,
        "leakage.label_order_runs_ratio": order,
    }
    if scores:
        ranked = sorted(scores, key=lambda s: -s["score"])
        section.tables.append(TableBlock(
            title="How well each column predicts the label alone",
            columns=["column", "used as", "score (0 chance, 1 perfect)", "balanced accuracy"],
            rows=[[s["column"], s["feature"], round(s["score"], 3), round(s["balanced_accuracy"], 3)]
                  for s in ranked[:50]],
            caption=(f"{folds}-fold cross-validation on {len(sample):,} labelled rows (seed {data.config.seed}); "
                     "score = balanced accuracy adjusted for chance."),
        ))
        top = ranked[:30]
        section.charts.append(Chart(
            title="Label predicted from one column",
            traces=[{"type": "bar", "orientation": "h", "y": [f"{s['column']} ({s['feature']})" for s in top][::-1],
                     "x": [round(s["score"], 3) for s in top][::-1]}],
            layout={"xaxis": {"title": {"text": "score (0 chance, 1 perfect)"}, "range": [0, 1]},
                    "yaxis": {"type": "category"}, "height": 120 + 22 * len(top)},
        ))
    if folds < 2:
        section.notes.append("Too few rows per class for cross-validation: column scores were not computed.")
    section.summary = (
        f"Best single-column score {max_score:.2f} (0 = chance, 1 = perfect) over {len(candidates)} column(s); "
        f"{len(best_by_column)} column(s) predict the label almost perfectly; "
        + ("row order looks random." if order >= data.settings.order_runs_ratio else
           "rows are ordered by label.")
    )
    return section


def _sample(labelled: np.ndarray, labels: np.ndarray, cap: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    sample = labelled if labelled.size <= cap else np.sort(rng.choice(labelled, cap, replace=False))
    # Classes with a single sampled row cannot be cross-validated.
    counts = pd.Series(labels[sample]).value_counts()
    keep = np.isin(labels[sample], counts.index[counts >= 2].to_numpy())
    return sample[keep]


def _score_column(profile: ColumnProfile, series: pd.Series, sample: np.ndarray, y: np.ndarray, folds: int,
                  seed: int) -> list[dict]:
    if profile.distinct < 2:
        return []
    results = []
    if profile.kind in {"number", "date"} and profile.numeric is not None:
        results.append(_tree_score(profile.numeric[sample], y, folds, seed, profile.name,
                                   "date" if profile.kind == "date" else "number"))
    elif profile.kind in {"text", "boolean"}:
        values = series.iloc[sample].astype(str).to_numpy(dtype=object)
        values[profile.missing[sample]] = "\0missing"
        if profile.unique_share <= 0.5:
            results.append(_lookup_score(values, y, folds, seed, profile.name))
        numbers = pd.Series(values).str.extract(LAST_NUMBER, expand=False)
        if numbers.notna().mean() >= 0.9:
            results.append(_tree_score(pd.to_numeric(numbers, errors="coerce").to_numpy(dtype=np.float64),
                                       y, folds, seed, profile.name, "number inside"))
    return [r for r in results if r is not None]


def _folds(folds: int, seed: int) -> model_selection.StratifiedKFold:
    from sklearn.model_selection import StratifiedKFold

    return StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)


def _tree_score(x: np.ndarray, y: np.ndarray, folds: int, seed: int, column: str, feature: str) -> dict | None:
    finite = np.isfinite(x)
    if not finite.any():
        return None
    # The tree works in float32: values beyond a quarter of its range are clipped there (their order among themselves
    # is lost, not the column), so a cell of 1e300 does not stop the analyser.
    x = np.clip(x, -FLOAT32_SAFE, FLOAT32_SAFE)
    # Missing values become their own bin below every real value.
    lowest = float(x[finite].min())
    below = lowest - 1.0 if np.float32(lowest - 1.0) < np.float32(lowest) else lowest - abs(lowest) / 2
    filled = np.where(finite, x, below).reshape(-1, 1)
    classes = len(np.unique(y))
    from sklearn.model_selection import cross_val_predict
    from sklearn.tree import DecisionTreeClassifier

    tree = DecisionTreeClassifier(max_leaf_nodes=int(min(256, max(8, 2 * classes))), min_samples_leaf=2,
                                  random_state=seed)
    with warnings.catch_warnings():  # many small classes: sklearn guesses "regression"; these are labels
        warnings.filterwarnings("ignore", message="The number of unique classes", category=UserWarning)
        predicted = cross_val_predict(tree, filled, y, cv=_folds(folds, seed))
    return _entry(column, feature, y, predicted)


def _lookup_score(values: np.ndarray, y: np.ndarray, folds: int, seed: int, column: str) -> dict:
    """Predict each row's label as the most common label of its value in the other folds."""
    predicted = np.empty(len(y), dtype=object)
    for train, test in _folds(folds, seed).split(values, y):
        train_frame = pd.DataFrame({"value": values[train], "label": y[train]})
        pairs = train_frame.groupby(["value", "label"]).size().reset_index(name="rows")
        majority = pairs.sort_values("rows", ascending=False, kind="stable").drop_duplicates("value")
        lookup = dict(zip(majority["value"], majority["label"], strict=True))
        fallback = pd.Series(y[train]).value_counts().index[0]
        predicted[test] = [lookup.get(v, fallback) for v in values[test]]
    entry = _entry(column, "category", y, predicted)
    frame = pd.DataFrame({"value": values, "label": y})
    purity = frame.groupby("value")["label"].agg(lambda s: s.value_counts().index[0])
    entry["mapping"] = {str(k): str(v) for k, v in list(purity.items())[:10]}
    return entry


def _entry(column: str, feature: str, y: np.ndarray, predicted: np.ndarray) -> dict:
    return {"column": column, "feature": feature, "score": adjusted_score(y, predicted),
            "balanced_accuracy": _balanced_accuracy(y, predicted)}


def _leaky_finding(entry: dict, rows: int, folds: int) -> Finding:
    how = {"number": "its values", "date": "its dates", "category": "its values",
           "number inside": "the number inside its values"}[entry["feature"]]
    message = (f"column {entry['column']!r} predicts the label almost perfectly from {how}: score "
               f"{entry['score']:.2f} (balanced accuracy {entry['balanced_accuracy']:.1%}, {folds}-fold CV on "
               f"{rows:,} rows). A model given this column learns it instead of the images; check how it was made")
    detail = {k: v for k, v in entry.items()}
    return Finding(analyser=NAME, kind="leaky_column", severity="warning", message=message, detail=detail)


def _tokens(value: str) -> tuple[set[str], list[str]]:
    """Word tokens (letters and digits split) and the normalised path components (extension dropped)."""
    lowered = value.casefold()
    words = {part for word in TOKEN.findall(lowered) for part in LETTER_DIGIT.split(word) if part}
    words |= set(TOKEN.findall(lowered))
    parts = re.split(r"[\\/]", lowered)
    if parts:
        parts[-1] = re.sub(r"\.[a-z0-9]{1,5}$", "", parts[-1])
    return words, [_normal(p) for p in parts if p]


def _names_the_class(series: pd.Series, sample: np.ndarray, y: np.ndarray, classes: list[str]) -> dict | None:
    """Score of the rule 'the class is the class name written in this value' (no fitting, so no CV needed)."""
    names = {_normal(c): c for c in classes if _normal(c)}
    alphabetic = {n for n in names if not n.isdigit()}
    substring_names = [n for n in alphabetic if len(n) >= SUBSTRING_MIN_LENGTH] \
        if len(names) <= SUBSTRING_MAX_CLASSES else []
    predicted = np.empty(len(sample), dtype=object)
    in_folder = 0
    values = series.iloc[sample].astype(str).tolist()
    for i, value in enumerate(values):
        words, parts = _tokens(value)
        found = None
        for depth, part in enumerate(parts):
            if part in names:  # a whole folder or file name (digit classes count only here: "train/3/x.png")
                found = names[part]
                in_folder += depth < len(parts) - 1
                break
        if found is None:
            hits = [n for n in alphabetic if n in words] or [n for n in substring_names if any(n in p for p in parts)]
            if len(hits) == 1:
                found = names[hits[0]]
        predicted[i] = found if found is not None else "\0none"
    if (predicted == "\0none").mean() > 0.5:
        return None
    score = adjusted_score(y, predicted)
    return {"score": score, "balanced_accuracy": _balanced_accuracy(y, predicted),
            "where": "folder" if in_folder >= 0.5 * len(values) else "name",
            "examples": [v for v, p, t in zip(values, predicted, y, strict=True) if p == t][:5]}


def _name_finding(hit: dict, layout: bool, from_folders: bool) -> Finding:
    column = hit["column"]
    if layout:
        origin = "the labels were read from the folder layout" if from_folders else "images sit in class folders"
        message = (f"column {column!r} names the class in its folders ({origin}); fine for training on pixels, "
                   "but never feed paths to a model, and wrong folders mean wrong labels")
        severity = "info"
    else:
        message = (f"column {column!r} spells out the class in its values (e.g. {hit['examples'][0]!r}): score "
                   f"{hit['score']:.2f}. A model that sees this column cheats, and labels derived from names are "
                   "only as good as the names")
        severity = "warning"
    return Finding(analyser=NAME, kind="label_in_name", severity=severity, message=message,
                   detail={**hit, "folder_layout": layout})


def _row_order(labels: np.ndarray, positions: np.ndarray, limit: float, from_folders: bool,
               section: Section) -> float:
    """Label runs in file order divided by the runs expected if the rows were shuffled (~1 random, ~0 sorted)."""
    m = len(labels)
    if m < 20:
        return 1.0
    changes = labels[1:] != labels[:-1]
    runs = 1 + int(changes.sum())
    counts = pd.Series(labels).value_counts().to_numpy(dtype=np.float64)
    same_neighbour = float((counts * (counts - 1)).sum() / (m * (m - 1)))
    expected = 1 + (m - 1) * (1 - same_neighbour)
    ratio = runs / expected
    if ratio >= limit:
        return ratio
    if from_folders:
        # The loader walked the class folders in order: the order is ours, not the user's, so it does not count.
        section.notes.append("Rows follow the folder layout, so they are grouped by class by construction; "
                             "shuffle before splitting or batching.")
        return 1.0
    starts = np.r_[0, np.flatnonzero(changes) + 1]
    ends = np.r_[starts[1:] - 1, m - 1]
    shown = [{"label": str(labels[s]), "first_row": int(positions[s]), "last_row": int(positions[e])}
             for s, e in zip(starts[:20], ends[:20], strict=True)]
    section.findings.append(Finding(
        analyser=NAME, kind="label_order", severity="warning",
        message=(f"rows are ordered by label: {runs:,} runs of one label where about {expected:,.0f} are expected in "
                 "random order; a split or batch taken without shuffling will be skewed"),
        detail={"runs": runs, "expected_runs": expected, "ratio": ratio, "first_runs": shown},
    ))
    return ratio


ANALYSER = Analyser(
    name=NAME,
    title="Target leakage",
    run=run,
    settings=SETTINGS,
    needs=("labels",),
    uses_profiles=True,
    metrics={
        "leakage.target_max_score": "best chance-adjusted balanced accuracy of the label predicted from one column "
                                    "alone (0 chance, 1 perfect; class folders not counted)",
        "leakage.target_column_count": "columns that predict the label with a score >= score_threshold",
        "leakage.label_in_name_count": "id/name/path columns that spell out the class (class folders not counted)",
        "leakage.label_order_runs_ratio": "label runs in file order / runs expected when shuffled (~1 random, ~0 sorted; "
                                          "1 for folder layouts, whose order the loader sets)",
    },
)
