"""Detection figures on real data: rows flagged per kind by the image analysers (integrity, duplicates, quality,
embedding), and seeded random samples of what each kind flags, drawn as montages to judge precision by eye.

    python bench/detection_figures.py cifar-test|cifar|mnist TAG [--montages] [--only=quality,embedding]

Scans are cached under bench/.data/cache (bench_duplicates.scanned). Writes bench/results/detection_<data>_<TAG>.json
and, with --montages, bench/results/montages/<data>_<TAG>_<kind>.png (near-duplicate pairs side by side at 4x).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_duplicates import scanned  # noqa: E402
from cifar import ROOT, cifar10_folder  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SAMPLE = 48  # images (or pairs) per montage
SCALE = 3


def _source(name: str) -> tuple[Path, str | None]:
    from mnist import mnist_test_csv

    if name == "cifar-test":
        return cifar10_folder() / "test", None
    if name == "cifar":
        return cifar10_folder(), None
    if name == "mnist":
        return mnist_test_csv(), "label"
    raise SystemExit(f"unknown dataset {name!r}: cifar-test, cifar or mnist")


def figures(name: str, only: tuple[str, ...] = ()) -> tuple[dict, dict, object]:
    from dataset_audit.analysers import duplicates, embedding, integrity, quality
    from dataset_audit.config import Config
    from dataset_audit.model import AuditInput
    from dataset_audit.pipeline import run_analyser

    source, label_col = _source(name)
    config = Config(label_col=label_col, tsne_max=0)
    table, features = scanned(source, config)
    out: dict = {"rows": len(table.frame)}
    found: dict = {}
    for analyser in (integrity, duplicates, quality, embedding):
        if only and analyser.NAME not in only:
            continue
        started = time.perf_counter()
        section = run_analyser(analyser.ANALYSER, AuditInput(table=table, features=features, config=config))
        out[f"{analyser.NAME}_seconds"] = round(time.perf_counter() - started, 2)
        if section.error:
            raise SystemExit(f"{analyser.NAME}: {section.error}")
        for finding in section.findings:
            key = f"{analyser.NAME}.{finding.kind}" + (f".{finding.detail['scope']}" if "scope" in finding.detail
                                                       else "")
            found.setdefault(key, []).append(finding)
        out.update({k: v for k, v in section.metrics.items() if k.startswith(("duplicates.", "leakage.", "embedding.o",
                                                                             "integrity.format"))})
    out["rows_per_kind"] = {key: len({r for f in items for r in f.rows}) for key, items in sorted(found.items())}
    near = found.get("duplicates.near_duplicate", [])
    out["near_groups"] = len(near)
    out["largest_near_group"] = max((len(f.rows) for f in near), default=0)
    transforms: dict[str, int] = {}
    for finding in near:
        for pair in finding.detail["pairs"]:
            transforms[pair.get("change", pair["by"])] = transforms.get(pair.get("change", pair["by"]), 0) + 1
    out["near_pairs_by_change"] = transforms
    return out, found, features


def _tile(thumb_source, row: int) -> Image.Image:
    return thumb_source(row).resize((32 * SCALE, 32 * SCALE), Image.Resampling.NEAREST)


def montage_pairs(pairs: list[tuple[int, int, str]], image_of, path: Path) -> None:
    """Each pair side by side, six pairs a line, the caption under it."""
    per_line, size = 6, 32 * SCALE
    lines = (len(pairs) + per_line - 1) // per_line
    sheet = Image.new("RGB", (per_line * (2 * size + 12), lines * (size + 14)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (a, b, text) in enumerate(pairs):
        x, y = (i % per_line) * (2 * size + 12), (i // per_line) * (size + 14)
        sheet.paste(_tile(image_of, a), (x, y))
        sheet.paste(_tile(image_of, b), (x + size, y))
        draw.text((x, y + size), f"{i}:{text}"[:22], fill="black")
    sheet.save(path)


def montage_rows(rows: list[int], captions: list[str], image_of, path: Path) -> None:
    per_line, size = 12, 32 * SCALE
    lines = (len(rows) + per_line - 1) // per_line
    sheet = Image.new("RGB", (per_line * (size + 4), lines * (size + 14)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (row, text) in enumerate(zip(rows, captions, strict=True)):
        x, y = (i % per_line) * (size + 4), (i // per_line) * (size + 14)
        sheet.paste(_tile(image_of, row), (x, y))
        draw.text((x, y + size), f"{i}:{text}"[:16], fill="black")
    sheet.save(path)


def write_montages(name: str, tag: str, found: dict, paths: list[str]) -> None:
    folder = RESULTS / "montages"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)

    def image_of(row: int) -> Image.Image:
        with Image.open(paths[row]) as image:
            return image.convert("RGB")

    pairs = [(p["rows"][0], p["rows"][1], p.get("change") or p["by"], p["score"])
             for f in found.get("duplicates.near_duplicate", []) for p in f.detail["pairs"]]
    if pairs:
        chosen = rng.choice(len(pairs), min(SAMPLE, len(pairs)), replace=False)
        montage_pairs([(pairs[i][0], pairs[i][1], f"{pairs[i][2]} {pairs[i][3]}") for i in chosen], image_of,
                      folder / f"{name}_{tag}_near_pairs.png")
        for change in sorted({p[2] for p in pairs} - {"thumbnail", "phash"}):
            some = [p for p in pairs if p[2] == change]
            chosen = rng.choice(len(some), min(SAMPLE, len(some)), replace=False)
            montage_pairs([(some[i][0], some[i][1], f"{change} {some[i][3]}") for i in chosen], image_of,
                          folder / f"{name}_{tag}_near_{change}.png")
    for key, items in found.items():
        if key.startswith("duplicates."):
            continue
        rows = sorted({r for f in items for r in f.rows})
        chosen = sorted(rng.choice(rows, min(SAMPLE, len(rows)), replace=False).tolist()) if rows else []
        if chosen:
            montage_rows(chosen, [str(r) for r in chosen], image_of, folder / f"{name}_{tag}_{key}.png")


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    name, tag = sys.argv[1], sys.argv[2]
    only = next((a.split("=", 1)[1].split(",") for a in sys.argv if a.startswith("--only=")), [])
    out, found, _ = figures(name, tuple(only))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"detection_{name}_{tag}{'_' + '_'.join(only) if only else ''}.json").write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))
    if "--montages" in sys.argv:
        from dataset_audit.config import Config
        from dataset_audit.dataset import load_table

        source, label_col = _source(name)
        paths = load_table(source, Config(label_col=label_col)).resolved_paths()
        write_montages(name, tag, found, paths)


if __name__ == "__main__":
    main()
