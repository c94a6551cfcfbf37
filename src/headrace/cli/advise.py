"""``headrace advise`` and ``headrace bench``: recommend indexes for a workload and prove
them by measurement; measure a workload alone."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from headrace.cli.output import console, escape, print_json

if TYPE_CHECKING:
    from headrace.advisor.measure import QueryTiming
    from headrace.advisor.report import AdviceReport


def register(app: typer.Typer) -> None:
    """Add the commands to the app."""
    app.command()(advise)
    app.command()(bench)


_WORKLOAD_HELP = "A SQL file (statements separated by ;), pg_stat_statements, or querylog."


def advise(
    workload: Annotated[str, typer.Option("--workload", "-w", help=_WORKLOAD_HELP)],
    to: Annotated[str | None, typer.Option("--to", help="Database URL or connection name.")] = None,
    budget_mb: Annotated[
        float | None, typer.Option("--budget-mb", min=0, help="Storage budget for new indexes.")
    ] = None,
    max_width: Annotated[
        int, typer.Option("--max-width", min=1, max=8, help="Key columns per index at most.")
    ] = 3,
    min_gain: Annotated[
        float,
        typer.Option(
            "--min-gain", min=0.0, max=0.99, help="Cost cut an index must bring some query."
        ),
    ] = 0.5,
    verify: Annotated[
        bool, typer.Option("--verify", help="Measure the workload before and after building.")
    ] = False,
    apply: Annotated[
        bool, typer.Option("--apply", help="Keep the indexes (implies --verify).")
    ] = False,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Timed runs per query.")] = 10,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the recommended DDL to this file.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Recommend indexes for a workload (what-if costing with HypoPG, greedy selection under
    a storage budget); with --verify, build them and report measured p50/p95 before and
    after, index use and sizes."""
    from headrace.advisor.advise import AdviseOptions
    from headrace.cli.app import project_options
    from headrace.project import Project

    config_file, _ = project_options()
    project = Project.discover(config_file=config_file)
    options = AdviseOptions(
        workload=workload,
        budget_mb=budget_mb,
        max_width=max_width,
        min_gain=min_gain,
        verify=verify or apply,
        apply=apply,
        repeat=repeat,
    )
    if as_json:
        report = project.advise(options, to)
    else:
        with console.status("analysing the workload..."):
            report = project.advise(options, to)
    if out is not None:
        out.write_text(_ddl_script(report), encoding="utf-8")
    if as_json:
        print_json(report.to_json())
    else:
        _print_report(report, out)


def bench(
    workload: Annotated[str, typer.Option("--workload", "-w", help=_WORKLOAD_HELP)],
    to: Annotated[str | None, typer.Option("--to", help="Database URL or connection name.")] = None,
    repeat: Annotated[int, typer.Option("--repeat", min=1, help="Timed runs per query.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Measure a workload as the database stands: per-query p50/p95/max and the indexes
    each plan uses."""
    from headrace.advisor.measure import summary
    from headrace.cli.app import project_options
    from headrace.project import Project

    config_file, _ = project_options()
    project = Project.discover(config_file=config_file)
    found, timings = project.bench(workload, to, repeat=repeat)
    if as_json:
        print_json(
            {
                "queries": [t.to_json() for t in timings],
                "overall": summary(timings),
                "skipped": [{"position": s.position, "reason": s.reason} for s in found.skipped],
            }
        )
        return
    _print_timings(timings, None)
    overall = summary(timings)
    console.print(
        f"{len(timings)} queries x {repeat} runs: p50 {overall['p50_ms']:.2f} ms,"
        f" p95 {overall['p95_ms']:.2f} ms, max {overall['max_ms']:.2f} ms",
        highlight=False,
    )
    for skipped in found.skipped:
        console.print(f"skipped {escape(skipped.position)}: {escape(skipped.reason)}")


def _ddl_script(report: AdviceReport) -> str:
    lines = [f"-- headrace advise ({report.method}): {len(report.recommendations)} indexes"]
    for rec in report.recommendations:
        lines.append(f"-- for: {', '.join(rec.queries_helped)}")
        lines.append(rec.ddl.rstrip(";") + ";")
    return "\n".join(lines) + "\n"


def _print_report(report: AdviceReport, out: Path | None) -> None:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left")
    table.title = f"{len(report.recommendations)} recommendations ({report.method})"
    table.add_column("index", overflow="fold")
    table.add_column("MB", justify="right", no_wrap=True)
    table.add_column("scans", justify="right", no_wrap=True)
    table.add_column("for", overflow="fold")
    for rec in report.recommendations:
        table.add_row(
            escape(rec.candidate.describe()) + (f" [{rec.kind}]" if rec.kind != "index" else ""),
            f"{rec.size_bytes / 1_048_576:.1f}",
            "" if rec.scans is None else str(rec.scans),
            escape(", ".join(rec.queries_helped)),
        )
    console.print(table)
    for rec in report.recommendations:
        console.print(escape(rec.ddl.rstrip(";") + ";"), highlight=False, soft_wrap=True)
        if rec.error:
            console.print(f"[red]  failed:[/] {escape(rec.error)}", highlight=False)
    if report.verified:
        _print_timings(report.before, report.after)
        data = report.to_json()
        everything = data["all_queries"]
        console.print(
            f"queries the indexes are for: p95 {data['before']['p95_ms']:.2f} ->"
            f" {data['after']['p95_ms']:.2f} ms ({data['p95_reduction_pct']}% less); all"
            f" queries: p95 {everything['before']['p95_ms']:.2f} ->"
            f" {everything['after']['p95_ms']:.2f} ms; index utilization"
            f" {data['index_utilization_pct']}%;"
            f" {'applied' if report.applied else 'indexes dropped again (use --apply to keep)'}",
            highlight=False,
        )
    for skipped in report.workload.skipped:
        console.print(
            f"[yellow]skipped[/] {escape(skipped.position)}: {escape(skipped.reason)}",
            highlight=False,
        )
    for note in report.notes:
        console.print(f"note: {escape(note)}", highlight=False)
    console.print(
        f"{len(report.workload.queries)} queries, {report.candidates} candidates,"
        f" {report.analysis_seconds:.1f} s of analysis"
        + (f"; DDL written to {escape(str(out))}" if out else ""),
        highlight=False,
    )


def _print_timings(before: list[QueryTiming], after: list[QueryTiming] | None) -> None:
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("query", overflow="fold")
    for header in ("p50 ms", "p95 ms", "max ms"):
        table.add_column(header, justify="right", no_wrap=True)
    if after is not None:
        for header in ("p50 after", "p95 after"):
            table.add_column(header, justify="right", no_wrap=True)
    table.add_column("indexes", overflow="fold")
    for i, t in enumerate(before):
        cells = [escape(t.label), f"{t.p50_ms:.2f}", f"{t.p95_ms:.2f}", f"{t.max_ms:.2f}"]
        shown = t
        if after is not None:
            shown = after[i]
            cells += [f"{shown.p50_ms:.2f}", f"{shown.p95_ms:.2f}"]
        cells.append(escape(shown.error or ", ".join(shown.indexes)))
        table.add_row(*cells)
    console.print(table)
