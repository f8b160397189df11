"""README.md and --help tell the truth: the metric list, the CLI reference and the set-up commands match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dataset_audit import __version__
from dataset_audit.cli import app, metrics_markdown
from dataset_audit.cli_docs import cli_reference_markdown

ROOT = Path(__file__).resolve().parents[1]


def test_readme_metric_list_matches_the_registry():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- metrics:start -->\n(.*)\n<!-- metrics:end -->", readme, re.S)
    assert block, "README.md lost its metrics markers"
    assert block.group(1) == metrics_markdown(), "README metrics are stale: paste `audit metrics --markdown`"


def test_readme_setup_commands_are_make_targets():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test"):
        assert f"make {target}" in readme
        assert re.search(rf"^{target}:", makefile, re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_readme_cli_reference_matches_the_commands():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- cli:start -->\n(.*)\n<!-- cli:end -->", readme, re.S)
    assert block, "README.md lost its cli markers"
    assert block.group(1) == cli_reference_markdown(), "README CLI reference is stale: run `make readme`"


COMMANDS = [["run"], ["metrics"], ["analysers"], ["check"], ["diff"], ["baseline"], ["baseline", "create"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_help_shows_an_example(command):
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=120)
    assert result.exit_code == 0
    example = re.search(r"Examples?:\n((?:\s+audit .*\n)+)", result.output)
    assert example, f"`audit {' '.join(command)} --help` has no example"
    assert f"audit {' '.join(command)}" in example.group(1)


def test_run_help_keeps_brackets_defaults_and_plain_flags():
    text = " ".join(CliRunner().invoke(app, ["run", "--help"], terminal_width=200).output.split())
    assert "or [tool.dataset-audit] in ./pyproject.toml" in text  # not eaten as markup
    assert "findings.json there. [default: audit-report]" in text
    assert "(0 = one per core). [default: 0]" in text
    assert "[default: 3000]" in text
    assert "<bool>" not in text
    assert "--no-cache Neither read" in text  # a flag takes no value


def test_version_and_shell_completion_options():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"dataset-audit {__version__}"
    top = CliRunner().invoke(app, ["--help"]).output
    assert "--install-completion" in top and "--show-completion" in top
