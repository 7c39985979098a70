"""The fault suite: bring up the real embedded stack in a temporary directory, hurt it, and keep the books.

Scenarios, in order (each is a function taking the shared :class:`~yishi.check.context.Run`):

1. the worker is SIGKILLed in the middle of a deliberation's vote and again while its escalation ticket's
   deadline is pending, and restarted each time (:func:`procs.worker_killed`);
2. the Temporal dev server is stopped and restarted mid-vote (:func:`procs.temporal_restarted`);
3. PostgreSQL is restarted during a flood of ballots (:func:`flood.postgres_flood`);
4. activities, the escalation's included, are made to run again after they completed
   (:func:`procs.activities_rerun`);
5. bad input at every surface (:func:`badinput.bad_inputs`);
6. guesses and sign-in attacks from one shared address (:func:`guessing.shared_address`).
7. a committee member after live links, and an operator writing one behind the chain (:func:`links.staff_and_links`).
8. hostile staff across the community and organisation walls (:func:`walls.hostile_staff`).
9. hostile files and slow bodies against the roll upload (:func:`hostile.hostile_uploads`).
10. a vote's Temporal history deleted (retention), its kept copy changed, its stream re-hashed
    (:func:`retention.retention_outlived`).

The run ends with one summary line (see :meth:`Report.line`) and succeeds only if nothing was lost,
nothing duplicated, no server error was seen, every attack was refused and every scenario's own checks held.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

from activities.db import create_pool
from activities.eventstore import EventStore
from yishi.check.context import NoticeGateway, Run
from yishi.check.report import Report
from yishi.check.stack import FaultStack
from yishi.temporal_client import DATA_CONVERTER

Scenario = Callable[[Run], Awaitable[None]]


def scenarios() -> list[tuple[str, Scenario]]:
    from yishi.check import badinput, flood, guessing, hostile, links, procs, retention, walls

    return [
        ("1. worker SIGKILL mid-deliberation", procs.worker_killed),
        ("2. Temporal restarted mid-vote", procs.temporal_restarted),
        ("3. PostgreSQL restarted during a ballot flood", flood.postgres_flood),
        ("4. activities run again after completing", procs.activities_rerun),
        ("5. bad input at every surface", badinput.bad_inputs),
        ("6. guesses and sign-in attacks from one shared address", guessing.shared_address),
        ("7. staff after live links: refused or in the chain", links.staff_and_links),
        ("8. hostile staff across the walls", walls.hostile_staff),
        ("9. hostile files and slow bodies", hostile.hostile_uploads),
        ("10. Temporal's history deleted: the kept copy witnesses", retention.retention_outlived),
    ]


def run_faults(*, long: bool = False, data_dir: Path | None = None, only: set[int] | None = None,
               log: Callable[[str], None] = print) -> Report:
    """Run every scenario (or ``only`` those numbered) against a fresh embedded stack; return the report
    (``report.ok`` is the verdict)."""
    report = Report()
    with tempfile.TemporaryDirectory(prefix="yishi-faults-") as tmp:
        stack = FaultStack(data_dir=(data_dir or Path(tmp)) / "stack")
        started = time.monotonic()
        try:
            stack.start()
            log(f"stack up in {time.monotonic() - started:.1f}s: web {stack.web_url}, "
                f"Temporal {stack.temporal_address}, PostgreSQL port {stack.postgres.port}")  # type: ignore[union-attr]
            asyncio.run(_run_all(stack, report, long, only, log))
        except Exception as exc:
            report.failures.append(f"the suite could not run: {exc!r}")
            log(traceback.format_exc())
        finally:
            if report.failures:
                log(stack.tails())
            stack.stop()
    report.scenarios["wall_s"] = round(time.monotonic() - started, 1)  # type: ignore[assignment]
    return report


async def _run_all(stack: FaultStack, report: Report, long: bool, only: set[int] | None,
                   log: Callable[[str], None]) -> None:
    from temporalio.client import Client

    from yishi.check.procs import use_gateway

    pool = await create_pool(stack.database_url, max_size=5)
    client = await Client.connect(stack.temporal_address, data_converter=DATA_CONVERTER)
    gateway = NoticeGateway(secret=stack.webhook_secret)
    await gateway.start()
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=32)
    async with httpx.AsyncClient(base_url=stack.web_url, timeout=20, limits=limits) as http:
        run = Run(stack=stack, pool=pool, store=EventStore(pool), client=client, http=http, gateway=gateway,
                  report=report, long=long, log=log)
        await use_gateway(run)
        try:
            for number, (name, scenario) in enumerate(scenarios(), start=1):
                if only and number not in only:
                    continue
                began = time.monotonic()
                log(f"{name}")
                failures = len(report.failures)
                try:
                    await scenario(run)
                except Exception as exc:
                    report.failures.append(f"{name}: {exc!r}")
                    log(traceback.format_exc())
                verdict = "ok" if len(report.failures) == failures else "FAILED: " + "; ".join(
                    report.failures[failures:])
                log(f"  {verdict} ({time.monotonic() - began:.1f}s)")
        finally:
            await gateway.stop()
            await pool.close()
