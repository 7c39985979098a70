"""``yishi meeting …``: the clerk's and the committee's steps on meetings (议事会) from a shell, as the console will
take them.

Every step that acts records the operator's name and role (``--name``, default the login name; ``--role``), as
``yishi task`` does. Times are Beijing time unless an offset is given. Uses YISHI_TEMPORAL_ADDRESS and
YISHI_DATABASE_URL (``yishi up`` sets both). Exit 2 with the reason (in ``--lang``, Chinese by default) on bad
input or a refused step.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from domain.errors import DomainError, Lang
from yishi.cli.deliberation import cli_settings, fail, key_values, with_pool
from yishi.i18n import Items, both, translator

T = TypeVar("T")
ROLES = ("committee", "grid_worker", "street_office")
KINDS = ("council", "weekend_hall", "seven_pm")
PARTY_KINDS = ("party_member", "residents_committee", "owner_rep", "property_company", "department")
WEEKDAYS = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}


def _keyed() -> Any:
    """The settings with the secret key links are derived with (generated into the data dir if not set)."""
    from pydantic import SecretStr

    from yishi.web.app import secret_key_for

    settings = cli_settings()
    return settings.model_copy(update={"secret_key": SecretStr(secret_key_for(settings))})


def run_meeting(work: Callable[[Any, Any], Awaitable[T]], lang: Lang = "zh") -> T:
    """Connect to both servers, run ``work(client, pool)``; refusals become exit 2 with their message."""
    from yishi.services.links import LinkError
    from yishi.services.meetings import MeetingRefusedError
    from yishi.services.topics import TopicRefusedError
    from yishi.temporal_client import connect

    settings = cli_settings()

    async def go(pool: Any) -> T:
        return await work(await connect(settings), pool)

    try:
        return asyncio.run(with_pool(settings, go))
    except (MeetingRefusedError, TopicRefusedError, DomainError) as exc:
        fail(translator(lang).error(exc))
    except LinkError as exc:
        fail(translator(lang).gettext("the link is not valid: %(error)s", error=str(exc)))
    raise AssertionError("unreachable")


def _who(name: str | None) -> str:
    return name or os.environ.get("USER") or "operator"


async def meeting_actor(pool: Any, meeting_id: str, role: str, name: str | None) -> Any:
    from domain.topic_events import Actor
    from yishi.services.meetings import meeting_state

    meeting = await meeting_state(pool, meeting_id)
    return Actor(kind=role, name=_who(name), account=f"cli:{os.environ.get('USER') or 'operator'}",  # type: ignore[arg-type]
                 community=meeting.community)


def operator(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--name", default=None, help="Who acts (default: the login name).")(f)
    f = click.option("--role", type=click.Choice(ROLES), default="committee", show_default=True,
                     help="In what capacity.")(f)
    return click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)(f)


def _when(text: str) -> datetime:
    from domain.legal_calendar import BEIJING

    try:
        value = datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        fail(both("the time %(text)s must be written like 2026-05-08 19:00", text=text))
        raise
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)


def _parties(values: tuple[str, ...], start: int = 1) -> tuple[Any, ...]:
    from domain.meeting_events import PartySpec

    out = []
    for n, text in enumerate(values, start=start):
        kind, sep, name = text.partition(":")
        if not sep or kind not in PARTY_KINDS or not name.strip():
            fail(both("--party must be KIND:NAME (kinds: %(kinds)s), got %(text)s", kinds=Items(PARTY_KINDS),
                       text=text))
        out.append(PartySpec(party_id=f"p{n}", kind=kind, name=name.strip()))  # type: ignore[arg-type]
    return tuple(out)


def _options(values: tuple[str, ...]) -> tuple[Any, ...]:
    from domain.meeting_events import Option

    return tuple(Option(id=k, text=v) for k, v in key_values(values, "--option").items())


def _print_links(links: list[Any]) -> None:
    base = cli_settings().public_base_url or "http://localhost:8000"
    for link in links:
        click.echo(f"link {link.holder}: {link.url(base)}")


def echo_receipt(receipt: Any) -> None:
    item = f" item={receipt.item_id}" if receipt.item_id else ""
    click.echo(f"{receipt.meeting_id} {receipt.status}{item} seq={receipt.seq} hash={receipt.hash}")


@click.group("meeting")
def meeting() -> None:
    """Meetings (议事会 / 周末议事厅 / 民声七点办): schedule, agenda, invitations, minutes, decisions, publication."""


@meeting.command("schedule")
@click.option("--community", required=True)
@click.option("--title", required=True)
@click.option("--kind", type=click.Choice(KINDS), default="council", show_default=True)
@click.option("--at", "at_text", required=True, help="Start, Beijing time: 2026-05-08 19:00.")
@click.option("--place", required=True)
@click.option("--party", "parties", multiple=True, help="KIND:NAME, e.g. property_company:安居物业 (repeatable).")
@click.option("--item", "items", multiple=True, help="A free agenda item's title (repeatable).")
@click.option("--topic", "topics", multiple=True, help="A taken topic to put on the agenda (repeatable).")
@operator
def schedule_cmd(community: str, title: str, kind: str, at_text: str, place: str, parties: tuple[str, ...],
                 items: tuple[str, ...], topics: tuple[str, ...], name: str | None, role: str, lang: Lang) -> None:
    """Schedule a meeting; prints its id and the invitation links (each party's and the door's)."""
    from activities.eventstore import EventStore
    from domain.topic_events import Actor
    from workflows.meeting import ItemSpec
    from yishi.services.meeting_links import invitation_links
    from yishi.services.meetings import agenda_topic, meeting_state, schedule_meeting, scheduled_event

    settings = _keyed()
    by = Actor(kind=role, name=_who(name), account=f"cli:{_who(None)}", community=community)  # type: ignore[arg-type]
    event = scheduled_event(community=community, title=title, kind=kind, starts_at=_when(at_text),  # type: ignore[arg-type]
                            place=place, by=by, now=datetime.now(UTC))
    specs, agenda = _parties(parties), tuple(ItemSpec(title=t) for t in items)

    async def go(client: Any, pool: Any) -> list[Any]:
        # the topics go in with the first items (checked first): no update races the workflow's first step
        picked = [ItemSpec(title=(await agenda_topic(pool, t, community)).title, topic_id=t) for t in topics]
        meeting_id = await schedule_meeting(client, pool, event, settings=settings, parties=specs,
                                            items=(*agenda, *picked))
        for _ in range(200):  # the workflow invites the parties: their links follow
            if len((await meeting_state(pool, meeting_id)).parties) == len(specs):
                break
            await asyncio.sleep(0.05)
        return await invitation_links(pool, EventStore(pool), meeting_id, by=by.name,
                                      secret_key=settings.secret_key.get_secret_value(), now=datetime.now(UTC))

    links = run_meeting(go, lang)
    click.echo(event.meeting_id)
    _print_links(links)


@meeting.command("series")
@click.option("--community", required=True)
@click.option("--title", required=True)
@click.option("--kind", type=click.Choice(KINDS), default="weekend_hall", show_default=True)
@click.option("--weekday", type=click.Choice(list(WEEKDAYS)), required=True)
@click.option("--time", "time_of_day", default="19:00", show_default=True, help="HH:MM, Beijing time.")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), required=True)
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option("--place", required=True)
@click.option("--party", "parties", multiple=True, help="KIND:NAME (repeatable): invited to every occurrence.")
@click.option("--ahead", type=int, default=None, help="Weeks scheduled ahead (default: YISHI_SERIES_AHEAD_WEEKS).")
@operator
def series_cmd(community: str, title: str, kind: str, weekday: str, time_of_day: str, first: datetime,
               until: datetime | None, place: str, parties: tuple[str, ...], ahead: int | None, name: str | None,
               role: str, lang: Lang) -> None:
    """Plan a series (e.g. every Friday 19:00); prints its id and each party's link for all its meetings."""
    from domain.meeting_series import SeriesPlanned
    from domain.topic_events import Actor
    from yishi.services.meeting_series import new_series_id, plan_series, series_links

    settings = _keyed()
    now = datetime.now(UTC)
    by = Actor(kind=role, name=_who(name), account=f"cli:{_who(None)}", community=community)  # type: ignore[arg-type]
    plan = SeriesPlanned(at=now, series_id=new_series_id(), community=community, title=title, kind=kind,  # type: ignore[arg-type]
                         weekday=WEEKDAYS[weekday], time_of_day=time_of_day, place=place, parties=_parties(parties),
                         first=first.date(), until=until.date() if until else None,
                         ahead_weeks=ahead or settings.series_ahead_weeks, by=by)

    async def go(client: Any, pool: Any) -> list[Any]:
        await plan_series(client, pool, plan, settings=settings)
        return await series_links(pool, plan.series_id, by=by.name,
                                  secret_key=settings.secret_key.get_secret_value(), now=now)

    links = run_meeting(go, lang)
    click.echo(plan.series_id)
    _print_links(links)


