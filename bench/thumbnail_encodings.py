"""Bytes per image of thumbnail encodings for the report (base64 data URI included), on 1,024 CIFAR-10 images.

    .venv/bin/python bench/thumbnail_encodings.py

One JPEG / WebP data URI per image against one sprite sheet of 32 x 32 tiles, at a few qualities. This chose the
explorer's WebP sprite at quality 40 (report/sprites.py).
"""

from __future__ import annotations

import base64
import io
import random

from cifar import cifar10_folder
from PIL import Image

SAMPLE = 1024
PER_LINE = 32


def _uri_bytes(image: Image.Image, fmt: str, **options) -> int:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return len(base64.b64encode(buffer.getvalue())) + len(f"data:image/{fmt.lower()};base64,")


def main() -> None:
    files = sorted(cifar10_folder().rglob("*.jpg"))
    images = [Image.open(f).convert("RGB") for f in random.Random(0).sample(files, SAMPLE)]
    side = images[0].width
    sheet = Image.new("RGB", (PER_LINE * side, -(-SAMPLE // PER_LINE) * side))
    for i, image in enumerate(images):
        sheet.paste(image, ((i % PER_LINE) * side, (i // PER_LINE) * side))
    for fmt, options in [("JPEG", {"quality": q, "optimize": True}) for q in (80, 60, 50)] + \
                        [("WEBP", {"quality": q, "method": 6}) for q in (80, 60, 50, 40)]:
        each = sum(_uri_bytes(image, fmt, **options) for image in images) / SAMPLE
        sprite = _uri_bytes(sheet, fmt, **options) / SAMPLE
        print(f"{fmt} quality {options['quality']}: one URI each {each:.0f} B, sprite {sprite:.0f} B per image")


if __name__ == "__main__":
    main()
