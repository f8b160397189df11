"""`make bench`: real-data figures. Prints wall time, images/s and peak memory of whole `audit run` processes on
CIFAR-10 (the 10,000 test JPEGs, then all 60,000) and the MNIST test set, per-stage seconds from findings.json, and
the duplicate search (1,000,000 synthetic hashes; CIFAR-10 and MNIST against plain pHash), and the peers side by
side (bench/peers.py: cleanvision and imagededup on the same CIFAR-10 files; PEERS=0 skips them). The table goes to the
committed bench/RESULTS.md (README.md quotes it: `make readme` copies it in), the raw figures to
bench/results/latest.json.

Peak memory is the largest sum of proportional set sizes (PSS) over the audit process and its workers, sampled
every 50 ms: forked workers share the parent's pages, which resident sizes would count once per worker.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_scan  # noqa: E402
from cifar import cifar10_folder  # noqa: E402
from mnist import mnist_test_csv  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
AUDIT = Path(sys.executable).with_name("audit")
RESULTS = ROOT / "bench" / "results"
RESULTS_TABLE = ROOT / "bench" / "RESULTS.md"
BENCH_METRICS = ("duplicates.near_count", "duplicates.conflicting_label_groups", "leakage.cross_split_rate",
                 "labels.knn_disagreement_count", "labels.issue_count", "labels.oof_accuracy",
                 "embedding.outlier_count")


def _memory_of(pid: int) -> int:
    """Proportional set size of one process: its private pages plus its share of pages it shares with others.
    Summed over a process and its forked workers this counts every page once, where resident sizes would count
    the parent's pages again in every worker (they are shared copy-on-write after fork). VmRSS where the kernel
    gives no smaps_rollup."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _tree_rss(pid: int) -> int:
    """Memory of pid and all its descendants (proportional set sizes, see _memory_of)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            total += _memory_of(current)
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as handle:
                    stack.extend(int(c) for c in handle.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def run_measured(command: list[str]) -> dict:
    """Wall seconds, peak tree RSS and exit code of one command."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        # Reading smaps_rollup walks the page tables: 0.22 s for a 1M run's three processes (2.7 GB), which at a
        # fixed 50 ms interval kept the sampler busy most of the time, took half a core from the run and held the
        # processes' memory-map locks. The pause grows with the read so sampling stays under ~5% of one core.
        nonlocal peak
        while not stop.is_set():
            read = time.perf_counter()
            peak = max(peak, _tree_rss(process.pid))
            stop.wait(max(0.05, 20 * (time.perf_counter() - read)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    stop.set()
    sampler.join()
    wall = time.perf_counter() - started
    if process.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr[-2000:]}")
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(peak / 2**20, 1), "exit": process.returncode}


def audit(source: Path, out: Path, cache: Path | None, extra: list[str] | None = None) -> dict:
    command = [str(AUDIT), "run", str(source), "--out", str(out), "--quiet", "--force"]
    command += ["--cache-dir", str(cache)] if cache else ["--no-cache"]
    figures = run_measured(command + (extra or []))
    document = json.loads((out / "findings.json").read_text())
    scan = document["scan"]
    figures.update({
        "rows": document["dataset"]["rows"],
        "decoded": scan["decoded"], "from_cache": scan["from_cache"],
        "scan_s": scan["seconds"],
        "scan_images_per_s": round(scan["decoded"] / scan["seconds"], 1) if scan["decoded"] else None,
        "stages_s": {k: v for k, v in document["timings"].items() if k.startswith("analyse.") and v >= 0.05},
        "analyse_wall_s": document["timings"].get("analyse"),  # the analysers side by side, wall seconds
        "tsne_points": int(document["metrics"].get("embedding.tsne_points", 0)),
        "metrics": {k: document["metrics"][k] for k in BENCH_METRICS if k in document["metrics"]},
        "report_mb": round((out / "report.html").stat().st_size / 2**20, 2),
        "findings_json_mb": round((out / "findings.json").stat().st_size / 2**20, 2),
    })
    return figures


def plain_pillow_decode(folder: Path, limit: int = 10_000, repeats: int = 3) -> dict:
    """Baseline: one process opening and fully decoding the same JPEGs with Pillow (files in page cache)."""
    files = sorted(folder.rglob("*.jpg"))[:limit]
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        for path in files:
            with Image.open(path) as image:
                image.convert("RGB")
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    return {"files": len(files), "median_s": round(median, 2), "images_per_s": round(len(files) / median, 1)}


