"""README.md's CLI reference, generated from the commands themselves (docs.py puts it in README: `make readme`)."""

from __future__ import annotations

import typer


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
