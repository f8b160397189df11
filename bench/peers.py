"""Peers side by side: our `audit run` against cleanvision and imagededup on the same CIFAR-10 JPEGs.

The peers are what a user would pick instead: cleanvision (`Imagelab(data_path=FOLDER).find_issues()`, its
defaults) and imagededup (`PHash().find_duplicates(image_dir=FOLDER)`, its defaults). They live in their own
virtual environment under the ignored bench/.data/peers-venv, made once and reused, never in the project's
dependencies. imagededup imports torch and torchvision even for its hashing methods (its package __init__ loads the
CNN module). The venv installs torch==2.13.0 first (pip takes the CPU wheel on this machine's disk, no CUDA
packages), then imagededup with --no-deps plus what its hashing path needs (PyWavelets, scikit-learn, tqdm,
matplotlib; cleanvision brings Pillow, numpy, scipy): PyPI's torchvision wheels are built against CUDA torch, and with
the CPU torch `import torchvision` fails (operator torchvision::nms does not exist). So torchvision is not installed,
and the worker puts a placeholder module under its name before importing imagededup: only the CNN method would
use it, PHash never does. The real torch is still imported, so imagededup's start-up cost is what a user pays.

Folders: cleanvision globs recursively, so it reads the same folder our audit reads (test/ for 10,000 images, the
root with train/ and test/ for 60,000). imagededup reads one flat folder unless told `recursive=True`, which a new
user would not know, so it gets a flat folder of hard links to the same files (same inodes: same bytes, same page
cache), built once under bench/.data/peers-links.

Each run is its own process measured like run_bench.run_measured (wall seconds, peak RSS of the process tree), all
under the same `nice`, plus its CPU seconds (user + system of the whole tree): on a busy shared machine the wall
clock counts other people's work too, so the CPU ratio is the steadier comparison. Before each size every file is read once so nobody pays the disk. Ours and theirs alternate
within each repeat. Cold = a fresh process (for us, a new cache folder); warm = a second run in the same conditions
(for us, the same cache folder). Neither peer keeps a cache between runs, so their warm figure is their cold one.

Run alone (`python bench/peers.py`) it prints the table and writes bench/PEERS.md (rows of sizes not measured this
time are kept from the file, so 10k and 60k can be measured in separate runs); `make bench` calls
peer_figures() and puts the same table into bench/RESULTS.md (PEERS=0 skips it).
Environment: PEERS=0 skips; PEER_SIZES=10000,60000 picks sizes; PEER_RUNS_10K (default 3) and PEER_RUNS_60K
(default 1) set the repeats whose median is reported.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cifar import cifar10_folder  # noqa: E402
from run_bench import AUDIT, run_measured  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / ".data"
PEER_VENV = DATA / "peers-venv"
LINKS = DATA / "peers-links"
PEERS_TABLE = ROOT / "bench" / "PEERS.md"
# pip install runs, in this order (see the module docstring for why imagededup goes in with --no-deps).
PEER_PINS = (("torch==2.13.0",), ("--no-deps", "imagededup==0.3.3.post2"),
             ("cleanvision==0.3.7", "PyWavelets==1.9.0", "scikit-learn==1.9.1", "tqdm", "matplotlib"))
NICE = ["nice", "-n", "10"]
SIZES = (10_000, 60_000)

# Runs inside the peers' venv: one tool on one folder, a small JSON summary of what it found to argv[3].
PEER_SCRIPT = r"""
import json, sys
tool, folder, out = sys.argv[1:4]
if tool == "cleanvision":
    from cleanvision import Imagelab
    lab = Imagelab(data_path=folder)
    lab.find_issues()
    found = {"images": int(len(lab.issues)),
             "issues": {str(k): int(v) for k, v in zip(lab.issue_summary["issue_type"], lab.issue_summary["num_images"])}}
else:
    from unittest import mock
    for name in ("torchvision", "torchvision.models", "torchvision.models.vision_transformer",
                 "torchvision.transforms"):
        sys.modules[name] = mock.MagicMock(name=name)  # for imagededup's CNN module only: see the docstring
    from imagededup.methods import PHash
    duplicates = PHash().find_duplicates(image_dir=folder)
    parent = {name: name for name in duplicates}
    def root(name):
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name
    for name, others in duplicates.items():
        for other in others:
            parent[root(other)] = root(name)
    sizes = {}
    for name in duplicates:
        sizes[root(name)] = sizes.get(root(name), 0) + 1
    groups = [s for s in sizes.values() if s > 1]
    found = {"images": len(duplicates), "files_with_a_duplicate": sum(1 for v in duplicates.values() if v),
             "groups": len(groups), "near_count": sum(s - 1 for s in groups)}
