"""Errors that end a run with exit code 2 (usage or input problems), each with a message for people."""


class AuditUsageError(Exception):
    """Bad arguments, bad config, or an input table we cannot use. The CLI prints it and exits 2."""
