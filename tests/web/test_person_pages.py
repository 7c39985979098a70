"""A person's own page on a phone, in real Chromium, through their link (no account): the points statement with
every entry's reason and who recorded it, and signing up for a volunteer activity; the sign-up's walls (CSRF bound to
the link, another person's link, a revoked link) over HTTP."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from activities.eventstore import EventStore
from domain.operator import Operator
from domain.points_decide import Deduct, SetRule
from domain.points_entries import person_entries
from domain.points_events import (
    POINTS_EVENT_TYPES,
    PointsAwarded,
    PointsDeducted,
    Rule,
    RuleSet,
    points_event_from_dict,
    points_stream,
)
from domain.volunteer_decide import FormTeam, ScheduleActivity
from domain.volunteer_events import volunteers_stream
from tests.web.conftest import SECRET
from tests.web.test_browser import PHONE, assert_accessible, shot
from yishi.services import points, volunteers
from yishi.services.capabilities import revoke_capability

COMMITTEE = Operator(name="李书记", role="committee", via="console")
MEETING = Rule(rule_id="meeting", name_zh="参加议事会", name_en="Attending a residents' meeting",
               basis="meeting_attended", points=5)


async def a_person(pool: Any, store: EventStore, name: str = "张建国") -> tuple[str, str, str]:
    """A community with a person who earned 10 points at two meetings and lost 5 to a correction; an activity
    with one place left. Returns (community, person id, the person's link token)."""
    community, now = f"c{uuid.uuid4().hex[:10]}", datetime.now(UTC)
    await points.act(store, community, SetRule(at=now, by=COMMITTEE, rule=MEETING))
    await volunteers.act(store, community, FormTeam(at=now, by=COMMITTEE, team_id="green", name="绿色家园志愿服务队"))
    person = await volunteers.enrol(pool, store, community, "green", name=name, kind="party_member", by=COMMITTEE,
                                    now=now)
    for n in (1, 2):
        await points.award(store, community, person_id=person, rule_id="meeting", by=COMMITTEE, now=now,
                           reason=f"第{n}次议事会签到")
    await points.act(store, community, Deduct(at=now, by=COMMITTEE.model_copy(update={"name": "王主任"}),
                                              deduction_id="d-1", person_id=person, points=5,
                                              reason="重复登记，更正"))
    start = now + timedelta(days=2)
    await volunteers.act(store, community, ScheduleActivity(
        at=now, by=COMMITTEE, activity_id="a1", team_id="green", title="清理楼道杂物", place="3号楼门口",
        starts_at=start, ends_at=start + timedelta(hours=2), capacity=1))
    link = await points.person_link(pool, store, community, person, by=COMMITTEE, secret_key=SECRET, now=now)
    return community, person, link.token


def test_the_statement_lists_every_entry_with_its_balance() -> None:
    now = datetime.now(UTC)
    events = [RuleSet(at=now, by=COMMITTEE, rule=MEETING, version=1),
              PointsAwarded(at=now, by=COMMITTEE, award_id="aw-1", person_id="p-1", rule_id="meeting",
                            rule_version=1, quantity=1, points=5, reason="签到"),
              PointsAwarded(at=now, by=COMMITTEE, award_id="aw-2", person_id="p-2", rule_id="meeting",
                            rule_version=1, quantity=1, points=5),
              PointsDeducted(at=now, by=COMMITTEE, deduction_id="d-1", person_id="p-1", points=2, reason="更正")]
    entries = person_entries(events, "p-1")
    assert [(e.kind, e.points, e.balance, e.reason, e.rule_zh) for e in entries] == [
        ("award", 5, 5, "签到", "参加议事会"), ("deduction", -2, 3, "更正", "")]


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["zh", "en"])
async def test_own_page_statement_and_sign_up_on_a_phone(browser, live_server, pool, store, artifacts_dir,
                                                         lang) -> None:  # type: ignore[no-untyped-def]
    community, person, token = await a_person(pool, store)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    suffix = "?lang=en" if lang == "en" else ""
    try:
        await page.goto(f"{live_server}/me/{token}{suffix}")
        await page.get_by_role("heading", level=1).wait_for()
        assert (await page.locator("#balance").inner_text()).strip() == "5"
        text = await page.locator("main").inner_text()
        for shown in ("第1次议事会签到", "第2次议事会签到", "重复登记，更正", "李书记", "王主任", "清理楼道杂物"):
            assert shown in text, shown
        assert ("参加议事会" if lang == "zh" else "Attending a residents' meeting") in text
        assert ("李书记（居委会/业委会）" if lang == "zh" else "李书记 (committee)") in text
        assert person not in text, "no internal id on the page"
        await shot(page, artifacts_dir, f"person-{lang}")
        await assert_accessible(page, f"person page ({lang})")

        await page.get_by_role("button", name=re.compile("清理楼道杂物")).click()
        await page.get_by_text("报名成功" if lang == "zh" else "You are signed up").first.wait_for()
        await assert_accessible(page, f"signed up ({lang})")
        await page.goto(f"{live_server}/me/{token}{suffix}")
        mine = await page.locator("section[aria-labelledby=mine-h]").inner_text()
        assert "清理楼道杂物" in mine
        await shot(page, artifacts_dir, f"person-signed-up-{lang}")
    finally:
        await context.close()
    signed = [e.payload for e in await store.read(volunteers_stream(community)) if e.type == "SignedUp"]
    assert [(s["person_id"], s["via"], s["by"]["role"], s["by"]["via"]) for s in signed] == [
        (person, "link", "person", "link")]


