"""`python -m dataset_audit` runs the same command line as `audit`."""

from .cli import main

main()
