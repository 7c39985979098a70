"""``yishi topic …``: the committee's steps on topics (议题) from a shell, as the console will take them.

Every step that acts records the operator's name and role (``--name``, default the login name; ``--role``), as
``yishi task`` does. Uses YISHI_TEMPORAL_ADDRESS and YISHI_DATABASE_URL (``yishi up`` sets both). Exit 2 with the
reason (zh / en) on bad input or a refused step, never a traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from domain.errors import DomainError, Lang
from yishi.cli.deliberation import _fail, _options, _pairs, _settings, _tally_defaults, _with_pool

T = TypeVar("T")
ROLES = ("committee", "grid_worker", "street_office", "party_member")


def _keyed() -> Any:
    """The settings with the secret key links are derived with (generated into the data dir if not set)."""
    from pydantic import SecretStr

    from yishi.web.app import secret_key_for

    settings = _settings()
    return settings.model_copy(update={"secret_key": SecretStr(secret_key_for(settings))})


def _run(work: Callable[[Any, Any], Awaitable[T]], lang: Lang = "zh") -> T:
    """Connect to both servers, run ``work(client, pool)``; refusals become exit 2 with their message."""
    from yishi.services.complaints import ComplaintError
    from yishi.services.topics import TopicRefusedError
    from yishi.temporal_client import connect

    settings = _settings()

    async def go(pool: Any) -> T:
        return await work(await connect(settings), pool)

    try:
        return asyncio.run(_with_pool(settings, go))
    except TopicRefusedError as exc:
        _fail(exc.message(lang))
    except ComplaintError as exc:
        _fail(exc.message(lang))
    except DomainError as exc:
        _fail(exc.message(lang))
    raise AssertionError("unreachable")


async def _actor(pool: Any, topic_id: str, role: str, name: str | None) -> Any:
    """Who acts: the operator (name, role), in the topic's community."""
    from domain.topic_events import Actor
    from yishi.services.topics import topic_state

    topic = await topic_state(pool, topic_id)
    return Actor(kind=role, name=name or os.environ.get("USER") or "operator",  # type: ignore[arg-type]
                 account=f"cli:{os.environ.get('USER') or 'operator'}", community=topic.community)


def operator(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--name", default=None, help="Who acts (default: the login name).")(f)
    f = click.option("--role", type=click.Choice(ROLES), default="committee", show_default=True,
                     help="In what capacity.")(f)
    return click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)(f)


@click.group("topic")
def topic() -> None:
    """Topics (议题): raise, list, show, take up, decline, merge, route, hide a comment, resolve."""


@topic.command("raise")
@click.option("--community", required=True)
@click.option("--title", required=True)
@click.option("--description", required=True)
@click.option("--building", default=None)
@click.option("--room", default=None, help="Kept in the stream, never shown publicly.")
@click.option("--phone", default=None, help="Kept out of the stream (only its keyed hash goes in).")
@click.option("--photo", "photos", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "kind", type=click.Choice(["grid_worker", "party_member"]), default="grid_worker",
              show_default=True, help="Recorded as who raised it.")
@click.option("--name", default=None, help="The grid worker's or party member's name (default: the login name).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def raise_cmd(community: str, title: str, description: str, building: str | None, room: str | None,
              phone: str | None, photos: tuple[Path, ...], kind: str, name: str | None, lang: Lang) -> None:
    """Raise a topic for a resident from the console; prints its id, the tracking link and similar topics."""
    from yishi.services.topic_intake import Proposer, TopicForm, find_similar, raise_topic

    settings = _keyed()
    who = name or os.environ.get("USER") or "operator"
    form = TopicForm(community=community, title=title, description=description, building=building, room=room,
                     phone=phone)
    files = [(p.name, p.read_bytes()) for p in photos]

    async def go(client: Any, pool: Any) -> tuple[Any, list[Any]]:
        similar = await find_similar(pool, community, title, description, building)
        raised = await raise_topic(client, pool, form, Proposer(source="console", kind=kind,  # type: ignore[arg-type]
                                                                person=f"account:{who}", account=who),
                                   files, settings=settings, now=datetime.now(UTC))
        return raised, similar

    raised, similar = _run(go, lang)
    click.echo(raised.topic_id)
    click.echo(f"tracking: {raised.tracking.url(settings.public_base_url or 'http://localhost:8000')}")
    for candidate, score in similar:
        click.echo(f"similar 相似: {candidate.topic_id} {candidate.title} ({score.numerator}/{score.denominator})")


@topic.command("similar")
@click.option("--community", required=True)
@click.option("--title", required=True)
@click.option("--description", default="")
@click.option("--building", default=None)
def similar_cmd(community: str, title: str, description: str, building: str | None) -> None:
    """Open topics that read like this one ("already raised: join it")."""
    from yishi.services.topic_intake import find_similar

    for candidate, score in _run(lambda _c, pool: find_similar(pool, community, title, description, building)):
        click.echo(f"{candidate.topic_id}\t{score.numerator}/{score.denominator}\t{candidate.title}")


