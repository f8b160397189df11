"""Wording shared by analysers and reporters: counts with the right plural, so a page never says "1 images"."""

from __future__ import annotations


def count(n: int | float, noun: str, plural: str | None = None) -> str:
    """`count(1, "image")` -> "1 image"; `count(1200, "image")` -> "1,200 images"; irregular plurals as given."""
    word = noun if n == 1 else (plural or noun + "s")
    return f"{int(n):,} {word}" if float(n).is_integer() else f"{n:,} {word}"


def are(n: int) -> str:
    """The verb after a count: "1 image is", "2 images are"."""
    return "is" if n == 1 else "are"
