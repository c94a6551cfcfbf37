"""``headrace load``: one source into one table, exactly once, bad rows quarantined."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from headrace.cli.output import console, escape, print_json

if TYPE_CHECKING:
    from headrace.load.model import LoadResult


def register(app: typer.Typer) -> None:
    """Add the command to the app."""
    app.command(no_args_is_help=True)(load)


def load(
    source: Annotated[
        str,
        typer.Argument(
            help="File, directory or glob; or a connection URL/name with --query or "
            "--source-table.",
            show_default=False,
        ),
    ],
    table: Annotated[str, typer.Argument(help="Target table: table or schema.table.")],
    to: Annotated[
        str | None, typer.Option("--to", help="Target URL or connection (default: warehouse).")
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv | tsv | ndjson | parquet (default: by name)."),
    ] = None,
    schema: Annotated[
        Path | None, typer.Option("--schema", help="YAML/JSON file declaring columns and keys.")
    ] = None,
    write: Annotated[str, typer.Option("--write", help="append | replace | merge.")] = "append",
    key: Annotated[str | None, typer.Option("--key", help="Merge key: COL[,COL].")] = None,
    incremental: Annotated[
        str | None, typer.Option("--incremental", help="files | cursor:COL[:LOOKBACK].")
    ] = None,
    contract: Annotated[str, typer.Option("--contract", help="evolve | freeze | discard.")] = (
        "evolve"
    ),
    query: Annotated[
        str | None, typer.Option("--query", help="SQL to read from the SOURCE connection.")
    ] = None,
    source_table: Annotated[
        str | None, typer.Option("--source-table", help="Table to read from the SOURCE connection.")
    ] = None,
    delimiter: Annotated[str | None, typer.Option("--delimiter", help="CSV delimiter.")] = None,
    quote: Annotated[str | None, typer.Option("--quote", help="CSV quote character.")] = None,
    escape_char: Annotated[
        str | None, typer.Option("--escape", help="CSV escape character.")
    ] = None,
    header: Annotated[
        bool | None, typer.Option("--header/--no-header", help="CSV has a header line.")
    ] = None,
    encoding: Annotated[str | None, typer.Option("--encoding", help="utf-8 | latin-1.")] = None,
    checks: Annotated[
        Path | None,
        typer.Option("--checks", help="Check file: its row-level checks quarantine failing rows."),
    ] = None,
    transform: Annotated[
        list[str] | None,
        typer.Option(
            "--transform",
            help="Python transform MODULE:FUNC applied to each batch (repeatable, in order).",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Load a file or table into a table exactly once; bad rows go to quarantine."""
    from headrace.cli.app import project_options
    from headrace.cli.progress import LoadProgress
    from headrace.load.options import build_request
    from headrace.project import Project

    config_file, _ = project_options()
    project = Project.discover(config_file=config_file)
    request = build_request(
        source=source,
        table=table,
        fmt=fmt,
        schema_file=schema,
        write=write,
        key=key,
        incremental=incremental,
        contract=contract,
        query=query,
        source_table=source_table,
        checks_file=checks,
        transforms=transform or (),
        # Modules are found in the project root, then in the working directory.
        transform_roots=list(dict.fromkeys([project.root, Path.cwd()])),
        csv={
            "delimiter": delimiter,
            "quote": quote,
            "escape": escape_char,
            "header": header,
            "encoding": encoding,
        },
    )
    with LoadProgress(None, enabled=not as_json) as progress:
        result = project.load(request, to=to, progress=progress)
    if as_json:
        print_json(result.to_json())
        return
    print_summary(result)


def print_summary(result: LoadResult) -> None:
    """The human summary of one load."""
    console.print(
        f"[green]loaded[/] {escape(result.table)}: {result.rows_loaded:,} rows"
        f" ({result.rows_read:,} read, {result.rows_quarantined:,} quarantined,"
        f" {result.rows_merged_away:,} merged away) from {result.files_loaded} file(s),"
        f" {result.files_skipped} skipped, in {result.seconds:.2f} s"
        f" ({result.rows_per_second:,.0f} rows/s); run {result.run_id}",
        highlight=False,
    )
    if result.columns_added:
        console.print(f"  new columns: {escape(', '.join(result.columns_added))}", highlight=False)
    if result.columns_discarded:
        console.print(
            f"  discarded columns: {escape(', '.join(result.columns_discarded))}", highlight=False
        )
    if result.rows_quarantined:
        console.print(f"  see them with: headrace quarantine show {result.run_id}", highlight=False)
