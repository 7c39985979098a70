"""``yishi report escalations``: 响应率、解决率、满意率 per level and per organisation over a period."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any

import click

from domain.legal_calendar import BEIJING
from yishi.cli.stack import data_dir_option, stack_settings


@click.group("report")
def report() -> None:
    """Reports over the record."""


def _day(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"“{value}”不是 YYYY-MM-DD 日期 / '{value}' is not a YYYY-MM-DD date") from None


def _pct(rate: dict[str, str] | None) -> str:
    return "—" if rate is None else f"{rate['percent']}% ({rate['fraction']})"


def _table(doc: dict[str, Any]) -> str:
    lines = [f"{'':<24} {'派单':>4} {'响应率 response':<22} {'解决率 resolution':<22} {'满意率 satisfaction':<22}"]
    groups = [("合计 total", {"": doc["total"]}), ("按层级 by level", doc["by_level"]),
              ("按单位 by organisation", doc["by_org"])]
    for title, cells in groups:
        lines.append(title)
        for name, cell in cells.items():
            lines.append(f"  {name or '—':<22} {cell['assigned']:>4} {_pct(cell['response_rate']):<22} "
                         f"{_pct(cell['resolution_rate']):<22} {_pct(cell['satisfaction_rate']):<22}")
    return "\n".join(lines)


@report.command("escalations")
@click.option("--from", "start", required=True, callback=_day, help="First day (Beijing), YYYY-MM-DD.")
@click.option("--to", "end", required=True, callback=_day, help="Last day (Beijing, included), YYYY-MM-DD.")
@click.option("--community", default=None, help="Only this community's tickets.")
@click.option("--as-of", "as_of", default=None, help="Judge deadlines as of this ISO instant (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@data_dir_option
def escalations(start: date, end: date, community: str | None, as_of: str | None, as_json: bool) -> None:
    """Response, resolution and satisfaction rates of escalation tickets assigned from --from to --to.

    Definitions: docs/escalation.md. Rates are exact fractions; the percentages are for reading."""
    if end < start:
        raise click.UsageError("--to 早于 --from / --to is before --from")
    settings = stack_settings("database")
    try:
        instant = datetime.fromisoformat(as_of) if as_of else datetime.now(UTC)
    except ValueError:
        raise click.BadParameter(f"'{as_of}' is not an ISO date-time", param_hint="--as-of") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=BEIJING)
    doc = asyncio.run(_report(settings.database_url, start, end, instant, community))
    click.echo(json.dumps(doc, ensure_ascii=False, indent=2) if as_json else _table(doc))


async def _report(database_url: str, start: date, end: date, as_of: datetime, community: str | None) -> dict:
    from activities.db import create_pool
    from yishi.services.escalations import rates_report, report_json

    pool = await create_pool(database_url, max_size=1)
    try:
        return report_json(await rates_report(pool, start, end, as_of, community))
    finally:
        await pool.close()


@report.command("appraisal")
@click.option("--dimension", type=click.Choice(["grid", "worker", "department", "community", "org", "level",
                                                "channel"]), default="grid", show_default=True)
@click.option("--period", "label", required=True, help="A month (2026-03) or a half-year (2026-H1).")
@click.option("--community", default=None, help="Only this community's tickets.")
@click.option("--key", default=None, help="Only this cell: a grid organisation, a worker's account name, a department.")
@click.option("--as-of", "as_of", default=None, help="Judge deadlines as of this ISO instant (default: now).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), default=None, help="Also write a CSV file.")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False), default=None, help="Also write an XLSX file.")
@click.option("--by", default=None, help="Who asks (logged; default: the login name).")
@click.option("--as", "role", default="operator", show_default=True, help="Their role.")
@data_dir_option
def appraisal_cmd(dimension: str, label: str, community: str | None, key: str | None, as_of: str | None,
                  as_json: bool, csv_path: str | None, xlsx_path: str | None, by: str | None, role: str) -> None:
    """考核评价: received, responded and resolved within the deadlines, satisfied, overdue, reopened, mean times;
    per grid, grid worker, department or community, over a month or a half-year (docs/escalation.md)."""
    import os
    from pathlib import Path

    import structlog

    from domain.grid_appraisal import PeriodLabelError, period_of

    try:
        start, end = period_of(label)
    except PeriodLabelError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None
    try:
        instant = datetime.fromisoformat(as_of) if as_of else datetime.now(UTC)
    except ValueError:
        raise click.BadParameter(f"'{as_of}' is not an ISO date-time", param_hint="--as-of") from None
    instant = instant if instant.tzinfo else instant.replace(tzinfo=BEIJING)
    structlog.get_logger(__name__).info("report.appraisal", by=by or os.environ.get("USER"), role=role,
                                        dimension=dimension, period=label, community=community, key=key)
    settings = stack_settings("database")
    report = asyncio.run(_appraisal(settings.database_url, dimension, start, end, instant, community, key))
    from yishi.services.appraisal import report_json, rows_of, to_csv, to_xlsx

    if csv_path:
        Path(csv_path).write_text("\ufeff" + to_csv(report), encoding="utf-8")
    if xlsx_path:
        Path(xlsx_path).write_bytes(to_xlsx(report))
    if as_json:
        click.echo(json.dumps(report_json(report), ensure_ascii=False, indent=2))
        return
    click.echo(f"{'':<28} {'接单':>4} {'响应率':<18} {'解决率':<18} {'满意率':<18} {'逾期':>4} {'重办':>4}")
    for row in rows_of(report):
        click.echo(f"{str(row[0]):<28} {row[1]:>4} {row[4] or '—':<18} {row[7] or '—':<18} {row[11] or '—':<18} "
                   f"{row[12]:>4} {row[13]:>4}")


async def _appraisal(database_url: str, dimension: str, start: datetime, end: datetime, as_of: datetime,
                     community: str | None, key: str | None) -> Any:
    from activities.db import create_pool
    from yishi.services.appraisal import appraisal

    pool = await create_pool(database_url, max_size=1)
    try:
        return await appraisal(pool, dimension, start, end, as_of, community=community, key=key)
    finally:
        await pool.close()