def csrf_of(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', html)[:2])


async def test_sign_up_walls(client, pool, store) -> None:  # type: ignore[no-untyped-def]
    community, person, token = await a_person(pool, store)
    _, other_person, other_token = await a_person(pool, store, "李红")
    stream = volunteers_stream(community)
    before = await store.head(stream)
    mine = csrf_of((await client.get(f"/me/{token}")).text)
    # No CSRF pair, and another person's page's pair on this link: refused, nothing written.
    assert (await client.post(f"/me/{token}/signup", data={"activity": "a1"})).status_code == 403
    theirs = csrf_of((await client.get(f"/me/{other_token}")).text)
    assert (await client.post(f"/me/{token}/signup", data={**theirs, "activity": "a1"})).status_code == 403
    assert (await client.post(f"/me/{other_token}/signup", data={**mine, "activity": "a1"})).status_code == 403
    # A made-up token: the invalid link page.
    assert (await client.post("/me/" + "A" * 43 + "/signup", data={**mine, "activity": "a1"})).status_code == 403
    assert await store.head(stream) == before
    done = await client.post(f"/me/{token}/signup", data={**mine, "activity": "a1"})
    assert done.status_code == 200 and "报名成功" in done.text, done.text[-600:]
    again = await client.post(f"/me/{token}/signup", data={**mine, "activity": "nope"})
    assert again.status_code == 409 and "nope" in again.text, again.text[-600:]
    await revoke_capability(pool, store, kind="person", subject=points_stream(community), holder=person,
                            by="committee:李书记", reason="手机丢失", now=datetime.now(UTC))
    assert (await client.get(f"/me/{token}")).status_code == 410
    assert (await client.post(f"/me/{token}/signup", data={**mine, "activity": "a1"})).status_code == 410
    events = [points_event_from_dict(e.type, e.payload) for e in await store.read(points_stream(community))
              if e.type in POINTS_EVENT_TYPES]
    assert person_entries(events, person)[-1].balance == 5
    assert other_person not in (await client.get(f"/me/{other_token}")).text


async def test_redeem_walls(client, pool, store) -> None:  # type: ignore[no-untyped-def]
    """A redemption needs the page's own redemption form: a sign-up form's pair, or a pair of another person's page,
    is refused; two posts of the same form are one redemption; no stock, no redemption."""
    from domain.points_decide import ListItem
    from domain.points_events import Item

    community, person, token = await a_person(pool, store)
    _, _, other_token = await a_person(pool, store, "李红")
    await points.act(store, community, ListItem(at=datetime.now(UTC), by=COMMITTEE, stock=1,
                                                item=Item(item_id="soap", name_zh="肥皂", cost=2)))
    html = (await client.get(f"/me/{token}")).text
    nonce = re.search(r'name="nonce" value="([^"]*)"', html).group(1)  # type: ignore[union-attr]
    pairs = re.findall(r'action="/me/[^/]+/(signup|redeem)"[^>]*>\s*<input type="hidden" name="nonce" value="[^"]*">'
                       r'\s*<input type="hidden" name="csrf" value="([^"]*)"', html)
    csrf = {kind: value for kind, value in pairs}
    theirs = csrf_of((await client.get(f"/me/{other_token}")).text)
    before = await store.head(points_stream(community))
    for bad in ({"nonce": nonce, "csrf": csrf["signup"]}, theirs, {}):
        assert (await client.post(f"/me/{token}/redeem", data={**bad, "item": "soap"})).status_code == 403
    assert await store.head(points_stream(community)) == before
    form = {"nonce": nonce, "csrf": csrf["redeem"], "item": "soap"}
    assert (await client.post(f"/me/{token}/redeem", data=form)).status_code == 200
    assert (await client.post(f"/me/{token}/redeem", data=form)).status_code == 200  # a double tap: the same one
    ledger = await points.ledger(store, community)
    assert (ledger.people[person].points, ledger.items["soap"].stock) == (3, 0)
    again = await client.post(f"/me/{token}/redeem", data={**form, "nonce": nonce + "x"})
    assert again.status_code == 403  # a nonce the page did not give
