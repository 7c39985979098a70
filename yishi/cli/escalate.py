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

from yishi.cli.deliberation import cli_settings, fail, with_pool
from yishi.cli.stack import data_dir_option, stack_settings
from yishi.i18n import both, translator


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
@click.option("--building", default="", help="The building (楼栋): the ticket goes to its grid.")
@click.option("--entrance", default="", help="The building's entrance (单元).")
@click.option("--room", default="", help="The room (房号): its building is found on the community's roll.")
@click.option("--channel", type=click.Choice(["resident", "grid_report", "secretary"]), default="resident",
              show_default=True, help="grid_report: a grid worker's own report; secretary: 书记直通车.")
@click.option("--ticket-id", default=None, help="Reuse to retry safely: the same id opens one ticket.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@data_dir_option
def open_cmd(community: str, resident: str, category: str, subject: str, detail: str, deliberation_id: str | None,
             start_level: str | None, attachments: tuple[str, ...], filed_by: str | None, building: str,
             entrance: str, room: str, channel: str, ticket_id: str | None, lang: str) -> None:
    """Open a ticket for a resident's complaint and print its id."""
    from yishi.services.complaints import Complaint, ComplaintError, file_complaint
    from yishi.temporal_client import connect

    settings = cli_settings()
    clerk = filed_by or os.environ.get("USER") or "operator"
    complaint = Complaint(community=community, resident=resident, category=category, subject=subject,
                          detail=detail, deliberation_id=deliberation_id, start_level=start_level,
                          attachments="\n".join(attachments), filed_by=f"cli {clerk}", building=building,
                          entrance=entrance, room=room, channel=channel)
    chosen = ticket_id or f"esc-{secrets.token_hex(6)}"

    async def go(pool: Any) -> str:
        client = await connect(settings)
        return await file_complaint(client, pool, complaint, task_queue=settings.task_queue, ticket_id=chosen)

    try:
        click.echo(asyncio.run(with_pool(settings, go)))
    except ComplaintError as exc:
        fail(translator(lang).error(exc))


def _client_call(work: Any) -> Any:
    from yishi.services.escalations import RefusedError
    from yishi.temporal_client import connect

    settings = cli_settings()

    async def go(pool: Any) -> Any:
        return await work(await connect(settings), pool)

    try:
        return asyncio.run(with_pool(settings, go))
    except RefusedError as exc:
        fail(both(exc))


@click.command("whistle")
@click.argument("ticket_id")
@click.option("--to", "departments", required=True, help="The departments, comma-separated: dept:market,dept:urban.")
@click.option("--reason", required=True, help="Why they are called in (吹哨事由).")
@click.option("--org", default="street", show_default=True, help="The street office's organisation.")
@click.option("--by", default=None, help="Who blows the whistle (default: the login name).")
@click.option("--as", "role", default="street_office", show_default=True)
@data_dir_option
def whistle_cmd(ticket_id: str, departments: str, reason: str, org: str, by: str | None, role: str) -> None:
    """吹哨报到: call several departments in on one ticket at once; each owns a part with its own deadlines."""
    from workflows.escalation_joint import Whistle
    from yishi.services.escalations import whistle

    arg = Whistle(role=role, actor=f"cli {by or os.environ.get('USER') or 'operator'}", org=org,
                  departments=tuple(d.strip() for d in departments.split(",") if d.strip()), text=reason)
    receipt = _client_call(lambda client, pool: whistle(client, ticket_id, arg))
    click.echo(f"{receipt.ticket_id}: {len(arg.departments)} department(s) called in (seq {receipt.seq})")


@escalate.command("part")
@click.argument("ticket_id")
@click.argument("part", type=int)
@click.option("--action", type=click.Choice(["report_in", "resolve_part", "release_part"]), required=True)
@click.option("--org", required=True, help="The organisation acting (the part's owner, or the street office).")
@click.option("--text", default="", help="The resolution, or the reason for a release.")
@click.option("--by", default=None)
@click.option("--as", "role", default="department", show_default=True)
@data_dir_option
def part_cmd(ticket_id: str, part: int, action: str, org: str, text: str, by: str | None, role: str) -> None:
    """A joint part: report in (报到), resolve it, or release a department from it."""
    from workflows.escalation_joint import PartAction
    from yishi.services.escalations import act_part

    arg = PartAction(role=role, actor=f"cli {by or os.environ.get('USER') or 'operator'}", org=org, part=part,
                     text=text)
    receipt = _client_call(lambda client, pool: act_part(client, ticket_id, action, arg))
    click.echo(f"{receipt.ticket_id}: {action} recorded (seq {receipt.seq}), ticket {receipt.status}")


@escalate.command("rebuild")
@data_dir_option
def rebuild_cmd() -> None:
    """Rebuild the tickets' read model (inbox rows, parts, the appraisal's turns) from their streams."""
    from activities.eventstore import EventStore
    from yishi.services.escalations import rebuild_projection

    settings = stack_settings("database")
    count = asyncio.run(with_pool(settings, lambda pool: rebuild_projection(EventStore(pool), pool)))
    click.echo(f"{count} tickets rebuilt")
