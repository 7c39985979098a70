"""Runtime commands: up, demo, worker, web, migrate (health: yishi/cli/health.py)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import click

from yishi.cli.stack import data_dir_option, stack_settings
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
@data_dir_option
def migrate_cmd() -> None:
    """Apply database migrations to YISHI_DATABASE_URL (else the database of the running `yishi up`)."""
    from activities.db import migrate

    settings = stack_settings("database")
    _setup(settings, "yishi-migrate")
    applied = asyncio.run(migrate(settings.database_url))
    click.echo(f"applied: {', '.join(applied) or 'nothing (up to date)'}")
