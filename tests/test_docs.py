"""README.md tells the truth: its metric list and set-up commands match the code and the Makefile."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
