"""The committee's points console: the community's published rules, people and balances, awarding points under a
rule and correcting an account (a deduction with its reason), every act an event of ``points-<community>`` naming
the account that did it (what auditors replay: docs/points.md).

The wall is the account's own community: a committee or grid-worker account acts on its community's ledger only
(the person and the rule are looked up there, so a person of another community is "no person" here, and nothing is
written elsewhere). An account of no community has no ledger to act on.
"""

from __future__ import annotations

from typing import Any, get_args

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from domain.errors import DomainError
from domain.operator import Operator
from domain.points_decide import Award, Deduct
from domain.points_entries import person_entries
from domain.points_events import (
    POINTS_EVENT_TYPES,
    Basis,
    LeaderboardNameHidden,
    Per,
    points_event_from_dict,
    points_stream,
)
from yishi.i18n import N_
from yishi.services import points
from yishi.services.capabilities import live_links
from yishi.web.render import message_page, page_translator, render
from yishi.web.staff import Staff, require, staff_form
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
ROLES = ("committee", "grid_worker")
PAGE = "/console/points"
INVALID = N_("Some fields are missing or not valid: a whole number of points, a reason of at most 200 characters.")


def operator(staff: Staff) -> Operator:
    return Operator(name=staff.account.name, role=staff.account.role, via="console")  # type: ignore[arg-type]


def no_community(request: Request) -> Response:
    return message_page(request, 403, N_("Not allowed"), N_(
        "Your account belongs to no community, so it has no points ledger to act on. Ask the operator to set your "
        "account's community."))


async def page_model(request: Request, community: str) -> dict[str, Any]:
    state = request.app.state
    ledger = await points.ledger(state.store, community)
    names = await points.people_names(state.pool, list(ledger.people))
    people = [{"person_id": pid, "name": (names.get(pid) or {}).get("name", ""), "kind": a.kind,
               "points": a.points, "pioneer": a.pioneer if a.party_member else None, "earned": a.earned}
              for pid, a in sorted(ledger.people.items(), key=lambda item: (names.get(item[0]) or {}).get("name", ""))]
    stored = await state.store.read(points_stream(community))
    events = [points_event_from_dict(e.type, e.payload) for e in stored if e.type in POINTS_EVENT_TYPES]
    recent = []
    for person in people:
        recent += [{"name": person["name"], "entry": e} for e in person_entries(events, person["person_id"])]
    recent.sort(key=lambda row: row["entry"].at, reverse=True)
    rules = [r for r in ledger.rules.values() if not r.retired]
    board = [{"person_id": pid, "name": (names.get(pid) or {}).get("name", ""),
              "chosen": (names.get(pid) or {}).get("display_name") or "",
              "shown": points.shown_name(names.get(pid) or {}, a.hidden_names)}
             for pid, a in ledger.people.items() if a.opted_in]
    hidden = [{"name": (names.get(e.person_id) or {}).get("name", ""), "event": e} for e in events
              if isinstance(e, LeaderboardNameHidden)]
    return {"rules": rules, "board": board, "hidden": hidden[::-1], "people": people, "recent": recent[:50],
            "vote_participation": ledger.vote_participation,
            "bases": get_args(Basis), "pers": get_args(Per),
            "shop_links": await live_links(state.pool, "shop", points_stream(community))}


async def console_page(request: Request, staff: Staff, status: int = 200, error: str | None = None,
                done: str | None = None) -> Response:
    community = staff.account.community
    if community is None:
        return no_community(request)
    try:
        model = await page_model(request, community)
    except UNAVAILABLE:
        return unavailable(request)
    return render(request, "console_points.html", status, no_store=True, switch_path=PAGE, staff=staff,
                  logout=staff.form(), form=staff.form(), community=community, error=error, done=done, **model)


@router.get("/console/points")
async def points_page(request: Request) -> Response:
    staff = await require(request, *ROLES)
    if isinstance(staff, Response):
        return staff
    return await console_page(request, staff, done=request.query_params.get("done"))