@topic.command("list")
@click.option("--community", default=None)
@click.option("--status", default=None)
@click.option("--waiting-for", "org", default=None,
              help="Only the topics this organisation must take up, e.g. committee:xfl or street.")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(community: str | None, status: str | None, org: str | None, as_json: bool) -> None:
    """Topics from the read model, newest first (overdue ones marked)."""
    from yishi.services.topics import list_topics, waiting_for

    rows = _run(lambda _c, pool: waiting_for(pool, org) if org else list_topics(pool, community, status))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    for r in rows:
        late = " OVERDUE 逾期" if r["overdue"] else ""
        due = f" take up by {r['take_up_due']:%Y-%m-%d %H:%M} ({r['take_up_org']})" if r["take_up_due"] else ""
        click.echo(f"{r['topic_id']}  {r['status']:<13} {r['supporters']:>4} supporters  {r['title']}{due}{late}")


@topic.command("show")
@click.argument("topic_id")
@click.option("--json", "as_json", is_flag=True)
def show_cmd(topic_id: str, as_json: bool) -> None:
    """Everything about one topic, folded from its stream (staff view: comments with hidden ones marked)."""
    from yishi.services.topics import topic_state

    state = _run(lambda _c, pool: topic_state(pool, topic_id))
    if as_json:
        click.echo(state.model_dump_json(indent=2))
        return
    click.echo(f"{state.topic_id}  [{state.status}]  {state.title}  ({state.community} {state.building or ''})")
    click.echo(state.description)
    if state.take_up:
        missed = f"; missed by {', '.join(state.take_up_missed)}" if state.take_up_missed else ""
        click.echo(f"take up: {state.take_up.org} by {state.take_up.due_at.isoformat()}{missed}")
    click.echo(f"supporters: {state.supporter_count}; proposer: {state.proposer.kind if state.proposer else ''}")
    for c in state.comments:
        hidden = f"  [hidden 已隐藏: {c.hidden_reason}]" if c.hidden_reason else ""
        click.echo(f"  {c.comment_id} {c.author_kind}: {c.text}{hidden}")
    for f in state.follow_ups:
        for i, name in enumerate(f.names):
            mark = "done" if f.done[i] else ("MISSED" if f.missed[i] else "open")
            click.echo(f"  follow-up {f.follow_up_id} #{i} {name} due {f.due_at[i].isoformat()} [{mark}]")
    for text in (state.declined_reason, state.resolution, state.merged_into and f"merged into {state.merged_into}"):
        if text:
            click.echo(text)


def _receipt(receipt: Any) -> None:
    click.echo(f"{receipt.topic_id} {receipt.status}: seq={receipt.seq} hash={receipt.hash}")


@topic.command("take")
@click.argument("topic_id")
@click.option("--note", default="")
@operator
def take_cmd(topic_id: str, note: str, name: str | None, role: str, lang: Lang) -> None:
    """Take the topic up (领题)."""
    from yishi.services.topics import take

    async def go(client: Any, pool: Any) -> Any:
        return await take(client, topic_id, by=await _actor(pool, topic_id, role, name), note=note)

    _receipt(_run(go, lang))


@topic.command("decline")
@click.argument("topic_id")
@click.option("--reason", required=True, help="Shown to the proposer.")
@operator
def decline_cmd(topic_id: str, reason: str, name: str | None, role: str, lang: Lang) -> None:
    """Decline the topic with a reason the proposer sees."""
    from yishi.services.topics import decline

    async def go(client: Any, pool: Any) -> Any:
        return await decline(client, topic_id, by=await _actor(pool, topic_id, role, name), reason=reason)

    _receipt(_run(go, lang))


@topic.command("merge")
@click.argument("topic_id")
@click.argument("into")
@click.option("--note", default="")
@operator
def merge_cmd(topic_id: str, into: str, note: str, name: str | None, role: str, lang: Lang) -> None:
    """Merge the duplicate TOPIC_ID into INTO: its proposer and supporters support INTO."""
    from yishi.services.topics import merge

    async def go(client: Any, pool: Any) -> Any:
        return await merge(client, pool, topic_id, into, by=await _actor(pool, topic_id, role, name), note=note)

    _receipt(_run(go, lang))


