"""What the CLI prints: gate and summary tables, coloured on a terminal and plain text in CI logs and pipes.

Rich writes no colour codes when its stream is not a terminal; the tables here also drop their box drawing then, so
a CI log holds plain aligned columns. Errors and notes go to stderr, results to stdout.
"""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from .gates import GateResult
from .model import Section

err = Console(stderr=True, highlight=False)
console = Console(highlight=False)


def _table(title: str, target: Console) -> RichTable:
    return RichTable(title=title, box=box.HEAVY_HEAD if target.is_terminal else None,
                     title_justify="left" if not target.is_terminal else "center")


def print_gates(gates: list[GateResult], target: Console = console,
                not_computed: dict[str, str] | None = None) -> None:
    """The gate table; a gate whose metric has no value says why (`not_computed`: metric -> reason)."""
    if not gates:
        return
    table = _table("Gates", target)
    table.add_column("gate")
    table.add_column("value", justify="right")
    table.add_column("result")
    for g in gates:
        value = (f"not computed: {(not_computed or {}).get(g.gate.metric, 'no value')}" if g.value is None
                 else f"{g.value:.6g}")
        table.add_row(escape(g.gate.expr), value, "[green]pass[/]" if g.passed else "[bold red]FAIL[/]")
    target.print(table)


def print_sections(source: str, rows: int, sections: list[Section], target: Console = console) -> None:
    table = _table(f"Audit of {escape(source)}: {rows:,} rows", target)
    for column in ("analyser", "errors", "warnings", "info", "status"):
        table.add_column(column, justify="right" if column in {"errors", "warnings", "info"} else "left")
    for section in sections:
        counts = {s: sum(1 for f in section.findings if f.severity == s) for s in ("error", "warning", "info")}
        status = f"[red]failed: {escape(section.error)}[/]" if section.error else (
            f"[dim]skipped: {escape(section.skipped)}[/]" if section.skipped else "ok")
        table.add_row(section.name, str(counts["error"]), str(counts["warning"]), str(counts["info"]), status)
    target.print(table)


def error(message: str) -> None:
    err.print(f"[bold red]error:[/] {escape(message)}")


def note(message: str) -> None:
    err.print(f"[yellow]note:[/] {escape(message)}")


def plain(message: str, target: Console = console) -> None:
    """A line printed as is: no markup, no highlighting, no wrapping inside paths."""
    target.print(message, markup=False, highlight=False, soft_wrap=True)
