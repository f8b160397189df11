"""README.md and --help tell the truth: the metric list, the CLI reference and the set-up commands match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dataset_audit import __version__
from dataset_audit.cli import app
from dataset_audit.docs import BLOCKS, block_pattern

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_readme_generated_blocks_match_the_code(name):
    """The metric list and the settings reference come from the analysers' declarations (`make readme`)."""
    readme = (ROOT / "README.md").read_text()
    block = block_pattern(name).search(readme)
    assert block, f"README.md lost its {name} markers"
    assert block.group(1) == BLOCKS[name](), f"README's {name} block is stale: run `make readme`"


def test_readme_setup_commands_are_make_targets():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test"):
        assert f"make {target}" in readme
        assert re.search(rf"^{target}:", makefile, re.M)
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


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
    assert "1 = everything in order in this process). [default: 0]" in text
    assert "[default: 3000]" in text
    assert "<bool>" not in text
    assert "--no-cache Neither read" in text  # a flag takes no value


def test_version_and_shell_completion_options():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"dataset-audit {__version__}"
    top = CliRunner().invoke(app, ["--help"]).output
    assert "--install-completion" in top and "--show-completion" in top