@topic.command("route")
@click.argument("topic_id")
@click.option("--ladder", "category", default=None, help="吹哨: the ticket's category (housing, urban_management, …).")
@click.option("--start-level", default=None, help="grid | community | street | department")
@click.option("--procedure", type=click.Choice(["elevator", "property", "consultation"]), default=None)
@click.option("--roll", "roll_path", default=None, help="For --procedure: the owners roll, .csv or .xlsx.")
@click.option("--scope", "scope_text", default="")
@click.option("--period", "periods", multiple=True)
@click.option("--option", "options", multiple=True)
@click.option("--note", default="")
@operator
def route_cmd(topic_id: str, category: str | None, start_level: str | None, procedure: str | None,
              roll_path: str | None, scope_text: str, periods: tuple[str, ...], options: tuple[str, ...], note: str,
              name: str | None, role: str, lang: Lang) -> None:
    """Route to the escalation ladder (--ladder CATEGORY) or straight to a procedure (--procedure P --roll FILE)."""
    from yishi.services.topic_routes import route_to_ladder, route_to_procedure

    if (category is None) == (procedure is None):
        _fail("请二选一：--ladder 类别 或 --procedure 程序 / give either --ladder CATEGORY or --procedure NAME")
    settings = _settings()
    if procedure is not None:
        from domain.roll import Scope, load_roll
        from yishi.services.procedures import StartRequest

        if not roll_path:
            _fail("--procedure 需要 --roll 名册文件 / --procedure needs --roll FILE")
        roll = load_roll(Path(roll_path).read_bytes(), roll_path)  # type: ignore[arg-type]

    async def go(client: Any, pool: Any) -> tuple[str, Any]:
        by = await _actor(pool, topic_id, role, name)
        if category is not None:
            return await route_to_ladder(client, pool, topic_id, category=category, start_level=start_level, by=by,
                                         note=note)
        from yishi.services.topics import topic_state

        state = await topic_state(pool, topic_id)
        request = StartRequest(procedure=procedure, title=state.title, scope=Scope.parse(scope_text),
                               periods=_pairs(periods, "--period"), community=state.community,
                               options=_tally_defaults(settings) | _options(options),
                               initiator_role="committee" if procedure != "property" else None,
                               initiated_by=by.name)
        return await route_to_procedure(client, pool, topic_id, roll, request, by=by, task_queue=settings.task_queue,
                                        note=note)

    stream, receipt = _run(go, lang)
    click.echo(stream)
    _receipt(receipt)


@topic.command("hide-comment")
@click.argument("topic_id")
@click.argument("comment_id")
@click.option("--reason", required=True, help="Recorded; the hidden text stays in the stream for auditors.")
@operator
def hide_cmd(topic_id: str, comment_id: str, reason: str, name: str | None, role: str, lang: Lang) -> None:
    """Hide a comment with a recorded reason."""
    from yishi.services.topic_intake import hide_comment

    async def go(_client: Any, pool: Any) -> None:
        await hide_comment(pool, topic_id, comment_id, reason=reason, by=await _actor(pool, topic_id, role, name),
                           now=datetime.now(UTC))

    _run(go, lang)
    click.echo(f"{comment_id} hidden 已隐藏")


@topic.command("resolve")
@click.argument("topic_id")
@click.option("--resolution", required=True)
@operator
def resolve_cmd(topic_id: str, resolution: str, name: str | None, role: str, lang: Lang) -> None:
    """The work is done: resolve, and ask the proposer and supporters for feedback."""
    from yishi.services.topics import resolve

    async def go(client: Any, pool: Any) -> Any:
        return await resolve(client, topic_id, by=await _actor(pool, topic_id, role, name), resolution=resolution)

    _receipt(_run(go, lang))


@topic.command("milestone")
@click.argument("topic_id")
@click.argument("follow_up_id")
@click.argument("index", type=int)
@click.option("--note", default="")
@operator
def milestone_cmd(topic_id: str, follow_up_id: str, index: int, note: str, name: str | None, role: str,
                  lang: Lang) -> None:
    """Record milestone INDEX (from 0, as `yishi topic show` lists them) of a follow-up as done."""
    from yishi.services.topics import complete_milestone

    async def go(client: Any, pool: Any) -> Any:
        return await complete_milestone(client, topic_id, by=await _actor(pool, topic_id, role, name),
                                        follow_up_id=follow_up_id, index=index, note=note)

    _receipt(_run(go, lang))


@topic.command("intake-link")
@click.option("--community", required=True)
@click.option("--building", default=None, help="A link for one building's entrance poster.")
@click.option("--reissue", is_flag=True, help="Revoke the current link (e.g. a poster taken down) and issue a new one.")
@click.option("--name", default=None)
def intake_link_cmd(community: str, building: str | None, reissue: bool, name: str | None) -> None:
    """The community's intake QR link (per community, optionally per building), for the A4 poster."""
    from activities.eventstore import EventStore
    from yishi.services.topic_links import intake_link

    settings = _keyed()
    who = name or os.environ.get("USER") or "operator"

    async def go(_client: Any, pool: Any) -> Any:
        return await intake_link(pool, EventStore(pool), community, building, by=who, reissue=reissue,
                                 secret_key=settings.secret_key.get_secret_value(), now=datetime.now(UTC))

    click.echo(_run(go).url(settings.public_base_url or "http://localhost:8000"))


@topic.command("rebuild")
def rebuild_cmd() -> None:
    """Rebuild the topics read model from the streams."""
    from yishi.services.topics import rebuild_topics

    click.echo(f"rebuilt {_run(lambda _c, pool: rebuild_topics(pool))} topics")
