"""Inconsistent categories: spellings of one value ("Camera A", "camera-a", "CAMERA A "; "dog", "Dog", "dogs").

Only low-cardinality text columns are checked, labels included. Work is on distinct values: normalising is linear
in them, the similarity pass is quadratic in the distinct values of one column (capped by `max_distinct`), and rows
are touched only to list the rows of each variant.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

import numpy as np

from ..graph_groups import connected_groups
from ..model import Analyser, AuditInput, Finding, Metric, Section, TableBlock
from ..settings import Setting
from ._tabular import LETTER_DIGIT, TOKEN, repair_mojibake, rows_with_values

NAME = "categories"
SETTINGS = (
    Setting("max_distinct", 200, "check a text column when it has at most this many distinct values (or max_distinct_share)", minimum=0),
    Setting("max_distinct_share", 0.05, "also check a text column whose distinct values are at most this share of its rows (up to hard_max_distinct)", minimum=0,
            maximum=1),
    Setting("hard_max_distinct", 1000, "never check a column with more distinct values than this", minimum=0),
    Setting("similarity", 0.85, "difflib ratio between normalised spellings that counts as a variant (typos, "
            "plurals)", minimum=0, maximum=1),
)
STOPWORDS = {"of", "and", "the", "for", "in", "on", "at", "to", "de", "&"}


def normalise(value: str) -> str:
    """Case, accents, spacing and punctuation removed: 'Camera A ', 'camera-a', 'CAMERAA' -> 'cameraa'."""
    text = repair_mojibake(value) or value
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in text if ch.isalnum())


def tokens(value: str) -> list[str]:
    words = TOKEN.findall(value.casefold())
    return [part for word in words for part in LETTER_DIGIT.split(word) if part]


def _initials(value: str) -> set[str]:
    words = [w for w in TOKEN.findall(value.casefold()) if w.isalpha()]
    if len(words) < 2:
        return set()
    found = {"".join(w[0] for w in words)}
    content = [w for w in words if w not in STOPWORDS]
    if len(content) >= 2:
        found.add("".join(w[0] for w in content))
    return found


def _distinct_codes(a: str, b: str) -> bool:
    """'Camera A' / 'Camera B', 'class1' / 'class2', 'B01' / 'B02': one short or numeric token differs."""
    ta, tb = tokens(a), tokens(b)
    if len(ta) != len(tb):
        return False
    differing = [(x, y) for x, y in zip(ta, tb, strict=True) if x != y]
    return len(differing) == 1 and all(len(t) <= 2 or t.isdigit() for t in differing[0])


def _plural(a: str, b: str) -> bool:
    short, long_ = sorted((a, b), key=len)
    if len(short) < 3:
        return False
    return long_ in {short + "s", short + "es"} or (short.endswith("y") and long_ == short[:-1] + "ies")


def _spelling_reasons(members: dict[str, int]) -> set[str]:
    """How the spellings sharing one normalised key differ from the most common of them."""
    main = max(members, key=members.get)
    reasons = set()
    for value in members:
        if value == main:
            continue
        if repair_mojibake(value) == main:
            reasons.add("garbled encoding")
        elif value.strip() == main.strip():
            reasons.add("surrounding spaces")
        elif value.casefold() == main.casefold():
            reasons.add("case")
        else:
            reasons.add("case, spacing or punctuation")
    return reasons


def variant_groups(counts: dict[str, int], similarity: float) -> list[tuple[dict[str, int], list[str]]]:
    """Groups of distinct values that spell one category, each as ({value: rows}, [reasons])."""
    by_key: dict[str, dict[str, int]] = {}
    for value, count in counts.items():
        key = normalise(value)
        if key:
            by_key.setdefault(key, {})[value] = count
    keys = sorted(by_key, key=lambda k: -sum(by_key[k].values()))
    edges: list[tuple[str, str, str]] = []  # (key, key, why they spell one category)
    # The most frequent spelling stands for its key when comparing tokens.
    shown = {k: max(by_key[k], key=by_key[k].get) for k in keys}
    matcher = SequenceMatcher(autojunk=False)
    without_digits = {k: re.sub(r"\d", "", k) for k in keys}
    for i, a in enumerate(keys):
        matcher.set_seq2(a)
        for b in keys[i + 1:]:
            shorter, longer = sorted((len(a), len(b)))
            if longer - shorter <= 3 and _plural(a, b) and not _distinct_codes(shown[a], shown[b]):
                edges.append((a, b, "singular and plural"))
                continue
            if shorter < 4 or 2 * shorter / (shorter + longer) < similarity:
                continue
            if without_digits[a] == without_digits[b]:
                continue  # only the numbers differ: different categories
            matcher.set_seq1(b)
            if matcher.real_quick_ratio() >= similarity and matcher.quick_ratio() >= similarity \
                    and matcher.ratio() >= similarity and not _distinct_codes(shown[a], shown[b]):
                edges.append((a, b, "similar spelling"))
    initials: dict[str, list[str]] = {}
    for key in keys:
        for abbreviation in _initials(shown[key]):
            initials.setdefault(abbreviation, []).append(key)
    for key in keys:
        looks_abbreviated = any(v.replace(".", "").strip().isupper() or "." in v for v in by_key[key])
        if looks_abbreviated and 2 <= len(key) <= 6 and key in initials:
            for long_key in initials[key]:
                if long_key != key:
                    edges.append((key, long_key, "abbreviation"))
    index = {key: i for i, key in enumerate(keys)}
    component = connected_groups(len(keys), np.array([index[a] for a, _, _ in edges], dtype=np.int64),
                                 np.array([index[b] for _, b, _ in edges], dtype=np.int64))
    merged: dict[int, dict[str, int]] = {}  # in key order: the group of the most frequent key first
    reasons: dict[int, set[str]] = {}
    for key in keys:
        group = int(component[index[key]])
        merged.setdefault(group, {}).update(by_key[key])
        reasons.setdefault(group, set()).update(_spelling_reasons(by_key[key]) if len(by_key[key]) > 1 else ())
    for a, _, why in edges:
        reasons[int(component[index[a]])].add(why)
    return [(dict(sorted(members.items(), key=lambda kv: -kv[1])), sorted(reasons[group]))
            for group, members in merged.items() if len(members) > 1]


def run(data: AuditInput) -> Section:
    table = data.table
    frame = table.frame
    section = Section(name=NAME, title="Inconsistent categories")
    profiles = data.profiles
    similarity = data.settings.similarity
    checked: list[str] = []
    skipped: list[str] = []
    table_rows: list[list] = []
    variant_rows = 0
    for name, profile in profiles.items():
        if name == table.path_col or profile.kind != "text" or profile.distinct < 2:
            continue
        limit = max(data.settings.max_distinct,
                    min(int(profile.present * data.settings.max_distinct_share),
                        data.settings.hard_max_distinct))
        # Categories repeat: a column whose values are mostly distinct is free text or an id, not a category.
        if profile.distinct > limit or (profile.unique_share > 0.5 and name != table.label_col):
            skipped.append(name)
            continue
        checked.append(name)
        counts = {str(v): int(c) for v, c in profile.counts.items() if isinstance(v, str)}
        for variants, reasons in variant_groups(counts, similarity):
            canonical = next(iter(variants))
            others = [v for v in variants if v != canonical]
            rows = np.sort(rows_with_values(frame[name], others))
            variant_rows += len(rows)
            role = " (the label)" if name == table.label_col else ""
            listed = ", ".join(f"{v!r} x{c}" for v, c in variants.items())
            section.findings.append(Finding(
                analyser=NAME, kind="inconsistent_category", severity="warning",
                message=(f"column {name!r}{role}: {len(variants)} spellings of {canonical!r}: {listed} "
                         f"({'; '.join(reasons)})"),
                rows=rows.tolist(),
                detail={"column": name, "canonical": canonical, "variants": variants, "reasons": reasons,
                        "is_label": name == table.label_col},
            ))
            table_rows.append([name, canonical, listed, "; ".join(reasons), len(rows)])
    section.metrics = {
        "categories.inconsistent_groups": len(section.findings),
        "categories.inconsistent_rows": variant_rows,
        "categories.label_inconsistent_groups": sum(1 for f in section.findings if f.detail["is_label"]),
    }
    if table_rows:
        section.tables.append(TableBlock(
            title="Spelling variants", columns=["column", "most common", "variants (rows)", "why grouped",
                                                "rows to fix"],
            rows=table_rows, caption="Rows to fix = rows holding a spelling other than the most common one."))
    if skipped:
        section.notes.append(f"Not checked (too many distinct values to be categories): "
                             f"{', '.join(repr(c) for c in skipped)}.")
    section.summary = (
        f"{len(section.findings)} group(s) of spelling variants over {variant_rows:,} rows in "
        f"{len(checked)} categorical column(s)." if checked else "No categorical text column to check."
    )
    return section


ANALYSER = Analyser(
    name=NAME,
    title="Inconsistent categories",
    run=run,
    settings=SETTINGS,
    needs=(),
    uses_profiles=True,
    metrics={
        "categories.inconsistent_groups": "groups of values that spell one category differently ('Cat'/'cat'/'cats')",
        "categories.inconsistent_rows": "rows holding a spelling other than the most common one of its group",
        "categories.label_inconsistent_groups": Metric("such groups in the label column (one class split in several)", needs=("labels",)),
    },
)
