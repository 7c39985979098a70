"""The street office's red/black list page (红黑榜): the companies of its register across its estates, the
appraisals of a period from the ``appraisals`` read model (yishi/services/appraisal_rows.py), the list it published
for the period with every entry's exact figures and reasons, computing and publishing it again (a POST with CSRF),
the published list as CSV, and the appraisal items and weights (the street's decision; a POST with CSRF).

The wall is the account's own street: a street-office account reads and publishes the register of the street it
acts for (:func:`yishi.services.escalations.account_org`: its organisation, ``street`` when none is set) and no
other; the period is the only thing a form names.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from domain.company_decide import SetItems
from domain.company_events import ListPublished
from domain.company_list import BEIJING, RegisterError, period_dates
from domain.operator import Operator
from yishi.i18n.points import exact, list_reasons, score_digits
from yishi.services import companies
from yishi.services.appraisal_rows import street_rows
from yishi.services.csvsafe import write_csv
from yishi.services.escalations import account_org
from yishi.web.downloads import csv_file
from yishi.web.render import page_translator, render
from yishi.web.staff import Staff, require, staff_form
from yishi.web.voter import UNAVAILABLE, clock, unavailable

log = structlog.get_logger(__name__)
router = APIRouter()
ROLES = ("street_office",)
PAGE = "/console/companies"


def operator(staff: Staff) -> Operator:
    return Operator(name=staff.account.name, role=staff.account.role, via="console")  # type: ignore[arg-type]


def street_of(staff: Staff) -> str:
    return account_org(staff.account) or "street"


def this_quarter(now: dt.datetime) -> str:
    day = now.astimezone(BEIJING).date()
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def items_text(register: Any) -> str:
    return "\n".join(f"{i.item_id}:{i.name_zh}:{i.weight}" for i in register.items)


def latest(lists: list[ListPublished], period: str) -> ListPublished | None:
    return next((p for p in reversed(lists) if p.period == period), None)


async def page_model(request: Request, street: str, period: str) -> dict[str, Any]:
    state = request.app.state
    register = await companies.register(state.store, street)
    published = latest(register.lists, period)
    estates = sorted(register.estates.items())
    rows = [{**r, "score": Fraction(r["score"]) if r["score"] else None}
            for r in await street_rows(state.pool, street, period)]
    return {"street": street, "period": period, "register": register, "estates": estates,
            "appraisals": rows, "published": published,
            "periods": sorted({p.period for p in register.lists}, reverse=True)}


async def period_page(request: Request, staff: Staff, period: str, status: int = 200, error: str | None = None,
                **items_form: Any) -> Response:
    valid = error is None
    try:
        model = await page_model(request, street_of(staff), period if valid else this_quarter(clock(request)))
    except UNAVAILABLE:
        return unavailable(request)
    tr = page_translator(request)
    published = model["published"]
    reasons = {e.credit_code: list_reasons(tr, e, published.thresholds) for e in published.entries} if published else {}
    return render(request, "console_companies.html", status, no_store=True, switch_path=PAGE, staff=staff,
                  logout=staff.form(), form=staff.form(), error=error, entered=period, reasons=reasons,
                  exact=exact, score_digits=score_digits, items_error=items_form.get("items_error"),
                  items_text=items_form.get("items_text", items_text(model["register"])),
                  weight_entered=items_form.get("weight_entered", model["register"].owner_weight),
                  register_form=items_form.get("register_form"), register_error=items_form.get("register_error"),
                  register_entered=items_form.get("register_entered") or {},
                  done=request.query_params.get("done") if request.method == "GET" else None, **model)


@router.get("/console/companies")
async def companies_page(request: Request) -> Response:
    staff = await require(request, *ROLES)
    if isinstance(staff, Response):
        return staff
    period = request.query_params.get("period", "").strip()[:10] or this_quarter(clock(request))
    try:
        period_dates(period)
    except RegisterError as exc:
        return await period_page(request, staff, period, 422, page_translator(request).error(exc))
    return await period_page(request, staff, period)


@router.post("/console/companies/publish")
async def publish(request: Request) -> Response:
    posted = await staff_form(request, *ROLES)
    if isinstance(posted, Response):
        return posted
    staff, fields = posted
    period = fields.get("period", "").strip()[:10]
    street = street_of(staff)
    by = operator(staff)
    try:
        period_dates(period)
        published = await companies.publish_list(request.app.state.store, street, period, by=by,
                                                 now=clock(request),
                                                 thresholds=companies.list_thresholds(request.app.state.settings))
    except RegisterError as exc:
        return await period_page(request, staff, period, 422, page_translator(request).error(exc))
    except UNAVAILABLE:
        return unavailable(request)
    log.info("companies.list_published_on_page", street=street, period=period, entries=len(published.entries),
             by=by.name)
    return RedirectResponse(f"{PAGE}?period={period}#list", status_code=303)


@router.post("/console/companies/items")
async def set_items(request: Request) -> Response:
    """The street's appraisal items and weights, and how owners count (each once, or by their area)."""
    posted = await staff_form(request, *ROLES)
    if isinstance(posted, Response):
        return posted
    staff, fields = posted
    text, weight = fields.get("items", "")[:4000], fields.get("owner_weight", "headcount")
    street = street_of(staff)
    tr = page_translator(request)
    try:
        command = SetItems(at=clock(request), by=operator(staff), items=companies.read_items(text),
                           owner_weight="area" if weight == "area" else "headcount")
        await companies.act(request.app.state.store, street, command)
    except RegisterError as exc:
        period = this_quarter(clock(request))
        return await period_page(request, staff, period, 422, items_error=tr.error(exc), items_text=text,
                           weight_entered=weight)
    except UNAVAILABLE:
        return unavailable(request)
    log.info("companies.items_set_on_page", street=street, items=len(command.items), by=staff.account.name)
    return RedirectResponse(f"{PAGE}#items", status_code=303)


@router.get("/console/companies/list.csv")
async def list_csv(request: Request) -> Response:
    staff = await require(request, *ROLES)
    if isinstance(staff, Response):
        return staff
    period = request.query_params.get("period", "").strip()[:10] or this_quarter(clock(request))
    street = street_of(staff)
    try:
        period_dates(period)
        register = await companies.register(request.app.state.store, street)
    except RegisterError as exc:
        return await period_page(request, staff, period, 422, page_translator(request).error(exc))
    except UNAVAILABLE:
        return unavailable(request)
    published = latest(register.lists, period)
    if published is None:
        return await period_page(request, staff, period, 404, page_translator(request).gettext(
            "No list was published for %(period)s yet; compute and publish it first.", period=period))
    tr = page_translator(request)
    header = [tr.gettext("List"), tr.gettext("Credit code"), tr.gettext("Company"), tr.gettext("Score out of 100"),
              tr.gettext("Exact score"), tr.gettext("Appraisals counted"),
              tr.gettext("Appraisals left out (too few owners rated)"), tr.gettext("Attributed tickets"),
              tr.gettext("Why")]
    rows = [(tr.label(e.list, "company_list"), e.credit_code, e.name, score_digits(e.score),
             "" if e.score is None else f"{e.score.numerator}/{e.score.denominator}", " ".join(e.appraisals),
             " ".join(e.excluded), len(e.tickets), "; ".join(list_reasons(tr, e, published.thresholds)))
            for e in published.entries]
    name = f"yishi-red-black-list-{period}.csv"
    return csv_file(write_csv(header, rows), name)
