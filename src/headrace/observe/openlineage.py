"""OpenLineage RunEvents for ``headrace run``, sent with the openlineage-python client.

One OpenLineage *job* per pipeline or model (``namespace`` from ``observe.openlineage``,
name = the pipeline or model) and one for the whole run (``headrace.run``), which every
step names in its ``parent`` run facet. OpenLineage wants UUID run ids, so each is a
UUIDv5 of the headrace run id (and step name): the same run always maps to the same ids,
and the headrace run id travels along in a ``tags`` run facet.

Datasets follow OpenLineage's naming: files are ``file`` + absolute path, tables are
``postgres://host:port`` + ``db.schema.table`` or ``duckdb://`` + file path + ``schema.table``.
Output datasets carry a ``schema`` facet (columns from the engine), ``dataQualityMetrics``
and ``dataQualityAssertions`` from the step's checks (no extra scan), ``outputStatistics``,
and for models a ``columnLineage`` facet from ``headrace lineage``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from headrace._version import __version__
from headrace.engines.url import redact

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import InputDataset, OutputDataset, RunEvent

    from headrace.config.observe import OpenLineageConfig
    from headrace.project import Project
    from headrace.runtime.dag import RunOutcome, StepOutcome

PRODUCER = f"https://github.com/headrace/headrace/tree/v{__version__}"
RUN_JOB = "headrace.run"
HTTP_ENDPOINT = "api/v1/lineage"  # Marquez's path, used when the URL names no path
_UUID_BASE = uuid.UUID("5b1f3c1e-9d7e-4c0a-8f47-6865616472ac")  # fixed: ids stay stable
_P: dict[str, Any] = {"producer": PRODUCER}


def run_uuid(run_id: str, step: str | None = None) -> str:
    """The OpenLineage run id of a headrace run, or of one of its steps."""
    return str(uuid.uuid5(_UUID_BASE, run_id if step is None else f"{run_id}/{step}"))


def make_client(project: Project, config: OpenLineageConfig) -> OpenLineageClient:
    """A client with a file (NDJSON, appended) or HTTP transport from ``config``."""
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.file import FileConfig, FileTransport
    from openlineage.client.transport.http import HttpConfig, HttpTransport

    from headrace.errors import UsageError

    if config.file:
        path = Path(config.file).expanduser()
        path = path if path.is_absolute() else project.root / path
        path.parent.mkdir(parents=True, exist_ok=True)
        transport: Any = FileTransport(FileConfig(log_file_path=str(path), append=True))
    elif config.url:
        base, endpoint = split_endpoint(config.url)
        params: dict[str, Any] = {
            "url": base,
            "endpoint": endpoint,
            "timeout": 5.0,
            # Few, quick retries: lineage must not hold a finished run up for long.
            "retry": {"total": 2, "backoff_factor": 0.2},
        }
        if config.api_key:
            params["auth"] = {"type": "api_key", "apiKey": config.api_key}
        transport = HttpTransport(HttpConfig.from_dict(params))
    else:
        raise UsageError("observe.openlineage needs file: or url:")
    return OpenLineageClient(transport=transport)


def split_endpoint(url: str) -> tuple[str, str]:
    """(base URL, endpoint): ``http://h:5000`` posts to ``api/v1/lineage`` (Marquez),
    ``http://h/x/events`` to ``x/events``."""
    parts = urlsplit(url)
    base = f"{parts.scheme}://{parts.netloc}/"
    path = parts.path.strip("/")
    if parts.query:
        path = f"{path}?{parts.query}"
    return base, path or HTTP_ENDPOINT


def emit(project: Project, events: Iterable[RunEvent]) -> int:
    """Send ``events`` to the configured transport; the count sent (0 when unconfigured)."""
    config = project.config.observe.openlineage
    if config is None:
        return 0
    client = make_client(project, config)
    sent = 0
    try:
        for event in events:
            client.emit(event)
            sent += 1
    finally:
        client.close()
    return sent


def run_start_events(
    project: Project, run_id: str, step_names: list[str], when: dt.datetime | None = None
) -> list[RunEvent]:
    """The START of the whole run."""
    from openlineage.client.event_v2 import RunState

    return [_run_event(project, RunState.START, run_id, when or _now(), step_names)]


def run_end_events(project: Project, outcome: RunOutcome) -> list[RunEvent]:
    """START and COMPLETE/FAIL/ABORT of each step that ran, then the end of the whole run."""
    from openlineage.client.event_v2 import RunState

    datasets = _Datasets(project)
    events: list[RunEvent] = []
    for step in outcome.steps:
        if step.attempts <= 0 or step.started_at is None:
            continue  # skipped, or carried over by --resume: it did not run now
        inputs, outputs = datasets.inputs(step), datasets.outputs(step)
        events.append(_step_event(project, RunState.START, outcome.run_id, step, inputs, []))
        state = {"succeeded": RunState.COMPLETE, "failed": RunState.FAIL}.get(
            step.status, RunState.ABORT
        )
        events.append(_step_event(project, state, outcome.run_id, step, inputs, outputs))
    state = {"succeeded": RunState.COMPLETE, "failed": RunState.FAIL}.get(
        outcome.status, RunState.ABORT
    )
    events.append(
        _run_event(project, state, outcome.run_id, _now(), [s.name for s in outcome.steps])
    )
    return events


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _namespace(project: Project) -> str:
    config = project.config.observe.openlineage
    return config.namespace if config else "headrace"


