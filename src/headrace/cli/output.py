"""Console output shared by the commands: one place decides colours, JSON and errors."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

console = Console()
err_console = Console(stderr=True)


def print_json(payload: Any) -> None:
    """One JSON document on stdout, nothing else (for scripts and agents)."""
    sys.stdout.write(json.dumps(payload, default=str) + "\n")


def print_error(message: str) -> None:
    """The one error line a user sees (markup in the message is not interpreted)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


def escape(text: str) -> str:
    """Escape rich markup so user data prints as typed."""
    from rich.markup import escape as _escape

    return _escape(text)
