"""README.md's generated blocks (CLI reference, metric list, settings reference, the benchmark table) and
`python -m dataset_audit.docs`, which rewrites
them in place (`make readme`); tests/test_docs.py fails when README.md is stale."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path


def _metrics() -> str:
    from .cli import metrics_markdown

    return metrics_markdown()


def _settings() -> str:
    from .analysers import REGISTRY
    from .settings import settings_markdown

    return settings_markdown(REGISTRY)


def _cli() -> str:
    from .cli_docs import cli_reference_markdown

    return cli_reference_markdown()



def _bench() -> str:
    """bench/RESULTS.md as `make bench` last wrote it (committed): README quotes measured figures only from there."""
    return (Path(__file__).resolve().parents[1] / "bench" / "RESULTS.md").read_text(encoding="utf-8").rstrip("\n")



def _scale() -> str:
    """bench/SCALE.md as `make bench-1m` last wrote it (committed): the growth table from 10k to 1M images."""
    return (Path(__file__).resolve().parents[1] / "bench" / "SCALE.md").read_text(encoding="utf-8").rstrip("\n")


# marker name -> what goes between <!-- NAME:start --> and <!-- NAME:end -->
BLOCKS: dict[str, Callable[[], str]] = {"cli": _cli, "metrics": _metrics, "settings": _settings, "bench": _bench,
                                        "scale": _scale}


def block_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"<!-- {name}:start -->\n(.*?)\n?<!-- {name}:end -->", re.S)


def rewrite(text: str) -> str:
    for name, make in BLOCKS.items():
        pattern = block_pattern(name)
        if not pattern.search(text):
            raise SystemExit(f"README.md has no <!-- {name}:start --> ... <!-- {name}:end --> block")
        body = make()
        text = pattern.sub(lambda _, body=body, name=name: f"<!-- {name}:start -->\n{body}\n<!-- {name}:end -->",
                           text)
    return text


def main(path: str = "README.md") -> None:
    readme = Path(path)
    readme.write_text(rewrite(readme.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:])
