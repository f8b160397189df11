"""dataset-audit: audit image datasets and their tables before anyone trains on them."""

__version__ = "0.1.0"  # set before the imports below: the pipeline reads it

from .api import AuditReport, audit  # noqa: E402 - the notebook API: `from dataset_audit import audit`

__all__ = ["AuditReport", "__version__", "audit"]
