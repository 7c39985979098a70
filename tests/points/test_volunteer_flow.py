"""A volunteer activity end to end through the services: a team and its poster, a 双报到 party member enrolled, an
activity with a capacity, sign-up through the person's link, check-in and check-out by scanning the activity's QR
code (the links resolved as the web tier will), exact hours, the points and 先锋指数 they earn, a redemption handed
over by its code once; the coordinator's correction; the ledger's audit replay holds."""

from __future__ import annotations

from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest

from activities.eventstore import EventStore
from domain.points_audit import ledger_problem
from domain.points_decide import ListItem, PointsError, SetRule
from domain.points_events import POINTS_EVENT_TYPES, Item, Rule, points_event_from_dict, points_stream
from domain.volunteer_decide import FormTeam, ScheduleActivity, SignUp
from domain.volunteer_events import VOLUNTEER_EVENT_TYPES, volunteer_event_from_dict, volunteers_stream
from domain.volunteers import VolunteerError, roster_problem
from tests.points.conftest import CLERK, KEY
from yishi.services import points, volunteers
from yishi.services.capabilities import resolve_capability
from yishi.services.links import RevokedLinkError

HOURS = Rule(rule_id="hours", name_zh="志愿服务每小时", basis="volunteer_hours", per="hour", points=10, pioneer=2)


async def test_sign_up_scan_in_and_out_hours_points_and_a_redemption(pool: Any, store: EventStore, community: str,
                                                                     now: datetime) -> None:
    await points.act(store, community, SetRule(at=now, by=CLERK, rule=HOURS))
    await points.act(store, community, ListItem(at=now, by=CLERK, item=Item(item_id="towel", name_zh="毛巾", cost=15),
                                                stock=1))
    await volunteers.act(store, community, FormTeam(at=now, by=CLERK, team_id="green", name="绿色家园志愿服务队"))
    poster = await volunteers.poster_link(pool, store, community, "green", by=CLERK, secret_key=KEY, now=now)
    assert (await resolve_capability(pool, poster.token, frozenset({"team"}))).holder == "green"
    person = await volunteers.enrol(pool, store, community, "green", name="张建国", kind="dual_report", unit="区税务局",
                                    by=CLERK, now=now, via="poster")
    start = now + timedelta(minutes=20)
    await volunteers.act(store, community, ScheduleActivity(
        at=now, by=CLERK, activity_id="a1", team_id="green", title="清理楼道杂物", place="3号楼",
        starts_at=start, ends_at=start + timedelta(hours=2), capacity=5))
    mine = await points.person_link(pool, store, community, person, by=CLERK, secret_key=KEY, now=now)
    qr = await volunteers.checkin_link(pool, store, community, "a1", by=CLERK, secret_key=KEY, now=now)
    holder = await resolve_capability(pool, mine.token, frozenset({"person"}))
    await volunteers.act(store, community, SignUp(at=now, by=CLERK, activity_id="a1", person_id=holder.holder),
                         link=holder.token_hash)
    activity = (await resolve_capability(pool, qr.token, frozenset({"checkin"}))).holder

    assert await volunteers.scan(store, community, activity, holder.holder, now=start - timedelta(minutes=5),
                                 link=holder.token_hash) == "in"
    left = start + timedelta(hours=1, minutes=45, seconds=30)
    assert await volunteers.scan(store, community, activity, holder.holder, now=left, link=holder.token_hash) == "out"
    summary = await volunteers.person_summary(pool, store, community, person)
    assert summary.minutes == 105 and Fraction(summary.minutes, 60) == Fraction(7, 4)
    assert (summary.points, summary.pioneer) == (17, 3)  # floor(105 × 10 / 60), floor(105 × 2 / 60)
    assert summary.name == "张建国" and summary.activities[0]["checked_out"]

    redemption = await points.redeem(store, community, person_id=person, item_id="towel", by=CLERK, now=now,
                                     secret_key=KEY, link=holder.token_hash)
    clerk = CLERK.model_copy(update={"name": "超市店员", "role": "clerk"})
    handed = await points.hand_over(store, community, redemption.code, by=clerk, now=now)
    assert handed["item"] == "毛巾" and handed["person_id"] == person
    with pytest.raises(PointsError, match="handed over already"):
        await points.hand_over(store, community, redemption.code, by=clerk, now=now)

    # The coordinator corrects the hours (stayed for the clean-up): the difference is credited.
    await volunteers.record_hours(store, community, "a1", person, 150, reason="收尾多留", by=CLERK, now=now)
    ledger = await points.ledger(store, community)
    assert (ledger.people[person].earned, ledger.people[person].pioneer) == (25, 5)
    assert await volunteers.sync_points(store, community, by=CLERK, now=now) == 0

    stored = await store.read(points_stream(community))
    assert ledger_problem([points_event_from_dict(e.type, e.payload) for e in stored
                           if e.type in POINTS_EVENT_TYPES]) is None
    roster = await store.read(volunteers_stream(community))
    assert roster_problem([volunteer_event_from_dict(e.type, e.payload) for e in roster
                           if e.type in VOLUNTEER_EVENT_TYPES]) is None


async def test_a_revoked_link_cannot_scan_and_a_full_activity_refuses(pool: Any, store: EventStore, community: str,
                                                                      now: datetime) -> None:
    from yishi.services.capabilities import revoke_capability

    await volunteers.act(store, community, FormTeam(at=now, by=CLERK, team_id="t", name="平安巡逻队"))
    people = [await volunteers.enrol(pool, store, community, "t", name=f"队员{n}", kind="resident", by=CLERK, now=now)
              for n in range(2)]
    await volunteers.act(store, community, ScheduleActivity(
        at=now, by=CLERK, activity_id="patrol", team_id="t", title="夜间巡逻", place="小区", starts_at=now,
        ends_at=now + timedelta(hours=1), capacity=1))
    link = await points.person_link(pool, store, community, people[0], by=CLERK, secret_key=KEY, now=now)
    holder = await resolve_capability(pool, link.token)
    await revoke_capability(pool, store, kind="person", subject=points_stream(community), holder=people[0],
                            by="committee:李书记", reason="手机丢失", now=now)
    with pytest.raises(RevokedLinkError):
        await volunteers.scan(store, community, "patrol", people[0], now=now, link=holder.token_hash)
    assert await volunteers.scan(store, community, "patrol", people[1], now=now) == "in"
    with pytest.raises(VolunteerError, match="is full"):
        await volunteers.scan(store, community, "patrol", people[0], now=now)
