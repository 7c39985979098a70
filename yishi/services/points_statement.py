"""The monthly points statement of a community as a CSV or XLSX file (staff only: it names people)."""

from __future__ import annotations

import io
from typing import Any

import asyncpg

from activities.eventstore import EventStore
from domain.points_events import POINTS_EVENT_TYPES, points_event_from_dict, points_stream
from domain.points_statement import Statement, statement
from yishi.services.csvsafe import safe_cell, write_csv
from yishi.services.points import people_names

PEOPLE_HEADER = ("人员编号 person", "姓名 name", "类别 kind", "月初余额 opening", "获得 earned", "扣减 deducted",
                 "兑换 spent", "退回 refunded", "月末余额 closing", "先锋指数 pioneer")
ITEM_HEADER = ("商品 item", "名称 name", "所需积分 cost", "入库 added", "兑换 redeemed", "取消 cancelled",
               "已领取 handed over", "月末库存 stock")


async def monthly_statement(store: EventStore, community: str, month: str) -> Statement:
    stored = await store.read(points_stream(community))
    return statement([points_event_from_dict(e.type, e.payload) for e in stored if e.type in POINTS_EVENT_TYPES],
                     month)


def _rows(result: Statement, names: dict[str, dict[str, Any]]) -> tuple[list[list[Any]], list[list[Any]]]:
    people = [[p.person_id, (names.get(p.person_id) or {}).get("name", ""), p.kind, p.opening, p.earned, p.deducted,
               p.spent, p.refunded, p.closing, "" if p.pioneer is None else p.pioneer] for p in result.people]
    items = [[i.item_id, i.name, i.cost, i.added, i.redeemed, i.cancelled, i.handed_over, i.stock]
             for i in result.items]
    return people, items


async def statement_file(pool: asyncpg.Pool, store: EventStore, community: str, month: str, fmt: str) -> bytes:
    """The statement as ``csv`` (people, a blank line, then the shop) or ``xlsx`` (one sheet each)."""
    result = await monthly_statement(store, community, month)
    people, items = _rows(result, await people_names(pool, [p.person_id for p in result.people]))
    if fmt == "csv":
        return ("\ufeff" + write_csv(PEOPLE_HEADER, people) + "\n" + write_csv(ITEM_HEADER, items)).encode("utf-8")
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = f"积分 {month}"
    for sheet_rows, header, target in ((people, PEOPLE_HEADER, sheet),
                                       (items, ITEM_HEADER, book.create_sheet(f"兑换 {month}"))):
        target.append(list(header))
        for row in sheet_rows:
            target.append([safe_cell(c) if isinstance(c, str) else c for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
