"""Rolls with Chinese headers: aliases, encodings (UTF-8 with BOM, GBK), xlsx, errors naming the header as the
file wrote it, mixed languages and repeated columns, and the template."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from domain.errors import RollError
from domain.roll import load_roll
from domain.roll_parse import HEADER_ALIASES, roll_template
from domain.tabular import column_letter, header_key
from tests.texts import en, zh

ENGLISH = "room_id,building,entrance,floor,area_m2,owner_id,owner_name,phone"
CHINESE = "房号,楼栋,单元,楼层,专有部分面积（㎡）,业主编号,业主姓名,联系电话"
ROWS = ["3-2-101,3,2,1,89.50,O-1,张三,13800000000", "3-2-102,3,2,1,100,O-2,李四,", "3-2-201,3,2,2,60.25,O-1,张三,"]


def csv_bytes(header: str, rows: list[str], encoding: str = "utf-8-sig") -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


def roll_error(data: bytes, filename: str = "名册.csv") -> RollError:
    with pytest.raises(RollError) as info:
        load_roll(data, filename)
    return info.value


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk"])
def test_chinese_headers_read_the_same_roll_as_english_ones(encoding: str) -> None:
    english = load_roll(csv_bytes(ENGLISH, ROWS, "utf-8"), "roll.csv")
    chinese = load_roll(csv_bytes(CHINESE, ROWS, encoding), "名册.csv")
    assert chinese.digest() == english.digest()
    assert [(r.owner_name, r.phone) for r in chinese.rooms] == [("张三", "13800000000"), ("李四", None), ("张三", None)]


def test_other_aliases_in_another_order_with_extra_columns() -> None:
    header = "序号,业主,身份标识,楼号,单元号,所在楼层,房间号,面积(平方米),手机,备注,套内面积"
    rows = ["1,张三,O-1,3,2,1,3-2-101,89.5,139,,70", "2,李四,O-2,3,2,1,3-2-102,100,,已核,80"]
    roll = load_roll(csv_bytes(header, rows, "gbk"), "楼栋名册.csv")
    assert [(r.room_id, r.building, r.entrance, r.floor, r.area_m2, r.owner_id) for r in roll.rooms] == [
        ("3-2-101", "3", "2", "1", Decimal("89.5"), "O-1"), ("3-2-102", "3", "2", "1", Decimal("100"), "O-2")]
    assert roll.rooms[0].phone == "139"


def test_xlsx_with_chinese_headers_and_errors_naming_them() -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["房号", "楼栋", "单元", "楼层", "建筑面积（㎡）", "业主编号", "业主姓名", "电话"])
    sheet.append(["1-1-101", 1, 1, 1, 89.25, "O-1", "张三", None])
    sheet.append(["1-1-102", 1, 1, 1, "89.5平方米", "O-2", None, None])
    buffer = io.BytesIO()
    book.save(buffer)
    error = roll_error(buffer.getvalue(), "名册.xlsx")
    assert [(i.row, i.column, i.code) for i in error.issues] == [
        (3, "业主姓名", "missing-field"), (3, "建筑面积（㎡）", "area-not-number")]
    assert "名册.xlsx 第3行 建筑面积（㎡）列" in zh(error)
    assert "row 3, column 建筑面积（㎡）" in en(error)
    sheet.delete_rows(3)
    buffer = io.BytesIO()
    book.save(buffer)
    assert load_roll(buffer.getvalue(), "名册.xlsx").rooms[0].area_m2 == Decimal("89.25")


def test_duplicate_room_and_name_notes_use_the_files_headers() -> None:
    rows = [*ROWS, "3-2-101,3,2,3,50,O-3,王五,", "3-2-301,3,2,3,50,O-1,张三丰,"]
    error = roll_error(csv_bytes(CHINESE, rows))
    (issue,) = error.issues
    assert (issue.row, issue.column, issue.code) == (5, "房号", "duplicate-room")
    assert "第2行" in zh(issue) and "业主编号" in zh(issue)
    roll = load_roll(csv_bytes(CHINESE, [*ROWS, rows[-1]]), "名册.csv")
    assert [(n.row, n.column, n.code) for n in roll.notes] == [(5, "业主姓名", "owner-name-differs")]


def test_a_header_mixing_languages_is_refused_naming_both_sides() -> None:
    header = "房号,楼栋,单元,楼层,area_m2,owner_id,业主姓名,phone"
    error = roll_error(csv_bytes(header, ROWS))
    (issue,) = error.issues
    assert (issue.row, issue.code) == (1, "mixed-header-language")
    assert "房号、楼栋、单元、楼层、业主姓名" in zh(issue) and "area_m2、owner_id、phone" in zh(issue)
    assert "use one language" in en(issue)


@pytest.mark.parametrize(
    ("header", "where"),
    [
        ("房号,房间号,楼栋,单元,楼层,面积,业主编号,业主姓名", "A列“房号”、B列“房间号”"),
        ("房号,楼栋,单元,楼层,建筑面积,专有部分面积（㎡）,业主编号,业主姓名", "E列“建筑面积”、F列“专有部分面积（㎡）”"),
        ("room_id,building,entrance,floor,area_m2,owner_id,owner_name,Area_M2", "E列“area_m2”、H列“Area_M2”"),
    ],
)
def test_two_headers_for_one_column_are_refused(header: str, where: str) -> None:
    error = roll_error(csv_bytes(header, []))
    (issue,) = error.issues
    assert (issue.row, issue.code) == (1, "duplicate-column")
    assert where in zh(issue)


def test_missing_columns_are_named_in_the_files_language() -> None:
    error = roll_error(csv_bytes("房号,楼栋,楼层,面积,业主编号,业主姓名", ["1,1,1,50,O-1,甲"]))
    (issue,) = error.issues
    assert issue.code == "missing-column" and "表头缺少列：单元（entrance）；" in zh(issue)
    english = roll_error(csv_bytes("room_id,building,floor,area_m2,owner_id,owner_name", ["1,1,1,50,O-1,a"]))
    assert "lacks column(s): entrance（单元）;" in en(english.issues[0])


def test_header_key_and_column_letters() -> None:
    assert header_key(" 面积（㎡） ") == header_key("面积(m²)") == header_key("面 积 (平方米)") == "面积"
    assert header_key("\ufeff房号*") == "房号" and header_key("Room_ID") == "room_id"
    assert [column_letter(i) for i in (0, 25, 26, 27, 701, 702)] == ["A", "Z", "AA", "AB", "ZZ", "AAA"]
    keys = [header_key(a) for aliases in HEADER_ALIASES.values() for a in aliases]
    assert len(keys) == len(set(keys))  # no alias names two columns


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_template_imports_as_it_is(lang: str) -> None:
    text = roll_template(lang)
    assert text.splitlines()[0].startswith("房号,楼栋" if lang == "zh" else "room_id,building")
    roll = load_roll(text.encode("utf-8-sig"), "template.csv")
    assert len(roll.rooms) == 4 and len({r.owner_id for r in roll.rooms}) == 3
    assert roll.digest() == load_roll(roll_template("zh").encode("gbk"), "t.csv").digest()


def test_cli_template_and_check(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from yishi.cli import cli

    runner = CliRunner()
    xlsx = tmp_path / "名册.xlsx"
    assert runner.invoke(cli, ["roll", "template", "-o", str(xlsx)]).exit_code == 0
    checked = runner.invoke(cli, ["roll", "check", str(xlsx)])
    assert checked.exit_code == 0, checked.output
    assert "4 个房间，3 位业主" in checked.stdout and "369.8734 ㎡" in checked.stdout
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes("房号,房间号,楼栋,单元,楼层,面积,业主编号,业主姓名", [], "gbk"))
    refused = runner.invoke(cli, ["roll", "check", str(bad), "--lang", "en"])
    assert refused.exit_code == 2 and "column A '房号', column B '房间号'" in refused.stderr
    printed = runner.invoke(cli, ["roll", "template", "--lang", "en"])
    assert printed.stdout.startswith("room_id,building,entrance")
