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

from domain.errors import N_, FileIssuesError, Issue, Text

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


def _issue(filename: str, code: str, text: Text, row: int | None = None) -> Issue:
    return Issue(file=filename, row=row, code=code, text=text)


def too_many_bytes(filename: str, size: int, limits: FileLimits) -> Issue:
    return _issue(filename, "file-too-large",
                  Text(N_("the file is %(size)s MB, over the limit of %(max_bytes)s MB; delete extra sheets, pictures "
                          "and empty rows, or save it as UTF-8 CSV, and try again"),
                  size=_mb(size), max_bytes=_mb(limits.max_bytes)))


def too_many_rows(filename: str, row: int, limits: FileLimits) -> Issue:
    return _issue(filename, "too-many-rows",
                  Text(N_("over the limit from this row on: at most %(max_rows)s rows after the header (one room or "
                          "ballot per row, more than any estate has); nothing from this row on was read; delete the "
                          "extra rows and import again"), max_rows=format(limits.max_rows, ",")), row=row)


def _cell_too_long(filename: str, row: int, column: str, length: int, limits: FileLimits) -> Issue:
    return Issue(file=filename, row=row, column=column, code="cell-too-long",
                 text=Text(N_("%(column)s has %(length)s characters, over the limit of %(max_cell_chars)s; check for "
                         "pasted extra text"),
                 column=column, length=format(length, ","), max_cell_chars=format(limits.max_cell_chars, ",")))


def _not_a_workbook(filename: str, why: Text) -> Issue:
    return _issue(filename, "unreadable", Text(N_("not a readable Excel workbook (%(why)s); save it as .xlsx or UTF-8 "
                                                  "CSV in Excel or WPS and try again"), why=why))


def xlsx_archive_issues(data: bytes, filename: str, limits: FileLimits = DEFAULT_LIMITS) -> list[Issue]:
    """What is wrong with ``data`` as an XLSX archive, from its central directory alone (nothing is unpacked)."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        return [_not_a_workbook(filename, Text(N_("not a zip archive: %(exc)s"), exc=exc))]
    if len(members) > limits.max_members:
        return [_not_a_workbook(filename, Text(N_("%(count)s parts, over the limit of %(max_members)s"),
                                               count=format(len(members), ","),
                                               max_members=format(limits.max_members, ",")))]
    names = {member.filename for member in members}
    if "[Content_Types].xml" not in names or not any(n.rsplit("/", 1)[-1] == "workbook.xml" for n in names):
        return [_not_a_workbook(filename, Text(N_("no workbook part")))]
    for member in members:
        if member.flag_bits & 0x1 or member.compress_type not in ZIP_METHODS:
            return [_not_a_workbook(filename, Text(
                N_("part '%(filename)s' is encrypted or uses an unusual compression"), filename=member.filename))]
    issues = []
    total = sum(member.file_size for member in members)
    if total > limits.max_unzipped:
        issues.append(_issue(filename, "unzipped-too-large",
                             Text(N_("the file unpacks to %(total)s MB, over the limit of %(max_unzipped)s MB; no "
                                     "roll or ballots file is that large: delete extra sheets, pictures and empty "
                                     "rows, or save it as UTF-8 CSV, and try again"),
                             total=_mb(total), max_unzipped=_mb(limits.max_unzipped))))
    for member in members:
        issues.extend(_member_issues(filename, member, limits))
    return issues[:5]


def _member_issues(filename: str, member: zipfile.ZipInfo, limits: FileLimits) -> list[Issue]:
    name, size = member.filename, member.file_size
    if size > limits.max_member:
        return [_issue(filename, "part-too-large",
                       Text(N_("part '%(name)s' unpacks to %(size)s MB, over the limit of %(max_member)s MB for one "
                               "part; delete what is not needed, or save it as UTF-8 CSV, and try again"),
                       name=name, size=_mb(size), max_member=_mb(limits.max_member)))]
    ratio = size / max(member.compress_size, 1)
    if size > limits.ratio_from and ratio > limits.max_ratio:
        return [_issue(filename, "compression-ratio",
                       Text(N_("part '%(name)s' is compressed %(ratio)s to 1, over the limit of %(max_ratio)s to 1; "
                               "that is not what a spreadsheet looks like (a zip bomb?); open it in Excel and save it "
                               "as .xlsx or UTF-8 CSV before importing"),
                       name=name, ratio=format(ratio, ",.0f"), max_ratio=limits.max_ratio))]
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
                                text=Text(N_("%(column)s contains invisible control characters; remove them and "
                                        "import again"), column=column)))
    return issues
