"""Runtime commands: up, demo, worker, web, migrate, health."""

from __future__ import annotations

import asyncio
import sys
import urllib.request
from pathlib import Path

import click

from yishi.settings import Settings, get_settings


def _settings_for(data_dir: Path | None) -> Settings:
    settings = get_settings()
    if data_dir is not None:
        settings = settings.model_copy(update={"data_dir": data_dir})
    return settings


def _setup(settings: Settings, service: str) -> None:
    from yishi.logs import configure_logging
    from yishi.tracing import configure_tracing

    configure_logging(settings.log_level, settings.log_json)
    configure_tracing(settings, service)


@click.command()
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Where the embedded servers keep their data (default: .data in the project).")
@click.option("--demo", is_flag=True, help="Also create a demo community and open a demo deliberation.")
def up(data_dir: Path | None, demo: bool) -> None:
    """Start Yishi: embedded PostgreSQL and Temporal (unless YISHI_DATABASE_URL / YISHI_TEMPORAL_ADDRESS
    point elsewhere), migrations, worker and web app. Ctrl-C stops everything."""
    from yishi.embedded import EmbeddedError
    from yishi.up import run_up

    settings = _settings_for(data_dir)
    _setup(settings, "yishi-up")
    demo_fn = None
    if demo:
        from yishi.demo import run_demo

        demo_fn = run_demo
    try:
        run_up(settings, settings.data_dir, demo=demo_fn)
    except EmbeddedError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@click.command("demo")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None)
@click.pass_context
def demo_cmd(ctx: click.Context, data_dir: Path | None) -> None:
    """Same as `yishi up --demo`."""
    ctx.invoke(up, data_dir=data_dir, demo=True)


@click.command()
def worker() -> None:
    """Run the Temporal worker (uses YISHI_TEMPORAL_ADDRESS and YISHI_DATABASE_URL)."""
    import worker as worker_module

    worker_module.main()


@click.command()
def web() -> None:
    """Run the web app on YISHI_WEB_HOST:YISHI_WEB_PORT."""
    import uvicorn

    from yishi.web.app import create_app

    settings = get_settings()
    _setup(settings, "yishi-web")
    uvicorn.run(create_app(settings), host=settings.web_host, port=settings.web_port, log_config=None, access_log=False,
                proxy_headers=False, timeout_graceful_shutdown=10)  # the app reads them: yishi/web/proxy.py


@click.command("migrate")
def migrate_cmd() -> None:
    """Apply database migrations to YISHI_DATABASE_URL."""
    from activities.db import migrate

    settings = get_settings()
    _setup(settings, "yishi-migrate")
    if not settings.database_url:
        raise click.UsageError("YISHI_DATABASE_URL is not set")
    applied = asyncio.run(migrate(settings.database_url))
    click.echo(f"applied: {', '.join(applied) or 'nothing (up to date)'}")


@click.command()
@click.argument("component", type=click.Choice(["web", "worker"]))
def health(component: str) -> None:
    """Exit 0 when the web app answers /healthz, or when the worker's Temporal is reachable."""
    settings = get_settings()
    if component == "web":
        url = f"http://127.0.0.1:{settings.web_port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                sys.exit(0 if response.status == 200 else 1)
        except OSError as exc:
            click.echo(f"web unhealthy: {exc}", err=True)
            sys.exit(1)

    async def check() -> None:
        from yishi.temporal_client import connect

        client = await connect(settings)
        await client.service_client.check_health()

    try:
        asyncio.run(check())
    except Exception as exc:
        click.echo(f"worker unhealthy: cannot reach Temporal: {exc}", err=True)
        sys.exit(1)
