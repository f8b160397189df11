"""The `audit` command line: a thin layer over the Python API (api.py). It parses options, calls `make_config` and
`run`, writes the report files, prints, and chooses the exit code. Commands on saved findings.json files (baseline,
check, diff) live in commands.py."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
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
from .api import OPTION_NAMES, AuditReport, make_config
from .api import run as run_api
from .baseline import BASELINE_METRICS
from .ci import append_step_summary, github_annotations, in_github_actions
from .commands import register_commands
from .config import Config
from .errors import AuditUsageError
from .report.base import write_report
from .report.html import GENERATOR, HtmlReporter
from .report.json_report import JsonReporter, render_findings_json
from .report.junit import JunitReporter
from .report.summary import SummaryReporter, render_summary
from .terminal import console, err, error, note, plain, print_gates, print_sections

app = typer.Typer(
    help="Audit an image dataset (a CSV/Parquet/JSON-lines table of image paths, or a <class>/<image> folder) "
    "before training: integrity, duplicates, leakage, balance, quality, metadata. Writes report.html and "
    "findings.json; the exit code gates CI (0 pass, 1 a gate failed, 2 usage or input error).\n\n"
    "\b\nExamples:\n  audit run images.csv --label-col label\n  audit run --help",
    no_args_is_help=True,
    add_completion=True,
    # Plain click help: rich markup would eat "[tool.dataset-audit]" and "[default: ...]" in help texts.
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)

EXIT_GATE_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
_TYPED = {"COMMANDLINE", "ENVIRONMENT"}


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


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


def _typed_options(ctx: typer.Context) -> dict:
    """The options the user actually gave (the rest come from the config file, then Config's defaults)."""
    return {name: value for name, value in ctx.params.items()
            if name in OPTION_NAMES and getattr(ctx.get_parameter_source(name), "name", "") in _TYPED}


def _write_reports(report: AuditReport, config: Config, junit: Path | None, summary: Path | None,
                   progress) -> None:
    config.out.mkdir(parents=True, exist_ok=True)
    for reporter in (JsonReporter(), HtmlReporter()):
        write_report(reporter, report.result, config.out, progress)
    for reporter, target in ((JunitReporter(), junit), (SummaryReporter(), summary)):
        if target is not None:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_report(reporter, report.result, target.parent, filename=target.name)


def _print_outcome(report: AuditReport, config: Config, output_format: OutputFormat) -> None:
    result = report.result
    if output_format is OutputFormat.json:
        sys.stdout.write(render_findings_json(result))
        sys.stdout.flush()
    else:
        if not config.quiet:
            print_sections(result.table.source, len(result.table), result.sections)
        print_gates(result.gates, not_computed=result.not_computed)
    if result.baseline is not None:
        baseline = result.baseline
        plain(f"Baseline {baseline.path}: {len(baseline.known):,} known finding(s) suppressed, {len(baseline.new):,} "
              f"new, {len(baseline.resolved):,} baseline entr{'y' if len(baseline.resolved) == 1 else 'ies'} no "
              "longer occur", err)
        for entry in baseline.resolved[:20]:
            plain(f"  no longer occurs: {entry.id}  {entry.message}", err)
    for section in result.analyser_errors:
        err.print(f"[bold red]analyser {section.name} failed:[/] ", end="")
        plain(section.error or "", err)
    if not config.quiet and output_format is OutputFormat.text:
        plain(f"Report: {(config.out / 'report.html').resolve()}")
        plain(f"Findings: {(config.out / 'findings.json').resolve()}")
    failed = sum(1 for g in result.gates if not g.passed)
    if failed:
        err.print(f"[bold red]{failed} of {len(result.gates)} gate(s) failed[/]")


def _report_to_ci(report: AuditReport, output_format: OutputFormat) -> None:
    """GitHub Actions: annotations (on stdout, or stderr when stdout carries JSON) and the step summary."""
    if in_github_actions():
        stream = sys.stderr if output_format is OutputFormat.json else sys.stdout
        for line in github_annotations(report.result):
            print(line, file=stream)
        stream.flush()
    append_step_summary(render_summary(report.result))


@app.command("run")
def run_command(
    ctx: typer.Context,
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
                                                    "label check, outliers, near-duplicate search and t-SNE "
                                                    "use them instead of thumbnails.")] = None,
    root: Annotated[Path | None, typer.Option(help="Base folder for relative image paths (default: the table's "
                                              "folder).")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder: writes report.html and "
                                      "findings.json there.")] = Config.out,
    fail_on: Annotated[list[str] | None, typer.Option("--fail-on", help="Gate 'METRIC OP VALUE', e.g. "
                                                      "\"integrity.unreadable_rate>0\" (repeatable; OP one of > >= < "
                                                      "<= == !=). Exit 1 when one holds. See `audit metrics`.")] = None,
    config_file: Annotated[Path | None, typer.Option("--config", help="TOML config file (default: ./audit.toml, or "
                                                     "[tool.dataset-audit] in ./pyproject.toml).")] = None,
    jobs: Annotated[int, typer.Option("--jobs", "-j", help="Worker processes for the scan, and lanes for "
                                      "the slowest analysers, which then run side by side (0 = one per core; "
                                      "1 = everything in order in this process).")] = Config.jobs,
    dask: Annotated[str | None, typer.Option("--dask", metavar="ADDRESS", help="Scan on the Dask cluster whose "
                                             "scheduler is at ADDRESS (e.g. tcp://10.0.0.5:8786) instead of local "
                                             "processes; its workers must read the same paths. Needs "
                                             "pip install 'dataset-audit[dask]'.")] = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Scan cache folder.",
                                                   show_default="$XDG_CACHE_HOME/dataset-audit or "
                                                   "~/.cache/dataset-audit")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the scan cache.")] = False,
    incremental: Annotated[bool, typer.Option("--incremental", help="When images were only added (at most 10%), "
                                              "update the stored duplicate and kNN searches and label model, and "
                                              "keep the t-SNE map, instead of refitting them on all images: much "
                                              "faster, may differ from a full run in borderline cases (README: "
                                              "Incremental runs).")]
    = False,
    sample: Annotated[int | None, typer.Option(help="Audit a random subset of N rows (seeded by --seed).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for --sample and every sampled view.")] = Config.seed,
    only: Annotated[list[str] | None, typer.Option(help="Run only these analysers (repeatable).")] = None,
    skip: Annotated[list[str] | None, typer.Option(help="Skip these analysers (repeatable).")] = None,
    tsne_max: Annotated[int, typer.Option(help="Rows in the t-SNE explorer sample.")] = Config.tsne_max,
    encoding: Annotated[str | None, typer.Option(help="Text encoding of the table (default: UTF-8, else "
                                                 "detected and reported).")] = None,
    delimiter: Annotated[str | None, typer.Option(help="CSV delimiter (default: detected among , ; tab |).")] = None,
    baseline_file: Annotated[Path | None, typer.Option("--baseline", help="Baseline file (`audit baseline create`): its findings are "
                                                  "known, left out of the report and not gated on; adds the gate "
                                                  "findings.new_count>0 unless you gate on a findings.* metric.")] = None,
    junit: Annotated[Path | None, typer.Option(help="Also write a JUnit XML file (one test per gate and per "
                                               "analyser) for GitLab, Jenkins and other CI test views.")] = None,
    summary: Annotated[Path | None, typer.Option(help="Also write a Markdown summary (appended to "
                                                 "$GITHUB_STEP_SUMMARY anyway when that is set).")] = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", help="text: tables on stdout; json: the "
                                                        "findings.json document on stdout (for jq).")] = OutputFormat.text,
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
    """Audit a dataset, write OUT/report.html and OUT/findings.json, and exit 1 if a gate fails.

    \b
    Examples:
      audit run images.csv --label-col label
      audit run data/ --fail-on "duplicates.near_rate>0.01" --junit junit.xml
      audit run images.csv --label-col label --baseline audit-baseline.json --format json | jq .metrics
    """
    try:
        config = make_config(config_file, **_typed_options(ctx))
        _check_output_folder(config.out, config.force)
        _check_output_writable(config.out)  # before the scan: an unwritable folder must not cost a full audit
        interactive = err.is_terminal and not config.quiet
        with _progress_factory(interactive) as progress:
            report = run_api(source, config, progress, on_table=None if config.quiet else _print_notes)
            _write_reports(report, config, junit, summary, progress)
    except KeyboardInterrupt as exc:  # one line, whatever stage: the scan's says what the cache kept
        plain(str(exc) or "interrupted", err)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except AuditUsageError as exc:
        error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    except OSError as exc:  # the report folder or the cache cannot be written: an input problem, not a gate
        where = f" {exc.filename}" if exc.filename else ""
        error(f"cannot write{where}: {exc.strerror or exc}")
        raise typer.Exit(EXIT_USAGE) from None
    if not config.quiet:
        features = report.result.features
        for warning in features.stats.warnings if features is not None else []:
            plain(f"warning: {warning}", err)
    _print_outcome(report, config, output_format)
    _report_to_ci(report, output_format)
    raise typer.Exit(report.exit_code)


