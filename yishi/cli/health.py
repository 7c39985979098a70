"""``yishi health web|worker``: the checks docker-compose (and an operator) runs; exit 0 only when healthy."""

from __future__ import annotations

import asyncio
import sys
import urllib.request

import click

from yishi.cli.stack import data_dir_option, stack_settings
from yishi.settings import Settings


@click.command()
@click.argument("component", type=click.Choice(["web", "worker"]))
@data_dir_option
def health(component: str) -> None:
    """web: the web app answers /healthz. worker: a worker polls the task queue for workflow and activity tasks
    (asked of Temporal, which lists the pollers of a queue)."""
    if component == "web":
        _web(stack_settings())
    else:
        _worker(stack_settings("temporal"))


def _web(settings: Settings) -> None:
    url = f"http://127.0.0.1:{settings.web_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            sys.exit(0 if response.status == 200 else 1)
    except OSError as exc:
        click.echo(f"web unhealthy: {url}: {exc}", err=True)
        sys.exit(1)


def _worker(settings: Settings) -> None:
    from yishi.temporal_client import connect, live_pollers

    async def check() -> dict[str, int]:
        client = await connect(settings)
        return await live_pollers(client, settings.temporal_namespace, settings.task_queue)

    try:
        pollers = asyncio.run(asyncio.wait_for(check(), timeout=8))
    except Exception as exc:
        click.echo(f"worker unhealthy: cannot reach Temporal at {settings.temporal_address}: "
                   f"{exc or type(exc).__name__}", err=True)
        sys.exit(1)
    idle = [kind for kind, count in pollers.items() if count == 0]
    if idle:
        click.echo(f"worker unhealthy: no worker polls task queue {settings.task_queue!r} for {' or '.join(idle)} "
                   f"tasks (namespace {settings.temporal_namespace}, Temporal {settings.temporal_address}); "
                   "is `yishi worker` running with the same YISHI_TASK_QUEUE?", err=True)
        sys.exit(1)
    click.echo(f"worker healthy: {pollers['workflow']} workflow and {pollers['activity']} activity pollers on "
               f"task queue {settings.task_queue!r}")
