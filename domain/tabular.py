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

from domain.errors import N_, FileIssuesError, Issue, IssueLog, Items, Text
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
                           text=Text(N_("the file is UTF-16 ('Unicode text'); save it as 'CSV UTF-8' in Excel and try "
                                   "again")))])
    try:
        return decode_text(data)
    except UnicodeDecodeError as exc:
        row = _line_of(data, exc.start)
        raise error([Issue(file=filename, row=row, code="encoding",
                           text=Text(N_("bytes that are neither UTF-8 nor GBK text; save the file as 'CSV UTF-8' and "
                                   "try again")))]) from None


def _csv_rows(data: bytes, filename: str, error: type[FileIssuesError]) -> Iterator[Sequence[object]]:
    reader = csv.reader(io.StringIO(_decoded(data, filename, error), newline=""))
    try:
        yield from reader
    except csv.Error as exc:  # a cell longer than the csv module's limit, an unclosed quote at the end
        raise error([Issue(file=filename, row=reader.line_num, code="unreadable",
                           text=Text(N_("cannot be read (%(exc)s); check its quotes and very long cells"), exc=exc))
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
        text=Text(N_("cannot read the file (%(detail)s); save it as .xlsx or UTF-8 .csv and try again"), detail=detail),
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
        text=Text(N_("the header lacks column(s): %(listed)s; row 1 must be the header with columns %(expected)s"),
        listed=listed, expected=expected),
    )


def _mixed_languages(filename: str, chinese: list[str], english: list[str]) -> Issue:
    return Issue(
        file=filename,
        row=1,
        code="mixed-header-language",
        text=Text(N_("the header mixes Chinese column names (%(chinese)s) with English ones (%(english)s); use one "
                     "language for every column and import again"), chinese=Items(chinese), english=Items(english)),
    )


def _meaning(column: str, aliases: Mapping[str, Sequence[str]]) -> Text | str:
    """What a column means: ``entrance（单元）`` in English, ``单元（entrance）`` in Chinese."""
    names = aliases.get(column, ())
    return Text(N_("%(column)s（%(alias)s）"), column=column, alias=names[0]) if names else column


def _repeated_column(filename: str, column: str, places: list[tuple[int, str, bool]],
                     aliases: Mapping[str, Sequence[str]]) -> Issue:
    where = Items(Text(N_("column %(letter)s '%(text)s'"), letter=column_letter(i), text=text) for i, text, _ in places)
    return Issue(
        file=filename,
        row=1,
        column=places[0][1],
        code="duplicate-column",
        text=Text(N_("%(where)s all mean %(meaning)s; keep one of them (delete or rename the others) and import "
                     "again"), where=where, meaning=_meaning(column, aliases)),
    )