def main() -> None:
    cifar = cifar10_folder()
    report: dict = {"machine": {"cores": os.cpu_count()}}
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as tmp:
        tmp_path = Path(tmp)
        print("Plain Pillow decode of the 10,000 CIFAR-10 test JPEGs (one process, median of 3) ...", flush=True)
        report["pillow_decode_10k"] = plain_pillow_decode(cifar / "test")
        print(f"  {report['pillow_decode_10k']}", flush=True)

        print("audit run on the 10,000 CIFAR-10 test JPEGs: cold cache, then warm ...", flush=True)
        cold = audit(cifar / "test", tmp_path / "r10k", tmp_path / "cache10k")
        warm = audit(cifar / "test", tmp_path / "r10k", tmp_path / "cache10k")
        report["cifar10_test_10k"] = {"cold": cold, "warm": warm}
        print(f"  cold: {cold}\n  warm: {warm}", flush=True)

        print("Raw limit: read + Pillow decode + one pHash of the same 10,000 JPEGs on all cores (median of 3) ...",
              flush=True)
        report["raw_limit_10k"] = bench_scan.raw_limit(sorted((cifar / "test").rglob("*.jpg")))
        print(f"  {report['raw_limit_10k']}", flush=True)

        print("audit run on all 60,000 CIFAR-10 JPEGs (split from the folder layout): cold cache, warm, and with 1% "
              "new images ...", flush=True)
        full = audit(cifar, tmp_path / "r60k", tmp_path / "cache60k")
        report["cifar10_all_60k"] = full
        print(f"  {full}", flush=True)
        report["cifar10_all_60k_warm"] = audit(cifar, tmp_path / "r60k", tmp_path / "cache60k")
        print(f"  warm: {report['cifar10_all_60k_warm']}", flush=True)
        plus = bench_scan.plus_one_percent_csv(cifar, tmp_path / "plus")
        report["cifar10_all_60k_plus1pct"] = audit(plus, tmp_path / "r60kp", tmp_path / "cache60k",
                                                   ["--label-col", "label", "--split-col", "split"])
        print(f"  1% new: {report['cifar10_all_60k_plus1pct']}", flush=True)
        report["cifar10_all_60k_plus1pct_warm"] = audit(plus, tmp_path / "r60kp", tmp_path / "cache60k",
                                                        ["--label-col", "label", "--split-col", "split"])
        print(f"  the same 60,600 again, warm: {report['cifar10_all_60k_plus1pct_warm']}", flush=True)

        print("--incremental: the 60,000 (a full run that stores the searches' state; scan cached), then with the "
              "same 1% new images ...", flush=True)
        report["cifar10_all_60k_incremental"] = audit(cifar, tmp_path / "r60ki", tmp_path / "cache60k",
                                                      ["--incremental"])
        print(f"  storing: {report['cifar10_all_60k_incremental']}", flush=True)
        report["cifar10_all_60k_plus1pct_incremental"] = audit(
            plus, tmp_path / "r60kpi", tmp_path / "cache60k",
            ["--label-col", "label", "--split-col", "split", "--incremental"])
        report["incremental_state_mb"] = round(sum(f.stat().st_size for f in (tmp_path / "cache60k" /
                                                                               "incremental").glob("*.npz")) / 2**20, 1)
        print(f"  1% new, --incremental: {report['cifar10_all_60k_plus1pct_incremental']}", flush=True)

        print("audit run on the 10,000 MNIST test digits (PNGs written from the IDX files), cold cache ...", flush=True)
        digits = audit(mnist_test_csv(), tmp_path / "rmnist", None, ["--label-col", "label"])
        report["mnist_test_10k"] = digits
        print(f"  {digits}", flush=True)

    try:
        import bench_duplicates
    except ImportError:
        bench_duplicates = None
    if bench_duplicates is not None:
        print("Duplicate search on synthetic hashes ...", flush=True)
        bench_duplicates.run(report)

    import bench_labels

    print("Label check (cheap out-of-fold model + confident learning) on MNIST and the CIFAR-10 test set ...",
          flush=True)
    bench_labels.run(report)

    import peers

    peer_sizes = peers.peers_wanted()
    if peer_sizes:
        print("Peers side by side (bench/peers.py; PEERS=0 skips) ...", flush=True)
        report["peers"] = peers.peer_figures(peer_sizes)

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=1) + "\n")
    rows = _summary_rows(report)
    print("\n== dataset-audit benchmark (CIFAR-10 and MNIST, this machine) ==")
    print("\n".join(f"{label:<36}: {text}" for label, text in rows))
    if "peers" in report:
        print("\n== ours and the peers on the same CIFAR-10 files ==\n" + peers.peers_markdown(report["peers"]))
    RESULTS_TABLE.write_text(results_markdown(rows, report))
    print(f"\nTable written to {RESULTS_TABLE.relative_to(ROOT)} (commit it; `make readme` copies it into README.md)")


def results_markdown(rows: list[tuple[str, str]], report: dict) -> str:
    when = time.strftime("%Y-%m-%d", time.gmtime())
    lines = [f"Measured by `make bench` on {when}, {report['machine']['cores']} cores "
             f"(a shared machine: other work may have run at the same time, so compare ratios from one run, not runs).", "", "| what | figure |", "| --- | --- |"]
    lines += [f"| {label} | {text.replace('|', '/')} |" for label, text in rows]
    if "peers" in report:
        import peers

        lines += ["", "Ours and the peers on the same CIFAR-10 files (bench/peers.py: cleanvision "
                  "`Imagelab(data_path).find_issues()` and imagededup `PHash().find_duplicates(image_dir)` at their "
                  "defaults, in their own venv; every process under `nice -n 10`; ours and theirs interleaved; "
                  "peak MB is the whole process tree):", "", peers.peers_markdown(report["peers"]).rstrip("\n")]
    return "\n".join(lines) + "\n"


