"""``yishi grid …`` and ``yishi ladder …``: a community's structure from the command line (issue 19).

Every change is an event in the community's stream ``structure-<community>`` with the operator's name and role
(``--by`` / ``--as``; default the login name, ``operator``). Refusals exit 2 with what to do (zh / en). Uses
YISHI_DATABASE_URL, else the running ``yishi up`` of ``--data-dir``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from domain.errors import DomainError
from domain.legal_calendar import BEIJING
from yishi.cli.stack import data_dir_option, stack_settings
from yishi.i18n import both, translator

T = TypeVar("T")
who = [click.option("--by", "by", default=None, help="Who does it (default: the login name)."),
       click.option("--as", "role", default="operator", show_default=True, help="Their role, e.g. committee.")]


def who_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(who):
        fn = option(fn)
    return data_dir_option(fn)


def by_of(by: str | None, role: str) -> str:
    return f"cli {role} {by or os.environ.get('USER') or 'operator'}"


def run(work: Callable[[Any, Any], Awaitable[T]]) -> T:
    """Run ``work(store, pool)`` against the database; a domain refusal exits 2 with its message."""
    from activities.db import create_pool
    from activities.eventstore import EventStore
    from yishi.logs import configure_logging

    configure_logging("WARNING", False)  # to standard error: standard output is the answer (or its JSON)
    settings = stack_settings("database")

    async def main() -> T:
        pool = await create_pool(settings.database_url, max_size=2)
        try:
            return await work(EventStore(pool), pool)
        finally:
            await pool.close()

    try:
        return asyncio.run(main())
    except DomainError as exc:
        click.echo(both(exc), err=True)
        raise SystemExit(2) from None


def instant(text: str | None) -> datetime | None:
    """``2026-03-15`` (the state at the end of that day, Beijing) or an ISO instant."""
    if text is None:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text) + timedelta(days=1), time(), BEIJING) - timedelta(
                microseconds=1)
        found = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"“{text}”不是日期 / '{text}' is not a date (YYYY-MM-DD) or ISO instant") from None
    return found if found.tzinfo else found.replace(tzinfo=BEIJING)


@click.group("grid")
def grid() -> None:
    """Grids, buildings, grid workers and party organisation of a community (网格化管理)."""


@grid.command("template")
def template_cmd() -> None:
    """Print a grid file to fill in (CSV, Chinese headers)."""
    from domain.structure_import import TEMPLATE

    click.echo(TEMPLATE, nl=False)


@grid.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--street", required=True, help="The street office (街道) the communities belong to.")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@who_options
def import_cmd(file: Path, street: str, lang: str, as_json: bool, by: str | None, role: str) -> None:
    """Import a street's grids from CSV or XLSX: every problem of the file at once, else the changes recorded."""
    from domain.structure_import import StructureImportError
    from yishi.services.structure import import_grids

    data = file.read_bytes()

    async def work(store: Any, pool: Any) -> Any:
        return await import_grids(store, pool, data, file.name, street=street, by=by_of(by, role),
                                  at=datetime.now(UTC))

    try:
        report = run(work)
    except StructureImportError as exc:
        click.echo(translator(lang).error(exc), err=True)
        raise SystemExit(2) from None
    doc = report.to_json()
    click.echo(json.dumps(doc, ensure_ascii=False) if as_json else
               f"{doc['rows']} rows: {doc['communities']} communities, {doc['grids']} grids, {doc['buildings']} "
               f"buildings; {doc['events']} changes recorded in {doc['seconds']} s")


@grid.command("show")
@click.argument("community")
@click.option("--building", default=None, help="Only: whose grid this building was in.")
@click.option("--entrance", default="", help="The building's entrance (单元).")
@click.option("--at", "at_text", default=None, help="As it stood at the end of this day (YYYY-MM-DD) or instant.")
@click.option("--json", "as_json", is_flag=True)
@data_dir_option
def show_cmd(community: str, building: str | None, entrance: str, at_text: str | None, as_json: bool) -> None:
    """The community's grids, their buildings and workers (now, or at --at); or one building's grid."""
    from yishi.services.structure_view import structure_doc

    at = instant(at_text)

    async def work(store: Any, pool: Any) -> dict[str, Any]:
        from yishi.services.structure import load_structure

        state, _ = await load_structure(store, community)
        return structure_doc(state, at, building, entrance)

    doc = run(work)
    if building is not None:
        click.echo(json.dumps(doc, ensure_ascii=False) if as_json else (doc["grid"] or "—"))
        return
    click.echo(json.dumps(doc, ensure_ascii=False, indent=2) if as_json else "\n".join(
        f"{g['code']}\t{g['name']}\t{', '.join(g['workers']) or '—'}\t{len(g['buildings'])} buildings"
        for g in doc["grids"]))


