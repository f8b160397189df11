"""Human baseline: a seeded random sample of labelled images for a person to label in the report, blind.

The report's `_baseline.html.j2` partial turns this section into the exercise (class buttons, no labels shown, then
accuracy against the given labels, the disagreements, and a CSV of the answers), entirely in the page: no server.
This analyser only picks the images (the section's one montage, in order) and the classes to choose from (its one
table, largest class first). Cost: O(n) to collect the labelled rows, then a sample of `images` rows.

Settings: SETTINGS below.
"""

from __future__ import annotations

import numpy as np

from ..model import Analyser, AuditInput, Montage, MontageItem, Section, TableBlock
from ..settings import Setting
from ._class_limit import decoded_classes

NAME = "baseline"
SETTINGS = (
    Setting("images", 50, "images to label (fewer when the dataset has fewer labelled, decoded images)", minimum=1),
    Setting("max_classes", 60, "above this many classes the exercise is skipped (too many buttons to choose from)",
            minimum=2),
)



def run(data: AuditInput) -> Section:
    section = Section(name=NAME, title="Human baseline")
    groups, too_many = decoded_classes(data, data.settings.max_classes, NAME, ": too many to choose from by button")
    if too_many:
        section.skipped = too_many
        return section
    labelled = np.sort(np.concatenate([members for _, members in groups]))
    wanted = min(data.settings.images, len(labelled))
    rng = np.random.default_rng(data.config.seed)
    sample = rng.choice(labelled, wanted, replace=False)  # in drawn order: the page asks in this order
    total = len(labelled)
    section.montages.append(Montage(title="Images to label", items=[MontageItem(row=int(r)) for r in sample],
                                    total=total))
    section.tables.append(TableBlock(
        title="Classes to choose from", columns=["class", "images", "share"],
        rows=[[name, len(members), f"{len(members) / total:.1%}"] for name, members in groups]))
    largest_name, largest = groups[0]
    section.summary = (
        f"Label {wanted} images drawn at random (seed {data.config.seed}) from the {total:,} labelled images "
        f"without seeing their labels, then compare with the given labels. How often you disagree is a floor for "
        f"the label noise a model can be blamed for; always answering the largest class ('{largest_name}') would "
        f"agree {len(largest) / total:.1%} of the time. Everything stays in this page.")
    return section


ANALYSER = Analyser(
    name=NAME,
    title="Human baseline",
    run=run,
    needs=("images", "decoded", "labels", "two_classes"),
    settings=SETTINGS,
    metrics={},
)
