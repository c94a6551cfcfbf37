"""``python -m headrace`` runs the CLI."""

from headrace.cli.app import main

main()
