"""Scan: decode every image once, in parallel worker processes, with a cache. Knows nothing about labels."""

from .features import Features, ScanStats
from .runner import scan_images

__all__ = ["Features", "ScanStats", "scan_images"]
