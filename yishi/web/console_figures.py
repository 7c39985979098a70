"""The console's monthly figures (issue 16, "closing the loop"): a page with a chart and a table per community, and
the same rows as CSV and XLSX for the street office's reports.

The wall is the console list's (services/console.py ``home_community``): a community-bound account (committee, grid
worker) sees its own community's figures only, the street office and the auditor every community's. The page and
both exports read one function, :func:`figure_rows`, so a downloaded file holds exactly the rows the page shows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from domain.numbers import percent
from domain.topic_figures import MonthFigures
from yishi.i18n.labels import C_
from yishi.services.console import home_community
from yishi.services.csvsafe import write_csv, write_xlsx
from yishi.services.figures import figures_by_community
from yishi.web.downloads import csv_file, xlsx_file
from yishi.web.figures_chart import chart
from yishi.web.render import page_translator, render
from yishi.web.staff import Staff, require
from yishi.web.voter import UNAVAILABLE, unavailable

router = APIRouter()
ROLES = ("committee", "street_office", "auditor")
CSV_HEADER = ("community", "month", "raised", "taken", "decided", "resolved", "closed", "declined", "meetings_held",
              "satisfied", "basically_satisfied", "not_satisfied", "satisfaction_rate")
HEADINGS = (C_("figures", "Community"), C_("figures", "Month"), C_("figures", "Raised"), C_("figures", "Taken up"),
            C_("figures", "Decided"), C_("figures", "Done"), C_("figures", "Closed"), C_("figures", "Declined"),
            C_("figures", "Meetings held"), C_("figures", "Satisfied"), C_("figures", "Basically satisfied"),
            C_("figures", "Not satisfied"), C_("figures", "Satisfaction rate"))
"""The page's column headings and the XLSX's first row, in :data:`CSV_HEADER`'s order."""


def row_of(community: str, m: MonthFigures) -> list[object]:
    rate = "" if m.satisfaction_rate is None else percent(m.satisfaction_rate)
    return [community, m.month, m.raised, m.taken, m.decided, m.resolved, m.closed, m.declined, m.held,
            m.answers["satisfied"], m.answers["basically_satisfied"], m.answers["not_satisfied"], rate]


async def figure_rows(request: Request, staff: Staff) -> dict[str, list[MonthFigures]]:
    home = home_community(staff.account)
    return await figures_by_community(request.app.state.pool, None if home is None else [home])


def _filename(ext: str) -> str:
    return f"yishi-topic-figures-{datetime.now(UTC):%Y%m%d}.{ext}"


@router.get("/console/topics/figures")
async def figures_page(request: Request) -> Response:
    staff = await require(request, *ROLES)
    if isinstance(staff, Response):
        return staff
    try:
        by_community = await figure_rows(request, staff)
    except UNAVAILABLE:
        return unavailable(request)
    sections = [{"community": c, "chart": chart(months), "rows": [row_of(c, m)[1:] for m in months]}
                for c, months in by_community.items()]
    return render(request, "console_figures.html", no_store=True, staff=staff, logout=staff.form(),
                  sections=sections, headings=HEADINGS[1:], home=home_community(staff.account))


async def export_rows(request: Request) -> list[list[object]] | Response:
    """The exports' rows (a :func:`row_of` per community and month), or the page refusing or apologising."""
    staff = await require(request, *ROLES)
    if isinstance(staff, Response):
        return staff
    try:
        by_community = await figure_rows(request, staff)
    except UNAVAILABLE:
        return unavailable(request)
    return [row_of(c, m) for c, months in by_community.items() for m in months]


@router.get("/console/topics/figures.csv")
async def figures_csv(request: Request) -> Response:
    rows = await export_rows(request)
    if isinstance(rows, Response):
        return rows
    return csv_file(write_csv(CSV_HEADER, rows), _filename("csv"))


@router.get("/console/topics/figures.xlsx")
async def figures_xlsx(request: Request) -> Response:
    """One sheet: the translated headings, the CSV's column names, then the rows."""
    rows = await export_rows(request)
    if isinstance(rows, Response):
        return rows
    tr = page_translator(request)
    headings = [tr.pgettext("figures", h) for h in HEADINGS]
    return xlsx_file(write_xlsx([(tr.pgettext("figures", "Monthly figures"), [headings, list(CSV_HEADER), *rows])]),
                     _filename("xlsx"))
