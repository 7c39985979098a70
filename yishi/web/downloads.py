"""Files the console hands over as downloads (CSV and XLSX exports): one place for their headers.

Each is an attachment under the name given, never cached (``no-store``: the rows are a community's own). A CSV is
sent as UTF-8 with a byte order mark, so that Excel and WPS show the Chinese; the document itself is written by
yishi/services/csvsafe.py (``write_csv``, ``write_xlsx``), which neutralises cells a spreadsheet would run.
"""

from __future__ import annotations

from fastapi import Response

CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def attachment(body: bytes, filename: str, media_type: str) -> Response:
    """``body`` to save as ``filename`` (a name the caller made safe: ASCII, no quote)."""
    return Response(body, media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


def csv_file(text: str, filename: str) -> Response:
    """A CSV document's text, UTF-8 with a byte order mark."""
    return attachment(text.encode("utf-8-sig"), filename, CSV)


def xlsx_file(data: bytes, filename: str) -> Response:
    return attachment(data, filename, XLSX)
