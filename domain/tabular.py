"""Reading CSV and XLSX bytes into rows of text, with row numbers as Excel shows them.

CSV text is decoded as UTF-8 (with or without BOM) when that succeeds strictly, else as GB18030 (a
superset of GBK, which is what Excel on a Chinese Windows writes). The first row is the header; header
names are matched by :func:`header_key` (NFKC, no spaces, lower case, an area unit in brackets dropped),
either as the column's own (English) name or as one of its aliases (Chinese names, see
:data:`domain.roll_parse.HEADER_ALIASES`). A header that mixes the two languages, or names one column twice,
is refused. Entirely empty rows are skipped. Every cell comes back as trimmed text ("" when empty).

The file is read within :class:`domain.filelimits.FileLimits`: its size (and an XLSX archive's directory) is
checked first, then rows are streamed (:attr:`Table.rows`), so memory does not grow with the file, and past the row
cap the file is refused naming the row.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from domain.errors import FileIssuesError, Issue, IssueLog
from domain.filelimits import DEFAULT_LIMITS, FileLimits, cell_issues, check_size, too_many_rows

EXCEL_ROWS = 1_048_576  # the last row of a sheet: a row numbered beyond it is not a spreadsheet's


@dataclass(frozen=True)
class Table:
    file: str
    rows: Iterator[tuple[int, dict[str, str]]]
    """(row number as Excel shows it, {column: text}) for each non-empty data row whose cells can be stored;
    streamed, so it is read once. A row with a control character or an over-long cell is not given: its problem
    goes to :attr:`issues`. Past the row cap, reading raises the file's error."""
    issues: IssueLog = field(default_factory=IssueLog)
    """Problems found in the rows: the caller adds its own and raises them all at the end."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """column -> its header as the file wrote it (``房号``, ``area_m2``): what error messages name."""

    def header(self, column: str) -> str:
        return self.headers.get(column, column)


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


def _csv_rows(data: bytes, filename: str, error: type[FileIssuesError]) -> Iterator[Sequence[object]]:
    reader = csv.reader(io.StringIO(_decoded(data, filename, error), newline=""))
    try:
        yield from reader
    except csv.Error as exc:  # a cell longer than the csv module's limit, an unclosed quote at the end
        raise error([Issue(file=filename, row=reader.line_num, code="unreadable",
                           zh=f"无法读取（{exc}）；请检查引号和超长的单元格",
                           en=f"cannot be read ({exc}); check its quotes and very long cells")
                     ]) from None


def _xlsx_rows(data: bytes, filename: str, error: type[FileIssuesError],
               limits: FileLimits) -> Iterator[Sequence[object]]:
    """The first sheet's rows as cell values, streamed (openpyxl's read-only mode), at most
    ``limits.max_columns`` wide, whatever used range the sheet claims for itself (a wrong one would widen every
    row, or cut rows off)."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or non-xlsx file
        raise error([_unreadable(filename, str(exc))]) from None
    try:
        sheet = book.worksheets[0]
        sheet.reset_dimensions()
        yield from sheet.iter_rows(max_col=limits.max_columns, values_only=True)
    except (KeyError, ValueError, TypeError, zipfile.BadZipFile) as exc:  # a damaged sheet found while reading
        raise error([_unreadable(filename, str(exc))]) from None
    finally:
        book.close()


def _unreadable(filename: str, detail: str) -> Issue:
    return Issue(
        file=filename,
        code="unreadable",
        zh=f"无法读取文件（{detail}）；请另存为 .xlsx 或 UTF-8 .csv 后重试",
        en=f"cannot read the file ({detail}); save it as .xlsx or UTF-8 .csv and try again",
    )


# An area unit written after a header name in brackets: 面积(㎡), 建筑面积（平方米）, area (m²).
_UNIT_SUFFIX = re.compile(r"\((m2|平方米|平米|㎡)\)$")


def header_key(text: str) -> str:
    """How a header cell is compared: NFKC (full-width brackets and ㎡ become ASCII), no whitespace,
    lower case, no trailing ``*`` (a required-column mark in templates), no area unit in brackets."""
    key = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text.lstrip("\ufeff"))).lower().rstrip("*")
    return _UNIT_SUFFIX.sub("", key)


