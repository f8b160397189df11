"""Metadata columns: a per-column profile plus missing, disguised-missing, mistyped, outlying and garbled values.

Works on any table (with or without images). Each column is profiled once from its distinct values
(`_tabular.profile_table`, once per audit, shared with the other table analysers); the checks, vectorised passes over
one column at a time, live in _column_missing.py, _column_types.py and _column_values.py; the cost grows linearly with
rows x columns.
"""

from __future__ import annotations

import numpy as np

from ..model import Analyser, AuditInput, Finding, Section, TableBlock
from ..settings import Setting
from ._column_missing import disguised_missing, format_value, missing_findings
from ._column_types import TYPE_ISSUE_KINDS, dtype_findings, mojibake_finding, type_findings, type_label
from ._column_values import constant_finding, distribution_charts, is_id_like, outlier_finding, scale_finding
from ._tabular import (
    ColumnProfile,
    is_text_source,
)

NAME = "columns"

SETTINGS = (
    Setting("sentinel_min_count", 3, "a sentinel value (0, -1, 999, ...) must appear at least this often to be called "
            "disguised missing", minimum=1),
    Setting("outlier_iqr_k", 3.0, "an outlier lies beyond Q1 - k x IQR or Q3 + k x IQR (and beyond outlier_robust_z)", minimum=0),
    Setting("outlier_robust_z", 3.5, "an outlier also has a robust z-score (median/MAD) above this (raised for long columns)",
            minimum=0),
    Setting("outlier_max_share", 0.01, "more than this share of a column beyond the fences is a heavy tail: noted, "
            "not listed", minimum=0, maximum=1),
    Setting("near_constant_share", 0.99, "a column with one value in at least this share of its non-missing cells is "
            "near-constant", minimum=0, maximum=1),
    Setting("scale_ratio", 1000.0, "numeric columns whose spreads differ by at least this factor get a scaling hint",
            minimum=1),
    Setting("dtype_min_saving_bytes", 1_000_000, "typed inputs (Parquet): suggest a smaller dtype when it saves at "
            "least this many bytes", minimum=0),
    Setting("max_charts", 12, "distribution charts drawn (one per numeric column)", minimum=0),
)


def run(data: AuditInput) -> Section:
    table = data.table
    frame = table.frame
    n = len(frame)
    section = Section(name=NAME, title="Metadata columns")
    profiles = data.profiles
    roles = {c: r for r, c in table.roles().items() if c is not None}
    typed = not is_text_source(table)
    findings = section.findings

    if table.encoding.lower().replace("_", "-") not in {"utf-8", "utf8", "ascii"}:
        confidence = table.encoding_confidence
        findings.append(Finding(
            analyser=NAME, kind="encoding", severity="info",
            message=(f"the file is not UTF-8: it was read as {table.encoding}"
                     + (f" (detected, confidence {confidence:.0%})" if confidence is not None else " (as told)")
                     + "; check a few accented values, and save it as UTF-8 to avoid surprises elsewhere"),
            detail={"encoding": table.encoding, "confidence": confidence},
        ))

    disguised_cells = 0
    disguised_masks: dict[str, np.ndarray] = {}
    outlier_cells = 0
    mojibake_cells = 0
    id_like: list[str] = []
    constant: list[str] = []
    near_constant: list[str] = []
    for name, profile in profiles.items():
        role = roles.get(name)
        findings.extend(missing_findings(profile, role))
        findings.extend(type_findings(profile, frame[name], typed))
        if is_id_like(profile, role):
            id_like.append(name)
        garbled = mojibake_finding(profile, frame[name])
        if garbled is not None:
            findings.append(garbled)
            mojibake_cells += len(garbled.rows)
        if role in {"path", "label", "split"} or name in id_like:
            continue
        sentinel_findings, mask = disguised_missing(profile, data.settings.sentinel_min_count)
        findings.extend(sentinel_findings)
        disguised_cells += int(mask.sum())
        disguised_masks[name] = mask
        outliers, note = outlier_finding(profile, mask, data.settings, table)
        if outliers is not None:
            findings.append(outliers)
            outlier_cells += len(outliers.rows)
        if note:
            section.notes.append(note)
        flat = constant_finding(profile, frame[name], data.settings.near_constant_share)
        if flat is not None:
            findings.append(flat)
            (constant if flat.kind == "constant" else near_constant).append(name)
    scale = scale_finding(profiles, roles, id_like, disguised_masks, data.settings.scale_ratio)
    if scale is not None:
        findings.append(scale)
    if typed:
        findings.extend(dtype_findings(profiles, frame, data.settings.dtype_min_saving_bytes))

    total_cells = n * len(profiles)
    missing_cells = sum(int(p.missing.sum()) for p in profiles.values())
    token_cells = sum(c for p in profiles.values() for form, c in p.missing_forms.items()
                      if form not in {"(empty)", "(null)", "(whitespace)"})
    section.metrics = {
        "missing.cell_rate": missing_cells / total_cells if total_cells else 0.0,
        "missing.column_count": sum(1 for p in profiles.values() if p.missing.any()),
        "missing.token_count": token_cells,
        "missing.disguised_count": disguised_cells,
        "columns.type_issue_count": len({f.detail["column"] for f in findings if f.kind in TYPE_ISSUE_KINDS
                                         and f.detail.get("counts_as_type_issue", True)}),
        "columns.outlier_count": outlier_cells,
        "columns.constant_count": len(constant),
        "columns.near_constant_count": len(near_constant),
        "columns.id_like_count": len(id_like),
        "columns.mojibake_count": mojibake_cells,
    }
    for name in id_like:
        profile = profiles[name]
        findings.append(Finding(
            analyser=NAME, kind="id_like", severity="info",
            message=(f"column {name!r} is an identifier ({profile.distinct:,} distinct values in {profile.present:,} "
                     "filled cells): keep it out of model inputs (the target-leakage check tests whether it "
                     "predicts the label)"),
            detail={"column": name, "distinct": profile.distinct, "filled": profile.present},
        ))
    section.tables.append(_overview(profiles, roles, id_like, typed))
    section.charts.extend(distribution_charts(profiles, roles, id_like, data.settings.max_charts))
    problems = sum(1 for f in findings if f.severity != "info")
    section.summary = (
        f"{len(profiles)} columns x {n:,} rows; {missing_cells:,} missing cells ({section.metrics['missing.cell_rate']:.1%}), "
        f"{disguised_cells:,} disguised-missing values, {section.metrics['columns.type_issue_count']} type issues, "
        f"{outlier_cells:,} outlying values; {problems} warning(s)."
    )
    return section


