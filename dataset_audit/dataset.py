"""Load the user's table (CSV, Parquet, JSON lines, or an image folder) and work out each column's role."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from .config import Config
from .errors import AuditUsageError
from .model_outputs import ModelOutputs, load_model_outputs
from .scan import remote
from .table_file import read_table_file

# Every extension of a format Pillow can open, less containers of non-image data and vector documents that merely
# have a Pillow stub or need an external program (.h5, .grib, .mpg, .eps, .wmf, ...).
NOT_IMAGE_FORMATS = frozenset({"BUFR", "GRIB", "HDF5", "MPEG", "EPS", "WMF", "FITS"})
IMAGE_EXTENSIONS = frozenset(ext for ext, fmt in Image.registered_extensions().items()
                             if fmt in Image.OPEN and fmt not in NOT_IMAGE_FORMATS)
SPLIT_FOLDERS = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
                 "dev": "val", "test": "test", "testing": "test"}
# Cell texts that mean "no value" (compared after strip + casefold). Empty and whitespace-only cells too.
MISSING_TOKENS = frozenset({"", "na", "n/a", "n.a.", "#n/a", "nan", "null", "none", "nil", "?", "-", "--",
                            "missing"})
# A column "looks like image paths" when at least this share of its non-empty values end in an image extension.
PATH_COLUMN_SHARE = 0.5
# Where a table row's image is: an absolute local path or a URL read through fsspec, both as text. Text, not Path:
# Path would collapse a URL's "//" (s3://bucket/key -> s3:/bucket/key), and parsing a Path per row took several
# times os.path's time in the main process (the commit that made this change gives the figures).
ImagePath = str


def _cell_text(value: object) -> str:
    """A path cell as text: '' where it is missing (None, NaN, pd.NA)."""
    if isinstance(value, str):
        return value
    return "" if pd.isna(value) else str(value)


@dataclass
class Table:
    """The user's rows, read without altering a value, plus what each column is for."""

    frame: pd.DataFrame  # positional rows 0..n-1; raw strings for text inputs
    source: str
    root: Path
    path_col: str | None = None
    label_col: str | None = None
    split_col: str | None = None
    encoding: str = "utf-8"
    encoding_confidence: float | None = None
    delimiter: str | None = None
    original_rows: np.ndarray | None = None  # row positions in the input file, when --sample picked a subset
    total_rows: int = 0  # rows in the input before sampling
    from_folder: bool = False  # read from an image folder: label (and split) come from the folder names
    outputs: ModelOutputs = field(default_factory=ModelOutputs)  # the user's model: predictions, probs, vectors
    notes: list[str] = field(default_factory=list)
    non_scalar_columns: dict[str, int] = field(default_factory=dict)  # column -> cells that held a list or object
    _labels: tuple[tuple[int, str | None], list[str] | None] | None = field(default=None, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def tabular_only(self) -> bool:
        return self.path_col is None

    def original_row(self, position: int) -> int:
        return int(self.original_rows[position]) if self.original_rows is not None else int(position)

    def paths(self) -> list[str]:
        """Image paths exactly as written in the input (empty strings where missing)."""
        if self.path_col is None:
            return []
        return [_cell_text(v) for v in self.frame[self.path_col].tolist()]

    def resolved_paths(self) -> list[ImagePath | None]:
        """Absolute paths to read (str), or URLs (as written, stripped); None where the cell is empty. A file:// URL is
        the local path it names. A cell with surrounding spaces names the file spelt exactly so when that exists
        (file names may start or end with a space), else the stripped name."""
        return [self.resolve(value) for value in self.paths()]

    def resolved_paths_at(self, positions: Iterable[int]) -> dict[int, ImagePath | None]:
        """{position: resolved path} for some rows only (the report's: all 1,000,000 held 293 MB, tracemalloc)."""
        if self.path_col is None:
            return {}
        column = self.frame[self.path_col].to_numpy(dtype=object)  # not .iat: half the time at 60,000 positions
        return {p: self.resolve(_cell_text(column[p])) for p in positions}

    def resolve(self, value: str) -> ImagePath | None:
        """One path cell as resolved_paths resolves it."""
        text = value.strip()
        if not text:
            return None
        if remote.is_url(text):
            return text
        local = remote.local_path_of(text)
        if local is not None:
            value = text = local
        path = self._under_root(text)
        if text != value:
            exact = self._under_root(value)
            try:
                path = exact if os.path.lexists(exact) else path
            except ValueError:  # a NUL byte: the scan reports it
                pass
        return path

    def _under_root(self, text: str) -> str:
        """The absolute path a cell names, normalised as the scan opens it (os.path.abspath: "a/./b" is "a/b", and
        "a/../b" is "b", as in the scan cache's keys)."""
        if text.startswith("~"):
            text = os.path.expanduser(text)
        return os.path.normpath(text if os.path.isabs(text) else os.path.join(self.root, text))

    def outside_root(self, paths: list[ImagePath | None] | None = None, urls: bool = False) -> list[bool]:
        """Per row: whether its image path leads outside the root folder (an absolute path elsewhere, or '..').
        Judged on the path as written; only a path that looks outside has its folder's real path checked (once per
        folder), so /home/me/data/x.png is inside a root that is the symlink-resolved /mnt/data. A URL is outside
        every folder, but flagged only when `urls` is true (--confine-to-root refuses URLs; otherwise a URL is a
        remote image, not a stray path worth a warning)."""
        root = os.path.normpath(str(self.root))
        real_root = os.path.realpath(root)
        folders: dict[str, bool] = {}

        def outside(text: str) -> bool:
            if _is_within(text, root):
                return False
            folder = os.path.dirname(text)
            if folder not in folders:
                try:
                    folders[folder] = not _is_within(os.path.realpath(folder), real_root)
                except ValueError:  # a NUL byte
                    folders[folder] = True
            return folders[folder]

        return [path is not None and (urls if isinstance(path, str) and remote.is_url(path)
                                      else outside(os.path.normpath(str(path))))
                for path in (self.resolved_paths() if paths is None else paths)]

    def check_urls_readable(self) -> None:
        """A usage error naming the first URL row when the image paths hold URLs that cannot be read here (fsspec,
        or the filesystem of a protocol such as s3fs, not installed)."""
        if self.path_col is None:
            return
        remote.require_support((f"row {self.original_row(position)} of column {self.path_col!r}", text)
                               for position, text in enumerate(v.strip() for v in self.paths())
                               if remote.is_url(text))

    def column_values(self, column: str | None) -> list[str] | None:
        if column is None:
            return None
        return ["" if pd.isna(v) else str(v) for v in self.frame[column].tolist()]

    def labels(self) -> list[str] | None:
        """Labels with surrounding spaces and NUL bytes removed (fixed-width fields pad with NULs: 'cat\\0\\0' is
        'cat', and numpy's strings drop trailing NULs anyway, so a label of NULs alone was a class no analyser could
        count; see trimmed); "" where the cell is empty or a missing token (NA, null, ?).
        Computed once per frame and label column (the pipeline and most analysers ask), returned as a new list."""
        key = (id(self.frame), self.label_col)
        if self._labels is None or self._labels[0] != key:
            values = self.column_values(self.label_col)
            labels = None if values is None else ["" if v.casefold() in MISSING_TOKENS else v
                                                  for v in (trimmed(v) for v in values)]
            self._labels = (key, labels)
        labels = self._labels[1]
        return None if labels is None else list(labels)

    def splits(self) -> list[str] | None:
        values = self.column_values(self.split_col)
        return None if values is None else [normalise_split(v) for v in values]

    def roles(self) -> dict[str, str | None]:
        return {"path": self.path_col, "label": self.label_col, "split": self.split_col}


def _is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder if folder.endswith(os.sep) else folder + os.sep)


