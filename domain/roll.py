"""The owners roll (业主名册), its digest, and the selection of a deliberation's scope.

Counting follows 法释〔2009〕7号 第8–9条: an owner's area is the sum of their rooms in scope, and the
headcount is the number of distinct ``owner_id`` holding at least one room in scope. The roll already
encodes who is "one person": an owner of several rooms, the co-owners of one room, and the developer's
unsold units each appear under a single ``owner_id``.

Parsing CSV/XLSX lives in :mod:`domain.roll_parse`; :func:`load_roll` is re-exported here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, model_validator

from domain.errors import N_, Issue, ScopeError, Text
from domain.numbers import Area, decimal_str

if TYPE_CHECKING:
    from domain.filelimits import FileLimits

ROLL_COLUMNS = ("room_id", "building", "entrance", "floor", "area_m2", "owner_id", "owner_name", "phone")
DIGEST_FORMAT = "yishi-roll/1"


class RoomEntry(BaseModel):
    """The fields of a room that decide outcomes; this is what the roll digest covers."""

    model_config = ConfigDict(frozen=True)

    room_id: str
    building: str
    entrance: str
    floor: str
    area_m2: Area
    owner_id: str


class Room(RoomEntry):
    """A room as imported, with the owner's contact details (kept out of the event stream and digest)."""

    owner_name: str = ""
    phone: str | None = None

    def entry(self) -> RoomEntry:
        return RoomEntry(**self.model_dump(include=set(RoomEntry.model_fields)))


class Scope(BaseModel):
    """Which rooms a deliberation concerns: the whole roll, a building, one entrance, or listed rooms."""

    model_config = ConfigDict(frozen=True)

    building: str | None = None
    entrance: str | None = None
    rooms: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Scope:
        if self.entrance is not None and self.building is None:
            raise ValueError("an entrance needs its building: building=3,entrance=2")
        if self.rooms is not None and (self.building is not None or not self.rooms):
            raise ValueError("rooms= takes a non-empty list and cannot be combined with building")
        return self

    @classmethod
    def parse(cls, text: str | None) -> Scope:
        """Parse ``building=3,entrance=2``, ``building=3``, ``rooms=101,102`` or ``all``/empty."""
        text = (text or "").strip()
        if text in ("", "all"):
            return cls()
        if text.startswith("rooms="):
            rooms = tuple(r.strip() for r in text.removeprefix("rooms=").split(",") if r.strip())
            return _build_scope(text, rooms=rooms)
        fields: dict[str, str] = {}
        for part in text.split(","):
            key, sep, value = part.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or key not in ("building", "entrance") or not value or key in fields:
                raise _scope_syntax_error(text)
            fields[key] = value
        return _build_scope(text, **fields)

    def contains(self, room: RoomEntry) -> bool:
        if self.rooms is not None:
            return room.room_id in self.rooms
        if self.building is not None and room.building != self.building:
            return False
        return self.entrance is None or room.entrance == self.entrance

    def describe(self) -> Text:
        """The scope in words, translated where it is shown."""
        if self.rooms is not None:
            return Text(N_("rooms %(rooms)s"), rooms=", ".join(self.rooms))
        if self.building is None:
            return Text(N_("whole roll"))
        if self.entrance:
            return Text(N_("building %(building)s, entrance %(entrance)s"), building=self.building,
                        entrance=self.entrance)
        return Text(N_("building %(building)s"), building=self.building)


def _scope_syntax_error(text: str) -> ScopeError:
    return ScopeError(
        N_("cannot read scope '%(text)s'; write building=3,entrance=2, building=3 or rooms=101,102"), text=text,
    )


def _build_scope(text: str, **fields: object) -> Scope:
    try:
        return Scope(**fields)  # type: ignore[arg-type]
    except ValueError:
        raise _scope_syntax_error(text) from None


class Electorate(BaseModel):
    """The owners of a scope and their in-scope areas: the denominators of every ratio."""

    model_config = ConfigDict(frozen=True)

    scope: Scope
    roll_digest: str
    owner_areas: dict[str, Area]
    roll_owner_ids: frozenset[str]

    @cached_property
    def total_area(self) -> Decimal:
        return sum(self.owner_areas.values(), Decimal(0))

    @property
    def headcount(self) -> int:
        return len(self.owner_areas)


