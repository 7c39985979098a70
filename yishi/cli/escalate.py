"""``yishi escalate open``: file a resident's complaint as an escalation ticket (as the console's form does).

Uses YISHI_TEMPORAL_ADDRESS and YISHI_DATABASE_URL, else the running ``yishi up`` of ``--data-dir``. Prints the
ticket id. Exit 2 with every problem of the complaint (field, attachment line, what to do), never a traceback.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from typing import Any

import click

from yishi.cli.deliberation import _fail, _settings, _with_pool
from yishi.cli.stack import data_dir_option
from yishi.i18n import translator


@click.group("escalate")
def escalate() -> None:
    """Escalation tickets (吹哨报到): file a resident's complaint."""


@escalate.command("open")
@click.option("--community", default="default", show_default=True, help="The resident's community (社区).")
@click.option("--resident", required=True, help="Who complains: owner id on the roll, or a name and room.")
@click.option("--category", required=True,
              help="housing | urban_management | market_regulation | planning (or the community ladder's own).")
@click.option("--subject", required=True, help="One line, e.g. 楼道堆物.")
@click.option("--detail", default="", help="What happened.")
@click.option("--deliberation", "deliberation_id", default=None, help="The related deliberation id, if any.")
@click.option("--start-level", default=None, help="grid | community | street | department (default: the first).")
@click.option("--attachment", "attachments", multiple=True,
              help='"FILE NAME, SHA256" of a file kept elsewhere (repeatable).')
@click.option("--filed-by", default=None, help="Who typed it in (default: the login name).")
@click.option("--ticket-id", default=None, help="Reuse to retry safely: the same id opens one ticket.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@data_dir_option
def open_cmd(community: str, resident: str, category: str, subject: str, detail: str, deliberation_id: str | None,
             start_level: str | None, attachments: tuple[str, ...], filed_by: str | None, ticket_id: str | None,
             lang: str) -> None:
    """Open a ticket for a resident's complaint and print its id."""
    from yishi.services.complaints import Complaint, ComplaintError, file_complaint
    from yishi.temporal_client import connect

    settings = _settings()
    clerk = filed_by or os.environ.get("USER") or "operator"
    complaint = Complaint(community=community, resident=resident, category=category, subject=subject,
                          detail=detail, deliberation_id=deliberation_id, start_level=start_level,
                          attachments="\n".join(attachments), filed_by=f"cli {clerk}")
    chosen = ticket_id or f"esc-{secrets.token_hex(6)}"

    async def go(pool: Any) -> str:
        client = await connect(settings)
        return await file_complaint(client, pool, complaint, task_queue=settings.task_queue, ticket_id=chosen)

    try:
        click.echo(asyncio.run(_with_pool(settings, go)))
    except ComplaintError as exc:
        _fail(translator(lang).error(exc))
