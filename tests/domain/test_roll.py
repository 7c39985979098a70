"""Owners roll: encodings, XLSX, validation errors with file and row, digest, scope and counting."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from domain.errors import RollError, ScopeError
from domain.roll import Roll, Scope, load_roll
from tests.texts import en, zh

HEADER = "room_id,building,entrance,floor,area_m2,owner_id,owner_name,phone"
ROWS = [
    "3-2-101,3,2,1,89.50,o1,张三,13800000000",
    "3-2-102,3,2,1,100,o2,李四,",
    "3-2-201,3,2,2,60.25,o1,张三,",
    "3-1-101,3,1,1,75.1234,o3,王五,",
    "5-1-101,5,1,1,120,dev,开发商（未售）,",
    "5-1-102,5,1,1,130,dev,开发商（未售）,",
    "5-1-201,5,1,2,88,o1,张三,",
]


def csv_bytes(rows: list[str], encoding: str = "utf-8", header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(encoding: str) -> None:
    roll = load_roll(csv_bytes(ROWS, encoding), "名册.csv")
    assert [r.owner_name for r in roll.rooms][:2] == ["张三", "李四"]
    assert roll.rooms[0].area_m2 == Decimal("89.5")
    assert roll.rooms[0].phone == "13800000000"
    assert roll.rooms[1].phone is None


def test_xlsx_built_with_openpyxl() -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append([101, 3, 2, 1, 89.12, "o1", "张三", None])  # numbers as Excel stores them
    sheet.append(["102", "3", "2", "1", "100.5", "o2", "李四", "139"])
    buffer = io.BytesIO()
    book.save(buffer)
    roll = load_roll(buffer.getvalue(), "roll.xlsx")
    assert [r.room_id for r in roll.rooms] == ["101", "102"]
    assert roll.rooms[0].area_m2 == Decimal("89.12")
    assert roll.rooms[0].building == "3"
    assert roll.rooms[1].area_m2 == Decimal("100.5")


def test_xlsx_errors_name_excel_rows() -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.split(","))
    sheet.append([101, 3, 2, 1, 89.123456, "o1", "张三", None])
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(RollError) as info:
        load_roll(buffer.getvalue(), "roll.xlsx")
    (issue,) = info.value.issues
    assert (issue.file, issue.row, issue.column, issue.code) == ("roll.xlsx", 2, "area_m2", "area-too-precise")


def errors_of(rows: list[str], header: str = HEADER) -> RollError:
    with pytest.raises(RollError) as info:
        load_roll(csv_bytes(rows, header=header), "roll.csv")
    return info.value


@pytest.mark.parametrize(
    ("row", "column", "code"),
    [
        ("101,3,2,1,abc,o1,张三,", "area_m2", "area-not-number"),
        ("101,3,2,1,89.5㎡,o1,张三,", "area_m2", "area-not-number"),
        ("101,3,2,1,NaN,o1,张三,", "area_m2", "area-not-number"),
        ("101,3,2,1,0,o1,张三,", "area_m2", "area-not-positive"),
        ("101,3,2,1,-5,o1,张三,", "area_m2", "area-not-positive"),
        ("101,3,2,1,89.12345,o1,张三,", "area_m2", "area-too-precise"),
        ("101,3,2,1,,o1,张三,", "area_m2", "missing-field"),
        ("101,3,2,1,89,,张三,", "owner_id", "missing-field"),
        (",3,2,1,89,o1,张三,", "room_id", "missing-field"),
        ("101,,2,1,89,o1,张三,", "building", "missing-field"),
        ("101,3,2,1,89,o1,,", "owner_name", "missing-field"),
    ],
)
def test_each_validation_error_names_file_row_and_column(row: str, column: str, code: str) -> None:
    error = errors_of(["100,3,2,1,50,o0,甲,", row])
    (issue,) = error.issues
    assert (issue.file, issue.row, issue.column, issue.code) == ("roll.csv", 3, column, code)
    assert "roll.csv 第3行" in zh(error) and "roll.csv, row 3" in en(error)


def test_four_decimals_are_accepted() -> None:
    roll = load_roll(csv_bytes(["101,3,2,1,89.1234,o1,张三,", "102,3,2,1,89.12340,o2,李四,"]), "r.csv")
    assert roll.rooms[1].area_m2 == Decimal("89.1234")


def test_duplicate_room_names_both_rows() -> None:
    error = errors_of(["101,3,2,1,50,o1,甲,", "102,3,2,1,50,o2,乙,", "101,3,2,1,60,o3,丙,"])
    (issue,) = error.issues
    assert issue.row == 4 and issue.code == "duplicate-room"
    assert "第2行" in zh(issue) and "row 2" in en(issue)


def test_all_errors_of_the_file_are_reported() -> None:
    error = errors_of(["101,3,2,1,abc,o1,甲,", "102,3,2,1,50,,乙,", "103,3,2,1,-1,o3,丙,", "101,3,2,1,5,o4,丁,"])
    assert [(i.row, i.code) for i in error.issues] == [
        (2, "area-not-number"),
        (3, "missing-field"),
        (4, "area-not-positive"),
        (5, "duplicate-room"),
    ]


def test_missing_header_column() -> None:
    error = errors_of(["101,3,2,1,50,o1,甲"], header="room_id,building,entrance,floor,area,owner_id,owner_name")
    (issue,) = error.issues
    assert issue.row == 1 and issue.code == "missing-column"
    assert "area_m2" in zh(issue) and "area_m2" in en(issue)
    assert "phone" not in en(issue).split("lacks column(s):")[1].split(";")[0]


def test_header_is_case_and_space_insensitive_and_extra_columns_ignored() -> None:
    header = " Room_ID ,building,entrance,floor,area_m2,owner_id,owner_name,phone,remark"
    roll = load_roll(csv_bytes(["101,3,2,1,50,o1,甲,,note"], header=header), "r.csv")
    assert roll.rooms[0].room_id == "101"


def test_blank_rows_are_skipped_but_keep_excel_numbering() -> None:
    error = errors_of(["101,3,2,1,50,o1,甲,", ",,,,,,,", "102,3,2,1,x,o2,乙,"])
    assert error.issues[0].row == 4


def test_empty_roll_and_unreadable_files() -> None:
    assert errors_of([]).issues[0].code == "empty-roll"
    with pytest.raises(RollError, match="r.xlsx"):
        load_roll(b"not a zip", "r.xlsx")
    with pytest.raises(RollError, match="r.xls"):
        load_roll(b"", "r.xls")


def test_inconsistent_owner_name_is_a_note_not_an_error() -> None:
    roll = load_roll(csv_bytes(["101,3,2,1,50,o1,张三,", "102,3,2,1,50,o1,张三 李梅,"]), "r.csv")
    (note,) = roll.notes
    assert (note.severity, note.row, note.code) == ("warning", 3, "owner-name-differs")
    assert len(roll.select(Scope()).owner_areas) == 1


def test_digest_is_canonical() -> None:
    roll = load_roll(csv_bytes(ROWS), "a.csv")
    shuffled = load_roll(csv_bytes(list(reversed(ROWS)), "gbk"), "b.csv")
    assert roll.digest() == shuffled.digest()
    assert len(roll.digest()) == 64
    trailing = load_roll(csv_bytes([ROWS[0].replace("89.50", "89.5000"), *ROWS[1:]]), "c.csv")
    assert trailing.digest() == roll.digest()
    renamed = load_roll(csv_bytes([ROWS[0].replace("张三", "张三丰"), *ROWS[1:]]), "d.csv")
    assert renamed.digest() == roll.digest()  # contact details are outside the digest
    changed = load_roll(csv_bytes([ROWS[0].replace("89.50", "89.51"), *ROWS[1:]]), "e.csv")
    assert changed.digest() != roll.digest()
    assert Roll.from_entries(roll.entries()).digest() == roll.digest()
    assert b'"area_m2":"89.5"' in roll.canonical_bytes()


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("building=3,entrance=2", Scope(building="3", entrance="2")),
        ("building=3", Scope(building="3")),
        (" entrance=2 , building=3 ", Scope(building="3", entrance="2")),
        ("rooms=101,102", Scope(rooms=("101", "102"))),
        ("", Scope()),
        ("all", Scope()),
    ],
)
def test_scope_parse(text: str, scope: Scope) -> None:
    assert Scope.parse(text) == scope


@pytest.mark.parametrize("text", ["entrance=2", "building=", "floor=3", "building=3,building=4", "rooms=", "x"])
def test_scope_parse_errors(text: str) -> None:
    with pytest.raises(ScopeError) as info:
        Scope.parse(text)
    assert "building=3,entrance=2" in en(info.value)


def test_counting_an_owner_with_rooms_in_and_out_of_scope() -> None:
    roll = load_roll(csv_bytes(ROWS), "r.csv")
    entrance = roll.select(Scope.parse("building=3,entrance=2"))
    assert entrance.owner_areas == {"o1": Decimal("149.75"), "o2": Decimal("100")}
    assert (entrance.headcount, entrance.total_area) == (2, Decimal("249.75"))
    building = roll.select(Scope.parse("building=3"))
    assert (building.headcount, building.total_area) == (3, Decimal("324.8734"))
    everything = roll.select(Scope())
    assert everything.owner_areas["o1"] == Decimal("237.75")
    assert "o3" in entrance.roll_owner_ids


def test_developer_units_count_as_one_owner() -> None:
    roll = load_roll(csv_bytes(ROWS), "r.csv")
    building = roll.select(Scope.parse("building=5"))
    assert building.headcount == 2
    assert building.owner_areas["dev"] == Decimal("250")


def test_scope_by_rooms_and_scope_errors() -> None:
    roll = load_roll(csv_bytes(ROWS), "r.csv")
    picked = roll.select(Scope.parse("rooms=3-2-101,5-1-201,5-1-101"))
    assert picked.owner_areas == {"o1": Decimal("177.5"), "dev": Decimal("120")}
    with pytest.raises(ScopeError, match="9-9-999"):
        roll.select(Scope.parse("rooms=3-2-101,9-9-999"))
    with pytest.raises(ScopeError, match="building 7"):
        roll.select(Scope.parse("building=7"))


def test_models_refuse_floats_for_areas() -> None:
    from pydantic import ValidationError

    from domain.roll import Room

    with pytest.raises(ValidationError, match="floats are not accepted"):
        Room(room_id="1", building="1", entrance="1", floor="1", area_m2=89.5, owner_id="o1")
    assert Room(room_id="1", building="1", entrance="1", floor="1", area_m2="89.5", owner_id="o1").area_m2 == Decimal(
        "89.5"
    )
