"""Confident learning (Northcutt, Jiang and Chuang, "Confident Learning: Estimating Uncertainty in Dataset Labels",
JMLR 2021), written from the paper: which given labels are likely wrong, from out-of-sample predicted probabilities.

Notation follows the paper: n examples, m classes, given (noisy) labels y~, predicted probabilities p^(y~=j; x).
- Per-class threshold t_j: the average self-confidence of the examples labelled j, mean of p^(y~=j; x) over y~=j.
- Confident joint C[i][j]: examples labelled i whose probability for j reaches t_j (when several classes j reach
  their thresholds, the one with the largest probability). Examples reaching no threshold are not counted.
- Calibrated joint Q: each row of C rescaled to the number of examples given label i, then divided by n; it
  estimates the joint distribution of (given label, true label). Off-diagonal mass = the estimated noise rate.
- Prune by noise rate (the paper's C_{+NR}-family default, also cleanlab's): for every off-diagonal cell (i, j),
  the n x Q[i][j] examples (rounded so that every row keeps its total) labelled i with the largest margin p^(j) - p^(i) are label issues. An example the
  model predicts as its given label is never an issue.
- Ranking: by normalised margin p^(given) - max_{k != given} p^(k) (lowest first) or by self-confidence.

Cost: O(n x m) time and memory, plus one argsort per off-diagonal cell over that class's examples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THRESHOLD_TOLERANCE = 1e-6  # a probability equal to the threshold counts as reaching it, despite float noise


@dataclass
class ConfidentLearning:
    """What confident learning estimated from (given labels, probabilities); indices are positions in the inputs."""

    given: np.ndarray  # (n,) int: the given class indices
    thresholds: np.ndarray  # (m,) t_j
    confident_joint: np.ndarray  # (m, m) int counts C[given][true]
    joint: np.ndarray  # (m, m) calibrated joint Q, sums to 1
    issue_mask: np.ndarray  # (n,) bool: flagged by prune-by-noise-rate
    suggested: np.ndarray  # (n,) int: the most probable class other than the given one
    self_confidence: np.ndarray  # (n,) p^(given)
    normalised_margin: np.ndarray  # (n,) p^(given) - max other p^, in [-1, 1]; low = likely wrong

    @property
    def noise_rate_per_class(self) -> np.ndarray:
        """Share of the examples given label i whose true label is estimated to be another class."""
        given_share = self.joint.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = 1.0 - np.diag(self.joint) / given_share
        return np.where(given_share > 0, rate, 0.0)

    @property
    def estimated_noise_rate(self) -> float:
        """Estimated share of all examples whose given label is wrong: the off-diagonal mass of Q."""
        return float(1.0 - np.trace(self.joint))


def per_class_thresholds(probabilities: np.ndarray, given: np.ndarray) -> np.ndarray:
    """t_j = mean self-confidence of the examples labelled j (1.0, never reached, for a class nobody carries)."""
    m = probabilities.shape[1]
    counts = np.bincount(given, minlength=m)
    sums = np.bincount(given, weights=probabilities[np.arange(len(given)), given], minlength=m)
    return np.where(counts > 0, sums / np.maximum(counts, 1), 1.0)


def confident_joint(probabilities: np.ndarray, given: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """C[i][j]: examples labelled i counted as truly j (probability of j at least t_j, the largest such)."""
    m = probabilities.shape[1]
    above = probabilities >= thresholds[None, :] - THRESHOLD_TOLERANCE
    candidate = np.where(above, probabilities, -np.inf)
    true_guess = candidate.argmax(axis=1)
    counted = above.any(axis=1)
    joint = np.zeros((m, m), dtype=np.int64)
    np.add.at(joint, (given[counted], true_guess[counted]), 1)
    return joint


def calibrate(joint_counts: np.ndarray, given: np.ndarray) -> np.ndarray:
    """Q: rows of C rescaled to the given-label counts, normalised to sum to 1 (paper, equation 2)."""
    m = joint_counts.shape[0]
    label_counts = np.bincount(given, minlength=m).astype(np.float64)
    row_sums = joint_counts.sum(axis=1).astype(np.float64)
    calibrated = np.zeros((m, m))
    for i in range(m):
        if row_sums[i] > 0:
            calibrated[i] = joint_counts[i] / row_sums[i] * label_counts[i]
        elif label_counts[i] > 0:
            calibrated[i, i] = label_counts[i]  # nobody labelled i was confident anywhere: no evidence of noise
    total = calibrated.sum()
    return calibrated / total if total > 0 else calibrated


def prune_by_noise_rate(probabilities: np.ndarray, given: np.ndarray, joint: np.ndarray,
                        min_kept_per_class: int = 1) -> np.ndarray:
    """Flag, for every off-diagonal (i, j), the n x Q[i][j] examples (rounded keeping row totals) labelled i with the largest margin
    p^(j) - p^(i); at least min_kept_per_class examples of every class stay unflagged."""
    n, m = probabilities.shape
    flagged = np.zeros(n, dtype=bool)
    remove = round_keeping_row_totals(joint * n)
    np.fill_diagonal(remove, 0)
    for i in range(m):
        members = np.flatnonzero(given == i)
        budget = max(0, len(members) - min_kept_per_class)
        wanted = remove[i].sum()
        if wanted > budget and wanted > 0:  # shrink every cell of the row alike to the budget
            remove[i] = np.floor(remove[i] * budget / wanted).astype(np.int64)
        for j in np.flatnonzero(remove[i]):
            margin = probabilities[members, j] - probabilities[members, i]
            top = members[np.argsort(-margin, kind="stable")[:remove[i, j]]]
            flagged[top] = True
    flagged &= probabilities.argmax(axis=1) != given
    return flagged


def round_keeping_row_totals(counts: np.ndarray) -> np.ndarray:
    """Whole numbers whose rows add up to the rounded row sums (largest remainder): a class of 1,000 images keeps
    1,000 between its cells, instead of losing a few to rounding each cell on its own."""
    floors = np.floor(counts).astype(np.int64)
    missing = np.rint(counts.sum(axis=1)).astype(np.int64) - floors.sum(axis=1)
    remainders = counts - floors
    for i in np.flatnonzero(missing > 0):
        floors[i, np.argsort(-remainders[i], kind="stable")[:missing[i]]] += 1
    return floors


def margins(probabilities: np.ndarray, given: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Self-confidence p^(given), normalised margin p^(given) - max other, and the most probable other class."""
    rows = np.arange(len(given))
    self_confidence = probabilities[rows, given]
    others = probabilities.copy()
    others[rows, given] = -np.inf
    suggested = others.argmax(axis=1)
    return self_confidence, self_confidence - others[rows, suggested], suggested