def _run_event(
    project: Project, state: Any, run_id: str, when: dt.datetime, steps: list[str]
) -> RunEvent:
    from openlineage.client.event_v2 import Job, Run, RunEvent
    from openlineage.client.generated import tags_run

    run_facets: dict[str, Any] = {
        "processing_engine": _engine_facet(),
        "tags": tags_run.TagsRunFacet(
            tags=[
                tags_run.TagsRunFacetFields("headrace_run_id", run_id, "headrace"),
                tags_run.TagsRunFacetFields("steps", ", ".join(steps), "headrace"),
            ],
            **_P,
        ),
    }
    job = Job(_namespace(project), RUN_JOB, facets={"jobType": _job_type("DAG")})
    return RunEvent(
        eventTime=when.isoformat(),
        eventType=state,
        run=Run(runId=run_uuid(run_id), facets=run_facets),
        job=job,
        producer=PRODUCER,
    )


def _step_event(
    project: Project,
    state: Any,
    run_id: str,
    step: StepOutcome,
    inputs: list[InputDataset],
    outputs: list[OutputDataset],
) -> RunEvent:
    from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
    from openlineage.client.generated import error_message_run, parent_run, tags_run

    from headrace.observe.runs import pipeline_of

    namespace = _namespace(project)
    facets: dict[str, Any] = {
        "parent": parent_run.ParentRunFacet(
            run=parent_run.Run(runId=run_uuid(run_id)),
            job=parent_run.Job(namespace=namespace, name=RUN_JOB),
            root=parent_run.Root(
                run=parent_run.RootRun(runId=run_uuid(run_id)),
                job=parent_run.RootJob(namespace=namespace, name=RUN_JOB),
            ),
            **_P,
        ),
        "processing_engine": _engine_facet(),
        "tags": tags_run.TagsRunFacet(
            tags=[
                tags_run.TagsRunFacetFields("headrace_run_id", run_id, "headrace"),
                tags_run.TagsRunFacetFields("step", step.name, "headrace"),
                tags_run.TagsRunFacetFields("attempts", str(step.attempts), "headrace"),
            ],
            **_P,
        ),
    }
    if state == RunState.FAIL and step.error:
        facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
            message=redact(step.error), programmingLanguage="python", **_P
        )
    when = step.started_at if state == RunState.START else (step.finished_at or _now())
    kind = "MODEL" if step.kind == "model" else "LOAD"
    return RunEvent(
        eventTime=when.isoformat(),
        eventType=state,
        run=Run(runId=run_uuid(run_id, step.name), facets=facets),
        job=Job(namespace, pipeline_of(step.name), facets={"jobType": _job_type(kind)}),
        inputs=inputs,
        outputs=outputs,
        producer=PRODUCER,
    )


def _engine_facet() -> Any:
    from openlineage.client.generated import processing_engine_run

    return processing_engine_run.ProcessingEngineRunFacet(
        version=__version__, name="headrace", openlineageAdapterVersion=__version__, **_P
    )


def _job_type(kind: str) -> Any:
    from openlineage.client.generated import job_type_job

    return job_type_job.JobTypeJobFacet(
        processingType="BATCH", integration="HEADRACE", jobType=kind, **_P
    )


