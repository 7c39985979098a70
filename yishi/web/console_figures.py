"""The console's monthly figures (issue 16, "closing the loop"): a page with a chart and a table per community, and
the same rows as CSV and XLSX for the street office's reports.

The wall is the console list's (services/console.py ``home_community``): a community-bound account (committee, grid
worker) sees its own community's figures only, the street office and the auditor every community's. The page and
both exports read one function, :func:`figure_rows`, so a downloaded file holds exactly the rows the page shows.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response

from domain.numbers import percent
from domain.topic_figures import MonthFigures
from yishi.i18n.labels import C_
from yishi.services.console import home_community
from yishi.services.csvsafe import safe_cell, write_csv
from yishi.services.figures import figures_by_community
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


def _download(body: bytes, media: str, ext: str) -> Response:
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return Response(body, media_type=media, headers={"Cache-Control": "no-store",
                    "Content-Disposition": f'attachment; filename="yishi-topic-figures-{stamp}.{ext}"'})


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


@router.get("/console/topics/figures.csv")
async def figures_csv(request: Request) -> Response:
    staff = await require(request, *ROLES)
    if isinstance(staff, Response):
        return staff
    try:
        by_community = await figure_rows(request, staff)
    except UNAVAILABLE:
        return unavailable(request)
    rows = [row_of(c, m) for c, months in by_community.items() for m in months]
    return _download(write_csv(CSV_HEADER, rows).encode("utf-8-sig"), "text/csv; charset=utf-8", "csv")


@router.get("/console/topics/figures.xlsx")
async def figures_xlsx(request: Request) -> Response:
    from openpyxl import Workbook

    staff = await require(request, *ROLES)
    if isinstance(staff, Response):
        return staff
    try:
        by_community = await figure_rows(request, staff)
    except UNAVAILABLE:
        return unavailable(request)
    tr = page_translator(request)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(tr.pgettext("figures", "Monthly figures"))
    sheet.append([tr.pgettext("figures", h) for h in HEADINGS])
    sheet.append(list(CSV_HEADER))
    for c, months in by_community.items():
        for m in months:
            sheet.append([safe_cell(v) if isinstance(v, str) else v for v in row_of(c, m)])
    out = io.BytesIO()
    book.save(out)
    return _download(out.getvalue(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
