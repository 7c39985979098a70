"""``yishi volunteer …``: volunteer teams (志愿服务队), their activities, sign-up, check-in/out and hours.

Every step that acts records the operator's name and role (``--name``, ``--role``). The hours a check-out counts
earn points under the community's hours rule (``yishi points rule --basis volunteer_hours --per hour``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from yishi.cli.ledger_common import base_url, keyed, lang_option, now, operator, run, who
from yishi.i18n import both, translator
from yishi.i18n.points import hours_text

community_option = click.option("--community", required=True, help="The community (社区).")


def _instant(text: str) -> datetime:
    """An ISO time; Beijing time when it has no offset."""
    from domain.legal_calendar import BEIJING

    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)


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
             lang: str) -> None:
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
    click.echo(translator(lang).gettext("sign-up poster link: %(url)s", url=link.url(base_url())))


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
             unit: str | None, phone: str | None, name: str | None, role: str, lang: str) -> None:
    """Add a member to a team (a new person, or one already in the ledger); prints their id."""
    from domain.volunteer_decide import JoinTeam
    from yishi.cli.deliberation import fail
    from yishi.services import volunteers

    by = who(name, role)
    if person_id is None and person_name is None:
        fail(both("give --person-name or --person"))

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
                 capacity: int, name: str | None, role: str, lang: str) -> None:
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
    click.echo(translator(lang).gettext("check-in QR code link: %(url)s", url=link.url(base_url())))


@volunteer.command("cancel")
@community_option
@click.argument("activity_id")
@click.option("--reason", required=True)
@operator
def cancel_cmd(community: str, activity_id: str, reason: str, name: str | None, role: str, lang: str) -> None:
    """Cancel an activity."""
    from domain.volunteer_decide import CancelActivity
    from yishi.services import volunteers

    run(lambda store, _c: volunteers.act(store, community, CancelActivity(at=now(), by=who(name, role),
                                                                          activity_id=activity_id, reason=reason)),
        lang)
    click.echo(translator(lang).gettext("%(activity)s: cancelled", activity=activity_id))


@volunteer.command("sign-up")
@community_option
@click.argument("activity_id")
@click.argument("person_id")
@operator
def sign_up_cmd(community: str, activity_id: str, person_id: str, name: str | None, role: str, lang: str) -> None:
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
              role: str, lang: str) -> None:
    """The coordinator checks a person in or out from the list."""
    from yishi.services import volunteers

    stored = run(lambda store, _c: volunteers.coordinator_check(
        store, community, activity_id, person_id, direction, by=who(name, role), now=now(),
        time=_instant(at) if at else None), lang)
    out = next((e for e in stored if e.type == "CheckedOut"), None)
    tr = translator(lang)
    if out is not None:
        click.echo(tr.gettext("%(person)s checked out: %(hours)s", person=person_id,
                              hours=hours_text(tr, out.payload["minutes"])))
    else:
        click.echo(tr.gettext("%(person)s checked in", person=person_id))


@volunteer.command("hours")
@community_option
@click.argument("activity_id")
@click.argument("person_id")
@click.argument("minutes", type=int)
@click.option("--reason", required=True)
@operator
def hours_cmd(community: str, activity_id: str, person_id: str, minutes: int, reason: str, name: str | None,
              role: str, lang: str) -> None:
    """Set what a person's attendance counts (a forgotten check-out, a longer stay); points follow."""
    from yishi.services import volunteers

    run(lambda store, _c: volunteers.record_hours(store, community, activity_id, person_id, minutes, reason=reason,
                                                  by=who(name, role), now=now()), lang)
    tr = translator(lang)
    click.echo(f"{person_id} @ {activity_id}: {hours_text(tr, minutes)}")


@volunteer.command("list")
@community_option
@click.argument("activity_id")
@click.option("--json", "as_json", is_flag=True)
@lang_option
def list_cmd(community: str, activity_id: str, as_json: bool, lang: str) -> None:
    """The coordinator's list of an activity: who signed up, checked in and out, and what it counts."""
    from yishi.services import points, volunteers

    async def go(store: Any, _c: Any) -> Any:
        state = await volunteers.roster(store, community)
        activity = state.activities[activity_id]
        names = await points.people_names(store.pool, list(activity.signed) + list(activity.attendance))
        return activity, names

    activity, names = run(go, lang)
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
    tr = translator(lang)
    click.echo(tr.gettext("%(title)s at %(place)s: %(signed)s of %(capacity)s places taken", title=activity.title,
                          place=activity.place, signed=len(activity.signed), capacity=activity.capacity))
    for r in rows:
        counted = hours_text(tr, r["minutes"]) if r["minutes"] is not None else ""
        click.echo("  " + tr.gettext("%(person)s %(name)s  in %(arrived)s  out %(left)s  %(counted)s",
                                     person=r["person_id"], name=r["name"], counted=counted,
                                     arrived=tr.when(r["in"]), left=tr.when(r["out"])))


@volunteer.command("certificate")
@community_option
@click.argument("person_id")
@lang_option
def certificate_cmd(community: str, person_id: str, lang: str) -> None:
    """A person's certificate of hours (志愿服务时长证明) as text; the printable page is the person's link."""
    from domain.legal_calendar import BEIJING
    from yishi.services import volunteers

    summary = run(lambda store, _c: volunteers.person_summary(store.pool, store, community, person_id), lang)
    tr = translator(lang)
    click.echo(tr.gettext("Certificate of volunteer hours: %(name)s (%(person)s)", name=summary.name,
                          person=person_id))
    for a in summary.activities:
        if a["minutes"]:
            day = tr.date(a["starts_at"].astimezone(BEIJING).date())
            click.echo(f"  {day} {a['team']} {a['title']}: {hours_text(tr, a['minutes'])}")
    click.echo("  " + tr.gettext("Total: %(hours)s; points: %(points)s", hours=hours_text(tr, summary.minutes),
                                 points=summary.points))
    click.echo("  " + tr.gettext("Verification: %(stream)s %(code)s", stream="volunteers-" + community,
                                 code=summary.certificate))


@volunteer.command("sync-points")
@community_option
@operator
def sync_points_cmd(community: str, name: str | None, role: str, lang: str) -> None:
    """Credit every attendance whose points the ledger lacks (after an interrupted check-out)."""
    from yishi.services import volunteers

    written = run(lambda store, _c: volunteers.sync_points(store, community, by=who(name, role), now=now()), lang)
    click.echo(translator(lang).ngettext("%(num)s credit written", "%(num)s credits written", written))
