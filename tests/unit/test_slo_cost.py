"""SLO and cost arithmetic, as worked examples (no I/O): the numbers are in the comments."""

from __future__ import annotations

import datetime as dt

import pytest

from headrace.config.observe import PRICE_SHEET_DATE, CostConfig, ObserveConfig
from headrace.observe.cost import GB, TB, monthly_cost, price_sheet, projected_runs_per_month
from headrace.observe.cost import report as cost_report
from headrace.observe.runs import pipeline_of
from headrace.observe.slo import error_budget_remaining_pct, slo_status

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
DAY = 86400.0


# -- SLOs --------------------------------------------------------------------------------


def test_1000_runs_at_999_allow_one_failure() -> None:
    # allowed = (1 - 99.9/100) × 1000 = 1 failure.
    # 0 failures: success 1000/1000 = 100%; budget left 1 - 0/1 = 100%.
    clean = slo_status("events", 1000, 0, 99.9, 30 * DAY, now=NOW)
    assert (clean.success_pct, clean.error_budget_remaining_pct, clean.breached) == (
        100.0,
        100.0,
        False,
    )
    # 1 failure: success 999/1000 = 99.9% (exactly the target); budget 1 - 1/1 = 0% left.
    # Spent, not overspent: not a breach.
    one = slo_status("events", 1000, 1, 99.9, 30 * DAY, now=NOW)
    assert (one.success_pct, one.error_budget_remaining_pct, one.breached) == (99.9, 0.0, False)
    # 2 failures: success 998/1000 = 99.8% < 99.9%; budget 1 - 2/1 = -100% (overspent).
    two = slo_status("events", 1000, 2, 99.9, 30 * DAY, now=NOW)
    assert (two.success_pct, two.error_budget_remaining_pct, two.breached) == (
        99.8,
        -100.0,
        True,
    )


def test_half_the_budget_spent() -> None:
    # 200 runs at 99%: allowed = 0.01 × 200 = 2 failures. 1 failure: budget 1 - 1/2 = 50%
    # left; success 199/200 = 99.5%.
    status = slo_status("orders", 200, 1, 99.0, 7 * DAY, now=NOW)
    assert (status.success_pct, status.error_budget_remaining_pct) == (99.5, 50.0)
    assert not status.breached
    # 4 failures of 400 runs at 99.5%: allowed = 0.005 × 400 = 2; 1 - 4/2 = -100%.
    assert error_budget_remaining_pct(400, 4, 99.5) == -100.0


def test_few_runs_make_a_small_budget() -> None:
    # 10 runs at 99.9%: allowed = 0.001 × 10 = 0.01 failures. One failure spends it
    # 100 times over: 1 - 1/0.01 = -9900%. Success 9/10 = 90%.
    status = slo_status("orders", 10, 1, 99.9, 30 * DAY, now=NOW)
    assert (status.success_pct, status.error_budget_remaining_pct) == (90.0, -9900.0)
    assert status.breached


def test_no_runs_in_window() -> None:
    # 0 runs: no success rate, nothing spent (budget 100%), not a breach.
    status = slo_status("quiet", 0, 0, 99.9, 30 * DAY, now=NOW)
    assert status.success_pct is None
    assert status.error_budget_remaining_pct == 100.0
    assert status.note == "no runs in window"
    assert not status.breached


def test_a_100_pct_target_tolerates_no_failure() -> None:
    # allowed = 0 × runs = 0: with no failure the budget is whole, with one it is gone.
    assert error_budget_remaining_pct(50, 0, 100.0) == 100.0
    status = slo_status("strict", 50, 1, 100.0, DAY, now=NOW)
    assert (status.success_pct, status.error_budget_remaining_pct, status.breached) == (
        98.0,
        0.0,
        True,
    )


def test_freshness_against_max_age() -> None:
    # Last success 2 h before now, max age 1 h: freshness 7200 s > 3600 s, stale: breach
    # even with a perfect success rate.
    stale = slo_status(
        "events",
        10,
        0,
        99.9,
        DAY,
        last_success_at=NOW - dt.timedelta(hours=2),
        max_age_s=3600,
        now=NOW,
    )
    assert (stale.freshness_s, stale.fresh, stale.breached) == (7200.0, False, True)
    # 30 min ago: 1800 s <= 3600 s, fresh.
    fresh = slo_status(
        "events",
        10,
        0,
        99.9,
        DAY,
        last_success_at=NOW - dt.timedelta(minutes=30),
        max_age_s=3600,
        now=NOW,
    )
    assert (fresh.freshness_s, fresh.fresh, fresh.breached) == (1800.0, True, False)
    # Never succeeded with a max age: as stale as it gets.
    never = slo_status("events", 1, 1, 99.9, DAY, max_age_s=3600, now=NOW)
    assert (never.freshness_s, never.fresh) == (None, False)
    # No freshness objective: fresh is None, only the success rate counts.
    unset = slo_status("events", 1, 0, 99.9, DAY, last_success_at=NOW, now=NOW)
    assert (unset.fresh, unset.breached) == (None, False)


