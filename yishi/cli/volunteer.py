"""``yishi volunteer …``: volunteer teams (志愿服务队), their activities, sign-up, check-in/out and hours.

Every step that acts records the operator's name and role (``--name``, ``--role``). The hours a check-out counts
earn points under the community's hours rule (``yishi points rule --basis volunteer_hours --per hour``).
"""

from __future__ import annotations

import json
from datetime import datetime
from fractions import Fraction
from typing import Any

import click

from domain.errors import Lang
from yishi.cli.ledger_common import base_url, keyed, now, operator, run, who

community_option = click.option("--community", required=True, help="The community (社区).")


def _instant(text: str) -> datetime:
    """An ISO time; Beijing time when it has no offset."""
    from domain.legal_calendar import BEIJING

    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)


def hours_text(minutes: int) -> str:
    """Exact hours: ``2小时30分 (5/2 h)``."""
    whole, rest = divmod(minutes, 60)
    exact = Fraction(minutes, 60)
    return f"{whole}小时{rest:02d}分 ({exact.numerator}/{exact.denominator} h)"


@click.group("volunteer")
def volunteer() -> None:
    """Volunteers (志愿服务): teams, members, activities, sign-up, check-in/out, hours, certificates."""


@volunteer.command("team")
@community_option
@click.option("--id", "team_id", required=True)
@click.option("--team-name", required=True)
@click.option("--description", default="")
@operator
def team_cmd(community: str, team_id: str, team_name: str, description: str, name: str | None, role: str,
             lang: Lang) -> None:
    """Form a team; prints its sign-up poster link (for the QR poster)."""
    from domain.volunteer_decide import FormTeam
    from yishi.services import volunteers

    key = keyed().secret_key.get_secret_value()
    by = who(name, role)

    async def go(store: Any, _c: Any) -> Any:
        await volunteers.act(store, community, FormTeam(at=now(), by=by, team_id=team_id, name=team_name,
                                                        description=description))
        return await volunteers.poster_link(store.pool, store, community, team_id, by=by, secret_key=key, now=now())

    link = run(go, lang)
    click.echo(f"{team_id}")
    click.echo(f"poster 报名海报链接: {link.url(base_url())}")


@volunteer.command("join")
@community_option
@click.argument("team_id")
@click.option("--person-name", default=None, help="A new member's name (kept out of the streams).")
@click.option("--person", "person_id", default=None, help="An existing person's id instead.")
@click.option("--kind", type=click.Choice(["resident", "party_member", "dual_report"]), default="resident",
              show_default=True)
@click.option("--unit", default=None, help="The outside unit of a 双报到 party member.")
@click.option("--phone", default=None)
@operator
def join_cmd(community: str, team_id: str, person_name: str | None, person_id: str | None, kind: str,
             unit: str | None, phone: str | None, name: str | None, role: str, lang: Lang) -> None:
    """Add a member to a team (a new person, or one already in the ledger); prints their id."""
    from domain.volunteer_decide import JoinTeam
    from yishi.cli.deliberation import _fail
    from yishi.services import volunteers

    by = who(name, role)
    if person_id is None and person_name is None:
        _fail("请给出 --person-name 或 --person / give --person-name or --person")

    async def go(store: Any, _c: Any) -> str:
        if person_id is not None:
            await volunteers.act(store, community, JoinTeam(at=now(), by=by, team_id=team_id, person_id=person_id))
            return person_id
        return await volunteers.enrol(store.pool, store, community, team_id, name=person_name or "", by=by,
                                      kind=kind, now=now(), phone=phone, unit=unit)  # type: ignore[arg-type]

    click.echo(run(go, lang))


@volunteer.command("activity")
@community_option
@click.option("--team", "team_id", required=True)
@click.option("--id", "activity_id", required=True)
@click.option("--title", required=True)
@click.option("--place", required=True)
@click.option("--starts", required=True, help="2025-11-08T09:00 (Beijing time unless an offset is given).")
@click.option("--ends", required=True)
@click.option("--capacity", type=int, required=True)
@operator
def activity_cmd(community: str, team_id: str, activity_id: str, title: str, place: str, starts: str, ends: str,
                 capacity: int, name: str | None, role: str, lang: Lang) -> None:
    """Schedule an activity; prints its check-in QR link (volunteers scan it with their own phones)."""
    from domain.volunteer_decide import ScheduleActivity
    from yishi.services import volunteers

    key = keyed().secret_key.get_secret_value()
    by = who(name, role)
    command = ScheduleActivity(at=now(), by=by, activity_id=activity_id, team_id=team_id, title=title, place=place,
                               starts_at=_instant(starts), ends_at=_instant(ends), capacity=capacity)

    async def go(store: Any, _c: Any) -> Any:
        await volunteers.act(store, community, command)
        return await volunteers.checkin_link(store.pool, store, community, activity_id, by=by, secret_key=key,
                                             now=now())

    link = run(go, lang)
    click.echo(activity_id)
    click.echo(f"check-in 签到二维码链接: {link.url(base_url())}")


