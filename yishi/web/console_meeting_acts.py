"""The clerk's acts on a meeting from the console: one POST route, ``action`` naming the step, each the service call
the CLI makes (yishi/services/meetings.py) with the signed-in account as the actor. The meeting's wall first
(console_meetings.visible_meeting: 404 across communities, after the CSRF check), then the workflow's own checks
(domain/meetings.py), whose refusal is shown on the meeting's page saying what to do."""

from __future__ import annotations

from datetime import date
from typing import Any

import structlog
from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from activities.stages import load_roll_entries
from domain.errors import N_, DomainError
from domain.escalation import DEFAULT_DEPARTMENTS
from domain.meeting_events import MeetingDecision, Option, PartySpec
from domain.meeting_state import Meeting
from domain.roll import Scope
from domain.topic_events import Milestone
from workflows.meeting_parts import TicketSpec
from yishi.services import meetings as service
from yishi.web.console_meetings import (
    CLERKS,
    PARTY_KINDS,
    actor_of,
    agenda_topics,
    meeting_page,
    options_of,
    router,
    visible_meeting,
)
from yishi.web.render import page_translator
from yishi.web.staff import Staff, staff_form
from yishi.web.temporal import TEMPORAL_UNAVAILABLE, temporal_client
from yishi.web.voter import UNAVAILABLE, unavailable

log = structlog.get_logger(__name__)
__all__ = ["router"]
DECISION_KINDS = ("consensus", "vote", "escalated", "deferred")
CATEGORIES = tuple(DEFAULT_DEPARTMENTS)


class FormError(DomainError):
    """A field of the clerk's form that cannot be read (a date, a missing choice)."""


async def page_context(request: Request, staff: Staff, m: Meeting) -> dict[str, Any]:
    """What the meeting's page shows besides the meeting: the rolls a vote can use (the community's deliberations)."""
    rolls = [] if m.deliberation_id else await service.community_rolls(request.app.state.pool, m.community)
    # a topic on this agenda is offered again while its item is undecided: listed as taken (or decided elsewhere),
    # it has not recorded this meeting (its scheduling was refused or interrupted: services.meetings.add_topic)
    on_agenda = {i.topic_id for i in m.items.values() if i.decision is not None}
    topics = [t for t in await agenda_topics(request, staff, m.community) if t["topic_id"] not in on_agenda]
    return {"rolls": rolls, "topics": topics, "decision_kinds": DECISION_KINDS,
            "party_kinds": PARTY_KINDS, "categories": CATEGORIES}


