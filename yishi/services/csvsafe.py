"""Cells written to CSV and XLSX files that people open in a spreadsheet.

Excel, WPS and LibreOffice treat a cell starting with ``=``, ``+``, ``-`` or ``@`` (and, in some versions,
a tab or carriage return) as a formula: an owner's name like ``=HYPERLINK(…)`` in the roll would run in the
committee's spreadsheet. Every CSV and XLSX the system writes passes its cells through :func:`safe_cell`, which puts a
``'`` in front of such a cell; spreadsheets show the text as written and do not evaluate it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """``value`` as text, with a leading ``'`` when a spreadsheet would read it as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def write_csv(header: Iterable[object], rows: Iterable[Iterable[object]]) -> str:
    """A CSV document (``\\n`` line ends) with every cell, header included, neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in header])
    for row in rows:
        writer.writerow([safe_cell(c) for c in row])
    return out.getvalue()


def write_xlsx(sheets: Iterable[tuple[str, Iterable[Iterable[object]]]]) -> bytes:
    """An XLSX workbook of ``(title, rows)`` sheets in order, every text cell neutralised as in :func:`write_csv`
    (numbers stay numbers)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append([safe_cell(c) if isinstance(c, str) else c for c in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
