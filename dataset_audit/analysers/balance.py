"""Class balance: counts per class and per split, imbalance ratio, classes present in only some splits."""

from __future__ import annotations

from collections import Counter

from ..charts import bar_chart, grouped_bar_chart
from ..dataset import class_groups
from ..model import Analyser, AuditInput, Finding, Metric, Montage, MontageItem, Section, TableBlock

NAME = "balance"
# A class is "rare" when it has fewer than this share of the mean class count.
RARE_SHARE = 0.2


def run(data: AuditInput) -> Section:
    table = data.table
    section = Section(name=NAME, title="Class balance")
    labels = table.labels()
    assert labels is not None  # declared need
    groups = class_groups(labels)
    counts = Counter({cls: len(members) for cls, members in groups})
    label_rows = {cls: members.tolist() for cls, members in groups}
    empty_rows = [i for i, label in enumerate(labels) if not label]
    n = len(labels)
    ordered = counts.most_common()
    largest, smallest = ordered[0][1], ordered[-1][1]
    ratio = largest / smallest
    mean = sum(counts.values()) / len(counts)
    section.metrics = {
        "balance.num_classes": len(counts),
        "balance.imbalance_ratio": ratio,
        "balance.min_class_count": smallest,
        "balance.max_class_count": largest,
        "balance.unlabelled_count": len(empty_rows),
    }
    section.summary = (
        f"{len(counts)} classes over {n - len(empty_rows):,} labelled rows. Largest {ordered[0][0]!r} has "
        f"{largest:,} ({largest / n:.1%}), smallest {ordered[-1][0]!r} has {smallest:,} ({smallest / n:.1%}): "
        f"imbalance ratio {ratio:.1f}."
    )
    section.charts.append(bar_chart("Rows per class", [c for c, _ in ordered], [k for _, k in ordered], "rows",
                                    str(table.label_col), shares=[k / n for _, k in ordered]))
    rare = [(c, k) for c, k in ordered if k < RARE_SHARE * mean]
    for cls, count in rare:
        section.findings.append(Finding(
            analyser=NAME, kind="rare_class", severity="warning",
            message=f"class {cls!r} has {count} rows, {count / mean:.0%} of the mean class size ({mean:.0f})",
            rows=label_rows[cls], detail={"class": cls, "count": count, "mean_count": mean},
        ))
    if rare:
        section.montages.append(Montage(
            title="Rare classes",
            items=[MontageItem(r, cls) for cls, _ in rare for r in label_rows[cls][:8]][: data.config.montage_max],
        ))
    if empty_rows:
        section.findings.append(Finding(
            analyser=NAME, kind="unlabelled", severity="warning",
            message=f"{len(empty_rows)} rows have an empty label", rows=empty_rows,
        ))
    splits = table.splits()
    split_rows: list[list] = []
    if splits is not None:
        per_split = Counter(zip(splits, labels, strict=True))
        split_names = sorted({s for s in splits})
        classes = [c for c, _ in ordered]
        section.charts.append(grouped_bar_chart(
            "Rows per class and split", classes,
            {s or "(no split)": [per_split.get((s, c), 0) for c in classes] for s in split_names}, "rows"))
        for c in classes:
            present = [s for s in split_names if per_split.get((s, c), 0) > 0]
            split_rows.append([c] + [per_split.get((s, c), 0) for s in split_names])
            if len(split_names) > 1 and len(present) < len(split_names):
                absent = [s for s in split_names if s not in present]
                section.findings.append(Finding(
                    analyser=NAME, kind="class_missing_from_split", severity="warning",
                    message=f"class {c!r} appears in {', '.join(present)} but not in {', '.join(absent)}",
                    rows=label_rows[c], detail={"class": c, "present": present, "absent": absent},
                ))
        section.metrics["balance.classes_missing_from_a_split"] = sum(
            1 for f in section.findings if f.kind == "class_missing_from_split")
        section.tables.append(TableBlock(title="Rows per class and split", columns=["class", *split_names],
                                         rows=split_rows))
    else:
        section.tables.append(TableBlock(
            title="Rows per class", columns=["class", "rows", "share"],
            rows=[[c, k, f"{k / n:.2%}"] for c, k in ordered]))
    return section


ANALYSER = Analyser(
    name=NAME,
    title="Class balance",
    run=run,
    needs=("labels",),
    metrics={
        "balance.num_classes": "number of distinct non-empty labels",
        "balance.imbalance_ratio": "rows in the largest class / rows in the smallest",
        "balance.min_class_count": "rows in the smallest class",
        "balance.max_class_count": "rows in the largest class",
        "balance.unlabelled_count": "rows with an empty label",
        "balance.classes_missing_from_a_split": Metric("classes absent from at least one split", needs=("split",)),
    },
)
