"""``yishi channels``: set up a community's notice channels, see the delivery board, retry, record a posting.

Every change is an event (who: ``--by``) in the community's channel stream or the deliberation's stream; secrets
are never given here, only their names (``--secret-ref``), whose values the worker reads from its settings
(``YISHI_SECRETS__<KIND>__<REF>``, docs/channels.md).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from domain.errors import DomainError
from yishi.cli.stack import data_dir_option, stack_settings
from yishi.i18n import both

T = TypeVar("T")
_BY = click.option("--by", required=True, help="Who makes the change (recorded with it).")
_COMMUNITY = click.option("--community", default="default", show_default=True)


def _run(fn: Callable[[Any, Any], Awaitable[T]]) -> T:
    from activities.db import create_pool
    from activities.eventstore import EventStore

    settings = stack_settings("database")

    async def go() -> T:
        pool = await create_pool(settings.database_url, max_size=2)
        try:
            return await fn(EventStore(pool), pool)
        finally:
            await pool.close()

    try:
        return asyncio.run(go())
    except DomainError as exc:
        click.echo(both(exc), err=True)
        raise SystemExit(2) from None
    except ValueError as exc:
        click.echo(f"error 错误: {exc}", err=True)
        raise SystemExit(2) from None


@click.group("channels")
def channels() -> None:
    """Notice channels: WeCom/DingTalk group robots, SMS, webhook, e-mail; the delivery board; printed notices."""


def _template(text: str) -> tuple[str, Any]:
    """``KIND=CODE:var=field,var=field`` → (kind, SmsTemplate)."""
    from domain.channel_config import SmsTemplate

    kind, _, rest = text.partition("=")
    code, _, params = rest.partition(":")
    pairs = dict(p.split("=", 1) for p in params.split(",") if "=" in p)
    return kind.strip(), SmsTemplate(code=code.strip(), params=pairs)


@channels.command("set")
@click.argument("channel_id")
@click.option("--secret-ref", default="", help="The secret's name in the settings (never the secret).")
@click.option("--group", "groups", multiple=True, help="Building ('3') or entrance ('3-2') it reaches; default all.")
@click.option("--kinds", "kinds", multiple=True, help="Notice kinds sent through it; default all.")
@click.option("--url", default="", help="A generic webhook's address.")
@click.option("--to", "to", multiple=True, help="E-mail address (repeatable).")
@click.option("--sign-name", default="", help="SMS: the registered signature (签名).")
@click.option("--template", "templates", multiple=True,
              help="SMS: KIND=CODE:var=field,… e.g. '*=SMS_1234:title=title,time=deadline,url=link'.")
@click.option("--urgent", "urgent", multiple=True, help="SMS: notice kind sent in quiet hours too.")
@_BY
@_COMMUNITY
@data_dir_option
def set_cmd(channel_id: str, secret_ref: str, groups: tuple[str, ...], kinds: tuple[str, ...], url: str,
            to: tuple[str, ...], sign_name: str, templates: tuple[str, ...], urgent: tuple[str, ...], by: str,
            community: str) -> None:
    """Add or replace CHANNEL_ID (KIND:NAME, e.g. wecom:bldg-3, sms:aliyun, email:staff)."""
    from pydantic import ValidationError

    from domain.channel_config import Channel
    from yishi.services.channels import set_channel

    kind = channel_id.partition(":")[0]
    try:
        channel = Channel(id=channel_id, kind=kind, secret_ref=secret_ref, groups=groups or ("*",),
                          kinds=kinds or ("*",), url=url, to=to, sign_name=sign_name,
                          provider="aliyun" if kind == "sms" else None, templates=dict(map(_template, templates)),
                          urgent_kinds=urgent)
    except ValidationError as exc:
        raise click.UsageError(f"{exc.errors()[0]['loc']}: {exc.errors()[0]['msg']}") from None
    for warning in _run(lambda store, pool: set_channel(store, community, channel, by=by, now=datetime.now(UTC))):
        click.echo(f"warning 警告: {warning}", err=True)
    click.echo(f"{channel_id} set for {community}")


@channels.command("remove")
@click.argument("channel_id")
@_BY
@_COMMUNITY
@data_dir_option
def remove_cmd(channel_id: str, by: str, community: str) -> None:
    """Stop using CHANNEL_ID (its deliveries already queued fail, shown on the board)."""
    from yishi.services.channels import remove_channel

    _run(lambda store, pool: remove_channel(store, pool, community, channel_id, by=by, now=datetime.now(UTC)))
    click.echo(f"{channel_id} removed from {community}")


@channels.command("quiet")
@click.option("--start", default="22:00", show_default=True)
@click.option("--end", default="08:00", show_default=True)
@_BY
@_COMMUNITY
@data_dir_option
def quiet_cmd(start: str, end: str, by: str, community: str) -> None:
    """Set the quiet hours (Beijing time): no text message between START and END unless urgent."""
    from domain.channel_config import QuietHours
    from yishi.services.channels import set_quiet_hours

    _run(lambda store, pool: set_quiet_hours(store, community, QuietHours(start=start, end=end), by=by,
                                             now=datetime.now(UTC)))
    click.echo(f"quiet hours of {community}: {start}-{end}")


@channels.command("opt-out")
@click.argument("owner_id")
@click.option("--in", "back_in", is_flag=True, help="The owner wants text messages again.")
@_BY
@_COMMUNITY
@data_dir_option
def opt_out_cmd(owner_id: str, back_in: bool, by: str, community: str) -> None:
    """Record that OWNER_ID asked for no text messages (taken by a clerk: --by is the clerk)."""
    from yishi.services.channels import opt_out

    _run(lambda store, pool: opt_out(store, community, owner_id, by=by, via="committee", now=datetime.now(UTC),
                                     out=not back_in))
    click.echo(f"{owner_id} opted {'in' if back_in else 'out'}")


@channels.command("list")
@click.option("--json", "as_json", is_flag=True)
@_COMMUNITY
@data_dir_option
def list_cmd(as_json: bool, community: str) -> None:
    """The community's channels, quiet hours and number of owners who opted out."""
    from yishi.services.channels import book

    found = _run(lambda store, pool: book(store, pool, community))
    doc = {"channels": [c.model_dump(mode="json") for c in found.channels.values()],
           "quiet": found.quiet.model_dump(), "opted_out": len(found.opted_out)}
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    for c in found.channels.values():
        click.echo(f"{c.id}  groups={','.join(c.groups)}  kinds={','.join(c.kinds)}"
                   + (f"  secret={c.secret_ref}" if c.secret_ref else ""))
    click.echo(f"quiet hours {found.quiet.start}-{found.quiet.end}; {len(found.opted_out)} owners opted out of SMS")


