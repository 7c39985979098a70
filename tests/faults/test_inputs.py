"""Bad input, unit by unit: spreadsheet-safe CSV cells and rolls that must fail with the row named."""

from __future__ import annotations

import csv
import io

import pytest

from domain.errors import RollError
from domain.roll_parse import parse_roll
from tests.texts import en, zh
from yishi.services.csvsafe import FORMULA_PREFIXES, safe_cell, write_csv, write_xlsx

HEADER = "room_id,building,entrance,floor,area_m2,owner_id,owner_name,phone\n"


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_formula_cells_are_neutralised(prefix: str) -> None:
    assert safe_cell(f"{prefix}SUM(A1)") == f"'{prefix}SUM(A1)"


def test_plain_cells_and_csv_document() -> None:
    assert safe_cell("业主 3-2-101") == "业主 3-2-101" and safe_cell(None) == "" and safe_cell(42) == "42"
    rows = list(csv.reader(io.StringIO(write_csv(["=h", "b"], [["@x", "-1"], ["ok", "+86"]]))))
    assert rows == [["'=h", "b"], ["'@x", "'-1"], ["ok", "'+86"]]


def test_xlsx_workbook_sheets_in_order_text_neutralised_numbers_kept() -> None:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(write_xlsx([("人员", [["=h", "b"], ["@x", -1]]), ("商品", [["\tok", 2.5]])])))
    assert book.sheetnames == ["人员", "商品"]
    assert [list(r) for r in book["人员"].iter_rows(values_only=True)] == [["'=h", "b"], ["'@x", -1]]
    assert [list(r) for r in book["商品"].iter_rows(values_only=True)] == [["'\tok", 2.5]]


@pytest.mark.parametrize(("data", "row", "code"), [
    (HEADER.encode() + b"9-1-101,9,1,1,80,H1,a,1\n9-1-102,9,1,1,80,H2,\xff\xfe\x81,1\n", 3, "encoding"),
    (("\ufeff" + HEADER + "9-1-101,9,1,1,80,H1,a,1\n").encode("utf-16"), 1, "encoding"),
    ((HEADER + "9-1-101,9,1,1,80,H1,a\x00b,1\n").encode(), 2, "control-character"),
    ((HEADER + "9-1-101,9,1,1,1e999999999,H1,a,1\n").encode(), 2, "area-not-number"),
    ((HEADER + "9-1-101,9,1,1,-80,H1,a,1\n").encode(), 2, "area-not-positive"),
    ((HEADER + "9-1-101,9,1,1,80,H1," + "甲" * 200_000 + ",1\n").encode(), 2, "unreadable"),
    ((HEADER + "9-1-101,9,1,1,80,H1,a,1\n9-1-101,9,1,1,80,H2,b,1\n").encode(), 3, "duplicate-room"),
])
def test_bad_rolls_name_the_row(data: bytes, row: int, code: str) -> None:
    with pytest.raises(RollError) as caught:
        parse_roll(data, "roll.csv")
    (issue,) = caught.value.issues
    assert (issue.row, issue.code) == (row, code), issue
    assert f"第{row}行" in zh(issue) and f"row {row}" in en(issue)


def test_gbk_roll_still_reads() -> None:
    roll = parse_roll(HEADER.encode() + "9-1-101,9,1,1,80,H1,张三,1\n".encode("gbk"), "roll.csv")
    assert roll.rooms[0].owner_name == "张三"
