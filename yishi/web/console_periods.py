"""The start form's periods (issue 21 item 6): each offered as days, working days, a date or hours (the units
its workflow can count, domain/period_input.py), with the date it would end on if its stage started now, a rest
day's move to the next working day and the weekend-only fallback of a year with no State Council schedule flagged.

The form shows those dates when it is drawn and again on its "check the dates" step (no JavaScript needed);
``GET /console/new/periods`` answers the same lines as JSON for static/periods.js, which updates them as the
fields change. A period may still be posted as its text (``period_voting=P15D``, as ``yishi start`` reads).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from domain.errors import DomainError
from domain.legal_calendar import BEIJING, HolidayFile, parse_holiday_file
from domain.period_input import DURATIONS, FROM_CLOSE, compose, date_of, preview, split_period, units_for
from domain.procedures import PAPER_ENTRY, PROCEDURES, check_paper_entry, parse_period
from yishi import i18n
from yishi.i18n import N_
from yishi.services.files import read_bounded
from yishi.settings import Settings
from yishi.web.render import page_translator
from yishi.web.staff import require
from yishi.web.voter import clock

router = APIRouter()
PERIODS_PATH = "/console/new/periods"
STARTERS = ("committee",)


def holiday_file(settings: Settings) -> HolidayFile | None:
    if not settings.holiday_file:
        return None
    return parse_holiday_file(read_bounded(settings.holiday_file), str(settings.holiday_file))


def period_text(name: str, fields: dict[str, str], now: datetime) -> str:
    """The period text the form's fields give for period ``name`` ("" for none: the default);
    :class:`DomainError` naming what to enter."""
    unit = fields.get(f"period_{name}_unit", "")
    if unit:
        return compose(name, fields.get(f"period_{name}_n", ""), unit, fields.get(f"period_{name}_date", ""),
                       now.astimezone(BEIJING).date())
    return fields.get(f"period_{name}", "")


def read_periods(procedure: str, fields: dict[str, str], now: datetime,
                 tr: i18n.Translator) -> tuple[dict[str, str], list[str]]:
    """The periods that differ from the procedure's defaults, and what a committee member must fix."""
    out: dict[str, str] = {}
    errors: list[str] = []
    for name, default in PROCEDURES[procedure].periods.items():
        try:
            text = period_text(name, fields, now)
            if not text or text == default:
                continue
            period = parse_period(text)
            if name == PAPER_ENTRY:
                check_paper_entry(period)
            if name in DURATIONS:
                period.span()
        except DomainError as exc:
            errors.append(tr.gettext(N_("%(period)s: %(reason)s"), period=tr.label(name, "period", procedure),
                                     reason=tr.error(exc)))
            continue
        out[name] = text
    return out, errors


def ends_line(name: str, text: str, now: datetime, tr: i18n.Translator,
              holidays: HolidayFile | None) -> tuple[str, str]:
    """What the form says beside period ``name`` set to ``text``: when it would end, and a warning ("" for none)."""
    if name in FROM_CLOSE:
        return tr.gettext("Counted from the close of the vote."), ""
    if name in DURATIONS:
        return "", ""
    try:
        found = preview(text, now, holidays)
    except DomainError as exc:
        return "", tr.error(exc)
    line = tr.gettext("If this stage started now, it would end at %(when)s.", when=tr.when(found.ends_at))
    if found.last_day is not None:
        line = tr.gettext("If this stage started now, its last day would be %(day)s (it ends at 24:00 that day, "
                          "Beijing time).", day=tr.date(found.last_day))
    if found.moved_from is not None:
        line += " " + tr.gettext("%(day)s is a rest day or public holiday, so the period runs to the next working "
                                 "day.", day=tr.date(found.moved_from))
    return line, tr.calendar_fallback(found.fallback_years)


def period_rows(procedure: str, values: dict[str, str], now: datetime, tr: i18n.Translator,
                holidays: HolidayFile | None) -> list[dict[str, Any]]:
    """The form's rows, the voting period first: the fields as typed (or the default's), the units offered and
    the end each gives."""
    defaults = PROCEDURES[procedure].periods
    today = now.astimezone(BEIJING).date()
    rows = []
    for name in sorted(defaults, key=lambda name: name != "voting"):
        number, unit = split_period(defaults[name])
        typed_unit = values.get(f"period_{name}_unit", "")
        if typed_unit:
            number, unit = values.get(f"period_{name}_n", ""), typed_unit
        day = values.get(f"period_{name}_date", "") or date_of(defaults[name], today)
        text = defaults[name]
        try:
            text = period_text(name, values, now) or text
            line, warning = ends_line(name, text, now, tr, holidays)
        except DomainError as exc:
            line, warning = "", tr.error(exc)
        rows.append({"name": name, "label": tr.label(name, "period", procedure), "number": number, "unit": unit,
                     "date": day, "min_date": today.isoformat(), "changed": bool(typed_unit) and text != defaults[name],
                     "units": [(u, tr.label(u, "period_unit")) for u in units_for(name)],
                     "has_date": "date" in units_for(name),
                     "ends": line, "warning": warning})
    return rows


@router.get(PERIODS_PATH)
async def period_lines(request: Request) -> Response:
    """The end of every period of ``?procedure=`` as the query's fields set them (the form's live update)."""
    staff = await require(request, *STARTERS)
    if isinstance(staff, Response):
        return staff
    procedure = request.query_params.get("procedure", "")
    if procedure not in PROCEDURES:
        return JSONResponse({}, status_code=404)
    values = {k: v.strip()[:40] for k, v in request.query_params.items() if k.startswith("period_")}
    rows = period_rows(procedure, values, clock(request), page_translator(request),
                       holiday_file(request.app.state.settings))
    return JSONResponse({row["name"]: {"ends": row["ends"], "warning": row["warning"]} for row in rows},
                        headers={"Cache-Control": "no-store"})