def class_groups(labels: list[str] | np.ndarray, rows: np.ndarray | None = None) -> list[tuple[str, np.ndarray]]:
    """(class, row positions) for every non-empty label, largest class first, in one sort: O(n log n), not
    O(n x classes). `rows` restricts to those positions (e.g. decoded images); returned positions are theirs."""
    values = np.asarray(labels, dtype=object)
    positions = np.arange(len(values)) if rows is None else np.asarray(rows)
    subset = values[positions]
    if subset.size == 0:
        return []
    names, inverse, counts = np.unique(subset.astype(str), return_inverse=True, return_counts=True)
    order = np.argsort(inverse, kind="stable")
    members = np.split(positions[order], np.cumsum(counts)[:-1])
    groups = [(str(name), member) for name, member in zip(names, members, strict=True) if name != ""]
    return sorted(groups, key=lambda group: (-len(group[1]), group[0]))


def normalise_split(value: str) -> str:
    """'Train', 'training', 'TRAIN ' -> 'train'; unknown split names are kept, lower-cased. NUL bytes around the
    name are dropped, as for labels (trimmed)."""
    key = trimmed(value).lower()
    return SPLIT_FOLDERS.get(key, key)


def trimmed(value: str) -> str:
    """A label, prediction or split name without surrounding whitespace and NUL bytes (every reader of those
    columns trims them this way, so all analysers agree on what a class is)."""
    return value.strip().strip("\x00").strip()