@channels.command("board")
@click.argument("deliberation_id")
@click.option("--json", "as_json", is_flag=True)
@data_dir_option
def board_cmd(deliberation_id: str, as_json: bool) -> None:
    """Every notice × channel × recipient group of DELIBERATION_ID with its state and last failure."""
    from yishi.services.channels import board

    rows = _run(lambda store, pool: board(pool, deliberation_id))
    if as_json:
        click.echo(json.dumps([r.to_json() for r in rows], ensure_ascii=False, indent=2))
        return
    for r in rows:
        error = f"  ✗ {r.error}" if r.error and r.state != "sent" else ""
        click.echo(f"{r.notice_id:<22} {r.channel:<18} {r.group:<10} {r.state:<8} {r.sent}/{r.recipients}"
                   f"  attempts={r.attempts}{error}")


@channels.command("retry")
@click.argument("deliberation_id")
@click.argument("notice_id")
@click.argument("channel")
@click.argument("group")
@_BY
@data_dir_option
def retry_cmd(deliberation_id: str, notice_id: str, channel: str, group: str, by: str) -> None:
    """Send a failed delivery again (the board's retry button)."""
    from yishi.services.channels import retry

    _run(lambda store, pool: retry(store, pool, deliberation_id, notice_id, channel, group, by=by,
                                   now=datetime.now(UTC)))
    click.echo(f"{notice_id} via {channel} to {group}: queued again")


@channels.command("posted")
@click.argument("deliberation_id")
@click.argument("notice_id")
@click.argument("entrance")
@click.option("--photo", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="Photo of the posted sheet (JPEG or PNG).")
@click.option("--at", "posted_at", default=None, help="When it was posted (ISO 8601; default now).")
@_BY
@data_dir_option
def posted_cmd(deliberation_id: str, notice_id: str, entrance: str, photo: Path, posted_at: str | None,
               by: str) -> None:
    """Record that the printed NOTICE_ID was posted at ENTRANCE, with the photo (kept by its SHA-256)."""
    from yishi.services.channels import record_posting

    media = {".png": "image/png", ".webp": "image/webp", ".heic": "image/heic"}.get(photo.suffix.lower(),
                                                                                    "image/jpeg")
    at = datetime.fromisoformat(posted_at) if posted_at else datetime.now(UTC)
    event = _run(lambda store, pool: record_posting(store, pool, deliberation_id, notice_id, entrance, by=by,
                                                    posted_at=at, photo=photo.read_bytes(), media_type=media,
                                                    now=datetime.now(UTC)))
    click.echo(f"posted: {notice_id} at {entrance}, photo sha256 {event.photo_sha256}")
