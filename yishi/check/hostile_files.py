"""Hostile uploads and slow bodies, as tools: a zip-bomb XLSX, a roll of bad rows, a raw HTTP post that stalls.

Used by scenario 6 of the fault suite (:mod:`yishi.check.hostile`) and by the tests (tests/web/test_upload_bounds.py,
tests/domain/test_roll_limits.py). Everything goes to loopback only.
"""

from __future__ import annotations

import asyncio
import io
import ipaddress
import zipfile
from dataclasses import dataclass
from urllib.parse import urlsplit

ROLL_HEADER = ("room_id", "building", "entrance", "floor", "area_m2", "owner_id", "owner_name", "phone")
SHEET = "xl/worksheets/sheet1.xml"
SHEET_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
              b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')


def _inline_row(values: tuple[str, ...], number: int | None = None) -> bytes:
    cells = "".join(f'<c t="inlineStr"><is><t>{value}</t></is></c>' for value in values)
    where = f' r="{number}"' if number is not None else ""
    return f"<row{where}>{cells}</row>".encode()


def workbook(rows: int, row: tuple[str, ...] = ("9-1-101", "9", "1", "1", "88.5", "H1", "x", ""), *,
             dimension: str | None = None, last_row_at: int | None = None) -> bytes:
    """An XLSX roll: the header, then ``rows`` copies of ``row`` (no row numbers, so a million of them compress
    to about 1.4 MB: the zip bomb of issue 17), streamed into the archive a block at a time. ``dimension`` is
    what the sheet claims its used range is; ``last_row_at`` adds one more row with that row number."""
    from domain.roll_parse import roll_template
    from yishi.cli.roll import template_xlsx

    base = zipfile.ZipFile(io.BytesIO(template_xlsx(roll_template("en"))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in base.infolist():
            if info.filename != SHEET:
                archive.writestr(info.filename, base.read(info.filename))
        with archive.open(SHEET, "w", force_zip64=True) as sheet:
            sheet.write(SHEET_HEAD)
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>" + _inline_row(ROLL_HEADER))
            block, whole = _inline_row(row) * 10_000, rows // 10_000
            for _ in range(whole):
                sheet.write(block)
            sheet.write(_inline_row(row) * (rows - whole * 10_000))
            if last_row_at is not None:
                sheet.write(_inline_row(row, last_row_at))
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def distinct_rooms_xlsx(rows: int) -> bytes:
    """An honest workbook of ``rows`` different rooms (compressed about 10 to 1, as real sheets are): openpyxl
    takes seconds for tens of thousands of rows."""
    from domain.roll_parse import roll_template
    from yishi.cli.roll import template_xlsx

    base = zipfile.ZipFile(io.BytesIO(template_xlsx(roll_template("en"))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in base.infolist():
            if info.filename != SHEET:
                archive.writestr(info.filename, base.read(info.filename))
        with archive.open(SHEET, "w", force_zip64=True) as sheet:
            sheet.write(SHEET_HEAD + b"<sheetData>" + _inline_row(ROLL_HEADER))
            for n in range(rows):
                sheet.write(_inline_row((f"7-{n % 6 + 1}-{n}", "7", str(n % 6 + 1), str(n % 33 + 1),
                                         f"{60 + n % 90}.{n % 100:02d}", f"Q{n:06d}", f"业主{n}", f"139{n:08d}")))
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def zip_bomb_xlsx(rows: int = 1_000_000) -> bytes:
    """A 1.4 MB workbook whose sheet unpacks to about 310 MB: a million rows of the same room."""
    return workbook(rows)


def bad_rows_csv(rows: int) -> bytes:
    """A roll CSV whose every row has an area that is not a number."""
    body = "".join(f"9-1-{n},9,1,1,abc,H{n},x,\n" for n in range(rows))
    return (",".join(ROLL_HEADER) + "\n" + body).encode()


def multipart(fields: dict[str, str], filename: str, content: bytes, boundary: str = "yishi-hostile") -> bytes:
    """A multipart/form-data body: the fields, then the file as ``roll``."""
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="roll"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


@dataclass
class RawAnswer:
    """What a raw post got: the status (None: no status line), how long that took, how much of the body the client
    managed to hand to the socket, and whether the server closed (or reset) the connection. A server that answers
    early and closes while the client is still sending may reset the connection before the client reads the
    answer: no status, but closed."""

    status: int | None
    seconds: float
    sent: int
    closed: bool


def loopback(url: str) -> tuple[str, int]:
    """Host and port of ``url``, which must be on loopback (load and fault traffic never leaves the machine)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"{url} is not a loopback address")
    return host, parts.port or 80


async def stalled_post(url: str, path: str, *, body: bytes, then: bytes = b"", headers: dict[str, str] | None = None,
                       chunked: bool = True, content_length: int | None = None, wait: float = 10.0) -> RawAnswer:
    """POST ``path`` with ``body`` as the first part of the body and wait up to ``wait`` seconds for the status line;
    if none came (and the connection is open), send ``then`` (what a server that reads bodies before it answers
    would hold) and wait as long again; then send nothing more, and see whether the server closes."""
    host, port = loopback(url)
    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection(host, port)
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}",
             "Content-Type: multipart/form-data; boundary=yishi-hostile"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    total = content_length or len(body) + len(then) + 1
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}")

    def part(data: bytes) -> None:
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n" if chunked else data)

    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        part(body)
        started, written = loop.time(), len(body)
        status_line, closed = await _status_line(reader, writer, wait)
        if not status_line and not closed and then:
            part(then)
            written += len(then)
            status_line, closed = await _status_line(reader, writer, wait)
        seconds = loop.time() - started
        sent = written - (0 if writer.transport.is_closing() else writer.transport.get_write_buffer_size())
        fields = status_line.split()
        status = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None
        if status is not None:
            try:
                while await asyncio.wait_for(reader.read(65536), 5):
                    pass
                closed = True  # end of stream: the server closed the connection
            except ConnectionError:
                closed = True
            except TimeoutError:
                closed = False
        return RawAnswer(status, seconds, sent, closed)
    finally:
        writer.close()


async def first_answer_to_expect_continue(url: str, path: str, headers: dict[str, str] | None = None,
                                          length: int = 8 * 1024 * 1024) -> int | None:
    """POST ``path`` announcing a body of ``length`` bytes with ``Expect: 100-continue`` and send none of it: the
    status the server answers first. 100 means it asked for the body (uvicorn says so when the app first reads
    it); a final status means it decided without reading a byte."""
    host, port = loopback(url)
    reader, writer = await asyncio.open_connection(host, port)
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {length}", "Expect: 100-continue",
             "Content-Type: multipart/form-data; boundary=yishi-hostile",
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    try:
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        line = await asyncio.wait_for(reader.readline(), 10)
    except (TimeoutError, ConnectionError):
        return None
    finally:
        writer.close()
    fields = line.split()
    return int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else None


async def _status_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wait: float) -> tuple[bytes, bool]:
    """The status line within ``wait`` seconds (b"" if none), and whether the server closed the connection."""
    loop = asyncio.get_running_loop()
    until = loop.time() + wait
    try:
        await asyncio.wait_for(writer.drain(), wait)
    except (TimeoutError, ConnectionError):
        pass
    try:
        line = await asyncio.wait_for(reader.readline(), max(0.1, until - loop.time()))
    except TimeoutError:
        return b"", False
    except ConnectionError:
        return b"", True
    return line, not line  # the end of the stream before any answer: closed
