"""Index advisor: workload capture, candidates, what-if costing, selection, verification
by measurement, and index health."""