def trimmed_column(values: pd.Series) -> pd.Series:
    """trimmed() of every cell of a text column."""
    return values.astype(str).str.strip().str.strip("\x00").str.strip()


def load_table(source: Path, config: Config, encoding: str | None = None, delimiter: str | None = None) -> Table:
    if not source.exists():
        raise AuditUsageError(f"input not found: {source}")
    if source.is_dir():
        table = _load_folder(source)
    else:
        table = _load_file(source, encoding=encoding or config.encoding, delimiter=delimiter or config.delimiter)
        table.root = (config.root or source.parent).resolve()
    if config.root is not None and source.is_dir():
        table.root = config.root.resolve()
    return _finish_table(table, config)


def load_frame(frame: pd.DataFrame, config: Config, source: str = "DataFrame") -> Table:
    """A table from a pandas DataFrame already in memory (the notebook API); relative paths are relative to
    --root, else to the current folder. The caller's frame is not modified."""
    if not isinstance(frame, pd.DataFrame):
        raise AuditUsageError(f"expected a pandas DataFrame, got {type(frame).__name__}")
    table = Table(frame=frame.reset_index(drop=True).copy(), source=source,
                  root=(config.root or Path.cwd()).resolve())
    table.frame.columns = [str(c) for c in table.frame.columns]
    return _finish_table(table, config)


def _finish_table(table: Table, config: Config) -> Table:
    """Column roles and --sample, the same for every kind of input."""
    if len(table.frame.columns) == 0 or len(table.frame) == 0:
        raise AuditUsageError(f"{table.source} has no data rows (columns found: {_column_list(table.frame)})")
    _assign_roles(table, config)
    table.outputs = load_model_outputs(table.frame, table.labels(), config.pred_col, config.probs_prefix,
                                       config.probs, config.embeddings)
    table.total_rows = len(table.frame)
    if config.sample is not None and config.sample < len(table.frame):
        rng = np.random.default_rng(config.seed)
        picked = np.sort(rng.choice(len(table.frame), size=config.sample, replace=False))
        table.frame = table.frame.iloc[picked].reset_index(drop=True)
        table.original_rows = picked
        table.outputs = table.outputs.subset(picked)
        table.notes.append(
            f"--sample {config.sample}: audited a random subset of {config.sample:,} of "
            f"{table.total_rows:,} rows (seed {config.seed}); row numbers refer to the input file."
        )
    table.check_urls_readable()
    return table


def _column_list(frame: pd.DataFrame) -> str:
    return ", ".join(repr(str(c)) for c in frame.columns) or "(none)"


# ---------------------------------------------------------------------------------------------- files


def _load_file(source: Path, encoding: str | None, delimiter: str | None) -> Table:
    read = read_table_file(source, encoding, delimiter)
    return Table(frame=read.frame, source=str(source), root=source.parent, encoding=read.encoding,
                 encoding_confidence=read.encoding_confidence, delimiter=read.delimiter, notes=read.notes,
                 non_scalar_columns=read.non_scalar_columns)


# --------------------------------------------------------------------------------------------- folders