def _print_notes(table) -> None:
    for message in table.notes:
        note(message)


def _with_needs(analyser, metric: str) -> str:
    extra = analyser.metrics[metric].needs
    return analyser.metrics[metric].meaning + (f" (needs {', '.join(extra)})" if extra else "")


def metrics_markdown() -> str:
    """The metric list as a Markdown table (README.md's copy is checked against this by a test)."""
    lines = ["| metric | analyser | meaning |", "| --- | --- | --- |"]
    for analyser in REGISTRY:
        for name in analyser.metrics:
            lines.append(f"| `{name}` | {analyser.name} | {_with_needs(analyser, name)} |")
    for name, meaning in BASELINE_METRICS.items():
        lines.append(f"| `{name}` | (--baseline) | {meaning} |")
    return "\n".join(lines)


@app.command("metrics")
def metrics_command(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown table (as in README.md).")] = False,
) -> None:
    """List every metric name a gate can use, with its meaning.

    \b
    Examples:
      audit metrics
      audit metrics --markdown
    """
    if markdown:
        print(metrics_markdown())
        return
    table = RichTable(title="Metrics (use in --fail-on \"METRIC OP VALUE\")", box=None if not console.is_terminal
                      else RichTable().box)
    table.add_column("metric", no_wrap=True)
    table.add_column("analyser")
    table.add_column("meaning")
    rows = [(name, a.name, _with_needs(a, name)) for a in REGISTRY for name in a.metrics]
    rows += [(name, "(--baseline)", meaning) for name, meaning in BASELINE_METRICS.items()]
    for name, owner, meaning in rows:
        table.add_row(Text(name), owner, Text(meaning))
    console.print(table)


@app.command("analysers")
def analysers_command() -> None:
    """List the analysers (names for --only / --skip) in the order they run.

    \b
    Example:
      audit analysers
    """
    for analyser in REGISTRY:
        needs = ", ".join(analyser.needs) or "a table"
        plain(f"{analyser.name:<16} {analyser.title:<32} needs: {needs}")


register_commands(app)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


__all__ = ["app", "main", "metric_catalogue"]
