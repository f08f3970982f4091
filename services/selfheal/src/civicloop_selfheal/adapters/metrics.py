"""selfheal's Prometheus metrics (on `/metrics`): what runs found and did, how they ended, how long they took."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from civicloop_selfheal.domain.runs import RunReport

FOUND = Counter("civicloop_selfheal_found_total", "Findings of sweeps, by reason", ["reason"])
ACTIONS = Counter(
    "civicloop_selfheal_actions_total", "Actions sweeps took (events published), by kind", ["action"]
)
RUNS = Counter(
    "civicloop_selfheal_runs_total",
    "Sweeps, by trigger and outcome (busy: another was running)",
    ["trigger", "outcome"],
)
DURATION = Histogram(
    "civicloop_selfheal_run_duration_seconds",
    "How long a sweep took",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)


def count_run(report: RunReport) -> None:
    for reason, n in report.found.items():
        FOUND.labels(reason).inc(n)
    for action, n in report.done.items():
        ACTIONS.labels(action).inc(n)
    RUNS.labels(report.trigger.value, report.outcome.value if report.outcome else "failed").inc()
    if report.finished_at is not None:
        DURATION.observe((report.finished_at - report.started_at).total_seconds())


def count_busy(trigger: str) -> None:
    RUNS.labels(trigger, "busy").inc()
