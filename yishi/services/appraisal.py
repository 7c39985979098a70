"""The appraisal over the read model (issue 19): domain/grid_appraisal.py's cells computed in SQL over
``escalation_turns`` (one row per turn, indexed by organisation, community and time), so a month or a half-year of a
street with a million tickets answers in well under a second (docs/benchmarks.md). The counts come from the database,
the rates and means from :class:`domain.escalation_rates.RateCell` (exact fractions); ``tests/escalation/
test_appraisal.py`` holds the SQL to the domain's fold and to a hand count. CSV and XLSX export.
"""

from __future__ import annotations

import math
from datetime import datetime
from fractions import Fraction
from typing import Any

import asyncpg

from domain.escalation_rates import RateCell
from domain.grid_appraisal import DIMENSIONS, Appraisal
from domain.legal_calendar import BEIJING
from domain.numbers import fraction_str, percent_digits
from yishi.services.csvsafe import write_csv, write_xlsx

# Each verdict exactly as domain/escalation_rates.py ``verdict``: met = done by the due time; missed = done after it,
# or not done and the due time reached while the turn was still theirs (before it ended, else before as-of).
_COUNTS = """
    count(*) AS assigned,
    count(*) FILTER (WHERE t.acknowledged_at <= t.ack_due) AS ack_met,
    count(*) FILTER (WHERE t.acknowledged_at > t.ack_due
                     OR (t.acknowledged_at IS NULL AND t.ack_due <= COALESCE(t.ended_at, $3))) AS ack_missed,
    count(*) FILTER (WHERE t.resolved_at <= t.resolve_due) AS resolve_met,
    count(*) FILTER (WHERE t.resolved_at > t.resolve_due
                     OR (t.resolved_at IS NULL AND t.resolve_due <= COALESCE(t.ended_at, $3))) AS resolve_missed,
    count(*) FILTER (WHERE t.follow_up = 'satisfied') AS satisfied,
    count(*) FILTER (WHERE t.follow_up = 'basically_satisfied') AS basically_satisfied,
    count(*) FILTER (WHERE t.follow_up = 'not_satisfied') AS not_satisfied,
    count(*) FILTER (WHERE t.reopened) AS reopened,
    count(t.acknowledged_at) AS responded,
    COALESCE(sum(extract(epoch FROM t.acknowledged_at - t.assigned_at) * 1000000), 0)::numeric AS respond_us,
    count(t.resolved_at) AS resolved,
    COALESCE(sum(extract(epoch FROM t.resolved_at - t.assigned_at) * 1000000), 0)::numeric AS resolve_us
"""

_KEYS = {
    "grid": ("t.org", "t.kind = 'level' AND t.org LIKE 'grid:%:%'"),
    "worker": ("w.person", "t.kind = 'level' AND t.org LIKE 'grid:%:%'"),
    "department": ("t.org", "t.org LIKE 'dept:%'"),
    "community": ("t.community", "true"),
    "org": ("t.org", "true"),
    "level": ("t.level_key", "true"),
    "channel": ("t.channel", "true"),
}
_WORKERS = ("JOIN structure_terms w ON w.org = t.org AND w.role = 'grid_worker' AND w.since <= t.assigned_at"
            " AND (w.until IS NULL OR w.until > t.assigned_at)")


def _cell(row: asyncpg.Record) -> RateCell:
    cell = RateCell()
    for name in ("assigned", "ack_met", "ack_missed", "resolve_met", "resolve_missed", "satisfied",
                 "basically_satisfied", "not_satisfied", "reopened", "responded", "resolved"):
        setattr(cell, name, int(row[name]))
    cell.overdue = cell.resolve_missed
    cell.respond_us, cell.resolve_us = int(row["respond_us"]), int(row["resolve_us"])
    return cell


_DAY = "((({0}) AT TIME ZONE 'UTC') + interval '8 hours')::date"  # the Beijing day of an instant
_DAY_START = "((({0})::timestamp - interval '8 hours') AT TIME ZONE 'UTC')"  # 00:00 Beijing of a day
_SUMS = ", ".join(f"sum(r.{f}) AS {f}" for f in ("assigned", "ack_met", "ack_missed", "resolve_met",
                                                  "resolve_missed", "satisfied", "basically_satisfied",
                                                  "not_satisfied", "reopened", "responded", "respond_us", "resolved",
                                                  "resolve_us"))
_FILTERS = " AND ($4::text IS NULL OR {0}.community = $4) AND ($6::text[] IS NULL OR {0}.community = ANY($6::text[]))"
# A worker's term covers the whole Beijing day of a turn (then the day's settled turns are in turn_days).
_WHOLE_DAY = (f"(w.since <= {_DAY_START.format('{0}')} AND (w.until IS NULL OR w.until >= "
              f"{_DAY_START.format('{0} + 1')}))")


def _day_aligned(at: datetime) -> bool:
    local = at.astimezone(BEIJING)
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