class Roll(BaseModel):
    """An imported roll. ``notes`` holds warnings that did not stop the import."""

    model_config = ConfigDict(frozen=True)

    rooms: tuple[Room, ...]
    notes: tuple[Issue, ...] = ()
    source: str | None = None

    @model_validator(mode="after")
    def _unique_rooms(self) -> Roll:
        check_unique_rooms(self.rooms)
        return self

    @classmethod
    def from_entries(cls, entries: Iterable[RoomEntry], source: str | None = None) -> Roll:
        """Rebuild a roll from a snapshot (e.g. the rows recorded in ``BoxOpened``)."""
        return cls(rooms=tuple(Room(**e.model_dump()) for e in entries), source=source)

    def entries(self) -> tuple[RoomEntry, ...]:
        return tuple(room.entry() for room in self.rooms)

    @cached_property
    def owner_ids(self) -> frozenset[str]:
        return frozenset(room.owner_id for room in self.rooms)

    def digest(self) -> str:
        """SHA-256 (hex) of :meth:`canonical_bytes` (computed once: the roll is frozen)."""
        return self.sha256_hex

    @cached_property
    def sha256_hex(self) -> str:
        return hashlib.sha256(self.canonical_bytes()).hexdigest()

    def canonical_bytes(self) -> bytes:
        """The canonical serialisation the digest covers (see docs/rules.md, "Roll digest").

        JSON ``{"format":"yishi-roll/1","rooms":[...]}`` with rooms sorted by ``room_id`` (code points),
        each room the six counting fields as strings, areas as canonical decimal text; keys sorted, no
        whitespace, UTF-8 without escaping. Names and phones are not included.
        """
        return entries_canonical_bytes(self.rooms)

    def select(self, scope: Scope) -> Electorate:
        """The electorate of ``scope``; raises :class:`ScopeError` if it names unknown rooms or is empty."""
        return select_entries(self.rooms, scope, self.digest(), self.owner_ids)


# The roll's digest and scope selection work on its entries as they are (``Roll`` rooms, or the entries
# recorded in ``BoxOpened``): folding a stream of 100,000 owners need not rebuild a ``Roll`` of ``Room``
# models from entries it already holds validated.


def check_unique_rooms(rooms: Iterable[RoomEntry]) -> None:
    """Raise ``ValueError`` naming the first ``room_id`` that appears twice."""
    seen: set[str] = set()
    for room in rooms:
        if room.room_id in seen:
            raise ValueError(f"duplicate room_id {room.room_id}")
        seen.add(room.room_id)


def entries_canonical_bytes(rooms: Iterable[RoomEntry]) -> bytes:
    """:meth:`Roll.canonical_bytes` of these rooms (see docs/rules.md, "Roll digest")."""
    ordered = sorted(rooms, key=_room_id)
    fields = [(decimal_str(room.area_m2), room.building, room.entrance, room.floor, room.owner_id, room.room_id)
              for room in ordered]
    body = ",".join(_ROOM_JSON % row for row in fields).encode()
    if body.count(b'"') == 24 * len(fields) and len(body.translate(None, _ESCAPED_BYTES)) == len(body):
        # No quote (only the 24 of each room's keys and values), backslash or control character in any
        # value: each value is its own JSON text, so the document written directly is the encoder's.
        # (Checked on the UTF-8 bytes: those bytes never occur inside a multi-byte character.)
        return b'{"format":"' + DIGEST_FORMAT.encode() + b'","rooms":[' + body + b"]}"
    listed = [
        {"area_m2": a, "building": b, "entrance": e, "floor": f, "owner_id": o, "room_id": r}
        for a, b, e, f, o, r in fields
    ]
    document = {"format": DIGEST_FORMAT, "rooms": listed}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


_ESCAPED_BYTES = bytes(range(0x20)) + b"\\"
"""The bytes JSON escapes in a string besides the quote: control characters and the backslash."""
_ROOM_JSON = '{"area_m2":"%s","building":"%s","entrance":"%s","floor":"%s","owner_id":"%s","room_id":"%s"}'


def _room_id(room: RoomEntry) -> str:
    return room.room_id


def entries_digest(rooms: Iterable[RoomEntry]) -> str:
    """:meth:`Roll.digest` of these rooms."""
    return hashlib.sha256(entries_canonical_bytes(rooms)).hexdigest()


_ZERO = Decimal(0)


