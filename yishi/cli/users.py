"""``yishi user``: committee, grid-worker, street-office, department and auditor accounts for the web console,
and API tokens for the organisations that receive escalation tickets."""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from yishi.cli.stack import data_dir_option, stack_settings
from yishi.services.accounts import MIN_PASSWORD, ROLES

T = TypeVar("T")
BY_HELP = "Who does this, for the account log (default: cli:<your login name>)."


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
@click.option("--by", default=None, help=BY_HELP)
@data_dir_option
def add(name: str, role: str, community: str | None, organisation: str | None, password_stdin: bool,
        by: str | None) -> None:
    """Create the account NAME; the password is prompted for (or read with --password-stdin)."""
    from yishi.services.accounts import add_account

    _database_url()
    password = _password(password_stdin)
    account = _run(lambda pool: add_account(pool, name, role, password, community, organisation, by=_by(by)))
    click.echo(f"created {account.role} account {account.name!r} (id {account.id})")


@user.command("disable")
@click.argument("name")
@click.option("--reason", default="", help="Why (kept in the account log), e.g. 'left the committee'.")
@click.option("--by", default=None, help=BY_HELP)
@data_dir_option
def disable(name: str, reason: str, by: str | None) -> None:
    """Disable the account NAME: it can no longer sign in, and its sessions end at once."""
    from yishi.services.account_admin import disable_account

    ended = _run(lambda pool: disable_account(pool, name, by=_by(by), now=datetime.now(UTC), reason=reason))
    click.echo(f"disabled {name!r}; {ended} session(s) ended")


@user.command("enable")
@click.argument("name")
@click.option("--reason", default="", help="Why (kept in the account log).")
@click.option("--by", default=None, help=BY_HELP)
@data_dir_option
def enable(name: str, reason: str, by: str | None) -> None:
    """Enable the disabled account NAME again (its password is unchanged)."""
    from yishi.services.account_admin import enable_account

    _run(lambda pool: enable_account(pool, name, by=_by(by), now=datetime.now(UTC), reason=reason))
    click.echo(f"enabled {name!r}")


@user.command("reset-password")
@click.argument("name")
@click.option("--generate", is_flag=True,
              help="Print a generated one-time password; the next sign-in must choose a new one.")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input (one line).")
@click.option("--by", default=None, help=BY_HELP)
@data_dir_option
def reset_password_cmd(name: str, generate: bool, password_stdin: bool, by: str | None) -> None:
    """Set a new password for NAME (prompted, read, or --generate'd); every session of NAME ends."""
    from yishi.services.account_admin import one_time_password, reset_password

    if generate and password_stdin:
        raise click.UsageError("--generate and --password-stdin exclude each other")
    _database_url()
    password = one_time_password() if generate else _password(password_stdin)
    ended = _run(lambda pool: reset_password(pool, name, password, by=_by(by), now=datetime.now(UTC),
                                             one_time=generate))
    if generate:
        click.echo(password)
        click.echo(f"one-time password for {name!r} (shown once; they choose their own at the next sign-in); "
                   f"{ended} session(s) ended", err=True)
    else:
        click.echo(f"password of {name!r} set; {ended} session(s) ended")


@user.command("list")
@data_dir_option
def list_cmd() -> None:
    """The accounts: role, community, disabled or not, live sessions."""
    from yishi.services.account_admin import list_accounts

    for row in _run(list_accounts):
        state = f"disabled {row['disabled_at']:%Y-%m-%d}" if row["disabled_at"] else "enabled"
        extra = ", must change password" if row["must_change_password"] else ""
        click.echo(f"{row['name']}\t{row['role']}\t{row['community'] or '-'}\t{row['organisation'] or '-'}\t"
                   f"{state}{extra}\t{row['sessions']} session(s)")


@user.command("log")
@data_dir_option
def log_cmd() -> None:
    """The account log (the `accounts` stream) with its hash chain checked; exit 1 if the chain is broken."""
    from yishi.services.account_admin import accounts_log

    events, broken = _run(accounts_log)
    for event in events:
        payload = event.payload
        click.echo(f"{event.seq}\t{event.occurred_at.isoformat()}\t{event.type}\t{payload.get('name')}"
                   f" (#{payload.get('account_id')})\tby {payload.get('by')}")
    if broken:
        click.echo(f"error: the account log's hash chain is broken: {broken}", err=True)
        sys.exit(1)
    click.echo(f"chain holds: {len(events)} event(s)", err=True)


def _by(by: str | None) -> str:
    if by:
        return by[:100]
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # a container user without a passwd entry
        return "cli"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    if len(password) < MIN_PASSWORD:
        click.echo(f"error: the password needs at least {MIN_PASSWORD} characters", err=True)
        sys.exit(2)
    return password


def _database_url() -> str:
    return stack_settings("database").database_url


def _run(action: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``action(pool)`` on YISHI_DATABASE_URL; an ``AccountError`` exits 2 with its message."""
    from yishi.services.accounts import AccountError

    database_url = _database_url()

    async def run() -> T:
        from activities.db import create_pool

        pool = await create_pool(database_url, max_size=1)
        try:
            return await action(pool)
        finally:
            await pool.close()

    try:
        return asyncio.run(run())
    except AccountError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


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
