"""Issue 20's "done means" for volunteers, in real Chromium: the committee prints the team's poster, the activity's
check-in QR code and the shop's clerk link in the console (laptop); a resident, on a phone, opens their own link
once, opens the poster's address, joins the team and signs up, checks in and out by opening the activity's QR code
address, sees the hours and points, redeems an item; the clerk's phone opens the shop's link, then the resident's QR
address, and hands the item over. ``yishi audit verify`` (the same service) is green on both streams, and red once
one point is altered in the database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from temporalio.client import Client

from domain.points_decide import ListItem, SetRule
from domain.points_events import Item, points_stream
from domain.volunteer_events import volunteers_stream
from tests.web.conftest import PASSWORD, SECRET
from tests.web.test_browser import PHONE, assert_accessible, shot
from tests.web.test_console_volunteers import HOURS
from tests.web.test_person_pages import COMMITTEE, a_person
from yishi.services import points, volunteers
from yishi.services.accounts import add_account
from yishi.services.audit import verify
from yishi.temporal_client import DATA_CONVERTER

pytestmark = pytest.mark.browser


def path_of(url: str) -> str:
    return urlsplit(url.strip()).path


async def test_volunteer_activity_end_to_end(browser, live_server, app, pool, store, temporal_server,  # type: ignore[no-untyped-def]
                                             artifacts_dir: Path) -> None:
    community, _, _ = await a_person(pool, store)
    now = datetime.now(UTC)
    await points.act(store, community, SetRule(at=now, by=COMMITTEE, rule=HOURS))
    await points.act(store, community, ListItem(at=now, by=COMMITTEE, stock=1,
                                                item=Item(item_id="towel", name_zh="毛巾", cost=10)))
    resident = await points.register_person(pool, store, community, name="刘桂兰", kind="resident", by=COMMITTEE,
                                            now=now)
    own = (await points.person_link(pool, store, community, resident, by=COMMITTEE, secret_key=SECRET,
                                    now=now)).token
    starts = (await volunteers.roster(store, community)).activities["a1"].starts_at
    name = "孙委员-e2e"
    await add_account(pool, name, "committee", PASSWORD, community=community)

    laptop = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    phone = await browser.new_context(**PHONE)
    counter = await browser.new_context(**PHONE)
    try:
        staff = await laptop.new_page()
        await staff.goto(f"{live_server}/login")
        await staff.get_by_label("账号").fill(name)
        await staff.get_by_label("密码").fill(PASSWORD)
        await staff.get_by_role("button", name="登录").click()
        await staff.goto(f"{live_server}/console/volunteers")
        await staff.locator("form[action='/console/volunteers/poster']").get_by_role("button").click()
        poster = path_of(await staff.locator("#poster-url").inner_text())
        await shot(staff, artifacts_dir, "team-poster-zh")
        await assert_accessible(staff, "team poster")
        await staff.goto(f"{live_server}/console/volunteers")
        await staff.locator("form[action='/console/volunteers/qr']").get_by_role("button").click()
        checkin = path_of(await staff.locator("#qr-url").inner_text())
        await shot(staff, artifacts_dir, "checkin-sheet-zh")
        await staff.goto(f"{live_server}/console/points")
        shop_form = staff.locator("form[action='/console/points/shop-link']")
        await shop_form.get_by_label("店名").fill("便民超市")
        await shop_form.get_by_role("button").click()
        shop = path_of(await staff.locator("#shop-url").inner_text())

        page = await phone.new_page()
        await page.goto(f"{live_server}/me/{own}")
        await page.goto(f"{live_server}{poster}")
        await page.get_by_role("button", name="加入绿色家园志愿服务队").click()
        await page.get_by_role("heading", name="已加入服务队").wait_for()
        await page.goto(f"{live_server}{poster}")
        await shot(page, artifacts_dir, "team-page-zh")
        await assert_accessible(page, "team sign-up page")
        await page.get_by_role("button", name=re.compile("清理楼道杂物")).click()
        await page.get_by_text("报名成功").first.wait_for()

        app.state.clock = lambda: starts - timedelta(minutes=5)
        await page.goto(f"{live_server}{checkin}")
        await page.get_by_role("button", name="现在签到").click()
        await page.get_by_role("heading", name="签到成功").wait_for()
        app.state.clock = lambda: starts + timedelta(minutes=60)
        await page.goto(f"{live_server}{checkin}")
        await page.get_by_role("button", name="现在签退").click()
        await page.get_by_role("heading", name="签退成功").wait_for()
        del app.state.clock

        await page.goto(f"{live_server}/me/{own}")
        assert (await page.locator("#balance").inner_text()).strip() == "10"  # an hour at 10 points an hour
        assert "1小时00分" in await page.locator("#hours").inner_text()
        await page.get_by_role("button", name="兑换：毛巾").click()
        await page.get_by_role("heading", name="兑换成功").wait_for()
        await page.goto(f"{live_server}/me/{own}")
        code = (await page.locator(".redemption-code").inner_text()).strip()

        clerk = await counter.new_page()
        await clerk.goto(f"{live_server}{shop}")
        await clerk.goto(f"{live_server}/sh/r/{code}")  # what the counter phone's scanner opens
        found = await clerk.locator("#found").inner_text()
        assert "毛巾" in found and "刘**" in found and "刘桂兰" not in await clerk.content()
        await shot(clerk, artifacts_dir, "shop-clerk-zh")
        await assert_accessible(clerk, "shop clerk page")
        await clerk.get_by_role("button", name="确认发放").click()
        await clerk.get_by_role("heading", name="已领取").wait_for()

        await page.goto(f"{live_server}/me/{own}/certificate")
        cert = await page.locator("main").inner_text()
        assert "刘桂兰" in cert and "绿色家园志愿服务队" in cert and "1小时00分" in cert
        await shot(page, artifacts_dir, "certificate-zh")
        await assert_accessible(page, "certificate of hours")
    finally:
        if hasattr(app.state, "clock"):
            del app.state.clock
        for context in (laptop, phone, counter):
            await context.close()

    ledger = await points.ledger(store, community)
    assert ledger.people[resident].points == 0 and ledger.items["towel"].stock == 0
    assert ledger.redemptions and all(r.status == "handed_over" for r in ledger.redemptions.values())
    client = await Client.connect(temporal_server.address, data_converter=DATA_CONVERTER)
    for stream in (points_stream(community), volunteers_stream(community)):
        report = await verify(stream, pool=pool, client=client)
        assert report.ok, [c for c in report.checks if not c.ok]
    stream = points_stream(community)
    award = next(e for e in await store.read(stream)
                 if e.type == "PointsAwarded" and e.payload["person_id"] == resident)
    async with pool.acquire() as conn:  # what a database superuser could do
        await conn.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        try:
            await conn.execute("UPDATE events SET payload = jsonb_set(payload, '{points}', '99') WHERE stream_id = $1"
                               " AND seq = $2", stream, award.seq)
        finally:
            await conn.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")
    report = await verify(stream, pool=pool, client=client)
    failed = [(c["name"], c["seq"]) for c in report.to_json()["checks"] if not c["ok"]]
    assert not report.ok and ("chain", award.seq) in failed, failed