def select_entries(
    rooms: Sequence[RoomEntry], scope: Scope, digest: str, owner_ids: frozenset[str] | None = None
) -> Electorate:
    """:meth:`Roll.select` on these rooms, whose digest is ``digest``."""
    if scope.rooms is not None:
        known = {room.room_id for room in rooms}
        unknown = [r for r in scope.rooms if r not in known]
        if unknown:
            listed = ", ".join(unknown)
            raise ScopeError(
                N_("these rooms are not on the roll: %(listed)s; check the room ids or update the roll"), listed=listed,
            )
    whole = scope.rooms is None and scope.building is None  # the whole roll: every room is in scope
    areas: dict[str, Decimal] = {}
    for room in rooms if whole else (room for room in rooms if scope.contains(room)):
        owner = room.owner_id
        areas[owner] = areas.get(owner, _ZERO) + room.area_m2
    if not areas:
        raise ScopeError(
            N_("no room on the roll belongs to %(scope)s; check the building and entrance"), scope=scope.describe(),
        )
    if owner_ids is None:
        owner_ids = frozenset(areas) if whole else frozenset(room.owner_id for room in rooms)
    # Built from validated entries (owner ids are ``str``, areas ``Decimal`` sums): validating 100,000
    # areas again would change nothing but the time.
    return Electorate.model_construct(scope=scope, roll_digest=digest, owner_areas=areas, roll_owner_ids=owner_ids)


# ---- recorded rolls, checked once per process -------------------------------------------------------------
#
# Every fold of a stream decodes its ``BoxOpened``: 100,000 roll entries validated, hashed and selected
# (about a second). A process that folds the same stream again (the auditor's tally, then its verify; the
# worker at each checkpoint and at the seal) gets the same entries, digest and electorate back, without
# trusting anything the stream states: a roll is reused only when its recorded JSON is equal, value for
# value, to one this process validated, and the digest and selection only for those very entries (the same
# tuple object). A pure function of its input remembered, so results are identical; tampered rows differ
# from the remembered ones and take the full path.


@dataclass(eq=False)
class _CheckedRoll:
    raw: list[dict[str, str]]
    """A private copy of the recorded JSON rows (every value a ``str``, so ``==`` means the same text)."""
    entries: tuple[RoomEntry, ...]
    digest: str | None = None
    """``entries_digest(entries)``, set once ``check_unique_rooms(entries)`` has passed."""
    electorates: dict[Scope, Electorate] = field(default_factory=dict)


_CHECKED: list[_CheckedRoll] = []
_CHECKED_MAX = 2  # the last rolls folded: one deliberation's, and a second box's


def recorded_entries(raw: object) -> tuple[RoomEntry, ...] | None:
    """The validated entries of recorded roll rows this process has validated before, or None."""
    if type(raw) is not list:
        return None
    for checked in _CHECKED:
        if len(checked.raw) == len(raw) and checked.raw == raw:
            return checked.entries
    return None


def remember_entries(raw: object, entries: tuple[RoomEntry, ...]) -> None:
    """Remember that ``raw`` (JSON rows of a recorded roll) validates to ``entries``."""
    if type(raw) is not list or not all(type(row) is dict for row in raw):
        return
    copy = [dict(row) for row in raw]
    if not all(type(value) is str and type(key) is str for row in copy for key, value in row.items()):
        return  # only text compares exactly (1 == 1.0 == True); other rows are validated every time
    _CHECKED.insert(0, _CheckedRoll(copy, entries))
    del _CHECKED[_CHECKED_MAX:]


def _checked(entries: Sequence[RoomEntry]) -> _CheckedRoll | None:
    return next((checked for checked in _CHECKED if checked.entries is entries), None)


def checked_digest(entries: Sequence[RoomEntry]) -> str:
    """``check_unique_rooms`` then ``entries_digest`` of these entries (once for remembered entries)."""
    checked = _checked(entries)
    if checked is not None and checked.digest is not None:
        return checked.digest
    check_unique_rooms(entries)
    digest = entries_digest(entries)
    if checked is not None:
        checked.digest = digest
    return digest


def checked_select(entries: Sequence[RoomEntry], scope: Scope, digest: str) -> Electorate:
    """``select_entries(entries, scope, digest)``, once per scope for remembered entries whose digest it is."""
    checked = _checked(entries)
    if checked is None or checked.digest != digest:
        return select_entries(entries, scope, digest)
    electorate = checked.electorates.get(scope)
    if electorate is None:
        electorate = checked.electorates[scope] = select_entries(entries, scope, digest)
    return electorate


def load_roll(data: bytes, filename: str, limits: FileLimits | None = None) -> Roll:
    """Parse a roll from the bytes of a ``.csv`` or ``.xlsx`` file (see :mod:`domain.roll_parse`), within
    ``limits`` (default :data:`domain.filelimits.DEFAULT_LIMITS`)."""
    from domain.roll_parse import parse_roll

    return parse_roll(data, filename) if limits is None else parse_roll(data, filename, limits)
