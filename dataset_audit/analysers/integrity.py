"""Integrity: files that are missing, cannot be decoded, are truncated, or whose extension lies about the format."""

from __future__ import annotations

from ..model import Analyser, AuditInput, Finding, Montage, MontageItem, Section, TableBlock

NAME = "integrity"

MISSING_KINDS = {"missing": "does not exist", "empty_path": "has an empty path cell", "is_directory": "is a folder"}
UNREADABLE_KINDS = {
    "empty_file": "is empty (0 bytes)",
    "not_an_image": "is not an image Pillow can identify",
    "truncated": "is truncated",
    "decompression_bomb": "is larger than the decompression-bomb limit and was not decoded",
    "decode_error": "failed to decode",
    "io_error": "could not be read",
}


def run(data: AuditInput) -> Section:
    features = data.features
    assert features is not None
    frame = features.frame
    n = len(frame)
    section = Section(name=NAME, title="File integrity")
    by_kind: dict[str, list[int]] = {}
    for row, (status, kind) in enumerate(zip(frame["status"], frame["error_kind"], strict=True)):
        if status != "ok" and kind:
            by_kind.setdefault(kind, []).append(row)
    missing_rows = sorted(r for k in MISSING_KINDS for r in by_kind.get(k, []))
    unreadable_rows = sorted(r for k in UNREADABLE_KINDS for r in by_kind.get(k, []))
    mismatch_rows = [int(r) for r in frame.index[frame["format_mismatch"].astype(bool)]]
    animated_rows = [int(r) for r in frame.index[(frame["frames"] > 1) & (frame["status"] == "ok")]]
    large_rows = [int(r) for r in frame.index[frame["error_kind"] == "very_large"]]

    errors = frame["error"].tolist()
    for kind, rows in sorted(by_kind.items()):
        if kind in MISSING_KINDS:
            finding_kind, what = "missing", MISSING_KINDS[kind]
        elif kind in UNREADABLE_KINDS:
            finding_kind, what = ("truncated" if kind == "truncated" else "unreadable"), UNREADABLE_KINDS[kind]
        else:
            continue
        for row in rows:
            section.findings.append(Finding(
                analyser=NAME, kind=finding_kind, severity="error",
                message=f"image {what}", rows=[row], detail={"error_kind": kind, "error": errors[row]},
            ))
    formats, modes = frame["format"].tolist(), frame["mode"].tolist()
    for row in mismatch_rows:
        section.findings.append(Finding(
            analyser=NAME, kind="format_mismatch", severity="warning",
            message=f"file extension does not match its real format ({formats[row]})",
            rows=[row], detail={"real_format": formats[row]},
        ))
    for row in large_rows:
        section.findings.append(Finding(
            analyser=NAME, kind="very_large", severity="warning", message=errors[row],
            rows=[row], detail={"width": int(frame['width'][row]), "height": int(frame['height'][row])},
        ))
    if animated_rows:
        section.findings.append(Finding(
            analyser=NAME, kind="animated", severity="info",
            message=f"{len(animated_rows)} animated image(s): only the first frame was audited",
            rows=animated_rows, detail={"frames": [int(frame['frames'][r]) for r in animated_rows]},
        ))

    section.metrics = {
        "integrity.missing_count": len(missing_rows),
        "integrity.unreadable_count": len(unreadable_rows),
        "integrity.truncated_count": len(by_kind.get("truncated", [])),
        "integrity.format_mismatch_count": len(mismatch_rows),
        "integrity.unreadable_rate": (len(unreadable_rows) + len(missing_rows)) / n if n else 0.0,
    }
    bad = len(missing_rows) + len(unreadable_rows)
    section.summary = (
        f"{n - bad:,} of {n:,} images decoded ({(n - bad) / n:.1%}). {len(missing_rows):,} missing, "
        f"{len(unreadable_rows):,} unreadable, {len(mismatch_rows):,} with a misleading extension."
        if n else "No rows."
    )
    table_rows = [[kind, UNREADABLE_KINDS.get(kind) or MISSING_KINDS.get(kind, kind), len(rows), f"{len(rows) / n:.2%}"]
                  for kind, rows in sorted(by_kind.items(), key=lambda kv: -len(kv[1])) if kind != "very_large"]
    if mismatch_rows:
        table_rows.append(["format_mismatch", "extension does not match the real format", len(mismatch_rows),
                           f"{len(mismatch_rows) / n:.2%}"])
    if table_rows:
        section.tables.append(TableBlock(title="Problems by kind", columns=["kind", "meaning", "rows", "share"],
                                         rows=table_rows))
    if mismatch_rows:
        section.montages.append(Montage(
            title="Extension does not match format",
            items=[MontageItem(r, f"{formats[r]} ({modes[r]})") for r in mismatch_rows[: data.config.montage_max]],
            total=len(mismatch_rows),
        ))
    odd_modes = [r for r, m in enumerate(modes) if m and m not in {"RGB", "L"}]
    if odd_modes:
        section.montages.append(Montage(
            title="Images in unusual colour modes (converted to RGB for the audit)",
            items=[MontageItem(r, modes[r]) for r in odd_modes[: data.config.montage_max]], total=len(odd_modes),
        ))
    return section


ANALYSER = Analyser(
    name=NAME,
    title="File integrity",
    run=run,
    needs=("images",),
    metrics={
        "integrity.missing_count": "rows whose image path does not exist (or is empty)",
        "integrity.unreadable_count": "files that exist but cannot be decoded (truncated, empty, not an image)",
        "integrity.truncated_count": "files cut short (a subset of unreadable_count)",
        "integrity.format_mismatch_count": "files whose extension does not match their real format",
        "integrity.unreadable_rate": "(missing + unreadable) / rows",
    },
)
