"""``yishi ladder show|set|add-level|remove-level|unset-deadline``: a community's escalation ladder, versioned in
its structure stream (issue 19).

``set`` records a new version (``LadderVersioned``) from a JSON file (domain/ladders.py ``LadderVersion``) or from
the current version with changes given as options; ``add-level`` / ``remove-level`` / ``unset-deadline`` edit the
current version with the console's own pure functions (domain/ladder_edits.py). Each records the operator's name
and role (``--by`` / ``--as``); tickets already open keep the version they started with.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from domain.errors import N_, Items, Label
from domain.ladder_edits import FIRST, LEVEL_KINDS
from yishi.cli.grid import by_of, instant, run, structure_change, who_options
from yishi.cli.stack import data_dir_option


@click.group("ladder")
def ladder() -> None:
    """The escalation ladder of a community (levels, organisations, deadlines per category), versioned."""


async def _current(store: Any, pool: Any, community: str, at: datetime | None) -> Any:
    from activities.routing import ladder_at

    async with pool.acquire() as conn:
        return await ladder_at(conn, community, at or datetime.now(UTC))


@ladder.command("show")
@click.argument("community")
@click.option("--at", "at_text", default=None, help="The version current at the end of this day (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True)
@data_dir_option
def show_cmd(community: str, at_text: str | None, as_json: bool) -> None:
    """The version current now (or at --at): its levels and deadlines."""
    version = run(lambda store, pool: _current(store, pool, community, instant(at_text)))
    if as_json:
        click.echo(version.model_dump_json(indent=2))
        return
    click.echo(f"version {version.version}")
    for level in version.levels:
        click.echo(f"  {level.key:<10} {level.org or '(by category)':<28} {','.join(level.roles):<24} "
                   f"ack {level.ack:<6} resolve {level.resolve}")
    for category, levels in sorted(version.deadlines.items()):
        for key, periods in sorted(levels.items()):
            click.echo(f"  {category}/{key}: ack {periods.ack}, resolve {periods.resolve}")
    joint = version.joint
    click.echo(f"  吹哨报到 joint parts: report {joint.report}, resolve {joint.resolve}, then {joint.supervisor}")


def _deadline(text: str) -> tuple[str, str, str, str]:
    """``CATEGORY:LEVEL=ACK/RESOLVE`` (``housing:street=PT4H/3wd``)."""
    try:
        where, periods = text.split("=", 1)
        category, level = where.split(":", 1)
        ack, resolve = periods.split("/", 1)
    except ValueError:
        raise click.BadParameter(f"“{text}”应写成 类别:层级=签收期限/办结期限，如 housing:street=PT4H/3wd / "
                                 f"'{text}' must be CATEGORY:LEVEL=ACK/RESOLVE, e.g. housing:street=PT4H/3wd") from None
    return category.strip(), level.strip(), ack.strip(), resolve.strip()


@ladder.command("set")
@click.argument("community")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="A whole version as JSON (see `yishi ladder show --json`).")
@click.option("--deadline", "deadlines", multiple=True, help="CATEGORY:LEVEL=ACK/RESOLVE (repeatable).")
@click.option("--joint-report", default=None, help="Report-in period of a joint part, e.g. PT24H.")
@click.option("--joint-resolve", default=None, help="Resolve period of a joint part, e.g. 5wd.")
@click.option("--supervisor", default=None, help="Where a late part goes, e.g. dept:supervision.")
@who_options
def set_cmd(community: str, path: Path | None, deadlines: tuple[str, ...], joint_report: str | None,
            joint_resolve: str | None, supervisor: str | None, by: str | None, role: str) -> None:
    """Record a new version of the ladder."""
    from domain.ladders import Deadline, LadderVersion
    from yishi.services import structure

    now = datetime.now(UTC)
    if path is not None:
        spec = LadderVersion.model_validate(json.loads(path.read_text(encoding="utf-8")))
    else:
        spec = run(lambda store, pool: _current(store, pool, community, now))
    table = {c: dict(levels) for c, levels in spec.deadlines.items()}
    for text in deadlines:
        category, level, ack, resolve = _deadline(text)
        table.setdefault(category, {})[level] = Deadline(ack=ack, resolve=resolve)
    joint = spec.joint.model_copy(update={k: v for k, v in (("report", joint_report), ("resolve", joint_resolve),
                                                            ("supervisor", supervisor)) if v})
    spec = spec.model_copy(update={"deadlines": table, "joint": joint})
    structure_change(community, structure.ladder(spec, now, by_of(by, role)))


def _edit(community: str, edit: Callable[[Any], Any], by: str | None, role: str) -> None:
    """Record the current version changed by ``edit`` (a refusal exits 2 with what to do, nothing recorded)."""
    from yishi.services import structure

    now = datetime.now(UTC)

    async def work(store: Any, pool: Any) -> tuple[Any, int]:
        spec = edit(await _current(store, pool, community, now))
        return await structure.change(store, pool, community, structure.ladder(spec, now, by_of(by, role)))

    _, written = run(work)
    click.echo(f"{written} change(s) recorded in structure-{community}" if written else "already so: nothing recorded")


@ladder.command("add-level")
@click.argument("community")
@click.argument("kind", type=click.Choice(LEVEL_KINDS))
@click.option("--after", default=None,
              help=f"The level it follows; '{FIRST}': tickets reach it first (default: after the last level).")
@click.option("--ack", default="", help="Acknowledge within, e.g. PT24H (default: the ladder's default).")
@click.option("--resolve", default="", help="Resolve within, e.g. 5wd (default: the ladder's default).")
@who_options
def add_level_cmd(community: str, kind: str, after: str | None, ack: str, resolve: str, by: str | None,
                  role: str) -> None:
    """Add a level of one of the listed organisations, after the level --after (as the console does)."""
    from domain.ladder_edits import add_level

    def edit(spec: Any) -> Any:
        return add_level(spec, community, kind, after or spec.levels[-1].key, ack, resolve)

    _edit(community, edit, by, role)


@ladder.command("remove-level")
@click.argument("community")
@click.argument("levels", nargs=-1, required=True)
@who_options
def remove_level_cmd(community: str, levels: tuple[str, ...], by: str | None, role: str) -> None:
    """Remove levels (with the deadlines categories had at them)."""
    from domain.ladder_edits import remove_levels
    from domain.structure_commands import StructureError

    def edit(spec: Any) -> Any:
        have = [lv.key for lv in spec.levels]
        if unknown := [k for k in levels if k not in have]:
            raise StructureError(N_("the ladder has no level '%(level)s'; its levels are %(valid)s"),
                                 level=Label("level", unknown[0]), valid=Items(Label("level", k) for k in have))
        return remove_levels(spec, levels)

    _edit(community, edit, by, role)


@ladder.command("unset-deadline")
@click.argument("community")
@click.argument("where", metavar="CATEGORY:LEVEL")
@who_options
def unset_deadline_cmd(community: str, where: str, by: str | None, role: str) -> None:
    """Remove a category's own periods at one level (the level's periods apply again)."""
    from domain.ladder_edits import remove_deadline

    category, _, level = where.partition(":")
    if not category.strip() or not level.strip():
        raise click.BadParameter(f"“{where}”应写成 类别:层级，如 housing:street / "
                                 f"'{where}' must be CATEGORY:LEVEL, e.g. housing:street")
    _edit(community, lambda spec: remove_deadline(spec, category.strip(), level.strip()), by, role)
