"""Check-in and check-out by opening the activity's QR code address on a phone, in real Chromium: the volunteer opened
their own link on this phone once, signed up, then opens the QR code's address at the start and at the end; the
stay's minutes and the hours' points are recorded. Without the own link on the phone the page says so and records
nothing; a person of another community, a forged form and a revoked own link are refused."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from domain.points_decide import ListItem, SetRule
from domain.points_events import Item
from domain.volunteer_events import volunteers_stream
from tests.web.conftest import BASE_URL, SECRET
from tests.web.test_browser import PHONE, assert_accessible, shot
from tests.web.test_console_volunteers import HOURS
from tests.web.test_person_pages import COMMITTEE, a_person
from yishi.services import points, volunteers
from yishi.services.capabilities import revoke_capability


async def with_hours_and_qr(pool: Any, store: Any) -> tuple[str, str, str, str, datetime]:
    community, person, token = await a_person(pool, store)
    now = datetime.now(UTC)
    await points.act(store, community, SetRule(at=now, by=COMMITTEE, rule=HOURS))
    await points.act(store, community, ListItem(at=now, by=COMMITTEE, stock=1,
                                                item=Item(item_id="towel", name_zh="毛巾", cost=15)))
    qr = await volunteers.checkin_link(pool, store, community, "a1", by=COMMITTEE, secret_key=SECRET, now=now)
    starts = (await volunteers.roster(store, community)).activities["a1"].starts_at
    return community, person, token, qr.token, starts


@pytest.mark.browser
async def test_scan_in_and_out_on_a_phone(browser, live_server, app, pool, store, artifacts_dir) -> None:  # type: ignore[no-untyped-def]
    community, person, token, qr, starts = await with_hours_and_qr(pool, store)
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    try:
        await page.goto(f"{live_server}/ck/{qr}")
        await page.get_by_role("heading", name="请先打开您本人的链接").wait_for()
        await page.goto(f"{live_server}/me/{token}")
        await page.get_by_role("button", name=re.compile("清理楼道杂物")).click()
        await page.get_by_text("报名成功").first.wait_for()
        app.state.clock = lambda: starts - timedelta(minutes=10)
        await page.goto(f"{live_server}/ck/{qr}")
        await shot(page, artifacts_dir, "checkin-zh")
        await assert_accessible(page, "check-in page")
        await page.get_by_role("button", name="现在签到").click()
        await page.get_by_role("heading", name="签到成功").wait_for()
        app.state.clock = lambda: starts + timedelta(minutes=75, seconds=40)
        await page.goto(f"{live_server}/ck/{qr}")
        await page.get_by_role("button", name="现在签退").click()
        await page.get_by_role("heading", name="签退成功").wait_for()
        assert "计入 75 分钟" in await page.locator("main").inner_text()
        await shot(page, artifacts_dir, "checkout-zh")
        await page.goto(f"{live_server}/ck/{qr}")
        assert "现在签" not in await page.content(), "checked out: no button left"

        # The hours' points spent in the shop; the clerk hands the towel over by the code on the page.
        await page.goto(f"{live_server}/me/{token}")
        await page.get_by_role("button", name="兑换：毛巾").click()
        await page.get_by_role("heading", name="兑换成功").wait_for()
        await page.goto(f"{live_server}/me/{token}")
        code = (await page.locator(".redemption-code").inner_text()).strip()
        await shot(page, artifacts_dir, "person-redeemed-zh")
        await assert_accessible(page, "person page with a redemption")
        clerk = COMMITTEE.model_copy(update={"name": "超市店员", "role": "clerk"})
        handed = await points.hand_over(store, community, code, by=clerk, now=datetime.now(UTC))
        assert handed["item"] == "毛巾" and handed["person_id"] == person
        await page.goto(f"{live_server}/me/{token}")
        assert await page.locator(".redemption-code").count() == 0 and "积分超市兑换 -15" in await page.content()
    finally:
        del app.state.clock
        await context.close()
    ledger = await points.ledger(store, community)
    assert ledger.people[person].earned == 10 + 12  # two meetings, then floor(75 × 10 / 60)
    assert ledger.people[person].points == 10 + 12 - 5 - 15  # less the correction and the towel
    scans = [(e.type, e.payload["via"], e.payload["by"]["role"]) for e in await store.read(volunteers_stream(community))
             if e.type in ("CheckedIn", "CheckedOut")]
    assert scans == [("CheckedIn", "qr", "person"), ("CheckedOut", "qr", "person")]


async def test_check_in_walls(app, pool, store) -> None:  # type: ignore[no-untyped-def]
    community, person, token, qr, starts = await with_hours_and_qr(pool, store)
    _, _, stranger, _, _ = await with_hours_and_qr(pool, store)  # a person of another community
    app.state.clock = lambda: starts
    stream = volunteers_stream(community)
    before = await store.head(stream)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as phone:
            phone.cookies.set("yishi_person", stranger, path="/ck")
            assert (await phone.get(f"/ck/{qr}")).status_code == 403
            assert (await phone.post(f"/ck/{qr}", data={"nonce": "x", "csrf": "y"})).status_code == 403
            phone.cookies.clear()
            phone.cookies.set("yishi_person", token, path="/ck")
            page = (await phone.get(f"/ck/{qr}")).text
            pair = dict(re.findall(r'name="(nonce|csrf)" value="([^"]*)"', page))
            assert (await phone.post(f"/ck/{qr}", data={**pair, "csrf": "forged"})).status_code == 403
            assert await store.head(stream) == before
            await revoke_capability(pool, store, kind="person", subject=f"points-{community}", holder=person,
                                    by="committee:李书记", reason="手机丢失", now=starts)
            assert (await phone.post(f"/ck/{qr}", data=pair)).status_code == 410
        assert await store.head(stream) == before
    finally:
        del app.state.clock
