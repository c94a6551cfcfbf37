"""Runtime: run pipelines as a DAG with retries, locks, resume and a persisted state."""
