"""Bounds on an imported file (a roll, a ballots or proxies file), checked before and while it is read.

A hostile or broken file must be refused quickly and in bounded memory, with a message that names the limit:

- the file's bytes (:attr:`FileLimits.max_bytes`);
- an XLSX is a zip archive: before openpyxl opens it, its central directory is read and the archive refused if it
  does not look like a workbook, has too many parts, a part uses an unusual compression or encryption, or the
  parts would unpack to more than :attr:`~FileLimits.max_unzipped` in all or :attr:`~FileLimits.max_member` each,
  or a large part is compressed more than :attr:`~FileLimits.max_ratio` to 1 (a zip bomb: a 1.5 MB file that
  unpacks to a million rows). ``zipfile`` holds every part to the size its directory entry declares (a part that
  unpacks to more fails its CRC), so these sizes bound what is read;
- rows are streamed and counted: past :attr:`~FileLimits.max_rows` data rows the file is refused, naming the row
  where the limit was passed; only the first :attr:`~FileLimits.max_columns` columns are read; a cell longer than
  :attr:`~FileLimits.max_cell_chars` is an error of its row;
- problems are listed up to ``domain.errors.MAX_LISTED_ISSUES``, then counted.

Why these numbers (docs/security/hostile-files.md): a roll has one row per room. The project is built and benchmarked
for estates of 100,000 owners (docs/benchmarks.md), beyond any single property-management area; 200,000 rows is
twice that. Such a roll is about 12 MB as CSV and 95 MB of sheet XML in an XLSX written with inline strings
(compressed about 11 to 1), hence 16 MB of file, 160 MB unpacked and a ratio of 100 to 1 for parts over 1 MB.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass

from domain.errors import FileIssuesError, Issue

MB = 1024 * 1024


@dataclass(frozen=True)
class FileLimits:
    """What one imported file may be; the operator's settings give the row cap (``YISHI_ROLL_MAX_ROOMS``)."""

    max_rows: int = 200_000
    max_bytes: int = 16 * MB
    max_cell_chars: int = 1_000
    max_columns: int = 100
    max_unzipped: int = 160 * MB
    max_member: int = 128 * MB
    max_ratio: int = 100
    ratio_from: int = MB
    """Parts smaller than this unpacked are not held to :attr:`max_ratio` (small XML compresses well)."""
    max_members: int = 1_000


DEFAULT_LIMITS = FileLimits()
ZIP_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)  # what Excel, WPS and LibreOffice write
CONTROL = {chr(c) for c in range(32) if chr(c) not in "\t\n\r"} | {"\x7f"}


def _mb(size: int) -> str:
    return f"{size / MB:,.1f}".removesuffix(".0")


def _issue(filename: str, code: str, zh: str, en: str, row: int | None = None) -> Issue:
    return Issue(file=filename, row=row, code=code, zh=zh, en=en)


def too_many_bytes(filename: str, size: int, limits: FileLimits) -> Issue:
    return _issue(filename, "file-too-large",
                  f"文件大小 {_mb(size)} MB，超过上限 {_mb(limits.max_bytes)} MB；请删除多余的工作表、图片和空行，"
                  "或另存为 UTF-8 CSV 后重试",
                  f"the file is {_mb(size)} MB, over the limit of {_mb(limits.max_bytes)} MB; delete extra sheets, "
                  "pictures and empty rows, or save it as UTF-8 CSV, and try again")


def too_many_rows(filename: str, row: int, limits: FileLimits) -> Issue:
    return _issue(filename, "too-many-rows",
                  f"从本行起超出上限：表头之后最多 {limits.max_rows:,} 行（每行一个房间或一张选票，已超过任何一个小区的"
                  "规模），本行及以后的内容未读取；请删除多余的行后重新导入",
                  f"over the limit from this row on: at most {limits.max_rows:,} rows after the header (one room or "
                  "ballot per row, more than any estate has); nothing from this row on was read; delete the extra "
                  "rows and import again", row=row)


def _cell_too_long(filename: str, row: int, column: str, length: int, limits: FileLimits) -> Issue:
    return Issue(file=filename, row=row, column=column, code="cell-too-long",
                 zh=f"{column} 有 {length:,} 个字符，超过上限 {limits.max_cell_chars:,}；请检查是否粘贴了多余的内容",
                 en=f"{column} has {length:,} characters, over the limit of {limits.max_cell_chars:,}; check for "
                 "pasted extra text")


def _not_a_workbook(filename: str, zh: str, en: str) -> Issue:
    return _issue(filename, "unreadable",
                  f"不是可读取的 Excel 工作簿（{zh}）；请在 Excel 或 WPS 中另存为 .xlsx 或 UTF-8 CSV 后重试",
                  f"not a readable Excel workbook ({en}); save it as .xlsx or UTF-8 CSV in Excel or WPS and try again")