def structure_change(community: str, decide: Any) -> None:
    from yishi.services.structure import change

    _, written = run(lambda store, pool: change(store, pool, community, decide))
    click.echo(f"{written} change(s) recorded in structure-{community}" if written else "already so: nothing recorded")


@grid.command("community")
@click.argument("community")
@click.option("--name", required=True)
@click.option("--street", required=True)
@who_options
def community_cmd(community: str, name: str, street: str, by: str | None, role: str) -> None:
    """Define a community (社区) of a street."""
    from domain.structure import CommunityListed
    from yishi.services import structure

    who_ = by_of(by, role)
    now = datetime.now(UTC)
    structure_change(community, structure.community(community, name, street, now, who_))

    async def listed(store: Any, pool: Any) -> None:
        from activities.structure import list_communities

        await list_communities(store, street, [CommunityListed(at=now, by=who_, street=street, community=community,
                                                               name=name)])

    run(listed)


@grid.command("define")
@click.argument("community")
@click.argument("code")
@click.option("--name", default="", help="The grid's name (default: its code).")
@who_options
def define_cmd(community: str, code: str, name: str, by: str | None, role: str) -> None:
    """Define a grid with its code (赋码编号), or rename it."""
    from yishi.services import structure

    structure_change(community, structure.grid(code, name, datetime.now(UTC), by_of(by, role)))


@grid.command("retire")
@click.argument("community")
@click.argument("code")
@click.option("--reason", required=True)
@who_options
def retire_cmd(community: str, code: str, reason: str, by: str | None, role: str) -> None:
    """Retire a grid with no building or worker left (its code is never reused)."""
    from yishi.services import structure

    structure_change(community, structure.retire(code, reason, datetime.now(UTC), by_of(by, role)))


@grid.command("assign")
@click.argument("community")
@click.option("--building", required=True)
@click.option("--entrance", default="", help="One entrance (单元) only; default the whole building.")
@click.option("--grid", "code", required=True)
@click.option("--address", default="", help="The building's address (for the hotline's addresses).")
@who_options
def assign_cmd(community: str, building: str, entrance: str, code: str, address: str, by: str | None,
               role: str) -> None:
    """Put a building (or one entrance) in a grid."""
    from yishi.services import structure

    structure_change(community, structure.building(building, entrance, code, datetime.now(UTC), by_of(by, role),
                                                   address))


@grid.command("worker")
@click.argument("community")
@click.argument("code")
@click.argument("person")
@click.option("--role", "post", type=click.Choice(["grid_worker", "building_head"]), default="grid_worker",
              show_default=True)
@click.option("--building", default="", help="For a building head (楼栋长): the building.")
@click.option("--remove", is_flag=True, help="End the assignment.")
@click.option("--reason", default="")
@who_options
def worker_cmd(community: str, code: str, person: str, post: str, building: str, remove: bool, reason: str,
               by: str | None, role: str) -> None:
    """Assign (or with --remove end) a grid worker or building head; PERSON is their account name."""
    from yishi.services import structure

    now, who_ = datetime.now(UTC), by_of(by, role)
    decide = (structure.unworker(code, post, person, reason, now, who_, building) if remove
              else structure.worker(code, post, person, now, who_, building))
    structure_change(community, decide)


@grid.command("party")
@click.argument("community")
@click.argument("org_id")
@click.option("--kind", type=click.Choice(["grid_branch", "building_group", "member_household"]), required=True)
@click.option("--name", required=True)
@click.option("--parent", default=None)
@click.option("--grid", "code", default="")
@click.option("--building", default="")
@click.option("--room", default="")
@click.option("--leader", default="")
@who_options
def party_cmd(community: str, org_id: str, kind: str, name: str, parent: str | None, code: str, building: str,
              room: str, leader: str, by: str | None, role: str) -> None:
    """Define a party organisation: 网格党支部 (grid_branch, --grid), 楼栋党小组 (building_group, --parent,
    --building) or 党员中心户 (member_household, --parent, --room)."""
    from domain.structure import PartyOrgDefined
    from yishi.services import structure

    org = PartyOrgDefined(at=datetime.now(UTC), by=by_of(by, role), org_id=org_id, kind=kind, name=name,  # type: ignore[arg-type]
                          parent=parent, grid=code, building=building, room=room, leader=leader)
    structure_change(community, structure.party(org))


@grid.command("street")
@click.argument("street")
@data_dir_option
def street_cmd(street: str) -> None:
    """The street office's communities."""
    from yishi.services.structure import street_communities

    for community, name in run(lambda store, pool: street_communities(store, street)):
        click.echo(f"{community}\t{name}")


@grid.command("rebuild")
@data_dir_option
def rebuild_cmd() -> None:
    """Rebuild the structure tables from the streams."""
    from activities.structure import rebuild_structures

    click.echo(f"{run(rebuild_structures)} communities rebuilt")