json.dump(found, open(out, "w"))
"""


def peer_python() -> Path:
    """The peers' venv interpreter, creating the venv on first use (1.4 GB of disk, most of it torch)."""
    python = PEER_VENV / "bin" / "python"
    stamp = PEER_VENV / ".pins"
    wanted = json.dumps(PEER_PINS)
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"Making the peers' venv {PEER_VENV.relative_to(ROOT)}: {PEER_PINS} ...", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(PEER_VENV)], check=True)
    for group in PEER_PINS:
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *group], check=True)
    stamp.write_text(wanted)
    return python


def linked_flat_folder(name: str, files: list[Path], root: Path) -> Path:
    """A flat folder of hard links (symlinks across file systems) to files, named after their path under root."""
    folder = LINKS / name
    marker = folder / ".complete"
    if marker.exists() and sum(1 for _ in folder.glob("*.jpg")) == len(files):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        link = folder / "_".join(path.relative_to(root).parts)
        if link.exists():
            continue
        try:
            os.link(path, link)
        except OSError:
            link.symlink_to(path)
    marker.write_text("ok\n")
    return folder


def read_all(files: list[Path]) -> None:
    """Read every file once so the OS page cache holds them for every tool alike."""
    for path in files:
        path.read_bytes()


def _measured(command: list[str]) -> dict:
    """run_measured's figures plus the CPU seconds (user + system) of the process and every descendant it waited
    for: on a shared machine the wall clock also counts other people's work, CPU time much less."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures = run_measured(command)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    figures["cpu_s"] = round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 1)
    return figures


def _our_run(folder: Path, out: Path, cache: Path) -> dict:
    command = NICE + [str(AUDIT), "run", str(folder), "--out", str(out), "--quiet", "--force", "--cache-dir", str(cache)]
    figures = _measured(command)
    metrics = json.loads((out / "findings.json").read_text())["metrics"]
    figures["found"] = {"near_count": metrics.get("duplicates.near_count"),
                        "exact_count": metrics.get("duplicates.exact_count")}
    return figures


def _peer_run(python: Path, tool: str, folder: Path, out: Path) -> dict:
    figures = _measured(NICE + [str(python), "-c", PEER_SCRIPT, tool, str(folder), str(out)])
    figures["found"] = json.loads(out.read_text())
    return figures


def _median(runs: list[dict]) -> dict:
    """The median wall and peak over repeats; what was found is the same every run, the first is kept."""
    return {"wall_s": round(statistics.median(r["wall_s"] for r in runs), 2),
            "cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 1),
            "peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in runs), 1),
            "runs": len(runs), "walls_s": [r["wall_s"] for r in runs], "found": runs[0]["found"]}


def _size_setup(size: int) -> tuple[Path, Path, list[Path]]:
    """(folder for us and cleanvision, flat folder for imagededup, the files) for 10,000 or 60,000 images."""
    cifar = cifar10_folder()
    if size == 10_000:
        folder, name = cifar / "test", "cifar10-test"
    elif size == 60_000:
        folder, name = cifar, "cifar10-all"
    else:
        raise SystemExit(f"peer sizes are 10000 (the CIFAR-10 test set) or 60000 (all of it), not {size}")
    files = sorted(folder.rglob("*.jpg"))
    return folder, linked_flat_folder(name, files, cifar), files


def peer_figures(sizes: tuple[int, ...] = SIZES) -> list[dict]:
    """One dict per tool x size x cold/warm: seconds, images/s, peak MB, ours/theirs wall ratio, what was found."""
    python = peer_python()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="audit-peers-") as tmp:
        tmp_path = Path(tmp)
        for size in sizes:
            folder, flat, files = _size_setup(size)
            repeats = int(os.environ.get("PEER_RUNS_10K" if size <= 10_000 else "PEER_RUNS_60K",
                                         3 if size <= 10_000 else 1))
            print(f"Peers on {len(files):,} CIFAR-10 JPEGs, {repeats} interleaved run(s) each ...", flush=True)
            read_all(files)
            runs: dict[str, list[dict]] = {"ours cold": [], "ours warm": [], "cleanvision": [], "imagededup": []}
            for repeat in range(repeats):
                cache = tmp_path / f"cache-{size}-{repeat}"
                out = tmp_path / f"ours-{size}"
                runs["ours cold"].append(_our_run(folder, out, cache))
                runs["cleanvision"].append(_peer_run(python, "cleanvision", folder, tmp_path / "cv.json"))
                runs["ours warm"].append(_our_run(folder, out, cache))
                runs["imagededup"].append(_peer_run(python, "imagededup", flat, tmp_path / "idd.json"))
                print("  " + "; ".join(f"{k} {v[-1]['wall_s']} s" for k, v in runs.items()), flush=True)
            rows += _size_rows(size, {k: _median(v) for k, v in runs.items()})
    return rows


def _size_rows(size: int, medians: dict[str, dict]) -> list[dict]:
    rows = []
    for tool, state, key in (("ours", "cold", "ours cold"), ("ours", "warm", "ours warm"),
                             ("cleanvision", "cold", "cleanvision"), ("cleanvision", "warm", "cleanvision"),
                             ("imagededup", "cold", "imagededup"), ("imagededup", "warm", "imagededup")):
        figures = medians[key]
        ours = medians[f"ours {state}"]
        rows.append({"tool": tool, "images": size, "state": state, "wall_s": figures["wall_s"],
                     "images_per_s": round(size / figures["wall_s"], 1), "peak_rss_mb": figures["peak_rss_mb"],
                     "ours_over_theirs": None if tool == "ours" else round(ours["wall_s"] / figures["wall_s"], 2),
                     "cpu_s": figures["cpu_s"],
                     "ours_over_theirs_cpu": None if tool == "ours" else round(ours["cpu_s"] / figures["cpu_s"], 2),
                     "runs": figures["runs"], "walls_s": figures["walls_s"], "found": figures["found"],
                     "no_cache": tool != "ours" and state == "warm"})
    return rows


def peers_markdown(rows: list[dict]) -> str:
    """The side-by-side table (and the duplicate counts each tool reported) as Markdown."""
    lines = ["| tool | images | run | seconds | images/s | peak MB | ours/theirs (s) | CPU s | ours/theirs (CPU) |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for row in rows:
        state = row["state"] + (" (= cold: no cache)" if row["no_cache"] else "")
        ratio = "" if row["ours_over_theirs"] is None else f"{row['ours_over_theirs']:.2f}"
        cpu_ratio = "" if row.get("ours_over_theirs_cpu") is None else f"{row['ours_over_theirs_cpu']:.2f}"
        runs = f" (median of {row['runs']})" if row["runs"] > 1 and not row["no_cache"] else ""
        lines.append(f"| {row['tool']} | {row['images']:,} | {state} | {row['wall_s']}{runs} | "
                     f"{row['images_per_s']:,.0f} | {row['peak_rss_mb']:,.0f} | {ratio} | {row.get('cpu_s', '')} | "
                     f"{cpu_ratio} |")
    lines += ["", "What each tool reported (ours and imagededup: near-duplicate rows beyond the first of each group; "
              "not judged here):", ""]
    for row in rows:
        if row["state"] != "cold":
            continue
        found = row["found"]
        if row["tool"] == "ours":
            text = f"{found['near_count']:,} near + {found['exact_count']:,} exact"
        elif row["tool"] == "imagededup":
            text = (f"{found['near_count']:,} in {found['groups']:,} groups (PHash, Hamming <= 10; "
                    f"{found['files_with_a_duplicate']:,} files list a duplicate)")
        else:
            text = "images flagged per issue type: " + ", ".join(f"{k} {v:,}" for k, v in found["issues"].items())
        lines.append(f"- {row['tool']}, {row['images']:,} images: {text}")
    return "\n".join(lines) + "\n"


def peers_wanted() -> tuple[int, ...]:
    """The sizes to compare, () when PEERS=0."""
    if os.environ.get("PEERS", "1") == "0":
        return ()
    return tuple(int(s) for s in os.environ.get("PEER_SIZES", ",".join(map(str, SIZES))).split(",") if s)


def _previous_rows() -> list[dict]:
    """The rows of the last PEERS.md (its JSON block), so measuring one size keeps the other's figures."""
    if not PEERS_TABLE.exists():
        return []
    text = PEERS_TABLE.read_text()
    start = text.find("```json\n")
    return json.loads(text[start + 8:text.rindex("```")]) if start >= 0 else []


def main() -> None:
    sizes = peers_wanted()
    if not sizes:
        print("PEERS=0: peers skipped")
        return
    rows = peer_figures(sizes)
    rows = [row for row in _previous_rows() if row["images"] not in sizes] + rows
    rows.sort(key=lambda row: row["images"])
    table = peers_markdown(rows)
    print("\n" + table)
    when = time.strftime("%Y-%m-%d", time.gmtime())
    PEERS_TABLE.write_text(f"Measured by `python bench/peers.py` (also part of `make bench`), last on {when}, "
                           f"{os.cpu_count()} cores, every process under `nice -n 10` on a shared machine (other "
                           "agents' work ran at the same time: compare the ratios within one size, measured "
                           "interleaved, not the seconds across machines).\n\n"
                           + table + "\n```json\n" + json.dumps(rows, indent=1) + "\n```\n")
    print(f"Written to {PEERS_TABLE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
