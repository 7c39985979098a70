"""``yishi user``: committee, grid-worker, street-office and auditor accounts for the web console."""

from __future__ import annotations

import asyncio
import sys

import click

from yishi.services.accounts import MIN_PASSWORD, ROLES


@click.group("user")
def user() -> None:
    """Manage console accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the account may do.")
@click.option("--community", default=None, help="The community (社区) the account works for.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
def add(name: str, role: str, community: str | None, password_stdin: bool) -> None:
    """Create the account NAME; the password is prompted for (or read with --password-stdin)."""
    from yishi.settings import get_settings

    settings = get_settings()
    if not settings.database_url:
        raise click.UsageError("YISHI_DATABASE_URL is not set (`yishi up` prints the database URL)")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        click.echo(f"error: the password needs at least {MIN_PASSWORD} characters", err=True)
        sys.exit(2)
    from yishi.services.accounts import AccountError

    try:
        account = asyncio.run(_add(settings.database_url, name, role, password, community))
    except AccountError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"created {account.role} account {account.name!r} (id {account.id})")


async def _add(database_url: str, name: str, role: str, password: str, community: str | None):  # type: ignore[no-untyped-def]
    from activities.db import create_pool
    from yishi.services.accounts import add_account

    pool = await create_pool(database_url, max_size=1)
    try:
        return await add_account(pool, name, role, password, community)
    finally:
        await pool.close()
