"""Loading: extract, validate every row, publish exactly once (see docs/loading.md)."""
