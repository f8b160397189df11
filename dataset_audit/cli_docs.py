"""README.md's generated parts: the CLI reference (from the commands themselves) and the metric list.

`make readme` runs `python -m dataset_audit.cli_docs README.md`; tests/test_docs.py fails when README is stale.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import typer

BLOCKS = ("cli", "metrics")


def _markdown_text(text: str) -> str:
    """Prose for Markdown: one line, and no `<word>` that a renderer would take for an HTML tag."""
    return " ".join(text.split()).replace("<", "&lt;").replace(">", "&gt;")


def _markdown_cell(text: str) -> str:
    return _markdown_text(text).replace("|", "\\|")


def _code_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _help_markdown(help_text: str) -> list[str]:
    """A command's help: prose paragraphs as text, `\\b` example blocks as a code block."""
    lines: list[str] = []
    for block in help_text.strip().split("\n\n"):
        block = block.strip("\n")
        if block.lstrip().startswith("\b"):
            body = [line for line in block.split("\n") if line.strip() not in {"\b", ""}]
            heading = [line.strip() for line in body if line.strip().endswith(":") and not line.startswith(" ")]
            code = [line.strip() for line in body if line.startswith(" ")]
            lines += [*(f"{h}" for h in heading), "", "```", *code, "```", ""]
        else:
            lines += [_markdown_text(block), ""]
    return lines


def _command_markdown(command, context, path: str) -> list[str]:
    lines = [f"### `{path}`", "", *_help_markdown(command.help or "")]
    usage = " ".join(command.collect_usage_pieces(context))
    lines += [f"Usage: `{path} {usage}`", ""]
    rows = [record for param in command.get_params(context)
            if (record := param.get_help_record(context)) is not None and param.name != "help"]
    if rows:
        lines += ["| option | meaning |", "| --- | --- |"]
        lines += [f"| `{_code_cell(names)}` | {_markdown_cell(meaning)} |" for names, meaning in rows]
        lines.append("")
    return lines


def cli_reference_markdown() -> str:
    """Every command's help, options and examples, as Markdown (what README's CLI reference shows)."""
    from .cli import app

    root = typer.main.get_command(app)
    root_context = root.context_class(root, info_name="audit")
    lines: list[str] = []

    def walk(command, context, path: str) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands is None:
            lines.extend(_command_markdown(command, context, path))
            return
        if path != "audit":
            lines.extend([f"### `{path}`", "", *_help_markdown(command.help or "")])
        for name, sub in subcommands.items():
            walk(sub, sub.context_class(sub, info_name=name, parent=context), f"{path} {name}")

    lines += ["Global options: " + ", ".join(f"`{record[0]}` ({record[1].rstrip('.')})"
                                             for param in root.get_params(root_context)
                                             if (record := param.get_help_record(root_context))), ""]
    walk(root, root_context, "audit")
    return "\n".join(lines).rstrip("\n")


def generated_blocks() -> dict[str, str]:
    from .cli import metrics_markdown

    return {"cli": cli_reference_markdown(), "metrics": metrics_markdown()}


def update_readme(path: Path) -> bool:
    """Rewrite the generated blocks of README.md in place; True when something changed."""
    text = original = path.read_text(encoding="utf-8")
    for name, content in generated_blocks().items():
        pattern = re.compile(rf"<!-- {name}:start -->\n.*?<!-- {name}:end -->", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{path} has no <!-- {name}:start --> ... <!-- {name}:end --> block")
        text = pattern.sub(lambda _, c=content, n=name: f"<!-- {n}:start -->\n{c}\n<!-- {n}:end -->", text)
    if text != original:
        path.write_text(text, encoding="utf-8")
    return text != original


if __name__ == "__main__":
    changed = update_readme(Path(sys.argv[1] if len(sys.argv) > 1 else "README.md"))
    print("README.md updated" if changed else "README.md already up to date")
