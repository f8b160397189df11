"""--incremental: the costly searches keep their fits and per-image results, and a later run on the same images
plus a few new ones updates them instead of starting again.

Without --incremental every result is a function of the dataset alone (a warm re-run of an unchanged dataset
reads whole sections from the analysis cache; any change recomputes them). With it, five steps keep state under
<cache dir>/incremental/ after each run and reuse it when every image of the stored run is still there (same
file bytes, same thumbnail; rows may be reordered) and at most `max_new_share` of the images are new:
- the duplicate search (thumbnail_search.nearest_neighbours): the PCA axes and k-means cells are kept; the new
  images are searched against all, and every stored image's shortlist takes in the new images that come closer;
- the pHash search (duplicates._phash_pairs): the stored pairs, plus the new images' (hamming_search.pairs_with);
- the kNN search of the embedding and labels analysers (embedding.neighbourhood): the PCA is kept; the new images'
  neighbours are searched among all, and the stored images' lists take in closer new ones (exact for that PCA);
- the label model (labels): the stored images keep their out-of-fold scores; the new images are scored by the
  stored fold models, none of which saw them (so they stay held out), and the temperature is fitted again;
- the t-SNE map (embedding.map_points): kept as it is; the new images join it at the next full run.
What differs from a cold run: the fits (PCA, cells, fold models) come from the stored run's images, not from the
current ones, so a borderline near duplicate or kNN disagreement can come out differently; a cold run (without
--incremental, or after deleting the incremental folder) gives the dataset-only answer. Each section says when
it reused a stored run. Removed or changed images, a different code version or different settings mean a full
run (which stores new state).

Like the other caches the folder holds data, never code: numpy .npz files read with allow_pickle=False. Size: 101.3
MB in all for 60,600 CIFAR-10 images (make bench), about 1.7 KB per image, most of it the duplicate search's
projections, probed cells and shortlists of three query sets; then the kNN search's vectors and lists, the label
model's out-of-fold scores, the map and the pHash pairs. Each state file is replaced by the next run's.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

FOLDER = "incremental"
MAX_NEW_SHARE = 0.1  # above this share of new images the stored fits may no longer describe the data: a full run
KEY_BLOCK = 65_536  # thumbnails hashed at once (50 MB of 16x16x3)
_MIX = np.random.default_rng(20261128).integers(1, 2**63, size=96, dtype=np.uint64) | np.uint64(1)


@dataclass
class Recalled:
    """A stored state matched to the current rows: arrays as stored, and for each current row its stored row
    (old_of_new, -1 for a new one)."""

    arrays: dict[str, np.ndarray]
    old_of_new: np.ndarray

    @property
    def fresh(self) -> np.ndarray:
        """Positions (into the current rows) of the rows the stored run did not have."""
        return np.flatnonzero(self.old_of_new < 0)

    @property
    def kept(self) -> np.ndarray:
        return np.flatnonzero(self.old_of_new >= 0)

    @property
    def stored_count(self) -> int:
        return int((self.old_of_new >= 0).sum())

    @property
    def new_of_old(self) -> np.ndarray:
        """For each stored row, its position among the current rows (every stored row is there: recall checks)."""
        kept = self.kept
        out = np.empty(len(kept), dtype=np.int64)
        out[self.old_of_new[kept]] = kept
        return out


@dataclass(frozen=True)
class Reuse:
    """Where the incremental state lives and when it may be reused (AuditInput.reuse; None without --incremental).
    Plain data, so it travels to the lanes' processes."""

    folder: Path
    max_new_share: float = MAX_NEW_SHARE

    def _file(self, name: str, params: tuple) -> Path:
        from .analysis_cache import code_digest

        digest = hashlib.blake2b(repr((params, code_digest())).encode(), digest_size=10).hexdigest()
        return self.folder / f"{name}-{digest}.npz"

    def recall(self, name: str, params: tuple, keys: np.ndarray) -> Recalled | str:
        """The state stored under `name` for the same `params` and code, matched to the rows whose keys are `keys`
        (row_keys), or why it cannot be used."""
        path = self._file(name, params)
        if not path.exists():
            return "no stored run with these settings and this version"
        try:
            with np.load(path, allow_pickle=False) as stored:
                arrays = {k: stored[k] for k in stored.files}
        except (OSError, ValueError, KeyError, EOFError) as exc:  # a damaged file: a full run replaces it
            return f"the stored state could not be read ({type(exc).__name__})"
        old_keys = arrays.pop("__keys__", None)
        if old_keys is None:
            return "the stored state has no row keys"
        index = pd.Index(old_keys)
        if not index.is_unique:
            return "the stored state's row keys repeat"
        old_of_new = index.get_indexer(keys)
        found = int((old_of_new >= 0).sum())
        if found < len(old_keys):
            return f"{len(old_keys) - found:,} of the stored run's {len(old_keys):,} images are gone or changed"
        fresh = len(keys) - found
        if fresh > self.max_new_share * len(keys):
            return f"{fresh:,} of {len(keys):,} images are new (more than {self.max_new_share:.0%})"
        return Recalled(arrays, old_of_new.astype(np.int64))

    def keep(self, name: str, params: tuple, keys: np.ndarray, arrays: dict[str, np.ndarray]) -> str | None:
        """Store `arrays` (rows in the order of `keys`) for the next run; the older states of `name` go. Returns a
        note when it could not be written (the run goes on)."""
        path = self._file(name, params)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(handle, "wb") as stream:
                np.savez(stream, __keys__=keys, **arrays)
            os.replace(temporary, path)
            for other in self.folder.glob(f"{name}-*.npz"):
                if other != path:
                    other.unlink(missing_ok=True)
        except OSError as exc:
            return f"the incremental state of {name} could not be stored in {self.folder}: {exc}"
        return None


