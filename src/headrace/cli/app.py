"""Entry point: global options, error handling and exit codes for every command.

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error. An error is
one line on stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from headrace._version import __version__
from headrace.cli.output import print_error

app = typer.Typer(
    name="headrace",
    help="Batch data pipelines you can trust: load exactly once, quarantine bad rows, "
    "transform with SQL, check quality, prove indexes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@dataclass
class GlobalOptions:
    """Options given before the command, read by the commands."""

    debug: bool = False
    config: Path | None = None


_options = GlobalOptions()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"headrace {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Project file (default: nearest headrace.yml)."),
    ] = None,
) -> None:
    """Batch data pipelines you can trust."""
    _options.debug = debug
    _options.config = config


def project_options() -> tuple[Path | None, bool]:
    """The global ``--config`` and ``--debug`` values for commands."""
    return _options.config, _options.debug


def _register_commands() -> None:
    # Imported here so each command module stays small and import cost stays lazy.
    from headrace.cli import (
        advise,
        check,
        compile,
        cost,
        demo,
        indexes,
        lineage,
        load,
        mcp,
        metrics,
        ping,
        plan,
        quarantine,
        run,
        runs,
        serve,
        slo,
    )

    ping.register(app)
    load.register(app)
    run.register(app)
    plan.register(app)
    compile.register(app)
    lineage.register(app)
    advise.register(app)
    mcp.register(app)
    indexes.register(app)
    check.register(app)
    quarantine.register(app)
    demo.register(app)
    runs.register(app)
    slo.register(app)
    cost.register(app)
    metrics.register(app)
    serve.register(app)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the app and turn errors into exit codes."""
    from headrace.errors import HeadraceError

    _register_commands()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # Without standalone mode click returns typer.Exit's code instead of exiting.
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:
            if code == 130:  # click turned Ctrl-C into a quiet abort
                print_error("interrupted: running steps were rolled back")
            sys.exit(code)
    except HeadraceError as exc:
        if debug:
            traceback.print_exc()
        print_error(str(exc))
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print_error("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        print_error("interrupted")
        sys.exit(130)
    except typer.TyperException as exc:
        # Usage errors (unknown command, bad option): the parser's own message, exit 2.
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print_error(str(exc))
        sys.exit(int(getattr(exc, "exit_code", 2)))
    except Exception as exc:  # a bug: say so in one line, traceback behind --debug
        if debug:
            traceback.print_exc()
        print_error(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug)")
        sys.exit(1)
