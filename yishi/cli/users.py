"""``yishi user``: committee, grid-worker, street-office, department and auditor accounts for the web console,
and API tokens for the organisations that receive escalation tickets."""

from __future__ import annotations

import asyncio
import sys

import click

from yishi.cli.stack import data_dir_option, stack_settings
from yishi.services.accounts import MIN_PASSWORD, ROLES


@click.group("user")
def user() -> None:
    """Manage console accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the account may do.")
@click.option("--community", default=None, help="The community (社区) the account works for.")
@click.option("--org", "organisation", default=None,
              help="The organisation a street-office or department account acts for (e.g. street, dept:housing).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
@data_dir_option
def add(name: str, role: str, community: str | None, organisation: str | None, password_stdin: bool) -> None:
    """Create the account NAME; the password is prompted for (or read with --password-stdin)."""
    settings = stack_settings("database")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        click.echo(f"error: the password needs at least {MIN_PASSWORD} characters", err=True)
        sys.exit(2)
    from yishi.services.accounts import AccountError

    try:
        account = asyncio.run(_add(settings.database_url, name, role, password, community, organisation))
    except AccountError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(f"created {account.role} account {account.name!r} (id {account.id})")


async def _add(database_url: str, name: str, role: str, password: str, community: str | None,  # type: ignore[no-untyped-def]
               organisation: str | None = None):
    from activities.db import create_pool
    from yishi.services.accounts import add_account

    pool = await create_pool(database_url, max_size=1)
    try:
        return await add_account(pool, name, role, password, community, organisation)
    finally:
        await pool.close()


@user.command("org-token")
@click.argument("org")
@click.option("--role", type=click.Choice(("street_office", "department", "committee", "grid_worker")),
              default="department", show_default=True, help="The role the organisation's system acts with.")
@click.option("--name-zh", default="", help="The organisation's name, e.g. 区住房和城乡建设委员会.")
@click.option("--webhook-url", default=None,
              help="POST each ticket assigned to it here ('' = YISHI_ESCALATION_WEBHOOK_URL); omit for none.")
@data_dir_option
def org_token(org: str, role: str, name_zh: str, webhook_url: str | None) -> None:
    """Register organisation ORG for escalations and print a new API bearer token (shown once)."""
    settings = stack_settings("database")
    token = asyncio.run(_org_token(settings.database_url, org, role, name_zh, webhook_url))
    click.echo(token)


async def _org_token(database_url: str, org: str, role: str, name_zh: str, webhook_url: str | None) -> str:
    from activities.db import create_pool
    from yishi.services.escalations import issue_org_token, register_org

    pool = await create_pool(database_url, max_size=1)
    try:
        await register_org(pool, org, role=role, name_zh=name_zh, webhook_url=webhook_url)
        return await issue_org_token(pool, org)
    finally:
        await pool.close()
