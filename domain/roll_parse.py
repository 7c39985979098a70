"""Parsing and validating an owners roll from CSV or XLSX bytes.

The header may use the English column names (``room_id`` …) or the Chinese names of :data:`HEADER_ALIASES`
(房号, 业主姓名, 建筑面积(㎡) …), not both in one file. Every row is checked and every problem is reported at
once in a :class:`RollError`, naming the header as the file wrote it. Errors: a missing column in the header,
a column named twice (``房号`` and ``房间号``), a header mixing the two languages, an empty required field
(every column but ``phone``), an area that is not a number, is zero or negative, or has more than four
decimals, and a ``room_id`` that appears twice (both rows are named). One ``owner_id`` with different
``owner_name`` on different rows is not an error (names change on transfer, co-owners are listed
differently): it is kept as a warning in ``Roll.notes``.

The file is read within :class:`domain.filelimits.FileLimits` (size, XLSX archive, row cap, cell length); at most
``MAX_LISTED_ISSUES`` problems (and notes) are listed, the others counted.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from domain.errors import N_, Issue, IssueLog, RollError, Text
from domain.filelimits import DEFAULT_LIMITS, FileLimits
from domain.numbers import canonical_decimal
from domain.roll import ROLL_COLUMNS, Roll, Room
from domain.tabular import read_table

REQUIRED = ROLL_COLUMNS[:-1]
OPTIONAL = ("phone",)
MAX_AREA_DECIMALS = 4

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "room_id": ("房号", "房间号", "房屋编号", "户号"),
    "building": ("楼栋", "楼号", "楼栋号", "栋号", "幢号"),
    "entrance": ("单元", "单元号"),
    "floor": ("楼层", "所在楼层", "层"),
    "area_m2": ("专有部分面积", "建筑面积", "面积"),
    "owner_id": ("业主编号", "身份标识", "业主标识"),
    "owner_name": ("业主姓名", "业主", "姓名", "业主名称"),
    "phone": ("联系电话", "电话", "手机", "手机号", "手机号码"),
}
"""Chinese header names accepted for each column, the first being the one the template uses. Compared after
:func:`domain.tabular.header_key`: full-width brackets, spaces, a trailing ``*`` and an area unit in
brackets do not matter (``面积（㎡）`` is ``面积``). Two names of one column in one header are an error:
建筑面积 and 套内面积 differ, but 建筑面积 and 专有部分面积 would be the same column twice."""

TEMPLATE_ROWS = (
    ("3-2-101", "3", "2", "1", "89.50", "O-001", "张三", "13800000000"),
    ("3-2-102", "3", "2", "1", "100.1234", "O-002", "李四", ""),
    ("3-2-201", "3", "2", "2", "60.25", "O-001", "张三", ""),
    ("5-1-101", "5", "1", "1", "120", "DEV", "开发商（未售）", ""),
)


def roll_template(lang: str = "zh") -> str:
    """A CSV roll to fill in: the header (Chinese names, or English with ``lang="en"``) and sample rows
    (one owner of two rooms, the developer's unsold units under one ``owner_id``). Excel opens the UTF-8
    with BOM that a caller writes; rows are CRLF-terminated like Excel's CSV."""
    header = [HEADER_ALIASES[c][0] + ("(㎡)" if c == "area_m2" else "") for c in ROLL_COLUMNS]
    if lang == "en":
        header = list(ROLL_COLUMNS)
    return "".join(",".join(row) + "\r\n" for row in (header, *TEMPLATE_ROWS))


def parse_roll(data: bytes, filename: str, limits: FileLimits = DEFAULT_LIMITS) -> Roll:
    """Parse and validate a roll; raises :class:`RollError` listing the problems of the file."""
    table = read_table(data, filename, REQUIRED, OPTIONAL, RollError, HEADER_ALIASES, limits)
    head = table.header
    issues = table.issues
    notes = IssueLog("warning")
    rooms: list[Room] = []
    first_row_of_room: dict[str, int] = {}
    first_name: dict[str, tuple[int, str]] = {}
    for number, cells in table.rows:
        row_issues = _check_fields(filename, number, cells, head)
        area = _parse_area(filename, number, cells["area_m2"], row_issues, head("area_m2"))
        room_id, owner_id = cells["room_id"], cells["owner_id"]
        if room_id and room_id in first_row_of_room:
            row_issues.append(_duplicate(filename, number, room_id, first_row_of_room[room_id], head))
        elif room_id:
            first_row_of_room[room_id] = number
        if owner_id and cells["owner_name"]:
            seen = first_name.setdefault(owner_id, (number, cells["owner_name"]))
            if seen[1] != cells["owner_name"]:
                notes.add(_name_differs(filename, number, owner_id, seen, cells["owner_name"], head))
        issues.extend(row_issues)
        if not row_issues and area is not None:
            rooms.append(_room(cells, area))
    issues.raise_if_any(RollError)
    if not rooms:
        raise RollError([_empty(filename)])
    return Roll(rooms=tuple(rooms), notes=notes.issues(), source=filename)


def _room(cells: dict[str, str], area: Decimal) -> Room:
    return Room(
        room_id=cells["room_id"],
        building=cells["building"],
        entrance=cells["entrance"],
        floor=cells["floor"],
        area_m2=area,
        owner_id=cells["owner_id"],
        owner_name=cells["owner_name"],
        phone=cells.get("phone") or None,
    )


def _check_fields(filename: str, number: int, cells: dict[str, str], head: Callable[[str], str]) -> list[Issue]:
    return [
        Issue(
            file=filename,
            row=number,
            column=head(column),
            code="missing-field",
            text=Text(N_("%(column)s is empty; fill it in and import again"), column=head(column)),
        )
        for column in REQUIRED
        if column != "area_m2" and not cells[column]
    ]


def _parse_area(filename: str, number: int, text: str, issues: list[Issue], column: str) -> Decimal | None:
    def issue(code: str, text: Text) -> None:
        issues.append(Issue(file=filename, row=number, column=column, code=code, text=text))

    if not text:
        issue(
            "missing-field",
            Text(N_("%(column)s is empty; enter the registered area"), column=column),
        )
        return None
    try:
        area = Decimal(text)
        area.normalize()  # 1e999999999 is a Decimal, but overflows any arithmetic on it
    except ArithmeticError:  # InvalidOperation, Overflow
        area = None
    if area is None or not area.is_finite():
        issue(
            "area-not-number",
            Text(N_("area '%(text)s' is not a number; write digits and a dot only, e.g. 89.50, no unit or commas"),
                 text=text),
        )
        return None
    if area <= 0:
        issue("area-not-positive", Text(N_("area %(text)s must be above 0"), text=text))
        return None
    if area.normalize().as_tuple().exponent < -MAX_AREA_DECIMALS:  # type: ignore[operator]
        issue(
            "area-too-precise",
            Text(N_("area %(text)s has more than 4 decimals; use the registered figure (at most 4 decimals)"),
                 text=text),
        )
        return None
    return canonical_decimal(area)


def _duplicate(filename: str, number: int, room_id: str, first: int, head: Callable[[str], str]) -> Issue:
    owner = head("owner_id")
    return Issue(
        file=filename,
        row=number,
        column=head("room_id"),
        code="duplicate-room",
        text=Text(N_("room %(room_id)s repeats row %(first)s; list each room once, co-owners under one %(owner)s"),
        room_id=room_id, first=first, owner=owner),
    )


def _name_differs(filename: str, number: int, owner_id: str, seen: tuple[int, str], name: str,
                  head: Callable[[str], str]) -> Issue:
    return Issue(
        file=filename,
        row=number,
        column=head("owner_name"),
        code="owner-name-differs",
        severity="warning",
        text=Text(N_("owner %(owner_id)s is named '%(name)s' here but '%(seen)s' on row %(row)s; counted as one "
                "owner, please check"), owner_id=owner_id, name=name, seen=seen[1], row=seen[0]),
    )


def _empty(filename: str) -> Issue:
    return Issue(
        file=filename,
        row=2,
        code="empty-roll",
        text=Text(N_("the roll has no rooms; row 1 is the header, then one room per row from row 2")),
    )
