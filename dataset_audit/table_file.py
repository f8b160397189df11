"""Read a table file (CSV/TSV, Parquet, JSON lines) into a frame of raw values, with the checks bad files need.

What a person would get wrong without noticing is said out loud here: mixed delimiters (exit 2), rows with too
few fields, duplicate header names, a guessed encoding, and cells holding lists or objects (turned into JSON
text so every analyser sees a string, and named in a note).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import AuditUsageError

DELIMITER_CANDIDATES = [",", ";", "\t", "|"]
SNIFF_RECORDS = 50  # records (not lines: a quoted cell may hold line breaks) read to choose the delimiter
SNIFF_CHARS = 1 << 20  # of at most this many characters
BINARY_TEXT_MAX = 4096  # binary cells up to this size that are UTF-8 (captions, URLs) are text; others size + digest
# When the detector's best candidates tie, the common Western encodings win (a Latin-1 "naïve" is far more likely
# than a Central European "naďve").
PREFERRED_ENCODINGS = ("cp1252", "latin_1", "iso8859_15")
LINES_SHOWN = 5  # line numbers quoted in a message


@dataclass
class TableFile:
    frame: pd.DataFrame
    encoding: str = "utf-8"
    encoding_confidence: float | None = None
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)
    non_scalar_columns: dict[str, int] = field(default_factory=dict)  # column -> cells holding a list or object


def read_table_file(source: Path, encoding: str | None, delimiter: str | None) -> TableFile:
    suffix = source.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        try:
            frame = pd.read_parquet(source)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise AuditUsageError(f"cannot read Parquet file {source}: {exc}") from exc
        return _with_scalar_cells(TableFile(frame=frame.reset_index(drop=True)))
    text, used, confidence, note = _decode(source, encoding)
    if suffix in {".jsonl", ".ndjson"}:
        try:
            frame = pd.read_json(io.StringIO(text), lines=True, dtype=False)
        except ValueError as exc:
            raise AuditUsageError(f"cannot read JSON lines file {source}: {exc}") from exc
        frame = frame.astype(object).where(frame.notna(), None)
        frame.columns = [str(c) for c in frame.columns]
        table = TableFile(frame=frame, encoding=used, encoding_confidence=confidence)
        table = _with_scalar_cells(table)
    else:
        frame, used_delimiter, notes = _read_csv_text(text, source, delimiter, default_tab=suffix == ".tsv")
        table = TableFile(frame=frame, encoding=used, encoding_confidence=confidence, delimiter=used_delimiter,
                          notes=notes)
    if note:
        table.notes.insert(0, f"{source.name} {note}")
    return table


# --------------------------------------------------------------------------------------------- encoding


def _decode(source: Path, encoding: str | None) -> tuple[str, str, float | None, str]:
    """File text, the encoding used, the detector's confidence (None when UTF-8 or given), and a note to show."""
    data = source.read_bytes()
    if not data.strip():
        raise AuditUsageError(f"{source} is empty")
    if encoding:
        try:
            return data.decode(encoding), encoding, None, ""
        except (UnicodeDecodeError, LookupError) as exc:
            raise AuditUsageError(f"{source} cannot be read as {encoding}: {exc}") from exc
    try:
        return data.decode("utf-8-sig"), "utf-8", None, ""
    except UnicodeDecodeError as exc:
        utf8_error = exc
    from charset_normalizer import from_bytes

    matches = from_bytes(data)
    best = matches.best()
    if best is None:
        raise AuditUsageError(
            f"{source} is not UTF-8 (byte {utf8_error.start}: {utf8_error.reason}) and its encoding could not "
            "be detected; convert it to UTF-8 or pass --encoding"
        )
    tied = [m for m in matches if abs(m.chaos - best.chaos) < 1e-9 and m.coherence >= best.coherence - 1e-9]
    chosen = next((m for name in PREFERRED_ENCODINGS for m in tied if m.encoding == name), best)
    others = [m.encoding for m in tied if m.encoding != chosen.encoding]
    note = f"is not UTF-8; it was read as {chosen.encoding} (detected)."
    if others:
        note += (f" It decodes equally well as {', '.join(others[:4])}: if accented letters look wrong, pass "
                 "--encoding.")
    return str(chosen), chosen.encoding, round(1.0 - float(chosen.chaos), 3), note


