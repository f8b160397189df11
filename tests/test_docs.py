"""README.md tells the truth: its metric list and set-up commands match the code and the Makefile."""

from __future__ import annotations

import re
from pathlib import Path

from dataset_audit.cli import metrics_markdown

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