def _overview(profiles: dict[str, ColumnProfile], roles: dict[str, str], id_like: list[str], typed: bool) -> TableBlock:
    rows = []
    for name, profile in profiles.items():
        missing = int(profile.missing.sum())
        top = ", ".join(f"{str(v)[:30]} ({c:,}, {c / profile.present:.0%})"
                        for v, c in profile.counts.iloc[:3].items()) if profile.present else ""
        low = median = high = ""
        if profile.kind in {"number", "date"} and profile.numeric is not None:
            values = profile.values_present()
            if values.size:
                low, median, high = (format_value(profile, float(v)) for v in
                                     (values.min(), np.median(values), values.max()))
        role = roles.get(name, "")
        if name in id_like:
            role = (role + ", id-like").lstrip(", ")
        rows.append([name, role, type_label(profile, typed), f"{missing:,} ({missing / profile.n:.1%})" if profile.n else "0",
                     f"{profile.distinct:,}", top, low, median, high])
    return TableBlock(title="Columns", columns=["column", "role", "type", "missing", "distinct", "top values",
                                                "min", "median", "max"], rows=rows,
                      caption="Types are inferred from the values; missing includes tokens such as NA, N/A, null, ?, -.")


ANALYSER = Analyser(
    name=NAME,
    title="Metadata columns",
    run=run,
    settings=SETTINGS,
    needs=(),
    uses_profiles=True,
    metrics={
        "missing.cell_rate": "missing cells (empty, null or a token such as NA, N/A, ?, -) / all cells",
        "missing.column_count": "columns with at least one missing cell",
        "missing.token_count": "cells that spell 'missing' with a token (NA, null, ?, ...) rather than leaving it empty",
        "missing.disguised_count": "cells holding a sentinel (0, -1, 999, 1900-01-01, ...) that stands for a missing value",
        "columns.type_issue_count": "columns with a type problem (mixed types, mixed date formats, numbers/dates stored as text)",
        "columns.outlier_count": "numeric cells far outside their column's usual range (IQR fences and robust z-score)",
        "columns.constant_count": "columns holding a single value",
        "columns.near_constant_count": "columns where one value fills at least near_constant_share of the cells",
        "columns.id_like_count": "identifier columns (at least 98% distinct text, or unique whole numbers 1..n or in order)",
        "columns.mojibake_count": "cells with garbled text from a wrong decoding (e.g. 'CafÃ©')",
    },
)