def _merge(into: dict[str, RateCell], rows: list[asyncpg.Record]) -> None:
    for row in rows:
        into.setdefault(row["key"], RateCell()).merge(_cell(row))


async def appraisal(pool: asyncpg.Pool, dimension: str, start: datetime, end: datetime, as_of: datetime, *,
                    community: str | None = None, communities: list[str] | None = None, key: str | None = None,
                    levels_only: bool = False) -> Appraisal:
    """The cells of ``dimension`` over turns assigned in ``[start, end)`` (one ``community``'s, or those of
    ``communities``, or all), judged as of ``as_of``; ``key`` keeps one cell (a worker's own figures:
    ``dimension="worker", key=<account name>``); ``levels_only`` leaves joint parts out (the escalation rates).

    A period of whole Beijing days (every month and half-year) reads the settled turns from ``turn_days`` and only
    the unsettled ones from ``escalation_turns``; any other period reads every turn."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; one of {', '.join(DIMENSIONS)}")
    column, where = _KEYS[dimension]
    if levels_only:
        where += " AND t.kind = 'level'"
    args = (start, end, as_of, community, key, communities)
    by_days = _day_aligned(start) and _day_aligned(end)
    cells: dict[str, RateCell] = {}
    async with pool.acquire() as conn:
        if dimension == "worker":
            await _workers(conn, where, args, cells, by_days)
        elif by_days:
            days = (f"SELECT {column.replace('t.', 'r.')} AS key, {_SUMS} FROM turn_days r"  # noqa: S608
                    f" WHERE r.day >= {_DAY.format('$1::timestamptz')} AND r.day < {_DAY.format('$2::timestamptz')}"
                    f" AND {where.replace('t.', 'r.')}{_FILTERS.format('r')}"
                    f" AND ($5::text IS NULL OR {column.replace('t.', 'r.')} = $5) AND $3::timestamptz IS NOT NULL"
                    f" GROUP BY 1")
            _merge(cells, await conn.fetch(days, *args))
            _merge(cells, await conn.fetch(_raw(column, where, "NOT t.settled"), *args))
        else:
            _merge(cells, await conn.fetch(_raw(column, where, "true"), *args))
        report = Appraisal(dimension, start, end, as_of, dict(sorted(cells.items())))
        if dimension == "worker":  # every grid turn once, whoever served the grid (or the worker's own)
            total = (cells.get(key, RateCell()) if key is not None else
                     sum_cells((await appraisal(pool, "grid", start, end, as_of, community=community,
                                                communities=communities)).cells.values()))
        else:
            total = sum_cells(cells.values())
    report.total = total
    return report


def sum_cells(cells: Any) -> RateCell:
    total = RateCell()
    for cell in cells:
        total.merge(cell)
    return total


def _raw(column: str, where: str, which: str, join: str = "") -> str:
    return (f"SELECT {column} AS key, {_COUNTS} FROM escalation_turns t {join} WHERE {which}"  # noqa: S608
            f" AND t.assigned_at >= $1 AND t.assigned_at < $2 AND {where}{_FILTERS.format('t')}"
            f" AND ($5::text IS NULL OR {column} = $5) GROUP BY 1")


async def _workers(conn: asyncpg.Connection, where: str, args: tuple[Any, ...], cells: dict[str, RateCell],
                   by_days: bool) -> None:
    """Each grid turn for each worker who served its grid when it was assigned: the days a worker's term covers
    whole from ``turn_days``, the rest (unsettled turns, and the days a term starts or ends in) from the turns."""
    if not by_days:
        _merge(cells, await conn.fetch(_raw("w.person", where, "true", _WORKERS), *args))
        return
    whole = _WHOLE_DAY.format("r.day")
    days = (f"SELECT w.person AS key, {_SUMS} FROM turn_days r JOIN structure_terms w ON w.org = r.org"  # noqa: S608
            f" AND w.role = 'grid_worker' AND {whole}"
            f" WHERE r.day >= {_DAY.format('$1::timestamptz')} AND r.day < {_DAY.format('$2::timestamptz')}"
            f" AND {where.replace('t.', 'r.')}{_FILTERS.format('r')} AND ($5::text IS NULL OR w.person = $5)"
            " AND $3::timestamptz IS NOT NULL GROUP BY 1")
    _merge(cells, await conn.fetch(days, *args))
    _merge(cells, await conn.fetch(_raw("w.person", where, "NOT t.settled", _WORKERS), *args))
    # Settled turns on a day a term covers only in part: found from the terms (few), by the turns' index on org.
    edge = (f"SELECT w.person AS key, {_COUNTS} FROM structure_terms w JOIN escalation_turns t ON t.org = w.org"  # noqa: S608
            f" AND ((t.day = {_DAY.format('w.since')}) OR (w.until IS NOT NULL AND t.day = {_DAY.format('w.until')}))"
            f" AND w.since <= t.assigned_at AND (w.until IS NULL OR w.until > t.assigned_at)"
            f" WHERE w.role = 'grid_worker' AND t.settled AND NOT {_WHOLE_DAY.format('t.day')}"
            f" AND t.assigned_at >= $1 AND t.assigned_at < $2 AND {where}{_FILTERS.format('t')}"
            " AND ($5::text IS NULL OR w.person = $5) GROUP BY 1")
    _merge(cells, await conn.fetch(edge, *args))


async def rebuild_turn_days(conn: asyncpg.Connection) -> None:
    """``turn_days`` from the settled turns (the projection keeps it; this redoes it in one statement)."""
    key = "t.day, t.community, t.org, t.kind, t.level_key, t.channel, t.grid"
    counts = _COUNTS.replace("$3", "now()")
    await conn.execute("DELETE FROM turn_days")
    await conn.execute(f"INSERT INTO turn_days (day, community, org, kind, level_key, channel, grid, assigned,"  # noqa: S608
                       " ack_met, ack_missed, resolve_met, resolve_missed, satisfied, basically_satisfied,"
                       " not_satisfied, reopened, responded, respond_us, resolved, resolve_us)"
                       f" SELECT {key}, {counts} FROM escalation_turns t WHERE t.settled GROUP BY {key}")


# ---- presenting ----------------------------------------------------------------------------------------------

COLUMNS = ("key", "received", "responded_on_time", "response_missed", "response_rate", "resolved_on_time",
           "resolve_missed", "resolution_rate", "satisfied", "basically_satisfied", "not_satisfied",
           "satisfaction_rate", "overdue", "reopened", "mean_hours_to_respond", "mean_hours_to_resolve")
HEADERS_ZH = ("对象", "接单", "按时响应", "响应超时", "响应率", "按时办结", "办结超时", "解决率", "满意", "基本满意",
              "不满意", "满意率", "逾期", "重办", "平均响应时长（小时）", "平均办结时长（小时）")


def _rate(value: Fraction | None) -> dict[str, str] | None:
    return None if value is None else {"fraction": fraction_str(value), "percent": percent_digits(value)}


def _hours(seconds: Fraction | None) -> dict[str, str] | None:
    """A mean time as an exact fraction of seconds, and hours to two decimals for reading."""
    if seconds is None:
        return None
    hundredths = math.floor(seconds / 36 + Fraction(1, 2))  # hours to two places, half up, no float
    return {"seconds": fraction_str(seconds), "hours": f"{hundredths // 100}.{hundredths % 100:02d}"}


def cell_json(cell: RateCell) -> dict[str, Any]:
    return {"received": cell.assigned, "responded_on_time": cell.ack_met, "response_missed": cell.ack_missed,
            "response_rate": _rate(cell.response_rate), "resolved_on_time": cell.resolve_met,
            "resolve_missed": cell.resolve_missed, "resolution_rate": _rate(cell.resolution_rate),
            "satisfied": cell.satisfied, "basically_satisfied": cell.basically_satisfied,
            "not_satisfied": cell.not_satisfied, "satisfaction_rate": _rate(cell.satisfaction_rate),
            "overdue": cell.overdue, "reopened": cell.reopened, "mean_time_to_respond": _hours(cell.mean_respond_s),
            "mean_time_to_resolve": _hours(cell.mean_resolve_s)}


def report_json(report: Appraisal) -> dict[str, Any]:
    return {"dimension": report.dimension, "from": report.start.isoformat(), "to": report.end.isoformat(),
            "as_of": report.as_of.isoformat(), "total": cell_json(report.total),
            "cells": {k: cell_json(v) for k, v in sorted(report.cells.items())}}


def _row(key: str, cell: RateCell) -> list[object]:
    c = cell_json(cell)

    def pct(rate: dict[str, str] | None) -> str:
        return "" if rate is None else f"{rate['percent']}% ({rate['fraction']})"

    def hrs(mean: dict[str, str] | None) -> str:
        return "" if mean is None else mean["hours"]

    return [key, c["received"], c["responded_on_time"], c["response_missed"], pct(c["response_rate"]),
            c["resolved_on_time"], c["resolve_missed"], pct(c["resolution_rate"]), c["satisfied"],
            c["basically_satisfied"], c["not_satisfied"], pct(c["satisfaction_rate"]), c["overdue"], c["reopened"],
            hrs(c["mean_time_to_respond"]), hrs(c["mean_time_to_resolve"])]


def rows_of(report: Appraisal) -> list[list[object]]:
    return [_row(k, v) for k, v in sorted(report.cells.items())] + [_row("合计 total", report.total)]


def to_csv(report: Appraisal) -> str:
    """UTF-8 CSV (the caller adds the BOM for Excel), Chinese headers then the English column names."""
    return write_csv(HEADERS_ZH, [list(COLUMNS), *rows_of(report)])


def to_xlsx(report: Appraisal) -> bytes:
    """One sheet: the Chinese headers, the English column names, then the rows (text cells neutralised)."""
    title = f"{report.dimension} {report.start:%Y-%m}"
    return write_xlsx([(title, [list(HEADERS_ZH), list(COLUMNS), *rows_of(report)])])
