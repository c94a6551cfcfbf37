"""The web dashboard (``headrace serve``): server-rendered pages over the service layer.

Runs, trends, quality, SLOs, cost, lineage and a read-only table browser; charts are drawn
by the vendored uPlot (``static/vendor/uplot``), so the page works offline.
"""

from __future__ import annotations

from headrace.web.app import create_app

__all__ = ["create_app"]
