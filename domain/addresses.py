"""Reading a building out of an address as a 12345 operator types it (issue 19), pure.

``朝阳区幸福路2号楼1单元301`` → building ``2``, entrance ``1``, room ``301``. A building's registered address
(``BuildingAssigned.address``) is matched first, by :func:`address_key` containment; these patterns are the
fallback when a community is known.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_BUILDING = re.compile(r"(\d+)\s*(?:号楼|号院楼|栋|幢|座)")
_BUILDING_LOOSE = re.compile(r"(\d+)\s*号(?!院)")
_ENTRANCE = re.compile(r"(\d+)\s*(?:单元|门)")
_ROOM = re.compile(r"(?:单元|门)\s*(\d{2,5})\s*(?:室|号|户)?\s*$|(\d{3,5})\s*室")
_DASHED = re.compile(r"(?<!\d)(\d+)-(\d+)-(\d{2,5})(?!\d)")


def address_key(text: str) -> str:
    """How addresses are compared: NFKC (full-width digits become ASCII), no whitespace, lower case."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).lower()


@dataclass(frozen=True)
class Parsed:
    building: str = ""
    entrance: str = ""
    room: str = ""


def parse_address(text: str) -> Parsed:
    """The building, entrance and room numbers an address names ("" for what it does not name)."""
    key = address_key(text)
    if dashed := _DASHED.search(key):  # 3-2-101: building-entrance-room, as rolls write room ids
        return Parsed(dashed[1], dashed[2], f"{dashed[1]}-{dashed[2]}-{dashed[3]}")
    entrance = _ENTRANCE.search(key)
    head = key[:entrance.start()] if entrance else key
    found = _BUILDING.findall(head) or _BUILDING_LOOSE.findall(head)
    room = _ROOM.search(key)
    return Parsed(building=found[-1] if found else "", entrance=entrance[1] if entrance else "",
                  room=next((g for g in room.groups() if g), "") if room else "")
