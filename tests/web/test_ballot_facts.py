"""The ballot shows what is decided (issue 21, item 1): the notice in plain words, the cost table, the owner's own
figures (area, estimated share), the feasibility result and the rule in one plain sentence with its details folded;
a consultation shows its issue. On a phone in Chromium the page, with its CSS, stays under 20 KB compressed."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from activities.eventstore import NewEvent
from domain.roll import Roll, Room, Scope
from domain.stage_events import TaskCompleted, TaskOpened
from tests.web.test_browser import PHONE, assert_accessible, shot

ELEVATOR = {"cost_total": "600000", "coefficients": {}, "ground_floor": "1", "ground_coefficient": "0",
            "by_area": True}


def entrance_roll() -> Roll:
    """One entrance, floors 1–3, 100 m² each (coefficients 0, 1, 2: shares 0, 200,000 and 400,000 yuan), and one
    room in another building outside the scope."""
    rooms = [Room(room_id=f"7-2-{f}01", building="7", entrance="2", floor=str(f), area_m2=Decimal(100),
                  owner_id=f"o00{f - 1}", owner_name=f"业主{f}", phone=f"1390000000{f}") for f in (1, 2, 3)]
    rooms.append(Room(room_id="8-1-101", building="8", entrance="1", floor="1", area_m2=Decimal(90),
                      owner_id="o009", owner_name="业主9", phone="13900000009"))
    return Roll(rooms=tuple(rooms), source="test-roll.csv")


async def elevator_vote(open_deliberation, store):  # type: ignore[no-untyped-def]
    d = await open_deliberation(roll=entrance_roll(), procedure="elevator", details=ELEVATOR,
                                rule_id="consent-2of3", scope=Scope(building="7", entrance="2"))
    at = datetime.now(UTC)
    opened = TaskOpened(at=at, task_id="feasibility-1", kind="feasibility", stage="feasibility",
                        roles=("committee",), outcomes=("feasible", "not_feasible"), title_zh="可行性论证",
                        title_en="Feasibility check")
    done = TaskCompleted(at=at, task_id="feasibility-1", role="street_office", actor="街道办", outcome="feasible")
    await store.append(d.id, [NewEvent(type=e.type, payload=e.model_dump(mode="json"), occurred_at=at)
                              for e in (opened, done)])
    return d


async def test_the_elevator_ballot_says_what_is_decided(client, store, open_deliberation) -> None:
    d = await elevator_vote(open_deliberation, store)
    page = (await client.get(d.path("o002"))).text
    assert "这次表决什么" in page and "业委会提议加装电梯" in page
    assert "工程总费用估算为 600,000 元" in page and "楼层越高，分摊越多" in page
    assert "可行性论证结果：可行" in page
    assert "怎样算通过：" in page and "同意的业主要占全体业主的三分之二以上" in page
    assert "<details><summary>法律规定的详细内容</summary>" in page and "三分之二书面同意" in page
    assert "您家估算分摊：约 400,000 元" in page, "floor 3, coefficient 2, 100 m²: two thirds of 600,000"
    assert "费用分摊表" in page and "<tr><td>3</td><td>2</td><td>1</td><td>400,000</td></tr>" in page.replace("\n", "")
    first = (await client.get(d.path("o000"))).text
    assert "您家估算分摊：约 0 元" in first, "the ground floor's coefficient is 0"
    english = (await client.get(d.path("o002") + "?lang=en")).text
    assert "Your estimated share: about 400,000 yuan" in english and "Consent of two thirds" not in page


async def test_a_consultation_ballot_shows_its_issue(client, open_deliberation) -> None:
    d = await open_deliberation(4, procedure="consultation", rule_id="headcount-majority",
                                details={"issue": "小区东门晚上十点后是否关闭？"})
    page = (await client.get(d.path("o001"))).text
    assert "小区东门晚上十点后是否关闭？" in page and "同意的超过一半，就算通过" in page
    assert "估算分摊" not in page and "费用分摊表" not in page


async def test_on_a_phone_the_ballot_is_plain_and_light(browser, live_server, store, pool, open_deliberation,
                                                       artifacts_dir: Path) -> None:
    from tests.web.test_plan_documents import attach_documents
    from tests.web.test_resident_phone import too_small

    d = await elevator_vote(open_deliberation, store)
    await attach_documents(store, pool, d.id)  # the plan and the cost table, listed under the notice
    context = await browser.new_context(**PHONE)
    page = await context.new_page()
    try:
        answer = await page.goto(live_server + d.path("o001"))
        assert answer is not None and answer.status == 200
        html = await answer.body()
        css = await (await page.request.get(live_server + "/static/yishi.css")).body()
        script = await (await page.request.get(live_server + "/static/ballot.js")).body()
        compressed = sum(len(gzip.compress(part, 6)) for part in (html, css, script))
        assert compressed < 20 * 1024, compressed
        assert await page.locator("#documents a").count() == 2 and not await too_small(page)
        await page.get_by_text("费用分摊表：").click()  # the folded cost table opens
        assert await page.locator("#cost-table table").is_visible()
        await page.get_by_text("法律规定的详细内容").click()
        assert await page.get_by_text("同意业主的面积和人数均占范围内全体业主三分之二以上").is_visible()
        share = (await page.locator("#my-share").inner_text()).split()
        assert share[:3] == ["您家估算分摊：约", "200,000", "元"] and share[3].startswith("这是按上面的数字估算的")
        await assert_accessible(page, "elevator ballot")
        await shot(page, artifacts_dir, "ballot-elevator-phone-zh")
    finally:
        await context.close()