# ------------------------------------------------------------------------------------------------- CSV


def _sniff_delimiter(text: str) -> str:
    """The delimiter that gives the header at least two fields and the most records of the header's width, read as
    csv reads them (quoted fields may hold delimiters and line breaks); among equals, csv.Sniffer's guess. The
    Sniffer alone looks at physical lines: free text with '|' or ';' in quoted, multi-line cells made it pick '|'
    for a well-formed comma file, which then failed to parse."""
    head = text[:SNIFF_CHARS]
    try:
        sniffed = csv.Sniffer().sniff("\n".join(head.splitlines()[:50]),
                                      delimiters="".join(DELIMITER_CANDIDATES)).delimiter
    except csv.Error:
        sniffed = ","
    consistency: dict[str, float] = {}
    for candidate in DELIMITER_CANDIDATES:
        try:
            records = [r for r in itertools.islice(csv.reader(io.StringIO(head), delimiter=candidate), SNIFF_RECORDS + 1)
                       if r and not (len(r) == 1 and not r[0].strip())]
        except csv.Error:
            continue
        if len(head) < len(text) and len(records) > 2:
            records = records[:-1]  # the last may be cut off by the sample's end
        if len(records) < 2 or len(records[0]) < 2:
            continue
        width = len(records[0])
        consistency[candidate] = sum(len(r) == width for r in records[1:]) / (len(records) - 1)
    if not consistency:
        return sniffed
    best = max(consistency.values())
    return sniffed if consistency.get(sniffed) == best else max(consistency, key=consistency.get)


def _read_csv_text(text: str, source: Path, delimiter: str | None,
                   default_tab: bool) -> tuple[pd.DataFrame, str, list[str]]:
    chosen = delimiter or ("\t" if default_tab else _sniff_delimiter(text))
    try:
        frame = pd.read_csv(io.StringIO(text), sep=chosen, dtype=str, keep_default_na=False,
                            na_filter=False, skip_blank_lines=True, engine="python" if len(chosen) > 1 else "c")
    except pd.errors.EmptyDataError as exc:
        raise AuditUsageError(f"{source} has no header row and no data") from exc
    except pd.errors.ParserError as exc:
        raise AuditUsageError(f"{source} is not a well-formed table with delimiter {chosen!r}: {exc}") from exc
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        others = [d for d in DELIMITER_CANDIDATES if d != chosen and d in header]
        if others:
            shown = ", ".join(repr(d) for d in others)
            raise AuditUsageError(
                f"{source} was read with delimiter {chosen!r} and gave one column named {header!r}, which contains "
                f"{shown}: the delimiter looks wrong. Pass --delimiter {others[0]!r}."
            )
    frame.columns = [str(c) for c in frame.columns]
    notes = _check_fields(text, source, chosen) if len(chosen) == 1 else []
    return frame, chosen, notes


def _check_fields(text: str, source: Path, delimiter: str) -> list[str]:
    """Rows whose field count differs from the header's: an error when they use another delimiter (pandas would
    read 'img.jpg;dog' as one path), a note when they are merely short. Also duplicate header names."""
    header: list[str] | None = None
    short: list[int] = []
    mixed: dict[str, list[int]] = {}
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # a blank line; pandas skips it too
            if header is None:
                header = fields
                continue
            if len(fields) < len(header):
                other = _other_delimiter(fields, delimiter, len(header))
                (mixed.setdefault(other, []) if other else short).append(reader.line_num)
    except csv.Error:  # e.g. a field beyond csv's size limit; pandas read it, so there is nothing to add
        return []
    if mixed:
        other, lines = max(mixed.items(), key=lambda item: len(item[1]))
        raise AuditUsageError(
            f"{source} mixes delimiters: the header uses {delimiter!r} but {len(lines):,} row(s) use {other!r} "
            f"(line {_lines(lines)}). Fix those rows, or pass --delimiter if most of the file uses {other!r}."
        )
    notes = []
    if short:
        notes.append(f"{source.name}: {len(short):,} row(s) have fewer fields than the header's {len(header or [])} "
                     f"(line {_lines(short)}); their missing fields were read as empty.")
    repeated = [name for name, count in Counter(header or []).items() if count > 1]
    if repeated:
        shown = ", ".join(f"{name!r} ({Counter(header or [])[name]} times)" for name in repeated)
        notes.append(f"{source.name}: the header repeats {shown}; the copies were renamed with a suffix "
                     f"('{repeated[0]}.1', ...) and a column option such as --label-col {repeated[0]} uses the first.")
    return notes


