"""``yishi calendar deadline``: the last day of a legal period (民法典 第201–203条)."""

from __future__ import annotations

import json
from datetime import date

import click

from domain.errors import DomainError
from domain.legal_calendar import (
    deadline_days,
    deadline_working_days,
    fallback_note,
    merge_holiday_files,
    parse_holiday_file,
)
from yishi.i18n import both
from yishi.services.files import read_bounded


def _fail(message: str) -> None:
    click.echo(message, err=True)
    raise SystemExit(2)


@click.group("calendar")
def calendar() -> None:
    """Legal periods and working days."""


@calendar.command("deadline")
@click.option("--from", "start_text", required=True, help="Start date, YYYY-MM-DD (not counted).")
@click.option("--days", type=int, default=None, help="Period in calendar days.")
@click.option("--working-days", type=int, default=None, help="Period in working days.")
@click.option("--holiday-file", default=None,
              help='JSON {"holidays": [...], "workdays": [...]} for uncovered years (besides YISHI_HOLIDAY_FILE, '
                   'which applies too; this one wins for a year both cover).')
@click.option("--json", "as_json", is_flag=True, help="Print last_day, ends_at and calendar_fallback as JSON.")
def deadline(
    start_text: str, days: int | None, working_days: int | None, holiday_file: str | None, as_json: bool
) -> None:
    """Print the last day of the period as an ISO date (it ends at 24:00 Beijing time), on the calendar the worker
    uses: ``chinese_calendar``, then the operator's YISHI_HOLIDAY_FILE (and ``--holiday-file``)."""
    from yishi.settings import get_settings

    if (days is None) == (working_days is None):
        _fail(both("give exactly one of --days or --working-days"))
    try:
        start = date.fromisoformat(start_text)
    except ValueError:
        _fail(both("--from: '%(text)s' is not a YYYY-MM-DD date", text=start_text))
        return
    configured = get_settings().holiday_file
    try:
        holidays = None
        for path in (str(configured) if configured else None, holiday_file):
            if path is not None:
                holidays = merge_holiday_files(parse_holiday_file(read_bounded(path), path), holidays)
        if days is not None:
            result = deadline_days(start, days, holidays)
        else:
            result = deadline_working_days(start, working_days or 0, holidays)
    except OSError as exc:
        _fail(both("%(path)s: cannot read (%(reason)s)", path=exc.filename, reason=exc.strerror or type(exc).__name__))
        return
    except DomainError as exc:
        _fail(both(exc))
        return
    if result.calendar_fallback:
        click.echo(both("note: %(note)s (load it with YISHI_HOLIDAY_FILE)", note=fallback_note(result.fallback_years)),
                   err=True)
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(result.last_day.isoformat())