@volunteer.command("cancel")
@community_option
@click.argument("activity_id")
@click.option("--reason", required=True)
@operator
def cancel_cmd(community: str, activity_id: str, reason: str, name: str | None, role: str, lang: Lang) -> None:
    """Cancel an activity."""
    from domain.volunteer_decide import CancelActivity
    from yishi.services import volunteers

    run(lambda store, _c: volunteers.act(store, community, CancelActivity(at=now(), by=who(name, role),
                                                                          activity_id=activity_id, reason=reason)),
        lang)
    click.echo(f"{activity_id}: cancelled 已取消")


@volunteer.command("sign-up")
@community_option
@click.argument("activity_id")
@click.argument("person_id")
@operator
def sign_up_cmd(community: str, activity_id: str, person_id: str, name: str | None, role: str, lang: Lang) -> None:
    """Sign a person up for an activity (within its capacity)."""
    from domain.volunteer_decide import SignUp
    from yishi.services import volunteers

    run(lambda store, _c: volunteers.act(store, community, SignUp(at=now(), by=who(name, role),
                                                                  activity_id=activity_id, person_id=person_id,
                                                                  via="coordinator")), lang)
    click.echo(f"{person_id} → {activity_id}")


@volunteer.command("check")
@community_option
@click.argument("activity_id")
@click.argument("person_id")
@click.argument("direction", type=click.Choice(["in", "out"]))
@click.option("--at", "at", default=None, help="When they arrived or left (default: now).")
@operator
def check_cmd(community: str, activity_id: str, person_id: str, direction: str, at: str | None, name: str | None,
              role: str, lang: Lang) -> None:
    """The coordinator checks a person in or out from the list."""
    from yishi.services import volunteers

    stored = run(lambda store, _c: volunteers.coordinator_check(
        store, community, activity_id, person_id, direction, by=who(name, role), now=now(),
        time=_instant(at) if at else None), lang)
    out = next((e for e in stored if e.type == "CheckedOut"), None)
    click.echo(f"{person_id} {direction}" + (f": {hours_text(out.payload['minutes'])}" if out else ""))


@volunteer.command("hours")
@community_option
@click.argument("activity_id")
@click.argument("person_id")
@click.argument("minutes", type=int)
@click.option("--reason", required=True)
@operator
def hours_cmd(community: str, activity_id: str, person_id: str, minutes: int, reason: str, name: str | None,
              role: str, lang: Lang) -> None:
    """Set what a person's attendance counts (a forgotten check-out, a longer stay); points follow."""
    from yishi.services import volunteers

    run(lambda store, _c: volunteers.record_hours(store, community, activity_id, person_id, minutes, reason=reason,
                                                  by=who(name, role), now=now()), lang)
    click.echo(f"{person_id} @ {activity_id}: {hours_text(minutes)}")


@volunteer.command("list")
@community_option
@click.argument("activity_id")
@click.option("--json", "as_json", is_flag=True)
def list_cmd(community: str, activity_id: str, as_json: bool) -> None:
    """The coordinator's list of an activity: who signed up, checked in and out, and what it counts."""
    from yishi.services import points, volunteers

    async def go(store: Any, _c: Any) -> Any:
        state = await volunteers.roster(store, community)
        activity = state.activities[activity_id]
        names = await points.people_names(store.pool, list(activity.signed) + list(activity.attendance))
        return activity, names

    activity, names = run(go)
    rows = []
    for person in dict.fromkeys([*activity.signed, *activity.attendance]):
        seen = activity.attendance.get(person)
        rows.append({"person_id": person, "name": (names.get(person) or {}).get("name", ""),
                     "signed_up": activity.signed.get(person), "in": seen.check_in.isoformat() if seen and
                     seen.check_in else None, "out": seen.check_out.isoformat() if seen and seen.check_out else None,
                     "minutes": seen.minutes if seen else None})
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    click.echo(f"{activity.title} @ {activity.place}  {len(activity.signed)}/{activity.capacity}")
    for r in rows:
        counted = hours_text(r["minutes"]) if r["minutes"] is not None else ""
        click.echo(f"  {r['person_id']} {r['name']}  in {r['in'] or '—'}  out {r['out'] or '—'}  {counted}")


@volunteer.command("certificate")
@community_option
@click.argument("person_id")
def certificate_cmd(community: str, person_id: str) -> None:
    """A person's certificate of hours (志愿服务时长证明) as text; the printable page is the person's link."""
    from yishi.services import volunteers

    summary = run(lambda store, _c: volunteers.person_summary(store.pool, store, community, person_id))
    click.echo(f"志愿服务时长证明 / Certificate of volunteer hours — {summary.name} ({person_id})")
    for a in summary.activities:
        if a["minutes"]:
            click.echo(f"  {a['starts_at']:%Y-%m-%d} {a['team']} {a['title']}: {hours_text(a['minutes'])}")
    click.echo(f"  合计 total: {hours_text(summary.minutes)}; 积分 points {summary.points}")
    click.echo(f"  核验编号 verification: volunteers-{community} {summary.certificate}")


@volunteer.command("sync-points")
@community_option
@operator
def sync_points_cmd(community: str, name: str | None, role: str, lang: Lang) -> None:
    """Credit every attendance whose points the ledger lacks (after an interrupted check-out)."""
    from yishi.services import volunteers

    written = run(lambda store, _c: volunteers.sync_points(store, community, by=who(name, role), now=now()), lang)
    click.echo(f"{written} credited 补记")
