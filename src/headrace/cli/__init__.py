"""The ``headrace`` command line (thin: every command calls :mod:`headrace.project`)."""
