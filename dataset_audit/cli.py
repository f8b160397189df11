"""The `audit` command line: parse options, build the Config, run the pipeline, write reports, choose the exit code."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table as RichTable
from rich.text import Text

from . import __version__
from .analysers import REGISTRY, metric_catalogue
from .config import build_config, find_config_file, read_config_file
from .dataset import load_table
from .errors import AuditUsageError
from .gates import exit_code
from .pipeline import AuditResult, run_audit
from .report.base import write_report
from .report.html import GENERATOR, HtmlReporter
from .report.json_report import JsonReporter

app = typer.Typer(
    help="Audit an image dataset (a CSV/Parquet/JSON-lines table of image paths, or a <class>/<image> folder) "
    "before training: integrity, duplicates, leakage, balance, quality, metadata. Writes report.html and "
    "findings.json; the exit code gates CI (0 pass, 1 a gate failed, 2 usage or input error).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
console = Console()

EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it


def _version(value: bool) -> None:
    if value:
        console.print(f"dataset-audit {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """dataset-audit."""


class _RateColumn(ProgressColumn):
    def render(self, task) -> Text:
        return Text(f"{task.speed:,.0f}/s" if task.speed else "", style="progress.data.speed")


@contextmanager
def _progress_factory(enabled: bool):
    """A factory of rich progress bars, or of no-ops when quiet or not on a terminal."""
    if not enabled:
        yield None
        return
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), _RateColumn(),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=err, transient=False)
    with progress:
        def factory(description: str, total: int):
            task = progress.add_task(description, total=total)
            return lambda n=1: progress.advance(task, n)
        yield factory


def _check_output_folder(folder: Path, force: bool) -> None:
    """Refuse to overwrite a report.html / findings.json we did not write, unless --force."""
    if folder.exists() and not folder.is_dir():
        raise AuditUsageError(f"--out {folder} exists and is not a folder")
    for name, marker in (("report.html", f'content="{GENERATOR} '), ("findings.json", '"name": "dataset-audit"')):
        target = folder / name
        if target.exists() and not force:
            try:
                head = target.read_text(encoding="utf-8", errors="replace")[:4000]
            except OSError as exc:
                raise AuditUsageError(f"cannot read existing {target}: {exc}") from exc
            if marker not in head:
                raise AuditUsageError(f"{target} exists and was not written by dataset-audit; "
                                      "choose another --out or pass --force to overwrite it")


def _check_output_writable(folder: Path) -> None:
    """Create --out and write a probe file in it, before the scan: an unwritable folder must not cost a full audit."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".audit-write-test.")
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise AuditUsageError(f"--out {folder} cannot be written: {exc.strerror or exc}") from None


def _print_gates(result: AuditResult, console: Console) -> None:
    if not result.gates:
        return
    table = RichTable(title="Gates", show_lines=False)
    table.add_column("gate")
    table.add_column("value", justify="right")
    table.add_column("result")
    for g in result.gates:
        value = (f"not computed: {result.not_computed.get(g.gate.metric, 'no value')}" if g.value is None
                 else f"{g.value:.6g}")
        table.add_row(escape(g.gate.expr), value, "[green]pass[/]" if g.passed else "[bold red]FAIL[/]")
    console.print(table)


def _print_summary(result: AuditResult, console: Console) -> None:
    table = RichTable(title=f"Audit of {escape(result.table.source)}: {len(result.table):,} rows")
    for column in ("analyser", "errors", "warnings", "info", "status"):
        table.add_column(column, justify="right" if column in {"errors", "warnings", "info"} else "left")
    for section in result.sections:
        counts = {s: sum(1 for f in section.findings if f.severity == s) for s in ("error", "warning", "info")}
        status = f"[red]failed: {escape(section.error)}[/]" if section.error else (
            f"[dim]skipped: {escape(section.skipped)}[/]" if section.skipped else "ok")
        table.add_row(section.name, str(counts["error"]), str(counts["warning"]), str(counts["info"]), status)
    console.print(table)


