"""A room as people type it, found on a roll (pure): ``101``, ``3-2-101``, ``3栋2单元101室``, ``３－２－１０１``.

Every box where a person types a room uses this one module: the committee's paper-ballot entry, the links page's
reissue box, a resident's proxy box. A roll's ``room_id`` is whatever the estate's list says (``3-2-101``,
``3栋2单元101``, ``0101``); what is typed is matched by meaning, not by spelling:

1. the typed text, normalised (:func:`normalise`: full-width forms, spaces, case), equal to a room's ``room_id``
   normalised the same way: that room;
2. else the typed text read as (building, entrance, number) (:func:`parse_room`) and compared with each room's
   ``building``, ``entrance`` and the number its own ``room_id`` ends with: a part not typed matches any room, and
   numbers compare without leading zeros (``0101`` is ``101``).

Exactly one room: found. Several (``101`` in an estate of many entrances): :class:`RoomAmbiguousError` naming them,
so the person adds the building and entrance. None: :class:`RoomNotFoundError`. A text that is no room at all:
:class:`RoomInputError` with the forms it accepts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from domain.errors import N_, DomainError, Items
from domain.roll import RoomEntry

MAX_ROOM_CHARS = 40
MAX_LISTED = 6
"""Rooms named in an ambiguity; the rest are counted."""

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十]+")
# A building or an entrance as the Chinese writes them, each marker a separator: 3号楼 / 3栋 / 3幢 / 3座 / 3# and
# 2单元 / 2门; the room's own 室 / 号 / 房 at the end is dropped.
_BUILDING_MARK = re.compile(r"(号楼|栋|幢|座|楼|#|号(?=\w))")
_ENTRANCE_MARK = re.compile(r"(单元|号门|门)")
_ROOM_MARK = re.compile(r"(室|号|房)$")
_SEPARATORS = re.compile(r"[-/_.·—–~\\]+")
_PART = re.compile(r"^[0-9A-Z]+$")
_DASHES = str.maketrans({"－": "-", "—": "-", "–": "-", "‐": "-", "−": "-", "／": "/", "＃": "#", "．": "."})

R = TypeVar("R", bound=RoomEntry)


class RoomInputError(DomainError):
    """What was typed is not a room; the message shows the forms that are."""


class RoomNotFoundError(RoomInputError):
    """No room of the roll (in scope) is written that way."""


class RoomAmbiguousError(RoomInputError):
    """Several rooms fit what was typed; the message names them."""


class RoomInput(BaseModel):
    """A typed room read into its parts; ``building`` and ``entrance`` None when not typed."""

    model_config = ConfigDict(frozen=True)

    building: str | None = None
    entrance: str | None = None
    number: str


def _cn_to_digits(text: str) -> str:
    """一 → 1, 十二 → 12, 二十 → 20 (building and entrance numbers only; 1 to 99)."""

    def convert(match: re.Match[str]) -> str:
        word = match.group()
        if "十" not in word:
            return "".join(str(_CN_DIGITS[c]) for c in word)
        tens, _, ones = word.partition("十")
        if "十" in ones or len(tens) > 1 or len(ones) > 1:
            return word  # not a number this module reads; the part check refuses it
        return str((_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0))

    return _CN_NUMBER.sub(convert, text)


def normalise(text: str) -> str:
    """NFKC (full-width digits and letters), dashes unified, no spaces, upper case."""
    folded = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return "".join(folded.split()).upper()


def _bad(text: str) -> RoomInputError:
    return RoomInputError(N_("cannot read the room '%(text)s'; write it as the number on the door (101), or with its "
                             "building and entrance: 3-2-101 or 3栋2单元101"), text=text[:MAX_ROOM_CHARS])


def parse_room(text: str) -> RoomInput:
    """``text`` read as (building, entrance, number); :class:`RoomInputError` when it is no room."""
    compact = normalise(text)
    if not compact or len(compact) > MAX_ROOM_CHARS:
        raise _bad(text)
    marked = _ROOM_MARK.sub("", compact)
    marked = _ENTRANCE_MARK.sub("-", _BUILDING_MARK.sub("-", _cn_to_digits(marked)))
    parts = [part for part in _SEPARATORS.split(marked) if part]
    if not 1 <= len(parts) <= 3 or not all(_PART.match(part) for part in parts):
        raise _bad(text)
    if len(parts) == 1:
        return RoomInput(number=parts[0])
    if len(parts) == 2:
        return RoomInput(building=parts[0], number=parts[1])
    return RoomInput(building=parts[0], entrance=parts[1], number=parts[2])


def _same_number(a: str, b: str) -> bool:
    if a.isdigit() and b.isdigit():
        return int(a) == int(b)
    return a == b


def _part_of(value: str) -> str:
    return normalise(_cn_to_digits(value)).removesuffix("号楼").removesuffix("栋").removesuffix("单元")


def _number_of(room: RoomEntry) -> str | None:
    try:
        return parse_room(room.room_id).number
    except RoomInputError:
        return None


def fits(wanted: RoomInput, room: RoomEntry) -> bool:
    """Whether ``room`` is what ``wanted`` names (a part not typed fits any room)."""
    number = _number_of(room)
    if number is None or not _same_number(wanted.number, number):
        return False
    if wanted.building is not None and not _same_number(wanted.building, _part_of(room.building)):
        return False
    return wanted.entrance is None or _same_number(wanted.entrance, _part_of(room.entrance))


def find_rooms(text: str, rooms: Iterable[R]) -> list[R]:
    """Every room of ``rooms`` that ``text`` names (rule 1, else rule 2 of the module docstring)."""
    listed = list(rooms)
    exact = normalise(text)
    same = [room for room in listed if normalise(room.room_id) == exact]
    if same:
        return same
    wanted = parse_room(text)
    return [room for room in listed if fits(wanted, room)]


def find_room(text: str, rooms: Sequence[R]) -> R:
    """The one room ``text`` names; else :class:`RoomNotFoundError`, :class:`RoomAmbiguousError` or
    :class:`RoomInputError`, each saying what to type instead."""
    found = find_rooms(text, rooms)
    if len(found) == 1:
        return found[0]
    shown = text.strip()[:MAX_ROOM_CHARS]
    if not found:
        raise RoomNotFoundError(N_("no room '%(text)s' on this roll; check the number, or add the building and "
                                   "entrance: 3-2-101"), text=shown)
    named = Items(room.room_id for room in found[:MAX_LISTED])
    if len(found) > MAX_LISTED:
        raise RoomAmbiguousError(N_("'%(text)s' fits %(count)s rooms (%(rooms)s …); add the building and entrance, "
                                    "e.g. 3-2-101"), text=shown, count=len(found), rooms=named)
    raise RoomAmbiguousError(N_("'%(text)s' fits %(count)s rooms (%(rooms)s); add the building and entrance, e.g. "
                                "3-2-101"), text=shown, count=len(found), rooms=named)
