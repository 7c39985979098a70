"""Reading CSV and XLSX bytes into rows of text, with row numbers as Excel shows them.

CSV text is decoded as UTF-8 (with or without BOM) when that succeeds strictly, else as GB18030 (a
superset of GBK, which is what Excel on a Chinese Windows writes). The first row is the header; header
names are matched after trimming spaces and lower-casing. Entirely empty rows are skipped. Every cell
comes back as trimmed text ("" when empty).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from domain.errors import FileIssuesError, Issue


@dataclass(frozen=True)
class Table:
    file: str
    rows: tuple[tuple[int, dict[str, str]], ...]
    """(row number as Excel shows it, {column: text}) for each non-empty data row."""


def decode_text(data: bytes) -> str:
    """UTF-8 (BOM optional) if it decodes strictly, else GB18030."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def cell_text(value: object) -> str:
    """Text of a spreadsheet cell; integral floats lose their ``.0`` (Excel shows 101, not 101.0)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # repr gives the shortest text that reads back as the same double, i.e. what Excel displayed.
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


CONTROL = {chr(c) for c in range(32) if chr(c) not in "\t\n\r"} | {"\x7f"}


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def _decoded(data: bytes, filename: str, error: type[FileIssuesError]) -> str:
    """The CSV text, or ``error`` naming the first row that is neither UTF-8 nor GB18030."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise error([Issue(file=filename, row=1, code="encoding",
                           zh="文件是 UTF-16（“Unicode 文本”）格式；请在 Excel 中另存为“CSV UTF-8”后重试",
                           en="the file is UTF-16 ('Unicode text'); save it as 'CSV UTF-8' in Excel and try again")])
    try:
        return decode_text(data)
    except UnicodeDecodeError as exc:
        row = _line_of(data, exc.start)
        raise error([Issue(file=filename, row=row, code="encoding",
                           zh="有无法识别的字符（既不是 UTF-8 也不是 GBK）；"
                           "请在 Excel 中另存为“CSV UTF-8”后重试",
                           en="bytes that are neither UTF-8 nor GBK text; save the file as "
                           "'CSV UTF-8' and try again")]) from None


def _csv_rows(data: bytes, filename: str, error: type[FileIssuesError]) -> Iterator[list[str]]:
    reader = csv.reader(io.StringIO(_decoded(data, filename, error), newline=""))
    try:
        for record in reader:
            yield [cell.strip() for cell in record]
    except csv.Error as exc:  # a cell longer than the csv module's limit, an unclosed quote at the end
        raise error([Issue(file=filename, row=reader.line_num, code="unreadable",
                           zh=f"无法读取（{exc}）；请检查引号和超长的单元格",
                           en=f"cannot be read ({exc}); check its quotes and very long cells")
                     ]) from None


def _control_characters(filename: str, rows: list[tuple[int, dict[str, str]]]) -> list[Issue]:
    """Cells with invisible control characters (NUL and the like): they cannot be stored or shown faithfully."""
    return [Issue(file=filename, row=number, column=name, code="control-character",
                  zh=f"{name} 含有不可见的控制字符；请删除后重新导入",
                  en=f"{name} contains invisible control characters; remove them and import again")
            for number, cells in rows for name, cell in cells.items() if not CONTROL.isdisjoint(cell)]


def _xlsx_rows(data: bytes, filename: str, error: type[FileIssuesError]) -> Iterator[list[str]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or non-xlsx file
        raise error([_unreadable(filename, str(exc))]) from None
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield [cell_text(value) for value in values]
    finally:
        book.close()


def _unreadable(filename: str, detail: str) -> Issue:
    return Issue(
        file=filename,
        code="unreadable",
        zh=f"无法读取文件（{detail}）；请另存为 .xlsx 或 UTF-8 .csv 后重试",
        en=f"cannot read the file ({detail}); save it as .xlsx or UTF-8 .csv and try again",
    )


def read_table(
    data: bytes,
    filename: str,
    required: Sequence[str],
    optional: Sequence[str],
    error: type[FileIssuesError],
) -> Table:
    """Read ``data`` (CSV, or XLSX when ``filename`` ends in ``.xlsx``) and check the header.

    Raises ``error`` with one issue naming every missing required column.
    """
    lower = filename.lower()
    if lower.endswith(".xls"):
        raise error([_unreadable(filename, "old .xls format")])
    records = _xlsx_rows(data, filename, error) if lower.endswith(".xlsx") else _csv_rows(data, filename, error)
    header = next(records, None)
    names = [name.strip().lstrip("\ufeff").lower() for name in header or []]
    missing = [column for column in required if column not in names]
    if missing:
        raise error([_missing_columns(filename, missing, required, optional)])
    wanted = set(required) | set(optional)
    index = {name: i for i, name in reversed(list(enumerate(names))) if name in wanted}
    rows: list[tuple[int, dict[str, str]]] = []
    for number, record in enumerate(records, start=2):
        if not any(record):
            continue
        cells = {name: (record[i] if i < len(record) else "") for name, i in index.items()}
        rows.append((number, cells))
    if bad := _control_characters(filename, rows):
        raise error(bad)
    return Table(file=filename, rows=tuple(rows))


def _missing_columns(filename: str, missing: list[str], required: Sequence[str], optional: Sequence[str]) -> Issue:
    expected = ", ".join([*required, *optional])
    listed = ", ".join(missing)
    return Issue(
        file=filename,
        row=1,
        code="missing-column",
        zh=f"表头缺少列：{listed}；第1行应为表头，列名为 {expected}",
        en=f"the header lacks column(s): {listed}; row 1 must be the header with columns {expected}",
    )
