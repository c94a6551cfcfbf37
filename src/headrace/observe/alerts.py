"""Alerts: POST a JSON (or Slack-shaped) message to the webhooks in ``observe.alerts``.

Events: ``run_failed`` (a run ended failed), ``check_failed`` (a blocking check failed on
a table a run wrote), ``slo_breach`` and ``budget_breach``. The last two are states, not
happenings: each is sent when it *flips* to breached, remembered in
``_headrace.alert_state`` in the run store (one row per ``slo:<pipeline>`` and ``budget``),
so a breach that lasts a week alerts once, and again only after it recovered.

Secrets stay out: error texts pass through :func:`redact` and any URL in them is cut down
to its host; the webhook URL itself (Slack's carries its token) is never printed, only
its host. Each POST is retried by tenacity: 3 attempts at most, on connection errors,
timeouts, HTTP 429 and 5xx, and never past the webhook's ``timeout`` in total.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
)

from headrace._version import __version__
from headrace.engines.url import redact

if TYPE_CHECKING:
    from headrace.config.observe import WebhookConfig
    from headrace.engines.base import EngineAdapter
    from headrace.project import Project
    from headrace.runtime.dag import RunOutcome

MAX_ATTEMPTS = 3
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.I)


@dataclass(frozen=True)
class Alert:
    """One alert; ``to_json`` is the documented ``format: json`` body."""

    event: str  # run_failed | check_failed | slo_breach | budget_breach
    project: str
    summary: str  # one line for humans
    run_id: str | None = None
    pipeline: str | None = None
    step: str | None = None
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    ts: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    def to_json(self) -> dict[str, Any]:
        """``{"source", "version", "event", "project", "summary", "run_id", "pipeline",
        "step", "error", "details", "ts"}``."""
        return {
            "source": "headrace",
            "version": __version__,
            "event": self.event,
            "project": self.project,
            "summary": self.summary,
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "step": self.step,
            "error": self.error,
            "details": self.details,
            "ts": self.ts,
        }


@dataclass(frozen=True)
class Delivery:
    """What became of one alert at one webhook (``host`` only: the URL may be secret)."""

    event: str
    host: str
    ok: bool
    attempts: int
    problem: str | None = None


class _Retryable(Exception):
    """A failure worth another attempt (connection, timeout, 429, 5xx)."""


def scrub(text: str) -> str:
    """``text`` without passwords, and with every URL cut down to scheme and host."""
    return _URL.sub(lambda m: _origin(m.group(0)), redact(text))


def host_of(url: str) -> str:
    """The host (and port) of a URL, for messages."""
    return urlsplit(url).netloc.rpartition("@")[2] or "?"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"


def payload(alert: Alert, fmt: str) -> dict[str, Any]:
    """The body for a webhook of format ``json`` or ``slack``."""
    if fmt != "slack":
        return alert.to_json()
    facts = [
        f"{label} `{_slack(value)}`"
        for label, value in (
            ("project", alert.project),
            ("run", alert.run_id),
            ("pipeline", alert.pipeline),
            ("step", alert.step),
        )
        if value
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*headrace {alert.event}*: {_slack(alert.summary)}",
            },
        }
    ]
    if alert.error:
        blocks.append(
            {"type": "section", "text": {"type": "mrkdwn", "text": f"```{_slack(alert.error)}```"}}
        )
    blocks.append(
        {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(facts) or "-"}]}
    )
    return {"text": f"headrace {alert.event}: {alert.summary}", "blocks": blocks}


def _slack(text: str) -> str:
    """Slack mrkdwn treats &, < and > as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def send(webhook: WebhookConfig, alert: Alert) -> Delivery:
    """POST ``alert`` to one webhook, with bounded retries; never raises."""
    body = json.dumps(payload(alert, webhook.format), default=str).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"headrace/{__version__}",
        **webhook.headers,
    }
    attempts = 0

    def post() -> None:
        nonlocal attempts
        attempts += 1
        request = urllib.request.Request(webhook.url, body, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=webhook.timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            if exc.code == 429 or exc.code >= 500:
                raise _Retryable(f"HTTP {exc.code}") from None
            raise RuntimeError(f"HTTP {exc.code}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise _Retryable(f"{type(reason).__name__}") from None

    retrying = Retrying(
        stop=stop_after_attempt(MAX_ATTEMPTS) | stop_after_delay(webhook.timeout),
        wait=wait_exponential(multiplier=0.2, max=2.0),
        retry=retry_if_exception_type(_Retryable),
        reraise=True,
    )
    host = host_of(webhook.url)
    try:
        retrying(post)
    except Exception as exc:  # reported, never raised: an alert must not fail a run
        return Delivery(alert.event, host, False, attempts, scrub(str(exc)) or type(exc).__name__)
    return Delivery(alert.event, host, True, attempts)


def deliver(project: Project, alerts: list[Alert]) -> list[Delivery]:
    """Send each alert to every webhook subscribed to its event; one warning line on
    stderr per failed delivery (host only)."""
    done = []
    for alert in alerts:
        for webhook in project.config.observe.alerts:
            if alert.event not in webhook.events:
                continue
            delivery = send(webhook, alert)
            done.append(delivery)
            if not delivery.ok:
                sys.stderr.write(
                    f"warning: alert {alert.event} to {delivery.host} failed after"
                    f" {delivery.attempts} attempt(s): {delivery.problem}\n"
                )
    return done


def wanted(project: Project, event: str) -> bool:
    """Whether any webhook subscribes to ``event``."""
    return any(event in w.events for w in project.config.observe.alerts)


def project_name(project: Project) -> str:
    """The project's ``name:``, else its folder's name."""
    return project.config.name or project.root.name


def run_alerts(project: Project, outcome: RunOutcome) -> list[Alert]:
    """``run_failed`` for a failed run and ``check_failed`` per step whose blocking checks
    failed."""
    from headrace.observe.runs import pipeline_of

    name = project_name(project)
    found = []
    for step in outcome.steps:
        blocking = [r for r in (step.checks.results if step.checks else []) if r.blocking_failure]
        if not blocking:
            continue
        tables = sorted({r.table for r in blocking})
        found.append(
            Alert(
                "check_failed",
                name,
                f"{len(blocking)} blocking check(s) failed on {', '.join(tables)}",
                run_id=outcome.run_id,
                pipeline=pipeline_of(step.name),
                step=step.name,
                error=scrub(step.error) if step.error else None,
                details={
                    "checks": [
                        {
                            "table": r.table,
                            "check": r.check,
                            "column": r.column,
                            "invalid_count": r.invalid_count,
                            "message": scrub(r.message) if r.message else None,
                        }
                        for r in blocking
                    ]
                },
            )
        )
    if outcome.status == "failed":
        failed = [s for s in outcome.steps if s.status == "failed"]
        first = failed[0] if failed else None
        found.append(
            Alert(
                "run_failed",
                name,
                f"run failed: {len(failed)} step(s) failed"
                + (f", first {first.name}" if first else ""),
                run_id=outcome.run_id,
                pipeline=pipeline_of(first.name) if first else None,
                step=first.name if first else None,
                error=scrub(first.error) if first and first.error else None,
                details={
                    "failed_steps": [s.name for s in failed],
                    "skipped_steps": [s.name for s in outcome.steps if s.status == "skipped"],
                },
            )
        )
    return found


def breach_alerts(
    project: Project, engine: EngineAdapter, *, run_id: str | None = None
) -> list[tuple[Alert, str]]:
    """SLO and budget breaches that are new since the last look, each with its state key
    (pass the delivered ones to :func:`remember`); recoveries are remembered at once."""
    name = project_name(project)
    found: list[tuple[Alert, str]] = []
    states: dict[str, bool] = {}
    if wanted(project, "slo_breach"):
        from headrace.observe.slo import compute_slos
        from headrace.observe.targets import project_targets

        for slo in compute_slos(engine, project.config.observe, project_targets(project).names):
            key = f"slo:{slo.pipeline}"
            states[key] = slo.breached
            why = []
            if slo.success_pct is not None and slo.success_pct < slo.target_pct:
                why.append(f"success {slo.success_pct:g}% < target {slo.target_pct:g}%")
            if slo.fresh is False:
                age = "never succeeded" if slo.freshness_s is None else f"{slo.freshness_s:.0f}s"
                why.append(f"stale: {age} > max age {slo.max_age_s:g}s")
            alert = Alert(
                "slo_breach",
                name,
                f"SLO breached for {slo.pipeline}: {'; '.join(why) or 'objective missed'}",
                run_id=run_id,
                pipeline=slo.pipeline,
                details=slo.to_json(),
            )
            found.append((alert, key))
    if wanted(project, "budget_breach"):
        from headrace.observe.cost import estimate_costs

        report = estimate_costs(engine, project)
        states["budget"] = bool(report.over_budget)
        alert = Alert(
            "budget_breach",
            name,
            f"projected cost ${report.total_usd:,.2f}/month is over the"
            f" ${report.budget_usd:,.2f} budget",
            run_id=run_id,
            details={"total_usd": report.total_usd, "budget_usd": report.budget_usd},
        )
        found.append((alert, "budget"))
    before = load_state(engine)
    fresh = [(a, k) for a, k in found if states[k] and not before.get(k, False)]
    # Recoveries are remembered now, so the next breach alerts again.
    remember(engine, {k: False for k, v in states.items() if not v and before.get(k)})
    return fresh


def load_state(engine: EngineAdapter) -> dict[str, bool]:
    """Each alert key's last remembered state."""
    from headrace.load import state

    rows = engine.fetchall(
        f"SELECT alert_key, breached FROM {state.state_table('alert_state', engine.dialect)}"
    )
    return {str(key): bool(breached) for key, breached in rows}


def remember(engine: EngineAdapter, states: dict[str, bool], detail: str | None = None) -> None:
    """Store each key's state, with what was alerted (one transaction)."""
    from headrace.load import state

    if not states:
        return
    table = state.state_table("alert_state", engine.dialect)
    p = state.ph(engine)
    with engine.transaction():
        for key, breached in states.items():
            engine.execute(f"DELETE FROM {table} WHERE alert_key = {p}", [key])
            engine.execute(
                f"INSERT INTO {table} VALUES ({state.placeholders(engine, 4)})",
                [key, breached, detail, state.now()],
            )


def notify_run(project: Project, outcome: RunOutcome) -> list[Delivery]:
    """Everything ``on_run_end`` alerts about: the run's failures, then new breaches."""
    deliveries = deliver(project, run_alerts(project, outcome))
    if wanted(project, "slo_breach") or wanted(project, "budget_breach"):
        from headrace.load import state

        with project.engine(None) as engine:
            state.ensure_state(engine)
            for alert, key in breach_alerts(project, engine, run_id=outcome.run_id):
                sent = deliver(project, [alert])
                deliveries += sent
                # Undelivered everywhere: not remembered, so the next run tries again.
                if any(d.ok for d in sent):
                    remember(engine, {key: True}, alert.summary)
    return deliveries


__all__ = [
    "MAX_ATTEMPTS",
    "Alert",
    "Delivery",
    "breach_alerts",
    "deliver",
    "host_of",
    "load_state",
    "notify_run",
    "payload",
    "remember",
    "run_alerts",
    "scrub",
    "send",
    "wanted",
]