def _summary_rows(report: dict) -> list[tuple[str, str]]:
    pillow = report["pillow_decode_10k"]
    cold = report["cifar10_test_10k"]["cold"]
    warm = report["cifar10_test_10k"]["warm"]
    full = report["cifar10_all_60k"]
    warm60, plus = report["cifar10_all_60k_warm"], report["cifar10_all_60k_plus1pct"]
    plus_warm, plus_inc = report["cifar10_all_60k_plus1pct_warm"], report["cifar10_all_60k_plus1pct_incremental"]
    stored = report["cifar10_all_60k_incremental"]
    raw = report["raw_limit_10k"]
    digits = report["mnist_test_10k"]
    stages = full["stages_s"]
    rows = [
        ("plain Pillow decode, 1 process", f"{pillow['images_per_s']:,.0f} images/s ({pillow['files']:,} files, "
                                           f"median {pillow['median_s']} s)"),
        ("CIFAR 10k audit, cold cache", f"{cold['wall_s']} s wall, scan {cold['scan_images_per_s']:,} images/s, "
                                        f"peak {cold['peak_rss_mb']} MB, report {cold['report_mb']} MB"),
        ("CIFAR 10k audit, warm cache", f"{warm['wall_s']} s wall ({warm['from_cache']:,} from cache, "
                                        f"{warm['decoded']} decoded): {warm['wall_s'] / cold['wall_s']:.0%} of cold"),
        ("scan vs raw limit (10k, all cores)", f"raw read + decode + pHash {raw['images_per_s']:,.0f} images/s "
                                               f"({raw['jobs']} processes, median {raw['median_s']} s); our scan "
                                               f"{cold['scan_images_per_s']:,.0f} images/s = "
                                               f"{cold['scan_images_per_s'] / raw['images_per_s']:.2f} of the limit"),
        ("CIFAR 60k audit, cold cache", f"{full['wall_s']} s wall, scan {full['scan_s']} s "
                                        f"({full['scan_images_per_s']:,} images/s), analysers "
                                        f"{full['analyse_wall_s']:.1f} s wall (side by side), peak "
                                        f"{full['peak_rss_mb']} MB, report {full['report_mb']} MB"),
        ("CIFAR 60k audit, warm cache", f"{warm60['wall_s']} s wall ({warm60['wall_s'] / full['wall_s']:.0%} of "
                                        f"cold), peak {warm60['peak_rss_mb']} MB"),
        ("CIFAR 60k + 1% new images", f"{plus['wall_s']} s wall ({plus['wall_s'] / full['wall_s']:.0%} of cold; "
                                      f"{plus['decoded']:,} decoded, {plus['from_cache']:,} from the scan cache, "
                                      "every analyser re-run)"),
        ("CIFAR 60,600 (60k + 1% new), warm cache", f"{plus_warm['wall_s']} s wall (the warm run of the 1% rows "
                                                     "below)"),
        ("CIFAR 60k + 1% new, --incremental", f"{plus_inc['wall_s']} s wall = {plus_inc['wall_s'] / plus_warm['wall_s']:.2f}x the "
                                              f"warm run, {plus_inc['wall_s'] / full['wall_s']:.0%} of cold, "
                                              f"{plus_inc['wall_s'] / plus['wall_s']:.0%} of the run without "
                                              f"--incremental; analysers {plus_inc['analyse_wall_s']:.1f} s wall; "
                                              f"state {report['incremental_state_mb']} MB; the storing run before "
                                              f"it {stored['wall_s']} s (scan cached)"),
        ("CIFAR 60k + 1% new metrics", f"--incremental {plus_inc['metrics']}; without {plus['metrics']}"),
        ("CIFAR 60k duplicate search", f"{stages.get('analyse.duplicates', 0)} s (the whole duplicates analyser)"),
        ("CIFAR 60k t-SNE", f"{stages.get('analyse.embedding.tsne', 0)} s ({full['tsne_points']:,} points)"),
        ("CIFAR 60k stages (s)", ", ".join(f"{k.removeprefix('analyse.')} {v}" for k, v in stages.items())),
        ("CIFAR 60k metrics", str(full["metrics"])),
        ("MNIST 10k audit, no cache", f"{digits['wall_s']} s wall, scan {digits['scan_images_per_s']:,} images/s, "
                                      f"peak {digits['peak_rss_mb']} MB, report {digits['report_mb']} MB"),
        ("MNIST 10k metrics", str(digits["metrics"])),
    ]
    rows += [(key, str(value)) for key, value in report.items() if key.startswith(("duplicates_", "labels_"))]
    return rows


if __name__ == "__main__":
    main()
