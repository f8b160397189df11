"""`make bench-1m`: one million JPEGs on one machine, and how each part grows from 10,000 to 60,000 to 1,000,000.

Generates the synthetic set once (bench/synth1m.py: CIFAR-10 crops, flips and colour jitter with planted exact and
near copies, ~4 GB on disk under the ignored bench/.data/synth1m), then audits its first 10,000, 60,000 and all
1,000,000 rows with a cold cache, each as a whole `audit run` process: wall seconds, peak resident memory of the
process and its workers (sampled every 50 ms), the scan rate, and every stage's seconds from findings.json. The
table goes to the committed bench/SCALE.md (README's growth table quotes it), the raw figures to
bench/results/scale.json.

SIZES=10000,60000 make bench-1m  runs only those sizes (a quick check of the harness).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_bench import AUDIT, RESULTS, ROOT, run_measured  # noqa: E402
from synth1m import synth_csv  # noqa: E402

TABLE = ROOT / "bench" / "SCALE.md"
DEFAULT_SIZES = (10_000, 60_000, 1_000_000)
MEMORY_BUDGET_MB = 4096
MEMORY_MEASURE = "pss"  # run_bench.run_measured sums proportional set sizes (shared pages counted once)


def audit_size(csv: Path, work: Path, size: int) -> dict:
    out, cache = work / f"r{size}", work / f"c{size}"
    command = [str(AUDIT), "run", str(csv), "--label-col", "label", "--split-col", "split", "--out", str(out),
               "--cache-dir", str(cache), "--quiet", "--force"]
    figures = run_measured(command) | {"memory": MEMORY_MEASURE}
    document = json.loads((out / "findings.json").read_text())
    timings = document["timings"]
    stages = {k.removeprefix("analyse."): v for k, v in timings.items() if k.startswith("analyse.") and v >= 0.05}
    figures.update({
        "rows": document["dataset"]["rows"],
        "scan_s": document["scan"]["seconds"],
        "scan_images_per_s": round(document["scan"]["decoded"] / max(document["scan"]["seconds"], 1e-9), 1),
        # Wall seconds of the analysis phase (analysers run side by side, so this is less than their sum).
        "analyse_s": round(timings.get("analyse", sum(v for k, v in timings.items()
                                                      if k.count(".") == 1 and k.startswith("analyse."))), 2),
        # Everything outside the pipeline: imports, reading the table, and writing the reports.
        "load_and_report_s": round(figures["wall_s"] - timings["total_seconds"], 2),
        "stages_s": stages,
        "metrics": {k: document["metrics"].get(k) for k in ("integrity.unreadable_count", "duplicates.exact_count",
                                                            "duplicates.near_count", "leakage.cross_split_rate")},
        "report_mb": round((out / "report.html").stat().st_size / 2**20, 2),
    })
    return figures


def scale_table(runs: dict[int, dict]) -> str:
    sizes = sorted(runs)
    when = time.strftime("%Y-%m-%d", time.gmtime())
    head = "| what | " + " | ".join(f"{s:,} images" for s in sizes) + " |"
    lines = [f"Measured by `make bench-1m` on {when}, {os.cpu_count()} cores, cold cache, one `audit run` process per "
             "size (a shared machine: other work may have run at the same time). Synthetic JPEGs from CIFAR-10 "
             "(bench/synth1m.py); peak memory is the process and its workers together (proportional set sizes).", "", head,
             "| --- |" + " --- |" * len(sizes)]

    def row(label: str, value) -> None:
        lines.append(f"| {label} | " + " | ".join(value(runs[s]) for s in sizes) + " |")

    row("wall seconds", lambda r: f"{r['wall_s']:,}")
    row("peak memory (MB)", lambda r: f"{r['peak_rss_mb']:,.0f}")
    row("peak memory per image (KB)", lambda r: f"{r['peak_rss_mb'] * 1024 / r['rows']:.1f}")
    row("scan seconds (images/s)", lambda r: f"{r['scan_s']:,} ({r['scan_images_per_s']:,.0f})")
    row("all analysers, wall seconds", lambda r: f"{r['analyse_s']:,}")
    row("load + report, seconds", lambda r: f"{r['load_and_report_s']:,}")
    stages = sorted({k for r in runs.values() for k in r["stages_s"]}, key=lambda k: -runs[sizes[-1]]["stages_s"].get(k, 0))
    for stage in stages:  # each analyser's own seconds (in its lane)
        row(f"{stage} (s)", lambda r, stage=stage: f"{r['stages_s'].get(stage, 0):,}")
    row("report size (MB)", lambda r: f"{r['report_mb']}")
    row("metrics", lambda r: ", ".join(f"{k.split('.', 1)[1]} {v}" for k, v in r["metrics"].items()))
    return "\n".join(lines) + "\n"


def main() -> None:
    sizes = tuple(int(s) for s in os.environ.get("SIZES", "").split(",") if s) or DEFAULT_SIZES
    csvs = {size: synth_csv(size) for size in sizes}
    runs: dict[int, dict] = {}
    with tempfile.TemporaryDirectory(prefix="audit-bench-1m-") as tmp:
        for size in sizes:
            print(f"audit run on {size:,} synthetic JPEGs, cold cache ...", flush=True)
            runs[size] = audit_size(csvs[size], Path(tmp), size)
            print(f"  {runs[size]}", flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    saved = RESULTS / "scale.json"
    if saved.exists():  # sizes not measured this time keep their last figures (SIZES=... measures a few again)
        earlier = {int(k): v for k, v in json.loads(saved.read_text()).items()}
        runs = {**{k: v for k, v in earlier.items() if v.get("memory") == MEMORY_MEASURE}, **runs}
    saved.write_text(json.dumps({str(k): v for k, v in sorted(runs.items())}, indent=1) + "\n")
    table = scale_table(runs)
    print("\n" + table)
    if max(runs) >= 1_000_000:
        TABLE.write_text(table)
        print(f"Table written to {TABLE.relative_to(ROOT)} (commit it; `make readme` copies it into README.md)")
        peak = runs[max(runs)]["peak_rss_mb"]
        print(f"1M peak memory {peak:,.0f} MB: {'within' if peak <= MEMORY_BUDGET_MB else 'ABOVE'} the "
              f"{MEMORY_BUDGET_MB:,} MB budget")


if __name__ == "__main__":
    main()
