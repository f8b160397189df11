"""The CI and pre-commit set-ups README points to parse, and every `audit` command they run is a valid command line."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import typer
import yaml

from dataset_audit.cli import app

ROOT = Path(__file__).resolve().parents[1]


def audit_commands(text: str) -> list[list[str]]:
    """The `audit ...` command lines in a shell script (folded YAML lines already joined)."""
    commands = []
    for line in text.splitlines():
        for part in line.split("&&"):
            part = part.strip().removesuffix("|| true").strip()
            if part.startswith("audit "):
                commands.append(shlex.split(part)[1:])
    return commands


def assert_parses(argv: list[str]) -> None:
    """Parse the arguments with the real command (no run): an unknown command or option, or a missing argument,
    raises."""
    command, rest, name = typer.main.get_command(app), list(argv), "audit"
    while hasattr(command, "commands"):
        name = rest.pop(0)
        if name not in command.commands:
            raise KeyError(f"no command {name!r}")
        command = command.commands[name]
    command.make_context(name, rest)


def scripts_of_github(workflow: dict) -> list[str]:
    return [step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step]


def scripts_of_gitlab(pipeline: dict) -> list[str]:
    return [line for job in pipeline.values() if isinstance(job, dict) and "script" in job for line in job["script"]]


def test_github_actions_example():
    workflow = yaml.safe_load((ROOT / "examples/ci/github-actions.yml").read_text())
    steps = workflow["jobs"]["audit"]["steps"]
    upload = [s for s in steps if s.get("uses", "").startswith("actions/upload-artifact")]
    assert upload and upload[0]["if"] == "always()" and "audit-report/report.html" in upload[0]["with"]["path"]
    commands = [c for script in scripts_of_github(workflow) for c in audit_commands(script)]
    assert commands and commands[0][0] == "run" and "--junit" in commands[0]
    for argv in commands:
        assert_parses(argv)


def test_gitlab_example_reports_junit():
    pipeline = yaml.safe_load((ROOT / "examples/ci/gitlab-ci.yml").read_text())
    assert pipeline["dataset-audit"]["artifacts"]["reports"]["junit"] == "audit-report/junit.xml"
    commands = [c for line in scripts_of_gitlab(pipeline) for c in audit_commands(line)]
    assert {c[0] for c in commands} == {"run", "diff"}
    assert any("audit-report/junit.xml" in c for c in commands)
    for argv in commands:
        assert_parses(argv)


def test_pre_commit_hooks():
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {h["id"] for h in hooks} == {"dataset-audit", "dataset-audit-check"}
    for hook in hooks:
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        entry = shlex.split(hook["entry"])
        assert entry[0] == "audit"
        assert_parses([*entry[1:], "data/images.csv" if entry[1] == "run" else "findings.json"])


def test_readme_links_the_examples():
    readme = (ROOT / "README.md").read_text()
    for path in ("examples/ci/github-actions.yml", "examples/ci/gitlab-ci.yml", ".pre-commit-hooks.yaml"):
        assert f"({path})" in readme


@pytest.mark.parametrize("argv", [["run", "x.csv", "--no-such-option"], ["diff", "only-one.json"]])
def test_the_checker_catches_bad_command_lines(argv):
    with pytest.raises(Exception):  # noqa: B017 - click raises several usage error types
        assert_parses(argv)
