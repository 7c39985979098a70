"""``yishi meeting position|attendance|minutes|decide|hold|confirm|publish|cancel|show|list|rebuild``: the clerk's
steps at and after the meeting (registered on the ``meeting`` group of yishi/cli/meeting.py)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click

from domain.errors import Lang
from yishi.cli.deliberation import cli_settings, fail, key_values, with_pool
from yishi.cli.meeting import echo_receipt, meeting, meeting_actor, operator, run_meeting
from yishi.cli.meeting_show import render
from yishi.i18n import both


@meeting.command("position")
@click.argument("meeting_id")
@click.argument("item_id")
@click.option("--party", "party_id", required=True, help="The party's id (p1, p2 … as `show` lists them).")
@click.option("--option", default=None, help="The option it favours, if any.")
@click.option("--text", default="", help="Its position in its own words.")
@operator
def position_cmd(meeting_id: str, item_id: str, party_id: str, option: str | None, text: str, name: str | None,
                 role: str, lang: Lang) -> None:
    """Record a party's position given on paper or in person (parties state theirs through their links)."""
    from yishi.services.meetings import state_position

    async def go(client: Any, pool: Any) -> Any:
        return await state_position(client, meeting_id, party_id=party_id, item_id=item_id, option=option, text=text,
                                    by=await meeting_actor(pool, meeting_id, role, name))

    echo_receipt(run_meeting(go, lang))


@meeting.command("attendance")
@click.argument("meeting_id")
@click.option("--party", "party_id", default=None, help="An invited party's id.")
@click.option("--guest", default=None, help="The name of someone attending who was not invited.")
@operator
def attendance_cmd(meeting_id: str, party_id: str | None, guest: str | None, name: str | None, role: str,
                   lang: Lang) -> None:
    """Sign someone in at the meeting (the door's QR link does the same)."""
    from yishi.services.meetings import sign_attendance

    if (party_id is None) == (guest is None):
        fail(both("give either %(one)s or %(other)s", one="--party", other="--guest"))

    async def go(client: Any, pool: Any) -> Any:
        return await sign_attendance(client, meeting_id, party_id=party_id, name=guest or "",
                                     by=await meeting_actor(pool, meeting_id, role, name))

    echo_receipt(run_meeting(go, lang))


@meeting.command("minutes")
@click.argument("meeting_id")
@click.argument("item_id")
@click.option("--text", default=None, help="The minutes of the item.")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="…or a UTF-8 text file with them.")
@operator
def minutes_cmd(meeting_id: str, item_id: str, text: str | None, path: Path | None, name: str | None, role: str,
                lang: Lang) -> None:
    """Record an item's minutes; again later, a new version (after the session: confirmed again)."""
    from yishi.services.meetings import record_minutes

    if (text is None) == (path is None):
        fail(both("give either %(one)s or %(other)s", one="--text", other="--file"))
    body = text if text is not None else path.read_text(encoding="utf-8")  # type: ignore[union-attr]

    async def go(client: Any, pool: Any) -> Any:
        by = await meeting_actor(pool, meeting_id, role, name)
        return await record_minutes(client, meeting_id, item_id, body, by=by)

    echo_receipt(run_meeting(go, lang))


def _decision(kind: str, summary: str, option: str | None, owner: str | None, due: date | None,
              milestones: tuple[str, ...], question: str | None, vote_options: tuple[str, ...]) -> Any:
    from domain.meeting_events import MeetingDecision
    from domain.topic_events import Milestone

    steps = []
    for label, when in key_values(milestones, "--milestone").items():
        try:
            steps.append(Milestone(name=label, due=date.fromisoformat(when)))
        except ValueError:
            fail(both("milestone %(name)s: the date %(when)s must be written like 2026-06-30", name=label,
                       when=when))
    return MeetingDecision(kind=kind, summary=summary, option=option, owner=owner, due=due,  # type: ignore[arg-type]
                           milestones=tuple(steps), question=question, options=vote_options)