class _Datasets:
    """Names, schemas and lineage of the datasets steps read and write; every lookup is
    best effort (a dataset without its schema is better than no event)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self._graph: Any = None
        self._lineage: Any = None

    def graph(self) -> Any:
        if self._graph is None:
            self._graph = self.project.graph()
        return self._graph

    def table_namespace(self, to: str | None) -> tuple[str, str]:
        """(namespace, name prefix) of tables in the connection ``to`` (None: warehouse)."""
        _, url = self.project.connection(to)
        if url.scheme == "postgresql":
            host = f"{url.host or 'localhost'}:{url.port or 5432}"
            return f"postgres://{host}", f"{url.database or url.user or 'postgres'}."
        if url.scheme == "duckdb":
            where = url.path if url.path in ("", ":memory:") else str(Path(url.path).resolve())
            return f"duckdb://{where or ':memory:'}", ""
        return f"{url.scheme}://{url.host or ''}", ""

    def inputs(self, step: StepOutcome) -> list[InputDataset]:
        from openlineage.client.event_v2 import InputDataset

        from headrace.observe.runs import pipeline_of

        found: list[tuple[str, str]] = []
        try:
            if step.kind == "model":
                resolved = self.graph().resolved.get(step.name, {})
                namespace, prefix = self.table_namespace(None)
                found = [(namespace, prefix + t) for t in sorted(set(resolved.values())) if t]
                found = [f for f in found if f[1] != prefix + step.name]
            else:
                found = self._load_inputs(pipeline_of(step.name), step)
        except Exception:  # an event without its inputs beats no event
            found = []
        return [InputDataset(namespace, name) for namespace, name in found]

    def _load_inputs(self, pipeline: str, step: StepOutcome) -> list[tuple[str, str]]:
        from headrace.config.pipelines import SqlSourceConfig

        config = self.project.config.pipelines[pipeline]
        source = config.source
        if isinstance(source, SqlSourceConfig):
            if not source.table:
                return []  # a query: its tables are the source database's business
            namespace, prefix = self.table_namespace(source.connection)
            return [(namespace, prefix + source.table)]
        if "://" in source:
            parts = urlsplit(source)  # the query string may hold a token: leave it out
            return [(f"{parts.scheme}://{parts.hostname or ''}", parts.path or "/")]
        files = [k for k in (step.result.sources if step.result else {}) if "://" not in k]
        if not files:
            path = Path(source).expanduser()
            files = [str(path if path.is_absolute() else self.project.root / path)]
        return [("file", str(Path(f).resolve())) for f in sorted(files)]

    def outputs(self, step: StepOutcome) -> list[OutputDataset]:
        from openlineage.client.event_v2 import OutputDataset
        from openlineage.client.generated import output_statistics_output_dataset as stats

        from headrace.observe.runs import pipeline_of

        if step.kind == "model":
            table, to = step.name, None
            rows = step.build.rows_written if step.build else None
        else:
            config = self.project.config.pipelines.get(pipeline_of(step.name))
            if config is None:
                return []
            table, to = (step.result.table if step.result else config.table), config.to
            rows = step.result.rows_loaded if step.result else None
        namespace, prefix = self.table_namespace(to)
        facets: dict[str, Any] = {}
        builders: list[tuple[str, Callable[[], Any]]] = [
            ("schema", lambda: self._schema(table, to)),
            ("dataQualityMetrics", lambda: _quality_metrics(step)),
            ("dataQualityAssertions", lambda: _assertions(step)),
            ("columnLineage", lambda: self._column_lineage(step)),
        ]
        for name, build in builders:
            try:
                facet = build()
            except Exception:  # leave out what cannot be known
                facet = None
            if facet is not None:
                facets[name] = facet
        output_facets: dict[str, Any] = {}
        if rows is not None and step.status == "succeeded":
            output_facets["outputStatistics"] = stats.OutputStatisticsOutputDatasetFacet(
                rowCount=int(rows), **_P
            )
        return [OutputDataset(namespace, prefix + table, facets=facets, outputFacets=output_facets)]

    def _schema(self, table: str, to: str | None) -> Any:
        from openlineage.client.generated import schema_dataset

        with self.project.engine(to, read_only=True) as engine:
            columns = engine.columns(table)
        if not columns:
            return None
        return schema_dataset.SchemaDatasetFacet(
            fields=[
                schema_dataset.SchemaDatasetFacetFields(
                    name=c.name, type=c.data_type, ordinal_position=c.ordinal
                )
                for c in columns
            ],
            **_P,
        )

    def _column_lineage(self, step: StepOutcome) -> Any:
        from openlineage.client.generated import column_lineage_dataset as cl

        if step.kind != "model":
            return None
        if self._lineage is None:
            self._lineage = self.project.lineage()
        model = self._lineage.models.get(step.name)
        if model is None:
            return None
        namespace, prefix = self.table_namespace(None)
        fields = {
            column: cl.Fields(
                inputFields=[
                    cl.InputField(namespace=namespace, name=prefix + ref.table, field=ref.column)
                    for ref in refs
                ]
            )
            for column, refs in model.columns.items()
        }
        return cl.ColumnLineageDatasetFacet(fields=fields, **_P)


def _quality_metrics(step: StepOutcome) -> Any:
    """Row count and null counts the step's checks already measured (no extra query)."""
    from openlineage.client.generated import data_quality_metrics_dataset as dq

    if step.checks is None or not step.checks.tables:
        return None
    nulls = {
        r.column: dq.ColumnMetrics(nullCount=int(r.invalid_count))
        for r in step.checks.results
        if r.kind == "not_null" and r.column and r.invalid_count is not None
    }
    rows = sum(int(t.get("rows") or 0) for t in step.checks.tables)
    return dq.DataQualityMetricsDatasetFacet(columnMetrics=nulls, rowCount=rows, **_P)


def _assertions(step: StepOutcome) -> Any:
    from openlineage.client.generated import data_quality_assertions_dataset as dqa

    if step.checks is None or not step.checks.results:
        return None
    return dqa.DataQualityAssertionsDatasetFacet(
        assertions=[
            dqa.Assertion(
                assertion=r.kind,
                success=r.status != "fail",
                column=r.column,
                severity=r.severity,
                name=r.check,
                expected=r.threshold,
                actual=r.observed,
            )
            for r in step.checks.results
        ],
        **_P,
    )


__all__ = [
    "PRODUCER",
    "RUN_JOB",
    "emit",
    "make_client",
    "run_end_events",
    "run_start_events",
    "run_uuid",
    "split_endpoint",
]
