"""The monthly points statement of a community as a CSV or XLSX file (staff only: it names people)."""

from __future__ import annotations

from typing import Any

import asyncpg

from activities.eventstore import EventStore
from domain.points_events import POINTS_EVENT_TYPES, points_event_from_dict, points_stream
from domain.points_statement import Statement, statement
from yishi.i18n import N_, Translator, translator
from yishi.services.csvsafe import write_csv, write_xlsx
from yishi.services.points import people_names

PEOPLE_HEADER = (N_("Person"), N_("Name"), N_("Kind"), N_("Opening balance"), N_("Earned"), N_("Deducted"),
                 N_("Spent"), N_("Refunded"), N_("Closing balance"), N_("Pioneer index"))
ITEM_HEADER = (N_("Item"), N_("Name"), N_("Cost in points"), N_("Added to stock"), N_("Redeemed"), N_("Cancelled"),
               N_("Handed over"), N_("Stock at the end"))


async def monthly_statement(store: EventStore, community: str, month: str) -> Statement:
    stored = await store.read(points_stream(community))
    return statement([points_event_from_dict(e.type, e.payload) for e in stored if e.type in POINTS_EVENT_TYPES],
                     month)


def _rows(result: Statement, names: dict[str, dict[str, Any]],
          tr: Translator) -> tuple[list[list[Any]], list[list[Any]]]:
    people = [[p.person_id, (names.get(p.person_id) or {}).get("name", ""), tr.label(p.kind, "person_kind"),
               p.opening, p.earned, p.deducted, p.spent, p.refunded, p.closing,
               "" if p.pioneer is None else p.pioneer] for p in result.people]
    items = [[i.item_id, i.name, i.cost, i.added, i.redeemed, i.cancelled, i.handed_over, i.stock]
             for i in result.items]
    return people, items


async def statement_file(pool: asyncpg.Pool, store: EventStore, community: str, month: str, fmt: str,
                         lang: str = "zh") -> bytes:
    """The statement as ``csv`` (people, a blank line, then the shop) or ``xlsx`` (one sheet each), its headers
    in ``lang``."""
    tr = translator(lang)
    result = await monthly_statement(store, community, month)
    people, items = _rows(result, await people_names(pool, [p.person_id for p in result.people]), tr)
    people_header = [tr.gettext(h) for h in PEOPLE_HEADER]
    item_header = [tr.gettext(h) for h in ITEM_HEADER]
    if fmt == "csv":
        return ("\ufeff" + write_csv(people_header, people) + "\n" + write_csv(item_header, items)).encode("utf-8")
    return write_xlsx([(tr.gettext("Points %(month)s", month=month), [people_header, *people]),
                       (tr.gettext("Shop %(month)s", month=month), [item_header, *items])])
