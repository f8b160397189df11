"""Memory and time of every analyser on synthetic Features of growing size: bytes per image, and nothing quadratic.

Each size runs in a fresh child process (so one size's high-water mark does not hide the next). The child builds
synthetic Features (smooth random 16x16x3 thumbnails with class colours, 1% planted near copies and 0.5% exact copies,
random hashes with the near copies' pHash a few bits away, a table with path, label and split) and runs every
registered analyser in-process through pipeline.run_analyser. Per analyser it reports the seconds and the peak
resident memory of the process while it ran (VmHWM, reset through /proc/self/clear_refs before each analyser), and
"extra": that peak minus the resident memory before the analyser (the data every analyser shares).

Run alone: `python bench/bench_memory.py [--only duplicates,labels] [ROWS ...]` (default 10000 60000 240000, every
analyser); from run_bench.py: run(report).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SIZES = (10_000, 60_000, 240_000)
CLASSES = 10
NEAR_SHARE = 0.01
EXACT_SHARE = 0.005
SEED = 0


def synthetic_inputs(rows: int, seed: int = SEED):
    """(table, features) of `rows` synthetic decoded images (see the module docstring)."""
    import pandas as pd

    from dataset_audit.dataset import Table
    from dataset_audit.scan.decode import RECORD_COLUMNS
    from dataset_audit.scan.features import Features

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, rows)
    class_colour = rng.integers(40, 216, (CLASSES, 3))
    thumbs = np.empty((rows, 16, 16, 3), dtype=np.uint8)
    for lo in range(0, rows, 8192):  # a coarse 4x4 layout upsampled, plus the class colour and noise
        hi = min(rows, lo + 8192)
        coarse = rng.normal(0, 40, (hi - lo, 4, 4, 3)).repeat(4, axis=1).repeat(4, axis=2)
        noise = rng.normal(0, 12, (hi - lo, 16, 16, 3))
        thumbs[lo:hi] = np.clip(class_colour[labels[lo:hi]][:, None, None, :] + coarse + noise, 0, 255)
    phash = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, rows, dtype=np.int64)
    byte_hash = rng.integers(1, np.iinfo(np.int64).max, rows, dtype=np.int64)
    pixel_hash = rng.integers(1, np.iinfo(np.int64).max, rows, dtype=np.int64)
    near = rng.choice(rows, int(rows * NEAR_SHARE), replace=False)
    source = rng.choice(rows, len(near))
    shift = rng.normal(0, 3, (len(near), 16, 16, 3))
    thumbs[near] = np.clip(thumbs[source] + shift, 0, 255).astype(np.uint8)
    flips = np.int64(1) << rng.integers(0, 63, len(near)).astype(np.int64)
    phash[near] = phash[source] ^ flips
    exact = rng.choice(rows, int(rows * EXACT_SHARE), replace=False)
    exact_source = rng.choice(rows, len(exact))
    thumbs[exact] = thumbs[exact_source]
    pixel_hash[exact] = pixel_hash[exact_source]
    phash[exact] = phash[exact_source]
    flat = thumbs.reshape(rows, -1, 3)
    means = np.concatenate([flat[lo:lo + 8192].mean(axis=1) for lo in range(0, rows, 8192)])
    stds = np.concatenate([flat[lo:lo + 8192].std(axis=1) for lo in range(0, rows, 8192)])
    columns = {name: np.full(rows, default, dtype=object if isinstance(default, str) else None)
               for name, default in RECORD_COLUMNS.items()}
    columns.update(status=np.full(rows, "ok", dtype=object), format=np.full(rows, "JPEG", dtype=object),
                   mode=np.full(rows, "RGB", dtype=object), width=np.full(rows, 32), height=np.full(rows, 32),
                   frames=np.ones(rows, dtype=np.int64), file_bytes=rng.integers(900, 1400, rows),
                   byte_hash=byte_hash, pixel_hash=pixel_hash, phash=phash,
                   mean_r=means[:, 0], mean_g=means[:, 1], mean_b=means[:, 2],
                   std_r=stds[:, 0], std_g=stds[:, 1], std_b=stds[:, 2],
                   brightness=means @ np.array([0.299, 0.587, 0.114]), contrast=stds.mean(axis=1),
                   sharpness=rng.gamma(2.0, 50.0, rows), entropy=rng.uniform(5, 8, rows),
                   luma_p01=rng.uniform(0, 30, rows), luma_p05=rng.uniform(10, 50, rows),
                   luma_p99=rng.uniform(200, 255, rows), colourfulness=rng.uniform(5, 40, rows))
    features = Features(frame=pd.DataFrame(columns), thumbs=thumbs, file_ids=np.arange(rows, dtype=np.int64))
    table_frame = pd.DataFrame({
        "path": [f"images/{i:07d}.jpg" for i in range(rows)],
        "label": np.array([f"class_{c}" for c in range(CLASSES)], dtype=object)[labels],
        "split": np.where(rng.random(rows) < 0.8, "train", "test").astype(object),
    })
    table = Table(frame=table_frame, source="synthetic.csv", root=Path("."), path_col="path", label_col="label",
                  split_col="split")
    return table, features


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _reset_high_water_mark() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def measure(rows: int, only: tuple[str, ...] = ()) -> dict:
    """Per-analyser seconds and memory (MB) on `rows` synthetic images, in this process (the analysers named in
    `only`, or all)."""
    from dataset_audit.analysers import REGISTRY
    from dataset_audit.config import Config
    from dataset_audit.model import AuditInput
    from dataset_audit.pipeline import run_analyser

    started = time.perf_counter()
    table, features = synthetic_inputs(rows)
    built = time.perf_counter() - started
    # One job (the machine is shared) and a small t-SNE sample: its cost does not depend on the rows.
    config = Config(label_col="label", split_col="split", jobs=1, tsne_max=1000)
    figures: dict = {"rows": rows, "build_s": round(built, 1), "analysers": {}}
    resettable = _reset_high_water_mark()
    figures["inputs_rss_mb"] = round(_status_kib("VmRSS") / 1024, 1)
    for analyser in [a for a in REGISTRY if not only or a.name in only]:
        before = _status_kib("VmRSS")
        _reset_high_water_mark()
        t0 = time.perf_counter()
        section = run_analyser(analyser, AuditInput(table=table, features=features, config=config))
        seconds = time.perf_counter() - t0
        peak = _status_kib("VmHWM")
        figures["analysers"][analyser.name] = {
            "seconds": round(seconds, 2), "peak_mb": round(peak / 1024, 1),
            "extra_mb": round((peak - before) / 1024, 1),
            "status": "error" if section.error else "skipped" if section.skipped else "ok"}
    figures["high_water_mark_reset"] = resettable
    figures["peak_mb"] = max((a["peak_mb"] for a in figures["analysers"].values()), default=0.0)
    return figures


def run_sizes(sizes: tuple[int, ...] = SIZES, only: tuple[str, ...] = ()) -> dict:
    """Each size in a fresh child process; adds bytes per image between consecutive sizes."""
    results = []
    for rows in sizes:
        child = subprocess.run([sys.executable, __file__, "--child", str(rows), ",".join(only)], capture_output=True,
                               text=True, check=False)
        if child.returncode != 0:
            raise RuntimeError(f"bench_memory at {rows} rows failed:\n{child.stderr[-3000:]}")
        results.append(json.loads(child.stdout.strip().splitlines()[-1]))
        print(json.dumps(results[-1]), file=sys.stderr, flush=True)  # each size as it ends: a long run can be cut
    growth = {}
    for small, large in zip(results[:-1], results[1:], strict=False):
        extra = large["rows"] - small["rows"]
        growth[f"{small['rows']}->{large['rows']}"] = {
            "peak_bytes_per_image": round((large["peak_mb"] - small["peak_mb"]) * 2**20 / extra),
            "inputs_bytes_per_image": round((large["inputs_rss_mb"] - small["inputs_rss_mb"]) * 2**20 / extra),
            "per_analyser_extra_bytes_per_image": {
                name: round((large["analysers"][name]["extra_mb"] - small["analysers"][name]["extra_mb"]) * 2**20
                            / extra) for name in large["analysers"]},
            "per_analyser_time_ratio": {
                name: round(large["analysers"][name]["seconds"] / max(small["analysers"][name]["seconds"], 1e-3), 2)
                for name in large["analysers"]},
        }
    return {"sizes": results, "growth": growth}


def run(report: dict, sizes: tuple[int, ...] = SIZES, only: tuple[str, ...] = ()) -> None:
    """Adds the figures to `report` under "memory"."""
    report["memory"] = run_sizes(sizes, only)


def _print_table(figures: dict) -> None:
    sizes = figures["sizes"]
    names = list(sizes[0]["analysers"])
    header = "analyser".ljust(18) + "".join(f"{s['rows']:>10,} rows: s / extra MB".rjust(34) for s in sizes)
    print(header)
    for name in names:
        print(name.ljust(18) + "".join(f"{s['analysers'][name]['seconds']:>16.2f} / {s['analysers'][name]['extra_mb']:>9.1f}"
                                       .rjust(34) for s in sizes))
    print("inputs (RSS MB)".ljust(18) + "".join(f"{s['inputs_rss_mb']:>34.1f}" for s in sizes))
    print("peak (VmHWM MB)".ljust(18) + "".join(f"{s['peak_mb']:>34.1f}" for s in sizes))
    for step, growth in figures["growth"].items():
        print(f"{step}: peak {growth['peak_bytes_per_image']:,} B/image, inputs {growth['inputs_bytes_per_image']:,} "
              f"B/image; time ratio per analyser {growth['per_analyser_time_ratio']}")


def _names(text: str) -> tuple[str, ...]:
    return tuple(name for name in text.split(",") if name)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        print(json.dumps(measure(int(sys.argv[2]), _names(sys.argv[3] if len(sys.argv) > 3 else ""))))
    else:
        arguments = sys.argv[1:]
        only = _names(arguments.pop(arguments.index("--only") + 1)) if "--only" in arguments else ()
        chosen = tuple(int(a) for a in arguments if a != "--only") or SIZES
        result = run_sizes(chosen, only)
        _print_table(result)
        print(json.dumps(result))
