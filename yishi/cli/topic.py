"""``yishi topic …``: the committee's steps on topics (议题) from a shell, as the console will take them.

Every step that acts records the operator's name and role (``--name``, default the login name; ``--role``), as
``yishi task`` does. Uses YISHI_TEMPORAL_ADDRESS and YISHI_DATABASE_URL (``yishi up`` sets both). Exit 2 with the
reason (in ``--lang``'s language, Chinese by default) on bad input or a refused step, never a traceback.
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
from yishi.cli.deliberation import cli_settings, fail, with_pool
from yishi.i18n import translator

T = TypeVar("T")
ROLES = ("committee", "grid_worker", "street_office", "party_member")


def _keyed() -> Any:
    """The settings with the secret key links are derived with (generated into the data dir if not set)."""
    from pydantic import SecretStr

    from yishi.web.app import secret_key_for

    settings = cli_settings()
    return settings.model_copy(update={"secret_key": SecretStr(secret_key_for(settings))})


def run_topic(work: Callable[[Any, Any], Awaitable[T]], lang: Lang = "zh") -> T:
    """Connect to both servers, run ``work(client, pool)``; refusals become exit 2 with their message."""
    from yishi.temporal_client import connect

    settings = cli_settings()

    async def go(pool: Any) -> T:
        return await work(await connect(settings), pool)

    try:
        return asyncio.run(with_pool(settings, go))
    except DomainError as exc:  # a topic's refusal, a complaint's problems (routing to the ladder), a photo
        fail(translator(lang).error(exc))
    raise AssertionError("unreachable")


async def topic_actor(pool: Any, topic_id: str, role: str, name: str | None) -> Any:
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

    raised, similar = run_topic(go, lang)
    tr = translator(lang)
    click.echo(raised.topic_id)
    click.echo(tr.gettext("tracking link: %(url)s",
                          url=raised.tracking.url(settings.public_base_url or "http://localhost:8000")))
    for candidate, score in similar:
        ratio = f"{score.numerator}/{score.denominator}"
        click.echo(tr.gettext("similar: %(topic)s %(title)s (%(score)s)", topic=candidate.topic_id,
                              title=candidate.title, score=ratio))


@topic.command("similar")
@click.option("--community", required=True)
@click.option("--title", required=True)
@click.option("--description", default="")
@click.option("--building", default=None)
def similar_cmd(community: str, title: str, description: str, building: str | None) -> None:
    """Open topics that read like this one ("already raised: join it")."""
    from yishi.services.topic_intake import find_similar

    for candidate, score in run_topic(lambda _c, pool: find_similar(pool, community, title, description, building)):
        click.echo(f"{candidate.topic_id}\t{score.numerator}/{score.denominator}\t{candidate.title}")


@topic.command("list")
@click.option("--community", default=None)
@click.option("--status", default=None)
@click.option("--waiting-for", "org", default=None,
              help="Only the topics this organisation must take up, e.g. committee:xfl or street.")
@click.option("--json", "as_json", is_flag=True)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def list_cmd(community: str | None, status: str | None, org: str | None, as_json: bool, lang: Lang) -> None:
    """Topics from the read model, newest first (overdue ones marked)."""
    from yishi.services.topics import list_topics, waiting_for

    rows = run_topic(lambda _c, pool: waiting_for(pool, org) if org else list_topics(pool, community, status))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    tr = translator(lang)
    for r in rows:
        late = "  " + tr.gettext("OVERDUE") if r["overdue"] else ""
        due = "  " + tr.gettext("take up by %(when)s (%(org)s)", when=tr.when(r["take_up_due"]),
                                org=r["take_up_org"]) if r["take_up_due"] else ""
        supporters = tr.ngettext("%(num)s supporter", "%(num)s supporters", r["supporters"])
        click.echo(f"{r['topic_id']}  {tr.label(r['status'], 'topic_status')}  {supporters}  {r['title']}{due}{late}")


@topic.command("show")
@click.argument("topic_id")
@click.option("--json", "as_json", is_flag=True)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def show_cmd(topic_id: str, as_json: bool, lang: Lang) -> None:
    """Everything about one topic, folded from its stream (staff view: comments with hidden ones marked)."""
    from yishi.services.topics import topic_state

    state = run_topic(lambda _c, pool: topic_state(pool, topic_id), lang)
    if as_json:
        click.echo(state.model_dump_json(indent=2))
        return
    tr = translator(lang)
    click.echo(f"{state.topic_id}  [{tr.label(state.status, 'topic_status')}]  {state.title}  "
               f"({state.community} {state.building or ''})")
    click.echo(state.description)
    if state.take_up:
        click.echo(tr.gettext("take up by %(when)s (%(org)s)", when=tr.when(state.take_up.due_at),
                              org=state.take_up.org))
        if state.take_up_missed:
            click.echo(tr.gettext("deadline missed by: %(levels)s", levels=", ".join(state.take_up_missed)))
    click.echo(tr.ngettext("%(num)s supporter", "%(num)s supporters", state.supporter_count) + "; "
               + tr.gettext("raised by: %(kind)s", kind=tr.label(state.proposer.kind if state.proposer else "",
                                                                  "raiser")))
    for c in state.comments:
        hidden = "  " + tr.gettext("[hidden: %(reason)s]", reason=c.hidden_reason) if c.hidden_reason else ""
        click.echo(f"  {c.comment_id} {tr.label(c.author_kind, 'raiser')}: {c.text}{hidden}")
    for f in state.follow_ups:
        for i, name in enumerate(f.names):
            mark = tr.gettext("done") if f.done[i] else (tr.gettext("OVERDUE") if f.missed[i] else "…")
            click.echo("  " + tr.gettext("follow-up %(follow_up)s #%(index)s %(name)s due %(when)s [%(mark)s]",
                                         follow_up=f.follow_up_id, index=i, name=name, when=tr.when(f.due_at[i]),
                                         mark=mark))
    if state.declined_reason:
        click.echo(tr.gettext("declined: %(reason)s", reason=state.declined_reason))
    if state.resolution:
        click.echo(tr.gettext("resolved: %(resolution)s", resolution=state.resolution))
    if state.merged_into:
        click.echo(tr.gettext("merged into %(topic)s", topic=state.merged_into))


def echo_receipt(receipt: Any) -> None:
    click.echo(f"{receipt.topic_id} {receipt.status}: seq={receipt.seq} hash={receipt.hash}")


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

    click.echo(run_topic(go).url(settings.public_base_url or "http://localhost:8000"))


@topic.command("rebuild")
def rebuild_cmd() -> None:
    """Rebuild the topics read model from the streams."""
    from yishi.services.topics import rebuild_topics

    click.echo(f"rebuilt {run_topic(lambda _c, pool: rebuild_topics(pool))} topics")


from yishi.cli import topic_steps  # noqa: E402,F401 - registers the committee's steps on the group
