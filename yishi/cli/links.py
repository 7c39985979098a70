"""``yishi links``: print the personal voting links of a deliberation (CSV) or its notice sheets (HTML)."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from yishi.cli.stack import data_dir_option, stack_settings


@click.command("links")
@click.argument("deliberation_id")
@click.option("--format", "fmt", type=click.Choice(["csv", "html"]), default="csv", show_default=True,
              help="csv: owner_id, rooms, url; html: A4 notice sheets per entrance with QR codes.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
@click.option("--reissue", "reissue", metavar="OWNER_ID", default=None,
              help="Revoke this owner's link (it stops at once) and print only the new one.")
@click.option("--by", default="cli", show_default=True,
              help="Who issues, reissues and prints (recorded in the deliberation's stream with each act).")
@click.option("--english", is_flag=True, help="Sheets in Chinese and English (default: Chinese only).")
@data_dir_option
def links(deliberation_id: str, fmt: str, output: Path | None, reissue: str | None, by: str, english: bool) -> None:
    """Issue (idempotently) and print every owner's link for DELIBERATION_ID.

    Running it again prints the same links: sheets already posted stay valid. Issuing, reissuing and every
    printing are recorded in the deliberation's stream (who: --by), visible to auditors and to the owners.
    """
    from yishi.logs import configure_logging

    configure_logging("WARNING", False)  # to standard error: standard output is the CSV or the sheets
    settings = stack_settings("database")
    if not settings.public_base_url:
        raise click.UsageError("YISHI_PUBLIC_BASE_URL is not set: printed links need the public address, "
                               "e.g. https://yishi.example.cn")
    from yishi.services.links import LinkKeyChangedError, local_base
    if local_base(settings.public_base_url):
        click.echo(f"warning 警告: YISHI_PUBLIC_BASE_URL={settings.public_base_url} 是本机地址，业主的手机打不开"
                   "这些链接 / is a local address: owners' phones cannot open these links", err=True)
    from yishi.services.voting import NoSuchBoxError

    try:
        text = asyncio.run(render_links(settings, deliberation_id, fmt, reissue, by, english=english))
    except NoSuchBoxError:
        click.echo(f"error: deliberation {deliberation_id} has no open ballot box; open it first", err=True)
        sys.exit(2)
    except LinkKeyChangedError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


def progress_line(what: str):  # type: ignore[no-untyped-def]
    """A progress callback writing ``what: done/total`` to standard error (standard output is the CSV or the
    sheets); silent for rolls of one batch."""
    from yishi.services.link_issuing import BATCH

    def report(done: int, total: int) -> None:
        if total > BATCH:
            click.echo(f"{what}: {done:,}/{total:,}", err=True)

    return report


async def render_links(settings, deliberation_id: str, fmt: str, reissue: str | None, by: str,  # type: ignore[no-untyped-def]
                       english: bool = False) -> str:
    """Issue or reissue links and render them; shared by the CLI and its tests.

    Each act is recorded in the deliberation's stream (yishi/services/link_issuing.py) with ``by`` and
    ``via="cli"``: issuing what is missing, reissuing, and printing the live links (a disclosure, recorded before
    the tokens are rendered)."""
    from activities.db import create_pool
    from activities.eventstore import EventStore
    from yishi.services.link_issuing import Actor, disclose_links, issue_links, reissue_link
    from yishi.services.voting import deliberation_info, load_box
    from yishi.web.app import secret_key_for
    from yishi.web.sheets import build_sheets, render_csv, render_sheets_html

    secret = secret_key_for(settings)
    actor = Actor(by, "cli")
    pool = await create_pool(settings.database_url, max_size=2)
    try:
        store = EventStore(pool)
        box = await load_box(store, deliberation_id)
        now = datetime.now(UTC)
        shown = "csv" if fmt == "csv" else ("sheet" if reissue is not None else "sheets")
        if reissue is not None:
            if reissue not in box.state.electorate.owner_areas:
                raise click.BadParameter(f"owner {reissue} holds no room in this deliberation", param_hint="--reissue")
            await reissue_link(store, deliberation_id, reissue, secret_key=secret, now=now, actor=actor)
            owners = [reissue]
        else:
            owners = sorted(box.state.electorate.owner_areas)
            await issue_links(store, deliberation_id, owners, secret_key=secret, now=now, actor=actor,
                              progress=progress_line("issuing links / 发放链接"))
        issued = await disclose_links(store, deliberation_id, owners, secret_key=secret, now=now, actor=actor,
                                      fmt=shown, progress=progress_line("printing links / 打印链接"))
        by_owner = {link.owner_id: link for link in issued}
        if fmt == "csv":
            return render_csv(box, by_owner, settings.public_base_url)
        info = await deliberation_info(pool, deliberation_id)
        return render_sheets_html(build_sheets(box, by_owner, settings.public_base_url), box, info,
                                  base_url=settings.public_base_url, english=english)
    finally:
        await pool.close()
