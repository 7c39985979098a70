"""Reading CSV and XLSX bytes into rows of text, with row numbers as Excel shows them.

CSV text is decoded as UTF-8 (with or without BOM) when that succeeds strictly, else as GB18030 (a
superset of GBK, which is what Excel on a Chinese Windows writes). The first row is the header; header
names are matched by :func:`header_key` (NFKC, no spaces, lower case, an area unit in brackets dropped),
either as the column's own (English) name or as one of its aliases (Chinese names, see
:data:`domain.roll_parse.HEADER_ALIASES`). A header that mixes the two languages, or names one column twice,
is refused. Entirely empty rows are skipped. Every cell comes back as trimmed text ("" when empty).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from domain.errors import FileIssuesError, Issue


@dataclass(frozen=True)
class Table:
    file: str
    rows: tuple[tuple[int, dict[str, str]], ...]
    """(row number as Excel shows it, {column: text}) for each non-empty data row."""
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


def _control_characters(filename: str, rows: list[tuple[int, dict[str, str]]],
                        written: Mapping[str, str]) -> list[Issue]:
    """Cells with invisible control characters (NUL and the like): they cannot be stored or shown faithfully."""
    return [Issue(file=filename, row=number, column=written.get(name, name), code="control-character",
                  zh=f"{written.get(name, name)} 含有不可见的控制字符；请删除后重新导入",
                  en=f"{written.get(name, name)} contains invisible control characters; remove them and import again")
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
) -> Table:
    """Read ``data`` (CSV, or XLSX when ``filename`` ends in ``.xlsx``) and check the header.

    ``aliases`` maps a column to other names the header may use for it (the Chinese headers of a roll).
    Raises ``error`` naming every missing required column, a column named twice, and a header that
    mixes alias names with column names.
    """
    aliases = aliases or {}
    lower = filename.lower()
    if lower.endswith(".xls"):
        raise error([_unreadable(filename, "old .xls format")])
    records = _xlsx_rows(data, filename, error) if lower.endswith(".xlsx") else _csv_rows(data, filename, error)
    header = _read_header(next(records, None) or [], [*required, *optional], aliases)
    if issues := _header_issues(filename, header, required, optional, aliases):
        raise error(issues)
    index = header.positions()
    rows: list[tuple[int, dict[str, str]]] = []
    for number, record in enumerate(records, start=2):
        if not any(record):
            continue
        cells = {name: (record[i] if i < len(record) else "") for name, i in index.items()}
        rows.append((number, cells))
    written = header.written()
    if bad := _control_characters(filename, rows, written):
        raise error(bad)
    return Table(file=filename, rows=tuple(rows), headers=written)


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
