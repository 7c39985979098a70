"""Printed notices: per-entrance A4 sheets with each household's QR code, and the CSV of links.

An owner with rooms behind several entrances appears on each entrance's sheet with the same link.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import segno

from yishi.services.csvsafe import FORMULA_PREFIXES, safe_cell, write_csv  # noqa: F401 - re-exported
from yishi.services.links import IssuedLink, local_base
from yishi.services.voting import Box
from yishi.web.render import environment


@dataclass
class Household:
    owner_id: str
    rooms: list[str]
    url: str
    qr: str  # PNG data URI


@dataclass
class EntranceSheet:
    building: str
    entrance: str
    households: list[Household] = field(default_factory=list)


def qr_data_uri(url: str) -> str:
    # Level M survives a crease or a smudge; scale 5 prints at ~2.5 cm with the quiet zone.
    return segno.make(url, error="m", micro=False).png_data_uri(scale=5, border=4)


def _sort_key(text: str) -> tuple[int, int | str]:
    return (0, int(text)) if text.isdigit() else (1, text)


def build_sheets(box: Box, links: Mapping[str, IssuedLink], base_url: str) -> list[EntranceSheet]:
    """One sheet per entrance in scope, households in room order; owners without a link are left out."""
    scope = box.opened.scope
    groups: dict[tuple[str, str], dict[str, list[str]]] = {}
    for room in sorted(box.opened.roll, key=lambda r: r.room_id):
        if scope.contains(room) and room.owner_id in links:
            rooms = groups.setdefault((room.building, room.entrance), {}).setdefault(room.owner_id, [])
            rooms.append(room.room_id)
    sheets = []
    for (building, entrance), owners in sorted(groups.items(), key=lambda g: (_sort_key(g[0][0]),
                                                                              _sort_key(g[0][1]))):
        sheet = EntranceSheet(building, entrance)
        for owner_id, rooms in owners.items():
            url = links[owner_id].url(base_url)
            sheet.households.append(Household(owner_id, rooms, url, qr_data_uri(url)))
        sheets.append(sheet)
    return sheets


def address_warning(base_url: str, *, configured: bool) -> str | None:
    """What the printed sheets must warn about their links' address: ``local`` (phones cannot open it), ``unset``
    (no public address is configured: a guess that changes with the server), or None."""
    if local_base(base_url):
        return "local"
    return None if configured else "unset"


def render_sheets_html(sheets: list[EntranceSheet], box: Box, info: dict[str, Any] | None, *, base_url: str,
                       configured: bool = True, english: bool = False, template: str = "sheets.html",
                       lang: str = "zh", **extra: Any) -> str:
    """The A4 sheets, in Chinese (and English when asked). Links under a local address, or under a guessed one
    (``configured`` false: no public address is set), get a red warning printed on every sheet (see
    :func:`address_warning`). ``template`` may extend sheets.html (the console's adds a preface, in the page's
    ``lang``, that is not printed)."""
    question = box.opened.questions[0]
    return environment(lang).get_template(template).render(
        **extra,
        base_url=base_url,
        english=english,
        warning=address_warning(base_url, configured=configured),
        lang=lang,
        sheets=sheets,
        title=(info or {}).get("title") or question.text_zh,
        notice_zh=(info or {}).get("notice_zh") or "",
        question_zh=(info or {}).get("question_zh") or question.text_zh,
        question_en=(info or {}).get("question_en") or question.text_en,
        closes_at=box.opened.closes_at,
        changeable=box.opened.ballots_changeable,
    )


def render_csv(box: Box, links: Mapping[str, IssuedLink], base_url: str) -> str:
    """``owner_id, rooms, url`` for every owner with a link, rooms in scope joined by spaces."""
    scope = box.opened.scope
    rooms: dict[str, list[str]] = {}
    for room in sorted(box.opened.roll, key=lambda r: r.room_id):
        if scope.contains(room):
            rooms.setdefault(room.owner_id, []).append(room.room_id)
    return write_csv(["owner_id", "rooms", "url"],
                     ([owner_id, " ".join(rooms.get(owner_id, [])), links[owner_id].url(base_url)]
                      for owner_id in sorted(links)))
