"""The committee's volunteer console: the community's teams and activities, each with who signed up and how, their
check-in, check-out and counted minutes; scheduling an activity, the coordinator's check-in or check-out from the
list (with the time), and a correction of someone's minutes with its reason (credited or taken back in points).
Every act is an event of ``volunteers-<community>`` naming the account (and its points, of ``points-<community>``).

The wall is the account's own community (as yishi/web/console_points.py): the activity and the person are looked
up in its own roster, so another community's ids are unknown here and nothing is written elsewhere.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response

from domain.legal_calendar import BEIJING
from domain.operator import Operator
from domain.volunteer_decide import CoordinatorCheck, RecordHours, ScheduleActivity
from domain.volunteer_events import volunteers_stream
from yishi.i18n import N_
from yishi.services import points, volunteers
from yishi.services.capabilities import live_links
from yishi.web.console_points import ROLES, community_act, no_community
from yishi.web.render import render
from yishi.web.staff import Staff, require
from yishi.web.voter import UNAVAILABLE, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
PAGE = "/console/volunteers"
INVALID = N_("Some fields are missing or not valid: times as on the form, whole numbers of minutes and places, a "
             "reason of at most 200 characters.")


async def page_model(request: Request, community: str) -> dict[str, Any]:
    state = request.app.state
    roster = await volunteers.roster(state.store, community)
    ids = {pid for a in roster.activities.values() for pid in (*a.signed, *a.attendance)}
    ids |= {pid for team in roster.teams.values() for pid in team.members}
    names = {pid: row.get("name", "") for pid, row in (await points.people_names(state.pool, sorted(ids))).items()}
    activities = []
    for activity_id, a in sorted(roster.activities.items(), key=lambda item: item[1].starts_at, reverse=True):
        people = sorted(set(a.signed) | set(a.attendance), key=lambda pid: names.get(pid, ""))
        rows = [{"person_id": pid, "name": names.get(pid, ""), "via": a.signed.get(pid),
                 "check_in": (a.attendance.get(pid) or None) and a.attendance[pid].check_in,
                 "check_out": (a.attendance.get(pid) or None) and a.attendance[pid].check_out,
                 "minutes": a.attendance[pid].minutes if pid in a.attendance else None} for pid in people]
        activities.append({"activity_id": activity_id, "title": a.title, "place": a.place, "starts_at": a.starts_at,
                           "ends_at": a.ends_at, "capacity": a.capacity, "cancelled": a.cancelled,
                           "team": roster.teams[a.team_id].name, "rows": rows})
    members = sorted({pid for team in roster.teams.values() for pid in team.members}, key=lambda p: names.get(p, ""))
    links = volunteers_stream(community)
    return {"teams": roster.teams, "activities": activities, "members": [(p, names.get(p, "")) for p in members],
            "team_links": await live_links(state.pool, "team", links),
            "checkin_links": await live_links(state.pool, "checkin", links)}


async def console_page(request: Request, staff: Staff, status: int = 200, error: str | None = None,
                done: str | None = None) -> Response:
    community = staff.account.community
    if community is None:
        return no_community(request)
    try:
        model = await page_model(request, community)
    except UNAVAILABLE:
        return unavailable(request)
    return render(request, "console_volunteers.html", status, no_store=True, switch_path=PAGE, staff=staff,
                  logout=staff.form(), form=staff.form(), community=community, error=error, done=done, **model)


@router.get("/console/volunteers")
async def volunteers_page(request: Request) -> Response:
    staff = await require(request, *ROLES)
    if isinstance(staff, Response):
        return staff
    return await console_page(request, staff, done=request.query_params.get("done"))


def local_time(text: str | None) -> datetime | None:
    """A ``datetime-local`` field's value, read as Beijing time; None when empty."""
    text = (text or "").strip()[:16]
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING) if text else None


async def _act(request: Request, make: Any) -> Response:
    """A roster command from the console: ``make(form, by, now)`` gives the command
    (yishi/web/console_points.py :func:`community_act`)."""
    return await community_act(request, console_page, volunteers.act, lambda *given: (make(*given), None), INVALID,
                               "console.volunteers", PAGE)


def _whole(text: str | None) -> int:
    text = (text or "").strip()
    if not text.isdigit() or len(text) > 5:
        raise ValueError("not a whole number")
    return int(text)


@router.post("/console/volunteers/activity")
async def schedule(request: Request) -> Response:
    def make(form: dict[str, str], by: Operator, now: datetime) -> Any:
        if not form.get("title", "").strip() or not form.get("place", "").strip():
            raise ValueError("a title and a place")
        return ScheduleActivity(at=now, by=by, activity_id=points.new_id("act"), team_id=form.get("team", "")[:64],
                                title=form.get("title", "").strip()[:100], place=form.get("place", "").strip()[:100],
                                starts_at=local_time(form.get("starts_at")), ends_at=local_time(form.get("ends_at")),
                                capacity=_whole(form.get("capacity")))
    return await _act(request, make)


@router.post("/console/volunteers/check")
async def check(request: Request) -> Response:
    def make(form: dict[str, str], by: Operator, now: datetime) -> Any:
        return CoordinatorCheck(at=now, by=by, activity_id=form.get("activity", "")[:64],
                                person_id=form.get("person", "")[:64], direction=form.get("direction", ""),
                                time=local_time(form.get("time")))
    return await _act(request, make)


@router.post("/console/volunteers/hours")
async def hours(request: Request) -> Response:
    def make(form: dict[str, str], by: Operator, now: datetime) -> Any:
        return RecordHours(at=now, by=by, activity_id=form.get("activity", "")[:64],
                           person_id=form.get("person", "")[:64], minutes=_whole(form.get("minutes")),
                           reason=form.get("reason", "").strip()[:200])
    return await _act(request, make)