@app.command("run")
def run_command(
    source: Annotated[Path, typer.Argument(help="CSV / TSV / Parquet / JSON-lines table, or an image folder "
                                           "laid out as <class>/<image> (optionally under train/ val/ test/).")],
    path_col: Annotated[str | None, typer.Option(help="Column of image paths (default: the one column whose "
                                                 "values look like image paths).")] = None,
    label_col: Annotated[str | None, typer.Option(help="Column of class labels.")] = None,
    split_col: Annotated[str | None, typer.Option(help="Column of splits (train/val/test); default: a column "
                                                  "named 'split' if there is one.")] = None,
    pred_col: Annotated[str | None, typer.Option(help="Column of your model's predicted labels (the labels "
                                                 "analyser adds precision, recall and a confusion matrix).")] = None,
    probs_prefix: Annotated[str | None, typer.Option(help="Prefix of your model's probability columns, one per "
                                                     "class: e.g. p_ for p_cat, p_dog. Replaces the built-in "
                                                     "cheap model in the label check.")] = None,
    probs: Annotated[Path | None, typer.Option(help="Your model's predicted probabilities as an .npy array "
                                               "(rows x classes, aligned with the table's rows; classes in sorted "
                                               "order, numeric when every label is a number).")] = None,
    embeddings: Annotated[Path | None, typer.Option(help="Your image vectors (.npy, or Parquet with one numeric "
                                                    "column per dimension), aligned with the table's rows: the "
                                                    "label check, outliers and t-SNE use them instead of "
                                                    "thumbnails.")] = None,
    root: Annotated[Path | None, typer.Option(help="Base folder for relative image paths (default: the table's "
                                              "folder).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Report folder: writes report.html and "
                                             "findings.json there [default: audit-report].")] = None,
    fail_on: Annotated[list[str] | None, typer.Option("--fail-on", help="Gate 'METRIC OP VALUE', e.g. "
                                                      "\"integrity.unreadable_rate>0\" (repeatable; OP one of > >= < "
                                                      "<= == !=). Exit 1 when one holds. See `audit metrics`.")] = None,
    config_file: Annotated[Path | None, typer.Option("--config", help="TOML config file (default: ./audit.toml, or "
                                                     "[tool.dataset-audit] in ./pyproject.toml).")] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", "-j", help="Worker processes for the scan (0 = one per "
                                             "core) [default: 0].")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Scan cache folder [default: ~/.cache/dataset-audit].")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the scan cache.")] = False,
    sample: Annotated[int | None, typer.Option(help="Audit a random subset of N rows (seeded by --seed).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for --sample and every sampled view [default: 0].")] = None,
    only: Annotated[list[str] | None, typer.Option(help="Run only these analysers (repeatable).")] = None,
    skip: Annotated[list[str] | None, typer.Option(help="Skip these analysers (repeatable).")] = None,
    tsne_max: Annotated[int | None, typer.Option(help="Rows in the t-SNE explorer sample [default: 3000].")] = None,
    encoding: Annotated[str | None, typer.Option(help="Text encoding of the table (default: UTF-8, else "
                                                 "detected and reported).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detected among , ; tab |).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the gate summary and errors.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite report files in --out that dataset-audit "
                                        "did not write.")] = False,
    max_file_bytes: Annotated[int | None, typer.Option(help="Image files larger than this many bytes are not read "
                                                       "(a finding instead) [default: 268435456, 256 MiB].")] = None,
    image_timeout: Annotated[int | None, typer.Option(help="Seconds to read and decode one image before it is "
                                                      "stopped (a finding instead) [default: 60].")] = None,
    confine_to_root: Annotated[bool, typer.Option("--confine-to-root", help="Refuse image paths that lead outside "
                                                  "--root (absolute paths elsewhere, '..'); they are reported "
                                                  "either way.")] = False,
) -> None:
    """Audit a dataset, write OUT/report.html and OUT/findings.json, and exit 1 if a gate fails."""
    try:
        file_path = config_file or find_config_file(Path.cwd())
        file_settings = read_config_file(file_path) if file_path else {}
        config = build_config(file_settings, {
            "path_col": path_col, "label_col": label_col, "split_col": split_col, "pred_col": pred_col,
            "probs_prefix": probs_prefix, "probs": probs, "embeddings": embeddings, "root": root, "out": out,
            "fail_on": fail_on or [], "jobs": jobs, "cache_dir": cache_dir, "use_cache": False if no_cache else None,
            "sample": sample, "seed": seed, "only": only or [], "skip": skip or [], "tsne_max": tsne_max,
            "quiet": quiet or None, "force": force or None, "encoding": encoding, "delimiter": delimiter,
            "max_file_bytes": max_file_bytes, "image_timeout": image_timeout,
            "confine_to_root": confine_to_root or None,
        }, source=str(file_path) if file_path else None)
        interactive = err.is_terminal and not config.quiet
        _check_output_folder(config.out, config.force)
        table = load_table(source, config)
        _check_output_writable(config.out)
        if not config.quiet:
            for note in table.notes:
                err.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
        with _progress_factory(interactive) as progress:
            result = run_audit(table, config, progress)
            config.out.mkdir(parents=True, exist_ok=True)
            for reporter in (JsonReporter(), HtmlReporter()):
                write_report(reporter, result, config.out, progress)
    except KeyboardInterrupt as exc:  # one line, whatever stage: the scan's says what the cache kept
        err.print(escape(str(exc) or "interrupted"), highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except AuditUsageError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    except OSError as exc:  # the report folder or the cache cannot be written: an input problem, not a gate
        where = f" {exc.filename}" if exc.filename else ""
        err.print(f"[bold red]error:[/] cannot write{escape(where)}: {escape(str(exc.strerror or exc))}", highlight=False)
        raise typer.Exit(EXIT_USAGE) from None
    if not config.quiet:
        for warning in result.features.stats.warnings if result.features is not None else []:
            err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
        _print_summary(result, console)
    _print_gates(result, console)
    for section in result.analyser_errors:
        err.print(f"[bold red]analyser {section.name} failed:[/] {escape(section.error or '')}", highlight=False)
    code = exit_code(result.gates, analyser_errors=len(result.analyser_errors))
    failed = sum(1 for g in result.gates if not g.passed)
    if not config.quiet:
        console.print(f"Report: {(config.out / 'report.html').resolve()}", highlight=False, soft_wrap=True, markup=False)
        console.print(f"Findings: {(config.out / 'findings.json').resolve()}", highlight=False, soft_wrap=True, markup=False)
    if failed:
        err.print(f"[bold red]{failed} of {len(result.gates)} gate(s) failed[/]")
    raise typer.Exit(code)


def _with_needs(analyser, metric: str) -> str:
    extra = analyser.metrics[metric].needs
    return analyser.metrics[metric].meaning + (f" (needs {', '.join(extra)})" if extra else "")


def metrics_markdown() -> str:
    """The metric list as a Markdown table (README.md's copy is checked against this by a test)."""
    lines = ["| metric | analyser | meaning |", "| --- | --- | --- |"]
    for analyser in REGISTRY:
        for name in analyser.metrics:
            lines.append(f"| `{name}` | {analyser.name} | {_with_needs(analyser, name)} |")
    return "\n".join(lines)


@app.command("metrics")
def metrics_command(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table (as in README.md).")] = False,
) -> None:
    """List every metric name a gate can use, with its meaning."""
    if markdown:
        print(metrics_markdown())
        return
    table = RichTable(title="Metrics (use in --fail-on \"METRIC OP VALUE\")")
    table.add_column("metric", no_wrap=True)
    table.add_column("analyser")
    table.add_column("meaning")
    for analyser in REGISTRY:
        for name in analyser.metrics:
            table.add_row(name, analyser.name, escape(_with_needs(analyser, name)))
    console.print(table)


@app.command("analysers")
def analysers_command() -> None:
    """List the analysers (names for --only / --skip) in the order they run."""
    for analyser in REGISTRY:
        needs = ", ".join(analyser.needs) or "a table"
        console.print(f"{analyser.name:<16} {analyser.title:<32} needs: {needs}", highlight=False)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


__all__ = ["app", "main", "metric_catalogue"]