def test_slo_config_falls_back_to_default_then_built_in() -> None:
    config = ObserveConfig.model_validate(
        {"slo": {"default": {"target": 99}, "events": {"target": 95, "max_age": "2h"}}}
    )
    assert (config.slo_for("events").target, config.slo_for("events").max_age) == (95, 7200.0)
    assert config.slo_for("orders").target == 99
    assert ObserveConfig().slo_for("orders").target == 99.9  # built-in default


def test_backfill_intervals_count_for_their_pipeline() -> None:
    assert pipeline_of("events@2026-01-03") == "events"
    assert pipeline_of("staging.orders") == "staging.orders"


# -- cost --------------------------------------------------------------------------------


def test_daily_pipeline_on_the_default_price_sheet() -> None:
    # Compute: 30 runs/month × 120 s × 1 vCPU = 3600 vCPU-s = 1 vCPU-hour × $0.04048.
    # Storage: 10 GB × $0.08/GB-month = $0.80. Total $0.84048.
    cost = monthly_cost(
        "events", runs_per_month=30, compute_seconds_per_run=120, storage_bytes=10 * GB
    )
    assert cost.compute_usd == pytest.approx(0.04048)
    assert (cost.storage_gb, cost.storage_usd) == (10.0, pytest.approx(0.80))
    assert cost.scanned_usd == 0
    assert cost.total_usd == pytest.approx(0.84048)


def test_hourly_pipeline_on_two_vcpus() -> None:
    # 720 runs/month (hourly) × 300 s × 2 vCPUs ÷ 3600 = 120 vCPU-hours × $0.04048 = $4.8576.
    rates = CostConfig(vcpus=2)
    cost = monthly_cost(
        "events", runs_per_month=720, compute_seconds_per_run=300, storage_bytes=0, rates=rates
    )
    assert cost.compute_usd == pytest.approx(4.8576)
    assert cost.total_usd == pytest.approx(4.8576)


def test_scanned_bytes_where_an_engine_charges_them() -> None:
    # 100 runs/month × 0.5 TB scanned × $5/TB = $250; compute and storage 0.
    cost = monthly_cost(
        "events",
        runs_per_month=100,
        compute_seconds_per_run=0,
        storage_bytes=0,
        scanned_bytes_per_run=TB // 2,
    )
    assert cost.scanned_usd == pytest.approx(250.0)


def test_overridden_rates() -> None:
    # $0.10/vCPU-hour: 10 runs × 360 s = 1 vCPU-hour = $0.10; $0.02/GB-month × 50 GB = $1.
    rates = CostConfig(vcpu_hour_usd=0.10, gb_month_usd=0.02)
    cost = monthly_cost(
        "events", runs_per_month=10, compute_seconds_per_run=360, storage_bytes=50 * GB, rates=rates
    )
    assert (cost.compute_usd, cost.storage_usd) == (pytest.approx(0.10), pytest.approx(1.0))
    sheet = price_sheet(rates)
    assert sheet["date"] == PRICE_SHEET_DATE
    assert sheet["overridden"] == ["gb_month_usd", "vcpu_hour_usd"]
    assert price_sheet(CostConfig())["overridden"] == []


def test_budget_warning() -> None:
    # Two pipelines: hourly 720 runs × 3600 s = 720 vCPU-hours × $0.04048 = $29.1456, plus
    # 200 GB × $0.08 = $16 of storage: total $45.1456 > $40 budget.
    costs = [
        monthly_cost("big", runs_per_month=720, compute_seconds_per_run=3600, storage_bytes=0),
        monthly_cost("wide", runs_per_month=0, compute_seconds_per_run=0, storage_bytes=200 * GB),
    ]
    over = cost_report(costs, CostConfig())
    assert over.total_usd == pytest.approx(45.1456)
    assert (over.budget_usd, over.over_budget) == (40.0, True)
    assert over.to_json()["over_budget"] is True
    # The same with a $50 budget fits.
    assert not cost_report(costs, CostConfig(budget_usd=50)).over_budget


def test_runs_per_month_projected_from_history() -> None:
    # 7 runs over the last 7 days: 7 × 30/7 = 30 runs/month.
    week = NOW - dt.timedelta(days=7)
    assert projected_runs_per_month(7, week, NOW, ever_ran=True) == pytest.approx(30.0)
    # 60 runs spread over the whole 30-day window: 60 runs/month.
    month = NOW - dt.timedelta(days=30)
    assert projected_runs_per_month(60, month, NOW, ever_ran=True) == pytest.approx(60.0)
    # 3 runs within one minute: the span counts as one day, 3 × 30 = 90 (not 129,600).
    minute = NOW - dt.timedelta(minutes=1)
    assert projected_runs_per_month(3, minute, NOW, ever_ran=True) == pytest.approx(90.0)
    # Nothing in the window but it ran before: at least 1. Never ran: 0.
    assert projected_runs_per_month(0, None, NOW, ever_ran=True) == 1.0
    assert projected_runs_per_month(0, None, NOW, ever_ran=False) == 0.0
