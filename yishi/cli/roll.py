"""``yishi roll``: a roll template to fill in, and a check of a filled-in roll before a deliberation uses it.

Exit 0 with a summary; exit 2 with every problem of the file, each naming the row and the header as the file
wrote it (never a traceback).
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

import click

from domain.errors import DomainError
from domain.numbers import decimal_str
from domain.roll_parse import roll_template
from yishi.i18n import translator


@click.group("roll")
def roll() -> None:
    """Owners roll (业主名册): a template, and a check before starting a deliberation."""


def template_xlsx(text: str) -> bytes:
    """A roll template's CSV text as an XLSX workbook, every cell text."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "业主名册"
    for line in text.splitlines():
        # Every cell as text: Excel would otherwise turn 3-2-101 into a date and drop 89.50's trailing zero.
        sheet.append(line.split(","))
    for row in sheet.iter_rows():
        for cell in row:
            cell.number_format = "@"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@roll.command("template")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Header language: Chinese names (房号, 业主姓名 …) or the English column names.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this .csv (UTF-8 with BOM, opens in Excel) or .xlsx; default: print the CSV.")
def template(lang: str, output: str | None) -> None:
    """A roll to fill in: the header and four sample rows (delete them before importing)."""
    text = roll_template(lang)
    if output is None:
        click.echo(text.replace("\r\n", "\n"), nl=False)
        return
    data = template_xlsx(text) if output.lower().endswith(".xlsx") else text.encode("utf-8-sig")
    Path(output).write_bytes(data)
    click.echo(translator(lang).gettext("%(path)s: roll template written", path=output), err=True)


@roll.command("check")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
def check(path: str, lang: str) -> None:
    """Check the roll PATH (.csv or .xlsx) as `yishi start` would read it, and summarise it."""
    from domain.roll import load_roll
    from yishi.services.files import file_limits, read_bounded
    from yishi.settings import get_settings

    tr = translator(lang)
    limits = file_limits(get_settings())
    try:
        data = read_bounded(path, limits.max_bytes)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        click.echo(tr.gettext("%(path)s: cannot read (%(reason)s)", path=path, reason=reason), err=True)
        raise SystemExit(2) from None
    try:
        parsed = load_roll(data, path, limits)
    except DomainError as exc:
        click.echo(tr.error(exc), err=True)
        raise SystemExit(2) from None
    for note in parsed.notes:
        click.echo(tr.error(note), err=True)
    owners = len({room.owner_id for room in parsed.rooms})
    area = decimal_str(sum((room.area_m2 for room in parsed.rooms), Decimal(0)))
    buildings = len({room.building for room in parsed.rooms})
    click.echo(tr.gettext("%(path)s: %(rooms)s rooms, %(owners)s owners (headcount), %(buildings)s buildings, "
                          "total area %(area)s m²; digest %(digest)s", path=path, rooms=len(parsed.rooms),
                          owners=owners, buildings=buildings, area=area, digest=parsed.digest()))
