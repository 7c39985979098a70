"""考核评价 in the console (issue 19): per grid, grid worker, department or community, over a month or a
half-year, the figures of yishi/services/appraisal.py (the same definitions as the rates page: exact fractions),
as a table with bars and as CSV.

Who sees what: the street office and auditors any dimension; a committee its own community's tickets; a
department its own figures; a grid worker their own figures (``dimension=worker``, ``key`` = the account name).
A GET changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response

from domain.errors import N_
from domain.grid_appraisal import PeriodLabelError, period_of
from domain.legal_calendar import BEIJING
from yishi.services.appraisal import appraisal, cell_json, to_csv
from yishi.services.console import UNASSIGNED, home_community
from yishi.services.escalations import account_orgs
from yishi.web.downloads import csv_file
from yishi.web.render import message_page, page_translator, render
from yishi.web.voter import UNAVAILABLE, clock, unavailable

router = APIRouter()
APPRAISAL_ROLES = ("street_office", "auditor", "committee", "department", "grid_worker")
SHOWN = ("grid", "worker", "department", "community", "channel")
"""``channel``: how tickets came in, 书记直通车 (the direct line to the party secretary) by its name."""


def _default_period(now: datetime) -> str:
    day = now.astimezone(BEIJING).date()
    return f"{day.year}-H{1 if day.month <= 6 else 2}"


@router.get("/console/escalations/appraisal")
async def show_appraisal(request: Request) -> Response:
    from yishi.web.staff import require

    staff = await require(request, *APPRAISAL_ROLES)
    if isinstance(staff, Response):
        return staff
    now = clock(request)
    account = staff.account
    label = request.query_params.get("period", "").strip()[:10] or _default_period(now)
    dimension = request.query_params.get("dimension", "department")
    dimension = dimension if dimension in SHOWN else "department"
    key: str | None = None
    try:
        period = period_of(label)
        if account.role == "grid_worker":  # a worker sees their own figures
            dimension, key = "worker", account.name
        elif account.role == "department":
            orgs = await account_orgs(request.app.state.pool, account)
            dimension, key = "department", (orgs[0] if orgs else account.name)
        home = home_community(account)
        report = await appraisal(request.app.state.pool, dimension, period[0], period[1], now, key=key,
                                 communities=[home, UNASSIGNED] if home else None)
    except PeriodLabelError:
        return message_page(request, 422, N_("The form is not valid"),
                            N_("A period is a month (2026-03) or a half-year (2026-H1)."))
    except UNAVAILABLE:
        return unavailable(request)
    if request.query_params.get("format") == "csv":
        name = f"yishi-appraisal-{dimension}-{label}.csv"
        return csv_file(to_csv(report), name)
    tr = page_translator(request)
    rows = [(tr.label(k, "channel") if dimension == "channel" else k, cell_json(c)) for k, c in report.cells.items()]
    rows.append((tr.gettext("Total"), cell_json(report.total)))
    return render(request, "console_appraisal.html", no_store=True, staff=staff, logout=staff.form(), rows=rows,
                  dimension=dimension, period=label, as_of=now, fixed=key is not None, dimensions=SHOWN)
