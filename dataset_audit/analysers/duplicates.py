"""Duplicates and leakage: the same file listed twice, exact copies, near duplicates, and copies across splits.

Matches, all between rows whose image decoded:
- same_file: two rows naming the same file (Features.file_ids); reported on their own, not as image duplicates.
- exact: identical file bytes (byte_hash) or identical decoded pixels (pixel_hash: re-encoded, renamed, converted).
- near: either (a) the normalised-thumbnail ratio test: d(i, j) / d(i, 10th nearest) <= `max_ratio` (see
  dataset_audit.thumbnail_search; catches re-crops, shifts, colour and contrast changes) with the distance itself at most
  `max_distance` (in a small or sparse dataset the 10th neighbour is far and the ratio alone passes look-alikes), or (b)
  pHash within `phash_radius` bits confirmed by the thumbnails (catches many re-crops of one shot, where the ratio
  test fails because the 10th nearest neighbour is another copy). Confirmed means a thumbnail distance of at most
  `phash_confirm_distance`, at most `phash_max_ratio` x the 10th-neighbour distance of either image, and at most
  TYPICAL_SHARE x the dataset's median nearest-neighbour distance. The two relative limits matter where pHash is
  not selective: on MNIST (thin strokes on black) most digits are within 8 bits of many others, and the absolute
  limit alone chains thousands of different digits into one group; `make bench` measures both datasets with and
  without them (bench/RESULTS.md, duplicates_* rows). phash_max_ratio = 0 turns both relative limits off.
With --embeddings (and use_embeddings, the default), near matches are instead the pairs of the user's vectors with
a cosine similarity of at least `min_similarity` (dataset_audit.vector_search); thumbnails and pHash are then not
used for near matches, and exact copies still come from the hashes.
Matched rows are joined into connected groups. A group with several labels is also a conflicting_labels finding; a
group with a train row and a val/test row is also a leakage finding.

Settings: SETTINGS below (and README's settings reference). High recall: max_ratio = 0.7,
phash_confirm_distance = 0.6 (more true copies, more look-alikes). Precision first: max_ratio = 0.5,
phash_radius = 6. max_ratio = 0 and phash_radius = -1 turn near duplicates off.

Growth: hashing groups O(n log n); pHash pairs by multi-index search (dataset_audit.hamming_search); the thumbnail
search and the --embeddings search are linear in n for a fixed cell size (dataset_audit.thumbnail_search,
vector_search). Nothing is quadratic in the rows.
"""

from __future__ import annotations

import numpy as np

from .. import graph_groups, hamming_search, thumbnail_search, vector_search
from ..incremental import Step
from ..model import Analyser, AuditInput, Finding, Metric, Montage, MontageItem, Section, TableBlock
from ..settings import Setting, SettingValues
from ..text import count

NAME = "duplicates"
SETTINGS = (
    Setting("max_ratio", 0.6, "a near duplicate's thumbnail distance / its 10th-nearest-neighbour distance at most "
            "(0 turns the ratio test off)", minimum=0, maximum=1),
    Setting("max_distance", 0.7, "a ratio-test match also needs a thumbnail distance of at most this", minimum=0),
    Setting("phash_radius", 8, "pHash matches within this many bits are candidates (-1 turns pHash matching off)",
            minimum=-1, maximum=64),
    Setting("phash_confirm_distance", 0.5, "a pHash candidate is confirmed by a thumbnail distance of at most this (and phash_max_ratio)",
            minimum=0),
    Setting("phash_max_ratio", 0.8, "a confirmed pHash match is also at most this x either image's 10th-neighbour distance and 0.65 x the "
            "dataset's median nearest-neighbour distance (0 turns both relative limits off)", minimum=0),
    Setting("flipped", True, "also match mirror images (a flipped copy in train and test is leakage for most models)"),
    Setting("recoloured", True, "also match grayscale copies of colour images"),
    Setting("montage_groups", 40, "duplicate groups shown as montages", minimum=0),
    Setting("use_embeddings", True, "with --embeddings, near duplicates are pairs of your vectors with a cosine "
            "similarity of at least min_similarity (instead of thumbnails and pHash)"),
    Setting("min_similarity", 0.97, "cosine similarity of two --embeddings vectors at which they are near duplicates",
            minimum=-1, maximum=1),
)
GROUP_ROUNDS = 3  # ratio-test rounds that exclude an image's matched copies from its reference (dense clusters)
CHANGE_GAIN = 0.8
MUTUAL_RANK = 5  # a flipped/recoloured match is at most this x the distance of the same pair unchanged
TYPICAL_SHARE = 0.65  # a pHash match must be this much closer than the dataset's typical nearest neighbour
DETAIL_PAIRS_MAX = 50  # matched pairs listed in a finding's detail