def row_keys(features, rows: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
    """(len(rows),) uint64 identity of each row's image (file bytes and thumbnail) and, with `labels`, its label;
    rows with the same identity are told apart by their order (the k-th copy is the k-th copy)."""
    thumbs = features.thumbs
    content = features.frame["byte_hash"].to_numpy().astype(np.int64).view(np.uint64)[rows]
    for lo in range(0, len(rows), KEY_BLOCK):  # a block of thumbnails at a time, never a copy of all of them
        flat = thumbs[rows[lo:lo + KEY_BLOCK]].reshape(len(rows[lo:lo + KEY_BLOCK]), -1)
        pad = (-flat.shape[1]) % 8
        words = (np.pad(flat, ((0, 0), (0, pad))) if pad else np.ascontiguousarray(flat)).view(np.uint64)
        with np.errstate(over="ignore"):
            content[lo:lo + KEY_BLOCK] ^= (words * np.resize(_MIX, words.shape[1])).sum(axis=1, dtype=np.uint64)
    columns = {"content": content}
    if labels is not None:
        columns["label"] = pd.util.hash_array(np.asarray(labels, dtype=object).astype(str))
    frame = pd.DataFrame(columns)
    frame["copy"] = frame.groupby(list(columns), sort=False).cumcount()
    return pd.util.hash_pandas_object(frame, index=False).to_numpy()


FITS_CAVEAT = "a run without --incremental fits on the current images alone and may differ in borderline cases"


def reused_note(step: str, recalled: Recalled | str, kept: str = "its fits and per-image results",
                caveat: str = FITS_CAVEAT) -> str:
    """The section's note on what an --incremental step did."""
    if isinstance(recalled, str):
        return f"Incremental (--incremental): the {step} ran in full ({recalled}); its state is stored for the next run."
    new = len(recalled.fresh)
    return (f"Incremental (--incremental): the {step} reused the stored run of {recalled.stored_count:,} images "
            f"({kept}) and added {new:,} new image{'s' if new != 1 else ''}; {caveat}.")


class Step:
    """One incremental step as a search sees it: recall the state stored for its rows, keep the new one. The
    search calls recall(rows) once, then keep(rows, arrays) with the same rows; `outcome` says what happened
    (a Recalled, or why the step ran in full), for the section's note."""

    def __init__(self, reuse: Reuse, name: str, params: tuple, features, labels: np.ndarray | None = None) -> None:
        self.reuse, self.name, self.params = reuse, name, params
        self.features, self.labels = features, labels
        self.outcome: Recalled | str = "not run"
        self.notes: list[str] = []
        self._keys: tuple[np.ndarray, np.ndarray] | None = None

    def _keys_of(self, rows: np.ndarray) -> np.ndarray:
        if self._keys is None or not np.array_equal(self._keys[0], rows):
            labels = None if self.labels is None else self.labels[rows]
            self._keys = (rows.copy(), row_keys(self.features, rows, labels))
        return self._keys[1]

    def recall(self, rows: np.ndarray) -> Recalled | None:
        self.outcome = self.reuse.recall(self.name, self.params, self._keys_of(rows))
        return self.outcome if isinstance(self.outcome, Recalled) else None

    def refuse(self, why: str) -> None:
        """The search cannot use what recall gave (e.g. the dataset crossed a size where the search changes)."""
        self.outcome = why

    def keep(self, rows: np.ndarray, arrays: dict[str, np.ndarray]) -> None:
        problem = self.reuse.keep(self.name, self.params, self._keys_of(rows), arrays)
        if problem:
            self.notes.append(problem)

    def note(self, what: str, kept: str = "its fits and per-image results", caveat: str = FITS_CAVEAT) -> str:
        return " ".join([reused_note(what, self.outcome, kept, caveat), *self.notes])