def _other_delimiter(fields: list[str], delimiter: str, wanted: int) -> str | None:
    joined = delimiter.join(fields)
    for other in DELIMITER_CANDIDATES:
        if other != delimiter and other in joined and len(next(csv.reader([joined], delimiter=other))) >= wanted:
            return other
    return None


def _lines(numbers: list[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:LINES_SHOWN])
    return shown + (f" and {len(numbers) - LINES_SHOWN:,} more" if len(numbers) > LINES_SHOWN else "")


# ---------------------------------------------------------------------------------------- non-scalar cells


def _is_non_scalar(value: object) -> bool:
    return isinstance(value, list | dict | tuple | set | frozenset | np.ndarray)


def _is_binary(value: object) -> bool:
    return isinstance(value, bytes | bytearray | memoryview)


def _binary_text(value: bytes | bytearray | memoryview) -> str:
    """A binary cell as text: itself when it is short UTF-8, else its size and a digest (an image stored in the
    table, a hash): equal values stay equal, and a 100 KB blob does not become 400 KB of text in every analyser."""
    data = bytes(value)
    if len(data) <= BINARY_TEXT_MAX:
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return f"<{len(data):,} bytes, blake2b {hashlib.blake2b(data, digest_size=8).hexdigest()}>"


def _as_json_text(value: object) -> str:
    def plain(item: object) -> object:
        if _is_binary(item):
            return _binary_text(item)
        if isinstance(item, np.ndarray):
            return [plain(v) for v in item.tolist()]
        if isinstance(item, list | tuple | set | frozenset):
            return [plain(v) for v in item]
        if isinstance(item, dict):
            return {str(k): plain(v) for k, v in item.items()}
        return item
    return json.dumps(plain(value), ensure_ascii=False, sort_keys=True, default=str)


def _with_scalar_cells(table: TableFile) -> TableFile:
    """Cells holding lists or objects (JSON arrays, Parquet list/struct columns) become their JSON text, and binary
    cells (Parquet binary columns) their text (_binary_text), so every analyser and the report see strings; each such
    column is named in a note."""
    frame = table.frame
    for column in frame.columns:
        if frame[column].dtype != object:
            continue
        values = frame[column].tolist()
        binary = [_is_binary(v) for v in values]
        if any(binary):
            values = [_binary_text(v) if flag else v for v, flag in zip(values, binary, strict=True)]
            frame[column] = pd.Series(values, index=frame.index, dtype=object)
            table.notes.append(f"column {str(column)!r} holds binary values in {sum(binary):,} cell(s); they are "
                               f"audited as their UTF-8 text, or as their size and digest when longer than "
                               f"{BINARY_TEXT_MAX} bytes or not UTF-8.")
        flags = [_is_non_scalar(v) for v in values]
        count = sum(flags)
        if not count:
            continue
        frame[column] = pd.Series([_as_json_text(v) if flag else v for v, flag in zip(values, flags, strict=True)],
                                  index=frame.index, dtype=object)  # object: an empty cell stays None, not NaN
        first = flags.index(True)
        example = str(frame[column].iloc[first])
        table.non_scalar_columns[str(column)] = count
        table.notes.append(
            f"column {str(column)!r} holds lists or objects in {count:,} cell(s) (first at row {first}: "
            f"{example[:60]}{'...' if len(example) > 60 else ''}); they are audited as their JSON text."
        )
    return table