def _number(text: str | None, default: int) -> int | None:
    text = (text or "").strip()
    if not text:
        return default
    return int(text) if text.isdigit() and len(text) <= 6 else None


async def points_act(request: Request, make: Any) -> Response:
    """A points command from the console: ``make(form, by, now)`` gives ``(command, what)``, ``what(tr, reason)``
    wording a refusal (:func:`community_act`)."""
    return await community_act(request, console_page, points.act, make, INVALID, "console.points", PAGE)


async def community_act(request: Request, page: Any, act: Any, make: Any, invalid: str, event: str,
                        done: str) -> Response:
    """A committee's command on its own community's stream (the points ledger, the volunteer roster). The form is
    checked (role, CSRF), the community is the account's own (none: :func:`no_community`); ``make(form, by, now)``
    gives ``(command, what)`` and ``act(store, community, command, key=...)`` records it once per session and form
    nonce (a double post records once). A form that does not parse shows ``page`` again with ``invalid`` (422), a
    refusal with its reason (409, worded by ``what(tr, reason)`` when ``what`` is given); success goes to ``done``."""
    posted = await staff_form(request, *ROLES)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    community = staff.account.community
    if community is None:
        return no_community(request)
    tr = page_translator(request)
    what: Any = None
    try:
        command, what = make(form, operator(staff), clock(request))
        await act(request.app.state.store, community, command,
                  key=f"console:{staff.session_id[:16]}:{form.get('nonce', '')}")
    except (ValidationError, ValueError):
        return await page(request, staff, 422, error=tr.gettext(invalid))
    except DomainError as exc:
        return await page(request, staff, 409, error=what(tr, tr.error(exc)) if what else tr.error(exc))
    except UNAVAILABLE:
        return unavailable(request)
    log.info(event, community=community, command=type(command).__name__, account_id=staff.account.id)
    return RedirectResponse(done + "?done=1", status_code=303)


@router.post("/console/points/award")
async def award(request: Request) -> Response:
    def make(form: dict[str, str], by: Operator, now: Any) -> tuple[Any, Any]:
        quantity = _number(form.get("quantity"), 1)
        if quantity is None:
            raise ValueError("quantity")
        rule = form.get("rule", "")[:40]
        command = Award(at=now, by=by, award_id=points.new_id("aw"), person_id=form.get("person", "")[:64],
                        rule_id=rule, quantity=quantity, reason=form.get("reason", "")[:200])
        return command, lambda tr, text: tr.gettext(N_("Refused under the rule '%(rule)s': %(error)s"), rule=rule,
                                                    error=text)
    return await points_act(request, make)


@router.post("/console/points/deduct")
async def deduct(request: Request) -> Response:
    def make(form: dict[str, str], by: Operator, now: Any) -> tuple[Any, Any]:
        amount = _number(form.get("points"), 0)
        if not amount:
            raise ValueError("points")
        command = Deduct(at=now, by=by, deduction_id=points.new_id("dd"), person_id=form.get("person", "")[:64],
                         points=amount, reason=form.get("reason", "").strip()[:200])
        return command, lambda tr, text: tr.gettext(N_("The correction was refused: %(error)s"), error=text)
    return await points_act(request, make)


@router.post("/console/points/leaderboard/hide")
async def hide_name(request: Request) -> Response:
    """Hide the name a person chose for the public leaderboard, with the reason (an event of the community's ledger
    naming the account, as a topic's comment is hidden); the board shows their masked name instead."""
    posted = await staff_form(request, *ROLES)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    community = staff.account.community
    if community is None:
        return no_community(request)
    tr = page_translator(request)
    person = form.get("person", "")[:64]
    try:
        await points.hide_name(request.app.state.pool, request.app.state.store, community, person,
                               reason=form.get("reason", "").strip()[:200], by=operator(staff), now=clock(request))
    except DomainError as exc:
        return await console_page(request, staff, 409, error=tr.gettext(N_("The name was not hidden: %(error)s"),
                                                                 error=tr.error(exc)))
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.points_name_hidden", community=community, person_id=person, account_id=staff.account.id)
    return RedirectResponse(PAGE + "?done=1#board-h", status_code=303)