@meeting.command("end-series")
@click.argument("series_id")
@click.option("--reason", required=True)
@operator
def end_series_cmd(series_id: str, reason: str, name: str | None, role: str, lang: Lang) -> None:
    """End a series: no more meetings are scheduled (those scheduled stay)."""
    from domain.topic_events import Actor
    from yishi.services.meeting_series import end_series, series_state

    async def go(client: Any, pool: Any) -> Any:
        plan = (await series_state(pool, series_id)).plan
        by = Actor(kind=role, name=_who(name), account=f"cli:{_who(None)}", community=plan.community)  # type: ignore[union-attr,arg-type]
        return await end_series(client, series_id, reason=reason, by=by)

    result = run_meeting(go, lang)
    click.echo(f"{result.series_id} ended, {result.occurrences} meetings scheduled")


@meeting.command("agenda-add")
@click.argument("meeting_id")
@click.option("--topic", "topic_id", default=None, help="A taken topic (its title goes on the agenda).")
@click.option("--title", default=None, help="A free item's title.")
@click.option("--option", "options", multiple=True, help="ID=TEXT, an option of the item or topic (repeatable).")
@operator
def agenda_add_cmd(meeting_id: str, topic_id: str | None, title: str | None, options: tuple[str, ...],
                   name: str | None, role: str, lang: Lang) -> None:
    """Put a taken topic, or a free item, on the agenda (with its options when there is a choice to make)."""
    from yishi.services.meetings import add_item, add_topic

    if (topic_id is None) == (title is None):
        fail(both("give either %(one)s or %(other)s", one="--topic", other="--title"))

    async def go(client: Any, pool: Any) -> Any:
        by = await meeting_actor(pool, meeting_id, role, name)
        if topic_id is not None:
            return await add_topic(client, pool, meeting_id, topic_id, by=by, options=_options(options))
        return await add_item(client, meeting_id, title=title or "", options=_options(options), by=by)

    echo_receipt(run_meeting(go, lang))


