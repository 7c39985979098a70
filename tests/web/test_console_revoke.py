"""Revoking a printed link from the console: a shop's clerk link on /console/points, a team's poster and an
activity's check-in QR code on /console/volunteers. The old link stops at once, the act is a ``CapabilityRevoked``
event naming the account and the reason, a missing reason is refused inline, and printing again gives the next
generation. Another community's account revokes nothing of this community."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from domain.points_events import points_stream
from domain.volunteer_decide import ScheduleActivity
from domain.volunteer_events import volunteers_stream
from tests.web.conftest import SECRET
from tests.web.test_browser import assert_accessible, shot
from tests.web.test_console_volunteers import a_team, signed_in_page
from tests.web.test_person_pages import COMMITTEE, csrf_of
from tests.web.test_shop_clerk import a_redemption
from yishi.services import points, volunteers


def revocations(stored: list, kind: str) -> list[tuple[int, str, str]]:  # type: ignore[type-arg]
    return [(e.payload["generation"], e.payload["revoked_by"], e.payload["reason"]) for e in stored
            if e.type == "CapabilityRevoked" and e.payload["kind"] == kind]


async def test_a_shop_link_is_revoked_from_the_points_console(app, sign_in, pool, store) -> None:  # type: ignore
    community = f"幸福社区-{uuid.uuid4().hex[:6]}"
    await a_redemption(pool, store, community)
    now = datetime.now(UTC)
    link = await points.shop_link(pool, store, community, "便民超市", by=COMMITTEE, secret_key=app.state.secret_key,
                                  now=now)
    name = f"孙委员-{uuid.uuid4().hex[:4]}"
    committee = await sign_in("committee", name, community=community)
    page = await committee.get("/console/points")
    assert "便民超市 的店员链接" in page.text and "第 1 版链接" in page.text and link.token not in page.text
    form = csrf_of(page.text)

    outsider = await sign_in("committee", community=f"和平社区-{uuid.uuid4().hex[:6]}")
    aside = await outsider.post("/console/points/shop-link/revoke", data={
        **csrf_of((await outsider.get("/console/points")).text), "shop": "便民超市", "reason": "x",
        "community": community})
    assert aside.status_code == 409 and revocations(await store.read(points_stream(community)), "shop") == []

    blank = await committee.post("/console/points/shop-link/revoke", data={**form, "shop": "便民超市", "reason": " "})
    assert blank.status_code == 422 and "请写明作废这个链接的原因" in blank.text
    done = await committee.post("/console/points/shop-link/revoke", data={**form, "shop": "便民超市",
                                                                        "reason": "店员离职"})
    assert done.status_code == 303 and done.headers["location"] == "/console/points?done=1"
    stored = await store.read(points_stream(community))
    assert revocations(stored, "shop") == [(1, f"committee:{name}", "店员离职")]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as clerk:
        assert (await clerk.get(f"/sh/{link.token}")).status_code == 410
    again = await committee.post("/console/points/shop-link/revoke", data={**form, "shop": "便民超市",
                                                                         "reason": "店员离职"})
    assert again.status_code == 409 and "这个链接已经不在使用了" in again.text
    renewed = await points.shop_link(pool, store, community, "便民超市", by=COMMITTEE,
                                     secret_key=app.state.secret_key, now=now)
    assert renewed.generation == 2 and renewed.token != link.token


async def test_a_poster_and_a_check_in_code_are_revoked_from_the_volunteers_console(  # type: ignore[no-untyped-def]
        app, sign_in, pool, store) -> None:
    community = f"幸福社区-{uuid.uuid4().hex[:6]}"
    await a_team(pool, store, community)
    now, activity = datetime.now(UTC), f"a-{uuid.uuid4().hex[:6]}"
    await volunteers.act(store, community, ScheduleActivity(
        at=now, by=COMMITTEE, activity_id=activity, team_id="green", title="清理楼道杂物", place="3号楼",
        starts_at=now + timedelta(days=1), ends_at=now + timedelta(days=1, hours=2), capacity=20))
    key = app.state.secret_key
    poster = await volunteers.poster_link(pool, store, community, "green", by=COMMITTEE, secret_key=key, now=now)
    qr = await volunteers.checkin_link(pool, store, community, activity, by=COMMITTEE, secret_key=key, now=now)
    name = f"孙委员-{uuid.uuid4().hex[:4]}"
    committee = await sign_in("committee", name, community=community)
    page = await committee.get("/console/volunteers")
    assert "正在使用的海报" in page.text and "作废这张海报" in page.text and "作废这个签到二维码" in page.text
    assert poster.token not in page.text and qr.token not in page.text
    form = csrf_of(page.text)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as phone:
        assert (await phone.get(f"/vt/{poster.token}")).status_code == 200

    done = await committee.post("/console/volunteers/revoke", data={**form, "kind": "team", "team": "green",
                                                                    "reason": "海报被撕"})
    assert done.status_code == 303
    done = await committee.post("/console/volunteers/revoke", data={**form, "kind": "checkin", "activity": activity,
                                                                    "reason": "二维码贴错地方"})
    assert done.status_code == 303
    stored = await store.read(volunteers_stream(community))
    by = f"committee:{name}"
    assert revocations(stored, "team") == [(1, by, "海报被撕")]
    assert revocations(stored, "checkin") == [(1, by, "二维码贴错地方")]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as phone:
        assert (await phone.get(f"/vt/{poster.token}")).status_code == 410
        assert (await phone.get(f"/ck/{qr.token}")).status_code == 410
    assert "作废这张海报" not in (await committee.get("/console/volunteers")).text
    again = await volunteers.poster_link(pool, store, community, "green", by=COMMITTEE, secret_key=key, now=now)
    assert again.generation == 2 and again.token != poster.token


@pytest.mark.browser
async def test_a_poster_is_revoked_in_chromium(browser, live_server, pool, store, artifacts_dir) -> None:  # type: ignore
    community = f"幸福社区-{uuid.uuid4().hex[:6]}"
    await a_team(pool, store, community)
    poster = await volunteers.poster_link(pool, store, community, "green", by=COMMITTEE, secret_key=SECRET,
                                          now=datetime.now(UTC))
    context, page, name = await signed_in_page(browser, live_server, pool, community)
    try:
        await page.goto(f"{live_server}/console/volunteers")
        await page.get_by_label("作废原因（会记录下来供审计查看）").fill("海报被撕")
        await assert_accessible(page, "volunteers console with a poster in use")
        await page.get_by_role("button", name="作废这张海报").click()
        await page.wait_for_url("**/console/volunteers?done=1")
        assert await page.get_by_role("button", name="作废这张海报").count() == 0
        await shot(page, artifacts_dir, "poster-revoked-zh")
        assert (await page.goto(f"{live_server}/vt/{poster.token}")).status == 410
    finally:
        await context.close()
    stored = await store.read(volunteers_stream(community))
    assert revocations(stored, "team") == [(1, f"committee:{name}", "海报被撕")]