def _equal_value_edges(values: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edges linking each of `rows` to the first of `rows` with the same value (a star per value)."""
    if len(rows) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    _, first, inverse = np.unique(values[rows], return_index=True, return_inverse=True)
    head = rows[first[inverse]]
    repeated = head != rows
    return head[repeated], rows[repeated]


def uses_vectors(data: AuditInput) -> bool:
    """Near duplicates come from the user's --embeddings vectors (else from thumbnails and pHash)."""
    return data.table.outputs.embeddings is not None and bool(data.settings["use_embeddings"])


def _vector_edges(data: AuditInput, files: np.ndarray, settings: SettingValues) -> tuple[np.ndarray, ...]:
    """Pairs of `files` whose --embeddings vectors have a cosine similarity >= min_similarity; the score is the
    cosine distance (1 - similarity), so that smaller is closer as for the thumbnail scores."""
    features = data.features
    assert features is not None and data.table.outputs.embeddings is not None
    left, right, similarity = vector_search.similar_pairs(data.table.outputs.embeddings, files,
                                                          float(settings["min_similarity"]))
    score = (1.0 - similarity).astype(np.float32)
    return left, right, score, np.full(len(left), "embedding"), _plain_changes(features, left, right,
                                                                              np.full(len(left), ""))


def _near_edges(data: AuditInput, files: np.ndarray, settings: SettingValues,
                notes: list[str]) -> tuple[np.ndarray, ...]:
    """Near-duplicate pairs among the file representatives `files`: (left, right, score, how, change) arrays.
    With --incremental (data.reuse) the thumbnail search updates its stored state (a note says how)."""
    features = data.features
    assert features is not None
    if uses_vectors(data):
        return _vector_edges(data, files, settings)
    thumbs = features.thumbs
    found: list[tuple[np.ndarray, ...]] = []
    use_phash = settings["phash_radius"] >= 0 and len(files) > 1
    use_ratio = settings["max_ratio"] > 0
    neighbours, reference = None, None
    if len(files) > 2 and (use_ratio or (use_phash and settings["phash_max_ratio"] > 0)):
        valid = np.zeros(len(features), dtype=bool)
        valid[files] = True
        changes = tuple(name for name in thumbnail_search.CHANGES if use_ratio and settings[name])
        step = None if data.reuse is None else Step(data.reuse, "duplicates.thumbnails", (thumbs.shape[1:], changes),
                                                    features)
        neighbours = thumbnail_search.nearest_neighbours(thumbs, valid, changes, step)
        if step is not None:
            notes.append(step.note("thumbnail neighbour search"))
        reference = neighbours.reference
    if use_ratio and neighbours is not None:
        left, right, score, reference = _ratio_matches(neighbours, thumbs, settings)
        found.append((left, right, score, np.full(len(left), "thumbnail"), np.full(len(left), "")))
        for name, changed in neighbours.changed.items():
            found.append(_changed_matches(name, changed, neighbours.typical_distance, thumbs, settings))
    if use_phash:
        left, right = _phash_pairs(data, files, int(settings["phash_radius"]), notes)
        distance = thumbnail_search.pair_distances(thumbs, left, right)
        keep = distance <= settings["phash_confirm_distance"]
        if settings["phash_max_ratio"] > 0 and neighbours is not None:
            keep &= distance <= settings["phash_max_ratio"] * np.minimum(reference[left], reference[right])
            keep &= distance <= TYPICAL_SHARE * neighbours.typical_distance
        found.append((left[keep], right[keep], distance[keep], np.full(int(keep.sum()), "phash"),
                      np.full(int(keep.sum()), "")))
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0, dtype=np.float32), np.zeros(0, dtype=str), np.zeros(0, dtype=str)
    left, right, score, how, change = (np.concatenate(parts) for parts in zip(*found, strict=True))
    return left, right, score, how, _plain_changes(features, left, right, change)


