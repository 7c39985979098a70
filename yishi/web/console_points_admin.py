"""The committee's points console, its settings and books: the rules (set in the form, checked by the same decider as
the CLI: no rule may refer to a ballot's content, and points for taking part in a vote stay off until turned on and
count taking part only), the monthly statement per community (a page and its CSV), and the partner shop's clerk link
(``/sh/<token>``, yishi/web/shop.py). The wall is the account's own community, as yishi/web/console_points.py.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response

from domain.errors import DomainError
from domain.legal_calendar import BEIJING
from domain.operator import Operator
from domain.points_commands import SetRule, SetVoteParticipation
from domain.points_events import Rule
from domain.points_statement import month_bounds
from yishi.i18n import N_
from yishi.services import points
from yishi.services.points_statement import monthly_statement, statement_file
from yishi.web.console_points import PAGE, ROLES, no_community, operator, points_act
from yishi.web.downloads import CSV, XLSX, attachment
from yishi.web.render import message_page, page_lang, page_translator, render
from yishi.web.staff import require, staff_form
from yishi.web.team import printed
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()


def _conditions(text: str) -> dict[str, str]:
    """``key = value`` per line (or ``;``) of the form's conditions field."""
    found = {}
    for part in re.split(r"[\n;；]", text):
        if part.strip():
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise ValueError("a condition is key = value")
            found[key.strip()[:40]] = value.strip()[:80]
    return found


def _whole(text: str | None, default: int = 0) -> int:
    text = (text or "").strip()
    if not text:
        return default
    if not text.isdigit() or len(text) > 6:
        raise ValueError("not a whole number")
    return int(text)


@router.post("/console/points/rule")
async def set_rule(request: Request) -> Response:
    def make(form: dict[str, str], by: Operator, now: datetime) -> tuple[Any, Any]:
        rule = Rule(rule_id=form.get("rule_id", "").strip()[:40], name_zh=form.get("name_zh", "").strip()[:60],
                    name_en=form.get("name_en", "").strip()[:120], basis=form.get("basis", ""),  # type: ignore
                    per=form.get("per", "occasion"), points=_whole(form.get("points")),  # type: ignore[arg-type]
                    pioneer=_whole(form.get("pioneer")), conditions=_conditions(form.get("conditions", "")),
                    description=form.get("description", "").strip()[:500])
        return SetRule(at=now, by=by, rule=rule), lambda tr, text: tr.gettext(
            N_("The rule '%(rule)s' was refused: %(error)s"), rule=rule.rule_id, error=text)
    return await points_act(request, make)


@router.post("/console/points/vote-participation")
async def vote_participation(request: Request) -> Response:
    def make(form: dict[str, str], by: Operator, now: datetime) -> tuple[Any, Any]:
        command = SetVoteParticipation(at=now, by=by, enabled=form.get("enabled") == "on")
        return command, lambda tr, text: text
    return await points_act(request, make)


def this_month(now: datetime) -> str:
    return now.astimezone(BEIJING).strftime("%Y-%m")


@router.get("/console/points/statement")
async def statement_page(request: Request) -> Response:
    staff = await require(request, *ROLES)
    if isinstance(staff, Response):
        return staff
    community = staff.account.community
    if community is None:
        return no_community(request)
    month = request.query_params.get("month", "").strip()[:7] or this_month(clock(request))
    try:
        month_bounds(month)
        result = await monthly_statement(request.app.state.store, community, month)
        names = await points.people_names(request.app.state.pool, [p.person_id for p in result.people])
    except DomainError as exc:
        return message_page(request, 422, N_("This could not be done"), text=page_translator(request).error(exc),
                            back_url="/console/points/statement")
    except UNAVAILABLE:
        return unavailable(request)
    return render(request, "console_points_statement.html", no_store=True, staff=staff, logout=staff.form(),
                  community=community, month=month, result=result,
                  names={pid: row.get("name", "") for pid, row in names.items()})


@router.get("/console/points/statement.csv")
async def statement_csv(request: Request) -> Response:
    return await _statement_download(request, "csv")


@router.get("/console/points/statement.xlsx")
async def statement_xlsx(request: Request) -> Response:
    """The same statement as ``yishi points statement`` writes it (services/points_statement.py), for Excel."""
    return await _statement_download(request, "xlsx")


async def _statement_download(request: Request, fmt: str) -> Response:
    staff = await require(request, *ROLES)
    if isinstance(staff, Response):
        return staff
    community = staff.account.community
    if community is None:
        return no_community(request)
    month = request.query_params.get("month", "").strip()[:7]
    state = request.app.state
    try:
        month_bounds(month)
        data = await statement_file(state.pool, state.store, community, month, fmt, page_lang(request))
    except DomainError as exc:
        return message_page(request, 422, N_("This could not be done"), text=page_translator(request).error(exc),
                            back_url="/console/points/statement")
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.points_statement", community=community, month=month, account_id=staff.account.id, format=fmt)
    return attachment(data, f"points-{month}.{fmt}", CSV if fmt == "csv" else XLSX)


@router.post("/console/points/shop-link")
async def shop_link(request: Request) -> Response:
    """The partner shop's clerk link, to print and hand to the shop (issued on first print, the same link again)."""
    posted = await staff_form(request, *ROLES)
    if isinstance(posted, Response):
        return posted
    staff, form = posted
    community = staff.account.community
    if community is None:
        return no_community(request)
    shop = " ".join(form.get("shop", "").split())[:60]
    if not shop:
        return message_page(request, 422, N_("Which shop?"), N_("Write the shop's name on the form."),
                            back_url=PAGE)
    state = request.app.state
    try:
        link = await points.shop_link(state.pool, state.store, community, shop, by=operator(staff),
                                      secret_key=state.secret_key, now=clock(request))
    except UNAVAILABLE:
        return unavailable(request)
    log.info("console.shop_link", community=community, account_id=staff.account.id)
    return render(request, "console_shop_link.html", no_store=True, switch_path=PAGE, staff=staff,
                  logout=staff.form(), community=community, shop=shop, **printed(request, link.url))
