"""The commands that work on saved files, without rescanning: `audit baseline create`, `audit check`, `audit diff`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from .baseline import baseline_from_findings_document
from .compare import (
    analyser_errors,
    diff_documents,
    read_findings_document,
    regate,
    regressions,
    render_diff_html,
    render_diff_text,
)
from .config import find_config_file, read_config_file
from .errors import AuditUsageError
from .gates import exit_code
from .report.base import write_atomically
from .terminal import err, error, plain, print_gates

EXIT_USAGE = 2
DEFAULT_FINDINGS = Path("audit-report/findings.json")

baseline_app = typer.Typer(help="Accept the findings a dataset already has, so runs gate only on new ones.\n\n"
                           "\b\nExample:\n  audit baseline create audit-report/findings.json -o audit-baseline.json",
                           no_args_is_help=True)


@baseline_app.command("create")
def baseline_create_command(
    findings: Annotated[Path, typer.Argument(help="findings.json written by `audit run`.")] = DEFAULT_FINDINGS,
    output: Annotated[Path, typer.Option("--output", "-o", help="Baseline file to write.")] = Path(
        "audit-baseline.json"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an output file that is not a baseline.")] = False,
) -> None:
    """Write the ids of every finding in FINDINGS to a baseline file; `audit run --baseline FILE` then reports
    and gates only on findings that are not in it.

    \b
    Examples:
      audit run images.csv --label-col label
      audit baseline create audit-report/findings.json -o audit-baseline.json
      audit run images.csv --label-col label --baseline audit-baseline.json
    """
    with _usage_errors(writing=output):
        document = read_findings_document(findings)
        baseline = baseline_from_findings_document(document, str(findings))
        if output.exists() and not force and not _is_baseline(output):
            raise AuditUsageError(f"{output} exists and is not a dataset-audit baseline; pass --force to replace it")
        write_atomically(output, json.dumps(baseline, indent=1, ensure_ascii=False) + "\n")
    plain(f"Baseline: {len(baseline['findings']):,} finding(s) written to {output}")


@contextmanager
def _usage_errors(writing: Path | None = None) -> Iterator[None]:
    """A usage error, or a file that cannot be written, ends the command with its message and exit code 2."""
    try:
        yield
    except AuditUsageError as exc:
        error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    except OSError as exc:
        error(f"cannot write {exc.filename or writing}: {exc.strerror or exc}")
        raise typer.Exit(EXIT_USAGE) from None


def _is_baseline(path: Path) -> bool:
    try:
        return "baseline_version" in json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, TypeError):
        return False


def check_command(
    findings: Annotated[Path, typer.Argument(help="findings.json written by `audit run`.")] = DEFAULT_FINDINGS,
    fail_on: Annotated[list[str] | None, typer.Option("--fail-on", help="Gate 'METRIC OP VALUE' (repeatable). "
                                                      "Default: fail_on from the config file, else the gates the "
                                                      "run recorded.")] = None,
    config_file: Annotated[Path | None, typer.Option("--config", help="TOML config file (default: ./audit.toml, "
                                                     "or [tool.dataset-audit] in ./pyproject.toml).")] = None,
) -> None:
    """Re-apply gates to a saved findings.json without rescanning; exit 1 if one fails (or an analyser had failed).

    \b
    Examples:
      audit check audit-report/findings.json --fail-on "duplicates.near_rate>0.01"
      audit check audit-report/findings.json --fail-on "integrity.unreadable_count>0" --fail-on "balance.imbalance_ratio>10"
    """
    with _usage_errors():
        document = read_findings_document(findings)
        expressions = list(fail_on or [])
        if not expressions:
            file_path = config_file or find_config_file(Path.cwd())
            settings = read_config_file(file_path) if file_path else {}
            configured = settings.get("fail_on", settings.get("fail-on", []))
            expressions = [configured] if isinstance(configured, str) else list(configured)
        if not expressions:
            expressions = [g["expr"] for g in document.get("gates", [])]
        results = regate(document, expressions)
    print_gates(results)
    if not results:
        plain("no gates to check: pass --fail-on (or set fail_on in the config file)", err)
    failed_analysers = analyser_errors(document)
    for name in failed_analysers:
        plain(f"analyser {name} failed in that run", err)
    failed = sum(1 for r in results if not r.passed)
    if failed:
        err.print(f"[bold red]{failed} of {len(results)} gate(s) failed[/]")
    raise typer.Exit(exit_code(results, analyser_errors=len(failed_analysers)))


def diff_command(
    old: Annotated[Path, typer.Argument(help="findings.json of the earlier dataset version.")],
    new: Annotated[Path, typer.Argument(help="findings.json of the later dataset version.")],
    html: Annotated[Path | None, typer.Option("--html", help="Also write the comparison as an HTML page.")] = None,
    fail_on_regression: Annotated[list[str] | None, typer.Option(
        "--fail-on-regression", help="METRIC (exit 1 if it rose) or METRIC>TOLERANCE (exit 1 if it rose by more "
        "than TOLERANCE); repeatable.")] = None,
    all_metrics: Annotated[bool, typer.Option("--all-metrics", help="List unchanged metrics too.")] = False,
) -> None:
    """Compare two audits of a dataset: metrics side by side, new and resolved findings (matched by finding id).

    \b
    Examples:
      audit diff v1/findings.json v2/findings.json
      audit diff v1/findings.json v2/findings.json --html diff.html --fail-on-regression duplicates.near_rate
    """
    with _usage_errors(writing=html):
        diff = diff_documents(read_findings_document(old), read_findings_document(new), str(old), str(new))
        gates = regressions(diff, list(fail_on_regression or []))
        if html is not None:
            write_atomically(html, render_diff_html(diff, gates))
    plain(render_diff_text(diff, gates, all_metrics=all_metrics).rstrip("\n"))
    failed = [g for g in gates if not g.passed]
    if failed:
        err.print(f"[bold red]{len(failed)} of {len(gates)} regression gate(s) failed[/]")
    raise typer.Exit(1 if failed else 0)


def register_commands(app: typer.Typer) -> None:
    app.add_typer(baseline_app, name="baseline")
    app.command("check")(check_command)
    app.command("diff")(diff_command)