@meeting.command("invite")
@click.argument("meeting_id")
@click.option("--party", "party_text", required=True, help="KIND:NAME")
@operator
def invite_cmd(meeting_id: str, party_text: str, name: str | None, role: str, lang: Lang) -> None:
    """Invite one more party; prints its link."""
    from activities.eventstore import EventStore
    from yishi.services.meeting_links import invitation_links
    from yishi.services.meetings import invite, meeting_state

    settings = _keyed()

    async def go(client: Any, pool: Any) -> list[Any]:
        by = await meeting_actor(pool, meeting_id, role, name)
        (party,) = _parties((party_text,), start=len((await meeting_state(pool, meeting_id)).parties) + 1)
        await invite(client, meeting_id, party, by=by)
        links = await invitation_links(pool, EventStore(pool), meeting_id, by=by.name,
                                       secret_key=settings.secret_key.get_secret_value(), now=datetime.now(UTC))
        return [link for link in links if link.holder == party.party_id]

    _print_links(run_meeting(go, lang))


@meeting.command("links")
@click.argument("meeting_id")
@click.option("--reissue", default=None, help="A party id (or door) whose link is replaced (a lost phone).")
@operator
def links_cmd(meeting_id: str, reissue: str | None, name: str | None, role: str, lang: Lang) -> None:
    """Print the invitation links again (issuing those missing), or replace one."""
    from activities.eventstore import EventStore
    from yishi.services.meeting_links import invitation_links

    settings = _keyed()

    async def go(_client: Any, pool: Any) -> list[Any]:
        return await invitation_links(pool, EventStore(pool), meeting_id, by=f"{_who(name)} ({role})",
                                      secret_key=settings.secret_key.get_secret_value(), now=datetime.now(UTC),
                                      reissue=reissue)

    _print_links(run_meeting(go, lang))


from yishi.cli import meeting_steps  # noqa: E402,F401 - the clerk's steps, registered on the group