@meeting.command("decide")
@click.argument("meeting_id")
@click.argument("item_id")
@click.argument("kind", type=click.Choice(["consensus", "vote", "escalate", "defer"]))
@click.option("--summary", required=True, help="What was decided (or, deferred: why).")
@click.option("--option", default=None, help="consensus: the option agreed.")
@click.option("--owner", default=None, help="consensus: who does it.")
@click.option("--due", type=click.DateTime(["%Y-%m-%d"]), default=None, help="consensus: by when.")
@click.option("--milestone", "milestones", multiple=True, help="consensus: NAME=YYYY-MM-DD (repeatable).")
@click.option("--question", default=None, help="vote: the question on the ballot.")
@click.option("--vote-option", "vote_options", multiple=True, help="vote: an option put to it (repeatable).")
@click.option("--roll", "roll_path", default=None, help="vote: the owners roll, .csv or .xlsx.")
@click.option("--scope", "scope_text", default="", help="vote: building=3 | all …")
@click.option("--rule", "rule_id", default="headcount-majority", show_default=True, help="vote: the decision rule.")
@click.option("--voting", default=None, help="vote: how long it stays open (default YISHI_MEETING_VOTE_PERIOD).")
@click.option("--category", default=None, help="escalate: the department's category on the ladder.")
@click.option("--start-level", default="street", show_default=True, help="escalate: the ladder's first level.")
@operator
def decide_cmd(meeting_id: str, item_id: str, kind: str, summary: str, option: str | None, owner: str | None,
               due: Any, milestones: tuple[str, ...], question: str | None, vote_options: tuple[str, ...],
               roll_path: str | None, scope_text: str, rule_id: str, voting: str | None, category: str | None,
               start_level: str, name: str | None, role: str, lang: Lang) -> None:
    """Record the decision on an item: consensus, a vote (opens the ballot box), escalate (opens a ticket), defer."""
    from domain.roll import Scope, load_roll
    from workflows.meeting_parts import TicketSpec
    from yishi.services.meetings import VoteRequest, decide_item

    settings = cli_settings()
    kind = {"escalate": "escalated", "defer": "deferred"}.get(kind, kind)
    decision = _decision(kind, summary, option, owner, due.date() if due else None, milestones, question,
                         vote_options)
    roll = vote = None
    if kind == "vote" and roll_path is not None:
        try:
            roll = load_roll(Path(roll_path).read_bytes(), roll_path)
        except OSError as exc:
            fail(f"{roll_path}: {exc.strerror or exc}")
        vote = VoteRequest(question=question or summary, options=vote_options, scope=Scope.parse(scope_text),
                           rule_id=rule_id, voting=voting or settings.meeting_vote_period)
    ticket = TicketSpec(category=category, start_level=start_level) if kind == "escalated" and category else None

    async def go(client: Any, pool: Any) -> Any:
        by = await meeting_actor(pool, meeting_id, role, name)
        return await decide_item(client, pool, meeting_id, item_id, decision, by=by, roll=roll, vote=vote,
                                 ticket=ticket, settings=settings)

    echo_receipt(run_meeting(go, lang))


def _simple(step: str, help_text: str) -> None:
    @meeting.command(step, help=help_text)
    @click.argument("meeting_id")
    @click.option("--reason", default="", help="cancel: why.")
    @operator
    def command(meeting_id: str, reason: str, name: str | None, role: str, lang: Lang) -> None:
        from yishi.services import meetings as service

        async def go(client: Any, pool: Any) -> Any:
            by = await meeting_actor(pool, meeting_id, role, name)
            if step == "hold":
                return await service.hold(client, pool, meeting_id, by=by)
            if step == "publish":
                return await service.publish(client, meeting_id, by=by)
            return await service.cancel(client, meeting_id, reason=reason, by=by)

        echo_receipt(run_meeting(go, lang))


_simple("hold", "Close the session: the minutes go to the parties for confirmation (every item needs a decision).")
_simple("publish", "Publish the minutes now (when every party has confirmed; else the window's end does it).")
_simple("cancel", "Cancel a meeting that has not decided anything (--reason required).")


@meeting.command("confirm")
@click.argument("meeting_id")
@click.option("--party", "party_id", required=True)
@click.option("--version", "minutes_version", type=int, required=True, help="The version the party signed.")
@operator
def confirm_cmd(meeting_id: str, party_id: str, minutes_version: int, name: str | None, role: str,
                lang: Lang) -> None:
    """Record a party's confirmation signed on paper (parties confirm through their links)."""
    from yishi.services.meetings import confirm

    async def go(client: Any, pool: Any) -> Any:
        return await confirm(client, meeting_id, party_id=party_id, minutes_version=minutes_version,
                             by=await meeting_actor(pool, meeting_id, role, name))

    echo_receipt(run_meeting(go, lang))


@meeting.command("show")
@click.argument("meeting_id")
@click.option("--json", "as_json", is_flag=True)
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def show_cmd(meeting_id: str, as_json: bool, lang: Lang) -> None:
    """The meeting as its stream has it: agenda, positions, attendance, minutes, decisions, confirmations."""
    from yishi.services.meetings import meeting_state

    state = run_meeting(lambda _client, pool: meeting_state(pool, meeting_id), lang)
    click.echo(state.model_dump_json(indent=2) if as_json else render(state, lang))


@meeting.command("list")
@click.option("--community", default=None)
@click.option("--series", "series_id", default=None)
@click.option("--json", "as_json", is_flag=True)
def list_cmd(community: str | None, series_id: str | None, as_json: bool) -> None:
    """Meetings, latest first (from the read model)."""
    import asyncio

    from yishi.services.meetings import list_meetings

    rows = asyncio.run(with_pool(cli_settings(), lambda pool: list_meetings(pool, community, series_id)))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    for r in rows:
        click.echo(f"{r['meeting_id']}  {r['starts_at']:%Y-%m-%d %H:%M}  {r['status']:<10} {r['community']}  "
                   f"{r['title']}  ({r['items']} items, {r['parties']} parties)")


@meeting.command("rebuild")
def rebuild_cmd() -> None:
    """Rebuild the meetings read model from the streams."""
    import asyncio

    from yishi.services.meetings import rebuild_meetings

    click.echo(f"{asyncio.run(with_pool(cli_settings(), rebuild_meetings))} meetings")