def _load_folder(folder: Path) -> Table:
    """An image folder laid out as <class>/<image>, optionally under train/ val/ test/."""
    records: list[tuple[str, str, str]] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        # Split and label come from the folders, so they are worked out once per folder, and a file costs a string
        # join: a Path per file was most of the time of loading a large folder (the commit gives the figures).
        inside = os.path.relpath(dirpath, folder)
        folders = [] if inside == os.curdir else inside.split(os.sep)
        split = ""
        if folders and folders[0].lower() in SPLIT_FOLDERS:
            split = SPLIT_FOLDERS[folders[0].lower()]
            label = folders[1] if len(folders) > 1 else ""
        else:
            label = folders[0] if folders else ""
        prefix = "".join(f"{part}/" for part in folders)
        for name in sorted(filenames):
            if os.path.splitext(name)[1].lower() not in IMAGE_EXTENSIONS:
                continue
            records.append((prefix + name, label, split))
    if not records:
        raise AuditUsageError(
            f"{folder} holds no image files (looked for {', '.join(sorted(IMAGE_EXTENSIONS))})"
        )
    frame = pd.DataFrame(records, columns=["path", "label", "split"])
    table = Table(frame=frame, source=str(folder), root=folder.resolve(), path_col="path", from_folder=True)
    if (frame["label"] != "").any():
        table.label_col = "label"
    else:
        table.frame = table.frame.drop(columns=["label"])
    if (frame["split"] != "").any():
        table.split_col = "split"
    else:
        table.frame = table.frame.drop(columns=["split"])
    table.notes.append(
        f"Read the folder layout of {folder}: label = class folder"
        + (", split = top-level train/val/test folder." if table.split_col else ".")
    )
    return table


# ---------------------------------------------------------------------------------------------- roles


def looks_like_image_path_share(values: pd.Series) -> float:
    texts = [str(v).strip() for v in values.tolist() if v is not None and not (isinstance(v, float) and np.isnan(v))]
    texts = [t for t in texts if t]
    if not texts:
        return 0.0
    hits = sum(1 for t in texts if os.path.splitext(t)[1].lower() in IMAGE_EXTENSIONS)
    return hits / len(texts)


def detect_path_columns(frame: pd.DataFrame) -> list[str]:
    candidates = []
    for column in frame.columns:
        if frame[column].dtype.kind in "biufcmM":
            continue
        if looks_like_image_path_share(frame[column].head(2000)) >= PATH_COLUMN_SHARE:
            candidates.append(str(column))
    return candidates


def _require_column(frame: pd.DataFrame, column: str, option: str) -> None:
    if column not in frame.columns:
        raise AuditUsageError(f"{option} {column!r} is not a column of the input. Columns: {_column_list(frame)}")


def _assign_roles(table: Table, config: Config) -> None:
    frame = table.frame
    for option, column in (("--path-col", config.path_col), ("--label-col", config.label_col),
                           ("--split-col", config.split_col)):
        if column is not None:
            _require_column(frame, column, option)
    if config.path_col is not None:
        table.path_col = config.path_col
    elif table.path_col is None:
        candidates = detect_path_columns(frame)
        if len(candidates) > 1:
            raise AuditUsageError(
                f"several columns look like image paths: {', '.join(repr(c) for c in candidates)}; "
                "choose one with --path-col"
            )
        if candidates:
            table.path_col = candidates[0]
        else:
            table.notes.append(
                "No column looks like image paths (values ending in .jpg, .png, ...), so this is a tabular-only "
                f"audit: image analysers were skipped. Columns: {_column_list(frame)}. Pass --path-col to name one."
            )
    if config.label_col is not None:
        table.label_col = config.label_col
    if config.split_col is not None:
        table.split_col = config.split_col
    elif table.split_col is None and "split" in frame.columns and table.path_col != "split":
        table.split_col = "split"
    _refuse_non_scalar_roles(table, config)


def _refuse_non_scalar_roles(table: Table, config: Config) -> None:
    """A path, label or split must be one value per row: a column of lists (multi-label, bounding boxes) is not."""
    for option, column, role in (("--path-col", table.path_col, "image path"), ("--label-col", table.label_col,
                                 "class label"), ("--split-col", table.split_col, "split name")):
        if column is None or column not in table.non_scalar_columns:
            continue
        if option == "--split-col" and config.split_col is None:
            table.split_col = None  # chosen by its name only: drop the role, the note names the column
            continue
        raise AuditUsageError(
            f"{option} {column!r} holds lists or objects in {table.non_scalar_columns[column]:,} row(s), not one "
            f"{role} per row; choose a column with one value per row (multi-label columns are not supported)"
        )
