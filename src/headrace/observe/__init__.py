"""Operate pipelines: run history, SLOs, cost model, metrics, lineage events, alerts."""
