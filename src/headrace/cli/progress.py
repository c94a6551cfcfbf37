"""A progress bar (rows and bytes) that appears only for loads that take over a second."""

from __future__ import annotations

import time
from types import TracebackType

from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from headrace.cli.output import err_console

_DELAY_S = 1.0


class LoadProgress:
    """Callable progress sink: ``progress(rows, bytes)``; silent for quick loads."""

    def __init__(self, total_bytes: int | None, enabled: bool = True) -> None:
        self.total_bytes = total_bytes
        self.enabled = enabled and err_console.is_terminal
        self.started = time.monotonic()
        self._bar: Progress | None = None
        self._task: int | None = None

    def set_total(self, total_bytes: int) -> None:
        """The input size, once the files are known (the bar then shows a percentage)."""
        self.total_bytes = total_bytes or None

    def __call__(self, rows: int, size: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            if time.monotonic() - self.started < _DELAY_S:
                return
            self._bar = Progress(
                TextColumn("loading"),
                BarColumn(),
                DownloadColumn(),
                TextColumn("{task.fields[rows]:,} rows"),
                TimeElapsedColumn(),
                console=err_console,
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("load", total=self.total_bytes or None, rows=0)
        assert self._task is not None
        self._bar.update(self._task, completed=size, rows=rows)  # type: ignore[arg-type]

    def __enter__(self) -> LoadProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()