def find_label_issues(probabilities: np.ndarray, given: np.ndarray) -> ConfidentLearning:
    """Confident learning on (n, m) out-of-sample probabilities and (n,) given class indices 0..m-1."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    given = np.asarray(given, dtype=np.int64)
    if probabilities.ndim != 2 or len(probabilities) != len(given):
        raise ValueError("probabilities must be (n, classes) with one row per given label")
    if len(given) and (given.min() < 0 or given.max() >= probabilities.shape[1]):
        raise ValueError("given labels must be class indices 0..classes-1")
    thresholds = per_class_thresholds(probabilities, given)
    counts = confident_joint(probabilities, given, thresholds)
    joint = calibrate(counts, given)
    self_confidence, normalised_margin, suggested = margins(probabilities, given)
    return ConfidentLearning(given=given, thresholds=thresholds, confident_joint=counts, joint=joint,
                             issue_mask=prune_by_noise_rate(probabilities, given, joint), suggested=suggested,
                             self_confidence=self_confidence, normalised_margin=normalised_margin)


def ranked_disagreements(probabilities: np.ndarray, given: np.ndarray) -> np.ndarray:
    """Positions where the most probable class is not the given one, most confident disagreement first
    (by normalised margin, lowest first): the ranked list that stays useful when the rule flags few."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    given = np.asarray(given, dtype=np.int64)
    _, normalised_margin, _ = margins(probabilities, given)
    disagree = np.flatnonzero(probabilities.argmax(axis=1) != given)
    return disagree[np.argsort(normalised_margin[disagree], kind="stable")]
