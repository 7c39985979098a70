"""``yishi i18n``: the translator's workflow (docs/i18n.md): extract, update, check, init a language."""

from __future__ import annotations

import click


@click.group("i18n")
def i18n() -> None:
    """Translations: gettext catalogs under yishi/locale (docs/i18n.md)."""


@i18n.command("extract")
def extract() -> None:
    """Read every message of the code and templates into yishi/locale/messages.pot."""
    from yishi.i18n import tools

    template = tools.write_template()
    click.echo(f"{tools.TEMPLATE}: {len([m for m in template if m.id])} messages")


@i18n.command("update")
def update() -> None:
    """Merge messages.pot into every language's messages.po: new messages empty, changed ones fuzzy."""
    from yishi.i18n import tools

    for path in tools.update():
        click.echo(f"updated {path}")


@i18n.command("check")
def check() -> None:
    """Exit 1 when messages.pot is out of date or a catalog lacks a translation (zh_CN: every message; other
    languages: no fuzzy entry, fields as in the msgid)."""
    from yishi.i18n import tools

    problems = tools.check()
    for line in problems:
        click.echo(line, err=True)
    if problems:
        raise SystemExit(1)
    click.echo("catalogs complete")


@i18n.command("init")
@click.argument("locale")
def init(locale: str) -> None:
    """Start the catalog of LOCALE (a Babel locale such as ug_CN or bo_CN) from messages.pot."""
    from babel import Locale, UnknownLocaleError

    from yishi.i18n import tools

    try:
        Locale.parse(locale)
    except (ValueError, UnknownLocaleError):
        raise click.BadParameter(f"{locale!r} is not a locale Babel knows (e.g. ug_CN, bo_CN)") from None
    try:
        path = tools.init(locale)
    except FileExistsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {path}; translate it, then add {locale} to YISHI_LANGUAGES")
