"""Per-class views: mean and std image of each class, and a seeded random sample of images per class.

Mean and std images are computed from the 16x16 thumbnails (the reporter upscales them for display). Std images of
all classes share one scale, so a brighter std image means a class that varies more.

Cost: O(n) for the class index; mean/std images read only the thumbnails of the classes shown, BLOCK at a time
(memory: a few MB whatever the class sizes).
"""

from __future__ import annotations

import numpy as np

from ..dataset import class_groups
from ..model import Analyser, AuditInput, ImageBlock, ImageGallery, Montage, MontageItem, Section
from ..settings import Setting
from ..text import count as plural_count

NAME = "classes"
UNLABELLED_SAMPLE = 48  # images sampled when there is no label column
BLOCK = 8192  # thumbnails summed at once


def class_mean_and_std(thumbs: np.ndarray, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean and std (float, 0-255) of the (k, h, w, 3) uint8 thumbnails thumbs[rows] (all by default),
    in two passes over blocks of BLOCK images: a float64 copy of a whole class costs 6 KB per image."""
    rows = np.arange(len(thumbs)) if rows is None else rows
    total = np.zeros(thumbs.shape[1:], dtype=np.int64)  # exact: at most 255 x 2^55 images
    for lo in range(0, len(rows), BLOCK):
        total += thumbs[rows[lo:lo + BLOCK]].sum(axis=0, dtype=np.int64)
    mean = total / max(len(rows), 1)
    squares = np.zeros(thumbs.shape[1:], dtype=np.float64)
    for lo in range(0, len(rows), BLOCK):
        squares += ((thumbs[rows[lo:lo + BLOCK]] - mean) ** 2).sum(axis=0)
    return mean, np.sqrt(squares / max(len(rows), 1))


def run(data: AuditInput) -> Section:
    features = data.features
    assert features is not None
    section = Section(name=NAME, title="Classes at a glance")
    ok = features.ok
    ok_rows = np.flatnonzero(ok)
    rng = np.random.default_rng(data.config.seed)
    per_class = max(1, min(data.settings.per_class, data.config.montage_max))
    max_classes = data.settings.max_classes
    labels = data.table.labels()
    if labels is None:
        picked = np.sort(rng.choice(ok_rows, size=min(UNLABELLED_SAMPLE, len(ok_rows)), replace=False))
        mean, std = class_mean_and_std(features.thumbs, ok_rows)
        section.galleries.append(ImageGallery(title="Mean and std image", images=[
            ImageBlock("mean", _to_uint8(mean), plural_count(len(ok_rows), "image")),
            ImageBlock("std", _to_uint8(std * 255.0 / max(std.max(), 1e-9)), "scaled to its maximum")]))
        section.montages.append(Montage(title="Random sample", items=[MontageItem(int(r)) for r in picked],
                                        caption=f"Seeded random sample (seed {data.config.seed}).",
                                        total=len(ok_rows)))
        section.summary = f"No label column: a random sample of {len(picked)} of {len(ok_rows):,} images."
        return section

    ok_labels = np.array(labels, dtype=object)[ok_rows]
    if len(ok_rows) < len(labels):
        section.notes.append(f"Counts here are of the {len(ok_rows):,} decoded images; the class balance section "
                             f"counts all {len(labels):,} rows, including {len(labels) - len(ok_rows):,} whose image "
                             "is missing or unreadable.")
    groups = class_groups(ok_labels)
    ordered = [(cls, len(members)) for cls, members in groups]
    shown = ordered[:max_classes]
    means, stds = [], []
    for (cls, count), (_, members) in zip(shown, groups, strict=False):
        rows = ok_rows[members]
        mean, std = class_mean_and_std(features.thumbs, rows)
        means.append(ImageBlock(str(cls), _to_uint8(mean), plural_count(count, "image")))
        stds.append((cls, count, std))
        picked = np.sort(rng.choice(rows, size=min(per_class, len(rows)), replace=False))
        section.montages.append(Montage(title=f"{cls}", items=[MontageItem(int(r)) for r in picked],
                                        caption=f"{len(picked)} random images of {count:,}", total=count))
    std_low = min((float(std.min()) for _, _, std in stds), default=0.0)
    std_top = max((float(std.max()) for _, _, std in stds), default=1.0)
    std_span = max(std_top - std_low, 1e-9)
    section.galleries.append(ImageGallery(
        title="Mean image per class", images=means,
        caption="Average of each class's 16x16 thumbnails: a class whose mean shows a clear shape or colour is "
                "framed consistently (or carries a background cue)."))
    section.galleries.append(ImageGallery(
        title="Std image per class",
        images=[ImageBlock(str(cls), _to_uint8((std - std_low) * 255.0 / std_span), plural_count(count, "image"))
                for cls, count, std in stds],
        caption=f"Per-pixel std of each class's thumbnails, all on one scale (black = std {std_low:.0f}, white = "
                f"{std_top:.0f}, of 255): darker means the class varies less there."))
    section.summary = (f"{len(ordered)} classes; mean image, std image and {per_class} random images (seed "
                       f"{data.config.seed}) per class.")
    if len(ordered) > len(shown):
        hidden = [str(cls) for cls, _ in ordered[len(shown):]]
        section.notes.append(f"Showing the {len(shown)} largest of {len(ordered)} classes (classes.max_classes); not "
                             f"shown: {', '.join(hidden[:30])}{' ...' if len(hidden) > 30 else ''}.")
    unlabelled = int((ok_labels == "").sum())
    if unlabelled:
        section.notes.append(f"{unlabelled:,} decoded images have an empty label and are not in any class view.")
    return section


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


ANALYSER = Analyser(
    name=NAME,
    title="Classes at a glance",
    run=run,
    settings=(
        Setting("per_class", 8, "images per class in the random sample (at most montage_max)", minimum=1),
        Setting("max_classes", 50, "classes shown (the largest ones); the rest are named in a note", minimum=1),
    ),
    metrics={},
)