def _phash_pairs(data: AuditInput, files: np.ndarray, radius: int, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of `files` whose pHashes are within `radius` bits (hamming_search.hamming_pairs). With --incremental,
    the stored run's pairs plus those of the new images with every image (hamming_search.pairs_with): the same
    matches, listed pair by pair where the full search links equal hashes in a star."""
    features = data.features
    assert features is not None
    hashes = features.frame["phash"].to_numpy()[files]
    step = None if data.reuse is None else Step(data.reuse, "duplicates.phash", (radius,), features)
    recalled = step.recall(files) if step is not None else None
    if recalled is None:
        pairs = hamming_search.hamming_pairs(hashes, radius)
        left, right = pairs.left, pairs.right
    else:
        new_of_old = recalled.new_of_old
        fresh = hamming_search.pairs_with(hashes, recalled.fresh, radius)
        left = np.concatenate([new_of_old[recalled.arrays["left"]], fresh.left])
        right = np.concatenate([new_of_old[recalled.arrays["right"]], fresh.right])
    if step is not None:
        step.keep(files, {"left": left, "right": right})
        notes.append(step.note("pHash search", kept="its matching pairs",
                               caveat="the same pairs as a full search (which links exact copies of one hash in a "
                                      "star, so a pair among them may be checked differently)"))
    return files[left], files[right]


def _ratio_matches(neighbours: thumbnail_search.Neighbours, thumbs: np.ndarray,
                   settings: SettingValues) -> tuple[np.ndarray, ...]:
    """Ratio-test pairs within max_distance, the ratio taken against the 10th neighbour outside the image's group
    of matched copies (GROUP_ROUNDS rounds, each with the groups of the last): (left, right, score, reference)."""
    n = len(thumbs)
    reference = neighbours.reference
    for round_ in range(GROUP_ROUNDS + 1):
        left, right, score = neighbours.pairs(settings["max_ratio"], reference)
        close = thumbnail_search.pair_distances(thumbs, left, right) <= settings["max_distance"]
        left, right, score = left[close], right[close], score[close]
        if round_ < GROUP_ROUNDS:
            updated = neighbours.reference_outside_groups(graph_groups.connected_groups(n, left, right))
            if np.array_equal(updated, reference):
                break
            reference = updated
    return left, right, score, reference


def _changed_matches(name: str, changed: thumbnail_search.Neighbours, typical: float, thumbs: np.ndarray,
                     settings: SettingValues) -> tuple[np.ndarray, ...]:
    """Pairs whose first image, changed by `name` (mirrored, made grey), passes the ratio test against the second,
    within max_distance and clearly closer than the unchanged pair (else it is a plain match, or a symmetric or
    grey picture), and within TYPICAL_SHARE x the dataset's typical nearest-neighbour distance: where the change maps
    the data onto itself (mirrored strokes and digits are strokes and digits) a changed look-alike is as common as
    a plain one, and the ratio test alone would double the look-alikes it lets through."""
    source, target, distance, score = changed.matches(settings["max_ratio"])
    plain = thumbnail_search.pair_distances(thumbs, source, target)
    keep = (distance <= settings["max_distance"]) & (distance < CHANGE_GAIN * plain)
    keep &= distance <= TYPICAL_SHARE * typical
    left, right, score = thumbnail_search.unique_pairs(source[keep], target[keep], score[keep])
    return left, right, score, np.full(len(left), "thumbnail"), np.full(len(left), name)


def _plain_changes(features, left: np.ndarray, right: np.ndarray, change: np.ndarray) -> np.ndarray:
    """The change between the two images of each pair, when cheap to tell: `change` as found (flipped, recoloured),
    else resized (other size, same aspect) or cropped (other aspect ratio); "" when none is visible."""
    width = features.frame["width"].to_numpy()
    height = features.frame["height"].to_numpy()
    out = change.astype(object)
    plain = out == ""
    aspect_left = width[left] / np.maximum(height[left], 1)
    aspect_right = width[right] / np.maximum(height[right], 1)
    cropped = plain & (np.abs(np.log(np.maximum(aspect_left, 1e-6) / np.maximum(aspect_right, 1e-6))) > 0.02)
    resized = plain & ~cropped & (width[left] != width[right])
    out[cropped] = "cropped"
    out[resized] = "resized"
    return out


def run(data: AuditInput) -> Section:
    features = data.features
    assert features is not None
    settings = data.settings
    n = len(features)
    frame = features.frame
    section = Section(name=NAME, title="Duplicates and leakage")
    labels = data.table.labels()
    splits = data.table.splits()
    ok_rows = np.flatnonzero(features.ok)
    file_ids = np.asarray(features.file_ids)

    # 1. The same file named by several rows.
    same_left, same_right = _equal_value_edges(file_ids, ok_rows)
    same_groups = _groups(n, same_left, same_right)
    # One row per file from here on: a file listed twice is not an image duplicate of itself.
    files = ok_rows[np.unique(file_ids[ok_rows], return_index=True)[1]] if len(ok_rows) else ok_rows
    # 2. Exact copies: bytes, then pixels.
    byte_left, byte_right = _equal_value_edges(frame["byte_hash"].to_numpy(), files)
    pixel_hashes = frame["pixel_hash"].to_numpy()
    # 0 = not computed (a large JPEG decoded at reduced size): such files match by bytes or as near duplicates.
    pixel_left, pixel_right = _equal_value_edges(pixel_hashes, files[pixel_hashes[files] != 0])
    exact_left, exact_right = np.concatenate([byte_left, pixel_left]), np.concatenate([byte_right, pixel_right])
    exact_groups = _groups(n, exact_left, exact_right)
    exact_component = graph_groups.connected_groups(n, exact_left, exact_right) if n else np.zeros(0, dtype=np.int64)
    # 3. Near copies (a match between two exact copies of one image says nothing new).
    near_left, near_right, near_score, near_how, near_change = _near_edges(data, files, settings, section.notes)
    new = exact_component[near_left] != exact_component[near_right]
    near_left, near_right, near_score = near_left[new], near_right[new], near_score[new]
    near_how, near_change = near_how[new], near_change[new]
    # Every kind of match together: the groups findings and leakage are about.
    all_left = np.concatenate([same_left, exact_left, near_left])
    all_right = np.concatenate([same_right, exact_right, near_right])
    component = graph_groups.connected_groups(n, all_left, all_right) if n else np.zeros(0, dtype=np.int64)
    groups = graph_groups.group_members(component)

    rows_of_file = _rows_by_file(file_ids, ok_rows)
    for group in same_groups:
        section.findings.append(Finding(
            analyser=NAME, kind="same_file", severity="warning",
            message=f"the same file is listed in {len(group)} rows", rows=group.tolist(),
        ))
    for group in exact_groups:
        members = _with_same_file_rows(group, file_ids, rows_of_file)
        how = "identical bytes" if np.all(frame["byte_hash"].to_numpy()[group] == frame["byte_hash"].iat[group[0]]) \
            else "identical pixels"
        section.findings.append(Finding(
            analyser=NAME, kind="exact_duplicate", severity="warning",
            message=f"{len(group)} files are exact copies ({how})", rows=members.tolist(),
            detail={"files": len(group), "match": how},
        ))
    near_groups, near_pairs = [], _pairs_by_component(component, near_left, near_right, near_score, near_how,
                                                            near_change)
    for group in groups:
        cid = int(component[group[0]])
        if cid not in near_pairs:
            continue  # only same-file or exact links
        near_groups.append(group)
        pairs = near_pairs[cid]
        kinds = sorted({how for _, _, _, how, _ in pairs})
        changes = sorted({change for *_, change in pairs if change})
        section.findings.append(Finding(
            analyser=NAME, kind="near_duplicate", severity="warning",
            message=f"{len(group)} images are near duplicates of each other (matched by {', '.join(kinds)}"
                    + (f"; {', '.join(changes)}" if changes else "") + ")",
            rows=group.tolist(),
            detail={"pairs": [{"rows": [a, b], "score": round(s, 3), "by": how, "change": change}
                              for a, b, s, how, change in pairs[:DETAIL_PAIRS_MAX]],
                    "changes": changes,
                    "exact_copies_inside": int(len(np.unique(exact_component[group])) < len(group))},
        ))

    conflicting = _conflicting_label_groups(groups, labels)
    for group, names in conflicting:
        section.findings.append(Finding(
            analyser=NAME, kind="conflicting_labels", severity="error",
            message=f"duplicate images carry different labels: {', '.join(sorted(names))}", rows=group.tolist(),
            detail={"labels": {str(r): labels[r] for r in group.tolist()}},
        ))
    leaked_rows, non_train = _leakage(section, groups, splits)

    exact_count = sum(len(g) - 1 for g in exact_groups)
    near_count = sum(len(g) - 1 for g in near_groups)
    section.metrics = {
        "duplicates.same_file_count": sum(len(g) - 1 for g in same_groups),
        "duplicates.exact_count": exact_count,
        "duplicates.exact_rate": exact_count / n if n else 0.0,
        "duplicates.near_count": near_count,
        "duplicates.near_rate": near_count / n if n else 0.0,
        "duplicates.group_count": len(groups),
        "duplicates.conflicting_label_groups": len(conflicting),
        "leakage.cross_split_count": leaked_rows,
        "leakage.cross_split_rate": leaked_rows / non_train if non_train else 0.0,
    }
    _describe(section, data, settings, groups, component, near_pairs, exact_groups, same_groups, splits, labels)
    return section


def _groups(n: int, left: np.ndarray, right: np.ndarray) -> list[np.ndarray]:
    if n == 0 or len(left) == 0:
        return []
    return graph_groups.group_members(graph_groups.connected_groups(n, left, right))


def _rows_by_file(file_ids: np.ndarray, rows: np.ndarray) -> dict[int, list[int]]:
    by_file: dict[int, list[int]] = {}
    for row in rows.tolist():
        by_file.setdefault(int(file_ids[row]), []).append(row)
    return by_file


def _with_same_file_rows(group: np.ndarray, file_ids: np.ndarray, rows_of_file: dict[int, list[int]]) -> np.ndarray:
    return np.array(sorted({r for row in group.tolist() for r in rows_of_file[int(file_ids[row])]}), dtype=np.int64)


def _pairs_by_component(component: np.ndarray, left: np.ndarray, right: np.ndarray, score: np.ndarray,
                        how: np.ndarray, change: np.ndarray) -> dict[int, list[tuple[int, int, float, str, str]]]:
    """Near pairs grouped by the component they fall in, best score first within each."""
    by_component: dict[int, list[tuple[int, int, float, str, str]]] = {}
    order = np.argsort(score, kind="stable")
    for a, b, s, h, c in zip(left[order].tolist(), right[order].tolist(), score[order].tolist(), how[order].tolist(),
                             change[order].tolist(), strict=True):
        by_component.setdefault(int(component[a]), []).append((a, b, float(s), h, c))
    return by_component


def _conflicting_label_groups(groups: list[np.ndarray], labels: list[str] | None) -> list[tuple[np.ndarray, set]]:
    if labels is None:
        return []
    out = []
    for group in groups:
        names = {labels[r] for r in group.tolist() if labels[r] != ""}
        if len(names) > 1:
            out.append((group, names))
    return out


def _leakage(section: Section, groups: list[np.ndarray], splits: list[str] | None) -> tuple[int, int]:
    """Adds a leakage finding per group with rows in train and in another split; (leaked non-train rows, non-train)."""
    if splits is None:
        return 0, 0
    split_array = np.array(splits, dtype=object)
    non_train = int(np.sum((split_array != "train") & (split_array != "")))
    leaked = 0
    for group in groups:
        group_splits = split_array[group]
        train = group[group_splits == "train"]
        others = group[(group_splits != "train") & (group_splits != "")]
        if len(train) == 0 or len(others) == 0:
            continue
        leaked += len(others)
        section.findings.append(Finding(
            analyser=NAME, kind="leakage", severity="error",
            message=(f"{count(len(others), '/'.join(sorted(set(split_array[others].tolist()))) + ' image')} "
                     f"{'has' if len(others) == 1 else 'have'} a duplicate in train ({count(len(train), 'train row')})"),
            rows=sorted(group.tolist()),
            detail={"train_rows": train.tolist(), "other_rows": others.tolist()},
        ))
    return leaked, non_train


def _other_splits(splits: list[str]) -> str:
    """The splits compared with train, as named in the data: "test", or "val/test"."""
    return "/".join(sorted({s for s in splits if s and s != "train"})) or "non-train"


def _describe(section: Section, data: AuditInput, settings: SettingValues, groups: list[np.ndarray], component: np.ndarray,
              near_pairs: dict, exact_groups: list[np.ndarray], same_groups: list[np.ndarray],
              splits: list[str] | None, labels: list[str] | None) -> None:
    metrics = section.metrics
    section.summary = (
        f"{metrics['duplicates.exact_count']:,} exact and {metrics['duplicates.near_count']:,} near-duplicate rows "
        f"beyond the first of their group ({metrics['duplicates.near_rate']:.2%} near), in {len(groups):,} groups; "
        f"{metrics['duplicates.conflicting_label_groups']:,} groups with conflicting labels"
        + (f"; {count(metrics['leakage.cross_split_count'], 'row')} of the {_other_splits(splits)} rows have a copy in "
           f"train ({metrics['leakage.cross_split_rate']:.2%})." if splits is not None else "; no split column, so no "
           "leakage check.")
    )
    section.tables.append(TableBlock(
        title="Duplicates by kind", columns=["kind", "groups", "rows beyond the first"],
        rows=[["same file listed twice", len(same_groups), metrics["duplicates.same_file_count"]],
              ["exact copy (bytes or pixels)", len(exact_groups), metrics["duplicates.exact_count"]],
              ["near duplicate", sum(1 for g in groups if int(component[g[0]]) in near_pairs),
               metrics["duplicates.near_count"]]],
    ))
    if uses_vectors(data):
        section.notes.append(
            f"Near duplicates: your vectors ({data.table.outputs.embedding_source}), cosine similarity >= "
            f"{settings['min_similarity']} (a pair's score is the cosine distance, 1 - similarity). Thumbnails and "
            "pHash are not used for near duplicates (set [tool.dataset-audit.duplicates] use_embeddings = false to "
            "use them); exact copies still come from the file and pixel hashes.")
    else:
        section.notes.append(
            f"Near duplicates: thumbnail ratio <= {settings['max_ratio']} (distance to the match / distance to the "
            f"{thumbnail_search.RATIO_RANK}th nearest image), or pHash within {settings['phash_radius']} bits confirmed by a "
            f"thumbnail distance <= {settings['phash_confirm_distance']} that is also at most "
            f"{settings['phash_max_ratio']} x either image's {thumbnail_search.RATIO_RANK}th-neighbour distance and "
            f"{TYPICAL_SHARE} x the median nearest-neighbour distance of this dataset. The {thumbnail_search.RATIO_RANK}th "
            "neighbour is counted outside the copies already matched (dense clusters of copies)."
            + (f" Changed copies searched too: {', '.join(name for name in thumbnail_search.CHANGES if settings[name])}."
               if any(settings[name] for name in thumbnail_search.CHANGES) else "")
            + " For higher recall set [tool.dataset-audit.duplicates] max_ratio = 0.7 and phash_confirm_distance = 0.6."
        )
    cap = int(settings["montage_groups"])
    for number, group in enumerate(groups[:cap], start=1):
        group_labels = sorted({labels[r] for r in group.tolist()}) if labels else []
        group_splits = sorted({splits[r] for r in group.tolist()}) if splits else []
        title = f"Group {number}: {len(group)} images"
        if len(group_labels) > 1:
            title += f", labels {' / '.join(group_labels)}"
        if len(group_splits) > 1:
            title += f", splits {' / '.join(group_splits)}"
        section.montages.append(Montage(
            title=title, items=[MontageItem(int(r)) for r in group[: data.config.montage_max]], total=len(group),
        ))
    if len(groups) > cap:
        section.notes.append(f"Showing the {cap} largest of {len(groups):,} groups; findings.json lists every group.")


ANALYSER = Analyser(
    name=NAME,
    title="Duplicates and leakage",
    run=run,
    cost=6,  # CIFAR-10 60k timings (make bench): the slowest analysers start first
    settings=SETTINGS,
    metrics={
        "duplicates.same_file_count": "rows naming a file that an earlier row already names",
        "duplicates.exact_count": "distinct files that are exact copies (bytes or pixels) of an earlier file",
        "duplicates.exact_rate": "exact_count / rows",
        "duplicates.near_count": "rows in a near-duplicate group that are not the group's first row",
        "duplicates.near_rate": "near_count / rows",
        "duplicates.group_count": "groups of rows matched by any kind of duplicate",
        "duplicates.conflicting_label_groups": Metric("duplicate groups whose members carry different labels", needs=("labels",)),
        "leakage.cross_split_count": Metric("val/test rows with an exact or near duplicate in train", needs=("split",)),
        "leakage.cross_split_rate": Metric("cross_split_count / val+test rows", needs=("split",)),
    },
)