def column_letter(index: int) -> str:
    """Excel's letter for the 0-based column ``index`` (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


@dataclass(frozen=True)
class _Header:
    """The recognised columns of a header row: column -> [(0-based position, text as written, is alias)]."""

    found: dict[str, list[tuple[int, str, bool]]]
    chinese: bool = False
    """Some header cell has Chinese characters: messages then put the Chinese column names first."""

    def positions(self) -> dict[str, int]:
        return {column: places[0][0] for column, places in self.found.items()}

    def written(self) -> dict[str, str]:
        return {column: places[0][1] for column, places in self.found.items()}


def _read_header(cells: Sequence[str], columns: Sequence[str], aliases: Mapping[str, Sequence[str]]) -> _Header:
    lookup: dict[str, tuple[str, bool]] = {}
    for column in columns:
        for alias in aliases.get(column, ()):
            lookup[header_key(alias)] = (column, True)
        lookup[header_key(column)] = (column, False)
    found: dict[str, list[tuple[int, str, bool]]] = {}
    for position, cell in enumerate(cells):
        text = cell.strip().lstrip("\ufeff").strip()
        match = lookup.get(header_key(text)) if text else None
        if match is not None:
            found.setdefault(match[0], []).append((position, text, match[1]))
    return _Header(found, any(re.search(r"[\u4e00-\u9fff]", cell) for cell in cells))


def _header_issues(filename: str, header: _Header, required: Sequence[str], optional: Sequence[str],
                   aliases: Mapping[str, Sequence[str]]) -> list[Issue]:
    issues = []
    places = [place for column in [*required, *optional] for place in header.found.get(column, ())]
    chinese = [text for _, text, alias in sorted(places) if alias]
    english = [text for _, text, alias in sorted(places) if not alias]
    if chinese and english:
        issues.append(_mixed_languages(filename, chinese, english))
    for column in [*required, *optional]:
        if len(header.found.get(column, ())) > 1:
            issues.append(_repeated_column(filename, column, header.found[column], aliases))
    missing = [column for column in required if column not in header.found]
    if missing:
        issues.append(_missing_columns(filename, missing, required, optional, aliases, header.chinese))
    return issues


def read_table(
    data: bytes,
    filename: str,
    required: Sequence[str],
    optional: Sequence[str],
    error: type[FileIssuesError],
    aliases: Mapping[str, Sequence[str]] | None = None,
    limits: FileLimits = DEFAULT_LIMITS,
) -> Table:
    """Read ``data`` (CSV, or XLSX when ``filename`` ends in ``.xlsx``) and check the header.

    ``aliases`` maps a column to other names the header may use for it (the Chinese headers of a roll).
    Raises ``error`` for a file over ``limits`` and naming every missing required column, a column named twice,
    and a header that mixes alias names with column names. The rows are read as :attr:`Table.rows` is.
    """
    aliases = aliases or {}
    lower = filename.lower()
    if lower.endswith(".xls"):
        raise error([_unreadable(filename, "old .xls format")])
    check_size(data, filename, limits, error)
    if lower.endswith(".xlsx"):
        records = _xlsx_rows(data, filename, error, limits)
    else:
        records = _csv_rows(data, filename, error)
    first = next(records, None) or ()
    header = _read_header([cell_text(v)[:limits.max_cell_chars] for v in first[:limits.max_columns]],
                          [*required, *optional], aliases)
    if issues := _header_issues(filename, header, required, optional, aliases):
        raise error(issues)
    written, issues = header.written(), IssueLog()
    rows = _data_rows(records, filename, written, header.positions(), limits, issues, error)
    return Table(file=filename, rows=rows, issues=issues, headers=written)


def _data_rows(records: Iterator[Sequence[object]], filename: str, written: Mapping[str, str],
               index: Mapping[str, int], limits: FileLimits, issues: IssueLog,
               error: type[FileIssuesError]) -> Iterator[tuple[int, dict[str, str]]]:
    counted, empty = 0, None
    for number, record in enumerate(records, start=2):
        if number > EXCEL_ROWS:  # a row numbered 10**12 is a gap of empty rows before it, given one by one
            raise error([too_many_rows(filename, number, limits)])
        if record is empty:  # openpyxl gives the rows a sheet skips as one object: a million of them, quickly
            continue
        if not any(record) and record.count(None) + record.count("") == len(record):
            empty = record
            continue
        if counted >= limits.max_rows:
            raise error([too_many_rows(filename, number, limits)])
        record = record[:limits.max_columns]
        cells = {name: (cell_text(record[i]) if i < len(record) else "") for name, i in index.items()}
        if not any(cells.values()) and not any(cell_text(value) for value in record):
            continue
        counted += 1
        if bad := cell_issues(filename, number, cells, written, limits):
            issues.extend(bad)
            continue
        yield number, cells


def _label(column: str, aliases: Mapping[str, Sequence[str]], chinese_first: bool) -> str:
    """``entrance（单元）``, or ``单元（entrance）`` for a file written with Chinese headers."""
    names = aliases.get(column, ())
    if not names:
        return column
    return f"{names[0]}（{column}）" if chinese_first else f"{column}（{names[0]}）"


def _missing_columns(filename: str, missing: list[str], required: Sequence[str], optional: Sequence[str],
                     aliases: Mapping[str, Sequence[str]], chinese: bool) -> Issue:
    expected = ", ".join(_label(c, aliases, chinese) for c in [*required, *optional])
    listed = ", ".join(_label(c, aliases, chinese) for c in missing)
    return Issue(
        file=filename,
        row=1,
        code="missing-column",
        zh=f"表头缺少列：{listed}；第1行应为表头，列名为 {expected}",
        en=f"the header lacks column(s): {listed}; row 1 must be the header with columns {expected}",
    )


def _mixed_languages(filename: str, chinese: list[str], english: list[str]) -> Issue:
    zh_names, en_names = "、".join(chinese), "、".join(english)
    return Issue(
        file=filename,
        row=1,
        code="mixed-header-language",
        zh=f"表头混用了中文列名（{zh_names}）和英文列名（{en_names}）；请全部改用中文列名或全部改用英文列名后重新导入",
        en=f"the header mixes Chinese column names ({', '.join(chinese)}) with English ones "
        f"({', '.join(english)}); use one language for every column and import again",
    )


def _repeated_column(filename: str, column: str, places: list[tuple[int, str, bool]],
                     aliases: Mapping[str, Sequence[str]]) -> Issue:
    where_zh = "、".join(f"{column_letter(i)}列“{text}”" for i, text, _ in places)
    where_en = ", ".join(f"column {column_letter(i)} '{text}'" for i, text, _ in places)
    meaning = _label(column, aliases, True)
    return Issue(
        file=filename,
        row=1,
        column=places[0][1],
        code="duplicate-column",
        zh=f"{where_zh} 都表示 {meaning}；一列只能出现一次，请删除或改名多余的列后重新导入",
        en=f"{where_en} all mean {_label(column, aliases, False)}; keep one of them "
        "(delete or rename the others) and import again",
    )
