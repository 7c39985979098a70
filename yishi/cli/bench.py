"""``yishi bench``: benchmarks that print figures beside same-run baselines (docs/benchmarks.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import click

_STACK_OPTIONS = [
    click.option("--database-url", default=None, help="Use this PostgreSQL instead of an embedded one."),
    click.option("--temporal-address", default=None, help="Use this Temporal frontend instead of an embedded one."),
    click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON object."),
]


def _stack_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_STACK_OPTIONS):
        fn = option(fn)
    return fn


def _emit(report: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_json(), ensure_ascii=False))
    else:
        click.echo("\n".join(report.lines()))


def _quiet() -> None:
    from yishi.logs import configure_logging

    configure_logging("WARNING", True)


@click.group()
def bench() -> None:
    """Benchmarks (each starts an embedded stack in a temporary directory unless given one)."""


@bench.command("ballots")
@click.option("--ballots", default=3000, show_default=True, help="Ballots in the closed-loop run.")
@click.option("--clients", default=64, show_default=True, help="Concurrent keep-alive HTTP clients.")
@click.option("--rate", default=500.0, show_default=True, help="Offered ballots/s in the open-loop run.")
@click.option("--open-seconds", default=4.0, show_default=True, help="Length of the open-loop run.")
@_stack_options
def ballots_cmd(ballots: int, clients: int, rate: float, open_seconds: float, database_url: str | None,
                temporal_address: str | None, as_json: bool) -> None:
    """Ballot ingest through HTTP into one deliberation, beside noop, naive-commit and Temporal-update baselines."""
    from yishi.bench.ballots import BallotsConfig, run

    _quiet()
    _emit(run(BallotsConfig(ballots=ballots, clients=clients, rate=rate, open_seconds=open_seconds,
                            database_url=database_url, temporal_address=temporal_address)), as_json)


@bench.command("scale")
@click.option("--owners", default=100_000, show_default=True, help="Owners (one flat each) in the deliberation.")
@click.option("--concurrency", default=256, show_default=True, help="Ballots cast at a time through the service.")
@_stack_options
def scale_cmd(owners: int, concurrency: int, database_url: str | None, temporal_address: str | None,
              as_json: bool) -> None:
    """One deliberation with many owners: import, links, ballots, seal, tally, audit verify; seconds and RSS."""
    from yishi.bench.scale import ScaleConfig, run

    _quiet()
    _emit(run(ScaleConfig(owners=owners, concurrency=concurrency, database_url=database_url,
                          temporal_address=temporal_address)), as_json)


@bench.command("deliberations")
@click.option("--count", default=10_000, show_default=True, help="Deliberations to start.")
@click.option("--timer", default=60.0, show_default=True, help="Seconds from each start to its box's deadline.")
@click.option("--concurrency", default=16, show_default=True, help="Starts in flight at a time.")
@click.option("--backlog", default=200, show_default=True,
              help="Most boxes started but not yet open; starts wait beyond it (backpressure).")
@click.option("--wait", default=900.0, show_default=True, help="Seconds to wait for the timers after the last start.")
@click.option("--worker-cache", default=0, show_default=True,
              help="Workflows the worker keeps in memory (0: the runtime's default, 1000).")
@click.option("--sqlite-sync", type=click.Choice(["full", "normal"]), default="full", show_default=True,
              help="The embedded dev server's SQLite sync; 'normal' is bench only (not durable on power loss).")
@_stack_options
def deliberations_cmd(count: int, timer: float, concurrency: int, backlog: int, wait: float, worker_cache: int,
                      sqlite_sync: str, database_url: str | None, temporal_address: str | None,
                      as_json: bool) -> None:
    """Many open deliberations waiting on timers: start rate, worker memory, and that every timer fires."""
    from yishi.bench.deliberations import DeliberationsConfig, run

    _quiet()
    _emit(run(DeliberationsConfig(count=count, timer=timer, concurrency=concurrency, backlog=backlog, wait=wait,
                                  worker_cache=worker_cache, sqlite_sync=sqlite_sync, database_url=database_url,
                                  temporal_address=temporal_address)), as_json)


@bench.command("tickets")
@click.option("--seeded", default=1_000_000, show_default=True, help="Tickets written to the read side.")
@click.option("--workflows", default=10_000, show_default=True, help="Real tickets through the Escalation workflow.")
@click.option("--concurrency", default=24, show_default=True, help="Real tickets in flight at a time.")
@click.option("--samples", default=100, show_default=True, help="Timed runs of each query.")
@_stack_options
def tickets_cmd(seeded: int, workflows: int, concurrency: int, samples: int, database_url: str | None,
                temporal_address: str | None, as_json: bool) -> None:
    """The inbox and the appraisal over a million tickets, with real ticket workflows (p95 < 1 s)."""
    from yishi.bench.tickets import TicketsConfig, run

    _quiet()
    _emit(run(TicketsConfig(seeded=seeded, workflows=workflows, concurrency=concurrency, samples=samples,
                            database_url=database_url, temporal_address=temporal_address)), as_json)
