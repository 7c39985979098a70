"""``yishi topic take|decline|merge|route|hide-comment|resolve|milestone``: the committee's steps, each recording the
operator's name and role (see yishi/cli/topic.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from domain.errors import DomainError, Lang
from yishi.cli.deliberation import cli_settings, fail, key_values, parse_options, tally_defaults
from yishi.cli.topic import echo_receipt, operator, run_topic, topic, topic_actor
from yishi.i18n import translator


@topic.command("take")
@click.argument("topic_id")
@click.option("--note", default="")
@operator
def take_cmd(topic_id: str, note: str, name: str | None, role: str, lang: Lang) -> None:
    """Take the topic up (领题)."""
    from yishi.services.topics import take

    async def go(client: Any, pool: Any) -> Any:
        return await take(client, topic_id, by=await topic_actor(pool, topic_id, role, name), note=note)

    echo_receipt(run_topic(go, lang))


@topic.command("decline")
@click.argument("topic_id")
@click.option("--reason", required=True, help="Shown to the proposer.")
@operator
def decline_cmd(topic_id: str, reason: str, name: str | None, role: str, lang: Lang) -> None:
    """Decline the topic with a reason the proposer sees."""
    from yishi.services.topics import decline

    async def go(client: Any, pool: Any) -> Any:
        return await decline(client, topic_id, by=await topic_actor(pool, topic_id, role, name), reason=reason)

    echo_receipt(run_topic(go, lang))


@topic.command("merge")
@click.argument("topic_id")
@click.argument("into")
@click.option("--note", default="")
@operator
def merge_cmd(topic_id: str, into: str, note: str, name: str | None, role: str, lang: Lang) -> None:
    """Merge the duplicate TOPIC_ID into INTO: its proposer and supporters support INTO."""
    from yishi.services.topics import merge

    async def go(client: Any, pool: Any) -> Any:
        return await merge(client, pool, topic_id, into, by=await topic_actor(pool, topic_id, role, name), note=note)

    echo_receipt(run_topic(go, lang))


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
        fail(translator(lang).gettext("give either --ladder CATEGORY or --procedure NAME"))
    settings = cli_settings()
    if procedure is not None:
        from domain.roll import Scope, load_roll
        from yishi.services.procedures import StartRequest

        if not roll_path:
            fail(translator(lang).gettext("--procedure needs --roll FILE"))
        try:
            roll = load_roll(Path(roll_path).read_bytes(), roll_path)  # type: ignore[arg-type]
        except DomainError as exc:
            fail(translator(lang).error(exc))

    async def go(client: Any, pool: Any) -> tuple[str, Any]:
        by = await topic_actor(pool, topic_id, role, name)
        if category is not None:
            return await route_to_ladder(client, pool, topic_id, category=category, start_level=start_level, by=by,
                                         note=note)
        from yishi.services.topics import topic_state

        state = await topic_state(pool, topic_id)
        request = StartRequest(procedure=procedure, title=state.title, scope=Scope.parse(scope_text),
                               periods=key_values(periods, "--period"), community=state.community,
                               options=tally_defaults(settings) | parse_options(options),
                               initiator_role="committee" if procedure != "property" else None,
                               initiated_by=by.name)
        return await route_to_procedure(client, pool, topic_id, roll, request, by=by, task_queue=settings.task_queue,
                                        note=note)

    stream, receipt = run_topic(go, lang)
    click.echo(stream)
    echo_receipt(receipt)


@topic.command("hide-comment")
@click.argument("topic_id")
@click.argument("comment_id")
@click.option("--reason", required=True, help="Recorded; the hidden text stays in the stream for auditors.")
@operator
def hide_cmd(topic_id: str, comment_id: str, reason: str, name: str | None, role: str, lang: Lang) -> None:
    """Hide a comment with a recorded reason."""
    from yishi.services.topic_intake import hide_comment

    async def go(_client: Any, pool: Any) -> None:
        await hide_comment(pool, topic_id, comment_id, reason=reason, by=await topic_actor(pool, topic_id, role, name),
                           now=datetime.now(UTC))

    run_topic(go, lang)
    click.echo(translator(lang).gettext("comment %(comment)s hidden", comment=comment_id))


@topic.command("resolve")
@click.argument("topic_id")
@click.option("--resolution", required=True)
@operator
def resolve_cmd(topic_id: str, resolution: str, name: str | None, role: str, lang: Lang) -> None:
    """The work is done: resolve, and ask the proposer and supporters for feedback."""
    from yishi.services.topics import resolve

    async def go(client: Any, pool: Any) -> Any:
        return await resolve(client, topic_id, by=await topic_actor(pool, topic_id, role, name), resolution=resolution)

    echo_receipt(run_topic(go, lang))


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
        return await complete_milestone(client, topic_id, by=await topic_actor(pool, topic_id, role, name),
                                        follow_up_id=follow_up_id, index=index, note=note)

    echo_receipt(run_topic(go, lang))
