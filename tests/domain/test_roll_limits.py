"""Issue 17, item 2: an imported file is bounded before and while it is parsed (domain/filelimits.py). A zip bomb is
refused from the archive's directory, a file past the row cap naming the row, an over-long cell naming its row and
column; a sheet's claimed dimension does not make it wider; at most 50 problems are listed, then counted."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from domain.ballot_files import parse_ballots
from domain.errors import MAX_LISTED_ISSUES, BallotFileError, HolidayFileError, RollError
from domain.filelimits import FileLimits
from domain.legal_calendar import parse_holiday_file
from domain.roll_parse import parse_roll, roll_template
from tests.texts import en, zh
from yishi.check.hostile_files import bad_rows_csv, workbook, zip_bomb_xlsx
from yishi.cli.roll import template_xlsx

HEADER = "room_id,building,entrance,floor,area_m2,owner_id,owner_name,phone\n"


def refused(data: bytes, filename: str, limits: FileLimits | None = None) -> RollError:
    with pytest.raises(RollError) as caught:
        parse_roll(data, filename) if limits is None else parse_roll(data, filename, limits)
    return caught.value


def test_a_zip_bomb_is_refused_from_its_directory_in_no_time() -> None:
    bomb = zip_bomb_xlsx()  # 1.4 MB; a million rows; 310 MB unpacked
    began = time.monotonic()
    error = refused(bomb, "名册.xlsx")
    assert time.monotonic() - began < 2
    codes = [issue.code for issue in error.issues]
    assert codes == ["unzipped-too-large", "part-too-large"], codes
    assert "名册.xlsx：文件解压后共 309 MB，超过上限 160 MB" in zh(error)
    assert "unpacks to 309 MB, over the limit of 160 MB" in en(error)


def test_a_smaller_bomb_is_refused_by_its_compression_ratio() -> None:
    error = refused(zip_bomb_xlsx(200_000), "r.xlsx")  # 62 MB unpacked, compressed about 220 to 1
    (issue,) = error.issues
    assert issue.code == "compression-ratio" and "超过上限 100:1" in zh(issue), issue


def _rezip(data: bytes, **changes: object) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", changes.get("method", zipfile.ZIP_DEFLATED)) as target:  # type: ignore[arg-type]
        for info in source.infolist():
            if info.filename not in changes.get("drop", ()):  # type: ignore[operator]
                target.writestr(info.filename, source.read(info.filename))
        for n in range(changes.get("extra", 0)):  # type: ignore[call-overload]
            target.writestr(f"xl/media/image{n}.png", b"")
    return out.getvalue()


def test_an_archive_that_is_not_a_plausible_workbook_is_refused_unopened() -> None:
    good = template_xlsx(roll_template())
    assert len(parse_roll(good, "ok.xlsx").rooms) == 4
    for data, said in ((_rezip(good, drop=("xl/workbook.xml",)), "缺少工作簿部件"),
                       (_rezip(good, method=zipfile.ZIP_BZIP2), "不常见的压缩方式"),
                       (_rezip(good, extra=1_001), "上限 1,000"),
                       (b"PK\x03\x04 not a zip", "不是 zip 格式")):
        (issue,) = refused(data, "r.xlsx").issues
        assert issue.code == "unreadable" and said in zh(issue), issue


def test_past_the_row_cap_the_file_is_refused_naming_the_row() -> None:
    rows = "".join(f"9-1-{n},9,1,1,80,H{n},甲,\n" for n in range(12))
    (issue,) = refused((HEADER + rows).encode(), "r.csv", FileLimits(max_rows=10)).issues
    assert (issue.code, issue.row) == ("too-many-rows", 12)  # the header, ten rooms, then row 12
    assert "r.csv 第12行：从本行起超出上限：表头之后最多 10 行" in zh(issue)
    empty_lines = (HEADER + "\n" * 50 + rows[: rows.index("9-1-10,")]).encode()  # empty lines are not rooms
    assert len(parse_roll(empty_lines, "r.csv", FileLimits(max_rows=10)).rooms) == 10


def test_a_row_beyond_excels_last_is_refused_quickly() -> None:
    began = time.monotonic()
    (issue,) = refused(workbook(0, last_row_at=10**12), "r.xlsx").issues
    assert (issue.code, issue.row) == ("too-many-rows", 1_048_577)
    assert time.monotonic() - began < 10


def test_a_claimed_dimension_neither_widens_nor_cuts_the_rows() -> None:
    began = time.monotonic()
    roll = parse_roll(workbook(0, dimension="A1:XFD1048576", last_row_at=2), "r.xlsx")
    assert len(roll.rooms) == 1 and time.monotonic() - began < 5
    roll = parse_roll(workbook(0, dimension="A1:H1", last_row_at=3), "r.xlsx")  # claims only the header
    assert [room.room_id for room in roll.rooms] == ["9-1-101"]


def test_an_over_long_cell_names_its_row_and_column() -> None:
    data = (HEADER + "9-1-101,9,1,1,80,H1,甲,\n" + "9-1-102,9,1,1,80,H2," + "乙" * 1_001 + ",\n").encode()
    (issue,) = refused(data, "r.csv").issues
    assert (issue.code, issue.row, issue.column) == ("cell-too-long", 3, "owner_name")
    assert "有 1,001 个字符，超过上限 1,000" in zh(issue)


def test_a_file_over_the_byte_cap_is_refused_before_it_is_read() -> None:
    (issue,) = refused(HEADER.encode() + b"x" * 2_000, "r.csv", FileLimits(max_bytes=1_000)).issues
    assert issue.code == "file-too-large" and "超过上限" in zh(issue)


def test_100000_bad_rows_list_50_problems_and_count_the_rest() -> None:
    error = refused(bad_rows_csv(100_000), "r.csv")
    assert error.total == 100_000 and len(error.issues) == MAX_LISTED_ISSUES + 1
    assert [issue.row for issue in error.issues[:3]] == [2, 3, 4]
    last = error.issues[-1]
    assert last.code == "more-issues" and zh(last) == (
        "r.csv：另有 99,950 处问题未列出；请先改正以上问题后重新导入，其余问题会在下次导入时列出")
    assert len(zh(error)) < 10_000


def test_notes_are_capped_too() -> None:
    rows = "".join(f"9-1-{n},9,1,1,80,SAME,业主{n},\n" for n in range(80))  # one owner, 80 names
    roll = parse_roll((HEADER + rows).encode(), "r.csv")
    assert len(roll.rooms) == 80 and len(roll.notes) == MAX_LISTED_ISSUES + 1
    assert roll.notes[-1].code == "more-warnings" and "另有 29 条提示未列出" in zh(roll.notes[-1])


def test_ballot_files_have_the_same_bounds() -> None:
    rows = "".join(f"H{n},maybe\n" for n in range(500))
    with pytest.raises(BallotFileError) as caught:
        parse_ballots(("owner_id,choice\n" + rows).encode(), "ballots.csv")
    assert caught.value.total == 500 and caught.value.issues[-1].code == "more-issues"
    with pytest.raises(BallotFileError) as caught:
        parse_ballots(("owner_id,choice\n" + rows).encode(), "ballots.csv", FileLimits(max_rows=100))
    assert [issue.code for issue in caught.value.issues] == ["too-many-rows"]


def test_a_huge_holiday_file_is_refused() -> None:
    with pytest.raises(HolidayFileError) as caught:
        parse_holiday_file(b'{"holidays": [' + b" " * (2 * 1024 * 1024) + b"]}", "holidays.json")
    assert "不像是假日文件" in zh(caught.value)
