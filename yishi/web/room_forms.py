"""A room as residents write it (issue 21, item 4): ``3-2-501``, ``501`` (in her own entrance), ``3栋2单元501``,
``3号楼2单元501室``, full-width digits; and a proxy's name masked for confirmation (``王*明``)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from domain.roll import RoomEntry

_NUMBERS = re.compile(r"[0-9A-Za-z]+")
_WORDS = re.compile(r"号楼|栋|幢|座|单元|门|室|号|楼")


def _number(room: RoomEntry) -> str:
    """The room's own number: the last part of its id (``3-2-501`` → ``501``)."""
    return re.split(r"[-－_/\s]+", room.room_id.strip())[-1].upper()


def find_room(text: str, rooms: Iterable[RoomEntry], near: RoomEntry | None = None) -> RoomEntry | None:
    """The one room ``text`` names, or None (unknown or ambiguous). A bare number is looked up in ``near``'s
    building and entrance first (a neighbour), then in the whole roll if it names one room only."""
    rooms = list(rooms)
    wanted = unicodedata.normalize("NFKC", text).strip().upper()
    if not wanted:
        return None
    exact = [r for r in rooms if r.room_id.upper() == wanted]
    if exact:
        return exact[0]
    parts = _NUMBERS.findall(_WORDS.sub(" ", wanted))
    if not parts:
        return None
    *place, number = parts
    found = [r for r in rooms if _number(r) == number]
    if len(place) >= 2:
        found = [r for r in found if r.building.upper() == place[-2] and r.entrance.upper() == place[-1]]
    elif len(place) == 1:
        found = [r for r in found if r.building.upper() == place[0]]
    elif near is not None:
        neighbours = [r for r in found if (r.building, r.entrance) == (near.building, near.entrance)]
        found = neighbours or found
    return found[0] if len(found) == 1 else None


def masked(name: str | None) -> str:
    """A name shown to confirm whom she chose, without spelling it out: 王小明 → 王*明, 王明 → 王*."""
    name = (name or "").strip()
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