def _date(text: str, what: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise FormError(N_("%(what)s: write the date like 2026-06-30"), what=what) from None


def _options(form: dict[str, str]) -> tuple[Option, ...]:
    """``options``: one per line, ``A=东门车棚`` or just the text (lettered A, B, C …)."""
    return options_of(form.get("options", ""))


def _milestones(text: str) -> tuple[Milestone, ...]:
    """``milestones``: one per line, ``施工=2026-06-15``."""
    out = []
    for line in (x.strip() for x in text.splitlines() if x.strip()):
        name, _sep, when = line.rpartition("=")
        due = _date(when, name or line)
        if not name.strip() or due is None:
            raise FormError(N_("%(what)s: write the date like 2026-06-30"), what=line[:60])
        out.append(Milestone(name=name.strip()[:200], due=due))
    return tuple(out)


def _decision(form: dict[str, str]) -> MeetingDecision:
    kind = form.get("kind", "")
    if kind not in DECISION_KINDS:
        raise FormError(N_("choose what was decided"))
    vote_options = tuple(o.strip() for o in form.get("vote_options", "").replace("，", ",").split(",") if o.strip())
    return MeetingDecision(kind=kind, summary=form.get("summary", "")[:4000],  # type: ignore[arg-type]
                           option=form.get("option") or None, owner=form.get("owner", "").strip()[:200] or None,
                           due=_date(form.get("due", ""), "due"), milestones=_milestones(form.get("milestones", "")),
                           question=form.get("question", "").strip()[:400] or None, options=vote_options)


async def _vote(request: Request, form: dict[str, str], m: Meeting) -> tuple[Any, Any]:
    """The roll (of one of the community's deliberations) and the vote's scope, unless the consultation's box serves."""
    if m.deliberation_id:
        return None, None
    rows = await service.community_rolls(request.app.state.pool, m.community)
    digest = next((r["roll_digest"] for r in rows if r["id"] == form.get("roll_of", "")), None)
    if digest is None:
        raise FormError(N_("choose whose owners roll the vote uses"))
    roll, _contacts = await load_roll_entries(request.app.state.pool, digest)
    scope = Scope.parse(form.get("scope", "")[:200])
    vote = service.VoteRequest(question=form.get("question", "").strip() or form.get("summary", ""),
                               scope=scope, voting=request.app.state.settings.meeting_vote_period)
    return roll, vote


async def _act(request: Request, staff: Staff, m: Meeting, form: dict[str, str]) -> None:  # noqa: C901 - one per step
    client = await temporal_client(request)
    pool, mid, by = request.app.state.pool, m.meeting_id, actor_of(staff, m.community)
    action, item_id = form.get("action", ""), form.get("item_id", "")
    if action == "item":
        await service.add_item(client, mid, title=form.get("title", "")[:400], options=_options(form), by=by)
    elif action == "topic":
        await service.add_topic(client, pool, mid, form.get("topic_id", "").strip()[:40], by=by, options=_options(form))
    elif action == "invite":
        kind = form.get("party_kind", "")
        if kind not in PARTY_KINDS:
            raise FormError(N_("choose what kind of party is invited"))
        party = PartySpec(party_id=f"p{len(m.parties) + 1}", kind=kind, name=form.get("name", "")[:200])  # type: ignore[arg-type]
        await service.invite(client, mid, party, by=by)
    elif action == "position":
        await service.state_position(client, mid, party_id=form.get("party_id", ""), item_id=item_id,
                                     option=form.get("option") or None, text=form.get("text", "")[:4000], by=by)
    elif action == "attendance":
        party_id = form.get("party_id") or None
        await service.sign_attendance(client, mid, party_id=party_id, name=form.get("name", "")[:200], by=by)
    elif action == "minutes":
        await service.record_minutes(client, mid, item_id, form.get("text", "")[:20000], by=by)
    elif action == "decide":
        decision = _decision(form)
        roll = vote = ticket = None
        if decision.kind == "vote":
            roll, vote = await _vote(request, form, m)
        if decision.kind == "escalated" and form.get("category") in CATEGORIES:
            ticket = TicketSpec(category=form["category"], detail=decision.summary[:2000])
        await service.decide_item(client, pool, mid, item_id, decision, by=by, roll=roll, vote=vote, ticket=ticket,
                                  settings=request.app.state.settings)
    elif action == "hold":
        await service.hold(client, pool, mid, by=by)
    elif action == "confirm":
        await service.confirm(client, mid, party_id=form.get("party_id", ""),
                              minutes_version=int(form.get("version") or 0), by=by)
    elif action == "publish":
        await service.publish(client, mid, by=by)
    elif action == "cancel":
        await service.cancel(client, mid, reason=form.get("reason", "")[:500], by=by)
    else:
        raise FormError(N_("unknown action %(action)s"), action=action[:40])


@router.post("/console/meetings/{meeting_id}/act")
async def act(request: Request, meeting_id: str) -> Response:
    posted = await staff_form(request, *CLERKS)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    meeting = await visible_meeting(request, staff, meeting_id)
    if isinstance(meeting, Response):
        return meeting
    try:
        await _act(request, staff, meeting, form)
    except (DomainError, ValueError) as exc:
        tr = page_translator(request)
        text = tr.error(exc) if isinstance(exc, DomainError) else tr.gettext("The form is not valid")
        log.info("console.meeting_refused", meeting_id=meeting_id, action=form.get("action"), error=str(exc)[:200])
        fresh = await visible_meeting(request, staff, meeting_id)
        return fresh if isinstance(fresh, Response) else await meeting_page(request, staff, fresh, 422, text)
    except TEMPORAL_UNAVAILABLE:
        return unavailable(request)
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.meeting_act", meeting_id=meeting_id, action=form.get("action"), account_id=staff.account.id)
    return RedirectResponse(f"/console/meetings/{meeting_id}#{form.get('action', '')}", status_code=303)