def xlsx_archive_issues(data: bytes, filename: str, limits: FileLimits = DEFAULT_LIMITS) -> list[Issue]:
    """What is wrong with ``data`` as an XLSX archive, from its central directory alone (nothing is unpacked)."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        return [_not_a_workbook(filename, f"不是 zip 格式：{exc}", f"not a zip archive: {exc}")]
    if len(members) > limits.max_members:
        return [_not_a_workbook(filename, f"包含 {len(members):,} 个部件，上限 {limits.max_members:,}",
                                f"{len(members):,} parts, over the limit of {limits.max_members:,}")]
    names = {member.filename for member in members}
    if "[Content_Types].xml" not in names or not any(n.rsplit("/", 1)[-1] == "workbook.xml" for n in names):
        return [_not_a_workbook(filename, "缺少工作簿部件", "no workbook part")]
    for member in members:
        if member.flag_bits & 0x1 or member.compress_type not in ZIP_METHODS:
            return [_not_a_workbook(filename, f"部件“{member.filename}”已加密或使用了不常见的压缩方式",
                                    f"part '{member.filename}' is encrypted or uses an unusual compression")]
    issues = []
    total = sum(member.file_size for member in members)
    if total > limits.max_unzipped:
        issues.append(_issue(filename, "unzipped-too-large",
                             f"文件解压后共 {_mb(total)} MB，超过上限 {_mb(limits.max_unzipped)} MB；"
                             "名册和选票表都不会这么大，请删除多余的工作表、图片和空行，或另存为 UTF-8 CSV 后重试",
                             f"the file unpacks to {_mb(total)} MB, over the limit of {_mb(limits.max_unzipped)} MB; "
                             "no roll or ballots file is that large: delete extra sheets, pictures and empty rows, "
                             "or save it as UTF-8 CSV, and try again"))
    for member in members:
        issues.extend(_member_issues(filename, member, limits))
    return issues[:5]


def _member_issues(filename: str, member: zipfile.ZipInfo, limits: FileLimits) -> list[Issue]:
    name, size = member.filename, member.file_size
    if size > limits.max_member:
        return [_issue(filename, "part-too-large",
                       f"部件“{name}”解压后 {_mb(size)} MB，超过单个部件的上限 {_mb(limits.max_member)} MB；"
                       "请删除多余的内容，或另存为 UTF-8 CSV 后重试",
                       f"part '{name}' unpacks to {_mb(size)} MB, over the limit of {_mb(limits.max_member)} MB "
                       "for one part; delete what is not needed, or save it as UTF-8 CSV, and try again")]
    ratio = size / max(member.compress_size, 1)
    if size > limits.ratio_from and ratio > limits.max_ratio:
        return [_issue(filename, "compression-ratio",
                       f"部件“{name}”的压缩比为 {ratio:,.0f}:1，超过上限 {limits.max_ratio}:1，不像是正常的表格"
                       "（可能是“压缩炸弹”）；请在 Excel 中打开后另存为 .xlsx 或 UTF-8 CSV 再导入",
                       f"part '{name}' is compressed {ratio:,.0f} to 1, over the limit of {limits.max_ratio} to 1; "
                       "that is not what a spreadsheet looks like (a zip bomb?); open it in Excel and save it as "
                       ".xlsx or UTF-8 CSV before importing")]
    return []


def check_size(data: bytes, filename: str, limits: FileLimits, error: type[FileIssuesError]) -> None:
    """Raise ``error`` if ``data`` is over the byte cap, or (for ``.xlsx``) its archive is refused."""
    if len(data) > limits.max_bytes:
        raise error([too_many_bytes(filename, len(data), limits)])
    if filename.lower().endswith(".xlsx") and (issues := xlsx_archive_issues(data, filename, limits)):
        raise error(issues)


def cell_issues(filename: str, number: int, cells: dict[str, str], written: Mapping[str, str],
                 limits: FileLimits) -> list[Issue]:
    """Cells too long, or with invisible control characters (NUL and the like): neither can be stored or shown
    faithfully."""
    issues = []
    for name, cell in cells.items():
        column = written.get(name, name)
        if len(cell) > limits.max_cell_chars:
            issues.append(_cell_too_long(filename, number, column, len(cell), limits))
        elif not CONTROL.isdisjoint(cell):
            issues.append(Issue(file=filename, row=number, column=column, code="control-character",
                                zh=f"{column} 含有不可见的控制字符；请删除后重新导入",
                                en=f"{column} contains invisible control characters; remove them and import again"))
    return issues
