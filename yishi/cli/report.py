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
