"""The street office's register of property companies on /console/companies (issue 20): registering a company by
its 统一社会信用代码 (checked by domain/credit_code.py; an early pilot code only with the reason recorded), recording
which company manages an estate (小区) and since when, and attributing an escalation ticket to a company (it counts
towards the black list). Each is a POST with CSRF and the same register command the CLI sends (yishi/cli/appraisal.py),
an event of ``companies-<street>`` naming the account; an error is shown inline with what was entered kept.

The wall is the account's own street (as yishi/web/console_companies.py): the street is never read from the form, and
a ticket is attributed only when it is an escalation ticket of a community one of the street's estates belongs to
(yishi/services/companies.py ``attribute_ticket``: the CLI's rule too).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from domain.company_decide import AssignEstate, AttributeTicket, RegisterCompany
from domain.company_list import RegisterError
from domain.credit_code import normalise
from domain.errors import N_
from yishi.services import companies
from yishi.web.console_companies import PAGE, ROLES, operator, period_page, street_of, this_quarter
from yishi.web.render import page_translator
from yishi.web.staff import staff_form
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()


def _text(fields: dict[str, str], name: str, limit: int) -> str:
    return " ".join(fields.get(name, "").split())[:limit]


def _company(fields: dict[str, str], staff: Any, now: dt.datetime) -> RegisterCompany:
    return RegisterCompany(at=now, by=operator(staff), credit_code=normalise(_text(fields, "credit_code", 40)),
                           name=_text(fields, "name", 100), exemption=_text(fields, "exemption", 200) or None)


def _estate(fields: dict[str, str], staff: Any, now: dt.datetime) -> AssignEstate:
    since = _text(fields, "since", 10)
    try:
        day = dt.date.fromisoformat(since)
    except ValueError:
        raise RegisterError(N_("write the date the company took over the estate as 2020-01-01; got '%(text)s'"),
                            text=since) from None
    estate, community = _text(fields, "estate", 60), _text(fields, "community", 64)
    if not estate or not community:
        raise RegisterError(N_("write the estate's name and the community it belongs to"))
    return AssignEstate(at=now, by=operator(staff), estate=estate, community=community,
                        credit_code=normalise(_text(fields, "credit_code", 40)), since=day)


def _ticket(fields: dict[str, str], staff: Any, now: dt.datetime) -> AttributeTicket:
    return AttributeTicket(at=now, by=operator(staff), ticket_id=_text(fields, "ticket_id", 200),
                           credit_code=normalise(_text(fields, "credit_code", 40)), note=_text(fields, "note", 200))


async def _act(request: Request, which: str) -> Response:
    posted = await staff_form(request, *ROLES)
    if isinstance(posted, Response):
        return posted
    staff, fields = posted
    street, now, tr = street_of(staff), clock(request), page_translator(request)
    store = request.app.state.store
    try:
        if which == "company":
            stored = await companies.act(store, street, _company(fields, staff, now))
        elif which == "estate":
            stored = await companies.act(store, street, _estate(fields, staff, now))
        else:  # the street's rule for tickets, as the CLI's (services/companies.py)
            stored = await companies.attribute_ticket(store, street, _ticket(fields, staff, now))
    except (RegisterError, ValidationError) as exc:
        error = tr.error(exc) if isinstance(exc, RegisterError) else tr.gettext(N_(
            "Some fields are missing or too long: the company's name (at most 100 characters) and its code."))
        return await period_page(request, staff, this_quarter(now), 422, register_form=which, register_error=error,
                           register_entered={k: str(v)[:200] for k, v in fields.items()})
    except UNAVAILABLE:
        return unavailable(request)
    log.info("companies.register_changed_on_page", street=street, form=which, events=len(stored),
             by=staff.account.name, role=staff.account.role)
    return RedirectResponse(f"{PAGE}?done={which}#register-{which}", status_code=303)


@router.post("/console/companies/company")
async def register_company(request: Request) -> Response:
    """Register a property company (or correct its name) by its credit code."""
    return await _act(request, "company")


@router.post("/console/companies/estate")
async def assign_estate(request: Request) -> Response:
    """Record which company manages an estate, and since when."""
    return await _act(request, "estate")


@router.post("/console/companies/ticket")
async def attribute_ticket(request: Request) -> Response:
    """Attribute an escalation ticket to a company (it counts towards the black list)."""
    return await _act(request, "ticket")
