"""Wires the workflows and activities to a Temporal worker."""

from __future__ import annotations

import asyncio
import signal

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.db import create_pool
from activities.dispatcher import NoticeDispatcher
from activities.eventstore import EventStore
from activities.history_store import HistoryStore
from activities.keeper import HistoryKeeper
from activities.logging_interceptor import LoggingInterceptor
from activities.registry import build_activities
from workflows.registry import WORKFLOWS
from yishi.settings import Settings, get_settings
from yishi.temporal_client import connect

log = structlog.get_logger(__name__)


async def build_worker(
    client: Client, settings: Settings, store: EventStore, pool: asyncpg.Pool, **options: object
) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=build_activities(store, pool, settings),
        interceptors=[LoggingInterceptor()],
        **options,  # type: ignore[arg-type]
    )


def notice_dispatcher(store: EventStore, pool: asyncpg.Pool, settings: Settings) -> NoticeDispatcher:
    """The dispatcher that sends queued notices from this worker process (activities/dispatcher.py)."""
    from yishi.web.app import secret_key_for  # personal links in SMS reminders are derived with the web's key

    return NoticeDispatcher(store, pool, secret_key=secret_key_for(settings),
                            public_base_url=settings.public_base_url)


def tuning(settings: Settings) -> dict[str, object]:
    """The worker options set through ``YISHI_WORKER_*``; the SDK's defaults for the rest."""
    options: dict[str, object] = {"max_cached_workflows": settings.worker_max_cached_workflows}
    if settings.worker_max_concurrent_workflow_tasks is not None:
        options["max_concurrent_workflow_tasks"] = settings.worker_max_concurrent_workflow_tasks
    if settings.worker_max_concurrent_activities is not None:
        options["max_concurrent_activities"] = settings.worker_max_concurrent_activities
    return options


async def run_worker(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM, then finish in-flight activity attempts and stop. Beside the worker, the notice
    dispatcher sends the queued deliveries (activities/dispatcher.py) and the history keeper's sweep keeps the
    histories of runs that closed (activities/keeper.py)."""
    client = await connect(settings)
    pool = await create_pool(settings.database_url, max_size=settings.db_pool_max)
    try:
        store = EventStore(pool, max_batch=settings.group_commit_max)
        worker = await build_worker(client, settings, store, pool, **tuning(settings))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        dispatcher = notice_dispatcher(store, pool, settings)
        sending = asyncio.create_task(dispatcher.run(stop))
        keeper = HistoryKeeper(store, HistoryStore(settings.histories_path))
        try:
            async with worker:
                log.info("worker.started", task_queue=settings.task_queue, histories=str(settings.histories_path))
                sweeping = asyncio.create_task(
                    keeper.sweep_forever(client, settings.task_queue, settings.history_sweep_seconds, stop))
                await stop.wait()
                sweeping.cancel()  # a sweep cut short is taken up by the next one (it is idempotent)
                await asyncio.gather(sweeping, return_exceptions=True)
        finally:
            stop.set()
            await sending
            await dispatcher.aclose()
        log.info("worker.stopped")
    finally:
        await pool.close()


def main() -> None:
    from yishi.logs import configure_logging
    from yishi.tracing import configure_tracing

    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    configure_tracing(settings, "yishi-worker")
    asyncio.run(run_worker(settings))


if __name__ == "__main__":
    main()
