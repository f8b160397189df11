"""dataset-audit: audit image datasets and their tables before anyone trains on them."""

__version__ = "0.1.0"
